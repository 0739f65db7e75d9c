//! Flags of `detect derive`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{ApiArgs, DeriveProjectArgs};
use crate::report::Format;

/// Flags of `detect derive`.
#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// `RuleID` of the rule to derive from (local, or on the instance with `--remote`).
    #[arg(value_name = "BASE_ID")]
    pub base_id: String,
    /// What to read.
    #[command(flatten)]
    pub project: DeriveProjectArgs,
    /// `RuleID` of the new detection (default: `<BASE_ID>.Derived`).
    #[arg(long = "id", value_name = "NEW_ID")]
    pub id: Option<String>,
    /// File to write (default: next to the base, named after the new ID).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Pre-fill an override, e.g. `Severity=High` or `Tags=a,b` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also set `Enabled: false` in the base file (a one-line edit).
    #[arg(long)]
    pub disable_base: bool,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the file and the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Look BASE_ID up on the Panther instance when it is not in the
    /// repository (needs a token).
    #[arg(long)]
    pub remote: bool,
    /// The instance, for `--remote`.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Report format on stdout (default: `human`; `DETECT_FORMAT`, settings `format`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}
