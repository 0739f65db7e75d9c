//! Correlation rules (correlation-rules §2, §5, §6.1).
//!
//! [`load_rule`] reads a `correlation_rule` file into the typed
//! [`CorrelationRule`] and reports every problem the file shows on its own:
//! keys and types at every level, the Group and Sequence forms, items,
//! `MatchCriteria`, `Transitions`, `Schedule`, the lookback window and the
//! shape of the unit tests. Problems that need other files (unknown,
//! disabled or unsuitable referenced rules, non-`p_` join fields) are the
//! cross-file check `check::correlation_refs`. The `RuleID` is read and
//! checked by `load::load_file` before this module runs.

use crate::load::rule::bookkeeping;
use std::collections::HashMap;

use crate::diagnostic::{Code, Fix};
use crate::load::cx::{replace_value, required_string};
use crate::load::{Cx, null_values};
use crate::model::correlation::{
    CorrelationDetection, CorrelationRule, CorrelationTest, Criterion, CriterionEntry, Cron, DEFAULT_LOOKBACK_MINUTES,
    EvaluationOrder, FieldMatch, FieldSignals, Form, Group, Item, MIN_LOOKBACK_MINUTES, RuleOutput, Schedule, Sequence,
    Timestamp, Transition, Trigger, ValueSignals, parse_rfc3339,
};
use crate::model::fields::{self, Kind};
use crate::model::{Level, Other};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind, float_text};

/// Top-level keys of a correlation rule (§2.1), from the table of analysis
/// keys.
pub const TOP_KEYS: &[&str] = fields::CORRELATION_RULE_KEYS;
const BLOCK_KEYS: &[&str] = fields::CORRELATION_BLOCK_KEYS;
const ITEM_KEYS: &[&str] = fields::CORRELATION_ITEM_KEYS;
const CRITERION_KEYS: &[&str] = fields::CORRELATION_CRITERION_KEYS;
const TRANSITION_KEYS: &[&str] = fields::CORRELATION_TRANSITION_KEYS;
const MATCH_KEYS: &[&str] = fields::CORRELATION_MATCH_KEYS;
const SCHEDULE_KEYS: &[&str] = fields::CORRELATION_SCHEDULE_KEYS;
const TEST_KEYS: &[&str] = fields::CORRELATION_TEST_KEYS;
const OUTPUT_KEYS: &[&str] = fields::CORRELATION_OUTPUT_KEYS;

/// Loads a `correlation_rule` file and returns what cross-file checks need.
pub fn load(cx: &mut Cx, root: &Node) -> Other {
    let rule = load_rule(cx, root);
    Other {
        enabled: rule.enabled.as_ref().map(|e| e.value),
        rule_refs: rule.rule_refs(),
        correlation: Some(Box::new(rule)),
        ..Other::default()
    }
}

/// Loads a `correlation_rule` file into its typed model, reporting every
/// problem found in the file.
pub fn load_rule(cx: &mut Cx, root: &Node) -> CorrelationRule {
    let mut rule = CorrelationRule::default();
    null_values(cx, root, &[]);
    cx.unknown_keys(root, TOP_KEYS, Code::UnknownKey, "a correlation rule");
    for f in fields::CORRELATION_RULE
        .iter()
        .filter(|f| f.required && f.kind != Kind::Skip)
    {
        if root.get(f.key).is_none() {
            cx.missing(root, f.key, "a correlation rule");
        }
    }
    let get = |k: &str| root.get(k).filter(|v| !v.is_null());

    rule.enabled = get("Enabled").and_then(|n| cx.boolean(n, "Enabled"));
    rule.severity = get("Severity").and_then(|n| severity(cx, n));
    rule.display_name = get("DisplayName").and_then(|n| cx.display_name(n));
    rule.description = get("Description").and_then(|n| cx.string(n, "Description"));
    rule.runbook = get("Runbook").and_then(|n| cx.string(n, "Runbook"));
    rule.reference = get("Reference").and_then(|n| cx.string(n, "Reference"));
    rule.status = get("Status").and_then(|n| cx.string(n, "Status"));
    rule.create_alert = get("CreateAlert").and_then(|n| cx.boolean(n, "CreateAlert"));
    bookkeeping(cx, root);
    rule.tags = cx.set_field(root, "Tags", true);
    rule.summary_attributes = cx.set_field(root, "SummaryAttributes", false);
    rule.output_ids = cx.set_field(root, "OutputIds", false);

    rule.detection = get("Detection").and_then(|n| detection(cx, n));
    if let Some(n) = get("Tests") {
        rule.tests = tests(cx, n, rule.detection.as_ref());
    }

    let has_tests = rule.tests.as_ref().is_some_and(|t| !t.is_empty());
    if rule.enabled.as_ref().is_some_and(|e| e.value) && !has_tests {
        let span = root
            .get_entry("RuleID")
            .map_or_else(|| root.first_key_span(), |(k, _)| k.span);
        cx.report(Code::CorrNoTests, span, "enabled correlation rule without tests")
            .help =
            Some("add `Tests` with `RuleOutputs`; `detect test` skips this rule with reason `no tests`".to_owned());
    }
    rule
}

/// `Severity`: exact case, as PAT requires for correlation rules (§2.1).
fn severity(cx: &mut Cx, n: &Node) -> Option<Spanned<Level>> {
    let s = cx.string(n, "Severity")?;
    if let Some((l, _)) = Level::ALL.iter().find(|(_, name)| *name == s.value) {
        return Some(Spanned::new(*l, s.span));
    }
    let found = replace_value(&s.value, s.span, Level::ALL.iter().map(|(_, n)| *n));
    let help = match (
        &found,
        Level::ALL.iter().find(|(_, name)| name.eq_ignore_ascii_case(&s.value)),
    ) {
        (_, Some((_, name))) => format!("use `{name}`; correlation rules need the exact spelling"),
        (Some((h, _)), None) => h.clone(),
        (None, None) => "use one of Info, Low, Medium, High, Critical".to_owned(),
    };
    let d = cx.report(
        Code::InvalidValue,
        s.span,
        format!("`Severity` `{}` is not valid", s.value),
    );
    d.help = Some(help);
    d.fix = found.map(|(_, f)| f);
    None
}

/// `Detection`: a list with exactly one block (§2.2, decision 1).
fn detection(cx: &mut Cx, n: &Node) -> Option<CorrelationDetection> {
    const HELP: &str = "write `Detection:` followed by one `- Group: …` or `- Sequence: …` block";
    let Some(blocks) = n.as_seq() else {
        cx.report(
            Code::CorrDetectionShape,
            n.span,
            format!(
                "`Detection` must be a list with exactly one element, found {}",
                n.type_name()
            ),
        )
        .help = Some(HELP.to_owned());
        return None;
    };
    let Some(block) = blocks.first() else {
        cx.report(
            Code::CorrDetectionShape,
            n.span,
            "`Detection` must be a list with exactly one element, found an empty list",
        )
        .help = Some(HELP.to_owned());
        return None;
    };
    if let Some(extra) = blocks.get(1) {
        let span = if extra.as_map().is_some() {
            extra.first_key_span()
        } else {
            extra.span
        };
        cx.report(
            Code::CorrDetectionShape,
            span,
            format!(
                "`Detection` must be a list with exactly one element, found {}",
                blocks.len()
            ),
        )
        .help =
            Some("Panther reads only the first block; move the others into correlation rules of their own".to_owned());
    }
    if block.as_map().is_none() {
        cx.report(
            Code::CorrDetectionShape,
            block.span,
            format!("the detection block must be a mapping, found {}", block.type_name()),
        )
        .help = Some(HELP.to_owned());
        return None;
    }
    detection_block(cx, block)
}

/// The detection block: its form, items and form-specific keys (§2.2).
fn detection_block(cx: &mut Cx, block: &Node) -> Option<CorrelationDetection> {
    cx.unknown_keys(block, BLOCK_KEYS, Code::UnknownKey, "the detection block");
    let get = |k: &str| block.get_entry(k);
    let group = get("Group");
    let sequence = get("Sequence");
    // The form is the first of `Group`/`Sequence` in document order.
    let form = match (group, sequence) {
        (Some((gk, gv)), Some((sk, sv))) => {
            cx.exclusive(block, "Group", "Sequence");
            let other = if gk.span.start <= sk.span.start {
                (sk, sv)
            } else {
                (gk, gv)
            };
            // Items of the ignored list are still checked on their own.
            items(cx, other.0, other.1, false);
            Some(if gk.span.start <= sk.span.start {
                (false, gk, gv)
            } else {
                (true, sk, sv)
            })
        }
        (Some((k, v)), None) => Some((false, k, v)),
        (None, Some((k, v))) => Some((true, k, v)),
        (None, None) => {
            cx.report(
                Code::MissingKey,
                block.first_key_span(),
                "missing key `Group` or `Sequence` in the detection block",
            )
            .help = Some("list the correlated rules under `Group` (any order) or `Sequence` (in order)".to_owned());
            None
        }
    };

    let lookback = block.get("LookbackWindowMinutes").and_then(|n| lookback(cx, n));
    // The lookback later checks compare against, when it is usable.
    let usable_lookback = match &lookback {
        Some(l) if l.value >= MIN_LOOKBACK_MINUTES => Some(l.value),
        Some(_) => None,
        None if block.get("LookbackWindowMinutes").is_none() => Some(DEFAULT_LOOKBACK_MINUTES),
        None => None,
    };
    let schedule = match block.get("Schedule") {
        Some(n) => schedule(cx, n),
        None => {
            cx.missing(block, "Schedule", "the detection block");
            None
        }
    };
    let event_evaluation_order = block.get("EventEvaluationOrder").and_then(|n| evaluation_order(cx, n));

    let (is_sequence, list_key, list) = form?;
    let items = items(cx, list_key, list, true)?;
    let complete = list.as_seq().is_some_and(|l| l.len() == items.len());
    let form = if is_sequence {
        for key in ["MatchCriteria", "MinMatchCount"] {
            if let Some((k, _)) = get(key) {
                let help = if key == "MatchCriteria" {
                    "a Sequence matches fields with `Transitions[].Match`"
                } else {
                    "set `MinMatchCount` on the steps of a Sequence"
                };
                cx.report(
                    Code::CorrKeyNotAllowed,
                    k.span,
                    format!("`{key}` is only allowed with `Group`"),
                )
                .help = Some(help.to_owned());
            }
        }
        let transitions = get("Transitions").and_then(|(k, v)| {
            if v.is_null() {
                cx.report(Code::WrongType, v.span, "`Transitions` has no value").help =
                    Some("give it a value or remove the key".to_owned());
                return None;
            }
            transitions(cx, k, v, &items, complete, usable_lookback)
        });
        if get("Transitions").is_none() && items.len() > 1 {
            cx.report(
                Code::CorrNoTransitions,
                list_key.span,
                format!("`Sequence` of {} steps without `Transitions`", items.len()),
            )
            .help = Some(
                "without `Transitions` no fields are matched and every step may follow the previous one anywhere in the lookback window".to_owned(),
            );
        }
        if complete {
            adjacent_absences(cx, &items);
        }
        Form::Sequence(Sequence { transitions })
    } else {
        if let Some((k, _)) = get("Transitions") {
            cx.report(
                Code::CorrKeyNotAllowed,
                k.span,
                "`Transitions` is only allowed with `Sequence`",
            )
            .help = Some("a Group matches fields with `MatchCriteria`".to_owned());
        }
        let min_match_count = block.get("MinMatchCount").and_then(|n| cx.integer(n, "MinMatchCount"));
        let present = items.iter().filter(|i| !i.is_absent()).count();
        if let Some(m) = &min_match_count {
            if complete && present > 0 && (m.value < 1 || m.value > present as i64) {
                let noun = if present == 1 { "item" } else { "items" };
                cx.report(
                    Code::CorrGroupMinRange,
                    m.span,
                    format!(
                        "group `MinMatchCount` is {} but the group has only {present} present {noun}",
                        m.value
                    ),
                )
                .help = Some(format!(
                    "use a value from 1 to {present}; absences do not count towards it"
                ));
            }
        }
        let match_criteria = block
            .get("MatchCriteria")
            .map(|n| criteria(cx, n, &items, complete))
            .unwrap_or_default();
        Form::Group(Group {
            match_criteria,
            min_match_count,
        })
    };

    let detection = CorrelationDetection {
        form,
        items,
        lookback_window_minutes: lookback,
        schedule,
        event_evaluation_order,
        span: block.span,
    };
    lookback_checks(cx, &detection, usable_lookback);
    Some(detection)
}

/// `LookbackWindowMinutes`: an integer of at least 15 (§4.2).
fn lookback(cx: &mut Cx, n: &Node) -> Option<Spanned<i64>> {
    let l = cx.integer(n, "LookbackWindowMinutes")?;
    if l.value < MIN_LOOKBACK_MINUTES {
        cx.report(
            Code::CorrLookbackMinimum,
            l.span,
            format!(
                "`LookbackWindowMinutes` must be at least {MIN_LOOKBACK_MINUTES} (Panther's minimum), found {}",
                l.value
            ),
        )
        .help = Some(format!("set it to {MIN_LOOKBACK_MINUTES} or more"));
    }
    Some(l)
}

/// `EventEvaluationOrder`: `Chronological` or `ReverseChronological`.
fn evaluation_order(cx: &mut Cx, n: &Node) -> Option<Spanned<EvaluationOrder>> {
    let s = cx.string(n, "EventEvaluationOrder")?;
    if let Some(o) = EvaluationOrder::from_name(&s.value) {
        return Some(Spanned::new(o, s.span));
    }
    let d = cx.report(
        Code::InvalidValue,
        s.span,
        format!("`EventEvaluationOrder` `{}` is not valid", s.value),
    );
    let found = replace_value(&s.value, s.span, EvaluationOrder::ALL.iter().map(|(_, n)| *n));
    d.help = Some(found.as_ref().map_or_else(
        || "use `Chronological` or `ReverseChronological`".to_owned(),
        |(h, _)| h.clone(),
    ));
    d.fix = found.map(|(_, f)| f);
    None
}

/// The entries of `Group` or `Sequence` (§2.3). `None` when the value is
/// not a list. `list_checks` adds the checks of the list as a whole (off
/// for the list ignored because of `exclusive-keys`).
fn items(cx: &mut Cx, key: &Node, list: &Node, list_checks: bool) -> Option<Vec<Item>> {
    let name = key.as_str().unwrap_or("Group");
    let nodes = cx.list(list, name)?;
    if nodes.is_empty() {
        cx.report(
            Code::CorrNoItems,
            list.span,
            format!("`{name}` must list at least one item"),
        )
        .help = Some("add items with `ID` and `RuleID`".to_owned());
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        if node.as_map().is_none() {
            cx.report(
                Code::WrongType,
                node.span,
                format!("a `{name}` item must be a mapping, found {}", node.type_name()),
            )
            .help = Some("write `- ID: <name>` and `RuleID: <referenced rule>`".to_owned());
            continue;
        }
        if let Some(item) = item(cx, node) {
            out.push(item);
        }
    }

    // Item keys are unique within the block (decision 2).
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &out {
        if let Some(first) = seen.get(item.key()) {
            let file = cx.file;
            let d = cx.report(
                Code::CorrDuplicateItem,
                item.key_span(),
                format!("two items use the key `{}`", item.key()),
            );
            d.relate(file, *first, "first here");
            d.help = Some(if item.id.is_none() {
                "items without `ID` are keyed by their `RuleID`; give each item a distinct `ID`".to_owned()
            } else {
                "give each item a distinct `ID`".to_owned()
            });
        } else {
            seen.insert(item.key(), item.key_span());
        }
    }

    let complete = list_checks && out.len() == nodes.len();
    if complete && !out.is_empty() && out.iter().all(Item::is_absent) {
        cx.report(
            Code::CorrNoPresentItem,
            key.span,
            format!("every item of `{name}` is an absence"),
        )
        .help = Some("at least one item must not have `Absence: true`; it anchors the match".to_owned());
    } else if complete && out.len() == 1 {
        cx.report(Code::CorrSingleItem, key.span, format!("`{name}` has a single item"))
            .help = Some("a rule's `Threshold` does the same more cheaply".to_owned());
    }
    Some(out)
}

/// One item; `None` without a usable `RuleID`.
fn item(cx: &mut Cx, node: &Node) -> Option<Item> {
    cx.unknown_keys(node, ITEM_KEYS, Code::UnknownKey, "a correlation item");
    let id = node.get("ID").and_then(|n| cx.string(n, "ID"));
    let rule_id = match node.get("RuleID") {
        Some(n) => cx.string(n, "RuleID"),
        None => {
            cx.missing(node, "RuleID", "a correlation item");
            None
        }
    };
    if let Some(r) = &rule_id {
        cx.id_chars(r, "RuleID");
    }
    if node.get("ID").is_none() {
        let key = rule_id.as_ref().map_or("", |r| r.value.as_str());
        cx.report(
            Code::CorrMissingItemId,
            node.first_key_span(),
            format!("item without `ID`; its key is its `RuleID` `{key}`"),
        )
        .help =
            Some("add `ID: <name>`; tests, transitions and match criteria are clearer with explicit IDs".to_owned());
    }
    let min = node.get("MinMatchCount").and_then(|n| cx.integer(n, "MinMatchCount"));
    let max = node.get("MaxMatchCount").and_then(|n| cx.integer(n, "MaxMatchCount"));
    let absence = node.get("Absence").and_then(|n| cx.boolean(n, "Absence"));
    if let Some(m) = &min {
        if m.value < 1 {
            cx.report(
                Code::CorrMatchCount,
                m.span,
                format!("`MinMatchCount` must be at least 1, found {}", m.value),
            )
            .help = Some("remove it for the default of 1".to_owned());
        }
    }
    let min_value = min.as_ref().map_or(1, |m| m.value);
    if let Some(m) = &max {
        if m.value < min_value {
            cx.report(
                Code::CorrMatchCount,
                m.span,
                format!(
                    "`MaxMatchCount` ({}) is smaller than `MinMatchCount` ({min_value})",
                    m.value
                ),
            )
            .help = Some(
                "no number of signals can satisfy both; raise `MaxMatchCount` or lower `MinMatchCount`".to_owned(),
            );
        }
    }
    if absence.as_ref().is_some_and(|a| a.value) {
        if let Some((k, _)) = node.get_entry("MaxMatchCount") {
            cx.report(
                Code::CorrAbsenceCount,
                k.span,
                "`MaxMatchCount` on an absent item is ignored",
            )
            .help =
                Some("an absence is violated once it has `MinMatchCount` signals; remove `MaxMatchCount`".to_owned());
        }
        if let Some(m) = min.as_ref().filter(|m| m.value > 1) {
            cx.report(
                Code::CorrAbsenceCount,
                m.span,
                format!(
                    "absent item with `MinMatchCount: {}`: fewer signals than that do not violate it",
                    m.value
                ),
            )
            .help = Some("this is legal but unusual; remove `MinMatchCount` to forbid any signal".to_owned());
        }
    }
    Some(Item {
        id,
        rule_id: rule_id?,
        min_match_count: min,
        max_match_count: max,
        absence,
        span: node.span,
    })
}

/// Two absent steps next to each other in a Sequence (§3.4).
fn adjacent_absences(cx: &mut Cx, items: &[Item]) {
    for pair in items.windows(2) {
        let [a, b] = pair else { continue };
        if a.is_absent() && b.is_absent() {
            let span = b.absence.as_ref().map_or(b.key_span(), |s| s.span);
            cx.report(
                Code::CorrAdjacentAbsence,
                span,
                format!(
                    "steps `{}` and `{}` are both absences; an absence must be next to present steps",
                    a.key(),
                    b.key()
                ),
            )
            .help = Some("put a present step between them, or merge them into one absent step".to_owned());
        }
    }
}

/// Help naming the item keys, with a typo suggestion when one is close,
/// and the fix that replaces the reference `word` written at `span` by
/// that key (not safe: another item is another meaning).
fn item_help(word: &str, span: Span, items: &[Item]) -> (String, Option<Fix>) {
    match replace_value(word, span, items.iter().map(Item::key)) {
        Some((help, mut fix)) => {
            fix.safe = false;
            (help, Some(fix))
        }
        None => {
            let keys: Vec<String> = items.iter().map(|i| format!("`{}`", i.key())).collect();
            (format!("item keys are: {}", keys.join(", ")), None)
        }
    }
}

/// `MatchCriteria` of a Group (§2.4).
fn criteria(cx: &mut Cx, n: &Node, items: &[Item], complete: bool) -> Vec<Criterion> {
    let Some(m) = cx.mapping(n, "MatchCriteria") else {
        return Vec::new();
    };
    // Items by key (the first of a repeated key, reported elsewhere): every
    // lookup below is a hash probe, so the checks stay linear.
    let mut by_key: HashMap<&str, &Item> = HashMap::with_capacity(items.len());
    for i in items {
        by_key.entry(i.key()).or_insert(i);
    }
    let mut out = Vec::new();
    for (k, v) in m.as_map().unwrap_or(&[]) {
        let Some(name) = k.key_text() else {
            cx.report(
                Code::WrongType,
                k.span,
                format!("a criterion name must be a string, found {}", k.type_name()),
            );
            continue;
        };
        let Some(list) = cx.list(v, &format!("MatchCriteria.{name}")) else {
            continue;
        };
        if list.is_empty() {
            cx.report(Code::InvalidValue, v.span, format!("criterion `{name}` lists no items"))
                .help =
                Some("add `- GroupID: <item>` entries with `Match: <field>`, or remove the criterion".to_owned());
        }
        let mut entries: Vec<CriterionEntry> = Vec::new();
        // Per item key in this criterion: its first entry, and the first of
        // its entries whose field differs from that one's.
        let mut first_entry: HashMap<String, (usize, Option<usize>)> = HashMap::new();
        for e in list {
            if e.as_map().is_none() {
                cx.report(
                    Code::WrongType,
                    e.span,
                    format!(
                        "an entry of criterion `{name}` must be a mapping, found {}",
                        e.type_name()
                    ),
                )
                .help = Some("write `- GroupID: <item>` and `Match: <field>`".to_owned());
                continue;
            }
            cx.unknown_keys(e, CRITERION_KEYS, Code::UnknownKey, "a `MatchCriteria` entry");
            let group_id = required_string(cx, e, "GroupID", "a `MatchCriteria` entry");
            let field = required_string(cx, e, "Match", "a `MatchCriteria` entry");
            if let Some(f) = field.as_ref().filter(|f| f.value.is_empty()) {
                cx.report(Code::InvalidValue, f.span, "`Match` must name a field").help =
                    Some("write a dotted field path such as `p_alert_context.user`".to_owned());
            }
            let (Some(group_id), Some(field)) = (group_id, field) else {
                continue;
            };
            if complete && !by_key.contains_key(group_id.value.as_str()) {
                let (help, fix) = item_help(&group_id.value, group_id.span, items);
                let d = cx.report(
                    Code::CorrUnknownItem,
                    group_id.span,
                    format!("`MatchCriteria` `{name}`: no item with the key `{}`", group_id.value),
                );
                d.help = Some(help);
                d.fix = fix;
            }
            // The earliest earlier entry of the same item with another field:
            // the first entry when its field differs, else the first entry
            // whose field differs from the first's.
            let prev = match first_entry.get_mut(&group_id.value) {
                Some((first, other)) => {
                    if entries.get(*first).is_some_and(|p| p.field.value != field.value) {
                        let prev = entries.get(*first);
                        other.get_or_insert(entries.len());
                        prev
                    } else {
                        other.and_then(|i| entries.get(i))
                    }
                }
                None => {
                    first_entry.insert(group_id.value.clone(), (entries.len(), None));
                    None
                }
            };
            if let Some(prev) = prev {
                let file = cx.file;
                let prev_span = prev.field.span;
                let prev_field = prev.field.value.clone();
                let d = cx.report(
                    Code::CorrCriterionConflict,
                    field.span,
                    format!(
                        "item `{}` is matched on two fields in criterion `{name}`: `{prev_field}` and `{}`",
                        group_id.value, field.value
                    ),
                );
                d.relate(file, prev_span, "first field here");
                d.help = Some("a criterion joins each item on one field; remove one of the entries".to_owned());
            }
            entries.push(CriterionEntry {
                group_id,
                field,
                span: e.span,
            });
        }
        let known: Vec<&Item> = entries
            .iter()
            .filter_map(|e| by_key.get(e.group_id.value.as_str()).copied())
            .collect();
        if complete && !known.is_empty() && known.iter().all(|i| i.is_absent()) {
            cx.report(
                Code::CorrCriterionAbsentOnly,
                k.span,
                format!("criterion `{name}` must include at least one item that is not an absence"),
            )
            .help = Some("the join value comes from present items; add one of them to the criterion".to_owned());
        }
        out.push(Criterion {
            name: Spanned::new(name, k.span),
            entries,
        });
    }

    // One join value for all criteria (§3.2).
    if let Some(second) = out.get(1) {
        cx.report(
            Code::CorrMatchCriteriaScope,
            second.name.span,
            format!(
                "`MatchCriteria` has {} criteria; they are combined on one join value",
                out.len()
            ),
        )
        .help = Some(
            "all criteria must carry the same value; use one criterion unless the fields hold the same value"
                .to_owned(),
        );
    }
    if complete && !out.is_empty() {
        let listed_keys: std::collections::HashSet<&str> = out
            .iter()
            .flat_map(|c| c.entries.iter().map(|e| e.group_id.value.as_str()))
            .collect();
        for item in items.iter().filter(|i| !i.is_absent()) {
            let listed = listed_keys.contains(item.key());
            if !listed {
                cx.report(
                    Code::CorrMatchCriteriaScope,
                    item.key_span(),
                    format!(
                        "item `{}` is in no `MatchCriteria` criterion; its signals count for every join value",
                        item.key()
                    ),
                )
                .help = Some("add it to the criterion if its signals must share the joined value".to_owned());
            }
        }
    }
    out
}

/// `Transitions` of a Sequence (§2.5) with the list-wide rules 1–3.
fn transitions(
    cx: &mut Cx,
    key: &Node,
    n: &Node,
    items: &[Item],
    complete: bool,
    lookback: Option<i64>,
) -> Option<Vec<Transition>> {
    let list = cx.list(n, "Transitions")?;
    let steps = items.len();
    if complete && steps > 0 && list.len() != steps - 1 {
        let noun = if steps == 1 { "step" } else { "steps" };
        let needed = steps - 1;
        let tnoun = if needed == 1 { "transition" } else { "transitions" };
        cx.report(
            Code::CorrTransitionCount,
            key.span,
            format!(
                "a sequence of {steps} {noun} needs {needed} {tnoun}, found {}",
                list.len()
            ),
        )
        .help = Some("give one transition per pair of neighbouring steps, in the order of `Sequence`".to_owned());
    }
    let mut out = Vec::with_capacity(list.len());
    // `Match` of each transition by position, for the chaining rule.
    let mut matches: Vec<Option<FieldMatch>> = Vec::with_capacity(list.len());
    let mut ids: Vec<Spanned<String>> = Vec::new();
    for (k, t) in list.iter().enumerate() {
        let number = k + 1;
        if t.as_map().is_none() {
            cx.report(
                Code::WrongType,
                t.span,
                format!("transition {number} must be a mapping, found {}", t.type_name()),
            )
            .help = Some("write `- From: <step>` and `To: <next step>`".to_owned());
            matches.push(None);
            continue;
        }
        cx.unknown_keys(t, TRANSITION_KEYS, Code::UnknownKey, "a transition");
        let id = t.get("ID").and_then(|v| cx.string(v, "ID"));
        if let Some(id) = &id {
            ids.push(id.clone());
        }
        let from = required_string(cx, t, "From", "a transition");
        let to = required_string(cx, t, "To", "a transition");
        let within = t
            .get("WithinTimeFrameMinutes")
            .and_then(|v| cx.integer(v, "WithinTimeFrameMinutes"));
        if let Some(w) = &within {
            if w.value < 1 {
                cx.report(
                    Code::CorrTimeFrame,
                    w.span,
                    format!("`WithinTimeFrameMinutes` must be at least 1, found {}", w.value),
                )
                .help = Some("remove it to use the lookback window".to_owned());
            } else if let Some(l) = lookback.filter(|&l| w.value > l) {
                cx.report(
                    Code::CorrFrameAboveLookback,
                    w.span,
                    format!(
                        "`WithinTimeFrameMinutes` ({}) is longer than `LookbackWindowMinutes` ({l}); the extra time is never used",
                        w.value
                    ),
                )
                .help = Some("raise `LookbackWindowMinutes` or shorten the time frame".to_owned());
            }
        }
        let field_match = t.get("Match").and_then(|v| field_match(cx, v, number));
        matches.push(field_match.clone());

        // Rule 2: transition k goes from step k to step k + 1.
        if complete && k + 1 < steps {
            let (want_from, want_to) = (items[k].key(), items[k + 1].key());
            let bad_from = from.as_ref().filter(|f| f.value != want_from);
            let bad_to = to.as_ref().filter(|t| t.value != want_to);
            if let Some(span) = bad_from.map(|f| f.span).or(bad_to.map(|t| t.span)) {
                let found_from = from.as_ref().map_or("?", |f| f.value.as_str());
                let found_to = to.as_ref().map_or("?", |t| t.value.as_str());
                cx.report(
                    Code::CorrTransitionOrder,
                    span,
                    format!(
                        "transition {number} must go From `{want_from}` To `{want_to}` (the order of `Sequence`), found From `{found_from}` To `{found_to}`"
                    ),
                )
                .help = Some(
                    "transition k connects step k to step k + 1; list transitions in the order of `Sequence` and use the steps' `ID`s".to_owned(),
                );
            }
        }

        if let (Some(from), Some(to)) = (from, to) {
            out.push(Transition {
                id,
                from,
                to,
                within_time_frame_minutes: within,
                field_match,
                span: t.span,
            });
        }
    }
    cx.no_duplicates(&ids, "Transitions[].ID", false);

    // Rule 3: a step is matched on one field by both of its transitions.
    for k in 1..matches.len() {
        let (Some(prev), Some(cur)) = (&matches[k - 1], &matches[k]) else {
            continue;
        };
        if prev.to_field() != cur.from_field() {
            let step = if complete {
                items.get(k).map_or("?", Item::key)
            } else {
                "?"
            };
            cx.report(
                Code::CorrMatchChain,
                cur.from_spanned().span,
                format!(
                    "step `{step}` is matched on `{}` by transition {k} but on `{}` by transition {}",
                    prev.to_field(),
                    cur.from_field(),
                    k + 1
                ),
            )
            .help = Some("a step is one rule, matched on one field; use the same field on both sides".to_owned());
        }
    }
    Some(out)
}

/// A transition's `Match`: a list with one `{On}` or `{From, To}` map.
fn field_match(cx: &mut Cx, n: &Node, number: usize) -> Option<FieldMatch> {
    const HELP: &str = "write `Match: [{On: <field>}]` or `Match: [{From: <field>, To: <field>}]`";
    let Some(list) = n.as_seq() else {
        cx.report(
            Code::CorrMatchShape,
            n.span,
            format!(
                "transition {number}: `Match` must be a list with one element, found {}",
                n.type_name()
            ),
        )
        .help = Some(HELP.to_owned());
        return None;
    };
    if list.len() != 1 {
        let span = list.get(1).map_or(n.span, |e| e.span);
        cx.report(
            Code::CorrMatchShape,
            span,
            format!(
                "transition {number}: `Match` must have exactly one element, found {}",
                list.len()
            ),
        )
        .help = Some(HELP.to_owned());
    }
    let m = list.first()?;
    if m.as_map().is_none() {
        cx.report(
            Code::CorrMatchShape,
            m.span,
            format!(
                "transition {number}: the element of `Match` must be a mapping, found {}",
                m.type_name()
            ),
        )
        .help = Some(HELP.to_owned());
        return None;
    }
    let before = cx.diags.len();
    cx.unknown_keys(m, MATCH_KEYS, Code::UnknownKey, "a transition's `Match`");
    let had_unknown = cx.diags.len() > before;
    match (m.get("On"), m.get("From"), m.get("To")) {
        (Some(on), None, None) => cx.string(on, "On").map(FieldMatch::On),
        (None, Some(from), Some(to)) => {
            let from = cx.string(from, "From");
            let to = cx.string(to, "To");
            Some(FieldMatch::FromTo { from: from?, to: to? })
        }
        (None, None, None) if had_unknown => None,
        _ => {
            cx.report(
                Code::CorrMatchShape,
                m.first_key_span(),
                format!("transition {number}: `Match` must contain either `On` or both `From` and `To`"),
            )
            .help = Some(HELP.to_owned());
            None
        }
    }
}

/// `Schedule` (§2.6).
fn schedule(cx: &mut Cx, n: &Node) -> Option<Schedule> {
    let m = cx.mapping(n, "Schedule")?;
    cx.unknown_keys(m, SCHEDULE_KEYS, Code::UnknownKey, "`Schedule`");
    let rate_entry = m.get_entry("RateMinutes");
    let cron_entry = m.get_entry("CronExpression");
    match (rate_entry, cron_entry) {
        (Some((rk, _)), Some((ck, _))) => {
            let second = if rk.span.start <= ck.span.start { ck } else { rk };
            cx.report(
                Code::InvalidSchedule,
                second.span,
                "`Schedule` needs exactly one of `RateMinutes` or `CronExpression`, found both",
            )
            .help = Some("remove one of them".to_owned());
        }
        (None, None) => {
            cx.report(
                Code::InvalidSchedule,
                m.first_key_span(),
                "`Schedule` needs exactly one of `RateMinutes` or `CronExpression`, found neither",
            )
            .help = Some("add `RateMinutes: <minutes>` or `CronExpression: \"<cron>\"`".to_owned());
        }
        _ => {}
    }
    let rate = rate_entry.and_then(|(_, v)| positive(cx, v, "RateMinutes"));
    let cron = cron_entry.and_then(|(_, v)| {
        let s = cx.string(v, "CronExpression")?;
        match Cron::parse(&s.value) {
            Ok(c) => Some(Spanned::new(c, s.span)),
            Err(e) => {
                cx.report(
                    Code::InvalidSchedule,
                    s.span,
                    format!("`CronExpression` `{}` {e}", s.value),
                )
                .help = Some(
                    "write five fields: minute hour day-of-month month day-of-week, e.g. `0 */4 * * *`".to_owned(),
                );
                None
            }
        }
    });
    let trigger = match (rate, cron, rate_entry.is_some() && cron_entry.is_some()) {
        (_, _, true) => None,
        (Some(r), None, false) => Some(Trigger::Rate(r)),
        (None, Some(c), false) => Some(Trigger::Cron(c)),
        _ => None,
    };
    let timeout = match m.get("TimeoutMinutes") {
        Some(v) => positive(cx, v, "TimeoutMinutes"),
        None => {
            cx.missing(m, "TimeoutMinutes", "`Schedule`");
            None
        }
    };
    if let (Some(Trigger::Rate(r)), Some(t)) = (&trigger, &timeout) {
        if t.value > r.value {
            cx.report(
                Code::CorrTimeoutAboveRate,
                t.span,
                format!(
                    "`TimeoutMinutes` ({}) is longer than `RateMinutes` ({})",
                    t.value, r.value
                ),
            )
            .help = Some("a run could still be going when the next one starts; lower the timeout".to_owned());
        }
    }
    Some(Schedule {
        trigger,
        timeout_minutes: timeout,
        span: m.span,
    })
}

/// An integer of at least 1 in `Schedule` (`invalid-schedule` below).
fn positive(cx: &mut Cx, n: &Node, key: &str) -> Option<Spanned<i64>> {
    let v = cx.integer(n, key)?;
    if v.value < 1 {
        cx.report(
            Code::InvalidSchedule,
            v.span,
            format!("`{key}` must be at least 1, found {}", v.value),
        );
        return None;
    }
    Some(v)
}

/// The lookback recommendations of §4.2: `corr-lookback-gap`,
/// `corr-lookback-ratio` and `corr-lookback-sequence`.
fn lookback_checks(cx: &mut Cx, d: &CorrelationDetection, lookback: Option<i64>) {
    let Some(l) = lookback else { return };
    let Some(trigger) = d.schedule.as_ref().and_then(|s| s.trigger.as_ref()) else {
        return;
    };
    let Some(r) = trigger.interval_minutes() else { return };
    let span = d.lookback_window_minutes.as_ref().map_or(trigger.span(), |s| s.span);
    let shown = if d.lookback_window_minutes.is_some() {
        format!("`LookbackWindowMinutes` ({l})")
    } else {
        format!("the default `LookbackWindowMinutes` ({l})")
    };
    let recommended = (3 * r + 1) / 2;
    if l < r {
        cx.report(
            Code::CorrLookbackGap,
            span,
            format!("{shown} is shorter than the {r} minutes between runs; signals in between are never examined"),
        )
        .help = Some(format!("set `LookbackWindowMinutes` to at least {recommended}"));
    } else if 2 * l < 3 * r {
        cx.report(
            Code::CorrLookbackRatio,
            span,
            format!("{shown} is less than 1.5 × the {r} minutes between runs"),
        )
        .help = Some(format!(
            "the panther-analysis style guide recommends at least {recommended}"
        ));
    }
    if let Form::Sequence(Sequence { transitions: Some(ts) }) = &d.form {
        let frames: Option<Vec<i64>> = ts
            .iter()
            .map(|t| t.within_time_frame_minutes.as_ref().map(|w| w.value))
            .collect();
        if let Some(frames) = frames.filter(|f| !f.is_empty()) {
            let sum: i64 = frames.iter().sum();
            if l < sum + r {
                cx.report(
                    Code::CorrLookbackSequence,
                    span,
                    format!("{shown} is below the sum of the time frames ({sum}) plus the {r} minutes between runs"),
                )
                .help = Some(format!(
                    "a sequence taking its full time frames is only seen whole with `LookbackWindowMinutes` of at least {}",
                    sum + r
                ));
            }
        }
    }
}

mod cases;
#[cfg(test)]
mod tests;

use cases::tests;
