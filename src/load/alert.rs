//! Alert keys of rules: `DynamicSeverities`, `AlertTitle`, `AlertContext`,
//! `GroupBy` (simple-detections §6–§9).
//!
//! Each reader returns the typed value when it is well formed and reports
//! every problem otherwise. A `null` value is not reported here: the rule
//! loader reports top-level keys without a value. Match expressions and key
//! specifiers come from [`crate::load::expr`].

use crate::model::fields::{ALERT_CONTEXT_ITEM_KEYS, DYNAMIC_SEVERITY_KEYS};
use std::collections::HashMap;

use crate::diagnostic::Code;
use crate::load::Cx;
use crate::load::cx::replace_value;
use crate::load::expr::{ExprContext, expr_list, key_spec_with, parse_key_path};
use crate::model::{ContextItem, DynamicSeverity, KeyPath, KeySpec, Level, Template, TemplatePart};
use crate::source::{Span, Spanned};
use crate::yaml::Node;

/// Reads `DynamicSeverities`.
///
/// Returns `None` when the value is not a list; otherwise the entries that
/// are valid, in order.
pub fn dynamic_severities(cx: &mut Cx, node: &Node) -> Option<Vec<DynamicSeverity>> {
    if node.is_null() {
        return None;
    }
    let items = cx.list(node, "DynamicSeverities")?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(entry) = dynamic_severity(cx, item) {
            out.push(entry);
        }
    }
    Some(out)
}

/// One `{ChangeTo, Conditions}` entry.
fn dynamic_severity(cx: &mut Cx, item: &Node) -> Option<DynamicSeverity> {
    if item.as_map().is_none() {
        cx.report(
            Code::WrongType,
            item.span,
            format!(
                "a `DynamicSeverities` entry must be a mapping, found {}",
                item.type_name()
            ),
        )
        .help = Some("write `- ChangeTo: High` with `Conditions:` below it".to_owned());
        return None;
    }
    cx.unknown_keys(
        item,
        DYNAMIC_SEVERITY_KEYS,
        Code::UnknownKey,
        "a `DynamicSeverities` entry",
    );
    let change_to = match item.get("ChangeTo") {
        None => {
            cx.missing(item, "ChangeTo", "a `DynamicSeverities` entry");
            None
        }
        Some(v) => change_to(cx, v),
    };
    let conditions = match item.get("Conditions") {
        None => {
            cx.missing(item, "Conditions", "a `DynamicSeverities` entry");
            None
        }
        Some(v) if v.is_null() => {
            cx.report(Code::WrongType, v.span, "`Conditions` has no value").help =
                Some("list the match expressions that select this severity".to_owned());
            None
        }
        Some(v) => {
            let list = expr_list(cx, v, "Conditions", ExprContext::DynamicSeverity);
            let len = v.as_seq().map_or(0, <[Node]>::len);
            if list.is_some() && len == 0 {
                cx.report(Code::InvalidValue, v.span, "`Conditions` must not be empty")
                    .help = Some("list at least one match expression".to_owned());
                None
            } else {
                // An entry with a dropped condition would select the severity
                // for the wrong events; keep only complete entries.
                list.filter(|l| l.len() == len)
            }
        }
    };
    Some(DynamicSeverity {
        change_to: change_to?,
        conditions: conditions?,
    })
}

/// `ChangeTo`: a level in any case, or `DEFAULT` (any case) for `None`.
fn change_to(cx: &mut Cx, node: &Node) -> Option<Spanned<Option<Level>>> {
    let s = cx.string(node, "ChangeTo")?;
    if s.value.eq_ignore_ascii_case("default") {
        return Some(Spanned::new(None, s.span));
    }
    if let Some((level, _)) = Level::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(&s.value)) {
        return Some(Spanned::new(Some(*level), s.span));
    }
    let names = ["Info", "Low", "Medium", "High", "Critical", "DEFAULT"];
    let found = replace_value(&s.value, s.span, names);
    let d = cx.report(
        Code::InvalidValue,
        s.span,
        format!("`ChangeTo` `{}` is not a severity level", s.value),
    );
    match found {
        Some((help, fix)) => d.with_help_and_fix(help, fix),
        None => {
            d.help = Some(
                "use `Info`, `Low`, `Medium`, `High` or `Critical` (any case), or `DEFAULT` for the rule's `Severity`"
                    .to_owned(),
            );
        }
    }
    None
}

/// Reads `AlertTitle` (simple-detections §7.1).
///
/// Every malformed placeholder is reported (`invalid-alert-title`), pointing
/// into the string when it is written on one line.
pub fn alert_title(cx: &mut Cx, node: &Node) -> Option<Template> {
    if node.is_null() {
        return None;
    }
    let title = cx.string(node, "AlertTitle")?;
    let text = &title.value;
    let chars: Vec<char> = text.chars().collect();
    let at = |offset: usize, len: usize| inner_span(node.span, chars.len(), offset, len);
    let mut parts: Vec<TemplatePart> = Vec::new();
    let mut literal = String::new();
    let mut errors: Vec<(Span, String)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                literal.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                literal.push('}');
                i += 2;
            }
            '}' => {
                errors.push((at(i, 1), "a `}` without a matching `{`".to_owned()));
                i += 1;
            }
            '{' => {
                let rest = &chars[i + 1..];
                let close = rest.iter().position(|&c| c == '}');
                let nested = rest.iter().position(|&c| c == '{');
                match (close, nested) {
                    (None, _) => {
                        errors.push((at(i, chars.len() - i), "a `{` without a closing `}`".to_owned()));
                        break;
                    }
                    (Some(c), Some(n)) if n < c => {
                        errors.push((
                            at(i + 1 + n, 1),
                            "a `{` inside a placeholder; write `{{` for a literal brace".to_owned(),
                        ));
                        i += c + 2;
                    }
                    (Some(c), _) => {
                        let raw: String = rest[..c].iter().collect();
                        let span = at(i, c + 2);
                        let path = raw.trim();
                        if path.is_empty() {
                            errors.push((span, "an empty placeholder `{}`".to_owned()));
                        } else {
                            match parse_key_path(path) {
                                Ok(steps) => {
                                    if !literal.is_empty() {
                                        let mut text = std::mem::take(&mut literal);
                                        text.shrink_to_fit();
                                        parts.push(TemplatePart::Text(text));
                                    }
                                    parts.push(TemplatePart::Field(KeyPath {
                                        text: path.into(),
                                        steps,
                                        span,
                                    }));
                                }
                                Err(reason) => {
                                    errors.push((
                                        span,
                                        format!("the placeholder `{{{raw}}}` is not a KeyPath: {reason}"),
                                    ));
                                }
                            }
                        }
                        i += c + 2;
                    }
                }
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    let ok = errors.is_empty();
    for (span, reason) in errors {
        cx.report(Code::InvalidAlertTitle, span, format!("invalid `AlertTitle`: {reason}"))
            .help = Some(
            "placeholders are `{KeyPath}` such as `{user.name}`; write `{{` and `}}` for literal braces".to_owned(),
        );
    }
    if !literal.is_empty() {
        literal.shrink_to_fit();
        parts.push(TemplatePart::Text(literal));
    }
    // Templates are kept for the whole run: no spare capacity.
    parts.shrink_to_fit();
    ok.then_some(Template {
        parts,
        span: title.span,
    })
}

/// The span of characters `offset..offset + len` of a one-line string
/// scalar whose value has `chars` characters, allowing for the quotes of a
/// quoted scalar. Falls back to the whole value when the written form
/// differs from the value (escapes, folded lines).
fn inner_span(span: Span, chars: usize, offset: usize, len: usize) -> Span {
    if span.start.line != span.end.line {
        return span;
    }
    let width = span.end.col.saturating_sub(span.start.col) as usize;
    let lead = if width == chars {
        0
    } else if width == chars + 2 {
        1
    } else {
        return span;
    };
    span.sub(lead + offset, len)
}

/// Reads `AlertContext` (simple-detections §8).
///
/// Returns `None` when the value is not a list; otherwise the valid items
/// in order. Items with the same `KeyName` are all kept (the later one wins
/// when the context is built) and reported as `duplicate-key-name`.
pub fn alert_context(cx: &mut Cx, node: &Node) -> Option<Vec<ContextItem>> {
    if node.is_null() {
        return None;
    }
    let items = cx.list(node, "AlertContext")?;
    let mut out: Vec<ContextItem> = Vec::with_capacity(items.len());
    // `KeyName`s seen so far and where: a hash map keeps the check linear.
    let mut seen: HashMap<String, Span> = HashMap::new();
    for item in items {
        if item.as_map().is_none() {
            cx.report(
                Code::WrongType,
                item.span,
                format!("an `AlertContext` item must be a mapping, found {}", item.type_name()),
            )
            .help = Some("write `- KeyName: name` with `KeyValue: {KeyPath: a.b}`".to_owned());
            continue;
        }
        cx.unknown_keys(
            item,
            ALERT_CONTEXT_ITEM_KEYS,
            Code::UnknownKey,
            "an `AlertContext` item",
        );
        let key_name = match item.get("KeyName") {
            None => {
                cx.missing(item, "KeyName", "an `AlertContext` item");
                None
            }
            Some(v) => cx.string(v, "KeyName").and_then(|s| {
                if s.value.is_empty() {
                    cx.report(Code::InvalidValue, s.span, "`KeyName` must not be empty")
                        .help = Some("name the member of the alert context".to_owned());
                    None
                } else {
                    Some(s)
                }
            }),
        };
        let key_value = match item.get("KeyValue") {
            None => {
                cx.missing(item, "KeyValue", "an `AlertContext` item");
                None
            }
            Some(v) => key_spec_with(cx, v, "`KeyValue`", Code::InvalidAlertContext),
        };
        if let Some(name) = &key_name {
            if let Some(&first_span) = seen.get(&name.value) {
                let file = cx.file;
                let d = cx.report(
                    Code::DuplicateKeyName,
                    name.span,
                    format!("`KeyName` `{}` is used twice in `AlertContext`", name.value),
                );
                d.relate(file, first_span, "first used here");
                d.help = Some("the later item replaces the earlier one; rename or remove one of them".to_owned());
            } else {
                seen.insert(name.value.clone(), name.span);
            }
        }
        if let (Some(key_name), Some(key_value)) = (key_name, key_value) {
            out.push(ContextItem { key_name, key_value });
        }
    }
    Some(out)
}

/// Reads `GroupBy` (simple-detections §9).
///
/// `GroupBy: []` is treated as absent: it returns `None` with the warning
/// `empty-group-by`. Otherwise `None` only when the value is not a list.
pub fn group_by(cx: &mut Cx, node: &Node) -> Option<Vec<KeySpec>> {
    if node.is_null() {
        return None;
    }
    let items = cx.list(node, "GroupBy")?;
    if items.is_empty() {
        cx.report(Code::EmptyGroupBy, node.span, "`GroupBy: []` is treated as absent")
            .help = Some("list key specifiers to group alerts by, or remove `GroupBy`".to_owned());
        return None;
    }
    Some(
        items
            .iter()
            .filter_map(|item| key_spec_with(cx, item, "a `GroupBy` item", Code::InvalidGroupBy))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::load::LoadOptions;
    use crate::source::FileId;

    fn parse(text: &str) -> Node {
        crate::yaml::parse(text).unwrap().root.unwrap()
    }

    /// Runs a reader on the value of the single key of `text`.
    fn run<T>(text: &str, read: impl Fn(&mut Cx, &Node) -> T) -> (T, Vec<Diagnostic>) {
        let root = parse(text);
        let value = &root.as_map().unwrap()[0].1;
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let out = read(&mut cx, value);
        (out, cx.diags)
    }

    fn codes<T>(text: &str, read: impl Fn(&mut Cx, &Node) -> T) -> Vec<&'static str> {
        run(text, read).1.iter().map(|d| d.code.name()).collect()
    }

    const CONDS: &str = "[{KeyPath: a, Condition: Equals, Value: x}]";

    #[test]
    fn sdv_17_unknown_level() {
        let text = format!("DynamicSeverities: [{{ChangeTo: Urgent, Conditions: {CONDS}}}]");
        assert_eq!(codes(&text, dynamic_severities), ["invalid-value"]);
    }

    #[test]
    fn sdv_18_level_is_case_insensitive() {
        let text = format!("DynamicSeverities: [{{ChangeTo: high, Conditions: {CONDS}}}]");
        let (list, diags) = run(&text, dynamic_severities);
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(list.unwrap()[0].change_to.value, Some(Level::High));
    }

    #[test]
    fn sdv_19_empty_conditions() {
        assert_eq!(
            codes(
                "DynamicSeverities: [{ChangeTo: High, Conditions: []}]",
                dynamic_severities
            ),
            ["invalid-value"]
        );
    }

    #[test]
    fn sdv_20_missing_conditions() {
        assert_eq!(
            codes("DynamicSeverities: [{ChangeTo: High}]", dynamic_severities),
            ["missing-key"]
        );
    }

    #[test]
    fn sdv_26_default_means_static_severity() {
        for word in ["default", "DEFAULT", "Default"] {
            let text = format!("DynamicSeverities: [{{ChangeTo: {word}, Conditions: {CONDS}}}]");
            let (list, diags) = run(&text, dynamic_severities);
            assert!(diags.is_empty(), "{diags:#?}");
            assert_eq!(list.unwrap()[0].change_to.value, None);
        }
    }

    #[test]
    fn severity_entry_problems_are_all_reported() {
        let text = "DynamicSeverities: [{ChangeTo: Hihg, Extra: 1, Conditions: [{Any: []}]}, 5]";
        let mut got = codes(text, dynamic_severities);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "dynamic-severity-restriction",
                "invalid-value",
                "unknown-key",
                "wrong-type"
            ]
        );
    }

    #[test]
    fn valid_severities_keep_order() {
        let text = "DynamicSeverities:\n  - ChangeTo: CRITICAL\n    Conditions:\n      - {KeyPath: a, Condition: Exists}\n  - ChangeTo: low\n    Conditions:\n      - {Key: b, Condition: IsIn, Values: [1]}\n";
        let (list, diags) = run(text, dynamic_severities);
        assert!(diags.is_empty(), "{diags:#?}");
        let list = list.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].change_to.value, Some(Level::Critical));
        assert_eq!(list[1].change_to.value, Some(Level::Low));
    }

    fn title(text: &str) -> (Option<Template>, Vec<Diagnostic>) {
        run(&format!("AlertTitle: {text}"), alert_title)
    }

    #[test]
    fn tpl_01_placeholder() {
        let (t, diags) = title("\"Login by {user.name}\"");
        assert!(diags.is_empty());
        let t = t.unwrap();
        assert_eq!(t.parts.len(), 2);
        assert_eq!(t.parts[0], TemplatePart::Text("Login by ".into()));
        let TemplatePart::Field(p) = &t.parts[1] else { panic!() };
        assert_eq!(p.text, "user.name");
        assert_eq!(p.steps.len(), 2);
    }

    #[test]
    fn tpl_02_to_05_errors() {
        for bad in [
            "\"Login by {}\"",
            "\"Login by {user\"",
            "\"Login by user}\"",
            "\"Login by {user..name}\"",
            "\"Login by { }\"",
            "\"Nested {a{b}\"",
        ] {
            let (t, diags) = title(bad);
            assert!(t.is_none(), "{bad}");
            let got: Vec<_> = diags.iter().map(|d| d.code.name()).collect();
            assert_eq!(got, ["invalid-alert-title"], "{bad}");
        }
    }

    #[test]
    fn tpl_06_escapes() {
        let (t, diags) = title("\"Set {{x}} for {user}\"");
        assert!(diags.is_empty());
        let t = t.unwrap();
        assert_eq!(t.parts[0], TemplatePart::Text("Set {x} for ".into()));
        assert!(matches!(&t.parts[1], TemplatePart::Field(p) if p.text == "user"));
    }

    #[test]
    fn tpl_07_no_placeholders() {
        let (t, diags) = title("No placeholders at all");
        assert!(diags.is_empty());
        assert_eq!(t.unwrap().parts, [TemplatePart::Text("No placeholders at all".into())]);
    }

    #[test]
    fn placeholder_is_trimmed() {
        let (t, _) = title("\"Spaces { user }\"");
        assert!(matches!(&t.unwrap().parts[1], TemplatePart::Field(p) if p.text == "user"));
    }

    #[test]
    fn every_title_error_is_reported() {
        let (_, diags) = title("\"a {} b } c {x..y}\"");
        assert_eq!(diags.len(), 3);
    }

    #[test]
    fn title_errors_point_into_the_string() {
        // Double-quoted: the value starts one column after the quote.
        let (_, diags) = title("\"Login by {}\"");
        let span = diags[0].primary.as_ref().unwrap().span;
        assert_eq!((span.start.col, span.end.col), (23, 25));
        // Plain scalar.
        let (_, diags) = title("Login by user}");
        let span = diags[0].primary.as_ref().unwrap().span;
        assert_eq!((span.start.col, span.end.col), (26, 27));
    }

    #[test]
    fn title_must_be_a_string() {
        let (t, diags) = title("[a]");
        assert!(t.is_none());
        assert_eq!(diags[0].code.name(), "wrong-type");
    }

    #[test]
    fn sdv_21_two_key_specifiers_in_context() {
        assert_eq!(
            codes(
                "AlertContext: [{KeyName: ip, KeyValue: {Key: a, KeyPath: b}}]",
                alert_context
            ),
            ["exclusive-keys"]
        );
    }

    #[test]
    fn context_item_rules() {
        assert_eq!(
            codes(
                "AlertContext: [{KeyName: e, KeyValue: {Enrichment: {Table: t, Selector: s, FieldPath: f}}}]",
                alert_context
            ),
            ["invalid-alert-context"]
        );
        assert_eq!(
            codes("AlertContext: [{KeyName: e, KeyValue: user.name}]", alert_context),
            ["invalid-alert-context"]
        );
        assert_eq!(codes("AlertContext: [{KeyName: e}]", alert_context), ["missing-key"]);
        assert_eq!(
            codes("AlertContext: [{KeyName: '', KeyValue: {Key: a}}]", alert_context),
            ["invalid-value"]
        );
        assert_eq!(
            codes("AlertContext: [{KeyName: 3, KeyValue: {Key: a}}]", alert_context),
            ["wrong-type"]
        );
        assert_eq!(
            codes(
                "AlertContext: [{KeyName: a, KeyValue: {Key: a}, Other: 1}]",
                alert_context
            ),
            ["unknown-key"]
        );
        assert_eq!(
            codes(
                "AlertContext: [{KeyName: a, KeyValue: {KeyPath: 'a[x]'}}]",
                alert_context
            ),
            ["invalid-key-path"]
        );
    }

    #[test]
    fn duplicate_key_name_warns_and_keeps_both() {
        let (items, diags) = run(
            "AlertContext: [{KeyName: a, KeyValue: {Key: x}}, {KeyName: a, KeyValue: {DeepKey: [y, 0]}}]",
            alert_context,
        );
        assert_eq!(
            diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
            ["duplicate-key-name"]
        );
        assert_eq!(diags[0].related.len(), 1);
        assert_eq!(items.unwrap().len(), 2);
    }

    #[test]
    fn sdv_22_enrichment_in_group_by() {
        assert_eq!(
            codes(
                "GroupBy: [{Enrichment: {Table: t, Selector: s, FieldPath: f}}]",
                group_by
            ),
            ["invalid-group-by"]
        );
    }

    #[test]
    fn group_by_rules() {
        let (g, diags) = run("GroupBy: []", group_by);
        assert!(g.is_none());
        assert_eq!(diags[0].code.name(), "empty-group-by");
        assert_eq!(codes("GroupBy: [user]", group_by), ["invalid-group-by"]);
        let (_, diags) = run("GroupBy: [{Keypath: a}]", group_by);
        assert_eq!(diags[0].code.name(), "invalid-group-by");
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `KeyPath`?"));
        assert_eq!(codes("GroupBy: user", group_by), ["wrong-type"]);
        let (g, diags) = run(
            "GroupBy: [{Key: tenant}, {KeyPath: principal.email}, {DeepKey: [target, id]}]",
            group_by,
        );
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(g.unwrap().len(), 3);
    }
}
