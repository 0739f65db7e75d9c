//! `--watch` on `validate` and `test`: run once over everything, then again
//! on every batch of file changes, for the changed items and what depends
//! on them.
//!
//! Changes come from the `notify` crate (inotify, FSEvents, ...); reads
//! (access events, which every run causes) are not changes. The events
//! until [`DEBOUNCE`] of quiet make one batch. Paths under
//! `.git/` or `target/`, editor swap and backup files (`.foo.swp`, `foo~`,
//! `.#foo`, `#foo#`, vim's `4913`) and the temporary files of `fmt` are
//! ignored; a batch of nothing else starts no run. Each run reloads the
//! whole project, so cross-file checks stay exact, and selects items as
//! `--changed-since` does ([`crate::resolve::select_changed`]): the changed
//! files plus their dependents; a deleted file's last text read is used to
//! find what depended on it. A file that vanishes mid-run or holds bad
//! YAML is a diagnostic of that run, as always; a run that fails as a whole
//! (a search root deleted) is reported and the watch goes on.
//!
//! The loop blocks on a channel (no polling). Ctrl-C (SIGINT, also
//! SIGTERM) sends a stop on the same channel: a run in progress ends first
//! (the Python worker pool of `test` is shut down with it), then the watch
//! returns exit 0: stopping the watch is not a failure. Nothing is printed
//! here: each run is handed to the caller's `show`.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use crate::commands::context::Context;
use crate::commands::test::TestOptions;
use crate::commands::validate::{self, Outcome};
use crate::error::{Error, Result};
use crate::exit;

/// How long the files must be quiet before a batch runs.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// What each run does.
pub enum Step<'a> {
    /// `validate`.
    Validate,
    /// `test`, with its options.
    Test(&'a TestOptions),
}

/// One run of the watch, for the reporter.
pub struct WatchRun<'a> {
    /// `None` for the first run (everything); else the changed files,
    /// relative to the project root.
    pub changed: Option<&'a [String]>,
    /// The run's outcome, or why it failed.
    pub outcome: std::result::Result<&'a Outcome, &'a Error>,
    /// The context of the run (for the report).
    pub cx: &'a Context,
}

enum Event {
    Changed(Vec<PathBuf>),
    Failed(String),
    Stop,
}

/// Watches until Ctrl-C; `show` gets every run. Returns exit 0 when
/// stopped.
///
/// # Errors
/// The watcher cannot start (no inotify watches left), the project root
/// does not exist, or `show` fails (a closed stdout).
pub fn run(mut cx: Context, step: &Step<'_>, show: &mut dyn FnMut(&WatchRun<'_>) -> std::io::Result<()>) -> Result<u8> {
    let (tx, rx) = mpsc::channel::<Event>();
    let stop = tx.clone();
    // A second handler cannot be set (a library caller that has one):
    // the watch then stops as the process does.
    let _ = ctrlc::set_handler(move || {
        let _ = stop.send(Event::Stop);
    });
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let _ = match res {
            Ok(e) if matches!(e.kind, EventKind::Access(_)) => Ok(()),
            Ok(e) => tx.send(Event::Changed(e.paths)),
            Err(e) => tx.send(Event::Failed(e.to_string())),
        };
    })
    .map_err(|e| Error::Usage(format!("--watch: cannot watch files: {e}")))?;
    let first = once(&mut cx, step);
    // `--changed-since` scopes the first run only; the changes seen select
    // every later one.
    cx.changed_since = None;
    let root = match &first {
        Ok(o) => crate::discover::absolute(&o.project.root, &cx.cwd),
        Err(_) => crate::discover::project_root(
            cx.project
                .discover
                .roots
                .first()
                .map_or(Path::new("."), PathBuf::as_path),
            &cx.cwd,
        ),
    };
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| Error::Usage(format!("--watch: cannot watch `{}`: {e}", root.display())))?;
    let mut texts = last_texts(first.as_ref().ok());
    show(&WatchRun {
        changed: None,
        outcome: first.as_ref(),
        cx: &cx,
    })
    .map_err(Error::Write)?;
    drop(first);
    while let Ok(event) = rx.recv() {
        let paths = match event {
            Event::Stop => break,
            Event::Failed(why) => {
                let e = Error::Usage(format!("--watch: {why}"));
                show(&WatchRun {
                    changed: Some(&[]),
                    outcome: Err(&e),
                    cx: &cx,
                })
                .map_err(Error::Write)?;
                continue;
            }
            Event::Changed(paths) => paths,
        };
        // Every event until the files are quiet joins the batch (also
        // those that came in while the last run ran).
        let mut all = paths;
        let mut stopped = false;
        while let Ok(more) = rx.recv_timeout(DEBOUNCE) {
            match more {
                Event::Changed(p) => all.extend(p),
                Event::Stop => {
                    stopped = true;
                    break;
                }
                Event::Failed(_) => {}
            }
        }
        if stopped {
            break;
        }
        // A file that came and went between two runs (an editor's or
        // sed's temporary file) is no change; a deleted file is one when
        // the last run read it, or when it is Python (an item's `Filename`).
        let changed: Vec<String> = relevant(&root, &all)
            .into_iter()
            .filter(|rel| texts.contains_key(rel) || rel.ends_with(".py") || root.join(rel).exists())
            .collect();
        if changed.is_empty() {
            continue;
        }
        let deleted: Vec<String> = changed
            .iter()
            .filter(|rel| !root.join(rel).exists())
            .filter_map(|rel| texts.get(rel).cloned())
            .collect();
        cx.watch_changes = Some((changed.iter().cloned().collect(), deleted));
        let result = once(&mut cx, step);
        if let Ok(o) = &result {
            texts = last_texts(Some(o));
        }
        show(&WatchRun {
            changed: Some(&changed),
            outcome: result.as_ref(),
            cx: &cx,
        })
        .map_err(Error::Write)?;
    }
    Ok(exit::SUCCESS)
}

fn once(cx: &mut Context, step: &Step<'_>) -> Result<Outcome> {
    match step {
        Step::Validate => validate::run(cx),
        Step::Test(opts) => crate::commands::test::run(cx, opts),
    }
}

/// The text of every YAML file of a run, by path relative to the root:
/// what a file deleted later last said.
fn last_texts(outcome: Option<&Outcome>) -> HashMap<String, String> {
    outcome
        .map(|o| {
            o.project
                .sources
                .iter()
                .filter(|s| s.rel.ends_with(".yml") || s.rel.ends_with(".yaml"))
                .filter_map(|s| Some((s.rel.clone(), s.text.clone()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The changed paths that matter, relative to `root`, `/`-separated,
/// sorted and without repeats.
pub fn relevant(root: &Path, paths: &[PathBuf]) -> Vec<String> {
    let mut out: HashSet<String> = HashSet::new();
    for p in paths {
        let Ok(rel) = p.strip_prefix(root) else { continue };
        if ignored(rel) || p.is_dir() {
            continue;
        }
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if !parts.is_empty() {
            out.insert(parts.join("/"));
        }
    }
    let mut v: Vec<String> = out.into_iter().collect();
    v.sort();
    v
}

/// Whether a change of `rel` (relative to the root) is never a run.
fn ignored(rel: &Path) -> bool {
    let in_skipped_folder = rel
        .components()
        .any(|c| matches!(c, Component::Normal(n) if n == ".git" || n == "target"));
    let name = rel.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    in_skipped_folder
        || name.is_empty()
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
        || (name.starts_with('.') && name.ends_with(".tmp") && name.contains(".detect-fmt-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_files_and_tool_folders_are_ignored() {
        let root = Path::new("/r");
        let paths: Vec<PathBuf> = [
            "/r/rules/a.yml",
            "/r/rules/.a.yml.swp",
            "/r/rules/a.yml~",
            "/r/.git/index",
            "/r/target/debug/x",
            "/r/rules/.#a.yml",
            "/r/rules/#a.yml#",
            "/r/rules/4913",
            "/r/rules/.a.yml.detect-fmt-12.tmp",
            "/elsewhere/b.yml",
            "/r/rules/a.yml",
            "/r/rules/b.py",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(relevant(root, &paths), ["rules/a.yml", "rules/b.py"]);
    }
}
