//! `detect run` with Python rules, run by real Python workers
//! (`DETECT_TEST_PYTHON`, passed with `--python`), on the fixture
//! repository `fixtures/run/python` (see its README for the expected
//! alerts, worked out by hand from the events).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::python_env::interpreter;
use crate::util::{copy_dir, fixture, run_in};

/// A copy of `fixtures/run/python` in a temporary folder.
fn copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = tmp.path().join("python");
    copy_dir(&fixture("run/python"), &dir);
    (tmp, dir)
}

/// `detect run repo --python PY --events <events> <extra>` in `dir`.
fn replay(dir: &Path, python: &Path, events: &str, extra: &[&str]) -> (i32, String, String) {
    let py = python.to_string_lossy().into_owned();
    let mut args = vec!["run", "repo", "--python", py.as_str(), "--events", events];
    args.extend_from_slice(extra);
    run_in(dir, args)
}

fn alerts(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of<'a>(alerts: &'a [Value], id: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["id"] == id).collect()
}

fn field<'a>(alerts: &[&'a Value], key: &str) -> Vec<&'a str> {
    alerts.iter().map(|a| a[key].as_str().unwrap_or("?")).collect()
}

#[test]
fn python_rules_alert_with_their_title_dedup_severity_and_context() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    // Logins: alice (10:00, again at 10:05 in the same window), bob (an
    // admin: severity() says HIGH), dave, carol; severity() returns
    // DEFAULT for the others, which is the static Medium.
    let login = of(&all, "Py.Login");
    assert_eq!(
        field(&login, "title"),
        ["Login by alice", "Login by bob", "Login by dave", "Login by carol"]
    );
    assert_eq!(field(&login, "severity"), ["MEDIUM", "HIGH", "MEDIUM", "MEDIUM"]);
    assert_eq!(
        field(&login, "createdAt"),
        [
            "2024-06-03T10:00:00.000Z",
            "2024-06-03T10:06:00.000Z",
            "2024-06-03T10:20:00.000Z",
            "2024-06-03T10:30:00.000Z"
        ]
    );
    assert_eq!(login[0]["name"], "Python login");
    assert_eq!(login[0]["type"], "RULE");
    assert_eq!(
        login[0]["alertContext"],
        serde_json::json!({"user": "alice", "account": "111"})
    );
    // No title(): the title is the DisplayName, or the ID without one.
    assert_eq!(field(&of(&all, "Py.Failed.Count"), "title"), ["Failed logins"]);
    assert_eq!(field(&of(&all, "Py.Raises"), "title"), ["Py.Raises"]);
    assert_eq!(of(&all, "Py.Raises")[0]["alertContext"], serde_json::json!({}));
    assert!(
        err.contains("  Py.Login: 5 matches, 4 alerts\n"),
        "alice's second login joins her alert: {err}"
    );
    assert!(
        err.contains(
            "12 events · 7 rules evaluated (1 skipped: scheduled rule) · 23 signals · 10 alerts (CORRELATION_RULE 1, RULE 9)"
        ),
        "{err}"
    );
}

#[test]
fn simple_detections_and_python_rules_share_one_file_of_events() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &["--signals-out", "signals.jsonl"]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    // Alerts come in event order, the detections of one event in file
    // order (login.yml, login_carol.yml, ..., simple_login.yml).
    let ids: Vec<&str> = all.iter().map(|a| a["id"].as_str().unwrap_or("?")).collect();
    assert_eq!(
        ids,
        [
            "Py.Login",
            "Simple.Login",
            "Py.Login",
            "Py.Failed.Count",
            "Py.Failed.Unique",
            "Py.Login",
            "Py.Login",
            "Py.Login.Carol",
            "Py.Raises",
            "Corr.Fail.Then.Login"
        ]
    );
    assert!(err.contains("  Simple.Login: 5 matches, 1 alert\n"), "{err}");
    // Signals of Python matches carry the event with its alert context
    // and the dedup string, like native ones.
    let signals = std::fs::read_to_string(dir.join("signals.jsonl")).expect("signals written");
    let first: Value = serde_json::from_str(signals.lines().next().unwrap_or("")).expect("a signal line");
    assert_eq!(first["ruleId"], "Py.Login");
    assert_eq!(first["dedup"], "alice");
    assert_eq!(first["createAlert"], true);
    assert_eq!(first["event"]["user"], "alice");
    assert_eq!(
        first["event"]["p_alert_context"],
        serde_json::json!({"user": "alice", "account": "111"})
    );
    assert_eq!(signals.lines().count(), 23);
}

#[test]
fn threshold_counts_events_or_distinct_unique_values() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    // Threshold 3: dave's third failure (10:12) creates the alert; with
    // unique() (the address) the third address (10:14) does.
    assert_eq!(
        field(&of(&all, "Py.Failed.Count"), "createdAt"),
        ["2024-06-03T10:12:00.000Z"]
    );
    assert_eq!(
        field(&of(&all, "Py.Failed.Unique"), "createdAt"),
        ["2024-06-03T10:14:00.000Z"]
    );
    // Only the first three failures, from one address: one distinct value,
    // no alert for the unique() rule.
    let events = std::fs::read_to_string(dir.join("events.jsonl")).expect("fixture");
    let same_ip: String = events.lines().skip(3).take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("same_ip.jsonl"), same_ip).expect("write events");
    let (code, out, err) = replay(&dir, &py, "same_ip.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    assert_eq!(of(&all, "Py.Failed.Count").len(), 1, "{out}");
    assert_eq!(of(&all, "Py.Failed.Unique").len(), 0, "{out}");
    assert!(err.contains("  Py.Failed.Unique: 3 matches, 0 alerts\n"), "{err}");
}

#[test]
fn a_python_rule_feeds_a_correlation_rule() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    // Dave fails (10:10–10:14) then logs in (10:20): the hourly run at
    // 11:00 finds the sequence.
    let corr = of(&all, "Corr.Fail.Then.Login");
    assert_eq!(field(&corr, "createdAt"), ["2024-06-03T11:00:00.000Z"]);
    assert_eq!(corr[0]["type"], "CORRELATION_RULE");
    // Without dave's login there is no sequence.
    let events = std::fs::read_to_string(dir.join("events.jsonl")).expect("fixture");
    let no_login: String = events
        .lines()
        .filter(|l| !l.contains("\"dave\", \"account\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("no_login.jsonl"), no_login).expect("write events");
    let (code, out, err) = replay(&dir, &py, "no_login.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(of(&alerts(&out), "Corr.Fail.Then.Login").len(), 0, "{out}");
}

#[test]
fn a_derived_detection_runs_its_python_base_with_its_overrides() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let all = alerts(&out);
    // InlineFilters (user is carol) keep one login; the base's title() and
    // alert_context() run; severity() says DEFAULT, which is the derived
    // Severity (Critical), not the base's Medium.
    let carol = of(&all, "Py.Login.Carol");
    assert_eq!(carol.len(), 1, "{out}");
    assert_eq!(carol[0]["title"], "Login by carol");
    assert_eq!(carol[0]["name"], "Python login by carol");
    assert_eq!(carol[0]["severity"], "CRITICAL");
    assert_eq!(carol[0]["alertContext"]["account"], "444");
    assert!(err.contains("  Py.Login.Carol: 1 match, 1 alert\n"), "{err}");
}

#[test]
fn a_rule_that_raises_gives_no_alert_and_one_warning_with_the_first_error() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    // Eleven Test.Auth events; only the last has `detail`.
    assert_eq!(
        err.matches("warning[python-rule-error]").count(),
        1,
        "one warning for the rule: {err}"
    );
    assert!(
        err.contains(
            "repo/rules/raises.py:2:1: warning[python-rule-error]: `Py.Raises` failed on 10 events (no match, no alert for them); the first: KeyError: 'detail'"
        ),
        "{err}"
    );
    assert_eq!(of(&alerts(&out), "Py.Raises").len(), 1, "{out}");
}

#[test]
fn no_python_and_a_missing_interpreter_skip_the_python_rules() {
    // No interpreter is needed: these runs never start one.
    let dir = fixture("run/python");
    let (code, out, err) = run_in(&dir, ["run", "repo", "--no-python", "--events", "events.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("12 events · 2 rules evaluated (6 skipped: python rule) · 5 signals · 1 alert (RULE 1)"),
        "{err}"
    );
    assert!(!err.contains("python-unavailable"), "{err}");
    assert_eq!(of(&alerts(&out), "Simple.Login").len(), 1);
    let (code, out, err) = run_in(
        &dir,
        [
            "run",
            "repo",
            "--python",
            "/nonexistent/python3",
            "--events",
            "events.jsonl",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning[python-unavailable]: Python detections were not run: /nonexistent/python3 (--python) cannot be started"),
        "{err}"
    );
    assert!(
        err.contains(
            "12 events · 2 rules evaluated (6 skipped: 5 no python, 1 scheduled rule) · 5 signals · 1 alert (RULE 1)"
        ),
        "{err}"
    );
    assert_eq!(alerts(&out).len(), 1);
    // --strict makes the skipped rules a failure.
    let (code, _, err) = run_in(
        &dir,
        [
            "run",
            "repo",
            "--strict",
            "--python",
            "/nonexistent/python3",
            "--events",
            "events.jsonl",
        ],
    );
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_rule_that_does_not_load_is_left_out_and_the_others_run() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let rules = dir.join("repo/rules");
    std::fs::write(rules.join("broken.py"), "def rule(event):\n    return (\n").expect("write");
    std::fs::write(
        rules.join("broken.yml"),
        "AnalysisType: rule\nRuleID: Py.Broken\nFilename: broken.py\nEnabled: true\nLogTypes: [Test.Auth]\nSeverity: Low\n",
    )
    .expect("write");
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("repo/rules/broken.py:2:")
            && err.contains("error[python-load-error]: `Py.Broken` does not load: SyntaxError"),
        "{err}"
    );
    assert!(
        err.contains("7 rules evaluated (1 skipped: scheduled rule) · 1 invalid"),
        "{err}"
    );
    assert_eq!(alerts(&out).len(), 10, "{out}");
}

#[test]
fn a_rule_that_loops_or_kills_its_worker_fails_alone_and_the_run_finishes() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let rules = dir.join("repo/rules");
    std::fs::write(
        rules.join("loops.py"),
        "def rule(event):\n    while event.get('action') == 'other':\n        pass\n    return False\n",
    )
    .expect("write");
    std::fs::write(
        rules.join("loops.yml"),
        "AnalysisType: rule\nRuleID: Py.Loops\nFilename: loops.py\nEnabled: true\nLogTypes: [Test.Auth]\nSeverity: Low\n",
    )
    .expect("write");
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &["--python-timeout", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("`Py.Loops` failed on 1 event (no match, no alert for it); the first: timed out after 1 s"),
        "{err}"
    );
    assert_eq!(alerts(&out).len(), 10, "{out}");

    std::fs::remove_file(rules.join("loops.yml")).expect("remove");
    std::fs::write(
        rules.join("exits.py"),
        "import os\n\ndef rule(event):\n    if event.get('action') == 'other':\n        os._exit(1)\n    return False\n",
    )
    .expect("write");
    std::fs::write(
        rules.join("exits.yml"),
        "AnalysisType: rule\nRuleID: Py.Exits\nFilename: exits.py\nEnabled: true\nLogTypes: [Test.Auth]\nSeverity: Low\n",
    )
    .expect("write");
    let (code, out, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    // The worker died on the one event that makes the rule exit; the
    // event is found by running again event by event, then rule by rule,
    // so only that rule fails on it, and every alert is still there.
    assert!(
        err.contains("`Py.Exits` failed on 1 event (no match, no alert for it); the first: the Python worker exited (code 1) while running this event"),
        "{err}"
    );
    assert_eq!(err.matches("warning[python-rule-error]").count(), 2, "{err}");
    assert!(err.contains("12 events · 8 rules evaluated"), "{err}");
    assert_eq!(alerts(&out).len(), 10, "{out}");
}

#[test]
fn pretty_printed_events_of_a_json_array_reach_python_whole() {
    let Some(py) = interpreter() else { return };
    let (_tmp, dir) = copy();
    let text = std::fs::read_to_string(dir.join("events.jsonl")).expect("fixture");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect();
    // Line breaks inside each record, between its tokens.
    let pretty = serde_json::to_string_pretty(&events).expect("serializes");
    assert!(pretty.contains("{\n"));
    std::fs::write(dir.join("events.json"), pretty).expect("write events");
    let (code, lines, err) = replay(&dir, &py, "events.jsonl", &[]);
    assert_eq!(code, 0, "{err}");
    let (code, array, err) = replay(&dir, &py, "events.json", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(alerts(&array).len(), 10, "{array}");
    assert_eq!(array, lines);
}
