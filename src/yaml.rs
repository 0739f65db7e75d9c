//! The spanned YAML layer.
//!
//! `libyaml-safer` (a safe Rust port of libyaml, the parser under PAT's
//! PyYAML) turns text into events with positions; this module builds
//! a [`Node`] tree from them in which every value and every key keeps its
//! [`Span`]. Scalars are typed here with the dialect of PAT's loader
//! (simple-detections §3): only `true`/`false` in three spellings are
//! booleans, `yes`/`on` stay strings, `0644` is decimal, `0x`/`0b` and `_`
//! are accepted in integers, `1e3` and `0o17` stay strings, dates stay
//! strings. Anchors, aliases and merge keys are resolved; duplicate keys keep
//! the last value and are reported. Depth and alias expansion are bounded so
//! that hostile input fails with a diagnostic instead of exhausting memory.
//! See `docs/design/001-yaml-layer.md` for why this is not serde_yaml.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

use libyaml_safer::{Event, EventData, Mark, Parser, ScalarStyle};

use crate::source::{Pos, Span};

/// Deepest nesting accepted; real detections stay below 20.
pub const MAX_DEPTH: usize = 256;
/// Most values a document may expand to through aliases.
pub const MAX_NODES: usize = 2_000_000;
/// Most bytes of scalar text (keys and values) aliases may copy in one
/// document. Counting values alone does not bound memory: one alias of a
/// long string copies all of it.
pub const MAX_ALIAS_BYTES: usize = 64 << 20;

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value is written.
    pub span: Span,
    /// The typed value.
    pub kind: NodeKind,
}

/// The kinds of YAML values after typing.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A float (also integers too large for 64 bits).
    Float(f64),
    /// Any other scalar.
    Str(compact_str::CompactString),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order, duplicates already removed.
    Map(Vec<(Node, Node)>),
}

/// A problem found while parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// Where.
    pub span: Span,
    /// What, as a lowercase fragment.
    pub message: String,
    /// How to fix it, when the layer can tell (tabs, indentation, an
    /// unclosed quote).
    pub help: Option<String>,
}

/// A duplicate key found while building a mapping (the last one wins).
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    /// The key text.
    pub key: String,
    /// The later occurrence, which wins.
    pub span: Span,
    /// The earlier occurrence, which is dropped.
    pub first: Span,
}

/// The result of parsing one file.
#[derive(Debug, Default)]
pub struct Document {
    /// The root value, `None` for an empty document.
    pub root: Option<Node>,
    /// Duplicate keys, for the `duplicate-key` warning.
    pub duplicates: Vec<DuplicateKey>,
    /// Where a plain integer too large for 64 bits is written (typed as a
    /// float, as JSON would), so an integer key can say "out of range"
    /// instead of "found a float".
    pub big_ints: Vec<Span>,
}

fn pos(m: &Mark) -> Pos {
    Pos {
        line: m.line as u32 + 1,
        col: m.column as u32 + 1,
    }
}

fn span(e: &Event) -> Span {
    Span {
        start: pos(&e.start_mark),
        end: pos(&e.end_mark),
    }
}

impl Node {
    /// A short name of the value's type for messages ("a string").
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a float",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The value of the string key `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// The key node and value of the string key `key` of a mapping.
    pub fn get_entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The text a scalar key stands for (`200` for the integer key 200).
    pub fn key_text(&self) -> Option<String> {
        Some(match &self.kind {
            NodeKind::Null => "null".to_owned(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(i) => i.to_string(),
            NodeKind::Float(f) => float_text(*f),
            NodeKind::Str(s) => s.to_string(),
            NodeKind::Seq(_) | NodeKind::Map(_) => return None,
        })
    }

    /// The span a "missing key" diagnostic of this mapping points at: its
    /// first key, else the mapping itself (cli-and-settings §8 item 4).
    pub fn first_key_span(&self) -> Span {
        match self.as_map().and_then(|m| m.first()) {
            Some((k, _)) => Span {
                start: k.span.start,
                end: k.span.start,
            },
            None => Span {
                start: self.span.start,
                end: self.span.start,
            },
        }
    }

    /// Converts to JSON for event data (simple-detections §3 rules 1, 4, 5):
    /// key order kept, scalar keys turned into their text.
    ///
    /// # Errors
    /// A non-finite float or a key that is a list or mapping, with its span.
    pub fn to_json(&self) -> Result<serde_json::Value, (Span, String)> {
        use serde_json::Value;
        Ok(match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => return Err((self.span, format!("`{}` is not a finite number", float_text(*f)))),
            },
            NodeKind::Str(s) => Value::String(s.to_string()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect::<Result<_, _>>()?),
            NodeKind::Map(entries) => {
                let mut obj = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = k.key_text().ok_or_else(|| {
                        (
                            k.span,
                            "a mapping key that is a list or mapping cannot be a JSON key".to_owned(),
                        )
                    })?;
                    obj.insert(key, v.to_json()?);
                }
                Value::Object(obj)
            }
        })
    }
}

/// The text of a float as YAML writes it.
pub fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf".to_owned() } else { "-.inf".to_owned() }
    } else {
        serde_json::Number::from_f64(f)
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

/// Types a plain scalar with PAT's dialect (simple-detections §3).
pub fn resolve_plain(s: &str) -> NodeKind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return NodeKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if let Some(k) = resolve_int(s) {
        return k;
    }
    if is_float(s) {
        let cleaned: String = s.chars().filter(|&c| c != '_').collect();
        if let Ok(f) = cleaned.parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    NodeKind::Str(s.into())
}

fn resolve_int(s: &str) -> Option<NodeKind> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = body.strip_prefix("0b") {
        (2, b)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.as_bytes()[0].is_ascii_alphanumeric() {
        return None;
    }
    if !digits.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() {
        return None;
    }
    match i64::from_str_radix(&cleaned, radix) {
        Ok(v) => Some(NodeKind::Int(if neg { -v } else { v })),
        Err(_) => {
            // Too large for 64 bits: keep the magnitude as a float, as JSON would.
            let mut f = 0f64;
            for c in cleaned.chars() {
                f = f * f64::from(radix) + f64::from(c.to_digit(radix)?);
            }
            Some(NodeKind::Float(if neg { -f } else { f }))
        }
    }
}

/// PAT's float pattern: a dot is required; an exponent needs it too.
fn is_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let Some(dot) = mantissa.find('.') else { return false };
    let (int, frac) = (&mantissa[..dot], &mantissa[dot + 1..]);
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return false;
    }
    if int.starts_with('_') || (int.is_empty() && !frac.starts_with(|c: char| c.is_ascii_digit())) {
        return false;
    }
    match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    }
}

enum Frame {
    Seq {
        start: Span,
        anchor: Option<String>,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: Option<String>,
        map: MapBuilder,
    },
}

/// Mappings up to this size find duplicate keys by scanning; larger ones
/// keep an index. Nearly every mapping in a detection file is small.
const INDEX_FROM: usize = 16;

#[derive(Default)]
struct MapBuilder {
    entries: Vec<(Node, Node)>,
    index: HashMap<String, usize>,
    merged: Vec<bool>,
    pending: Option<Node>,
}

/// Whether two keys stand for the same text, without allocating for the
/// usual string keys.
fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Str(x), NodeKind::Str(y)) => x == y,
        (NodeKind::Seq(_) | NodeKind::Map(_), _) | (_, NodeKind::Seq(_) | NodeKind::Map(_)) => false,
        _ => a.key_text() == b.key_text(),
    }
}

impl MapBuilder {
    fn find(&self, key: &Node) -> Option<usize> {
        if self.entries.len() < INDEX_FROM {
            return self.entries.iter().position(|(k, _)| same_key(k, key));
        }
        self.index.get(&key.key_text()?).copied()
    }

    fn insert(&mut self, key: Node, value: Node, merged: bool, dups: &mut Vec<DuplicateKey>) {
        if let Some(i) = self.find(&key) {
            if merged {
                // Explicit keys win over merged ones, whatever the order.
                return;
            }
            if !self.merged[i] {
                let text = key.key_text().unwrap_or_default();
                dups.push(DuplicateKey {
                    key: text,
                    span: key.span,
                    first: self.entries[i].0.span,
                });
            }
            self.entries[i] = (key, value);
            self.merged[i] = false;
            return;
        }
        if self.entries.len() + 1 == INDEX_FROM {
            for (i, (k, _)) in self.entries.iter().enumerate() {
                if let Some(t) = k.key_text() {
                    self.index.entry(t).or_insert(i);
                }
            }
        }
        if self.entries.len() + 1 >= INDEX_FROM {
            if let Some(t) = key.key_text() {
                self.index.insert(t, self.entries.len());
            }
        }
        self.entries.push((key, value));
        self.merged.push(merged);
    }
}

/// The text with a final line break. libyaml-safer panics on a block
/// scalar that ends the input without one (valid YAML); a final line break
/// changes no position.
pub(crate) fn with_final_newline(text: &str) -> std::borrow::Cow<'_, str> {
    if text.ends_with('\n') {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(format!("{text}\n"))
    }
}

/// The number of values of a tree and the bytes of its string scalars:
/// what one alias of it copies.
fn measure(n: &Node) -> (usize, usize) {
    let (mut count, mut bytes) = (0usize, 0usize);
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.kind {
            NodeKind::Seq(items) => stack.extend(items),
            NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| stack.extend([k, v])),
            NodeKind::Str(s) => bytes = bytes.saturating_add(s.len()),
            _ => {}
        }
    }
    (count, bytes)
}

fn error(sp: Span, message: impl Into<String>) -> YamlError {
    YamlError {
        span: sp,
        message: message.into(),
        help: None,
    }
}

/// Whether libyaml accepts a character in a stream (YAML 1.1 `c-printable`
/// plus the byte order mark); the reader rejects the first one that is not,
/// without a position.
fn is_printable(c: char) -> bool {
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

/// Parses one YAML document.
///
/// libyaml-safer still has a few `panic!` paths on malformed input (found by
/// fuzzing: a block scalar cut off at the end of the input). A file must
/// never crash `detect`, so a panic inside the parser is caught and becomes
/// a syntax error at the last position the parser reached.
///
/// # Errors
/// The first syntax error, a second document, nesting deeper than
/// [`MAX_DEPTH`], or aliases expanding beyond [`MAX_NODES`].
pub fn parse(text: &str) -> Result<Document, YamlError> {
    install_quiet_hook();
    let text = &*with_final_newline(text);
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
    let mut doc = Document::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<String, (Node, usize, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut alias_bytes = 0usize;
    let mut documents = 0;
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    for ev in parser {
        let ev = ev.map_err(|e| located_error(text, &e))?;
        let sp = span(&ev);
        last.set(sp);
        let (node, anchor) = match ev.data {
            EventData::DocumentStart { .. } => {
                documents += 1;
                if documents > 1 {
                    return Err(error(
                        sp,
                        "a detection file holds one YAML document; found a second one",
                    ));
                }
                continue;
            }
            EventData::StreamStart { .. } | EventData::StreamEnd | EventData::DocumentEnd { .. } => continue,
            EventData::SequenceStart { anchor, .. } | EventData::MappingStart { anchor, .. }
                if stack.len() >= MAX_DEPTH =>
            {
                let _ = anchor;
                return Err(error(
                    sp,
                    format!("values are nested more than {MAX_DEPTH} levels deep"),
                ));
            }
            EventData::SequenceStart { anchor, .. } => {
                stack.push(Frame::Seq {
                    start: sp,
                    anchor,
                    items: Vec::new(),
                });
                continue;
            }
            EventData::MappingStart { anchor, .. } => {
                stack.push(Frame::Map {
                    start: sp,
                    anchor,
                    map: MapBuilder::default(),
                });
                continue;
            }
            EventData::SequenceEnd | EventData::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    mut items,
                }) => (
                    Node {
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                        kind: NodeKind::Seq({
                            // Trees are kept for the whole run: no spare capacity.
                            items.shrink_to_fit();
                            items
                        }),
                    },
                    anchor,
                ),
                Some(Frame::Map { start, anchor, map }) => (
                    Node {
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                        kind: NodeKind::Map({
                            let mut entries = map.entries;
                            entries.shrink_to_fit();
                            entries
                        }),
                    },
                    anchor,
                ),
                None => continue,
            },
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                let kind = match (style, tag.as_deref()) {
                    (ScalarStyle::Plain, t) if t != Some("tag:yaml.org,2002:str") => {
                        let kind = resolve_plain(&value);
                        if matches!(kind, NodeKind::Float(_)) && resolve_int(&value).is_some() {
                            doc.big_ints.push(sp);
                        }
                        kind
                    }
                    _ => {
                        let mut value = value;
                        value.shrink_to_fit();
                        NodeKind::Str(value.into())
                    }
                };
                (Node { span: sp, kind }, anchor)
            }
            EventData::Alias { anchor } => {
                let Some((node, size, bytes)) = anchors.get(&anchor) else {
                    return Err(error(sp, format!("alias `*{anchor}` names no anchor")));
                };
                nodes = nodes.saturating_add(*size);
                if nodes > MAX_NODES {
                    return Err(error(sp, format!("aliases expand to more than {MAX_NODES} values")));
                }
                alias_bytes = alias_bytes.saturating_add(*bytes);
                if alias_bytes > MAX_ALIAS_BYTES {
                    return Err(error(
                        sp,
                        format!(
                            "aliases copy more than {} MiB of text (alias `*{anchor}` copies {} bytes)",
                            MAX_ALIAS_BYTES >> 20,
                            bytes
                        ),
                    ));
                }
                if matches!(node.kind, NodeKind::Float(_)) && doc.big_ints.contains(&node.span) {
                    doc.big_ints.push(sp);
                }
                let mut n = node.clone();
                n.span = sp;
                (n, None)
            }
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(error(sp, format!("the document has more than {MAX_NODES} values")));
        }
        if let Some(name) = anchor {
            let (size, bytes) = measure(&node);
            anchors.insert(name, (node.clone(), size, bytes));
        }
        match stack.last_mut() {
            None => doc.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { map, .. }) => match map.pending.take() {
                None => map.pending = Some(node),
                Some(key) => {
                    if key.as_str() == Some("<<") && is_mergeable(&node) {
                        merge(map, node, &mut doc.duplicates);
                    } else {
                        map.insert(key, node, false, &mut doc.duplicates);
                    }
                }
            },
        }
    }
    Ok(doc)
}

fn is_mergeable(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Map(_) => true,
        NodeKind::Seq(items) => !items.is_empty() && items.iter().all(|i| i.as_map().is_some()),
        _ => false,
    }
}

fn merge(map: &mut MapBuilder, value: Node, dups: &mut Vec<DuplicateKey>) {
    let sources = match value.kind {
        NodeKind::Map(entries) => vec![entries],
        NodeKind::Seq(items) => items
            .into_iter()
            .filter_map(|i| match i.kind {
                NodeKind::Map(e) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for entries in sources {
        for (k, v) in entries {
            map.insert(k, v, true, dups);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(t: &str) -> Node {
        parse(t).unwrap().root.unwrap()
    }

    #[test]
    fn dialect_matches_pat() {
        let cases = [
            ("yes", NodeKind::Str("yes".into())),
            ("On", NodeKind::Str("On".into())),
            ("tRUE", NodeKind::Str("tRUE".into())),
            ("True", NodeKind::Bool(true)),
            ("0644", NodeKind::Int(644)),
            ("0x1F", NodeKind::Int(31)),
            ("0b101", NodeKind::Int(5)),
            ("1_000", NodeKind::Int(1000)),
            ("1e3", NodeKind::Str("1e3".into())),
            ("0o17", NodeKind::Str("0o17".into())),
            ("1:30:00", NodeKind::Str("1:30:00".into())),
            ("2024-01-15", NodeKind::Str("2024-01-15".into())),
            ("1.5", NodeKind::Float(1.5)),
            (".5", NodeKind::Float(0.5)),
            ("-2.0", NodeKind::Float(-2.0)),
            ("1.0e+3", NodeKind::Float(1000.0)),
            ("~", NodeKind::Null),
            ("Null", NodeKind::Null),
            (".", NodeKind::Str(".".into())),
            ("-", NodeKind::Str("-".into())),
        ];
        for (src, want) in cases {
            assert_eq!(resolve_plain(src), want, "{src}");
        }
        assert!(matches!(resolve_plain(".inf"), NodeKind::Float(f) if f.is_infinite()));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let n = root("a: '403'\nb: \"yes\"\nc: 403\n");
        assert_eq!(n.get("a").unwrap().kind, NodeKind::Str("403".into()));
        assert_eq!(n.get("c").unwrap().kind, NodeKind::Int(403));
    }

    #[test]
    fn on_is_a_string_key() {
        let n = root("On: x\n");
        assert!(n.get("On").is_some());
    }

    #[test]
    fn spans_are_one_based() {
        let n = root("a: 1\nbb:\n  c: x\n");
        let (k, v) = n.get_entry("bb").unwrap();
        assert_eq!((k.span.start.line, k.span.start.col), (2, 1));
        let c = v.get("c").unwrap();
        assert_eq!((c.span.start.line, c.span.start.col), (3, 6));
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_reported() {
        let d = parse("a: 1\na: 2\n").unwrap();
        let r = d.root.unwrap();
        assert_eq!(r.get("a").unwrap().kind, NodeKind::Int(2));
        assert_eq!(r.as_map().unwrap().len(), 1);
        assert_eq!(d.duplicates.len(), 1);
        assert_eq!(d.duplicates[0].span.start.line, 2);
    }

    #[test]
    fn duplicate_keys_in_large_mappings() {
        let mut t: String = (0..20).map(|i| format!("k{i}: {i}\n")).collect();
        t.push_str("k3: late\nk19: again\n");
        let d = parse(&t).unwrap();
        let r = d.root.unwrap();
        assert_eq!(r.as_map().unwrap().len(), 20);
        assert_eq!(r.get("k3").unwrap().kind, NodeKind::Str("late".into()));
        assert_eq!(d.duplicates.len(), 2);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let r = root("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n");
        let c = r.get("c").unwrap();
        assert_eq!(c.get("x").unwrap().kind, NodeKind::Int(1));
        assert_eq!(c.get("y").unwrap().kind, NodeKind::Int(3));
        assert_eq!(r.get("d").unwrap().get("y").unwrap().kind, NodeKind::Int(2));
    }

    #[test]
    fn hostile_inputs_fail_with_an_error() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            let line = format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
            bomb += &line;
        }
        assert!(parse(&bomb).is_err());
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn aliases_of_long_strings_are_bounded_by_bytes() {
        // 1,100 aliases of a 64 KiB string are 1,100 values but 68.75 MiB.
        let long = "x".repeat(64 << 10);
        let ok = format!("a: &a {long}\nb: [{}]\n", vec!["*a"; 1000].join(", "));
        assert!(parse(&ok).is_ok());
        let bomb = format!("a: &a {long}\nb: [{}]\n", vec!["*a"; 1100].join(", "));
        let e = parse(&bomb).unwrap_err();
        // The 1,025th alias passes 64 MiB: column 5 + 4 * 1024 of line 2.
        assert_eq!(
            (e.span.start.line, e.span.start.col),
            (2, 5 + 4 * 1024),
            "{}",
            e.message
        );
        assert!(e.message.contains("64 MiB"), "{}", e.message);
    }

    #[test]
    fn errors_point_at_the_defect_with_a_hint() {
        let at = |t: &str| {
            let e = parse(t).unwrap_err();
            (e.span.start.line, e.span.start.col, e.help.unwrap_or_default())
        };
        let (l, c, h) = at("a: 1\nb: x\nc: \"open\nd: 2\ne: 3\n");
        assert_eq!((l, c), (3, 4));
        assert!(h.contains("closing `\"`"), "{h}");
        assert_eq!(at("a: 1\nb: [x, \u{7}]\n").0, 2);
        assert_eq!(at("a: 1\nb: [x, \u{7}]\n").1, 8);
        assert_eq!(
            at("a:\n\tb: 1\n").2,
            "YAML does not allow tabs for indentation; use spaces"
        );
        // Items of a list line up on the column after `- `.
        let (l, _, h) = at("a:\n  - b: 1\n     c: 2\n");
        assert_eq!(l, 3);
        assert!(h.contains("line 2 above it (5 spaces, not 4 spaces)"), "{h}");
        // Deeper after a line that opens a block is not the problem.
        let (_, _, h) = at("a:\n  b: [1\n");
        assert!(!h.contains("indented"), "{h}");
    }

    #[test]
    fn integers_beyond_64_bits_are_recorded() {
        let d = parse("a: 99999999999999999999\nb: 1.5\nc: &x -99999999999999999999\nd: *x\n").unwrap();
        let lines: Vec<u32> = d.big_ints.iter().map(|s| s.start.line).collect();
        assert_eq!(lines, [1, 3, 4]);
    }

    #[test]
    fn parser_panics_become_errors() {
        // Found by cargo fuzz: libyaml-safer panics on a block scalar cut off
        // at the end of the input.
        let d = parse("AnalysisType: rule\na: |\n  x").unwrap();
        assert_eq!(d.root.unwrap().get("a").unwrap().kind, NodeKind::Str("x\n".into()));
        for input in ["a: |\n  x\r", "a: >\r", "- |-\n\r", "|\r"] {
            let _ = parse(input);
        }
    }

    #[test]
    fn unindented_continuation_of_quoted_scalars_is_accepted() {
        // PAT (PyYAML) accepts this and panther-analysis relies on it.
        let r = root("a: \"x\ny\"\nb: 1\n");
        assert_eq!(r.get("a").unwrap().kind, NodeKind::Str("x y".into()));
    }

    #[test]
    fn empty_document_has_no_root() {
        assert!(parse("").unwrap().root.is_none());
        assert!(parse("# only a comment\n").unwrap().root.is_none());
    }

    #[test]
    fn log_converts_to_ordered_json() {
        let r = root("z: 1\na: {200: ok}\n");
        assert_eq!(r.to_json().unwrap().to_string(), r#"{"z":1,"a":{"200":"ok"}}"#);
        assert!(root("a: .nan").to_json().is_err());
    }
}
