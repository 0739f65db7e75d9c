//! Flags of `detect lsp`.

use clap::{ArgAction, Args};

/// Flags of `detect lsp`.
#[derive(Debug, Args)]
pub struct LspArgs {
    /// Log what the server does to stderr.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
    /// Talk over stdin/stdout (the only transport; accepted because
    /// editors pass it).
    #[arg(long)]
    pub stdio: bool,
}
