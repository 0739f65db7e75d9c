//! Tests of the correlation engine.

use super::*;
use crate::load::{LoadOptions, load_file};
use crate::model::Body;
use crate::model::correlation::CorrelationRule;
use crate::source::FileId;
use proptest::prelude::*;

/// Loads a correlation rule from YAML.
fn load(text: &str) -> CorrelationRule {
    let loaded = load_file(FileId(0), Some(text), LoadOptions::default());
    let a = loaded.analysis.expect("an analysis file");
    match a.body {
        Body::Other(o) => *o.correlation.expect("a correlation rule"),
        Body::Rule(_) => panic!("not a correlation rule"),
    }
}

/// A rule around a detection block and tests.
fn rule(block: &str, tests: &str) -> String {
    format!(
        "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}Tests:\n{tests}"
    )
}

/// Runs every test of a rule as `detect test` does (§6.3): returns
/// (name, expected, actual).
fn run_tests(text: &str) -> Vec<(String, bool, bool)> {
    let r = load(text);
    let d = r.detection.as_ref().expect("a detection block");
    let c = Correlation::compile(d).expect("compiles");
    r.tests
        .iter()
        .flatten()
        .map(|t| {
            let (signals, format) = c.test_signals(t).expect("test signals");
            let actual = signals.latest().is_some_and(|end| c.evaluate(&signals, end));
            // The explanation always agrees with the verdict.
            if let Some(end) = signals.latest() {
                let lines = c.explain(&signals, end, format);
                let last = lines.last().cloned().unwrap_or_default();
                assert_eq!(last.starts_with("result: match"), actual, "{lines:#?}");
            }
            (
                t.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                t.expected.as_ref().is_some_and(|e| e.value),
                actual,
            )
        })
        .collect()
}

/// Asserts that every test of the rule gives its `ExpectedResult`.
fn assert_reproduced(text: &str) {
    let results = run_tests(text);
    assert!(!results.is_empty());
    for (name, expected, actual) in results {
        assert_eq!(actual, expected, "test `{name}`");
    }
}

const SEC_7_1: &str = "  - Group:
      - ID: VPNLogin
        RuleID: Example.VPN.Login
      - ID: PushApproved
        RuleID: Example.MFA.Push.Approved
        Absence: true
    MatchCriteria:
      user:
        - {GroupID: VPNLogin, Match: p_alert_context.username}
        - {GroupID: PushApproved, Match: p_any_usernames}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
";

#[test]
fn worked_example_7_1_group_with_absence_on_other_fields() {
    assert_reproduced(&rule(
        SEC_7_1,
        "  - Name: push after login
    ExpectedResult: false
    RuleOutputs:
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [10]}}}
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [40]}}}
  - Name: order is irrelevant in a group
    ExpectedResult: false
    RuleOutputs:
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [10]}}}
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [40]}}}
  - Name: push for another user
    ExpectedResult: true
    RuleOutputs:
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [10]}}}
      - {ID: PushApproved, Matches: {p_any_usernames: {bob: [12]}}}
  - Name: push outside the window does not exist
    ExpectedResult: true
    RuleOutputs:
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [0]}}}
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [61]}}}
",
    ));
}

#[test]
fn worked_example_7_2_item_and_group_counts() {
    assert_reproduced(&rule(
        "  - Group:
      - {ID: SSOLogin,  RuleID: Example.SSO.Login.Success}
      - {ID: Spray,     RuleID: Example.Password.Spray.ByIP, MinMatchCount: 7}
      - {ID: RootLogin, RuleID: Example.Cloud.Root.Login}
    MinMatchCount: 2
    MatchCriteria:
      source_ip:
        - {GroupID: SSOLogin,  Match: p_any_ip_addresses}
        - {GroupID: Spray,     Match: p_any_ip_addresses}
        - {GroupID: RootLogin, Match: p_any_ip_addresses}
    LookbackWindowMinutes: 120
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
",
        "  - Name: sso and root
    ExpectedResult: true
    RuleOutputs:
      - {ID: SSOLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [5]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [20]}}}
  - Name: seven sprays with a tie, and root
    ExpectedResult: true
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 3, 4, 5, 6]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [30]}}}
  - Name: six sprays and root
    ExpectedResult: false
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 4, 5, 6]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [30]}}}
  - Name: sprays only
    ExpectedResult: false
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 4, 5, 6, 7]}}}
  - Name: different addresses
    ExpectedResult: false
    RuleOutputs:
      - {ID: SSOLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [5]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {203.0.113.9: [20]}}}
",
    ));
}

const SEC_7_3: &str = "  - Sequence:
      - {ID: Recon, RuleID: Example.IAM.Enumeration, MinMatchCount: 3}
      - {ID: KeyCreated, RuleID: Example.IAM.AccessKey.Created}
      - {ID: KeyUsed, RuleID: Example.IAM.AccessKey.FirstUse}
    Transitions:
      - From: Recon
        To: KeyCreated
        WithinTimeFrameMinutes: 30
        Match: [{On: p_alert_context.principal}]
      - From: KeyCreated
        To: KeyUsed
        WithinTimeFrameMinutes: 10
        Match: [{From: p_alert_context.principal, To: userIdentity.arn}]
    LookbackWindowMinutes: 120
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";

fn sec_7_3_test(name: &str, expected: bool, recon: &str, created: &str, used: &str) -> String {
    format!(
        "  - Name: {name}
    ExpectedResult: {expected}
    RuleOutputs:
      - {{ID: Recon, Matches: {{p_alert_context.principal: {recon}}}}}
      - {{ID: KeyCreated, Matches: {{p_alert_context.principal: {created}}}}}
      - {{ID: KeyUsed, Matches: {{userIdentity.arn: {used}}}}}
"
    )
}

#[test]
fn worked_example_7_3_sequence_counts_frames_and_fields() {
    let tests = [
        sec_7_3_test("in time", true, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [35]}"),
        sec_7_3_test(
            "one minute late",
            false,
            "{eve: [0, 5, 10]}",
            "{eve: [25]}",
            "{eve: [36]}",
        ),
        sec_7_3_test(
            "recon completes late",
            false,
            "{eve: [0, 5, 50]}",
            "{eve: [25]}",
            "{eve: [30]}",
        ),
        sec_7_3_test("ties", true, "{eve: [0, 1, 2]}", "{eve: [2]}", "{eve: [2]}"),
        sec_7_3_test(
            "other principal",
            false,
            "{eve: [0, 5, 10]}",
            "{mallory: [25]}",
            "{eve: [35]}",
        ),
        sec_7_3_test(
            "absolute",
            true,
            "{eve: ['2024-06-01T08:00:00Z', '2024-06-01T08:01:00Z', '2024-06-01T08:02:00Z']}",
            "{eve: ['2024-06-01T08:32:00Z']}",
            "{eve: ['2024-06-01T08:42:00Z']}",
        ),
    ];
    assert_reproduced(&rule(SEC_7_3, &tests.concat()));
}

#[test]
fn worked_example_7_4_absent_last_and_first_steps() {
    assert_reproduced(&rule(
        "  - Sequence:
      - {ID: NewDeviceLogin, RuleID: Example.Login.NewDevice}
      - {ID: MFAChallenge, RuleID: Example.MFA.Challenge, Absence: true}
    Transitions:
      - From: NewDeviceLogin
        To: MFAChallenge
        WithinTimeFrameMinutes: 15
        Match: [{On: p_alert_context.user}]
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: challenge at the edge of the frame
    ExpectedResult: false
    RuleOutputs:
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [15]}}}
  - Name: challenge after the frame
    ExpectedResult: true
    RuleOutputs:
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [16]}}}
  - Name: earlier challenge does not count
    ExpectedResult: true
    RuleOutputs:
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [5]}}}
",
    ));
    // The same as a Group: the earlier challenge vetoes.
    assert_reproduced(&rule(
        "  - Group:
      - {ID: NewDeviceLogin, RuleID: Example.Login.NewDevice}
      - {ID: MFAChallenge, RuleID: Example.MFA.Challenge, Absence: true}
    MatchCriteria:
      user:
        - {GroupID: NewDeviceLogin, Match: p_alert_context.user}
        - {GroupID: MFAChallenge, Match: p_alert_context.user}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: earlier challenge vetoes a group
    ExpectedResult: false
    RuleOutputs:
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [5]}}}
",
    ));
    // An absent first step: "not preceded by".
    assert_reproduced(&rule(
        "  - Sequence:
      - {ID: OktaSSO, RuleID: Example.Okta.SSO, Absence: true}
      - {ID: ConsoleLogin, RuleID: Example.AWS.ConsoleLogin}
    Transitions:
      - {From: OktaSSO, To: ConsoleLogin, WithinTimeFrameMinutes: 15}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: preceded
    ExpectedResult: false
    RuleOutputs:
      - {ID: OktaSSO, Matches: {foo: {bar: [0]}}}
      - {ID: ConsoleLogin, Matches: {foo: {bar: [2]}}}
  - Name: not preceded
    ExpectedResult: true
    RuleOutputs:
      - {ID: ConsoleLogin, Matches: {foo: {bar: [2]}}}
",
    ));
}

#[test]
fn worked_example_7_5_lookback_boundary_is_inclusive() {
    assert_reproduced(&rule(
        "  - Group:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: at the boundary
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {foo: {bar: [1]}}}
      - {ID: B, Matches: {foo: {bar: [61]}}}
  - Name: one minute outside
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {foo: {bar: [0]}}}
      - {ID: B, Matches: {foo: {bar: [61]}}}
",
    ));
}

const SEC_7_6: &str = "  - Group:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
    MatchCriteria:
      ip:
        - {GroupID: A, Match: p_alert_context.ip}
        - {GroupID: B, Match: p_alert_context.ip}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
";

#[test]
fn worked_example_7_6_missing_join_field_joins_on_null() {
    assert_reproduced(&rule(
        SEC_7_6,
        "  - Name: wrong field name on both
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {ip: {10.0.0.1: [1]}}}
  - Name: right field name
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {p_alert_context.ip: {10.0.0.1: [1]}}}
  - Name: different values
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {p_alert_context.ip: {10.0.0.2: [1]}}}
  - Name: a null key is the null value
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {~: [0]}}}
      - {ID: B, Matches: {other: {x: [1]}}}
",
    ));
}

#[test]
fn pat_fixtures_count_duplicate_timestamps_individually() {
    let block = "  - Sequence:
      - {ID: First, RuleID: Okta.Global.MFA.Disabled, MinMatchCount: 7}
      - {ID: Second, RuleID: Okta.Support.Access, MinMatchCount: 1}
    LookbackWindowMinutes: 15
    Schedule: {RateMinutes: 5, TimeoutMinutes: 3}
";
    let test = |stamps: &str| {
        format!(
            "  - Name: something
    ExpectedResult: true
    RuleOutputs:
      - {{ID: First, Matches: {{p_actor: {{jane.smith: {stamps}}}}}}}
      - {{ID: Second, Matches: {{p_enrichment.endpoint_mapping.aid.assigned_user: {{jane.smith: [6]}}}}}}
"
        )
    };
    // pass1.yml: seven signals, three of them at minute 4.
    assert!(run_tests(&rule(block, &test("[1,2,3,4,4,4,5]")))[0].2);
    // fails1.yml: two of seven: the engine says false, the test fails.
    assert!(!run_tests(&rule(block, &test("[1,2]")))[0].2);
}

#[test]
fn conformance_notes() {
    // Ties between steps are allowed (Snowflake.Data.Exfiltration) and
    // frames are inclusive (AWS.Administrative.IAM.User.Created).
    let seq = "  - Sequence:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
      - {ID: C, RuleID: Example.C}
    Transitions:
      - {From: A, To: B, WithinTimeFrameMinutes: 60, Match: [{On: p_user}]}
      - {From: B, To: C, WithinTimeFrameMinutes: 60, Match: [{On: p_user}]}
    LookbackWindowMinutes: 180
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";
    assert_reproduced(&rule(
        seq,
        "  - Name: all at the same two times
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0, 5]}}}
      - {ID: B, Matches: {p_user: {u: [0, 5]}}}
      - {ID: C, Matches: {p_user: {u: [0, 5]}}}
  - Name: exactly sixty minutes apart
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: B, Matches: {p_user: {u: [60]}}}
      - {ID: C, Matches: {p_user: {u: [120]}}}
  - Name: a step before the previous one does not count
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [10]}}}
      - {ID: B, Matches: {p_user: {u: [5]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
",
    ));
    // A test evaluates at its latest signal, absent ones included
    // (GitHub.Advanced.Security.Change...): the absence is seen.
    assert_reproduced(&rule(
        "  - Group:
      - {ID: Change, RuleID: Example.Change}
      - {ID: Archived, RuleID: Example.Archived, Absence: true}
    MatchCriteria:
      repo:
        - {GroupID: Change, Match: p_repo}
        - {GroupID: Archived, Match: p_repo}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: absent signal is the latest
    ExpectedResult: false
    RuleOutputs:
      - {ID: Change, Matches: {p_repo: {r: [0]}}}
      - {ID: Archived, Matches: {p_repo: {r: [50]}}}
  - Name: no signals at all
    ExpectedResult: false
    RuleOutputs:
      - {ID: Change, Matches: {p_repo: {}}}
",
    ));
    // MaxMatchCount: an item above it is not satisfied.
    assert_reproduced(&rule(
        "  - Group:
      - {ID: A, RuleID: Example.A, MinMatchCount: 2, MaxMatchCount: 3}
      - {ID: B, RuleID: Example.B}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: within
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {f: {x: [1, 2, 3]}}}
      - {ID: B, Matches: {f: {x: [4]}}}
  - Name: above
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {f: {x: [1, 2, 3, 4]}}}
      - {ID: B, Matches: {f: {x: [4]}}}
",
    ));
    // Absent middle step: checked between its neighbours, whose frames
    // add up.
    assert_reproduced(&rule(
        "  - Sequence:
      - {ID: A, RuleID: Example.A}
      - {ID: X, RuleID: Example.X, Absence: true}
      - {ID: C, RuleID: Example.C}
    Transitions:
      - {From: A, To: X, WithinTimeFrameMinutes: 10, Match: [{On: p_user}]}
      - {From: X, To: C, WithinTimeFrameMinutes: 10, Match: [{On: p_user}]}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  - Name: twenty minutes with nothing between
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {u: [25]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: something between
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {u: [20]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: something between for another user
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {v: [10]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: twenty-one minutes
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: C, Matches: {p_user: {u: [21]}}}
",
    ));
}

/// A rule compiled from YAML, with its signals built by `add`.
fn compiled(block: &str) -> Correlation {
    let text = format!(
        "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}"
    );
    let r = load(&text);
    Correlation::compile(r.detection.as_ref().expect("a block")).expect("compiles")
}

#[test]
fn arrays_correlate_on_any_shared_element() {
    let c = compiled(SEC_7_1);
    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Text("alice")]);
    let names = [JoinValue::Text("bob"), JoinValue::Text("carol")];
    b.push(1, 60, &[JoinValue::List(&names)]);
    let s = b.finish();
    assert!(c.evaluate(&s, 60), "alice has no push");
    assert_eq!(c.matching_values(&s, 60), vec![JoinKey::Text("alice")]);

    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Text("alice")]);
    let names = [JoinValue::Text("bob"), JoinValue::Text("alice")];
    b.push(1, 60, &[JoinValue::List(&names)]);
    assert!(!c.evaluate(&b.finish(), 60), "alice's push vetoes");

    // An empty array and an object have no value: they veto nothing.
    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Text("alice")]);
    b.push(1, 30, &[JoinValue::List(&[])]);
    b.push(1, 30, &[JoinValue::Opaque]);
    assert!(c.evaluate(&b.finish(), 60));
}

#[test]
fn numbers_and_strings_compare_as_text() {
    let c = compiled(SEC_7_6);
    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Int(12_345_678)]);
    b.push(1, 60, &[JoinValue::Text("12345678")]);
    let s = b.finish();
    assert_eq!(c.matching_values(&s, 60), vec![JoinKey::Text("12345678")]);
    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Bool(true)]);
    b.push(1, 60, &[JoinValue::Text("True")]);
    assert!(!c.evaluate(&b.finish(), 60), "case-sensitive");
}

#[test]
fn runs_see_only_their_window() {
    let c = compiled(SEC_7_6);
    let mut b = c.signals();
    b.push(0, 0, &[JoinValue::Text("x")]);
    b.push(1, 50 * 60, &[JoinValue::Text("x")]);
    b.push(0, 200 * 60, &[JoinValue::Text("y")]);
    let s = b.finish();
    assert!(c.evaluate(&s, 50 * 60));
    assert!(c.evaluate(&s, 60 * 60));
    assert!(!c.evaluate(&s, 61 * 60), "A at 0 has left the window");
    assert!(!c.evaluate(&s, 200 * 60));
    assert!(!c.evaluate(&s, -1));
}

#[test]
fn signals_of_a_rule_id_go_to_every_item_naming_it() {
    let c = compiled(
        "  - Group:
      - {ID: First, RuleID: Example.Same}
      - {ID: Second, RuleID: Example.Same}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
    );
    assert_eq!(c.items_for_rule("Example.Same").collect::<Vec<_>>(), [0, 1]);
    assert_eq!(c.item_index("Second"), Some(1));
    assert!(!c.signals().push(2, 0, &[]), "no third item");
}

#[test]
fn explain_names_values_counts_and_reasons() {
    let r = load(&rule(
        SEC_7_3,
        &sec_7_3_test("late", false, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [36]}"),
    ));
    let c = Correlation::compile(r.detection.as_ref().expect("block")).expect("compiles");
    let t = &r.tests.as_ref().expect("tests")[0];
    let (s, format) = c.test_signals(t).expect("signals");
    let lines = c.explain(&s, 36 * 60, format);
    let text = lines.join("\n");
    for want in [
        "Sequence of 3 steps: `Recon`, then `KeyCreated`, then `KeyUsed`",
        "run at minute 36: the window is minute -84 to minute 36",
        "join values: `eve`",
        "✗ join value `eve`: `KeyUsed` comes too late after `KeyCreated`",
        "step 1 `Recon` (needs 3): 3 signals at minutes 0, 5, 10",
        "✓ `Recon` can complete at minute 10",
        "✗ `KeyUsed` completes at minute 36 at the earliest, 11 minutes after `KeyCreated` at minute 25: more than the time frame of 10 minutes",
        "result: no match",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let r = load(&rule(
        SEC_7_3,
        &sec_7_3_test("in time", true, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [35]}"),
    ));
    let t = &r.tests.as_ref().expect("tests")[0];
    let (s, format) = c.test_signals(t).expect("signals");
    let text = c.explain(&s, 35 * 60, format).join("\n");
    for want in [
        "✓ join value `eve`: match",
        "✓ `Recon` completes at minute 10 (3 signals, needs 3)",
        "✓ `KeyCreated` completes at minute 25, 15 minutes after `Recon`, within 30 minutes",
        "✓ `KeyUsed` completes at minute 35, 10 minutes after `KeyCreated`, within 10 minutes",
        "result: match",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn explain_group_shows_outside_signals_and_vetoes() {
    let c = compiled(SEC_7_1);
    let mut b = c.signals();
    b.push(1, 0, &[JoinValue::Text("alice")]);
    b.push(0, 61 * 60, &[JoinValue::Text("alice")]);
    b.push(1, 70 * 60, &[JoinValue::Text("alice")]);
    let s = b.finish();
    let text = c.explain(&s, 70 * 60, TimeFormat::Minutes).join("\n");
    for want in [
        "Group of 2 items: the present item is needed, and the absence vetoes",
        "outside the window, not seen by this run: `PushApproved` at minute 0",
        "✗ join value `alice`: absence `PushApproved` violated",
        "✓ `VPNLogin`: 1 signal at minute 61 (needs 1)",
        "✗ `PushApproved` (absence): 1 signal at minute 70 (must have none)",
        "result: no match",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn extreme_times_never_overflow() {
    for block in [SEC_7_1, SEC_7_3, SEC_7_6] {
        let c = compiled(block);
        let mut b = c.signals();
        for item in 0..c.len() {
            for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
                b.push(item, t, &[JoinValue::Text("x")]);
            }
        }
        let s = b.finish();
        for end in [i64::MIN, 0, i64::MAX] {
            let verdict = c.evaluate(&s, end);
            let lines = c.explain(&s, end, TimeFormat::Minutes);
            assert_eq!(lines.last().is_some_and(|l| l.starts_with("result: match")), verdict);
            c.explain(&s, end, TimeFormat::Rfc3339);
        }
    }
}

#[test]
fn compile_rejects_what_cannot_be_evaluated() {
    let r = load(&rule(
        "  - Group:
      - {ID: A, RuleID: Example.A, Absence: true}
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        "  []\n",
    ));
    let e = Correlation::compile(r.detection.as_ref().expect("block"));
    assert!(e.is_err_and(|e| e.to_string().contains("every item is an absence")));
}

// -- The normative algorithm of §6.4, written as plainly as the spec
// -- reads, to compare with the engine on random rules and signals.

/// A test signal: item, time in seconds, field, value.
type Sig = (usize, i64, &'static str, Option<&'static str>);

fn naive_values(s: &Sig, f: &str) -> Vec<Option<&'static str>> {
    if s.2 == f { vec![s.3] } else { vec![None] }
}

fn naive_evaluate(c: &Correlation, signals: &[Sig], t_end: i64) -> bool {
    let visible: Vec<Sig> = signals
        .iter()
        .copied()
        .filter(|s| t_end - c.lookback <= s.1 && s.1 <= t_end)
        .collect();
    if !c.field_matching {
        return naive_form(c, &visible, None);
    }
    let mut cands = Vec::new();
    for s in &visible {
        let step = &c.steps[s.0];
        if step.absent {
            continue;
        }
        for f in step.fields.iter() {
            for x in naive_values(s, f) {
                if !cands.contains(&x) {
                    cands.push(x);
                }
            }
        }
    }
    cands.into_iter().any(|v| naive_form(c, &visible, Some(v)))
}

fn naive_qualifies(c: &Correlation, s: &Sig, v: Option<Option<&str>>) -> bool {
    match v {
        None => true,
        Some(v) => c.steps[s.0].fields.iter().all(|f| naive_values(s, f).contains(&v)),
    }
}

fn naive_form(c: &Correlation, visible: &[Sig], v: Option<Option<&str>>) -> bool {
    let n = c.steps.len();
    let cs: Vec<Vec<i64>> = (0..n)
        .map(|k| {
            let mut t: Vec<i64> = visible
                .iter()
                .filter(|s| s.0 == k && naive_qualifies(c, s, v))
                .map(|s| s.1)
                .collect();
            t.sort_unstable();
            t
        })
        .collect();
    if let Some(min) = c.group_min {
        let mut satisfied = 0;
        for (k, s) in c.steps.iter().enumerate() {
            let cnt = cs[k].len();
            if s.absent {
                if cnt >= s.min {
                    return false;
                }
            } else if cnt >= s.min && s.max.is_none_or(|m| cnt <= m) {
                satisfied += 1;
            }
        }
        return satisfied >= min;
    }
    for (k, s) in c.steps.iter().enumerate() {
        if !s.absent && s.max.is_some_and(|m| cs[k].len() > m) {
            return false;
        }
    }
    let mut tau = vec![None; n];
    naive_place(c, &cs, &mut tau, 0, None)
}

fn naive_place(c: &Correlation, cs: &[Vec<i64>], tau: &mut [Option<i64>], k: usize, p: Option<usize>) -> bool {
    let n = c.steps.len();
    if k == n {
        return naive_absences_ok(c, cs, tau);
    }
    if c.steps[k].absent {
        return naive_place(c, cs, tau, k + 1, p);
    }
    let cand: Vec<i64> = match p {
        None => cs[k].clone(),
        Some(p) => cs[k].iter().copied().filter(|&t| Some(t) >= tau[p]).collect(),
    };
    for &t in cand.iter().skip(c.steps[k].min - 1) {
        if let Some(p) = p {
            let sum: i64 = c.frames[p..k].iter().sum();
            if t - tau[p].unwrap() > sum {
                break;
            }
        }
        tau[k] = Some(t);
        if naive_place(c, cs, tau, k + 1, Some(k)) {
            return true;
        }
    }
    tau[k] = None;
    false
}

fn naive_absences_ok(c: &Correlation, cs: &[Vec<i64>], tau: &[Option<i64>]) -> bool {
    let n = c.steps.len();
    for a in (0..n).filter(|&a| c.steps[a].absent) {
        let p = (0..a).rev().find(|&i| !c.steps[i].absent);
        let q = (a + 1..n).find(|&i| !c.steps[i].absent);
        let (lo, hi) = match (p, q) {
            (Some(p), Some(q)) => (tau[p].unwrap(), tau[q].unwrap()),
            (Some(p), None) => (tau[p].unwrap(), tau[p].unwrap() + c.frames[a - 1]),
            (None, Some(q)) => (tau[q].unwrap() - c.frames[a], tau[q].unwrap()),
            (None, None) => unreachable!(),
        };
        if cs[a].iter().filter(|&&t| lo <= t && t <= hi).count() >= c.steps[a].min {
            return false;
        }
    }
    true
}

/// A random Sequence or Group with its YAML block.
fn arb_block() -> impl Strategy<Value = String> {
    let step = (any::<bool>(), 1usize..=3, prop::option::of(0usize..=2));
    (
        any::<bool>(),
        prop::collection::vec(step, 1..=4),
        prop::collection::vec((1i64..=20, 0u8..=3), 3),
        15i64..=40,
        any::<bool>(),
        0u8..5,
    )
        .prop_map(|(sequence, steps, frames, lookback, group_min, mode)| {
            let mut steps = steps;
            if steps.iter().all(|s| s.0) {
                steps[0].0 = false;
            }
            let mut s = String::new();
            s.push_str(if sequence { "  - Sequence:\n" } else { "  - Group:\n" });
            for (i, (absent, min, extra)) in steps.iter().enumerate() {
                let max = extra
                    .map(|e| format!(", MaxMatchCount: {}", min + e))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "      - {{ID: S{i}, RuleID: Example.S{i}, MinMatchCount: {min}{max}, Absence: {absent}}}"
                );
            }
            if sequence && steps.len() > 1 {
                s.push_str("    Transitions:\n");
                for i in 0..steps.len() - 1 {
                    let (w, m) = frames.get(i).copied().unwrap_or((5, 0));
                    // 0: On f; 1: From f To f; 2: no Match; 3: On g.
                    let matching = match m {
                        0 => ", Match: [{On: f}]",
                        1 => ", Match: [{From: f, To: f}]",
                        3 => ", Match: [{On: g}]",
                        _ => "",
                    };
                    let _ = writeln!(
                        s,
                        "      - {{From: S{i}, To: S{}, WithinTimeFrameMinutes: {w}{matching}}}",
                        i + 1
                    );
                }
            }
            // 0: all on f; 1: item 0 on g; 2: item 0 unconstrained;
            // 3: item 0 on f and g; 4: no field matching.
            if !sequence && mode != 4 {
                s.push_str("    MatchCriteria:\n      c:\n");
                for i in 0..steps.len() {
                    let field = if mode == 1 && i == 0 { "g" } else { "f" };
                    if !(mode == 2 && i == 0) {
                        let _ = writeln!(s, "        - {{GroupID: S{i}, Match: {field}}}");
                    }
                }
                if mode == 3 {
                    s.push_str("      d:\n        - {GroupID: S0, Match: g}\n");
                }
            }
            if !sequence && group_min {
                s.push_str("    MinMatchCount: 1\n");
            }
            let _ = writeln!(s, "    LookbackWindowMinutes: {lookback}");
            s.push_str("    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}\n");
            s
        })
}

fn arb_signals() -> impl Strategy<Value = Vec<Sig>> {
    let field = prop::sample::select(vec!["f", "f", "f", "g"]);
    let value = prop::sample::select(vec![Some("a"), Some("a"), Some("b"), None]);
    prop::collection::vec((0usize..4, 0i64..40, field, value), 0..14)
        .prop_map(|v| v.into_iter().map(|(i, t, f, x)| (i, t * 60, f, x)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn engine_agrees_with_the_normative_algorithm(block in arb_block(), sigs in arb_signals(), end in 0i64..45) {
        let text = format!(
            "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}"
        );
        let r = load(&text);
        let Some(d) = r.detection.as_ref() else { return Ok(()) };
        let Ok(c) = Correlation::compile(d) else { return Ok(()) };
        let sigs: Vec<Sig> = sigs.into_iter().filter(|s| s.0 < c.len()).collect();
        let mut b = c.signals();
        for s in &sigs {
            b.push_field(s.0, s.1, s.2, s.3);
        }
        let signals = b.finish();
        let t_end = end * 60;
        let want = naive_evaluate(&c, &sigs, t_end);
        prop_assert_eq!(c.evaluate(&signals, t_end), want, "{}\n{:?}", block, sigs);
        let lines = c.explain(&signals, t_end, TimeFormat::Minutes);
        let last = lines.last().cloned().unwrap_or_default();
        prop_assert_eq!(last.starts_with("result: match"), want, "{:#?}", lines);
        prop_assert_eq!(c.matching_values(&signals, t_end).is_empty(), !want);
    }
}
