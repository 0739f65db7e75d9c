//! Match expressions: spanned YAML to [`Expr`] with match-expressions §12
//! validation.
//!
//! A list item is classified by its keys exactly as match-expressions §3
//! prescribes (combinator, then `Expressions`, `Enrichment`, absolute,
//! multi-key, key/values, key/value, unary), then checked against the shape
//! its `Condition` needs and against the restrictions of the list it stands
//! in (`InlineFilters` §10.1, `DynamicSeverities` §11). Every problem is
//! reported with the narrowest span; an expression with an error is left out
//! of the result, and so is every combinator or list comprehension that
//! contains one. Key specifiers and the KeyPath grammar (§2) live here too,
//! because the alert keys (`alert.rs`) use them on their own.

use crate::diagnostic::{Code, Fix, Severity, did_you_mean, suggest};
use crate::load::Cx;
use crate::model::{Combinator, Condition, Enrichment, Expr, ExprKind, ExprList, Group, KeySpec, Operand};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind};

mod key;
#[cfg(test)]
mod tests;
mod value;

use key::{KEY_SPECS, exclusive_specs, key_path_named, parse_key_spec};
pub use key::{key_path, key_spec, key_spec_with, parse_key_path};
use value::{scalar_value, scalar_values, value_fits};

/// Where a list of expressions stands; decides the restrictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprContext {
    /// `Detection` (and `Expressions` below it).
    Detection,
    /// `InlineFilters` (match-expressions §10.1).
    InlineFilters,
    /// `DynamicSeverities[].Conditions` (§11).
    DynamicSeverity,
}

/// The keys of the non-combinator shapes (§3).
const LEAF_KEYS: &[&str] = &[
    "Condition",
    "Key",
    "DeepKey",
    "KeyPath",
    "Value",
    "Values",
    "Expressions",
    "Enrichment",
];

/// The combinator keys (§5).
const COMBINATORS: &[(&str, Combinator)] = &[
    ("All", Combinator::All),
    ("Any", Combinator::Any),
    ("OnlyOne", Combinator::OnlyOne),
    ("None", Combinator::None),
];

/// Every key a match expression may have, for suggestions: the leaf keys,
/// then the combinators.
const ALL_KEYS: &[&str] = &all_keys();

const fn all_keys() -> [&'static str; LEAF_KEYS.len() + COMBINATORS.len()] {
    let mut out = [""; LEAF_KEYS.len() + COMBINATORS.len()];
    let mut i = 0;
    while i < LEAF_KEYS.len() {
        out[i] = LEAF_KEYS[i];
        i += 1;
    }
    let mut j = 0;
    while j < COMBINATORS.len() {
        out[i + j] = COMBINATORS[j].0;
        j += 1;
    }
    out
}

/// Most match expressions (mappings, nested ones included, counted after
/// aliases are expanded) one list may hold. Real detections hold a few
/// dozen; an alias repeats its anchor's whole expression, so a small file
/// can otherwise expand to a million conditions that every test evaluates.
pub const MAX_EXPRESSIONS: usize = 10_000;

/// The number of mappings in a tree (every match expression is one),
/// counting stops once it passes `limit`.
pub fn count_expressions(node: &Node, limit: usize) -> usize {
    let mut count = 0usize;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match &n.kind {
            NodeKind::Map(entries) => {
                count += 1;
                if count > limit {
                    break;
                }
                stack.extend(entries.iter().map(|(_, v)| v));
            }
            NodeKind::Seq(items) => stack.extend(items),
            _ => {}
        }
    }
    count
}

/// Reads a list of match expressions under `key`.
///
/// Returns `None` when the value is not a list, otherwise the expressions
/// that are valid (an invalid one is reported and left out). An empty list
/// is not reported here: whether it is allowed depends on the key, and the
/// callers check it. A `null` value is only reported for `Detection`; the
/// rule loader reports other top-level keys without a value itself.
pub fn expr_list(cx: &mut Cx, node: &Node, key: &str, context: ExprContext) -> Option<ExprList> {
    if node.is_null() && key != "Detection" {
        return None;
    }
    let items = list_of_expressions(cx, node, key)?;
    let mut total = 0usize;
    for item in items {
        total += count_expressions(item, MAX_EXPRESSIONS);
        if total > MAX_EXPRESSIONS {
            cx.report(
                Code::InvalidExpression,
                item.span,
                format!("`{key}` holds more than {MAX_EXPRESSIONS} match expressions once aliases are expanded"),
            )
            .help = Some(
                "an alias repeats its anchor's whole expression; write the conditions out, or use `IsIn` with `Values`"
                    .to_owned(),
            );
            return Some(Vec::new());
        }
    }
    let mut list: ExprList = items.iter().filter_map(|item| expr(cx, item, context)).collect();
    // Kept for the whole run: `filter_map` cannot size the list up front.
    list.shrink_to_fit();
    Some(list)
}

/// Whether an error was reported since `mark` (a length of `cx.diags`).
fn has_errors_since(cx: &Cx, mark: usize) -> bool {
    cx.diags
        .get(mark..)
        .is_some_and(|new| new.iter().any(|d| d.severity() == Severity::Error))
}

fn is_one_of(key: &Node, names: &[&str]) -> bool {
    key.as_str().is_some_and(|s| names.contains(&s))
}

/// "did you mean `X`?" for a misspelt key.
fn suggest_key(key: &Node, names: &[&str]) -> Option<String> {
    did_you_mean(key.as_str()?, names.iter().copied())
}

/// The help line and fix of a misspelt key `key` of `map`: the rename to
/// the nearest of `names` (see [`crate::load::cx::rename_key`]).
fn key_fix(key: &Node, names: &[&str], map: &Node) -> Option<(String, Fix)> {
    crate::load::cx::rename_key(key.as_str()?, key.span, names, map)
}

/// A list of expressions (`wrong-type` otherwise), with a hint for a single
/// mapping written without the list dash.
fn list_of_expressions<'n>(cx: &mut Cx, node: &'n Node, key: &str) -> Option<&'n [Node]> {
    if let Some(items) = node.as_seq() {
        return Some(items);
    }
    let d = cx.report(
        Code::WrongType,
        node.span,
        format!(
            "`{key}` must be a list of match expressions, found {}",
            node.type_name()
        ),
    );
    d.help = Some(if node.as_map().is_some() {
        "start each expression with `- ` to make a list".to_owned()
    } else {
        "write a list of match expressions".to_owned()
    });
    None
}

/// One list item.
fn expr(cx: &mut Cx, node: &Node, context: ExprContext) -> Option<Expr> {
    let Some(entries) = node.as_map() else {
        cx.report(
            Code::InvalidExpression,
            node.span,
            format!("a match expression must be a mapping, found {}", node.type_name()),
        )
        .help = Some("write a mapping such as `KeyPath: a.b` / `Condition: Equals` / `Value: x`".to_owned());
        return None;
    };
    if !entries.iter().any(|(k, _)| is_one_of(k, ALL_KEYS)) {
        not_an_expression(cx, node, entries);
        return None;
    }
    let mark = cx.diags.len();
    let combinators: Vec<(&Node, &Node, Combinator)> = entries
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str()?;
            COMBINATORS.iter().find(|(n, _)| *n == name).map(|(_, op)| (k, v, *op))
        })
        .collect();
    let kind = if combinators.is_empty() {
        leaf(cx, node, context)
    } else {
        combinator(cx, entries, &combinators, context)
    }?;
    if has_errors_since(cx, mark) {
        return None;
    }
    Some(Expr { span: node.span, kind })
}

/// A mapping with none of the expression keys (`invalid-expression`).
fn not_an_expression(cx: &mut Cx, node: &Node, entries: &[(Node, Node)]) {
    let Some((first, _)) = entries.first() else {
        cx.report(
            Code::InvalidExpression,
            node.span,
            "an empty mapping is not a match expression",
        )
        .help = Some("write a `Condition` with a key specifier, or a combinator such as `All`".to_owned());
        return;
    };
    let names: Vec<String> = entries
        .iter()
        .map(|(k, _)| format!("`{}`", k.key_text().unwrap_or_else(|| "?".to_owned())))
        .collect();
    if let Some((k, _)) = entries
        .iter()
        .find(|(k, _)| matches!(k.as_str(), Some("Group" | "Sequence")))
    {
        let name = k.key_text().unwrap_or_default();
        cx.report(
            Code::InvalidExpression,
            k.span,
            format!("`{name}` is a correlation-rule form, not a match expression"),
        )
        .help = Some(
            "`Group` and `Sequence` belong in a `correlation_rule`; a rule's `Detection` lists match expressions"
                .to_owned(),
        );
        return;
    }
    let help = entries.iter().find_map(|(k, _)| {
        let name = k.as_str()?;
        suggest(name, ALL_KEYS.iter().copied()).map(|s| format!("`{name}`: did you mean `{s}`?"))
    });
    cx.report(
        Code::InvalidExpression,
        first.span,
        format!(
            "not a match expression: none of its keys ({}) is a match-expression key",
            names.join(", ")
        ),
    )
    .help = Some(help.unwrap_or_else(|| {
        "a match expression needs `Condition`, or one combinator (`All`, `Any`, `OnlyOne`, `None`)".to_owned()
    }));
}

/// Reports a construct the context does not allow.
fn restrict(cx: &mut Cx, context: ExprContext, span: Span, what: &str) {
    match context {
        ExprContext::Detection => {}
        ExprContext::InlineFilters => {
            cx.report(
                Code::InlineFilterRestriction,
                span,
                format!("{what} is not allowed in `InlineFilters`"),
            )
            .help = Some(
                "filters allow `KeyPath` or `Enrichment` expressions with filter conditions, and `All`/`Any` groups; move this check to `Detection`"
                    .to_owned(),
            );
        }
        ExprContext::DynamicSeverity => {
            cx.report(
                Code::DynamicSeverityRestriction,
                span,
                format!("{what} is not allowed in `DynamicSeverities` conditions"),
            )
            .help = Some(
                "severity conditions allow key/value, key/values, existence and enrichment expressions, combined with `All`"
                    .to_owned(),
            );
        }
    }
}

/// A combinator mapping (§5).
fn combinator(
    cx: &mut Cx,
    entries: &[(Node, Node)],
    combinators: &[(&Node, &Node, Combinator)],
    context: ExprContext,
) -> Option<ExprKind> {
    let (_, _, op) = *combinators.first()?;
    let first = op.name();
    for (k, _, other) in &combinators[1..] {
        cx.report(
            Code::ExclusiveKeys,
            k.span,
            format!("`{first}` and `{}` cannot be used together", other.name()),
        )
        .help = Some("write one combinator per mapping; nest the other one inside it".to_owned());
    }
    for (k, _) in entries {
        if combinators.iter().any(|(ck, _, _)| std::ptr::eq(*ck, k)) {
            continue;
        }
        let text = k.key_text().unwrap_or_else(|| "?".to_owned());
        let help = if is_one_of(k, LEAF_KEYS) {
            format!("a combinator mapping holds only its list; move `{text}` into an expression of the list")
        } else {
            suggest_key(k, ALL_KEYS).unwrap_or_else(|| "a combinator mapping holds only its list".to_owned())
        };
        cx.report(
            Code::UnknownKey,
            k.span,
            format!("key `{text}` is not allowed next to `{first}`"),
        )
        .help = Some(help);
    }
    let mut result = None;
    for (i, (k, v, op)) in combinators.iter().enumerate() {
        match context {
            ExprContext::InlineFilters if matches!(op, Combinator::OnlyOne | Combinator::None) => {
                restrict(cx, context, k.span, &format!("the combinator `{}`", op.name()));
            }
            ExprContext::DynamicSeverity => {
                restrict(cx, context, k.span, &format!("the combinator `{}`", op.name()));
            }
            _ => {}
        }
        let Some(items) = list_of_expressions(cx, v, op.name()) else {
            continue;
        };
        if items.is_empty() && context == ExprContext::Detection {
            let outcome = match op {
                Combinator::All | Combinator::None => "always matches",
                Combinator::Any | Combinator::OnlyOne => "never matches",
            };
            cx.report(
                Code::EmptyGroup,
                v.span,
                format!("the empty `{}` group {outcome}", op.name()),
            )
            .help = Some("add expressions to the group or remove it".to_owned());
        }
        let parsed: Vec<Option<Expr>> = items.iter().map(|item| expr(cx, item, context)).collect();
        if i == 0 {
            result = parsed.into_iter().collect::<Option<ExprList>>();
        }
    }
    Some(ExprKind::Combinator { op, items: result? })
}

/// The `Condition` of a non-combinator expression.
enum Cond {
    /// Missing, not a string or unknown: reported, shape checks skipped.
    Bad,
    /// A known condition (aliases resolved).
    Known(Spanned<Condition>),
}

fn condition(cx: &mut Cx, node: &Node) -> Cond {
    let Some(v) = node.get("Condition") else {
        cx.missing(node, "Condition", "a match expression");
        if let Some(d) = cx.diags.last_mut() {
            d.help = Some("add a `Condition`, e.g. `Condition: Equals`".to_owned());
        }
        return Cond::Bad;
    };
    let Some(name) = v.as_str() else {
        cx.string(v, "Condition");
        return Cond::Bad;
    };
    match Condition::parse(name) {
        Some((c, alias)) => {
            if alias {
                cx.report(
                    Code::DeprecatedCondition,
                    v.span,
                    format!("the condition `{name}` is deprecated"),
                )
                .with_help_and_fix(
                    format!("use `{}`, which means the same", c.name()),
                    Fix::replace(format!("replace `{name}` with `{}`", c.name()), v.span, c.name(), true),
                );
            }
            Cond::Known(Spanned::new(c, v.span))
        }
        None => {
            let found = Fix::misspelt(name, v.span, Condition::ALL.iter().map(|c| c.name()));
            let d = cx.report(Code::UnknownCondition, v.span, format!("unknown condition `{name}`"));
            match found {
                Some((help, fix)) => d.with_help_and_fix(help, fix),
                None => {
                    d.help =
                        Some("condition names are case-sensitive; see the list in match-expressions §4.1".to_owned());
                }
            }
            Cond::Bad
        }
    }
}

/// The shapes of §3 other than combinators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    KeyValue,
    KeyValues,
    MultiKey,
    ListComprehension,
    Unary,
    Absolute,
    Enrichment,
    /// A condition without any key specifier (and not absolute).
    NoKey,
}

/// A non-combinator expression.
fn leaf(cx: &mut Cx, node: &Node, context: ExprContext) -> Option<ExprKind> {
    let entries = node.as_map()?;
    for (k, _) in entries {
        if is_one_of(k, LEAF_KEYS) {
            continue;
        }
        let text = k.key_text().unwrap_or_else(|| "?".to_owned());
        let found = key_fix(k, LEAF_KEYS, node);
        let help = suggest_key(k, ALL_KEYS);
        let d = cx.report(
            Code::UnknownKey,
            k.span,
            format!("unknown key `{text}` in a match expression"),
        );
        match found {
            Some((help, fix)) => d.with_help_and_fix(help, fix),
            None => d.help = Some(help.unwrap_or_else(|| format!("allowed keys: {}", LEAF_KEYS.join(", ")))),
        }
    }
    let cond = condition(cx, node);
    let ks_entries: Vec<&(Node, Node)> = entries.iter().filter(|(k, _)| is_one_of(k, KEY_SPECS)).collect();
    let specs: Vec<Option<KeySpec>> = ks_entries.iter().map(|(k, v)| parse_key_spec(cx, k, v)).collect();
    exclusive_specs(cx, &ks_entries);
    let spec = if specs.len() == 1 {
        specs.into_iter().next().flatten()
    } else {
        None
    };
    let has_ks = !ks_entries.is_empty();
    let value = node.get_entry("Value");
    let values = node.get_entry("Values");
    if value.is_some() && values.is_some() {
        cx.exclusive(node, "Value", "Values");
        if let Some(d) = cx.diags.last_mut() {
            d.help = Some("use `Value` with a single-value condition, or `Values` with `IsIn`/`IsNotIn`".to_owned());
        }
    }
    let expressions = node.get_entry("Expressions");
    let enrichment = node.get_entry("Enrichment");

    let is_absolute = matches!(&cond, Cond::Known(c) if c.value.group() == Group::A);
    let values_are_keys =
        values.is_some_and(|(_, v)| v.as_seq().is_some_and(|s| s.iter().any(|i| i.as_map().is_some())));
    let shape = if expressions.is_some() {
        Shape::ListComprehension
    } else if enrichment.is_some() {
        Shape::Enrichment
    } else if is_absolute {
        Shape::Absolute
    } else if !has_ks && values_are_keys {
        Shape::MultiKey
    } else if has_ks && values.is_some() {
        Shape::KeyValues
    } else if has_ks && value.is_some() {
        Shape::KeyValue
    } else if has_ks {
        Shape::Unary
    } else {
        Shape::NoKey
    };

    // InlineFilters take only `KeyPath` among the key specifiers (§10.1 rule 1).
    if context == ExprContext::InlineFilters && matches!(shape, Shape::KeyValue | Shape::KeyValues | Shape::Unary) {
        for (k, _) in &ks_entries {
            if k.as_str() != Some("KeyPath") {
                let name = k.key_text().unwrap_or_default();
                cx.report(
                    Code::InlineFilterRestriction,
                    k.span,
                    format!("`{name}` is not allowed in `InlineFilters`"),
                )
                .help = Some("filters use `KeyPath` (dotted notation) as their key specifier".to_owned());
            }
        }
    }
    // Conditions that filters reject (§10.1 rule 3), for the shapes filters allow.
    if let (ExprContext::InlineFilters, Cond::Known(c)) = (context, &cond) {
        let allowed_shape = matches!(
            shape,
            Shape::KeyValue | Shape::KeyValues | Shape::Unary | Shape::Enrichment | Shape::NoKey
        );
        if allowed_shape && !c.value.allowed_in_filters() {
            let help = match c.value {
                Condition::Exists | Condition::IsNotNull => "use `IsNotNullOrEmpty`, or move the check to `Detection`",
                Condition::DoesNotExist | Condition::IsNull => "use `IsNullOrEmpty`, or move the check to `Detection`",
                _ => "move the check to `Detection`",
            };
            cx.report(
                Code::InlineFilterRestriction,
                c.span,
                format!("the condition `{}` is not allowed in `InlineFilters`", c.value.name()),
            )
            .help = Some(help.to_owned());
        }
    }

    let known = match &cond {
        Cond::Known(c) => Some(c.clone()),
        Cond::Bad => None,
    };
    match shape {
        Shape::ListComprehension => list_comprehension(cx, node, known, spec, has_ks, context),
        Shape::Enrichment => enrichment_expr(cx, node, known, &ks_entries),
        Shape::Absolute => absolute(cx, node, known?, context),
        Shape::MultiKey => multi_key(cx, node, known, context),
        Shape::KeyValues => {
            let (vk, vv) = values?;
            let list = scalar_values(cx, vv);
            let c = known?;
            match c.value.group() {
                Group::L => Some(ExprKind::KeyValues {
                    key: spec?,
                    condition: c,
                    values: list?,
                }),
                Group::V => {
                    shape_error(
                        cx,
                        vk.span,
                        format!("`{}` takes a single `Value`, not `Values`", c.value.name()),
                        "use `IsIn` to compare with a list, or one expression per value under `Any`",
                    );
                    None
                }
                Group::U => {
                    shape_error(
                        cx,
                        vk.span,
                        format!("`{}` takes no `Values`", c.value.name()),
                        "remove `Values`",
                    );
                    None
                }
                Group::E | Group::A => {
                    needs_expressions(cx, &c);
                    None
                }
            }
        }
        Shape::KeyValue => {
            let (vk, vv) = value?;
            let ignored = known.as_ref().is_some_and(|c| c.value.is_unary_ip());
            let scalar = if ignored { None } else { scalar_value(cx, vv, "`Value`") };
            let c = known?;
            match c.value.group() {
                Group::V => {
                    let v = scalar?;
                    value_fits(cx, c.value, &v);
                    Some(ExprKind::KeyValue {
                        key: spec?,
                        condition: c,
                        value: v,
                    })
                }
                Group::U if c.value.is_unary_ip() => {
                    cx.report(
                        Code::ValueIgnored,
                        vv.span,
                        format!("`Value` is ignored with `{}`", c.value.name()),
                    )
                    .help = Some("remove `Value`; it never changes the result".to_owned());
                    Some(ExprKind::Unary {
                        key: spec?,
                        condition: c,
                    })
                }
                Group::U => {
                    shape_error(
                        cx,
                        vk.span,
                        format!("`{}` takes no `Value`", c.value.name()),
                        "remove `Value`",
                    );
                    None
                }
                Group::L => {
                    let help = format!("write a list: `Values: [{}]`", node_text(vv));
                    shape_error(
                        cx,
                        vk.span,
                        format!("`{}` takes a list in `Values`, not `Value`", c.value.name()),
                        &help,
                    );
                    None
                }
                Group::E | Group::A => {
                    needs_expressions(cx, &c);
                    None
                }
            }
        }
        Shape::Unary => {
            let c = known?;
            match c.value.group() {
                Group::U => Some(ExprKind::Unary {
                    key: spec?,
                    condition: c,
                }),
                Group::V => {
                    let msg = format!("`{}` needs a `Value`", c.value.name());
                    shape_error(cx, c.span, msg, "add `Value: ...` with the comparand");
                    None
                }
                Group::L => {
                    let msg = format!("`{}` needs a list in `Values`", c.value.name());
                    shape_error(cx, c.span, msg, "add `Values: [...]`");
                    None
                }
                Group::E | Group::A => {
                    needs_expressions(cx, &c);
                    None
                }
            }
        }
        Shape::NoKey => {
            if let Some((_, vv)) = value {
                scalar_value(cx, vv, "`Value`");
            } else if let Some((_, vv)) = values {
                scalar_values(cx, vv);
            }
            if let Some(c) = known {
                let msg = format!("the `{}` expression has no key specifier", c.value.name());
                shape_error(
                    cx,
                    node.first_key_span(),
                    msg,
                    "add `KeyPath` (or `Key`/`DeepKey`) naming the event field to test",
                );
            }
            None
        }
    }
}

/// Reports `condition-shape`.
fn shape_error(cx: &mut Cx, span: Span, message: String, help: &str) {
    cx.report(Code::ConditionShape, span, message).help = Some(help.to_owned());
}

/// An element condition without `Expressions`.
fn needs_expressions(cx: &mut Cx, c: &Spanned<Condition>) {
    let msg = format!("`{}` needs `Expressions`", c.value.name());
    shape_error(
        cx,
        c.span,
        msg,
        "add `Expressions:` with the match expressions each array element must satisfy",
    );
}

/// The text of a scalar node for help lines.
fn node_text(node: &Node) -> String {
    node.key_text().unwrap_or_else(|| "...".to_owned())
}

/// Type 4 (§6).
fn list_comprehension(
    cx: &mut Cx,
    node: &Node,
    cond: Option<Spanned<Condition>>,
    spec: Option<KeySpec>,
    has_ks: bool,
    context: ExprContext,
) -> Option<ExprKind> {
    let (ek, ev) = node.get_entry("Expressions")?;
    restrict(cx, context, ek.span, "a list comprehension (`Expressions`)");
    for name in ["Value", "Values", "Enrichment"] {
        if let Some((k, _)) = node.get_entry(name) {
            shape_error(
                cx,
                k.span,
                format!("`{name}` cannot be used in a list comprehension (`Expressions`)"),
                "conditions on the elements go inside `Expressions`",
            );
        }
    }
    if !has_ks {
        shape_error(
            cx,
            node.first_key_span(),
            "the list comprehension has no key specifier for its array".to_owned(),
            "add `KeyPath` (or `Key`/`DeepKey`) naming the array",
        );
    }
    if let Some(c) = &cond {
        if c.value.group() != Group::E {
            shape_error(
                cx,
                c.span,
                format!("`{}` cannot be used with `Expressions`", c.value.name()),
                "a list comprehension takes `AnyElement`, `AllElements`, `OnlyOneElement` or `NoElement`",
            );
        }
    }
    // PAT's schema allows only string steps in this DeepKey (§2.2).
    if let Some(step) = node
        .get("DeepKey")
        .and_then(Node::as_seq)
        .and_then(|steps| steps.iter().find(|s| matches!(s.kind, NodeKind::Int(_))))
    {
        cx.report(
            Code::PatIncompatible,
            step.span,
            "an integer step in the `DeepKey` of a list comprehension is rejected by PAT",
        )
        .help = Some("use a `KeyPath` with `[N]` to stay compatible with PAT".to_owned());
    }
    let items = list_of_expressions(cx, ev, "Expressions")?;
    if items.is_empty() {
        cx.report(Code::InvalidValue, ev.span, "`Expressions` must not be empty")
            .help = Some("list at least one match expression; each array element is tested against them".to_owned());
        return None;
    }
    // Inner expressions are only valid in `Detection`; a restricted list
    // comprehension is reported once above, not once per inner expression.
    let inner: Vec<Option<Expr>> = items
        .iter()
        .map(|item| expr(cx, item, ExprContext::Detection))
        .collect();
    let expressions = inner.into_iter().collect::<Option<ExprList>>()?;
    Some(ExprKind::ListComprehension {
        key: spec?,
        condition: cond?,
        expressions,
    })
}

/// Type 6 (§8).
fn absolute(cx: &mut Cx, node: &Node, cond: Spanned<Condition>, context: ExprContext) -> Option<ExprKind> {
    for (k, _) in node.as_map().unwrap_or(&[]) {
        if k.as_str() == Some("Condition") || !is_one_of(k, LEAF_KEYS) {
            continue;
        }
        let name = k.key_text().unwrap_or_default();
        shape_error(
            cx,
            k.span,
            format!("`{}` takes no other key; found `{name}`", cond.value.name()),
            "an absolute expression is `Condition: AlwaysTrue` or `Condition: AlwaysFalse` alone",
        );
    }
    restrict(
        cx,
        context,
        cond.span,
        &format!("the absolute condition `{}`", cond.value.name()),
    );
    Some(ExprKind::Absolute(cond))
}

/// Type 3 (§7).
fn multi_key(cx: &mut Cx, node: &Node, cond: Option<Spanned<Condition>>, context: ExprContext) -> Option<ExprKind> {
    let (vk, vv) = node.get_entry("Values")?;
    restrict(cx, context, vk.span, "a multi-key expression");
    let items = vv.as_seq()?;
    let specs: Vec<Option<KeySpec>> = items
        .iter()
        .map(|item| key_spec_with(cx, item, "a multi-key `Values` item", Code::MultiKeyArity))
        .collect();
    if items.len() != 2 {
        let span = items.get(2).map_or(vv.span, |extra| extra.span);
        cx.report(
            Code::MultiKeyArity,
            span,
            format!(
                "a multi-key expression compares exactly two key specifiers, found {}",
                items.len()
            ),
        )
        .help = Some("list two key specifiers under `Values`: the target and the value to compare with".to_owned());
    }
    if let Some(c) = &cond {
        if c.value.group() != Group::V {
            shape_error(
                cx,
                c.span,
                format!("`{}` cannot be used in a multi-key expression", c.value.name()),
                "multi-key expressions take a single-value condition such as `Equals` or `IsGreaterThan`",
            );
        }
    }
    let mut specs = specs.into_iter();
    let (left, right) = (specs.next()??, specs.next()??);
    if specs.next().is_some() {
        return None;
    }
    Some(ExprKind::MultiKey {
        condition: cond?,
        left: Box::new(left),
        right: Box::new(right),
    })
}

/// Type 7 (§9).
fn enrichment_expr(
    cx: &mut Cx,
    node: &Node,
    cond: Option<Spanned<Condition>>,
    ks_entries: &[&(Node, Node)],
) -> Option<ExprKind> {
    let (ek, ev) = node.get_entry("Enrichment")?;
    if let Some((k, _)) = ks_entries.first() {
        let (second, name) = if k.span.start > ek.span.start {
            (k, k.key_text().unwrap_or_default())
        } else {
            (ek, "Enrichment".to_owned())
        };
        let other = if name == "Enrichment" {
            k.key_text().unwrap_or_default()
        } else {
            "Enrichment".to_owned()
        };
        cx.report(
            Code::ExclusiveKeys,
            second.span,
            format!("`{other}` and `{name}` cannot be used together"),
        )
        .help = Some("an enrichment expression reads `p_enrichment` and takes no key specifier".to_owned());
    }
    let enrichment = enrichment(cx, ev);
    let value = node.get_entry("Value");
    let values = node.get_entry("Values");
    let operand = match (value, values) {
        (Some((_, v)), _) => scalar_value(cx, v, "`Value`").map(Operand::Value),
        (None, Some((_, v))) => scalar_values(cx, v).map(Operand::Values),
        (None, None) => None,
    };
    let c = cond?;
    let name = c.value.name();
    match (value, values, c.value.group()) {
        (Some(_), _, Group::V) => {
            if let Some(Operand::Value(v)) = &operand {
                value_fits(cx, c.value, v);
            }
        }
        (None, Some(_), Group::L) => {}
        (Some((vk, _)), _, Group::L) => {
            shape_error(
                cx,
                vk.span,
                format!("`{name}` takes a list in `Values`, not `Value`"),
                "write `Values: [...]`",
            );
        }
        (None, Some((vk, _)), Group::V) => {
            shape_error(
                cx,
                vk.span,
                format!("`{name}` takes a single `Value`, not `Values`"),
                "use `IsIn` to compare with a list",
            );
        }
        (None, None, Group::V | Group::L) => {
            let help = if c.value.group() == Group::V {
                "add `Value: ...`"
            } else {
                "add `Values: [...]`"
            };
            shape_error(
                cx,
                c.span,
                format!("an enrichment expression with `{name}` needs a comparand"),
                help,
            );
        }
        _ => {
            shape_error(
                cx,
                c.span,
                format!(
                    "`{name}` cannot be used with `Enrichment`; an enrichment expression needs `Value` or `Values`"
                ),
                "to test whether enrichment data exists, use `KeyPath: p_enrichment.<table>` with `IsNotNullOrEmpty`",
            );
        }
    }
    Some(ExprKind::Enrichment {
        enrichment: Box::new(enrichment?),
        condition: c,
        operand: operand?,
    })
}

/// `Enrichment: {Table, Selector, FieldPath}`.
fn enrichment(cx: &mut Cx, node: &Node) -> Option<Enrichment> {
    cx.mapping(node, "Enrichment")?;
    cx.unknown_keys(
        node,
        &["Table", "Selector", "FieldPath"],
        Code::UnknownKey,
        "`Enrichment`",
    );
    let name = |cx: &mut Cx, key: &str| -> Option<Spanned<String>> {
        let Some(v) = node.get(key) else {
            cx.missing(node, key, "`Enrichment`");
            return None;
        };
        let s = cx.string(v, key)?;
        if s.value.is_empty() {
            cx.report(Code::InvalidValue, s.span, format!("`{key}` must not be empty"));
            return None;
        }
        Some(s)
    };
    let table = name(cx, "Table");
    let selector = name(cx, "Selector");
    let field_path = match node.get("FieldPath") {
        None => {
            cx.missing(node, "FieldPath", "`Enrichment`");
            None
        }
        Some(v) => cx
            .string(v, "FieldPath")
            .and_then(|s| key_path_named(cx, &s.value, s.span, "FieldPath")),
    };
    Some(Enrichment {
        table: table?,
        selector: selector?,
        field_path: field_path?,
    })
}
