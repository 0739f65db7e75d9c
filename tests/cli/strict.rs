//! Strictness and scale: which findings are errors, and checks that stay
//! linear on huge lists (files generated here, never committed).

use std::fmt::Write as _;

use crate::util::{pat_project, run_in};

/// A Simple Detection header (nine lines); the caller appends from line 10.
fn header(id: &str) -> String {
    format!(
        "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n\
         Detection:\n  - KeyPath: eventName\n    Condition: Equals\n    Value: x\n"
    )
}

/// A diagnostic as (file, line, column, code, line of the first related location).
type Found = (String, u64, u64, String, Option<u64>);

/// Runs `detect validate --format json` in `dir`; returns the exit code and
/// the warnings and errors.
fn validate(dir: &std::path::Path) -> (i32, Vec<Found>) {
    let (code, stdout, stderr) = run_in(dir, ["validate", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let diags = v["diagnostics"]
        .as_array()
        .expect("a diagnostics list")
        .iter()
        .filter(|d| d["severity"] != "info")
        .map(|d| {
            (
                d["file"].as_str().expect("a file").to_owned(),
                d["line"].as_u64().expect("a line"),
                d["column"].as_u64().expect("a column"),
                d["code"].as_str().expect("a code").to_owned(),
                d["related"][0]["line"].as_u64(),
            )
        })
        .collect();
    (code, diags)
}

fn repo() -> tempfile::TempDir {
    let (dir, _) = pat_project();
    std::fs::create_dir_all(dir.path().join("packs")).expect("packs/");
    dir
}

#[test]
fn a_repeated_pack_id_is_a_warning_but_a_repeated_tag_an_error() {
    let dir = repo();
    std::fs::write(dir.path().join("rules/a.yml"), header("A.Rule")).unwrap();
    std::fs::write(
        dir.path().join("packs/p.yml"),
        "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs:\n    - A.Rule\n    - A.Rule\n",
    )
    .unwrap();
    // PAT accepts the pack (its set fields are top-level keys only): exit 0.
    let (code, diags) = validate(dir.path());
    assert_eq!(
        diags,
        [("packs/p.yml".to_owned(), 6, 7, "duplicate-pack-id".to_owned(), Some(5))]
    );
    assert_eq!(code, 0);
    // PAT rejects `Tags` that repeat in letter case only ("LowerTags").
    std::fs::write(
        dir.path().join("rules/b.yml"),
        format!("{}Tags: [AWS, aws]\n", header("B.Rule")),
    )
    .unwrap();
    let (code, diags) = validate(dir.path());
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(
        diags[1],
        ("rules/b.yml".to_owned(), 10, 13, "duplicate-value".to_owned(), Some(10))
    );
    assert_eq!(code, 1);
}

/// 100,000 `Tags` (two repeated at the end, one only in letter case) and
/// 100,000 tests (one name repeated) in one run: each duplicate is found once,
/// on its own line, pointing back at the first occurrence.
#[test]
fn huge_set_fields_and_test_lists_report_exactly_their_duplicates() {
    const N: u64 = 100_000;
    let dir = repo();
    let mut tags = header("Big.Tags");
    tags.push_str("Tags:\n");
    for i in 0..N {
        writeln!(tags, "  - t{i}").unwrap();
    }
    // `  - t{i}` is on line 11 + i.
    tags.push_str("  - T5\n  - t99999\n");
    std::fs::write(dir.path().join("rules/tags.yml"), tags).unwrap();

    let mut tests = header("Big.Tests");
    tests.push_str("Tests:\n");
    for i in 0..N {
        writeln!(
            tests,
            "  - Name: n{i}\n    ExpectedResult: false\n    Log: {{eventName: y}}"
        )
        .unwrap();
    }
    // The name of test i is on line 11 + 3i.
    tests.push_str("  - Name: n42\n    ExpectedResult: true\n    Log: {eventName: x}\n");
    std::fs::write(dir.path().join("rules/tests.yml"), tests).unwrap();

    let (code, diags) = validate(dir.path());
    assert_eq!(
        diags,
        [
            (
                "rules/tags.yml".to_owned(),
                11 + N,
                5,
                "duplicate-value".to_owned(),
                Some(16)
            ),
            (
                "rules/tags.yml".to_owned(),
                12 + N,
                5,
                "duplicate-value".to_owned(),
                Some(11 + 99_999)
            ),
            (
                "rules/tests.yml".to_owned(),
                11 + 3 * N,
                11,
                "duplicate-test-name".to_owned(),
                Some(11 + 3 * 42)
            ),
        ]
    );
    assert_eq!(code, 1);
}

/// What PAT 1.11.1 accepts is not an error: `ExpectedDestinations` in a rule
/// test (`RULE_SCHEMA` lists it) and a negative `DedupPeriodMinutes` (PAT
/// only warns that Panther raises values below 5 to 5).
#[test]
fn what_pat_accepts_is_at_most_a_warning() {
    let dir = repo();
    let tests =
        "Tests:\n  - Name: t\n    ExpectedResult: true\n    Log: {eventName: x}\n    ExpectedDestinations: [Slack]\n";
    std::fs::write(
        dir.path().join("rules/a.yml"),
        format!("{}DedupPeriodMinutes: -5\n{tests}", header("A.Rule")),
    )
    .unwrap();
    let (code, diags) = validate(dir.path());
    assert_eq!(
        diags,
        [("rules/a.yml".to_owned(), 10, 21, "dedup-period".to_owned(), None)]
    );
    assert_eq!(code, 0);
    // The type is still checked, as PAT does (`[str]`).
    std::fs::write(
        dir.path().join("rules/a.yml"),
        format!("{}{}", header("A.Rule"), tests.replace("[Slack]", "Slack")),
    )
    .unwrap();
    let (code, diags) = validate(dir.path());
    assert_eq!(
        diags,
        [("rules/a.yml".to_owned(), 14, 27, "wrong-type".to_owned(), None)]
    );
    assert_eq!(code, 1);
}
