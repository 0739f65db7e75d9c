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
use crate::model::{Combinator, Condition, Expr, ExprKind, Operand, Scalar};

/// The condition a leaf tests, with negation factored out (R1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// JSON equality.
    Equals,
    /// Case-insensitive equality for strings, else `Equals`.
    IEquals,
    /// String prefix.
    StartsWith,
    /// Case-insensitive prefix.
    IStartsWith,
    /// String suffix.
    EndsWith,
    /// Case-insensitive suffix.
    IEndsWith,
    /// Substring, array membership, member name.
    Contains,
    /// Case-insensitive `Contains`.
    IContains,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// Address or block inside the CIDR.
    InCidr,
    /// Some address of an array inside the CIDR.
    CidrContains,
    /// Membership in `Values`.
    In,
    /// Present (null counts).
    Exists,
    /// Absent or null.
    IsNull,
    /// Absent, null, `""`, `[]` or `{}`.
    IsNullOrEmpty,
    /// An IPv4 or IPv6 address.
    IsIp,
    /// An IPv4 address.
    IsV4,
    /// An IPv6 address.
    IsV6,
    /// In the private table.
    Private,
    /// Globally routable.
    Public,
}

impl Base {
    /// Splits a condition into its positive base and a negation flag.
    pub fn of(c: Condition) -> (Base, bool) {
        use Condition as C;
        match c {
            C::Equals => (Base::Equals, false),
            C::DoesNotEqual => (Base::Equals, true),
            C::IEquals => (Base::IEquals, false),
            C::IDoesNotEqual => (Base::IEquals, true),
            C::StartsWith => (Base::StartsWith, false),
            C::DoesNotStartWith => (Base::StartsWith, true),
            C::IStartsWith => (Base::IStartsWith, false),
            C::IDoesNotStartWith => (Base::IStartsWith, true),
            C::EndsWith => (Base::EndsWith, false),
            C::DoesNotEndWith => (Base::EndsWith, true),
            C::IEndsWith => (Base::IEndsWith, false),
            C::IDoesNotEndWith => (Base::IEndsWith, true),
            C::Contains => (Base::Contains, false),
            C::DoesNotContain => (Base::Contains, true),
            C::IContains => (Base::IContains, false),
            C::IDoesNotContain => (Base::IContains, true),
            C::IsGreaterThan => (Base::Gt, false),
            C::IsGreaterThanOrEquals => (Base::Ge, false),
            C::IsLessThan => (Base::Lt, false),
            C::IsLessThanOrEquals => (Base::Le, false),
            C::IsIPAddressInCIDR => (Base::InCidr, false),
            C::IsIPAddressNotInCIDR => (Base::InCidr, true),
            C::CIDRContainsIPAddresses => (Base::CidrContains, false),
            C::CIDRDoesNotContainIPAddresses => (Base::CidrContains, true),
            C::IsIn => (Base::In, false),
            C::IsNotIn => (Base::In, true),
            C::Exists => (Base::Exists, false),
            C::DoesNotExist => (Base::Exists, true),
            C::IsNull => (Base::IsNull, false),
            C::IsNotNull => (Base::IsNull, true),
            C::IsNullOrEmpty => (Base::IsNullOrEmpty, false),
            C::IsNotNullOrEmpty => (Base::IsNullOrEmpty, true),
            C::IsIPAddress => (Base::IsIp, false),
            C::IsIPv4Address => (Base::IsV4, false),
            C::IsIPv6Address => (Base::IsV6, false),
            C::IsIPAddressPrivate => (Base::Private, false),
            C::IsIPAddressPublic => (Base::Public, false),
            // Element and absolute conditions never reach a leaf.
            C::AnyElement | C::AllElements | C::OnlyOneElement | C::NoElement | C::AlwaysTrue | C::AlwaysFalse => {
                (Base::Exists, false)
            }
        }
    }

    /// Whether absent and null are decided by the condition itself (§4.8)
    /// rather than by rule R2.
    pub fn is_null_aware(self) -> bool {
        matches!(self, Base::Exists | Base::IsNull | Base::IsNullOrEmpty)
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

/// Quantifier of a list comprehension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// At least one.
    Any,
    /// All.
    All,
    /// Exactly one.
    One,
    /// None.
    No,
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
        Scalar::Str(v) => Value::String(v.clone()),
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
            c.folded = Some(s.to_lowercase().into());
            if matches!(base, Base::InCidr | Base::CidrContains) {
                c.net = ip::parse_cidr(s);
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
    let (base, negate) = Base::of(condition);
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
            let (base, negate) = Base::of(condition.value);
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
        } => Node::Each {
            path: Path::compile(key),
            quant: match condition.value {
                Condition::AllElements => Quant::All,
                Condition::OnlyOneElement => Quant::One,
                Condition::NoElement => Quant::No,
                _ => Quant::Any,
            },
            body: compile_list(expressions),
        },
        ExprKind::Absolute(c) => Node::Const(c.value == Condition::AlwaysTrue),
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
