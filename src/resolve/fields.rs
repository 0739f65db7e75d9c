//! Effective fields: the effective detection of a derived detection, typed
//! ([`effective`]) and as top-level YAML fields with their source
//! ([`effective_fields`], derived-detections §3).

use crate::model::{Analysis, AnalysisType, Rule, RuleTest};
use crate::source::Span;
use crate::yaml::{Node, NodeKind};

use super::OVERRIDABLE;

/// The effective detection of a derived detection (derived-detections §3),
/// with the RuleID of the base for inherited tests.
pub fn effective(base: &Rule, derived: &Rule, derived_root: &Node) -> (Rule, bool) {
    let mut e = base.clone();
    // The same keys as `effective_fields`: every overridable key of the
    // table the derived file writes, and `Status`.
    for key in OVERRIDABLE.iter().copied().chain(["Status"]) {
        if derived_root.get(key).is_some() {
            take_typed(&mut e, derived, key);
        }
    }
    let inherited = derived_root.get("Tests").is_none();
    e.tests = if inherited {
        base.tests.clone()
    } else {
        derived.tests.clone()
    };
    e.base_detection = derived.base_detection.clone();
    (e, inherited)
}

/// Copies the typed field of `key` from `derived` into `e`. Overridable
/// keys without a typed field (`Description`, `Runbook`, `Reference`,
/// `Reports`, `SummaryAttributes`, `OutputIds`, `OnlyUseBaseRiskScore`)
/// are read from the effective fields; `Tests` is handled by the caller.
/// Returns whether the key has a typed field.
fn take_typed(e: &mut Rule, derived: &Rule, key: &str) -> bool {
    match key {
        "Enabled" => e.enabled = derived.enabled.clone(),
        "Severity" => e.severity = derived.severity.clone(),
        "DisplayName" => e.display_name = derived.display_name.clone(),
        "Tags" => e.tags = derived.tags.clone(),
        "CreateAlert" => e.create_alert = derived.create_alert.clone(),
        "DedupPeriodMinutes" => e.dedup_period_minutes = derived.dedup_period_minutes.clone(),
        "Threshold" => e.threshold = derived.threshold.clone(),
        "InlineFilters" => e.inline_filters = derived.inline_filters.clone(),
        "DynamicSeverities" => e.dynamic_severities = derived.dynamic_severities.clone(),
        "AlertTitle" => e.alert_title = derived.alert_title.clone(),
        "AlertContext" => e.alert_context = derived.alert_context.clone(),
        "GroupBy" => e.group_by = derived.group_by.clone(),
        "Status" => e.status = derived.status.clone(),
        _ => return false,
    }
    true
}

/// Tests of an effective rule, or none.
pub fn tests(rule: &Rule) -> &[RuleTest] {
    rule.tests.as_deref().unwrap_or(&[])
}

/// Where a top-level value of an effective detection comes from
/// (cli-and-settings §6.3, `detect show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Written in the detection's own file (also for detections that are
    /// not derived).
    Derived,
    /// Inherited from the base detection's file.
    Base,
    /// Neither file sets the key; the documented default applies.
    Default,
}

impl Source {
    /// The spelling used by `show`'s outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Derived => "derived",
            Source::Base => "base",
            Source::Default => "default",
        }
    }
}

/// One top-level key of an effective detection with its value and source.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The YAML key, as users write it.
    pub key: String,
    /// The value as written in the file it comes from (for a default: the
    /// default value).
    pub value: Node,
    /// Where the value comes from.
    pub source: Source,
}

/// Documented defaults of optional rule keys (simple-detections §4.1,
/// §4.3). Keys without a default (`DisplayName`, `AlertTitle`, `GroupBy`,
/// …) are simply absent when no file sets them.
pub const RULE_DEFAULTS: &[&str] = &[
    "Description",
    "Runbook",
    "Reference",
    "Tags",
    "Reports",
    "OnlyUseBaseRiskScore",
    "DedupPeriodMinutes",
    "Threshold",
    "CreateAlert",
    "OutputIds",
    "SummaryAttributes",
];

/// The default value of a key of [`RULE_DEFAULTS`].
pub fn rule_default(key: &str) -> Option<NodeKind> {
    Some(match key {
        "Description" | "Runbook" | "Reference" => NodeKind::Str(Default::default()),
        "Tags" | "OutputIds" | "SummaryAttributes" => NodeKind::Seq(Vec::new()),
        "Reports" => NodeKind::Map(Vec::new()),
        "OnlyUseBaseRiskScore" => NodeKind::Bool(false),
        "CreateAlert" => NodeKind::Bool(true),
        "DedupPeriodMinutes" => NodeKind::Int(60),
        "Threshold" => NodeKind::Int(1),
        _ => return None,
    })
}

pub(super) fn top_level(root: &Node) -> impl Iterator<Item = (String, &Node)> {
    root.as_map()
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| Some((k.key_text()?, v)))
}

/// The effective top-level fields of a loaded item, in a stable order, each
/// with its [`Source`] (derived-detections §3).
///
/// `base` is the local base of a derived detection; pass `None` for an item
/// that is not derived and for a derived detection whose base is not among
/// the loaded files (or is not a rule): its fields are then the ones its
/// file writes, without defaults, since the rest lives on the instance.
///
/// For a derived detection with a base, the fields follow the algorithm of
/// §3: every key of the base; `RuleID` and `BaseDetection` of the derived
/// file; every overridable key the derived file writes (even with an empty
/// value) replaces the base's whole; `Status` likewise; `AnalysisType` is
/// attributed to the derived file, which must write `rule` like its base.
/// `Detection` and keys the derived file may not set are ignored, and logic
/// keys are always the base's. The order is the base file's, with
/// `BaseDetection` right after `RuleID` and overrides the base lacks
/// appended in the derived file's order.
///
/// Rules and scheduled rules whose effective detection is complete then get
/// the defaults of [`RULE_DEFAULTS`] for keys no file sets, appended last.
pub fn effective_fields(item: &Analysis, base: Option<&Analysis>) -> Vec<Field> {
    let own = |(key, v): (String, &Node)| Field {
        key,
        value: v.clone(),
        source: Source::Derived,
    };
    let mut fields: Vec<Field> = match base {
        None => top_level(&item.root).map(own).collect(),
        Some(b) => {
            let mut fields: Vec<Field> = top_level(&b.root)
                .filter(|(k, _)| k != "BaseDetection")
                .map(|(key, v)| Field {
                    key,
                    value: v.clone(),
                    source: Source::Base,
                })
                .collect();
            let set = |fields: &mut Vec<Field>, key: &str, after: Option<&str>| {
                let Some(v) = item.root.get(key) else { return };
                let field = Field {
                    key: key.to_owned(),
                    value: v.clone(),
                    source: Source::Derived,
                };
                if let Some(f) = fields.iter_mut().find(|f| f.key == key) {
                    *f = field;
                } else {
                    let at = after
                        .and_then(|a| fields.iter().position(|f| f.key == a))
                        .map_or(fields.len(), |i| i + 1);
                    fields.insert(at, field);
                }
            };
            set(&mut fields, "AnalysisType", None);
            set(&mut fields, "RuleID", Some("AnalysisType"));
            set(&mut fields, "BaseDetection", Some("RuleID"));
            // Overrides in the derived file's order, so appended keys read
            // as they are written there.
            for (key, _) in top_level(&item.root) {
                if OVERRIDABLE.contains(&key.as_str()) || key == "Status" {
                    set(&mut fields, &key, None);
                }
            }
            fields
        }
    };
    let complete = base.is_some() || !item.rule().is_some_and(Rule::is_derived);
    let rule_like = matches!(
        item.analysis_type.value,
        AnalysisType::Rule | AnalysisType::ScheduledRule
    );
    if complete && rule_like {
        for key in RULE_DEFAULTS {
            if fields.iter().any(|f| f.key == *key) {
                continue;
            }
            if let Some(kind) = rule_default(key) {
                fields.push(Field {
                    key: (*key).to_owned(),
                    value: Node {
                        span: Span::default(),
                        kind,
                    },
                    source: Source::Default,
                });
            }
        }
    }
    fields
}

/// The effective detection as one YAML mapping, for code that reads top-level
/// keys (selection filters on effective values, derived-detections §7.3).
///
/// Defaults are left out: a filter sees the keys the files write (the
/// derived file's, else the base's), so `--filter CreateAlert=true` selects
/// the same detections that are not derived as it does in PAT.
pub fn effective_root(fields: &[Field]) -> Node {
    let entries = fields
        .iter()
        .filter(|f| f.source != Source::Default)
        .map(|f| {
            let key = Node {
                span: f.value.span,
                kind: NodeKind::Str(f.key.as_str().into()),
            };
            (key, f.value.clone())
        })
        .collect();
    Node {
        span: Span::default(),
        kind: NodeKind::Map(entries),
    }
}

/// Whether a top-level `Status` keeps an item out of uploads and bundles
/// (`experimental` or `deprecated`, compared ignoring case, as PAT's
/// implicit `Status!=experimental,deprecated` filter does).
pub fn is_status_excluded(root: &Node) -> bool {
    root.get("Status")
        .and_then(Node::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("experimental") || s.eq_ignore_ascii_case("deprecated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    #[test]
    fn typed_inheritance_covers_every_typed_overridable_key() {
        let load = |t: &str| load_file(FileId(0), Some(t), LoadOptions::default()).analysis.unwrap();
        let base = load("AnalysisType: rule\nRuleID: B\nLogTypes: [X]\nSeverity: Low\nFilename: b.py\n");
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\n");
        let (mut e, b) = (base.rule().unwrap().clone(), derived.rule().unwrap());
        let typed: Vec<&str> = crate::model::keys::KEYS
            .iter()
            .filter(|k| k.overridable)
            .map(|k| k.name)
            .filter(|k| take_typed(&mut e, b, k))
            .collect();
        assert_eq!(
            typed,
            [
                "Enabled",
                "Severity",
                "DisplayName",
                "Tags",
                "CreateAlert",
                "DedupPeriodMinutes",
                "Threshold",
                "InlineFilters",
                "DynamicSeverities",
                "AlertTitle",
                "AlertContext",
                "GroupBy",
            ]
        );
        assert!(take_typed(&mut e, b, "Status"));
        assert!(!take_typed(&mut e, b, "Filename"), "logic keys stay the base's");
    }
}
