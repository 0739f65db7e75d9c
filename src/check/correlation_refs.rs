//! References from correlation rules to other detections
//! (correlation-rules §3.5, §5.1, §5.2).
//!
//! Every item of a correlation rule names a `RuleID`. This check resolves
//! each one among the loaded analysis items and reports, on the item's
//! `RuleID` value:
//!
//! - `corr-unknown-reference` (warning): no loaded item has that ID; it must
//!   exist on the Panther instance when uploading, tests still run;
//! - `corr-disabled-reference` (warning): the referenced detection has
//!   `Enabled: false` (for a derived detection without `Enabled`, its
//!   base's), so it produces no signals in production;
//! - `corr-bad-reference` (error): the ID belongs to something that produces
//!   no signals (policy, data model, global, query, lookup table, pack,
//!   prompt), or the rule reaches itself through correlation rules;
//! - `corr-non-standard-field` (warning): a join field without the `p_`
//!   prefix on an item whose detection has several `LogTypes`, is a
//!   scheduled rule or is a correlation rule.
//!
//! The typed correlation rule is read again from the stored root mapping
//! (its diagnostics were reported when the file was loaded).

use std::collections::{HashMap, HashSet};

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::load::correlation::load_rule;
use crate::load::{Cx, LoadOptions};
use crate::model::correlation::CorrelationRule;
use crate::model::{Analysis, AnalysisType, Body};
use crate::source::Spanned;

/// The check.
pub struct CorrelationRefs;

impl Check for CorrelationRefs {
    fn code(&self) -> Code {
        Code::CorrUnknownReference
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        // The first item of each ID, as the duplicate-id check keeps it.
        let mut by_id: HashMap<&str, &Analysis> = HashMap::new();
        for a in cx.analyses.iter().copied() {
            if let Some(id) = &a.id {
                by_id.entry(id.value.as_str()).or_insert(a);
            }
        }
        let correlation = |a: &Analysis| a.analysis_type.value == AnalysisType::CorrelationRule;
        for a in cx.analyses.iter().copied().filter(|a| correlation(a)) {
            let refs = rule_refs(a);
            for r in refs {
                let Some(target) = by_id.get(r.value.as_str()).copied() else {
                    out.push(
                        Diagnostic::new(
                            Code::CorrUnknownReference,
                            a.file,
                            r.span,
                            format!("`{}` is not among the loaded files", r.value),
                        )
                        .with_help("it must exist on the Panther instance when uploading; the tests still run"),
                    );
                    continue;
                };
                reference(cx, &by_id, a, r, target, out);
            }
            non_standard_fields(&by_id, a, out);
        }
    }
}

/// The `RuleID`s a correlation rule's items reference.
fn rule_refs(a: &Analysis) -> &[Spanned<String>] {
    match &a.body {
        Body::Other(o) => &o.rule_refs,
        Body::Rule(_) => &[],
    }
}

/// Checks one resolved reference.
fn reference(
    cx: &CheckCx<'_>,
    by_id: &HashMap<&str, &Analysis>,
    a: &Analysis,
    r: &Spanned<String>,
    target: &Analysis,
    out: &mut Vec<Diagnostic>,
) {
    let path = &cx
        .sources
        .get(target.file.0 as usize)
        .map_or("?", |s| s.display.as_str());
    let target_span = target.id.as_ref().map(|i| i.span).unwrap_or_default();
    let ty = target.analysis_type.value;
    match ty {
        AnalysisType::Rule | AnalysisType::ScheduledRule | AnalysisType::CorrelationRule => {}
        _ => {
            let kind = ty.name();
            out.push(
                Diagnostic::new(
                    Code::CorrBadReference,
                    a.file,
                    r.span,
                    format!("`{}` is a {kind}, which produces no signals", r.value),
                )
                .with_related(target.file, target_span, format!("defined in {path}"))
                .with_help("reference a rule, scheduled rule or correlation rule"),
            );
            return;
        }
    }
    if ty == AnalysisType::CorrelationRule {
        if let Some(cycle) = cycle(by_id, target, a.id_str()) {
            let message = if cycle.len() == 1 {
                "the rule references itself".to_owned()
            } else {
                format!("`{}` leads back to this rule: {}", r.value, cycle.join(" → "))
            };
            out.push(
                Diagnostic::new(Code::CorrBadReference, a.file, r.span, message)
                    .with_help("correlation rules must not reference each other in a cycle"),
            );
            return;
        }
    }
    if is_enabled(by_id, target) == Some(false) {
        out.push(
            Diagnostic::new(
                Code::CorrDisabledReference,
                a.file,
                r.span,
                format!("`{}` is disabled and produces no signals in production", r.value),
            )
            .with_related(target.file, target_span, format!("defined in {path}"))
            .with_help("enable the referenced detection, or remove this item"),
        );
    }
}

/// The effective `Enabled` of a detection: its own, else (derived
/// detections) its base's.
fn is_enabled(by_id: &HashMap<&str, &Analysis>, a: &Analysis) -> Option<bool> {
    match &a.body {
        Body::Other(o) => o.enabled,
        Body::Rule(r) => match (&r.enabled, &r.base_detection) {
            (Some(e), _) => Some(e.value),
            (None, Some(base)) => by_id
                .get(base.value.as_str())
                .and_then(|b| b.rule())
                .and_then(|b| b.enabled.as_ref())
                .map(|e| e.value),
            (None, None) => None,
        },
    }
}

/// The chain of IDs from `start` back to `home` through correlation-rule
/// references (`[home]` for a self-reference), if there is one.
fn cycle(by_id: &HashMap<&str, &Analysis>, start: &Analysis, home: &str) -> Option<Vec<String>> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<(&Analysis, Vec<String>)> = vec![(start, vec![start.id_str().to_owned()])];
    while let Some((a, path)) = stack.pop() {
        if a.id_str() == home {
            let mut full = path;
            if full.len() > 1 {
                full.insert(0, home.to_owned());
            }
            return Some(full);
        }
        if !seen.insert(a.id_str()) || a.analysis_type.value != AnalysisType::CorrelationRule {
            continue;
        }
        for r in rule_refs(a) {
            if let Some(next) = by_id.get(r.value.as_str()) {
                let mut p = path.clone();
                p.push(r.value.clone());
                stack.push((next, p));
            }
        }
    }
    None
}

/// `corr-non-standard-field`: a join field without `p_` on an item whose
/// detection has several log types, is scheduled or is a correlation rule.
fn non_standard_fields(by_id: &HashMap<&str, &Analysis>, a: &Analysis, out: &mut Vec<Diagnostic>) {
    let rule = typed(a);
    let Some(d) = &rule.detection else { return };
    for (i, field) in d.join_field_uses() {
        if field.value.starts_with("p_") {
            continue;
        }
        let Some(item) = d.items.get(i) else { continue };
        let Some(target) = by_id.get(item.rule_id.value.as_str()) else {
            continue;
        };
        let why = match target.analysis_type.value {
            AnalysisType::ScheduledRule => "a scheduled rule".to_owned(),
            AnalysisType::CorrelationRule => "a correlation rule".to_owned(),
            AnalysisType::Rule => match log_type_count(by_id, target) {
                n if n > 1 => format!("a rule with {n} log types"),
                _ => continue,
            },
            _ => continue,
        };
        out.push(
            Diagnostic::new(
                Code::CorrNonStandardField,
                a.file,
                field.span,
                format!(
                    "item `{}` is matched on `{}`, but `{}` is {why}",
                    item.key(),
                    field.value,
                    item.rule_id.value
                ),
            )
            .with_help("Panther only allows `p_` standard fields here; project the value into `p_alert_context`"),
        );
    }
}

/// The number of `LogTypes` of a rule, inherited from the base for a
/// derived detection.
fn log_type_count(by_id: &HashMap<&str, &Analysis>, a: &Analysis) -> usize {
    let Some(r) = a.rule() else { return 0 };
    match (&r.log_types, &r.base_detection) {
        (Some(l), _) => l.len(),
        (None, Some(base)) => by_id
            .get(base.value.as_str())
            .and_then(|b| b.rule())
            .and_then(|b| b.log_types.as_ref())
            .map_or(0, Vec::len),
        (None, None) => 0,
    }
}

/// The typed correlation rule, read again from the stored root; the
/// diagnostics of this second read are dropped (they were reported at load).
fn typed(a: &Analysis) -> CorrelationRule {
    let mut scratch = Cx::new(a.file, LoadOptions::default());
    load_rule(&mut scratch, &a.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the check over files given as texts; returns (file, code).
    fn run(files: &[&str]) -> Vec<(u32, &'static str)> {
        crate::check::run_on_texts(&CorrelationRefs, files)
            .iter()
            .map(|d| (d.file().map_or(99, |f| f.0), d.code.name()))
            .collect()
    }

    fn corr(id: &str, a: &str, b: &str, field: &str) -> String {
        format!(
            "AnalysisType: correlation_rule\nRuleID: {id}\nEnabled: true\nSeverity: High\nDetection:\n  - Group:\n      - {{ID: A, RuleID: {a}}}\n      - {{ID: B, RuleID: {b}}}\n    MatchCriteria:\n      user:\n        - {{GroupID: A, Match: {field}}}\n        - {{GroupID: B, Match: {field}}}\n    Schedule: {{RateMinutes: 10, TimeoutMinutes: 5}}\n"
        )
    }

    fn rule(id: &str, enabled: bool, log_types: &str) -> String {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: {enabled}\nSeverity: Low\nLogTypes: {log_types}\nDetection:\n  - KeyPath: a\n    Condition: Exists\n"
        )
    }

    #[test]
    fn known_enabled_references_are_fine() {
        let c = corr("C", "R1", "R2", "p_user");
        let r1 = rule("R1", true, "[AWS.CloudTrail]");
        let r2 = rule("R2", true, "[Okta.SystemLog]");
        assert_eq!(run(&[&c, &r1, &r2]), []);
    }

    #[test]
    fn unknown_and_disabled_references_warn() {
        let c = corr("C", "Missing", "R2", "p_user");
        let r = rule("R2", false, "[Okta.SystemLog]");
        assert_eq!(
            run(&[&c, &r]),
            [(0, "corr-unknown-reference"), (0, "corr-disabled-reference")]
        );
    }

    #[test]
    fn policies_and_cycles_are_bad_references() {
        let c = corr("C", "P", "D", "p_user");
        let d = corr("D", "C", "R", "p_user");
        let p = "AnalysisType: policy\nPolicyID: P\nEnabled: true\nSeverity: Low\nResourceTypes: [AWS.S3.Bucket]\nFilename: p.py\n";
        let r = rule("R", true, "[Okta.SystemLog]");
        assert_eq!(
            run(&[&c, &d, p, &r]),
            [
                (0, "corr-bad-reference"),
                (0, "corr-bad-reference"),
                (1, "corr-bad-reference")
            ]
        );
        let own = corr("C", "C", "R", "p_user");
        assert_eq!(run(&[&own, &r]), [(0, "corr-bad-reference")]);
    }

    #[test]
    fn non_p_fields_on_multi_log_type_rules_warn() {
        let c = corr("C", "R1", "R2", "user");
        let r1 = rule("R1", true, "[AWS.CloudTrail, Okta.SystemLog]");
        let r2 = rule("R2", true, "[Okta.SystemLog]");
        assert_eq!(run(&[&c, &r1, &r2]), [(0, "corr-non-standard-field")]);
    }
}
