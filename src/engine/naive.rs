//! A plain reference interpreter of match-expressions.md, written straight
//! from the spec with owned values and `to_lowercase`, used only to check
//! the compiled evaluator (differential property test below).
//!
//! It is independent of the engine where it matters: it shares no helper
//! with `engine/` or `ip.rs`. Member lookup, paths, JSON equality, the
//! string conditions, IP and CIDR syntax (on `std::net` and bit
//! arithmetic) and the private table are written again here. It reads the
//! condition table only to draw expressions: every condition of a group is
//! generated in every shape of that group, so a new row is tested without
//! touching this file; its meaning is an exhaustive match here, so a new
//! condition does not compile until it has one.

use std::net::Ipv6Addr;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::model::{
    Combinator, Condition, DESCRIPTORS, Enrichment, Expr, ExprKind, Group, KeyPath, KeySpec, Operand, Scalar, Step,
    Takes,
};
use crate::source::{Span, Spanned};

/// What a condition means, written from §4 (not from the engine's table).
#[derive(Debug, Clone, Copy)]
enum Meaning {
    /// A leaf test and whether it is negated (R1).
    Test(Op, bool),
    /// A list comprehension.
    Each(Q),
    /// `AlwaysTrue` / `AlwaysFalse`.
    Const(bool),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    IEq,
    Starts,
    IStarts,
    Ends,
    IEnds,
    Has,
    IHas,
    Gt,
    Ge,
    Lt,
    Le,
    InCidr,
    CidrHas,
    In,
    Exists,
    Null,
    NullOrEmpty,
    Ip,
    V4,
    V6,
    Private,
    Public,
}

#[derive(Debug, Clone, Copy)]
enum Q {
    Any,
    All,
    One,
    No,
}

fn meaning(c: Condition) -> Meaning {
    use Condition as C;
    use Meaning::{Const, Each, Test};
    match c {
        C::Equals => Test(Op::Eq, false),
        C::DoesNotEqual => Test(Op::Eq, true),
        C::IEquals => Test(Op::IEq, false),
        C::IDoesNotEqual => Test(Op::IEq, true),
        C::StartsWith => Test(Op::Starts, false),
        C::DoesNotStartWith => Test(Op::Starts, true),
        C::IStartsWith => Test(Op::IStarts, false),
        C::IDoesNotStartWith => Test(Op::IStarts, true),
        C::EndsWith => Test(Op::Ends, false),
        C::DoesNotEndWith => Test(Op::Ends, true),
        C::IEndsWith => Test(Op::IEnds, false),
        C::IDoesNotEndWith => Test(Op::IEnds, true),
        C::Contains => Test(Op::Has, false),
        C::DoesNotContain => Test(Op::Has, true),
        C::IContains => Test(Op::IHas, false),
        C::IDoesNotContain => Test(Op::IHas, true),
        C::IsGreaterThan => Test(Op::Gt, false),
        C::IsGreaterThanOrEquals => Test(Op::Ge, false),
        C::IsLessThan => Test(Op::Lt, false),
        C::IsLessThanOrEquals => Test(Op::Le, false),
        C::IsIPAddressInCIDR => Test(Op::InCidr, false),
        C::IsIPAddressNotInCIDR => Test(Op::InCidr, true),
        C::CIDRContainsIPAddresses => Test(Op::CidrHas, false),
        C::CIDRDoesNotContainIPAddresses => Test(Op::CidrHas, true),
        C::IsIn => Test(Op::In, false),
        C::IsNotIn => Test(Op::In, true),
        C::Exists => Test(Op::Exists, false),
        C::DoesNotExist => Test(Op::Exists, true),
        C::IsNull => Test(Op::Null, false),
        C::IsNotNull => Test(Op::Null, true),
        C::IsNullOrEmpty => Test(Op::NullOrEmpty, false),
        C::IsNotNullOrEmpty => Test(Op::NullOrEmpty, true),
        C::IsIPAddress => Test(Op::Ip, false),
        C::IsIPv4Address => Test(Op::V4, false),
        C::IsIPv6Address => Test(Op::V6, false),
        C::IsIPAddressPrivate => Test(Op::Private, false),
        C::IsIPAddressPublic => Test(Op::Public, false),
        C::AnyElement => Each(Q::Any),
        C::AllElements => Each(Q::All),
        C::OnlyOneElement => Each(Q::One),
        C::NoElement => Each(Q::No),
        C::AlwaysTrue => Const(true),
        C::AlwaysFalse => Const(false),
    }
}

// ---------------------------------------------------------------------------
// Values (§2).

fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    if let Some(x) = o.get(name) {
        return Some(x);
    }
    o.iter()
        .find(|(k, _)| k.to_lowercase() == name.to_lowercase())
        .map(|(_, x)| x)
}

fn walk(steps: &[Step], v: &Value) -> Option<Value> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(v.clone());
    };
    match first {
        Step::Member(n) => walk(rest, member(v, n)?),
        Step::Index(i) => {
            let a = v.as_array()?;
            let i = if *i < 0 { a.len() as i64 + i } else { *i };
            if i < 0 {
                return None;
            }
            walk(rest, a.get(i as usize)?)
        }
        Step::Wildcard => {
            let a = v.as_array()?;
            let nested = rest.contains(&Step::Wildcard);
            let mut out = Vec::new();
            for e in a {
                match walk(rest, e) {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(inner)) if nested => out.extend(inner),
                    Some(x) => out.push(x),
                }
            }
            Some(Value::Array(out))
        }
    }
}

fn resolve(k: &KeySpec, root: &Value) -> Option<Value> {
    match k {
        KeySpec::Key(n) => member(root, &n.value).cloned(),
        KeySpec::DeepKey(d) => walk(&d.value, root),
        KeySpec::KeyPath(p) => walk(&p.steps, root),
    }
}

/// §9: `p_enrichment`, the table, the selector, then `FieldPath` on an
/// object row or `[*].FieldPath` on an array of rows.
fn enrichment(e: &Enrichment, root: &Value) -> Option<Value> {
    let rows = member(
        member(member(root, "p_enrichment")?, &e.table.value)?,
        &e.selector.value,
    )?;
    match rows {
        Value::Object(_) => walk(&e.field_path.steps, rows),
        Value::Array(_) => {
            let mut steps = vec![Step::Wildcard];
            steps.extend(e.field_path.steps.iter().cloned());
            walk(&steps, rows)
        }
        _ => None,
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w)))
        }
        _ => a == b,
    }
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

// ---------------------------------------------------------------------------
// IP addresses and CIDR blocks (§4.9), as (is IPv6, bits, prefix length).

#[derive(Debug, Clone, Copy, PartialEq)]
struct Block {
    v6: bool,
    bits: u128,
    prefix: u32,
}

fn width(v6: bool) -> u32 {
    if v6 { 128 } else { 32 }
}

/// The top `prefix` bits of a `width`-bit number set.
fn mask(v6: bool, prefix: u32) -> u128 {
    let w = width(v6);
    let all = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    if prefix == 0 { 0 } else { (all << (w - prefix)) & all }
}

/// Dotted decimal, four octets 0–255, no leading zeros.
fn v4(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut out = 0u32;
    for p in parts {
        let digits_ok = !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit());
        if !digits_ok || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        if n > 255 {
            return None;
        }
        out = out * 256 + n;
    }
    Some(out)
}

/// An address: IPv4, or IPv6 (an embedded IPv4 part follows the IPv4
/// rules) with an optional non-empty zone.
fn address(text: &str) -> Option<(bool, u128)> {
    if !text.contains(':') {
        return v4(text).map(|a| (false, u128::from(a)));
    }
    let mut parts = text.split('%');
    let addr = parts.next()?;
    if let Some(zone) = parts.next() {
        if zone.is_empty() || parts.next().is_some() {
            return None;
        }
    }
    let last = addr.rsplit(':').next()?;
    if last.contains('.') && v4(last).is_none() {
        return None;
    }
    addr.parse::<Ipv6Addr>().ok().map(|a| (true, u128::from(a)))
}

/// A block: an address, optionally `/prefix` (decimal, leading zeros
/// allowed) or, for IPv4, `/netmask` or `/hostmask`. Host bits cleared.
fn block(text: &str) -> Option<Block> {
    let (addr, suffix) = match text.find('/') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (v6, bits) = address(addr)?;
    let w = width(v6);
    let prefix = match suffix {
        None => w,
        Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
            let significant = p.trim_start_matches('0');
            if significant.len() > 3 {
                return None;
            }
            let n: u32 = if significant.is_empty() {
                0
            } else {
                significant.parse().ok()?
            };
            if n > w {
                return None;
            }
            n
        }
        Some(m) if !v6 => {
            let m = v4(m)?;
            let ones = (0..=32).find(|&p| u128::from(m) == mask(false, p));
            let inverse = (0..=32).find(|&p| u128::from(!m) == mask(false, p));
            ones.or(inverse)?
        }
        Some(_) => return None,
    };
    Some(Block {
        v6,
        bits: bits & mask(v6, prefix),
        prefix,
    })
}

fn overlap(a: Block, b: Block) -> bool {
    a.v6 == b.v6 && {
        let m = mask(a.v6, a.prefix.min(b.prefix));
        a.bits & m == b.bits & m
    }
}

fn inside(v6: bool, bits: u128, table: &[&str]) -> bool {
    table.iter().filter_map(|t| block(t)).any(|b| {
        overlap(
            b,
            Block {
                v6,
                bits,
                prefix: width(v6),
            },
        )
    })
}

const PRIVATE_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
];

const PRIVATE_V6: &[&str] = &[
    "::1/128",
    "::/128",
    "100::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:db8::/32",
    "2001:10::/28",
    "fc00::/7",
    "fe80::/10",
];

/// The private table; an IPv4-mapped IPv6 address uses the IPv4 table.
fn private(v6: bool, bits: u128) -> bool {
    if v6 && bits >> 32 == 0xffff {
        return inside(false, bits & u128::from(u32::MAX), PRIVATE_V4);
    }
    if v6 {
        inside(true, bits, PRIVATE_V6)
    } else {
        inside(false, bits, PRIVATE_V4)
    }
}

fn public(v6: bool, bits: u128) -> bool {
    !private(v6, bits) && (v6 || !inside(false, bits, &["100.64.0.0/10"]))
}

fn ip_of(t: &Value) -> Option<(bool, u128)> {
    address(t.as_str()?)
}

fn in_cidr(t: &Value, o: &Value) -> bool {
    match (t.as_str().and_then(block), o.as_str().and_then(block)) {
        (Some(a), Some(b)) => overlap(a, b),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Conditions (§4).

/// A positive test on a present, non-null target.
fn positive(op: Op, t: &Value, o: &Value) -> bool {
    let low = |v: &Value| s(v).map(|x| x.to_lowercase());
    let both_numbers = matches!((t, o), (Value::Number(_), Value::Number(_)));
    let has = |fold: bool| {
        let f = |x: String| if fold { x.to_lowercase() } else { x };
        match t {
            Value::String(x) => s(o).is_some_and(|y| f(x.clone()).contains(&f(y))),
            Value::Array(items) => items.iter().any(|e| {
                eq(e, o) || matches!((s(e), s(o)), (Some(a), Some(b)) if f(a.clone()).contains(&f(b.clone())))
            }),
            Value::Object(m) => s(o).is_some_and(|y| m.keys().any(|k| f(k.clone()) == f(y.clone()))),
            _ => false,
        }
    };
    match op {
        Op::Eq => eq(t, o),
        Op::IEq => match (low(t), low(o)) {
            (Some(a), Some(b)) => a == b,
            _ => eq(t, o),
        },
        Op::Starts => matches!((s(t), s(o)), (Some(a), Some(b)) if a.starts_with(&b)),
        Op::IStarts => matches!((low(t), low(o)), (Some(a), Some(b)) if a.starts_with(&b)),
        Op::Ends => matches!((s(t), s(o)), (Some(a), Some(b)) if a.ends_with(&b)),
        Op::IEnds => matches!((low(t), low(o)), (Some(a), Some(b)) if a.ends_with(&b)),
        Op::Has => has(false),
        Op::IHas => has(true),
        Op::Gt => both_numbers && num(t) > num(o),
        Op::Ge => both_numbers && num(t) >= num(o),
        Op::Lt => both_numbers && num(t) < num(o),
        Op::Le => both_numbers && num(t) <= num(o),
        Op::InCidr => in_cidr(t, o),
        Op::CidrHas => match t {
            Value::Array(items) => items.iter().any(|e| in_cidr(e, o)),
            Value::String(_) => in_cidr(t, o),
            _ => false,
        },
        Op::In => {
            let vals = o.as_array().cloned().unwrap_or_default();
            match t {
                Value::Array(items) => items.iter().any(|e| vals.iter().any(|v| eq(e, v))),
                _ => vals.iter().any(|v| eq(t, v)),
            }
        }
        Op::Ip => ip_of(t).is_some(),
        Op::V4 => ip_of(t).is_some_and(|(v6, _)| !v6),
        Op::V6 => ip_of(t).is_some_and(|(v6, _)| v6),
        Op::Private => ip_of(t).is_some_and(|(v6, b)| private(v6, b)),
        Op::Public => ip_of(t).is_some_and(|(v6, b)| public(v6, b)),
        // Decided on the resolution itself, in `leaf`.
        Op::Exists | Op::Null | Op::NullOrEmpty => false,
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(x) => x.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// R2: an absent or null target fails every condition but the existence
/// family.
fn valued(op: Op, t: &Option<Value>, o: &Value) -> bool {
    match t {
        None | Some(Value::Null) => false,
        Some(v) => positive(op, v, o),
    }
}

fn leaf(c: Condition, t: Option<Value>, o: &Value, filter: bool) -> bool {
    if filter && t.is_none() {
        return true;
    }
    let Meaning::Test(op, negated) = meaning(c) else {
        // Element and absolute conditions are no leaves; the generators
        // never put them here.
        return false;
    };
    let p = match op {
        Op::Exists => t.is_some(),
        Op::Null => t.as_ref().is_none_or(Value::is_null),
        Op::NullOrEmpty => t.as_ref().is_none_or(empty),
        Op::Eq | Op::IEq | Op::Starts | Op::IStarts | Op::Ends | Op::IEnds | Op::Has | Op::IHas => valued(op, &t, o),
        Op::Gt | Op::Ge | Op::Lt | Op::Le | Op::InCidr | Op::CidrHas | Op::In => valued(op, &t, o),
        Op::Ip | Op::V4 | Op::V6 | Op::Private | Op::Public => valued(op, &t, o),
    };
    p != negated
}

fn scalar(v: &Scalar) -> Value {
    match v {
        Scalar::Str(x) => json!(x.as_str()),
        Scalar::Int(i) => json!(i),
        Scalar::Float(f) => json!(f),
        Scalar::Bool(b) => json!(b),
    }
}

/// Evaluates an expression the plain way.
pub fn eval(e: &Expr, root: &Value, filter: bool) -> bool {
    match &e.kind {
        ExprKind::Combinator { op, items } => {
            let r: Vec<bool> = items.iter().map(|i| eval(i, root, filter)).collect();
            match op {
                Combinator::All => r.iter().all(|b| *b),
                Combinator::Any => (filter && r.is_empty()) || r.iter().any(|b| *b),
                Combinator::OnlyOne => r.iter().filter(|b| **b).count() == 1,
                Combinator::None => !r.iter().any(|b| *b),
            }
        }
        ExprKind::KeyValue { key, condition, value } => {
            leaf(condition.value, resolve(key, root), &scalar(&value.value), filter)
        }
        ExprKind::KeyValues { key, condition, values } => {
            let o = Value::Array(values.value.iter().map(scalar).collect());
            leaf(condition.value, resolve(key, root), &o, filter)
        }
        ExprKind::Unary { key, condition } => leaf(condition.value, resolve(key, root), &Value::Null, filter),
        ExprKind::ListComprehension {
            key,
            condition,
            expressions,
        } => {
            let items = match resolve(key, root) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let m = items
                .iter()
                .filter(|i| expressions.iter().all(|x| eval(x, i, filter)))
                .count();
            match meaning(condition.value) {
                Meaning::Each(Q::Any) => m >= 1,
                Meaning::Each(Q::All) => m == items.len(),
                Meaning::Each(Q::One) => m == 1,
                Meaning::Each(Q::No) => m == 0,
                Meaning::Test(..) | Meaning::Const(_) => false,
            }
        }
        ExprKind::MultiKey { condition, left, right } => {
            let Meaning::Test(op, negated) = meaning(condition.value) else {
                return false;
            };
            match (resolve(left, root), resolve(right, root)) {
                (Some(l), Some(r)) if !l.is_null() && !r.is_null() => positive(op, &l, &r) != negated,
                _ => negated,
            }
        }
        ExprKind::Absolute(c) => match meaning(c.value) {
            Meaning::Const(b) => b,
            Meaning::Test(..) | Meaning::Each(_) => false,
        },
        ExprKind::Enrichment {
            enrichment: en,
            condition,
            operand,
        } => {
            let o = match operand {
                Operand::Value(v) => scalar(&v.value),
                Operand::Values(vs) => Value::Array(vs.value.iter().map(scalar).collect()),
            };
            leaf(condition.value, enrichment(en, root), &o, filter)
        }
    }
}

// ---------------------------------------------------------------------------
// Generators.

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(v, Span::default())
}

/// The steps of the simple paths used below (`a.c`, `b[0]`, `b[*].c`).
fn steps(text: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in text.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next() {
            out.push(Step::Member(name.into()));
        }
        for sel in pieces {
            let sel = sel.trim_end_matches(']');
            out.push(match sel.parse::<i64>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Wildcard,
            });
        }
    }
    out
}

fn key_path(text: &str) -> KeyPath {
    KeyPath {
        text: text.into(),
        steps: steps(text),
        span: Span::default(),
    }
}

fn path(text: &str) -> KeySpec {
    KeySpec::KeyPath(key_path(text))
}

fn arb_key() -> impl Strategy<Value = KeySpec> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "A", "a.c", "b[0]", "b[-1]", "b[*].c", "a.c[*]"]).prop_map(path),
        prop::sample::select(vec!["a", "B"]).prop_map(|k| KeySpec::Key(sp(k.to_owned()))),
        Just(KeySpec::DeepKey(sp(vec![Step::Member("b".into()), Step::Index(1)]))),
    ]
}

/// Strings that exercise the string conditions and the IP syntax: valid
/// and invalid addresses, blocks with and without host bits.
const STRINGS: &[&str] = &[
    "x",
    "X",
    "adm",
    "admin",
    "ADMIN tools",
    "",
    "Ab",
    "10.0.0.1",
    "8.8.8.8",
    "100.64.0.1",
    "224.0.0.1",
    "192.168.1.77/24",
    "10.0.0.0/8",
    "010.0.0.1",
    "::1",
    "2001:db8::5",
    "fe80::1%eth0",
    "::ffff:10.0.0.1",
    "::ffff:100.64.0.1",
    "2606:4700::1111",
    "2001:db8::/48",
    "1.2.3",
];

/// CIDR values: IPv4 and IPv6, host bits set, /0, /32, /128, netmasks,
/// host masks and bare addresses.
const CIDRS: &[&str] = &[
    "10.0.0.0/8",
    "10.0.0.1/8",
    "0.0.0.0/0",
    "10.0.0.1/32",
    "10.0.0.1",
    "192.168.0.0/255.255.0.0",
    "10.0.0.0/0.255.255.255",
    "10.0.0.0/008",
    "100.64.0.0/10",
    "2001:db8::/32",
    "2001:db8::5/128",
    "::/0",
    "fe80::/10",
    "fe80::1%eth0/64",
    "::ffff:10.0.0.0/104",
];

fn arb_scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| Scalar::Str(s.into())),
        (-2i64..3).prop_map(Scalar::Int),
        prop::sample::select(vec![0.5f64, 2.0, -1.5]).prop_map(Scalar::Float),
        any::<bool>().prop_map(Scalar::Bool),
    ]
}

/// A `Value` for a condition: a CIDR condition only loads with a valid
/// block, every other one takes any scalar.
fn arb_value(c: Condition) -> BoxedStrategy<Scalar> {
    match c.takes() {
        Takes::Cidr => prop::sample::select(CIDRS).prop_map(|s| Scalar::Str(s.into())).boxed(),
        Takes::Any | Takes::Text | Takes::Number | Takes::List | Takes::Nothing | Takes::Ignored => {
            arb_scalar().boxed()
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..3).prop_map(|i| json!(i)),
        prop::sample::select(vec![0.5f64, 2.0, -1.5]).prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
        prop::sample::select(CIDRS).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(vec!["a", "b", "c", "A", "C"]), inner), 0..4).prop_map(|kv| {
                let mut m = serde_json::Map::new();
                for (k, v) in kv {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

/// An event: an object, sometimes with `p_enrichment` rows (an object, an
/// array of rows or something else) under table `geo` and selector `ip`,
/// spelt in either case.
fn arb_event() -> impl Strategy<Value = Value> {
    (
        arb_json(),
        proptest::option::of((
            prop::sample::select(vec!["geo", "GEO"]),
            prop::sample::select(vec!["ip", "Ip"]),
            arb_json(),
        )),
    )
        .prop_map(|(event, enrichment)| {
            let mut root = if event.is_object() { event } else { json!({"a": event}) };
            if let (Some((table, selector, rows)), Some(m)) = (enrichment, root.as_object_mut()) {
                m.insert("p_enrichment".into(), json!({ table: { selector: rows } }));
            }
            root
        })
}

/// The conditions of a group, read from the table.
fn of_group(g: Group) -> Vec<Condition> {
    DESCRIPTORS
        .iter()
        .filter(|d| d.group == g)
        .map(|d| d.condition)
        .collect()
}

fn e(kind: ExprKind) -> Expr {
    Expr {
        span: Span::default(),
        kind,
    }
}

fn arb_enrichment() -> impl Strategy<Value = Enrichment> {
    (
        prop::sample::select(vec!["geo", "Geo", "other"]),
        prop::sample::select(vec!["ip", "IP"]),
        prop::sample::select(vec!["a", "a.c", "b[0]", "b[*].c"]),
    )
        .prop_map(|(t, s, f)| Enrichment {
            table: sp(t.to_owned()),
            selector: sp(s.to_owned()),
            field_path: key_path(f),
        })
}

/// Every leaf shape of every group: key/value, multi-key and enrichment
/// with `Value` for group V; key/values and enrichment with `Values` for
/// group L; unary for group U (groups E and A are in [`arb_expr`]).
fn arb_leaf() -> impl Strategy<Value = Expr> {
    let v = of_group(Group::V);
    let l = of_group(Group::L);
    let u = of_group(Group::U);
    let valued = prop::sample::select(v.clone()).prop_flat_map(|c| (Just(c), arb_value(c)));
    prop_oneof![
        (arb_key(), valued.clone()).prop_map(|(key, (c, v))| e(ExprKind::KeyValue {
            key,
            condition: sp(c),
            value: sp(v)
        })),
        (
            arb_key(),
            prop::sample::select(l.clone()),
            prop::collection::vec(arb_scalar(), 0..4)
        )
            .prop_map(|(key, c, vs)| e(ExprKind::KeyValues {
                key,
                condition: sp(c),
                values: sp(vs)
            })),
        (arb_key(), prop::sample::select(u)).prop_map(|(key, c)| e(ExprKind::Unary { key, condition: sp(c) })),
        (arb_key(), arb_key(), prop::sample::select(v)).prop_map(|(left, right, c)| e(ExprKind::MultiKey {
            condition: sp(c),
            left: Box::new(left),
            right: Box::new(right)
        })),
        (arb_enrichment(), valued).prop_map(|(enrichment, (c, v))| e(ExprKind::Enrichment {
            enrichment: Box::new(enrichment),
            condition: sp(c),
            operand: Operand::Value(sp(v))
        })),
        (
            arb_enrichment(),
            prop::sample::select(l),
            prop::collection::vec(arb_scalar(), 0..4)
        )
            .prop_map(|(enrichment, c, vs)| e(ExprKind::Enrichment {
                enrichment: Box::new(enrichment),
                condition: sp(c),
                operand: Operand::Values(sp(vs))
            })),
        prop::sample::select(of_group(Group::A)).prop_map(|c| e(ExprKind::Absolute(sp(c)))),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    arb_leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![
                    Combinator::All,
                    Combinator::Any,
                    Combinator::OnlyOne,
                    Combinator::None
                ]),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(op, items)| e(ExprKind::Combinator { op, items })),
            (
                prop::sample::select(vec!["b", "a.c"]),
                prop::sample::select(of_group(Group::E)),
                prop::collection::vec(inner, 1..3)
            )
                .prop_map(|(k, c, expressions)| e(ExprKind::ListComprehension {
                    key: path(k),
                    condition: sp(c),
                    expressions
                })),
        ]
    })
}

/// Which shape draws a group's conditions; a new group fails to compile
/// here until it is generated.
fn drawn_as(g: Group) -> &'static str {
    match g {
        Group::V => "key/value, multi-key, enrichment with Value",
        Group::L => "key/values, enrichment with Values",
        Group::U => "unary",
        Group::E => "list comprehension",
        Group::A => "absolute",
    }
}

#[test]
fn every_condition_is_drawn() {
    for d in DESCRIPTORS {
        assert!(of_group(d.group).contains(&d.condition), "{}", d.name);
        assert!(!drawn_as(d.group).is_empty());
    }
}

/// The reference IP code against the spec's own examples, so that it is
/// checked by hand and not only against the engine.
#[test]
fn reference_ip_code_follows_the_spec() {
    let t = |x: &str| json!(x);
    assert!(ip_of(&t("0.0.0.0")).is_some() && ip_of(&t("010.0.0.1")).is_none());
    assert!(ip_of(&t("fe80::1%eth0")).is_some() && ip_of(&t("fe80::1%")).is_none());
    assert!(ip_of(&t("10.0.0.0/8")).is_none() && ip_of(&json!(167772161)).is_none());
    assert_eq!(ip_of(&t("::ffff:10.0.0.1")).map(|(v6, _)| v6), Some(true));
    assert!(private(false, 0x0a00_0001) && !public(false, 0x0a00_0001));
    let shared = 0x6440_0001; // 100.64.0.1
    assert!(!private(false, shared) && !public(false, shared));
    assert!(public(false, 0xe000_0001)); // 224.0.0.1
    assert!(positive(Op::Private, &t("::ffff:10.0.0.1"), &Value::Null));
    assert!(positive(Op::Public, &t("::ffff:100.64.0.1"), &Value::Null));
    assert_eq!(block("192.168.1.77/24"), block("192.168.1.0/24"));
    assert_eq!(block("10.0.0.0/255.0.0.0"), block("10.0.0.0/8"));
    assert_eq!(block("10.0.0.0/0.255.255.255"), block("10.0.0.0/8"));
    assert_eq!(block("10.0.0.0/008"), block("10.0.0.0/8"));
    assert!(block("10.0.0.0/33").is_none() && block("::/129").is_none() && block("::/255.0.0.0").is_none());
    assert!(in_cidr(&t("10.1.2.3"), &t("0.0.0.0/0")) && in_cidr(&t("::1"), &t("::/0")));
    assert!(!in_cidr(&t("::ffff:10.0.0.1"), &t("10.0.0.0/8")));
    assert!(in_cidr(&t("10.0.0.0/24"), &t("10.0.0.0/8")) && in_cidr(&t("10.0.0.0/8"), &t("10.0.0.0/24")));
    assert!(in_cidr(&t("2001:db8::5"), &t("2001:db8::5/128")) && !in_cidr(&t("2001:db8::6"), &t("2001:db8::5/128")));
    assert!(!in_cidr(&t("10.0.0.2"), &t("10.0.0.1/32")));
}

/// The conditions on addresses and blocks (the CIDR and unary IP rows of
/// the table), as key/value, unary, multi-key and enrichment leaves.
fn arb_ip_leaf() -> impl Strategy<Value = Expr> {
    let ip: Vec<Condition> = DESCRIPTORS
        .iter()
        .filter(|d| matches!(d.takes, Takes::Cidr | Takes::Ignored))
        .map(|d| d.condition)
        .collect();
    let key = || prop::sample::select(vec!["a", "b", "b[0]", "b[*]"]).prop_map(path);
    prop::sample::select(ip).prop_flat_map(move |c| {
        let value = arb_value(c);
        match c.group() {
            Group::V => prop_oneof![
                (key(), value.clone()).prop_map(move |(key, v)| e(ExprKind::KeyValue {
                    key,
                    condition: sp(c),
                    value: sp(v)
                })),
                (key(), key()).prop_map(move |(left, right)| e(ExprKind::MultiKey {
                    condition: sp(c),
                    left: Box::new(left),
                    right: Box::new(right)
                })),
                value.prop_map(move |v| e(ExprKind::Enrichment {
                    enrichment: Box::new(Enrichment {
                        table: sp("geo".into()),
                        selector: sp("ip".into()),
                        field_path: key_path("a"),
                    }),
                    condition: sp(c),
                    operand: Operand::Value(sp(v))
                })),
            ]
            .boxed(),
            Group::L | Group::U | Group::E | Group::A => key()
                .prop_map(move |key| e(ExprKind::Unary { key, condition: sp(c) }))
                .boxed(),
        }
    })
}

/// Events whose values are mostly addresses and blocks.
fn arb_ip_event() -> impl Strategy<Value = Value> {
    let one = || {
        prop_oneof![
            prop::sample::select(STRINGS).prop_map(|s| json!(s)),
            prop::sample::select(CIDRS).prop_map(|s| json!(s)),
            Just(json!(167_772_161)),
        ]
    };
    (
        one(),
        prop::collection::vec(one(), 0..4),
        prop::collection::vec(one(), 0..3),
    )
        .prop_map(|(a, b, rows)| {
            let rows: Vec<Value> = rows.into_iter().map(|r| json!({ "a": r })).collect();
            json!({"a": a, "b": b, "p_enrichment": {"geo": {"ip": rows}}})
        })
}

const INDEXED: &[&str] = &["x", "X", "adm", ""];

fn arb_indexed_key() -> impl Strategy<Value = KeySpec> {
    prop::sample::select(vec!["a", "A", "a.c", "B"]).prop_map(path)
}

fn arb_indexed_leaf() -> impl Strategy<Value = Expr> {
    let text = || prop::sample::select(INDEXED).prop_map(|s| Scalar::Str(s.into()));
    prop_oneof![
        (arb_indexed_key(), text()).prop_map(|(key, v)| e(ExprKind::KeyValue {
            key,
            condition: sp(Condition::Equals),
            value: sp(v)
        })),
        (arb_indexed_key(), prop::collection::vec(text(), 0..3)).prop_map(|(key, vs)| e(ExprKind::KeyValues {
            key,
            condition: sp(Condition::IsIn),
            values: sp(vs)
        })),
    ]
}

/// An indexable test: a leaf, an `Any` of leaves (on one path or not),
/// an `All` holding one, or an `Any` of `All`s of two leaves each (which
/// may share a path in every branch).
fn arb_indexed() -> impl Strategy<Value = Expr> {
    let all = |a: Expr, b: Expr| {
        e(ExprKind::Combinator {
            op: Combinator::All,
            items: vec![a, b],
        })
    };
    prop_oneof![
        arb_indexed_leaf(),
        prop::collection::vec(arb_indexed_leaf(), 1..3).prop_map(|items| e(ExprKind::Combinator {
            op: Combinator::Any,
            items
        })),
        (arb_indexed_leaf(), arb_expr()).prop_map(move |(a, b)| all(b, a)),
        prop::collection::vec((arb_indexed_leaf(), arb_indexed_leaf()), 1..3).prop_map(move |pairs| e(
            ExprKind::Combinator {
                op: Combinator::Any,
                items: pairs.into_iter().map(|(a, b)| all(a, b)).collect()
            }
        )),
    ]
}

fn arb_indexed_event() -> impl Strategy<Value = Value> {
    let text = || prop::sample::select(INDEXED).prop_map(|s| json!(s));
    let value = move || {
        prop_oneof![
            text(),
            text().prop_map(|t| json!({ "c": t })),
            prop::collection::vec(text(), 0..3).prop_map(Value::Array),
            arb_json(),
        ]
    };
    (value(), value(), value(), arb_json()).prop_map(|(a, upper, b, c)| json!({"a": a, "A": upper, "b": b, "c": c}))
}

/// What the replay's fast path makes of `rules` and the event `root`: the
/// compiled rules, the event pruned to what they read, and the candidate
/// rules the index gives for it.
fn fast_path(rules: &[Vec<Expr>], root: &Value) -> (Vec<Box<[super::compile::Node]>>, Value, Vec<u32>) {
    let compiled: Vec<Box<[super::compile::Node]>> = rules.iter().map(|r| super::compile::compile_list(r)).collect();
    let mut schema = super::schema::Schema::new();
    for c in &compiled {
        schema.add_nodes(c);
    }
    let pruned = match schema.parse(root.to_string().as_bytes()) {
        Ok(super::schema::Parsed::Object(v)) => v,
        other => panic!("{other:?}"),
    };
    let listed: Vec<(u32, Option<&[super::compile::Node]>)> = compiled
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32, Some(&**c)))
        .collect();
    let index = super::index::Index::of_detections(&listed);
    let mut candidates = Vec::new();
    index.candidates(&pruned, &mut candidates);
    // The replay's gate builds only the indexed paths first: it must give
    // the same candidates.
    let mut gate = super::schema::Schema::new();
    for p in index.paths() {
        gate.add_path(p);
    }
    let gated = match gate.parse(root.to_string().as_bytes()) {
        Ok(super::schema::Parsed::Object(v)) => v,
        other => panic!("{other:?}"),
    };
    let mut from_gate = Vec::new();
    index.candidates(&gated, &mut from_gate);
    assert_eq!(from_gate, candidates, "gate {gated} against pruned {pruned}");
    (compiled, pruned, candidates)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// The same on rules made to be indexed (`Equals`, `IsIn` and `Any` of
    /// those on one path, next to anything) and events that often hold
    /// their values.
    #[test]
    fn indexed_rules_and_pruned_events_agree_with_full_evaluation(
        rules in prop::collection::vec((arb_indexed(), prop::collection::vec(arb_expr(), 0..2)), 1..6),
        root in arb_indexed_event(),
    ) {
        use super::eval::{Mode, eval_all};
        let rules: Vec<Vec<Expr>> = rules.into_iter().map(|(i, mut rest)| { rest.insert(0, i); rest }).collect();
        let (compiled, pruned, candidates) = fast_path(&rules, &root);
        for (i, c) in compiled.iter().enumerate() {
            let full = eval_all(c, &root, Mode::Detection);
            prop_assert_eq!(eval_all(c, &pruned, Mode::Detection), full, "{:?} on {}", rules[i], root);
            if full {
                prop_assert!(candidates.contains(&(i as u32)), "{:?} matches {} but is no candidate", rules[i], root);
            }
        }
    }

    /// The replay's fast path: on the event built from a schema of the
    /// rules every rule gives what it gives on the full event, and the
    /// candidate index never leaves out a rule that matches.
    #[test]
    fn pruned_events_and_the_candidate_index_agree_with_full_evaluation(
        rules in prop::collection::vec(prop::collection::vec(arb_expr(), 1..4), 1..5),
        root in arb_event(),
    ) {
        use super::eval::{Mode, eval_all};
        let (compiled, pruned, candidates) = fast_path(&rules, &root);
        for (i, c) in compiled.iter().enumerate() {
            for mode in [Mode::Detection, Mode::Filter] {
                prop_assert_eq!(eval_all(c, &pruned, mode), eval_all(c, &root, mode), "{:?} on {} (pruned {})", rules[i], root, pruned);
            }
            if eval_all(c, &root, Mode::Detection) {
                prop_assert!(candidates.contains(&(i as u32)), "{:?} matches {} but is no candidate", rules[i], root);
            }
        }
    }

    #[test]
    fn ip_conditions_agree_with_the_plain_interpreter(expr in arb_ip_leaf(), root in arb_ip_event(), filter in any::<bool>()) {
        let node = super::compile::compile(&expr);
        let mode = if filter { super::eval::Mode::Filter } else { super::eval::Mode::Detection };
        prop_assert_eq!(super::eval::eval(&node, &root, mode), eval(&expr, &root, filter), "{:?} on {}", expr, root);
    }

    #[test]
    fn compiled_evaluator_agrees_with_the_plain_interpreter(expr in arb_expr(), root in arb_event(), filter in any::<bool>()) {
        let node = super::compile::compile(&expr);
        let mode = if filter { super::eval::Mode::Filter } else { super::eval::Mode::Detection };
        prop_assert_eq!(super::eval::eval(&node, &root, mode), eval(&expr, &root, filter), "{:?} on {}", expr, root);
    }
}
