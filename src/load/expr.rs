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

use crate::diagnostic::{Code, Severity, did_you_mean, suggest};
use crate::ip::parse_cidr;
use crate::load::Cx;
use crate::model::{
    Combinator, Condition, Enrichment, Expr, ExprKind, ExprList, Group, KeyPath, KeySpec, Operand, Scalar, Step,
};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind, float_text};

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

/// The three key specifiers (§2).
const KEY_SPECS: &[&str] = &["Key", "DeepKey", "KeyPath"];

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

/// Every key a match expression may have, for suggestions.
const ALL_KEYS: &[&str] = &[
    "Condition",
    "Key",
    "DeepKey",
    "KeyPath",
    "Value",
    "Values",
    "Expressions",
    "Enrichment",
    "All",
    "Any",
    "OnlyOne",
    "None",
];

/// The combinator keys (§5).
const COMBINATORS: &[(&str, Combinator)] = &[
    ("All", Combinator::All),
    ("Any", Combinator::Any),
    ("OnlyOne", Combinator::OnlyOne),
    ("None", Combinator::None),
];

const KEY_PATH_HELP: &str =
    "a KeyPath is member names joined by `.`, each optionally followed by `[N]`, `[-N]` or `[*]`, e.g. `items[0].name`";

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
    Some(items.iter().filter_map(|item| expr(cx, item, context)).collect())
}

/// Reads a mapping that must hold exactly one key specifier.
///
/// Anything that is not a key specifier (a scalar, an `Enrichment`, a
/// mapping without `Key`, `DeepKey` or `KeyPath`) is `invalid-value`; use
/// [`key_spec_with`] for a more specific code.
pub fn key_spec(cx: &mut Cx, node: &Node, place: &str) -> Option<KeySpec> {
    key_spec_with(cx, node, place, Code::InvalidValue)
}

/// Reads a mapping that must hold exactly one key specifier, reporting
/// anything that is not one with `code` (`invalid-group-by`,
/// `invalid-alert-context`, `multi-key-arity`).
///
/// `place` names the value in messages, for example "a `GroupBy` item".
/// Two key specifiers are `exclusive-keys`, other keys next to one are
/// `unknown-key`.
pub fn key_spec_with(cx: &mut Cx, node: &Node, place: &str, code: Code) -> Option<KeySpec> {
    let Some(entries) = node.as_map() else {
        let help = match node.as_str() {
            Some(s) => format!("write a mapping such as `KeyPath: {s}`"),
            None => "write a mapping with one of `Key`, `DeepKey` or `KeyPath`".to_owned(),
        };
        cx.report(
            code,
            node.span,
            format!("{place} must be a key specifier, found {}", node.type_name()),
        )
        .help = Some(help);
        return None;
    };
    let mark = cx.diags.len();
    if let Some((k, _)) = node.get_entry("Enrichment") {
        cx.report(code, k.span, format!("`Enrichment` is not a key specifier ({place})"))
            .help = Some(
            "read enrichment data with a `KeyPath` into `p_enrichment`, e.g. `KeyPath: p_enrichment.<table>.<selector>.<field>`"
                .to_owned(),
        );
    }
    let present: Vec<&(Node, Node)> = entries.iter().filter(|(k, _)| is_one_of(k, KEY_SPECS)).collect();
    if present.is_empty() {
        if node.get("Enrichment").is_none() {
            let (span, help) = match entries.first() {
                Some((k, _)) => (k.span, suggest_key(k, KEY_SPECS)),
                None => (node.span, None),
            };
            cx.report(code, span, format!("{place} has no key specifier")).help =
                Some(help.unwrap_or_else(|| "use exactly one of `Key`, `DeepKey` or `KeyPath`".to_owned()));
        }
        return None;
    }
    for (k, _) in entries {
        if is_one_of(k, KEY_SPECS) || k.as_str() == Some("Enrichment") {
            continue;
        }
        let text = k.key_text().unwrap_or_else(|| "?".to_owned());
        let help = suggest_key(k, KEY_SPECS);
        cx.report(Code::UnknownKey, k.span, format!("unknown key `{text}` in {place}"))
            .help = Some(help.unwrap_or_else(|| format!("{place} holds exactly one of `Key`, `DeepKey` or `KeyPath`")));
    }
    let specs: Vec<Option<KeySpec>> = present.iter().map(|(k, v)| parse_key_spec(cx, k, v)).collect();
    exclusive_specs(cx, &present);
    let spec = specs.into_iter().next().flatten();
    if has_errors_since(cx, mark) || present.len() > 1 {
        return None;
    }
    spec
}

/// Parses a KeyPath (§2.3.1), reporting `invalid-key-path` at `span`.
pub fn key_path(cx: &mut Cx, text: &str, span: Span) -> Option<KeyPath> {
    key_path_named(cx, text, span, "KeyPath")
}

/// Parses the KeyPath grammar of §2.3.1 into steps.
///
/// # Errors
/// A lowercase fragment saying what breaks the grammar ("it contains an
/// empty segment (`..`)").
pub fn parse_key_path(text: &str) -> Result<Vec<Step>, String> {
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    let mut steps = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if matches!(c, '.' | '[' | ']') {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            let first = steps.is_empty();
            return Err(match chars.peek() {
                Some('.') if first => "it starts with `.`".to_owned(),
                Some('.') => "it contains an empty segment (`..`)".to_owned(),
                Some('[') if first => "it starts with `[`; a path starts with a member name".to_owned(),
                Some('[') => "a `[` follows a `.`; write `a[0]`, not `a.[0]`".to_owned(),
                Some(_) => "it has a `]` without a matching `[`".to_owned(),
                None => "it ends with `.`".to_owned(),
            });
        }
        steps.push(Step::Member(name));
        while chars.peek() == Some(&'[') {
            chars.next();
            let mut inner = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == ']' {
                    closed = true;
                    break;
                }
                inner.push(c);
            }
            if !closed {
                return Err("it has a `[` without a closing `]`".to_owned());
            }
            steps.push(selector(&inner)?);
        }
        match chars.next() {
            None => return Ok(steps),
            Some('.') => {
                if chars.peek().is_none() {
                    return Err("it ends with `.`".to_owned());
                }
            }
            Some(']') => return Err("it has a `]` without a matching `[`".to_owned()),
            Some(c) => return Err(format!("`{c}` follows a `]`; separate the next name with `.`")),
        }
    }
}

/// One bracket selector: `*` or a decimal index with an optional `-`.
fn selector(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    let digits = inner.strip_prefix('-').unwrap_or(inner);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`[{inner}]` is not a selector; use `[N]`, `[-N]` or `[*]`"));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("the index `[{inner}]` is too large"))
}

/// Parses a KeyPath written under `key` (`KeyPath`, `FieldPath`).
fn key_path_named(cx: &mut Cx, text: &str, span: Span, key: &str) -> Option<KeyPath> {
    match parse_key_path(text) {
        Ok(steps) => Some(KeyPath {
            text: text.to_owned(),
            steps,
            span,
        }),
        Err(reason) => {
            cx.report(
                Code::InvalidKeyPath,
                span,
                format!("invalid `{key}` `{text}`: {reason}"),
            )
            .help = Some(KEY_PATH_HELP.to_owned());
            None
        }
    }
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

/// Reports every key specifier after the first as `exclusive-keys`.
fn exclusive_specs(cx: &mut Cx, present: &[&(Node, Node)]) {
    let Some(((first, _), rest)) = present.split_first().map(|(f, r)| (*f, r)) else {
        return;
    };
    let first = first.key_text().unwrap_or_default();
    for (k, _) in rest.iter().copied() {
        let name = k.key_text().unwrap_or_default();
        cx.report(
            Code::ExclusiveKeys,
            k.span,
            format!("`{first}` and `{name}` cannot be used together"),
        )
        .help = Some("keep exactly one key specifier: `Key`, `DeepKey` or `KeyPath`".to_owned());
    }
}

/// Parses the value of one key specifier entry.
fn parse_key_spec(cx: &mut Cx, key: &Node, value: &Node) -> Option<KeySpec> {
    match key.as_str() {
        Some("Key") => {
            let s = cx.string(value, "Key")?;
            if s.value.is_empty() {
                cx.report(Code::InvalidKeyPath, s.span, "`Key` must not be empty").help =
                    Some("name the top-level event field to look at".to_owned());
                return None;
            }
            Some(KeySpec::Key(s))
        }
        Some("KeyPath") => {
            let s = cx.string(value, "KeyPath")?;
            key_path(cx, &s.value, s.span).map(KeySpec::KeyPath)
        }
        Some("DeepKey") => deep_key(cx, value).map(KeySpec::DeepKey),
        _ => None,
    }
}

/// A `DeepKey` list: strings look up members, integers index arrays.
fn deep_key(cx: &mut Cx, node: &Node) -> Option<Spanned<Vec<Step>>> {
    let Some(items) = node.as_seq() else {
        let help = match node.as_str() {
            Some(s) => format!(
                "write a list of steps, e.g. `DeepKey: [{}]`, or use `KeyPath: {s}`",
                s.replace('.', ", ")
            ),
            None => "write a list of steps, e.g. `DeepKey: [user, name]`".to_owned(),
        };
        cx.report(
            Code::WrongType,
            node.span,
            format!("`DeepKey` must be a list, found {}", node.type_name()),
        )
        .help = Some(help);
        return None;
    };
    if items.is_empty() {
        cx.report(Code::InvalidDeepKey, node.span, "`DeepKey` must not be empty")
            .help = Some("list the steps, e.g. `DeepKey: [user, name]`".to_owned());
        return None;
    }
    let mut steps = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match &item.kind {
            NodeKind::Str(s) => steps.push(Step::Member(s.clone())),
            NodeKind::Int(i) => steps.push(Step::Index(*i)),
            _ => {
                let help = match &item.kind {
                    NodeKind::Bool(b) => format!("quote it (`'{b}'`) to look up a member of that name"),
                    NodeKind::Null => "quote it to look up a member of that name".to_owned(),
                    NodeKind::Float(_) => "array indexes are integers".to_owned(),
                    _ => "each step is a member name or an array index".to_owned(),
                };
                cx.report(
                    Code::InvalidDeepKey,
                    item.span,
                    format!(
                        "a `DeepKey` step must be a string or an integer, found {}",
                        item.type_name()
                    ),
                )
                .help = Some(help);
                ok = false;
            }
        }
    }
    ok.then(|| Spanned::new(steps, node.span))
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
                .help = Some(format!("use `{}`, which means the same", c.name()));
            }
            Cond::Known(Spanned::new(c, v.span))
        }
        None => {
            let help = did_you_mean(name, Condition::ALL.iter().map(|c| c.name()));
            cx.report(Code::UnknownCondition, v.span, format!("unknown condition `{name}`"))
                .help = Some(help.unwrap_or_else(|| {
                "condition names are case-sensitive; see the list in match-expressions §4.1".to_owned()
            }));
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
        let help = suggest_key(k, ALL_KEYS);
        cx.report(
            Code::UnknownKey,
            k.span,
            format!("unknown key `{text}` in a match expression"),
        )
        .help = Some(help.unwrap_or_else(|| format!("allowed keys: {}", LEAF_KEYS.join(", "))));
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
        left,
        right,
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
        enrichment: enrichment?,
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

/// A `Value` or an item of `Values`: a string, a finite number or a boolean.
fn scalar_value(cx: &mut Cx, node: &Node, what: &str) -> Option<Spanned<Scalar>> {
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
fn kind_name(s: &Scalar) -> &'static str {
    match s {
        Scalar::Str(_) => "strings",
        Scalar::Int(_) | Scalar::Float(_) => "numbers",
        Scalar::Bool(_) => "booleans",
    }
}

/// `Values` of key/values and enrichment expressions (§3 rule 3).
fn scalar_values(cx: &mut Cx, node: &Node) -> Option<Spanned<Vec<Scalar>>> {
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
fn describe(s: &Scalar) -> String {
    match s {
        Scalar::Str(v) => format!("the string `{v}`"),
        Scalar::Int(v) => format!("the number `{v}`"),
        Scalar::Float(v) => format!("the number `{}`", float_text(*v)),
        Scalar::Bool(v) => format!("the boolean `{v}`"),
    }
}

/// Value checks that depend on the condition: `never-matches` for string
/// and numeric conditions, `invalid-value` for a CIDR that does not parse.
fn value_fits(cx: &mut Cx, c: Condition, value: &Spanned<Scalar>) {
    use Condition as C;
    let name = c.name();
    let is_text = matches!(
        c,
        C::StartsWith
            | C::DoesNotStartWith
            | C::IStartsWith
            | C::IDoesNotStartWith
            | C::EndsWith
            | C::DoesNotEndWith
            | C::IEndsWith
            | C::IDoesNotEndWith
    );
    let is_numeric = matches!(
        c,
        C::IsGreaterThan | C::IsGreaterThanOrEquals | C::IsLessThan | C::IsLessThanOrEquals
    );
    let is_cidr = matches!(
        c,
        C::IsIPAddressInCIDR | C::IsIPAddressNotInCIDR | C::CIDRContainsIPAddresses | C::CIDRDoesNotContainIPAddresses
    );
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
                Scalar::Str(s) => s.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;
    use crate::source::FileId;

    fn parse(text: &str) -> Node {
        crate::yaml::parse(text).unwrap().root.unwrap()
    }

    /// Loads `text` as a one-item list in `context`; returns the list and
    /// the diagnostics.
    fn run_in(context: ExprContext, text: &str) -> (Option<ExprList>, Vec<crate::diagnostic::Diagnostic>) {
        let node = parse(&format!("- {text}"));
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let list = expr_list(&mut cx, &node, "Detection", context);
        (list, cx.diags)
    }

    fn codes_in(context: ExprContext, text: &str) -> Vec<&'static str> {
        run_in(context, text).1.iter().map(|d| d.code.name()).collect()
    }

    fn codes(text: &str) -> Vec<&'static str> {
        codes_in(ExprContext::Detection, text)
    }

    /// The single expression of a valid snippet.
    fn one(text: &str) -> Expr {
        let (list, diags) = run_in(ExprContext::Detection, text);
        assert!(diags.is_empty(), "{diags:#?}");
        let mut list = list.unwrap();
        assert_eq!(list.len(), 1);
        list.remove(0)
    }

    #[test]
    fn val_01_two_key_specifiers() {
        assert_eq!(codes("{Key: a, KeyPath: b, Condition: Exists}"), ["exclusive-keys"]);
    }

    #[test]
    fn val_02_isin_with_value() {
        assert_eq!(codes("{KeyPath: a, Condition: IsIn, Value: x}"), ["condition-shape"]);
    }

    #[test]
    fn val_03_contains_with_values() {
        assert_eq!(
            codes("{KeyPath: a, Condition: Contains, Values: [x, y]}"),
            ["condition-shape"]
        );
    }

    #[test]
    fn val_04_missing_value() {
        assert_eq!(codes("{KeyPath: a, Condition: Equals}"), ["condition-shape"]);
    }

    #[test]
    fn val_05_wrong_case_condition_suggests_name() {
        let (_, diags) = run_in(ExprContext::Detection, "{KeyPath: a, Condition: equals, Value: x}");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code.name(), "unknown-condition");
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `Equals`?"));
    }

    #[test]
    fn val_06_or_equal_spelling_suggests_or_equals() {
        let (_, diags) = run_in(
            ExprContext::Detection,
            "{KeyPath: a, Condition: IsGreaterThanOrEqual, Value: 1}",
        );
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code.name(), "unknown-condition");
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `IsGreaterThanOrEquals`?"));
    }

    #[test]
    fn val_07_null_value() {
        assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: null}"), ["wrong-type"]);
    }

    #[test]
    fn val_08_list_value() {
        assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: [1, 2]}"), ["wrong-type"]);
    }

    #[test]
    fn val_09_mixed_values() {
        assert_eq!(
            codes("{KeyPath: a, Condition: IsIn, Values: [1, \"one\"]}"),
            ["mixed-values"]
        );
    }

    #[test]
    fn val_10_three_keys_in_multi_key() {
        assert_eq!(
            codes("{Condition: Equals, Values: [{Key: a}, {Key: b}, {Key: c}]}"),
            ["multi-key-arity"]
        );
    }

    #[test]
    fn val_11_isin_in_multi_key() {
        assert_eq!(
            codes("{Condition: IsIn, Values: [{Key: a}, {Key: b}]}"),
            ["condition-shape"]
        );
    }

    #[test]
    fn val_12_empty_segment() {
        assert_eq!(codes("{KeyPath: \"a..b\", Condition: Exists}"), ["invalid-key-path"]);
    }

    #[test]
    fn val_13_bad_selector() {
        assert_eq!(codes("{KeyPath: \"a[x]\", Condition: Exists}"), ["invalid-key-path"]);
    }

    #[test]
    fn val_14_path_starts_with_selector() {
        assert_eq!(codes("{KeyPath: \"[0].a\", Condition: Exists}"), ["invalid-key-path"]);
    }

    #[test]
    fn val_15_empty_deep_key() {
        assert_eq!(codes("{DeepKey: [], Condition: Exists}"), ["invalid-deep-key"]);
    }

    #[test]
    fn val_16_boolean_deep_key_step() {
        assert_eq!(codes("{DeepKey: [a, true], Condition: Exists}"), ["invalid-deep-key"]);
    }

    #[test]
    fn val_17_element_condition_without_expressions() {
        assert_eq!(codes("{KeyPath: a, Condition: AnyElement}"), ["condition-shape"]);
    }

    #[test]
    fn val_18_empty_expressions() {
        assert_eq!(
            codes("{KeyPath: a, Condition: AnyElement, Expressions: []}"),
            ["invalid-value"]
        );
    }

    #[test]
    fn val_19_absolute_with_key() {
        assert_eq!(codes("{Condition: AlwaysTrue, KeyPath: a}"), ["condition-shape"]);
    }

    #[test]
    fn val_20_two_combinators() {
        assert_eq!(
            codes("{All: [{Condition: AlwaysTrue}], Any: [{Condition: AlwaysTrue}]}"),
            ["exclusive-keys"]
        );
    }

    #[test]
    fn val_21_invalid_cidr() {
        assert_eq!(
            codes("{KeyPath: ip, Condition: IsIPAddressInCIDR, Value: \"10.0.0.0/33\"}"),
            ["invalid-value"]
        );
    }

    #[test]
    fn val_22_unknown_key() {
        assert_eq!(
            codes("{KeyPath: a, Condition: Equals, Value: x, Extra: y}"),
            ["unknown-key"]
        );
    }

    #[test]
    fn val_23_enrichment_without_value() {
        assert_eq!(
            codes("{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Exists}"),
            ["condition-shape"]
        );
    }

    #[test]
    fn val_24_key_in_filters() {
        assert_eq!(
            codes_in(ExprContext::InlineFilters, "{Key: a, Condition: Equals, Value: x}"),
            ["inline-filter-restriction"]
        );
    }

    #[test]
    fn val_25_exists_in_filters() {
        assert_eq!(
            codes_in(ExprContext::InlineFilters, "{KeyPath: a, Condition: Exists}"),
            ["inline-filter-restriction"]
        );
    }

    #[test]
    fn val_26_only_one_in_filters() {
        assert_eq!(
            codes_in(
                ExprContext::InlineFilters,
                "{OnlyOne: [{KeyPath: a, Condition: Equals, Value: x}]}"
            ),
            ["inline-filter-restriction"]
        );
    }

    #[test]
    fn val_27_absolute_in_filters() {
        assert_eq!(
            codes_in(ExprContext::InlineFilters, "{Condition: AlwaysTrue}"),
            ["inline-filter-restriction"]
        );
    }

    #[test]
    fn val_28_combinator_in_severity_conditions() {
        assert_eq!(
            codes_in(
                ExprContext::DynamicSeverity,
                "{Any: [{KeyPath: a, Condition: Equals, Value: x}]}"
            ),
            ["dynamic-severity-restriction"]
        );
    }

    #[test]
    fn val_29_list_comprehension_in_severity_conditions() {
        assert_eq!(
            codes_in(
                ExprContext::DynamicSeverity,
                "{KeyPath: a, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}"
            ),
            ["dynamic-severity-restriction"]
        );
    }

    #[test]
    fn val_30_has_is_deprecated_alias_of_contains() {
        let (list, diags) = run_in(ExprContext::Detection, "{KeyPath: a, Condition: Has, Value: x}");
        assert_eq!(
            diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
            ["deprecated-condition"]
        );
        let list = list.unwrap();
        let ExprKind::KeyValue { condition, .. } = &list[0].kind else {
            panic!("{list:?}")
        };
        assert_eq!(condition.value, Condition::Contains);
    }

    #[test]
    fn val_31_value_on_unary_ip_condition_is_ignored() {
        let (list, diags) = run_in(
            ExprContext::Detection,
            "{KeyPath: ip, Condition: IsIPAddressPrivate, Value: true}",
        );
        assert_eq!(
            diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
            ["value-ignored"]
        );
        let list = list.unwrap();
        assert!(matches!(list[0].kind, ExprKind::Unary { .. }), "{list:?}");
    }

    #[test]
    fn val_32_starts_with_number_never_matches() {
        assert_eq!(
            codes("{KeyPath: a, Condition: StartsWith, Value: 5}"),
            ["never-matches"]
        );
    }

    #[test]
    fn val_33_empty_values_list_is_valid() {
        let e = one("{KeyPath: a, Condition: IsIn, Values: []}");
        assert!(matches!(e.kind, ExprKind::KeyValues { .. }));
    }

    #[test]
    fn val_34_empty_key() {
        assert_eq!(codes("{Key: \"\", Condition: Exists}"), ["invalid-key-path"]);
    }

    #[test]
    fn key_value_parses() {
        let e = one("{KeyPath: 'fleet.ships[0].name', Condition: Equals, Value: Osprey}");
        let ExprKind::KeyValue { key, condition, value } = e.kind else {
            panic!()
        };
        assert_eq!(condition.value, Condition::Equals);
        assert_eq!(value.value, Scalar::Str("Osprey".into()));
        let KeySpec::KeyPath(p) = key else { panic!() };
        assert_eq!(
            p.steps,
            [
                Step::Member("fleet".into()),
                Step::Member("ships".into()),
                Step::Index(0),
                Step::Member("name".into())
            ]
        );
    }

    #[test]
    fn key_values_parses() {
        let e = one("{Key: user, Condition: IsNotIn, Values: [root, admin]}");
        let ExprKind::KeyValues { key, values, .. } = e.kind else {
            panic!()
        };
        assert!(matches!(key, KeySpec::Key(k) if k.value == "user"));
        assert_eq!(values.value, [Scalar::Str("root".into()), Scalar::Str("admin".into())]);
    }

    #[test]
    fn multi_key_parses() {
        let e = one("{Condition: StartsWith, Values: [{Key: path}, {DeepKey: [user, home]}]}");
        let ExprKind::MultiKey { left, right, .. } = e.kind else {
            panic!()
        };
        assert!(matches!(left, KeySpec::Key(_)));
        let KeySpec::DeepKey(d) = right else { panic!() };
        assert_eq!(d.value, [Step::Member("user".into()), Step::Member("home".into())]);
    }

    #[test]
    fn list_comprehension_parses_with_nested_combinator() {
        let e = one(
            "{KeyPath: keys, Condition: AnyElement, Expressions: [{Any: [{Key: algo, Condition: Equals, Value: dsa}, {Key: age, Condition: IsGreaterThan, Value: 365}]}]}",
        );
        let ExprKind::ListComprehension {
            expressions, condition, ..
        } = e.kind
        else {
            panic!()
        };
        assert_eq!(condition.value, Condition::AnyElement);
        assert!(matches!(
            &expressions[0].kind,
            ExprKind::Combinator { op: Combinator::Any, items } if items.len() == 2
        ));
    }

    #[test]
    fn unary_parses() {
        let e = one("{DeepKey: [items, -1, id], Condition: Exists}");
        let ExprKind::Unary {
            key: KeySpec::DeepKey(d),
            ..
        } = e.kind
        else {
            panic!()
        };
        assert_eq!(d.value[1], Step::Index(-1));
    }

    #[test]
    fn absolute_parses() {
        let e = one("{Condition: AlwaysFalse}");
        assert!(matches!(e.kind, ExprKind::Absolute(c) if c.value == Condition::AlwaysFalse));
    }

    #[test]
    fn enrichment_parses() {
        let e = one("{Enrichment: {Table: geo, Selector: ip, FieldPath: owner.team}, Condition: IsIn, Values: [a, b]}");
        let ExprKind::Enrichment {
            enrichment, operand, ..
        } = e.kind
        else {
            panic!()
        };
        assert_eq!(enrichment.table.value, "geo");
        assert_eq!(enrichment.field_path.steps.len(), 2);
        assert!(matches!(operand, Operand::Values(v) if v.value.len() == 2));
    }

    #[test]
    fn nested_combinators_parse() {
        let e =
            one("{All: [{KeyPath: a, Condition: Equals, Value: 1}, {None: [{KeyPath: b, Condition: DoesNotExist}]}]}");
        let ExprKind::Combinator {
            op: Combinator::All,
            items,
        } = e.kind
        else {
            panic!()
        };
        assert!(matches!(
            &items[1].kind,
            ExprKind::Combinator {
                op: Combinator::None,
                ..
            }
        ));
    }

    #[test]
    fn invalid_item_is_left_out_and_the_rest_kept() {
        let node = parse("- {KeyPath: a, Condition: Exists}\n- {KeyPath: b, Condition: Nope}\n");
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let list = expr_list(&mut cx, &node, "Detection", ExprContext::Detection).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(cx.diags.len(), 1);
    }

    #[test]
    fn combinator_with_invalid_child_is_left_out() {
        let (list, diags) = run_in(
            ExprContext::Detection,
            "{Any: [{KeyPath: a, Condition: Exists}, {Condition: Foo}]}",
        );
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert!(list.unwrap().is_empty());
    }

    #[test]
    fn empty_group_warns_in_detection_only() {
        assert_eq!(codes("{Any: []}"), ["empty-group"]);
        assert!(codes_in(ExprContext::InlineFilters, "{All: []}").is_empty());
        let (list, _) = run_in(ExprContext::Detection, "{All: []}");
        assert_eq!(list.unwrap().len(), 1);
    }

    #[test]
    fn correlation_group_is_not_an_expression() {
        assert_eq!(
            codes("{Group: [{ID: a, RuleID: x}], MinMatchCount: 2}"),
            ["invalid-expression"]
        );
    }

    #[test]
    fn scalar_item_is_not_an_expression() {
        assert_eq!(codes("Equals"), ["invalid-expression"]);
    }

    #[test]
    fn misspelt_keys_are_invalid_expression_with_suggestion() {
        let (_, diags) = run_in(ExprContext::Detection, "{Condtion: Exists, Keypath: a}");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code.name(), "invalid-expression");
        assert!(diags[0].help.as_deref().unwrap().contains("`Condition`"), "{diags:#?}");
    }

    #[test]
    fn missing_condition() {
        assert_eq!(codes("{KeyPath: a, Value: x}"), ["missing-key"]);
    }

    #[test]
    fn every_problem_of_one_expression_is_reported() {
        let mut got = codes("{Key: 5, Condition: Bogus, Value: .nan, Extra: 1}");
        got.sort_unstable();
        assert_eq!(got, ["invalid-value", "unknown-condition", "unknown-key", "wrong-type"]);
    }

    #[test]
    fn non_finite_values_are_invalid() {
        assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: .inf}"), ["invalid-value"]);
        assert_eq!(
            codes("{KeyPath: a, Condition: IsIn, Values: [1, .nan]}"),
            ["invalid-value"]
        );
    }

    #[test]
    fn comparison_with_string_never_matches() {
        assert_eq!(
            codes("{KeyPath: n, Condition: IsGreaterThan, Value: '5'}"),
            ["never-matches"]
        );
        assert!(codes("{KeyPath: n, Condition: IsGreaterThan, Value: 5.5}").is_empty());
    }

    #[test]
    fn cidr_values() {
        for ok in [
            "10.0.0.0/8",
            "192.168.1.77/24",
            "8.8.8.8",
            "2001:db8::/32",
            "10.0.0.0/255.0.0.0",
        ] {
            assert!(
                codes(&format!(
                    "{{KeyPath: ip, Condition: IsIPAddressNotInCIDR, Value: '{ok}'}}"
                ))
                .is_empty(),
                "{ok}"
            );
        }
        assert_eq!(
            codes("{KeyPath: ip, Condition: CIDRContainsIPAddresses, Value: 10}"),
            ["invalid-value"]
        );
        assert_eq!(
            codes("{KeyPath: ip, Condition: IsIPAddressInCIDR, Value: 'not an ip'}"),
            ["invalid-value"]
        );
    }

    #[test]
    fn value_on_other_unary_condition_is_a_shape_error() {
        assert_eq!(codes("{KeyPath: a, Condition: Exists, Value: x}"), ["condition-shape"]);
    }

    #[test]
    fn missing_key_specifier() {
        assert_eq!(codes("{Condition: Equals, Value: x}"), ["condition-shape"]);
        assert_eq!(codes("{Condition: IsIn, Values: [a, b]}"), ["condition-shape"]);
    }

    #[test]
    fn multi_key_with_enrichment_item() {
        assert_eq!(
            codes("{Condition: Equals, Values: [{Key: a}, {Enrichment: {Table: t, Selector: s, FieldPath: f}}]}"),
            ["multi-key-arity"]
        );
    }

    #[test]
    fn integer_step_in_list_comprehension_deep_key_warns() {
        assert_eq!(
            codes("{DeepKey: [groups, 0, members], Condition: AnyElement, Expressions: [{Key: r, Condition: Exists}]}"),
            ["pat-incompatible"]
        );
        // Integer steps elsewhere are fine.
        assert!(codes("{DeepKey: [a, 0], Condition: Exists}").is_empty());
    }

    #[test]
    fn filters_accept_their_subset() {
        for text in [
            "{KeyPath: a, Condition: Equals, Value: x}",
            "{KeyPath: a, Condition: IsNullOrEmpty}",
            "{Any: [{KeyPath: a, Condition: IsIn, Values: [1, 2]}, {All: []}]}",
            "{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Equals, Value: x}",
        ] {
            assert!(codes_in(ExprContext::InlineFilters, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn filters_reject_shapes() {
        assert_eq!(
            codes_in(
                ExprContext::InlineFilters,
                "{Condition: Equals, Values: [{KeyPath: a}, {KeyPath: b}]}"
            ),
            ["inline-filter-restriction"]
        );
        assert_eq!(
            codes_in(
                ExprContext::InlineFilters,
                "{KeyPath: a, Condition: AnyElement, Expressions: [{Key: b, Condition: Exists}]}"
            ),
            ["inline-filter-restriction"]
        );
        assert_eq!(
            codes_in(
                ExprContext::InlineFilters,
                "{DeepKey: [a], Condition: IsIn, Values: [x]}"
            ),
            ["inline-filter-restriction"]
        );
    }

    #[test]
    fn severity_conditions_reject_multi_key_and_absolute() {
        assert_eq!(
            codes_in(
                ExprContext::DynamicSeverity,
                "{Condition: Equals, Values: [{Key: a}, {Key: b}]}"
            ),
            ["dynamic-severity-restriction"]
        );
        assert_eq!(
            codes_in(ExprContext::DynamicSeverity, "{Condition: AlwaysTrue}"),
            ["dynamic-severity-restriction"]
        );
        assert!(codes_in(ExprContext::DynamicSeverity, "{DeepKey: [a, b], Condition: Exists}").is_empty());
    }

    #[test]
    fn detection_that_is_not_a_list() {
        let node = parse("{KeyPath: a, Condition: Exists}");
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        assert!(expr_list(&mut cx, &node, "Detection", ExprContext::Detection).is_none());
        assert_eq!(cx.diags[0].code.name(), "wrong-type");
    }

    #[test]
    fn key_path_grammar() {
        let ok = |s: &str| parse_key_path(s).unwrap();
        assert_eq!(ok("a.0"), [Step::Member("a".into()), Step::Member("0".into())]);
        assert_eq!(
            ok("m[1][-2][*].x y"),
            [
                Step::Member("m".into()),
                Step::Index(1),
                Step::Index(-2),
                Step::Wildcard,
                Step::Member("x y".into())
            ]
        );
        assert_eq!(ok("$@*"), [Step::Member("$@*".into())]);
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "[0]",
            "a.[0]",
            "a[",
            "a]",
            "a[0]b",
            "a[ 0]",
            "a[]",
            "a[-]",
            "a[+1]",
            "a[99999999999999999999]",
        ] {
            assert!(parse_key_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diagnostics_point_at_the_narrowest_span() {
        let node = parse(
            "- KeyPath: a\n  Condition: Equals\n  Value: x\n  Extra: 1\n- Key: a\n  KeyPath: b\n  Condition: Exists\n",
        );
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        expr_list(&mut cx, &node, "Detection", ExprContext::Detection);
        let at: Vec<(&str, u32, u32)> = cx
            .diags
            .iter()
            .map(|d| {
                let s = d.primary.as_ref().unwrap().span.start;
                (d.code.name(), s.line, s.col)
            })
            .collect();
        assert_eq!(at, [("unknown-key", 4, 3), ("exclusive-keys", 6, 3)]);
    }

    #[test]
    fn deep_nesting_does_not_panic() {
        let mut text = String::from("- ");
        for _ in 0..100 {
            text.push_str("{Any: [");
        }
        text.push_str("{Condition: AlwaysTrue}");
        for _ in 0..100 {
            text.push_str("]}");
        }
        let node = parse(&text);
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let list = expr_list(&mut cx, &node, "Detection", ExprContext::Detection).unwrap();
        assert_eq!(list.len(), 1);
    }
}
