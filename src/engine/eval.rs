//! Evaluating compiled expressions against an event (match-expressions
//! §4–§10).
//!
//! Evaluation borrows the event and allocates nothing, except where a `[*]`
//! wildcard builds its array and where a multi-key expression lowercases
//! its right-hand value. Case-insensitive comparisons walk lowercased
//! characters instead of lowercasing the event's strings.

use serde_json::Value;

use super::compile::{Base, Comparand, Leaf, Node, Quant};
use super::key_path::{Resolved, eq_folded};
use crate::ip;
use crate::model::Prep;

/// How leaves treat an absent field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Detection` and dynamic severities: rule R2.
    Detection,
    /// `InlineFilters`: an absent field passes, empty groups pass (§10.3,
    /// §10.4).
    Filter,
}

/// JSON equality (§4.3): numbers by value (integers exactly), booleans never
/// equal numbers, objects ignore member order.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(std::cmp::Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Option<std::cmp::Ordering> {
    let int = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(x), int(y)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

fn folded_eq(s: &str, lower: &str) -> bool {
    eq_folded(s, lower)
}

// The `folded_*` functions compare `s` lowercased with an already lowercased
// comparand without allocating; ASCII text (nearly all event data) takes a
// byte-wise path.

fn folded_starts(s: &str, lower: &str) -> bool {
    if s.is_ascii() && lower.is_ascii() {
        return s.len() >= lower.len() && s.as_bytes()[..lower.len()].eq_ignore_ascii_case(lower.as_bytes());
    }
    let mut it = s.chars().flat_map(char::to_lowercase);
    lower.chars().all(|c| it.next() == Some(c))
}

fn folded_ends(s: &str, lower: &str) -> bool {
    if s.is_ascii() && lower.is_ascii() {
        return s.len() >= lower.len() && s.as_bytes()[s.len() - lower.len()..].eq_ignore_ascii_case(lower.as_bytes());
    }
    let mut it = s.chars().flat_map(char::to_lowercase).rev();
    lower.chars().rev().all(|c| it.next() == Some(c))
}

fn folded_contains(s: &str, lower: &str) -> bool {
    if lower.is_empty() {
        return true;
    }
    if s.is_ascii() && lower.is_ascii() {
        return s
            .as_bytes()
            .windows(lower.len())
            .any(|w| w.eq_ignore_ascii_case(lower.as_bytes()));
    }
    s.char_indices().any(|(i, _)| folded_starts(&s[i..], lower))
}

fn lower_of<'a>(operand: &'a Value, folded: Option<&'a str>, scratch: &'a mut Option<String>) -> Option<&'a str> {
    if let Some(f) = folded {
        return Some(f);
    }
    let s = operand.as_str()?;
    Some(scratch.insert(s.to_lowercase()).as_str())
}

fn contains(target: &Value, operand: &Value, fold: Option<&str>) -> bool {
    match target {
        Value::String(s) => match (operand.as_str(), fold) {
            (Some(_), Some(f)) => folded_contains(s, f),
            (Some(o), None) => s.contains(o),
            (None, _) => false,
        },
        Value::Array(items) => items.iter().any(|e| {
            json_eq(e, operand)
                || match (e, operand.as_str(), fold) {
                    (Value::String(es), Some(_), Some(f)) => folded_contains(es, f),
                    (Value::String(es), Some(o), None) => es.contains(o),
                    _ => false,
                }
        }),
        Value::Object(m) => match (operand.as_str(), fold) {
            (Some(_), Some(f)) => m.keys().any(|k| folded_eq(k, f)),
            (Some(o), None) => m.contains_key(o),
            (None, _) => false,
        },
        _ => false,
    }
}

fn in_cidr(target: &Value, net: Option<&ipnet::IpNet>) -> bool {
    let (Some(s), Some(net)) = (target.as_str(), net) else {
        return false;
    };
    ip::parse_cidr(s).is_some_and(|t| ip::overlaps(&t, net))
}

fn cidr_contains(target: &Value, net: Option<&ipnet::IpNet>) -> bool {
    match target {
        Value::Array(items) => items.iter().any(|e| in_cidr(e, net)),
        Value::String(_) => in_cidr(target, net),
        _ => false,
    }
}

fn in_set(v: &Value, c: &Comparand) -> bool {
    match v {
        Value::String(s) => c.strings.contains(s.as_str()),
        other => c.others.iter().any(|o| json_eq(other, o)),
    }
}

fn addr(v: &Value) -> Option<std::net::IpAddr> {
    ip::parse_addr(v.as_str()?)
}

/// Whether a present, non-null target satisfies a positive base condition
/// against a comparand. `fold` is the lowercased comparand string, if any.
fn holds(base: Base, target: &Value, operand: &Value, fold: Option<&str>, c: Option<&Comparand>) -> bool {
    use std::cmp::Ordering;
    let cmp = || match (target, operand) {
        (Value::Number(a), Value::Number(b)) => num_cmp(a, b),
        _ => None,
    };
    match base {
        Base::Equals => json_eq(target, operand),
        Base::IEquals => match (target.as_str(), fold) {
            (Some(s), Some(f)) => folded_eq(s, f),
            _ => json_eq(target, operand),
        },
        Base::StartsWith => matches!((target.as_str(), operand.as_str()), (Some(s), Some(o)) if s.starts_with(o)),
        Base::EndsWith => matches!((target.as_str(), operand.as_str()), (Some(s), Some(o)) if s.ends_with(o)),
        Base::IStartsWith => matches!((target.as_str(), fold), (Some(s), Some(f)) if folded_starts(s, f)),
        Base::IEndsWith => matches!((target.as_str(), fold), (Some(s), Some(f)) if folded_ends(s, f)),
        Base::Contains => contains(target, operand, None),
        Base::IContains => contains(target, operand, fold),
        Base::Gt => cmp() == Some(Ordering::Greater),
        Base::Ge => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
        Base::Lt => cmp() == Some(Ordering::Less),
        Base::Le => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
        Base::InCidr | Base::CidrContains => {
            let parsed;
            let net = match c.and_then(|c| c.net.as_ref()) {
                Some(n) => Some(n),
                None => {
                    parsed = operand.as_str().and_then(ip::parse_cidr);
                    parsed.as_ref()
                }
            };
            if base == Base::InCidr {
                in_cidr(target, net)
            } else {
                cidr_contains(target, net)
            }
        }
        Base::In => match c {
            Some(c) => match target {
                Value::Array(items) => items.iter().any(|e| in_set(e, c)),
                other => in_set(other, c),
            },
            None => false,
        },
        Base::IsIp => addr(target).is_some(),
        Base::IsV4 => addr(target).is_some_and(|a| a.is_ipv4()),
        Base::IsV6 => addr(target).is_some_and(|a| a.is_ipv6()),
        Base::Private => addr(target).is_some_and(ip::is_private),
        Base::Public => addr(target).is_some_and(ip::is_public),
        Base::Exists | Base::IsNull | Base::IsNullOrEmpty => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The positive result of a leaf on a resolution.
pub fn leaf_positive(leaf: &Leaf, r: &Resolved<'_>) -> bool {
    let v = r.value();
    match leaf.base {
        Base::Exists => v.is_some(),
        Base::IsNull => v.is_none_or(Value::is_null),
        Base::IsNullOrEmpty => v.is_none_or(is_empty),
        base => match v {
            None | Some(Value::Null) => false,
            Some(t) => holds(
                base,
                t,
                &leaf.operand.value,
                leaf.operand.folded.as_deref(),
                Some(&leaf.operand),
            ),
        },
    }
}

/// Evaluates a leaf.
pub fn eval_leaf(leaf: &Leaf, event: &Value, mode: Mode) -> bool {
    let r = leaf.path.resolve(event);
    if mode == Mode::Filter && r.is_absent() {
        return true;
    }
    leaf_positive(leaf, &r) != leaf.negate
}

/// The positive result of a multi-key comparison (§7).
pub fn multi_positive(base: Base, left: &Resolved<'_>, right: &Resolved<'_>) -> bool {
    match (left.value(), right.value()) {
        (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => false,
        (Some(l), Some(r)) => {
            let mut scratch = None;
            let fold = match base.prep() {
                Prep::Fold => lower_of(r, None, &mut scratch),
                Prep::Json | Prep::Cidr | Prep::Set | Prep::Nothing => None,
            };
            holds(base, l, r, fold, None)
        }
    }
}

/// Evaluates a node.
pub fn eval(node: &Node, event: &Value, mode: Mode) -> bool {
    match node {
        Node::All(items) => items.iter().all(|n| eval(n, event, mode)),
        Node::Any(items) => (mode == Mode::Filter && items.is_empty()) || items.iter().any(|n| eval(n, event, mode)),
        Node::OnlyOne(items) => items.iter().filter(|n| eval(n, event, mode)).take(2).count() == 1,
        Node::None(items) => !items.iter().any(|n| eval(n, event, mode)),
        Node::Leaf(leaf) => eval_leaf(leaf, event, mode),
        Node::Multi {
            left,
            right,
            base,
            negate,
            ..
        } => multi_positive(*base, &left.resolve(event), &right.resolve(event)) != *negate,
        Node::Each { path, quant, body } => {
            let r = path.resolve(event);
            let items: &[Value] = match r.value() {
                Some(Value::Array(a)) => a,
                _ => &[],
            };
            let matches = |e: &Value| body.iter().all(|n| eval(n, e, mode));
            match quant {
                Quant::Any => items.iter().any(matches),
                Quant::All => items.iter().all(matches),
                Quant::One => items.iter().filter(|e| matches(e)).take(2).count() == 1,
                Quant::No => !items.iter().any(matches),
            }
        }
        Node::Const(b) => *b,
    }
}

/// Evaluates a list under an implicit `All`.
pub fn eval_all(nodes: &[Node], event: &Value, mode: Mode) -> bool {
    nodes.iter().all(|n| eval(n, event, mode))
}
