//! `validate --watch` and `test --watch`: the real binary as a child on a
//! temp repository, its stdout read line by line until an expected
//! summary shows (or a 60 s deadline fails the test with what was read).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

const RULE: &str = "AnalysisType: rule\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\nSeverity: Low\n\
                    Detection:\n  - Key: a\n    Condition: Equals\n    Value: b\n\
                    Tests:\n  - Name: matches\n    ExpectedResult: true\n    Log:\n      a: b\n";

struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(dir: &Path, command: &str) -> Watch {
        let mut c = Command::new(env!("CARGO_BIN_EXE_detect"));
        c.current_dir(dir).env_clear().env("NO_COLOR", "1");
        for v in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(v) {
                c.env(v, value);
            }
        }
        let mut child = c
            .args([command, "--watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let out = child.stdout.take().expect("test setup");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The lines of the next run: from its `[time] …` line to its summary
    /// line (`Passed: …`), once `want` holds for them.
    fn until(&mut self, want: impl Fn(&[String]) -> bool) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        let mut run: Vec<String> = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with('[') {
                        run.clear();
                    }
                    let done = line.starts_with("Passed:");
                    run.push(line);
                    if done && want(&run) {
                        return run;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!("no expected run within {DEADLINE:?}; read:\n{}", self.seen.join("\n"));
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has(run: &[String], text: &str) -> bool {
    run.iter().any(|l| l.contains(text))
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("test setup");
    std::fs::create_dir_all(dir.path().join("rules")).expect("test setup");
    std::fs::write(dir.path().join("rules/a.yml"), format!("RuleID: W.One\n{RULE}")).expect("test setup");
    std::fs::write(dir.path().join("rules/b.yml"), format!("RuleID: W.Two\n{RULE}")).expect("test setup");
    dir
}

#[test]
fn validate_watch_reruns_only_the_changed_item() {
    let dir = repo();
    let a = dir.path().join("rules/a.yml");
    let mut w = Watch::start(dir.path(), "validate");
    let first = w.until(|r| has(r, "watching:"));
    assert!(has(&first, "Passed: 2  Failed: 0  Invalid: 0"), "{first:?}");

    std::fs::write(&a, format!("RuleID: W.One\nDescriptoin: x\n{RULE}")).unwrap();
    let run = w.until(|r| has(r, "unknown key `Descriptoin`"));
    assert!(has(&run, "changed: rules/a.yml"), "{run:?}");
    assert!(has(&run, "rules/a.yml:2:1: error[unknown-key]"), "{run:?}");
    assert!(
        has(&run, "Passed: 0  Failed: 0  Invalid: 1  Skipped: 0  (total 1,"),
        "{run:?}"
    );

    std::fs::write(&a, format!("RuleID: W.One\nDescription: x\n{RULE}")).unwrap();
    // (A write may show half-done to a run; wait for the run of the whole.)
    let run = w.until(|r| has(r, "changed: rules/a.yml") && has(r, "Passed: 1  Failed: 0  Invalid: 0"));
    assert!(
        has(&run, "Passed: 1  Failed: 0  Invalid: 0  Skipped: 0  (total 1,"),
        "{run:?}"
    );

    // An editor's swap file starts no run; bad YAML is a diagnostic and
    // the watch goes on.
    std::fs::write(dir.path().join("rules/.a.yml.swp"), "x").unwrap();
    std::fs::write(dir.path().join("rules/b.yml"), "AnalysisType: rule\nRuleID: [x\n").unwrap();
    let run = w.until(|r| has(r, "error[yaml-syntax]"));
    assert!(has(&run, "changed: rules/b.yml"), "{run:?}");
    assert!(!has(&run, ".swp"), "{run:?}");

    // Ctrl-C ends the watch cleanly, with exit 0.
    let pid = w.child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status();
    if sent.is_ok_and(|s| s.success()) {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = w.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0), "{status:?}");
                break;
            }
            assert!(Instant::now() < end, "the watch did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn test_watch_reruns_the_changed_base_and_its_derived_detection() {
    let dir = repo();
    std::fs::write(
        dir.path().join("rules/c.yml"),
        "AnalysisType: rule\nRuleID: W.Derived\nBaseDetection: W.One\nSeverity: High\n",
    )
    .unwrap();
    let mut w = Watch::start(dir.path(), "test");
    let first = w.until(|r| has(r, "watching:"));
    assert!(has(&first, "Passed: 3  Failed: 0"), "{first:?}");

    // The base's test now fails: the base and the derived detection run.
    let failing = RULE.replace("ExpectedResult: true", "ExpectedResult: false");
    std::fs::write(dir.path().join("rules/a.yml"), format!("RuleID: W.One\n{failing}")).unwrap();
    let run = w.until(|r| has(r, "changed: rules/a.yml") && has(r, "Failed: 2"));
    assert!(
        has(&run, "Passed: 0  Failed: 2  Invalid: 0  Skipped: 0  (total 2,"),
        "{run:?}"
    );

    std::fs::write(dir.path().join("rules/a.yml"), format!("RuleID: W.One\n{RULE}")).unwrap();
    let run = w.until(|r| has(r, "changed: rules/a.yml") && has(r, "Passed: 2  Failed: 0"));
    assert!(
        has(&run, "Passed: 2  Failed: 0  Invalid: 0  Skipped: 0  (total 2,"),
        "{run:?}"
    );
}
