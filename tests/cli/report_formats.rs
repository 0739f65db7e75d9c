//! One diagnostic prints the same way from every command: the human form of
//! `validate` (through the report) and of `fmt` and `run` (which print as
//! they go) comes from one renderer.

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
    write(
        dir,
        "rules/broken.yml",
        "AnalysisType: rule\nRuleID: Broken\nEnabled: true\nLogTypes: [AWS.CloudTrail\nSeverity: Low\n",
    );
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
    let tmp = tempfile::tempdir().expect("test fixture");
    let dir = tmp.path();
    copy_dir(&fixture("run/repo"), dir);
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
