//! The one human rendering of a [`Diagnostic`], shared by every command:
//! `validate` and `test` (through the human report) and `run`, `alerts`,
//! `derive` and `fmt` (through [`super::command::Reporter`]). The same
//! diagnostic prints the same way from each of them:
//!
//! ```text
//! path:line:col: severity[code]: message
//!   |
//! 7 |   Severity: Hihg
//!   |             ^^^^
//!   = note: related: path:line:col
//!   = help: help line
//! ```
//!
//! A diagnostic without a location is `severity[code]: message`; one whose
//! label is at line 0 names a whole file (`path: severity[code]: message`).
//! The source line and caret appear only when the source text is known and
//! the caller asks for them (`--quiet` does not). Every text from a file is
//! escaped with [`crate::text::escape_control`].

use std::io::{self, Write};
use std::path::PathBuf;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::source::{FileId, SourceFile, Span};
use crate::text::escape_control as esc;

/// ANSI colours, on or off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paint {
    /// Colours on.
    pub on: bool,
}

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    /// Errors and failures.
    pub fn red(self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    /// Warnings and skips.
    pub fn yellow(self, s: &str) -> String {
        self.wrap("1;33", s)
    }
    /// Passes.
    pub fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    /// Infos and the excerpt gutter.
    pub fn blue(self, s: &str) -> String {
        self.wrap("1;34", s)
    }
    /// Headings.
    pub fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// A source known by its name only (an events file, a file that could not
/// be read): diagnostics about it print its name and position, no excerpt.
pub fn named(name: &str) -> SourceFile {
    SourceFile::new(PathBuf::from(name), name.to_owned(), name.to_owned(), None)
}

/// Writes a diagnostic made of `code` and `message`: about `at` (a path
/// and a span; line 0 for the whole file) or, without it, about no place,
/// without colour.
///
/// # Errors
/// Writing to `out` failed.
pub fn write_at(out: &mut dyn Write, at: Option<(&str, Span)>, code: Code, message: &str) -> io::Result<()> {
    match at {
        Some((path, span)) => write(
            out,
            &Diagnostic::new(code, FileId(0), span, message),
            &[named(path)],
            &Paint::default(),
            true,
        ),
        None => write(out, &Diagnostic::global(code, message), &[], &Paint::default(), true),
    }
}

/// Writes one diagnostic: its head line, then (`excerpt_on`) the source
/// line with a caret and the related locations, then the help line.
///
/// # Errors
/// Writing to `out` failed.
pub fn write(
    out: &mut dyn Write,
    d: &Diagnostic,
    sources: &[SourceFile],
    p: &Paint,
    excerpt_on: bool,
) -> io::Result<()> {
    let sev = match d.severity() {
        Severity::Error => p.red("error"),
        Severity::Warning => p.yellow("warning"),
        Severity::Info => p.blue("info"),
    };
    let head = format!("{sev}[{}]: {}", d.code.name(), esc(&d.message));
    match &d.primary {
        Some(l) if l.span.start.line == 0 => {
            let path = esc(sources.get(l.file.0 as usize).map_or("?", |s| s.display.as_str()));
            writeln!(out, "{path}: {head}")?;
        }
        Some(l) => {
            let src = sources.get(l.file.0 as usize);
            let path = esc(src.map_or("?", |s| s.display.as_str()));
            writeln!(out, "{path}:{}:{}: {head}", l.span.start.line, l.span.start.col)?;
            if let Some(text) = src.and_then(|s| s.line(l.span.start.line)).filter(|_| excerpt_on) {
                let num = l.span.start.line.to_string();
                let pad = " ".repeat(num.len());
                let col = l.span.start.col.max(1) as usize;
                let width = if l.span.end.line == l.span.start.line && l.span.end.col > l.span.start.col {
                    (l.span.end.col - l.span.start.col) as usize
                } else {
                    1
                };
                let (shown, at, width) = excerpt(text, col, width);
                let shown = esc(&shown);
                writeln!(out, "{pad} {}", p.blue("|"))?;
                writeln!(out, "{num} {} {shown}", p.blue("|"))?;
                let caret = format!("{}{}", " ".repeat(at), "^".repeat(width));
                let caret = if d.severity() == Severity::Error {
                    p.red(&caret)
                } else {
                    p.yellow(&caret)
                };
                writeln!(out, "{pad} {} {caret}", p.blue("|"))?;
            }
        }
        None => writeln!(out, "{head}")?,
    }
    for r in d.related.iter().filter(|_| excerpt_on) {
        let path = esc(sources.get(r.file.0 as usize).map_or("?", |s| s.display.as_str()));
        let text = esc(r.text.as_deref().unwrap_or("related"));
        writeln!(
            out,
            "  = note: {text}: {path}:{}:{}",
            r.span.start.line, r.span.start.col
        )?;
    }
    if let Some(h) = &d.help {
        writeln!(out, "  = help: {}", esc(h))?;
    }
    Ok(())
}

/// Characters of a source line shown under a diagnostic.
const EXCERPT: usize = 200;
/// Characters kept before the column when the line is cut on the left.
const LEAD: usize = 60;

/// The part of a source line shown under a diagnostic, at most [`EXCERPT`]
/// characters around the 1-based column `col` (`…` marks a cut), with the
/// caret's offset and width inside it: the caret line is never longer than
/// the excerpt, however long the source line.
fn excerpt(text: &str, col: usize, width: usize) -> (String, usize, usize) {
    let col0 = col.saturating_sub(1);
    let start = if col0 < EXCERPT - LEAD { 0 } else { col0 - LEAD };
    let mut chars = text.chars().skip(start);
    let mut shown: String = chars.by_ref().take(EXCERPT).collect();
    let cut_right = chars.next().is_some();
    let mut at = col0 - start;
    let len = shown.chars().count();
    if start > 0 {
        shown.insert(0, '…');
        at += 1;
    }
    let width = width.min(len.saturating_sub(col0 - start).max(1));
    if cut_right {
        shown.push('…');
    }
    // A column past the end of the line (a missing value at the end): the
    // caret sits just after the last character shown.
    let at = at.min(shown.chars().count());
    (shown, at, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_keeps_short_lines_whole() {
        assert_eq!(excerpt("Key: value", 6, 5), ("Key: value".to_owned(), 5, 5));
    }

    #[test]
    fn excerpt_cuts_long_lines_around_the_column() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let (shown, at, width) = excerpt(&line, 1001, 1);
        // 60 characters before the column, the column, then up to 200 in all.
        assert_eq!(shown.chars().count(), 1 + 200 + 1);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(at), Some('X'));
        assert_eq!((at, width), (61, 1));
        // A span running past the cut is shortened to the excerpt.
        let (_, at, width) = excerpt(&line, 1001, 5000);
        assert_eq!(at + width, 201);
    }

    #[test]
    fn excerpt_clamps_a_column_past_the_end() {
        let (shown, at, _) = excerpt("abc", 500, 1);
        assert!(at <= shown.chars().count());
    }
}

#[cfg(test)]
mod form {
    use super::*;

    fn at(at: Option<(&str, Span)>, message: &str) -> String {
        let mut out = Vec::new();
        write_at(&mut out, at, Code::EventNoTime, message).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_place_a_whole_file_or_no_file() {
        assert_eq!(
            at(Some(("logs/a.jsonl", Span::at(4, 1))), "m"),
            "logs/a.jsonl:4:1: warning[event-no-time]: m\n"
        );
        assert_eq!(
            at(Some(("logs/a.jsonl", Span::default())), "m"),
            "logs/a.jsonl: warning[event-no-time]: m\n"
        );
        assert_eq!(at(None, "m"), "warning[event-no-time]: m\n");
    }

    #[test]
    fn names_and_messages_are_escaped() {
        assert_eq!(
            at(Some(("a\u{1b}[2J.jsonl", Span::at(1, 1))), "x\ny\u{9b}"),
            "a\\x1b[2J.jsonl:1:1: warning[event-no-time]: x\\ny\\u{9b}\n"
        );
    }
}
