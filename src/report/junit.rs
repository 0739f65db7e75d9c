//! JUnit XML (cli-and-settings §6.4): a `<testsuite>` per detection, a
//! `<testcase>` per unit test; failures as `<failure>`, tests that could not
//! be evaluated as `<error>`, skips as `<skipped message=…/>`; a detection
//! without test records gets one testcase named after its ID; invalid files
//! go into one `<testsuite name="invalid">`.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{RunReport, Status};

pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut body = String::new();
    let (mut total, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for item in report.items.iter().filter(|i| i.status != Status::Invalid) {
        let id = item.id.as_deref().unwrap_or(&item.file);
        let mut cases = String::new();
        let (mut t, mut f, mut e, mut s) = (0, 0, 0, 0);
        if item.tests.is_empty() {
            t += 1;
            let _ = write!(
                cases,
                "    <testcase classname=\"{0}\" name=\"{0}\" file=\"{1}\"",
                esc(id),
                esc(&item.file)
            );
            match item.status {
                Status::Skipped | Status::Validated => {
                    s += 1;
                    let reason = item.reason.as_deref().unwrap_or("");
                    let _ = writeln!(cases, "><skipped message=\"{}\"/></testcase>", esc(reason));
                }
                Status::Failed => {
                    f += 1;
                    let reason = item.reason.as_deref().unwrap_or("failed");
                    let _ = writeln!(cases, "><failure message=\"{}\"/></testcase>", esc(reason));
                }
                _ => {
                    let _ = writeln!(cases, "/>");
                }
            }
        }
        for test in &item.tests {
            t += 1;
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"",
                esc(id),
                esc(&test.name),
                esc(&item.file)
            );
            match (test.status, &test.error) {
                (Status::Skipped, _) => {
                    s += 1;
                    let reason = item.reason.as_deref().unwrap_or("skipped");
                    let _ = writeln!(cases, "><skipped message=\"{}\"/></testcase>", esc(reason));
                }
                (Status::Failed, Some(err)) => {
                    e += 1;
                    let _ = writeln!(cases, "><error message=\"{}\"/></testcase>", esc(err));
                }
                (Status::Failed, None) => {
                    f += 1;
                    let msg = format!(
                        "expected {}, the detection {}",
                        test.expected,
                        if test.matched == Some(true) {
                            "matched"
                        } else {
                            "did not match"
                        }
                    );
                    let detail = test.explain.join("\n");
                    let _ = writeln!(
                        cases,
                        "><failure message=\"{}\">{}</failure></testcase>",
                        esc(&msg),
                        esc(&detail)
                    );
                }
                _ => {
                    let _ = writeln!(cases, "/>");
                }
            }
        }
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\">\n{cases}  </testsuite>",
            esc(id)
        );
        (total, failures, errors, skipped) = (total + t, failures + f, errors + e, skipped + s);
    }
    let invalid: Vec<_> = report.items.iter().filter(|i| i.status == Status::Invalid).collect();
    if !invalid.is_empty() {
        let mut cases = String::new();
        for item in &invalid {
            let msgs: Vec<String> = report
                .diagnostics
                .iter()
                .filter(|d| d.severity() == crate::diagnostic::Severity::Error)
                .filter(|d| report.position(d).0 == Some(item.file.as_str()))
                .map(|d| {
                    let (_, l, c) = report.position(d);
                    format!(
                        "{}:{}:{}: error[{}]: {}",
                        item.file,
                        l.unwrap_or(0),
                        c.unwrap_or(0),
                        d.code.name(),
                        d.message
                    )
                })
                .collect();
            let first = msgs.first().cloned().unwrap_or_else(|| "invalid".to_owned());
            let _ = writeln!(
                cases,
                "    <testcase classname=\"invalid\" name=\"{}\"><error message=\"{}\">{}</error></testcase>",
                esc(&item.file),
                esc(&first),
                esc(&msgs.join("\n"))
            );
        }
        let n = invalid.len();
        let _ = writeln!(
            body,
            "  <testsuite name=\"invalid\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\">\n{cases}  </testsuite>"
        );
        total += n;
        errors += n;
    }
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"detect {}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
        report.command
    )?;
    write!(out, "{body}")?;
    writeln!(out, "</testsuites>")
}
