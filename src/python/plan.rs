//! From loaded items to what the workers run: the detection jobs, the
//! global helpers and the data models (PAT's `setup_global_helpers`,
//! `setup_data_models`, `setup_run_tests`). No I/O: paths are joined, not
//! read.

use std::path::{Path, PathBuf};

use super::event::to_python_json;
use super::protocol::{Code, DataModelSpec, DetectionJob, TestJob};
use crate::engine::Program;
use crate::model::{Analysis, AnalysisType, Body, Rule};
use crate::source::Span;
use crate::yaml::{Node, NodeKind};

/// A test as the report lists it, beside the job's copy.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTest {
    /// `Name`.
    pub name: String,
    /// `ExpectedResult` when it is a boolean.
    pub expected: bool,
    /// Its first key, in the file that declares it.
    pub span: Span,
}

/// The `.py` file `Filename` names, next to the YAML file at `yml`.
pub fn code_path(yml: &Path, filename: &str) -> PathBuf {
    let dir = yml.parent().unwrap_or_else(|| Path::new(""));
    let p = dir.join(filename);
    std::path::absolute(&p).unwrap_or(p)
}

/// `Filename` of an item, rule or not.
pub fn filename(a: &Analysis) -> Option<&str> {
    match &a.body {
        Body::Rule(r) => r.filename.as_ref().map(|f| f.value.as_str()),
        Body::Other(o) => o.filename.as_ref().map(|f| f.value.as_str()),
    }
}

/// PAT's `analysisType` for a detection type.
pub fn analysis_type(t: AnalysisType) -> &'static str {
    match t {
        AnalysisType::Policy => "POLICY",
        AnalysisType::ScheduledRule => "SCHEDULED_RULE",
        _ => "RULE",
    }
}

/// The job of one Python detection.
///
/// `item` is the detection as written (its ID, type and `CreateAlert`);
/// `code` its effective `.py` file (the base's for a derived detection);
/// `tests_root` the tree of the file whose `Tests` run (the base's when
/// they are inherited); `filters` the effective rule, whose InlineFilters
/// the native engine evaluates on each event (streaming rules only, as
/// panther-core does); `names` the `--test-names` selection.
pub fn job(
    item: &Analysis,
    code: PathBuf,
    tests_root: &Node,
    filters: Option<&Rule>,
    names: &[String],
) -> (DetectionJob, Vec<PlannedTest>) {
    let streaming = item.analysis_type.value == AnalysisType::Rule;
    let program = filters
        .filter(|r| streaming && r.inline_filters.is_some())
        .map(|r| Program::compile(item.id_str(), r, true));
    let mut tests = Vec::new();
    let mut planned = Vec::new();
    let list = tests_root.get("Tests").and_then(Node::as_seq).unwrap_or(&[]);
    for t in list {
        let Some(name) = t.get("Name").and_then(Node::as_str) else {
            continue;
        };
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let data = t.get("Resource").or_else(|| t.get("Log"));
        let expected = t.get("ExpectedResult");
        let filter = match (&program, data.map(Node::to_json)) {
            (Some(p), Some(Ok(v))) => Some(p.passes_filters(&v)),
            _ => None,
        };
        tests.push(TestJob {
            name: name.to_owned(),
            expected: expected.map_or_else(|| "null".to_owned(), to_python_json),
            data: data.map_or_else(|| "null".to_owned(), to_python_json),
            mocks: t.get("Mocks").map(to_python_json),
            expected_destinations: t
                .get("ExpectedDestinations")
                .and_then(Node::as_seq)
                .map(|d| d.iter().filter_map(|n| n.key_text()).collect()),
            filter,
        });
        planned.push(PlannedTest {
            name: name.to_owned(),
            expected: matches!(expected.map(|e| &e.kind), Some(NodeKind::Bool(true))),
            span: t.first_key_span(),
        });
    }
    let suppress_alert = match item.root.get("CreateAlert").map(|n| &n.kind) {
        Some(NodeKind::Bool(b)) => Some(!b),
        Some(NodeKind::Null) | None => None,
        Some(_) => Some(false),
    };
    (
        DetectionJob {
            id: item.id_str().to_owned(),
            analysis_type: analysis_type(item.analysis_type.value),
            code: Code::Path(code),
            suppress_alert,
            tests,
        },
        planned,
    )
}

/// The tests of a base found on the Panther instance (`--remote-bases`),
/// whose events come as JSON: `(Name, ExpectedResult, Log)`, all reported
/// at `span` (the derived file's `BaseDetection`).
pub fn json_tests<'a>(
    tests: impl IntoIterator<Item = (&'a str, bool, &'a serde_json::Value)>,
    span: Span,
    names: &[String],
) -> (Vec<TestJob>, Vec<PlannedTest>) {
    let mut jobs = Vec::new();
    let mut planned = Vec::new();
    for (name, expected, log) in tests {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        jobs.push(TestJob {
            name: name.to_owned(),
            expected: expected.to_string(),
            data: serde_json::to_string(log).unwrap_or_else(|_| "null".to_owned()),
            mocks: None,
            expected_destinations: None,
            filter: None,
        });
        planned.push(PlannedTest {
            name: name.to_owned(),
            expected,
            span,
        });
    }
    (jobs, planned)
}

/// Every global helper: `(GlobalID, .py file)`; `path` gives an item's
/// YAML path.
pub fn globals<'a>(
    items: impl IntoIterator<Item = &'a Analysis>,
    path: impl Fn(&Analysis) -> &'a Path,
) -> Vec<(String, PathBuf)> {
    items
        .into_iter()
        .filter(|a| a.analysis_type.value == AnalysisType::Global)
        .filter_map(|a| {
            let f = filename(a)?;
            Some((a.id_str().to_owned(), code_path(path(a), f)))
        })
        .collect()
}

/// Every enabled data model, first one per log type first (the conflict
/// itself is a check of its own).
pub fn data_models<'a>(
    items: impl IntoIterator<Item = &'a Analysis>,
    path: impl Fn(&Analysis) -> &'a Path,
) -> Vec<DataModelSpec> {
    items
        .into_iter()
        .filter(|a| a.analysis_type.value == AnalysisType::DataModel)
        .filter_map(|a| {
            let Body::Other(o) = &a.body else { return None };
            if o.enabled != Some(true) {
                return None;
            }
            Some(DataModelSpec {
                id: a.id_str().to_owned(),
                log_types: o.log_types.iter().map(|l| l.value.clone()).collect(),
                mappings: a.root.get("Mappings").map_or_else(|| "[]".to_owned(), to_python_json),
                path: o.filename.as_ref().map(|f| code_path(path(a), &f.value)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    fn analysis(text: &str) -> Analysis {
        match load_file(FileId(0), Some(text), LoadOptions::default()).analysis {
            Some(a) => a,
            None => panic!("not loaded"),
        }
    }

    #[test]
    fn a_job_carries_the_tests_in_file_order_with_their_events() {
        let a = analysis(
            "AnalysisType: rule\nRuleID: R\nFilename: r.py\nEnabled: true\nLogTypes: [A.B]\nSeverity: Low\nCreateAlert: false\nTests:\n  - Name: one\n    ExpectedResult: true\n    Log: {p_log_type: A.B, x: on}\n    Mocks: [{objectName: f, returnValue: 'yes'}]\n  - Name: two\n    ExpectedResult: false\n    Log: {x: 1}\n    ExpectedDestinations: []\n",
        );
        let (job, planned) = job(&a, PathBuf::from("/r/r.py"), &a.root, a.rule(), &[]);
        assert_eq!(job.id, "R");
        assert_eq!(job.analysis_type, "RULE");
        assert_eq!(job.suppress_alert, Some(true));
        assert_eq!(job.tests.len(), 2);
        assert_eq!(job.tests[0].data, r#"{"p_log_type":"A.B","x":"on"}"#);
        assert_eq!(
            job.tests[0].mocks.as_deref(),
            Some(r#"[{"objectName":"f","returnValue":"yes"}]"#)
        );
        assert_eq!(job.tests[1].expected_destinations, Some(Vec::new()));
        assert_eq!(job.tests[1].filter, None);
        assert_eq!(planned.iter().map(|p| p.expected).collect::<Vec<_>>(), [true, false]);
        let (only, _) = super::job(&a, PathBuf::from("/r/r.py"), &a.root, a.rule(), &["two".to_owned()]);
        assert_eq!(only.tests.len(), 1);
    }

    #[test]
    fn inline_filters_are_evaluated_natively_per_event() {
        let a = analysis(
            "AnalysisType: rule\nRuleID: R\nFilename: r.py\nEnabled: true\nLogTypes: [A.B]\nSeverity: Low\nInlineFilters:\n  - KeyPath: x\n    Condition: Equals\n    Value: 1\nTests:\n  - Name: one\n    ExpectedResult: true\n    Log: {x: 1}\n  - Name: two\n    ExpectedResult: false\n    Log: {x: 2}\n",
        );
        let (job, _) = job(&a, PathBuf::from("/r/r.py"), &a.root, a.rule(), &[]);
        assert_eq!(
            job.tests.iter().map(|t| t.filter).collect::<Vec<_>>(),
            [Some(true), Some(false)]
        );
    }
}
