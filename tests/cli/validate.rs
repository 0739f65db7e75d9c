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
