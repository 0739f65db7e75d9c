//! The fast path: a hand-written reader for the subset of YAML that
//! detection files use, emitting the same [`Event`]s with the same marks as
//! libyaml 0.2.5 (which libyaml-safer ports), so the builder makes the same
//! tree.
//!
//! It never reports an error. On anything outside its subset, and on
//! anything malformed, it declines (`None`) and the caller falls back to
//! libyaml-safer, which also produces every error message. Declining is
//! always correct, only slower; a different tree would be a bug, which the
//! equivalence tests (`tests.rs` beside this file, the `yaml_equiv`
//! example) look for.
//!
//! The subset (`docs/design/017-fast-yaml-path.md`): block mappings with
//! single-line plain or quoted keys, block and indentless sequences, plain
//! scalars (also over several lines), single- and double-quoted scalars
//! (also over several lines, with libyaml's folding and escapes), literal
//! and folded block scalars with any chomping and no indentation digit, flow
//! mappings and sequences (also over several lines) of quoted scalars and
//! plain scalars without `:`, `#` or `?`, comments and blank lines.
//! Declined: tabs, `\r`, control and non-ASCII line-break characters, a
//! BOM, lines starting `---`, `...` or `%`, anchors, aliases, tags, `?`
//! keys, keys longer than 1,000 bytes, nesting deeper than 64, a root that
//! is not a block collection at column 1, and every construct not listed.
//!
//! Marks follow libyaml: a block collection starts at its first key or
//! `-`, ends where the next token starts (at the end of the input, the
//! start of the line after the last one); an empty value is empty at the
//! end of its `:` or `-`; a plain scalar ends after its last non-blank
//! character; a block scalar ends at the start of the line its last
//! line-break-only run stops on.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memchr3};

use super::Document;
use super::build::Builder;
use super::event::Event;
use super::libyaml::is_printable;
use crate::source::{Pos, Span};

/// Deepest nesting the fast path reads (the builder allows more; deeper
/// files go to libyaml-safer).
const MAX_FAST_DEPTH: usize = 64;
/// Longest key, in bytes from its start to its `:`. libyaml drops a simple
/// key more than 1,024 characters before its `:`.
const MAX_KEY_BYTES: usize = 1000;

/// Reads `text` (which ends with a line break) if it is in the subset.
pub(super) fn parse(text: &str) -> Option<Document> {
    if !in_alphabet(text) {
        return None;
    }
    let mut f = Fast {
        t: text,
        b: text.as_bytes(),
        i: 0,
        line: 0,
        ls: 0,
        ascii: text.is_ascii(),
        out: Builder::default(),
        depth: 0,
        key_memo: std::cell::Cell::new((usize::MAX, None)),
    };
    f.document()?;
    Some(f.out.finish())
}

/// Whether the text has none of the characters and line starts the fast
/// path leaves to libyaml: control characters (tabs and `\r` included),
/// C1 controls, Unicode line breaks, a BOM or other unprintable
/// characters, and lines starting with a document marker or a directive.
fn in_alphabet(text: &str) -> bool {
    let b = text.as_bytes();
    // libyaml-safer reads the first character for a byte order mark and
    // rejects some (a leading U+FFFD is "invalid byte order marker"):
    // a text that does not start with ASCII is left to it.
    if !b.ends_with(b"\n") || !b.first().is_some_and(u8::is_ascii) {
        return false;
    }
    let bad = b.chunks(64).any(|c| {
        c.iter()
            .fold(false, |acc, &x| acc | ((x < 0x20) & (x != b'\n')) | (x == 0x7f))
    });
    if bad {
        return false;
    }
    if !text.is_ascii()
        && text.chars().any(|c| {
            !c.is_ascii()
                && (('\u{80}'..='\u{9F}').contains(&c)
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
                    || !is_printable(c))
        })
    {
        return false;
    }
    let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', b).map(|k| k + 1));
    for s in starts {
        let rest = b.get(s..).unwrap_or_default();
        if rest.starts_with(b"---") || rest.starts_with(b"...") || rest.first() == Some(&b'%') {
            return false;
        }
    }
    true
}

/// Whether `c` (followed by `next`) starts a plain scalar in block context.
fn plain_start(c: u8, next: u8) -> bool {
    match c {
        // libyaml starts a plain scalar at `-` or `:` before a non-blank
        // (`- ::1`, `Value: :\Users`).
        b'-' | b':' => !matches!(next, b' ' | b'\n' | 0),
        b'?' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%'
        | b'@' | b'`' | b' ' | b'\n' | 0 => false,
        _ => true,
    }
}

/// Whether `c` may be part of a plain scalar in a flow collection (the
/// subset: no `:`, `#` or `?`, nothing that ends one).
fn flow_plain_byte(c: u8) -> bool {
    !matches!(
        c,
        b':' | b'#' | b'?' | b',' | b'[' | b']' | b'{' | b'}' | b' ' | b'\n' | 0..=0x1f | 0x7f
    )
}

/// Whether `c` (followed by `next`) starts a plain scalar of the subset in
/// a flow collection.
fn flow_plain_start(c: u8, next: u8) -> bool {
    match c {
        b'-' => next.is_ascii_alphanumeric() || next == b'.',
        b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => false,
        _ => flow_plain_byte(c),
    }
}

fn blankz(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | 0)
}

/// The reader. `i` is a byte offset into `t`; `line` (0-based) and `ls`
/// (the byte offset of the line's start) give marks.
struct Fast<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    ls: usize,
    ascii: bool,
    out: Builder,
    depth: usize,
    /// The last [`Fast::key_colon`] answer and the offset it was for.
    key_memo: std::cell::Cell<(usize, Option<usize>)>,
}

impl<'a> Fast<'a> {
    fn at(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.at(0)
    }

    fn eof(&self) -> bool {
        self.i >= self.b.len()
    }

    /// The 0-based column, in characters, of byte `i` of the current line.
    fn col_at(&self, i: usize) -> u32 {
        let seg = self.b.get(self.ls..i).unwrap_or_default();
        let n = if self.ascii {
            seg.len()
        } else {
            seg.iter().filter(|&&c| c & 0xC0 != 0x80).count()
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn col(&self) -> u32 {
        self.col_at(self.i)
    }

    fn pos_at(&self, i: usize) -> Pos {
        Pos {
            line: self.line + 1,
            col: self.col_at(i) + 1,
        }
    }

    fn pos(&self) -> Pos {
        self.pos_at(self.i)
    }

    /// Steps over the line break at `i`.
    fn newline(&mut self) {
        self.i += 1;
        self.line += 1;
        self.ls = self.i;
    }

    fn emit(&mut self, ev: Event<'a>, start: Pos, end: Pos) -> Option<()> {
        self.out.event(ev, Span { start, end }).ok()
    }

    fn scalar(&mut self, value: Cow<'a, str>, typed: bool, start: Pos, end: Pos) -> Option<()> {
        self.emit(
            Event::Scalar {
                value,
                typed,
                anchor: None,
            },
            start,
            end,
        )
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_FAST_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips spaces on the line; whether there were any.
    fn skip_spaces(&mut self) -> bool {
        let s = self.i;
        while self.peek() == b' ' {
            self.i += 1;
        }
        self.i > s
    }

    /// Skips spaces, comments and line breaks to the next token. Declines
    /// a `#` right after a token (libyaml reads it as a comment; PyYAML's
    /// users rarely mean one).
    fn skip_to_token(&mut self) -> Option<()> {
        loop {
            self.skip_spaces();
            if self.peek() == b'#' {
                let prev = self.i.checked_sub(1).and_then(|k| self.b.get(k).copied());
                if !matches!(prev, None | Some(b' ' | b'\n')) {
                    return None;
                }
                let rest = self.b.get(self.i..).unwrap_or_default();
                self.i = memchr(b'\n', rest).map_or(self.b.len(), |k| self.i + k);
            }
            if self.peek() != b'\n' {
                return Some(());
            }
            self.newline();
        }
    }

    /// Whether a block sequence entry (`-` then a blank) is at `i`.
    fn is_entry(&self) -> bool {
        self.peek() == b'-' && blankz(self.at(1))
    }

    /// If a simple key of the subset starts at `i` (a single-line quoted
    /// scalar or a plain scalar followed by `:` and a blank on the same
    /// line), the offset of its `:`.
    fn key_colon(&self) -> Option<usize> {
        // Asked twice per key (does a key start here? then: read it).
        let (at, colon) = self.key_memo.get();
        if at == self.i {
            return colon;
        }
        let colon = self.scan_key_colon();
        self.key_memo.set((self.i, colon));
        colon
    }

    fn scan_key_colon(&self) -> Option<usize> {
        let g = |k: usize| self.b.get(k).copied().unwrap_or(0);
        let mut j = self.i;
        match g(j) {
            q @ (b'"' | b'\'') => {
                j += 1;
                loop {
                    match g(j) {
                        0 | b'\n' => return None,
                        b'\\' if q == b'"' => {
                            if matches!(g(j + 1), 0 | b'\n') {
                                return None;
                            }
                            j += 2;
                        }
                        b'\'' if q == b'\'' && g(j + 1) == b'\'' => j += 2,
                        c if c == q => break,
                        _ => j += 1,
                    }
                }
                j += 1;
                while g(j) == b' ' {
                    j += 1;
                }
            }
            c if plain_start(c, g(j + 1)) => loop {
                match g(j) {
                    0 | b'\n' => return None,
                    b':' if blankz(g(j + 1)) => break,
                    b' ' if g(j + 1) == b'#' => return None,
                    _ => j += 1,
                }
            },
            _ => return None,
        }
        (g(j) == b':' && blankz(g(j + 1)) && j - self.i <= MAX_KEY_BYTES).then_some(j)
    }

    fn document(&mut self) -> Option<()> {
        self.skip_to_token()?;
        if self.eof() {
            return Some(());
        }
        if self.col() != 0 {
            return None;
        }
        let p = self.pos();
        self.emit(Event::DocumentStart, p, p)?;
        if self.is_entry() {
            self.block_seq(false)?;
        } else if self.key_colon().is_some() {
            self.block_map()?;
        } else {
            return None;
        }
        self.eof().then_some(())
    }

    /// A block mapping whose first key is at `i`.
    fn block_map(&mut self) -> Option<()> {
        self.enter()?;
        let col = self.col();
        let start = self.pos();
        self.emit(Event::MappingStart { anchor: None }, start, start)?;
        loop {
            let colon_end = self.key()?;
            self.block_value(col, colon_end, false)?;
            if self.eof() {
                break;
            }
            let c = self.col();
            if c < col {
                break;
            }
            if c > col || self.is_entry() || self.key_colon().is_none() {
                return None;
            }
        }
        let end = self.pos();
        self.emit(Event::End, end, end)?;
        self.leave();
        Some(())
    }

    /// The key at `i` and its `:`; returns the mark after the `:`.
    fn key(&mut self) -> Option<Pos> {
        let colon = self.key_colon()?;
        let start = self.pos();
        if matches!(self.peek(), b'"' | b'\'') {
            let line = self.line;
            let (value, end) = self.quoted()?;
            self.skip_spaces();
            if self.line != line || self.i != colon {
                return None;
            }
            self.scalar(value, false, start, end)?;
        } else {
            let mut e = colon;
            while e > self.i && self.b.get(e - 1) == Some(&b' ') {
                e -= 1;
            }
            let value = self.t.get(self.i..e)?;
            let end = self.pos_at(e);
            self.scalar(Cow::Borrowed(value), true, start, end)?;
        }
        self.i = colon + 1;
        Some(self.pos())
    }

    /// A block sequence (or an indentless one, the value of a mapping key
    /// at the key's column) whose first `-` is at `i`.
    fn block_seq(&mut self, indentless: bool) -> Option<()> {
        self.enter()?;
        let col = self.col();
        let start = self.pos();
        self.emit(Event::SequenceStart { anchor: None }, start, start)?;
        loop {
            self.i += 1;
            let dash_end = self.pos();
            self.block_value(col, dash_end, true)?;
            if self.eof() {
                break;
            }
            let c = self.col();
            if c == col && self.is_entry() {
                continue;
            }
            if c < col || (indentless && c == col) {
                break;
            }
            return None;
        }
        let end = self.pos();
        self.emit(Event::End, end, end)?;
        self.leave();
        Some(())
    }

    /// The value after a key's `:` or an entry's `-` (`mark`, the mark after
    /// it) in a block collection whose indentation is `p`; leaves `i` at the
    /// next token.
    fn block_value(&mut self, p: u32, mark: Pos, item: bool) -> Option<()> {
        self.skip_spaces();
        match self.peek() {
            b'\n' | b'#' | 0 => {
                self.skip_to_token()?;
                if !self.eof() {
                    let c = self.col();
                    if c > p {
                        return self.block_node(p);
                    }
                    if c == p && !item && self.is_entry() {
                        return self.block_seq(true);
                    }
                }
                self.scalar(Cow::Borrowed(""), true, mark, mark)
            }
            b'|' | b'>' => {
                self.block_scalar(p)?;
                self.skip_to_token()
            }
            _ if item && self.key_colon().is_some() => self.block_map(),
            _ => self.inline_value(p),
        }
    }

    /// A node that starts a line, indented more than `p`.
    fn block_node(&mut self, p: u32) -> Option<()> {
        if self.is_entry() {
            return self.block_seq(false);
        }
        if self.key_colon().is_some() {
            return self.block_map();
        }
        match self.peek() {
            b'|' | b'>' => None,
            _ => self.inline_value(p),
        }
    }

    /// A scalar or flow collection in a block collection indented `p`; it
    /// must end its line.
    fn inline_value(&mut self, p: u32) -> Option<()> {
        match self.peek() {
            b'"' | b'\'' => {
                let start = self.pos();
                let (v, end) = self.quoted()?;
                self.scalar(v, false, start, end)?;
                self.end_of_line()
            }
            b'{' | b'[' => {
                self.flow()?;
                self.end_of_line()
            }
            c if plain_start(c, self.at(1)) => self.plain(p),
            _ => None,
        }
    }

    /// After a value: only spaces and a comment may follow on its line.
    fn end_of_line(&mut self) -> Option<()> {
        let spaced = self.skip_spaces();
        match self.peek() {
            b'\n' | 0 => {}
            b'#' if spaced => {}
            _ => return None,
        }
        self.skip_to_token()
    }

    /// A plain scalar in block context (libyaml's `scan_plain_scalar`):
    /// continuation lines must be indented more than `p`; lines fold with a
    /// space, blank lines become line breaks.
    fn plain(&mut self, p: u32) -> Option<()> {
        let indent = p + 1;
        let start = self.pos();
        let mut end = start;
        let mut out = String::new();
        let mut multi = false;
        let (mut seg_s, mut seg_e) = (self.i, self.i);
        let mut breaks = 0usize;
        loop {
            if self.peek() == b'#' {
                break;
            }
            let run = self.i;
            loop {
                match self.peek() {
                    b' ' | b'\n' | 0 => break,
                    b':' if blankz(self.at(1)) => return None,
                    _ => {
                        let rest = self.b.get(self.i + 1..).unwrap_or_default();
                        self.i = memchr3(b' ', b'\n', b':', rest).map_or(self.b.len(), |k| self.i + 1 + k);
                    }
                }
            }
            if self.i > run {
                if breaks > 0 {
                    out.push_str(self.t.get(seg_s..seg_e)?);
                    multi = true;
                    if breaks == 1 {
                        out.push(' ');
                    } else {
                        out.extend(std::iter::repeat_n('\n', breaks - 1));
                    }
                    breaks = 0;
                    seg_s = run;
                }
                seg_e = self.i;
                end = self.pos();
            }
            if !matches!(self.peek(), b' ' | b'\n') {
                break;
            }
            while matches!(self.peek(), b' ' | b'\n') {
                if self.peek() == b'\n' {
                    breaks += 1;
                    self.newline();
                } else {
                    self.i += 1;
                }
            }
            if self.col() < indent {
                break;
            }
        }
        let last = self.t.get(seg_s..seg_e)?;
        let value = if multi {
            out.push_str(last);
            Cow::Owned(out)
        } else {
            Cow::Borrowed(last)
        };
        self.scalar(value, true, start, end)?;
        self.skip_to_token()
    }

    /// A single- or double-quoted scalar at `i` (libyaml's
    /// `scan_flow_scalar`); returns its value and the mark after the closing
    /// quote, and leaves `i` there.
    fn quoted(&mut self) -> Option<(Cow<'a, str>, Pos)> {
        let q = self.peek();
        let single = q == b'\'';
        self.i += 1;
        let rest = self.b.get(self.i..).unwrap_or_default();
        let stop = if single {
            memchr2(b'\'', b'\n', rest)
        } else {
            memchr3(b'"', b'\\', b'\n', rest)
        };
        if let Some(k) = stop {
            let j = self.i + k;
            if self.b.get(j) == Some(&q) && !(single && self.b.get(j + 1) == Some(&b'\'')) {
                let v = self.t.get(self.i..j)?;
                self.i = j + 1;
                return Some((Cow::Borrowed(v), self.pos()));
            }
        }
        let mut out = String::new();
        loop {
            if self.eof() {
                return None;
            }
            let mut leading_blanks = false;
            loop {
                match self.peek() {
                    b' ' | b'\n' | 0 => break,
                    b'\'' if single && self.at(1) == b'\'' => {
                        out.push('\'');
                        self.i += 2;
                    }
                    c if c == q => break,
                    b'\\' if !single && self.at(1) == b'\n' => {
                        self.i += 1;
                        self.newline();
                        leading_blanks = true;
                        break;
                    }
                    b'\\' if !single => self.escape(&mut out)?,
                    _ => {
                        let s = self.i;
                        while (single || self.peek() != b'\\')
                            && self.peek() != q
                            && !matches!(self.peek(), b' ' | b'\n' | 0)
                        {
                            self.i += 1;
                        }
                        out.push_str(self.t.get(s..self.i)?);
                    }
                }
            }
            if self.peek() == q {
                break;
            }
            let (mut spaces, mut leading_break, mut trailing) = (0usize, false, 0usize);
            while matches!(self.peek(), b' ' | b'\n') {
                if self.peek() == b' ' {
                    if !leading_blanks {
                        spaces += 1;
                    }
                    self.i += 1;
                } else {
                    if leading_blanks {
                        trailing += 1;
                    } else {
                        spaces = 0;
                        leading_break = true;
                        leading_blanks = true;
                    }
                    self.newline();
                }
            }
            if leading_blanks {
                if leading_break && trailing == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', trailing));
                }
            } else {
                out.extend(std::iter::repeat_n(' ', spaces));
            }
        }
        self.i += 1;
        Some((Cow::Owned(out), self.pos()))
    }

    /// The escape sequence at `i` (a `\` not before a line break).
    fn escape(&mut self, out: &mut String) -> Option<()> {
        let simple = match self.at(1) {
            b'0' => Some('\0'),
            b'a' => Some('\x07'),
            b'b' => Some('\x08'),
            b't' => Some('\t'),
            b'n' => Some('\n'),
            b'v' => Some('\x0B'),
            b'f' => Some('\x0C'),
            b'r' => Some('\r'),
            b'e' => Some('\x1B'),
            b' ' => Some(' '),
            b'"' => Some('"'),
            b'/' => Some('/'),
            b'\\' => Some('\\'),
            b'N' => Some('\u{85}'),
            b'_' => Some('\u{A0}'),
            b'L' => Some('\u{2028}'),
            b'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            self.i += 2;
            return Some(());
        }
        let n = match self.at(1) {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return None,
        };
        let hex = self.b.get(self.i + 2..self.i + 2 + n)?;
        let mut v = 0u32;
        for &h in hex {
            v = v * 16 + char::from(h).to_digit(16)?;
        }
        out.push(char::from_u32(v)?);
        self.i += 2 + n;
        Some(())
    }

    /// A literal or folded block scalar at `i` in a block collection indented
    /// `p` (libyaml's `scan_block_scalar`).
    fn block_scalar(&mut self, p: u32) -> Option<()> {
        let start = self.pos();
        let literal = self.peek() == b'|';
        self.i += 1;
        let chomping: i8 = match self.peek() {
            b'+' => 1,
            b'-' => -1,
            _ => 0,
        };
        if chomping != 0 {
            self.i += 1;
        }
        if self.peek().is_ascii_digit() {
            return None;
        }
        let spaced = self.skip_spaces();
        if self.peek() == b'#' {
            if !spaced {
                return None;
            }
            let rest = self.b.get(self.i..).unwrap_or_default();
            self.i = memchr(b'\n', rest).map_or(self.b.len(), |k| self.i + k);
        }
        if self.peek() != b'\n' {
            return None;
        }
        self.newline();
        let mut end = self.pos();
        let mut indent = 0u32;
        let mut out = String::new();
        let mut trailing = 0usize;
        let mut leading_break = false;
        let mut leading_blank = false;
        self.block_breaks(&mut indent, &mut trailing, &mut end, p);
        while self.col() == indent && !self.eof() {
            let trailing_blank = self.peek() == b' ';
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing == 0 {
                    out.push(' ');
                }
            } else if leading_break {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\n', trailing));
            trailing = 0;
            leading_blank = self.peek() == b' ';
            let rest = self.b.get(self.i..).unwrap_or_default();
            let nl = self.i + memchr(b'\n', rest)?;
            out.push_str(self.t.get(self.i..nl)?);
            self.i = nl;
            self.newline();
            leading_break = true;
            self.block_breaks(&mut indent, &mut trailing, &mut end, p);
        }
        if chomping != -1 && leading_break {
            out.push('\n');
        }
        if chomping == 1 {
            out.extend(std::iter::repeat_n('\n', trailing));
        }
        self.scalar(Cow::Owned(out), false, start, end)
    }

    /// libyaml's `scan_block_scalar_breaks`: eats indentation and empty
    /// lines, counting their breaks; sets the indentation when not yet
    /// known and moves `end` to the start of the line it stops on.
    fn block_breaks(&mut self, indent: &mut u32, trailing: &mut usize, end: &mut Pos, p: u32) {
        let mut max = 0u32;
        *end = self.pos();
        loop {
            while (*indent == 0 || self.col() < *indent) && self.peek() == b' ' {
                self.i += 1;
            }
            max = max.max(self.col());
            if self.peek() != b'\n' {
                break;
            }
            *trailing += 1;
            self.newline();
            *end = self.pos();
        }
        if *indent == 0 {
            *indent = max.max(p + 1);
        }
    }

    /// A flow mapping or sequence at `i`.
    fn flow(&mut self) -> Option<()> {
        self.enter()?;
        let map = self.peek() == b'{';
        let close = if map { b'}' } else { b']' };
        let start = self.pos();
        let ev = if map {
            Event::MappingStart { anchor: None }
        } else {
            Event::SequenceStart { anchor: None }
        };
        self.emit(ev, start, start)?;
        self.i += 1;
        let mut first = true;
        loop {
            self.skip_to_token()?;
            if self.peek() == close {
                break;
            }
            if !first {
                if self.peek() != b',' {
                    return None;
                }
                self.i += 1;
                self.skip_to_token()?;
                if self.peek() == close {
                    break;
                }
            }
            first = false;
            if map {
                let (line, key_at) = (self.line, self.i);
                self.flow_scalar()?;
                self.skip_spaces();
                if self.line != line || self.peek() != b':' || self.i - key_at > MAX_KEY_BYTES {
                    return None;
                }
                self.i += 1;
                self.skip_to_token()?;
                if matches!(self.peek(), b',' | b'}') {
                    return None;
                }
            }
            match self.peek() {
                b'{' | b'[' => self.flow()?,
                _ => self.flow_scalar()?,
            }
        }
        self.i += 1;
        let end = self.pos();
        self.emit(Event::End, end, end)?;
        self.leave();
        Some(())
    }

    /// A quoted or plain scalar in a flow collection.
    fn flow_scalar(&mut self) -> Option<()> {
        let start = self.pos();
        match self.peek() {
            b'"' | b'\'' => {
                let (v, end) = self.quoted()?;
                self.scalar(v, false, start, end)
            }
            c if flow_plain_start(c, self.at(1)) => self.flow_plain(),
            _ => None,
        }
    }

    /// A single-line plain scalar of the subset in a flow collection.
    fn flow_plain(&mut self) -> Option<()> {
        let (start, s) = (self.pos(), self.i);
        let mut e;
        loop {
            while flow_plain_byte(self.peek()) {
                self.i += 1;
            }
            e = self.i;
            if self.skip_spaces() && flow_plain_byte(self.peek()) {
                continue;
            }
            break;
        }
        match self.peek() {
            // `a:b`, and `a :b` too, continue the scalar in libyaml; only
            // `:` and a blank ends it.
            b':' if !blankz(self.at(1)) => return None,
            b',' | b']' | b'}' | b':' => {}
            b'#' if self.i > e => {}
            b'\n' => {
                // A plain scalar goes on over line breaks in a flow collection.
                let mut j = self.i;
                while matches!(self.b.get(j), Some(b' ' | b'\n')) {
                    j += 1;
                }
                if flow_plain_byte(self.b.get(j).copied().unwrap_or(0)) {
                    return None;
                }
            }
            _ => return None,
        }
        let end = self.pos_at(e);
        let v = self.t.get(s..e)?;
        self.scalar(Cow::Borrowed(v), true, start, end)
    }
}
