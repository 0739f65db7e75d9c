//! Flags of `detect coverage`.

use std::path::PathBuf;

use clap::Args;

use crate::cli::ProjectArgs;
use crate::report::coverage::CoverageFormat;

/// Flags of `detect coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: CoverageFormat,
    /// Write an ATT&CK Navigator layer (format 4.5) to FILE.
    #[arg(long, value_name = "FILE")]
    pub layer: Option<PathBuf>,
    /// The layer's name.
    #[arg(long, value_name = "NAME", default_value = "detect coverage")]
    pub layer_name: String,
    /// The ATT&CK version the layer names in `versions.attack`.
    #[arg(long, value_name = "VERSION", default_value = "17")]
    pub attack_version: String,
    /// Exit 1 when a detection has no test, or lacks a true or a false case.
    #[arg(long)]
    pub fail_on_gaps: bool,
}
