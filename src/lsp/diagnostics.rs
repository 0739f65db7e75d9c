//! Our diagnostics as the protocol's: same code, range, message and help.

use std::collections::BTreeMap;

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Url};

use crate::diagnostic::{Diagnostic, Severity};
use crate::lsp::position;
use crate::lsp::workspace::Workspace;
use crate::source::FileId;

/// The URI of a file of the workspace.
pub fn uri(ws: &Workspace, id: FileId) -> Option<Url> {
    Url::from_file_path(&ws.source(id)?.path).ok()
}

/// One diagnostic in the protocol's form, for the file it is about. The
/// help line follows the message, as `validate` prints it.
pub fn to_lsp(ws: &Workspace, d: &Diagnostic) -> Option<(FileId, lsp_types::Diagnostic)> {
    let label = d.primary.as_ref()?;
    let src = ws.source(label.file)?;
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|l| {
            let s = ws.source(l.file)?;
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: Url::from_file_path(&s.path).ok()?,
                    range: position::range(s, l.span),
                },
                message: l.text.clone().unwrap_or_else(|| "related".to_owned()),
            })
        })
        .collect();
    Some((
        label.file,
        lsp_types::Diagnostic {
            range: position::range(src, label.span),
            severity: Some(match d.severity() {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Info => DiagnosticSeverity::INFORMATION,
            }),
            code: Some(NumberOrString::String(d.code.name().to_owned())),
            source: Some("detect".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        },
    ))
}

/// Every file's diagnostics in the protocol's form (a file with none is
/// absent), from the checks and the unit tests run on save.
pub fn by_file<'a>(
    ws: &Workspace,
    diags: impl IntoIterator<Item = &'a Diagnostic>,
) -> BTreeMap<FileId, Vec<lsp_types::Diagnostic>> {
    let mut out: BTreeMap<FileId, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for d in diags {
        if let Some((file, l)) = to_lsp(ws, d) {
            out.entry(file).or_default().push(l);
        }
    }
    out
}
