//! A correlation rule's `Tests` (correlation-rules §6.1): test cases, their
//! `RuleOutputs` and signals, and the checks that need the detection.

use super::*;

/// `Tests` (§6.1).
pub(super) fn tests(cx: &mut Cx, n: &Node, d: Option<&CorrelationDetection>) -> Option<Vec<CorrelationTest>> {
    let Some(list) = n.as_seq() else {
        cx.report(
            Code::CorrTestShape,
            n.span,
            format!("`Tests` must be a list of test cases, found {}", n.type_name()),
        )
        .help = Some("write `Tests:` followed by `- Name: …` items".to_owned());
        return None;
    };
    aliases(cx, n);
    let join_fields = d.map(|d| d.join_fields());
    let mut out = Vec::with_capacity(list.len());
    let mut names: Vec<Spanned<String>> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        if t.as_map().is_none() {
            cx.report(
                Code::CorrTestShape,
                t.span,
                format!("test {} must be a mapping, found {}", i + 1, t.type_name()),
            )
            .help = Some("write `- Name: …`, `ExpectedResult: …` and `RuleOutputs: …`".to_owned());
            continue;
        }
        cx.unknown_keys(t, TEST_KEYS, Code::UnknownKey, "a correlation test");
        let name = required_string(cx, t, "Name", "a test");
        let expected = match t.get("ExpectedResult") {
            Some(v) => cx.boolean(v, "ExpectedResult"),
            None => {
                cx.missing(t, "ExpectedResult", "a test");
                None
            }
        };
        let label = name.as_ref().map_or_else(|| format!("#{}", i + 1), |n| n.value.clone());
        let rule_outputs = match t.get("RuleOutputs") {
            Some(v) => rule_outputs(cx, v, &label, d),
            None => {
                cx.missing(t, "RuleOutputs", "a test");
                Vec::new()
            }
        };
        let test = CorrelationTest {
            name: name.clone(),
            expected,
            rule_outputs,
            span: t.span,
        };
        let anchor = name.as_ref().map_or_else(|| t.first_key_span(), |n| n.span);
        let consistent = timestamp_kinds(cx, &test, &label);
        if let (Some(d), Some(fields)) = (d, &join_fields) {
            null_joins(cx, &test, &label, d, fields);
            if consistent {
                test_span(cx, &test, &label, d, anchor);
            }
        }
        if let Some(name) = name {
            names.push(name);
        }
        out.push(test);
    }
    duplicate_names(cx, &names);
    Some(out)
}

/// `RuleOutputs` of one test.
fn rule_outputs(cx: &mut Cx, n: &Node, label: &str, d: Option<&CorrelationDetection>) -> Vec<RuleOutput> {
    let Some(list) = n.as_seq() else {
        cx.report(
            Code::CorrTestShape,
            n.span,
            format!("test `{label}`: `RuleOutputs` must be a list, found {}", n.type_name()),
        )
        .help = Some("write `RuleOutputs:` followed by `- ID: <item>` and `Matches: …`".to_owned());
        return Vec::new();
    };
    let mut out = Vec::with_capacity(list.len());
    for ro in list {
        if ro.as_map().is_none() {
            cx.report(
                Code::CorrTestShape,
                ro.span,
                format!(
                    "test `{label}`: a rule output must be a mapping, found {}",
                    ro.type_name()
                ),
            )
            .help = Some("write `- ID: <item>` and `Matches: …`".to_owned());
            continue;
        }
        cx.unknown_keys(ro, OUTPUT_KEYS, Code::UnknownKey, "a rule output");
        let id = required_string(cx, ro, "ID", "a rule output");
        if let (Some(id), Some(d)) = (&id, d) {
            if d.item_by_key(&id.value).is_none() && !d.items.is_empty() {
                let (help, fix) = item_help(&id.value, id.span, &d.items);
                let diag = cx.report(
                    Code::CorrTestShape,
                    id.span,
                    format!(
                        "test `{label}`: `RuleOutputs` ID `{}` is not an item of this rule",
                        id.value
                    ),
                );
                diag.help = Some(help);
                diag.fix = fix;
            }
        }
        let shown = id.as_ref().map_or("?", |i| i.value.as_str());
        let matches = match ro.get_entry("Matches") {
            Some((_, v)) if v.is_null() || v.as_map().is_some_and(<[_]>::is_empty) => {
                cx.report(
                    Code::CorrEmptyRuleOutput,
                    v.span,
                    format!("test `{label}`: rule output `{shown}` has empty `Matches`; it contributes no signals"),
                )
                .help = Some(
                    "list signals as `<field>: {<value>: [<timestamp>, …]}`, or remove the rule output".to_owned(),
                );
                Vec::new()
            }
            Some((_, v)) => matches(cx, v, label),
            None => {
                cx.report(
                    Code::CorrEmptyRuleOutput,
                    ro.first_key_span(),
                    format!("test `{label}`: rule output `{shown}` has no `Matches`; it contributes no signals"),
                )
                .help =
                    Some("add `Matches: {<field>: {<value>: [<timestamp>]}}`, or remove the rule output".to_owned());
                Vec::new()
            }
        };
        if let Some(id) = id {
            out.push(RuleOutput {
                id,
                matches,
                span: ro.span,
            });
        }
    }
    out
}

/// `Matches`: field → value → list of timestamps.
fn matches(cx: &mut Cx, n: &Node, label: &str) -> Vec<FieldSignals> {
    const HELP: &str = "write `<field>: {<value>: [<timestamp>, …]}`";
    let Some(fields) = n.as_map() else {
        cx.report(
            Code::CorrTestShape,
            n.span,
            format!(
                "test `{label}`: `Matches` must be a mapping of field to values, found {}",
                n.type_name()
            ),
        )
        .help = Some(HELP.to_owned());
        return Vec::new();
    };
    let mut out = Vec::with_capacity(fields.len());
    for (fk, fv) in fields {
        let Some(field) = fk.key_text() else {
            cx.report(
                Code::CorrTestShape,
                fk.span,
                format!(
                    "test `{label}`: a field name in `Matches` must be a scalar, found {}",
                    fk.type_name()
                ),
            )
            .help = Some(HELP.to_owned());
            continue;
        };
        let Some(values) = fv.as_map() else {
            cx.report(
                Code::CorrTestShape,
                fv.span,
                format!(
                    "test `{label}`: `Matches.{field}` must map values to lists of timestamps, found {}",
                    fv.type_name()
                ),
            )
            .help = Some(HELP.to_owned());
            continue;
        };
        let mut signals = Vec::with_capacity(values.len());
        for (vk, vv) in values {
            let value = match &vk.kind {
                NodeKind::Null => None,
                NodeKind::Float(f) => Some(float_text(*f)),
                NodeKind::Seq(_) | NodeKind::Map(_) => {
                    cx.report(
                        Code::CorrTestShape,
                        vk.span,
                        format!(
                            "test `{label}`: a value key in `Matches.{field}` must be a scalar, found {}",
                            vk.type_name()
                        ),
                    )
                    .help = Some("value keys are strings, numbers, booleans or null".to_owned());
                    continue;
                }
                _ => vk.key_text(),
            };
            let Some(stamps) = vv.as_seq() else {
                cx.report(
                    Code::CorrTestShape,
                    vv.span,
                    format!(
                        "test `{label}`: the signals of a value must be a list of timestamps, found {}",
                        vv.type_name()
                    ),
                )
                .help = Some("write `[0]` for one signal at minute 0".to_owned());
                continue;
            };
            let timestamps = stamps.iter().filter_map(|s| timestamp(cx, s, label)).collect();
            signals.push(ValueSignals {
                value: Spanned::new(value, vk.span),
                timestamps,
            });
        }
        out.push(FieldSignals {
            field: Spanned::new(field, fk.span),
            values: signals,
        });
    }
    out
}

/// One timestamp: integer minutes or an RFC 3339 string (§6.1).
fn timestamp(cx: &mut Cx, n: &Node, label: &str) -> Option<Spanned<Timestamp>> {
    const HELP: &str = "use integer minutes (`0`, `15`) or RFC 3339 date-times (`2024-06-01T10:00:00Z`)";
    let message = match &n.kind {
        NodeKind::Int(i) => return Some(Spanned::new(Timestamp::Relative(*i), n.span)),
        NodeKind::Str(s) => match parse_rfc3339(s) {
            Some(t) => return Some(Spanned::new(Timestamp::Absolute(t), n.span)),
            None => format!("test `{label}`: timestamp `{s}` is neither an integer nor an RFC 3339 date-time"),
        },
        NodeKind::Float(f) => format!(
            "test `{label}`: timestamp `{}` is a fractional number; timestamps are whole minutes",
            float_text(*f)
        ),
        _ => format!(
            "test `{label}`: a timestamp must be an integer or an RFC 3339 string, found {}",
            n.type_name()
        ),
    };
    cx.report(Code::CorrTestShape, n.span, message).help = Some(HELP.to_owned());
    None
}

/// Relative and absolute timestamps are not mixed in one test (§6.1).
/// Returns whether the test is consistent.
fn timestamp_kinds(cx: &mut Cx, test: &CorrelationTest, label: &str) -> bool {
    let mut stamps = test
        .rule_outputs
        .iter()
        .flat_map(|ro| ro.matches.iter())
        .flat_map(|f| f.values.iter())
        .flat_map(|v| v.timestamps.iter());
    let Some(first) = stamps.next() else { return true };
    let Some(other) = stamps.find(|t| t.value.is_absolute() != first.value.is_absolute()) else {
        return true;
    };
    let file = cx.file;
    let d = cx.report(
        Code::CorrTestShape,
        other.span,
        format!(
            "test `{label}`: relative (integer) and absolute (RFC 3339) timestamps are mixed; use one kind per test"
        ),
    );
    d.relate(file, first.span, "first timestamp of the other kind");
    d.help =
        Some("write every timestamp of the test as integer minutes, or every one as an RFC 3339 date-time".to_owned());
    false
}

/// `corr-test-null-join`: signals listed under a field that is not a join
/// field of their item lack that join field (§3.2, §6.2).
fn null_joins(cx: &mut Cx, test: &CorrelationTest, label: &str, d: &CorrelationDetection, fields: &[Vec<&str>]) {
    for ro in &test.rule_outputs {
        let Some(i) = d.item_index(&ro.id.value) else { continue };
        let Some(joins) = fields.get(i) else { continue };
        for f in &ro.matches {
            if f.values.iter().all(|v| v.timestamps.is_empty()) {
                continue;
            }
            for join in joins.iter().filter(|j| **j != f.field.value) {
                cx.report(
                    Code::CorrTestNullJoin,
                    f.field.span,
                    format!(
                        "test `{label}`: signals of `{}` under `{}` lack the join field `{join}`; they join on null",
                        ro.id.value, f.field.value
                    ),
                )
                .help = Some(format!(
                    "list the signals of `{}` under `{join}`, the field the rule matches it on",
                    ro.id.value
                ));
            }
        }
    }
}

/// `corr-test-span`: signals farther apart than the lookback window.
fn test_span(cx: &mut Cx, test: &CorrelationTest, label: &str, d: &CorrelationDetection, span: Span) {
    let times: Vec<i64> = test.signals().map(|s| s.time).collect();
    let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) else {
        return;
    };
    let lookback = d.lookback_minutes();
    let spread = max.saturating_sub(*min);
    if spread > lookback.saturating_mul(60) {
        cx.report(
            Code::CorrTestSpan,
            span,
            format!(
                "test `{label}`: its signals span {} minutes, more than the {lookback}-minute lookback window",
                spread / 60
            ),
        )
        .help = Some("the test runs at its latest signal; signals older than the lookback are ignored".to_owned());
    }
}

/// `duplicate-test-name`.
fn duplicate_names(cx: &mut Cx, names: &[Spanned<String>]) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for n in names {
        if let Some(first) = seen.get(n.value.as_str()) {
            let file = cx.file;
            let d = cx.report(
                Code::DuplicateTestName,
                n.span,
                format!("two tests are named `{}`", n.value),
            );
            d.relate(file, *first, "first here");
            d.help = Some("give each test a unique `Name`".to_owned());
        } else {
            seen.insert(&n.value, n.span);
        }
    }
}

/// `corr-test-anchor`: aliases (and merge keys) inside `Tests`. The YAML
/// layer resolves them, but an expanded alias keeps the spans of its
/// anchor, so a child lying outside its parent's span betrays one. Scalar
/// aliases leave no such trace and are not found.
fn aliases(cx: &mut Cx, n: &Node) {
    let children: Vec<&Node> = match &n.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return,
    };
    let inside = |c: &Node| c.span.start >= n.span.start && c.span.end <= n.span.end;
    if children.iter().all(|c| inside(c)) {
        for c in children {
            aliases(cx, c);
        }
        return;
    }
    let span = if n.span.start.line == n.span.end.line {
        n.span
    } else {
        n.first_key_span()
    };
    cx.report(
        Code::CorrTestAnchor,
        span,
        "YAML anchors and aliases inside `Tests` can break correlation tests in Panther",
    )
    .help = Some("write the repeated values out in full".to_owned());
}
