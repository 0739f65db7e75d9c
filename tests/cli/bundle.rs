//! What a bundle may hold (upload-protocol §2.3): a `Filename` never brings
//! a secret, a hidden file, a file outside the project or an oversized file
//! into it, and `zip` stops before writing anything.

use std::path::Path;

use serde_json::Value;

use crate::graphql_server::{detect_run, project};
use crate::util::{json, located as diagnostics_of};

/// A fake token in the settings file; it must never appear anywhere.
const FAKE_TOKEN: &str = "fake-secret-token-4242";

/// Writes a Python rule at `rules/leak.yml` whose `Filename` is `value`
/// (on line 6, the value at column 11).
fn leaky_rule(dir: &Path, value: &str) {
    std::fs::write(
        dir.join("rules/leak.yml"),
        format!(
            "AnalysisType: rule\nRuleID: Leak\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nFilename: {value}\n"
        ),
    )
    .expect("test fixture");
}

/// The `(code, line, column)` of the diagnostics of `rules/leak.yml` in a
/// JSON report.
fn leak_diagnostics(report: &Value) -> Vec<(String, u64, u64)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["file"] == "rules/leak.yml")
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_owned(),
                d["line"].as_u64().unwrap_or_default(),
                d["column"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn zip_never_bundles_the_settings_file_named_by_filename() {
    let (_tmp, dir) = project(
        "http://127.0.0.1:1/public/graphql",
        &format!("api_token: {FAKE_TOKEN}\n"),
    );
    leaky_rule(&dir, "../.panther_settings.yml");
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist"], false);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("rules/leak.yml:6:11: error[filename-not-allowed]: `Filename` names `../.panther_settings.yml`"),
        "{err}"
    );
    assert!(err.contains("= help: "), "{err}");
    assert!(!dir.join("dist").exists(), "no bundle is written");
    assert!(!out.contains(FAKE_TOKEN) && !err.contains(FAKE_TOKEN), "{out}\n{err}");
    // The same in JSON, and `validate` reports it too (it is a property of
    // the file).
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--format", "json"], false);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains(FAKE_TOKEN) && !err.contains(FAKE_TOKEN));
    let report = json(&out);
    assert_eq!(report["bundle"], Value::Null);
    assert_eq!(leak_diagnostics(&report), [("filename-not-allowed".to_owned(), 6, 11)]);
    let (code, out, _) = detect_run(&dir, &["validate", "--format", "json"], false);
    assert_eq!(code, 1);
    assert_eq!(
        leak_diagnostics(&json(&out)),
        [("filename-not-allowed".to_owned(), 6, 11)]
    );
    assert!(!dir.join("dist").exists());
}

#[test]
fn upload_sends_nothing_when_a_filename_names_the_settings_file() {
    let server = crate::graphql_server::Server::start(|_, _| {
        crate::graphql_server::Reply::Json(400, serde_json::json!({"errors": [{"message": "unexpected"}]}))
    });
    let (_tmp, dir) = project(&server.url, &format!("api_token: {FAKE_TOKEN}\n"));
    leaky_rule(&dir, "../.panther_settings.yml");
    for args in [&["upload"][..], &["upload", "--skip-tests"], &["upload", "--dry-run"]] {
        let (code, out, err) = detect_run(&dir, args, false);
        assert_eq!(code, 1, "{args:?}: {out}\n{err}");
        assert!(
            format!("{out}{err}").contains("error[filename-not-allowed]"),
            "{args:?}"
        );
        assert!(!out.contains(FAKE_TOKEN) && !err.contains(FAKE_TOKEN), "{args:?}");
        assert!(server.requests().is_empty(), "{args:?}: nothing is sent");
    }
}

#[test]
fn filename_may_name_only_sources_inside_the_project() {
    let (tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    std::fs::write(dir.join(".env"), format!("TOKEN={FAKE_TOKEN}\n")).expect("test fixture");
    std::fs::create_dir_all(dir.join(".git")).expect("test fixture");
    std::fs::write(dir.join(".git/config"), format!("[x]\n  token = {FAKE_TOKEN}\n")).expect("test fixture");
    std::fs::create_dir_all(dir.join("rules/.hidden")).expect("test fixture");
    std::fs::write(dir.join("rules/.hidden/x.py"), "def rule(e):\n    return True\n").expect("test fixture");
    std::fs::write(dir.join("rules/notes.txt"), FAKE_TOKEN).expect("test fixture");
    std::fs::create_dir_all(dir.join("rules/folder.py")).expect("test fixture");
    std::fs::write(tmp.path().join("outside.py"), "def rule(e):\n    return True\n").expect("test fixture");
    let abs = dir.join("rules/aws_rules/aws_s3_public_acl.py");
    let abs = abs.to_string_lossy();
    for value in [
        "../.env",
        "../.git/config",
        ".hidden/x.py",
        "../../outside.py",
        abs.as_ref(),
        "notes.txt",
        "aws_rules",
        "folder.py",
    ] {
        leaky_rule(&dir, value);
        let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--format", "json"], false);
        assert_eq!(code, 1, "{value}: {err}");
        assert!(!out.contains(FAKE_TOKEN) && !err.contains(FAKE_TOKEN), "{value}: {out}");
        // A folder is also `missing-file` (no such file).
        let found = leak_diagnostics(&json(&out));
        assert!(
            found.contains(&("filename-not-allowed".to_owned(), 6, 11)),
            "{value}: {found:?}"
        );
        assert!(!dir.join("dist").exists(), "{value}: no bundle is written");
    }
    // A source in another folder of the project is fine.
    leaky_rule(&dir, "aws_rules/aws_s3_public_acl.py");
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--skip-tests"], false);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(dir.join(out.trim()).is_file(), "{out}");
}

#[cfg(unix)]
#[test]
fn filename_through_a_link_to_a_hidden_file_is_refused() {
    let (_tmp, dir) = project(
        "http://127.0.0.1:1/public/graphql",
        &format!("api_token: {FAKE_TOKEN}\n"),
    );
    std::os::unix::fs::symlink(dir.join(".panther_settings.yml"), dir.join("rules/settings.py")).expect("test fixture");
    leaky_rule(&dir, "settings.py");
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--format", "json"], false);
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains(FAKE_TOKEN) && !err.contains(FAKE_TOKEN));
    assert_eq!(
        leak_diagnostics(&json(&out)),
        [("filename-not-allowed".to_owned(), 6, 11)]
    );
    assert!(!dir.join("dist").exists());
}

#[test]
fn filename_above_the_size_cap_is_an_error_at_its_line() {
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    // 16 MiB and one byte, sparse: the size is all that matters.
    let big = std::fs::File::create(dir.join("rules/big.py")).expect("test fixture");
    big.set_len((16 << 20) + 1).expect("test fixture");
    leaky_rule(&dir, "big.py");
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--format", "json"], false);
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    assert_eq!(leak_diagnostics(&report), [("filename-too-large".to_owned(), 6, 11)]);
    assert!(!dir.join("dist").exists());
    // Exactly 16 MiB is allowed.
    let big = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("rules/big.py"))
        .expect("test fixture");
    big.set_len(16 << 20).expect("test fixture");
    let (_, out, _) = detect_run(&dir, &["validate", "--format", "json"], false);
    assert_eq!(leak_diagnostics(&json(&out)), []);
}

#[cfg(unix)]
#[test]
fn unreadable_inputs_are_reported_and_stop_the_bundle() {
    // Tests may run as root, which reads mode-000 folders: a FIFO, a
    // dangling link and a link loop fail the same way for every user
    // (the permission case is a unit test of the OS error mapping).
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    let status = std::process::Command::new("mkfifo")
        .arg(dir.join("rules/pipe.yml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    std::os::unix::fs::symlink("gone.yml", dir.join("rules/dangling.yml")).expect("test fixture");
    std::os::unix::fs::symlink("gone.md", dir.join("rules/dangling.md")).expect("test fixture");
    std::os::unix::fs::symlink("..", dir.join("rules/loop")).expect("test fixture");
    std::os::unix::fs::symlink("..", dir.join("rules/node_modules")).expect("test fixture");
    std::os::unix::fs::symlink("gone.yml", dir.join("rules/.hidden.yml")).expect("test fixture");
    // A FIFO is never opened (that would wait for a writer forever).
    let (code, out, err) = detect_run(&dir, &["validate", "--format", "json"], false);
    assert_eq!(code, 1, "{err}");
    let report = json(&out);
    assert_eq!(
        diagnostics_of(&report, "rules/pipe.yml"),
        [("unreadable-file".to_owned(), 1, 1)]
    );
    assert_eq!(
        diagnostics_of(&report, "rules/dangling.yml"),
        [("unreadable-file".to_owned(), 1, 1)]
    );
    assert_eq!(
        diagnostics_of(&report, "rules/loop"),
        [("symlink-loop".to_owned(), 1, 1)]
    );
    assert_eq!(
        diagnostics_of(&report, "rules/dangling.md"),
        [],
        "not a detection file name"
    );
    assert_eq!(diagnostics_of(&report, "rules/node_modules"), [], "a pruned folder");
    assert_eq!(diagnostics_of(&report, "rules/.hidden.yml"), [], "a hidden file");
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("FIFO") && m.contains("not a regular file")),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| !m.contains("not UTF-8")),
        "a read problem is not an encoding problem: {messages:?}"
    );
    for (file, status) in [("rules/pipe.yml", "invalid"), ("rules/dangling.yml", "invalid")] {
        let item = report["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["file"] == file)
            .unwrap_or_else(|| panic!("{file} is an item"));
        assert_eq!(item["status"], status, "{file}");
    }
    let (code, out, err) = detect_run(&dir, &["zip", "--out", "dist", "--skip-tests"], false);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("rules/pipe.yml:1:1: error[unreadable-file]: a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(
        err.contains("error: nothing was bundled: could not read rules/dangling.yml, rules/pipe.yml"),
        "{err}"
    );
    assert!(!dir.join("dist").exists(), "no bundle is written");
    // Ignored paths are not reported.
    let (code, _, err) = detect_run(
        &dir,
        &[
            "zip",
            "--out",
            "dist",
            "--skip-tests",
            "--ignore-files",
            "rules/pipe.yml",
            "--ignore-files",
            "rules/dangling.yml",
            "--ignore-files",
            "rules/loop",
        ],
        false,
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("unreadable"), "{err}");
}

const CORR_BASE: &str = "rules/aws_rules/aws_root_console_login.yml";
const CORR_DERIVED: &str = "rules/aws_rules/aws_root_console_login_derived.yml";

#[test]
fn auto_disable_keeps_a_base_that_feeds_a_correlation_rule() {
    // The example: `AWS.Console.RootLogin` has the derived detection
    // `AWS.Console.RootLogin.Prod` and is a step of the enabled correlation
    // rule `Okta.Admin.Login.THEN.AWS.RootLogin`.
    let (_tmp, dir) = project("http://127.0.0.1:1/public/graphql", "");
    let before = std::fs::read_to_string(dir.join(CORR_BASE)).expect("test fixture");
    assert!(before.contains("Enabled: true\n"));
    let (code, out, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    let warnings: Vec<&Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "derived-base-feeds-correlation")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0];
    assert_eq!(w["severity"], "warning");
    assert_eq!(
        (w["file"].as_str(), w["line"].as_u64(), w["column"].as_u64()),
        (Some(CORR_DERIVED), Some(3), Some(16))
    );
    let message = w["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`AWS.Console.RootLogin`") && message.contains("`Okta.Admin.Login.THEN.AWS.RootLogin`"),
        "{message}"
    );
    assert_eq!(
        report["disabledBases"],
        serde_json::json!([]),
        "the base is not disabled"
    );
    assert!(
        !report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|d| d["code"] == "derived-inherits-disabled"),
        "nothing inherits a disabled base"
    );
    // The base is bundled unchanged, so it keeps producing signals.
    let path = report["bundle"]["path"].as_str().expect("bundle path");
    let entries = crate::graphql_server::unzip(&std::fs::read(dir.join(path)).expect("bundle"));
    let base = entries.iter().find(|(n, _)| n == CORR_BASE).map(|(_, b)| b.as_str());
    assert_eq!(base, Some(before.as_str()));
    // Human output names both, on stderr; `upload --dry-run` says the same.
    let (code, _, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--out", "dist"], false);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{CORR_DERIVED}:3:16: warning[derived-base-feeds-correlation]: base detection `AWS.Console.RootLogin` is not disabled: the enabled correlation rule `Okta.Admin.Login.THEN.AWS.RootLogin`")), "{err}");
    assert!(!err.contains("Disabled 1 base detection"), "{err}");
    let (code, out, err) = detect_run(&dir, &["upload", "--dry-run", "--auto-disable-base"], false);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        format!("{out}{err}").contains("warning[derived-base-feeds-correlation]"),
        "{out}\n{err}"
    );
    // `show` agrees with the upload.
    let (code, out, err) = detect_run(&dir, &["show", "AWS.Console.RootLogin", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["auto_disabled"], false);
    let (code, out, err) = detect_run(&dir, &["show", "AWS.Console.RootLogin"], false);
    assert_eq!(code, 0, "{err}");
    assert!(
        format!("{out}{err}").contains("an upload with auto_disable_base keeps this detection enabled: the enabled correlation rule `Okta.Admin.Login.THEN.AWS.RootLogin` needs its signals"),
        "{out}\n{err}"
    );
    // With the correlation rule disabled, the base is disabled as before.
    let corr = dir.join("correlation_rules/okta_admin_then_aws_root_login.yml");
    let text = std::fs::read_to_string(&corr).expect("test fixture");
    std::fs::write(&corr, text.replace("Enabled: true\n", "Enabled: false\n")).expect("test fixture");
    let (code, out, err) = detect_run(&dir, &["zip", "--auto-disable-base", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    assert_eq!(
        report["disabledBases"],
        serde_json::json!([{"id": "AWS.Console.RootLogin", "file": CORR_BASE}])
    );
    let (_, out, _) = detect_run(&dir, &["show", "AWS.Console.RootLogin", "--format", "json"], false);
    assert_eq!(json(&out)["auto_disabled"], true);
}

#[test]
fn skip_tests_reports_items_as_validated_never_passed() {
    let server_less = "http://127.0.0.1:1/public/graphql";
    let (_tmp, dir) = project(server_less, "");
    let (code, out, err) = detect_run(&dir, &["zip", "--skip-tests", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    let items = report["items"].as_array().expect("items");
    // The example has four YAML detections and one Python rule; none of
    // their tests ran.
    assert_eq!(items.len(), 5, "{items:?}");
    for i in items {
        assert_eq!(i["status"], "validated", "{i}");
        assert_eq!(i["reason"], "tests not run (--skip-tests)", "{i}");
    }
    assert!(!out.contains("\"status\": \"passed\""), "no item or test passed: {out}");
    assert_eq!(report["summary"]["passed"], 0);
    assert_eq!(report["summary"]["validated"], 5);
    assert_eq!(report["summary"]["total"], 5);
    // Human output says what was done.
    let (code, _, err) = detect_run(&dir, &["zip", "--skip-tests", "--out", "dist"], false);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Passed: 0  Failed: 0  Invalid: 0  Skipped: 0  Validated: 5 (tests not run)  (total 5, "),
        "{err}"
    );
    let (code, out, err) = detect_run(
        &dir,
        &["upload", "--skip-tests", "--dry-run", "--format", "json"],
        false,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["summary"]["passed"], 0);
    assert_eq!(report["summary"]["validated"], 5);
    // Without --skip-tests the tests run and items pass.
    let (code, out, err) = detect_run(&dir, &["zip", "--format", "json"], false);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["summary"]["validated"], 0);
}
