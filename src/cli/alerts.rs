//! Flags of `detect alerts` and its subcommands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::cli::{ProjectArgs, RootArgs};
use crate::report::Format;

/// Flags of `detect alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: AlertsCommand,
}

/// `detect alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Deliver the payloads of an alerts file (output of `detect run`).
    Deliver(DeliverArgs),
    /// Re-send failed (or, with --force, any) deliveries from the log.
    Resend(ResendArgs),
    /// Send a test alert to one destination, ignoring its filters.
    Test(TestArgs),
    /// List deliveries, newest first.
    Log(LogArgs),
}

/// `detect alerts deliver FILE`.
#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Alerts file: one payload per line.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What to read (detections supply `OutputIds` and `LogTypes`).
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Print the routing decisions, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also send alerts already delivered to a destination.
    #[arg(long)]
    pub force: bool,
    /// Send only to this destination.
    #[arg(long, value_name = "NAME")]
    pub destination: Option<String>,
    /// Report format on stdout (default: `human`; `DETECT_FORMAT`, settings `format`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// `detect alerts resend`.
#[derive(Debug, Args)]
pub struct ResendArgs {
    /// Where the settings and the project root are.
    #[command(flatten)]
    pub project: RootArgs,
    /// Only this alert (repeatable).
    #[arg(long = "alert-id", value_name = "ID")]
    pub alert_ids: Vec<String>,
    /// Only this destination; with --alert-id, a destination the alert was
    /// never sent to is a manual dispatch.
    #[arg(long, value_name = "NAME")]
    pub destination: Option<String>,
    /// Every failed or interrupted delivery (the default without --alert-id).
    #[arg(long, conflicts_with = "alert_ids")]
    pub all_failed: bool,
    /// Also re-send deliveries that succeeded.
    #[arg(long)]
    pub force: bool,
    /// Report format on stdout (default: `human`; `DETECT_FORMAT`, settings `format`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// `detect alerts test NAME`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Destination name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Where the settings and the project root are.
    #[command(flatten)]
    pub project: RootArgs,
    /// One attempt only.
    #[arg(long)]
    pub no_retry: bool,
}

/// Output format of `detect alerts log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// One line per delivery.
    #[default]
    Human,
    /// One JSON array of delivery-log records.
    Json,
}

/// `detect alerts log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Where the settings and the project root are.
    #[command(flatten)]
    pub project: RootArgs,
    /// Only failed deliveries.
    #[arg(long)]
    pub failed: bool,
    /// Only this alert (repeatable).
    #[arg(long = "alert-id", value_name = "ID")]
    pub alert_ids: Vec<String>,
    /// Only this destination.
    #[arg(long, value_name = "NAME")]
    pub destination: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: LogFormat,
}
