//! Rules, scheduled rules and derived detections (simple-detections §4–§5,
//! §11, §14; derived-detections §2).

use std::collections::HashMap;

use crate::diagnostic::{Code, Fix};
use crate::load::alert;
use crate::load::cx::{rename_key, replace_value};
use crate::load::expr::{ExprContext, MAX_EXPRESSIONS, count_expressions, expr_list};
use crate::load::{Cx, null_values};
use crate::model::fields::{self, DERIVED_LOGIC_KEYS, DERIVED_OWN_KEYS, Kind, MOCK_KEYS, RULE_TEST_KEYS};
use crate::model::{AnalysisType, Level, Rule, RuleTest, TestLog};
use crate::source::{Span, Spanned};
use crate::yaml::Node;

/// Top-level keys of a rule or scheduled rule (PAT's strict schema), from
/// the table of analysis keys.
pub const RULE_KEYS: &[&str] = fields::RULE_KEYS;

/// Keys a derived detection may override (derived-detections §2.2, §3),
/// from the table of detection keys.
pub const OVERRIDABLE: &[&str] = &crate::model::keys::OVERRIDABLE;

/// Every key a derived detection may write.
fn derived_keys_allowed() -> impl Iterator<Item = &'static str> + Clone {
    DERIVED_OWN_KEYS.iter().chain(OVERRIDABLE).copied()
}

/// Documented `DedupPeriodMinutes` values.
const DEDUP_PERIODS: &[i64] = &[15, 30, 60, 180, 720, 1440];

/// Loads a rule-like file.
pub fn load(cx: &mut Cx, root: &Node, ty: AnalysisType) -> Rule {
    let mut rule = Rule::default();
    let derived = root
        .get("BaseDetection")
        .is_some_and(|b| !matches!(b.as_str(), Some("")) && !b.is_null());
    null_values(cx, root, fields::RULE_NULLABLE);
    if derived {
        derived_keys(cx, root, ty);
    } else {
        top_level_keys(cx, root, RULE_KEYS, ty);
    }

    let get = |k: &str| root.get(k).filter(|v| !v.is_null());
    if let Some(n) = root.get("BaseDetection") {
        rule.base_detection = base_detection(cx, n);
        if let (Some(b), Some(id)) = (&rule.base_detection, root.get("RuleID").and_then(Node::as_str)) {
            if b.value == id {
                let span = root.get("RuleID").map_or(b.span, |n| n.span);
                cx.report(
                    Code::DerivedRuleId,
                    span,
                    format!("`RuleID` must differ from `BaseDetection` (`{id}`)"),
                )
                .help = Some("give the derived detection its own ID, e.g. `<base>.Custom`".to_owned());
            }
        }
    }
    rule.enabled = get("Enabled").and_then(|n| cx.boolean(n, "Enabled"));
    rule.severity = get("Severity").and_then(|n| severity(cx, n));
    rule.display_name = get("DisplayName").and_then(|n| cx.display_name(n));
    for key in ["Description", "Runbook", "Reference"] {
        if let Some(n) = get(key) {
            cx.string(n, key);
        }
    }
    rule.status = get("Status").and_then(|n| cx.string(n, "Status"));
    bookkeeping(cx, root);
    rule.tags = cx.set_field(root, "Tags", true);
    cx.set_field(root, "OutputIds", false);
    cx.set_field(root, "SummaryAttributes", false);
    rule.log_types = cx.set_field(root, "LogTypes", false);
    rule.scheduled_queries = get("ScheduledQueries").and_then(|n| cx.string_list(n, "ScheduledQueries"));
    if let Some(n) = get("Filename") {
        rule.filename = cx.string(n, "Filename");
    }
    if let Some(n) = get("DedupPeriodMinutes") {
        rule.dedup_period_minutes = cx.integer(n, "DedupPeriodMinutes");
        if let Some(p) = &rule.dedup_period_minutes {
            dedup_period(cx, p);
        }
    }
    if let Some(n) = get("Threshold") {
        rule.threshold = cx.integer(n, "Threshold");
        if let Some(t) = &rule.threshold {
            if t.value < 1 {
                cx.report(
                    Code::InvalidValue,
                    t.span,
                    format!("`Threshold` must be at least 1, found {}", t.value),
                );
            }
        }
    }
    rule.create_alert = get("CreateAlert").and_then(|n| cx.boolean(n, "CreateAlert"));

    // Logic.
    if !derived {
        if let Some(n) = get("Detection") {
            rule.detection = expr_list(cx, n, "Detection", ExprContext::Detection);
            if rule.detection.as_ref().is_some_and(Vec::is_empty) && n.as_seq().is_some_and(<[Node]>::is_empty) {
                cx.report(Code::InvalidValue, n.span, "`Detection` must not be empty")
                    .help = Some("list at least one match expression".to_owned());
            }
        }
    }
    if let Some(n) = get("InlineFilters") {
        rule.inline_filters = expr_list(cx, n, "InlineFilters", ExprContext::InlineFilters);
        if ty == AnalysisType::ScheduledRule {
            cx.report(
                Code::FiltersIgnored,
                key_span(root, "InlineFilters"),
                "`InlineFilters` are ignored on a scheduled rule",
            )
            .help = Some("Panther only runs inline filters for streaming rules (`AnalysisType: rule`)".to_owned());
        }
    }
    if let Some(n) = get("DynamicSeverities") {
        rule.dynamic_severities = alert::dynamic_severities(cx, n);
    }
    if let Some(n) = get("AlertTitle") {
        rule.alert_title = alert::alert_title(cx, n);
    }
    if let Some(n) = get("AlertContext") {
        rule.alert_context = alert::alert_context(cx, n);
    }
    if let Some(n) = get("GroupBy") {
        rule.group_by = alert::group_by(cx, n);
    }
    if let Some(n) = root.get("Tests") {
        rule.tests = tests(cx, n, rule.detection.is_some());
        test_work(cx, root, rule.tests.as_deref().unwrap_or_default());
    }

    if !derived {
        cross_field(cx, root, ty, &rule);
    }
    if rule.create_alert.as_ref().is_some_and(|c| !c.value) {
        for key in ["AlertTitle", "DynamicSeverities", "GroupBy"] {
            if root.get(key).is_some() {
                cx.report(
                    Code::UnusedAlertKeys,
                    key_span(root, key),
                    format!("`{key}` has no effect with `CreateAlert: false`"),
                )
                .help = Some("matches only produce signals; remove the key or create alerts".to_owned());
            }
        }
    }
    rule
}

fn key_span(root: &Node, key: &str) -> crate::source::Span {
    root.get_entry(key)
        .map(|(k, _)| k.span)
        .unwrap_or_else(|| root.first_key_span())
}

fn top_level_keys(cx: &mut Cx, root: &Node, allowed: &[&str], ty: AnalysisType) {
    let Some(entries) = root.as_map() else { return };
    for (k, _) in entries {
        let Some(name) = k.as_str() else {
            cx.unknown_keys(
                &Node {
                    span: root.span,
                    kind: crate::yaml::NodeKind::Map(vec![(k.clone(), k.clone())]),
                },
                allowed,
                Code::UnknownKey,
                "the file",
            );
            continue;
        };
        if allowed.contains(&name) {
            continue;
        }
        let found = super::cx::rename_key(name, k.span, allowed, root);
        let (help, fix) = found.map_or((None, None), |(h, f)| (Some(h), Some(f)));
        if cx.opts.ignore_extra_keys {
            let d = cx.report(
                Code::ExtraKeyIgnored,
                k.span,
                format!("unknown key `{name}` ignored (--ignore-extra-keys)"),
            );
            d.help = help;
        } else {
            let d = cx.report(
                Code::UnknownKey,
                k.span,
                format!("unknown key `{name}` in a {}", ty.name()),
            );
            d.help = Some(help.unwrap_or_else(|| "remove it, or run with --ignore-extra-keys as PAT would".to_owned()));
            d.fix = fix;
        }
    }
}

fn derived_keys(cx: &mut Cx, root: &Node, ty: AnalysisType) {
    if ty != AnalysisType::Rule {
        cx.report(
            Code::DerivedAnalysisType,
            root.get("AnalysisType").map_or(root.span, |n| n.span),
            format!(
                "a derived detection must be `AnalysisType: rule`, found `{}`",
                ty.name()
            ),
        );
    }
    for (k, _) in root.as_map().unwrap_or(&[]) {
        let name = k.key_text().unwrap_or_default();
        if derived_keys_allowed().any(|k| k == name) {
            continue;
        }
        if name == "Detection" {
            cx.report(
                Code::DerivedDetectionIgnored,
                k.span,
                "`Detection` in a derived detection is ignored",
            )
            .help = Some("the logic comes from the base detection; remove the key".to_owned());
            continue;
        }
        let logic = DERIVED_LOGIC_KEYS.contains(&name.as_str());
        if cx.opts.ignore_extra_keys && !logic {
            cx.report(
                Code::ExtraKeyIgnored,
                k.span,
                format!("key `{name}` ignored in a derived detection (--ignore-extra-keys)"),
            );
            continue;
        }
        let d = cx.report(
            Code::DerivedKeyNotAllowed,
            k.span,
            format!("a derived detection cannot set `{name}`"),
        );
        if logic {
            d.help = Some(format!(
                "`{name}` defines the logic, which comes from the base detection"
            ));
        } else {
            let allowed: Vec<&str> = derived_keys_allowed().collect();
            match rename_key(&name, k.span, &allowed, root) {
                Some((help, fix)) => d.with_help_and_fix(help, fix),
                None => d.help = Some("derived detections may only override metadata and alert keys".to_owned()),
            }
        }
    }
}

fn base_detection(cx: &mut Cx, n: &Node) -> Option<Spanned<String>> {
    match n.as_str() {
        Some(s) if !s.is_empty() => {
            if let Some(c) = s.chars().find(|c| matches!(c, '<' | '>' | '&' | '"' | '%')) {
                cx.report(
                    Code::DerivedBaseId,
                    n.span,
                    format!("`BaseDetection` contains the forbidden character `{c}`"),
                );
            }
            Some(Spanned::new(s.to_owned(), n.span))
        }
        _ => {
            cx.report(
                Code::DerivedBaseId,
                n.span,
                "`BaseDetection` must be a non-empty string (the base's `RuleID`)",
            );
            None
        }
    }
}

/// `Severity` of a rule or policy: Title-case, or all-caps with the
/// warning `severity-spelling`.
pub(crate) fn severity(cx: &mut Cx, n: &Node) -> Option<Spanned<Level>> {
    let s = cx.string(n, "Severity")?;
    if let Some((l, _)) = Level::ALL.iter().find(|(_, name)| *name == s.value) {
        return Some(Spanned::new(*l, s.span));
    }
    if let Some((l, _)) = Level::ALL.iter().find(|(l, _)| l.upper() == s.value) {
        cx.report(
            Code::SeveritySpelling,
            s.span,
            format!("`Severity: {}` is accepted, but PAT rejects this spelling", s.value),
        )
        .with_help_and_fix(
            format!("write `{}`", l.title()),
            Fix::replace(
                format!("replace `{}` with `{}`", s.value, l.title()),
                s.span,
                l.title(),
                true,
            ),
        );
        return Some(Spanned::new(*l, s.span));
    }
    let names = Level::ALL.iter().map(|(_, n)| *n);
    let d = cx.report(
        Code::InvalidValue,
        s.span,
        format!(
            "`Severity` must be one of Info, Low, Medium, High, Critical, found `{}`",
            s.value
        ),
    );
    if let Some((help, fix)) = replace_value(&s.value, s.span, names) {
        d.with_help_and_fix(help, fix);
    }
    None
}

fn dedup_period(cx: &mut Cx, p: &Spanned<i64>) {
    let v = p.value;
    if v < 0 {
        // PAT accepts any integer and warns that Panther raises values
        // below 5 to 5; a negative period is no different.
        cx.report(
            Code::DedupPeriod,
            p.span,
            format!("`DedupPeriodMinutes: {v}` is negative; Panther raises it to 5"),
        )
        .help = Some("use 15, 30, 60, 180, 720 or 1440".to_owned());
    } else if v == 0 {
        cx.report(
            Code::DedupPeriod,
            p.span,
            "`DedupPeriodMinutes: 0` is ignored by Panther, which uses 60",
        )
        .help = Some("to disable deduplication group by a unique field such as `p_row_id`".to_owned());
    } else if v < 5 {
        cx.report(
            Code::DedupPeriod,
            p.span,
            format!("`DedupPeriodMinutes: {v}` is raised to 5 by Panther"),
        );
    } else if !DEDUP_PERIODS.contains(&v) {
        cx.report(
            Code::DedupPeriod,
            p.span,
            format!("`DedupPeriodMinutes: {v}` is not one of the documented values"),
        )
        .help = Some("use 15, 30, 60, 180, 720 or 1440".to_owned());
    }
}

/// Keys of rules and correlation rules that are only type-checked:
/// `CreatedBy`, `OnlyUseBaseRiskScore`, `BaseVersion` and `Reports`.
pub(crate) fn bookkeeping(cx: &mut Cx, root: &Node) {
    let get = |k: &str| root.get(k).filter(|v| !v.is_null());
    if let Some(n) = get("CreatedBy") {
        cx.string(n, "CreatedBy");
    }
    if let Some(n) = get("OnlyUseBaseRiskScore") {
        cx.boolean(n, "OnlyUseBaseRiskScore");
    }
    if let Some(n) = get("BaseVersion") {
        cx.integer(n, "BaseVersion");
    }
    if let Some(n) = get("Reports") {
        reports(cx, n);
    }
}

/// `Reports`: a mapping of framework names to lists of strings or numbers.
pub(crate) fn reports(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "Reports") else { return };
    for (k, v) in m.as_map().unwrap_or(&[]) {
        let name = k.key_text().unwrap_or_default();
        let Some(items) = cx.list(v, &format!("Reports.{name}")) else {
            continue;
        };
        for item in items {
            if !matches!(
                item.kind,
                crate::yaml::NodeKind::Str(_) | crate::yaml::NodeKind::Int(_) | crate::yaml::NodeKind::Float(_)
            ) {
                cx.report(
                    Code::WrongType,
                    item.span,
                    format!(
                        "`Reports.{name}` items must be strings or numbers, found {}",
                        item.type_name()
                    ),
                );
            }
        }
    }
}

fn cross_field(cx: &mut Cx, root: &Node, ty: AnalysisType, rule: &Rule) {
    let has = |k: &str| root.get(k).is_some();
    match (has("Detection"), has("Filename")) {
        (true, true) => cx.exclusive(root, "Detection", "Filename"),
        (false, false) => {
            cx.report(
                Code::MissingKey,
                root.first_key_span(),
                "missing key `Detection` or `Filename`",
            )
            .help = Some("a rule needs its logic: `Detection` (YAML) or `Filename` (Python)".to_owned());
        }
        _ => {}
    }
    // The ID key (`RuleID`) is reported by `read_id` for every type.
    for f in fields::RULE.iter().filter(|f| f.required && f.kind != Kind::Skip) {
        if !has(f.key) {
            cx.missing(root, f.key, "the file");
        }
    }
    if ty == AnalysisType::Rule {
        if has("LogTypes") && has("ScheduledQueries") {
            cx.exclusive(root, "LogTypes", "ScheduledQueries");
        } else if !has("LogTypes") {
            cx.missing(root, "LogTypes", "a rule");
        }
    } else {
        if has("LogTypes") && has("ScheduledQueries") {
            cx.exclusive(root, "LogTypes", "ScheduledQueries");
        } else if !has("ScheduledQueries") {
            cx.missing(root, "ScheduledQueries", "a scheduled rule");
        }
        if has("Detection") {
            cx.report(
                Code::ScheduledSimpleDetection,
                key_span(root, "Detection"),
                "a scheduled rule with `Detection` is not supported by Panther",
            )
            .help = Some("Panther documents Simple Detections for streaming rules only".to_owned());
        }
    }
    if let Some(lt) = &rule.log_types {
        if lt.is_empty() {
            if let Some(n) = root.get("LogTypes") {
                cx.report(Code::InvalidValue, n.span, "`LogTypes` must not be empty");
            }
        }
    }
    if let Some(sq) = &rule.scheduled_queries {
        if sq.is_empty() {
            if let Some(n) = root.get("ScheduledQueries") {
                cx.report(Code::InvalidValue, n.span, "`ScheduledQueries` must not be empty");
            }
        }
    }
}

/// Most match-expression evaluations the tests of one file may need (the
/// number of tests times the expressions they evaluate, after aliases).
/// Real files need a few hundred; the bound keeps an aliased file of many
/// tests from keeping `detect test` busy for minutes.
pub const MAX_TEST_WORK: usize = 1_000_000;

/// Reports tests that would evaluate more than [`MAX_TEST_WORK`]
/// expressions in all (`invalid-value` on `Tests`, so they are not run).
fn test_work(cx: &mut Cx, root: &Node, tests: &[RuleTest]) {
    let mut exprs = 0usize;
    for n in ["Detection", "InlineFilters", "DynamicSeverities"]
        .iter()
        .filter_map(|k| root.get(k))
    {
        let count = count_expressions(n, MAX_EXPRESSIONS);
        if count > MAX_EXPRESSIONS {
            // Already reported on the list itself.
            return;
        }
        exprs += count;
    }
    let work = tests.len().saturating_mul(exprs.max(1));
    if let (true, Some((key, _))) = (work > MAX_TEST_WORK, root.get_entry("Tests")) {
        cx.report(
            Code::InvalidValue,
            key.span,
            format!(
                "{} tests of {exprs} match expressions each would need more than {MAX_TEST_WORK} evaluations",
                tests.len()
            ),
        )
        .help = Some("split the tests over several rules, or write fewer, smaller tests".to_owned());
    }
}

/// Reads `Tests` of a rule.
fn tests(cx: &mut Cx, n: &Node, simple: bool) -> Option<Vec<RuleTest>> {
    if n.is_null() {
        return Some(Vec::new());
    }
    let items = cx.list(n, "Tests")?;
    let mut out = Vec::with_capacity(items.len());
    // Test names seen so far and where: a hash map keeps the check linear.
    let mut names: HashMap<String, Span> = HashMap::new();
    for item in items {
        let Some(map) = item.as_map() else {
            cx.report(
                Code::WrongType,
                item.span,
                format!("a test must be a mapping, found {}", item.type_name()),
            );
            continue;
        };
        let _ = map;
        cx.unknown_keys(item, RULE_TEST_KEYS, Code::UnknownKey, "a test");
        let name = match item.get("Name") {
            Some(v) => cx.string(v, "Name"),
            None => {
                cx.missing(item, "Name", "a test");
                None
            }
        };
        let expected = match item.get("ExpectedResult") {
            Some(v) => cx.boolean(v, "ExpectedResult"),
            None => {
                cx.missing(item, "ExpectedResult", "a test");
                None
            }
        };
        let log = TestLog::of(item.get("Log"));
        if log == TestLog::Missing {
            cx.missing(item, "Log", "a test");
        }
        // `RULE_SCHEMA` allows it (a list of destination names); `detect`
        // checks its type and does not evaluate it.
        if let Some(v) = item.get("ExpectedDestinations") {
            cx.string_list(v, "ExpectedDestinations");
        }
        if let Some(v) = item.get("LogType") {
            cx.string(v, "LogType");
        }
        if let Some((k, v)) = item.get_entry("Mocks") {
            mocks(cx, v);
            if simple {
                cx.report(
                    Code::MocksIgnored,
                    k.span,
                    "`Mocks` have no effect in a Simple Detection test",
                )
                .help = Some("mocks replace Python functions; a YAML detection has none".to_owned());
            }
        }
        if let Some(name) = &name {
            if let Some(&first) = names.get(&name.value) {
                let file = cx.file;
                cx.report(
                    Code::DuplicateTestName,
                    name.span,
                    format!("two tests are named `{}`", name.value),
                )
                .related
                .push(crate::diagnostic::Label {
                    file,
                    span: first,
                    text: Some("first here".to_owned()),
                });
            } else {
                names.insert(name.value.clone(), name.span);
            }
        }
        if let (Some(name), Some(expected)) = (name, expected) {
            out.push(RuleTest {
                name,
                expected,
                log,
                span: item.first_key_span(),
            });
        }
    }
    Some(out)
}

/// `Mocks` of a test: `objectName` and a string or boolean `returnValue`.
pub(crate) fn mocks(cx: &mut Cx, n: &Node) {
    let Some(items) = cx.list(n, "Mocks") else { return };
    for m in items {
        let Some(_) = cx.mapping(m, "Mocks item") else { continue };
        cx.unknown_keys(m, MOCK_KEYS, Code::UnknownKey, "a mock");
        match m.get("objectName") {
            Some(v) => {
                cx.string(v, "objectName");
            }
            None => cx.missing(m, "objectName", "a mock"),
        }
        match m.get("returnValue") {
            Some(v) if matches!(v.kind, crate::yaml::NodeKind::Str(_) | crate::yaml::NodeKind::Bool(_)) => {}
            Some(v) => {
                cx.report(
                    Code::WrongType,
                    v.span,
                    format!("`returnValue` must be a string or a boolean, found {}", v.type_name()),
                );
            }
            None => cx.missing(m, "returnValue", "a mock"),
        }
    }
}
