//! SARIF 2.1.0: tool `detect` (`informationUri` = [`super::TOOL_URL`] when set),
//! one result per diagnostic with `ruleId` = code, `level` =
//! `error`/`warning`/`note`, and the location with start line and column.
//! A file inside the project has a URI relative to the project root with
//! `uriBaseId` `%SRCROOT%`, which `originalUriBaseIds` maps to the root as a
//! `file://` URI ending in `/`, so code scanning places results right
//! whatever folder `detect` ran in; a file outside it has an absolute
//! `file://` URI. A diagnostic with a fix has `fixes`: one fix with the
//! title as `description` and one `artifactChanges` entry for the file,
//! whose `replacements` are the edits (`deletedRegion` with start and end
//! line and column, `insertedContent`).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::source::SourceFile;

use super::RunReport;

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    let doc = document(&report.diagnostics, report.sources, &report.root);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The SARIF log of `diagnostics` about `sources`, locations relative to
/// the project `root`; shared by every command.
pub(super) fn document(diagnostics: &[&Diagnostic], sources: &[SourceFile], root: &Path) -> serde_json::Value {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<_> = codes
        .iter()
        .map(|c| json!({"id": c.name(), "name": c.name(), "defaultConfiguration": {"level": level(c.severity())}}))
        .collect();
    let results: Vec<_> = diagnostics
        .iter()
        .map(|d| {
            let (file, line, col) = super::position(d, sources);
            let text = match &d.help {
                Some(h) => format!("{} (help: {h})", d.message),
                None => d.message.clone(),
            };
            let mut r = json!({
                "ruleId": d.code.name(),
                "level": level(d.severity()),
                "message": {"text": text},
            });
            if let (Some(_), Some(src)) = (file, d.file().and_then(|f| sources.get(f.0 as usize))) {
                let mut physical = json!({"artifactLocation": artifact(src)});
                if line.is_some() {
                    physical["region"] = json!({"startLine": line, "startColumn": col});
                }
                r["locations"] = json!([{"physicalLocation": physical}]);
                if let Some(f) = &d.fix {
                    let replacements: Vec<_> = f
                        .edits
                        .iter()
                        .map(|e| {
                            json!({
                                "deletedRegion": {
                                    "startLine": e.span.start.line, "startColumn": e.span.start.col,
                                    "endLine": e.span.end.line, "endColumn": e.span.end.col,
                                },
                                "insertedContent": {"text": e.text},
                            })
                        })
                        .collect();
                    r["fixes"] = json!([{
                        "description": {"text": f.title},
                        "artifactChanges": [{"artifactLocation": artifact(src), "replacements": replacements}],
                    }]);
                }
            }
            r
        })
        .collect();
    let mut driver = json!({
        "name": "detect",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let (Some(url), Some(d)) = (super::TOOL_URL, driver.as_object_mut()) {
        d.insert("informationUri".to_owned(), json!(url));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": dir_uri(root)}},
            "results": results,
        }],
    })
}

/// Where a file is: relative to `%SRCROOT%` when inside the project root.
fn artifact(src: &SourceFile) -> serde_json::Value {
    let inside = !src.rel.is_empty() && !src.rel.starts_with("../") && !Path::new(&src.rel).is_absolute();
    if inside {
        return json!({"uri": encode(&src.rel), "uriBaseId": "%SRCROOT%"});
    }
    let abs = if src.path.is_absolute() {
        src.path.clone()
    } else {
        std::env::current_dir().map_or_else(|_| src.path.clone(), |cwd| cwd.join(&src.path))
    };
    json!({"uri": file_uri(&abs)})
}

/// `file://` URI of a folder, ending in `/`.
fn dir_uri(dir: &Path) -> String {
    let mut u = file_uri(dir);
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

/// `file://` URI of an absolute path.
fn file_uri(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let s = if s.starts_with('/') { s } else { format!("/{s}") };
    format!("file://{}", encode(&s))
}

/// Percent-encodes a `/`-separated path for a URI (RFC 3986 unreserved
/// characters and `/` stay).
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
