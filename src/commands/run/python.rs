//! The Python rules of a run: the pool starts only when the plan has one;
//! each batch's pending events go to the workers, and their matches
//! become [`Found`]s like the native ones. Exceptions are counted per rule
//! and reported once, with the first, when the run ends.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::alerting::replay::evaluate::{self, Found};
use crate::alerting::replay::plan::PythonMode;
use crate::alerting::replay::{Plan, Record};
use crate::commands::context::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::engine::AlertFields;
use crate::model::Level;
use crate::project::Project;
use crate::python::replay::{EventJob, PyError, PyMatch, Replayer};
use crate::python::{LoadError, Pool, PoolConfig, interpreter};
use crate::source::{FileId, SourceFile, Span};

/// A started pool, or why there is none.
pub(super) enum Started {
    /// The pool runs the plan's Python rules.
    Pool(Box<Pool>),
    /// No Python rule is selected, or `--no-python`.
    None,
    /// The pool cannot start: the plan is built again with this mode, and
    /// the diagnostic says how to fix it.
    Unavailable(PythonMode, Diagnostic),
}

/// Starts the pool when `plan` has Python rules.
pub(super) fn start(
    cx: &Context,
    project: &Project,
    plan: &Plan,
    python: Option<&Path>,
    timeout: std::time::Duration,
) -> Started {
    if plan.python.is_empty() {
        return Started::None;
    }
    let valid: Vec<&crate::model::Analysis> = {
        let invalid = project.resolved().invalid();
        project
            .entries
            .iter()
            .filter_map(|e| e.analysis.as_ref())
            .filter(|a| !invalid.contains(&a.file))
            .collect()
    };
    let path_of = |a: &crate::model::Analysis| project.source(a.file).path.as_path();
    let settings_dir = cx.settings.path.as_deref().and_then(Path::parent);
    let chosen = interpreter::choose(
        &cx.layers(),
        python,
        cx.settings.python.as_deref(),
        settings_dir,
        &project.root,
    );
    let config = PoolConfig {
        python: chosen.path.clone(),
        workers: rayon::current_num_threads().max(1),
        timeout,
        globals: crate::python::plan::globals(valid.iter().copied(), path_of),
        data_models: crate::python::plan::data_models(valid.iter().copied(), path_of),
        destinations: Vec::new(),
        cwd: cx.cwd.clone(),
        cache_dir: crate::python::setup::cache_dir(&cx.layers()),
    };
    match Pool::start(config) {
        Ok(p) => Started::Pool(Box::new(p)),
        Err(e) => {
            let (skip, d) = crate::python::setup::unavailable(&chosen, &e);
            Started::Unavailable(PythonMode::Unavailable(skip), d)
        }
    }
}

/// A diagnostic with the source file it points into (its only file, as
/// `FileId(0)`).
pub(super) struct Located {
    /// The diagnostic.
    pub(super) diagnostic: Diagnostic,
    /// Its file.
    pub(super) source: SourceFile,
}

/// A diagnostic about a Python rule: at the line of its `.py` file that
/// the exception names when that is a file of the project, else at the
/// detection's `Filename` (or `BaseDetection`).
fn located(
    cx: &Context,
    project: &Project,
    plan: &Plan,
    rule: usize,
    code: Code,
    message: String,
    (file, line, column): (Option<&str>, Option<u32>, Option<u32>),
) -> Located {
    let py = &plan.python[rule];
    if let (Some(f), Some(line)) = (file, line) {
        let path = std::path::absolute(f).unwrap_or_else(|_| PathBuf::from(f));
        if path.starts_with(&project.root) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let rel = path.strip_prefix(&project.root).map_or_else(
                    |_| path.display().to_string(),
                    |p| p.to_string_lossy().replace('\\', "/"),
                );
                let display = crate::discover::display_path(&path, &cx.cwd);
                return Located {
                    diagnostic: Diagnostic::new(code, FileId(0), Span::at(line, column.unwrap_or(1).max(1)), message),
                    source: SourceFile::new(path, display, rel, Some(text)),
                };
            }
        }
    }
    let source = project.source(py.file).clone();
    let whence = match (file, line) {
        (Some(f), Some(l)) => format!(" (raised in {f}, line {l})"),
        _ => String::new(),
    };
    Located {
        diagnostic: Diagnostic::new(code, FileId(0), py.at, format!("{message}{whence}")),
        source,
    }
}

/// The `python-load-error` of a rule that does not load.
pub(super) fn load_error(cx: &Context, project: &Project, plan: &Plan, rule: usize, e: &LoadError) -> Located {
    let id = &plan.python[rule].rule.id;
    let first = e.message.lines().next().unwrap_or("");
    let mut l = located(
        cx,
        project,
        plan,
        rule,
        Code::PythonLoadError,
        format!("`{id}` does not load: {first}; it was not run"),
        (e.file.as_deref(), e.line, e.column),
    );
    if let Some(module) = e.message.strip_prefix("ModuleNotFoundError: No module named ") {
        l.diagnostic = l.diagnostic.with_help(format!(
            "install {module} in the interpreter detect uses (`python -m pip install ...`), or add it as a global helper, or choose another interpreter with --python"
        ));
    }
    l
}

/// Exceptions of the Python rules over the run: per rule, how many events
/// and the first.
#[derive(Default)]
pub(super) struct Errors {
    per_rule: Vec<(u64, Option<PyError>)>,
}

impl Errors {
    pub(super) fn new(rules: usize) -> Errors {
        Errors {
            per_rule: vec![(0, None); rules],
        }
    }

    fn add(&mut self, e: PyError) {
        if let Some(slot) = self.per_rule.get_mut(e.r as usize) {
            slot.0 += 1;
            // A worker describes a rule's first error only; the others
            // come without their text.
            if slot.1.is_none() && !e.error.is_empty() {
                slot.1 = Some(e);
            }
        }
    }

    /// One `python-rule-error` warning per rule that raised, in file order.
    pub(super) fn diagnostics(&self, cx: &Context, project: &Project, plan: &Plan) -> Vec<Located> {
        self.per_rule
            .iter()
            .enumerate()
            .filter_map(|(i, (n, first))| {
                let first = first.as_ref()?;
                let id = &plan.python.get(i)?.rule.id;
                let events = crate::report::replay::counted(*n, "event", "events");
                let message = format!(
                    "`{id}` failed on {events} (no match, no alert for {}); the first: {}",
                    if *n == 1 { "it" } else { "them" },
                    first.error
                );
                let mut l = located(
                    cx,
                    project,
                    plan,
                    i,
                    Code::PythonRuleError,
                    message,
                    (first.file.as_deref(), first.line, None),
                );
                l.diagnostic = l.diagnostic.with_help(
                    "guard the rule against the events it sees (`event.get(...)`, `deep_get`), or narrow its `LogTypes` or `InlineFilters`",
                );
                Some(l)
            })
            .collect()
    }
}

/// Runs the pending Python rules of a batch's records and completes them.
pub(super) fn run_batch(
    plan: &Plan,
    replayer: &Replayer<'_>,
    keep_events: bool,
    records: &mut [(u64, Record)],
    errors: &mut Errors,
) {
    let mut at: Vec<usize> = Vec::new();
    let mut jobs: Vec<EventJob> = Vec::new();
    for (i, (_, rec)) in records.iter_mut().enumerate() {
        if let Record::Event {
            log_type,
            python: Some(p),
            ..
        } = rec
        {
            at.push(i);
            jobs.push(EventJob {
                log_type: plan.log_types.get(*log_type as usize).cloned().unwrap_or_default(),
                rules: p.rules.clone(),
                event: std::mem::take(&mut p.text),
            });
        }
    }
    if jobs.is_empty() {
        return;
    }
    let outcomes = replayer.run(&jobs);
    for (i, outcome) in at.into_iter().zip(outcomes) {
        let Some((_, Record::Event { found, python, .. })) = records.get_mut(i) else {
            continue;
        };
        let Some(pending) = python.take() else { continue };
        for e in outcome.errors {
            errors.add(e);
        }
        let matches: Vec<Found> = outcome.matches.into_iter().filter_map(|m| found_of(plan, m)).collect();
        evaluate::complete(plan, keep_events, *pending, found, matches);
    }
}

/// A Python match as a [`Found`]: panther-core's fields, with the
/// defaults of alerts-and-webhooks §3.2 where a function is not defined.
fn found_of(plan: &Plan, m: PyMatch) -> Option<Found> {
    let py = plan.python.get(m.r as usize)?;
    let d = plan.detections.get(py.detection as usize)?;
    let context = m
        .context
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let fields = if d.meta.create_alert {
        let static_severity = level(py.rule.severity).unwrap_or(Level::Info);
        AlertFields {
            title: Some(m.title.unwrap_or_else(|| d.meta.name.clone())),
            dedup: Some(m.dedup.unwrap_or_else(|| format!("defaultDedupString:{}", d.meta.id))),
            severity: Some(m.severity.as_deref().and_then(level).unwrap_or(static_severity)),
            context,
        }
    } else {
        AlertFields {
            title: None,
            dedup: None,
            severity: None,
            context,
        }
    };
    Some(Found {
        rule: py.detection,
        fields,
        event: None,
        joins: Vec::new(),
        unique: m.unique,
    })
}

/// `HIGH`, `high` → [`Level::High`].
fn level(s: &str) -> Option<Level> {
    Level::ALL
        .iter()
        .find(|(l, _)| l.upper().eq_ignore_ascii_case(s))
        .map(|(l, _)| *l)
}
