//! One sample report through every reporter (issue 13): items in every
//! state, tests with alert function outputs and an explanation, diagnostics
//! of every severity with and without a location and help, a control
//! character from a file, and a skipped item with its reason. The same
//! diagnostics also go through a command's reporter (`command_*`: a
//! failure and a replay's outcome with its alerts), whose SARIF log is the
//! one of the sample report; `fmt_*` and `derive_*` are those commands'
//! outcomes. Each snapshot in `snapshots/` was reviewed by
//! hand against its format.

use std::path::PathBuf;

use serde_json::json;

use super::command::{Reporter, Stream};
use super::replay::Replay;
use super::{Format, FunctionReport, ItemReport, RunReport, Status, Style, TestReport, render};
use crate::alerting::payload::Payload;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, SourceFile, Span};

fn sources() -> Vec<SourceFile> {
    let file = |rel: &str, text: &str| {
        SourceFile::new(
            PathBuf::from("/srv/detections").join(rel),
            rel.to_owned(),
            rel.to_owned(),
            Some(text.to_owned()),
        )
    };
    vec![
        file(
            "rules/login.yml",
            "AnalysisType: rule\nRuleID: Login.Failed\nSeverity: Hihg\nLogTypes:\n  - Okta.SystemLog\n",
        ),
        file(
            "rules/bad, name.yml",
            "AnalysisType: rule\nRuleID: Bad\x1bName\nEnabled: true\n",
        ),
        file("rules/root.yml", "AnalysisType: rule\nRuleID: Root.Login\n"),
    ]
}

fn diagnostics() -> Vec<Diagnostic> {
    vec![
        Diagnostic::new(
            Code::InvalidValue,
            FileId(0),
            Span {
                start: crate::source::Pos { line: 3, col: 11 },
                end: crate::source::Pos { line: 3, col: 15 },
            },
            "`Severity: Hihg` is not a severity",
        )
        .with_help("did you mean `High`?")
        .with_related(FileId(2), Span::at(2, 9), "the same log type is used here"),
        Diagnostic::new(
            Code::InvalidId,
            FileId(1),
            Span::at(2, 9),
            "`Bad\u{1b}Name` has a forbidden character: 50% <bad> & \"quoted\"",
        ),
        Diagnostic::global(Code::UnknownSetting, "unknown key `retries`,\nsecond line"),
        Diagnostic::global(Code::DerivedNoTests, "`Login.Failed.Lab` has no tests").with_help("add a `Tests` list"),
    ]
}

fn test(name: &str, status: Status, expected: bool, matched: Option<bool>) -> TestReport {
    TestReport {
        matched,
        ..TestReport::new(name.to_owned(), status, expected)
    }
}

fn items() -> Vec<ItemReport> {
    let item = |id: &str, file: &str, status: Status| ItemReport {
        id: Some(id.to_owned()),
        analysis_type: Some("rule".to_owned()),
        file: file.to_owned(),
        status,
        reason: None,
        base: None,
        tests: Vec::new(),
        selected_because: Vec::new(),
    };
    let mut passed = item("Root.Login", "rules/root.yml", Status::Passed);
    let mut hit = test("root logs in", Status::Passed, true, Some(true));
    hit.functions = vec![
        FunctionReport::ok("title", json!("Root logged in from 1.2.3.4")),
        FunctionReport::ok("alertContext", json!({"ip": "1.2.3.4"})),
    ];
    passed.tests = vec![hit, test("a user logs in", Status::Passed, false, Some(false))];
    let mut failed = item("Login.Failed.Lab", "rules/lab.yml", Status::Failed);
    failed.base = Some("Login.Failed".to_owned());
    let mut miss = test("bad <password>", Status::Failed, true, Some(false));
    miss.inherited_from = Some("Login.Failed".to_owned());
    miss.explain = vec![
        "outcome.result Equals FAILURE: false".to_owned(),
        "  event value: \"SUCC\u{1b}[2JESS\"".to_owned(),
    ];
    let mut broken = test("no event", Status::Failed, true, None);
    broken.error = Some("`Log` is not a mapping".to_owned());
    failed.tests = vec![miss, broken];
    let mut skipped = item("Python.Rule", "rules/python.yml", Status::Skipped);
    skipped.reason = Some("python rule".to_owned());
    skipped.tests = vec![test("skipped test", Status::Skipped, true, None)];
    let validated = item("Zip.Only", "rules/zip.yml", Status::Validated);
    let invalid = ItemReport {
        id: None,
        analysis_type: None,
        file: "rules/login.yml".to_owned(),
        status: Status::Invalid,
        reason: None,
        base: None,
        tests: Vec::new(),
        selected_because: Vec::new(),
    };
    vec![passed, failed, skipped, validated, invalid]
}

fn rendered(format: Format, style: Style) -> String {
    let sources = sources();
    let diagnostics = diagnostics();
    let items = items();
    let report = RunReport {
        command: "test",
        paths: vec![".".to_owned()],
        items: &items,
        diagnostics: diagnostics.iter().collect(),
        sources: &sources,
        duration_ms: 42,
        notes: vec!["gated: rules/old.yml".to_owned()],
        problem: None,
        root: PathBuf::from("/srv/detections"),
    };
    let mut out = Vec::new();
    render(&report, format, style, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // The version changes with every release, not with the format.
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn human() {
    insta::assert_snapshot!(rendered(Format::Human, Style::default()));
}

#[test]
fn human_colour() {
    let style = Style {
        color: true,
        ..Style::default()
    };
    // Escapes shown as `<ESC>` so the snapshot can be read.
    insta::assert_snapshot!(rendered(Format::Human, style).replace('\u{1b}', "<ESC>"));
}

#[test]
fn json() {
    insta::assert_snapshot!(rendered(Format::Json, Style::default()));
}

#[test]
fn junit() {
    insta::assert_snapshot!(rendered(Format::Junit, Style::default()));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(rendered(Format::Sarif, Style::default()));
}

#[test]
fn github() {
    insta::assert_snapshot!(rendered(Format::Github, Style::default()));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(rendered(Format::Markdown, Style::default()));
}

#[test]
fn codequality() {
    insta::assert_snapshot!(rendered(Format::Codequality, Style::default()));
}

#[test]
fn human_verbose() {
    let style = Style {
        verbose: true,
        ..Style::default()
    };
    insta::assert_snapshot!(rendered(Format::Human, style));
}

#[test]
fn human_quiet() {
    let style = Style {
        quiet: true,
        ..Style::default()
    };
    insta::assert_snapshot!(rendered(Format::Human, style));
}

/// An alert of `id`.
fn payload(id: &str, alert_id: &str, title: &str) -> Payload {
    Payload {
        id: id.to_owned(),
        created_at: "2024-06-01T10:00:00.000Z".to_owned(),
        severity: "HIGH".to_owned(),
        alert_type: "RULE".to_owned(),
        link: String::new(),
        title: title.to_owned(),
        name: id.to_owned(),
        alert_id: alert_id.to_owned(),
        description: String::new(),
        runbook: String::new(),
        tags: Vec::new(),
        version: String::new(),
        alert_context: json!({}),
    }
}

/// The sample through a command's reporter (`run`): the same diagnostics,
/// a failure with help, human lines, a replay's outcome (summary, matches,
/// skipped detections, alerts). Human output is both streams, as a terminal
/// would show them one after the other (stdout first).
fn command_rendered(format: Format) -> String {
    let sources = sources();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rep = Reporter::new("run", format, PathBuf::from("/srv/detections"), &mut out, &mut err);
    for d in &diagnostics() {
        rep.diagnostic(d, &sources);
    }
    rep.problem(
        "logs/a.jsonl:3: not valid gzip",
        Some("check the file & its <extension>"),
    );
    rep.human(Stream::Err, "note: --dry-run: the state file was not updated\n");
    rep.human(Stream::Out, "{\"id\":\"Root.Login\"}\n");
    let payloads = [
        payload("Root.Login", "a1", "Root logged in"),
        payload("Login.Failed", "b2", "Failed \"login\""),
    ];
    let skipped = std::collections::BTreeMap::from([("python rule", 1)]);
    let skipped_ids = [("Python.Rule".to_owned(), "python rule")];
    let alerts = std::collections::BTreeMap::from([("RULE", 2)]);
    rep.replay(&Replay {
        events: 1204,
        evaluated: 2,
        skipped: &skipped,
        skipped_ids: &skipped_ids,
        disabled: 1,
        invalid: 1,
        signals: 3,
        alerts: &alerts,
        records_skipped: 1,
        duration_ms: 42,
        parse_only: false,
        hits: vec![("Login.Failed", 2, 1), ("Root.Login", 1, 1)],
        payloads: payloads.iter().collect(),
        payloads_in_report: true,
        quiet: false,
        verbose: true,
    });
    rep.finish().unwrap();
    let mut text = String::from_utf8(out).unwrap();
    text.push_str(&String::from_utf8(err).unwrap());
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn command_human() {
    insta::assert_snapshot!(command_rendered(Format::Human));
}

#[test]
fn command_json() {
    insta::assert_snapshot!(command_rendered(Format::Json));
}

#[test]
fn command_junit() {
    insta::assert_snapshot!(command_rendered(Format::Junit));
}

#[test]
fn command_sarif() {
    insta::assert_snapshot!(command_rendered(Format::Sarif));
}

#[test]
fn command_github() {
    insta::assert_snapshot!(command_rendered(Format::Github));
}

#[test]
fn command_markdown() {
    insta::assert_snapshot!(command_rendered(Format::Markdown));
}

#[test]
fn command_codequality() {
    insta::assert_snapshot!(command_rendered(Format::Codequality));
}

/// A diagnostic renders the same through a command's reporter as in
/// `validate`'s report, in every machine format.
#[test]
fn a_diagnostic_is_the_same_in_both_reports() {
    let sample = rendered(Format::Github, Style::default());
    let command = command_rendered(Format::Github);
    let annotations = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("::") && l.contains("title=") && !l.contains("title=detect"))
            .filter(|l| !l.contains("alert:") && !l.contains("title=detect"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(annotations(&sample), annotations(&command));
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["diagnostics"].clone();
    assert_eq!(
        json(&rendered(Format::Json, Style::default())),
        json(&command_rendered(Format::Json))
    );
    let results = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["runs"][0]["results"].clone();
    assert_eq!(
        results(&rendered(Format::Sarif, Style::default())),
        results(&command_rendered(Format::Sarif))
    );
}

/// `fmt`'s outcomes through the reporter: every file state, a diff, the
/// summary.
fn fmt_rendered(format: Format) -> String {
    use super::reformat::{FileStatus, FmtCounts, FmtFile};
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rep = Reporter::new("fmt", format, PathBuf::from("/srv/detections"), &mut out, &mut err);
    let file = |file, status, reason, diff| FmtFile {
        file,
        status,
        reason,
        diff,
        check: true,
    };
    let diff = "--- a/rules/a.yml\n+++ b/rules/a.yml\n@@ -1 +1 @@\n-RuleID:  A\n+RuleID: A\n";
    rep.fmt_file(&file("rules/a.yml", FileStatus::WouldReformat, None, Some(diff)));
    rep.fmt_file(&file("rules/b.yml", FileStatus::Unchanged, None, None));
    rep.fmt_file(&file(
        "rules/c.yml",
        FileStatus::LeftAlone,
        Some("anchors (`&name`)"),
        None,
    ));
    rep.fmt_file(&file("rules/d.yml", FileStatus::Invalid, None, None));
    rep.fmt_summary(&FmtCounts {
        changed: 1,
        unchanged: 1,
        left_alone: 1,
        invalid: 1,
        dry: true,
    });
    rep.finish().unwrap();
    let mut text = String::from_utf8(out).unwrap();
    text.push_str(&String::from_utf8(err).unwrap());
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn fmt_human() {
    insta::assert_snapshot!(fmt_rendered(Format::Human));
}

#[test]
fn fmt_json() {
    insta::assert_snapshot!(fmt_rendered(Format::Json));
}

#[test]
fn fmt_junit() {
    insta::assert_snapshot!(fmt_rendered(Format::Junit));
}

/// `derive`'s outcome through the reporter: a dry run with a base edit.
fn derive_rendered(format: Format) -> String {
    use super::derived::{BaseEdit, Derived};
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rep = Reporter::new("derive", format, PathBuf::from("/srv/detections"), &mut out, &mut err);
    rep.derived(&Derived {
        id: "Root.Login.Derived".to_owned(),
        base: "Root.Login".to_owned(),
        file: "rules/Root.Login.Derived.yml".to_owned(),
        written: false,
        text: "AnalysisType: rule\nRuleID: Root.Login.Derived\nBaseDetection: Root.Login\nEnabled: true\n".to_owned(),
        base_edit: Some(BaseEdit {
            file: "rules/root.yml".to_owned(),
            diff: Some("--- a/rules/root.yml\n+++ b/rules/root.yml\n@@ -1 +1 @@\n-Enabled: true\n+Enabled: false\n".to_owned()),
        }),
        effective_diff: Some(
            "--- Root.Login (effective)\n+++ Root.Login.Derived (effective)\n@@ -1 +1,2 @@\n-RuleID: Root.Login\n+RuleID: Root.Login.Derived\n+BaseDetection: Root.Login\n".to_owned(),
        ),
        remote_base: None,
    });
    rep.finish().unwrap();
    let mut text = String::from_utf8(out).unwrap();
    text.push_str(&String::from_utf8(err).unwrap());
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn derive_human() {
    insta::assert_snapshot!(derive_rendered(Format::Human));
}

#[test]
fn derive_json() {
    insta::assert_snapshot!(derive_rendered(Format::Json));
}
