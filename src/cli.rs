//! Command-line definitions (clap types and help text only).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Detections-as-code for Panther-format repositories: validate, test and
/// more, offline and fast.
#[derive(Debug, Parser)]
#[command(name = "detect", version, about, long_about = None)]
pub struct Cli {
    /// Accepted for PAT compatibility; `detect` never checks for updates.
    #[arg(long, global = true, hide = true)]
    pub skip_version_check: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every detection file and report all problems (no tests run).
    Validate(ValidateArgs),
    /// Validate, then run the unit tests of every detection `detect` can evaluate.
    Test(TestArgs),
    /// Print the effective detection of an ID, each field with its source.
    Show(crate::commands::show::ShowArgs),
    /// Scaffold a derived detection of a base rule.
    Derive(crate::commands::derive::DeriveArgs),
    /// Rewrite analysis YAML files in the canonical layout (`--check`, `--diff`).
    Fmt(crate::commands::fmt::FmtArgs),
    /// Validate, test and write the upload bundle.
    Zip(crate::commands::zip::ZipArgs),
    /// Validate, test, bundle and upload to Panther.
    Upload(crate::commands::upload::UploadArgs),
    /// Check the API host and token.
    CheckConnection(crate::commands::connection::CheckConnectionArgs),
    /// Delete detections or saved queries on Panther.
    Delete(crate::commands::delete::DeleteArgs),
    /// Run detections over log files and write or deliver alerts.
    Run(crate::commands::run::RunArgs),
    /// Deliver, resend, test and inspect alert deliveries.
    Alerts(crate::commands::alerts::AlertsArgs),
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Color {
    /// Only on a terminal and without `NO_COLOR`.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags shared by every command that loads a project.
#[derive(Debug, Default, Args)]
pub struct ProjectArgs {
    /// Files or folders to read (default: `.`).
    pub paths: Vec<PathBuf>,
    /// Same as a positional path (PAT compatibility; repeatable).
    #[arg(long = "path", value_name = "DIR")]
    pub path: Vec<PathBuf>,
    /// Settings file (default: `.panther_settings.yml`, searched upwards).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Skip a file: exact path, folder or gitignore-style glob (repeatable).
    #[arg(long = "ignore-files", value_name = "PATH|GLOB")]
    pub ignore_files: Vec<String>,
    /// Select items: KEY=VALUE or KEY!=VALUE, values split on `,` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Read every folder, not only those whose names contain `rules` & co.
    #[arg(long)]
    pub all_dirs: bool,
    /// Accept unknown top-level keys of rules and policies (warning).
    #[arg(long)]
    pub ignore_extra_keys: bool,
    /// Skip the table-name check of scheduled queries.
    #[arg(long)]
    pub ignore_table_names: bool,
    /// Extra allowed table names for scheduled queries (`*` = any; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub valid_table_names: Vec<String>,
}

/// Flags that shape the report.
#[derive(Debug, Default, Args)]
pub struct OutputArgs {
    /// Report format on stdout.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to a file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour: auto, always or never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
    /// Print errors and the summary only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print more (files the folder gate skipped, settings notes); `-vv`
    /// also the variables of network requests.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
    /// Worker threads (default: number of CPUs).
    #[arg(long, alias = "workers", value_name = "N")]
    pub jobs: Option<usize>,
    /// Make skips of what `detect` cannot evaluate failures.
    #[arg(long)]
    pub strict: bool,
    /// Make any warning fail the run (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Panther API token (better: PANTHER_API_TOKEN); network commands only.
    #[arg(long, value_name = "TOKEN")]
    pub api_token: Option<String>,
    /// Panther API host or GraphQL URL; network commands only.
    #[arg(long, value_name = "HOST")]
    pub api_host: Option<String>,
}

/// `detect validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How to report.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also send the bundle to Panther's validation endpoint, check log
    /// types against the instance and look up bases missing from the
    /// repository (needs a token).
    #[arg(long)]
    pub remote: bool,
}

/// `detect test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How to report.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Minimum tests per detection; above 1 also one true and one false test.
    #[arg(long, value_name = "N")]
    pub minimum_tests: Option<usize>,
    /// Run only tests with this name (repeatable).
    #[arg(long = "test-names", value_name = "NAME")]
    pub test_names: Vec<String>,
    /// Skip detections whose effective `Enabled` is false.
    #[arg(long)]
    pub skip_disabled_tests: bool,
    /// Print only failing tests (the summary is still printed).
    #[arg(long)]
    pub show_failures_only: bool,
    /// Print passing tests first, then failing ones, each sorted by ID.
    #[arg(long)]
    pub sort_test_results: bool,
    /// Print the evaluation tree of every test, not only failing ones.
    #[arg(long)]
    pub explain: bool,
    /// Destination names `destinations()` may return (accepted for PAT).
    #[arg(long = "available-destination", value_name = "NAME", hide = true)]
    pub available_destination: Vec<String>,
    /// Look up base detections missing from the repository on the Panther
    /// instance (needs a token).
    #[arg(long)]
    pub remote_bases: bool,
}
