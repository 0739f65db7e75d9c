//! Differential: `detect test` agrees with PAT 1.11.1 on the Python fixture
//! repositories of `fixtures/python/` (issue 14).
//!
//! For each repository both tools run from inside a copy of it on `.`: PAT as
//! `$DETECT_TEST_PAT --skip-version-check test --path .` (or PAT's entry
//! point run by `$DETECT_TEST_PYTHON`), `detect` as `detect test . --format
//! json --python $DETECT_TEST_PYTHON`. PAT's printed report is parsed into
//! (detection, test, PASS/FAIL, [(function, PASS/FAIL, output)], captured
//! output) and compared, entry by entry, with `detect`'s JSON, together with
//! each detection's overall verdict (PAT's summary lists Failed / Invalid /
//! Skipped). Some repositories are also run with the same selection flags
//! given to both tools.
//!
//! PAT's own numbers for each repository are pinned too (hand-checked against
//! the spec, see docs/python.md), so a different PAT fails loudly instead of
//! moving the reference silently.
//!
//! `inline_filters_native` is not compared with PAT, which skips InlineFilters
//! offline: its expectations below are worked out by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::python_env::{interpreter, repo_copy};
use crate::util::{detect, run};

/// One printed function line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Function {
    /// `rule`, `policy`, `title`, `dedup`, `alertContext`, ...
    name: String,
    passed: bool,
    /// The output, or the error message when the function raised.
    output: String,
}

/// One test of one detection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Case {
    name: String,
    passed: bool,
    functions: Vec<Function>,
    /// What the test printed (stdout and stderr), without trailing newlines.
    stdout: String,
}

/// One tool's results: tests and overall verdict per detection ID.
#[derive(Debug, Default)]
struct Results {
    tests: BTreeMap<String, Vec<Case>>,
    /// `passed`, `failed`, `invalid`, or anything else the tool said.
    verdicts: BTreeMap<String, String>,
    /// PAT only: tests it ran but printed no line for (a mock of a name the
    /// module lacks makes `patch.multiple` raise before the test runs), by
    /// name, from "Failed Tests Summary". They failed.
    unprinted: BTreeMap<String, Vec<String>>,
}

/// PAT's summary and test counts for a repository, checked by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PatCounts {
    passed: u64,
    failed: u64,
    invalid: u64,
    skipped: u64,
    tests_passed: usize,
    tests_failed: usize,
}

/// PAT's summary: `[passed, failed, invalid, skipped]` detections and
/// `[passed, failed]` tests.
fn counts(items: [u64; 4], tests: [usize; 2]) -> PatCounts {
    PatCounts {
        passed: items[0],
        failed: items[1],
        invalid: items[2],
        skipped: items[3],
        tests_passed: tests[0],
        tests_failed: tests[1],
    }
}

/// PAT's entry point, for a Python that has PAT but no script on `PATH`.
const PAT_MAIN: &str =
    "import sys\nfrom panther_analysis_tool.main import run\nsys.argv[0] = 'panther_analysis_tool'\nsys.exit(run())\n";

/// Every `RuleID` / `PolicyID` of the repository with its YAML file
/// (relative, `/`-separated).
fn detection_ids(repo: &Path) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("test fixture") {
            let path = e.expect("test fixture").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|x| x.to_str()) != Some("yml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("test fixture");
            for line in text.lines() {
                let value = line.strip_prefix("RuleID:").or_else(|| line.strip_prefix("PolicyID:"));
                if let Some(v) = value {
                    let id = v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
                    let rel = path
                        .strip_prefix(repo)
                        .expect("below the repository")
                        .to_string_lossy()
                        .replace('\\', "/");
                    ids.insert(id, rel);
                }
            }
        }
    }
    ids
}

/// Text without ANSI colour sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Every UUID replaced by `<uuid>`: PAT gives each destination named in
/// `ExpectedDestinations` a random ID and prints it.
fn redact_uuids(s: &str) -> String {
    fn is_uuid(b: &[u8]) -> bool {
        b.len() == 36
            && b.iter().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    *c == b'-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let ch = s[i..].chars().next().expect("i < len");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The lines a test printed, as one string without trailing blank lines.
fn joined(lines: &mut Vec<String>) -> String {
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let s = lines.join("\n");
    lines.clear();
    s
}

/// PAT's report parsed. Lines that are neither a detection ID, a test line
/// (`\t[PASS] name`) nor a function line (`\t\t[PASS] [name] output`) are
/// the output a test printed: PAT prints it just before the test's line.
/// (A function output spanning several lines would be misread; no fixture
/// has one.)
struct Pat {
    results: Results,
    failed_summary: BTreeSet<String>,
    invalid_files: Vec<String>,
    counts: BTreeMap<String, u64>,
}

fn parse_pat(stdout: &str, ids: &BTreeMap<String, String>) -> Pat {
    let text = strip_ansi(stdout);
    let mut results = Results::default();
    let mut current: Option<String> = None;
    let mut pending: Vec<String> = Vec::new();
    let mut names_skipped = BTreeSet::new();
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if line == "--------------------------" {
            break;
        }
        if ids.contains_key(line) {
            current = Some(line.to_owned());
            results.tests.entry(line.to_owned()).or_default();
            pending.clear();
            continue;
        }
        let Some(id) = &current else { continue };
        let cases = results.tests.get_mut(id).expect("entry made with the ID");
        if line.starts_with("\tNo tests match the provided test names") {
            names_skipped.insert(id.clone());
        } else if let Some((passed, name)) = status_prefix(line, "\t") {
            cases.push(Case {
                name: name.to_owned(),
                passed,
                functions: Vec::new(),
                stdout: joined(&mut pending),
            });
        } else if let Some((passed, rest)) = status_prefix(line, "\t\t").filter(|(_, r)| r.starts_with('[')) {
            let (name, output) = rest[1..]
                .split_once("] ")
                .unwrap_or((rest[1..].trim_end_matches(']'), ""));
            let case = cases
                .last_mut()
                .unwrap_or_else(|| panic!("{id}: a function line before any test: {line:?}"));
            case.functions.push(Function {
                name: name.to_owned(),
                passed,
                output: redact_uuids(output),
            });
        } else if !(line.is_empty() && pending.is_empty()) {
            pending.push(line.to_owned());
        }
    }
    let mut failed_summary = BTreeSet::new();
    let mut invalid_files = Vec::new();
    let mut counts = BTreeMap::new();
    let mut section = "";
    let mut failed_id = String::new();
    let mut skipped = BTreeSet::new();
    for line in lines {
        if section == "skipped"
            && let Some(id) = line.strip_prefix("\t\t")
        {
            skipped.insert(id.to_owned());
            continue;
        }
        if section == "failed"
            && let Some(list) = line.strip_prefix("\t\t")
        {
            let printed = results.tests.get(&failed_id).map(Vec::as_slice).unwrap_or_default();
            for entry in python_strings(list) {
                let shown = printed
                    .iter()
                    .any(|c| entry == c.name || entry.starts_with(&format!("{}:", c.name)));
                if !shown && !entry.starts_with("Insufficient test coverage") {
                    results.unprinted.entry(failed_id.clone()).or_default().push(entry);
                }
            }
            continue;
        }
        if line.ends_with("Summary") && !line.starts_with('\t') {
            section = match line {
                "Failed Tests Summary" => "failed",
                "Invalid Tests Summary" => "invalid",
                "Skipped Tests Summary" => "skipped",
                "Test Summary" => "summary",
                _ => "other",
            };
            continue;
        }
        let Some(entry) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t')) else {
            continue;
        };
        match section {
            "failed" => {
                failed_summary.insert(entry.to_owned());
                entry.clone_into(&mut failed_id);
            }
            "invalid" => invalid_files.push(entry.replace('\\', "/")),
            "summary" => {
                if let Some((k, v)) = entry.split_once(": ")
                    && let Ok(n) = v.trim().parse()
                {
                    counts.insert(k.to_owned(), n);
                }
            }
            _ => {}
        }
    }
    for (id, cases) in &results.tests {
        let invalid = invalid_files.iter().any(|f| f.ends_with(&format!("/{}", ids[id])));
        let verdict = if invalid {
            "invalid"
        } else if failed_summary.contains(id) || cases.iter().any(|c| !c.passed) {
            // PAT leaves a detection out of "Failed Tests Summary" when its
            // failing test shows no failing function line (an error in
            // `unique()`, or in a function `CreateAlert: false` hides); its
            // test is still FAIL, so the detection has failed.
            "failed"
        } else {
            "passed"
        };
        results.verdicts.insert(id.clone(), verdict.to_owned());
    }
    // Skipped detections: by `--test-names` (printed, with a message) or
    // `--skip-disabled-tests` (not printed at all).
    for id in skipped {
        let reason = if names_skipped.contains(&id) {
            "no matching test names"
        } else {
            "disabled"
        };
        results.verdicts.insert(id, format!("skipped ({reason})"));
    }
    Pat {
        results,
        failed_summary,
        invalid_files,
        counts,
    }
}

/// The string literals of a printed Python list of strings (`['a', "b's"]`).
fn python_strings(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(d) = chars.next() {
            match d {
                '\\' => s.extend(chars.next()),
                d if d == c => break,
                d => s.push(d),
            }
        }
        out.push(s);
    }
    out
}

/// `[PASS] rest` / `[FAIL] rest` after exactly `indent`.
fn status_prefix<'a>(line: &'a str, indent: &str) -> Option<(bool, &'a str)> {
    let rest = line.strip_prefix(indent)?;
    if rest.starts_with('\t') {
        return None;
    }
    if let Some(r) = rest.strip_prefix("[PASS] ") {
        Some((true, r))
    } else {
        rest.strip_prefix("[FAIL] ").map(|r| (false, r))
    }
}

/// `detect`'s JSON report reduced to the same shape, for the detections
/// of the repository.
fn parse_detect(report: &Value, ids: &BTreeMap<String, String>) -> Results {
    let mut results = Results::default();
    let items = report["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    for item in items {
        let Some(id) = item["id"].as_str().filter(|id| ids.contains_key(*id)) else {
            continue;
        };
        let status = item["status"].as_str().unwrap_or("(no status)");
        let verdict = match item["reason"].as_str() {
            Some(reason) if status != "passed" && status != "failed" && status != "invalid" => {
                format!("{status} ({reason})")
            }
            _ => status.to_owned(),
        };
        results.verdicts.insert(id.to_owned(), verdict);
        let mut cases = Vec::new();
        for t in item["tests"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let mut functions = Vec::new();
            for f in t["functions"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let name = f["name"].as_str().unwrap_or("(no name)");
                let name = if name == "alert_context" { "alertContext" } else { name };
                let output = match (&f["error"], &f["output"]) {
                    (Value::String(e), _) => e.clone(),
                    (_, Value::String(o)) => o.clone(),
                    (_, other) => other.to_string(),
                };
                functions.push(Function {
                    name: name.to_owned(),
                    passed: f["status"] == "passed",
                    output: redact_uuids(&output),
                });
            }
            if let Some(e) = t["error"].as_str() {
                functions.push(Function {
                    name: "(test error)".to_owned(),
                    passed: false,
                    output: e.to_owned(),
                });
            }
            cases.push(Case {
                name: t["name"].as_str().unwrap_or("(no name)").to_owned(),
                passed: t["status"] == "passed",
                functions,
                stdout: t["stdout"].as_str().unwrap_or("").trim_end_matches('\n').to_owned(),
            });
        }
        results.tests.insert(id.to_owned(), cases);
    }
    results
}

/// Every difference between PAT's results and `detect`'s, one line each.
fn differences(pat: &Results, ours: &Results) -> Vec<String> {
    let mut diffs = Vec::new();
    let all: BTreeSet<&String> = pat.verdicts.keys().chain(ours.verdicts.keys()).collect();
    for id in all {
        let (p, o) = (pat.verdicts.get(id), ours.verdicts.get(id));
        if p != o {
            diffs.push(format!("{id}: PAT says {p:?}, detect says {o:?}"));
        }
        if p.is_none_or(|v| v == "invalid" || v.starts_with("skipped")) {
            continue;
        }
        let empty = Vec::new();
        let pt = pat.tests.get(id).unwrap_or(&empty);
        let no_names = Vec::new();
        let unprinted = pat.unprinted.get(id).unwrap_or(&no_names);
        for name in unprinted {
            match ours.tests.get(id).and_then(|v| v.iter().find(|c| &c.name == name)) {
                Some(c) if !c.passed => {}
                Some(_) => diffs.push(format!(
                    "{id} / {name:?}: PAT failed it (no line printed), detect passed it"
                )),
                None => diffs.push(format!(
                    "{id} / {name:?}: PAT failed it (no line printed), detect has no such test"
                )),
            }
        }
        let ot: Vec<Case> = ours
            .tests
            .get(id)
            .unwrap_or(&empty)
            .iter()
            .filter(|c| !unprinted.contains(&c.name))
            .cloned()
            .collect();
        let ot = ot.as_slice();
        if pt.len() != ot.len() {
            let names = |v: &[Case]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            diffs.push(format!(
                "{id}: PAT ran {} tests {:?}, detect {} {:?}",
                pt.len(),
                names(pt),
                ot.len(),
                names(ot)
            ));
        }
        for (a, b) in pt.iter().zip(ot) {
            let at = format!("{id} / {:?}", a.name);
            if a.name != b.name {
                diffs.push(format!("{at}: detect has test {:?} in this place", b.name));
                continue;
            }
            if a.passed != b.passed {
                diffs.push(format!("{at}: PAT passed={}, detect passed={}", a.passed, b.passed));
            }
            if a.stdout != b.stdout {
                diffs.push(format!(
                    "{at}: printed output: PAT {:?}, detect {:?}",
                    a.stdout, b.stdout
                ));
            }
            if a.functions != b.functions {
                let show = |v: &[Function]| {
                    v.iter()
                        .map(|f| {
                            let s = if f.passed { "PASS" } else { "FAIL" };
                            let out: String = f.output.chars().take(200).collect();
                            format!("[{s}] [{}] {out}", f.name)
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                diffs.push(format!(
                    "{at}: functions differ\n    PAT:    {}\n    detect: {}",
                    show(&a.functions),
                    show(&b.functions)
                ));
            }
        }
    }
    diffs
}

/// PAT run in `repo` with its own temporary folder (PAT keeps the global
/// helpers in `$TMPDIR/panther-path` and deletes that folder at the end, so
/// two PAT processes must not share it). Returns PAT's stdout.
fn run_pat(python: &Path, repo: &Path, tmp: &Path, args: &[&str]) -> String {
    let pat_tmp = tmp.join("pat-tmp");
    std::fs::create_dir_all(&pat_tmp).expect("test fixture");
    let mut c = match std::env::var_os("DETECT_TEST_PAT").filter(|p| !p.is_empty()) {
        Some(pat) => Command::new(pat),
        None => {
            let mut c = Command::new(python);
            c.args(["-c", PAT_MAIN]);
            c
        }
    };
    c.args(["--skip-version-check", "test", "--path", "."])
        .args(args)
        .current_dir(repo)
        .env_clear()
        .env("TMPDIR", &pat_tmp)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1");
    for v in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(v) {
            c.env(v, value);
        }
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run PAT with {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "PAT exited with {code:?}; is PAT 1.11.1 installed in {}?\n{stdout}\n{}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `detect test . --format json --python <python>` in `repo`: (exit code,
/// the JSON report). A run that gives no JSON report fails the test.
fn run_detect(python: &Path, repo: &Path, args: &[&str]) -> (i32, Value) {
    let mut c = detect(repo);
    c.args(["test", ".", "--format", "json", "--python"])
        .arg(python)
        .args(args);
    let (code, stdout, stderr) = run(c);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("detect test gave no JSON report ({e}), exit code {code}\nstdout:\n{stdout}\nstderr:\n{stderr}")
    });
    (code, report)
}

/// Runs both tools on `fixtures/python/<name>` and compares everything.
fn differential(name: &str, want: PatCounts) {
    differential_with(name, &[], want);
}

/// [`differential`] with the same extra flags given to both tools.
fn differential_with(name: &str, args: &[&str], want: PatCounts) {
    let Some(python) = interpreter() else { return };
    let (tmp, repo) = repo_copy(name);
    let ids = detection_ids(&repo);
    let pat = parse_pat(&run_pat(&python, &repo, tmp.path(), args), &ids);

    // PAT's own verdicts, checked by hand against the spec.
    let count = |k: &str| pat.counts.get(k).copied().unwrap_or(u64::MAX);
    let cases = pat.results.tests.values().flatten();
    let got = PatCounts {
        passed: count("Passed"),
        failed: count("Failed"),
        invalid: count("Invalid"),
        skipped: count("Skipped"),
        tests_passed: cases.clone().filter(|c| c.passed).count(),
        tests_failed: cases.filter(|c| !c.passed).count(),
    };
    assert_eq!(
        got, want,
        "{name}: PAT's results are not the hand-checked ones (is it PAT 1.11.1?)"
    );
    assert_eq!(
        pat.results.verdicts.keys().collect::<BTreeSet<_>>(),
        ids.keys().collect::<BTreeSet<_>>(),
        "{name}: PAT reported another set of detections"
    );
    for id in &pat.failed_summary {
        assert_eq!(
            pat.results.verdicts.get(id).map(String::as_str),
            Some("failed"),
            "{name}: {id}"
        );
    }
    assert_eq!(
        pat.invalid_files.len() as u64,
        want.invalid,
        "{name}: PAT's invalid files {:?}",
        pat.invalid_files
    );

    let (code, report) = run_detect(&python, &repo, args);
    let ours = parse_detect(&report, &ids);
    let diffs = differences(&pat.results, &ours);
    assert!(
        diffs.is_empty(),
        "{name}: detect disagrees with PAT in {} places:\n{}\n\ndetect's diagnostics: {}",
        diffs.len(),
        diffs.join("\n"),
        report["diagnostics"]
    );
    let bad = pat.results.verdicts.values().any(|v| v == "failed" || v == "invalid");
    assert_eq!(code, i32::from(bad), "{name}: detect's exit code");
}

#[test]
fn globals_agree_with_pat() {
    differential("globals", counts([2, 0, 0, 0], [4, 0]));
}

#[test]
fn data_models_agree_with_pat() {
    differential("datamodels", counts([1, 1, 0, 0], [7, 1]));
}

#[test]
fn mocks_agree_with_pat() {
    differential("mocks", counts([0, 2, 0, 0], [4, 1]));
}

#[test]
fn policies_agree_with_pat() {
    differential("policies", counts([1, 1, 0, 0], [5, 1]));
}

#[test]
fn scheduled_rules_agree_with_pat() {
    differential("scheduled", counts([2, 0, 1, 0], [3, 0]));
}

#[test]
fn alert_functions_agree_with_pat() {
    // PAT counts 4 failed detections: CreateAlertFalse and UniqueRaises fail
    // tests without a failing function line and are missing from its
    // "Failed Tests Summary" (their verdict here is still "failed").
    differential("alerts", counts([5, 4, 0, 0], [11, 11]));
}

#[test]
fn module_state_agrees_with_pat() {
    differential("state", counts([2, 0, 0, 0], [4, 0]));
}

#[test]
fn derived_detections_on_a_python_base_agree_with_pat() {
    differential("derived", counts([2, 1, 0, 0], [5, 1]));
}

#[test]
fn verdict_neutral_inline_filters_agree_with_pat() {
    differential("inline_filters", counts([2, 0, 0, 0], [4, 0]));
}

#[test]
fn failing_and_erroring_tests_agree_with_pat() {
    differential("failing", counts([0, 4, 2, 0], [4, 6]));
}

#[test]
fn skip_disabled_tests_agrees_with_pat() {
    differential_with("failing", &["--skip-disabled-tests"], counts([0, 3, 2, 1], [4, 5]));
}

#[test]
fn available_destination_agrees_with_pat() {
    // Slack is known in every test now; PagerDuty, returned where only Slack
    // is expected, is an UnknownDestinationError that is no longer ignored.
    differential_with(
        "alerts",
        &["--available-destination", "Slack"],
        counts([5, 4, 0, 0], [11, 11]),
    );
}

#[test]
fn test_names_agree_with_pat_and_module_state_sees_only_them() {
    // Only the third test runs, so the module has seen one event and the
    // rule returns false; the other detection has no such test.
    differential_with(
        "state",
        &[
            "--test-names",
            "third test still counts",
            "--test-names",
            "no such test",
        ],
        counts([0, 1, 0, 1], [0, 1]),
    );
}

#[test]
fn minimum_tests_agrees_with_pat() {
    // Fx.Globals.ModuleName has one test, expecting true.
    differential_with("globals", &["--minimum-tests", "2"], counts([1, 1, 0, 0], [4, 0]));
}

#[test]
fn yaml_dialect_events_agree_with_pat() {
    differential("yaml_dialect", counts([1, 0, 0, 0], [4, 0]));
}

/// InlineFilters evaluated before `rule()`, as panther-core does when it is
/// given filters: a filter that rejects the event makes the rule's output
/// `false` without running it. Expectations worked out by hand from the
/// fixture (PAT offline runs these rules unfiltered and disagrees on four
/// tests, which is why this repository is not compared with PAT).
#[test]
fn verdict_changing_inline_filters_match_the_hand_checked_verdicts() {
    let Some(python) = interpreter() else { return };
    let (_tmp, repo) = repo_copy("inline_filters_native");
    let ids = detection_ids(&repo);
    let (code, report) = run_detect(&python, &repo, &[]);
    let ours = parse_detect(&report, &ids);
    // (detection, test, passed, the rule's output)
    let want: &[(&str, &str, bool, &str)] = &[
        (
            "Fx.NativeFilters.Blocked",
            "both filters pass and the rule alerts",
            true,
            "true",
        ),
        (
            "Fx.NativeFilters.Blocked",
            "the first filter blocks a rule that always alerts",
            true,
            "false",
        ),
        (
            "Fx.NativeFilters.Blocked",
            "the second filter blocks, so expecting an alert fails",
            false,
            "false",
        ),
        // Absent passes, null blocks (match-expressions §10.3, the Decision
        // to follow Panther's documentation rather than panther-core's
        // evaluator, which fails both).
        (
            "Fx.NativeFilters.Blocked",
            "an absent key path passes the filter",
            true,
            "true",
        ),
        ("Fx.NativeFilters.Blocked", "a null value blocks", true, "false"),
        (
            "Fx.NativeFilters.Derived",
            "the derived filters replace the base's and let staging through",
            true,
            "true",
        ),
        (
            "Fx.NativeFilters.Derived",
            "the derived filters block production",
            true,
            "false",
        ),
        (
            "Fx.NativeFilters.Scheduled",
            "filters on a scheduled rule are not applied",
            true,
            "true",
        ),
    ];
    let mut got = Vec::new();
    for (id, cases) in &ours.tests {
        for c in cases {
            let rule = c.functions.first().map_or("(no functions)", |f| f.output.as_str());
            got.push((id.as_str(), c.name.as_str(), c.passed, rule));
        }
    }
    assert_eq!(got, want, "diagnostics: {}", report["diagnostics"]);
    let verdicts: Vec<(&str, &str)> = ours.verdicts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        verdicts,
        [
            ("Fx.NativeFilters.Blocked", "failed"),
            ("Fx.NativeFilters.Derived", "passed"),
            ("Fx.NativeFilters.Scheduled", "passed"),
        ]
    );
    assert_eq!(code, 1);
}

/// The parser reads PAT's layout as `_print_test_result` writes it,
/// including output printed by a test before its line.
#[test]
fn pat_report_parser_reads_tests_functions_and_printed_output() {
    let ids: BTreeMap<String, String> = [
        ("A.One".to_owned(), "rules/one.yml".to_owned()),
        ("A.Two".to_owned(), "rules/two.yml".to_owned()),
    ]
    .into_iter()
    .collect();
    let out = "A.One\nhello\n\n\t[\u{1b}[32mPASS\u{1b}[0m] t1\n\t\t[PASS] [rule] true\n\t\t[PASS] [title] \n\t\t[FAIL] [destinations] [\"0a1b2c3d-0000-4000-8000-00000000abcd\"]\n\t[FAIL] t2\n\t\t[FAIL] [rule] KeyError: 'x'\n\nA.Two\n\n\n--------------------------\nFailed Tests Summary\n\tA.One\n\t\t['t2:rule', 'not shown', \"it's\"]\n\n--------------------------\nInvalid Tests Summary\n\t/abs/rules/two.yml\n\t\tNo module named 'x'\n\n--------------------------\nTest Summary\n\tPath: .\n\tPassed: 0\n\tSkipped: 0\n\tFailed: 1\n\tInvalid: 1\n\n";
    let pat = parse_pat(out, &ids);
    let one = &pat.results.tests["A.One"];
    assert_eq!(one.len(), 2);
    assert_eq!(
        (one[0].name.as_str(), one[0].passed, one[0].stdout.as_str()),
        ("t1", true, "hello")
    );
    assert_eq!(
        one[0].functions,
        [
            Function {
                name: "rule".into(),
                passed: true,
                output: "true".into()
            },
            Function {
                name: "title".into(),
                passed: true,
                output: String::new()
            },
            Function {
                name: "destinations".into(),
                passed: false,
                output: "[\"<uuid>\"]".into()
            },
        ]
    );
    assert_eq!(
        (one[1].passed, one[1].functions[0].output.as_str()),
        (false, "KeyError: 'x'")
    );
    assert_eq!(pat.results.verdicts["A.One"], "failed");
    assert_eq!(pat.results.verdicts["A.Two"], "invalid");
    assert_eq!(pat.failed_summary.iter().collect::<Vec<_>>(), ["A.One"]);
    assert_eq!(pat.counts["Invalid"], 1);
    assert_eq!(pat.results.unprinted["A.One"], ["not shown", "it's"]);
}

/// `detect`'s JSON read into the same shape agrees with an equal PAT
/// report, and each kind of disagreement is reported.
#[test]
fn comparison_reports_each_kind_of_disagreement() {
    let ids: BTreeMap<String, String> = [("A.One".to_owned(), "rules/one.yml".to_owned())].into_iter().collect();
    let pat_text = "A.One\nhi\n\n\t[PASS] t1\n\t\t[PASS] [rule] true\n\t\t[PASS] [alertContext] {}\n\t[FAIL] t2\n\t\t[FAIL] [rule] KeyError: 'x'\n--------------------------\nTest Summary\n\tPassed: 0\n\tFailed: 0\n";
    let pat = parse_pat(pat_text, &ids).results;
    let report = |t1_status: &str, stdout: &str, ctx_name: &str, err: &str| {
        serde_json::json!({"items": [{"id": "A.One", "status": "failed", "tests": [
            {"name": "t1", "status": t1_status, "stdout": stdout, "functions": [
                {"name": "rule", "status": "passed", "output": "true"},
                {"name": ctx_name, "status": "passed", "output": "{}"}]},
            {"name": "t2", "status": "failed", "functions": [
                {"name": "rule", "status": "failed", "output": null, "error": err}]}]},
            {"id": "Not.In.Repo", "status": "passed", "tests": []}]})
    };
    let same = parse_detect(&report("passed", "hi\n", "alert_context", "KeyError: 'x'"), &ids);
    assert_eq!(differences(&pat, &same), Vec::<String>::new());
    let other = parse_detect(&report("failed", "", "alertContext", "KeyError: 'y'"), &ids);
    let diffs = differences(&pat, &other);
    assert_eq!(diffs.len(), 3, "{diffs:#?}");
    assert!(diffs[0].contains("passed=true, detect passed=false"), "{diffs:#?}");
    assert!(diffs[1].contains("printed output"), "{diffs:#?}");
    assert!(diffs[2].contains("functions differ"), "{diffs:#?}");
    let skipped =
        serde_json::json!({"items": [{"id": "A.One", "status": "skipped", "reason": "python rule", "tests": []}]});
    let diffs = differences(&pat, &parse_detect(&skipped, &ids));
    assert!(diffs[0].contains("\"skipped (python rule)\""), "{diffs:#?}");
    assert!(diffs[1].contains("PAT ran 2 tests"), "{diffs:#?}");

    // A test PAT failed without printing it is matched by name, and only
    // its verdict is compared.
    let pat_text = "A.One\n\t[PASS] t1\n\t\t[PASS] [rule] true\n--------------------------\nFailed Tests Summary\n\tA.One\n\t\t['t0']\n";
    let pat = parse_pat(pat_text, &ids).results;
    let report = |t0: &str| {
        serde_json::json!({"items": [{"id": "A.One", "status": "failed", "tests": [
            {"name": "t0", "status": t0, "error": "AttributeError: no attribute 'x'", "functions": []},
            {"name": "t1", "status": "passed", "functions": [{"name": "rule", "status": "passed", "output": "true"}]}]}]})
    };
    assert_eq!(
        differences(&pat, &parse_detect(&report("failed"), &ids)),
        Vec::<String>::new()
    );
    let diffs = differences(&pat, &parse_detect(&report("passed"), &ids));
    assert_eq!(diffs.len(), 1, "{diffs:#?}");
    assert!(diffs[0].contains("detect passed it"), "{diffs:#?}");
}
