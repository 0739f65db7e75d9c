//! `detect show`: print the effective detection of an ID, each field with its source.

use std::io::Write;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::error::{Error, Result};

/// Flags of `detect show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &ShowArgs, out: &mut dyn Write) -> Result<u8> {
    let _ = (args, out);
    Err(Error::Usage("`detect show` is not built yet".to_owned()))
}
