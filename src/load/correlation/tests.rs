//! Tests of the correlation loader.

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
