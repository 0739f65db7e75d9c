//! SARIF 2.1.0: tool `detect`, one result per diagnostic with `ruleId` =
//! code, `level` = `error`/`warning`/`note`, and the file URI with start line
//! and column.

use std::io::{self, Write};

use serde_json::json;

use crate::diagnostic::{Code, Severity};

use super::RunReport;

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut codes: Vec<Code> = report.diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<_> = codes
        .iter()
        .map(|c| json!({"id": c.name(), "name": c.name(), "defaultConfiguration": {"level": level(c.severity())}}))
        .collect();
    let results: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| {
            let (file, line, col) = report.position(d);
            let text = match &d.help {
                Some(h) => format!("{} (help: {h})", d.message),
                None => d.message.clone(),
            };
            let mut r = json!({
                "ruleId": d.code.name(),
                "level": level(d.severity()),
                "message": {"text": text},
            });
            if let Some(f) = file {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f},
                        "region": {"startLine": line, "startColumn": col},
                    }
                }]);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "detect",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/panther-labs/panther-analysis",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
