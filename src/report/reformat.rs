//! What `detect fmt` did to each file, as data, and its rendering: the
//! human lines (`would reformat: PATH`, the diffs, the summary line), the
//! `files` and `summary` of the JSON report, a JUnit case per file that
//! `--check` finds unformatted.

use std::fmt::Write as _;

use serde_json::json;

use super::command::{Case, Reporter, Stream};

/// What happened to one analysis file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Rewritten.
    Reformatted,
    /// Would be rewritten (`--check`, `--diff`).
    WouldReformat,
    /// Already in the layout.
    Unchanged,
    /// Not rewritten, with a warning.
    LeftAlone,
    /// Not valid YAML (or unreadable), with an error.
    Invalid,
    /// The new text could not be written.
    WriteFailed,
}

impl FileStatus {
    /// The spelling in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Reformatted => "reformatted",
            FileStatus::WouldReformat => "would-reformat",
            FileStatus::Unchanged => "unchanged",
            FileStatus::LeftAlone => "left-alone",
            FileStatus::Invalid => "invalid",
            FileStatus::WriteFailed => "write-failed",
        }
    }
}

/// One file's outcome.
#[derive(Debug, Clone, Copy)]
pub struct FmtFile<'a> {
    /// Display path.
    pub file: &'a str,
    /// What happened.
    pub status: FileStatus,
    /// Why it was left alone.
    pub reason: Option<&'a str>,
    /// The unified diff (`--diff`).
    pub diff: Option<&'a str>,
    /// `--check`: a file that would change is a finding.
    pub check: bool,
}

/// The counts of the summary line.
#[derive(Debug, Clone, Copy, Default)]
pub struct FmtCounts {
    /// Files rewritten (or that would be).
    pub changed: usize,
    /// Files already in the layout.
    pub unchanged: usize,
    /// Files left alone.
    pub left_alone: usize,
    /// Files that are not valid YAML.
    pub invalid: usize,
    /// Nothing is written (`--check`, `--diff`).
    pub dry: bool,
}

impl Reporter<'_> {
    /// Reports one file; the diagnostics about it are reported apart.
    pub fn fmt_file(&mut self, f: &FmtFile<'_>) {
        if let Some(diff) = f.diff {
            self.human(Stream::Out, diff);
        }
        let would_change = matches!(f.status, FileStatus::WouldReformat | FileStatus::Reformatted);
        if f.check && would_change {
            self.human(Stream::Out, &format!("would reformat: {}\n", f.file));
        }
        if self.is_human() {
            return;
        }
        let mut record = json!({"file": f.file, "status": f.status.as_str()});
        if let Some(r) = f.reason {
            record["reason"] = json!(r);
        }
        if let Some(d) = f.diff {
            record["diff"] = json!(d);
        }
        self.push_result("files", record);
        if matches!(
            f.status,
            FileStatus::Reformatted | FileStatus::WouldReformat | FileStatus::WriteFailed
        ) {
            self.case(Case {
                suite: "files".to_owned(),
                class: "fmt".to_owned(),
                name: f.file.to_owned(),
                file: Some(f.file.to_owned()),
                failure: (f.check && would_change).then(|| "would reformat".to_owned()),
            });
        }
    }

    /// Reports the counts: the summary line, and `summary` in JSON.
    pub fn fmt_summary(&mut self, c: &FmtCounts) {
        // `summary` comes before the `files` reported so far.
        let files = self.take_result("files");
        self.result(
            "summary",
            json!({
                "reformatted": if c.dry { 0 } else { c.changed },
                "would_reformat": if c.dry { c.changed } else { 0 },
                "unchanged": c.unchanged,
                "left_alone": c.left_alone,
                "invalid": c.invalid,
            }),
        );
        if let Some(files) = files {
            self.result("files", files);
        }
        self.summary(&summary_line(c));
    }
}

/// The summary line: `2 files reformatted, 40 unchanged, 1 left alone, 1
/// invalid` (`would be reformatted` when nothing is written).
fn summary_line(c: &FmtCounts) -> String {
    let files = if c.changed == 1 { "file" } else { "files" };
    let verb = if c.dry { "would be reformatted" } else { "reformatted" };
    let mut line = format!("{} {files} {verb}, {} unchanged", c.changed, c.unchanged);
    if c.left_alone > 0 {
        let _ = write!(line, ", {} left alone", c.left_alone);
    }
    if c.invalid > 0 {
        let _ = write!(line, ", {} invalid", c.invalid);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_counts_what_happened() {
        let counts = |changed, unchanged, left_alone, invalid, dry| FmtCounts {
            changed,
            unchanged,
            left_alone,
            invalid,
            dry,
        };
        assert_eq!(
            summary_line(&counts(1, 40, 0, 0, false)),
            "1 file reformatted, 40 unchanged"
        );
        assert_eq!(
            summary_line(&counts(3, 40, 1, 2, true)),
            "3 files would be reformatted, 40 unchanged, 1 left alone, 2 invalid"
        );
    }
}
