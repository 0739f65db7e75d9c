//! One test per row of derived-detections §4's precedence table, plus the
//! pieces `show` and `upload` build on: effective fields, automatic base
//! disabling and its minimal edit.
//!
//! Rows a Simple Detection base can exercise run the engine on the
//! effective rule ([`effective`] then [`Program::compile`] with the derived
//! detection's ID, as `detect test` does). Rows that involve a Python alert
//! function of the base are checked through [`alert_precedence`], since
//! `detect` runs no Python.

use serde_json::{Value, json};

use super::*;
use crate::engine::{AlertFields, Program};
use crate::load::{LoadOptions, load_file};
use crate::model::Analysis;
use crate::model::Level;
use crate::source::FileId;

fn load(text: &str) -> Analysis {
    let loaded = load_file(FileId(0), Some(text), LoadOptions::default());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity() == crate::diagnostic::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    loaded.analysis.unwrap()
}

const BASE_HEAD: &str = "AnalysisType: rule\nRuleID: Base.Rule\nEnabled: true\nLogTypes: [Test.Log]\nSeverity: Low\n\
Detection:\n  - KeyPath: action\n    Condition: Equals\n    Value: login\n";

/// A Simple base with extra keys, and a derived file with extra keys.
fn pair(base_extra: &str, derived_extra: &str) -> (Analysis, Analysis) {
    let base = load(&format!("{BASE_HEAD}{base_extra}"));
    let derived = load(&format!(
        "AnalysisType: rule\nRuleID: Derived.Rule\nBaseDetection: Base.Rule\nEnabled: true\n{derived_extra}"
    ));
    (base, derived)
}

/// The alert fields of the derived detection for an event.
fn alert(base_extra: &str, derived_extra: &str, event: Value) -> AlertFields {
    let (base, derived) = pair(base_extra, derived_extra);
    let (rule, _) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
    let program = Program::compile(derived.id_str(), &rule, true);
    assert!(program.matches(&event), "the event must match: {event}");
    program.alert(&event)
}

/// The precedence chain of a derived detection; only top-level keys matter,
/// so the files are parsed, not validated.
fn chain(field: AlertField, base_extra: &str, derived_extra: &str, functions: &[&str]) -> Vec<Step> {
    let root = |t: &str| crate::yaml::parse(t).unwrap().root.unwrap();
    let base = root(&format!("AnalysisType: rule\nRuleID: Base.Rule\n{base_extra}"));
    let derived = root(&format!(
        "AnalysisType: rule\nRuleID: Derived.Rule\nBaseDetection: Base.Rule\n{derived_extra}"
    ));
    alert_precedence(field, &derived, Some(&base), functions)
}

const DS_ADMIN_CRITICAL: &str = "DynamicSeverities:\n  - ChangeTo: Critical\n    Conditions:\n      - KeyPath: role\n        Condition: Equals\n        Value: admin\n";
const DS_DEV_LOW: &str = "DynamicSeverities:\n  - ChangeTo: Low\n    Conditions:\n      - KeyPath: role\n        Condition: Equals\n        Value: dev\n";
const DS_DEV_DEFAULT: &str = "DynamicSeverities:\n  - ChangeTo: DEFAULT\n    Conditions:\n      - KeyPath: role\n        Condition: Equals\n        Value: dev\n";

use Source::{Base as B, Default as Dflt, Derived as D};
use Step::{Function as F, Key as K};

// Row 1: severity.

#[test]
fn severity_derived_dynamic_severities_win_over_the_base_ones() {
    let base = format!("Severity: Medium\n{DS_DEV_LOW}");
    let derived = DS_ADMIN_CRITICAL;
    let a = alert(&base, derived, json!({"action": "login", "role": "admin"}));
    assert_eq!(a.severity, Some(Level::Critical));
    // The base's `DynamicSeverities` are replaced whole: `dev` no longer
    // lowers the severity; the static `Severity` (the base's) applies.
    let a = alert(&base, derived, json!({"action": "login", "role": "dev"}));
    assert_eq!(a.severity, Some(Level::Medium));
    assert_eq!(
        chain(AlertField::Severity, &base, derived, &[]),
        [K("DynamicSeverities", D), K("Severity", B)]
    );
}

#[test]
fn severity_derived_dynamic_severities_fall_back_to_the_derived_static_severity() {
    let derived = format!("Severity: High\n{DS_ADMIN_CRITICAL}");
    let a = alert(
        "Severity: Medium\n",
        &derived,
        json!({"action": "login", "role": "dev"}),
    );
    assert_eq!(a.severity, Some(Level::High));
    // Decision 4: the base's `severity()` is not consulted.
    assert_eq!(
        chain(AlertField::Severity, "Filename: x.py\n", &derived, &["severity"]),
        [K("DynamicSeverities", D), K("Severity", D)]
    );
}

#[test]
fn severity_base_dynamic_severities_apply_then_the_derived_static_severity() {
    let base = format!("Severity: Medium\n{DS_DEV_LOW}");
    let a = alert(&base, "Severity: High\n", json!({"action": "login", "role": "dev"}));
    assert_eq!(a.severity, Some(Level::Low));
    let a = alert(&base, "Severity: High\n", json!({"action": "login", "role": "ops"}));
    assert_eq!(a.severity, Some(Level::High));
    let a = alert(&base, "", json!({"action": "login", "role": "ops"}));
    assert_eq!(a.severity, Some(Level::Medium));
    assert_eq!(
        chain(AlertField::Severity, &base, "Severity: High\n", &[]),
        [K("DynamicSeverities", B), K("Severity", D)]
    );
}

#[test]
fn severity_default_in_base_dynamic_severities_means_the_effective_static_severity() {
    let base = format!("Severity: Medium\n{DS_DEV_DEFAULT}");
    let a = alert(&base, "Severity: High\n", json!({"action": "login", "role": "dev"}));
    assert_eq!(a.severity, Some(Level::High));
}

#[test]
fn severity_python_base_function_shadows_a_static_override() {
    assert_eq!(
        chain(
            AlertField::Severity,
            "Severity: Low\n",
            "Severity: Critical\n",
            &["severity"]
        ),
        [F("severity", B), K("Severity", D)]
    );
    assert_eq!(
        chain(AlertField::Severity, "Severity: Low\n", "", &[]),
        [K("Severity", B)]
    );
}

// Row 2: title.

#[test]
fn title_derived_alert_title_wins_over_the_base_one() {
    let a = alert(
        "Severity: Low\nAlertTitle: base {user}\n",
        "AlertTitle: derived {user}\n",
        json!({"action": "login", "user": "amy"}),
    );
    assert_eq!(a.title.as_deref(), Some("derived amy"));
    assert_eq!(
        chain(AlertField::Title, "AlertTitle: t\n", "AlertTitle: u\n", &["title"]),
        [K("AlertTitle", D), Step::Default]
    );
}

#[test]
fn title_base_alert_title_wins_over_a_derived_display_name() {
    let a = alert(
        "Severity: Low\nAlertTitle: base {user}\n",
        "DisplayName: Derived name\n",
        json!({"action": "login", "user": "amy"}),
    );
    assert_eq!(a.title.as_deref(), Some("base amy"));
    assert_eq!(
        chain(AlertField::Title, "AlertTitle: t\n", "DisplayName: n\n", &[]),
        [K("AlertTitle", B), K("DisplayName", D), Step::Default]
    );
}

#[test]
fn title_falls_back_to_display_name_then_the_derived_rule_id() {
    let event = json!({"action": "login"});
    let a = alert(
        "Severity: Low\nDisplayName: Base name\n",
        "DisplayName: Derived name\n",
        event.clone(),
    );
    assert_eq!(a.title.as_deref(), Some("Derived name"));
    let a = alert("Severity: Low\nDisplayName: Base name\n", "", event.clone());
    assert_eq!(a.title.as_deref(), Some("Base name"));
    let a = alert("Severity: Low\n", "", event);
    assert_eq!(a.title.as_deref(), Some("Derived.Rule"));
}

#[test]
fn title_that_renders_empty_falls_through_to_display_name() {
    let a = alert(
        "Severity: Low\nDisplayName: Base name\n",
        "AlertTitle: \"{user}\"\n",
        json!({"action": "login"}),
    );
    assert_eq!(a.title.as_deref(), Some("Base name"));
}

#[test]
fn title_python_base_function_is_used_unless_the_derived_sets_alert_title() {
    assert_eq!(
        chain(AlertField::Title, "Filename: x.py\n", "DisplayName: n\n", &["title"]),
        [F("title", B), K("DisplayName", D), Step::Default]
    );
    assert_eq!(
        chain(AlertField::Title, "Filename: x.py\n", "AlertTitle: t\n", &["title"]),
        [K("AlertTitle", D), Step::Default]
    );
}

// Row 3: dedup string.

#[test]
fn dedup_derived_group_by_wins_over_the_base_one() {
    let a = alert(
        "Severity: Low\nGroupBy:\n  - Key: host\n",
        "GroupBy:\n  - Key: user\n",
        json!({"action": "login", "user": "amy", "host": "h"}),
    );
    assert_eq!(a.dedup.as_deref(), Some("amy"));
    assert_eq!(
        chain(
            AlertField::Dedup,
            "Filename: x.py\n",
            "GroupBy:\n  - Key: user\n",
            &["dedup"]
        ),
        [K("GroupBy", D), Step::Default]
    );
}

#[test]
fn dedup_base_group_by_wins_over_a_derived_alert_title() {
    let a = alert(
        "Severity: Low\nGroupBy:\n  - Key: host\n",
        "AlertTitle: t {user}\n",
        json!({"action": "login", "user": "amy", "host": "h"}),
    );
    assert_eq!(a.dedup.as_deref(), Some("h"));
    assert_eq!(
        chain(AlertField::Dedup, "Filename: x.py\n", "", &["dedup", "title"]),
        [F("dedup", B), Step::Default]
    );
}

#[test]
fn dedup_is_the_rendered_title_when_an_alert_title_is_in_effect() {
    let a = alert(
        "Severity: Low\n",
        "AlertTitle: t {user}\n",
        json!({"action": "login", "user": "amy"}),
    );
    assert_eq!(a.dedup.as_deref(), Some("t amy"));
    assert_eq!(
        chain(AlertField::Dedup, "Filename: x.py\n", "", &["title"]),
        [Step::Title, Step::Default]
    );
}

#[test]
fn dedup_default_names_the_derived_rule_id() {
    let a = alert("Severity: Low\nDisplayName: Base\n", "", json!({"action": "login"}));
    assert_eq!(a.dedup.as_deref(), Some("defaultDedupString:Derived.Rule"));
    assert_eq!(chain(AlertField::Dedup, "", "", &[]), [Step::Default]);
}

#[test]
fn dedup_group_by_that_renders_empty_goes_straight_to_the_default() {
    let a = alert(
        "Severity: Low\nAlertTitle: t {user}\n",
        "GroupBy:\n  - Key: missing\n",
        json!({"action": "login", "user": "amy"}),
    );
    assert_eq!(a.dedup.as_deref(), Some("defaultDedupString:Derived.Rule"));
}

#[test]
fn dedup_empty_derived_group_by_replaces_the_base_group_by() {
    let a = alert(
        "Severity: Low\nGroupBy:\n  - Key: host\nAlertTitle: t {user}\n",
        "GroupBy: []\n",
        json!({"action": "login", "user": "amy", "host": "h"}),
    );
    assert_eq!(a.dedup.as_deref(), Some("t amy"));
    assert_eq!(
        chain(
            AlertField::Dedup,
            "GroupBy:\n  - Key: host\nAlertTitle: t\n",
            "GroupBy: []\n",
            &[]
        ),
        [Step::Title, Step::Default]
    );
}

// Row 4: alert context.

#[test]
fn alert_context_derived_then_base_then_empty() {
    let base = "Severity: Low\nAlertContext:\n  - KeyName: host\n    KeyValue: {Key: host}\n";
    let event = json!({"action": "login", "user": "amy", "host": "h"});
    let a = alert(
        base,
        "AlertContext:\n  - KeyName: who\n    KeyValue: {Key: user}\n",
        event.clone(),
    );
    assert_eq!(a.context, json!({"who": "amy"}));
    let a = alert(base, "", event.clone());
    assert_eq!(a.context, json!({"host": "h"}));
    let a = alert("Severity: Low\n", "", event);
    assert_eq!(a.context, json!({}));
    assert_eq!(
        chain(AlertField::AlertContext, "Filename: x.py\n", "", &["alert_context"]),
        [F("alert_context", B), Step::Default]
    );
    assert_eq!(
        chain(
            AlertField::AlertContext,
            "Filename: x.py\n",
            "AlertContext: []\n",
            &["alert_context"]
        ),
        [K("AlertContext", D), Step::Default]
    );
}

#[test]
fn create_alert_false_inherited_leaves_only_the_context() {
    let a = alert("Severity: Low\nCreateAlert: false\n", "", json!({"action": "login"}));
    assert_eq!((a.title, a.dedup, a.severity), (None, None, None));
    assert_eq!(a.context, json!({}));
}

// Rows 5–8: description, reference, runbook, destinations.

#[test]
fn static_fields_python_function_then_derived_then_base() {
    for (field, key, func) in [
        (AlertField::Description, "Description", "description"),
        (AlertField::Reference, "Reference", "reference"),
        (AlertField::Runbook, "Runbook", "runbook"),
        (AlertField::Destinations, "OutputIds", "destinations"),
    ] {
        let value = if key == "OutputIds" { "[x]" } else { "x" };
        let base = format!("{key}: {value}\n");
        let derived = format!("{key}: {value}\n");
        assert_eq!(chain(field, &base, &derived, &[func]), [F(func, B), K(key, D)], "{key}");
        assert_eq!(chain(field, &base, &derived, &[]), [K(key, D)], "{key}");
        assert_eq!(chain(field, &base, "", &[]), [K(key, B)], "{key}");
        assert_eq!(chain(field, "", "", &[]), [Step::Default], "{key}");
    }
}

#[test]
fn chains_of_a_detection_that_is_not_derived_use_its_own_keys() {
    let rule = load(&format!("{BASE_HEAD}Severity: Low\nAlertTitle: t\n"));
    assert_eq!(
        alert_precedence(AlertField::Title, &rule.root, None, &[]),
        [K("AlertTitle", D), Step::Default]
    );
    assert_eq!(
        alert_precedence(AlertField::Severity, &rule.root, None, &["severity"]),
        [F("severity", D), K("Severity", D)]
    );
}

#[test]
fn alert_functions_are_top_level_defs_only() {
    let py = "def rule(event):\n    return True\n\ndef title(event):\n    return 'x'\n\n    def dedup(e):\n        pass\ndef severityx(e):\n    pass\n";
    assert_eq!(alert_functions(py), ["title"]);
}

// Effective fields (`detect show`).

fn field<'a>(fields: &'a [Field], key: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.key == key)
}

#[test]
fn effective_fields_carry_their_source() {
    let (base, derived) = pair(
        "Severity: Low\nTags: [a]\nDedupPeriodMinutes: 30\nTests:\n  - {Name: t, ExpectedResult: true, Log: {action: login}}\n",
        "Severity: HIGH\nTags: []\nStatus: experimental\n",
    );
    let fields = effective_fields(&derived, Some(&base));
    let src = |k: &str| field(&fields, k).map(|f| f.source);
    assert_eq!(src("RuleID"), Some(D));
    assert_eq!(field(&fields, "RuleID").unwrap().value.as_str(), Some("Derived.Rule"));
    assert_eq!(src("BaseDetection"), Some(D));
    assert_eq!(src("Severity"), Some(D));
    // As written: the spelling stays upper case.
    assert_eq!(field(&fields, "Severity").unwrap().value.as_str(), Some("HIGH"));
    assert_eq!(src("Tags"), Some(D));
    assert_eq!(src("LogTypes"), Some(B));
    assert_eq!(src("Detection"), Some(B));
    assert_eq!(src("Tests"), Some(B));
    assert_eq!(src("DedupPeriodMinutes"), Some(B));
    assert_eq!(src("Status"), Some(D));
    assert_eq!(src("Threshold"), Some(Dflt));
    assert_eq!(src("DisplayName"), None);
    let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(&keys[..4], ["AnalysisType", "RuleID", "BaseDetection", "Enabled"]);
    // Filters see effective values.
    let root = effective_root(&fields);
    assert!(root.get("LogTypes").is_some());
    assert!(root.get("Threshold").is_none(), "defaults are not filtered on");
    assert!(is_status_excluded(&root));
}

#[test]
fn effective_fields_of_a_derived_detection_without_base_are_its_own() {
    let (_, derived) = pair("", "Severity: High\n");
    let fields = effective_fields(&derived, None);
    assert!(fields.iter().all(|f| f.source == D));
    assert!(field(&fields, "Threshold").is_none());
    let plain = load(&format!("{BASE_HEAD}Severity: Low\n"));
    let fields = effective_fields(&plain, None);
    assert_eq!(field(&fields, "Detection").unwrap().source, D);
    assert_eq!(field(&fields, "CreateAlert").unwrap().source, Dflt);
}

// Automatic base disabling (§7).

fn analyses(texts: &[&str]) -> Vec<Analysis> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            load_file(FileId(i as u32), Some(t), LoadOptions::default())
                .analysis
                .unwrap()
        })
        .collect()
}

#[test]
fn bases_to_disable_follow_the_selection_and_effective_enabled() {
    let items = analyses(&[
        &format!("{BASE_HEAD}Severity: Low\n"),
        "AnalysisType: rule\nRuleID: D1\nBaseDetection: Base.Rule\nEnabled: true\n",
        "AnalysisType: rule\nRuleID: D2\nBaseDetection: Base.Rule\n",
        "AnalysisType: rule\nRuleID: D3\nBaseDetection: Only.Remote\n",
        "AnalysisType: rule\nRuleID: D4\nBaseDetection: Other\nEnabled: false\n",
        "AnalysisType: rule\nRuleID: Other\nEnabled: true\nLogTypes: [X]\nSeverity: Low\nDetection: [{Key: a, Condition: Exists}]\n",
        "AnalysisType: rule\nRuleID: Exp\nEnabled: true\nLogTypes: [X]\nSeverity: Low\nStatus: Experimental\nDetection: [{Key: a, Condition: Exists}]\n",
        "AnalysisType: rule\nRuleID: D5\nBaseDetection: Exp\nEnabled: true\n",
    ]);
    let fixture = Fixture::new(items, std::collections::HashSet::new());
    let index = fixture.index();
    let all: Vec<&Analysis> = index.analyses().collect();
    let items = &all;
    let plan = bases_to_disable(&all, &all, &index);
    assert_eq!(plan.disable.len(), 1);
    let d = &plan.disable[0];
    assert_eq!(d.base.id_str(), "Base.Rule");
    assert!(!d.already_disabled);
    // D2 inherits `Enabled: true` from the base, so it counts, and it is
    // the one that stops running once the base is disabled (§7.4).
    let ids = |v: &[&Analysis]| v.iter().map(|a| a.id_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&d.derived), ["D1", "D2"]);
    assert_eq!(ids(&d.inheriting), ["D2"]);
    assert!(plan.disables(items[0]));
    assert!(!plan.disables(items[5]), "D4 is disabled: its base stays enabled");
    assert_eq!(plan.not_local.len(), 1);
    assert_eq!(plan.not_local[0].id, "Only.Remote");
    assert_eq!(plan.excluded.len(), 1);
    assert_eq!(plan.excluded[0].base.id_str(), "Exp");
    // A derived detection left out of the selection disables nothing.
    let plan = bases_to_disable(&[all[2]], &all, &index);
    assert_eq!(plan.disable.len(), 1);
    let plan = bases_to_disable(&[all[0], all[5]], &all, &index);
    assert!(plan.disable.is_empty());
}

#[test]
fn disable_edit_replaces_only_the_enabled_value() {
    let text = "# header\nAnalysisType: rule\nRuleID: X  # id\nEnabled: true   # keep this comment\nLogTypes: [A, B]\n";
    let out = disable_in_text(text).unwrap();
    assert_eq!(
        out,
        "# header\nAnalysisType: rule\nRuleID: X  # id\nEnabled: false   # keep this comment\nLogTypes: [A, B]\n"
    );
    assert_eq!(disable_in_text(&out).unwrap(), out);
    let out = disable_in_text("AnalysisType: rule\nRuleID: \"é\"\nEnabled: True\n").unwrap();
    assert_eq!(out, "AnalysisType: rule\nRuleID: \"é\"\nEnabled: false\n");
    let out = disable_in_text("RuleID: \"é\"\nEnabled:\nAnalysisType: rule\n").unwrap();
    assert_eq!(out, "RuleID: \"é\"\nEnabled: false\nAnalysisType: rule\n");
}

#[test]
fn disable_edit_inserts_the_key_after_analysis_type() {
    let out = disable_in_text("RuleID: X\nAnalysisType: rule\nSeverity: Low\n").unwrap();
    assert_eq!(out, "RuleID: X\nAnalysisType: rule\nEnabled: false\nSeverity: Low\n");
    let out = disable_in_text("AnalysisType: rule\r\nRuleID: X").unwrap();
    assert_eq!(out, "AnalysisType: rule\r\nEnabled: false\r\nRuleID: X");
    let out = disable_in_text("RuleID: X\nAnalysisType: rule").unwrap();
    assert_eq!(out, "RuleID: X\nAnalysisType: rule\nEnabled: false\n");
    let out = disable_in_text("{RuleID: X, AnalysisType: rule}\n").unwrap();
    assert_eq!(out, "{RuleID: X, Enabled: false, AnalysisType: rule}\n");
}

#[test]
fn disable_edit_refuses_what_it_cannot_edit() {
    assert!(matches!(
        disable_in_text("AnalysisType: rule\nEnabled: [true]\n"),
        Err(DisableError::NotScalar)
    ));
    assert!(disable_in_text("- a\n").is_err());
    assert!(disable_in_text("RuleID: X\n").is_err());
    assert!(disable_in_text("a: [\n").is_err());
}
