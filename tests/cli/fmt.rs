//! `detect fmt` on temporary copies of `fixtures/fmt/before` and of the
//! shared corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::{corpus, detect, fixture, run};

/// Every file below `dir`, by path relative to it, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("test fixture"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).expect("test fixture").to_path_buf(),
                std::fs::read(e.path()).expect("test fixture"),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot(from) {
        let target = to.join(rel);
        std::fs::create_dir_all(target.parent().expect("test fixture")).expect("test fixture");
        std::fs::write(target, bytes).expect("test fixture");
    }
}

/// A copy of `fixtures/fmt/before`, without `rules/broken.yml` unless
/// `broken`.
fn repo(broken: bool) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("test fixture");
    let dir = tmp.path().join("repo");
    copy_dir(&fixture("fmt/before"), &dir);
    if !broken {
        std::fs::remove_file(dir.join("rules/broken.yml")).expect("test fixture");
    }
    (tmp, dir)
}

fn fmt(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run({
        let mut c = detect(dir);
        c.arg("fmt").args(args);
        c
    })
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("test fixture")
}

#[test]
fn check_lists_the_file_and_writes_nothing() {
    let (_tmp, dir) = repo(false);
    let before = snapshot(&dir);
    let (code, stdout, stderr) = fmt(&dir, &["--check"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stdout, "would reformat: rules/flow_and_comments.yml\n");
    assert!(
        stderr.ends_with("1 file would be reformatted, 1 unchanged, 1 left alone\n"),
        "{stderr}"
    );
    assert_eq!(snapshot(&dir), before, "--check wrote something");
}

#[test]
fn fmt_rewrites_then_check_passes() {
    let (_tmp, dir) = repo(false);
    let (code, stdout, stderr) = fmt(&dir, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "rules/anchors.yml: warning[fmt-left-unchanged]: left unchanged: anchors (`&name`)\n\
         1 file reformatted, 1 unchanged, 1 left alone\n"
    );
    assert_eq!(
        read(&dir, "rules/flow_and_comments.yml"),
        read(&fixture("fmt/after"), "rules/flow_and_comments.yml")
    );
    for same in ["rules/canonical.yml", "rules/anchors.yml", "rules/notes.yml"] {
        assert_eq!(read(&dir, same), read(&fixture("fmt/before"), same), "{same} changed");
    }
    let names: Vec<_> = snapshot(&dir).into_keys().collect();
    assert_eq!(names.len(), 4, "no temporary file left: {names:?}");

    let (code, stdout, stderr) = fmt(&dir, &["--check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.ends_with("0 files would be reformatted, 2 unchanged, 1 left alone\n"),
        "{stderr}"
    );
}

#[test]
fn diff_prints_a_unified_diff_and_writes_nothing() {
    let (_tmp, dir) = repo(false);
    let before = snapshot(&dir);
    let (code, stdout, stderr) = fmt(&dir, &["--diff"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("--- a/rules/flow_and_comments.yml\n+++ b/rules/flow_and_comments.yml\n@@ "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n-LogTypes: [Okta.SystemLog, \"AWS.CloudTrail\"]\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\n+  - \"AWS.CloudTrail\"\n"), "{stdout}");
    assert!(!stdout.contains("canonical.yml"), "{stdout}");
    assert!(
        stderr.ends_with("1 file would be reformatted, 1 unchanged, 1 left alone\n"),
        "{stderr}"
    );
    assert_eq!(snapshot(&dir), before, "--diff wrote something");

    let (code, _, _) = fmt(&dir, &["--diff", "--check"]);
    assert_eq!(code, 1);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn malformed_file_is_reported_and_the_others_are_still_formatted() {
    let (_tmp, dir) = repo(true);
    let (code, stdout, stderr) = fmt(&dir, &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "rules/broken.yml:5:9: error[yaml-syntax]: did not find expected ',' or ']', while parsing a flow sequence\n  |\n5 | Severity: Low\n  |         ^\n  = note: the file is left unchanged\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("1 file reformatted, 1 unchanged, 1 left alone, 1 invalid\n"),
        "{stderr}"
    );
    assert_eq!(
        read(&dir, "rules/broken.yml"),
        read(&fixture("fmt/before"), "rules/broken.yml")
    );
    assert_eq!(
        read(&dir, "rules/flow_and_comments.yml"),
        read(&fixture("fmt/after"), "rules/flow_and_comments.yml")
    );
}

#[test]
fn named_files_only_are_formatted() {
    let (_tmp, dir) = repo(true);
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    let flow = read(&dir, "rules/flow_and_comments.yml");
    std::fs::write(dir.join("templates/t.yml"), &flow).unwrap();
    let (code, stdout, stderr) = fmt(&dir, &["templates/t.yml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stderr, "1 file reformatted, 0 unchanged\n");
    assert_eq!(
        read(&dir, "templates/t.yml"),
        read(&fixture("fmt/after"), "rules/flow_and_comments.yml")
    );
    assert_eq!(
        read(&dir, "rules/flow_and_comments.yml"),
        flow,
        "a file not named was formatted"
    );
}

#[test]
fn crlf_files_are_left_alone() {
    let (_tmp, dir) = repo(false);
    let crlf = read(&dir, "rules/flow_and_comments.yml").replace('\n', "\r\n");
    std::fs::write(dir.join("rules/flow_and_comments.yml"), &crlf).unwrap();
    let (code, _, stderr) = fmt(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("rules/flow_and_comments.yml: warning[fmt-left-unchanged]: left unchanged: CRLF line breaks"),
        "{stderr}"
    );
    assert_eq!(read(&dir, "rules/flow_and_comments.yml"), crlf);
}

/// Every YAML file of the corpus: formatting keeps every parsed value, a
/// second run changes nothing, and nothing is left alone without a reason.
#[test]
fn corpus_formats_without_changing_values_and_is_idempotent() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    copy_dir(&corpus, &dir);
    let yaml_files: Vec<PathBuf> = snapshot(&dir)
        .into_keys()
        .filter(|p| detect::discover::is_yaml_name(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    let parse = |rel: &Path| detect::yaml::parse(&std::fs::read_to_string(dir.join(rel)).unwrap()).ok();
    let before: Vec<_> = yaml_files.iter().map(|p| parse(p)).collect();
    let bytes_before = snapshot(&dir);

    let (_, stdout, stderr) = fmt(&dir, &["--all-dirs"]);
    assert_eq!(stdout, "");
    let summary = stderr.lines().last().unwrap_or_default().to_owned();
    for line in stderr.lines().filter(|l| l.starts_with("warning:")) {
        assert!(!line.contains("please report"), "{line}");
    }
    let mut changed = 0;
    for (rel, old) in yaml_files.iter().zip(&before) {
        let new = parse(rel);
        match (old, &new) {
            (Some(a), Some(b)) => assert!(detect::fmt::same_document(a, b), "{} changed values", rel.display()),
            (None, None) => {}
            _ => panic!("{} changed whether it parses", rel.display()),
        }
        if bytes_before[rel] != std::fs::read(dir.join(rel)).unwrap() {
            changed += 1;
            // Only analysis files that parse are rewritten.
            let root = old.as_ref().and_then(|d| d.root.as_ref());
            assert!(root.and_then(|r| r.get("AnalysisType")).is_some(), "{}", rel.display());
        }
    }
    assert!(
        summary.starts_with(&format!("{changed} file")),
        "{summary} vs {changed} changed"
    );

    let (_, stdout, stderr2) = fmt(&dir, &["--all-dirs", "--check"]);
    assert_eq!(stdout, "", "a second run would change files");
    let after_second = snapshot(&dir);
    let (_, _, _) = fmt(&dir, &["--all-dirs"]);
    assert_eq!(snapshot(&dir), after_second, "a second run changed files");
    eprintln!(
        "corpus: {summary}; second run: {}",
        stderr2.lines().last().unwrap_or_default()
    );
    for line in stderr
        .lines()
        .filter(|l| l.starts_with("warning:") || l.contains("error"))
    {
        eprintln!("  {line}");
    }
}

#[cfg(unix)]
#[test]
fn a_link_to_a_file_outside_the_project_is_left_alone() {
    let (tmp, dir) = repo(false);
    std::fs::write(dir.join(".pat-root"), "").unwrap();
    let flow = read(&dir, "rules/flow_and_comments.yml");
    let outside = tmp.path().join("outside.yml");
    std::fs::write(&outside, &flow).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("rules/link.yml")).unwrap();
    // A link inside the project is still followed.
    std::fs::write(dir.join("rules/inside.txt"), &flow).unwrap();
    std::os::unix::fs::symlink("inside.txt", dir.join("rules/inside_link.yml")).unwrap();
    let (code, stdout, stderr) = fmt(&dir, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("rules/link.yml: warning[fmt-left-unchanged]: left unchanged: it resolves to `")
            && stderr.contains("outside the project root"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        flow,
        "the outside file is byte-identical"
    );
    assert!(
        std::fs::symlink_metadata(dir.join("rules/link.yml"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is not replaced"
    );
    assert_eq!(
        read(&dir, "rules/inside.txt"),
        read(&fixture("fmt/after"), "rules/flow_and_comments.yml")
    );
    // Named on the command line: the same.
    let (code, _, stderr) = fmt(&dir, &["rules/link.yml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("outside the project root"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), flow);
}
