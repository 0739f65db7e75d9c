//! `detect validate` on fixture repositories.

use crate::util::{detect, fixture, redact, run};

#[test]
fn example_repo_is_valid() {
    let (code, stdout, stderr) = run({
        let mut c = detect(&fixture("example-repo"));
        c.arg("validate");
        c
    });
    assert_eq!(code, 0, "{stdout}{stderr}");
    insta::assert_snapshot!(redact(&stdout));
}

#[test]
fn ten_defects_give_ten_diagnostics_on_their_lines() {
    let (code, stdout, _) = run({
        let mut c = detect(&fixture("checks/ten_defects"));
        c.args(["validate", "--format", "json"]);
        c
    });
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
        (9, "invalid-value"),
        (10, "invalid-value"),
        (13, "unknown-condition"),
        (15, "invalid-key-path"),
        (17, "invalid-alert-title"),
        (22, "unknown-key"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(l, c)| (*l, (*c).to_owned())).collect();
    assert_eq!(got, want);
    let (_, human, _) = run({
        let mut c = detect(&fixture("checks/ten_defects"));
        c.arg("validate");
        c
    });
    insta::assert_snapshot!(redact(&human));
}

#[test]
fn hostile_files_each_get_a_diagnostic_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
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
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.args(["validate", "--format", "json"]);
        c
    });
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
        let (code, stdout, _) = run({
            let mut c = detect(&fixture("checks/ten_defects"));
            c.args(["validate", "--format", format]);
            c
        });
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
    let rule = |id: &str| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {{Condition: AlwaysTrue}}\n"
        )
    };
    std::fs::write(dir.path().join("rules/a.yml"), rule("Same.Id")).unwrap();
    std::fs::write(dir.path().join("rules/b.yml"), rule("Same.Id")).unwrap();
    std::fs::write(dir.path().join("rules/c.yml"), "AnalysisType: rule\nRuleID: Bad\n").unwrap();
    let (code, stdout, _) = run({
        let mut c = detect(dir.path());
        c.args(["validate", "rules/b.yml", "--format", "json"]);
        c
    });
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
    let (code, _, _) = run({
        let mut c = detect(&dir);
        c.args(["validate", "--deny-warnings"]);
        c
    });
    assert_eq!(code, 0, "info diagnostics never fail a run");
    let (code, stdout, _) = run({
        let mut c = detect(&dir);
        c.args(["validate", "--filter", "Severity=high", "--format", "json"]);
        c
    });
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["AWS.Console.RootLogin", "AWS.S3.PublicACL"]);
    let (code, _, stderr) = run({
        let mut c = detect(&dir);
        c.args(["validate", "--filter", "Sevrity=High"]);
        c
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `Severity`"), "{stderr}");
}

const GOOD_RULE: &str = "AnalysisType: rule\nRuleID: Good.Rule\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\nDetection:\n  - {Condition: AlwaysTrue}\n";

#[test]
fn aliases_of_a_long_string_end_in_a_located_error() {
    // 71 KB: a 64 KiB string, aliased 1,000 times, that list aliased 1,000
    // times (64 GB if copied). Line 10 is `Tags: [*b, ...`; its first `*b`
    // (column 8) is the first alias past the 64 MiB budget: the thousand
    // `*a` of line 9 copy 62.5 MiB, that `*b` 62.5 MiB more.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
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
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.args(["validate", "--format", "json"]);
        c
    });
    assert_eq!(code, 1, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let located = |v: &serde_json::Value, file: &str| -> Vec<(String, u64, u64)> {
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
    assert_eq!(located(&v, "rules/bomb.yml"), [("yaml-syntax".to_owned(), 10, 8)]);
    assert!(located(&v, "rules/good.yml").is_empty());
    assert_eq!(v["summary"]["passed"].as_u64(), Some(1));
    assert_eq!(v["summary"]["invalid"].as_u64(), Some(1));
}

#[test]
fn syntax_errors_point_at_the_defect() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(dir.path().join(".pat-root"), "").unwrap();
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
    let (code, stdout, stderr) = run({
        let mut c = detect(dir.path());
        c.args(["validate", "--format", "json"]);
        c
    });
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
