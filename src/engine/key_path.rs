//! Resolving key specifiers against an event (match-expressions §2).
//!
//! Paths are split once at compile time into [`Seg`]s; names keep a
//! lowercased copy for the case-insensitive fallback of §2.4, so a lookup
//! never allocates. Only a `[*]` wildcard builds a new array (§2.3.2).

use serde_json::{Map, Value};

use crate::model::{KeySpec, Step};

/// One compiled step.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// Member lookup: exact name, else first case-insensitive match.
    Member {
        /// The name as written.
        name: Box<str>,
        /// Its Unicode default lowercase form.
        lower: Box<str>,
    },
    /// Array index, negative from the end.
    Index(i64),
    /// `[*]`.
    Wildcard,
    /// Enrichment rows: an object is used as is, an array is mapped like
    /// `[*]` (match-expressions §9 step 4), anything else is absent.
    Rows,
}

impl Seg {
    /// A member step.
    pub fn member(name: &str) -> Seg {
        Seg::Member {
            name: name.into(),
            lower: name.to_lowercase().into(),
        }
    }
}

/// A compiled key specifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The steps.
    pub segs: Box<[Seg]>,
    /// How it was written, for explanations.
    pub text: Box<str>,
}

/// The result of resolving a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    /// Nothing is there.
    Absent,
    /// A value inside the event.
    Ref(&'a Value),
    /// A value built by a wildcard.
    Owned(Value),
}

impl Resolved<'_> {
    /// The value, if present.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Resolved::Absent => None,
            Resolved::Ref(v) => Some(v),
            Resolved::Owned(v) => Some(v),
        }
    }

    /// Whether nothing is there.
    pub fn is_absent(&self) -> bool {
        matches!(self, Resolved::Absent)
    }
}

fn steps_to_segs(steps: &[Step]) -> Vec<Seg> {
    steps
        .iter()
        .map(|s| match s {
            Step::Member(n) => Seg::member(n),
            Step::Index(i) => Seg::Index(*i),
            Step::Wildcard => Seg::Wildcard,
        })
        .collect()
}

impl Path {
    /// Compiles a key specifier.
    pub fn compile(spec: &KeySpec) -> Path {
        match spec {
            KeySpec::Key(k) => Path {
                segs: Box::new([Seg::member(&k.value)]),
                text: format!("Key: {}", k.value).into(),
            },
            KeySpec::DeepKey(d) => {
                let text = d
                    .value
                    .iter()
                    .map(|s| match s {
                        Step::Member(n) => n.to_string(),
                        Step::Index(i) => i.to_string(),
                        Step::Wildcard => "*".to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                Path {
                    segs: steps_to_segs(&d.value).into(),
                    text: format!("DeepKey: [{text}]").into(),
                }
            }
            KeySpec::KeyPath(p) => Path {
                segs: steps_to_segs(&p.steps).into(),
                text: p.text.as_str().into(),
            },
        }
    }

    /// The path of an enrichment expression (match-expressions §9).
    pub fn enrichment(table: &str, selector: &str, field_path: &[Step], field_text: &str) -> Path {
        let mut segs = vec![
            Seg::member("p_enrichment"),
            Seg::member(table),
            Seg::member(selector),
            Seg::Rows,
        ];
        segs.extend(steps_to_segs(field_path));
        Path {
            segs: segs.into(),
            text: format!("Enrichment: {table}.{selector}.{field_text}").into(),
        }
    }

    /// A path from a KeyPath's steps (title placeholders).
    pub fn from_steps(steps: &[Step], text: &str) -> Path {
        Path {
            segs: steps_to_segs(steps).into(),
            text: text.into(),
        }
    }

    /// Resolves the path against a value.
    pub fn resolve<'a>(&self, v: &'a Value) -> Resolved<'a> {
        resolve(&self.segs, v)
    }
}

/// Whether `k` equals `lower` after Unicode default lowercasing, without
/// allocating.
pub fn eq_folded(k: &str, lower: &str) -> bool {
    // An ASCII first character folds to one ASCII character: when it is
    // not the first of `lower`, nothing else needs looking at (most names
    // a lookup passes over are rejected here).
    if let (Some(&a), Some(&b)) = (k.as_bytes().first(), lower.as_bytes().first()) {
        if a.is_ascii() && a.to_ascii_lowercase() != b {
            return false;
        }
    }
    if k.is_ascii() && lower.is_ascii() {
        return k.len() == lower.len() && k.eq_ignore_ascii_case(lower);
    }
    k.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// Member lookup rule (match-expressions §2.4).
pub fn member<'a>(obj: &'a Map<String, Value>, name: &str, lower: &str) -> Option<&'a Value> {
    // Small objects (most events) are scanned rather than hashed: comparing
    // lengths and bytes is cheaper than hashing the name.
    if obj.len() <= 32 {
        if let Some((_, v)) = obj.iter().find(|(k, _)| k.as_str() == name) {
            return Some(v);
        }
        return obj.iter().find(|(k, _)| eq_folded(k, lower)).map(|(_, v)| v);
    }
    if let Some(v) = obj.get(name) {
        return Some(v);
    }
    obj.iter().find(|(k, _)| eq_folded(k, lower)).map(|(_, v)| v)
}

fn index(a: &[Value], i: i64) -> Option<&Value> {
    let len = a.len() as i64;
    let i = if i < 0 { len + i } else { i };
    if (0..len).contains(&i) { a.get(i as usize) } else { None }
}

fn has_wildcard(segs: &[Seg]) -> bool {
    segs.iter().any(|s| matches!(s, Seg::Wildcard | Seg::Rows))
}

fn map_elements<'a>(items: &'a [Value], rest: &[Seg]) -> Resolved<'a> {
    let flatten = has_wildcard(rest);
    let mut out = Vec::new();
    for e in items {
        match resolve(rest, e) {
            Resolved::Absent => {}
            Resolved::Ref(Value::Null) => {}
            Resolved::Owned(Value::Null) => {}
            Resolved::Owned(Value::Array(inner)) if flatten => out.extend(inner),
            Resolved::Ref(v) => out.push(v.clone()),
            Resolved::Owned(v) => out.push(v),
        }
    }
    Resolved::Owned(Value::Array(out))
}

fn resolve<'a>(segs: &[Seg], v: &'a Value) -> Resolved<'a> {
    let mut cur = v;
    for (i, s) in segs.iter().enumerate() {
        let next = match (s, cur) {
            (Seg::Member { name, lower }, Value::Object(m)) => member(m, name, lower),
            (Seg::Index(n), Value::Array(a)) => index(a, *n),
            (Seg::Wildcard | Seg::Rows, Value::Array(a)) => return map_elements(a, &segs[i + 1..]),
            (Seg::Rows, Value::Object(_)) => Some(cur),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Resolved::Absent,
        }
    }
    Resolved::Ref(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(segs: Vec<Seg>) -> Path {
        Path {
            segs: segs.into(),
            text: "".into(),
        }
    }

    #[test]
    fn member_lookup_prefers_exact_then_first_folded() {
        let v = json!({"Status": "ok", "status": "bad"});
        assert_eq!(p(vec![Seg::member("status")]).resolve(&v), Resolved::Ref(&json!("bad")));
        let v = json!({"Status": "ok", "STATUS": "x"});
        assert_eq!(p(vec![Seg::member("status")]).resolve(&v), Resolved::Ref(&json!("ok")));
    }

    #[test]
    fn wildcards_drop_nulls_and_flatten() {
        let v = json!({"groups": [{"m": [{"n": "al"}, {"n": null}]}, {"m": [{"n": "bob"}]}, {}]});
        let path = p(vec![
            Seg::member("groups"),
            Seg::Wildcard,
            Seg::member("m"),
            Seg::Wildcard,
            Seg::member("n"),
        ]);
        assert_eq!(path.resolve(&v), Resolved::Owned(json!(["al", "bob"])));
        let v = json!({"a": {"b": 1}});
        assert!(p(vec![Seg::member("a"), Seg::Wildcard]).resolve(&v).is_absent());
    }

    #[test]
    fn negative_indexes_count_from_the_end() {
        let v = json!({"a": [1, 2, 3]});
        assert_eq!(
            p(vec![Seg::member("a"), Seg::Index(-1)]).resolve(&v),
            Resolved::Ref(&json!(3))
        );
        assert!(p(vec![Seg::member("a"), Seg::Index(3)]).resolve(&v).is_absent());
    }
}
