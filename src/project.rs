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
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::discover::{self, DiscoverOptions, ProblemKind};
use crate::error::Result;
use crate::load::{self, LoadOptions};
use crate::model::Analysis;
use crate::resolve::{self, Index, Resolved};
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
    /// The resolved set of `entries` ([`Project::resolved`]).
    resolved: Resolved,
}

impl Project {
    /// Loads a project.
    ///
    /// # Errors
    /// A search root that does not exist, a bad ignore pattern.
    pub fn load(opts: &ProjectOptions, cwd: &Path) -> Result<Project> {
        let found = discover::discover(&opts.discover, cwd)?;
        let lean = matches!(opts.load.keep, load::Keep::Lean { .. });
        let loaded: Vec<_> = found
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let id = FileId(i as u32);
                let bytes = match read_file(&f.path) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        let mut loaded = load::Loaded {
                            is_analysis: true,
                            ..load::Loaded::default()
                        };
                        loaded.diagnostics.push(match e {
                            ReadError::TooLarge(_) => {
                                Diagnostic::new(Code::YamlSyntax, id, crate::source::Span::START, e.message())
                            }
                            ReadError::Failed(message) => unreadable(id, message),
                        });
                        return (
                            SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), None),
                            loaded,
                        );
                    }
                };
                let (text, loaded) = load::load_bytes(id, Some(bytes), opts.load.clone());
                let mut source = SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), text);
                // A lean load keeps the text of a file only while a
                // diagnostic may quote it; one found later (a cross-file
                // check, a failed test) reads it back ([`Project::reread_quoted`]).
                if lean && loaded.diagnostics.is_empty() {
                    source.release();
                }
                (source, loaded)
            })
            .collect();
        let mut sources = Vec::with_capacity(loaded.len());
        let mut entries = Vec::with_capacity(loaded.len() + found.problems.len());
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
        // Paths the walk could not use are reported, never dropped: a file
        // or folder that could not be read is an invalid entry.
        for p in &found.problems {
            let id = FileId(sources.len() as u32);
            let (source, diagnostic) = walk_problem(p, id);
            sources.push(source);
            diagnostics.push(diagnostic);
            if p.kind != ProblemKind::Loop {
                entries.push(Entry {
                    file: id,
                    analysis: None,
                });
            }
        }
        entries.sort_by(|a, b| {
            let rel = |e: &Entry| sources[e.file.0 as usize].rel.as_bytes();
            rel(a).cmp(rel(b))
        });
        let resolved = resolve_and_check(&sources, &entries, &mut diagnostics, Some(&found.project_root));
        Ok(Project {
            root: found.project_root,
            sources,
            entries,
            diagnostics,
            gated: found.gated,
            resolved,
        })
    }

    /// The resolved set the resolve stage built while the project loaded:
    /// items by ID, invalid files, effective values and selection. Every
    /// command reads this one set; nothing builds another.
    pub fn resolved(&self) -> Index<'_> {
        self.resolved.view(&self.entries)
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

    /// Reads back the released texts of the files the diagnostics cite, so
    /// a report quotes their lines. A command calls it once its
    /// diagnostics are final.
    pub fn reread_quoted(&mut self) {
        let cited: HashSet<FileId> = self
            .diagnostics
            .iter()
            .flat_map(|d| d.primary.iter().chain(&d.related))
            .map(|l| l.file)
            .collect();
        for id in cited {
            if let Some(source) = self.sources.get_mut(id.0 as usize) {
                source.reread(|path| read_bytes(path).ok().and_then(|b| String::from_utf8(b).ok()));
            }
        }
    }
}

/// What follows reading in [`Project::load`]: the resolve stage over the
/// entries, once per run (docs/design/008), then the cross-file checks and,
/// with the project root, the `Filename` checks, whose diagnostics join
/// `diagnostics` (sorted). Returns the resolved set, its invalid files
/// those after the checks. The fuzz target runs this without a root.
pub fn resolve_and_check(
    sources: &[SourceFile],
    entries: &[Entry],
    diagnostics: &mut Vec<Diagnostic>,
    project_root: Option<&Path>,
) -> Resolved {
    let mut resolved = resolve::stage(entries, invalid_files(diagnostics));
    let index = resolved.view(entries);
    let analyses: Vec<&Analysis> = index.analyses().collect();
    let cx = CheckCx {
        sources,
        analyses: &analyses,
        invalid: index.invalid(),
        index,
    };
    diagnostics.extend(check::run_all(&cx));
    if let Some(root) = project_root {
        diagnostics.extend(crate::bundle::filename_diagnostics(root, sources, &analyses));
    }
    sort_diagnostics(diagnostics, sources);
    resolved.checked(invalid_files(diagnostics));
    resolved
}

/// Why a detection file was not read.
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// Larger than the loader reads (its size in bytes).
    TooLarge(u64),
    /// It could not be read, or is not a regular file: the message.
    Failed(String),
}

impl ReadError {
    /// The message a diagnostic shows.
    pub fn message(&self) -> String {
        match self {
            ReadError::TooLarge(size) => format!(
                "the file is {} MB; detection files above {} MB are not read",
                size >> 20,
                MAX_FILE_BYTES >> 20
            ),
            ReadError::Failed(message) => message.clone(),
        }
    }
}

/// Reads a detection file's bytes (UTF-8 or not: the loader reports where
/// it is not), `Err` with the message when it cannot be read. See
/// [`read_file`].
pub fn read_bytes(path: &Path) -> std::result::Result<Vec<u8>, String> {
    read_file(path).map_err(|e| e.message())
}

/// Reads a detection file's bytes. The file type and size are checked
/// first (one `stat`), so a FIFO is never opened, and the read is bounded.
///
/// # Errors
/// A file above [`MAX_FILE_BYTES`], or one that cannot be read.
pub fn read_file(path: &Path) -> std::result::Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let failed =
        |e: std::io::Error| ReadError::Failed(format!("cannot read the file: {}", discover::read_error_text(&e)));
    let meta = std::fs::metadata(path).map_err(failed)?;
    if !meta.is_file() {
        return Err(ReadError::Failed(
            "not a regular file (it changed since it was found); it is not read".to_owned(),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(failed)?;
    // Sized from the metadata (one byte more to see the end without a
    // second allocation): reading into an empty vector doubles it, which
    // left up to half of every file's buffer unused for the whole run.
    let expected = usize::try_from(meta.len().min(MAX_FILE_BYTES)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(failed)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::Failed(format!(
            "the file grew above {} MB while it was read; it is not read",
            MAX_FILE_BYTES >> 20
        )));
    }
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// The source and the diagnostic of a path the walk could not use
/// (`unreadable-file`, `unreadable-folder`, `symlink-loop`), as file `id`.
pub fn walk_problem(p: &discover::Problem, id: FileId) -> (SourceFile, Diagnostic) {
    let source = SourceFile::new(p.found.path.clone(), p.found.display.clone(), p.found.rel.clone(), None);
    let code = match p.kind {
        ProblemKind::File => Code::UnreadableFile,
        ProblemKind::Folder => Code::UnreadableFolder,
        ProblemKind::Loop => Code::SymlinkLoop,
    };
    (source, problem_diagnostic(code, id, p.message.clone()))
}

/// `unreadable-file` at line 1 column 1.
fn unreadable(id: FileId, message: String) -> Diagnostic {
    problem_diagnostic(Code::UnreadableFile, id, message)
}

/// A diagnostic about a path that could not be used, at line 1 column 1.
fn problem_diagnostic(code: Code, id: FileId, message: String) -> Diagnostic {
    let help = match code {
        Code::UnreadableFolder => "give the folder read and search permission, or ignore it with `--ignore-files`",
        Code::SymlinkLoop => "remove the link, or ignore it with `--ignore-files`",
        _ => "make it a readable regular file, or remove it or ignore it with `--ignore-files`",
    };
    Diagnostic::new(code, id, crate::source::Span::START, message).with_help(help)
}

/// Files with an error that makes them invalid (every error except the test
/// outcome codes, cli-and-settings §8 item 6).
pub fn invalid_files(diags: &[Diagnostic]) -> HashSet<FileId> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_are_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.yml");
        let e = read_bytes(&gone).unwrap_err();
        assert!(e.starts_with("cannot read the file: no such file or directory"), "{e}");
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, [0xff, 0xfe, b'a']).unwrap();
        assert_eq!(
            read_bytes(&bad),
            Ok(vec![0xff, 0xfe, b'a']),
            "not UTF-8 is not a read error"
        );
        let good = dir.path().join("good.yml");
        std::fs::write(&good, "a: 1\n").unwrap();
        assert_eq!(read_bytes(&good), Ok(b"a: 1\n".to_vec()));
        assert!(read_bytes(dir.path()).unwrap_err().contains("not a regular file"));
        // A sparse file one byte above the limit is refused by its size,
        // without being read.
        let big = dir.path().join("big.yml");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        assert_eq!(read_file(&big), Err(ReadError::TooLarge(MAX_FILE_BYTES + 1)));
        assert_eq!(
            read_bytes(&big).unwrap_err(),
            "the file is 64 MB; detection files above 64 MB are not read"
        );
    }

    #[test]
    fn permission_denied_keeps_the_os_error() {
        // Root reads mode-000 files, so the mapping is checked on the OS
        // error itself.
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(discover::read_error_text(&e), "permission denied");
        #[cfg(unix)]
        {
            let e = std::io::Error::from_raw_os_error(13);
            assert_eq!(discover::read_error_text(&e), "permission denied (os error 13)");
        }
    }
}
