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
        (9, "dedup-period"),
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
