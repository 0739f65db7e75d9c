//! The documents the editor has open: their text as the editor holds it,
//! which wins over the file on disk.

use std::collections::HashMap;

use lsp_types::{TextDocumentContentChangeEvent, Url};

use crate::lsp::position;

/// Open documents by URI.
#[derive(Debug, Default)]
pub struct Documents {
    open: HashMap<Url, String>,
}

impl Documents {
    /// Records an opened document.
    pub fn open(&mut self, uri: Url, text: String) {
        self.open.insert(uri, text);
    }

    /// Forgets a closed document.
    pub fn close(&mut self, uri: &Url) {
        self.open.remove(uri);
    }

    /// The text of an open document.
    pub fn get(&self, uri: &Url) -> Option<&str> {
        self.open.get(uri).map(String::as_str)
    }

    /// Every open document.
    pub fn iter(&self) -> impl Iterator<Item = (&Url, &str)> {
        self.open.iter().map(|(u, t)| (u, t.as_str()))
    }

    /// Applies changes (full or incremental) to an open document and
    /// returns its new text; `None` when it is not open.
    pub fn change(&mut self, uri: &Url, changes: Vec<TextDocumentContentChangeEvent>) -> Option<&str> {
        let text = self.open.get_mut(uri)?;
        for c in changes {
            apply(text, c);
        }
        Some(text.as_str())
    }
}

/// Applies one change: the whole text, or a range replaced.
pub fn apply(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(r) => {
            let start = position::offset(text, r.start);
            let end = position::offset(text, r.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    fn edit(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range {
                start: Position {
                    line: sl,
                    character: sc,
                },
                end: Position {
                    line: el,
                    character: ec,
                },
            }),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_edits_apply_in_order() {
        let mut t = "a: 1\nSevrity: é😀\n".to_owned();
        apply(&mut t, edit(1, 0, 1, 7, "Severity"));
        assert_eq!(t, "a: 1\nSeverity: é😀\n");
        // After `é😀` (1 + 2 UTF-16 units from column 10).
        apply(&mut t, edit(1, 13, 1, 13, "!"));
        assert_eq!(t, "a: 1\nSeverity: é😀!\n");
        apply(&mut t, edit(0, 0, 1, 0, ""));
        assert_eq!(t, "Severity: é😀!\n");
        // A reversed range inserts at its start; out of range clamps.
        apply(&mut t, edit(5, 0, 0, 0, "x"));
        assert_eq!(t, "Severity: é😀!\nx");
    }
}
