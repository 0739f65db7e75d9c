//! `detect zip`, `upload`, `check-connection` and `delete` against a real
//! HTTP server on 127.0.0.1 started by each test (upload-protocol §8). The
//! server routes on the GraphQL root field, records every request, and
//! answers as the scenario says. Every wait of the client is set to a few
//! milliseconds through `detect.upload.*`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::graphql_server::{
    Reply, Req, Server, TOKEN, bundle_of, detect_run, detect_run_within, ok, project, unbase64, unzip,
};

const BASE: &str = "rules/aws_rules/aws_root_console_login.yml";
const DERIVED: &str = "rules/aws_rules/aws_root_console_login_derived.yml";

const ENTRIES: &[&str] = &[
    BASE,
    DERIVED,
    "rules/aws_rules/aws_s3_public_acl.py",
    "rules/aws_rules/aws_s3_public_acl.yml",
    "rules/okta_rules/okta_admin_login.yml",
];

/// Removes the example's correlation rule: it references the base
/// `AWS.Console.RootLogin`, which automatic disabling then keeps enabled
/// (tests in `bundle.rs`); these tests are about disabling itself.
fn without_correlation_rule(dir: &std::path::Path) {
    std::fs::remove_file(dir.join("correlation_rules/okta_admin_then_aws_root_login.yml")).expect("test fixture");
}

/// Checks the entry names of a bundle of the example repository: sorted,
/// every expected file present, nothing that must stay out (the fixture may
/// grow, so other analysis files are allowed).
fn assert_entries(names: &[&str]) {
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, each once: {names:?}");
    for e in ENTRIES {
        assert!(names.contains(e), "{e} missing from {names:?}");
    }
    for n in names {
        assert!(
            !n.starts_with("templates/") && !n.starts_with('.') && !n.contains("/.") && !n.starts_with('/'),
            "{n} must not be bundled"
        );
    }
}

fn stats() -> Value {
    json!({
        "rules": {"new": 1, "modified": 3, "total": 120},
        "policies": {"new": 0, "modified": 0, "total": 0},
        "queries": {"new": 0, "modified": 1, "total": 4},
        "dataModels": {"new": 0, "modified": 0, "total": 23},
        "globalHelpers": {"new": 0, "modified": 1, "total": 31},
        "lookupTables": {"new": 0, "modified": 0, "total": 0},
        "correlationRules": {"new": 0, "modified": 0, "total": 2},
        "scheduledPrompts": {"new": 0, "modified": 0, "total": 0}
    })
}

fn receipt(id: &str) -> Reply {
    ok(json!({"data": {"uploadDetectionEntitiesAsync": {"receiptId": id}}}))
}

fn status(s: &str) -> Reply {
    let result = if s == "COMPLETED" { stats() } else { Value::Null };
    ok(json!({"data": {"detectionEntitiesUploadStatus": {"status": s, "error": null, "result": result}}}))
}

fn graphql_error(message: &str) -> Reply {
    ok(json!({"errors": [{"message": message, "path": ["uploadDetectionEntitiesAsync"]}], "data": null}))
}

/// A server for the common case: receipt, then `NOT_PROCESSED` `pending`
/// times, then `COMPLETED`.
fn async_server(pending: usize) -> Server {
    Server::start(move |r, n| match r.field {
        "uploadDetectionEntitiesAsync" => receipt(&format!("receipt-{n}")),
        "detectionEntitiesUploadStatus" if n < pending => status("NOT_PROCESSED"),
        "detectionEntitiesUploadStatus" => status("COMPLETED"),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]})),
    })
}

#[test]
fn zip_twice_gives_identical_bytes() {
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    let (code, out1, err) = detect_run(&dir, &["zip", "--out", "a"], false);
    assert_eq!(code, 0, "{err}");
    // A newer modification time must not change the archive.
    let f = std::fs::File::options().append(true).open(dir.join(BASE)).unwrap();
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    let (code, out2, _) = detect_run(&dir, &["zip", "--out", "b"], false);
    assert_eq!(code, 0);
    let (p1, p2) = (out1.trim(), out2.trim());
    assert!(p1.starts_with("a/panther-analysis-") && p1.ends_with(".zip"), "{out1}");
    assert_ne!(p1, p2);
    let b1 = std::fs::read(dir.join(p1)).unwrap();
    let b2 = std::fs::read(dir.join(p2)).unwrap();
    assert_eq!(b1, b2, "the same tree must give the same bytes");
    let entries = unzip(&b1);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_entries(&names);
}

#[test]
fn zip_auto_disable_base_edits_the_bundle_only() {
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    without_correlation_rule(&dir);
    let before = std::fs::read_to_string(dir.join(BASE)).unwrap();
    let (code, out, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["command"], "zip");
    assert_eq!(
        report["disabledBases"],
        json!([{"id": "AWS.Console.RootLogin", "file": BASE}])
    );
    let path = report["bundle"]["path"].as_str().unwrap();
    let entries = unzip(&std::fs::read(dir.join(path)).unwrap());
    assert_eq!(report["bundle"]["files"], entries.len());
    let base = &entries.iter().find(|(n, _)| n == BASE).unwrap().1;
    assert_eq!(*base, before.replace("Enabled: true", "Enabled: false"));
    assert_eq!(
        std::fs::read_to_string(dir.join(BASE)).unwrap(),
        before,
        "disk unchanged"
    );
}

#[test]
fn upload_async_sends_token_and_bundle_and_polls() {
    let server = async_server(2);
    let (_tmp, dir) = project(&server.url, "");
    let before = std::fs::read_to_string(dir.join(BASE)).unwrap();
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    let reqs = server.requests();
    let fields: Vec<&str> = reqs.iter().map(|r| r.field).collect();
    assert_eq!(
        fields,
        [
            "uploadDetectionEntitiesAsync",
            "detectionEntitiesUploadStatus",
            "detectionEntitiesUploadStatus",
            "detectionEntitiesUploadStatus"
        ]
    );
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/public/graphql");
        assert_eq!(r.headers.get("x-api-key").map(String::as_str), Some(TOKEN));
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert!(r.body["query"].is_string() && r.body["variables"].is_object());
    }
    assert_eq!(reqs[1].body["variables"]["input"], "receipt-0");
    let input = &reqs[0].body["variables"]["input"];
    assert_eq!(input["patVersion"], "1.11.1");
    let entries = bundle_of(&reqs[0]);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_entries(&names);
    let base = &entries.iter().find(|(n, _)| n == BASE).unwrap().1;
    assert_eq!(*base, before, "no base is disabled without auto-disable-base");
    assert!(
        out.contains("Upload Summary\n\tRules\n\t\tTotal: 120\n\t\tNew: 1\n\t\tModified: 3\n"),
        "{out}"
    );
    assert!(out.contains("\tCorrelation Rules\n\t\tTotal: 2"), "{out}");
    assert!(!out.contains("Policies"), "zero categories are left out: {out}");
    assert!(out.contains("Upload succeeded in "), "{out}");
    assert!(out.contains("receipt ID receipt-0"), "{out}");
    assert!(out.contains(&format!("Bundle: {} files, ", entries.len())), "{out}");
}

#[test]
fn upload_auto_disable_base_from_settings_keeps_filtered_base() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "auto_disable_base: true\n");
    without_correlation_rule(&dir);
    let before = std::fs::read_to_string(dir.join(BASE)).unwrap();
    let (code, out, err) = detect_run(&dir, &["upload", "--filter", "RuleID=AWS.Console.RootLogin.Prod"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    let reqs = server.requests();
    let entries = bundle_of(&reqs[0]);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [BASE, DERIVED],
        "the base is bundled although the filter excludes it"
    );
    let diff: Vec<(&str, &str)> = before
        .lines()
        .zip(entries[0].1.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(diff, [("Enabled: true", "Enabled: false")]);
    assert_eq!(entries[0].1.lines().count(), before.lines().count());
    assert_eq!(
        std::fs::read_to_string(dir.join(BASE)).unwrap(),
        before,
        "disk unchanged"
    );
    assert!(
        out.contains("Disabled 1 base detection: AWS.Console.RootLogin (rules/aws_rules/aws_root_console_login.yml)"),
        "{out}"
    );
}

#[test]
fn upload_write_base_changes_edits_the_file() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "");
    without_correlation_rule(&dir);
    let (code, _, err) = detect_run(&dir, &["upload", "--auto-disable-base", "--write-base-changes"], true);
    assert_eq!(code, 0, "{err}");
    let after = std::fs::read_to_string(dir.join(BASE)).unwrap();
    assert!(after.contains("\nEnabled: false\n") && after.contains("LogTypes:\n  - AWS.CloudTrail"));
}

#[test]
fn upload_retries_503_then_succeeds_with_one_accepted_upload() {
    let server = Server::start(|r, n| match r.field {
        "uploadDetectionEntitiesAsync" if n < 3 => Reply::Text(
            503,
            "text/html",
            "<html><body><h1>503 Service Unavailable</h1></body></html>".to_owned(),
        ),
        "uploadDetectionEntitiesAsync" => receipt("r-ok"),
        _ => status("COMPLETED"),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 4);
    assert_eq!(
        server.count("detectionEntitiesUploadStatus"),
        1,
        "exactly one accepted upload"
    );
    assert_eq!(err.matches("retrying upload in ").count(), 3, "{err}");
    assert!(err.contains("(attempt 2/11): HTTP 503"), "{err}");
}

#[test]
fn upload_retries_a_reset_connection() {
    let server = Server::start(|r, n| match r.field {
        "uploadDetectionEntitiesAsync" if n == 0 => Reply::Close,
        "uploadDetectionEntitiesAsync" => receipt("r-1"),
        _ => status("COMPLETED"),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 2);
    assert!(err.contains("retrying upload in "), "{err}");
}

#[test]
fn upload_poll_flake_polls_again_without_resending() {
    let server = Server::start(|r, n| match r.field {
        "uploadDetectionEntitiesAsync" => receipt("r-1"),
        _ if n == 0 => Reply::Close,
        _ => status("COMPLETED"),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 1, "no re-upload");
    assert_eq!(server.count("detectionEntitiesUploadStatus"), 2);
    assert!(!err.contains("retrying upload"), "{err}");
}

#[test]
fn upload_failing_status_polls_never_resend_the_bundle() {
    let server = Server::start(|r, _| match r.field {
        "uploadDetectionEntitiesAsync" => receipt("r-503"),
        _ => Reply::Text(503, "text/html", "<html>503 Service Unavailable</html>".to_owned()),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_eq!(
        server.count("uploadDetectionEntitiesAsync"),
        1,
        "the bundle is sent once"
    );
    // One poll, then five more after failures in a row (upload-protocol §6.4).
    assert_eq!(server.count("detectionEntitiesUploadStatus"), 6);
    assert!(!err.contains("retrying upload"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the upload was sent (receipt ID r-503) but its status is unknown")
            && last.contains("HTTP 503")
            && last.contains("Panther Console"),
        "{err}"
    );
}

#[test]
fn upload_auth_failure_exits_3_once_and_never_shows_the_token() {
    let server = Server::start(|_, _| Reply::Json(401, json!({"message": "Unauthorized"})));
    // The token sits in the settings file under a hyphenated key, which
    // makes a warning quote that line: it must appear masked.
    let (_tmp, dir) = project(&server.url, &format!("api-token: {TOKEN}\n"));
    let (code, out, err) = detect_run(&dir, &["upload", "--verbose"], false);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_eq!(server.requests().len(), 1, "no retry storm");
    assert_eq!(
        server.requests()[0].headers.get("x-api-key").map(String::as_str),
        Some(TOKEN)
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: authentication failed (HTTP 401)") && last.contains("token"),
        "{err}"
    );
    assert!(out.contains("pat-ignores-setting"), "{out}");
    assert!(out.contains("Upload failed"), "{out}");
}

#[test]
fn upload_busy_then_success_retries_once() {
    let server = Server::start(|r, n| match r.field {
        "uploadDetectionEntitiesAsync" if n == 0 => {
            graphql_error("another upload is in process, please try again later")
        }
        "uploadDetectionEntitiesAsync" => receipt("r-2"),
        _ => status("COMPLETED"),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 2);
    assert!(
        err.contains("retrying upload in 0ms (attempt 2/11): another upload is in process"),
        "{err}"
    );
}

#[test]
fn upload_busy_forever_exhausts_the_retry_budget() {
    let server = Server::start(|_, _| graphql_error("another upload is in process, please try again later"));
    let (_tmp, dir) = project(&server.url, "");
    let (code, _, err) = detect_run(&dir, &["upload", "--max-retries", "2"], true);
    assert_eq!(code, 3, "{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 3);
    assert!(err.contains("error: exhausted retries"), "{err}");
    let (code, _, err) = detect_run(&dir, &["upload", "--max-retries", "-4"], true);
    assert_eq!(code, 3);
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 4, "clamped to 0 retries");
    assert!(err.contains("outside 0-10; using 0"), "{err}");
}

#[test]
fn upload_unknown_error_is_not_retried() {
    let server = Server::start(|_, _| graphql_error("unknown error occurred"));
    let (_tmp, dir) = project(&server.url, "");
    let (code, _, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 3, "{err}");
    assert_eq!(server.requests().len(), 1);
    assert!(
        err.contains("error: upload rejected by Panther: unknown error occurred"),
        "{err}"
    );
}

#[test]
fn upload_permanent_failure_maps_issues_to_files() {
    let server = Server::start(|r, _| match r.field {
        "uploadDetectionEntitiesAsync" => receipt("r-f"),
        _ => {
            let error = json!({"error": "validation failed", "issues": [
                {"path": "rules/okta_rules/okta_admin_login.yml", "errorMessage": "unknown log type Okta.Foo"},
                {"path": "rules/aws_rules/aws_s3_public_acl.yml", "errorMessage": "Severity is invalid \u{3c}x\u{3e}"}
            ]});
            ok(json!({"data": {"detectionEntitiesUploadStatus": {
                "status": "FAILED", "result": null, "error": error.to_string()}}}))
        }
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload", "--format", "json"], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 1, "no retry");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["receiptId"], "r-f");
    assert!(report.get("stats").is_none());
    let remote: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "remote-validation")
        .collect();
    assert_eq!(remote.len(), 2, "{report:#}");
    assert_eq!(remote[0]["file"], "rules/aws_rules/aws_s3_public_acl.yml");
    assert_eq!(remote[0]["message"], "Severity is invalid <x>");
    assert_eq!(remote[1]["file"], "rules/okta_rules/okta_admin_login.yml");
    assert!(
        err.contains("error: upload rejected by Panther: validation failed"),
        "{err}"
    );
}

#[test]
fn upload_falls_back_to_sync_without_async_support() {
    let server = Server::start(|r, _| match r.field {
        "uploadDetectionEntitiesAsync" => ok(json!({"errors": [{
            "message": "Cannot query field \"uploadDetectionEntitiesAsync\" on type \"Mutation\".",
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]})),
        "uploadDetectionEntities" => ok(json!({"data": {"uploadDetectionEntities": stats()}})),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected"}]})),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    let fields: Vec<&str> = server.requests().iter().map(|r| r.field).collect();
    assert_eq!(fields, ["uploadDetectionEntitiesAsync", "uploadDetectionEntities"]);
    let sync = &server.requests()[1];
    assert!(sync.body["variables"]["input"].get("patVersion").is_none());
    let names: Vec<String> = bundle_of(sync).into_iter().map(|(n, _)| n).collect();
    assert_entries(&names.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("Total: 120"), "{out}");
    // --no-async goes straight to the synchronous mutation.
    let (code, _, _) = detect_run(&dir, &["upload", "--no-async"], true);
    assert_eq!(code, 0);
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 1);
}

#[test]
fn upload_poll_timeout_exits_3_with_the_receipt() {
    let server = Server::start(|r, _| match r.field {
        "uploadDetectionEntitiesAsync" => receipt("r-slow"),
        _ => status("NOT_PROCESSED"),
    });
    let (_tmp, dir) = project(&server.url, "");
    std::fs::write(
        dir.join(".panther_settings.yml"),
        format!(
            "api_host: \"{}\"\ndetect:\n  upload:\n    poll_interval_seconds: 0.02\n    poll_timeout_seconds: 0.5\n",
            server.url
        ),
    )
    .unwrap();
    let (code, _, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 3, "{err}");
    assert_eq!(server.count("uploadDetectionEntitiesAsync"), 1);
    assert!(server.count("detectionEntitiesUploadStatus") >= 2);
    assert!(err.contains("did not finish within") && err.contains("r-slow"), "{err}");
}

#[test]
fn upload_gives_up_at_its_time_limit_on_a_silent_or_trickling_server() {
    let silent = Server::start(|_, _| Reply::Slow(Duration::from_secs(60), Box::new(Reply::Close)));
    let trickle = Server::start(|_, _| Reply::Trickle(Duration::from_millis(200)));
    for server in [&silent, &trickle] {
        let (_tmp, dir) = project(&server.url, "");
        let args = ["upload", "--timeout", "1.5", "-vv"];
        let (code, out, err) = detect_run_within(&dir, &args, true, Some(Duration::from_secs(60)));
        assert_eq!(code, 3, "{out}\n{err}");
        assert_eq!(
            server.count("uploadDetectionEntitiesAsync"),
            1,
            "no retry past the limit: {err}"
        );
        assert!(
            err.contains("(time limits: 1.5 s to be accepted, 10 s to finish)"),
            "{err}"
        );
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: gave up: the bundle was not accepted within the 1.5 s time limit")
                && last.ends_with(": the server did not answer within 1.5 s"),
            "{err}"
        );
        assert!(
            !err.contains("body"),
            "a trickle is a time-out, not a body error: {err}"
        );
        // -vv shows the variables with the bundle replaced by its length.
        assert!(
            err.contains(r#"uploadDetectionEntitiesAsync: variables {"input":{"data":"<bundle: "#),
            "{err}"
        );
        assert!(err.contains(r#""patVersion":"1.11.1""#), "{err}");
    }
    let (code, _, err) = detect_run(&std::env::temp_dir(), &["upload", "--timeout", "0"], true);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a number of seconds above 0"), "{err}");
}

#[test]
fn upload_refuses_plain_http_to_a_remote_host_and_a_missing_token() {
    let (_tmp, dir) = project("http://panther.example.com/public/graphql", "");
    let (code, _, err) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refusing to send the API token over plain http"), "{err}");
    let (code, _, err) = detect_run(&dir, &["upload"], false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no API token"), "{err}");
}

#[test]
fn upload_stops_on_a_failed_test_before_any_request() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "");
    let path = dir.join("rules/okta_rules/okta_admin_login.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("ExpectedResult: true", "ExpectedResult: false", 1)).unwrap();
    let (code, out, _) = detect_run(&dir, &["upload"], true);
    assert_eq!(code, 1, "{out}");
    assert!(server.requests().is_empty());
    // --skip-tests skips the tests, not validation.
    let (code, _, err) = detect_run(&dir, &["upload", "--skip-tests"], true);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&path, "AnalysisType: rule\nRuleID: [broken\n").unwrap();
    let before = server.requests().len();
    let (code, _, _) = detect_run(&dir, &["upload", "--skip-tests"], true);
    assert_eq!(code, 1);
    assert_eq!(server.requests().len(), before);
}

#[test]
fn upload_dry_run_sends_nothing() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "");
    without_correlation_rule(&dir);
    let (code, out, err) = detect_run(&dir, &["upload", "--dry-run", "--auto-disable-base"], false);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(server.requests().is_empty());
    assert!(out.contains(&format!("  {BASE} (")), "{out}");
    assert!(out.contains("(Enabled set to false)"), "{out}");
    assert!(
        out.contains("Disabled 1 base detection: AWS.Console.RootLogin"),
        "{out}"
    );
    assert!(out.contains("Dry run: nothing was uploaded."), "{out}");
}

#[test]
fn upload_json_report_carries_receipt_bundle_and_stats() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload", "--format", "json", "--out", "dist"], true);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["command"], "upload");
    assert_eq!(report["receiptId"], "receipt-0");
    assert_eq!(report["bundle"]["files"], bundle_of(&server.requests()[0]).len());
    assert_eq!(report["stats"]["rules"], json!({"new": 1, "modified": 3, "total": 120}));
    assert_eq!(report["disabledBases"], json!([]));
    let kept = report["bundle"]["path"].as_str().unwrap();
    let sent = unbase64(
        server.requests()[0].body["variables"]["input"]["data"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        std::fs::read(dir.join(kept)).unwrap(),
        sent,
        "--out keeps the uploaded bundle"
    );
}

#[test]
fn upload_batch_sends_one_bundle_per_group() {
    let server = async_server(0);
    let (_tmp, dir) = project(&server.url, "");
    std::fs::create_dir_all(dir.join("global_helpers")).unwrap();
    std::fs::write(
        dir.join("global_helpers/helpers.yml"),
        "AnalysisType: global\nGlobalID: helpers\nFilename: helpers.py\n",
    )
    .unwrap();
    std::fs::write(dir.join("global_helpers/helpers.py"), "X = 1\n").unwrap();
    let (code, out, err) = detect_run(&dir, &["upload", "--batch"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    let uploads: Vec<Req> = server
        .requests()
        .into_iter()
        .filter(|r| r.field == "uploadDetectionEntitiesAsync")
        .collect();
    assert!(uploads.len() >= 2, "helpers, then rules, then any other type");
    let first: Vec<String> = bundle_of(&uploads[0]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(first, ["global_helpers/helpers.py", "global_helpers/helpers.yml"]);
    let rules: Vec<String> = bundle_of(&uploads[1]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(rules, ENTRIES, "the rules batch holds rules and their Python files");
    let total = 120 * uploads.len();
    assert!(
        out.contains(&format!("Total: {total}")),
        "statistics are added up: {out}"
    );
}

#[test]
fn check_connection_prints_the_version() {
    let server = Server::start(|r, _| match r.field {
        "generalSettings" => ok(json!({"data": {"generalSettings": {"pantherVersion": "v1.0.0"}}})),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected"}]})),
    });
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["check-connection"], true);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "connection successful: connected to Panther backend on version: v1.0.0"
    );
    let (code, _, err) = detect_run(
        &dir,
        &["check-connection", "--api-host", "http://127.0.0.1:1/public/graphql"],
        true,
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("connection check failed"), "{err}");
}

/// Asserts that no output shows the URL's credentials or a raw control
/// character the server sent.
fn assert_clean(out: &str, err: &str) {
    for text in [out, err] {
        for secret in ["secret", "s3cret-pw", "abc-q7"] {
            assert!(!text.contains(secret), "`{secret}` shown:\n{text}");
        }
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}'),
            "raw control:\n{text:?}"
        );
    }
}

#[test]
fn credentials_in_the_api_url_and_controls_in_replies_are_never_shown() {
    let evil = "bad \u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\nerror: fake line";
    let server = Server::start(move |r, _| match r.field {
        "uploadDetectionEntitiesAsync" => receipt("r-c"),
        "detectionEntitiesUploadStatus" => {
            let error = json!({"error": evil, "issues": [
                {"path": "rules/okta_rules/okta_admin_login.yml", "errorMessage": evil}
            ]});
            ok(
                json!({"data": {"detectionEntitiesUploadStatus": {"status": "FAILED", "error": error.to_string(), "result": null}}}),
            )
        }
        "generalSettings" => Reply::Text(500, "text/plain", evil.to_owned()),
        _ => Reply::Json(502, json!({"errors": [{"message": evil}]})),
    });
    let port = server
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let host = format!("http://user:s3cret-pw@{port}/public/graphql?token=abc-q7");
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["upload", "-v", "--api-host", &host], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_clean(&out, &err);
    // The URL is still used as given, and shown without its secrets.
    assert_eq!(server.requests()[0].path, "/public/graphql?token=abc-q7");
    let shown = format!("http://{port}/public/graphql?token=***");
    assert!(err.contains(&format!("to {shown}")), "{err}");
    assert!(
        out.contains(r"bad \x1b[2J\x1b]0;owned\x07\u{9b}31m\nerror: fake line"),
        "{out}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .starts_with("error: upload rejected by Panther: bad \\x1b"),
        "{err}"
    );
    let (code, out, err) = detect_run(&dir, &["check-connection", "-v", "--api-host", &host], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_clean(&out, &err);
    assert!(
        err.contains(&format!("connection check failed ({shown}): HTTP 500: bad \\x1b[2J")),
        "{err}"
    );
    let (code, out, err) = detect_run(
        &dir,
        &[
            "delete",
            "-v",
            "--no-confirm",
            "--analysis-id",
            "Rule.A",
            "--api-host",
            &host,
        ],
        true,
    );
    assert_eq!(code, 3, "{out}\n{err}");
    assert_clean(&out, &err);
    assert!(err.contains("delete failed: HTTP 502"), "{err}");
    // Quoted from the settings file (the hyphenated key draws a warning
    // that shows its line), the URL's secrets are masked.
    std::fs::write(
        dir.join(".panther_settings.yml"),
        format!("api-host: \"{host}\"\ndetect:\n  upload:\n    poll_interval_seconds: 0.01\n"),
    )
    .unwrap();
    let (code, out, err) = detect_run(&dir, &["upload", "-v"], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert_clean(&out, &err);
    assert!(out.contains("pat-ignores-setting"), "{out}");
    assert!(out.contains("api-host: \"http://**************@"), "{out}");
    // A host that is no URL is refused without echoing its secrets.
    let (code, out, err) = detect_run(
        &dir,
        &["upload", "--api-host", "ftp://u:s3cret-pw@h/?token=abc-q7"],
        true,
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert_clean(&out, &err);
    assert!(err.contains("`ftp://h/?token=***` is not a Panther API host"), "{err}");
}

#[test]
fn delete_dry_runs_then_deletes_what_was_found() {
    let server = Server::start(|r, _| {
        let input = &r.body["variables"]["input"];
        assert_eq!(input["includeSavedQueries"], true);
        ok(json!({"data": {"deleteDetections": {"ids": ["Rule.A"], "savedQueryNames": []}}}))
    });
    let (_tmp, dir) = project(&server.url, "");
    let args = ["delete", "--analysis-id", "Rule.A", "--analysis-id", "Rule.B"];
    // Not a terminal and no --no-confirm: refused before any request.
    let (code, _, err) = detect_run(&dir, &args, true);
    assert_eq!(code, 2, "{err}");
    assert!(server.requests().is_empty());
    let (code, out, err) = detect_run(&dir, &[&args[..], &["--no-confirm"]].concat(), true);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("detection Rule.A will be deleted"), "{out}");
    assert!(out.contains("detection Rule.B was not found"), "{out}");
    assert!(out.contains("Deleted 1 detection and 0 saved queries"), "{out}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body["variables"]["input"]["dryRun"], true);
    assert_eq!(reqs[0].body["variables"]["input"]["ids"], json!(["Rule.A", "Rule.B"]));
    assert_eq!(reqs[1].body["variables"]["input"]["dryRun"], false);
    assert_eq!(reqs[1].body["variables"]["input"]["ids"], json!(["Rule.A"]));
    let (code, out, _) = detect_run(&dir, &[&args[..], &["--dry-run"]].concat(), true);
    assert_eq!(code, 0);
    assert!(out.contains("Dry run: nothing was deleted."), "{out}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn remote_base_lookup_returns_body_and_tests() {
    use detect::panther_api::{Client, Timeouts, endpoint};
    use detect::settings::Secret;
    let server = Server::start(|r, _| {
        if r.body["variables"]["input"] == "Missing.Base" {
            return ok(json!({"data": {"rulePythonBody": null}}));
        }
        ok(json!({"data": {"rulePythonBody": {
            "pythonBody": "def rule(event):\n    return True\n",
            "tests": [{"name": "Hit", "expectedResult": true,
                       "resource": "{\"eventName\":\"ConsoleLogin\"}", "mocks": []}]}}}))
    });
    let client = Client::new(
        endpoint(&server.url).unwrap(),
        Secret::new(TOKEN),
        Timeouts::default(),
        false,
    )
    .unwrap();
    let base = client.rule_body("AWS.Remote.Base").unwrap().unwrap();
    assert!(base.python_body.starts_with("def rule(event):"));
    assert_eq!(base.tests.len(), 1);
    assert_eq!(base.tests[0].name, "Hit");
    assert!(base.tests[0].expected_result);
    assert_eq!(base.tests[0].log, json!({"eventName": "ConsoleLogin"}));
    assert!(client.rule_body("Missing.Base").unwrap().is_none());
    let reqs = server.requests();
    assert_eq!(reqs[0].field, "rulePythonBody");
    assert_eq!(reqs[0].body["operationName"], "GetRuleBody");
    assert_eq!(reqs[0].headers.get("x-api-key").map(String::as_str), Some(TOKEN));
    assert!(!format!("{client:?}").contains(TOKEN));
}

#[cfg(unix)]
#[test]
fn zip_refuses_files_outside_the_project_root() {
    let (tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    let outside = tmp.path().join("outside.py");
    std::fs::write(&outside, "def rule(event):\n    return True\n").unwrap();
    let py = dir.join("rules/aws_rules/aws_s3_public_acl.py");
    std::fs::remove_file(&py).unwrap();
    std::os::unix::fs::symlink(&outside, &py).unwrap();
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist"], false);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("error[filename-not-allowed]"), "{err}");
    assert!(err.contains("outside the project root"), "{err}");
    assert!(!dir.join("dist").exists(), "no bundle is written");
    // A path that climbs out of the root is refused the same way.
    std::fs::remove_file(&py).unwrap();
    let yml = dir.join("rules/aws_rules/aws_s3_public_acl.yml");
    let text = std::fs::read_to_string(&yml).unwrap();
    std::fs::write(&yml, text.replace("aws_s3_public_acl.py", "../../../outside.py")).unwrap();
    let (code, _, err) = detect_run(&dir, &["zip", "--out", "dist"], false);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[filename-not-allowed]"), "{err}");
    assert!(err.contains("outside the project root"), "{err}");
}

#[test]
fn client_times_out_and_never_follows_redirects() {
    use detect::panther_api::{ApiError, Client, Timeouts, endpoint};
    use detect::settings::Secret;
    let elsewhere = Server::start(|_, _| ok(json!({"data": {"generalSettings": {"pantherVersion": "v9"}}})));
    let target = elsewhere.url.clone();
    let server = Server::start(move |_, n| {
        if n == 0 {
            Reply::Redirect(target.clone())
        } else {
            Reply::Slow(
                Duration::from_secs(2),
                Box::new(ok(json!({"data": {"generalSettings": {"pantherVersion": "v1"}}}))),
            )
        }
    });
    let timeouts = Timeouts {
        request: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let client = Client::new(endpoint(&server.url).unwrap(), Secret::new(TOKEN), timeouts, false).unwrap();
    let e = client.version().unwrap_err();
    assert!(matches!(e, ApiError::Http { status: 307, .. }), "{e:?}");
    assert!(elsewhere.requests().is_empty(), "the token must not follow a redirect");
    // The server answers after 2 s: the 300 ms time-out must end it first.
    let e = client.version().unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(e.to_string(), "the server did not answer within 0.3 s");
}

#[test]
fn zip_auto_disable_base_warns_about_bases_it_cannot_disable() {
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    let base = dir.join(BASE);
    let text = std::fs::read_to_string(&base).unwrap();
    std::fs::write(
        &base,
        text.replace("Enabled: true\n", "Enabled: true\nStatus: experimental\n"),
    )
    .unwrap();
    // A derived detection inherits `Status`; this one sets its own, so it
    // is uploaded while its base is not.
    let derived = dir.join(DERIVED);
    let text = std::fs::read_to_string(&derived).unwrap();
    std::fs::write(
        &derived,
        text.replace("Enabled: true\n", "Enabled: true\nStatus: stable\n"),
    )
    .unwrap();
    let (code, out, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--out", "dist"], false);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning[derived-base-not-uploaded]"), "{err}");
    let names: Vec<String> = unzip(&std::fs::read(dir.join(out.trim())).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        !names.iter().any(|n| n == BASE),
        "an experimental base is never bundled"
    );
    assert!(names.iter().any(|n| n == DERIVED));
    std::fs::remove_file(&base).unwrap();
    let (code, _, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--out", "dist"], false);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning[derived-base-not-local]: base detection `AWS.Console.RootLogin` is not in this repository; its state in Panther is unchanged"
        ),
        "{err}"
    );
}

#[test]
fn zip_of_a_sub_folder_disables_bases_kept_elsewhere_in_the_project() {
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    without_correlation_rule(&dir);
    let before = std::fs::read_to_string(dir.join(BASE)).unwrap();
    std::fs::write(
        dir.join("rules/okta_rules/root_login_okta_team.yml"),
        "AnalysisType: rule\nRuleID: AWS.Console.RootLogin.OktaTeam\nBaseDetection: AWS.Console.RootLogin\nEnabled: true\nSeverity: Low\n",
    )
    .unwrap();
    let (code, out, err) = detect_run(
        &dir,
        &["zip", "rules/okta_rules", "--auto-disable-base", "--format", "json"],
        false,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["disabledBases"],
        json!([{"id": "AWS.Console.RootLogin", "file": BASE}])
    );
    let ids: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(
        ids.iter()
            .all(|id| id.starts_with("Okta.") || id.ends_with(".OktaTeam")),
        "only the given folder is tested: {ids:?}"
    );
    let path = report["bundle"]["path"].as_str().unwrap();
    let entries = unzip(&std::fs::read(dir.join(path)).unwrap());
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"rules/okta_rules/root_login_okta_team.yml"),
        "{names:?}"
    );
    assert!(
        !names.contains(&DERIVED) && !names.contains(&"rules/aws_rules/aws_s3_public_acl.yml"),
        "{names:?}"
    );
    let base = &entries.iter().find(|(n, _)| n == BASE).expect("the base is bundled").1;
    assert_eq!(*base, before.replace("Enabled: true", "Enabled: false"));

    // Without --auto-disable-base only the folder is read.
    let (code, out, err) = detect_run(&dir, &["zip", "rules/okta_rules", "--format", "json"], false);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let path = report["bundle"]["path"].as_str().unwrap();
    let names: Vec<String> = unzip(&std::fs::read(dir.join(path)).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!names.iter().any(|n| n == BASE), "{names:?}");
}
