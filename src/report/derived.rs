//! What `detect derive` wrote, as data, and its rendering: the human
//! report on stdout (the file written or shown, the base edit with its
//! diff, the diff of the effective detection, or the note about a base on
//! the instance) and the `derived` object of the JSON report.

use std::fmt::Write as _;

use serde_json::json;

use super::command::{Reporter, Stream};
use crate::scaffold::plural;

/// The base edit of `--disable-base`.
#[derive(Debug, Clone)]
pub struct BaseEdit {
    /// The base file, as shown.
    pub file: String,
    /// The diff of the edit; `None` when the base is already disabled.
    pub diff: Option<String>,
}

/// The outcome of `derive`.
#[derive(Debug, Clone)]
pub struct Derived {
    /// `RuleID` of the new detection.
    pub id: String,
    /// Its `BaseDetection`.
    pub base: String,
    /// The file, as shown.
    pub file: String,
    /// Written (else `--dry-run`: shown).
    pub written: bool,
    /// The file's text.
    pub text: String,
    /// `--disable-base`.
    pub base_edit: Option<BaseEdit>,
    /// The diff of the effective detection, base to new; `None` for a base
    /// on the instance.
    pub effective_diff: Option<String>,
    /// A base on the instance: its Python lines and tests.
    pub remote_base: Option<(usize, usize)>,
}

impl Reporter<'_> {
    /// Reports what `derive` wrote.
    pub fn derived(&mut self, d: &Derived) {
        self.human(Stream::Out, &human(d));
        let mut v = json!({
            "id": d.id, "base": d.base, "file": d.file, "written": d.written, "text": d.text,
        });
        if let Some(e) = &d.base_edit {
            v["base_edit"] = json!({"file": e.file, "changed": e.diff.is_some(), "diff": e.diff});
        }
        if let Some(diff) = &d.effective_diff {
            v["effective_diff"] = json!(diff);
        }
        if let Some((lines, tests)) = d.remote_base {
            v["remote_base"] = json!({"python_lines": lines, "tests": tests});
        }
        self.result("derived", v);
    }
}

fn human(d: &Derived) -> String {
    let mut out = String::new();
    if d.written {
        let _ = writeln!(out, "wrote {}", d.file);
    } else {
        let _ = writeln!(out, "would write {}:\n{}", d.file, d.text);
    }
    if let Some((lines, tests)) = d.remote_base {
        let _ = writeln!(
            out,
            "base `{}` is on the Panther instance (Python, {lines} line{}, {tests} test{}): \
             only its Python body and tests are known, so there is no effective detection to diff",
            d.base,
            plural(lines),
            plural(tests)
        );
    }
    if let Some(e) = &d.base_edit {
        match &e.diff {
            None => {
                let _ = writeln!(out, "`{}` is already disabled in {}", d.base, e.file);
            }
            Some(diff) => {
                let verb = if d.written { "set" } else { "would set" };
                let _ = writeln!(out, "{verb} `Enabled: false` in {}", e.file);
                out.push_str(diff);
            }
        }
    }
    if let Some(diff) = &d.effective_diff {
        out.push('\n');
        out.push_str(diff);
    }
    out
}
