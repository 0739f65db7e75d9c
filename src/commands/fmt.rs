//! `detect fmt`: rewrite analysis YAML files in the canonical layout
//! (cli-and-settings §4.9, §6.3). The layout itself is [`crate::fmt`]; this
//! module finds the files, writes them and reports.
//!
//! Files are found as every command finds them (§1: search roots, folder
//! gate, `--ignore-files`); files named on the command line are taken as
//! given. Only analysis files (a top-level `AnalysisType`) that pass
//! `--filter` (on the values written in the file) are touched. A file that
//! is not valid YAML is reported with its position and left unchanged (exit
//! 1); a file `fmt` cannot rewrite safely is left unchanged with a warning
//! (exit 0). Writes are atomic: a temporary file in the same folder, given
//! the file's permissions, then renamed over it.
//!
//! Output goes through [`crate::report::command::Reporter`] (`--format`);
//! in the human format: warnings and errors on stderr, as every command
//! prints its diagnostics ([`crate::report::message`]: `path: warning[fmt-left-unchanged]:
//! left unchanged: <why>`, `path:line:col: error[yaml-syntax]: ...` with the
//! source line), then one summary line on stderr
//! (`2 files reformatted, 40 unchanged, 1 left alone`). `--check` lists
//! the files that would change on stdout (`would reformat: PATH`) and exits
//! 1 if there is any; `--diff` prints a unified diff of each on stdout.
//! Neither writes anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cli::OutputArgs;
use crate::cli::fmt::FmtArgs;
use crate::commands::context::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{self, DiscoverOptions, Found};
use crate::error::{Error, Result};
use crate::exit;
use crate::filter;
use crate::fmt::{self, Formatted};
use crate::project::MAX_FILE_BYTES;
use crate::report::command::{Reporter, Stream};
use crate::report::message;
use crate::report::reformat::{FileStatus, FmtCounts, FmtFile};
use crate::source::{FileId, SourceFile, Span};

/// What happened to one file.
#[derive(Debug)]
enum Outcome {
    /// Not an analysis file, or not selected by `--filter`.
    Skipped,
    Unchanged,
    Changed {
        old: String,
        new: String,
    },
    LeftAlone(String),
    /// Unreadable, not UTF-8 or not valid YAML: the diagnostic (about
    /// `FileId(0)`) and the text when it was read.
    Invalid(Box<(Diagnostic, Option<String>)>),
}

/// Runs `detect fmt` and returns its exit code.
///
/// # Errors
/// Failures of the run itself: bad settings or flags, a missing path, a
/// closed stdout.
pub fn run(args: &FmtArgs, out: &mut dyn Write) -> Result<u8> {
    let output = OutputArgs {
        format: args.format,
        ..OutputArgs::default()
    };
    let cx = Context::resolve(&args.project.project(), &output)?;
    let mut opts = cx.project.discover.clone();
    if let Some(files) = &cx.report_files {
        // Files named on the command line (a pre-commit hook's list) are
        // formatted as given, whatever folder they are in.
        let mut files: Vec<PathBuf> = files.iter().cloned().collect();
        files.sort();
        opts = DiscoverOptions { roots: files, ..opts };
    }
    let found = discover::discover(&opts, &cx.cwd)?;
    // The same rule as `zip`: a file whose real path (links followed) is
    // outside the project root is never written.
    let root = std::fs::canonicalize(&found.project_root).map_err(|source| Error::Read {
        path: found.project_root.clone(),
        source,
    })?;
    let outcomes: Vec<Outcome> = found
        .files
        .par_iter()
        .map(|f| match outside_root(&f.path, &root) {
            Some(why) => Outcome::LeftAlone(why),
            None => format_one(f, &cx),
        })
        .collect();

    let mut err = std::io::stderr();
    let mut rep = Reporter::new("fmt", cx.format, root.clone(), out, &mut err);
    let dry = args.check || args.diff;
    let mut code = exit::SUCCESS;
    let mut counts = FmtCounts {
        dry,
        ..FmtCounts::default()
    };
    let check = args.check;
    // Paths the walk could not use: never opened, never silently dropped.
    for p in &found.problems {
        counts.left_alone += 1;
        left_unchanged(&mut rep, &p.found.display, &p.message);
        rep.fmt_file(&file(&p.found.display, FileStatus::LeftAlone, Some(&p.message), check));
    }
    for (f, outcome) in found.files.iter().zip(outcomes) {
        match outcome {
            Outcome::Skipped => {}
            Outcome::Unchanged => {
                counts.unchanged += 1;
                rep.fmt_file(&file(&f.display, FileStatus::Unchanged, None, check));
            }
            Outcome::LeftAlone(why) => {
                counts.left_alone += 1;
                left_unchanged(&mut rep, &f.display, &why);
                rep.fmt_file(&file(&f.display, FileStatus::LeftAlone, Some(&why), check));
            }
            Outcome::Invalid(bad) => {
                counts.invalid += 1;
                code = code.max(exit::FINDINGS);
                let (d, text) = *bad;
                let source = SourceFile::new(f.path.clone(), f.display.clone(), f.rel.clone(), text);
                rep.diagnostic(&d, std::slice::from_ref(&source));
                rep.human(Stream::Err, "  = note: the file is left unchanged\n");
                rep.fmt_file(&file(&f.display, FileStatus::Invalid, None, check));
            }
            Outcome::Changed { old, new } => {
                counts.changed += 1;
                let mut status = if dry {
                    FileStatus::WouldReformat
                } else {
                    FileStatus::Reformatted
                };
                let diff = args.diff.then(|| {
                    let a = format!("a/{}", f.display);
                    let b = format!("b/{}", f.display);
                    similar::udiff::unified_diff(similar::Algorithm::Myers, &old, &new, 3, Some((&a, &b)))
                });
                if args.check {
                    code = code.max(exit::FINDINGS);
                }
                if !dry {
                    if let Err(e) = write_atomic(&f.path, &new, &root) {
                        counts.changed -= 1;
                        code = code.max(exit::USAGE);
                        rep.problem(&format!("cannot write `{}`: {e}", f.display), None);
                        status = FileStatus::WriteFailed;
                    }
                }
                rep.fmt_file(&FmtFile {
                    diff: diff.as_deref(),
                    ..file(&f.display, status, None, check)
                });
            }
        }
    }
    rep.fmt_summary(&counts);
    rep.finish().map_err(Error::Write)?;
    Ok(code)
}

/// One file's outcome without a diff.
fn file<'a>(file: &'a str, status: FileStatus, reason: Option<&'a str>, check: bool) -> FmtFile<'a> {
    FmtFile {
        file,
        status,
        reason,
        diff: None,
        check,
    }
}

/// `path: warning[fmt-left-unchanged]: left unchanged: <why>`.
fn left_unchanged(rep: &mut Reporter<'_>, path: &str, why: &str) {
    let d = Diagnostic::new(
        Code::FmtLeftUnchanged,
        FileId(0),
        Span::default(),
        format!("left unchanged: {why}"),
    );
    rep.diagnostic(&d, &[message::named(path)]);
}

/// Why a file may not be written: its real path is outside the
/// canonical project `root` (or cannot be resolved).
pub(crate) fn outside_root(path: &Path, root: &Path) -> Option<String> {
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(root) => None,
        Ok(real) => Some(format!(
            "it resolves to `{}`, outside the project root `{}`; fmt writes only inside the project",
            real.display(),
            root.display()
        )),
        Err(e) => Some(format!(
            "cannot resolve its real path: {}",
            discover::read_error_text(&e)
        )),
    }
}

fn format_one(f: &Found, cx: &Context) -> Outcome {
    match std::fs::metadata(&f.path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return Outcome::LeftAlone(format!("larger than {} MB", MAX_FILE_BYTES >> 20));
        }
        Ok(_) => {}
        Err(e) => return unreadable(&e),
    }
    let bytes = match std::fs::read(&f.path) {
        Ok(b) => b,
        Err(e) => return unreadable(&e),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        let d = Diagnostic::new(Code::YamlSyntax, FileId(0), Span::START, "the file is not UTF-8 text");
        return Outcome::Invalid(Box::new((d, None)));
    };
    let before = match fmt::analysis_document(&text) {
        Ok(Some(doc)) => doc,
        Ok(None) => return Outcome::Skipped,
        Err(e) => {
            let d = Diagnostic::new(Code::YamlSyntax, FileId(0), e.span, e.message);
            return Outcome::Invalid(Box::new((d, Some(text))));
        }
    };
    if let Some(root) = &before.root {
        if !cx.filters.is_empty() && !filter::bypasses(&f.rel) && !filter::matches_all(&cx.filters, root) {
            return Outcome::Skipped;
        }
    }
    // A bug in the layout must cost one file, not the run (the fuzz target
    // `fmt` looks for such bugs; none is known).
    let formatted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fmt::format(&text, &before)));
    match formatted {
        Ok(Formatted::Unchanged) => Outcome::Unchanged,
        Ok(Formatted::Changed(new)) => Outcome::Changed { old: text, new },
        Ok(Formatted::LeftAlone(why)) => Outcome::LeftAlone(why),
        Err(_) => Outcome::LeftAlone("internal error while formatting; please report this".to_owned()),
    }
}

fn unreadable(e: &std::io::Error) -> Outcome {
    let d = Diagnostic::new(
        Code::UnreadableFile,
        FileId(0),
        Span::START,
        format!("cannot read the file: {}", discover::read_error_text(e)),
    );
    Outcome::Invalid(Box::new((d, None)))
}

/// Replaces the file behind `path` (a symbolic link is followed, not
/// replaced) with `text`: a temporary file in the same folder with the
/// file's permissions, renamed over it. A real path outside `root` (the
/// canonical project root) is refused, checked again right before writing.
pub(crate) fn write_atomic(path: &Path, text: &str, root: &Path) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    if !target.starts_with(root) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("`{}` is outside the project root", target.display()),
        ));
    }
    let permissions = std::fs::metadata(&target)?.permissions();
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.detect-fmt-{}.tmp", std::process::id()));
    let result = write_then_rename(&tmp, &target, text, permissions);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, target: &Path, text: &str, permissions: std::fs::Permissions) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::set_permissions(tmp, permissions)?;
    std::fs::rename(tmp, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_permissions_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yml");
        std::fs::write(&p, "old\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let root = std::fs::canonicalize(dir.path()).unwrap();
        write_atomic(&p, "new\n", &root).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let elsewhere = tempfile::tempdir().unwrap();
        let elsewhere = std::fs::canonicalize(elsewhere.path()).unwrap();
        assert!(write_atomic(&p, "other\n", &elsewhere).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
    }
}
