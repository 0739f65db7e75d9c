//! Flags of `detect zip`, and the test-step and bundle flags `upload` shares.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{OutputArgs, ProjectArgs};

/// Flags `zip` and `upload` share: the test step and the bundle.
#[derive(Debug, Default, Args)]
pub struct BundleArgs {
    /// Skip unit tests (validation still runs; invalid files still abort).
    #[arg(long, overrides_with = "no_skip_tests")]
    pub skip_tests: bool,
    /// Turns `--skip-tests` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "skip_tests", hide_short_help = true)]
    pub no_skip_tests: bool,
    /// Folder for the bundle, created if missing (also `PANTHER_OUT`, `out`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Disable, in the bundle only, the bases of uploaded derived detections.
    #[arg(long, overrides_with = "no_auto_disable_base")]
    pub auto_disable_base: bool,
    /// Turns `--auto-disable-base` off (also a settings or environment value); the last of the two wins.
    #[arg(long, overrides_with = "auto_disable_base", hide_short_help = true)]
    pub no_auto_disable_base: bool,
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
    /// Destination names `destinations()` may return (accepted for PAT).
    #[arg(long = "available-destination", value_name = "NAME", hide = true)]
    pub available_destination: Vec<String>,
}

/// Flags of `detect zip`.
#[derive(Debug, Args)]
pub struct ZipArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How to report.
    #[command(flatten)]
    pub output: OutputArgs,
    /// The test step and the bundle.
    #[command(flatten)]
    pub bundle: BundleArgs,
}
