//! Flags of `detect show`.

use clap::{Args, ValueEnum};

use crate::cli::{ApiArgs, ProjectArgs};

/// Output formats of `detect show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ShowFormat {
    /// Fields with their sources, and the alert-field precedence.
    #[default]
    Human,
    /// The effective detection as YAML, each key's source in a comment.
    Yaml,
    /// One JSON object (module docs).
    Json,
}

/// Flags of `detect show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// ID of the detection to show (`RuleID`, `PolicyID`, ...).
    #[arg(value_name = "ID")]
    pub id: String,
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ShowFormat,
    /// Look a base that is not in the repository up on the Panther
    /// instance (needs a token).
    #[arg(long)]
    pub remote: bool,
    /// The instance, for `--remote`.
    #[command(flatten)]
    pub api: ApiArgs,
}
