//! `detect test --remote-bases` and `detect validate --remote` against a
//! GraphQL server on 127.0.0.1 (upload-protocol §4.6, §4.8, §4.11, §8.3).

use std::path::Path;

use serde_json::{Value, json};

use crate::graphql_server::{Reply, Server, TOKEN, bundle_of, detect_run, ok, project};

use crate::util::json as report;
/// A derived detection whose base is not in the repository.
const REMOTE_DERIVED: &str = "rules/aws_rules/remote_derived.yml";

fn add_remote_derived(dir: &Path, base: &str, tests: &str) {
    std::fs::write(
        dir.join(REMOTE_DERIVED),
        format!(
            "AnalysisType: rule\nRuleID: Remote.Derived\nBaseDetection: {base}\nEnabled: true\nSeverity: Low\n{tests}"
        ),
    )
    .expect("test fixture");
}

fn rule_body(tests: usize) -> Reply {
    let tests: Vec<Value> = (0..tests)
        .map(|n| {
            json!({"name": format!("remote test {n}"), "expectedResult": n % 2 == 0,
                   "resource": "{\"eventName\":\"ConsoleLogin\"}", "mocks": []})
        })
        .collect();
    ok(json!({"data": {"rulePythonBody": {"pythonBody": "def rule(event):\n    return True\n", "tests": tests}}}))
}

/// `test --remote-bases --no-python` (the base's body is not run), which
/// exits 0; its JSON report.
fn test_without_python(dir: &Path) -> Value {
    let (code, out, err) = detect_run(
        dir,
        &["test", "--remote-bases", "--format", "json", "--no-python"],
        true,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    report(&out)
}

fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == id))
        .unwrap_or_else(|| panic!("no item {id} in {report}"))
}

fn codes(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|ds| {
            ds.iter()
                .filter_map(|d| d["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn test_remote_bases_runs_the_python_body_of_a_base_found_on_the_instance() {
    let Some(python) = crate::python_env::interpreter() else {
        return;
    };
    let server = Server::start(|r, _| match r.field {
        "rulePythonBody" => rule_body(2),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]})),
    });
    let (_tmp, dir) = project(&server.url, "");
    add_remote_derived(&dir, "Remote.Python.Base", "");
    let python = python.to_string_lossy().into_owned();
    let (code, out, err) = detect_run(
        &dir,
        &["test", "--remote-bases", "--format", "json", "--python", &python],
        true,
    );
    // The body's rule() is always true: the test expecting false fails.
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&out);
    let it = item(&r, "Remote.Derived");
    assert_eq!(it["status"], "failed", "{it}");
    let tests = it["tests"].as_array().expect("tests");
    let got: Vec<(&str, &str, &str)> = tests
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or(""),
                t["status"].as_str().unwrap_or(""),
                t["inherited_from"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("remote test 0", "passed", "Remote.Python.Base"),
            ("remote test 1", "failed", "Remote.Python.Base")
        ]
    );
    assert_eq!(tests[0]["functions"][0]["name"], "rule");
    assert_eq!(tests[0]["functions"][0]["output"], "true");
}

#[test]
fn test_remote_bases_skips_a_python_base_with_its_tests_listed() {
    let server = Server::start(|r, _| match r.field {
        "rulePythonBody" => rule_body(2),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]})),
    });
    let (_tmp, dir) = project(&server.url, "");
    add_remote_derived(&dir, "Remote.Python.Base", "");
    // Without Python (`--no-python`) the base's body is not run.
    let r = test_without_python(&dir);
    let it = item(&r, "Remote.Derived");
    assert_eq!(it["status"], "skipped");
    assert_eq!(it["reason"], "remote python base");
    let tests = it["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 2, "the base's remote tests are listed: {it}");
    assert!(tests.iter().all(|t| t["status"] == "skipped"));
    assert!(
        !codes(&r).contains(&"unknown-base-detection".to_owned()),
        "the base was found: {r}"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "one lookup");
    assert_eq!(reqs[0].field, "rulePythonBody");
    assert_eq!(reqs[0].body["variables"]["input"], "Remote.Python.Base");
    assert_eq!(reqs[0].headers.get("x-api-key").map(String::as_str), Some(TOKEN));
    assert_eq!(reqs[0].method, "POST");

    // --strict makes the skip a failure.
    let (code, _, _) = detect_run(&dir, &["test", "--remote-bases", "--strict"], true);
    assert_eq!(code, 1);
}

#[test]
fn test_remote_bases_keeps_own_tests_and_reports_missing_bases() {
    let server = Server::start(|r, _| match r.field {
        "rulePythonBody" if r.body["variables"]["input"] == "Remote.Found" => rule_body(3),
        "rulePythonBody" => ok(json!({"data": {"rulePythonBody": null}})),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]})),
    });
    let (_tmp, dir) = project(&server.url, "");
    add_remote_derived(
        &dir,
        "Remote.Found",
        "Tests:\n  - Name: own\n    ExpectedResult: true\n    Log: {a: 1}\n",
    );
    std::fs::write(
        dir.join("rules/aws_rules/remote_missing.yml"),
        "AnalysisType: rule\nRuleID: Remote.Missing.Derived\nBaseDetection: Remote.Nowhere\nEnabled: true\n",
    )
    .expect("test fixture");
    let r = test_without_python(&dir);
    let found = item(&r, "Remote.Derived");
    assert_eq!(found["reason"], "remote python base");
    let names: Vec<&str> = found["tests"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["own"], "its own tests win over the remote ones");
    let missing = item(&r, "Remote.Missing.Derived");
    assert_eq!(missing["reason"], "unknown base");
    let lookup: Vec<&Value> = r["diagnostics"]
        .as_array()
        .map(|ds| ds.iter().filter(|d| d["code"] == "remote-base-lookup").collect())
        .unwrap_or_default();
    assert_eq!(lookup.len(), 1, "{r}");
    assert_eq!(lookup[0]["severity"], "warning");
    assert!(
        lookup[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Remote.Nowhere")),
        "{}",
        lookup[0]
    );
    assert_eq!(server.count("rulePythonBody"), 2);
}

#[test]
fn test_remote_bases_survives_a_failing_instance() {
    let server = Server::start(|_, _| Reply::Json(401, json!({"message": "Unauthorized"})));
    let (_tmp, dir) = project(&server.url, "");
    add_remote_derived(&dir, "Remote.One", "");
    std::fs::write(
        dir.join("rules/aws_rules/remote_two.yml"),
        "AnalysisType: rule\nRuleID: Remote.Two.Derived\nBaseDetection: Remote.Two\nEnabled: true\n",
    )
    .expect("test fixture");
    let (code, out, err) = detect_run(&dir, &["test", "--remote-bases", "--format", "json"], true);
    assert_eq!(code, 0, "a failed lookup is a warning: {out}\n{err}");
    let r = report(&out);
    assert_eq!(item(&r, "Remote.Derived")["reason"], "unknown base");
    assert_eq!(
        codes(&r).iter().filter(|c| *c == "remote-base-lookup").count(),
        2,
        "{r}"
    );
    assert_eq!(server.requests().len(), 1, "no second try with a rejected token");
    let (code, _, _) = detect_run(&dir, &["test", "--remote-bases", "--deny-warnings"], true);
    assert_eq!(code, 1);
}

#[test]
fn test_without_remote_bases_sends_nothing_and_needs_no_token() {
    let server = Server::start(|_, _| rule_body(1));
    let (_tmp, dir) = project(&server.url, "");
    add_remote_derived(&dir, "Remote.One", "");
    let (code, out, _) = detect_run(&dir, &["test", "--format", "json"], true);
    assert_eq!(code, 0);
    assert_eq!(item(&report(&out), "Remote.Derived")["reason"], "unknown base");
    assert!(server.requests().is_empty());
    let (code, _, err) = detect_run(&dir, &["test", "--remote-bases"], false);
    assert_eq!(code, 2, "no token is a usage error: {err}");
    assert!(err.contains("PANTHER_API_TOKEN"), "{err}");
}

/// A server for `validate --remote`: log types, then the validation with
/// `issues` in its result after one `NOT_PROCESSED`.
fn validation_server(log_types: &'static [&'static str], issues: Value) -> Server {
    Server::start(move |r, n| match r.field {
        "schemas" => {
            let edges: Vec<Value> = log_types.iter().map(|t| json!({"node": {"name": t}})).collect();
            ok(json!({"data": {"schemas": {"edges": edges}}}))
        }
        "validateBulkUpload" => ok(json!({"data": {"validateBulkUpload": {"receiptId": "v-1"}}})),
        "validateBulkUploadStatus" if n == 0 => ok(
            json!({"data": {"validateBulkUploadStatus": {"status": "NOT_PROCESSED", "error": null, "result": null}}}),
        ),
        "validateBulkUploadStatus" => ok(json!({"data": {"validateBulkUploadStatus": {
            "status": "COMPLETED", "error": null, "result": {"issues": issues.clone()}}}})),
        _ => Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]})),
    })
}

const LOG_TYPES: &[&str] = &["AWS.CloudTrail", "Okta.SystemLog"];

#[test]
fn validate_remote_maps_issues_to_local_files() {
    let server = validation_server(
        LOG_TYPES,
        json!([{"path": "rules/okta_rules/okta_admin_login.yml", "errorMessage": "Severity is invalid"}]),
    );
    let (_tmp, dir) = project(&server.url, "");
    let (code, out, err) = detect_run(&dir, &["validate", "--remote", "--format", "json"], true);
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&out);
    let d: Vec<&Value> = r["diagnostics"]
        .as_array()
        .map(|ds| ds.iter().filter(|d| d["code"] == "remote-validation").collect())
        .unwrap_or_default();
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0]["severity"], "error");
    assert_eq!(d[0]["message"], "Severity is invalid");
    assert!(
        d[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("rules/okta_rules/okta_admin_login.yml")),
        "{}",
        d[0]
    );
    assert_eq!(item(&r, "Okta.Admin.Login.Public")["status"], "invalid");
    // The validation request carries the bundle and patVersion.
    let reqs = server.requests();
    let sent: Vec<_> = reqs.iter().filter(|q| q.field == "validateBulkUpload").collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body["variables"]["input"]["patVersion"].is_string());
    let names: Vec<String> = bundle_of(sent[0]).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"rules/okta_rules/okta_admin_login.yml".to_owned()),
        "{names:?}"
    );
    assert_eq!(server.count("validateBulkUploadStatus"), 2, "polled until done");
    assert!(
        reqs.iter()
            .all(|q| q.headers.get("x-api-key").map(String::as_str) == Some(TOKEN))
    );

    // Human output names the file and the issue.
    let (code, out, _) = detect_run(&dir, &["validate", "--remote"], true);
    assert_eq!(code, 1);
    assert!(
        out.contains("okta_admin_login.yml") && out.contains("Severity is invalid"),
        "{out}"
    );
}

#[test]
fn validate_remote_success_leaves_experimental_items_out() {
    let server = validation_server(LOG_TYPES, json!([]));
    let (_tmp, dir) = project(&server.url, "");
    std::fs::write(
        dir.join("rules/okta_rules/okta_experimental.yml"),
        "AnalysisType: rule\nRuleID: Okta.Experimental\nStatus: experimental\nEnabled: true\nLogTypes: [Okta.SystemLog]\nSeverity: Low\nDetection:\n  - Key: eventType\n    Condition: Exists\n",
    )
    .expect("test fixture");
    let (code, out, err) = detect_run(&dir, &["validate", "--remote"], true);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("Remote validation success"), "{err}");
    let reqs = server.requests();
    let sent = reqs
        .iter()
        .find(|q| q.field == "validateBulkUpload")
        .expect("a validation request");
    let names: Vec<String> = bundle_of(sent).into_iter().map(|(n, _)| n).collect();
    assert!(
        !names.contains(&"rules/okta_rules/okta_experimental.yml".to_owned()),
        "{names:?}"
    );
}

#[test]
fn validate_remote_reports_unknown_log_types() {
    let server = validation_server(&["AWS.CloudTrail", "Okta.SystemLogs"], json!([]));
    let (_tmp, dir) = project(&server.url, "");
    std::fs::write(
        dir.join("rules/okta_rules/custom.yml"),
        "AnalysisType: rule\nRuleID: Custom.Bad\nEnabled: true\nLogTypes: [Custom.good.name, Custom.Good]\nSeverity: Low\nDetection:\n  - Key: a\n    Condition: Exists\n",
    )
    .expect("test fixture");
    let (code, out, err) = detect_run(&dir, &["validate", "--remote", "--format", "json"], true);
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&out);
    let unknown: Vec<&Value> = r["diagnostics"]
        .as_array()
        .map(|ds| ds.iter().filter(|d| d["code"] == "unknown-log-type").collect())
        .unwrap_or_default();
    let messages: Vec<&str> = unknown.iter().filter_map(|d| d["message"].as_str()).collect();
    assert_eq!(unknown.len(), 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("`Okta.SystemLog`")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("`Custom.good.name`")),
        "{messages:?}"
    );
    assert!(
        unknown
            .iter()
            .any(|d| d["help"].as_str().is_some_and(|h| h.contains("Okta.SystemLogs"))),
        "a suggestion: {unknown:?}"
    );
}

#[test]
fn validate_remote_transport_and_auth_failures_exit_3() {
    let server = Server::start(|r, _| match r.field {
        "schemas" => ok(
            json!({"data": {"schemas": {"edges": [{"node": {"name": "AWS.CloudTrail"}}, {"node": {"name": "Okta.SystemLog"}}]}}}),
        ),
        _ => Reply::Text(503, "text/html", "<html>Service Unavailable</html>".to_owned()),
    });
    let (_tmp, dir) = project(&server.url, "max_retries: 2\n");
    let (code, out, err) = detect_run(&dir, &["validate", "--remote"], true);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("error: remote validation failed"), "{err}");
    assert_eq!(server.count("validateBulkUpload"), 3, "1 + max_retries attempts");

    let server = Server::start(|_, _| Reply::Json(401, json!({"message": "Unauthorized"})));
    let (_tmp, dir) = project(&server.url, "");
    let (code, _, err) = detect_run(&dir, &["validate", "--remote"], true);
    assert_eq!(code, 3, "{err}");
    assert!(err.to_lowercase().contains("token"), "{err}");
    assert_eq!(server.requests().len(), 1, "no retry after 401");
}

#[test]
fn validate_remote_sends_nothing_when_local_validation_fails() {
    let server = validation_server(LOG_TYPES, json!([]));
    let (_tmp, dir) = project(&server.url, "");
    std::fs::write(
        dir.join("rules/okta_rules/broken.yml"),
        "AnalysisType: rule\nRuleID: Broken\nEnabled: maybe\n",
    )
    .expect("test fixture");
    let (code, _, err) = detect_run(&dir, &["validate", "--remote"], true);
    assert_eq!(code, 1);
    assert!(err.contains("Remote validation skipped"), "{err}");
    assert!(server.requests().is_empty());
    // Without --remote, validate never needs a token or the network.
    let (code, _, _) = detect_run(&dir, &["validate"], false);
    assert_eq!(code, 1);
    assert!(server.requests().is_empty());
}
