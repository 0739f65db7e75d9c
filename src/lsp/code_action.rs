//! Code actions: each diagnostic's [`Fix`](crate::diagnostic::Fix) as a
//! quick fix that edits the file.

use std::collections::HashMap;

use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, Range, TextEdit, Url, WorkspaceEdit};

use crate::lsp::diagnostics;
use crate::lsp::position;
use crate::lsp::workspace::Workspace;
use crate::source::FileId;

fn overlaps(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// The quick fixes of the diagnostics of `file` that touch `range`.
pub fn actions(ws: &Workspace, file: FileId, uri: &Url, range: Range) -> Vec<CodeActionOrCommand> {
    let Some(src) = ws.source(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in ws.diagnostics.iter().filter(|d| d.file() == Some(file)) {
        let Some(fix) = &d.fix else { continue };
        let Some((_, lsp)) = diagnostics::to_lsp(ws, d) else {
            continue;
        };
        if !overlaps(lsp.range, range) {
            continue;
        }
        let edits: Vec<TextEdit> = fix
            .edits
            .iter()
            .map(|e| TextEdit {
                range: position::range(src, e.span),
                new_text: e.text.clone(),
            })
            .collect();
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: fix.title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![lsp]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), edits)])),
                ..WorkspaceEdit::default()
            }),
            is_preferred: Some(fix.safe),
            ..CodeAction::default()
        }));
    }
    out
}
