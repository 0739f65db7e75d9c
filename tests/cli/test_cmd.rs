//! `detect test`: states, exit codes and the report formats, as snapshots.

use crate::util::{detect, fixture, pat_project, redact, run, run_in};
use std::fmt::Write as _;

fn outcomes(args: &[&str]) -> (i32, String) {
    let (code, stdout, _) = run({
        let mut c = detect(&fixture("checks/test_outcomes"));
        // These reports are about the states; Python items stay `python rule`.
        c.args(["test", "--no-python"]).args(args);
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
    let (code, stdout, stderr) = run_in(&fixture("example-repo"), ["test"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// A project of 30 Python rules (2 tests each), 5 rules without tests, one
/// passing and one failing simple rule (2 tests each).
fn many_skipped() -> tempfile::TempDir {
    let (dir, rules) = pat_project();
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
        c.args(["test", "--no-python"]).args(args);
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

/// `many_skipped` plus a settings file turning every switch on, and a
/// disabled rule with an unknown key.
fn with_settings() -> tempfile::TempDir {
    let dir = many_skipped();
    std::fs::write(
        dir.path().join(".panther_settings.yml"),
        "skip_disabled_tests: true\nsort_test_results: true\nshow_failures_only: true\nignore_extra_keys: true\n",
    )
    .expect("test fixture");
    std::fs::write(
        dir.path().join("rules/disabled.yml"),
        "AnalysisType: rule\nRuleID: Many.Disabled\nEnabled: false\nLogTypes: [Custom.App]\nSeverity: Low\n\
         Extra: 1\nDetection:\n  - KeyPath: a\n    Condition: Exists\n\
         Tests:\n  - Name: disabled one\n    ExpectedResult: true\n    Log: {a: 1}\n",
    )
    .expect("test fixture");
    dir
}

fn json_in(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let (_, stdout, stderr) = run({
        let mut c = detect(dir);
        c.args(args).args(["--format", "json"]);
        c
    });
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"))
}

fn item<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn no_forms_turn_switches_off_and_the_last_one_wins() {
    let dir = with_settings();
    let d = dir.path();
    // Settings: the disabled rule is skipped, its extra key only a warning.
    let v = json_in(d, &["test"]);
    assert_eq!(item(&v, "Many.Disabled")["reason"], "disabled");
    let v = json_in(d, &["test", "--no-skip-disabled-tests"]);
    assert_eq!(item(&v, "Many.Disabled")["status"], "passed");
    let v = json_in(d, &["test", "--no-skip-disabled-tests", "--skip-disabled-tests"]);
    assert_eq!(item(&v, "Many.Disabled")["reason"], "disabled");
    let v = json_in(d, &["test", "--skip-disabled-tests", "--no-skip-disabled-tests"]);
    assert_eq!(item(&v, "Many.Disabled")["status"], "passed");
    let v = json_in(d, &["validate", "--no-ignore-extra-keys"]);
    assert_eq!(item(&v, "Many.Disabled")["status"], "invalid");
    let v = json_in(d, &["validate", "--no-ignore-extra-keys", "--ignore-extra-keys"]);
    assert_eq!(item(&v, "Many.Disabled")["status"], "passed");
    // Human switches: settings show failures only, passing first.
    let human = |args: &[&str]| {
        let (_, stdout, _) = run({
            let mut c = detect(d);
            c.arg("test").args(args);
            c
        });
        stdout
    };
    assert!(!human(&[]).contains("[PASS] one"));
    assert!(human(&["--no-show-failures-only"]).contains("[PASS] one"));
    assert!(!human(&["--no-show-failures-only", "--show-failures-only"]).contains("[PASS] one"));
    let order = |out: &str| {
        let at = |id: &str| out.lines().position(|l| l == id);
        (at("Many.Pass"), at("Many.Fail"))
    };
    let sorted = human(&["--no-show-failures-only"]);
    let (pass, fail) = order(&sorted);
    assert!(pass.is_some() && fail.is_some() && pass < fail, "{sorted}");
    let unsorted = human(&["--no-show-failures-only", "--no-sort-test-results"]);
    let (pass, fail) = order(&unsorted);
    // File order: fail.yml before pass.yml.
    assert!(pass.is_some() && fail.is_some() && fail < pass, "{unsorted}");
}

#[test]
fn zip_switches_have_no_forms_and_debug_is_global() {
    let dir = many_skipped();
    let d = dir.path();
    let zip = |args: &[&str]| {
        let out = tempfile::tempdir().expect("temp dir");
        let (code, stdout, stderr) = run({
            let mut c = detect(d);
            c.arg("zip").args(args).arg("--out").arg(out.path());
            c
        });
        (code, format!("{stdout}{stderr}"))
    };
    // Many.Fail has a failing test: with tests the bundle is refused.
    assert_eq!(zip(&["--skip-tests"]).0, 0);
    assert_eq!(zip(&["--skip-tests", "--no-skip-tests"]).0, 1);
    assert_eq!(zip(&["--no-skip-tests", "--skip-tests"]).0, 0);
    assert_eq!(
        zip(&["--skip-tests", "--auto-disable-base", "--no-auto-disable-base"]).0,
        0
    );
    for args in [&["--debug", "validate"][..], &["validate", "--debug"]] {
        let (code, stdout, stderr) = run_in(d, args);
        assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    }
}

#[test]
fn pat_commands_detect_lacks_point_to_what_does_the_job() {
    let dir = tempfile::tempdir().unwrap();
    for (cmd, want) in [
        ("check-packs", "`check-packs` is part of `detect validate`"),
        ("debug", "`debug` is part of `detect test`"),
        ("test-lookup-table", "`test-lookup-table` is part of `detect validate`"),
        ("init", "`init` is not needed"),
        ("release", "`detect zip"),
        ("publish", "`detect zip"),
        ("update-custom-schemas", "not part of `detect`"),
        ("benchmark", "not part of `detect`"),
        ("enrich-test-data", "not part of `detect`"),
        ("update", "not part of `detect`"),
        ("install", "not part of `detect`"),
        ("explore", "not part of `detect`"),
        ("merge", "not part of `detect`"),
        ("migrate", "not part of `detect`"),
    ] {
        let (code, stdout, stderr) = run_in(dir.path(), ["--debug", cmd, "--path", "."]);
        assert_eq!((code, stdout.as_str()), (2, ""), "{cmd}");
        assert_eq!(stderr.lines().count(), 1, "{cmd}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(want),
            "{cmd}: {stderr}"
        );
    }
}

#[test]
fn help_lists_environment_and_exit_codes() {
    for args in [
        &["--help"][..],
        &["test", "--help"],
        &["validate", "-h"],
        &["zip", "--help"],
    ] {
        let (code, stdout, _) = run_in(&crate::util::root(), args);
        assert_eq!(code, 0);
        for want in [
            "Environment (",
            "PANTHER_API_TOKEN",
            "DETECT_FORMAT",
            "Exit codes:",
            "3  remote failure",
        ] {
            assert!(stdout.contains(want), "{args:?} lacks {want}: {stdout}");
        }
    }
}

#[test]
fn json_report_carries_the_explanation_of_failing_tests() {
    let (_, out) = outcomes(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tests = &item(&v, "Outcomes.Failing")["tests"];
    let failing = tests
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "expects the wrong result"))
        .unwrap();
    // The tree printed in the human report (see its snapshot), as data.
    assert_eq!(
        failing["explain"],
        serde_json::json!([
            {"text": "Detection (all of)", "result": false, "children": [
                {"text": "user.roles Contains \"admin\" (saw [\"dev\"])", "result": false, "children": []},
                {"text": "src_ip IsIPAddressPublic (saw \"8.8.8.8\")", "result": true, "children": []},
            ]},
        ])
    );
    // Passing tests carry none without --explain.
    let passing = tests
        .as_array()
        .and_then(|t| t.iter().find(|t| t["status"] == "passed"))
        .unwrap();
    assert!(passing.get("explain").is_none(), "{passing}");
}

#[test]
fn network_only_commands_take_no_paths_or_filters() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["check-connection", "delete"] {
        let (code, help, _) = run_in(dir.path(), [cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(
            help.contains("--config <FILE>") && help.contains("--api-host"),
            "{cmd}: {help}"
        );
        // The flags, before the environment section (which names every variable).
        let flags = help.split("Environment (").next().unwrap_or_default();
        for absent in [
            "[PATHS]",
            "--filter",
            "--ignore-files",
            "--valid-table-names",
            "--ignore-table-names",
        ] {
            assert!(!flags.contains(absent), "{cmd} lists {absent}: {help}");
        }
        for args in [&["."][..], &["--filter", "Severity=High"], &["--ignore-table-names"]] {
            let (code, _, err) = run({
                let mut c = detect(dir.path());
                c.arg(cmd).args(args);
                c
            });
            assert_eq!(code, 2, "{cmd} {args:?}: {err}");
        }
    }
}

#[test]
fn no_ignore_table_names_overrides_the_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries");
    std::fs::create_dir_all(&queries).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    std::fs::write(dir.path().join(".panther_settings.yml"), "ignore_table_names: true\n").unwrap();
    std::fs::write(
        queries.join("q.yml"),
        "AnalysisType: scheduled_query\nQueryName: Q.One\nEnabled: true\nQuery: SELECT 1 FROM mytable\n\
         Schedule:\n  RateMinutes: 5\n  TimeoutMinutes: 1\n",
    )
    .unwrap();
    let validate = |args: &[&str]| {
        let (code, stdout, _) = run({
            let mut c = detect(dir.path());
            c.arg("validate").args(args);
            c
        });
        (code, stdout.contains("error[invalid-table-name]"))
    };
    assert_eq!(validate(&[]), (0, false));
    assert_eq!(validate(&["--no-ignore-table-names"]), (1, true));
    assert_eq!(
        validate(&["--no-ignore-table-names", "--ignore-table-names"]),
        (0, false)
    );
    assert_eq!(
        validate(&["--ignore-table-names", "--no-ignore-table-names"]),
        (1, true)
    );
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
    let (dir, rules) = pat_project();
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
    let (code, stdout, stderr) = run_in(dir.path(), ["test", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let located = |file: &str| crate::util::located(&v, file);
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

/// One enabled and one disabled rule, each with a passing test.
fn enabled_and_disabled() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("test fixture");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("test fixture");
    let rule = |id: &str, enabled: bool| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: {enabled}\nLogTypes: [Custom.App]\nSeverity: Low\n\
             Detection:\n  - KeyPath: a\n    Condition: Exists\n\
             Tests:\n  - Name: has a\n    ExpectedResult: true\n    Log: {{a: 1}}\n"
        )
    };
    std::fs::write(rules.join("on.yml"), rule("Env.On", true)).expect("test fixture");
    std::fs::write(rules.join("off.yml"), rule("Env.Off", false)).expect("test fixture");
    dir
}

/// `test` and `zip` read `PANTHER_SKIP_DISABLED_TESTS` with one rule for
/// booleans: `on` skips disabled detections exactly as `true` does, `off`
/// as `false`; anything else is a configuration error naming the variable.
#[test]
fn skip_disabled_tests_from_the_environment_means_the_same_to_test_and_zip() {
    let dir = enabled_and_disabled();
    let d = dir.path();
    let out = d.join("bundle");
    let out = out.to_string_lossy();
    let cases: &[(&str, bool)] = &[
        ("true", true),
        ("on", true),
        ("ON", true),
        ("1", true),
        ("yes", true),
        ("y", true),
        ("false", false),
        ("off", false),
        ("0", false),
        ("no", false),
    ];
    for command in [vec!["test"], vec!["zip", "--out", &out]] {
        for (value, skips) in cases {
            let (code, stdout, stderr) = run({
                let mut c = detect(d);
                c.args(&command)
                    .args(["--format", "json"])
                    .env("PANTHER_SKIP_DISABLED_TESTS", value);
                c
            });
            assert_eq!(code, 0, "{command:?} {value}: {stderr}");
            let v: serde_json::Value =
                serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
            let off = item(&v, "Env.Off");
            if *skips {
                assert_eq!(off["status"], "skipped", "{command:?} {value}: {off}");
                assert_eq!(off["reason"], "disabled", "{command:?} {value}: {off}");
            } else {
                assert_eq!(off["status"], "passed", "{command:?} {value}: {off}");
            }
            assert_eq!(item(&v, "Env.On")["status"], "passed", "{command:?} {value}");
        }
        let (code, _, stderr) = run({
            let mut c = detect(d);
            c.args(&command).env("PANTHER_SKIP_DISABLED_TESTS", "maybe");
            c
        });
        assert_eq!(code, 2, "{command:?}: {stderr}");
        assert!(
            stderr.contains("PANTHER_SKIP_DISABLED_TESTS=maybe is not a boolean"),
            "{command:?}: {stderr}"
        );
        // The flag still wins over the variable.
        let (_, stdout, _) = run({
            let mut c = detect(d);
            c.args(&command)
                .args(["--format", "json", "--no-skip-disabled-tests"])
                .env("PANTHER_SKIP_DISABLED_TESTS", "on");
            c
        });
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(item(&v, "Env.Off")["status"], "passed", "{command:?}");
    }
}

/// `validate` and `test` set aside the text of every file that loads
/// cleanly; a diagnostic found later (a duplicate ID across two clean files,
/// a failed test) still quotes the line it points at.
#[test]
fn diagnostics_found_after_loading_quote_their_source_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let rule = "AnalysisType: rule\nRuleID: Same.Id\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: High\nDetection:\n  - KeyPath: eventName\n    Condition: Equals\n    Value: ConsoleLogin\nTests:\n  - Name: matches\n    ExpectedResult: false\n    Log: {eventName: ConsoleLogin}\n";
    for name in ["a", "b"] {
        std::fs::write(dir.path().join(format!("rules/{name}.yml")), rule).unwrap();
    }
    let (code, out, _) = run({
        let mut c = detect(dir.path());
        c.arg("validate").arg(".");
        c
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rules/b.yml:2:9: error[duplicate-id]"), "{out}");
    assert!(out.contains("2 | RuleID: Same.Id\n  |         ^^^^^^^"), "{out}");
    let (code, out, _) = run({
        let mut c = detect(dir.path());
        c.arg("test").arg(".");
        c
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rules/a.yml:11:5: error[test-failed]"), "{out}");
    assert!(out.contains("11 |   - Name: matches\n   |     ^"), "{out}");
    assert!(out.contains("2 | RuleID: Same.Id"), "{out}");
}
