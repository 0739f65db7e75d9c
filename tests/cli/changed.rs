//! `--changed-since REF` on `validate` and `test`: real git repositories in
//! temporary folders; the report holds the changed items and what depends
//! on them, `-v` and the JSON report say why.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{copy_dir, detect, fixture, git, json, run, run_in};

/// A copy of a fixture as a git repository with one commit; returns the
/// folder and the commit.
fn repo(fixture_dir: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(fixture_dir), dir.path());
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, head)
}

/// Appends a comment line to a file (a change git sees, meaning unchanged).
fn touch(path: &Path) {
    let mut text = std::fs::read_to_string(path).expect("fixture file");
    text.push_str("\n# changed\n");
    std::fs::write(path, text).expect("fixture file");
}

/// The report's items by ID, each with its `selected_because` reason texts.
fn selected(report: &Value) -> BTreeMap<String, Vec<String>> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let why = i["selected_because"]
                .as_array()
                .map(|w| w.iter().map(|r| r["text"].as_str().unwrap_or("").to_owned()).collect())
                .unwrap_or_default();
            (i["id"].as_str().unwrap_or("").to_owned(), why)
        })
        .collect()
}

fn expect(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(id, why)| ((*id).to_owned(), why.iter().map(|w| (*w).to_owned()).collect()))
        .collect()
}

/// The check: a base, its derived detection, a correlation rule
/// referencing the base and unrelated rules (an Okta rule the correlation
/// rule also references, a Python S3 rule); changing the base (in a commit
/// after REF) selects exactly the base, the derived detection and the
/// correlation rule, in `validate` and in `test`.
#[test]
fn changing_a_base_selects_it_its_derived_detection_and_the_correlation_rule() {
    let (dir, head) = repo("example-repo");
    touch(&dir.path().join("rules/aws_rules/aws_root_console_login.yml"));
    git(dir.path(), &["commit", "-q", "-am", "change the base"]);
    let want = expect(&[
        ("AWS.Console.RootLogin", &["changed"]),
        (
            "AWS.Console.RootLogin.Prod",
            &["derived from AWS.Console.RootLogin (changed)"],
        ),
        (
            "Okta.Admin.Login.THEN.AWS.RootLogin",
            &["references AWS.Console.RootLogin"],
        ),
    ]);
    for command in ["validate", "test"] {
        let (code, out, err) = run_in(dir.path(), [command, "--changed-since", &head, "--format", "json"]);
        assert_eq!(code, 0, "{command}: {err}");
        let report = json(&out);
        assert_eq!(selected(&report), want, "{command}");
        assert_eq!(report["summary"]["total"], 3, "{command}");
    }
    // Without the flag all five detections are there.
    let (_, out, _) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(json(&out)["summary"]["total"], 5);
    // The reasons in the human report under -v only.
    let (code, out, _) = run_in(dir.path(), ["validate", "--changed-since", &head, "-v"]);
    assert_eq!(code, 0);
    assert!(out.contains("Selected:"), "{out}");
    assert!(
        out.contains(
            "  AWS.Console.RootLogin.Prod (rules/aws_rules/aws_root_console_login_derived.yml): derived from AWS.Console.RootLogin (changed)"
        ),
        "{out}"
    );
    let (_, out, _) = run_in(dir.path(), ["validate", "--changed-since", &head]);
    assert!(!out.contains("Selected:"), "{out}");
    // Nothing changed since HEAD: nothing to check, and not a failure.
    let (code, out, err) = run_in(dir.path(), ["test", "--changed-since", "HEAD", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["summary"]["total"], 0);
}

/// A changed global helper selects the Python items importing it, and
/// what imports those in turn (`fx_chain` imports `fx_strings`); an
/// unstaged change counts. Reasons come in project order of the globals.
#[test]
fn a_changed_global_selects_its_python_importers() {
    let (dir, head) = repo("python/globals");
    touch(&dir.path().join("global_helpers/fx_chain.py"));
    let (code, out, err) = run_in(dir.path(), ["validate", "--changed-since", &head, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    // Only admin_login.py has `from fx_chain import`.
    assert_eq!(
        selected(&json(&out)),
        expect(&[("Fx.Globals.AdminLogin", &["imports global fx_chain"])])
    );
    git(dir.path(), &["checkout", "-q", "--", "."]);
    touch(&dir.path().join("global_helpers/fx_strings.py"));
    let (code, out, err) = run_in(dir.path(), ["validate", "--changed-since", &head, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        selected(&json(&out)),
        expect(&[
            (
                "Fx.Globals.AdminLogin",
                &["imports global fx_chain", "imports global fx_strings"]
            ),
            ("Fx.Globals.ModuleName", &["imports global fx_strings"]),
        ])
    );
}

/// A new file git does not track yet is a change; a data model selects
/// the items of its log types.
#[test]
fn untracked_files_and_data_models_are_changes() {
    let (dir, head) = repo("example-repo");
    let rules = dir.path().join("rules/okta_rules");
    let okta = std::fs::read_to_string(rules.join("okta_admin_login.yml")).expect("fixture");
    std::fs::write(
        rules.join("okta_new.yml"),
        okta.replace("RuleID: Okta.Admin.Login.Public", "RuleID: Okta.New"),
    )
    .expect("write");
    let (code, out, err) = run_in(dir.path(), ["validate", "--changed-since", &head, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(selected(&json(&out)), expect(&[("Okta.New", &["changed"])]));
    std::fs::remove_file(rules.join("okta_new.yml")).expect("remove");

    let models = dir.path().join("data_models");
    std::fs::create_dir_all(&models).expect("mkdir");
    std::fs::write(
        models.join("okta.yml"),
        "AnalysisType: datamodel\nDataModelID: Okta.Model\nEnabled: true\nLogTypes:\n  - Okta.SystemLog\nMappings:\n  - Name: actor_user\n    Path: actor.alternateId\n",
    )
    .expect("write");
    let (code, out, err) = run_in(dir.path(), ["validate", "--changed-since", &head, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    // The Okta rule is of the model's log type, and the correlation rule
    // references it.
    assert_eq!(
        selected(&json(&out)),
        expect(&[
            (
                "Okta.Admin.Login.Public",
                &["data model Okta.Model for LogType Okta.SystemLog"]
            ),
            (
                "Okta.Admin.Login.THEN.AWS.RootLogin",
                &["references Okta.Admin.Login.Public"]
            ),
        ])
    );
}

/// Deleting a base selects what depended on it, whose warnings (the base
/// is gone) are then shown; the deleted item is not an item of the run.
#[test]
fn deleting_a_base_selects_what_depended_on_it() {
    let (dir, head) = repo("example-repo");
    git(dir.path(), &["rm", "-q", "rules/aws_rules/aws_root_console_login.yml"]);
    let (code, out, err) = run_in(dir.path(), ["validate", "--changed-since", &head, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    assert_eq!(
        selected(&report),
        expect(&[
            (
                "AWS.Console.RootLogin.Prod",
                &["derived from AWS.Console.RootLogin (changed)"]
            ),
            (
                "Okta.Admin.Login.THEN.AWS.RootLogin",
                &["references AWS.Console.RootLogin"]
            ),
        ])
    );
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"unknown-base-detection"), "{codes:?}");
    assert!(codes.contains(&"corr-unknown-reference"), "{codes:?}");
}

#[test]
fn a_revision_git_does_not_know_is_a_usage_error() {
    let (dir, _) = repo("example-repo");
    for command in ["validate", "test"] {
        let (code, out, err) = run_in(dir.path(), [command, "--changed-since", "no-such-branch"]);
        assert_eq!(code, 2, "{command}: {out}");
        assert!(
            err.contains("git does not know the revision `no-such-branch`"),
            "{command}: {err}"
        );
    }
}

#[test]
fn a_folder_outside_git_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture("example-repo"), dir.path());
    let (code, _, err) = run_in(dir.path(), ["validate", "--changed-since", "HEAD"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not in a git repository"), "{err}");
}

#[test]
fn no_git_on_path_is_a_usage_error() {
    let (dir, _) = repo("example-repo");
    let empty = tempfile::tempdir().expect("temp dir");
    let mut c = detect(dir.path());
    c.env("PATH", empty.path())
        .args(["validate", "--changed-since", "HEAD"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 2);
    assert!(err.contains("no `git` was found on PATH"), "{err}");
}
