//! The parts of an event that a set of programs reads, and a parser that
//! builds only those parts.
//!
//! A [`Schema`] is a tree of the member names and array positions that the
//! compiled paths of some programs step through. [`Schema::parse`] reads
//! JSON text with serde_json's own deserializer but keeps only what the
//! tree names: everything else is checked exactly as strictly as a full
//! parse into [`Value`] (same syntax, UTF-8 and nesting checks, hence the
//! same errors at the same positions) and then dropped without being
//! built. Evaluating a program the schema was built from gives the same
//! result on the pruned event as on the full one (see `docs/design/`).
//!
//! Member names are kept when they equal a name of the tree or fold to it
//! (match-expressions §2.4), in input order, so the case-insensitive
//! fallback of a lookup finds the same member. Where a path ends (and for
//! anything whose shape the engine inspects as a whole: list
//! comprehensions, multi-key operands, enrichment rows), the whole value
//! is built as a plain [`Value`].

use std::collections::HashMap;
use std::fmt;

use foldhash::fast::FixedState;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Program;
use super::compile::Node;
use super::key_path::{Path, Seg, eq_folded};

/// The needed parts of an event.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    root: Field,
}

/// One position in the tree.
#[derive(Debug, Clone, Default)]
struct Field {
    /// Keep the whole value.
    whole: bool,
    /// Members to keep: (exact names, folded name, what to keep below).
    members: Vec<Member>,
    /// Folded name → position in `members` (a fast hash: the table is
    /// small and fixed once built, so colliding names cannot grow it).
    by_lower: HashMap<Box<str>, usize, FixedState>,
    /// Byte length → positions in `members` of the folded names of that
    /// length (up to [`SHORT`] bytes): an ASCII key is compared with these
    /// only, byte for byte, with neither a copy nor a hash.
    by_len: Vec<Vec<usize>>,
    /// What to keep of every array element.
    elements: Option<Box<Field>>,
}

#[derive(Debug, Clone)]
struct Member {
    names: Vec<Box<str>>,
    lower: Box<str>,
    field: Field,
}

/// A record parsed against a schema.
#[derive(Debug)]
pub enum Parsed {
    /// A JSON object, with only the needed parts built.
    Object(Value),
    /// Valid JSON that is not an object: what it is (`an array`, `a
    /// string`, `a number`, `a boolean`, `null`).
    Other(&'static str),
}

impl Schema {
    /// An empty schema: only the top-level object is built.
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Adds a top-level member kept whole, looked up by exact name
    /// (`p_log_type`, `p_event_time`).
    pub fn add_member(&mut self, name: &str) {
        self.root.member(name, &name.to_lowercase()).whole = true;
    }

    /// Adds a path, its value kept whole.
    pub fn add_path(&mut self, path: &Path) {
        self.root.path(&path.segs).whole = true;
    }

    /// Adds what deciding whether `program` matches reads (its inline
    /// filters and its detection).
    pub fn add_match(&mut self, program: &Program) {
        if let Some(f) = &program.filters {
            self.add_nodes(f);
        }
        self.add_nodes(&program.detection);
    }

    /// Adds what the alert fields of `program` read (dynamic severities,
    /// title, alert context, group-by).
    pub fn add_alert(&mut self, program: &Program) {
        for (_, conds) in &program.dynamic {
            self.add_nodes(conds);
        }
        for p in program.title.iter().flatten() {
            if let super::alert::TitlePart::Field(path) = p {
                self.add_path(path);
            }
        }
        for (_, path) in &program.context {
            self.add_path(path);
        }
        for path in &program.group_by {
            self.add_path(path);
        }
    }

    /// Adds what evaluating `nodes` reads.
    pub fn add_nodes(&mut self, nodes: &[Node]) {
        for n in nodes {
            add_node(&mut self.root, n);
        }
    }

    /// Parses one record, building only the parts the schema names.
    ///
    /// # Errors
    /// The error serde_json gives when parsing the text into a [`Value`].
    pub fn parse(&self, bytes: &[u8]) -> Result<Parsed, serde_json::Error> {
        // Checking the UTF-8 of the whole record at once is cheaper than
        // checking it string by string; a record that is not UTF-8 is read
        // as bytes, to fail with the error of a full parse.
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let parsed = de.deserialize_any(TopVisitor(&self.root))?;
                de.end()?;
                Ok(parsed)
            }
            Err(_) => {
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let parsed = de.deserialize_any(TopVisitor(&self.root))?;
                de.end()?;
                Ok(parsed)
            }
        }
    }
}

/// Adds the paths of a node, relative to `at`.
fn add_node(at: &mut Field, node: &Node) {
    match node {
        Node::All(items) | Node::Any(items) | Node::OnlyOne(items) | Node::None(items) => {
            for n in items.iter() {
                add_node(at, n);
            }
        }
        Node::Leaf(leaf) => at.path(&leaf.path.segs).whole = true,
        Node::Multi { left, right, .. } => {
            at.path(&left.segs).whole = true;
            at.path(&right.segs).whole = true;
        }
        // The elements the body sees depend on the shape of the array (and
        // on wildcards flattening): keep it whole.
        Node::Each { path, .. } => at.path(&path.segs).whole = true,
        Node::Const(_) => {}
    }
}

impl Field {
    fn member(&mut self, name: &str, lower: &str) -> &mut Field {
        let i = match self.by_lower.get(lower) {
            Some(i) => *i,
            None => {
                self.by_lower.insert(lower.into(), self.members.len());
                if lower.len() <= SHORT {
                    if self.by_len.len() <= lower.len() {
                        self.by_len.resize_with(lower.len() + 1, Vec::new);
                    }
                    self.by_len[lower.len()].push(self.members.len());
                }
                self.members.push(Member {
                    names: Vec::new(),
                    lower: lower.into(),
                    field: Field::default(),
                });
                self.members.len() - 1
            }
        };
        let m = &mut self.members[i];
        if !m.names.iter().any(|n| &**n == name) {
            m.names.push(name.into());
        }
        &mut m.field
    }

    /// The field a path leads to, created as needed. Enrichment rows keep
    /// the value where they start whole (an object is used as is, an array
    /// is mapped).
    fn path(&mut self, segs: &[Seg]) -> &mut Field {
        let Some((first, rest)) = segs.split_first() else {
            return self;
        };
        match first {
            Seg::Member { name, lower } => self.member(name, lower).path(rest),
            Seg::Index(_) | Seg::Wildcard => self.elements.get_or_insert_with(Box::default).path(rest),
            Seg::Rows => self,
        }
    }

    /// The member a key is kept for: `None` to drop it, `Some(None)` to
    /// keep it whole (two members claim it), `Some(Some(field))`.
    fn classify(&self, key: &str) -> Option<Option<&Field>> {
        // An ASCII name folds to its ASCII lowercase and nothing else does
        // (a folded name is unique per member, and one that is ASCII is
        // lowercase, so ignoring ASCII case against it is folding the key;
        // a non-ASCII byte of a folded name equals no byte of the key).
        if key.len() <= SHORT && key.is_ascii() {
            let same = self.by_len.get(key.len()).map_or(&[][..], Vec::as_slice);
            return same
                .iter()
                .filter_map(|i| self.members.get(*i))
                .find(|m| key.eq_ignore_ascii_case(&m.lower))
                .map(|m| Some(&m.field));
        }
        let mut found: Option<&Field> = None;
        for m in &self.members {
            if eq_folded(key, &m.lower) || m.names.iter().any(|n| **n == *key) {
                if found.is_some() {
                    return Some(None);
                }
                found = Some(&m.field);
            }
        }
        found.map(Some)
    }
}

/// Keys up to this many bytes are matched through [`Field::by_len`].
const SHORT: usize = 64;

/// Builds what a field keeps of a value.
struct Pruned<'s>(&'s Field);

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.whole {
            return Value::deserialize(d);
        }
        d.deserialize_any(PrunedVisitor(self.0))
    }
}

/// Below a field that is not kept whole, scalars are `null`: only paths
/// that go further pass through, and they find nothing in a scalar either
/// way.
struct PrunedVisitor<'s>(&'s Field);

macro_rules! scalars_are {
    ($out:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}

impl<'de> Visitor<'de> for PrunedVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_are!(Value::Null);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        match &self.0.elements {
            Some(el) => {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element_seed(Pruned(el))? {
                    out.push(v);
                }
                Ok(Value::Array(out))
            }
            None => {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Value::Null)
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        if self.0.members.is_empty() {
            let mut map = map;
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            return Ok(Value::Null);
        }
        Ok(Value::Object(members(self.0, map)?))
    }
}

/// The kept members of an object, in input order; a repeated name keeps
/// its first position and its last value, as a full parse does.
fn members<'de, A: MapAccess<'de>>(field: &Field, mut map: A) -> Result<Map<String, Value>, A::Error> {
    let mut out = Map::with_capacity(field.members.len());
    while let Some(key) = map.next_key_seed(KeySeed(field))? {
        match key {
            Key::Drop => {
                map.next_value::<Skip>()?;
            }
            Key::Whole(k) => {
                let v: Value = map.next_value()?;
                out.insert(k, v);
            }
            Key::Keep(k, f) => {
                let v = map.next_value_seed(Pruned(f))?;
                out.insert(k, v);
            }
        }
    }
    Ok(out)
}

/// The top level: an object, or what else it is.
struct TopVisitor<'s>(&'s Field);

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Parsed, E> {
        Ok(Parsed::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Parsed, E> {
        Ok(Parsed::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Parsed, E> {
        Ok(Parsed::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Parsed, E> {
        Ok(Parsed::Other("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Parsed, E> {
        Ok(Parsed::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Parsed::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Parsed, A::Error> {
        Ok(Parsed::Object(Value::Object(members(self.0, map)?)))
    }
}

/// What to do with a member.
enum Key<'s> {
    Drop,
    Whole(String),
    Keep(String, &'s Field),
}

struct KeySeed<'s>(&'s Field);

impl<'de, 's> DeserializeSeed<'de> for KeySeed<'s> {
    type Value = Key<'s>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'s>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'s> Visitor<'_> for KeySeed<'s> {
    type Value = Key<'s>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'s>, E> {
        Ok(match self.0.classify(key) {
            None => Key::Drop,
            Some(None) => Key::Whole(key.to_owned()),
            Some(Some(f)) if f.whole => Key::Whole(key.to_owned()),
            Some(Some(f)) => Key::Keep(key.to_owned(), f),
        })
    }
}

/// A value checked as strictly as a full parse checks it, then dropped.
/// (serde's `IgnoredAny` skips strings without checking their UTF-8 and
/// nests without a depth limit, so a record it accepts may be one a full
/// parse rejects.)
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_are!(Skip);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seg(n: &str) -> Seg {
        Seg::member(n)
    }

    fn path(segs: Vec<Seg>) -> Path {
        Path {
            segs: segs.into(),
            text: "".into(),
        }
    }

    fn pruned(schema: &Schema, text: &str) -> Value {
        match schema.parse(text.as_bytes()) {
            Ok(Parsed::Object(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keeps_only_named_members_in_input_order_with_folded_spellings() {
        let mut s = Schema::new();
        s.add_path(&path(vec![seg("a"), seg("b")]));
        s.add_member("p_log_type");
        let v = pruned(
            &s,
            r#"{"x": {"big": [1, 2, {"deep": "x"}]}, "A": {"B": 1, "c": 2}, "p_log_type": "T", "a": {"b": [1, {"z": 2}], "d": 3}}"#,
        );
        assert_eq!(v, json!({"A": {"B": 1}, "p_log_type": "T", "a": {"b": [1, {"z": 2}]}}));
        let keys: Vec<&String> = v.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["A", "p_log_type", "a"]);
    }

    #[test]
    fn keys_are_kept_by_their_fold_whatever_their_first_byte() {
        let mut s = Schema::new();
        s.add_path(&path(vec![seg("kx")]));
        s.add_path(&path(vec![seg("\u{130}y")]));
        // U+212A KELVIN SIGN folds to `k`; U+0130 folds to `i` and a
        // combining dot, so `i\u{307}y` folds to its fold.
        let v = pruned(
            &s,
            "{\"\u{212A}x\": 1, \"Kx\": 2, \"lx\": 3, \"kX\": 4, \"ky\": 5, \"i\u{307}y\": 6, \"iy\": 7, \"\": 8}",
        );
        assert_eq!(v, json!({"\u{212A}x": 1, "Kx": 2, "kX": 4, "i\u{307}y": 6}));
    }

    #[test]
    fn arrays_keep_every_position_and_prune_elements() {
        let mut s = Schema::new();
        s.add_path(&path(vec![seg("r"), Seg::Index(-1), seg("n")]));
        let v = pruned(&s, r#"{"r": [{"n": 1, "m": 2}, "s", {"m": 3}, {"n": [4]}]}"#);
        assert_eq!(v, json!({"r": [{"n": 1}, null, {}, {"n": [4]}]}));
    }

    #[test]
    fn errors_and_kinds_are_those_of_a_full_parse() {
        let s = Schema::new();
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            "{\"a\": 1",
            "{\"a\": \"\\ud800\"}",
            "{\"a\": 1} x",
            "{\"a\": tru}",
            "{\"a\": 1e999}",
            deep.as_str(),
        ] {
            let full = serde_json::from_str::<Value>(text)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let ours = s.parse(text.as_bytes()).map(|_| ()).map_err(|e| e.to_string());
            assert!(full.is_err(), "{text}");
            assert_eq!(ours, full, "{text}");
        }
        let bad_utf8 = b"{\"x\": \"\xff\"}";
        let full = serde_json::from_slice::<Value>(bad_utf8)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(full.is_err());
        assert_eq!(s.parse(bad_utf8).map(|_| ()).map_err(|e| e.to_string()), full);
        assert!(matches!(s.parse(b"[1, {\"a\": 2}]"), Ok(Parsed::Other("an array"))));
        assert!(matches!(s.parse(b" null "), Ok(Parsed::Other("null"))));
        assert!(matches!(s.parse(b"\"x\""), Ok(Parsed::Other("a string"))));
    }

    #[test]
    fn repeated_members_keep_the_first_position_and_the_last_value() {
        let mut s = Schema::new();
        s.add_member("a");
        s.add_member("b");
        let v = pruned(&s, r#"{"a": 1, "b": 2, "a": 3}"#);
        let full: Value = serde_json::from_str(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap_or_default();
        assert_eq!(v.to_string(), full.to_string());
    }
}
