//! Go to definition and find references of RuleIDs: the places a file
//! names another item (`BaseDetection`, correlation `RuleID`, pack `IDs`)
//! and the ID keys that define them, read from the loaded model's spans.

use lsp_types::{Location, Url};

use crate::lsp::position;
use crate::lsp::workspace::Workspace;
use crate::model::{Analysis, Body};
use crate::source::{FileId, Pos, Span, Spanned};

/// What the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A reference to the item with this ID.
    Reference(String),
    /// The file's own ID key.
    Definition(String),
}

impl Target {
    /// The ID named.
    pub fn id(&self) -> &str {
        match self {
            Target::Reference(id) | Target::Definition(id) => id,
        }
    }
}

fn contains(span: Span, p: Pos) -> bool {
    span.start <= p && p <= span.end
}

/// Every reference an item makes to another: bases, correlation rule
/// references, pack IDs.
pub fn references_of(a: &Analysis) -> Vec<&Spanned<String>> {
    match &a.body {
        Body::Rule(r) => r.base_detection.iter().collect(),
        Body::Other(o) => o.rule_refs.iter().chain(&o.pack_ids).collect(),
    }
}

/// The ID at a position of a file.
pub fn target(ws: &Workspace, file: FileId, p: Pos) -> Option<Target> {
    let a = ws.analysis(file)?;
    if let Some(r) = references_of(a).into_iter().find(|r| contains(r.span, p)) {
        return Some(Target::Reference(r.value.clone()));
    }
    a.id.as_ref()
        .filter(|id| contains(id.span, p))
        .map(|id| Target::Definition(id.value.clone()))
}

fn location(ws: &Workspace, file: FileId, span: Span) -> Option<Location> {
    let src = ws.source(file)?;
    Some(Location {
        uri: Url::from_file_path(&src.path).ok()?,
        range: position::range(src, span),
    })
}

/// The item that defines an ID (the first in project order).
pub fn definition_of<'a>(ws: &'a Workspace, id: &str) -> Option<&'a Analysis> {
    ws.index().find(id)
}

/// Where the ID is defined.
pub fn definition(ws: &Workspace, id: &str) -> Option<Location> {
    let a = definition_of(ws, id)?;
    location(ws, a.file, a.id.as_ref().map_or(Span::START, |i| i.span))
}

/// Every place that names the ID, its definitions first when asked.
pub fn references(ws: &Workspace, id: &str, declaration: bool) -> Vec<Location> {
    let mut out = Vec::new();
    let items = || ws.entries.iter().filter_map(|e| e.analysis.as_ref());
    if declaration {
        for a in items().filter(|a| a.id.as_ref().is_some_and(|i| i.value == id)) {
            out.extend(location(ws, a.file, a.id.as_ref().map_or(Span::START, |i| i.span)));
        }
    }
    for a in items() {
        for r in references_of(a).into_iter().filter(|r| r.value == id) {
            out.extend(location(ws, a.file, r.span));
        }
    }
    out
}
