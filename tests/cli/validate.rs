//! `detect validate` on fixture repositories.

use crate::util::{detect, fixture, located, pat_project, redact, run, run_in};

#[test]
fn example_repo_is_valid() {
    let (code, stdout, stderr) = run_in(&fixture("example-repo"), ["validate"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    insta::assert_snapshot!(redact(&stdout));
}

#[test]
fn ten_defects_give_ten_diagnostics_on_their_lines() {
    let (code, stdout, _) = run_in(&fixture("checks/ten_defects"), ["validate", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let got: Vec<(u64, String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["line"].as_u64().unwrap(), d["code"].as_str().unwrap().to_owned()))
        .collect();
    let want = [
        (2, "invalid-id"),
        (3, "wrong-type"),
        (6, "duplicate-value"),
        (8, "unknown-key"),
        (9, "dedup-period"),
        (10, "invalid-value"),
        (13, "unknown-condition"),
        (15, "invalid-key-path"),
        (17, "invalid-alert-title"),
        (22, "unknown-key"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(l, c)| (*l, (*c).to_owned())).collect();
    assert_eq!(got, want);
    let (_, human, _) = run_in(&fixture("checks/ten_defects"), ["validate"]);
    insta::assert_snapshot!(redact(&human));
}

#[test]
fn hostile_files_each_get_a_diagnostic_and_the_run_goes_on() {
    let (dir, rules) = pat_project();
    std::fs::write(rules.join("empty.yml"), "").unwrap();
    std::fs::write(rules.join("binary.yml"), [0u8, 159, 146, 150, 0xff, 0, 1, 2]).unwrap();
    std::fs::write(rules.join("malformed.yml"), "AnalysisType: rule\nRuleID: [unclosed\n").unwrap();
    std::fs::write(rules.join("deep.yml"), "[".repeat(10_000)).unwrap();
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        let line = format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
        bomb += &line;
    }
    std::fs::write(rules.join("bomb.yml"), bomb).unwrap();
    let mut big = String::from(
        "AnalysisType: rule\nRuleID: Big.Rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\nDescription: \"",
    );
    big.push_str(&"x".repeat(50 << 20));
    big.push_str("\"\n");
    std::fs::write(rules.join("big.yml"), big).unwrap();
    std::fs::write(rules.join("huge.yml"), vec![b'#'; 70 << 20]).unwrap();
    std::fs::write(
        rules.join("good.yml"),
        "AnalysisType: rule\nRuleID: Good.Rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let codes = |file: &str| -> Vec<String> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["file"] == file)
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes("rules/empty.yml"), ["empty-file"]);
    for f in ["binary", "malformed", "deep", "bomb", "huge"] {
        assert_eq!(codes(&format!("rules/{f}.yml")), ["yaml-syntax"], "{f}");
    }
    assert!(codes("rules/big.yml").is_empty());
    assert!(codes("rules/good.yml").is_empty());
    assert_eq!(v["summary"]["passed"].as_u64(), Some(2));
    assert_eq!(v["summary"]["invalid"].as_u64(), Some(5));
}

#[test]
fn github_and_sarif_formats() {
    let out = |format: &str| {
        let (code, stdout, _) = run_in(&fixture("checks/ten_defects"), ["validate", "--format", format]);
        assert_eq!(code, 1);
        redact(&stdout)
    };
    insta::assert_snapshot!("github", out("github"));
    let sarif: serde_json::Value = serde_json::from_str(&out("sarif")).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    assert_eq!(results[0]["ruleId"], "invalid-id");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
}

#[test]
fn report_is_limited_to_files_given_while_the_project_loads() {
    let (dir, _) = pat_project();
    let rule = |id: &str| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {{Condition: AlwaysTrue}}\n"
        )
    };
    std::fs::write(dir.path().join("rules/a.yml"), rule("Same.Id")).unwrap();
    std::fs::write(dir.path().join("rules/b.yml"), rule("Same.Id")).unwrap();
    std::fs::write(dir.path().join("rules/c.yml"), "AnalysisType: rule\nRuleID: Bad\n").unwrap();
    let (code, stdout, _) = run_in(dir.path(), ["validate", "rules/b.yml", "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let files: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["rules/b.yml"]);
    assert_eq!(v["diagnostics"][0]["code"], "duplicate-id");
    assert_eq!(v["summary"]["total"].as_u64(), Some(1));
}

#[test]
fn deny_warnings_and_filters() {
    let dir = fixture("example-repo");
    let (code, _, _) = run_in(&dir, ["validate", "--deny-warnings"]);
    assert_eq!(code, 0, "info diagnostics never fail a run");
    let (code, stdout, _) = run_in(&dir, ["validate", "--filter", "Severity=high", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["AWS.Console.RootLogin", "AWS.S3.PublicACL"]);
    let (code, _, stderr) = run_in(&dir, ["validate", "--filter", "Sevrity=High"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `Severity`"), "{stderr}");
}

#[test]
fn diagnostics_on_one_huge_line_print_a_bounded_excerpt() {
    // 100 unknown keys in a flow mapping on one 10 MB line: each
    // diagnostic shows a window of the line, and its caret line is no
    // longer than that window.
    let (dir, rules) = pat_project();
    let filler = "x".repeat(100_000);
    let mut line = String::from(
        "{AnalysisType: rule, RuleID: Huge.Line, Enabled: true, LogTypes: [AWS.CloudTrail], Severity: Low, Detection: [{KeyPath: a, Condition: Exists}]",
    );
    for i in 0..100 {
        line.push_str(", Unknown");
        line.push_str(&i.to_string());
        line.push_str(": ");
        line.push_str(&filler);
    }
    line.push_str("}\n");
    assert!(line.len() > 10_000_000);
    std::fs::write(rules.join("huge.yml"), &line).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), ["validate"]);
    assert_eq!(code, 1, "{stderr}");
    let count = stdout.matches("[unknown-key]").count();
    assert_eq!(count, 100, "{}", &stdout[..stdout.len().min(2000)]);
    assert!(stdout.len() < 1_000_000, "printed {} bytes", stdout.len());
    // Every caret line stays within the excerpt (200 characters and the cut marks).
    let longest = stdout.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest < 400, "longest line {longest}");
}

#[test]
fn control_characters_from_files_reach_the_terminal_escaped() {
    // A value spelled with YAML escapes (quoted in a message) and a raw
    // escape byte on the first line (the parser's error shows that line):
    // neither may clear the screen or start a fake line.
    let (dir, rules) = pat_project();
    std::fs::write(
        rules.join("quoted.yml"),
        "AnalysisType: rule\nRuleID: Esc.Quoted\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n\
         Detection:\n  - KeyPath: a\n    Condition: \"Equalz\\e[2J\\rPassed: 99\"\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("raw.yml"),
        "# Equalz\x1b[2J\rPassed: 99\nAnalysisType: rule\nRuleID: Esc.Raw\n",
    )
    .unwrap();
    // A test name, printed in test blocks and the list of failed items.
    std::fs::write(
        rules.join("named.yml"),
        "AnalysisType: rule\nRuleID: Esc.Named\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n\
         Detection:\n  - KeyPath: a\n    Condition: Exists\n\
         Tests:\n  - Name: \"t\\e[2J\\rPassed: 99\"\n    ExpectedResult: false\n    Log: {a: 1}\n",
    )
    .unwrap();
    for (cmd, format) in [
        ("validate", "human"),
        ("validate", "github"),
        ("test", "human"),
        ("test", "github"),
    ] {
        let (code, stdout, stderr) = run_in(dir.path(), [cmd, "--format", format]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(
            !stdout.contains(['\x1b', '\r']),
            "{format}: raw control characters in {stdout:?}"
        );
        assert!(
            !stdout.lines().any(|l| l.starts_with("Passed: 99")),
            "{format}: {stdout}"
        );
        if (cmd, format) == ("test", "human") {
            assert!(stdout.contains("\t[FAIL] t\\x1b[2J\\rPassed: 99"), "{stdout}");
            assert!(
                stdout.contains("Esc.Named (rules/named.yml): t\\x1b[2J\\rPassed: 99"),
                "{stdout}"
            );
        }
        assert!(stdout.contains("\\x1b[2J\\rPassed: 99"), "{format}: {stdout}");
        assert!(
            stdout.contains("quoted.yml") && stdout.contains("raw.yml"),
            "{format}: {stdout}"
        );
    }
}

#[test]
fn sarif_locations_are_relative_to_the_project_root() {
    // Run from a sub-folder: the URI is still relative to the project root,
    // which `%SRCROOT%` maps to; the tool's URI is the tool's own.
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("rules").join("team a");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    std::fs::write(sub.join("bad.yml"), "AnalysisType: rule\nRuleID: Bad\nEnabled: maybe\n").unwrap();
    let (code, stdout, stderr) = run_in(&dir.path().join("rules"), ["validate", "--format", "sarif", "team a"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let run = &v["runs"][0];
    // The tool, not the content repository, is named; no made-up address.
    assert_eq!(run["tool"]["driver"]["name"], "detect");
    assert_eq!(
        run["tool"]["driver"]["informationUri"],
        serde_json::json!(detect::report::TOOL_URL)
    );
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        format!("file://{}/", root.display())
    );
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uri"], "rules/team%20a/bad.yml", "{r}");
        assert_eq!(loc["uriBaseId"], "%SRCROOT%", "{r}");
    }
}

#[test]
fn a_settings_value_error_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    for (text, key) in [
        ("skip_disabled_tests: maybe\n", "`skip_disabled_tests`"),
        ("detect:\n  jobs: many\n", "`detect.jobs`"),
        (
            "detect:\n  upload:\n    poll_interval_seconds: soon\n",
            "`detect.upload.poll_interval_seconds`",
        ),
    ] {
        std::fs::write(dir.path().join(".panther_settings.yml"), text).unwrap();
        let (code, stdout, stderr) = run_in(dir.path(), ["validate"]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert!(stderr.contains(".panther_settings.yml:"), "{stderr}");
    }
}

/// Two rules: `Sel.High` (valid) and `Sel.Low`, whose condition is unknown.
fn two_severities() -> tempfile::TempDir {
    let (dir, rules) = pat_project();
    let rule = |id: &str, sev: &str, cond: &str| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [Custom.App]\nSeverity: {sev}\n\
             Detection:\n  - KeyPath: a\n    Condition: {cond}\n\
             Tests:\n  - Name: t\n    ExpectedResult: true\n    Log: {{a: 1}}\n"
        )
    };
    std::fs::write(rules.join("high.yml"), rule("Sel.High", "High", "Exists")).expect("test fixture");
    std::fs::write(rules.join("low.yml"), rule("Sel.Low", "Low", "Existz")).expect("test fixture");
    dir
}

#[test]
fn diagnostics_of_files_the_filters_deselect_are_not_reported() {
    let dir = two_severities();
    for cmd in ["validate", "test"] {
        let (code, stdout, _) = run_in(dir.path(), [cmd]);
        assert_eq!(code, 1, "{cmd}: {stdout}");
        assert!(
            stdout.contains("low.yml:8:16: error[unknown-condition]"),
            "{cmd}: {stdout}"
        );
        let (code, stdout, _) = run_in(dir.path(), [cmd, "--filter", "Severity=High"]);
        assert_eq!(code, 0, "{cmd}: {stdout}");
        assert!(!stdout.contains("low.yml"), "{cmd}: {stdout}");
        assert!(
            stdout.contains("Passed: 1  Failed: 0  Invalid: 0  Skipped: 0  (total 1"),
            "{cmd}: {stdout}"
        );
    }
    // A warning in a deselected file does not fail --deny-warnings either.
    let medium = std::fs::read_to_string(dir.path().join("rules/high.yml"))
        .unwrap()
        .replace("Sel.High", "Sel.Medium")
        .replace("Severity: High", "Severity: Medium\nExtra: 1");
    std::fs::write(dir.path().join("rules/medium.yml"), medium).unwrap();
    for (sev, want) in [("High", 0), ("Medium", 1)] {
        let (code, stdout, _) = run({
            let mut c = detect(dir.path());
            c.args(["validate", "--ignore-extra-keys", "--deny-warnings", "--filter"])
                .arg(format!("Severity={sev}"));
            c
        });
        assert_eq!(code, want, "{sev}: {stdout}");
        assert_eq!(
            stdout.contains("warning[extra-key-ignored]"),
            want == 1,
            "{sev}: {stdout}"
        );
    }
}

#[test]
fn nothing_to_do_gets_a_line_of_its_own() {
    let dir = two_severities();
    for (cmd, args, want) in [
        (
            "test",
            &["--filter", "Severity=Critical"][..],
            "error: nothing to test: no detection matched the filters",
        ),
        (
            "validate",
            &["--filter", "Severity=Critical"],
            "error: nothing to validate: no detection matched the filters",
        ),
    ] {
        let (code, stdout, _) = run({
            let mut c = detect(dir.path());
            c.arg(cmd).args(args);
            c
        });
        assert_eq!(code, 1, "{cmd}: {stdout}");
        assert!(stdout.lines().any(|l| l == want), "{cmd}: {stdout}");
    }
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join(".pat-root"), "").unwrap();
    for (cmd, want) in [
        ("test", "error: nothing to test: no detection found in ."),
        ("validate", "error: nothing to validate: no analysis file found in ."),
    ] {
        let (code, stdout, _) = run_in(empty.path(), [cmd]);
        assert_eq!(code, 1, "{cmd}: {stdout}");
        assert!(stdout.lines().any(|l| l == want), "{cmd}: {stdout}");
        let (_, json, _) = run_in(empty.path(), [cmd, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["error"], want.trim_start_matches("error: "), "{cmd}");
    }
}

#[test]
fn one_test_is_singular() {
    let dir = two_severities();
    let (_, stdout, _) = run({
        let mut c = detect(dir.path());
        c.args([
            "test",
            "--filter",
            "Severity=High",
            "--minimum-tests",
            "2",
            "--format",
            "json",
        ]);
        c
    });
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let messages: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        ["insufficient test coverage: 2 tests required but only 1 found"],
        "{stdout}"
    );
    let (_, human, _) = run_in(dir.path(), ["test", "--filter", "Severity=High"]);
    assert!(
        human.contains("(total 1, 1 test: 1 passed, 0 failed, 0 skipped,"),
        "{human}"
    );
}

const GOOD_RULE: &str = "AnalysisType: rule\nRuleID: Good.Rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n";

#[test]
fn aliases_of_a_long_string_end_in_a_located_error() {
    // 71 KB: a 64 KiB string, aliased 1,000 times, that list aliased 1,000
    // times (64 GB if copied). Line 10 is `Tags: [*b, ...`; its first `*b`
    // (column 8) is the first alias past the 64 MiB budget: the thousand
    // `*a` of line 9 copy 62.5 MiB, that `*b` 62.5 MiB more.
    let (dir, rules) = pat_project();
    let mut bomb = GOOD_RULE.replace("Good.Rule", "Alias.Bomb");
    bomb.push_str("Description: &a ");
    bomb.push_str(&"x".repeat(64 << 10));
    bomb.push_str("\nReference: &b [");
    bomb.push_str(&["*a"; 1000].join(", "));
    bomb.push_str("]\nTags: [");
    bomb.push_str(&["*b"; 1000].join(", "));
    bomb.push_str("]\n");
    assert!(bomb.len() < 72 << 10, "{}", bomb.len());
    std::fs::write(rules.join("bomb.yml"), bomb).unwrap();
    std::fs::write(rules.join("good.yml"), GOOD_RULE).unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(located(&v, "rules/bomb.yml"), [("yaml-syntax".to_owned(), 10, 8)]);
    assert!(located(&v, "rules/good.yml").is_empty());
    assert_eq!(v["summary"]["passed"].as_u64(), Some(1));
    assert_eq!(v["summary"]["invalid"].as_u64(), Some(1));
}

#[test]
fn syntax_errors_point_at_the_defect() {
    let (dir, rules) = pat_project();
    let rule = |id: &str| GOOD_RULE.replace("Good.Rule", id);
    let files: Vec<(&str, Vec<u8>)> = vec![
        // The opening quote is line 3, column 14; the file ends on line 9.
        (
            "quote",
            b"AnalysisType: rule\nRuleID: R.Q\nDescription: \"never closed\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n".to_vec(),
        ),
        ("squote", b"AnalysisType: rule\nRuleID: R.SQ\nDescription: 'never closed\nEnabled: true\n".to_vec()),
        // GOOD_RULE is seven lines; `Description: ab` is 15 characters.
        ("nul", format!("{}Description: ab\0cd\n", rule("R.Nul")).into_bytes()),
        // `Description: café`: the é (Latin-1 0xE9) is character 17.
        ("latin1", [rule("R.Latin").as_bytes(), b"Description: caf\xe9\n"].concat()),
        (
            "tab",
            b"AnalysisType: rule\nRuleID: R.Tab\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n\t- {Condition: AlwaysTrue}\n".to_vec(),
        ),
        // ` LogTypes:` is indented one space; `:` is column 10.
        (
            "indent",
            b"AnalysisType: rule\nRuleID: R.Ind\nEnabled: true\n LogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n".to_vec(),
        ),
        ("threshold", format!("{}Threshold: 99999999999999999999999999\n", rule("R.Thr")).into_bytes()),
        (
            "no_rule_id",
            b"AnalysisType: rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n".to_vec(),
        ),
    ];
    for (name, bytes) in &files {
        std::fs::write(rules.join(format!("{name}.yml")), bytes).unwrap();
    }
    let (code, stdout, stderr) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let found = |file: &str| -> Vec<(String, u64, u64, String, String)> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["file"] == format!("rules/{file}.yml"))
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_owned(),
                    d["line"].as_u64().unwrap(),
                    d["column"].as_u64().unwrap(),
                    d["message"].as_str().unwrap().to_owned(),
                    d["help"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let one = |file: &str, code: &str, line: u64, col: u64| -> (String, String) {
        let got = found(file);
        assert_eq!(got.len(), 1, "{file}: {got:?}");
        let (c, l, k, message, help) = got.into_iter().next().unwrap();
        assert_eq!((c.as_str(), l, k), (code, line, col), "{file}: {message}");
        (message, help)
    };
    let (m, h) = one("quote", "yaml-syntax", 3, 14);
    assert!(m.contains("never closed") && h.contains("closing `\"`"), "{m} / {h}");
    let (_, h) = one("squote", "yaml-syntax", 3, 14);
    assert!(h.contains("closing `'`"), "{h}");
    let (m, _) = one("nul", "yaml-syntax", 8, 16);
    assert!(m.contains("U+0000"), "{m}");
    let (m, _) = one("latin1", "yaml-syntax", 8, 17);
    assert!(m.contains("0xE9"), "{m}");
    let (_, h) = one("tab", "yaml-syntax", 7, 1);
    assert_eq!(h, "YAML does not allow tabs for indentation; use spaces");
    let (_, h) = one("indent", "yaml-syntax", 4, 10);
    assert!(
        h.starts_with("this line is indented differently from line 3 above it (1 space, not 0 spaces)"),
        "{h}"
    );
    let (m, _) = one("threshold", "invalid-value", 8, 12);
    assert_eq!(
        m,
        "`Threshold` is out of range: integers go from -9223372036854775808 to 9223372036854775807"
    );
    let (m, _) = one("no_rule_id", "missing-key", 1, 1);
    assert_eq!(m, "missing key `RuleID` in the file");
}
