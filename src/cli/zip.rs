//! Flags of `detect zip`, and the test-step and bundle flags `upload` shares.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{ProjectArgs, ReportArgs, TestStepArgs};

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
    /// The test step.
    #[command(flatten)]
    pub step: TestStepArgs,
}

/// Flags of `detect zip`.
#[derive(Debug, Args)]
pub struct ZipArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How to report.
    #[command(flatten)]
    pub output: ReportArgs,
    /// The test step and the bundle.
    #[command(flatten)]
    pub bundle: BundleArgs,
}
