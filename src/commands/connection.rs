//! `detect connection`: check the API host and token.

use std::io::Write;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::error::{Error, Result};

/// Flags of `detect connection`.
#[derive(Debug, Args)]
pub struct CheckConnectionArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &CheckConnectionArgs, out: &mut dyn Write) -> Result<u8> {
    let _ = (args, out);
    Err(Error::Usage("`detect connection` is not built yet".to_owned()))
}
