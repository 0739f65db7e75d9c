//! `detect test`: states, exit codes and the report formats, as snapshots.

use std::fmt::Write as _;

use crate::util::{detect, fixture, redact, run};

fn outcomes(args: &[&str]) -> (i32, String) {
    let (code, stdout, _) = run({
        let mut c = detect(&fixture("checks/test_outcomes"));
        c.arg("test").args(args);
        c
    });
    (code, redact(&stdout))
}

#[test]
fn human_report_lists_every_state() {
    let (code, out) = outcomes(&[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn json_report_follows_the_spec_shape() {
    let (code, out) = outcomes(&["--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["summary"];
    assert_eq!(
        (
            s["total"].as_u64(),
            s["passed"].as_u64(),
            s["failed"].as_u64(),
            s["invalid"].as_u64(),
            s["skipped"].as_u64()
        ),
        (Some(5), Some(1), Some(1), Some(1), Some(2))
    );
    insta::assert_snapshot!(out);
}

#[test]
fn junit_report() {
    let (_, out) = outcomes(&["--format", "junit"]);
    insta::assert_snapshot!(out);
}

#[test]
fn strict_turns_skips_into_failures_and_keeps_the_reason() {
    let (code, out) = outcomes(&["--strict", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let python = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "Outcomes.Python")
        .unwrap();
    assert_eq!(
        (python["status"].as_str(), python["reason"].as_str()),
        (Some("failed"), Some("python rule"))
    );
}

#[test]
fn test_names_and_minimum_tests() {
    let (_, out) = outcomes(&["--test-names", "read", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = v["items"].as_array().unwrap();
    let failing = items.iter().find(|i| i["id"] == "Outcomes.Failing").unwrap();
    assert_eq!(failing["reason"], "no matching test names");
    let passing = items.iter().find(|i| i["id"] == "Outcomes.Passing").unwrap();
    assert_eq!(passing["tests"].as_array().unwrap().len(), 1);
    let (_, out) = outcomes(&["--minimum-tests", "3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let passing = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "Outcomes.Passing")
        .unwrap();
    assert_eq!(passing["status"], "failed");
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "insufficient-tests")
    );
}

#[test]
fn example_repo_passes() {
    let (code, stdout, stderr) = run({
        let mut c = detect(&fixture("example-repo"));
        c.arg("test");
        c
    });
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// A rule whose `Detection` is `e0` (one condition) and `e1`..`e{levels}`,
/// each `Any` of ten aliases of the one before, then `tests` tests.
fn aliased_rule(id: &str, levels: usize, tests: usize) -> String {
    let mut t = format!(
        "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - &e0 {{KeyPath: a, Condition: Equals, Value: 1}}\n"
    );
    for i in 1..=levels {
        let _ = writeln!(
            t,
            "  - &e{i} {{Any: [{}]}}",
            vec![format!("*e{}", i - 1); 10].join(", ")
        );
    }
    t += "Tests:\n";
    for i in 0..tests {
        let _ = writeln!(t, "  - {{Name: t{i}, ExpectedResult: false, Log: {{a: 2}}}}");
    }
    t
}

#[test]
fn aliased_expressions_and_many_tests_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    // e4 expands to 11,111 expressions; with e0..e3 (1,234) the list passes
    // 10,000 at e4, line 7 + 4.
    std::fs::write(rules.join("big_expr.yml"), aliased_rule("Big.Expr", 4, 3)).unwrap();
    // 1,234 expressions times 1,000 tests: more than 1,000,000 evaluations.
    std::fs::write(rules.join("many_tests.yml"), aliased_rule("Many.Tests", 3, 1000)).unwrap();
    // The same expressions with 800 tests: 987,200 evaluations, run.
    std::fs::write(rules.join("fits.yml"), aliased_rule("Fits", 3, 800)).unwrap();
    std::fs::write(
        rules.join("good.yml"),
        "AnalysisType: rule\nRuleID: Good.Rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {KeyPath: a, Condition: Equals, Value: 1}\nTests:\n  - {Name: t, ExpectedResult: true, Log: {a: 1}}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.args(["test", "--format", "json"]);
        c
    });
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let located = |file: &str| -> Vec<(String, u64, u64)> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["file"] == file)
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_owned(),
                    d["line"].as_u64().unwrap(),
                    d["column"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        located("rules/big_expr.yml"),
        [("invalid-expression".to_owned(), 11, 5)]
    );
    // `Tests:` is line 7 + 3 + 1.
    assert_eq!(located("rules/many_tests.yml"), [("invalid-value".to_owned(), 11, 1)]);
    assert!(located("rules/fits.yml").is_empty());
    assert!(located("rules/good.yml").is_empty());
    let s = &v["summary"];
    assert_eq!((s["passed"].as_u64(), s["invalid"].as_u64()), (Some(2), Some(2)), "{s}");
}
