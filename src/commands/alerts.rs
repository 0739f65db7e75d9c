//! `detect alerts`: deliver, resend, test and inspect alert deliveries.

use std::io::Write;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::error::{Error, Result};

/// Flags of `detect alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &AlertsArgs, out: &mut dyn Write) -> Result<u8> {
    let _ = (args, out);
    Err(Error::Usage("`detect alerts` is not built yet".to_owned()))
}
