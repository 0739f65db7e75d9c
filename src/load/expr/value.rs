//! Value typing: `Value` and `Values` scalars (§3 rule 3) and the checks a
//! value gets from its condition's descriptor (`never-matches`,
//! `invalid-value`).

use super::node_text;
use crate::diagnostic::Code;
use crate::ip::parse_cidr;
use crate::load::Cx;
use crate::model::{Condition, Scalar, Takes};
use crate::source::Spanned;
use crate::yaml::{Node, NodeKind, float_text};

/// A `Value` or an item of `Values`: a string, a finite number or a boolean.
pub(super) fn scalar_value(cx: &mut Cx, node: &Node, what: &str) -> Option<Spanned<Scalar>> {
    let scalar = match &node.kind {
        NodeKind::Str(s) => Scalar::Str(s.clone()),
        NodeKind::Int(i) => Scalar::Int(*i),
        NodeKind::Bool(b) => Scalar::Bool(*b),
        NodeKind::Float(f) if f.is_finite() => Scalar::Float(*f),
        NodeKind::Float(f) => {
            let text = float_text(*f);
            cx.report(
                Code::InvalidValue,
                node.span,
                format!("{what} must be a finite number, found `{text}`"),
            )
            .help = Some(format!("quote it (`'{text}'`) to compare with that text"));
            return None;
        }
        NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => {
            let help = match &node.kind {
                NodeKind::Null => {
                    "to test for a missing or null field use `IsNull` or `IsNullOrEmpty` without a value; quote `'null'` to compare with that text"
                }
                NodeKind::Seq(_) if what == "`Value`" => {
                    "to compare with several values use `Condition: IsIn` with `Values`"
                }
                _ => "write a string, a number or a boolean; quote text that contains `: ` or brackets",
            };
            cx.report(
                Code::WrongType,
                node.span,
                format!("{what} must be a string, number or boolean, found {}", node.type_name()),
            )
            .help = Some(help.to_owned());
            return None;
        }
    };
    Some(Spanned::new(scalar, node.span))
}

/// The kind of a scalar for `mixed-values`.
pub(super) fn kind_name(s: &Scalar) -> &'static str {
    match s {
        Scalar::Str(_) => "strings",
        Scalar::Int(_) | Scalar::Float(_) => "numbers",
        Scalar::Bool(_) => "booleans",
    }
}

/// `Values` of key/values and enrichment expressions (§3 rule 3).
pub(super) fn scalar_values(cx: &mut Cx, node: &Node) -> Option<Spanned<Vec<Scalar>>> {
    let Some(items) = node.as_seq() else {
        let help = match &node.kind {
            NodeKind::Map(_) | NodeKind::Null => "write a list: `Values: [a, b]`".to_owned(),
            _ => format!("write a list: `Values: [{}]`", node_text(node)),
        };
        cx.report(
            Code::WrongType,
            node.span,
            format!("`Values` must be a list, found {}", node.type_name()),
        )
        .help = Some(help);
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    let mut first_kind: Option<&'static str> = None;
    let mut mixed = false;
    for item in items {
        let Some(s) = scalar_value(cx, item, "a `Values` item") else {
            ok = false;
            continue;
        };
        let kind = kind_name(&s.value);
        match first_kind {
            None => first_kind = Some(kind),
            Some(first) if first != kind && !mixed => {
                mixed = true;
                ok = false;
                cx.report(
                    Code::MixedValues,
                    item.span,
                    format!("`Values` mixes {first} and {kind}"),
                )
                .help = Some(
                    "write all items as strings, all as numbers or all as booleans; quote numbers to compare them as text"
                        .to_owned(),
                );
            }
            Some(_) => {}
        }
        out.push(s.value);
    }
    ok.then(|| Spanned::new(out, node.span))
}

/// A short description of a scalar for messages.
pub(super) fn describe(s: &Scalar) -> String {
    match s {
        Scalar::Str(v) => format!("the string `{v}`"),
        Scalar::Int(v) => format!("the number `{v}`"),
        Scalar::Float(v) => format!("the number `{}`", float_text(*v)),
        Scalar::Bool(v) => format!("the boolean `{v}`"),
    }
}

/// Value checks that depend on what the condition takes (its descriptor):
/// `never-matches` for string and numeric conditions, `invalid-value` for a
/// CIDR that does not parse.
pub(super) fn value_fits(cx: &mut Cx, c: Condition, value: &Spanned<Scalar>) {
    let name = c.name();
    let takes = c.takes();
    let is_text = takes == Takes::Text;
    let is_numeric = takes == Takes::Number;
    let is_cidr = takes == Takes::Cidr;
    let is_number = matches!(value.value, Scalar::Int(_) | Scalar::Float(_));
    match &value.value {
        Scalar::Str(_) if is_numeric => {
            cx.report(
                Code::NeverMatches,
                value.span,
                format!("`{name}` compares numbers, so {} never matches", describe(&value.value)),
            )
            .help = Some("write the number without quotes".to_owned());
        }
        Scalar::Bool(_) if is_numeric => {
            cx.report(
                Code::NeverMatches,
                value.span,
                format!("`{name}` compares numbers, so {} never matches", describe(&value.value)),
            )
            .help = Some("booleans are not numbers; compare with `Equals`".to_owned());
        }
        other if is_text && !matches!(other, Scalar::Str(_)) => {
            let text = match other {
                Scalar::Float(f) => float_text(*f),
                Scalar::Int(i) => i.to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Str(s) => s.to_string(),
            };
            cx.report(
                Code::NeverMatches,
                value.span,
                format!("`{name}` compares strings, so {} never matches", describe(other)),
            )
            .help = Some(format!("quote the value: `Value: \"{text}\"`"));
        }
        Scalar::Str(s) if is_cidr && parse_cidr(s).is_none() => {
            cx.report(
                Code::InvalidValue,
                value.span,
                format!("`{s}` is not a valid CIDR block or IP address"),
            )
            .help = Some("write a block such as `10.0.0.0/8` or `2001:db8::/32`, or a single address".to_owned());
        }
        other if is_cidr && (is_number || matches!(other, Scalar::Bool(_))) => {
            cx.report(
                Code::InvalidValue,
                value.span,
                format!("`{name}` needs a CIDR block as a string, found {}", describe(other)),
            )
            .help = Some("write a block such as `10.0.0.0/8`".to_owned());
        }
        _ => {}
    }
}
