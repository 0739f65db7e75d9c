//! One diagnostic prints the same way from every command: `validate`,
//! `derive`, `fmt` and `run` report through the renderers of `report/`, in
//! every format.

use std::path::Path;

use crate::util::{copy_dir, detect, fixture, run, run_in};

/// The block of `out` that starts with the line starting with `head`, up to
/// (not including) the next line that is neither indented nor an excerpt
/// line (`5 | text`).
fn block<'a>(out: &'a str, head: &str) -> Option<&'a str> {
    let start = out.find(head)?;
    let rest = &out[start..];
    let mut end = rest.find('\n').map_or(rest.len(), |i| i + 1);
    while end < rest.len() {
        let line = &rest[end..];
        let gutter = line.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with(" |");
        if !(line.starts_with(' ') || gutter) {
            break;
        }
        end += line.find('\n').map_or(line.len(), |i| i + 1);
    }
    Some(&rest[..end])
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("test fixture")).expect("test fixture");
    std::fs::write(p, text).expect("test fixture");
}

#[test]
fn a_yaml_error_prints_the_same_from_validate_and_fmt() {
    let tmp = tempfile::tempdir().expect("test fixture");
    let dir = tmp.path();
    write_broken(dir);
    let (vcode, vout, verr) = run_in(dir, ["validate", "."]);
    let mut c = detect(dir);
    c.arg("fmt");
    let (fcode, fout, ferr) = run(c);
    assert_eq!((vcode, fcode), (1, 1), "{vout}{verr}{fout}{ferr}");
    let expected = "rules/broken.yml:5:9: error[yaml-syntax]: did not find expected ',' or ']', \
                    while parsing a flow sequence\n  |\n5 | Severity: Low\n  |         ^\n";
    let from_validate = block(&vout, "rules/broken.yml:").unwrap_or_default();
    let from_fmt = block(&ferr, "rules/broken.yml:").unwrap_or_default();
    assert!(from_validate.starts_with(expected), "{vout}");
    // fmt adds one note line of its own after the diagnostic.
    assert_eq!(
        from_fmt,
        format!("{from_validate}  = note: the file is left unchanged\n"),
        "{ferr}"
    );
}

#[test]
fn a_settings_warning_prints_the_same_from_validate_and_run() {
    let tmp = run_repo();
    let dir = tmp.path();
    write(
        dir,
        ".panther_settings.yml",
        "detect:\n  destinations:\n    - name: soc\n      type: custom_webhook\n      url: \"http://127.0.0.1:9/\"\n      retries: 3\n",
    );
    let (_, vout, verr) = run_in(dir, ["validate", "."]);
    let mut c = detect(dir);
    c.args(["run", ".", "--events"]).arg(fixture("run/logs/week.jsonl"));
    let (rcode, _, rerr) = run(c);
    assert_eq!(rcode, 0, "{rerr}");
    let head = ".panther_settings.yml:6:7: warning[unknown-setting]: unknown key `retries` in a destination";
    let both = format!("{vout}{verr}");
    let from_validate = block(&both, head);
    let from_run = block(&rerr, head);
    assert!(from_validate.is_some(), "{vout}{verr}");
    assert_eq!(from_run, from_validate, "{rerr}");
}

/// A copy of `fixtures/run/repo` (rules and events for `run`).
fn run_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("test fixture");
    copy_dir(&fixture("run/repo"), tmp.path());
    tmp
}

/// `rules/broken.yml`: a rule whose `LogTypes` list is never closed.
fn write_broken(dir: &Path) {
    write(
        dir,
        "rules/broken.yml",
        "AnalysisType: rule\nRuleID: Broken\nEnabled: true\nLogTypes: [AWS.CloudTrail\nSeverity: Low\n",
    );
}

/// A project with one file that is not valid YAML, one rule to derive
/// from, and one event.
fn broken_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("test fixture");
    let dir = tmp.path();
    write_broken(dir);
    write(
        dir,
        "rules/root.yml",
        "AnalysisType: rule\nRuleID: Root.Login\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\nSeverity: High\n\
         Detection:\n  - KeyPath: userIdentity.type\n    Condition: Equals\n    Value: Root\n",
    );
    write(
        dir,
        "events.jsonl",
        "{\"p_log_type\": \"AWS.CloudTrail\", \"p_event_time\": \"2024-06-01T10:00:00Z\", \"userIdentity\": {\"type\": \"Root\"}}\n",
    );
    tmp
}

/// `validate`, `derive`, `fmt` and `run` over [`broken_project`] in
/// `format`: (exit code, stdout, stderr) of each, in that order.
fn four(dir: &Path, format: &str) -> [(i32, String, String); 4] {
    let with = |args: &[&str]| {
        let mut c = detect(dir);
        c.args(args);
        if format != "human" {
            c.args(["--format", format]);
        }
        run(c)
    };
    [
        with(&["validate", "."]),
        with(&["derive", "Root.Login", "--dry-run"]),
        with(&["fmt", "--check"]),
        with(&["run", ".", "--events", "events.jsonl"]),
    ]
}

#[test]
fn a_yaml_error_prints_the_same_from_validate_derive_fmt_and_run() {
    let tmp = broken_project();
    let [validate, derive, fmt, run] = four(tmp.path(), "human");
    // Written out by hand: the position of the missing `]`, the line, the caret.
    let expected = "rules/broken.yml:5:9: error[yaml-syntax]: did not find expected ',' or ']', \
                    while parsing a flow sequence\n  |\n5 | Severity: Low\n  |         ^\n";
    // validate's report is on stdout; the other commands print their
    // diagnostics on stderr.
    let from_validate = block(&validate.1, "rules/broken.yml:").unwrap_or_default();
    assert_eq!(from_validate, expected, "{}{}", validate.1, validate.2);
    assert_eq!(block(&derive.2, "rules/broken.yml:"), Some(expected), "{derive:?}");
    assert_eq!(block(&run.2, "rules/broken.yml:"), Some(expected), "{run:?}");
    // fmt adds one note line of its own after the diagnostic.
    assert_eq!(
        block(&fmt.2, "rules/broken.yml:"),
        Some(format!("{expected}  = note: the file is left unchanged\n").as_str()),
        "{fmt:?}"
    );
    // The commands still do their work.
    assert_eq!((validate.0, derive.0, fmt.0, run.0), (1, 0, 1, 0), "{derive:?}{run:?}");
    assert!(
        derive.1.starts_with("would write rules/Root.Login.Derived.yml:\n"),
        "{}",
        derive.1
    );
    assert!(run.1.contains("\"title\":\"Root.Login\""), "{}", run.1);
}

#[test]
fn a_yaml_error_is_the_same_json_from_validate_derive_fmt_and_run() {
    let tmp = broken_project();
    let reports = four(tmp.path(), "json");
    let expected = serde_json::json!({
        "file": "rules/broken.yml", "line": 5, "column": 9, "severity": "error", "code": "yaml-syntax",
        "message": "did not find expected ',' or ']', while parsing a flow sequence", "help": null,
    });
    for (name, (code, out, err)) in ["validate", "derive", "fmt", "run"].iter().zip(&reports) {
        let doc: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}{err}"));
        assert_eq!(doc["command"], *name, "{out}");
        let found: Vec<&serde_json::Value> = doc["diagnostics"]
            .as_array()
            .map(|a| a.iter().filter(|d| d["file"] == "rules/broken.yml").collect())
            .unwrap_or_default();
        assert_eq!(found, [&expected], "{name}: {out}");
        // In a machine format the diagnostic is in the document only.
        assert!(!err.contains("rules/broken.yml"), "{name} ({code}): {err}");
    }
    // Each command's own results are in its document.
    let [_, derive, fmt, run] =
        reports.map(|(_, out, _)| serde_json::from_str::<serde_json::Value>(&out).unwrap_or_default());
    assert_eq!(derive["derived"]["id"], "Root.Login.Derived");
    assert_eq!(derive["derived"]["written"], false);
    assert_eq!(
        fmt["files"],
        serde_json::json!([
            {"file": "rules/broken.yml", "status": "invalid"},
            {"file": "rules/root.yml", "status": "unchanged"},
        ])
    );
    assert_eq!(run["summary"]["events"], 1);
    assert_eq!(
        run["detections"],
        serde_json::json!([{"id": "Root.Login", "matches": 1, "alerts": 1}])
    );
    assert_eq!(run["alerts"][0]["id"], "Root.Login");
}

#[test]
fn a_yaml_error_is_the_same_annotation_and_sarif_result_from_every_command() {
    let tmp = broken_project();
    let annotation = "::error file=rules/broken.yml,line=5,col=9,title=yaml-syntax::did not find expected ',' \
                      or ']', while parsing a flow sequence";
    for (name, (_, out, _)) in ["validate", "derive", "fmt", "run"]
        .iter()
        .zip(four(tmp.path(), "github"))
    {
        assert_eq!(out.lines().filter(|l| *l == annotation).count(), 1, "{name}: {out}");
    }
    let mut results = Vec::new();
    for (name, (_, out, _)) in ["validate", "derive", "fmt", "run"]
        .iter()
        .zip(four(tmp.path(), "sarif"))
    {
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}"));
        let r: Vec<serde_json::Value> = doc["runs"][0]["results"]
            .as_array()
            .map(|a| a.iter().filter(|r| r["ruleId"] == "yaml-syntax").cloned().collect())
            .unwrap_or_default();
        results.push(r);
    }
    let uri = &results[0][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "rules/broken.yml");
    assert!(results.iter().all(|r| r.len() == 1 && r == &results[0]), "{results:#?}");
    for (name, (_, out, _)) in ["validate", "derive", "fmt", "run"]
        .iter()
        .zip(four(tmp.path(), "junit"))
    {
        assert!(
            out.contains(
                "error message=\"rules/broken.yml:5:9: error[yaml-syntax]: did not find expected &apos;,&apos; \
                 or &apos;]&apos;, while parsing a flow sequence\""
            ),
            "{name}: {out}"
        );
    }
}

/// A webhook receiver on 127.0.0.1 answering every request with the
/// status in `status` (an empty body).
fn receiver(status: std::sync::Arc<std::sync::atomic::AtomicU16>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("test receiver"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let status = status.clone();
            std::thread::spawn(move || {
                let Ok(copy) = stream.try_clone() else { return };
                let mut reader = BufReader::new(copy);
                let mut stream = stream;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let s = status.load(std::sync::atomic::Ordering::SeqCst);
                    let reply = format!("HTTP/1.1 {s} X\r\nContent-Length: 0\r\n\r\n");
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn deliveries_are_in_the_machine_formats_of_run_and_alerts() {
    use std::sync::atomic::{AtomicU16, Ordering};
    let status = std::sync::Arc::new(AtomicU16::new(500));
    let url = receiver(status.clone());
    let tmp = run_repo();
    let dir = tmp.path();
    write(
        dir,
        ".panther_settings.yml",
        &format!(
            "detect:\n  destinations:\n    - name: soc\n      type: custom_webhook\n      url: \"{url}\"\n      \
             max_retries: 0\n      backoff_initial_ms: 1\n      backoff_max_ms: 5\n"
        ),
    );
    let mut c = detect(dir);
    c.args([
        "run",
        ".",
        "--rule",
        "Fixture.Login.BruteForce",
        "--deliver",
        "--alerts-out",
        "a.jsonl",
    ])
    .args(["--format", "json", "--events"])
    .arg(fixture("run/logs/week.jsonl"));
    let (code, out, err) = run(c);
    assert_eq!(code, 3, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // Two alerts (run/expected), each failed once; written to a.jsonl, so
    // not in the document.
    assert_eq!(doc["summary"]["alerts"]["RULE"], 2, "{out}");
    assert!(doc.get("alerts").is_none(), "{out}");
    let deliveries = doc["deliveries"].as_array().cloned().unwrap_or_default();
    assert_eq!(deliveries.len(), 2, "{out}");
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "FAILED" && d["attempts"] == 1 && d["http_status"] == 500)
    );
    let errors = doc["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 2, "{out}");
    assert!(errors.iter().all(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("failed after 1 attempt: HTTP 500"))
    }));
    // The human lines of a machine format are in the document only.
    assert!(!err.contains("deliveries:"), "{err}");

    // The receiver recovers: resend sends both, reported per delivery.
    status.store(200, Ordering::SeqCst);
    let (code, out, err) = run_in(dir, ["alerts", "resend", "--format", "junit"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("<testsuite name=\"deliveries\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\">"),
        "{out}"
    );
    assert_eq!(
        out.matches("<testcase classname=\"soc\" name=\"resend ").count(),
        2,
        "{out}"
    );
    // Nothing left: an empty list, and the summary line in the GitHub format.
    let (code, out, _) = run_in(dir, ["alerts", "resend", "--format", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["deliveries"], serde_json::json!([]), "{out}");
    let (_, out, _) = run_in(dir, ["alerts", "resend", "--format", "github"]);
    assert_eq!(out, "deliveries: nothing to resend\n");
    // A dry run of `alerts deliver` lists the routing decisions.
    let (code, out, err) = run_in(dir, ["alerts", "deliver", "a.jsonl", "--dry-run", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let routing = doc["routing"].as_array().cloned().unwrap_or_default();
    assert_eq!(routing.len(), 2, "{out}");
    assert!(
        routing
            .iter()
            .all(|r| r["rule_id"] == "Fixture.Login.BruteForce" && r["destinations"] == serde_json::json!(["soc"]))
    );
}
