//! `detect delete`: delete detections or saved queries on Panther.

use std::io::Write;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::error::{Error, Result};

/// Flags of `detect delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &DeleteArgs, out: &mut dyn Write) -> Result<u8> {
    let _ = (args, out);
    Err(Error::Usage("`detect delete` is not built yet".to_owned()))
}
