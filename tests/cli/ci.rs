//! The CI integrations: `--format markdown` and `--format codequality`
//! from the binary; the structure of `action.yml` and the GitLab CI
//! example; and the action's scripts run by bash as a runner would, with
//! the built `detect` on PATH and a logging stand-in for `gh`.

use std::collections::BTreeSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::util::{copy_dir, detect, fixture, root, run};

/// The tables of a GFM document: header cells, then rows of cells.
fn tables(md: &str) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    let (mut header, mut rows, mut row) = (Vec::new(), Vec::new(), Vec::new());
    let mut cell: Option<String> = None;
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => row.extend(cell.take()),
            Event::End(TagEnd::TableHead) => header = std::mem::take(&mut row),
            Event::End(TagEnd::TableRow) => rows.push(std::mem::take(&mut row)),
            Event::End(TagEnd::Table) => out.push((std::mem::take(&mut header), std::mem::take(&mut rows))),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            _ => {}
        }
    }
    out
}

fn table<'a>(all: &'a [(Vec<String>, Vec<Vec<String>>)], first: &str) -> &'a (Vec<String>, Vec<Vec<String>>) {
    all.iter()
        .find(|(h, _)| h.first().map(String::as_str) == Some(first))
        .unwrap_or_else(|| panic!("no table starting with {first}: {all:?}"))
}

/// A project with a rule whose ID, file name and test name hold a `|`,
/// and a failing test.
fn piped_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("test fixture");
    copy_dir(&fixture("checks/test_outcomes"), tmp.path());
    std::fs::write(
        tmp.path().join("rules/pipe|name.yml"),
        "AnalysisType: rule\nRuleID: Pipe|Rule\nEnabled: true\nLogTypes: [Okta.SystemLog]\nSeverity: Low\n\
         Detection:\n  - Key: a\n    Condition: Equals\n    Value: b\nTests:\n  - Name: fails | always\n    \
         ExpectedResult: true\n    Log: {a: c}\n",
    )
    .expect("test fixture");
    tmp
}

#[test]
fn markdown_of_test_renders_its_tables_and_failures() {
    let tmp = piped_project();
    let mut c = detect(tmp.path());
    c.args(["test", ".", "--no-python", "--format", "markdown"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("<!-- detect-report -->\n## detect test: ❌ failed"),
        "{out}"
    );
    let all = tables(&out);
    let counts = table(&all, "Passed");
    // failing.yml and the piped rule fail, broken.yml is invalid, the
    // Python rule and the derived rule of an unknown base are skipped.
    assert_eq!(counts.1, [["1", "2", "1", "2", "0", "4", "1"]], "{out}");
    let diags = table(&all, "Location");
    assert_eq!(diags.0, ["Location", "Severity", "Code", "Message", "Help"]);
    assert!(diags.1.iter().all(|r| r.len() == 5), "{out}");
    let piped: Vec<&Vec<String>> = diags
        .1
        .iter()
        .filter(|r| r[0].starts_with("rules/pipe|name.yml:"))
        .collect();
    assert_eq!(piped.len(), 1, "{out}");
    assert_eq!(piped[0][2], "test-failed");
    assert_eq!(
        piped[0][3],
        "test 'fails | always': expected true, the detection did not match"
    );
    assert!(
        out.contains("- **Pipe\\|Rule** › fails \\| always (rules/pipe\\|name.yml): expected an alert"),
        "{out}"
    );
    assert!(
        out.contains("  ```text\n  ✗ Detection (all of)\n    ✗ Key: a Equals \"b\" (saw \"c\")\n  ```\n"),
        "{out}"
    );
}

#[test]
fn markdown_with_changed_since_names_the_selected_items() {
    let tmp = tempfile::tempdir().expect("test fixture");
    copy_dir(&fixture("checks/test_outcomes"), tmp.path());
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(tmp.path())
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok || std::env::var("CI").is_err(), "git {args:?} failed under CI");
        ok
    };
    if !git(&["init", "-q"]) || !git(&["add", "."]) || !git(&["commit", "-qm", "base"]) {
        eprintln!("skipping: git is not usable here");
        return;
    }
    let passing = tmp.path().join("rules/passing.yml");
    let text = std::fs::read_to_string(&passing).expect("fixture");
    std::fs::write(&passing, format!("{text}\n# changed\n")).expect("fixture");
    let mut c = detect(tmp.path());
    c.args(["validate", ".", "--changed-since", "HEAD", "--format", "markdown"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0, "{out}");
    let all = tables(&out);
    let selected = table(&all, "Detection");
    assert_eq!(selected.1.len(), 1, "{out}");
    assert_eq!(selected.1[0][1], "rules/passing.yml");
    assert_eq!(selected.1[0][2], "changed");
    // broken.yml did not change: its error is not reported.
    assert!(!out.contains("broken.yml"), "{out}");
}

#[test]
fn codequality_of_test_has_gitlabs_fields_and_locates_test_failures() {
    let tmp = piped_project();
    let mut c = detect(tmp.path());
    c.args(["test", ".", "--no-python", "--format", "codequality"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let issues = doc.as_array().expect("an array");
    assert!(!issues.is_empty());
    let mut fingerprints = BTreeSet::new();
    for i in issues {
        let keys: BTreeSet<&str> = i.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["check_name", "description", "fingerprint", "location", "severity"])
        );
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&i["severity"].as_str().unwrap_or("")));
        assert!(i["location"]["path"].is_string() && i["location"]["lines"]["begin"].is_u64());
        assert!(fingerprints.insert(i["fingerprint"].as_str().expect("string").to_owned()));
    }
    let failed: Vec<_> = issues
        .iter()
        .filter(|i| i["check_name"] == "test-failed" && i["location"]["path"] == "rules/pipe|name.yml")
        .collect();
    assert_eq!(failed.len(), 1, "{out}");
    // The test's `- Name:` item is on line 11.
    assert_eq!(failed[0]["location"]["lines"]["begin"], 11);
    assert_eq!(failed[0]["severity"], "major");
    // The same run gives the same fingerprints.
    let mut again = detect(tmp.path());
    again.args(["test", ".", "--no-python", "--format", "codequality"]);
    assert_eq!(run(again).1, out);
}

#[test]
fn other_commands_report_in_markdown_and_codequality_too() {
    let tmp = tempfile::tempdir().expect("test fixture");
    copy_dir(&fixture("checks/test_outcomes"), tmp.path());
    std::fs::write(
        tmp.path().join("rules/unparsable.yml"),
        "AnalysisType: rule\nRuleID: [\n",
    )
    .expect("test fixture");
    let mut c = detect(tmp.path());
    c.args(["fmt", "--check", ".", "--format", "markdown"]);
    let (_, out, err) = run(c);
    assert!(out.starts_with("<!-- detect-report -->\n## detect fmt:"), "{out}{err}");
    let all = tables(&out);
    let diags = table(&all, "Location");
    assert!(
        diags.1.iter().any(|r| r[0].starts_with("rules/unparsable.yml:")),
        "{out}"
    );
    let mut c = detect(tmp.path());
    c.args(["fmt", "--check", ".", "--format", "codequality"]);
    let (_, out, err) = run(c);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert!(
        doc.as_array()
            .is_some_and(|a| a.iter().all(|i| i["fingerprint"].is_string()))
    );
}

/// The `inputs.NAME` a text uses, in `${{ }}` and in `if:` conditions
/// (which are expressions without the braces).
fn inputs_used(text: &str) -> BTreeSet<String> {
    text.match_indices("inputs.")
        .filter(|(i, _)| {
            text[..*i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        })
        .map(|(i, _)| {
            text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_action_is_a_composite_action_whose_inputs_are_declared() {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let doc = detect::yaml::parse(&text).expect("action.yml is YAML");
    let top = doc.root.as_ref().expect("a document");
    assert!(top.get("name").and_then(|n| n.as_str()).is_some());
    assert!(top.get("description").and_then(|n| n.as_str()).is_some());
    let runs = top.get("runs").expect("runs");
    assert_eq!(runs.get("using").and_then(|u| u.as_str()), Some("composite"));
    let steps = runs.get("steps").and_then(|s| s.as_seq()).expect("steps");
    for s in steps {
        // A composite step runs a script with a shell, or uses an action.
        let script = s.get("run").is_some() && s.get("shell").and_then(|x| x.as_str()) == Some("bash");
        assert!(script || s.get("uses").is_some(), "{:?}", s.get("name"));
    }
    assert!(steps.iter().any(|s| {
        s.get("uses")
            .and_then(|u| u.as_str())
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    }));
    let declared: BTreeSet<String> = top
        .get("inputs")
        .and_then(|i| i.as_map())
        .expect("inputs")
        .iter()
        .filter_map(|(k, v)| {
            assert!(v.get("description").is_some(), "{:?} has no description", k.as_str());
            k.as_str().map(str::to_owned)
        })
        .collect();
    for want in ["version", "path", "changed-since", "python", "args"] {
        assert!(declared.contains(want), "input {want} is missing");
    }
    let used = inputs_used(&text);
    assert!(used.len() >= 8, "{used:?}");
    for u in &used {
        assert!(declared.contains(u), "`inputs.{u}` is used but not declared");
    }
    // Every declared input is used somewhere.
    for d in &declared {
        assert!(used.contains(d), "input {d} is declared but never used");
    }
    // The comment is found by the marker the markdown report writes.
    assert!(text.contains("<!-- detect-report -->"));
    assert!(text.contains("--format github") && text.contains("--format markdown") && text.contains("--format sarif"));
}

#[test]
fn the_gitlab_example_uploads_code_quality_and_junit_reports() {
    let text = std::fs::read_to_string(root().join("examples/gitlab-ci.yml")).expect("examples/gitlab-ci.yml");
    let doc = detect::yaml::parse(&text).expect("YAML");
    let top = doc.root.as_ref().expect("a document");
    let job = top.get("detect").expect("a `detect` job");
    let reports = job
        .get("artifacts")
        .and_then(|a| a.get("reports"))
        .expect("artifacts.reports");
    let cq = reports
        .get("codequality")
        .and_then(|c| c.as_str())
        .expect("codequality");
    let junit = reports.get("junit").and_then(|c| c.as_str()).expect("junit");
    let script: Vec<&str> = job
        .get("script")
        .and_then(|s| s.as_seq())
        .expect("script")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    let script = script.join("\n");
    assert!(
        script.contains(&format!("--format codequality --output {cq}")),
        "{script}"
    );
    assert!(script.contains(&format!("--format junit --output {junit}")), "{script}");
    if !has_shell_tools() {
        return;
    }
    // The script, as the runner's shell runs it, on a repository with an
    // invalid file and a failing test: the job fails, both reports are there.
    let tmp = tempfile::tempdir().expect("test fixture");
    copy_dir(&fixture("checks/test_outcomes"), tmp.path());
    for f in ["rules/python.py", "rules/python.yml"] {
        std::fs::remove_file(tmp.path().join(f)).expect("test fixture");
    }
    let bin = assert_cmd::cargo::cargo_bin("detect");
    let path = format!(
        "{}:{}",
        bin.parent().expect("a folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let issues: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join(cq)).expect("the report")).expect("JSON");
    assert!(
        issues
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["check_name"] == "unknown-condition"))
    );
    let xml = std::fs::read_to_string(tmp.path().join(junit)).expect("the JUnit report");
    assert!(
        xml.contains("<failure") && xml.contains("<testsuite name=\"invalid\""),
        "{xml}"
    );
}

/// The `run:` script of the action's step named `name`.
fn action_step(name: &str) -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let doc = detect::yaml::parse(&text).expect("YAML");
    let steps = doc
        .root
        .as_ref()
        .and_then(|r| r.get("runs"))
        .and_then(|r| r.get("steps"))
        .and_then(|s| s.as_seq())
        .expect("steps");
    steps
        .iter()
        .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(name))
        .and_then(|s| s.get("run"))
        .and_then(|r| r.as_str())
        .unwrap_or_else(|| panic!("no step {name}"))
        .to_owned()
}

#[test]
fn the_action_scripts_take_inputs_from_the_environment_only() {
    // An expression inside a script is pasted into the shell code: a branch
    // name or input could inject commands. Scripts read `env:` instead.
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let doc = detect::yaml::parse(&text).expect("YAML");
    let steps = doc
        .root
        .as_ref()
        .and_then(|r| r.get("runs"))
        .and_then(|r| r.get("steps"))
        .and_then(|s| s.as_seq());
    let scripts: Vec<&str> = steps
        .expect("steps")
        .iter()
        .filter_map(|s| s.get("run").and_then(|r| r.as_str()))
        .collect();
    assert_eq!(scripts.len(), 4);
    for s in scripts {
        assert!(!s.contains("${{"), "{s}");
    }
}

/// Whether `bash` and `jq` (on every GitHub runner) run here; under CI a
/// missing one is reported but does not fail: `.ci/run` does not install them.
#[expect(clippy::print_stderr, reason = "says why the test is skipped")]
fn has_shell_tools() -> bool {
    let runs = |p: &str| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = runs("bash") && runs("jq");
    if !ok {
        eprintln!("skipping: bash or jq does not run here");
    }
    ok
}

/// A stand-in for `gh` on PATH: logs its arguments, answers `--jq FILTER`
/// by running jq on `$FAKE_GH_COMMENTS` (as `gh api --jq` filters the
/// response) and keeps the file of `body=@FILE`.
fn fake_gh(dir: &std::path::Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("test fixture");
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >> \"$FAKE_GH_LOG\"\nprev=\"\"\nfor a in \"$@\"; do\n  \
         if [ \"$prev\" = --jq ]; then jq -r \"$a\" \"$FAKE_GH_COMMENTS\"; exit $?; fi\n  \
         case \"$a\" in body=@*) cp \"${a#body=@}\" \"$FAKE_GH_BODY\" ;; esac\n  prev=\"$a\"\ndone\n",
    )
    .expect("test fixture");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).expect("test fixture");
    }
    bin
}

/// Runs the comment step for `event` (`pull_request` from `head`, or
/// another event) with these existing comments: (exit code, output, gh log,
/// the body gh was given).
fn comment_step(event: &str, head: &str, comments: &serde_json::Value) -> (i32, String, String, Option<String>) {
    let tmp = tempfile::tempdir().expect("test fixture");
    let bin = fake_gh(tmp.path());
    let p = |n: &str| tmp.path().join(n);
    std::fs::write(p("comments.json"), comments.to_string()).expect("test fixture");
    let payload = serde_json::json!({"pull_request": {"number": 7, "head": {"repo": {"full_name": head}}, "base": {"sha": "abc"}}});
    std::fs::write(p("event.json"), payload.to_string()).expect("test fixture");
    std::fs::write(p("comment.md"), "<!-- detect-report -->\n## detect test: ✅ passed\n").expect("test fixture");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("bash")
        .args(["-c", &action_step("Update the pull-request comment")])
        .env_clear()
        .env("PATH", path)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", p("event.json"))
        .env("GITHUB_REPOSITORY", "acme/detections")
        .env("GH_TOKEN", "t")
        .env("REPORT", p("comment.md"))
        .env("FAKE_GH_LOG", p("gh.log"))
        .env("FAKE_GH_COMMENTS", p("comments.json"))
        .env("FAKE_GH_BODY", p("body.md"))
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        std::fs::read_to_string(p("gh.log")).unwrap_or_default(),
        std::fs::read_to_string(p("body.md")).ok(),
    )
}

#[test]
fn the_comment_step_updates_the_marked_comment_or_posts_one() {
    if !has_shell_tools() {
        return;
    }
    let comments = serde_json::json!([
        {"id": 41, "body": "LGTM <!-- detect-report --> quoted"},
        {"id": 42, "body": "<!-- detect-report -->\n## detect test: ❌ failed"},
    ]);
    let (code, out, log, body) = comment_step("pull_request", "acme/detections", &comments);
    assert_eq!(code, 0, "{out}");
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 2, "{log}");
    assert!(
        calls[0].starts_with("api --paginate repos/acme/detections/issues/7/comments --jq"),
        "{log}"
    );
    assert!(
        calls[1].starts_with("api --method PATCH repos/acme/detections/issues/comments/42 -F body=@"),
        "{log}"
    );
    assert_eq!(
        body.as_deref(),
        Some("<!-- detect-report -->\n## detect test: ✅ passed\n")
    );

    let (code, out, log, _) = comment_step(
        "pull_request",
        "acme/detections",
        &serde_json::json!([{"id": 41, "body": "hi"}]),
    );
    assert_eq!(code, 0, "{out}");
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 2, "{log}");
    assert!(
        calls[1].starts_with("api --method POST repos/acme/detections/issues/7/comments -F body=@"),
        "{log}"
    );
}

#[test]
fn the_comment_step_skips_forks_and_other_events() {
    if !has_shell_tools() {
        return;
    }
    let none = serde_json::json!([]);
    let (code, out, log, _) = comment_step("pull_request", "someone/fork", &none);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("from a fork (someone/fork)"), "{out}");
    assert_eq!(log, "");
    let (code, out, log, _) = comment_step("push", "", &none);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Not a pull request (push)"), "{out}");
    assert_eq!(log, "");
}

/// Runs the action's detect step in the `workspace` with the input `path`
/// for `event` (`base` is the pull request's base commit): (exit code,
/// stdout, the runner's temp folder).
fn run_step(workspace: &std::path::Path, path: &str, event: &str, base: &str) -> (i32, String, tempfile::TempDir) {
    let runner = tempfile::tempdir().expect("test fixture");
    let payload = serde_json::json!({"pull_request": {"number": 7, "base": {"sha": base}}});
    std::fs::write(runner.path().join("event.json"), payload.to_string()).expect("test fixture");
    let bin = assert_cmd::cargo::cargo_bin("detect");
    let bin_dir = bin.parent().expect("a folder");
    let search = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new("bash")
        .args(["-c", &action_step("Run detect validate and detect test")])
        .current_dir(workspace)
        .env_clear()
        .env("PATH", search)
        .env("NO_COLOR", "1")
        .env("DETECT_PATH", path)
        .env("RUNNER_TEMP", runner.path())
        .env("GITHUB_OUTPUT", runner.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", runner.path().join("summary"))
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", runner.path().join("event.json"))
        .env("DETECT_CHANGED_SINCE", "auto")
        .env("DETECT_PYTHON", "")
        .env("DETECT_ARGS", "")
        .env("DETECT_SARIF", "true")
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text, runner)
}

fn read(p: std::path::PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_run_step_annotates_once_and_writes_the_reports() {
    if !has_shell_tools() {
        return;
    }
    // The detections in a folder of the repository (the workspace).
    let tmp = tempfile::tempdir().expect("test fixture");
    let repo = tmp.path().join("detections");
    copy_dir(&fixture("checks/test_outcomes"), &repo);
    // Without Python detections the outcome does not depend on the machine.
    for f in ["rules/python.py", "rules/python.yml"] {
        std::fs::remove_file(repo.join(f)).expect("test fixture");
    }
    let (code, out, runner) = run_step(tmp.path(), "detections", "push", "");
    assert_eq!(code, 0, "{out}");
    let outputs = read(runner.path().join("output"));
    assert!(
        outputs.contains("validate=1\n") && outputs.contains("test=1\n"),
        "{outputs}"
    );
    // validate's annotation, on the file's path in the repository, not
    // repeated by test.
    assert_eq!(
        out.matches("::error file=detections/rules/broken.yml,line=8,col=16,title=unknown-condition::")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(out.matches("title=test-failed::").count(), 2, "{out}");
    let comment = read(runner.path().join("detect-report/comment.md"));
    assert!(
        comment.starts_with("<!-- detect-report -->\n## detect test: ❌ failed"),
        "{comment}"
    );
    assert_eq!(read(runner.path().join("summary")), comment);
    let sarif_path = outputs
        .lines()
        .find_map(|l| l.strip_prefix("sarif="))
        .expect("a sarif output");
    let sarif: serde_json::Value = serde_json::from_str(&read(sarif_path.into())).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!comment.contains("Selected by"), "a push checks everything: {comment}");
}

#[test]
fn the_run_step_of_a_pull_request_checks_what_changed_since_its_base() {
    if !has_shell_tools() {
        return;
    }
    let tmp = tempfile::tempdir().expect("test fixture");
    let repo = tmp.path().join("repo");
    copy_dir(&fixture("checks/test_outcomes"), &repo);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(git(&["init", "-q"]) && git(&["add", "."]) && git(&["commit", "-qm", "base"])) {
        assert!(std::env::var_os("CI").is_none(), "git does not run under CI");
        eprintln!("skipping: git does not run");
        return;
    }
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&repo)
        .output()
        .expect("git runs");
    let base = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let passing = repo.join("rules/passing.yml");
    std::fs::write(&passing, read(passing.clone()) + "# changed\n").expect("test fixture");
    let (code, out, runner) = run_step(&repo, ".", "pull_request", &base);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("Checking what changed since {base}")), "{out}");
    let outputs = read(runner.path().join("output"));
    assert!(
        outputs.contains("validate=0\n") && outputs.contains("test=0\n"),
        "{outputs}{out}"
    );
    let comment = read(runner.path().join("detect-report/comment.md"));
    assert!(comment.contains("## detect test: ✅ passed"), "{comment}");
    let all = tables(&comment);
    assert_eq!(
        table(&all, "Detection").1,
        [["Outcomes.Passing", "rules/passing.yml", "changed"]]
    );
}
