//! `detect validate --fix` and `--diff`: apply the safe fixes of every
//! reported analysis file and the `fmt` layout ([`crate::fix`]), then
//! validate what is left.
//!
//! The files are those `validate` reports (files named on the command
//! line, `--filter`, `--changed-since`). A file is written only when its
//! fixed text passed the re-load proof of [`crate::fix`], with the write
//! guards of `fmt` (never outside the project root, atomic rename, the
//! file's permissions kept). `--diff` writes nothing and returns the
//! unified diff of each file instead.

use rayon::prelude::*;

use crate::commands::context::Context;
use crate::commands::fmt::{outside_root, write_atomic};
use crate::error::{Error, Result};
use crate::fix;
use crate::report::fixed::FixedFile;

/// Fixes the reported files (`dry`: only computes their diffs) and
/// returns what happened to each file that changed or had a fix refused.
///
/// # Errors
/// Failures of the run itself (missing path, bad ignore pattern).
pub fn run(cx: &mut Context, dry: bool) -> Result<Vec<FixedFile>> {
    let project = cx.load()?;
    let root_abs = crate::discover::absolute(&project.root, &cx.cwd);
    let root = std::fs::canonicalize(&root_abs).map_err(|source| Error::Read {
        path: root_abs.clone(),
        source,
    })?;
    let index = project.resolved();
    let files: Vec<_> = project
        .entries
        .iter()
        .filter(|e| {
            let src = project.source(e.file);
            cx.is_reported(&src.path)
                && src.text.is_some()
                && e.analysis.as_ref().is_none_or(|a| cx.selects(a, &src.rel, &index))
        })
        .map(|e| project.source(e.file))
        .collect();
    let opts = cx.project.load.clone();
    let mut out: Vec<FixedFile> = files
        .par_iter()
        .filter_map(|src| {
            let text = src.text.as_deref()?;
            let result = fix::fix_file(text, &opts);
            if !result.changed(text) && result.refused.is_empty() && result.offered.is_empty() {
                return None;
            }
            let mut f = FixedFile {
                file: src.display.clone(),
                applied: result.applied.clone(),
                reformatted: result.reformatted,
                refused: result.refused.clone(),
                layout_left: result.layout_left.clone(),
                offered: result.offered.clone(),
                not_written: None,
                diff: None,
            };
            if !result.changed(text) {
                return Some(f);
            }
            if dry {
                let a = format!("a/{}", src.display);
                let b = format!("b/{}", src.display);
                f.diff = Some(
                    similar::udiff::unified_diff(similar::Algorithm::Myers, text, &result.text, 3, Some((&a, &b)))
                        .to_string(),
                );
            } else if let Some(why) = outside_root(&src.path, &root) {
                f.not_written = Some(why);
            } else if let Err(e) = write_atomic(&src.path, &result.text, &root) {
                f.not_written = Some(e.to_string());
            }
            Some(f)
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}
