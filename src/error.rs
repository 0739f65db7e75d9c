//! Failures of the run itself (not findings about user files).
//!
//! Findings about files are [`crate::diagnostic::Diagnostic`]s. These errors
//! stop a command: an unreadable path, a bad settings file, a bad flag.

use std::path::PathBuf;

/// A failure that stops the command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The settings file is unusable.
    #[error("{0}")]
    Settings(String),
    /// A flag or filter has a bad value.
    #[error("{0}")]
    Usage(String),
    /// A finding that ends a command with exit code 1 (an unknown ID for
    /// `show`, a base that is not a local rule for `derive`).
    #[error("{0}")]
    Findings(String),
    /// Writing the report failed.
    #[error("cannot write the report: {0}")]
    Write(#[source] std::io::Error),
}

impl Error {
    /// The exit code for this failure (cli-and-settings §6.5).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Findings(_) => crate::exit::FINDINGS,
            Error::Read { .. } | Error::Settings(_) | Error::Usage(_) | Error::Write(_) => crate::exit::USAGE,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
