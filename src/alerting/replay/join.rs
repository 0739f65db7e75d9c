//! Join values owned by the signals kept until the correlation rules run.
//!
//! A worker reads the join fields of a matching event once and keeps them
//! as [`OwnedJoin`]s, so the event itself can be dropped; the correlation
//! engine borrows them back as [`JoinValue`]s.

use serde_json::Value;

use crate::engine::correlation::JoinValue;
use crate::engine::key_path;

/// A join value kept with a signal until the correlation rules run.
#[derive(Debug, Clone)]
pub enum OwnedJoin {
    /// Absent or `null`.
    Null,
    /// A string.
    Text(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A top-level array, its elements flat.
    List(Vec<OwnedJoin>),
    /// Anything else (objects, floats, nested arrays): joins nothing.
    Opaque,
}

impl OwnedJoin {
    /// Owns the value at a join field; `top` allows one level of list.
    pub fn of(v: Option<&Value>, top: bool) -> OwnedJoin {
        match v {
            None | Some(Value::Null) => OwnedJoin::Null,
            Some(Value::String(s)) => OwnedJoin::Text(s.clone()),
            Some(Value::Bool(b)) => OwnedJoin::Bool(*b),
            Some(Value::Number(n)) => n.as_i64().map_or(OwnedJoin::Opaque, OwnedJoin::Int),
            Some(Value::Array(items)) if top => {
                OwnedJoin::List(items.iter().map(|i| OwnedJoin::of(Some(i), false)).collect())
            }
            Some(_) => OwnedJoin::Opaque,
        }
    }

    /// Borrows it for the engine; a list takes the next of `lists`, built
    /// from the lists of the same signal by [`OwnedJoin::flat`].
    pub fn borrow<'a>(&'a self, lists: &'a [Vec<JoinValue<'a>>], at: &mut usize) -> JoinValue<'a> {
        match self {
            OwnedJoin::Null => JoinValue::Null,
            OwnedJoin::Text(s) => JoinValue::Text(s),
            OwnedJoin::Int(i) => JoinValue::Int(*i),
            OwnedJoin::Bool(b) => JoinValue::Bool(*b),
            OwnedJoin::Opaque => JoinValue::Opaque,
            OwnedJoin::List(_) => {
                let v = lists.get(*at).map_or(JoinValue::Opaque, |l| JoinValue::List(l));
                *at += 1;
                v
            }
        }
    }

    /// Borrows a list element.
    pub fn flat(&self) -> JoinValue<'_> {
        match self {
            OwnedJoin::Null => JoinValue::Null,
            OwnedJoin::Text(s) => JoinValue::Text(s),
            OwnedJoin::Int(i) => JoinValue::Int(*i),
            OwnedJoin::Bool(b) => JoinValue::Bool(*b),
            OwnedJoin::List(_) | OwnedJoin::Opaque => JoinValue::Opaque,
        }
    }
}

/// A signal kept for a correlation item: time in seconds, join values,
/// log type.
pub struct Kept {
    /// Event time, seconds.
    pub time: i64,
    /// One value per join field of the item.
    pub values: Vec<OwnedJoin>,
    /// Index into [`super::Plan::log_types`], `u32::MAX` for a signal of a
    /// correlation rule.
    pub log_type: u32,
}

/// The value at a dotted join field path, with the member lookup rule of
/// match expressions (exact name, else the first case-insensitive match;
/// match-expressions §2.4), so a join field finds what a `Key:` would.
pub fn field<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = event;
    for name in path.split('.') {
        let o = v.as_object()?;
        // The exact name first, so the common case does not lowercase.
        v = match o.get(name) {
            Some(x) => x,
            None => key_path::member(o, name, &name.to_lowercase())?,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_prefers_the_exact_name_then_the_first_case_insensitive_one() {
        let e = json!({"User": {"Name": "a", "name": "b"}, "user": {"name": "c"}});
        assert_eq!(field(&e, "user.name"), Some(&json!("c")));
        assert_eq!(field(&e, "User.name"), Some(&json!("b")));
        assert_eq!(field(&e, "USER.NAME"), Some(&json!("a")));
        assert_eq!(field(&e, "user.missing"), None);
        assert_eq!(field(&json!({"a": 1}), "a.b"), None);
    }

    #[test]
    fn owned_values_keep_one_level_of_list() {
        let v = json!(["x", 2, [3], {"k": 1}]);
        let OwnedJoin::List(items) = OwnedJoin::of(Some(&v), true) else {
            panic!("not a list");
        };
        assert!(matches!(&items[0], OwnedJoin::Text(s) if s == "x"));
        assert!(matches!(items[1], OwnedJoin::Int(2)));
        assert!(matches!(items[2], OwnedJoin::Opaque));
        assert!(matches!(items[3], OwnedJoin::Opaque));
        assert!(matches!(OwnedJoin::of(Some(&v), false), OwnedJoin::Opaque));
        assert!(matches!(OwnedJoin::of(None, true), OwnedJoin::Null));
        assert!(matches!(OwnedJoin::of(Some(&json!(1.5)), true), OwnedJoin::Opaque));
    }
}
