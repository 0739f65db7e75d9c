//! A plain, obviously-correct interpreter of match-expressions.md, written
//! straight from the spec with owned values and `to_lowercase`, used only to
//! check the compiled evaluator (differential property test below).

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::model::{Combinator, Condition, Expr, ExprKind, KeyPath, KeySpec, Scalar, Step};
use crate::source::{Span, Spanned};

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

fn positive(c: Condition, t: &Value, o: &Value) -> bool {
    use Condition as C;
    let low = |v: &Value| s(v).map(|x| x.to_lowercase());
    match c {
        C::Equals | C::DoesNotEqual => eq(t, o),
        C::IEquals | C::IDoesNotEqual => match (low(t), low(o)) {
            (Some(a), Some(b)) => a == b,
            _ => eq(t, o),
        },
        C::StartsWith | C::DoesNotStartWith => matches!((s(t), s(o)), (Some(a), Some(b)) if a.starts_with(&b)),
        C::IStartsWith | C::IDoesNotStartWith => matches!((low(t), low(o)), (Some(a), Some(b)) if a.starts_with(&b)),
        C::EndsWith | C::DoesNotEndWith => matches!((s(t), s(o)), (Some(a), Some(b)) if a.ends_with(&b)),
        C::IEndsWith | C::IDoesNotEndWith => matches!((low(t), low(o)), (Some(a), Some(b)) if a.ends_with(&b)),
        C::Contains | C::DoesNotContain | C::IContains | C::IDoesNotContain => {
            let fold = matches!(c, C::IContains | C::IDoesNotContain);
            let f = |x: String| if fold { x.to_lowercase() } else { x };
            match t {
                Value::String(x) => s(o).is_some_and(|y| f(x.clone()).contains(&f(y))),
                Value::Array(items) => items.iter().any(|e| {
                    eq(e, o) || matches!((s(e), s(o)), (Some(a), Some(b)) if f(a.clone()).contains(&f(b.clone())))
                }),
                Value::Object(m) => s(o).is_some_and(|y| m.keys().any(|k| f(k.clone()) == f(y.clone()))),
                _ => false,
            }
        }
        C::IsGreaterThan => matches!((t, o), (Value::Number(_), Value::Number(_)) if num(t) > num(o)),
        C::IsGreaterThanOrEquals => matches!((t, o), (Value::Number(_), Value::Number(_)) if num(t) >= num(o)),
        C::IsLessThan => matches!((t, o), (Value::Number(_), Value::Number(_)) if num(t) < num(o)),
        C::IsLessThanOrEquals => matches!((t, o), (Value::Number(_), Value::Number(_)) if num(t) <= num(o)),
        C::IsIn | C::IsNotIn => {
            let vals = o.as_array().cloned().unwrap_or_default();
            match t {
                Value::Array(items) => items.iter().any(|e| vals.iter().any(|v| eq(e, v))),
                _ => vals.iter().any(|v| eq(t, v)),
            }
        }
        C::IsIPAddress => s(t).and_then(|x| crate::ip::parse_addr(&x)).is_some(),
        C::IsIPAddressPrivate => s(t)
            .and_then(|x| crate::ip::parse_addr(&x))
            .is_some_and(crate::ip::is_private),
        C::IsIPAddressPublic => s(t)
            .and_then(|x| crate::ip::parse_addr(&x))
            .is_some_and(crate::ip::is_public),
        _ => false,
    }
}

fn negated(c: Condition) -> bool {
    use Condition as C;
    matches!(
        c,
        C::DoesNotEqual
            | C::IDoesNotEqual
            | C::DoesNotStartWith
            | C::IDoesNotStartWith
            | C::DoesNotEndWith
            | C::IDoesNotEndWith
            | C::DoesNotContain
            | C::IDoesNotContain
            | C::IsNotIn
            | C::DoesNotExist
            | C::IsNotNull
            | C::IsNotNullOrEmpty
    )
}

fn leaf(c: Condition, t: Option<Value>, o: &Value, filter: bool) -> bool {
    use Condition as C;
    if filter && t.is_none() {
        return true;
    }
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(x) => x.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    let p = match c {
        C::Exists | C::DoesNotExist => t.is_some(),
        C::IsNull | C::IsNotNull => t.as_ref().is_none_or(Value::is_null),
        C::IsNullOrEmpty | C::IsNotNullOrEmpty => t.as_ref().is_none_or(empty),
        _ => match &t {
            None | Some(Value::Null) => false,
            Some(v) => positive(c, v, o),
        },
    };
    p != negated(c)
}

fn scalar(v: &Scalar) -> Value {
    match v {
        Scalar::Str(x) => json!(x),
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
            match condition.value {
                Condition::AnyElement => m >= 1,
                Condition::AllElements => m == items.len(),
                Condition::OnlyOneElement => m == 1,
                _ => m == 0,
            }
        }
        ExprKind::MultiKey { condition, left, right } => match (resolve(left, root), resolve(right, root)) {
            (Some(l), Some(r)) if !l.is_null() && !r.is_null() => {
                positive(condition.value, &l, &r) != negated(condition.value)
            }
            _ => negated(condition.value),
        },
        ExprKind::Absolute(c) => c.value == Condition::AlwaysTrue,
        ExprKind::Enrichment { .. } => false,
    }
}

fn sp<T>(v: T) -> Spanned<T> {
    Spanned::new(v, Span::default())
}

fn path(text: &str) -> KeySpec {
    let steps = crate::load::expr::parse_key_path(text).unwrap_or_default();
    KeySpec::KeyPath(KeyPath {
        text: text.to_owned(),
        steps,
        span: Span::default(),
    })
}

fn arb_key() -> impl Strategy<Value = KeySpec> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "A", "a.c", "b[0]", "b[-1]", "b[*].c", "a.c[*]"]).prop_map(path),
        prop::sample::select(vec!["a", "B"]).prop_map(|k| KeySpec::Key(sp(k.to_owned()))),
        Just(KeySpec::DeepKey(sp(vec![Step::Member("b".into()), Step::Index(1)]))),
    ]
}

fn arb_scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        prop::sample::select(vec!["x", "X", "adm", "admin", "", "10.0.0.1", "8.8.8.8", "Ab"])
            .prop_map(|s| Scalar::Str(s.into())),
        (-2i64..3).prop_map(Scalar::Int),
        prop::sample::select(vec![0.5f64, 2.0, -1.5]).prop_map(Scalar::Float),
        any::<bool>().prop_map(Scalar::Bool),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..3).prop_map(|i| json!(i)),
        prop::sample::select(vec![0.5f64, 2.0, -1.5]).prop_map(|f| json!(f)),
        prop::sample::select(vec!["x", "X", "admin", "ADMIN tools", "", "10.0.0.1", "8.8.8.8", "ab"])
            .prop_map(|s| json!(s)),
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

fn arb_leaf() -> impl Strategy<Value = Expr> {
    use Condition as C;
    let v_conds = vec![
        C::Equals,
        C::DoesNotEqual,
        C::IEquals,
        C::IDoesNotEqual,
        C::StartsWith,
        C::DoesNotStartWith,
        C::IStartsWith,
        C::IDoesNotStartWith,
        C::EndsWith,
        C::IEndsWith,
        C::IDoesNotEndWith,
        C::Contains,
        C::DoesNotContain,
        C::IContains,
        C::IDoesNotContain,
        C::IsGreaterThan,
        C::IsGreaterThanOrEquals,
        C::IsLessThan,
        C::IsLessThanOrEquals,
    ];
    let u_conds = vec![
        C::Exists,
        C::DoesNotExist,
        C::IsNull,
        C::IsNotNull,
        C::IsNullOrEmpty,
        C::IsNotNullOrEmpty,
        C::IsIPAddress,
        C::IsIPAddressPrivate,
        C::IsIPAddressPublic,
    ];
    let e = |kind| Expr {
        span: Span::default(),
        kind,
    };
    prop_oneof![
        (arb_key(), prop::sample::select(v_conds.clone()), arb_scalar()).prop_map(move |(key, c, v)| e(
            ExprKind::KeyValue {
                key,
                condition: sp(c),
                value: sp(v)
            }
        )),
        (
            arb_key(),
            prop::sample::select(vec![C::IsIn, C::IsNotIn]),
            prop::collection::vec(arb_scalar(), 0..4)
        )
            .prop_map(move |(key, c, vs)| e(ExprKind::KeyValues {
                key,
                condition: sp(c),
                values: sp(vs)
            })),
        (arb_key(), prop::sample::select(u_conds))
            .prop_map(move |(key, c)| e(ExprKind::Unary { key, condition: sp(c) })),
        (arb_key(), arb_key(), prop::sample::select(v_conds)).prop_map(move |(left, right, c)| e(ExprKind::MultiKey {
            condition: sp(c),
            left,
            right
        })),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    arb_leaf().prop_recursive(3, 16, 3, |inner| {
        let e = |kind| Expr {
            span: Span::default(),
            kind,
        };
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
                .prop_map(move |(op, items)| e(ExprKind::Combinator { op, items })),
            (
                prop::sample::select(vec!["b", "a.c"]),
                prop::sample::select(vec![
                    Condition::AnyElement,
                    Condition::AllElements,
                    Condition::OnlyOneElement,
                    Condition::NoElement
                ]),
                prop::collection::vec(inner, 1..3)
            )
                .prop_map(move |(k, c, expressions)| e(ExprKind::ListComprehension {
                    key: path(k),
                    condition: sp(c),
                    expressions
                })),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_evaluator_agrees_with_the_plain_interpreter(expr in arb_expr(), event in arb_json(), filter in any::<bool>()) {
        let node = super::compile::compile(&expr);
        let mode = if filter { super::eval::Mode::Filter } else { super::eval::Mode::Detection };
        let root = if event.is_object() { event } else { json!({"a": event}) };
        prop_assert_eq!(super::eval::eval(&node, &root, mode), eval(&expr, &root, filter), "{:?} on {}", expr, root);
    }
}
