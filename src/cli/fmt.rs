//! Flags of `detect fmt`.

use clap::Args;

use crate::cli::DiscoverArgs;
use crate::report::Format;

/// Flags of `detect fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// What to read.
    #[command(flatten)]
    pub project: DiscoverArgs,
    /// Write nothing; list the files that would change and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of each file that would change; write nothing.
    #[arg(long)]
    pub diff: bool,
    /// Report format on stdout (default: `human`; `DETECT_FORMAT`, settings `format`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}
