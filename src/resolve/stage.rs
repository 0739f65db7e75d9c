//! The resolve stage's entry point: one pass over a loaded project builds
//! the resolved set that checks and commands read (docs/design/008).
//!
//! [`stage`] is the only constructor of [`Resolved`], and an [`Index`] is
//! only ever a view of a [`Resolved`]: `Project::load` runs the stage once,
//! keeps the set beside the entries it describes, and every check and
//! command reads it through `Project::resolved`.

use std::collections::{HashMap, HashSet};

use super::set::Index;
use crate::project::Entry;
use crate::source::FileId;

/// The resolved set of a loaded project. It owns its data (positions in the
/// project's entries, not references), so the project can hold it.
#[derive(Debug, Default)]
pub struct Resolved {
    /// For each ID, the positions in the entries of the items that have it,
    /// in project order.
    by_id: HashMap<String, Vec<usize>>,
    /// Files with an error that makes them invalid: those of loading while
    /// the cross-file checks run, then those of loading and the checks.
    invalid: HashSet<FileId>,
}

/// The resolve stage: builds the resolved set of `entries`, `invalid`
/// telling which files loading found invalid. `Project::load` calls it once
/// per run, before the cross-file checks.
pub(crate) fn stage(entries: &[Entry], invalid: HashSet<FileId>) -> Resolved {
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (at, e) in entries.iter().enumerate() {
        let Some(id) = e.analysis.as_ref().and_then(|a| a.id.as_ref()) else {
            continue;
        };
        by_id.entry(id.value.clone()).or_default().push(at);
    }
    #[cfg(test)]
    builds::record(by_id.keys());
    Resolved { by_id, invalid }
}

impl Resolved {
    /// The view of the set over the entries it was built from.
    pub fn view<'a>(&'a self, entries: &'a [Entry]) -> Index<'a> {
        Index::view(entries, &self.by_id, &self.invalid)
    }

    /// Records the files invalid once the cross-file checks have reported
    /// (their errors make more files invalid). The items by ID stay as the
    /// stage built them.
    pub fn checked(&mut self, invalid: HashSet<FileId>) {
        self.invalid = invalid;
    }
}

/// The resolved set of in-memory items, with the entries it describes
/// (unit tests: what `Project::load` keeps, without the files).
#[cfg(test)]
pub(crate) struct Fixture {
    /// One entry per item, in the given order.
    pub entries: Vec<Entry>,
    resolved: Resolved,
}

#[cfg(test)]
impl Fixture {
    /// Runs the stage over `items`, the files in `invalid` being invalid.
    pub(crate) fn new(items: Vec<crate::model::Analysis>, invalid: HashSet<FileId>) -> Fixture {
        let entries: Vec<Entry> = items
            .into_iter()
            .map(|a| Entry {
                file: a.file,
                analysis: Some(a),
            })
            .collect();
        let resolved = stage(&entries, invalid);
        Fixture { entries, resolved }
    }

    /// The view every reader gets.
    pub(crate) fn index(&self) -> Index<'_> {
        self.resolved.view(&self.entries)
    }
}

/// Counts builds of the resolved set per ID, so a test can tell that a run
/// built it once (tests run in parallel: each uses IDs of its own).
#[cfg(test)]
pub(crate) mod builds {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static BUILDS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

    pub(super) fn record<'a>(ids: impl Iterator<Item = &'a String>) {
        let mut guard = BUILDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        for id in ids {
            *map.entry(id.clone()).or_default() += 1;
        }
    }

    /// How many resolved sets indexed an item with this ID.
    pub(crate) fn of(id: &str) -> usize {
        let guard = BUILDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().and_then(|m| m.get(id).copied()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::commands::context::Context;
    use crate::commands::{show, test, validate};
    use crate::project::ProjectOptions;

    /// Writes a project whose IDs no other test uses: a plain rule, a
    /// derived detection of it (`--filter Severity=High` selects it on the
    /// inherited value), and a correlation rule over the base.
    fn project(dir: &Path) {
        let rules = dir.join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        let write = |name: &str, text: &str| std::fs::write(rules.join(name), text).unwrap();
        write(
            "base.yml",
            "AnalysisType: rule\nRuleID: Once.Base\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: High\n\
             Detection:\n  - Key: eventName\n    Condition: Equals\n    Value: X\n\
             Tests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {eventName: X}\n",
        );
        write(
            "derived.yml",
            "AnalysisType: rule\nRuleID: Once.Derived\nBaseDetection: Once.Base\nEnabled: true\n",
        );
        write(
            "corr.yml",
            "AnalysisType: correlation_rule\nRuleID: Once.Corr\nEnabled: true\nSeverity: Low\n\
             Detection:\n  - Sequence:\n      - ID: a\n        RuleID: Once.Base\n      - ID: b\n        RuleID: Once.Derived\n    Transitions:\n      - ID: a to b\n        From: a\n        To: b\n        WithinTimeFrameMinutes: 5\n\
             LookbackWindowMinutes: 15\nSchedule:\n  RateMinutes: 5\n  TimeoutMinutes: 1\n",
        );
    }

    fn context(dir: &Path) -> Context {
        let mut warnings = Vec::new();
        let mut project = ProjectOptions::default();
        project.discover.roots = vec![dir.to_path_buf()];
        Context {
            cwd: dir.to_path_buf(),
            paths: vec![dir.display().to_string()],
            project,
            filters: crate::filter::parse(&["Severity=High".to_owned()], &mut warnings).unwrap(),
            format: crate::report::Format::Human,
            output: None,
            style: crate::report::Style::default(),
            strict: false,
            deny_warnings: false,
            settings: crate::settings::Settings::default(),
            warnings,
            report_files: None,
            report_dirs: Vec::new(),
            changed_since: None,
            changed: None,
            watch_changes: None,
        }
    }

    /// Loading runs the stage once, and no command builds the set again:
    /// validate (items and its `--filter` deselection), test (which also
    /// asks validate what it reports), the bundle of zip and upload, show,
    /// and run's plan all read the one set the project holds.
    #[test]
    fn a_run_builds_the_resolved_set_once() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path());
        let builds = || super::builds::of("Once.Derived");
        assert_eq!(builds(), 0);

        let mut cx = context(dir.path());
        let outcome = validate::run(&mut cx).unwrap();
        assert_eq!(builds(), 1, "validate");
        assert!(outcome.items.iter().any(|i| i.id.as_deref() == Some("Once.Derived")));
        let _ = validate::reported(&cx, &outcome.project).count();
        let _ = validate::items(&cx, &outcome.project);
        assert_eq!(builds(), 1, "validate's report");

        let report_all = |_: &Path| true;
        let plan = crate::bundle::plan(
            &outcome.project,
            &crate::bundle::PlanOptions {
                filters: &cx.filters,
                auto_disable_base: true,
                is_reported: &report_all,
            },
        )
        .unwrap();
        assert!(!plan.entries.is_empty());
        assert!(show::view(&outcome.project, &cx.filters, "Once.Derived").is_some());
        let replay = crate::alerting::replay::plan::Plan::build(
            &outcome.project,
            crate::alerting::replay::plan::Selection {
                filters: &cx.filters,
                rules: &[],
                include_disabled: false,
                python: crate::alerting::replay::plan::PythonMode::Off,
            },
        )
        .unwrap();
        assert!(!replay.detections.is_empty());
        assert_eq!(builds(), 1, "bundle, show and run's plan read the loaded set");

        let mut cx = context(dir.path());
        let outcome = test::run(&mut cx, &test::TestOptions::default()).unwrap();
        assert!(outcome.items.iter().any(|i| i.id.as_deref() == Some("Once.Derived")));
        assert_eq!(builds(), 2, "test loads once more, and builds once");
    }
}
