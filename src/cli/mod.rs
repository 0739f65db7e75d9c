//! Command-line definitions (clap types and help text only).

pub mod alerts;
pub mod completions;
pub mod connection;
pub mod coverage;
pub mod delete;
pub mod derive;
pub mod fix;
pub mod fmt;
pub mod lsp;
pub mod python_env;
pub mod run;
pub mod schema;
pub mod show;
pub mod upload;
pub mod zip;

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// PAT commands `detect` does not have, with what does the job instead
/// (exit 2 with this line).
pub const PAT_ONLY: &[(&str, &str)] = &[
    (
        "debug",
        "`debug` is part of `detect test`: `detect test --filter RuleID=ID --test-names NAME --explain` prints the evaluation of one test",
    ),
    (
        "check-packs",
        "`check-packs` is part of `detect validate`: it checks every pack's detection IDs",
    ),
    (
        "test-lookup-table",
        "`test-lookup-table` is part of `detect validate`: lookup table specs are checked with everything else",
    ),
    (
        "init",
        "`init` is not needed: `detect` works on any folder (add `.panther_settings.yml` for settings, see `detect --help`)",
    ),
    (
        "release",
        "`release` is not part of `detect`: `detect zip --out DIR` writes the bundle to attach to a release",
    ),
    (
        "publish",
        "`publish` is not part of `detect`: `detect zip --out DIR` writes the bundle; publish it with your release tooling",
    ),
    (
        "update-custom-schemas",
        "`update-custom-schemas` is not part of `detect`: use panther_analysis_tool for custom schemas",
    ),
    (
        "benchmark",
        "`benchmark` is not part of `detect`: it measures Python rules on the Panther instance; use panther_analysis_tool",
    ),
    (
        "enrich-test-data",
        "`enrich-test-data` is not part of `detect`: use panther_analysis_tool",
    ),
    (
        "update",
        "`update` (Panther Analysis content) is not part of `detect`: use panther_analysis_tool",
    ),
    (
        "install",
        "`install` (Panther Analysis content) is not part of `detect`: use panther_analysis_tool",
    ),
    (
        "explore",
        "`explore` (Panther Analysis content) is not part of `detect`: use panther_analysis_tool",
    ),
    (
        "merge",
        "`merge` (Panther Analysis content) is not part of `detect`: use panther_analysis_tool",
    ),
    (
        "migrate",
        "`migrate` (Panther Analysis content) is not part of `detect`: use panther_analysis_tool",
    ),
];

/// The pointer for a PAT command `detect` does not have: the first
/// argument that is not a flag, when it names one.
pub fn pat_only(args: &[String]) -> Option<&'static str> {
    let first = args.iter().skip(1).find(|a| !a.starts_with('-'))?;
    PAT_ONLY.iter().find(|(name, _)| name == first).map(|(_, why)| *why)
}

/// Environment variables and exit codes, shown under every `--help`.
pub const AFTER_HELP: &str = "\
Environment (a flag wins over it, it wins over the settings file; booleans
take 1/true/yes/on/y/t or 0/false/no/off/n/f):
  PANTHER_PATH            folder to read when no path is given
  PANTHER_FILTER          filters (as --filter, space-separated)
  PANTHER_IGNORE_FILES    files to skip (as --ignore-files)
  PANTHER_WORKERS         worker threads (as --jobs)
  PANTHER_MINIMUM_TESTS   as --minimum-tests
  PANTHER_TEST_NAMES      as --test-names (space-separated)
  PANTHER_SKIP_DISABLED_TESTS, PANTHER_SKIP_TESTS   as the flags
  PANTHER_OUT             bundle folder of zip and upload
  PANTHER_API_TOKEN, PANTHER_API_HOST   the Panther API (network commands)
  DETECT_CONFIG           settings file (default: .panther_settings.yml)
  DETECT_FORMAT           report format (as --format)
  DETECT_STRICT           as --strict (test, zip, upload)
  NO_COLOR                no colour with --color auto

Exit codes:
  0  success
  1  findings: invalid files, failed tests, nothing to test, filters that matched nothing
  2  usage or configuration error
  3  remote failure (network, token, server)";

use crate::report::Format;
pub use connection::ApiArgs;

/// Detections-as-code for Panther-format repositories: validate, test and
/// more, offline and fast.
#[derive(Debug, Parser)]
#[command(name = "detect", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Accepted for PAT compatibility; `detect` never checks for updates.
    #[arg(long, global = true, hide = true)]
    pub skip_version_check: bool,
    /// Accepted for PAT compatibility (PAT's debug logging); use `-v`.
    #[arg(long, global = true, hide = true)]
    pub debug: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every detection file and report all problems (no tests run).
    #[command(after_help = AFTER_HELP)]
    Validate(ValidateArgs),
    /// Validate, then run the unit tests of every detection `detect` can evaluate.
    #[command(after_help = AFTER_HELP)]
    Test(TestArgs),
    /// Print the effective detection of an ID, each field with its source.
    #[command(after_help = AFTER_HELP)]
    Show(show::ShowArgs),
    /// Scaffold a derived detection of a base rule.
    #[command(after_help = AFTER_HELP)]
    Derive(derive::DeriveArgs),
    /// Rewrite analysis YAML files in the canonical layout (`--check`, `--diff`).
    #[command(after_help = AFTER_HELP)]
    Fmt(fmt::FmtArgs),
    /// Validate, test and write the upload bundle.
    #[command(after_help = AFTER_HELP)]
    Zip(zip::ZipArgs),
    /// Validate, test, bundle and upload to Panther.
    #[command(after_help = AFTER_HELP)]
    Upload(upload::UploadArgs),
    /// Check the API host and token.
    #[command(after_help = AFTER_HELP)]
    CheckConnection(connection::CheckConnectionArgs),
    /// Delete detections or saved queries on Panther.
    #[command(after_help = AFTER_HELP)]
    Delete(delete::DeleteArgs),
    /// Run detections over log files and write or deliver alerts.
    #[command(after_help = AFTER_HELP)]
    Run(run::RunArgs),
    /// Deliver, resend, test and inspect alert deliveries.
    #[command(after_help = AFTER_HELP)]
    Alerts(alerts::AlertsArgs),
    /// Create the repository's Python environment (`.detect/venv`) that
    /// `detect test` uses for Python detections.
    #[command(after_help = AFTER_HELP)]
    PythonEnv(python_env::PythonEnvArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (`--out DIR`: one page per command).
    Man(completions::ManArgs),
    /// Print the JSON Schema of analysis files, for editors (`--type TYPE`).
    Schema(schema::SchemaArgs),
    /// Summarise ATT&CK coverage and test gaps; write a Navigator layer (`--layer FILE`).
    #[command(after_help = AFTER_HELP)]
    Coverage(coverage::CoverageArgs),
    /// Run the language server over stdio (diagnostics, completion, hover, definition, code actions).
    Lsp(lsp::LspArgs),
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

/// What to read: the paths and the settings file, defined once for every
/// command that reads detections.
#[derive(Debug, Default, Clone, Args)]
pub struct SourceArgs {
    /// Files or folders to read (default: `.`).
    pub paths: Vec<PathBuf>,
    /// Same as a positional path (PAT compatibility; repeatable).
    #[arg(long = "path", value_name = "DIR")]
    pub path: Vec<PathBuf>,
    /// The settings file.
    #[command(flatten)]
    pub settings: ConfigArgs,
}

/// Which files and items to take: `--ignore-files`, `--filter`, `--all-dirs`.
#[derive(Debug, Default, Clone, Args)]
pub struct SelectArgs {
    /// Skip a file: exact path, folder or gitignore-style glob (repeatable).
    #[arg(long = "ignore-files", value_name = "PATH|GLOB")]
    pub ignore_files: Vec<String>,
    /// Select items: KEY=VALUE or KEY!=VALUE, values split on `,` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Read every folder, not only those whose names contain `rules` & co.
    #[arg(long)]
    pub all_dirs: bool,
}

/// `--changed-since`, on `validate` and `test`.
#[derive(Debug, Default, Clone, Args)]
pub struct ChangedArgs {
    /// Report only the items whose files git reports changed since REF (and
    /// untracked ones) and the items that depend on them; `-v` says why.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}

/// The flags of the loading checks (extra keys, table names).
#[derive(Debug, Default, Clone, Args)]
pub struct ChecksArgs {
    /// Accept unknown top-level keys of rules and policies (warning).
    #[arg(long, overrides_with = "no_ignore_extra_keys")]
    pub ignore_extra_keys: bool,
    /// Turns `--ignore-extra-keys` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "ignore_extra_keys", hide_short_help = true)]
    pub no_ignore_extra_keys: bool,
    /// Skip the table-name check of scheduled queries.
    #[arg(long, overrides_with = "no_ignore_table_names")]
    pub ignore_table_names: bool,
    /// Turns `--ignore-table-names` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "ignore_table_names", hide_short_help = true)]
    pub no_ignore_table_names: bool,
    /// Extra allowed table names for scheduled queries (`*` = any; repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub valid_table_names: Vec<String>,
}

/// Flags shared by every command that loads a project.
#[derive(Debug, Default, Args)]
pub struct ProjectArgs {
    /// What to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Which files and items.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The loading checks.
    #[command(flatten)]
    pub checks: ChecksArgs,
}

/// The loading flags of `fmt`: what to read and select; it checks no
/// detection, so the flags of the checks are not there.
#[derive(Debug, Default, Args)]
pub struct DiscoverArgs {
    /// What to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Which files and items.
    #[command(flatten)]
    pub select: SelectArgs,
}

impl DiscoverArgs {
    /// The same, as the loading flags `Context::resolve` takes.
    pub fn project(&self) -> ProjectArgs {
        ProjectArgs {
            source: self.source.clone(),
            select: self.select.clone(),
            ..ProjectArgs::default()
        }
    }
}

/// The loading flags of `derive`: everything but `--filter` (it works on
/// one base, named by its ID).
#[derive(Debug, Default, Args)]
pub struct DeriveProjectArgs {
    /// What to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Skip a file: exact path, folder or gitignore-style glob (repeatable).
    #[arg(long = "ignore-files", value_name = "PATH|GLOB")]
    pub ignore_files: Vec<String>,
    /// Read every folder, not only those whose names contain `rules` & co.
    #[arg(long)]
    pub all_dirs: bool,
    /// The loading checks.
    #[command(flatten)]
    pub checks: ChecksArgs,
}

impl DeriveProjectArgs {
    /// The same, as the loading flags `Context::resolve` takes.
    pub fn project(&self) -> ProjectArgs {
        ProjectArgs {
            source: self.source.clone(),
            select: SelectArgs {
                ignore_files: self.ignore_files.clone(),
                all_dirs: self.all_dirs,
                ..SelectArgs::default()
            },
            checks: self.checks.clone(),
        }
    }
}

/// Where the settings file and the project root are, for commands that
/// read no detections (`alerts resend`, `alerts test`, `alerts log`).
#[derive(Debug, Default, Args)]
pub struct RootArgs {
    /// A folder of the project (default: `.`).
    pub paths: Vec<PathBuf>,
    /// Same as a positional path (PAT compatibility; repeatable).
    #[arg(long = "path", value_name = "DIR")]
    pub path: Vec<PathBuf>,
    /// The settings file.
    #[command(flatten)]
    pub settings: ConfigArgs,
}

impl RootArgs {
    /// The same, as the loading flags `Context::resolve` takes.
    pub fn project(&self) -> ProjectArgs {
        ProjectArgs {
            source: SourceArgs {
                paths: self.paths.clone(),
                path: self.path.clone(),
                settings: self.settings.clone(),
            },
            ..ProjectArgs::default()
        }
    }
}

/// The one loading flag of commands that read only the settings file
/// (`check-connection`, `delete`): they take no paths or filters.
#[derive(Debug, Default, Clone, Args)]
pub struct ConfigArgs {
    /// Settings file (default: `.panther_settings.yml`, searched upwards).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The same, as the loading flags `Context::resolve` takes.
    pub fn project(&self) -> ProjectArgs {
        ProjectArgs {
            source: SourceArgs {
                settings: self.clone(),
                ..SourceArgs::default()
            },
            ..ProjectArgs::default()
        }
    }
}

/// The report flags of every command that prints a test or validation
/// report (`validate`, `test`, `zip`, `upload`).
#[derive(Debug, Default, Args)]
pub struct ReportArgs {
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
    /// Worker threads.
    #[command(flatten)]
    pub workers: JobsArgs,
    /// Make any warning fail the run (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
}

impl ReportArgs {
    /// These flags, with `--strict` where the command has it, as the
    /// options `Context::resolve` takes.
    pub fn options(&self, strict: bool) -> OutputArgs {
        OutputArgs {
            format: self.format,
            output: self.output.clone(),
            color: self.color,
            quiet: self.quiet,
            verbose: self.verbose,
            jobs: self.workers.jobs,
            strict,
            deny_warnings: self.deny_warnings,
        }
    }
}

/// `--jobs` (alias `--workers`), of `run` and the report commands.
#[derive(Debug, Default, Args)]
pub struct JobsArgs {
    /// Worker threads (default: number of CPUs).
    #[arg(long, alias = "workers", value_name = "N")]
    pub jobs: Option<usize>,
}

/// The output options a command passes to `Context::resolve`: the report
/// flags it has, defaults for the rest.
#[derive(Debug, Default)]
pub struct OutputArgs {
    /// `--format`.
    pub format: Option<Format>,
    /// `--output`.
    pub output: Option<PathBuf>,
    /// `--color`.
    pub color: Color,
    /// `--quiet`.
    pub quiet: bool,
    /// `--verbose`, counted.
    pub verbose: u8,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--strict`.
    pub strict: bool,
    /// `--deny-warnings`.
    pub deny_warnings: bool,
}

/// The instance of a report command's optional network step
/// (`validate --remote`, `test --remote-bases`, `upload`).
#[derive(Debug, Default, Args)]
pub struct RemoteArgs {
    /// Panther API token (better: PANTHER_API_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    pub api_token: Option<String>,
    /// Panther API host or GraphQL URL.
    #[arg(long, value_name = "HOST")]
    pub api_host: Option<String>,
}

/// `detect validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Only what changed since a git revision, and what depends on it.
    #[command(flatten)]
    pub changed: ChangedArgs,
    /// How to report.
    #[command(flatten)]
    pub output: ReportArgs,
    /// Also send the bundle to Panther's validation endpoint, check log
    /// types against the instance and look up bases missing from the
    /// repository (needs a token).
    #[arg(long)]
    pub remote: bool,
    /// The instance, for `--remote`.
    #[command(flatten)]
    pub api: RemoteArgs,
    /// `--fix` and `--diff`.
    #[command(flatten)]
    pub fix: fix::FixArgs,
    /// `--watch`.
    #[command(flatten)]
    pub watch: fix::WatchArgs,
}

/// `detect test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Only what changed since a git revision, and what depends on it.
    #[command(flatten)]
    pub changed: ChangedArgs,
    /// How to report.
    #[command(flatten)]
    pub output: ReportArgs,
    /// The test step.
    #[command(flatten)]
    pub step: TestStepArgs,
    /// Run only tests with this name (repeatable).
    #[arg(long = "test-names", value_name = "NAME")]
    pub test_names: Vec<String>,
    /// Print the evaluation tree of every test, not only failing ones.
    #[arg(long)]
    pub explain: bool,
    /// Look up base detections missing from the repository on the Panther
    /// instance (needs a token).
    #[arg(long)]
    pub remote_bases: bool,
    /// The instance, for `--remote-bases`.
    #[command(flatten)]
    pub api: RemoteArgs,
    /// `--watch`.
    #[command(flatten)]
    pub watch: fix::WatchArgs,
}

/// The test-step flags `test`, `zip` and `upload` share.
#[derive(Debug, Default, Args)]
pub struct TestStepArgs {
    /// Make skips of what `detect` cannot evaluate failures.
    #[arg(long)]
    pub strict: bool,
    /// Minimum tests per detection; above 1 also one true and one false test.
    #[arg(long, value_name = "N")]
    pub minimum_tests: Option<usize>,
    /// Skip detections whose effective `Enabled` is false.
    #[arg(long, overrides_with = "no_skip_disabled_tests")]
    pub skip_disabled_tests: bool,
    /// Turns `--skip-disabled-tests` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "skip_disabled_tests", hide_short_help = true)]
    pub no_skip_disabled_tests: bool,
    /// Print only failing tests (the summary is still printed).
    #[arg(long, overrides_with = "no_show_failures_only")]
    pub show_failures_only: bool,
    /// Turns `--show-failures-only` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "show_failures_only", hide_short_help = true)]
    pub no_show_failures_only: bool,
    /// Print passing tests first, then failing ones, each sorted by ID.
    #[arg(long, overrides_with = "no_sort_test_results")]
    pub sort_test_results: bool,
    /// Turns `--sort-test-results` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "sort_test_results", hide_short_help = true)]
    pub no_sort_test_results: bool,
    /// Destination names `destinations()` may return; with none, unknown
    /// destinations are not errors (as under PAT).
    #[arg(long = "available-destination", value_name = "NAME")]
    pub available_destination: Vec<String>,
    /// The Python interpreter that runs Python detections (it needs
    /// panther-core); else DETECT_PYTHON, `detect.python`, VIRTUAL_ENV,
    /// the project's .detect/venv, python3 on PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// Time limit of one Python test, in seconds (Panther's limit: 15).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub python_timeout: Option<std::time::Duration>,
    /// Do not run Python detections (they are skipped as `python rule`).
    #[arg(long)]
    pub no_python: bool,
    /// List the N slowest Python tests after the run.
    #[arg(long, value_name = "N")]
    pub slowest: Option<usize>,
}

/// `--python-timeout`: a positive number of seconds.
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(format!("`{s}` is not a number of seconds between 0 and 86400")),
    }
}

#[cfg(test)]
mod tests {
    /// The command-line types stand alone: nothing under `src/cli/`
    /// imports a command module (commands take their flags from here).
    #[test]
    fn cli_imports_no_command() {
        let files = [
            ("mod.rs", include_str!("mod.rs")),
            ("alerts.rs", include_str!("alerts.rs")),
            ("completions.rs", include_str!("completions.rs")),
            ("connection.rs", include_str!("connection.rs")),
            ("coverage.rs", include_str!("coverage.rs")),
            ("delete.rs", include_str!("delete.rs")),
            ("derive.rs", include_str!("derive.rs")),
            ("fix.rs", include_str!("fix.rs")),
            ("fmt.rs", include_str!("fmt.rs")),
            ("lsp.rs", include_str!("lsp.rs")),
            ("python_env.rs", include_str!("python_env.rs")),
            ("run.rs", include_str!("run.rs")),
            ("schema.rs", include_str!("schema.rs")),
            ("show.rs", include_str!("show.rs")),
            ("upload.rs", include_str!("upload.rs")),
            ("zip.rs", include_str!("zip.rs")),
        ];
        let needle = ["crate", "::commands"].concat();
        for (name, text) in files {
            assert!(!text.contains(&needle), "src/cli/{name} refers to a command module");
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
        let on_disk = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert_eq!(on_disk, files.len(), "a file under src/cli/ is missing from this test");
    }
}
