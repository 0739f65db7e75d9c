//! GitLab Code Quality (`--format codequality`): a JSON array with one
//! object per diagnostic (a failed unit test is one too: `test-failed`, at
//! the test), in GitLab's field set:
//!
//! - `description`: the message, then ` (help: …)` when there is help;
//! - `check_name`: the diagnostic code;
//! - `fingerprint`: the SHA-256 (hex) of the code, the path, the message
//!   and the number of the same finding before it in the report; no line,
//!   so moving a finding keeps its fingerprint and GitLab does not show it
//!   as new; unique per finding and stable across runs;
//! - `severity`: `major` for errors, `minor` for warnings, `info`;
//! - `location`: `path` (relative to the folder `detect` ran in, as the
//!   other reports show it; GitLab wants it relative to the repository
//!   root, where the job runs) and `lines.begin` (1 for a finding about a
//!   whole file). A finding about no file (a setting, the run) is placed
//!   at the project's settings file name, line 1.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;

use super::RunReport;

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = document(&report.diagnostics, report.sources);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The Code Quality array of `diagnostics` about `sources`.
pub(super) fn document(diagnostics: &[&Diagnostic], sources: &[SourceFile]) -> Value {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let (file, line, _) = super::position(d, sources);
            let path = file.unwrap_or(crate::settings::FILE_NAME);
            let key = format!("{}\u{0}{path}\u{0}{}", d.code.name(), d.message);
            let n = seen.entry(key.clone()).or_insert(0);
            let fingerprint = crate::sha256::sha256_hex(format!("{key}\u{0}{n}").as_bytes());
            *n += 1;
            let description = match &d.help {
                Some(h) => format!("{} (help: {h})", d.message),
                None => d.message.clone(),
            };
            json!({
                "description": description,
                "check_name": d.code.name(),
                "fingerprint": fingerprint,
                "severity": severity(d.severity()),
                "location": {"path": path, "lines": {"begin": line.unwrap_or(1)}},
            })
        })
        .collect();
    Value::Array(issues)
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use super::document;
    use crate::diagnostic::{Code, Diagnostic};
    use crate::source::{FileId, SourceFile, Span};

    fn sources() -> Vec<SourceFile> {
        vec![SourceFile::new(
            PathBuf::from("/srv/rules/a.yml"),
            "rules/a.yml".to_owned(),
            "rules/a.yml".to_owned(),
            Some("AnalysisType: rule\n".to_owned()),
        )]
    }

    fn issues(diags: &[Diagnostic]) -> Vec<serde_json::Value> {
        let refs: Vec<&Diagnostic> = diags.iter().collect();
        match document(&refs, &sources()) {
            serde_json::Value::Array(a) => a,
            other => panic!("not an array: {other}"),
        }
    }

    #[test]
    fn every_issue_has_gitlabs_fields_and_a_unique_fingerprint() {
        let diags = vec![
            Diagnostic::new(Code::UnknownKey, FileId(0), Span::at(4, 3), "unknown key `Sevrity`")
                .with_help("did you mean `Severity`?"),
            // The same finding twice in a file: two issues, two fingerprints.
            Diagnostic::new(Code::DuplicateKey, FileId(0), Span::at(5, 1), "`Tags` is given twice"),
            Diagnostic::new(Code::DuplicateKey, FileId(0), Span::at(9, 1), "`Tags` is given twice"),
            Diagnostic::new(Code::TestFailed, FileId(0), Span::at(12, 5), "test 'x': expected true"),
            Diagnostic::global(Code::UnknownSetting, "unknown key `retries`"),
        ];
        let issues = issues(&diags);
        assert_eq!(issues.len(), 5);
        let mut fingerprints = HashSet::new();
        for i in &issues {
            let o = i.as_object().expect("an object");
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["check_name", "description", "fingerprint", "location", "severity"]
            );
            assert!(["info", "minor", "major", "critical", "blocker"].contains(&i["severity"].as_str().unwrap_or("")));
            assert!(i["location"]["path"].is_string());
            assert!(i["location"]["lines"]["begin"].as_u64().is_some_and(|l| l >= 1));
            assert!(fingerprints.insert(i["fingerprint"].as_str().unwrap_or("").to_owned()));
        }
        assert_eq!(
            issues[0]["description"],
            "unknown key `Sevrity` (help: did you mean `Severity`?)"
        );
        assert_eq!(issues[0]["check_name"], "unknown-key");
        assert_eq!(issues[0]["severity"], "major");
        assert_eq!(issues[0]["location"]["path"], "rules/a.yml");
        assert_eq!(issues[0]["location"]["lines"]["begin"], 4);
        assert_eq!(issues[1]["severity"], "minor");
        assert_eq!(issues[3]["check_name"], "test-failed");
        assert_eq!(issues[3]["location"]["lines"]["begin"], 12);
        assert_eq!(issues[4]["location"]["path"], crate::settings::FILE_NAME);
        assert_eq!(issues[4]["location"]["lines"]["begin"], 1);
    }

    #[test]
    fn fingerprints_are_stable_across_runs_and_line_moves() {
        let at = |line| {
            vec![Diagnostic::new(
                Code::UnknownKey,
                FileId(0),
                Span::at(line, 3),
                "unknown key `X`",
            )]
        };
        let a = issues(&at(4));
        assert_eq!(a, issues(&at(4)));
        let moved = issues(&at(40));
        assert_eq!(a[0]["fingerprint"], moved[0]["fingerprint"]);
        assert_eq!(a[0]["fingerprint"].as_str().map(str::len), Some(64));
    }
}
