//! The hooks of `.pre-commit-hooks.yaml`, run by pre-commit itself
//! (`pre-commit try-repo`) on a sample git repository.
//!
//! The hooks are `language: rust`: pre-commit would `cargo install` this
//! repository, a full release build, on every fresh cache. The test runs a
//! copy of the hook definitions in which only `language` becomes `system`
//! and `entry` names the `detect` this test run built; `files`, `types`,
//! `pass_filenames` and the rest are the real ones (the test checks that
//! nothing else changed), and `pre-commit validate-manifest` checks the
//! real file. pre-commit comes from `DETECT_TEST_PRE_COMMIT` (its
//! executable, installed by `.ci/run`); without it the tests are skipped
//! with a reason, except under `CI`, where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{git, root};

/// The pre-commit executable, or `None` (with the reason printed) outside CI;
/// `None` too when git, which pre-commit needs, does not run.
#[expect(clippy::print_stderr, reason = "says why the test is skipped")]
fn pre_commit() -> Option<PathBuf> {
    let has_git = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_git {
        assert!(std::env::var_os("CI").is_none(), "git does not run under CI");
        eprintln!("skipping: git does not run");
        return None;
    }
    match std::env::var_os("DETECT_TEST_PRE_COMMIT") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "DETECT_TEST_PRE_COMMIT is not set under CI (.ci/run installs pre-commit)"
            );
            eprintln!("skipping: DETECT_TEST_PRE_COMMIT (a pre-commit executable) is not set");
            None
        }
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("test fixture");
    std::fs::write(p, text).expect("test fixture");
}

/// The hook definitions with `language: system` and `entry` running the
/// built binary; every other line is the real file's.
fn system_hooks(real: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin("detect");
    let mut changed = 0;
    let text: Vec<String> = real
        .lines()
        .map(|l| {
            if l.trim() == "language: rust" {
                changed += 1;
                l.replace("rust", "system")
            } else if let Some(rest) = l.trim_start().strip_prefix("entry: detect ") {
                changed += 1;
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}entry: \"'{}' {rest}\"", bin.display())
            } else {
                l.to_owned()
            }
        })
        .collect();
    let hooks = real.matches("- id: ").count();
    assert_eq!(
        changed,
        2 * hooks,
        "each hook has one `language: rust` and one `entry: detect …`"
    );
    text.join("\n") + "\n"
}

/// A git repository holding the system variant of the hooks, committed.
fn hook_repo(dir: &Path) -> PathBuf {
    let real = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks file");
    let repo = dir.join("hooks");
    write(&repo, ".pre-commit-hooks.yaml", &system_hooks(&real));
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "hooks"]);
    repo
}

const GOOD: &str = "AnalysisType: rule\nRuleID: Sample.Good\nEnabled: true\nLogTypes:\n  - Custom.App\n\
Severity: Low\nDetection:\n  - KeyPath: action\n    Condition: Equals\n    Value: delete\nTests:\n  \
- Name: a deletion\n    ExpectedResult: true\n    Log:\n      action: delete\n";

/// A sample detection repository with one good rule, other YAML that is not
/// an analysis file, all added to git.
fn sample(dir: &Path) -> PathBuf {
    let repo = dir.join("sample");
    write(&repo, "rules/good.yml", GOOD);
    write(&repo, ".gitlab-ci.yml", "stages: [test]\n");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    repo
}

/// `pre-commit try-repo HOOKS HOOK --all-files` in `repo`: (exit code, output).
fn try_repo(pre_commit: &Path, cache: &Path, hooks: &Path, repo: &Path, hook: &str) -> (i32, String) {
    let mut c = Command::new(pre_commit);
    c.args(["try-repo"])
        .arg(hooks)
        .args([hook, "--all-files", "--color", "never"])
        .current_dir(repo)
        .env_clear()
        .env("PRE_COMMIT_HOME", cache)
        .env("NO_COLOR", "1");
    for v in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(v) {
            c.env(v, value);
        }
    }
    let out = c.output().expect("pre-commit runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_real_hooks_file_is_a_valid_manifest() {
    let Some(pc) = pre_commit() else { return };
    let out = Command::new(&pc)
        .args(["validate-manifest"])
        .arg(root().join(".pre-commit-hooks.yaml"))
        .output()
        .expect("pre-commit runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_validate_hook_passes_a_good_rule_and_fails_with_the_diagnostic_of_a_bad_one() {
    let Some(pc) = pre_commit() else { return };
    let tmp = tempfile::tempdir().expect("test fixture");
    let cache = tmp.path().join("cache");
    let hooks = hook_repo(tmp.path());
    let repo = sample(tmp.path());
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-validate");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("detect validate") && out.contains("Passed"), "{out}");
    write(
        &repo,
        "rules/bad.yml",
        &GOOD
            .replace("Sample.Good", "Sample.Bad")
            .replace("Condition: Equals", "Condition: Equalz"),
    );
    git(&repo, &["add", "."]);
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-validate");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(
        out.contains("rules/bad.yml:9:16: error[unknown-condition]: unknown condition `Equalz`"),
        "{out}"
    );
    assert!(out.contains("did you mean `Equals`?"), "{out}");
    assert!(!out.contains("good.yml:"), "{out}");
}

#[test]
fn the_test_hook_runs_the_tests_of_the_repository() {
    let Some(pc) = pre_commit() else { return };
    let tmp = tempfile::tempdir().expect("test fixture");
    let cache = tmp.path().join("cache");
    let hooks = hook_repo(tmp.path());
    let repo = sample(tmp.path());
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-test");
    assert_eq!(code, 0, "{out}");
    // pre-commit shows the output of a failing hook only.
    assert!(out.contains("detect test") && out.contains("Passed"), "{out}");
    write(
        &repo,
        "rules/good.yml",
        &GOOD.replace("ExpectedResult: true", "ExpectedResult: false"),
    );
    git(&repo, &["add", "."]);
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-test");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[FAIL] a deletion"), "{out}");
    assert!(out.contains("error[test-failed]"), "{out}");
}

#[test]
fn the_fmt_hook_rewrites_a_file_and_fails_then_passes() {
    let Some(pc) = pre_commit() else { return };
    let tmp = tempfile::tempdir().expect("test fixture");
    let cache = tmp.path().join("cache");
    let hooks = hook_repo(tmp.path());
    let repo = sample(tmp.path());
    // A flow list, which the canonical layout writes as a block list.
    let messy = "RuleID: Sample.Messy\nAnalysisType: rule\nSeverity: Low\nEnabled: true\nLogTypes: [Custom.App]\n\
Detection:\n  - KeyPath: action\n    Condition: Equals\n    Value: delete\n";
    write(&repo, "rules/messy.yml", messy);
    git(&repo, &["add", "."]);
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-fmt");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("files were modified by this hook"), "{out}");
    let now = std::fs::read_to_string(repo.join("rules/messy.yml")).expect("the file");
    assert_ne!(now, messy);
    assert!(now.contains("LogTypes:\n  - Custom.App\n"), "{now}");
    // The non-analysis YAML is left as it was.
    let ci = std::fs::read_to_string(repo.join(".gitlab-ci.yml")).expect("the file");
    assert_eq!(ci, "stages: [test]\n");
    git(&repo, &["add", "."]);
    let (code, out) = try_repo(&pc, &cache, &hooks, &repo, "detect-fmt");
    assert_eq!(code, 0, "{out}");
}
