//! The JSON report (cli-and-settings §6.4): one object with `tool`,
//! `version`, `command`, `summary` (`paths`, `total`, `passed`, `failed`,
//! `invalid`, `skipped`, `validated`, `duration_ms`, and `tests` with `total`, `passed`,
//! `failed`, `skipped` unit tests, `null` for `validate`), `items` (`id`, `type`, `file`,
//! `status`, `reason` when skipped or strict-failed, `base` for derived
//! detections, `selected_because` under `--changed-since`: a list of
//! `{"why": "changed" | "derived_from" | "references" | "imports_global" |
//! "data_model", "id", "text"}` with `changed` for `derived_from`, and
//! `log_type` for `data_model`, `tests`, each with `explain` for failing tests and under
//! `--explain`: the evaluation tree as nodes `text`, `result`, `children`)
//! and `diagnostics` (`file`, `line`, `column`,
//! `severity`, `code`, `message`, `help`, optional `related`, and `fix` when
//! the diagnostic has one: `title`, `safe` (whether `validate --fix`
//! applies it) and `edits`, each `line`, `column`, `end_line`, `end_column`
//! (1-based, columns in characters, the end exclusive) and the replacement
//! `text`).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{FunctionReport, ItemReport, RunReport, TestReport};
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

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
        "error": report.problem,
        "summary": {
            "paths": report.paths,
            "total": s.total(),
            "passed": s.passed,
            "failed": s.failed,
            "invalid": s.invalid,
            "skipped": s.skipped,
            "validated": s.validated,
            "duration_ms": report.duration_ms,
            "tests": report.test_counts().map(|t| json!({
                "total": t.total(), "passed": t.passed, "failed": t.failed, "skipped": t.skipped,
            })),
        },
        "items": report.items.iter().map(item).collect::<Vec<_>>(),
        "diagnostics": report.diagnostics.iter().map(|d| diagnostic(d, report.sources)).collect::<Vec<_>>(),
    })
}

/// One diagnostic about `sources`, in the shape every command's JSON uses.
pub(super) fn diagnostic(d: &Diagnostic, sources: &[SourceFile]) -> Value {
    let (file, line, column) = super::position(d, sources);
    let mut v = json!({
        "file": file, "line": line, "column": column,
        "severity": d.severity().as_str(), "code": d.code.name(),
        "message": d.message, "help": d.help,
    });
    if !d.related.is_empty() {
        v["related"] = d
            .related
            .iter()
            .map(|l| {
                json!({
                    "file": sources.get(l.file.0 as usize).map(|s| s.display.as_str()),
                    "line": l.span.start.line, "column": l.span.start.col,
                    "message": l.text,
                })
            })
            .collect();
    }
    if let Some(f) = &d.fix {
        v["fix"] = json!({
            "title": f.title,
            "safe": f.safe,
            "edits": f.edits.iter().map(|e| json!({
                "line": e.span.start.line, "column": e.span.start.col,
                "end_line": e.span.end.line, "end_column": e.span.end.col,
                "text": e.text,
            })).collect::<Vec<_>>(),
        });
    }
    v
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
    if !i.selected_because.is_empty() {
        v["selected_because"] = i.selected_because.iter().map(why).collect();
    }
    v["tests"] = i.tests.iter().map(test).collect();
    v
}

fn why(w: &crate::resolve::Why) -> Value {
    use crate::resolve::Why;
    let mut v = json!({ "why": w.kind(), "text": w.to_string() });
    match w {
        Why::Changed => {}
        Why::DerivedFrom { base, changed } => {
            v["id"] = json!(base);
            v["changed"] = json!(changed);
        }
        Why::References(id) | Why::ImportsGlobal(id) => v["id"] = json!(id),
        Why::DataModel { data_model, log_type } => {
            v["id"] = json!(data_model);
            v["log_type"] = json!(log_type);
        }
    }
    v
}

fn test(t: &TestReport) -> Value {
    let mut v = json!({
        "name": t.name, "status": t.status.as_str(), "expected": t.expected, "matched": t.matched,
        "functions": t.functions.iter().map(function).collect::<Vec<_>>(),
    });
    if let Some(s) = &t.stdout {
        v["stdout"] = json!(s);
    }
    if let Some(d) = t.duration {
        v["duration_ms"] = json!((d.as_secs_f64() * 1e6).round() / 1e3);
    }
    if let Some(b) = &t.inherited_from {
        v["inherited_from"] = json!(b);
    }
    if let Some(e) = &t.error {
        v["error"] = json!(e);
    }
    if !t.explain.is_empty() {
        v["explain"] = explain_tree(&t.explain);
    }
    v
}

fn function(f: &FunctionReport) -> Value {
    let mut v =
        json!({"name": f.name, "status": if f.passed { "passed" } else { "failed" }, "output": f.output.to_value()});
    if let Some(e) = &f.error {
        v["error"] = json!(e);
    }
    v
}

/// The `--explain` lines (two spaces of indent per level, a node's verdict
/// `✓`/`✗` first) as a tree: a list of `{"text", "result", "children"}`
/// nodes, `result` `true`, `false` or `null` for lines without a verdict.
fn explain_tree(lines: &[String]) -> Value {
    // Nodes under construction, one list per open level.
    let mut stack: Vec<Vec<Value>> = vec![Vec::new()];
    let close = |stack: &mut Vec<Vec<Value>>| {
        if let Some(children) = stack.pop() {
            if let Some(last) = stack.last_mut().and_then(|l| l.last_mut()) {
                last["children"] = Value::Array(children);
            }
        }
    };
    for line in lines {
        let text = line.trim_start_matches(' ');
        let depth = (line.len() - text.len()) / 2;
        // At most one level below the last node (a jump deeper hangs under
        // it; with no node yet, a line starts the top level).
        let open = stack.len() - usize::from(stack.last().is_some_and(Vec::is_empty));
        let depth = depth.min(open);
        while stack.len() > depth + 1 {
            close(&mut stack);
        }
        if stack.len() == depth {
            stack.push(Vec::new());
        }
        let (result, text) = match text.strip_prefix("✓ ") {
            Some(rest) => (json!(true), rest),
            None => match text.strip_prefix("✗ ") {
                Some(rest) => (json!(false), rest),
                None => (Value::Null, text),
            },
        };
        if let Some(level) = stack.last_mut() {
            level.push(json!({"text": text, "result": result, "children": []}));
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    Value::Array(stack.pop().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn explain_lines_become_a_tree() {
        let lines: Vec<String> = [
            "✗ Detection (all of)",
            "  ✗ user.roles Contains \"admin\" (saw [\"dev\"])",
            "  ✓ any of",
            "    ✓ a Exists (saw 1)",
            "note without a verdict",
            "      jumps two levels",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let want = json!([
            {"text": "Detection (all of)", "result": false, "children": [
                {"text": "user.roles Contains \"admin\" (saw [\"dev\"])", "result": false, "children": []},
                {"text": "any of", "result": true, "children": [
                    {"text": "a Exists (saw 1)", "result": true, "children": []},
                ]},
            ]},
            {"text": "note without a verdict", "result": null, "children": [
                {"text": "jumps two levels", "result": null, "children": []},
            ]},
        ]);
        assert_eq!(super::explain_tree(&lines), want);
    }
}
