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

use crate::diagnostic::{Code, Label, did_you_mean};
use crate::load::{Cx, null_values};
use crate::model::correlation::{
    CorrelationDetection, CorrelationRule, CorrelationTest, Criterion, CriterionEntry, Cron, DEFAULT_LOOKBACK_MINUTES,
    EvaluationOrder, FieldMatch, FieldSignals, Form, Group, Item, MIN_LOOKBACK_MINUTES, RuleOutput, Schedule, Sequence,
    Timestamp, Transition, Trigger, ValueSignals, parse_rfc3339,
};
use crate::model::{Level, Other};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind, float_text};

/// Top-level keys of a correlation rule (§2.1).
pub const TOP_KEYS: &[&str] = &[
    "AnalysisType",
    "RuleID",
    "Enabled",
    "Severity",
    "Detection",
    "DisplayName",
    "Description",
    "Runbook",
    "Reference",
    "Reports",
    "Tags",
    "SummaryAttributes",
    "OutputIds",
    "CreateAlert",
    "OnlyUseBaseRiskScore",
    "CreatedBy",
    "Status",
    "BaseVersion",
    "Tests",
];

/// Keys of the detection block in either form (§2.2).
const BLOCK_KEYS: &[&str] = &[
    "Group",
    "Sequence",
    "MatchCriteria",
    "MinMatchCount",
    "Transitions",
    "LookbackWindowMinutes",
    "Schedule",
    "EventEvaluationOrder",
];

/// Keys of an item (§2.3).
const ITEM_KEYS: &[&str] = &["ID", "RuleID", "MinMatchCount", "MaxMatchCount", "Absence"];

/// Keys of a `MatchCriteria` entry (§2.4).
const CRITERION_KEYS: &[&str] = &["GroupID", "Match"];

/// Keys of a transition (§2.5).
const TRANSITION_KEYS: &[&str] = &["ID", "From", "To", "WithinTimeFrameMinutes", "Match"];

/// Keys of the element of a transition's `Match` (§2.5).
const MATCH_KEYS: &[&str] = &["On", "From", "To"];

/// Keys of `Schedule` (§2.6).
const SCHEDULE_KEYS: &[&str] = &["RateMinutes", "CronExpression", "TimeoutMinutes"];

/// Keys of a correlation test (§6.1).
const TEST_KEYS: &[&str] = &["Name", "ExpectedResult", "RuleOutputs"];

/// Keys of a rule output (§6.1).
const OUTPUT_KEYS: &[&str] = &["ID", "Matches"];

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
    for key in ["Enabled", "Severity", "Detection"] {
        if root.get(key).is_none() {
            cx.missing(root, key, "a correlation rule");
        }
    }
    let get = |k: &str| root.get(k).filter(|v| !v.is_null());

    rule.enabled = get("Enabled").and_then(|n| cx.boolean(n, "Enabled"));
    rule.severity = get("Severity").and_then(|n| severity(cx, n));
    if let Some(n) = get("DisplayName") {
        rule.display_name = cx.string(n, "DisplayName");
        if let Some(d) = &rule.display_name {
            cx.id_chars(d, "DisplayName");
        }
    }
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
    let help = match Level::ALL.iter().find(|(_, name)| name.eq_ignore_ascii_case(&s.value)) {
        Some((_, name)) => format!("use `{name}`; correlation rules need the exact spelling"),
        None => did_you_mean(&s.value, Level::ALL.iter().map(|(_, n)| *n))
            .unwrap_or_else(|| "use one of Info, Low, Medium, High, Critical".to_owned()),
    };
    cx.report(
        Code::InvalidValue,
        s.span,
        format!("`Severity` `{}` is not valid", s.value),
    )
    .help = Some(help);
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
    d.help = Some(
        did_you_mean(&s.value, EvaluationOrder::ALL.iter().map(|(_, n)| *n))
            .unwrap_or_else(|| "use `Chronological` or `ReverseChronological`".to_owned()),
    );
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
            d.related.push(Label {
                file,
                span: *first,
                text: Some("first here".to_owned()),
            });
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

/// Help naming the item keys, with a typo suggestion when one is close.
fn item_help(word: &str, items: &[Item]) -> String {
    did_you_mean(word, items.iter().map(Item::key)).unwrap_or_else(|| {
        let keys: Vec<String> = items.iter().map(|i| format!("`{}`", i.key())).collect();
        format!("item keys are: {}", keys.join(", "))
    })
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
                cx.report(
                    Code::CorrUnknownItem,
                    group_id.span,
                    format!("`MatchCriteria` `{name}`: no item with the key `{}`", group_id.value),
                )
                .help = Some(item_help(&group_id.value, items));
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
                d.related.push(Label {
                    file,
                    span: prev_span,
                    text: Some("first field here".to_owned()),
                });
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

/// A required string key of a nested mapping.
fn required_string(cx: &mut Cx, map: &Node, key: &str, place: &str) -> Option<Spanned<String>> {
    match map.get(key) {
        Some(v) => cx.string(v, key),
        None => {
            cx.missing(map, key, place);
            None
        }
    }
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

/// `Tests` (§6.1).
fn tests(cx: &mut Cx, n: &Node, d: Option<&CorrelationDetection>) -> Option<Vec<CorrelationTest>> {
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
                cx.report(
                    Code::CorrTestShape,
                    id.span,
                    format!(
                        "test `{label}`: `RuleOutputs` ID `{}` is not an item of this rule",
                        id.value
                    ),
                )
                .help = Some(item_help(&id.value, &d.items));
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
    d.related.push(Label {
        file,
        span: first.span,
        text: Some("first timestamp of the other kind".to_owned()),
    });
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
            d.related.push(Label {
                file,
                span: *first,
                text: Some("first here".to_owned()),
            });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Severity;
    use crate::load::LoadOptions;
    use crate::source::FileId;

    /// The code names a file produces, in report order.
    fn codes(text: &str) -> Vec<&'static str> {
        diags(text).iter().map(|d| d.code.name()).collect()
    }

    fn diags(text: &str) -> Vec<crate::diagnostic::Diagnostic> {
        let doc = crate::yaml::parse(text).expect("test YAML parses");
        let root = doc.root.expect("test YAML has a root");
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        load(&mut cx, &root);
        cx.diags
    }

    /// Codes of everything but the given (noise for the case at hand).
    fn codes_except(text: &str, ignore: &[&str]) -> Vec<&'static str> {
        codes(text).into_iter().filter(|c| !ignore.contains(c)).collect()
    }

    /// A valid rule around a detection block and tests.
    fn rule(block: &str, tests: &str) -> String {
        format!(
            "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}{tests}"
        )
    }

    const TEST: &str = "Tests:\n  - Name: t\n    ExpectedResult: true\n    RuleOutputs:\n      - ID: A\n        Matches: {p_user: {ann: [0]}}\n";

    const SEQ: &str = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B}\n    Transitions:\n      - {From: A, To: B, Match: [{On: p_user}]}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";

    #[test]
    fn valid_sequence_has_no_diagnostics() {
        assert_eq!(codes(&rule(SEQ, TEST)), Vec::<&str>::new());
    }

    #[test]
    fn valid_group_has_no_diagnostics() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, Absence: true, MinMatchCount: 1}\n    MatchCriteria:\n      user:\n        - {GroupID: A, Match: p_user}\n        - {GroupID: B, Match: actor}\n    LookbackWindowMinutes: 90\n    EventEvaluationOrder: Chronological\n    Schedule: {CronExpression: \"0 * * * *\", TimeoutMinutes: 5}\n";
        assert_eq!(codes(&rule(block, TEST)), Vec::<&str>::new());
    }

    #[test]
    fn model_keeps_items_transitions_and_tests() {
        let doc = crate::yaml::parse(&rule(SEQ, TEST)).expect("parses");
        let root = doc.root.expect("root");
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let r = load_rule(&mut cx, &root);
        let d = r.detection.expect("detection");
        assert!(d.is_sequence());
        assert_eq!(d.items.len(), 2);
        assert_eq!(d.lookback_minutes(), 90);
        assert_eq!(d.join_fields(), vec![vec!["p_user"], vec!["p_user"]]);
        assert_eq!(d.time_frame_minutes(0), 90);
        let tests = r.tests.expect("tests");
        let signals: Vec<_> = tests[0].signals().collect();
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].item, "A");
        assert_eq!(signals[0].value, Some("ann"));
        assert_eq!(signals[0].time, 0);
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let other = load(&mut cx, &root);
        assert_eq!(other.enabled, Some(true));
        let refs: Vec<_> = other.rule_refs.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(refs, ["Example.A", "Example.B"]);
        assert_eq!(other.rule_refs[0].span.start.line, 7);
    }

    // §5.4 invalid examples, one test each.

    #[test]
    fn example_transition_count_and_order() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B}\n      - {ID: C, RuleID: Example.C}\n    Transitions:\n      - {From: B, To: C}\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        let ds = diags(&rule(block, ""));
        let errors: Vec<_> = ds.iter().filter(|d| d.severity() == Severity::Error).collect();
        assert_eq!(
            errors.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
            ["corr-transition-count", "corr-transition-order"]
        );
        assert_eq!(errors[0].message, "a sequence of 3 steps needs 2 transitions, found 1");
        assert_eq!(
            errors[1].message,
            "transition 1 must go From `A` To `B` (the order of `Sequence`), found From `B` To `C`"
        );
    }

    #[test]
    fn example_broken_chaining() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B}\n      - {ID: C, RuleID: Example.C}\n    Transitions:\n      - {From: A, To: B, Match: [{On: p_alert_context.user}]}\n      - {From: B, To: C, Match: [{From: actor.email, To: p_alert_context.user}]}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        let ds = diags(&rule(block, ""));
        let chain: Vec<_> = ds.iter().filter(|d| d.severity() == Severity::Error).collect();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].code.name(), "corr-match-chain");
        assert_eq!(
            chain[0].message,
            "step `B` is matched on `p_alert_context.user` by transition 1 but on `actor.email` by transition 2"
        );
    }

    #[test]
    fn example_group_only_key_in_sequence() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B}\n    MatchCriteria:\n      user:\n        - {GroupID: A, Match: p_alert_context.user}\n        - {GroupID: B, Match: p_alert_context.user}\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes_except(
                &rule(block, ""),
                &["corr-no-transitions", "corr-lookback-gap", "corr-no-tests"]
            ),
            ["corr-key-not-allowed"]
        );
    }

    #[test]
    fn example_group_min_out_of_range() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, Absence: true}\n    MinMatchCount: 2\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        let ds = diags(&rule(block, ""));
        let errors: Vec<_> = ds.iter().filter(|d| d.severity() == Severity::Error).collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code.name(), "corr-group-min-range");
        assert_eq!(
            errors[0].message,
            "group `MinMatchCount` is 2 but the group has only 1 present item"
        );
    }

    #[test]
    fn example_mixed_timestamp_kinds() {
        let tests = "Tests:\n  - Name: mixed\n    ExpectedResult: true\n    RuleOutputs:\n      - ID: A\n        Matches: {p_user: {ann: [0, \"2024-01-01T00:00:00Z\"]}}\n";
        let ds = diags(&rule(SEQ, tests));
        assert_eq!(ds.len(), 1, "{ds:?}");
        assert_eq!(ds[0].code.name(), "corr-test-shape");
        assert_eq!(
            ds[0].message,
            "test `mixed`: relative (integer) and absolute (RFC 3339) timestamps are mixed; use one kind per test"
        );
        assert_eq!(ds[0].primary.as_ref().map(|l| l.span.start.line), Some(18));
    }

    // Top level.

    #[test]
    fn unknown_top_level_key_suggests_nearest() {
        let text = rule(SEQ, TEST).replace("Severity: High", "Severity: High\nDisplayNme: x");
        let ds = diags(&text);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].code.name(), "unknown-key");
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `DisplayName`?"));
    }

    #[test]
    fn missing_required_keys_point_at_first_key() {
        let ds = diags("AnalysisType: correlation_rule\nRuleID: X\n");
        let names: Vec<_> = ds.iter().map(|d| d.code.name()).collect();
        assert_eq!(names, ["missing-key", "missing-key", "missing-key"]);
        assert!(
            ds.iter()
                .all(|d| d.primary.as_ref().is_some_and(|l| l.span.start.line == 1))
        );
    }

    #[test]
    fn wrong_types_and_values_at_top_level() {
        let text = rule(SEQ, TEST)
            .replace("Enabled: true", "Enabled: \"yes\"\nTags: Okta\nCreateAlert: 1")
            .replace("Severity: High", "Severity: HIGH\nDisplayName: a<b");
        assert_eq!(
            codes(&text),
            ["wrong-type", "invalid-value", "invalid-id", "wrong-type", "wrong-type"]
        );
    }

    #[test]
    fn duplicate_tags_are_case_insensitive() {
        let text = rule(SEQ, TEST).replace("Severity: High", "Severity: High\nTags: [Okta, okta]");
        assert_eq!(codes(&text), ["duplicate-value"]);
    }

    #[test]
    fn null_top_level_value_is_wrong_type() {
        let text = rule(SEQ, TEST).replace("Severity: High", "Severity: High\nRunbook:");
        assert_eq!(codes(&text), ["wrong-type"]);
    }

    // Detection shape and form.

    #[test]
    fn detection_must_be_one_element_list() {
        assert_eq!(
            codes_except(&rule("  Group: []\n", TEST), &[]),
            ["corr-detection-shape"]
        );
        let two = format!("{SEQ}{SEQ}");
        assert!(codes(&rule(&two, TEST)).contains(&"corr-detection-shape"));
        assert_eq!(
            codes(&rule("  []\n", TEST).replace("Detection:\n  []", "Detection: []")),
            ["corr-detection-shape"]
        );
    }

    #[test]
    fn group_and_sequence_together_is_exclusive() {
        let block = SEQ.replace(
            "    Transitions:",
            "    Group:\n      - {ID: C, RuleID: Example.C}\n    Transitions:",
        );
        assert_eq!(codes(&rule(&block, TEST)), ["exclusive-keys"]);
    }

    #[test]
    fn neither_group_nor_sequence_is_missing_key() {
        let block = "  - Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n    LookbackWindowMinutes: 90\n";
        assert_eq!(codes(&rule(block, "")), ["missing-key", "corr-no-tests"]);
    }

    #[test]
    fn transitions_not_allowed_in_group() {
        let block = SEQ.replace("Sequence:", "Group:");
        assert_eq!(codes(&rule(&block, TEST)), ["corr-key-not-allowed"]);
    }

    #[test]
    fn unknown_block_key_suggests_nearest() {
        let block = SEQ.replace("LookbackWindowMinutes", "LookBackWindowMinutes");
        let ds = diags(&rule(&block, TEST));
        assert_eq!(ds[0].code.name(), "unknown-key");
        assert_eq!(ds[0].help.as_deref(), Some("did you mean `LookbackWindowMinutes`?"));
    }

    // Items.

    #[test]
    fn empty_item_list() {
        let block = "  - Group: []\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes_except(&rule(block, ""), &["corr-lookback-gap", "corr-no-tests"]),
            ["corr-no-items"]
        );
    }

    #[test]
    fn item_problems() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A, MinMatchCount: 0}\n      - {ID: A, RuleID: Example.B, MinMatchCount: 5, MaxMatchCount: 3}\n      - {RuleID: Example.C, Absense: true}\n      - {ID: D}\n      - {ID: E, RuleID: Example.E, MinMatchCount: \"5\"}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes(&rule(block, TEST)),
            [
                "corr-match-count",
                "corr-match-count",
                "unknown-key",
                "corr-missing-item-id",
                "missing-key",
                "wrong-type",
                "corr-duplicate-item"
            ]
        );
    }

    #[test]
    fn items_without_id_fall_back_to_rule_id() {
        let block = "  - Group:\n      - {RuleID: Example.A}\n      - {RuleID: Example.A}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes(&rule(block, "")),
            [
                "corr-missing-item-id",
                "corr-missing-item-id",
                "corr-duplicate-item",
                "corr-no-tests"
            ]
        );
    }

    #[test]
    fn every_item_absent() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A, Absence: true}\n      - {ID: B, RuleID: Example.B, Absence: true}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(codes(&rule(block, TEST)), ["corr-no-present-item"]);
    }

    #[test]
    fn single_item_and_absence_counts_warn() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, Absence: true, MinMatchCount: 2, MaxMatchCount: 3}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes_except(&rule(block, TEST), &["corr-no-transitions"]),
            ["corr-absence-count", "corr-absence-count"]
        );
        let single = "  - Group:\n      - {ID: A, RuleID: Example.A, MinMatchCount: 5}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(codes(&rule(single, TEST)), ["corr-single-item"]);
    }

    #[test]
    fn adjacent_absences_in_sequence() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, Absence: true}\n      - {ID: C, RuleID: Example.C, Absence: true}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes_except(&rule(block, TEST), &["corr-no-transitions"]),
            ["corr-adjacent-absence"]
        );
    }

    // MatchCriteria.

    #[test]
    fn criteria_problems() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, Absence: true}\n      - {ID: C, RuleID: Example.C}\n    MatchCriteria:\n      user:\n        - {GroupID: A, Match: p_user}\n        - {GroupID: A, Match: actor}\n        - {GroupID: Cc, Match: p_user}\n        - {Match: p_user}\n      ip:\n        - {GroupID: B, Match: p_ip}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        let ds: Vec<_> = diags(&rule(block, TEST))
            .into_iter()
            .filter(|d| d.code != Code::CorrTestNullJoin)
            .collect();
        let names: Vec<_> = ds.iter().map(|d| d.code.name()).collect();
        assert_eq!(
            names,
            [
                "corr-criterion-conflict",
                "corr-unknown-item",
                "missing-key",
                "corr-criterion-absent-only",
                "corr-match-criteria-scope",
                "corr-match-criteria-scope"
            ]
        );
        assert_eq!(ds[1].help.as_deref(), Some("did you mean `C`?"));
    }

    #[test]
    fn null_nested_values_are_wrong_type() {
        let block = "  - Group:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B, MinMatchCount: }\n    MatchCriteria:\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(codes(&rule(block, TEST)), ["wrong-type", "wrong-type"]);
    }

    // Transitions.

    #[test]
    fn transition_problems() {
        let block = "  - Sequence:\n      - {ID: A, RuleID: Example.A}\n      - {ID: B, RuleID: Example.B}\n      - {ID: C, RuleID: Example.C}\n    Transitions:\n      - {ID: t, From: A, To: B, WithinTimeFrameMinutes: 0, Match: [{On: x, From: y}]}\n      - {ID: t, From: B, WithinTimeFrameMinutes: 120, Match: {On: x}}\n    LookbackWindowMinutes: 90\n    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n";
        assert_eq!(
            codes(&rule(block, TEST)),
            [
                "corr-time-frame",
                "corr-match-shape",
                "missing-key",
                "corr-frame-above-lookback",
                "corr-match-shape",
                "duplicate-value"
            ]
        );
    }

    #[test]
    fn match_with_two_elements_or_typo() {
        let block = SEQ.replace("Match: [{On: p_user}]", "Match: [{On: p_user}, {On: p_ip}]");
        assert_eq!(codes(&rule(&block, TEST)), ["corr-match-shape"]);
        let block = SEQ.replace("Match: [{On: p_user}]", "Match: [{Om: p_user}]");
        let ds = diags(&rule(&block, TEST));
        assert_eq!(ds.iter().map(|d| d.code.name()).collect::<Vec<_>>(), ["unknown-key"]);
        assert_eq!(ds[0].help.as_deref(), Some("allowed keys: On, From, To"));
    }

    #[test]
    fn sequence_without_transitions_is_info() {
        let block = SEQ.replace(
            "    Transitions:\n      - {From: A, To: B, Match: [{On: p_user}]}\n",
            "",
        );
        assert_eq!(codes(&rule(&block, TEST)), ["corr-no-transitions"]);
    }

    // Schedule and lookback.

    #[test]
    fn schedule_problems() {
        let both = SEQ.replace(
            "{RateMinutes: 60, TimeoutMinutes: 5}",
            "{RateMinutes: 60, CronExpression: \"0 * * * *\", TimeoutMinutes: 0}",
        );
        assert_eq!(codes(&rule(&both, TEST)), ["invalid-schedule", "invalid-schedule"]);
        let neither = SEQ.replace("{RateMinutes: 60, TimeoutMinutes: 5}", "{TimeoutMinutes: 5, Rate: 5}");
        assert_eq!(codes(&rule(&neither, TEST)), ["unknown-key", "invalid-schedule"]);
        let cron = SEQ.replace("{RateMinutes: 60, TimeoutMinutes: 5}", "{CronExpression: \"0 0 * *\"}");
        let ds = diags(&rule(&cron, TEST));
        assert_eq!(
            ds.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
            ["invalid-schedule", "missing-key"]
        );
        assert_eq!(ds[0].message, "`CronExpression` `0 0 * *` has 4 fields, expected 5");
        let missing = SEQ.replace("    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}\n", "");
        assert_eq!(codes(&rule(&missing, TEST)), ["missing-key"]);
        let zero = SEQ.replace("RateMinutes: 60", "RateMinutes: 0");
        assert_eq!(codes(&rule(&zero, TEST)), ["invalid-schedule"]);
    }

    #[test]
    fn lookback_checks() {
        let low = SEQ.replace("LookbackWindowMinutes: 90", "LookbackWindowMinutes: 10");
        assert_eq!(codes(&rule(&low, TEST)), ["corr-lookback-minimum"]);
        let gap = SEQ.replace("LookbackWindowMinutes: 90", "LookbackWindowMinutes: 30");
        assert_eq!(codes(&rule(&gap, TEST)), ["corr-lookback-gap"]);
        let ratio = SEQ.replace("LookbackWindowMinutes: 90", "LookbackWindowMinutes: 60");
        assert_eq!(codes(&rule(&ratio, TEST)), ["corr-lookback-ratio"]);
        let timeout = SEQ.replace("TimeoutMinutes: 5", "TimeoutMinutes: 61");
        assert_eq!(codes(&rule(&timeout, TEST)), ["corr-timeout-above-rate"]);
        let frames = SEQ.replace("{From: A, To: B,", "{From: A, To: B, WithinTimeFrameMinutes: 45,");
        assert_eq!(codes(&rule(&frames, TEST)), ["corr-lookback-sequence"]);
        let cron = SEQ.replace("RateMinutes: 60", "CronExpression: \"0 */4 * * *\"");
        assert_eq!(codes(&rule(&cron, TEST)), ["corr-lookback-gap"]);
        let order = SEQ.replace(
            "    LookbackWindowMinutes: 90\n",
            "    LookbackWindowMinutes: 90\n    EventEvaluationOrder: Oldest\n",
        );
        assert_eq!(codes(&rule(&order, TEST)), ["invalid-value"]);
    }

    // Tests.

    #[test]
    fn test_shape_problems() {
        let tests = "Tests:\n  - Name: t\n    ExpectedResult: true\n    RuleOutputs:\n      - ID: Login\n        Matches: {p_user: {ann: [0]}}\n      - ID: A\n        Matches: {p_user: {[x]: [0], bob: 5, cy: [1.5, soon, {}]}}\n      - ID: B\n        Matches: []\n  - Name: u\n    ExpectedResult: \"true\"\n    Extra: 1\n    RuleOutputs: {}\n  - just text\n";
        assert_eq!(
            codes(&rule(SEQ, tests)),
            [
                "corr-test-shape",
                "corr-test-shape",
                "corr-test-shape",
                "corr-test-shape",
                "corr-test-shape",
                "corr-test-shape",
                "corr-test-shape",
                "unknown-key",
                "wrong-type",
                "corr-test-shape",
                "corr-test-shape"
            ]
        );
    }

    #[test]
    fn tests_not_a_list() {
        assert_eq!(
            codes(&rule(SEQ, "Tests: {Name: t}\n")),
            ["corr-test-shape", "corr-no-tests"]
        );
    }

    #[test]
    fn missing_test_keys_and_empty_outputs() {
        let tests = "Tests:\n  - Name: t\n    RuleOutputs:\n      - ID: A\n      - ID: B\n        Matches: {}\n  - Name: t\n    ExpectedResult: false\n";
        assert_eq!(
            codes(&rule(SEQ, tests)),
            [
                "missing-key",
                "corr-empty-rule-output",
                "corr-empty-rule-output",
                "missing-key",
                "duplicate-test-name"
            ]
        );
    }

    #[test]
    fn test_warnings_null_join_and_span() {
        let tests = "Tests:\n  - Name: t\n    ExpectedResult: true\n    RuleOutputs:\n      - ID: A\n        Matches: {actor: {ann: [0]}}\n      - ID: B\n        Matches: {p_user: {ann: [200]}}\n";
        assert_eq!(codes(&rule(SEQ, tests)), ["corr-test-null-join", "corr-test-span"]);
    }

    #[test]
    fn test_aliases_warn() {
        let tests = "Tests:\n  - Name: t\n    ExpectedResult: true\n    RuleOutputs: &outs\n      - ID: A\n        Matches: {p_user: {ann: [0]}}\n  - Name: u\n    ExpectedResult: true\n    RuleOutputs: *outs\n";
        assert_eq!(codes(&rule(SEQ, tests)), ["corr-test-anchor"]);
    }

    #[test]
    fn absolute_timestamps_and_scalar_value_keys() {
        let tests = "Tests:\n  - Name: t\n    ExpectedResult: true\n    RuleOutputs:\n      - ID: A\n        Matches: {p_user: {12345678: [\"2024-06-01T10:00:00Z\"], ~: [2024-06-01T10:00:00+00:00]}}\n";
        let doc = crate::yaml::parse(&rule(SEQ, tests)).expect("parses");
        let root = doc.root.expect("root");
        let mut cx = Cx::new(FileId(0), LoadOptions::default());
        let r = load_rule(&mut cx, &root);
        assert!(cx.diags.is_empty(), "{:?}", cx.diags);
        let t = &r.tests.expect("tests")[0];
        let s: Vec<_> = t.signals().collect();
        assert_eq!(s[0].value, Some("12345678"));
        assert_eq!(s[1].value, None);
        assert_eq!(s[0].time, s[1].time);
    }

    /// Every correlation rule of the shared corpus loads without errors.
    #[test]
    fn corpus_correlation_rules_have_no_errors() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if !base.exists() {
            println!("skipped: {} not found", base.display());
            return;
        }
        let dirs = [
            "panther-analysis/correlation",
            "panther-analysis/history/correlation",
            "pat-fixtures/correlation-unit-tests",
            "pat-fixtures/check-packs",
        ];
        let mut checked = 0;
        let mut failures = Vec::new();
        for dir in dirs {
            for entry in walkdir::WalkDir::new(base.join(dir)).into_iter().filter_map(Result::ok) {
                let path = entry.path();
                if !path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(path) else {
                    continue;
                };
                let is_correlation = crate::yaml::parse(&text)
                    .ok()
                    .and_then(|d| d.root)
                    .is_some_and(|r| r.get("AnalysisType").and_then(Node::as_str) == Some("correlation_rule"));
                if !is_correlation {
                    continue;
                }
                checked += 1;
                let loaded = crate::load::load_file(FileId(0), Some(&text), LoadOptions::default());
                for d in &loaded.diagnostics {
                    let line = d.primary.as_ref().map_or(0, |l| l.span.start.line);
                    println!("{}:{line}: {}: {}", path.display(), d.code.name(), d.message);
                    if d.severity() == Severity::Error {
                        failures.push(format!("{}:{line}: {}", path.display(), d.message));
                    }
                }
            }
        }
        assert!(checked > 30, "only {checked} correlation rules found");
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
