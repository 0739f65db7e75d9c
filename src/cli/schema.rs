//! Flags of `detect schema`.

use std::path::PathBuf;

use clap::Args;
use clap::builder::PossibleValuesParser;

use crate::model::AnalysisType;

/// Flags of `detect schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Only this analysis type (default: every type, chosen by `AnalysisType`).
    #[arg(long = "type", value_name = "TYPE", value_parser = analysis_types())]
    pub analysis_type: Option<String>,
    /// Write the schema to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn analysis_types() -> PossibleValuesParser {
    PossibleValuesParser::new(AnalysisType::ALL.iter().map(|(_, name)| *name))
}
