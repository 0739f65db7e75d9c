//! The JSON report (cli-and-settings §6.4): one object with `tool`,
//! `version`, `command`, `summary` (`paths`, `total`, `passed`, `failed`,
//! `invalid`, `skipped`, `duration_ms`, and `tests` with `total`, `passed`,
//! `failed`, `skipped` unit tests, `null` for `validate`), `items` (`id`, `type`, `file`,
//! `status`, `reason` when skipped or strict-failed, `base` for derived
//! detections, `tests`) and `diagnostics` (`file`, `line`, `column`,
//! `severity`, `code`, `message`, `help`, optional `related`).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{ItemReport, RunReport, TestReport};

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let value = to_value(report);
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

pub(super) fn to_value(report: &RunReport<'_>) -> Value {
    let s = report.summary();
    json!({
        "tool": "detect",
        "version": env!("CARGO_PKG_VERSION"),
        "command": report.command,
        "summary": {
            "paths": report.paths,
            "total": s.total(),
            "passed": s.passed,
            "failed": s.failed,
            "invalid": s.invalid,
            "skipped": s.skipped,
            "duration_ms": report.duration_ms,
            "tests": report.test_counts().map(|t| json!({
                "total": t.total(), "passed": t.passed, "failed": t.failed, "skipped": t.skipped,
            })),
        },
        "items": report.items.iter().map(item).collect::<Vec<_>>(),
        "diagnostics": report.diagnostics.iter().map(|d| {
            let (file, line, column) = report.position(d);
            let mut v = json!({
                "file": file, "line": line, "column": column,
                "severity": d.severity().as_str(), "code": d.code.name(),
                "message": d.message, "help": d.help,
            });
            if !d.related.is_empty() {
                v["related"] = d.related.iter().map(|l| json!({
                    "file": report.sources.get(l.file.0 as usize).map(|s| s.display.as_str()),
                    "line": l.span.start.line, "column": l.span.start.col,
                    "message": l.text,
                })).collect();
            }
            v
        }).collect::<Vec<_>>(),
    })
}

fn item(i: &ItemReport) -> Value {
    let mut v = json!({
        "id": i.id, "type": i.analysis_type, "file": i.file, "status": i.status.as_str(),
    });
    if let Some(r) = &i.reason {
        v["reason"] = json!(r);
    }
    if let Some(b) = &i.base {
        v["base"] = json!(b);
    }
    v["tests"] = i.tests.iter().map(test).collect();
    v
}

fn test(t: &TestReport) -> Value {
    let mut v = json!({
        "name": t.name, "status": t.status.as_str(), "expected": t.expected, "matched": t.matched,
        "functions": t.functions.iter().map(|f| json!({"name": f.name, "status": "passed", "output": f.output})).collect::<Vec<_>>(),
    });
    if let Some(b) = &t.inherited_from {
        v["inherited_from"] = json!(b);
    }
    if let Some(e) = &t.error {
        v["error"] = json!(e);
    }
    v
}
