//! Flags of `detect delete`.

use clap::Args;

use crate::cli::{ApiArgs, ConfigArgs};

/// Flags of `detect delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Where to look for the settings file (`--config`).
    #[command(flatten)]
    pub project: ConfigArgs,
    /// The instance.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Detection ID to delete (rule, policy, ...; repeatable).
    #[arg(long = "analysis-id", value_name = "ID")]
    pub analysis_id: Vec<String>,
    /// Saved query name to delete (repeatable).
    #[arg(long = "query-id", value_name = "NAME")]
    pub query_id: Vec<String>,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long, overrides_with = "confirm")]
    pub no_confirm: bool,
    /// Ask before deleting (the default; PAT compatibility).
    #[arg(long, overrides_with = "no_confirm", hide = true)]
    pub confirm: bool,
    /// Show what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}
