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

mod build;
mod compare;
mod event;
mod fast;
mod libyaml;
#[cfg(test)]
mod tests_equiv;

pub use compare::first_difference;

use crate::source::Span;

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

impl Node {
    /// The compact JSON text of [`Node::to_json`], written straight from the
    /// tree: the same bytes as `serde_json::to_string(&node.to_json()?)`
    /// without building the value (an order-keeping map per mapping). The
    /// builder already merges keys of the same text (`1` and `'1'`); a tree
    /// made otherwise whose keys collide takes the value path, where the
    /// later value replaces the earlier in place.
    ///
    /// # Errors
    /// As [`Node::to_json`].
    pub fn to_json_text(&self) -> Result<String, (Span, String)> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out)?;
        // Only serde_json and ASCII punctuation wrote to it.
        String::from_utf8(out).map_err(|e| (self.span, e.to_string()))
    }

    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), (Span, String)> {
        let io = |span: Span| move |e: serde_json::Error| (span, e.to_string());
        match &self.kind {
            NodeKind::Null => out.extend_from_slice(b"null"),
            NodeKind::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            NodeKind::Int(i) => serde_json::to_writer(&mut *out, i).map_err(io(self.span))?,
            NodeKind::Float(f) => {
                if !f.is_finite() {
                    return Err((self.span, format!("`{}` is not a finite number", float_text(*f))));
                }
                serde_json::to_writer(&mut *out, f).map_err(io(self.span))?;
            }
            NodeKind::Str(s) => serde_json::to_writer(&mut *out, s.as_str()).map_err(io(self.span))?,
            NodeKind::Seq(items) => {
                out.push(b'[');
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    item.write_json(out)?;
                }
                out.push(b']');
            }
            NodeKind::Map(entries) => {
                if keys_collide(entries) {
                    let v = self.to_json()?;
                    return serde_json::to_writer(&mut *out, &v).map_err(io(self.span));
                }
                out.push(b'{');
                for (k, (key, value)) in entries.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    match &key.kind {
                        NodeKind::Str(s) => serde_json::to_writer(&mut *out, s.as_str()).map_err(io(key.span))?,
                        _ => {
                            let text = key.key_text().ok_or_else(|| {
                                (
                                    key.span,
                                    "a mapping key that is a list or mapping cannot be a JSON key".to_owned(),
                                )
                            })?;
                            serde_json::to_writer(&mut *out, &text).map_err(io(key.span))?;
                        }
                    }
                    out.push(b':');
                    value.write_json(out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// Whether two keys of a mapping stand for the same JSON key. A mapping of
/// string keys only is answered without a copy: the builder merges equal
/// keys, so they differ.
fn keys_collide(entries: &[(Node, Node)]) -> bool {
    if entries.iter().all(|(k, _)| matches!(k.kind, NodeKind::Str(_))) {
        return false;
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries
        .iter()
        .any(|(k, _)| k.key_text().is_some_and(|t| !seen.insert(t)))
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
    // Most plain scalars are keys and words: one that starts with a letter
    // no null, boolean or number of the dialect starts with is a string.
    if s.as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() && !matches!(c, b't' | b'T' | b'f' | b'F' | b'n' | b'N'))
    {
        return NodeKind::Str(s.into());
    }
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

pub(crate) fn resolve_int(s: &str) -> Option<NodeKind> {
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

/// Parses one YAML document.
///
/// The fast path (`fast.rs`) reads the common subset of YAML that detection
/// files use and declines anything else; what it declines, and every error,
/// goes to libyaml-safer. Both build the same tree (`build.rs`), so which one
/// read a file never shows (`docs/design/017-fast-yaml-path.md`).
///
/// # Errors
/// The first syntax error, a second document, nesting deeper than
/// [`MAX_DEPTH`], or aliases expanding beyond [`MAX_NODES`].
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let text = &*with_final_newline(text);
    if let Some(doc) = fast::parse(text) {
        return Ok(doc);
    }
    libyaml::parse(text)
}

/// The fast path alone: the document, or `None` where it declines. For the
/// equivalence checks (`examples/yaml_equiv.rs`); use [`parse`].
#[doc(hidden)]
pub fn parse_fast(text: &str) -> Option<Document> {
    fast::parse(&with_final_newline(text))
}

/// The libyaml-safer path alone. For the equivalence checks
/// (`examples/yaml_equiv.rs`); use [`parse`].
///
/// # Errors
/// As [`parse`].
#[doc(hidden)]
pub fn parse_libyaml(text: &str) -> Result<Document, YamlError> {
    libyaml::parse(&with_final_newline(text))
}

pub(crate) fn error(sp: Span, message: impl Into<String>) -> YamlError {
    YamlError {
        span: sp,
        message: message.into(),
        help: None,
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
            ("AnalysisType", NodeKind::Str("AnalysisType".into())),
            ("e5", NodeKind::Str("e5".into())),
            ("x1", NodeKind::Str("x1".into())),
            ("nul", NodeKind::Str("nul".into())),
            ("NULL", NodeKind::Null),
            ("FALSE", NodeKind::Bool(false)),
            ("true1", NodeKind::Str("true1".into())),
            ("_1", NodeKind::Str("_1".into())),
            ("+.inf", NodeKind::Float(f64::INFINITY)),
            ("-.5", NodeKind::Float(-0.5)),
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
        // Past the size where the builder keeps an index of its keys; an
        // integer key and the same digits quoted are one key.
        for n in [20, 100] {
            let mut t: String = (0..n).map(|i| format!("k{i}: {i}\n")).collect();
            let last = n - 1;
            t += "7: int\n'7': string\nk3: late\n";
            t += "k";
            t += &last.to_string();
            t += ": again\n";
            let d = parse(&t).unwrap();
            let r = d.root.unwrap();
            assert_eq!(r.as_map().unwrap().len(), n + 1);
            assert_eq!(r.get("k3").unwrap().kind, NodeKind::Str("late".into()));
            assert_eq!(r.get("7").unwrap().kind, NodeKind::Str("string".into()));
            assert_eq!(d.duplicates.len(), 3, "{n}");
        }
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

    /// `to_json_text` is `to_string(to_json())`, byte for byte, on every
    /// value of every YAML file of the corpus and the fixtures, errors
    /// included.
    #[test]
    fn json_text_is_the_text_of_the_json_value() {
        fn check(n: &Node, seen: &mut usize) {
            let want = n.to_json().map(|v| serde_json::to_string(&v).unwrap());
            assert_eq!(n.to_json_text(), want, "{:?}", n.span);
            *seen += 1;
            match &n.kind {
                NodeKind::Seq(items) => items.iter().for_each(|i| check(i, seen)),
                NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| check(v, seen)),
                _ => {}
            }
        }
        let mut seen = 0;
        for (_, text) in super::tests_equiv::files() {
            if let Ok(Document { root: Some(r), .. }) = parse(&text) {
                check(&r, &mut seen);
            }
        }
        let texts = [
            "a: {x: \"\\u0001\\\"é\", 1.5: [1e3, 0.1, -0.0, 18446744073709551616], true: ~, null: [], 7: {}}\n",
            "a: [.nan]\n",
            "a: {[1]: 2}\n",
            "a: {b: .inf, [1]: 2}\n",
        ];
        for t in texts {
            check(&root(t), &mut seen);
        }
        assert!(seen > 10_000, "only {seen} values checked: is ../shared/corpus there?");
        // A tree not made by the builder, with keys that collide as JSON
        // keys: the later value replaces the earlier in place.
        let sp = Span::default();
        let node = |kind| Node { span: sp, kind };
        let map = node(NodeKind::Map(vec![
            (node(NodeKind::Int(1)), node(NodeKind::Str("a".into()))),
            (node(NodeKind::Str("b".into())), node(NodeKind::Null)),
            (node(NodeKind::Str("1".into())), node(NodeKind::Bool(true))),
        ]));
        assert_eq!(map.to_json_text().unwrap(), r#"{"1":true,"b":null}"#);
    }

    #[test]
    fn log_converts_to_ordered_json() {
        let r = root("z: 1\na: {200: ok}\n");
        assert_eq!(r.to_json().unwrap().to_string(), r#"{"z":1,"a":{"200":"ok"}}"#);
        assert!(root("a: .nan").to_json().is_err());
    }
}
