//! Discovery: which files are read (cli-and-settings §1).
//!
//! Walks every search root top-down, prunes hidden folders, `__pycache__`,
//! `node_modules` and `target`, keeps `*.y*ml` files, applies PAT's
//! folder-name gate when a root is `.` or a project root (unless
//! `--all-dirs`), drops ignored files, de-duplicates by absolute path and
//! sorts by the path relative to the project root (§1.6).

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Markers of a project root (§1.6).
pub const ROOT_MARKERS: &[&str] = &[".panther_settings.yml", ".pat-root", ".git"];

/// Folders never entered besides hidden ones: Python caches and the build
/// output of common toolchains.
const PRUNED: &[&str] = &["__pycache__", "node_modules", "target"];

/// What to walk.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Search roots as given (default `.`).
    pub roots: Vec<PathBuf>,
    /// `--all-dirs`.
    pub all_dirs: bool,
    /// `--ignore-files` and `ignore_files` entries.
    pub ignore: Vec<String>,
}

/// A file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path to open.
    pub path: PathBuf,
    /// `/`-separated path relative to the project root.
    pub rel: String,
    /// Path for reports.
    pub display: String,
}

/// What went wrong with a path the walk could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A `*.y*ml` entry that cannot be read: a dangling link, a FIFO,
    /// socket or device, or a read error.
    File,
    /// A folder that cannot be listed.
    Folder,
    /// A link back to a folder the walk is already in (nothing is lost:
    /// the folder is walked once).
    Loop,
}

/// A path the walk found but could not use (never dropped silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or folder found.
    pub found: Found,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// One plain line, with the OS error where there is one.
    pub message: String,
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to read, sorted by `rel`.
    pub files: Vec<Found>,
    /// Paths that could not be walked or read, sorted by `rel`.
    pub problems: Vec<Problem>,
    /// Files the folder-name gate left out that mention `AnalysisType`.
    pub gated: Vec<String>,
    /// The project root.
    pub project_root: PathBuf,
}

/// The nearest directory at or above `start` holding a root marker, else
/// the current directory.
pub fn project_root(start: &Path, cwd: &Path) -> PathBuf {
    let abs = absolute(start, cwd);
    let mut dir: Option<&Path> = Some(abs.as_path());
    if abs.is_file() {
        dir = abs.parent();
    }
    while let Some(d) = dir {
        if is_project_root(d) {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    cwd.to_path_buf()
}

fn is_project_root(d: &Path) -> bool {
    ROOT_MARKERS.iter().any(|m| d.join(m).exists())
}

/// `path` made absolute against `cwd`, with `.` and `..` folded.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `/`-separated `path` relative to `base`, or `None` when not below it.
pub fn relative(path: &Path, base: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    // Discovery asks this three times per file: a path that is already
    // `/`-separated components, none `.` or empty, is its own answer.
    if let Some(s) = rel.to_str().filter(|s| cfg!(unix) && is_plain_relative(s)) {
        return Some(s.to_owned());
    }
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Whether `s` reads the same as its components joined by `/`: no empty
/// or `.` component (no leading, trailing or doubled `/`).
fn is_plain_relative(s: &str) -> bool {
    !s.is_empty() && s.split('/').all(|c| !c.is_empty() && c != ".")
}

/// Whether a file name matches PAT's `*.y*ml`.
pub fn is_yaml_name(name: &str) -> bool {
    name.match_indices(".y").any(|(i, _)| name[i + 2..].ends_with("ml"))
}

/// PAT's folder-name gate (§1.3) on `./`-prefixed walk paths.
fn gate_admits(walk_path: &str) -> bool {
    [
        "rules",
        "policies",
        "queries",
        "data_models",
        "lookup_tables",
        "scheduled_prompts",
    ]
    .iter()
    .any(|p| walk_path.contains(p))
        || walk_path.ends_with("/global_helpers")
        || walk_path.ends_with("/packs")
}

/// Whether the gate admits the folder of `path` (a walk path below
/// `abs_root`).
fn parent_admitted(path: &Path, abs_root: &Path) -> bool {
    let parent = path.parent().and_then(|p| relative(p, abs_root)).unwrap_or_default();
    gate_admits(&format!("./{parent}"))
}

/// [`parent_admitted`] of the folder last asked about: a walk meets the
/// files of a folder one after another.
#[derive(Default)]
struct GateCache {
    last: Option<(PathBuf, bool)>,
}

impl GateCache {
    fn admits(&mut self, path: &Path, abs_root: &Path) -> bool {
        let parent = path.parent().unwrap_or(path);
        if let Some((dir, admitted)) = &self.last {
            if dir == parent {
                return *admitted;
            }
        }
        let admitted = parent_admitted(path, abs_root);
        self.last = Some((parent.to_path_buf(), admitted));
        admitted
    }
}

struct Ignore {
    exact: Vec<PathBuf>,
    globs: GlobSet,
    dirs: Vec<PathBuf>,
}

impl Ignore {
    fn new(entries: &[String], cwd: &Path, root: &Path) -> Result<Ignore> {
        let mut exact = Vec::new();
        let mut dirs = Vec::new();
        let mut b = GlobSetBuilder::new();
        for e in entries {
            let p = absolute(Path::new(e), cwd);
            if p.is_dir() || e.ends_with('/') {
                dirs.push(p);
                dirs.push(absolute(Path::new(e), root));
            } else {
                exact.push(p);
            }
            let pat = e.trim_start_matches("./");
            let pat = if let Some(d) = pat.strip_suffix('/') {
                format!("{d}/**")
            } else {
                pat.to_owned()
            };
            let pat = if pat.contains('/') { pat } else { format!("**/{pat}") };
            let glob = Glob::new(&pat).map_err(|err| Error::Usage(format!("bad ignore pattern `{e}`: {err}")))?;
            b.add(glob);
        }
        let globs = b
            .build()
            .map_err(|err| Error::Usage(format!("bad ignore patterns: {err}")))?;
        Ok(Ignore { exact, globs, dirs })
    }

    fn is_ignored(&self, abs: &Path, rel: &str) -> bool {
        self.exact.iter().any(|e| e == abs) || self.dirs.iter().any(|d| abs.starts_with(d)) || self.globs.is_match(rel)
    }
}

/// Walks the roots.
///
/// # Errors
/// A root that does not exist, or a bad ignore pattern.
pub fn discover(opts: &DiscoverOptions, cwd: &Path) -> Result<Discovered> {
    let roots: Vec<PathBuf> = if opts.roots.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.roots.clone()
    };
    let project_root = project_root(&roots[0], cwd);
    let ignore = Ignore::new(&opts.ignore, cwd, &project_root)?;
    let mut out = Discovered {
        project_root: project_root.clone(),
        ..Discovered::default()
    };
    let mut seen = std::collections::HashSet::new();
    let shown_as_rel = project_root.as_path() == cwd;
    let mut gate = GateCache::default();
    for root in &roots {
        let abs_root = absolute(root, cwd);
        if !abs_root.exists() {
            return Err(Error::Read {
                path: root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            });
        }
        let literal_dot = matches!(root.to_str(), Some("." | "./"));
        let gated = !opts.all_dirs && abs_root.is_dir() && (literal_dot || is_project_root(&abs_root));
        let walker = walkdir::WalkDir::new(&abs_root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        let walker = walker.filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !(name.starts_with('.') || (e.file_type().is_dir() && PRUNED.contains(&name.as_ref())))
        });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    if let Some((abs, kind, message)) = walk_problem(&e) {
                        let gated_out =
                            kind == ProblemKind::File && gated && e.depth() > 1 && !parent_admitted(&abs, &abs_root);
                        let rel =
                            relative(&abs, &project_root).unwrap_or_else(|| abs.to_string_lossy().replace('\\', "/"));
                        if !gated_out && !ignore.is_ignored(&abs, &rel) && seen.insert(abs.clone()) {
                            out.problems.push(Problem {
                                found: Found {
                                    display: display_path(&abs, cwd),
                                    path: abs,
                                    rel,
                                },
                                kind,
                                message,
                            });
                        }
                    }
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy();
            if !entry.file_type().is_file() {
                // A FIFO or device named like a detection file is reported,
                // never opened (reading a FIFO would wait for a writer).
                let gated_out = gated && entry.depth() > 1 && !parent_admitted(entry.path(), &abs_root);
                if !entry.file_type().is_dir() && is_yaml_name(&name) && !gated_out {
                    let abs = entry.path().to_path_buf();
                    let rel = relative(&abs, &project_root).unwrap_or_else(|| abs.to_string_lossy().replace('\\', "/"));
                    if !ignore.is_ignored(&abs, &rel) && seen.insert(abs.clone()) {
                        out.problems.push(Problem {
                            found: Found {
                                display: display_path(&abs, cwd),
                                path: abs,
                                rel,
                            },
                            kind: ProblemKind::File,
                            message: format!(
                                "{}, not a regular file; it is not read",
                                special_kind(&entry.file_type())
                            ),
                        });
                    }
                }
                continue;
            }
            if !is_yaml_name(&name) || (name == "dependabot.yml" && entry.depth() <= 2) {
                continue;
            }
            let abs = entry.path().to_path_buf();
            let rel = relative(&abs, &project_root).unwrap_or_else(|| abs.to_string_lossy().replace('\\', "/"));
            if gated && entry.depth() > 1 && !gate.admits(entry.path(), &abs_root) {
                if std::fs::read_to_string(&abs).is_ok_and(|t| t.contains("AnalysisType")) {
                    out.gated.push(rel);
                }
                continue;
            }
            if ignore.is_ignored(&abs, &rel) || !seen.insert(abs.clone()) {
                continue;
            }
            // Below the working directory at the project root (the usual
            // case), the path shown is the project path.
            let display = if shown_as_rel {
                rel.clone()
            } else {
                display_path(&abs, cwd)
            };
            out.files.push(Found {
                path: abs,
                rel,
                display,
            });
        }
    }
    out.files.sort_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));
    out.problems
        .sort_by(|a, b| a.found.rel.as_bytes().cmp(b.found.rel.as_bytes()));
    out.gated.sort();
    Ok(out)
}

/// What a file that is neither a regular file nor a folder is.
fn special_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = t;
    "a special file"
}

/// The problem a walk error stands for, if the path matters: the path,
/// the kind and the message. Hidden names and, for files, names that are
/// not `*.y*ml` do not matter (the walk would have skipped them).
fn walk_problem(e: &walkdir::Error) -> Option<(PathBuf, ProblemKind, String)> {
    let path = e.path()?.to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if e.depth() > 0 && (name.starts_with('.') || PRUNED.contains(&name.as_str())) {
        return None;
    }
    if let Some(ancestor) = e.loop_ancestor() {
        return Some((
            path,
            ProblemKind::Loop,
            format!(
                "a symbolic link back to `{}`, which is already walked; it is not followed",
                ancestor.display()
            ),
        ));
    }
    let io = e.io_error();
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let dangling = is_link && std::fs::metadata(&path).is_err();
    if dangling {
        return is_yaml_name(&name).then(|| {
            let target = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            (
                path,
                ProblemKind::File,
                format!("a symbolic link to `{target}`, which does not exist; it is not read"),
            )
        });
    }
    let os = io.map_or_else(|| e.to_string(), read_error_text);
    if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
        return Some((path, ProblemKind::Folder, format!("cannot read the folder: {os}")));
    }
    is_yaml_name(&name).then(|| (path, ProblemKind::File, format!("cannot read the file: {os}")))
}

/// An OS error as reports show it (`permission denied (os error 13)`).
pub fn read_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    }
}

/// The path as reports show it: relative to `cwd` when below it.
pub fn display_path(abs: &Path, cwd: &Path) -> String {
    relative(abs, cwd).unwrap_or_else(|| abs.to_string_lossy().replace('\\', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_their_components_joined() {
        let slow = |p: &Path, b: &Path| {
            let rel = p.strip_prefix(b).ok()?;
            Some(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        };
        let base = Path::new("/repo");
        for p in [
            "/repo/rules/a.yml",
            "/repo",
            "/repo/",
            "/repo/rules//a.yml",
            "/repo/./rules/a.yml",
            "/repo/rules/./a.yml",
            "/repo/rules/",
            "/repo/rules/.",
            "/repo/../x.yml",
            "/repo/.hidden/a.yml",
            "/repo/a b/é.yml",
            "/other/a.yml",
        ] {
            let p = Path::new(p);
            assert_eq!(relative(p, base), slow(p, base), "{}", p.display());
        }
    }

    #[test]
    fn yaml_names() {
        assert!(is_yaml_name("a.yml"));
        assert!(is_yaml_name("a.yaml"));
        assert!(!is_yaml_name("a.json"));
        assert!(!is_yaml_name("yml"));
    }

    #[test]
    fn gate_patterns() {
        assert!(gate_admits("./rules/aws"));
        assert!(gate_admits("./detections/rules/okta"));
        assert!(gate_admits("./global_helpers"));
        assert!(!gate_admits("./global_helpers/aws"));
        assert!(!gate_admits("./templates"));
        assert!(gate_admits("./packs"));
        assert!(gate_admits("./correlation_rules"));
    }

    #[test]
    fn walks_gates_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for (p, t) in [
            ("rules/b.yml", "AnalysisType: rule"),
            ("rules/a.yaml", "AnalysisType: rule"),
            ("templates/t.yml", "AnalysisType: rule"),
            ("top.yml", "x: 1"),
            (".hidden/h.yml", "AnalysisType: rule"),
            ("rules/__pycache__/c.yml", "AnalysisType: rule"),
            ("rules/notes.txt", ""),
        ] {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        }
        let opts = DiscoverOptions {
            roots: vec![root.to_path_buf()],
            ..Default::default()
        };
        let d = discover(&opts, root).unwrap();
        let rels: Vec<_> = d.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["rules/a.yaml", "rules/b.yml", "top.yml"]);
        assert_eq!(d.gated, ["templates/t.yml"]);
        let opts = DiscoverOptions {
            roots: vec![root.to_path_buf()],
            all_dirs: true,
            ..Default::default()
        };
        assert_eq!(discover(&opts, root).unwrap().files.len(), 4);
        let opts = DiscoverOptions {
            roots: vec![root.to_path_buf()],
            ignore: vec!["rules/b.yml".into(), "**/top.yml".into()],
            ..Default::default()
        };
        let d = discover(&opts, root).unwrap();
        assert_eq!(d.files.len(), 1);
    }
}
