//! A loaded project: discovery, loading (in parallel) and cross-file checks.
//!
//! This is the shared front half of every command: walk the paths, read and
//! load each file on its own thread, then run the cross-file checks of
//! [`crate::check`] over the whole set. The result keeps every diagnostic
//! and the per-file validity that decides item states.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::check::{self, CheckCx};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, DiscoverOptions};
use crate::error::Result;
use crate::load::{self, LoadOptions};
use crate::model::Analysis;
use crate::source::{FileId, SourceFile};

/// Largest file read; a bigger one is reported instead of loaded, so memory
/// stays bounded whatever a repository holds.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Options for loading a project.
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// What to walk.
    pub discover: DiscoverOptions,
    /// How to read files.
    pub load: LoadOptions,
}

/// One analysis file of the run (or an unreadable file).
#[derive(Debug)]
pub struct Entry {
    /// The file.
    pub file: FileId,
    /// The typed item, if the file got that far.
    pub analysis: Option<Analysis>,
}

/// Everything loaded.
#[derive(Debug)]
pub struct Project {
    /// The project root (cli-and-settings §1.6).
    pub root: PathBuf,
    /// Every file read, indexed by [`FileId`].
    pub sources: Vec<SourceFile>,
    /// Analysis files in the order of §1.6.
    pub entries: Vec<Entry>,
    /// Every diagnostic, sorted by (path, line, column, code).
    pub diagnostics: Vec<Diagnostic>,
    /// Files the folder-name gate skipped that mention `AnalysisType`.
    pub gated: Vec<String>,
}

impl Project {
    /// Loads a project.
    ///
    /// # Errors
    /// A search root that does not exist, a bad ignore pattern.
    pub fn load(opts: &ProjectOptions, cwd: &Path) -> Result<Project> {
        let found = discover::discover(&opts.discover, cwd)?;
        let loaded: Vec<_> = found
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let id = FileId(i as u32);
                let size = std::fs::metadata(&f.path).map_or(0, |m| m.len());
                if size > MAX_FILE_BYTES {
                    let mut loaded = load::Loaded {
                        is_analysis: true,
                        ..load::Loaded::default()
                    };
                    loaded.diagnostics.push(Diagnostic::new(
                        crate::diagnostic::Code::YamlSyntax,
                        id,
                        crate::source::Span::START,
                        format!(
                            "the file is {} MB; detection files above {} MB are not read",
                            size >> 20,
                            MAX_FILE_BYTES >> 20
                        ),
                    ));
                    return (
                        SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), None),
                        loaded,
                    );
                }
                let (text, loaded) = load::load_bytes(id, std::fs::read(&f.path).ok(), opts.load.clone());
                (
                    SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), text),
                    loaded,
                )
            })
            .collect();
        let mut sources = Vec::with_capacity(loaded.len());
        let mut entries = Vec::new();
        let mut diagnostics = Vec::new();
        for (i, (source, l)) in loaded.into_iter().enumerate() {
            sources.push(source);
            diagnostics.extend(l.diagnostics);
            if l.is_analysis {
                entries.push(Entry {
                    file: FileId(i as u32),
                    analysis: l.analysis,
                });
            }
        }
        let invalid: HashSet<FileId> = invalid_files(&diagnostics);
        let analyses: Vec<&Analysis> = entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
        let cx = CheckCx {
            sources: &sources,
            analyses: &analyses,
            invalid: &invalid,
        };
        diagnostics.extend(check::run_all(&cx));
        sort_diagnostics(&mut diagnostics, &sources);
        Ok(Project {
            root: found.project_root,
            sources,
            entries,
            diagnostics,
            gated: found.gated,
        })
    }

    /// Files with at least one error diagnostic that makes them invalid.
    pub fn invalid_files(&self) -> HashSet<FileId> {
        invalid_files(&self.diagnostics)
    }

    /// The `--verbose` note about analysis files the folder-name gate left
    /// out (cli-and-settings §1.6), if any.
    pub fn gated_note(&self) -> Option<String> {
        (!self.gated.is_empty()).then(|| {
            format!(
                "{} analysis files outside recognised folders were not read: {}",
                self.gated.len(),
                self.gated.join(", ")
            )
        })
    }

    /// The source of a file.
    pub fn source(&self, id: FileId) -> &SourceFile {
        &self.sources[id.0 as usize]
    }
}

/// Files with an error that makes them invalid (every error except the test
/// outcome codes, cli-and-settings §8 item 6).
pub fn invalid_files(diags: &[Diagnostic]) -> HashSet<FileId> {
    use crate::diagnostic::Code;
    diags
        .iter()
        .filter(|d| d.severity() == Severity::Error && !matches!(d.code, Code::TestFailed | Code::InsufficientTests))
        .filter_map(Diagnostic::file)
        .collect()
}

/// Sorts by (path, line, column, code) so output never depends on threads.
pub fn sort_diagnostics(diags: &mut [Diagnostic], sources: &[SourceFile]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            let (rel, pos) = match &d.primary {
                Some(l) => (sources.get(l.file.0 as usize).map(|s| s.rel.as_str()), l.span.start),
                None => (None, Default::default()),
            };
            (rel.map(str::as_bytes), pos, d.code)
        };
        key(a).cmp(&key(b))
    });
}
