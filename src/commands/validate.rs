//! `detect validate`: load everything, run every check, report (no tests).
//!
//! Every item ends `passed` or `invalid` (cli-and-settings §8 item 6, step
//! 1). Files named on the command line limit the report, not the load.

use std::collections::HashSet;
use std::time::Instant;

use crate::commands::context::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Result;
use crate::exit;
use crate::project::Project;
use crate::report::{ItemReport, RunReport, Status};
use crate::source::FileId;

/// The outcome of a command: its report data and exit code.
pub struct Outcome {
    /// The loaded project (owns sources and diagnostics).
    pub project: Project,
    /// Items.
    pub items: Vec<ItemReport>,
    /// Exit code.
    pub code: u8,
    /// Notes for `--verbose`.
    pub notes: Vec<String>,
    /// Why the run failed when no diagnostic says it (nothing found,
    /// filters matched nothing): a line of its own in every report.
    pub problem: Option<String>,
    /// Milliseconds.
    pub duration_ms: u128,
}

impl Outcome {
    /// The outcome of a run that started at `start`.
    pub fn new(
        start: Instant,
        mut project: Project,
        items: Vec<ItemReport>,
        code: u8,
        notes: Vec<String>,
        problem: Option<String>,
    ) -> Outcome {
        project.reread_quoted();
        Outcome {
            project,
            items,
            code,
            notes,
            problem,
            duration_ms: start.elapsed().as_millis(),
        }
    }

    /// The report to render.
    ///
    /// Diagnostics are those of the reported files (files named on the
    /// command line limit them) and, with `--filter`, only of files whose
    /// item the filters select: a deselected item is not part of the run,
    /// its errors neither fail it nor are shown. A file whose item cannot
    /// be read is always reported (it cannot be filtered).
    pub fn report<'a>(&'a self, cx: &'a Context, command: &'static str) -> RunReport<'a> {
        let diagnostics = reported(cx, &self.project).collect();
        RunReport {
            command,
            paths: cx.paths.clone(),
            items: &self.items,
            diagnostics,
            sources: &self.project.sources,
            duration_ms: self.duration_ms,
            notes: self.notes.clone(),
            problem: self.problem.clone(),
            root: crate::discover::absolute(&self.project.root, &cx.cwd),
        }
    }
}

/// The diagnostics a report shows (see [`Outcome::report`]); `--deny-warnings`
/// counts these only.
pub fn reported<'a>(cx: &'a Context, project: &'a Project) -> impl Iterator<Item = &'a Diagnostic> + 'a {
    let deselected = deselected(cx, project);
    project.diagnostics.iter().filter(move |d| match d.file() {
        Some(f) => {
            !deselected.contains(&f)
                && project.sources.get(f.0 as usize).is_some_and(|s| {
                    cx.is_reported(&s.path) || s.path.file_name().is_some_and(|n| n == crate::settings::FILE_NAME)
                })
        }
        None => true,
    })
}

/// Files whose item `--filter` (or `--changed-since`) does not select.
fn deselected(cx: &Context, project: &Project) -> HashSet<FileId> {
    if cx.filters.is_empty() && cx.changed.is_none() {
        return HashSet::new();
    }
    let index = project.resolved();
    project
        .entries
        .iter()
        .filter(|e| {
            e.analysis
                .as_ref()
                .is_some_and(|a| !cx.selects(a, &project.source(e.file).rel, &index))
        })
        .map(|e| e.file)
        .collect()
}

/// Builds the validate items of a loaded project.
pub fn items(cx: &Context, project: &Project) -> Vec<ItemReport> {
    let index = project.resolved();
    let invalid = index.invalid();
    let mut items = Vec::new();
    for e in &project.entries {
        let src = project.source(e.file);
        if !cx.is_reported(&src.path) {
            continue;
        }
        let is_invalid = invalid.contains(&e.file);
        if let Some(a) = &e.analysis {
            if !cx.selects(a, &src.rel, &index) {
                continue;
            }
            if !is_invalid && !a.analysis_type.value.is_detection() {
                continue;
            }
        }
        let a = e.analysis.as_ref();
        items.push(ItemReport {
            id: a.and_then(|a| a.id.as_ref().map(|i| i.value.clone())),
            analysis_type: a.map(|a| a.analysis_type.value.name().to_owned()),
            file: src.display.clone(),
            status: if is_invalid { Status::Invalid } else { Status::Passed },
            reason: None,
            base: a
                .and_then(|a| a.rule())
                .and_then(|r| r.base_detection.as_ref().map(|b| b.value.clone())),
            tests: Vec::new(),
            selected_because: cx.why(e.file),
        });
    }
    items
}

/// Runs `validate`.
///
/// # Errors
/// Failures of the run itself (missing path, bad ignore pattern).
pub fn run(cx: &mut Context) -> Result<Outcome> {
    let start = Instant::now();
    let project = cx.load()?;
    let items = items(cx, &project);
    let mut notes = Vec::new();
    notes.extend(project.gated_note());
    let mut code = exit::SUCCESS;
    let any_invalid = items.iter().any(|i| i.status == Status::Invalid);
    let warnings = reported(cx, &project).any(|d| d.severity() == Severity::Warning);
    if any_invalid || (cx.deny_warnings && warnings) {
        code = exit::FINDINGS;
    }
    let mut problem = None;
    if cx.report_files.is_none() {
        if project.entries.is_empty() {
            problem = Some(format!(
                "nothing to validate: no analysis file found in {}",
                cx.paths.join(", ")
            ));
            code = exit::FINDINGS;
        } else if let (Some(rev), true) = (&cx.changed_since, items.is_empty()) {
            // Nothing changed that is checked: not a failure of the change.
            notes.push(format!("nothing to validate: no detection changed since {rev}"));
        } else if items.is_empty() && !cx.filters.is_empty() {
            problem = Some("nothing to validate: no detection matched the filters".to_owned());
            code = exit::FINDINGS;
        }
    }
    Ok(Outcome::new(start, project, items, code, notes, problem))
}
