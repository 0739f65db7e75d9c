//! What `validate --fix` and `validate --diff` did (or would do) to each
//! file, in text.
//!
//! One line per fix: `PATH:LINE:COL: fixed: rename `Sevrity` to `Severity``
//! (`would fix:` under `--diff`), then `PATH: reformatted` when the layout
//! changed the file, `PATH:LINE:COL: not applied (not safe): <fix>` for a
//! fix only an author may choose, `PATH: not fixed: <fix>: <why>` for a safe fix whose
//! re-load did not prove it, `PATH: layout left as it is: <why>` when `fmt`
//! leaves the file alone, `PATH: cannot write: <error>`; under `--diff` the
//! unified diff of the file follows its lines. A last line counts it all:
//! `fixed 3 problems in 2 files` (`would fix …`).

use std::io::{self, Write};

use crate::fix::Applied;

/// One file `--fix` changed or tried to change.
#[derive(Debug, Clone, Default)]
pub struct FixedFile {
    /// Display path.
    pub file: String,
    /// The fixes applied.
    pub applied: Vec<Applied>,
    /// Whether the layout changed the file.
    pub reformatted: bool,
    /// Safe fixes left out, with why.
    pub refused: Vec<String>,
    /// Why the layout was not applied, when fixes were.
    pub layout_left: Option<String>,
    /// Fixes left for the author: not safe to apply unasked.
    pub offered: Vec<Applied>,
    /// Why the file was not written (outside the project root, a write
    /// error).
    pub not_written: Option<String>,
    /// The unified diff (`--diff`).
    pub diff: Option<String>,
}

/// Writes the lines of every file and the count; `dry` for `--diff`.
///
/// # Errors
/// Writing to `out` failed.
pub fn render(files: &[FixedFile], dry: bool, out: &mut dyn Write) -> io::Result<()> {
    let (fixed, reformatted) = if dry {
        ("would fix", "would reformat")
    } else {
        ("fixed", "reformatted")
    };
    let mut problems = 0;
    let mut changed = 0;
    let mut relaid = 0;
    for f in files {
        for a in &f.applied {
            writeln!(out, "{}:{}:{}: {fixed}: {}", f.file, a.line, a.col, a.title)?;
        }
        if f.reformatted {
            writeln!(out, "{}: {reformatted}", f.file)?;
        }
        for a in &f.offered {
            writeln!(
                out,
                "{}:{}:{}: not applied (not safe): {}",
                f.file, a.line, a.col, a.title
            )?;
        }
        for r in &f.refused {
            writeln!(out, "{}: not fixed: {r}", f.file)?;
        }
        if let (Some(why), false) = (&f.layout_left, f.applied.is_empty()) {
            writeln!(out, "{}: layout left as it is: {why}", f.file)?;
        }
        if let Some(why) = &f.not_written {
            writeln!(out, "{}: cannot write: {why}", f.file)?;
        } else {
            if !f.applied.is_empty() {
                problems += f.applied.len();
                changed += 1;
            }
            if f.reformatted {
                relaid += 1;
            }
        }
        if let Some(d) = &f.diff {
            out.write_all(d.as_bytes())?;
        }
    }
    write!(
        out,
        "{fixed} {problems} {} in {changed} {}",
        super::plural(problems, "problem", "problems"),
        super::plural(changed, "file", "files")
    )?;
    if relaid > 0 {
        write!(
            out,
            "; {reformatted} {relaid} {}",
            super::plural(relaid, "file", "files")
        )?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_each_fix_at_its_place() {
        let files = [
            FixedFile {
                file: "rules/a.yml".to_owned(),
                applied: vec![Applied {
                    line: 6,
                    col: 1,
                    title: "rename `Descriptoin` to `Description`".to_owned(),
                }],
                reformatted: true,
                ..FixedFile::default()
            },
            FixedFile {
                file: "rules/b.yml".to_owned(),
                refused: vec!["rename `X` to `Y`: the fixed text would not parse".to_owned()],
                ..FixedFile::default()
            },
        ];
        let mut out = Vec::new();
        render(&files, false, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "rules/a.yml:6:1: fixed: rename `Descriptoin` to `Description`\nrules/a.yml: reformatted\n\
             rules/b.yml: not fixed: rename `X` to `Y`: the fixed text would not parse\nfixed 1 problem in 1 file; reformatted 1 file\n"
        );
    }
}
