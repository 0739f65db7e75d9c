//! The unit tests of one file, run on save with the native engine: a
//! failing test becomes a `test-failed` diagnostic on the test, with the
//! explanation `detect test --explain` prints as its help. Python
//! detections are left out (they need an interpreter per run).

use crate::diagnostic::{Code, Diagnostic};
use crate::engine::Program;
use crate::lsp::workspace::Workspace;
use crate::model::{AnalysisType, Rule};
use crate::resolve;
use crate::source::FileId;

/// The file itself and the derived detections whose `BaseDetection` names
/// its ID: the files whose tests a save of `file` can change.
pub fn affected(ws: &Workspace, file: FileId) -> Vec<FileId> {
    let mut out = vec![file];
    let Some(id) = ws.analysis(file).and_then(|a| a.id.as_ref()).map(|i| i.value.as_str()) else {
        return out;
    };
    for a in ws.entries.iter().filter_map(|e| e.analysis.as_ref()) {
        let base = a.rule().and_then(|r| r.base_detection.as_ref());
        if a.file != file && base.is_some_and(|b| b.value == id) {
            out.push(a.file);
        }
    }
    out
}

/// The failing tests of a file's Simple Detection (its own or inherited
/// ones), empty when the file is invalid or not a Simple Detection.
pub fn failures(ws: &Workspace, file: FileId) -> Vec<Diagnostic> {
    let Some(a) = ws.analysis(file) else {
        return Vec::new();
    };
    let Some(rule) = a.rule() else {
        return Vec::new();
    };
    if ws.is_invalid(file) {
        return Vec::new();
    }
    let index = ws.index();
    let (effective, inherited): (Rule, bool) = if rule.is_derived() {
        let base_id = rule.base_detection.as_ref().map_or("", |b| b.value.as_str());
        match index.usable_base(base_id) {
            Ok((_, base_rule)) => resolve::effective(base_rule, rule, &a.root),
            Err(_) => return Vec::new(),
        }
    } else {
        (rule.clone(), false)
    };
    if !effective.is_simple() {
        return Vec::new();
    }
    let program = Program::compile(a.id_str(), &effective, a.analysis_type.value == AnalysisType::Rule);
    let mut out = Vec::new();
    for t in resolve::tests(&effective) {
        let Ok(event) = t.log.event() else {
            continue;
        };
        let matched = program.matches(&event);
        if matched == t.expected.value {
            continue;
        }
        let message = if matched {
            format!("test '{}': expected false, the detection matched", t.name.value)
        } else {
            format!("test '{}': expected true, the detection did not match", t.name.value)
        };
        let at = if inherited {
            rule.base_detection.as_ref().map_or(t.span, |b| b.span)
        } else {
            t.span
        };
        let explain = program.explain(&event).join("\n");
        let mut d = Diagnostic::new(Code::TestFailed, file, at, message);
        if !explain.is_empty() {
            d = d.with_help(format!("the evaluation:\n{explain}"));
        }
        out.push(d);
    }
    out
}
