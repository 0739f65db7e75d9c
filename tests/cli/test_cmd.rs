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

/// A project of 30 Python rules (2 tests each), 5 rules without tests, one
/// passing and one failing simple rule (2 tests each).
fn many_skipped() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("test fixture");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("test fixture");
    std::fs::write(dir.path().join(".pat-root"), "").expect("test fixture");
    let head =
        |id: &str| format!("AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [Custom.App]\nSeverity: Low\n");
    let tests = "Tests:\n  - Name: one\n    ExpectedResult: true\n    Log: {a: 1}\n  - Name: two\n    ExpectedResult: false\n    Log: {a: 2}\n";
    for i in 0..30 {
        std::fs::write(
            rules.join(format!("py{i:02}.py")),
            "def rule(event):\n    return True\n",
        )
        .expect("test fixture");
        let y = format!("{}Filename: py{i:02}.py\n{tests}", head(&format!("Many.Python{i:02}")));
        std::fs::write(rules.join(format!("py{i:02}.yml")), y).expect("test fixture");
    }
    let detection = "Detection:\n  - KeyPath: a\n    Condition: Equals\n    Value: 1\n";
    for i in 0..5 {
        let y = format!("{}{detection}", head(&format!("Many.NoTests{i}")));
        std::fs::write(rules.join(format!("none{i}.yml")), y).expect("test fixture");
    }
    std::fs::write(
        rules.join("pass.yml"),
        format!("{}{detection}{tests}", head("Many.Pass")),
    )
    .expect("test fixture");
    // `two` expects false but the event matches.
    let failing = tests.replace("{a: 2}", "{a: 1}");
    std::fs::write(
        rules.join("fail.yml"),
        format!("{}{detection}{failing}", head("Many.Fail")),
    )
    .expect("test fixture");
    dir
}

fn many(args: &[&str]) -> (i32, Vec<String>, String) {
    let dir = many_skipped();
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.arg("test").args(args);
        c
    });
    (code, redact(&stdout).lines().map(str::to_owned).collect(), stderr)
}

const MANY_SUMMARY: &str =
    "Passed: 1  Failed: 1  Invalid: 0  Skipped: 35  (total 37, 64 tests: 3 passed, 1 failed, 60 skipped, [ms] ms)";

#[test]
fn quiet_prints_errors_failures_and_the_summary_only() {
    let (code, lines, _) = many(&["-q"]);
    assert_eq!(code, 1);
    let want = [
        "rules/fail.yml:14:5: error[test-failed]: test 'two': expected false, the detection matched",
        "Skipped: 35 items (30 python rule, 5 no tests; -v lists them)",
        "Failed:",
        "  Many.Fail (rules/fail.yml): two",
        MANY_SUMMARY,
    ];
    assert_eq!(lines, want);
}

#[test]
fn skipped_items_are_counted_by_default_and_listed_with_verbose() {
    let (_, lines, _) = many(&[]);
    assert!(!lines.iter().any(|l| l.contains("[SKIP]")), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l == "Skipped: 35 items (30 python rule, 5 no tests; -v lists them)")
    );
    assert!(lines.iter().any(|l| l == "\t[FAIL] two"), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "Many.Pass"), "{lines:#?}");
    assert_eq!(lines.last().map(String::as_str), Some(MANY_SUMMARY));
    assert!(lines.len() < 40, "{lines:#?}");
    let (_, lines, _) = many(&["-v"]);
    assert_eq!(lines.iter().filter(|l| l.contains("[SKIP]")).count(), 60);
    assert_eq!(
        lines.iter().filter(|l| l.contains(": skipped: python rule")).count(),
        30
    );
    assert_eq!(lines.iter().filter(|l| l.contains(": skipped: no tests")).count(), 5);
}

#[test]
fn show_failures_only_prints_failing_tests_only() {
    let (_, lines, _) = many(&["--show-failures-only"]);
    assert!(
        !lines.iter().any(|l| l.contains("[PASS] one") || l.contains("[SKIP]")),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("Skipped:")), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "\t[FAIL] two"), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "Many.Fail"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l == "Many.Pass"), "{lines:#?}");
    assert_eq!(lines.last().map(String::as_str), Some(MANY_SUMMARY));
}

#[test]
fn json_summary_counts_tests_and_human_output_file_keeps_the_summary_on_stderr() {
    let (_, lines, _) = many(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&lines.join("\n")).unwrap();
    assert_eq!(
        v["summary"]["tests"],
        serde_json::json!({"total": 64, "passed": 3, "failed": 1, "skipped": 60})
    );
    let dir = many_skipped();
    let report = dir.path().join("report.txt");
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.args(["test", "--output"]).arg(&report);
        c
    });
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(redact(&stderr).trim_end(), MANY_SUMMARY);
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.contains("\t[FAIL] two"), "{written}");
}
