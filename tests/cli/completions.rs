//! `detect completions`, `detect man` and the pre-commit hooks of
//! `.pre-commit-hooks.yaml`.

use std::path::Path;
use std::process::Stdio;

use crate::util::{detect, root, run, run_in};

/// Every command of `detect`, written out by hand from `detect --help`.
const COMMANDS: &[&str] = &[
    "validate",
    "test",
    "show",
    "derive",
    "fmt",
    "zip",
    "upload",
    "check-connection",
    "delete",
    "run",
    "alerts",
    "python-env",
    "completions",
    "man",
    "schema",
    "coverage",
    "lsp",
];

/// The commands under `detect alerts`.
const ALERTS: &[&str] = &["deliver", "resend", "test", "log"];

fn script(shell: &str) -> String {
    let (code, out, err) = run_in(&root(), ["completions", shell]);
    assert_eq!(code, 0, "{shell}: {err}");
    assert!(err.is_empty(), "{shell}: {err}");
    out
}

fn on_path(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `bash -c CODE` and returns (exit code, stdout, stderr).
fn bash(code: &str) -> (i32, String, String) {
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", code])
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bash_script_is_valid_bash_and_names_every_command() {
    let text = script("bash");
    // The script lists the words to offer space-separated in `opts="..."`.
    let offered: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("opts=\""))
        .flat_map(|l| l.trim_end_matches('"').split_whitespace())
        .collect();
    for name in COMMANDS.iter().chain(ALERTS) {
        assert!(offered.contains(name), "bash script does not offer `{name}`");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("detect.bash");
    std::fs::write(&file, &text).expect("write script");
    let (code, _, err) = bash(&format!("bash -n '{}'", file.display()));
    assert_eq!(code, 0, "bash -n rejects the script: {err}");
}

/// The script completes as bash does it: `_detect` called with the words
/// typed so far fills `COMPREPLY`.
#[test]
fn bash_script_completes_commands_and_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("detect.bash");
    std::fs::write(&file, script("bash")).expect("write script");
    let complete = |words: &[&str]| -> Vec<String> {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let code = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _detect detect '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display(),
            quoted.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let (status, out, err) = bash(&code);
        assert_eq!(status, 0, "{words:?}: {err}");
        let mut got: Vec<String> = out.lines().map(str::to_owned).collect();
        got.sort();
        got
    };
    assert_eq!(complete(&["detect", "te"]), ["test"]);
    assert_eq!(complete(&["detect", "python-"]), ["python-env"]);
    assert_eq!(complete(&["detect", "alerts", "re"]), ["resend"]);
    assert_eq!(complete(&["detect", "test", "--no-py"]), ["--no-python"]);
    assert_eq!(complete(&["detect", "completions", "f"]), ["fish"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    let zsh = script("zsh");
    assert!(zsh.starts_with("#compdef detect"), "{}", &zsh[..zsh.len().min(200)]);
    for name in COMMANDS.iter().chain(ALERTS) {
        // `_describe` entries: 'name:summary'.
        assert!(zsh.contains(&format!("'{name}:")), "zsh script does not offer `{name}`");
    }
    let fish = script("fish");
    for name in COMMANDS {
        let entry = format!("-n \"__fish_detect_needs_command\" -f -a \"{name}\"");
        assert!(fish.contains(&entry), "fish script does not offer `{name}`");
    }
    for name in ALERTS {
        let entry = format!(
            "__fish_detect_using_subcommand alerts; and not __fish_seen_subcommand_from deliver resend test log\" -f -a \"{name}\""
        );
        assert!(fish.contains(&entry), "fish script does not offer `alerts {name}`");
    }
    for shell in ["elvish", "powershell"] {
        let text = script(shell);
        assert!(
            text.contains("python-env") && text.contains("check-connection"),
            "{shell}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let (code, out, err) = run_in(&root(), ["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("invalid value 'tcsh'") && err.contains("bash"), "{err}");
}

/// The lines of `page` between the line `from` and the next `.SH`.
fn section<'a>(page: &'a str, from: &str) -> Vec<&'a str> {
    let mut lines = page.lines().skip_while(|l| *l != from);
    assert!(lines.next().is_some(), "no `{from}` in the page");
    lines.take_while(|l| !l.starts_with(".SH ")).collect()
}

#[test]
fn man_prints_one_page_with_a_section_per_command() {
    let (code, page, err) = run_in(&root(), ["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.lines().any(|l| l.starts_with(".TH DETECT 1 ")),
        "{}",
        &page[..page.len().min(300)]
    );
    // Each command has its section; `test`'s has its own options.
    for name in COMMANDS {
        let heading = format!(".SH \"DETECT {}\"", name.to_uppercase());
        assert!(page.lines().any(|l| l == heading), "no `{heading}`");
    }
    let test = section(&page, ".SH \"DETECT TEST\"");
    assert!(test.contains(&".SS OPTIONS"), "{test:?}");
    for flag in [
        "\\fB\\-\\-explain\\fR",
        "\\fB\\-\\-minimum\\-tests\\fR",
        "\\fB\\-\\-test\\-names\\fR",
    ] {
        assert!(
            test.iter().any(|l| l.starts_with(flag)),
            "`detect test` section lacks {flag}"
        );
    }
    // `validate` has no test flags: the sections do not run into each other.
    let validate = section(&page, ".SH \"DETECT VALIDATE\"");
    assert!(!validate.iter().any(|l| l.contains("\\-\\-explain")), "{validate:?}");
    // The environment and exit codes of `--help`.
    let env = section(&page, ".SH \"ENVIRONMENT AND EXIT STATUS\"");
    assert!(env.iter().any(|l| l.contains("PANTHER_API_TOKEN")), "{env:?}");
    // The preamble once, at the top.
    assert_eq!(page.matches(".ds Aq").count(), 2, "preamble repeated");
}

#[test]
fn man_page_is_clean_roff() {
    if !on_path("groff") {
        assert!(std::env::var("CI").is_err(), "groff is missing and CI is set");
        return;
    }
    let (_, page, _) = run_in(&root(), ["man"]);
    let mut child = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), page.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("groff ends");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn man_out_writes_a_page_per_command() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("man/man1");
    let (code, out, err) = run_in(&root(), ["man".as_ref(), "--out".as_ref(), dir.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    let mut expected: Vec<String> = vec!["detect.1".to_owned()];
    expected.extend(COMMANDS.iter().map(|c| format!("detect-{c}.1")));
    expected.extend(ALERTS.iter().map(|c| format!("detect-alerts-{c}.1")));
    expected.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("folder written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, expected);
    // stdout lists what was written, one path a line.
    assert_eq!(out.lines().count(), expected.len(), "{out}");
    assert!(out.lines().all(|l| Path::new(l).is_file()), "{out}");
    // Each page is titled by its command; detect.1 is the page `man` prints.
    for name in &expected {
        let text = std::fs::read_to_string(dir.join(name)).expect("page");
        let title = name.trim_end_matches(".1").to_uppercase();
        assert!(text.contains(&format!("\n.TH {title} 1 ")), "{name}");
    }
    let test = std::fs::read_to_string(dir.join("detect-test.1")).expect("page");
    let options = section(&test, ".SH OPTIONS");
    assert!(
        options.iter().any(|l| l.starts_with("\\fB\\-\\-explain\\fR")),
        "{options:?}"
    );
    assert!(test.contains("\n.SH \"ENVIRONMENT AND EXIT STATUS\"\n"));
    let (_, whole, _) = run_in(&root(), ["man"]);
    assert_eq!(std::fs::read_to_string(dir.join("detect.1")).expect("page"), whole);
}

#[test]
fn man_out_on_a_file_names_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("taken");
    std::fs::write(&file, "x").expect("write");
    let (code, out, err) = run_in(&root(), ["man".as_ref(), "--out".as_ref(), file.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.starts_with("error: cannot create `") && err.contains("taken`"),
        "{err}"
    );
}

/// One hook of `.pre-commit-hooks.yaml`.
struct Hook {
    id: String,
    entry: String,
    files: String,
    pass_filenames: bool,
}

fn hooks() -> Vec<Hook> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("hooks file");
    let doc = detect::yaml::parse(&text).unwrap_or_else(|e| panic!("not YAML: {e:?}"));
    let top = doc.root.expect("a document");
    let items = top.as_seq().expect("a list of hooks");
    items
        .iter()
        .map(|h| {
            assert!(h.as_map().is_some(), "a hook is a mapping");
            let text = |key: &str| -> String {
                let v = h.get(key).unwrap_or_else(|| panic!("a hook lacks `{key}`"));
                v.as_str()
                    .unwrap_or_else(|| panic!("`{key}` is not a string"))
                    .to_owned()
            };
            // The keys pre-commit requires.
            for key in ["id", "name", "entry", "language"] {
                assert!(!text(key).is_empty(), "`{key}` is empty");
            }
            assert_eq!(text("language"), "rust", "{}", text("id"));
            let pass_filenames = match h.get("pass_filenames").map(|v| v.to_json()) {
                Some(Ok(serde_json::Value::Bool(b))) => b,
                other => panic!("{}: pass_filenames is {other:?}", text("id")),
            };
            Hook {
                id: text("id"),
                entry: text("entry"),
                files: text("files"),
                pass_filenames,
            }
        })
        .collect()
}

#[test]
fn pre_commit_hooks_have_the_keys_pre_commit_requires() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["detect-validate", "detect-test", "detect-fmt"]);
    let passes: Vec<bool> = hooks.iter().map(|h| h.pass_filenames).collect();
    assert_eq!(passes, [true, false, true]);
    for h in &hooks {
        let words: Vec<&str> = h.entry.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"detect"), "{}", h.id);
        assert!(
            words.len() == 2 && COMMANDS.contains(&words[1]),
            "{}: {}",
            h.id,
            h.entry
        );
    }
}

/// The `files` patterns, as pre-commit applies them (Python's `re.search`
/// on the path relative to the repository).
#[test]
fn pre_commit_file_patterns_select_analysis_files() {
    let python = ["python3", "python"].into_iter().find(|p| on_path(p));
    let Some(python) = python else {
        assert!(std::env::var("CI").is_err(), "no python3 and CI is set");
        return;
    };
    let paths = [
        "rules/a.yml",
        "rules/b.yaml",
        "rules/a.py",
        "README.md",
        "rules/x.yml.bak",
    ];
    for h in hooks() {
        let code = "import re, sys\nfor p in sys.argv[2:]:\n    print(p, bool(re.search(sys.argv[1], p)))";
        let out = std::process::Command::new(python)
            .args(["-c", code, &h.files])
            .args(paths)
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let selected: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(" True").map(str::to_owned))
            .collect();
        let expected: &[&str] = match h.id.as_str() {
            "detect-test" => &["rules/a.yml", "rules/b.yaml", "rules/a.py"],
            _ => &["rules/a.yml", "rules/b.yaml"],
        };
        assert_eq!(selected, expected, "{}", h.id);
    }
}

/// The hooks run as pre-commit runs them: the entry, then the staged files
/// when `pass_filenames` is true, in the repository root.
#[test]
fn pre_commit_hooks_run_on_a_sample_repository() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path();
    std::fs::create_dir_all(repo.join("rules")).expect("mkdir");
    std::fs::create_dir_all(repo.join(".github")).expect("mkdir");
    std::fs::write(repo.join(".pat-root"), "").expect("write");
    let rule = "AnalysisType: rule\nRuleID: Sample.Login\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection:\n  - KeyPath: eventName\n    Condition: Equals\n    Value: ConsoleLogin\nTests:\n  - Name: a login\n    ExpectedResult: true\n    Log:\n      eventName: ConsoleLogin\n";
    std::fs::write(repo.join("rules/login.yml"), rule).expect("write");
    let ci = "on: [push]\n";
    std::fs::write(repo.join(".github/ci.yml"), ci).expect("write");
    let staged = ["rules/login.yml", ".github/ci.yml"];
    let hook_run = |h: &Hook| -> (i32, String, String) {
        let mut c = detect(repo);
        c.args(h.entry.split_whitespace().skip(1));
        if h.pass_filenames {
            c.args(staged);
        }
        run(c)
    };
    let hooks = hooks();
    let by_id = |id: &str| hooks.iter().find(|h| h.id == id).expect("hook");

    let (code, out, err) = hook_run(by_id("detect-validate"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Passed: 1  Failed: 0  Invalid: 0"), "{out}");
    let (code, out, err) = hook_run(by_id("detect-test"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 test: 1 passed, 0 failed"), "{out}");

    // fmt rewrites the rule (the flow list becomes a block list) and leaves
    // YAML that is not an analysis file alone.
    let (code, out, err) = hook_run(by_id("detect-fmt"));
    assert_eq!(code, 0, "{out}{err}");
    let formatted = std::fs::read_to_string(repo.join("rules/login.yml")).expect("read");
    assert_eq!(
        formatted,
        rule.replace("LogTypes: [AWS.CloudTrail]\n", "LogTypes:\n  - AWS.CloudTrail\n")
    );
    assert_eq!(std::fs::read_to_string(repo.join(".github/ci.yml")).expect("read"), ci);

    // An invalid rule fails the validate hook, at its line.
    std::fs::write(
        repo.join("rules/login.yml"),
        rule.replace("Severity: Low", "Severity: Loud"),
    )
    .expect("write");
    let (code, out, err) = hook_run(by_id("detect-validate"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("rules/login.yml:5:"), "{out}");
}
