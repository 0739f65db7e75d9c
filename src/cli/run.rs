//! Flags of `detect run`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{JobsArgs, ProjectArgs};
use crate::report::Format;

/// Flags of `detect run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Event input: JSON Lines or a JSON array, `.gz` ok, `-` = stdin (repeatable).
    #[arg(long = "events", value_name = "FILE", required = true)]
    pub events: Vec<PathBuf>,
    /// Log type for events without `p_log_type`.
    #[arg(long, value_name = "TYPE")]
    pub log_type: Option<String>,
    /// Evaluate only this detection ID (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Also evaluate detections with `Enabled: false`.
    #[arg(long)]
    pub include_disabled: bool,
    /// Write alert payloads (JSON Lines) here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub alerts_out: Option<PathBuf>,
    /// Write signals (JSON Lines) here.
    #[arg(long, value_name = "FILE")]
    pub signals_out: Option<PathBuf>,
    /// Keep open dedup windows in this file between runs.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Time for events without a usable `p_event_time` (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Use the current time, not event time, for `createdAt`.
    #[arg(long)]
    pub wall_clock: bool,
    /// Disable the 1,000-alerts-per-hour limiter.
    #[arg(long)]
    pub no_alert_limit: bool,
    /// Deliver the alerts to the destinations of the settings file.
    #[arg(long)]
    pub deliver: bool,
    /// With `--deliver`: print the routing decisions, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With `--deliver`: also send alerts already delivered.
    #[arg(long)]
    pub force: bool,
    /// Exit 1 if at least one alert was created.
    #[arg(long)]
    pub fail_on_alert: bool,
    /// Exit 1 on skipped detections, 2 on unreadable input lines.
    #[arg(long)]
    pub strict: bool,
    /// The Python interpreter that runs Python rules (it needs
    /// panther-core); else DETECT_PYTHON, `detect.python`, VIRTUAL_ENV,
    /// the project's .detect/venv, python3 on PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Time limit of one Python rule on one event, in seconds (Panther's limit: 15).
    #[arg(long, value_name = "SECONDS", value_parser = super::parse_seconds)]
    pub python_timeout: Option<std::time::Duration>,
    /// Do not run Python rules (they are skipped as `python rule`).
    #[arg(long)]
    pub no_python: bool,
    /// Worker threads.
    #[command(flatten)]
    pub workers: JobsArgs,
    /// Print only problems and the summary line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also list detections that were not evaluated.
    #[arg(short, long)]
    pub verbose: bool,
    /// Benchmarks: read and parse the events, evaluate nothing.
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// Checks: parse every event in full and evaluate every detection of
    /// its log type, without the candidate index (same output, slower).
    #[arg(long, hide = true)]
    pub full_eval: bool,
    /// Report format on stdout (default: `human`; `DETECT_FORMAT`, settings `format`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}
