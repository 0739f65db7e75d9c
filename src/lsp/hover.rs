//! Hover: what a key or condition means ([`reference`](mod@crate::lsp::reference)), and for a RuleID
//! named or defined, the item's DisplayName, Severity and file.

use std::fmt::Write;

use crate::lsp::definition::{self, Target};
use crate::lsp::reference;
use crate::lsp::workspace::Workspace;
use crate::source::{FileId, Pos};

/// The hover text (Markdown) at 0-based `line`, byte `byte` of `text`.
pub fn hover(
    ws: Option<&Workspace>,
    file: Option<FileId>,
    text: &str,
    line: usize,
    byte: usize,
    at: Pos,
) -> Option<String> {
    if let (Some(ws), Some(file)) = (ws, file) {
        if let Some(t) = definition::target(ws, file, at) {
            if let Some(s) = item(ws, &t) {
                return Some(s);
            }
        }
    }
    let l = text.split('\n').nth(line)?;
    let (word, start) = word_at(l, byte)?;
    let after = l.get(start + word.len()..).unwrap_or("");
    let before = l.get(..start).unwrap_or("").trim_end();
    if after.starts_with(':') {
        return reference::key(word).map(|t| format!("**{word}**\n\n{t}"));
    }
    if before.ends_with("Condition:") {
        return reference::condition(word).map(|t| format!("**{word}**\n\n{t}"));
    }
    None
}

/// The item an ID names.
fn item(ws: &Workspace, t: &Target) -> Option<String> {
    let a = definition::definition_of(ws, t.id())?;
    let src = ws.source(a.file)?;
    let mut out = format!("**{}** ({})", t.id(), a.analysis_type.value.name());
    if let Some(r) = a.rule() {
        if let Some(d) = &r.display_name {
            let _ = write!(out, "\n\nDisplayName: {}", d.value);
        }
        if let Some(s) = &r.severity {
            let _ = write!(out, "\n\nSeverity: {}", s.value.title());
        }
    }
    let _ = write!(out, "\n\nFile: `{}`", src.rel);
    Some(out)
}

/// The word (letters, digits, `_`, `.`) around byte `byte` of `line` and
/// where it starts.
fn word_at(line: &str, byte: usize) -> Option<(&str, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let byte = byte.min(line.len());
    let start = line
        .get(..byte)?
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(byte, |(i, _)| i);
    let end = line
        .get(byte..)?
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(line.len(), |(i, _)| byte + i);
    let word = line.get(start..end)?;
    (!word.is_empty()).then_some((word, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_conditions() {
        let text = "Severity: High\nDetection:\n  - Key: a\n    Condition: Equals\n";
        let h = hover(None, None, text, 0, 3, Pos::default()).unwrap_or_default();
        assert!(h.starts_with("**Severity**"), "{h}");
        let h = hover(None, None, text, 3, 17, Pos::default()).unwrap_or_default();
        assert!(h.contains("JSON equality"), "{h}");
        assert_eq!(hover(None, None, text, 0, 12, Pos::default()), None);
    }
}
