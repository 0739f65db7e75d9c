//! Flags of `detect python-env`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::ConfigArgs;

/// `detect python-env`.
#[derive(Debug, Default, Args)]
pub struct PythonEnvArgs {
    /// The repository (default: `.`); the environment goes to
    /// `.detect/venv` under its project root.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// The base Python that creates the virtualenv (else DETECT_PYTHON,
    /// else python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Rebuild even when the stamp says the environment is up to date.
    #[arg(long)]
    pub force: bool,
    /// Print only the hash of the inputs (a CI cache key); create nothing.
    #[arg(long)]
    pub print_hash: bool,
    /// An argument for `pip install` (repeatable), e.g. `--pip-arg
    /// --no-index --pip-arg --find-links --pip-arg DIR`.
    #[arg(long = "pip-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub pip_arg: Vec<String>,
    /// The requirement installed for the workers instead of
    /// `panther-core` (a pinned version, a wheel file).
    #[arg(long = "panther-core", value_name = "REQ")]
    pub panther_core: Option<String>,
    /// The settings file (read to tell whether `detect test` will take
    /// another interpreter first).
    #[command(flatten)]
    pub settings: ConfigArgs,
}
