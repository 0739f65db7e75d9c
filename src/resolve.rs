//! BaseDetection inheritance (derived-detections §3, §5).
//!
//! Finds the base of a derived detection among the loaded items and builds
//! the effective detection: every key of the base, with each overridable
//! key the derived file writes replacing the base's value whole. Logic keys
//! are always the base's. Tests are inherited when the derived file has no
//! `Tests` key at all.

use std::collections::HashMap;

use crate::model::{Analysis, AnalysisType, Rule, RuleTest};
use crate::yaml::Node;

/// Keys a derived detection may override (derived-detections §3).
pub const OVERRIDABLE: &[&str] = &[
    "Enabled",
    "Severity",
    "Description",
    "DisplayName",
    "Runbook",
    "Reference",
    "Tags",
    "Reports",
    "SummaryAttributes",
    "OutputIds",
    "CreateAlert",
    "DedupPeriodMinutes",
    "Threshold",
    "OnlyUseBaseRiskScore",
    "InlineFilters",
    "DynamicSeverities",
    "AlertTitle",
    "AlertContext",
    "GroupBy",
    "Tests",
];

/// Where a derived detection's base is.
#[derive(Debug, Clone, Copy)]
pub enum Base<'a> {
    /// Not among the loaded files.
    NotLocal,
    /// Loaded, but its file is invalid.
    Invalid(&'a Analysis),
    /// Loaded and usable.
    Local(&'a Analysis),
}

/// Finds items by ID: the first valid item of each ID, then the first
/// invalid one (so an invalid base is recognised as such).
pub struct Index<'a> {
    valid: HashMap<&'a str, &'a Analysis>,
    invalid: HashMap<&'a str, &'a Analysis>,
}

impl<'a> Index<'a> {
    /// Builds the index; `is_invalid` tells which items have errors.
    pub fn new(analyses: impl IntoIterator<Item = &'a Analysis>, is_invalid: impl Fn(&Analysis) -> bool) -> Self {
        let mut valid = HashMap::new();
        let mut invalid = HashMap::new();
        for a in analyses {
            let Some(id) = &a.id else { continue };
            let map = if is_invalid(a) { &mut invalid } else { &mut valid };
            map.entry(id.value.as_str()).or_insert(a);
        }
        Index { valid, invalid }
    }

    /// The base of a derived detection.
    pub fn base(&self, id: &str) -> Base<'a> {
        if let Some(a) = self.valid.get(id) {
            return Base::Local(a);
        }
        match self.invalid.get(id) {
            Some(a) => Base::Invalid(a),
            None => Base::NotLocal,
        }
    }

    /// A valid item by ID.
    pub fn get(&self, id: &str) -> Option<&'a Analysis> {
        self.valid.get(id).copied()
    }
}

/// Whether a loaded item can be a base: a plain rule, not derived.
pub fn is_valid_base_kind(a: &Analysis) -> bool {
    a.analysis_type.value == AnalysisType::Rule && a.rule().is_some_and(|r| !r.is_derived())
}

/// The effective detection of a derived detection (derived-detections §3),
/// with the RuleID of the base for inherited tests.
pub fn effective(base: &Rule, derived: &Rule, derived_root: &Node) -> (Rule, bool) {
    let has = |k: &str| derived_root.get(k).is_some();
    let mut e = base.clone();
    macro_rules! take {
        ($key:literal, $field:ident) => {
            if has($key) {
                e.$field = derived.$field.clone();
            }
        };
    }
    take!("Enabled", enabled);
    take!("Severity", severity);
    take!("DisplayName", display_name);
    take!("Tags", tags);
    take!("CreateAlert", create_alert);
    take!("DedupPeriodMinutes", dedup_period_minutes);
    take!("Threshold", threshold);
    take!("InlineFilters", inline_filters);
    take!("DynamicSeverities", dynamic_severities);
    take!("AlertTitle", alert_title);
    take!("AlertContext", alert_context);
    take!("GroupBy", group_by);
    take!("Status", status);
    let inherited = !has("Tests");
    e.tests = if inherited {
        base.tests.clone()
    } else {
        derived.tests.clone()
    };
    e.base_detection = derived.base_detection.clone();
    (e, inherited)
}

/// Tests of an effective rule, or none.
pub fn tests(rule: &Rule) -> &[RuleTest] {
    rule.tests.as_deref().unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    fn load(t: &str) -> Analysis {
        load_file(FileId(0), Some(t), LoadOptions::default()).analysis.unwrap()
    }

    #[test]
    fn overrides_replace_and_tests_inherit() {
        let base = load(
            "AnalysisType: rule\nRuleID: B\nEnabled: false\nLogTypes: [X]\nSeverity: Low\nTags: [a]\nFilename: b.py\nTests:\n  - {Name: t, ExpectedResult: true, Log: {}}\n",
        );
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nSeverity: High\nTags: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(inherited);
        assert_eq!(e.severity.unwrap().value, crate::model::Level::High);
        assert_eq!(e.tags.unwrap().len(), 0);
        assert!(!e.enabled.unwrap().value);
        assert_eq!(e.tests.unwrap().len(), 1);
        assert_eq!(e.filename.unwrap().value, "b.py");
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nTests: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(!inherited);
        assert!(e.tests.unwrap().is_empty());
    }
}
