//! `validate --fix`: the safe fixes of one file's diagnostics applied to
//! its text, then the canonical layout of [`crate::fmt`]. Text in, text
//! out; no I/O (`commands/fix.rs` reads and writes the files).
//!
//! A round loads the text ([`crate::load::load_file`]), takes the safe
//! [`Fix`]es of its diagnostics, drops those whose edits overlap an edit
//! already taken, applies the edits from the end of the file backwards and
//! keeps the result only when its re-load proves it:
//!
//! - the text still parses, and its value tree is the old tree with exactly
//!   the edited scalars replaced by the edits' texts (every edit replaces a
//!   whole key or value, and nothing else moved);
//! - each fixed diagnostic is gone, and no error appeared that the old text
//!   did not have (a warning may appear: a fixed condition name lets the
//!   expression be checked further).
//!
//! When a round as a whole fails that proof, each of its fixes is tried on
//! its own and the ones that fail are left out of later rounds. Rounds
//! repeat until no safe fix is left, at most [`MAX_ROUNDS`] times. The
//! layout comes last, with the guards of `fmt` (a file `fmt` leaves alone
//! keeps its layout, with the reason).

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Edit, Fix, Severity};
use crate::fmt::{self, Formatted};
use crate::load::{LoadOptions, load_file};
use crate::source::{FileId, Span};
use crate::yaml::{self, Node, NodeKind};

/// Most rounds of fixes on one file.
pub const MAX_ROUNDS: usize = 16;

/// One fix applied, where it was applied (line and column in the text of
/// its round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Line of the first edit, 1-based.
    pub line: u32,
    /// Column of the first edit, in characters, 1-based.
    pub col: u32,
    /// The fix's title ("rename `Sevrity` to `Severity`").
    pub title: String,
}

/// What `--fix` makes of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFix {
    /// The text to write; equal to the input when nothing changed.
    pub text: String,
    /// The fixes applied, in order.
    pub applied: Vec<Applied>,
    /// Whether the layout changed the text.
    pub reformatted: bool,
    /// Safe fixes not applied, each with why (`rename … : the re-load …`).
    pub refused: Vec<String>,
    /// Why the layout was not applied (`fmt` left the file alone).
    pub layout_left: Option<String>,
    /// The fixes of the final text that are not safe, so not applied
    /// (a rename onto a key already present, a misspelt value).
    pub offered: Vec<Applied>,
}

impl FileFix {
    /// Whether the text changed.
    pub fn changed(&self, original: &str) -> bool {
        self.text != original
    }
}

/// Applies the safe fixes and the layout to `text`, a file loaded with
/// `opts`.
pub fn fix_file(text: &str, opts: &LoadOptions) -> FileFix {
    let mut out = FileFix {
        text: text.to_owned(),
        applied: Vec::new(),
        reformatted: false,
        refused: Vec::new(),
        layout_left: None,
        offered: Vec::new(),
    };
    // Fixes proven wrong, by title and first span: never tried again.
    let mut bad: Vec<(String, Span)> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let loaded = load_file(FileId(0), Some(&out.text), opts.clone());
        let chosen = choose(&loaded.diagnostics, &bad);
        if chosen.is_empty() {
            break;
        }
        match attempt(&out.text, &loaded.diagnostics, &chosen, opts) {
            Ok(new) => {
                out.applied.extend(chosen.iter().map(|d| applied(d)));
                out.text = new;
            }
            Err(_) if chosen.len() > 1 => {
                // Find the fixes that hold on their own; the next round
                // takes them again (their positions may have moved).
                let mut progressed = false;
                for d in &chosen {
                    match attempt(&out.text, &loaded.diagnostics, std::slice::from_ref(d), opts) {
                        Ok(new) if !progressed => {
                            out.applied.push(applied(d));
                            out.text = new;
                            progressed = true;
                        }
                        Ok(_) => {}
                        Err(why) => refuse(&mut out, &mut bad, d, &why),
                    }
                }
                if !progressed {
                    break;
                }
            }
            Err(why) => {
                if let Some(d) = chosen.first() {
                    refuse(&mut out, &mut bad, d, &why);
                }
            }
        }
    }
    if let Ok(Some(doc)) = fmt::analysis_document(&out.text) {
        match fmt::format(&out.text, &doc) {
            Formatted::Changed(new) => {
                out.text = new;
                out.reformatted = true;
            }
            Formatted::Unchanged => {}
            Formatted::LeftAlone(why) => out.layout_left = Some(why),
        }
    }
    let last = load_file(FileId(0), Some(&out.text), opts.clone());
    for d in &last.diagnostics {
        if let Some((f, e)) = d
            .fix
            .as_ref()
            .filter(|f| !f.safe)
            .and_then(|f| Some((f, f.edits.first()?)))
        {
            out.offered.push(Applied {
                line: e.span.start.line,
                col: e.span.start.col,
                title: f.title.clone(),
            });
        }
    }
    out
}

fn fix_of(d: &Diagnostic) -> Option<&Fix> {
    d.fix.as_ref().filter(|f| f.safe && !f.edits.is_empty())
}

fn key_of(d: &Diagnostic) -> Option<(String, Span)> {
    let f = fix_of(d)?;
    Some((f.title.clone(), f.edits.first()?.span))
}

fn applied(d: &Diagnostic) -> Applied {
    let (title, span) = key_of(d).unwrap_or_default();
    Applied {
        line: span.start.line,
        col: span.start.col,
        title,
    }
}

fn refuse(out: &mut FileFix, bad: &mut Vec<(String, Span)>, d: &Diagnostic, why: &str) {
    if let Some(k) = key_of(d) {
        out.refused.push(format!("{}: {why}", k.0));
        bad.push(k);
    }
}

/// The safe fixes of a round: in file order, each whole or not at all,
/// none with an edit overlapping an edit of one taken before.
fn choose<'d>(diags: &'d [Diagnostic], bad: &[(String, Span)]) -> Vec<&'d Diagnostic> {
    let mut candidates: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| fix_of(d).is_some() && key_of(d).is_some_and(|k| !bad.contains(&k)))
        .collect();
    candidates.sort_by_key(|d| key_of(d).map(|k| k.1));
    let mut taken: Vec<Span> = Vec::new();
    let mut out = Vec::new();
    for d in candidates {
        let Some(f) = fix_of(d) else { continue };
        let clash = f.edits.iter().any(|e| taken.iter().any(|t| overlaps(*t, e.span)));
        if !clash {
            taken.extend(f.edits.iter().map(|e| e.span));
            out.push(d);
        }
    }
    out
}

/// Whether two spans share a character (or are the same empty span).
fn overlaps(a: Span, b: Span) -> bool {
    a == b || (a.start < b.end && b.start < a.end)
}

/// The text with the fixes of `chosen` applied, when its re-load proves
/// them; otherwise why not.
fn attempt(text: &str, before: &[Diagnostic], chosen: &[&Diagnostic], opts: &LoadOptions) -> Result<String, String> {
    let edits: Vec<&Edit> = chosen.iter().filter_map(|d| fix_of(d)).flat_map(|f| &f.edits).collect();
    let new = apply(text, &edits).ok_or("an edit does not point into the file")?;
    let old_doc = yaml::parse(text).map_err(|e| format!("the file does not parse: {}", e.message))?;
    let new_doc = yaml::parse(&new).map_err(|e| format!("the fixed text would not parse: {}", e.message))?;
    let intended = match &old_doc.root {
        Some(root) => {
            let mut hits = 0;
            let t = replaced(root, &edits, &mut hits);
            if hits < edits.len() {
                return Err("an edit does not replace a whole key or value".to_owned());
            }
            Some(t)
        }
        None => None,
    };
    let same = match (&intended, &new_doc.root) {
        (Some(a), Some(b)) => fmt::same_tree(a, b),
        (None, None) => true,
        _ => false,
    };
    if !same || old_doc.duplicates.len() != new_doc.duplicates.len() {
        return Err("the fixed text would not read as the values the edits intend".to_owned());
    }
    let after = load_file(FileId(0), Some(&new), opts.clone()).diagnostics;
    let old = count(before.iter());
    let new_counts = count(after.iter());
    let fixed = count(chosen.iter().copied());
    for ((code, msg), n) in &fixed {
        let had = old.get(&(*code, *msg)).copied().unwrap_or(0);
        let has = new_counts.get(&(*code, *msg)).copied().unwrap_or(0);
        if has + *n > had {
            return Err(format!("`{msg}` would still be reported"));
        }
    }
    for d in after.iter().filter(|d| d.severity() == Severity::Error) {
        let key = (d.code, d.message.as_str());
        if new_counts.get(&key).copied().unwrap_or(0) > old.get(&key).copied().unwrap_or(0) {
            return Err(format!("the fixed text would have a new error: {}", d.message));
        }
    }
    Ok(new)
}

/// Diagnostics counted by code and message.
fn count<'d>(ds: impl Iterator<Item = &'d Diagnostic>) -> HashMap<(Code, &'d str), usize> {
    let mut m: HashMap<(Code, &str), usize> = HashMap::new();
    for d in ds {
        *m.entry((d.code, d.message.as_str())).or_default() += 1;
    }
    m
}

/// `node` with every string whose span is that of an edit replaced by the
/// edit's text; `hits` counts the edits that found their value.
fn replaced(node: &Node, edits: &[&Edit], hits: &mut usize) -> Node {
    let kind = match &node.kind {
        NodeKind::Str(s) => match edits.iter().find(|e| e.span == node.span) {
            Some(e) => {
                *hits += 1;
                NodeKind::Str(e.text.as_str().into())
            }
            None => NodeKind::Str(s.clone()),
        },
        NodeKind::Seq(items) => NodeKind::Seq(items.iter().map(|n| replaced(n, edits, hits)).collect()),
        NodeKind::Map(entries) => NodeKind::Map(
            entries
                .iter()
                .map(|(k, v)| (replaced(k, edits, hits), replaced(v, edits, hits)))
                .collect(),
        ),
        other => other.clone(),
    };
    Node { span: node.span, kind }
}

/// `text` with `edits` applied, from the end backwards; `None` when an
/// edit points outside the text or edits overlap.
pub fn apply(text: &str, edits: &[&Edit]) -> Option<String> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut ranges: Vec<(usize, usize, &str)> = Vec::with_capacity(edits.len());
    for e in edits {
        let a = offset(text, &starts, e.span.start.line, e.span.start.col)?;
        let b = offset(text, &starts, e.span.end.line, e.span.end.col)?;
        if b < a {
            return None;
        }
        ranges.push((a, b, e.text.as_str()));
    }
    ranges.sort_by(|x, y| y.0.cmp(&x.0).then(y.1.cmp(&x.1)));
    let mut out = text.to_owned();
    let mut limit = usize::MAX;
    for (a, b, t) in ranges {
        if b > limit {
            return None;
        }
        out.replace_range(a..b, t);
        limit = a;
    }
    Some(out)
}

/// The byte offset of a 1-based line and character column; the column may
/// be one past the line's last character (but not past its break).
fn offset(text: &str, starts: &[usize], line: u32, col: u32) -> Option<usize> {
    let start = *starts.get((line as usize).checked_sub(1)?)?;
    let rest = text.get(start..)?;
    let want = (col as usize).checked_sub(1)?;
    let mut chars = rest.char_indices();
    for _ in 0..want {
        let (_, c) = chars.next()?;
        if c == '\n' {
            return None;
        }
    }
    Some(start + chars.next().map_or(rest.len(), |(i, _)| i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pos;

    fn edit(line: u32, col: u32, end: u32, text: &str) -> Edit {
        Edit {
            span: Span {
                start: Pos { line, col },
                end: Pos { line, col: end },
            },
            text: text.to_owned(),
        }
    }

    #[test]
    fn edits_apply_by_character_columns_from_the_end() {
        let text = "é: Sevrity\nb: x\r\nc: Equal\n";
        let e1 = edit(1, 4, 11, "Severity");
        let e2 = edit(3, 4, 9, "Equals");
        assert_eq!(
            apply(text, &[&e1, &e2]).as_deref(),
            Some("é: Severity\nb: x\r\nc: Equals\n")
        );
        assert_eq!(apply(text, &[&edit(1, 40, 41, "x")]), None);
        assert_eq!(apply(text, &[&edit(9, 1, 2, "x")]), None);
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let text = "abcdef\n";
        assert_eq!(apply(text, &[&edit(1, 1, 4, "x"), &edit(1, 3, 5, "y")]), None);
        assert_eq!(
            apply(text, &[&edit(1, 1, 3, "x"), &edit(1, 3, 5, "y")]).as_deref(),
            Some("xyef\n")
        );
    }

    const RULE: &str = "AnalysisType: rule\nRuleID: A.B\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\nSeverity: Low\n";

    #[test]
    fn misspelt_keys_and_conditions_are_fixed_and_laid_out() {
        let text = format!("{RULE}Descriptoin: x\nDetection:\n  - Key: a\n    Condition: Equal\n    Value: b\n");
        let f = fix_file(&text, &LoadOptions::default());
        assert_eq!(
            f.text,
            format!("{RULE}Description: x\nDetection:\n  - Key: a\n    Condition: Equals\n    Value: b\n")
        );
        let titles: Vec<&str> = f.applied.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(
            titles,
            ["rename `Descriptoin` to `Description`", "rename `Equal` to `Equals`"]
        );
        assert!(f.refused.is_empty());
        let again = fix_file(&f.text, &LoadOptions::default());
        assert_eq!(again.text, f.text);
        assert!(again.applied.is_empty());
    }

    #[test]
    fn a_rename_onto_a_present_key_is_not_applied() {
        let text = format!("{RULE}Description: y\nDescriptoin: x\nDetection:\n  - Key: a\n    Condition: Exists\n");
        let f = fix_file(&text, &LoadOptions::default());
        assert_eq!(f.text, text);
        assert!(f.applied.is_empty());
        let offered: Vec<(u32, &str)> = f.offered.iter().map(|a| (a.line, a.title.as_str())).collect();
        assert_eq!(offered, [(8, "rename `Descriptoin` to `Description`")]);
    }

    #[test]
    fn a_syntax_error_leaves_the_text() {
        let text = "AnalysisType: rule\nDescriptoin: [x\n";
        let f = fix_file(text, &LoadOptions::default());
        assert_eq!(f.text, text);
    }
}
