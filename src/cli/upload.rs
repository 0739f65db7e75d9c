//! Flags of `detect upload`.

use clap::Args;

use crate::cli::zip::BundleArgs;
use crate::cli::{ProjectArgs, RemoteArgs, ReportArgs};

/// Flags of `detect upload`.
#[derive(Debug, Args)]
#[command(after_help = "The instance: --api-host HOST (or PANTHER_API_HOST, `api_host`) and \
--api-token TOKEN (better: PANTHER_API_TOKEN; or `api_token`).")]
pub struct UploadArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How to report.
    #[command(flatten)]
    pub output: ReportArgs,
    /// The instance.
    #[command(flatten)]
    pub api: RemoteArgs,
    /// The test step and the bundle.
    #[command(flatten)]
    pub bundle: BundleArgs,
    /// Also write the `Enabled: false` edit of disabled bases to the files.
    #[arg(long)]
    pub write_base_changes: bool,
    /// Retries of a retryable failure (0-10, default 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_retries: Option<i64>,
    /// Use the synchronous upload even if the instance has the async one.
    #[arg(long)]
    pub no_async: bool,
    /// Upload in several bundles, grouped by analysis type.
    #[arg(long)]
    pub batch: bool,
    /// Build the bundle and show what it holds; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Give up when a bundle is not accepted within this many seconds, all
    /// retries and waits included (`detect.upload.timeout_seconds`;
    /// default 300).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<f64>,
}

/// A number of seconds above zero, at most a day.
fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= 86_400.0 => Ok(n),
        _ => Err(format!("`{s}` is not a number of seconds above 0 (at most 86400)")),
    }
}
