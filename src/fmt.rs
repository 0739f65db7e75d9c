//! The canonical layout of analysis YAML files, for `detect fmt`
//! (cli-and-settings §4.9, §6.3). Text in, text out; no I/O.
//!
//! The layout is PAT's (`ruamel.yaml` with `indent(mapping=2, sequence=4,
//! offset=2)` and a line width of 4096): mappings indented by 2, the dash of
//! a sequence item 2 columns right of its parent key and the item's content
//! 2 further, a mapping or a sequence inside a sequence item starting on the
//! dash line, flow collections (`[a, b]`, `{k: v}`) expanded to block style
//! except empty ones (`[]`, `{}`), one space after `:` and `-`, no trailing
//! white space, exactly one final line break, no re-wrapping of long lines.
//!
//! The text is rebuilt from the parser's events and their byte positions,
//! never from values: every scalar is copied from the source byte for byte
//! (quotes, escapes, block scalar headers with their indentation and
//! chomping indicators); only the indentation of the continuation lines of
//! multi-line scalars changes, which YAML ignores (flow scalars strip it;
//! block scalar content is moved as a whole). Comments are copied in order:
//! a comment after a value stays after it on its line with the same white
//! space before `#`; a comment on its own line keeps its text and moves
//! with the key or dash it was aligned with. Blank lines are kept, except at
//! the start and end of the file.
//!
//! Safety comes before coverage: [`format()`] re-parses the result with
//! [`crate::yaml::parse`] and refuses it unless the value tree (spans
//! ignored) and the duplicate keys are the same as the original's, and
//! unless formatting the result again changes nothing. Constructs that are
//! not rewritten are refused with a reason ([`Formatted::LeftAlone`]):
//! anchors, aliases and tags, keys that are collections or span lines,
//! explicit `?` keys, directives and `...`, CRLF or other line breaks than
//! `\n`, a byte order mark, and anything the layout does not expect.

use libyaml_safer::{EventData, Parser, ScalarStyle, SequenceStyle};

use crate::yaml::{self, Document, Node, NodeKind, YamlError};

/// The result of formatting one analysis file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formatted {
    /// The file is already in the canonical layout.
    Unchanged,
    /// The canonical text, which differs from the file.
    Changed(String),
    /// The file stays as it is, for the reason given (a lowercase
    /// fragment: "anchors (`&name`)").
    LeftAlone(String),
}

/// Parses a file and returns its document when it is an analysis file: a
/// mapping with a top-level `AnalysisType` key (cli-and-settings §1.4).
/// Other YAML files are `Ok(None)`; `fmt` does not touch them, as PAT's
/// does not.
///
/// # Errors
/// The YAML syntax error, with its position.
pub fn analysis_document(text: &str) -> Result<Option<Document>, YamlError> {
    let doc = yaml::parse(text)?;
    let is_analysis = doc.root.as_ref().and_then(|r| r.get("AnalysisType")).is_some();
    Ok(is_analysis.then_some(doc))
}

/// Formats a file that [`yaml::parse`] read as `before`.
///
/// The result is [`Formatted::Changed`] only when the new text parses to
/// the same values and duplicate keys as `before` and is itself in the
/// canonical layout; anything else leaves the file alone.
pub fn format(text: &str, before: &Document) -> Formatted {
    let out = match layout(text) {
        Ok(out) => out,
        Err(Unsupported(reason)) => return Formatted::LeftAlone(reason),
    };
    if out == text {
        return Formatted::Unchanged;
    }
    // From here on a refusal is a bug of the layout, never of the file.
    let after = match yaml::parse(&out) {
        Ok(doc) => doc,
        Err(e) => {
            return Formatted::LeftAlone(format!(
                "the formatted text would not parse ({} at {}:{}); please report this",
                e.message, e.span.start.line, e.span.start.col
            ));
        }
    };
    if !same_document(before, &after) {
        return Formatted::LeftAlone("formatting would change the values of the file; please report this".to_owned());
    }
    match layout(&out) {
        Ok(again) if again == out => Formatted::Changed(out),
        _ => Formatted::LeftAlone("formatting is not stable on this file; please report this".to_owned()),
    }
}

/// Whether two parsed documents hold the same values and the same
/// duplicate keys, positions ignored.
pub fn same_document(a: &Document, b: &Document) -> bool {
    let roots = match (&a.root, &b.root) {
        (None, None) => true,
        (Some(x), Some(y)) => same_tree(x, y),
        _ => false,
    };
    roots
        && a.duplicates.len() == b.duplicates.len()
        && a.duplicates.iter().zip(&b.duplicates).all(|(x, y)| x.key == y.key)
}

/// Structural equality of two values, spans ignored; floats compare by
/// their bits, so `.nan` equals `.nan`.
pub fn same_tree(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Null, NodeKind::Null) => true,
        (NodeKind::Bool(x), NodeKind::Bool(y)) => x == y,
        (NodeKind::Int(x), NodeKind::Int(y)) => x == y,
        (NodeKind::Float(x), NodeKind::Float(y)) => x.to_bits() == y.to_bits(),
        (NodeKind::Str(x), NodeKind::Str(y)) => x == y,
        (NodeKind::Seq(x), NodeKind::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_tree(p, q)),
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| same_tree(k1, k2) && same_tree(v1, v2))
        }
        _ => false,
    }
}

/// Why the layout does not rewrite a file.
#[derive(Debug)]
struct Unsupported(String);

fn unsupported<T>(reason: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(reason.into()))
}

/// A value as the parser saw it: where it starts and what it holds.
#[derive(Debug)]
struct Tree {
    /// Byte offset of its first character (the quote, the `|`, the first
    /// key of a block mapping, the first dash of a block sequence, `[`).
    start: usize,
    /// Column of `start`, in characters.
    col: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar {
        /// Byte offset one past the last character.
        end: usize,
        style: ScalarStyle,
        /// An empty plain scalar (`key:` with nothing after it).
        null: bool,
    },
    Seq {
        flow: bool,
        items: Vec<Tree>,
    },
    Map {
        entries: Vec<(Tree, Tree)>,
    },
}

/// The text in its canonical layout, without the safety checks of
/// [`format()`].
///
/// Only called on text [`yaml::parse`] accepted: the parser is the same, so
/// it does not fail or panic here.
fn layout(text: &str) -> Result<String, Unsupported> {
    if text.contains('\r') {
        return unsupported("CRLF line breaks (only files with `\\n` line breaks are formatted)");
    }
    if text.starts_with('\u{feff}') {
        return unsupported("a byte order mark");
    }
    if text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return unsupported("Unicode line separators (NEL, LS or PS)");
    }
    let text = &*crate::yaml::with_final_newline(text);
    let Some(root) = build(text)? else {
        return Ok(text.to_owned());
    };
    let mut spans = Vec::new();
    scalar_spans(&root, &mut spans);
    spans.sort_unstable();
    let (trivia, dashes) = scan(text, &spans)?;
    let mut w = Writer {
        src: text,
        trivia,
        next: 0,
        dashes,
        lines: Vec::new(),
        open: None,
        pending: Vec::new(),
        heads: Vec::new(),
        after_block: None,
    };
    match &root.kind {
        Kind::Map { entries, .. } if !entries.is_empty() => w.map(&root, 0, false)?,
        _ => return unsupported("the top level is not a mapping"),
    }
    Ok(w.finish())
}

fn mark_index(m: &libyaml_safer::Mark) -> usize {
    usize::try_from(m.index).unwrap_or(usize::MAX)
}

fn mark_col(m: &libyaml_safer::Mark) -> usize {
    usize::try_from(m.column).unwrap_or(usize::MAX)
}

/// Builds the tree of the one document, refusing what the layout does not
/// rewrite.
fn build(text: &str) -> Result<Option<Tree>, Unsupported> {
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut root = None;
    let mut stack: Vec<(Tree, Option<Tree>)> = Vec::new();
    let mut documents = 0;
    for ev in parser {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => return unsupported(format!("the YAML parser failed: {}", e.problem())),
        };
        let start = mark_index(&ev.start_mark);
        let col = mark_col(&ev.start_mark);
        let node = match ev.data {
            EventData::StreamStart { .. } | EventData::StreamEnd => continue,
            EventData::DocumentStart {
                version_directive,
                tag_directives,
                ..
            } => {
                documents += 1;
                if documents > 1 {
                    return unsupported("more than one YAML document");
                }
                if version_directive.is_some() || !tag_directives.is_empty() {
                    return unsupported("YAML directives (`%YAML`, `%TAG`)");
                }
                continue;
            }
            EventData::DocumentEnd { implicit } => {
                if !implicit {
                    return unsupported("a document end marker (`...`)");
                }
                continue;
            }
            EventData::Alias { .. } => return unsupported("aliases (`*name`)"),
            EventData::Scalar { anchor: Some(_), .. }
            | EventData::SequenceStart { anchor: Some(_), .. }
            | EventData::MappingStart { anchor: Some(_), .. } => return unsupported("anchors (`&name`)"),
            EventData::Scalar { tag: Some(_), .. }
            | EventData::SequenceStart { tag: Some(_), .. }
            | EventData::MappingStart { tag: Some(_), .. } => return unsupported("tags (`!tag`)"),
            EventData::SequenceStart { style, .. } => {
                if stack.len() >= yaml::MAX_DEPTH {
                    return unsupported("values nested too deep");
                }
                let tree = Tree {
                    start,
                    col,
                    kind: Kind::Seq {
                        flow: style == SequenceStyle::Flow,
                        items: Vec::new(),
                    },
                };
                stack.push((tree, None));
                continue;
            }
            EventData::MappingStart { .. } => {
                if stack.len() >= yaml::MAX_DEPTH {
                    return unsupported("values nested too deep");
                }
                let tree = Tree {
                    start,
                    col,
                    kind: Kind::Map { entries: Vec::new() },
                };
                stack.push((tree, None));
                continue;
            }
            EventData::SequenceEnd | EventData::MappingEnd => match stack.pop() {
                Some((tree, None)) => tree,
                Some((_, Some(_))) | None => return unsupported("an unexpected event order"),
            },
            EventData::Scalar { style, value, .. } => {
                let end = mark_index(&ev.end_mark);
                Tree {
                    start,
                    col,
                    kind: Kind::Scalar {
                        end,
                        style,
                        null: style == ScalarStyle::Plain && value.is_empty() && end == start,
                    },
                }
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some((parent, pending)) => match &mut parent.kind {
                Kind::Seq { items, .. } => items.push(node),
                Kind::Map { entries, .. } => match pending.take() {
                    Some(key) => entries.push((key, node)),
                    None if matches!(node.kind, Kind::Scalar { .. }) => *pending = Some(node),
                    None => return unsupported("a mapping key that is a list or a mapping"),
                },
                Kind::Scalar { .. } => return unsupported("an unexpected event order"),
            },
        }
    }
    Ok(root)
}

/// The byte ranges of every non-empty scalar.
fn scalar_spans(t: &Tree, out: &mut Vec<(usize, usize)>) {
    match &t.kind {
        Kind::Scalar { end, .. } => {
            if *end > t.start {
                out.push((t.start, *end));
            }
        }
        Kind::Seq { items, .. } => items.iter().for_each(|i| scalar_spans(i, out)),
        Kind::Map { entries, .. } => entries.iter().for_each(|(k, v)| {
            scalar_spans(k, out);
            scalar_spans(v, out);
        }),
    }
}

/// The trivia of a text and the dashes of its block sequences (byte
/// offset, column).
type Scanned<'a> = (Vec<Trivia<'a>>, Vec<(usize, usize)>);

/// What lies between values: comments, blank lines, `---`.
#[derive(Debug, Clone, Copy)]
enum Trivia<'a> {
    Comment {
        pos: usize,
        /// Column of `#` (bytes; the text before it is ASCII white space
        /// for a comment on its own line).
        col: usize,
        /// From `#` to the end of the line, trailing white space removed.
        text: &'a str,
        /// Whether something precedes it on its line.
        trailing: bool,
        /// The white space between that something and `#`.
        gap: &'a str,
    },
    Blank {
        pos: usize,
    },
    DocStart {
        pos: usize,
    },
}

impl Trivia<'_> {
    fn pos(&self) -> usize {
        match self {
            Trivia::Comment { pos, .. } | Trivia::Blank { pos } | Trivia::DocStart { pos } => *pos,
        }
    }
}

fn is_blank_byte(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Walks the text outside scalars: records comments, blank lines, `---` and
/// the dashes of block sequences (position and column), and refuses any
/// other text than the indicators `-`, `:`, `,`, `[`, `]`, `{`, `}`.
fn scan<'a>(text: &'a str, spans: &[(usize, usize)]) -> Result<Scanned<'a>, Unsupported> {
    let b = text.as_bytes();
    let mut trivia = Vec::new();
    let mut dashes = Vec::new();
    let mut spans = spans.iter().peekable();
    let mut i = 0;
    let mut line_start = 0;
    let mut has_content = false;
    while i < b.len() {
        if let Some(&&(start, end)) = spans.peek() {
            if start < i {
                return unsupported("overlapping values");
            }
            if start == i {
                spans.next();
                let Some(covered) = text.get(i..end) else {
                    return unsupported("a value position outside the text");
                };
                match covered.rfind('\n') {
                    Some(nl) => {
                        line_start = i + nl + 1;
                        has_content = b[line_start..end].iter().any(|c| !is_blank_byte(*c));
                    }
                    None => has_content = true,
                }
                i = end;
                continue;
            }
        }
        let at_ws_or_end = |k: usize| b.get(k).is_none_or(|c| is_blank_byte(*c) || *c == b'\n');
        match b[i] {
            b'\n' => {
                if !has_content {
                    trivia.push(Trivia::Blank { pos: i });
                }
                line_start = i + 1;
                has_content = false;
                i += 1;
            }
            b' ' | b'\t' => i += 1,
            b'#' => {
                if i > line_start && !is_blank_byte(b[i - 1]) {
                    return unsupported("a `#` that does not start a comment");
                }
                let eol = text[i..].find('\n').map_or(b.len(), |k| i + k);
                let gap_start = line_start + text[line_start..i].trim_end_matches([' ', '\t']).len();
                trivia.push(Trivia::Comment {
                    pos: i,
                    col: i - line_start,
                    text: text[i..eol].trim_end_matches([' ', '\t']),
                    trailing: has_content,
                    gap: &text[gap_start..i],
                });
                has_content = true;
                i = eol;
            }
            b'-' if i == line_start && text[i..].starts_with("---") && at_ws_or_end(i + 3) => {
                trivia.push(Trivia::DocStart { pos: i });
                has_content = true;
                i += 3;
            }
            b'-' if at_ws_or_end(i + 1) => {
                dashes.push((i, i - line_start));
                has_content = true;
                i += 1;
            }
            b':' | b',' | b'[' | b']' | b'{' | b'}' => {
                has_content = true;
                i += 1;
            }
            b'?' => return unsupported("explicit keys (`?`)"),
            b'.' if text[i..].starts_with("...") => return unsupported("a document end marker (`...`)"),
            b'%' => return unsupported("YAML directives (`%YAML`, `%TAG`)"),
            _ => {
                let line = text[..i].matches('\n').count() + 1;
                return unsupported(format!("unexpected text at line {line}"));
            }
        }
    }
    Ok((trivia, dashes))
}

/// A line of the output.
#[derive(Debug)]
struct Line {
    text: String,
    /// Part of a scalar: never dropped, even when empty.
    content: bool,
    /// Ends with a comment: a second one goes on its own line (two values
    /// of a flow collection on one line may each have had one).
    commented: bool,
}

/// A line that starts with a key or a dash: its original column and its new
/// one. Comments on their own lines move with the head they align with.
#[derive(Debug, Clone, Copy)]
struct Head {
    orig: usize,
    new: usize,
}

/// A comment line or blank line waiting for the next line with a value, so
/// that its column can follow that line's move.
#[derive(Debug)]
enum Pending {
    Blank,
    Comment {
        col: usize,
        text: String,
        /// After a block scalar: the comment must stay left of its content,
        /// at most at this column.
        clamp: Option<usize>,
    },
}

/// How many earlier heads a comment's column is looked up in.
const HEAD_LOOKBACK: usize = 64;

struct Writer<'a> {
    src: &'a str,
    trivia: Vec<Trivia<'a>>,
    /// The first trivia not yet written.
    next: usize,
    /// Dashes of block sequences: (byte offset, column).
    dashes: Vec<(usize, usize)>,
    lines: Vec<Line>,
    /// The line a value may still be written on (`key:`, `-`).
    open: Option<usize>,
    pending: Vec<Pending>,
    heads: Vec<Head>,
    /// After a block scalar: the new column of its parent collection.
    after_block: Option<usize>,
}

fn indent(col: usize, text: &str) -> String {
    let mut s = " ".repeat(col);
    s.push_str(text);
    s
}

impl Writer<'_> {
    /// Writes the comments, blank lines and `---` before byte `upto`.
    fn flush(&mut self, upto: usize) {
        while let Some(&t) = self.trivia.get(self.next) {
            if t.pos() >= upto {
                break;
            }
            self.next += 1;
            match t {
                Trivia::Blank { .. } => {
                    self.pending.push(Pending::Blank);
                    self.open = None;
                }
                Trivia::DocStart { .. } => {
                    self.push_head(0, 0, "---".to_owned());
                    self.open = None;
                }
                Trivia::Comment {
                    trailing: true,
                    text,
                    gap,
                    ..
                } if self.pending.is_empty() && self.lines.last().is_some_and(|l| !l.commented) => {
                    if let Some(line) = self.lines.last_mut() {
                        line.text.push_str(gap);
                        line.text.push_str(text);
                        line.commented = true;
                    }
                    self.open = None;
                }
                Trivia::Comment { col, text, .. } => {
                    self.pending.push(Pending::Comment {
                        col,
                        text: text.to_owned(),
                        clamp: self.after_block,
                    });
                    self.open = None;
                }
            }
        }
    }

    /// Writes the pending comment and blank lines; `next` is the head about
    /// to be written, if any.
    fn flush_pending(&mut self, next: Option<Head>) {
        for p in std::mem::take(&mut self.pending) {
            let text = match p {
                Pending::Blank => String::new(),
                Pending::Comment { col, text, clamp } => {
                    // Aligned with the next head: move with it. Else with a
                    // recent head; of several, the leftmost (a comment
                    // after the last item of `key:\n- item` is read as
                    // belonging to `key`'s level).
                    let mapped = match next {
                        Some(h) if h.orig == col => h.new,
                        _ => self
                            .heads
                            .iter()
                            .rev()
                            .take(HEAD_LOOKBACK)
                            .filter(|h| h.orig == col)
                            .map(|h| h.new)
                            .min()
                            .unwrap_or(col),
                    };
                    indent(clamp.map_or(mapped, |c| mapped.min(c)), &text)
                }
            };
            self.lines.push(Line {
                commented: !text.is_empty(),
                text,
                content: false,
            });
        }
    }

    /// Starts a line with a key, a dash or a value; returns its index.
    fn push_head(&mut self, new: usize, orig: usize, text: String) -> usize {
        let head = Head { orig, new };
        self.flush_pending(Some(head));
        self.heads.push(head);
        self.after_block = None;
        self.lines.push(Line {
            text,
            content: false,
            commented: false,
        });
        self.lines.len() - 1
    }

    /// Writes `text` on the open line after one space, or on a new line at
    /// column `col`.
    fn place(&mut self, text: &str, orig: usize, col: usize) {
        match self.open {
            Some(l) => {
                let line = &mut self.lines[l].text;
                line.push(' ');
                line.push_str(text);
            }
            None => {
                self.push_head(col, orig, indent(col, text));
            }
        }
    }

    /// A block mapping at column `col`; with `inline`, its first key goes on
    /// the open line (a mapping that is a sequence item).
    fn map(&mut self, map: &Tree, col: usize, inline: bool) -> Result<(), Unsupported> {
        let Kind::Map { entries, .. } = &map.kind else {
            return unsupported("an unexpected value kind");
        };
        for (i, (key, value)) in entries.iter().enumerate() {
            let text = format!("{}:", self.key_text(key)?);
            self.flush(key.start);
            let line = match self.open {
                Some(l) if i == 0 && inline => {
                    let line = &mut self.lines[l].text;
                    line.push(' ');
                    line.push_str(&text);
                    self.heads.push(Head {
                        orig: key.col,
                        new: col,
                    });
                    l
                }
                _ => self.push_head(col, key.col, indent(col, &text)),
            };
            self.open = Some(line);
            self.value(value, (col, map.col), col + 2, false)?;
        }
        Ok(())
    }

    /// A block sequence with its dashes at column `col`; with `inline`, its
    /// first dash goes on the open line (a sequence in a sequence item).
    fn seq(&mut self, seq: &Tree, col: usize, inline: bool) -> Result<(), Unsupported> {
        let Kind::Seq { items, flow } = &seq.kind else {
            return unsupported("an unexpected value kind");
        };
        for (i, item) in items.iter().enumerate() {
            let (dash_pos, dash_col) = if *flow {
                (item.start, item.col)
            } else {
                let k = self.dashes.partition_point(|d| d.0 < item.start);
                match k.checked_sub(1).and_then(|k| self.dashes.get(k)) {
                    Some(&(pos, c)) if pos >= seq.start => (pos, c),
                    _ => return unsupported("a sequence item without its dash"),
                }
            };
            self.flush(dash_pos);
            let line = match self.open {
                Some(l) if i == 0 && inline => {
                    self.lines[l].text.push_str(" -");
                    self.heads.push(Head {
                        orig: dash_col,
                        new: col,
                    });
                    l
                }
                _ => self.push_head(col, dash_col, indent(col, "-")),
            };
            self.open = Some(line);
            self.value(item, (col, seq.col), col + 2, true)?;
        }
        Ok(())
    }

    /// A mapping value or a sequence item. `parent` is the new and original
    /// column of the enclosing block collection (block scalars are indented
    /// from it); `col` is where the value goes on a new line; `compact`
    /// allows a collection to start on the open line.
    fn value(&mut self, v: &Tree, parent: (usize, usize), col: usize, compact: bool) -> Result<(), Unsupported> {
        match &v.kind {
            Kind::Scalar { null: true, .. } => {
                self.flush(v.start);
                self.open = None;
            }
            Kind::Scalar {
                end,
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => self.block_scalar(v, *end, parent)?,
            Kind::Scalar { end, .. } => self.flow_scalar(v, *end, col)?,
            Kind::Map { entries, .. } if entries.is_empty() => self.empty(v, "{}", col),
            Kind::Seq { items, .. } if items.is_empty() => self.empty(v, "[]", col),
            Kind::Map { .. } => {
                if !compact {
                    self.open = None;
                }
                self.map(v, col, compact)?;
            }
            Kind::Seq { .. } => {
                if !compact {
                    self.open = None;
                }
                self.seq(v, col, compact)?;
            }
        }
        Ok(())
    }

    fn empty(&mut self, v: &Tree, text: &str, col: usize) {
        self.flush(v.start);
        self.place(text, v.col, col);
        self.open = None;
    }

    /// The source text of a key: a scalar on one line.
    fn key_text(&self, key: &Tree) -> Result<&str, Unsupported> {
        match &key.kind {
            Kind::Scalar { null: true, .. } => unsupported("an empty mapping key"),
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } => unsupported("a block scalar as a mapping key"),
            Kind::Scalar { end, .. } => match self.src.get(key.start..*end) {
                // libyaml reads a key on the line of its `:` only when it
                // is at most 1024 bytes long.
                Some(text) if text.len() > 1000 => unsupported("a mapping key longer than 1000 bytes"),
                Some(text) if !text.contains('\n') => Ok(text),
                Some(_) => unsupported("a mapping key that spans lines"),
                None => unsupported("a value position outside the text"),
            },
            _ => unsupported("a mapping key that is a list or a mapping"),
        }
    }

    /// A plain or quoted scalar: its first line as written, continuation
    /// lines re-indented to `col` (flow scalars ignore that indentation).
    fn flow_scalar(&mut self, v: &Tree, end: usize, col: usize) -> Result<(), Unsupported> {
        let Some(text) = self.src.get(v.start..end) else {
            return unsupported("a value position outside the text");
        };
        if matches!(
            v.kind,
            Kind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        ) && matches!(text, "-" | "?" | ":")
        {
            // `[-]` is the string "-"; `- -` would be a list.
            return unsupported(format!("a plain `{text}` in a flow collection"));
        }
        self.flush(v.start);
        let mut lines = text.split('\n');
        self.place(lines.next().unwrap_or_default(), v.col, col);
        for line in lines {
            let rest = line.trim_start_matches([' ', '\t']);
            let text = if rest.is_empty() {
                String::new()
            } else {
                indent(col, rest)
            };
            self.lines.push(Line {
                text,
                content: true,
                commented: false,
            });
        }
        self.open = None;
        Ok(())
    }

    /// A literal or folded scalar: the header as written, the content moved
    /// as a whole to its new indentation (2 from the parent collection, or
    /// the explicit indentation indicator).
    fn block_scalar(&mut self, v: &Tree, end: usize, parent: (usize, usize)) -> Result<(), Unsupported> {
        let Some(text) = self.src.get(v.start..end) else {
            return unsupported("a value position outside the text");
        };
        let Some((header, body)) = text.split_once('\n') else {
            return unsupported("a block scalar without a line break");
        };
        let header = header.trim_end_matches([' ', '\t']);
        let mut digit = None;
        let mut keep = false;
        for c in header.chars().skip(1) {
            match c {
                '1'..='9' => digit = c.to_digit(10).map(|d| d as usize),
                '+' => keep = true,
                '-' => {}
                _ => break,
            }
        }
        let mut region: Vec<&str> = body.split('\n').collect();
        // The last piece is the indentation of the line after the scalar.
        if region.pop().is_some_and(|rest| rest.bytes().any(|c| c != b' ')) {
            return unsupported("a block scalar that ends inside a line");
        }
        let (new_n, orig_n) = parent;
        let old_ci = match digit {
            Some(m) => orig_n + m,
            None => {
                // libyaml's detection: the widest of the leading empty
                // lines and the first content line, at least one more
                // than the parent's column.
                let mut widest = 0;
                for line in &region {
                    let spaces = line.bytes().take_while(|c| *c == b' ').count();
                    widest = widest.max(spaces);
                    if spaces < line.len() {
                        break;
                    }
                }
                widest.max(orig_n + 1)
            }
        };
        let new_ci = new_n + digit.unwrap_or(2);
        for line in &region {
            let lead = &line.as_bytes()[..line.len().min(old_ci)];
            if lead.iter().any(|c| *c != b' ') {
                return unsupported("a block scalar line indented with tabs or less than its first line");
            }
        }
        let is_empty = |line: &&str| line.len() <= old_ci;
        let last = region.iter().rposition(|l| !is_empty(l));
        let content_end = if keep { region.len() } else { last.map_or(0, |l| l + 1) };
        self.flush(v.start);
        self.place(header, v.col, new_n + 2);
        for line in &region[..content_end] {
            let text = match line.get(old_ci..) {
                Some(rest) if !rest.is_empty() => indent(new_ci, rest),
                _ => String::new(),
            };
            self.lines.push(Line {
                text,
                content: true,
                commented: false,
            });
        }
        self.open = None;
        self.after_block = Some(new_n);
        // Empty lines after the content that chomping drops are layout:
        // blank lines like any other.
        for _ in content_end..region.len() {
            self.pending.push(Pending::Blank);
        }
        Ok(())
    }

    /// The text: every remaining comment, no blank lines at either end, one
    /// final line break.
    fn finish(mut self) -> String {
        self.flush(usize::MAX);
        self.flush_pending(None);
        let is_layout_blank = |l: &Line| l.text.is_empty() && !l.content;
        let start = self.lines.iter().position(|l| !is_layout_blank(l)).unwrap_or(0);
        let end = self
            .lines
            .iter()
            .rposition(|l| !is_layout_blank(l))
            .map_or(start, |e| e + 1);
        let mut out = String::with_capacity(self.src.len() + 64);
        for line in &self.lines[start..end] {
            out.push_str(&line.text);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats with every safety check; panics when the file is refused.
    fn fmt(text: &str) -> String {
        let before = yaml::parse(text).unwrap();
        match format(text, &before) {
            Formatted::Unchanged => text.to_owned(),
            Formatted::Changed(out) => out,
            Formatted::LeftAlone(why) => panic!("left alone: {why}\n{text}"),
        }
    }

    fn left_alone(text: &str) -> String {
        let before = yaml::parse(text).unwrap();
        match format(text, &before) {
            Formatted::LeftAlone(why) => why,
            other => panic!("formatted: {other:?}"),
        }
    }

    #[test]
    fn flow_list_becomes_a_block_list() {
        assert_eq!(
            fmt("AnalysisType: rule\nLogTypes: [AWS.CloudTrail, 'Okta.SystemLog']\n"),
            "AnalysisType: rule\nLogTypes:\n  - AWS.CloudTrail\n  - 'Okta.SystemLog'\n"
        );
    }

    #[test]
    fn flow_map_becomes_a_block_map() {
        assert_eq!(
            fmt("Tests:\n- Name: a\n  Log: { 'userAgent': 'John', \"n\": 1, e: {}, l: [] }\n"),
            "Tests:\n  - Name: a\n    Log:\n      'userAgent': 'John'\n      \"n\": 1\n      e: {}\n      l: []\n"
        );
    }

    #[test]
    fn nested_sequences_of_mappings() {
        let src = "Detection:\n- Any:\n  - KeyPath: a\n    Condition: Equals\n    Value: 1\n  - All:\n    - KeyPath: b\n      Condition: Exists\nx: [[1, 2], [3], {a: b}]\n";
        let want = "Detection:\n  - Any:\n      - KeyPath: a\n        Condition: Equals\n        Value: 1\n      - All:\n          - KeyPath: b\n            Condition: Exists\nx:\n  - - 1\n    - 2\n  - - 3\n  - a: b\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn comments_are_kept_in_order() {
        let src = "# head\nAnalysisType: rule  # trailing\n\n# before tests\nTests:\n# before the item\n- Name: a # name\n  # inside\n  Log: {a: 1, # one\n    b: 2}\n# between\n- Name: b\n  # end of item\n# end\n";
        let want = "# head\nAnalysisType: rule  # trailing\n\n# before tests\nTests:\n  # before the item\n  - Name: a # name\n    # inside\n    Log:\n      a: 1 # one\n      b: 2\n  # between\n  - Name: b\n    # end of item\n# end\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn comment_between_a_key_and_its_value_keeps_the_value_below() {
        let src = "a: # why\n  value\nb:\n  # note\n  - x\nc:\n- # first\n  k: v\n";
        let want = "a: # why\n  value\nb:\n  # note\n  - x\nc:\n  - # first\n    k: v\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn quoted_and_plain_scalars_are_copied() {
        let src = "a:   'it''s'\nb: \"tab\\t\\u00e9\"\nc: 0644\nd: ~\ne:\nf: yes\ng: \"multi\n   line\"\nh: plain\n    continued\n\n    after blank\n";
        let want = "a: 'it''s'\nb: \"tab\\t\\u00e9\"\nc: 0644\nd: ~\ne:\nf: yes\ng: \"multi\n  line\"\nh: plain\n  continued\n\n  after blank\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn block_scalars_keep_header_and_content() {
        let src = "Tests:\n- Name: a\n  Log: |\n    {\"a\": 1}\n\n      indented\n  Desc: >-  # folded\n    one\n    two\n  Keep: |+\n    k\n\n  Explicit: |2\n      two more\n    base\nx: 1\n";
        let want = "Tests:\n  - Name: a\n    Log: |\n      {\"a\": 1}\n\n        indented\n    Desc: >-  # folded\n      one\n      two\n    Keep: |+\n      k\n\n    Explicit: |2\n        two more\n      base\nx: 1\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn block_scalar_followed_by_a_comment_and_blank_lines() {
        let src = "a:\n    - |\n        text\n\n      # deep comment\n    - b\n";
        let out = fmt(src);
        assert_eq!(out, "a:\n  - |\n    text\n\n  # deep comment\n  - b\n");
    }

    #[test]
    fn canonical_file_is_unchanged() {
        let src = "AnalysisType: rule\nRuleID: \"A.B\"\nEnabled: true\nLogTypes:\n  - Okta.SystemLog\nDetection:\n  - KeyPath: eventType\n    Condition: Equals\n    Value: user.session.start\nTests:\n  - Name: x\n    ExpectedResult: true\n    Log:\n      eventType: user.session.start\n      nested:\n        - a: 1\n          b: 2\n";
        let before = yaml::parse(src).unwrap();
        assert_eq!(format(src, &before), Formatted::Unchanged);
    }

    #[test]
    fn final_line_break_and_blank_lines_at_the_ends() {
        assert_eq!(fmt("\n\na: 1\n\n\n"), "a: 1\n");
        assert_eq!(fmt("a: 1"), "a: 1\n");
        assert_eq!(fmt("a: |+\n  x\n\n"), "a: |+\n  x\n\n");
    }

    #[test]
    fn anchors_aliases_and_tags_are_left_alone() {
        assert!(left_alone("a: &x 1\nb: *x\n").contains("anchors"));
        assert!(left_alone("a: !!str 1\n").contains("tags"));
        assert!(left_alone("? a\n: 1\n").contains("explicit keys"));
        assert!(left_alone("[a]: 1\n").contains("list or a mapping"));
        assert!(left_alone("%YAML 1.1\n---\na: 1\n").contains("directives"));
        assert!(left_alone("a: 1\r\nb: 2\r\n").contains("CRLF"));
    }

    #[test]
    fn document_start_marker_is_kept() {
        assert_eq!(fmt("--- # doc\na: [1]\n"), "--- # doc\na:\n  - 1\n");
    }

    #[test]
    fn reparse_guard_compares_values() {
        let a = yaml::parse("a: [1, 'x', {b: .nan}]\n").unwrap();
        let b = yaml::parse("a:\n  - 1\n  - x\n  - b: .NaN\n").unwrap();
        let c = yaml::parse("a:\n  - 1\n  - '1'\n  - b: .nan\n").unwrap();
        assert!(same_document(&a, &b));
        assert!(!same_document(&a, &c));
        let d = yaml::parse("a: 1\na: 2\n").unwrap();
        let e = yaml::parse("a: 2\n").unwrap();
        assert!(!same_document(&d, &e), "duplicate keys count");
    }

    #[test]
    fn a_layout_that_would_change_values_is_refused() {
        // A document that parses differently from the text: `format` must
        // refuse rather than write it.
        let text = "a: [1, 2]\n";
        let other = yaml::parse("a: [1, 3]\n").unwrap();
        assert!(matches!(format(text, &other), Formatted::LeftAlone(w) if w.contains("change the values")));
    }

    #[test]
    fn output_is_idempotent() {
        for src in [
            "a: {b: [1, {c: d}], e: 'f'} # t\n",
            "x:\n- a\n# c\n- b\n",
            "k: >\n  folded\n  text\n\n# after\nm: 1\n",
        ] {
            let once = fmt(src);
            assert_eq!(fmt(&once), once, "{src}");
        }
    }

    #[test]
    fn analysis_files_only() {
        assert!(analysis_document("AnalysisType: rule\n").unwrap().is_some());
        assert!(analysis_document("other: 1\n").unwrap().is_none());
        assert!(analysis_document("").unwrap().is_none());
        let e = analysis_document("a: [1\n").unwrap_err();
        assert_eq!(e.span.start.line, 2);
    }

    #[test]
    fn two_comments_never_share_a_line() {
        assert_eq!(
            fmt("k: [a, # ta\n  b # tb\n] # after\nn: 1\n"),
            "k:\n  - a # ta\n  - b # tb\n  # after\nn: 1\n"
        );
    }

    #[test]
    fn plain_dash_in_a_flow_list_is_left_alone() {
        assert!(left_alone("k: [-1, -]\n").contains("plain `-`"));
    }

    /// Comments, blank lines and indentation changes at pseudo-random places
    /// of every fixture file: each variant that parses is either formatted
    /// (values checked by `format`) or refused for a reason of the file,
    /// never because the layout went wrong, and formatting is stable.
    #[test]
    fn mutated_fixtures_never_trip_the_guard() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut formatted = 0;
        for e in walkdir::WalkDir::new(root) {
            let e = e.unwrap();
            if !crate::discover::is_yaml_name(&e.file_name().to_string_lossy()) {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let mut rng = fastrand::Rng::with_seed(text.len() as u64);
            for _ in 0..20 {
                let mut v: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                for _ in 0..3 {
                    let k = rng.usize(0..v.len().max(1));
                    match rng.u8(0..5) {
                        0 => v.insert(k, format!("{}# c\n", " ".repeat(rng.usize(0..10)))),
                        1 => v.insert(k, "\n".to_owned()),
                        2 => {
                            if let Some(l) = v.get_mut(k).filter(|l| l.ends_with('\n')) {
                                l.pop();
                                l.push_str("  # t\n");
                            }
                        }
                        3 => {
                            if k < v.len() {
                                v.remove(k);
                            }
                        }
                        _ => {
                            if let Some(l) = v.get_mut(k) {
                                let n = l.len() - l.trim_start_matches(' ').len();
                                l.insert_str(n, "  ");
                            }
                        }
                    }
                }
                let variant = v.concat();
                let Ok(before) = yaml::parse(&variant) else { continue };
                if before.root.as_ref().and_then(Node::as_map).is_none() {
                    continue;
                }
                match format(&variant, &before) {
                    Formatted::LeftAlone(why) => assert!(!why.contains("report"), "{why}\n{variant}"),
                    Formatted::Changed(out) => {
                        formatted += 1;
                        assert_eq!(fmt(&out), out);
                    }
                    Formatted::Unchanged => formatted += 1,
                }
            }
        }
        assert!(formatted > 100, "{formatted}");
    }
}
