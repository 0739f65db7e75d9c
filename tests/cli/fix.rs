//! `validate --fix` and `--diff` on repositories built in temp dirs.

use std::path::Path;

use crate::util::{json, run_in};

const HEAD: &str = "AnalysisType: rule\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\n";

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("test setup");
    std::fs::create_dir_all(dir.path().join("rules")).expect("test setup");
    for (name, text) in files {
        std::fs::write(dir.path().join("rules").join(name), text).expect("test setup");
    }
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("rules").join(name)).expect("test setup")
}

#[test]
fn misspelt_keys_conditions_and_aliases_are_fixed_and_the_file_validates() {
    let text = format!(
        "{HEAD}RuleID: A.One\nSeverity: HIGH\nDescriptoin: x\nDetection:\n  - Key: a\n    Condition: Equal\n    Value: b\n  - Key: c\n    Condition: Has\n    Value: d\n"
    );
    let dir = repo(&[("a.yml", &text)]);
    let (code, out, err) = run_in(dir.path(), ["validate", "--fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        read(dir.path(), "a.yml"),
        format!(
            "{HEAD}RuleID: A.One\nSeverity: High\nDescription: x\nDetection:\n  - Key: a\n    Condition: Equals\n    Value: b\n  - Key: c\n    Condition: Contains\n    Value: d\n"
        )
    );
    for line in [
        "rules/a.yml:6:11: fixed: replace `HIGH` with `High`",
        "rules/a.yml:7:1: fixed: rename `Descriptoin` to `Description`",
        "rules/a.yml:10:16: fixed: rename `Equal` to `Equals`",
        "rules/a.yml:13:16: fixed: replace `Has` with `Contains`",
        "fixed 4 problems in 1 file",
    ] {
        assert!(out.lines().any(|l| l == line), "no `{line}` in:\n{out}");
    }
    let (code, out, _) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["diagnostics"].as_array().map(Vec::len), Some(0), "{out}");
    // Idempotent: nothing left to fix, the file stays byte for byte.
    let before = read(dir.path(), "a.yml");
    let (code, out, _) = run_in(dir.path(), ["validate", "--fix"]);
    assert_eq!(code, 0);
    assert!(out.contains("fixed 0 problems in 0 files"), "{out}");
    assert_eq!(read(dir.path(), "a.yml"), before);
}

#[test]
fn a_rename_onto_a_present_key_is_reported_not_applied() {
    let text = format!(
        "{HEAD}RuleID: A.Two\nSeverity: Low\nDescription: y\nDescriptoin: x\nDetection:\n  - Key: a\n    Condition: Exists\n"
    );
    let dir = repo(&[("b.yml", &text)]);
    let (code, out, _) = run_in(dir.path(), ["validate", "--fix"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(read(dir.path(), "b.yml"), text);
    assert!(out.contains("fixed 0 problems"), "{out}");
    assert!(
        out.contains("rules/b.yml:8:1: not applied (not safe): rename `Descriptoin` to `Description`"),
        "{out}"
    );
    assert!(out.contains("error[unknown-key]: unknown key `Descriptoin`"), "{out}");
    // The machine formats carry the fix, marked not safe.
    let (_, out, _) = run_in(dir.path(), ["validate", "--format", "json"]);
    let v = json(&out);
    let fix = &v["diagnostics"][0]["fix"];
    assert_eq!(fix["safe"], false, "{out}");
    assert_eq!(fix["title"], "rename `Descriptoin` to `Description`");
    assert_eq!(
        (
            &fix["edits"][0]["line"],
            &fix["edits"][0]["column"],
            &fix["edits"][0]["end_column"]
        ),
        (&8.into(), &1.into(), &12.into())
    );
    assert_eq!(fix["edits"][0]["text"], "Description");
    let (_, out, _) = run_in(dir.path(), ["validate", "--format", "sarif"]);
    let v = json(&out);
    let change = &v["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "rules/b.yml", "{out}");
    let r = &change["replacements"][0];
    assert_eq!(r["deletedRegion"]["startLine"], 8);
    assert_eq!(r["deletedRegion"]["endColumn"], 12);
    assert_eq!(r["insertedContent"]["text"], "Description");
}

#[test]
fn a_file_with_a_syntax_error_is_left_untouched() {
    let bad = "AnalysisType: rule\nRuleID: [x\nDescriptoin: y\n";
    let dir = repo(&[("c.yml", bad)]);
    let (code, out, _) = run_in(dir.path(), ["validate", "--fix"]);
    assert_eq!(code, 1);
    assert_eq!(read(dir.path(), "c.yml"), bad);
    assert!(out.contains("error[yaml-syntax]"), "{out}");
}

#[test]
fn crlf_and_non_ascii_lines_are_fixed_at_character_columns() {
    // `fmt` leaves CRLF files alone: only the fix changes the text, found
    // by character column after the two-byte `é`.
    let text = "AnalysisType: rule\r\nRuleID: A.Three\r\nEnabled: true\r\nLogTypes: [AWS.CloudTrail]\r\nSeverity: Low\r\nDetection: [{Key: é, Condition: Equal, Value: ü}]\r\n";
    let dir = repo(&[("d.yml", text)]);
    let (code, out, err) = run_in(dir.path(), ["validate", "--fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(read(dir.path(), "d.yml"), text.replace("Equal,", "Equals,"));
    assert!(
        out.contains("rules/d.yml:6:33: fixed: rename `Equal` to `Equals`"),
        "{out}"
    );
    assert!(out.contains("rules/d.yml: layout left as it is"), "{out}");
}

#[test]
fn diff_writes_nothing_and_exits_1_when_there_is_a_diff() {
    let text =
        format!("{HEAD}RuleID: A.Four\nSeverity: Low\nDescriptoin: x\nDetection:\n  - Key: a\n    Condition: Exists\n");
    let dir = repo(&[("e.yml", &text)]);
    let (code, out, _) = run_in(dir.path(), ["validate", "--diff"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(read(dir.path(), "e.yml"), text);
    assert!(out.contains("--- a/rules/e.yml\n+++ b/rules/e.yml\n"), "{out}");
    assert!(out.contains("\n-Descriptoin: x\n+Description: x\n"), "{out}");
    assert!(
        out.contains("rules/e.yml:7:1: would fix: rename `Descriptoin` to `Description`"),
        "{out}"
    );
    run_in(dir.path(), ["validate", "--fix"]);
    let (code, out, _) = run_in(dir.path(), ["validate", "--diff"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("---"), "{out}");
}
