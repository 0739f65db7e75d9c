//! `detect test`: states, exit codes and the report formats, as snapshots.

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
