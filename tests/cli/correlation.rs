//! `detect test` on correlation rules: every correlation test of the shared
//! corpus reproduces its `ExpectedResult` (correlation-rules §9), the
//! fixture repository passes, and the usual selection flags work for
//! correlation rules too.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{corpus, detect, fixture, redact, run, run_in};

/// The corpus folders holding correlation rules, each loaded as one set,
/// with the exit code `detect test` must give.
const SETS: &[(&str, i32)] = &[
    ("panther-analysis/correlation", 0),
    ("panther-analysis/history/correlation", 0),
    ("pat-fixtures/correlation-unit-tests", 1),
    ("pat-fixtures/check-packs/missing-dependencies/correlation_rules", 0),
];

/// The one test that fails on purpose: two of the seven signals its first
/// step needs (correlation-rules §9).
const FAILS_ON_PURPOSE: (&str, &str) = ("pat-fixtures/correlation-unit-tests/fails/fails1.yml", "something");

/// Runs `detect test` with `args` in `dir` and parses the JSON report.
fn test_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let (code, stdout, stderr) = run({
        let mut c = detect(dir);
        c.arg("test").args(args).args(["--format", "json"]);
        c
    });
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{}: {e}\n{stdout}\n{stderr}", dir.display()));
    (code, v)
}

fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn every_corpus_correlation_test_reproduces_its_expected_result() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("expectations.json")).unwrap();
    let exp: Value = serde_json::from_str(&text).unwrap();
    let files = exp["files"].as_array().unwrap();
    let mut reproduced: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for &(set, want_code) in SETS {
        let (code, report) = test_json(&corpus.join(set), &[".", "--all-dirs"]);
        assert_eq!(code, want_code, "{set}: exit code");
        let items: BTreeMap<&str, &Value> = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["file"].as_str().unwrap(), i))
            .collect();
        for f in files.iter().filter(|f| f["kind"] == "correlation_rule") {
            let path = f["path"].as_str().unwrap();
            let Some(rel) = path.strip_prefix(&format!("{set}/")) else {
                continue;
            };
            let Some(item) = items.get(rel) else {
                problems.push(format!("{path}: not reported"));
                continue;
            };
            assert_eq!(item["type"], "correlation_rule", "{path}");
            for t in f["tests"].as_array().unwrap() {
                let name = t["name"].as_str().unwrap();
                let expected = t["expected_result"].as_bool().unwrap();
                let Some(got) = item["tests"].as_array().unwrap().iter().find(|r| r["name"] == name) else {
                    problems.push(format!("{path}: test `{name}` not reported"));
                    continue;
                };
                let (status, matched) = if (path, name) == FAILS_ON_PURPOSE {
                    ("failed", !expected)
                } else {
                    ("passed", expected)
                };
                if got["status"] != status || got["matched"] != matched || got["expected"] != expected {
                    problems.push(format!("{path}: test `{name}`: {got}"));
                    continue;
                }
                assert_eq!(got["functions"], serde_json::json!([]), "{path}: `{name}`");
                *reproduced.entry(set).or_default() += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let counts: Vec<(&str, usize)> = reproduced.into_iter().collect();
    assert_eq!(
        counts,
        [
            ("panther-analysis/correlation", 91),
            ("panther-analysis/history/correlation", 2),
            ("pat-fixtures/check-packs/missing-dependencies/correlation_rules", 2),
            ("pat-fixtures/correlation-unit-tests", 2),
        ]
    );
}

#[test]
fn the_failing_pat_fixture_is_reported_and_explained() {
    let Some(corpus) = corpus() else { return };
    let (code, report) = test_json(
        &corpus.join("pat-fixtures/correlation-unit-tests"),
        &[".", "--all-dirs"],
    );
    assert_eq!(code, 1);
    let failing = item(&report, "My.Failing.Correlation.Rule");
    assert_eq!(failing["status"], "failed");
    let t = &failing["tests"][0];
    assert_eq!((&t["status"], &t["matched"]), (&"failed".into(), &false.into()));
    let diag = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "test-failed")
        .unwrap();
    assert_eq!(
        (&diag["file"], &diag["line"], &diag["column"], &diag["message"]),
        (
            &"fails/fails1.yml".into(),
            &19.into(),
            &5.into(),
            &"test 'something': expected true, the detection did not match".into()
        )
    );
    // pass1.yml counts its three signals at minute 4 separately.
    let passing = item(&report, "My.Correlation.Rule");
    assert_eq!(passing["status"], "passed");
    // The human report explains the failing test, and only that one.
    let (_, stdout, _) = run_in(
        &corpus.join("pat-fixtures/correlation-unit-tests"),
        ["test", ".", "--all-dirs"],
    );
    let explained: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "My.Failing.Correlation.Rule")
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(explained.contains(&"✗ `First` has 2 signals, needs 7"), "{stdout}");
    assert_eq!(explained.last(), Some(&"result: no match"), "{stdout}");
    assert_eq!(stdout.matches("result: ").count(), 1, "{stdout}");
}

#[test]
fn fixture_repository_passes() {
    let (code, report) = test_json(&fixture("correlation"), &[]);
    assert_eq!(code, 0, "{report:#}");
    for (id, tests) in [
        ("Fixture.Spray.THEN.Login.THEN.Token", 5),
        ("Fixture.Login.AND.Token.WITHOUT.MFAReset", 6),
    ] {
        let i = item(&report, id);
        assert_eq!(i["status"], "passed", "{i:#}");
        let t = i["tests"].as_array().unwrap();
        assert_eq!(t.len(), tests, "{id}");
        assert!(
            t.iter()
                .all(|t| t["status"] == "passed" && t["matched"] == t["expected"])
        );
    }
    let s = &report["summary"];
    assert_eq!((s["passed"].as_u64(), s["failed"].as_u64()), (Some(6), Some(0)));
}

#[test]
fn explain_shows_the_evaluation() {
    let (code, stdout, _) = run({
        let mut c = detect(&fixture("correlation"));
        c.args([
            "test",
            "correlation_rules/spray_then_token.yml",
            "--explain",
            "--test-names",
            "five failures, a success, then a token",
            "--test-names",
            "the token comes too late",
        ]);
        c
    });
    assert_eq!(code, 0);
    insta::assert_snapshot!(redact(&stdout));
}

#[test]
fn example_repository_correlation_rule_passes() {
    let (code, report) = test_json(&fixture("example-repo"), &[]);
    assert_eq!(code, 0, "{report:#}");
    let i = item(&report, "Okta.Admin.Login.THEN.AWS.RootLogin");
    assert_eq!(i["status"], "passed");
    assert_eq!(i["tests"].as_array().unwrap().len(), 3);
}

#[test]
fn selection_flags_apply_to_correlation_rules() {
    let dir = fixture("correlation");
    let (_, report) = test_json(&dir, &["--test-names", "an MFA reset vetoes"]);
    let group = item(&report, "Fixture.Login.AND.Token.WITHOUT.MFAReset");
    assert_eq!(group["tests"].as_array().unwrap().len(), 1);
    assert_eq!(group["status"], "passed");
    let sequence = item(&report, "Fixture.Spray.THEN.Login.THEN.Token");
    assert_eq!(
        (&sequence["status"], &sequence["reason"]),
        (&"skipped".into(), &"no matching test names".into())
    );
    let (code, report) = test_json(&dir, &["--minimum-tests", "6"]);
    assert_eq!(code, 1);
    let sequence = item(&report, "Fixture.Spray.THEN.Login.THEN.Token");
    assert_eq!(sequence["status"], "failed", "five tests are fewer than six");
    assert_eq!(
        item(&report, "Fixture.Login.AND.Token.WITHOUT.MFAReset")["status"],
        "passed"
    );
}

#[test]
fn a_correlation_rule_without_tests_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    std::fs::create_dir(dir.path().join("correlation_rules")).unwrap();
    std::fs::write(
        dir.path().join("correlation_rules/untested.yml"),
        "AnalysisType: correlation_rule
RuleID: Untested
Enabled: true
Severity: Low
Detection:
  - Group:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
    LookbackWindowMinutes: 90
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
",
    )
    .unwrap();
    let (code, report) = test_json(dir.path(), &[]);
    assert_eq!(code, 0);
    let i = item(&report, "Untested");
    assert_eq!((&i["status"], &i["reason"]), (&"skipped".into(), &"no tests".into()));
    let (code, report) = test_json(dir.path(), &["--strict"]);
    assert_eq!(code, 1);
    let i = item(&report, "Untested");
    assert_eq!((&i["status"], &i["reason"]), (&"failed".into(), &"no tests".into()));
}
