//! `detect schema`: the JSON Schema of analysis files, on stdout or in a
//! file.

use std::io::Write;

use crate::cli::schema::SchemaArgs;
use crate::error::{Error, Result};
use crate::model::AnalysisType;

/// Builds the schema `args` ask for and hands it to the reporter.
///
/// # Errors
/// An unknown `--type` (clap rejects it first) or a file that cannot be
/// written.
pub fn run(args: &SchemaArgs, out: &mut dyn Write) -> Result<u8> {
    let only = match &args.analysis_type {
        Some(name) => {
            Some(AnalysisType::from_name(name).ok_or_else(|| Error::Usage(format!("unknown analysis type `{name}`")))?)
        }
        None => None,
    };
    let document = crate::schema::document(only);
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .map_err(|e| Error::Usage(format!("cannot create `{}`: {e}", path.display())))?;
            crate::report::schema::write(&mut file, &document).map_err(Error::Write)?;
        }
        None => match crate::report::schema::write(out, &document) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(Error::Write(e)),
            _ => {}
        },
    }
    Ok(crate::exit::SUCCESS)
}
