//! The libyaml-safer path: every text the fast path declines, and every
//! error. libyaml-safer (a safe Rust port of libyaml 0.2.5, the parser
//! under PAT's PyYAML) turns text into events with positions; they are
//! converted to our [`Event`]s for the builder. Errors are moved to where
//! the defect is, with a help line for the usual causes.

use std::borrow::Cow;
use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

use super::build::Builder;
use super::event::Event;
use super::{Document, YamlError, error};
use crate::source::{Pos, Span};

fn pos(m: &Mark) -> Pos {
    Pos {
        line: m.line as u32 + 1,
        col: m.column as u32 + 1,
    }
}

fn span(e: &libyaml_safer::Event) -> Span {
    Span {
        start: pos(&e.start_mark),
        end: pos(&e.end_mark),
    }
}

/// Whether libyaml accepts a character in a stream (YAML 1.1 `c-printable`
/// plus the byte order mark); the reader rejects the first one that is not,
/// without a position.
pub(super) fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        || c == '\u{FEFF}'
}

/// The position of the first character libyaml's reader rejects.
fn first_unprintable(text: &str) -> Option<(Pos, char)> {
    let (mut line, mut col) = (1u32, 1u32);
    for c in text.chars() {
        if !is_printable(c) {
            return Some((Pos { line, col }, c));
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

/// The text of a 1-based line (without its line break).
fn line_text(text: &str, line: u32) -> Option<&str> {
    text.split('\n')
        .nth((line as usize).checked_sub(1)?)
        .map(|l| l.trim_end_matches('\r'))
}

/// The column a line's content starts at, past its indentation and any
/// `- ` sequence indicators (the column its mapping keys line up on).
fn content_indent(line: &str) -> usize {
    let mut rest = line;
    let mut col = 0;
    loop {
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        col += spaces;
        rest = &rest[spaces..];
        match rest.strip_prefix("- ") {
            Some(r) => {
                col += 2;
                rest = r;
            }
            None => return col,
        }
    }
}

/// Whether a line holds no YAML content (blank or a comment).
fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// A help line for the usual causes of a syntax error on `line`: tabs
/// used for indentation, or a line indented differently from the one
/// above it.
fn indentation_help(text: &str, line: u32, problem: &str) -> Option<String> {
    let here = line_text(text, line)?;
    let indent: &str = &here[..here.len() - here.trim_start_matches([' ', '\t']).len()];
    if indent.contains('\t') || problem.contains("tab") {
        return Some("YAML does not allow tabs for indentation; use spaces".to_owned());
    }
    const INDENTATION_PROBLEMS: &[&str] = &[
        "mapping values are not allowed in this context",
        "did not find expected key",
        "did not find expected '-' indicator",
        "did not find expected <document start>",
        "block sequence entries are not allowed in this context",
    ];
    if is_blank(here) || !INDENTATION_PROBLEMS.iter().any(|p| problem.starts_with(p)) {
        return None;
    }
    let (above, prev) = (1..line)
        .rev()
        .filter_map(|l| Some((l, line_text(text, l)?)))
        .find(|(_, t)| !is_blank(t))?;
    let (this_col, prev_col) = (indent.len(), content_indent(prev));
    let opens_block = prev.trim_end().ends_with(':') || prev.trim_end().ends_with(" -");
    if this_col == prev_col || (opens_block && this_col > prev_col) {
        return None;
    }
    let spaces = |n: usize| {
        if n == 1 {
            "1 space".to_owned()
        } else {
            format!("{n} spaces")
        }
    };
    Some(format!(
        "this line is indented differently from line {above} above it ({}, not {}); the keys of one mapping and the items of one list must start in the same column",
        spaces(this_col),
        spaces(prev_col)
    ))
}

/// Turns a libyaml error into ours, at the place the defect is.
fn located_error(text: &str, e: &libyaml_safer::Error) -> YamlError {
    let at = |m: Mark| Span {
        start: pos(&m),
        end: pos(&m),
    };
    let Some(problem_mark) = e.problem_mark() else {
        // A reader error: libyaml gives a byte offset only.
        return match first_unprintable(text) {
            Some((p, c)) => YamlError {
                span: Span { start: p, end: p },
                message: format!(
                    "the character U+{:04X}{} is not allowed in YAML",
                    u32::from(c),
                    if c == '\0' { " (NUL)" } else { "" }
                ),
                help: Some(
                    "remove it; inside a double-quoted string it can be written as an escape such as `\\0` or `\\x1b`"
                        .to_owned(),
                ),
            },
            None => error(Span::START, e.problem()),
        };
    };
    let problem = e.problem();
    if let (Some(c), Some(cm)) = (e.context(), e.context_mark()) {
        if c == "while scanning a quoted scalar" && problem == "found unexpected end of stream" {
            let quote = line_text(text, pos(&cm).line)
                .and_then(|l| l.chars().nth(cm.column as usize))
                .filter(|q| matches!(q, '"' | '\''))
                .unwrap_or('"');
            return YamlError {
                span: at(cm),
                message: format!(
                    "this quoted string is never closed: the file ends inside it (opening `{quote}` here)"
                ),
                help: Some(format!(
                    "add the closing `{quote}`; inside the string, write a `{quote}` as {}",
                    if quote == '"' { "`\\\"`" } else { "`''`" }
                )),
            };
        }
    }
    let message = match e.context() {
        Some(c) => format!("{problem}, {c}"),
        None => problem.to_owned(),
    };
    YamlError {
        span: at(problem_mark),
        help: indentation_help(text, pos(&problem_mark).line, problem),
        message,
    }
}

thread_local! {
    /// Set while the third-party parser runs, so its panics stay quiet.
    static IN_PARSER: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs (once) a panic hook that stays silent for panics raised inside
/// the YAML parser and defers to the previous hook otherwise.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_PARSER.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Parses one YAML document with libyaml-safer.
///
/// libyaml-safer still has a few `panic!` paths on malformed input (found by
/// fuzzing: a block scalar cut off at the end of the input). A file must
/// never crash `detect`, so a panic inside the parser is caught and becomes
/// a syntax error at the last position the parser reached. `text` ends
/// with a line break (`with_final_newline`).
pub(super) fn parse(text: &str) -> Result<Document, YamlError> {
    install_quiet_hook();
    let last = Cell::new(Span::START);
    IN_PARSER.with(|f| f.set(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| parse_events(text, &last)));
    IN_PARSER.with(|f| f.set(false));
    result.unwrap_or_else(|_| {
        Err(error(
            last.get(),
            "the YAML parser cannot read the text after this point (malformed YAML)",
        ))
    })
}

fn parse_events(text: &str, last: &Cell<Span>) -> Result<Document, YamlError> {
    let mut builder = Builder::default();
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    for ev in parser {
        let ev = ev.map_err(|e| located_error(text, &e))?;
        let sp = span(&ev);
        last.set(sp);
        let ev = match ev.data {
            EventData::StreamStart { .. } | EventData::StreamEnd | EventData::DocumentEnd { .. } => continue,
            EventData::DocumentStart { .. } => Event::DocumentStart,
            EventData::SequenceStart { anchor, .. } => Event::SequenceStart { anchor },
            EventData::MappingStart { anchor, .. } => Event::MappingStart { anchor },
            EventData::SequenceEnd | EventData::MappingEnd => Event::End,
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => Event::Scalar {
                typed: style == ScalarStyle::Plain && tag.as_deref() != Some("tag:yaml.org,2002:str"),
                value: Cow::Owned(value),
                anchor,
            },
            EventData::Alias { anchor } => Event::Alias { anchor },
        };
        builder.event(ev, sp)?;
    }
    Ok(builder.finish())
}
