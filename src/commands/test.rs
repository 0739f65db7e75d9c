//! `detect test`: run the unit tests of everything `detect` can evaluate.
//!
//! Every item ends in exactly one state (cli-and-settings §8 item 6):
//! `invalid` (errors in its file), `skipped` with a reason, `failed` or
//! `passed`. Items are evaluated in parallel; each detection is compiled
//! once and its tests run against that program.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;

use crate::cli::TestStepArgs;
use crate::commands::context::Context;
use crate::commands::python_tests;
use crate::commands::remote_bases::{self, Lookup};
use crate::commands::validate::Outcome;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::engine::Program;
use crate::engine::correlation::Correlation;
use crate::error::Result;
use crate::exit;
use crate::model::correlation::{CorrelationRule, CorrelationTest};
use crate::model::{Analysis, AnalysisType, Body, Rule, RuleTest};
use crate::report::{FunctionReport, ItemReport, Status, TestReport};
use crate::resolve::{self, Index, Skip};
use crate::source::Span;

/// Options of `detect test`.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// `--minimum-tests`.
    pub minimum_tests: usize,
    /// `--test-names`.
    pub test_names: Vec<String>,
    /// `--skip-disabled-tests`.
    pub skip_disabled: bool,
    /// `--explain`.
    pub explain: bool,
    /// `--remote-bases`: the instance to look up bases missing from the
    /// repository (upload-protocol §4.8).
    pub remote: Option<std::sync::Arc<crate::panther_api::Client>>,
    /// How Python detections run.
    pub python: PythonOptions,
}

/// How `test` runs Python detections.
#[derive(Debug, Clone)]
pub struct PythonOptions {
    /// `--no-python`: skip them as `python rule`.
    pub off: bool,
    /// `--python`.
    pub interpreter: Option<std::path::PathBuf>,
    /// `--python-timeout` (default 15 s, Panther's limit).
    pub timeout: std::time::Duration,
    /// `--available-destination`.
    pub destinations: Vec<String>,
}

impl Default for PythonOptions {
    fn default() -> Self {
        PythonOptions {
            off: false,
            interpreter: None,
            timeout: std::time::Duration::from_secs(15),
            destinations: Vec::new(),
        }
    }
}

impl TestOptions {
    /// The test step of `test`, `zip` and `upload` (flag > environment >
    /// settings > default, through [`Context::layers`]); also sets the
    /// report style of `--show-failures-only` and `--sort-test-results`.
    /// `test_names`, `explain` and `remote` are left to the caller.
    ///
    /// # Errors
    /// `PANTHER_MINIMUM_TESTS` or `PANTHER_SKIP_DISABLED_TESTS` holds a value
    /// of the wrong kind.
    pub fn resolve(cx: &mut Context, step: &TestStepArgs) -> Result<TestOptions> {
        let layers = cx.layers();
        let s = &cx.settings;
        let minimum_tests = layers
            .count(step.minimum_tests, "PANTHER_MINIMUM_TESTS", s.minimum_tests)?
            .unwrap_or(0);
        let skip_disabled = layers.switch(
            step.skip_disabled_tests,
            step.no_skip_disabled_tests,
            Some("PANTHER_SKIP_DISABLED_TESTS"),
            s.skip_disabled_tests,
            false,
        )?;
        let failures_only = layers.switch(
            step.show_failures_only,
            step.no_show_failures_only,
            None,
            s.show_failures_only,
            false,
        )?;
        let sort = layers.switch(
            step.sort_test_results,
            step.no_sort_test_results,
            None,
            s.sort_test_results,
            false,
        )?;
        cx.style.failures_only = failures_only;
        cx.style.sort = sort;
        cx.style.slowest = step.slowest;
        Ok(TestOptions {
            minimum_tests,
            skip_disabled,
            python: PythonOptions {
                off: step.no_python,
                interpreter: step.python.clone(),
                timeout: step.python_timeout.unwrap_or(std::time::Duration::from_secs(15)),
                destinations: step.available_destination.clone(),
            },
            ..TestOptions::default()
        })
    }
}

/// A test as listed before running: name, expectation, where, event.
struct Case<'a> {
    name: String,
    expected: bool,
    span: Span,
    log: Option<&'a crate::model::TestLog>,
    inherited_from: Option<String>,
    /// The typed test, for correlation rules.
    corr: Option<&'a CorrelationTest>,
}

/// Cases of rule tests.
fn rule_cases<'a>(tests: &'a [RuleTest], inherited_from: Option<&str>) -> Vec<Case<'a>> {
    tests
        .iter()
        .map(|t| Case {
            name: t.name.value.clone(),
            expected: t.expected.value,
            span: t.span,
            log: Some(&t.log),
            inherited_from: inherited_from.map(str::to_owned),
            corr: None,
        })
        .collect()
}

/// Tests of types without a typed test model (policies): names and
/// expectations read from the file.
fn raw_cases(a: &Analysis) -> Vec<Case<'_>> {
    let Some(items) = a.root.get("Tests").and_then(|t| t.as_seq()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|t| {
            let name = t.get("Name")?.as_str()?.to_owned();
            let expected = matches!(t.get("ExpectedResult")?.kind, crate::yaml::NodeKind::Bool(true));
            Some(Case {
                name,
                expected,
                span: t.first_key_span(),
                log: None,
                inherited_from: None,
                corr: None,
            })
        })
        .collect()
}

/// The typed correlation rule of a `correlation_rule` file.
fn correlation_rule(a: &Analysis) -> Option<&CorrelationRule> {
    match &a.body {
        Body::Other(o) => o.correlation.as_deref(),
        Body::Rule(_) => None,
    }
}

/// Tests of a correlation rule, from its typed model; each is reported
/// at its first key, like a rule test.
fn correlation_cases<'a>(a: &'a Analysis, rule: Option<&'a CorrelationRule>) -> Vec<Case<'a>> {
    let raw = a.root.get("Tests").and_then(|t| t.as_seq()).unwrap_or(&[]);
    rule.and_then(|r| r.tests.as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|t| Case {
            name: t.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
            expected: t.expected.as_ref().is_some_and(|e| e.value),
            span: raw
                .iter()
                .find(|n| n.span == t.span)
                .map_or(t.span, |n| n.first_key_span()),
            log: None,
            inherited_from: None,
            corr: Some(t),
        })
        .collect()
}

/// Runs one correlation-rule test (correlation-rules §6.3, §6.4): its
/// signals, evaluated in one run at the latest of them.
fn run_correlation_case(
    rule: Option<&std::result::Result<Correlation, String>>,
    case: &Case<'_>,
    explain: bool,
) -> TestReport {
    let mut report = TestReport::new(case.name.clone(), Status::Failed, case.expected);
    let rule = match rule {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            report.error = Some(format!("the rule cannot be evaluated: {e}"));
            return report;
        }
        None => {
            report.error = Some("the rule cannot be evaluated".to_owned());
            return report;
        }
    };
    let Some(test) = case.corr else {
        report.error = Some("the test cannot be read".to_owned());
        return report;
    };
    let (signals, format) = match rule.test_signals(test) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let end = signals.latest();
    let matched = end.is_some_and(|t| rule.evaluate(&signals, t));
    report.matched = Some(matched);
    report.status = if matched == case.expected {
        Status::Passed
    } else {
        Status::Failed
    };
    if explain || report.status == Status::Failed {
        report.explain = match end {
            Some(t) => rule.explain(&signals, t, format),
            None => vec!["the test lists no signals: a run without signals never matches".to_owned()],
        };
    }
    report
}

fn skipped_tests(cases: &[Case<'_>]) -> Vec<TestReport> {
    cases
        .iter()
        .map(|c| TestReport {
            inherited_from: c.inherited_from.clone(),
            ..TestReport::new(c.name.clone(), Status::Skipped, c.expected)
        })
        .collect()
}

/// What running one item produced.
pub(crate) struct Run {
    pub(crate) item: ItemReport,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The item's Python job, run by the worker pool after the native ones.
    /// Boxed: most items are not Python, and a run keeps one per item.
    pub(crate) python: Option<Box<python_tests::Plan>>,
}

fn functions(program: &Program, event: &Value) -> Vec<FunctionReport> {
    let a = program.alert(event);
    let mut out = Vec::with_capacity(4);
    if let Some(t) = a.title {
        out.push(FunctionReport::ok("title", Value::String(t)));
    }
    if let Some(d) = a.dedup {
        out.push(FunctionReport::ok("dedup", Value::String(d)));
    }
    if let Some(s) = a.severity {
        out.push(FunctionReport::ok("severity", Value::String(s.upper().to_owned())));
    }
    out.push(FunctionReport::ok("alertContext", a.context));
    out
}

fn run_case(program: &Program, case: &Case<'_>, explain: bool) -> TestReport {
    let mut report = TestReport {
        inherited_from: case.inherited_from.clone(),
        ..TestReport::new(case.name.clone(), Status::Failed, case.expected)
    };
    let event = match case.log.map(crate::model::TestLog::event) {
        None => Err("the test has no `Log`".to_owned()),
        Some(e) => e,
    };
    let event = match event {
        Ok(v) => v,
        Err(msg) => {
            report.error = Some(msg);
            return report;
        }
    };
    let matched = program.matches(&event);
    report.matched = Some(matched);
    report.status = if matched == case.expected {
        Status::Passed
    } else {
        Status::Failed
    };
    if matched {
        report.functions = functions(program, &event);
    }
    if explain || report.status == Status::Failed {
        report.explain = program.explain(&event);
    }
    report
}

struct ItemCx<'a> {
    index: &'a Index<'a>,
    /// Bases looked up on the instance (`--remote-bases`).
    remote: &'a BTreeMap<String, Lookup>,
    opts: &'a TestOptions,
    strict: bool,
    sources: &'a [crate::source::SourceFile],
}

fn test_item(cx: &ItemCx<'_>, a: &Analysis, file: String) -> Run {
    let mut diags = Vec::new();
    let mut item = ItemReport {
        id: a.id.as_ref().map(|i| i.value.clone()),
        analysis_type: Some(a.analysis_type.value.name().to_owned()),
        file,
        status: Status::Passed,
        reason: None,
        base: a
            .rule()
            .and_then(|r| r.base_detection.as_ref().map(|b| b.value.clone())),
        tests: Vec::new(),
        selected_because: Vec::new(),
    };
    let id = a.id_str().to_owned();
    // Decide the effective rule, the cases and any skip reason.
    // Borrowed for a rule that is its own effective rule: cloning every
    // Simple Detection once per run doubled the memory of its expressions.
    let mut effective: Option<std::borrow::Cow<'_, Rule>> = None;
    let mut base_file = None;
    let mut skip: Option<Skip> = None;
    let cases: Vec<Case<'_>>;
    let mut correlation: Option<std::result::Result<Correlation, String>> = None;
    // The Python code, when the effective detection is Python: its `.py`
    // file, the tree whose `Tests` run, their base when inherited, and the
    // rule whose InlineFilters apply.
    let mut py: Option<(std::path::PathBuf, &crate::yaml::Node, Option<String>, Option<Rule>)> = None;
    // A base found on the instance: its Python body runs (as PAT does).
    let mut py_remote: Option<&crate::panther_api::RemoteBase> = None;
    let path_of = |f: crate::source::FileId| cx.sources.get(f.0 as usize).map(|s| s.path.as_path());
    let mut enabled = a.rule().map_or_else(
        || {
            matches!(
                a.root.get("Enabled").map(|n| &n.kind),
                Some(crate::yaml::NodeKind::Bool(true))
            )
        },
        |r| r.enabled.as_ref().is_some_and(|e| e.value),
    );
    match a.rule() {
        Some(rule) if rule.is_derived() => {
            let base_id = rule.base_detection.as_ref().map_or("", |b| b.value.as_str());
            match cx.index.usable_base(base_id) {
                Err(Skip::UnknownBase) => match cx.remote.get(base_id).and_then(Lookup::found) {
                    // The base is Python on the instance: list its tests when
                    // the derived detection has none of its own (as PAT does).
                    Some(remote) => {
                        skip = Some(Skip::RemotePythonBase);
                        py_remote = Some(remote);
                        let own = resolve::tests(rule);
                        cases = if own.is_empty() {
                            let at = rule.base_detection.as_ref().map_or(a.root.first_key_span(), |b| b.span);
                            remote
                                .tests
                                .iter()
                                .map(|t| Case {
                                    name: t.name.clone(),
                                    expected: t.expected_result,
                                    span: at,
                                    log: None,
                                    inherited_from: Some(base_id.to_owned()),
                                    corr: None,
                                })
                                .collect()
                        } else {
                            rule_cases(own, None)
                        };
                    }
                    None => {
                        skip = Some(Skip::UnknownBase);
                        cases = rule_cases(resolve::tests(rule), None);
                    }
                },
                Err(why) => {
                    skip = Some(why);
                    cases = rule_cases(resolve::tests(rule), None);
                }
                Ok((b, base_rule)) => {
                    base_file = Some(b.file);
                    let (e, inherited) = resolve::effective(base_rule, rule, &a.root);
                    enabled = e.enabled.as_ref().is_some_and(|v| v.value);
                    effective = Some(std::borrow::Cow::Owned(e));
                    let e = effective.as_ref().expect("just set");
                    let root = if inherited { &b.root } else { &a.root };
                    cases = rule_cases(resolve::tests(e), inherited.then_some(base_id));
                    if !e.is_simple() {
                        skip = Some(Skip::PythonRule);
                        if let (Some(f), Some(yml)) = (base_rule.filename.as_ref(), path_of(b.file)) {
                            let code = crate::python::plan::code_path(yml, &f.value);
                            py = Some((
                                code,
                                root,
                                inherited.then(|| base_id.to_owned()),
                                Some(e.clone().into_owned()),
                            ));
                        }
                    }
                }
            }
        }
        Some(rule) => {
            cases = rule_cases(resolve::tests(rule), None);
            if rule.is_simple() {
                effective = Some(std::borrow::Cow::Borrowed(rule));
            } else {
                skip = Some(Skip::PythonRule);
                if let (Some(f), Some(yml)) = (rule.filename.as_ref(), path_of(a.file)) {
                    py = Some((
                        crate::python::plan::code_path(yml, &f.value),
                        &a.root,
                        None,
                        Some(rule.clone()),
                    ));
                }
            }
        }
        None if a.analysis_type.value == AnalysisType::CorrelationRule => {
            let rule = correlation_rule(a);
            cases = correlation_cases(a, rule);
            correlation = Some(match rule.and_then(|r| r.detection.as_ref()) {
                Some(d) => Correlation::compile(d).map_err(|e| e.to_string()),
                None => Err("the rule has no detection block".to_owned()),
            });
        }
        None => {
            cases = raw_cases(a);
            skip = Some(Skip::PythonRule);
            if let (Some(f), Some(yml)) = (crate::python::plan::filename(a), path_of(a.file)) {
                py = Some((crate::python::plan::code_path(yml, f), &a.root, None, None));
            }
        }
    }
    // Selection by test names.
    let selected: Vec<&Case<'_>> = if cx.opts.test_names.is_empty() {
        cases.iter().collect()
    } else {
        cases.iter().filter(|c| cx.opts.test_names.contains(&c.name)).collect()
    };
    let reason: Option<Skip> = if cx.opts.skip_disabled && !enabled {
        Some(Skip::Disabled)
    } else if !cx.opts.test_names.is_empty() && selected.is_empty() {
        Some(Skip::NoMatchingTestNames)
    } else if skip.is_some_and(Skip::is_base) {
        skip
    } else if cases.is_empty() {
        Some(Skip::NoTests)
    } else {
        skip
    };
    let counted = matches!(reason, None | Some(Skip::NoTests | Skip::PythonRule));
    // A Python detection runs in the worker pool, after this pass.
    let python = match (reason, py) {
        (Some(Skip::RemotePythonBase), _) if !cx.opts.python.off && py_remote.is_some() => py_remote.map(|remote| {
            let at = a
                .rule()
                .and_then(|r| r.base_detection.as_ref())
                .map_or(a.root.first_key_span(), |b| b.span);
            let base_id = a
                .rule()
                .and_then(|r| r.base_detection.as_ref())
                .map(|b| b.value.clone());
            let own = a.root.get("Tests").is_some();
            let (mut job, tests) =
                crate::python::plan::job(a, std::path::PathBuf::new(), &a.root, a.rule(), &cx.opts.test_names);
            job.code = crate::python::Code::Body(remote.python_body.clone());
            let (tests, inherited_from) = if own {
                (tests, None)
            } else {
                let (jobs, planned) = crate::python::plan::json_tests(
                    remote
                        .tests
                        .iter()
                        .map(|t| (t.name.as_str(), t.expected_result, &t.log)),
                    at,
                    &cx.opts.test_names,
                );
                job.tests = jobs;
                (planned, base_id)
            };
            python_tests::Plan {
                job,
                tests,
                inherited_from,
                base_file: None,
                base_at: at,
                file: a.file,
                filename_at: at,
            }
        }),
        (Some(Skip::PythonRule), Some((code, root, inherited, filters))) if !cx.opts.python.off => {
            let (job, tests) = crate::python::plan::job(a, code, root, filters.as_ref(), &cx.opts.test_names);
            let at = a
                .rule()
                .and_then(|r| r.base_detection.as_ref())
                .map_or(a.root.first_key_span(), |b| b.span);
            let filename_at = match &a.body {
                Body::Rule(r) => r.filename.as_ref().map(|f| f.span),
                Body::Other(o) => o.filename.as_ref().map(|f| f.span),
            };
            Some(python_tests::Plan {
                job,
                tests,
                inherited_from: inherited,
                base_file,
                base_at: at,
                file: a.file,
                filename_at: filename_at.unwrap_or(at),
            })
        }
        // A skip for a no-tests item with Python code still loads the
        // module: PAT reports a module that fails to load as invalid.
        (Some(Skip::NoTests), Some((code, root, inherited, filters)))
            if !cx.opts.python.off && skip == Some(Skip::PythonRule) =>
        {
            let (job, tests) = crate::python::plan::job(a, code, root, filters.as_ref(), &[]);
            Some(python_tests::Plan {
                job,
                tests,
                inherited_from: inherited,
                base_file,
                base_at: a.root.first_key_span(),
                file: a.file,
                filename_at: a.root.first_key_span(),
            })
        }
        _ => None,
    };
    match reason {
        Some(r) => {
            item.status = Status::Skipped;
            item.reason = Some(r.as_str().to_owned());
            let listed: Vec<Case<'_>> = selected
                .iter()
                .map(|c| Case {
                    name: c.name.clone(),
                    expected: c.expected,
                    span: c.span,
                    log: None,
                    inherited_from: c.inherited_from.clone(),
                    corr: None,
                })
                .collect();
            item.tests = skipped_tests(&listed);
        }
        None => {
            let streaming = a.analysis_type.value == AnalysisType::Rule;
            // Every runnable item but a correlation rule has an effective rule.
            let program = effective.as_ref().map(|rule| Program::compile(&id, rule, streaming));
            item.tests.reserve_exact(selected.len());
            for case in &selected {
                let t = match &program {
                    Some(program) => run_case(program, case, cx.opts.explain),
                    None => run_correlation_case(correlation.as_ref(), case, cx.opts.explain),
                };
                if t.status == Status::Failed {
                    let message = match (&t.error, t.matched) {
                        (Some(e), _) => format!("test '{}' could not be evaluated: {e}", t.name),
                        (None, Some(true)) => format!("test '{}': expected false, the detection matched", t.name),
                        (None, _) => format!("test '{}': expected true, the detection did not match", t.name),
                    };
                    let d = match (&case.inherited_from, base_file) {
                        // An inherited test is written in the base's file: report it on
                        // the derived file's `BaseDetection`, pointing at the test.
                        (Some(base_id), Some(bf)) => {
                            let at = a
                                .rule()
                                .and_then(|r| r.base_detection.as_ref())
                                .map_or(a.root.first_key_span(), |b| b.span);
                            Diagnostic::new(Code::TestFailed, a.file, at, message).with_related(
                                bf,
                                case.span,
                                format!("the test, inherited from `{base_id}`"),
                            )
                        }
                        _ => Diagnostic::new(Code::TestFailed, a.file, case.span, message),
                    };
                    diags.push(d);
                }
                item.tests.push(t);
            }
            if item.tests.iter().any(|t| t.status == Status::Failed) {
                item.status = Status::Failed;
            }
        }
    }
    // --minimum-tests (step 4).
    let n = cx.opts.minimum_tests;
    if n >= 1 && counted {
        let has_true = cases.iter().any(|c| c.expected);
        let has_false = cases.iter().any(|c| !c.expected);
        let message = if cases.len() < n {
            Some(format!(
                "insufficient test coverage: {n} {} required but only {} found",
                crate::report::plural(n, "test", "tests"),
                cases.len()
            ))
        } else if n > 1 && !(has_true && has_false) {
            Some("insufficient test coverage: expected at least one positive and one negative test".to_owned())
        } else {
            None
        };
        if let Some(m) = message {
            let span = a.id.as_ref().map_or(a.root.first_key_span(), |i| i.span);
            diags.push(Diagnostic::new(Code::InsufficientTests, a.file, span, m).with_help(
                "add tests: with --minimum-tests above 1, at least one expecting true and one expecting false",
            ));
            item.status = Status::Failed;
            item.reason = None;
        }
    }
    // --strict (step 5); Python items are decided after they run.
    if cx.strict
        && python.is_none()
        && item.status == Status::Skipped
        && reason.is_some_and(|r| r.is_base() || matches!(r, Skip::NoTests | Skip::PythonRule))
    {
        item.status = Status::Failed;
    }
    Run {
        item,
        diagnostics: diags,
        python: python.map(Box::new),
    }
}

/// Looks up, on the instance, the bases of the tested derived detections
/// that are not among the loaded files.
fn lookup_remote_bases(
    cx: &Context,
    client: &crate::panther_api::Client,
    project: &crate::project::Project,
    analyses: &[&Analysis],
    index: &Index<'_>,
    invalid: &HashSet<crate::source::FileId>,
) -> remote_bases::Resolved {
    let derived: Vec<&Analysis> = analyses
        .iter()
        .copied()
        .filter(|a| {
            let src = project.source(a.file);
            !invalid.contains(&a.file)
                && a.rule().is_some_and(Rule::is_derived)
                && cx.is_reported(&src.path)
                && cx.selects(a, &src.rel, index)
        })
        .collect();
    remote_bases::resolve(client, &derived, index)
}

/// Runs `test`.
///
/// # Errors
/// Failures of the run itself (missing path, bad ignore pattern).
pub fn run(cx: &mut Context, opts: &TestOptions) -> Result<Outcome> {
    let start = Instant::now();
    let mut project = cx.load()?;
    let index = project.resolved();
    let (analyses, invalid): (Vec<&Analysis>, _) = (index.analyses().collect(), index.invalid());
    let remote = match &opts.remote {
        Some(client) => lookup_remote_bases(cx, client, &project, &analyses, &index, invalid),
        None => remote_bases::Resolved::default(),
    };
    let icx = ItemCx {
        index: &index,
        remote: &remote.lookups,
        opts,
        strict: cx.strict,
        sources: &project.sources,
    };
    let runs: Vec<Option<Run>> = project
        .entries
        .par_iter()
        .map(|e| {
            let src = project.source(e.file);
            if !cx.is_reported(&src.path) {
                return None;
            }
            if let Some(a) = &e.analysis {
                if !cx.selects(a, &src.rel, &index) {
                    return None;
                }
            }
            let file = src.display.clone();
            let run = match &e.analysis {
                Some(a) if !invalid.contains(&e.file) => {
                    a.analysis_type.value.is_detection().then(|| test_item(&icx, a, file))
                }
                a => Some(Run {
                    item: ItemReport {
                        id: a.as_ref().and_then(|a| a.id.as_ref().map(|i| i.value.clone())),
                        analysis_type: a.as_ref().map(|a| a.analysis_type.value.name().to_owned()),
                        file,
                        status: Status::Invalid,
                        reason: None,
                        base: None,
                        tests: Vec::new(),
                        selected_because: Vec::new(),
                    },
                    diagnostics: Vec::new(),
                    python: None,
                }),
            };
            run.map(|mut r| {
                r.item.selected_because = cx.why(e.file);
                r
            })
        })
        .collect();
    // In place (an `Option<Run>` is the size of a `Run`, and `filter_map`
    // over a vector reuses its allocation; `flatten` grew a second vector).
    #[expect(clippy::filter_map_identity, reason = "flatten does not collect in place")]
    let mut runs: Vec<Run> = runs.into_iter().filter_map(|r| r).collect();
    let python = python_tests::run(cx, opts, &project, &analyses, invalid, &mut runs);
    project.sources.extend(python.sources);
    let mut extra = python.diagnostics;
    // In place too: the reports take the runs' allocation.
    let items: Vec<ItemReport> = runs
        .into_iter()
        .map(|r| {
            extra.extend(r.diagnostics);
            r.item
        })
        .collect();
    remote.apply_to(&mut project.diagnostics);
    project.diagnostics.extend(extra);
    crate::project::sort_diagnostics(&mut project.diagnostics, &project.sources);
    let mut notes = Vec::new();
    notes.extend(project.gated_note());
    let mut code = exit::SUCCESS;
    let bad = items
        .iter()
        .any(|i| matches!(i.status, Status::Failed | Status::Invalid));
    let warnings = crate::commands::validate::reported(cx, &project).any(|d| d.severity() == Severity::Warning);
    if bad || (cx.deny_warnings && warnings) {
        code = exit::FINDINGS;
    }
    let mut problem = None;
    if let (Some(rev), true, false) = (&cx.changed_since, items.is_empty(), project.entries.is_empty()) {
        // Nothing changed that has tests: not a failure of the change.
        notes.push(format!("nothing to test: no detection changed since {rev}"));
    } else if cx.report_files.is_none() && items.is_empty() {
        problem = Some(if cx.filters.is_empty() {
            format!("nothing to test: no detection found in {}", cx.paths.join(", "))
        } else {
            "nothing to test: no detection matched the filters".to_owned()
        });
        code = exit::FINDINGS;
    }
    Ok(Outcome::new(start, project, items, code, notes, problem))
}
