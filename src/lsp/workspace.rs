//! The loaded workspace: every analysis file of the project, loaded the way
//! `validate` loads it, kept up to date file by file.
//!
//! A change re-parses only the changed file; the cross-file checks
//! (duplicate IDs, bases, correlation references, packs, `Filename`) then
//! run again over the whole set through [`project::resolve_and_check`],
//! the same function every command uses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cli::{OutputArgs, ProjectArgs, SourceArgs};
use crate::commands::context::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::error::Result;
use crate::load::{self, LoadOptions};
use crate::model::Analysis;
use crate::project::{self, Entry};
use crate::resolve::{Index, Resolved};
use crate::source::{FileId, SourceFile, Span};

/// The project the server keeps.
#[derive(Debug)]
pub struct Workspace {
    /// The project root (found as `validate` finds it).
    pub root: PathBuf,
    cwd: PathBuf,
    load: LoadOptions,
    /// Every file read, indexed by [`FileId`].
    pub sources: Vec<SourceFile>,
    /// Analysis files, sorted by path relative to the root.
    pub entries: Vec<Entry>,
    /// What loading each file found, by [`FileId`].
    load_diags: Vec<Vec<Diagnostic>>,
    by_path: HashMap<PathBuf, FileId>,
    /// Every diagnostic of the last check.
    pub diagnostics: Vec<Diagnostic>,
    resolved: Resolved,
}

/// The path a file is known by: canonical when it exists.
pub fn key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Workspace {
    /// Loads the project of a workspace folder, with its settings file.
    ///
    /// # Errors
    /// A bad settings file or ignore pattern.
    pub fn load(folder: &Path) -> Result<Workspace> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| folder.to_path_buf());
        let folder = key(folder);
        let root = discover::project_root(&folder, &cwd);
        let args = ProjectArgs {
            source: SourceArgs {
                paths: vec![root.clone()],
                ..SourceArgs::default()
            },
            ..ProjectArgs::default()
        };
        let mut cx = Context::resolve(&args, &OutputArgs::default())?;
        let found = discover::discover(&cx.project.discover, &cwd)?;
        let load_opts = cx.project.load.clone();
        let loaded: Vec<(SourceFile, load::Loaded)> = found
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let id = FileId(i as u32);
                let (text, loaded) = read_and_load(id, &f.path, &load_opts);
                (
                    SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), text),
                    loaded,
                )
            })
            .collect();
        let mut ws = Workspace {
            root: found.project_root.clone(),
            cwd,
            load: load_opts,
            sources: Vec::new(),
            entries: Vec::new(),
            load_diags: Vec::new(),
            by_path: HashMap::new(),
            diagnostics: Vec::new(),
            resolved: crate::resolve::stage(&[], Default::default()),
        };
        for (source, l) in loaded {
            let id = ws.push_source(source);
            ws.load_diags[id.0 as usize] = l.diagnostics;
            if l.is_analysis {
                ws.entries.push(Entry {
                    file: id,
                    analysis: l.analysis,
                });
            }
        }
        for p in &found.problems {
            let id = FileId(ws.sources.len() as u32);
            let (source, diagnostic) = project::walk_problem(p, id);
            let id = ws.push_source(source);
            ws.load_diags[id.0 as usize].push(diagnostic);
        }
        if let Some(src) = cx.settings.source.take() {
            let id = ws.push_source(src);
            for mut d in std::mem::take(&mut cx.settings.diagnostics) {
                if let Some(l) = d.primary.as_mut() {
                    l.file = id;
                }
                ws.load_diags[id.0 as usize].push(d);
            }
        }
        ws.sort_entries();
        ws.recheck();
        Ok(ws)
    }

    fn push_source(&mut self, source: SourceFile) -> FileId {
        let id = FileId(self.sources.len() as u32);
        self.by_path.insert(key(&source.path), id);
        self.sources.push(source);
        self.load_diags.push(Vec::new());
        id
    }

    fn sort_entries(&mut self) {
        let sources = &self.sources;
        self.entries
            .sort_by(|a, b| sources[a.file.0 as usize].rel.cmp(&sources[b.file.0 as usize].rel));
    }

    /// The file known by this path, if any.
    pub fn file(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(&key(path)).copied()
    }

    /// The source of a file.
    pub fn source(&self, id: FileId) -> Option<&SourceFile> {
        self.sources.get(id.0 as usize)
    }

    /// The loaded item of a file.
    pub fn analysis(&self, id: FileId) -> Option<&Analysis> {
        self.entries
            .iter()
            .find(|e| e.file == id)
            .and_then(|e| e.analysis.as_ref())
    }

    /// The resolved set of the last check.
    pub fn index(&self) -> Index<'_> {
        self.resolved.view(&self.entries)
    }

    /// Whether a path belongs to the workspace: below the root, a YAML
    /// file name.
    pub fn contains(&self, path: &Path) -> bool {
        let path = key(path);
        path.starts_with(&self.root)
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(discover::is_yaml_name)
    }

    /// Re-parses one file from `bytes` (`None`: it is gone), adding it when
    /// it is new below the root. Returns the file, or `None` for a path
    /// outside the workspace. Call [`Workspace::recheck`] afterwards.
    pub fn update(&mut self, path: &Path, bytes: Option<Vec<u8>>) -> Option<FileId> {
        let id = match self.file(path) {
            Some(id) => id,
            None if bytes.is_some() && self.contains(path) => {
                let abs = key(path);
                let rel = discover::relative(&abs, &self.root).unwrap_or_else(|| abs.to_string_lossy().into_owned());
                let display = discover::display_path(&abs, &self.cwd);
                self.push_source(SourceFile::new(abs, display, rel, None))
            }
            None => return None,
        };
        let i = id.0 as usize;
        let old = self.sources.get(i)?;
        let (path, display, rel) = (old.path.clone(), old.display.clone(), old.rel.clone());
        self.entries.retain(|e| e.file != id);
        let Some(bytes) = bytes else {
            self.sources[i] = SourceFile::new(path, display, rel, None);
            self.load_diags[i].clear();
            return Some(id);
        };
        let (text, loaded) = load::load_bytes(id, Some(bytes), self.load.clone());
        self.sources[i] = SourceFile::new(path, display, rel, text);
        self.load_diags[i] = loaded.diagnostics;
        if loaded.is_analysis {
            let sources = &self.sources;
            let at = self
                .entries
                .partition_point(|e| sources[e.file.0 as usize].rel < sources[i].rel);
            self.entries.insert(
                at,
                Entry {
                    file: id,
                    analysis: loaded.analysis,
                },
            );
        }
        Some(id)
    }

    /// Runs the cross-file checks over the whole set again.
    pub fn recheck(&mut self) {
        let mut diags: Vec<Diagnostic> = self.load_diags.iter().flatten().cloned().collect();
        self.resolved = project::resolve_and_check(&self.sources, &self.entries, &mut diags, Some(&self.root));
        self.diagnostics = diags;
    }

    /// Whether the last check found the file invalid.
    pub fn is_invalid(&self, id: FileId) -> bool {
        self.index().invalid().contains(&id)
    }
}

/// Reads and loads one file as [`project::Project::load`] does.
fn read_and_load(id: FileId, path: &Path, opts: &LoadOptions) -> (Option<String>, load::Loaded) {
    match project::read_bytes(path) {
        Ok(bytes) => load::load_bytes(id, Some(bytes), opts.clone()),
        Err(message) => {
            let loaded = load::Loaded {
                is_analysis: true,
                diagnostics: vec![Diagnostic::new(Code::UnreadableFile, id, Span::START, message)],
                ..load::Loaded::default()
            };
            (None, loaded)
        }
    }
}

/// Reads a file for [`Workspace::update`]: its bytes, or `None` when it is
/// gone or unreadable.
pub fn read(path: &Path) -> Option<Vec<u8>> {
    project::read_bytes(path).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "AnalysisType: rule\nRuleID: A\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection:\n  - Key: a\n    Condition: Exists\n";

    fn codes(ws: &Workspace, id: FileId) -> Vec<&'static str> {
        ws.diagnostics
            .iter()
            .filter(|d| d.file() == Some(id))
            .map(|d| d.code.name())
            .collect()
    }

    #[test]
    fn updates_re_parse_one_file_and_re_run_the_cross_file_checks() {
        let dir = tempfile::tempdir().unwrap();
        let root = key(dir.path());
        std::fs::write(root.join(".panther_settings.yml"), "").unwrap();
        std::fs::create_dir(root.join("rules")).unwrap();
        std::fs::write(root.join("rules/a.yml"), RULE).unwrap();
        std::fs::write(root.join("rules/b.yml"), RULE.replace("RuleID: A", "RuleID: B")).unwrap();
        let mut ws = Workspace::load(&root).unwrap();
        assert_eq!(ws.root, root);
        let b = ws.file(&root.join("rules/b.yml")).unwrap();
        assert!(codes(&ws, b).is_empty());
        // b takes a's ID: the later file has the duplicate.
        ws.update(&root.join("rules/b.yml"), Some(RULE.as_bytes().to_vec()));
        ws.recheck();
        assert_eq!(codes(&ws, b), vec!["duplicate-id"]);
        // A new file below the root joins, and is checked against the rest.
        let c = ws
            .update(&root.join("rules/c.yml"), Some(RULE.as_bytes().to_vec()))
            .unwrap();
        ws.recheck();
        assert_eq!(codes(&ws, c), vec!["duplicate-id"]);
        // Deleted files leave the set.
        ws.update(&root.join("rules/b.yml"), None);
        ws.update(&root.join("rules/c.yml"), None);
        ws.recheck();
        assert!(ws.diagnostics.is_empty(), "{:?}", ws.diagnostics);
        // Paths outside the root are not taken in.
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(
            ws.update(&outside.path().join("x.yml"), Some(RULE.as_bytes().to_vec())),
            None
        );
    }
}
