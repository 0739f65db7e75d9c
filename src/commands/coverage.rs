//! `detect coverage`: load the project as `validate` does, read every
//! selected detection's ATT&CK mappings and tests, tally them, and hand
//! the result to the coverage reporter (and the layer to a file).

use std::io::Write;

use crate::cli::OutputArgs;
use crate::cli::coverage::CoverageArgs;
use crate::commands::context::Context;
use crate::coverage::{self, Detection};
use crate::error::{Error, Result};
use crate::report::coverage::{CoverageReport, LayerOptions};

/// Runs `detect coverage`; the exit code is 1 only with `--fail-on-gaps`
/// and a gap.
///
/// # Errors
/// The project cannot be read, or the report or layer cannot be written.
pub fn run(args: &CoverageArgs, out: &mut dyn Write) -> Result<u8> {
    let mut cx = Context::resolve(&args.project, &OutputArgs::default())?;
    let project = cx.load()?;
    let index = project.resolved();
    let mut warnings = Vec::new();
    let mut detections: Vec<Detection> = Vec::new();
    for e in &project.entries {
        let Some(a) = &e.analysis else { continue };
        let src = project.source(e.file);
        if !cx.is_reported(&src.path) || !a.analysis_type.value.is_detection() || !cx.selects(a, &src.rel, &index) {
            continue;
        }
        let base = a
            .rule()
            .and_then(|r| r.base_detection.as_ref())
            .and_then(|b| index.get(&b.value));
        detections.push(coverage::detection(a, base, &mut warnings));
    }
    warnings.sort_by_key(|d| {
        d.primary
            .as_ref()
            .map(|l| (l.file, l.span.start.line, l.span.start.col))
    });
    let cov = coverage::tally(&detections);
    let report = CoverageReport {
        coverage: &cov,
        warnings: &warnings,
        sources: &project.sources,
        layer: args.layer.as_deref(),
    };
    if let Some(path) = &args.layer {
        let options = LayerOptions {
            name: &args.layer_name,
            attack_version: &args.attack_version,
        };
        let mut file = std::fs::File::create(path)
            .map_err(|e| Error::Usage(format!("cannot create `{}`: {e}", path.display())))?;
        crate::report::coverage::write_layer(&mut file, &cov, &options).map_err(Error::Write)?;
    }
    match crate::report::coverage::render(out, &report, args.format) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(Error::Write(e)),
        _ => {}
    }
    Ok(if args.fail_on_gaps && !cov.gaps.is_empty() {
        crate::exit::FINDINGS
    } else {
        crate::exit::SUCCESS
    })
}
