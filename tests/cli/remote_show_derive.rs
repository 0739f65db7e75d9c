//! `detect derive --remote` and `detect show --remote` against a real
//! GraphQL server on 127.0.0.1 (upload-protocol §4.8, §8): a base that is
//! not in the repository is looked up with `rulePythonBody`; a local base
//! never causes a request.

use std::path::Path;

use serde_json::{Value, json};

use crate::graphql_server::{Reply, Server, TOKEN, detect_run, ok, project};

use crate::util::json as json_of;
/// The base that exists only on the instance.
const REMOTE_BASE: &str = "Panther.Remote.Base";

/// A derived detection of [`REMOTE_BASE`], written into the project copy.
const REMOTE_DERIVED: &str = "rules/aws_rules/remote_derived.yml";

/// The instance: [`REMOTE_BASE`] is a Python rule with a `title()` and two
/// tests; every other ID is unknown.
fn instance() -> Server {
    Server::start(|r, _| {
        if r.field != "rulePythonBody" {
            return Reply::Json(400, json!({"errors": [{"message": "unexpected operation"}]}));
        }
        if r.body["variables"]["input"] != REMOTE_BASE {
            return ok(json!({"data": {"rulePythonBody": null}}));
        }
        ok(json!({"data": {"rulePythonBody": {
        "pythonBody": "def rule(event):\n    return event.get('eventName') == 'ConsoleLogin'\n\n\ndef title(event):\n    return 'Console login'\n",
        "tests": [
            {"name": "Console login", "expectedResult": true,
             "resource": "{\"eventName\":\"ConsoleLogin\"}", "mocks": []},
            {"name": "Other event", "expectedResult": false,
             "resource": "{\"eventName\":\"GetObject\"}", "mocks": []}
        ]}}}))
    })
}

/// A project copy whose settings point at `server`, with a derived
/// detection of the remote-only base.
fn repo(server: &Server) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = project(&server.url, "");
    std::fs::write(
        dir.join(REMOTE_DERIVED),
        format!(
            "AnalysisType: rule\nRuleID: AWS.Remote.Derived\nBaseDetection: {REMOTE_BASE}\nEnabled: true\nSeverity: High\n"
        ),
    )
    .expect("test fixture");
    (tmp, dir)
}

/// The one lookup the server got: `rulePythonBody` for `id`, with the token.
fn assert_one_lookup(server: &Server, id: &str) {
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].field, "rulePythonBody");
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].body["variables"]["input"], id);
    assert_eq!(reqs[0].headers.get("x-api-key").map(String::as_str), Some(TOKEN));
}

fn diagnostics_on(report: &Value, file: &str) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["file"] == file)
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// `detect derive --remote`.

#[test]
fn derive_remote_scaffolds_a_file_that_validates() {
    let server = instance();
    let (_tmp, dir) = project(&server.url, "");
    let (code, stdout, stderr) = detect_run(
        &dir,
        &["derive", REMOTE_BASE, "--remote", "--set", "Severity=high"],
        true,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stderr, "");
    assert_one_lookup(&server, REMOTE_BASE);

    // No local file derives from the base: the first search root.
    let file = "Panther.Remote.Base.Derived.yml";
    assert!(stdout.starts_with(&format!("wrote {file}\n")), "{stdout}");
    assert!(
        stdout.contains("is on the Panther instance (Python, 6 lines, 2 tests)"),
        "{stdout}"
    );
    assert!(!stdout.contains("(effective)"), "no diff: {stdout}");
    let text = read(&dir.join(file));
    assert!(
        text.starts_with(
            "AnalysisType: rule\nRuleID: Panther.Remote.Base.Derived\nBaseDetection: Panther.Remote.Base\nEnabled: true\nSeverity: High\n\n"
        ),
        "{text}"
    );
    // The comments, read as one text.
    let prose = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        prose.contains("The base `Panther.Remote.Base` is on the Panther instance, not in this repository: a Python rule (6 lines) with 2 tests, which `detect` cannot run."),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 80), "{text}");
    // Keys as comments, without values; the base's `title()` is noted.
    assert!(text.contains("\n# Description:  # text\n"), "{text}");
    assert!(text.contains("\n# Threshold:  # "), "{text}");
    assert!(
        text.contains("\n# AlertTitle:  # text; replaces the base's title()\n"),
        "{text}"
    );
    assert!(
        prose.contains("Tests: the 2 tests of `Panther.Remote.Base` on the instance are inherited"),
        "{text}"
    );
    for key in [
        "Tests:",
        "Detection:",
        "LogTypes:",
        "Filename:",
        "# Severity:",
        "# Enabled:",
    ] {
        assert!(!text.lines().any(|l| l.starts_with(key)), "{key} in\n{text}");
    }

    // The file validates; the base that is not local is the only warning.
    let (code, stdout, stderr) = detect_run(&dir, &["validate", "--format", "json"], false);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report = json_of(&stdout);
    assert!(
        report["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["file"] == file),
        "{stdout}"
    );
    assert_eq!(diagnostics_on(&report, file), ["unknown-base-detection"], "{stdout}");
    assert_eq!(server.requests().len(), 1, "validate sends nothing");
}

#[test]
fn derive_remote_goes_next_to_derived_detections_of_the_same_base() {
    let server = instance();
    let (_tmp, dir) = repo(&server);
    let (code, stdout, stderr) = detect_run(
        &dir,
        &[
            "derive",
            REMOTE_BASE,
            "--remote",
            "--id",
            "AWS.Remote.Team",
            "--dry-run",
        ],
        true,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_one_lookup(&server, REMOTE_BASE);
    assert!(
        stdout.starts_with(
            "would write rules/aws_rules/AWS.Remote.Team.yml:\nAnalysisType: rule\nRuleID: AWS.Remote.Team\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("no effective detection to diff"), "{stdout}");
    assert!(!dir.join("rules/aws_rules/AWS.Remote.Team.yml").exists(), "dry run");
}

#[test]
fn derive_remote_of_an_unknown_base_exits_1() {
    let server = instance();
    let (_tmp, dir) = project(&server.url, "");
    let (code, stdout, stderr) = detect_run(&dir, &["derive", "Nowhere.Base", "--remote"], true);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr
            .contains("error: base detection `Nowhere.Base` is neither in the repository nor on the Panther instance"),
        "{stderr}"
    );
    assert_one_lookup(&server, "Nowhere.Base");
    assert!(!dir.join("Nowhere.Base.Derived.yml").exists());
}

#[test]
fn derive_remote_with_a_refused_token_exits_3() {
    let server = Server::start(|_, _| Reply::Json(401, json!({"message": "Unauthorized"})));
    let (_tmp, dir) = project(&server.url, "");
    let (code, stdout, stderr) = detect_run(&dir, &["derive", REMOTE_BASE, "--remote"], true);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: could not look up base detection `Panther.Remote.Base`")
            && lines[0].contains("authentication failed (HTTP 401)"),
        "{stderr}"
    );
    assert_eq!(stdout, "");
    assert_eq!(server.count("rulePythonBody"), 1);
    assert!(!dir.join("Panther.Remote.Base.Derived.yml").exists());
}

#[test]
fn derive_remote_of_a_local_base_sends_nothing() {
    let server = instance();
    let (_tmp, dir) = project(&server.url, "");
    let (code, stdout, stderr) = detect_run(
        &dir,
        &[
            "derive",
            "AWS.Console.RootLogin",
            "--remote",
            "--id",
            "AWS.Console.RootLogin.Team",
        ],
        true,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(dir.join("rules/aws_rules/AWS.Console.RootLogin.Team.yml").is_file());
    assert!(stdout.contains("+RuleID: AWS.Console.RootLogin.Team\n"), "{stdout}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn derive_without_remote_never_asks_the_instance() {
    let server = instance();
    let (_tmp, dir) = project(&server.url, "");
    let (code, _, stderr) = detect_run(&dir, &["derive", REMOTE_BASE], true);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no local rule has the RuleID"), "{stderr}");
    assert!(stderr.contains("--remote"), "{stderr}");
    assert!(server.requests().is_empty());
}

#[test]
fn derive_remote_refuses_what_it_cannot_do_before_asking() {
    let server = instance();
    let (_tmp, dir) = project(&server.url, "");
    // The base is not in the repository: nothing to edit.
    let (code, _, stderr) = detect_run(&dir, &["derive", REMOTE_BASE, "--remote", "--disable-base"], true);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not in the repository"), "{stderr}");
    assert!(stderr.contains("disable the base in Panther"), "{stderr}");
    // Bad --set values and IDs are usage errors.
    for bad in [
        &["derive", REMOTE_BASE, "--remote", "--set", "Threshold=0"][..],
        &["derive", REMOTE_BASE, "--remote", "--id", "AWS.Console.RootLogin"],
    ] {
        let (code, _, stderr) = detect_run(&dir, bad, true);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
    }
    // No token: a usage error.
    let (code, _, stderr) = detect_run(&dir, &["derive", REMOTE_BASE, "--remote"], false);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no API token"), "{stderr}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

// `detect show --remote`.

#[test]
fn show_remote_human_describes_the_base_on_the_instance() {
    let server = instance();
    let (_tmp, dir) = repo(&server);
    let (code, stdout, stderr) = detect_run(&dir, &["show", "AWS.Remote.Derived", "--remote"], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stderr, "");
    assert_one_lookup(&server, REMOTE_BASE);
    assert!(
        stdout.contains("base: Panther.Remote.Base (on the Panther instance: Python, 6 lines, 2 tests)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("a Python rule that `detect` cannot run"), "{stdout}");
    assert!(
        stdout.contains("remote base Panther.Remote.Base:\n  Python body: 6 lines; alert functions: title()\n"),
        "{stdout}"
    );
    assert!(stdout.contains("    true   Console login\n"), "{stdout}");
    assert!(stdout.contains("    false  Other event\n"), "{stdout}");
    assert!(stdout.contains("  derived  Severity: High\n"), "{stdout}");
}

#[test]
fn show_remote_json_adds_the_remote_base() {
    let server = instance();
    let (_tmp, dir) = repo(&server);
    let (code, stdout, stderr) = detect_run(
        &dir,
        &["show", "AWS.Remote.Derived", "--remote", "--format", "json"],
        true,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_one_lookup(&server, REMOTE_BASE);
    let v = json_of(&stdout);
    assert_eq!(
        v["base"],
        json!({"id": REMOTE_BASE, "file": null, "remote": {"python_lines": 6, "tests": [
            {"name": "Console login", "expected_result": true},
            {"name": "Other event", "expected_result": false}
        ]}})
    );
    assert_eq!(v["fields"]["Severity"], json!({"value": "High", "source": "derived"}));
    assert_eq!(v["auto_disabled"], false);

    // Without --remote: no request, and no `remote` key.
    let (code, stdout, _) = detect_run(&dir, &["show", "AWS.Remote.Derived", "--format", "json"], true);
    assert_eq!(code, 0);
    assert_eq!(json_of(&stdout)["base"], json!({"id": REMOTE_BASE, "file": null}));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn show_remote_lookup_failures_warn_and_show_the_local_view() {
    let server = Server::start(|r, n| match (r.body["variables"]["input"].as_str(), n) {
        (Some("Gone.Base"), _) => ok(json!({"data": {"rulePythonBody": null}})),
        _ => Reply::Json(500, json!({"message": "internal error"})),
    });
    let (_tmp, dir) = repo(&server);
    std::fs::write(
        dir.join("rules/aws_rules/gone_derived.yml"),
        "AnalysisType: rule\nRuleID: AWS.Gone.Derived\nBaseDetection: Gone.Base\nEnabled: true\n",
    )
    .expect("test fixture");
    for (id, base, what) in [
        ("AWS.Remote.Derived", REMOTE_BASE, "could not look up base detection"),
        (
            "AWS.Gone.Derived",
            "Gone.Base",
            "is neither in the repository nor on the Panther instance",
        ),
    ] {
        let (_, plain, _) = detect_run(&dir, &["show", id], false);
        let (code, stdout, stderr) = detect_run(&dir, &["show", id, "--remote"], true);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert_eq!(stdout, plain, "shown as without --remote");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].starts_with("warning[remote-base-lookup]: "), "{stderr}");
        assert!(lines[0].contains(what) && lines[0].contains(base), "{stderr}");
    }
    assert_eq!(server.count("rulePythonBody"), 2);
}

#[test]
fn show_remote_of_a_local_base_sends_nothing() {
    let server = instance();
    let (_tmp, dir) = repo(&server);
    for args in [
        &["show", "AWS.Console.RootLogin.Prod", "--remote"][..],
        &["show", "AWS.Console.RootLogin", "--remote", "--format", "json"],
        &["show", "AWS.Remote.Derived"],
    ] {
        let (code, _, stderr) = detect_run(&dir, args, true);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    // A local base needs no token either.
    let (code, _, stderr) = detect_run(&dir, &["show", "AWS.Console.RootLogin.Prod", "--remote"], false);
    assert_eq!(code, 0, "{stderr}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}
