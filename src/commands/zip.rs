//! `detect zip`: validate, test and write the upload bundle.

use std::io::Write;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::error::{Error, Result};

/// Flags of `detect zip`.
#[derive(Debug, Args)]
pub struct ZipArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &ZipArgs, out: &mut dyn Write) -> Result<u8> {
    let _ = (args, out);
    Err(Error::Usage("`detect zip` is not built yet".to_owned()))
}
