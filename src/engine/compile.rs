//! Compiling typed match expressions into an evaluable [`Node`] tree.
//!
//! Everything a rule alone determines happens here, once: key paths split
//! into segments, comparands lowercased for the `I…` conditions, CIDRs
//! parsed, `IsIn` lists turned into hash sets. The loader has already
//! rejected malformed expressions, so compiling cannot fail.

use std::collections::HashSet;

use ipnet::IpNet;
use serde_json::Value;

use super::key_path::Path;
use crate::ip;
pub use crate::model::{Base, Quant};
use crate::model::{Combinator, Condition, Expr, ExprKind, Operand, Prep, Scalar, Semantics};

/// A leaf condition's positive base and negation flag, read from the
/// condition table. Element and absolute conditions never reach a leaf;
/// they give `Exists`, unnegated.
pub fn test_of(c: Condition) -> (Base, bool) {
    match c.semantics() {
        Semantics::Test(base, negate) => (base, negate),
        Semantics::Each(_) | Semantics::Const(_) => (Base::Exists, false),
    }
}

/// The comparand of a leaf, prepared once.
#[derive(Debug, Clone, Default)]
pub struct Comparand {
    /// `Value` as JSON (or the items of `Values`).
    pub value: Value,
    /// Lowercased string form, for the `I…` conditions.
    pub folded: Option<Box<str>>,
    /// Parsed CIDR, for the CIDR conditions.
    pub net: Option<IpNet>,
    /// `Values` as a set of strings (string items only).
    pub strings: HashSet<Box<str>>,
    /// Non-string `Values` items, compared with JSON equality.
    pub others: Vec<Value>,
}

/// A leaf test: a path, a condition and its comparand.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// What to look at.
    pub path: Path,
    /// The positive condition.
    pub base: Base,
    /// Whether the result is inverted.
    pub negate: bool,
    /// The comparand.
    pub operand: Comparand,
    /// The condition as written, for explanations.
    pub condition: Condition,
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum Node {
    /// AND.
    All(Box<[Node]>),
    /// OR.
    Any(Box<[Node]>),
    /// Exactly one.
    OnlyOne(Box<[Node]>),
    /// NOR.
    None(Box<[Node]>),
    /// A key/value, key/values, unary or enrichment test.
    Leaf(Box<Leaf>),
    /// Two paths compared.
    Multi {
        /// Left operand.
        left: Path,
        /// Right operand.
        right: Path,
        /// Positive condition.
        base: Base,
        /// Inverted.
        negate: bool,
        /// As written.
        condition: Condition,
    },
    /// A list comprehension.
    Each {
        /// The array.
        path: Path,
        /// How many elements must match.
        quant: Quant,
        /// Per element, implicit `All`.
        body: Box<[Node]>,
    },
    /// `AlwaysTrue` / `AlwaysFalse`.
    Const(bool),
}

fn scalar_json(s: &Scalar) -> Value {
    match s {
        Scalar::Str(v) => Value::String(v.to_string()),
        Scalar::Int(i) => Value::from(*i),
        Scalar::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Scalar::Bool(b) => Value::Bool(*b),
    }
}

fn comparand(base: Base, value: Option<&Scalar>, values: Option<&[Scalar]>) -> Comparand {
    let mut c = Comparand::default();
    if let Some(v) = value {
        c.value = scalar_json(v);
        if let Scalar::Str(s) = v {
            match base.prep() {
                Prep::Fold => c.folded = Some(s.to_lowercase().into()),
                Prep::Cidr => c.net = ip::parse_cidr(s),
                Prep::Json | Prep::Set | Prep::Nothing => {}
            }
        }
    }
    if let Some(vs) = values {
        for v in vs {
            match v {
                Scalar::Str(s) => {
                    c.strings.insert(s.as_str().into());
                }
                other => c.others.push(scalar_json(other)),
            }
        }
        c.value = Value::Array(vs.iter().map(scalar_json).collect());
    }
    c
}

fn leaf(path: Path, condition: Condition, value: Option<&Scalar>, values: Option<&[Scalar]>) -> Node {
    let (base, negate) = test_of(condition);
    Node::Leaf(Box::new(Leaf {
        path,
        base,
        negate,
        operand: comparand(base, value, values),
        condition,
    }))
}

/// Compiles a list under an implicit `All`.
pub fn compile_list(list: &[Expr]) -> Box<[Node]> {
    list.iter().map(compile).collect()
}

/// Compiles one expression.
pub fn compile(e: &Expr) -> Node {
    match &e.kind {
        ExprKind::Combinator { op, items } => {
            let items = compile_list(items);
            match op {
                Combinator::All => Node::All(items),
                Combinator::Any => Node::Any(items),
                Combinator::OnlyOne => Node::OnlyOne(items),
                Combinator::None => Node::None(items),
            }
        }
        ExprKind::KeyValue { key, condition, value } => {
            leaf(Path::compile(key), condition.value, Some(&value.value), None)
        }
        ExprKind::KeyValues { key, condition, values } => {
            leaf(Path::compile(key), condition.value, None, Some(&values.value))
        }
        ExprKind::Unary { key, condition } => leaf(Path::compile(key), condition.value, None, None),
        ExprKind::MultiKey { condition, left, right } => {
            let (base, negate) = test_of(condition.value);
            Node::Multi {
                left: Path::compile(left),
                right: Path::compile(right),
                base,
                negate,
                condition: condition.value,
            }
        }
        ExprKind::ListComprehension {
            key,
            condition,
            expressions,
        } => {
            let body = compile_list(expressions);
            match condition.value.semantics() {
                Semantics::Each(quant) => Node::Each {
                    path: Path::compile(key),
                    quant,
                    body,
                },
                // The loader only builds a list comprehension from group E.
                Semantics::Test(..) | Semantics::Const(_) => Node::All(body),
            }
        }
        ExprKind::Absolute(c) => match c.value.semantics() {
            Semantics::Const(b) => Node::Const(b),
            // The loader only builds an absolute expression from group A.
            Semantics::Test(..) | Semantics::Each(_) => Node::Const(false),
        },
        ExprKind::Enrichment {
            enrichment,
            condition,
            operand,
        } => {
            let path = Path::enrichment(
                &enrichment.table.value,
                &enrichment.selector.value,
                &enrichment.field_path.steps,
                &enrichment.field_path.text,
            );
            match operand {
                Operand::Value(v) => leaf(path, condition.value, Some(&v.value), None),
                Operand::Values(vs) => leaf(path, condition.value, None, Some(&vs.value)),
            }
        }
    }
}
