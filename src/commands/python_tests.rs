//! The Python part of `detect test`: the items whose effective detection
//! is Python run in the worker pool once the native pass is done, and
//! their results become the same reports and diagnostics as a native
//! item's (PAT's verdicts, function outputs and printed output).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::context::Context;
use super::test::{Run, TestOptions};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Analysis;
use crate::project::Project;
use crate::python::plan::{self, PlannedTest};
use crate::python::{DetectionJob, DetectionOutcome, LoadError, Pool, PoolConfig, TestResult, interpreter};
use crate::report::{FunctionOutput, FunctionReport, Status, TestReport};
use crate::source::{FileId, SourceFile, Span};

/// One Python item's job and what its report needs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// What the worker runs.
    pub(crate) job: DetectionJob,
    /// The tests, as the report lists them (same order as the job's).
    pub(crate) tests: Vec<PlannedTest>,
    /// The base the tests are inherited from.
    pub(crate) inherited_from: Option<String>,
    /// The base's file, for inherited tests.
    pub(crate) base_file: Option<FileId>,
    /// Where an inherited test's failure is reported (`BaseDetection`).
    pub(crate) base_at: Span,
    /// The item's file.
    pub(crate) file: FileId,
    /// Its `Filename` value.
    pub(crate) filename_at: Span,
}

/// What the Python pass adds to the run.
#[derive(Debug, Default)]
pub(crate) struct PythonPass {
    /// Diagnostics not tied to one item (setup, data models).
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// `.py` files the diagnostics point into, to append to the project's
    /// sources (their IDs follow the project's last one).
    pub(crate) sources: Vec<SourceFile>,
}

/// Runs the Python jobs of `runs` and writes their results into them.
pub(crate) fn run(
    cx: &Context,
    opts: &TestOptions,
    project: &Project,
    analyses: &[&Analysis],
    invalid: &HashSet<FileId>,
    runs: &mut [Run],
) -> PythonPass {
    let mut pass = PythonPass::default();
    let planned: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].python.is_some()).collect();
    if planned.is_empty() {
        return pass;
    }
    let path_of = |a: &Analysis| {
        project
            .sources
            .get(a.file.0 as usize)
            .map_or(Path::new(""), |s| s.path.as_path())
    };
    let valid = || analyses.iter().copied().filter(|a| !invalid.contains(&a.file));
    let settings_dir = cx.settings.path.as_deref().and_then(Path::parent);
    let chosen = interpreter::choose(
        &cx.layers(),
        opts.python.interpreter.as_deref(),
        cx.settings.python.as_deref(),
        settings_dir,
        &project.root,
    );
    let config = PoolConfig {
        python: chosen.path.clone(),
        workers: rayon::current_num_threads().clamp(1, planned.len().max(1)),
        timeout: opts.python.timeout,
        globals: plan::globals(valid(), path_of),
        data_models: plan::data_models(valid(), path_of),
        destinations: opts.python.destinations.clone(),
        cwd: cx.cwd.clone(),
        cache_dir: crate::python::setup::cache_dir(&cx.layers()),
    };
    let pool = match Pool::start(config) {
        Ok(p) => p,
        Err(e) => {
            let (skip, diag) = crate::python::setup::unavailable(&chosen, &e);
            for &i in &planned {
                let r = &mut runs[i];
                r.python = None;
                r.item.reason = Some(skip.as_str().to_owned());
                if cx.strict {
                    r.item.status = Status::Failed;
                }
            }
            pass.diagnostics.push(diag);
            return pass;
        }
    };
    let mut files = PyFiles {
        cwd: cx.cwd.clone(),
        base: project.sources.len(),
        ..PyFiles::default()
    };
    for e in &pool.setup_errors {
        let dm = analyses.iter().find(|a| Some(a.id_str()) == e.id.as_deref());
        if let Some(dm) = dm {
            let at = dm.id.as_ref().map_or(dm.root.first_key_span(), |i| i.span);
            pass.diagnostics
                .push(load_diagnostic(project, &mut files, &pool, dm.file, at, e, dm.id_str()));
        }
    }
    let jobs: Vec<DetectionJob> = planned
        .iter()
        .filter_map(|&i| runs[i].python.as_ref().map(|p| p.job.clone()))
        .collect();
    let outcomes = pool.run(&jobs);
    for (&i, outcome) in planned.iter().zip(outcomes) {
        let Some(plan) = runs[i].python.take() else { continue };
        apply(project, &mut files, &pool, &mut runs[i], &plan, outcome, cx.strict);
    }
    pass.sources = files.sources;
    pass
}

/// `.py` files added to the project's sources for diagnostics.
#[derive(Default)]
struct PyFiles {
    ids: HashMap<PathBuf, FileId>,
    cwd: PathBuf,
    base: usize,
    sources: Vec<SourceFile>,
}

impl PyFiles {
    /// The source of `path` (read once), or `None` when it cannot be read.
    fn id(&mut self, project: &Project, path: &Path) -> Option<FileId> {
        if let Some(id) = self.ids.get(path) {
            return Some(*id);
        }
        let text = std::fs::read_to_string(path).ok()?;
        let rel = path.strip_prefix(&project.root).map_or_else(
            |_| path.display().to_string(),
            |p| p.to_string_lossy().replace('\\', "/"),
        );
        let display = crate::discover::display_path(path, &self.cwd);
        let id = FileId((self.base + self.sources.len()) as u32);
        self.sources
            .push(SourceFile::new(path.to_path_buf(), display, rel, Some(text)));
        self.ids.insert(path.to_path_buf(), id);
        Some(id)
    }
}

/// The `python-load-error` of `e`: at the line of the `.py` file the
/// exception names when it is a file of the project (a global helper's
/// copy counts as the global's own file), else at `fallback`.
fn load_diagnostic(
    project: &Project,
    files: &mut PyFiles,
    pool: &Pool,
    file: FileId,
    fallback: Span,
    e: &LoadError,
    id: &str,
) -> Diagnostic {
    let message = format!("`{id}` does not load: {}", first_line(&e.message));
    let named = e.file.as_deref().map(|f| pool.source_of(Path::new(f)));
    let located = match (named, e.line) {
        (Some(path), Some(line)) if path.starts_with(&project.root) => files
            .id(project, &path)
            .map(|id| (id, Span::at(line, e.column.unwrap_or(1).max(1)))),
        _ => None,
    };
    let mut d = match located {
        Some((py, span)) => Diagnostic::new(Code::PythonLoadError, py, span, message).with_related(
            file,
            fallback,
            "the detection".to_owned(),
        ),
        None => {
            let whence = match (&e.file, e.line) {
                (Some(f), Some(l)) => format!(" (raised in {f}, line {l})"),
                _ => String::new(),
            };
            Diagnostic::new(Code::PythonLoadError, file, fallback, format!("{message}{whence}"))
        }
    };
    if let Some(module) = e.message.strip_prefix("ModuleNotFoundError: No module named ") {
        d = d.with_help(format!(
            "install {module} in the interpreter detect uses (`python -m pip install ...`), or add it as a global helper, or choose another interpreter with --python"
        ));
    }
    d
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The name a report prints for a Python function.
fn function_name(name: &str) -> &'static str {
    match name {
        "rule" => "rule",
        "policy" => "policy",
        "title" => "title",
        "dedup" => "dedup",
        "alertContext" => "alertContext",
        "description" => "description",
        "reference" => "reference",
        "severity" => "severity",
        "runbook" => "runbook",
        "destinations" => "destinations",
        "unique" => "unique",
        _ => "function",
    }
}

/// What a failing Python test says, in one line.
fn failure(t: &PlannedTest, r: &TestResult) -> String {
    if let Some(e) = &r.error {
        return format!("test '{}' could not be run: {e}", t.name);
    }
    let Some(f) = r.functions.iter().find(|f| !f.passed) else {
        return match r.hidden.first() {
            Some(h) => format!("test '{}': {h}", t.name),
            None => format!("test '{}' failed", t.name),
        };
    };
    let output = f.output.as_deref().unwrap_or("None");
    match (&f.error, r.functions.first().is_some_and(|m| m.name == f.name)) {
        (Some(e), _) => format!("test '{}': `{}` raised {e}", t.name, f.name),
        (None, true) => format!(
            "test '{}': expected {}, `{}` returned {output}",
            t.name, t.expected, f.name
        ),
        (None, false) => format!(
            "test '{}': `{}` returned {output}, not what the test expects",
            t.name, f.name
        ),
    }
}

fn apply(
    project: &Project,
    files: &mut PyFiles,
    pool: &Pool,
    run: &mut Run,
    plan: &Plan,
    outcome: DetectionOutcome,
    strict: bool,
) {
    let results = match outcome {
        DetectionOutcome::LoadFailed(e) => {
            run.item.status = Status::Invalid;
            run.item.reason = None;
            run.item.tests.clear();
            let d = load_diagnostic(project, files, pool, plan.file, plan.filename_at, &e, &plan.job.id);
            run.diagnostics.push(d);
            return;
        }
        DetectionOutcome::Tests(r) => r,
    };
    if plan.tests.is_empty() {
        // Loaded, and nothing to run: the item keeps its `no tests` skip.
        if strict && run.item.status == Status::Skipped {
            run.item.status = Status::Failed;
        }
        return;
    }
    run.item.reason = None;
    run.item.tests.clear();
    let mut failed = false;
    for (t, r) in plan.tests.iter().zip(results) {
        let status = if r.passed { Status::Passed } else { Status::Failed };
        if !r.passed {
            failed = true;
            let message = failure(t, &r);
            let d = match (&plan.inherited_from, plan.base_file) {
                (Some(base), Some(bf)) => Diagnostic::new(Code::TestFailed, plan.file, plan.base_at, message)
                    .with_related(bf, t.span, format!("the test, inherited from `{base}`")),
                _ => Diagnostic::new(Code::TestFailed, plan.file, t.span, message),
            };
            run.diagnostics.push(d);
        }
        run.item.tests.push(TestReport {
            name: t.name.clone(),
            status,
            expected: t.expected,
            matched: r.output,
            functions: r
                .functions
                .iter()
                .map(|f| FunctionReport {
                    name: function_name(&f.name),
                    output: FunctionOutput::Text(f.output.as_deref().unwrap_or("None").into()),
                    passed: f.passed,
                    error: f.error.clone(),
                })
                .collect(),
            inherited_from: plan.inherited_from.clone(),
            error: r.error.clone(),
            explain: r.hidden.clone(),
            stdout: (!r.stdout.is_empty()).then_some(r.stdout),
            duration: Some(r.duration),
        });
    }
    // `--minimum-tests` has already failed the item, whatever its tests say.
    let insufficient = run.diagnostics.iter().any(|d| d.code == Code::InsufficientTests);
    run.item.status = if failed || insufficient {
        Status::Failed
    } else {
        Status::Passed
    };
}
