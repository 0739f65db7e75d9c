//! Python rules that misbehave cost one failed or invalid item each, with a
//! reason, and the run finishes (issue 14, "Safety"): an endless loop is
//! killed at `--python-timeout`, a rule that kills its interpreter costs only
//! its own test, 100 MB of `print()` is cut, and a syntax error is an invalid
//! item located at the line of the error.

use std::time::Duration;

use serde_json::Value;

use crate::python_env::{interpreter, repo_copy};
use crate::util::{detect, run};

/// The only item with `id`.
fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    let items = report["items"].as_array().expect("items");
    let found: Vec<&Value> = items.iter().filter(|i| i["id"] == id).collect();
    assert_eq!(found.len(), 1, "{id} in {items:?}");
    found[0]
}

/// The only test of `id`.
fn only_test<'a>(report: &'a Value, id: &str) -> &'a Value {
    let it = item(report, id);
    let tests = it["tests"].as_array().unwrap_or_else(|| panic!("{id}: no tests: {it}"));
    assert_eq!(tests.len(), 1, "{id}: {tests:?}");
    &tests[0]
}

#[test]
fn misbehaving_rules_fail_alone_and_the_run_finishes() {
    let Some(python) = interpreter() else { return };
    let (_tmp, repo) = repo_copy("safety");
    let mut c = detect(&repo);
    c.args(["test", ".", "--format", "json", "--python-timeout", "2", "--python"])
        .arg(&python)
        // A guard against a hang only, far above the run's real length (the
        // one slow test stops at 2 s): without it a regression would block
        // the test suite instead of failing it.
        .timeout(Duration::from_secs(600));
    let (code, stdout, stderr) = run(c);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}), exit code {code}\nstdout: {}\nstderr:\n{stderr}",
            &stdout[..stdout.len().min(4000)]
        )
    });
    assert_eq!(code, 1, "{stderr}");

    let passing = item(&report, "Fx.Safety.Passing");
    assert_eq!(passing["status"], "passed", "{passing}");
    assert_eq!(only_test(&report, "Fx.Safety.Passing")["status"], "passed");

    let forever = only_test(&report, "Fx.Safety.Forever");
    assert_eq!(forever["status"], "failed", "{forever}");
    let why = forever["error"].as_str().unwrap_or_default();
    assert!(why.contains("timed out after 2 s"), "{forever}");
    assert_eq!(item(&report, "Fx.Safety.Forever")["status"], "failed");

    let exits = only_test(&report, "Fx.Safety.Exits");
    assert_eq!(exits["status"], "failed", "{exits}");
    let why = exits["error"].as_str().unwrap_or_default();
    assert!(why.contains("worker exited"), "{exits}");
    assert_eq!(item(&report, "Fx.Safety.Exits")["status"], "failed");

    // The test expects an alert and the rule returns true after printing.
    let prints = only_test(&report, "Fx.Safety.PrintsALot");
    let shown: String = prints.to_string().chars().take(300).collect();
    assert_eq!(prints["status"], "passed", "{shown}");
    let out = prints["stdout"]
        .as_str()
        .unwrap_or_else(|| panic!("no stdout: {shown}"));
    assert!(out.len() <= 1_100_000, "{} bytes of output kept", out.len());
    assert!(
        out.trim_end().ends_with("(output truncated)"),
        "{:?}",
        &out[out.len().saturating_sub(100)..]
    );
    // The kept part is what the rule printed.
    assert!(out.starts_with(&"x".repeat(1023)), "{:?}", &out[..out.len().min(100)]);

    let broken = item(&report, "Fx.Safety.SyntaxError");
    assert_eq!(broken["status"], "invalid", "{broken}");
    let located: Vec<&Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "python-load-error")
        .collect();
    assert_eq!(located.len(), 1, "{}", report["diagnostics"]);
    let d = located[0];
    assert!(
        d["file"].as_str().unwrap_or_default().ends_with("syntax_error.py"),
        "{d}"
    );
    // `def title(event)` without its colon, line 5 of the file.
    assert_eq!(d["line"], 5, "{d}");
}
