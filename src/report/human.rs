//! Human output: rustc/ruff-style diagnostics with the source line and a
//! caret, PAT-style test blocks (`[PASS]`/`[FAIL]` and the alert function
//! lines), the lists of skipped, failed and invalid items, and the summary
//! line `Passed: N  Failed: N  Invalid: N  Skipped: N  (total N, <ms> ms)`
//! (`test` also counts unit tests there). Skipped items are counted per
//! reason unless `--verbose`; `--quiet` prints errors one line each.

use std::io::{self, Write};

use crate::diagnostic::{Diagnostic, Severity};
use crate::text::escape_control as esc;

use super::{ItemReport, RunReport, Status, Style};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("1;33", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn blue(&self, s: &str) -> String {
        self.wrap("1;34", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

pub(super) fn render(report: &RunReport<'_>, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: style.color };
    if !style.quiet {
        tests(report, style, &p, out)?;
    }
    for d in &report.diagnostics {
        if style.quiet && d.severity() != Severity::Error {
            continue;
        }
        diagnostic(report, d, &p, !style.quiet, out)?;
    }
    if style.verbose {
        for n in &report.notes {
            writeln!(out, "note: {}", esc(n))?;
        }
    }
    lists(report, style, &p, out)?;
    if let Some(problem) = &report.problem {
        writeln!(out, "{}: {}", p.red("error"), esc(problem))?;
    }
    let s = report.summary();
    let line = super::summary_line(report);
    let line = if s.failed + s.invalid > 0 {
        p.red(&line)
    } else {
        p.bold(&line)
    };
    writeln!(out, "{line}")
}

/// One diagnostic; `excerpt` adds the source line and caret (not under
/// `--quiet`, which prints one line per error and its help).
fn diagnostic(
    report: &RunReport<'_>,
    d: &Diagnostic,
    p: &Paint,
    excerpt_on: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let sev = match d.severity() {
        Severity::Error => p.red("error"),
        Severity::Warning => p.yellow("warning"),
        Severity::Info => p.blue("info"),
    };
    let head = format!("{sev}[{}]: {}", d.code.name(), esc(&d.message));
    match &d.primary {
        Some(l) => {
            let src = report.sources.get(l.file.0 as usize);
            let path = esc(src.map_or("?", |s| s.display.as_str()));
            writeln!(out, "{path}:{}:{}: {head}", l.span.start.line, l.span.start.col)?;
            if let Some(text) = src.and_then(|s| s.line(l.span.start.line)).filter(|_| excerpt_on) {
                let num = l.span.start.line.to_string();
                let pad = " ".repeat(num.len());
                let col = l.span.start.col.max(1) as usize;
                let width = if l.span.end.line == l.span.start.line && l.span.end.col > l.span.start.col {
                    (l.span.end.col - l.span.start.col) as usize
                } else {
                    1
                };
                let (shown, at, width) = excerpt(text, col, width);
                let shown = esc(&shown);
                writeln!(out, "{pad} {}", p.blue("|"))?;
                writeln!(out, "{num} {} {shown}", p.blue("|"))?;
                let caret = format!("{}{}", " ".repeat(at), "^".repeat(width));
                let caret = if d.severity() == Severity::Error {
                    p.red(&caret)
                } else {
                    p.yellow(&caret)
                };
                writeln!(out, "{pad} {} {caret}", p.blue("|"))?;
            }
        }
        None => writeln!(out, "{head}")?,
    }
    for r in d.related.iter().filter(|_| excerpt_on) {
        let path = esc(report
            .sources
            .get(r.file.0 as usize)
            .map_or("?", |s| s.display.as_str()));
        let text = esc(r.text.as_deref().unwrap_or("related"));
        writeln!(
            out,
            "  = note: {text}: {path}:{}:{}",
            r.span.start.line, r.span.start.col
        )?;
    }
    if let Some(h) = &d.help {
        writeln!(out, "  = help: {}", esc(h))?;
    }
    Ok(())
}

/// Characters of a source line shown under a diagnostic.
const EXCERPT: usize = 200;
/// Characters kept before the column when the line is cut on the left.
const LEAD: usize = 60;

/// The part of a source line shown under a diagnostic, at most [`EXCERPT`]
/// characters around the 1-based column `col` (`…` marks a cut), with the
/// caret's offset and width inside it: the caret line is never longer than
/// the excerpt, however long the source line.
fn excerpt(text: &str, col: usize, width: usize) -> (String, usize, usize) {
    let col0 = col.saturating_sub(1);
    let start = if col0 < EXCERPT - LEAD { 0 } else { col0 - LEAD };
    let mut chars = text.chars().skip(start);
    let mut shown: String = chars.by_ref().take(EXCERPT).collect();
    let cut_right = chars.next().is_some();
    let mut at = col0 - start;
    let len = shown.chars().count();
    if start > 0 {
        shown.insert(0, '…');
        at += 1;
    }
    let width = width.min(len.saturating_sub(col0 - start).max(1));
    if cut_right {
        shown.push('…');
    }
    // A column past the end of the line (a missing value at the end): the
    // caret sits just after the last character shown.
    let at = at.min(shown.chars().count());
    (shown, at, width)
}

fn tests(report: &RunReport<'_>, style: Style, p: &Paint, out: &mut dyn Write) -> io::Result<()> {
    // Tests of skipped items are listed with `--verbose` only: on a
    // repository of Python rules they are thousands of `[SKIP]` lines.
    let mut items: Vec<&ItemReport> = report
        .items
        .iter()
        .filter(|i| !i.tests.is_empty() && (style.verbose || i.status != Status::Skipped))
        .collect();
    if style.sort {
        let failing = |i: &ItemReport| i.tests.iter().any(|t| t.status == Status::Failed);
        items.sort_by(|a, b| (failing(a), &a.id).cmp(&(failing(b), &b.id)));
    }
    for item in items {
        let shown: Vec<_> = item
            .tests
            .iter()
            .filter(|t| !style.failures_only || t.status == Status::Failed)
            .collect();
        if shown.is_empty() {
            continue;
        }
        writeln!(out, "{}", p.bold(&esc(item.id.as_deref().unwrap_or(&item.file))))?;
        for t in shown {
            let tag = match t.status {
                Status::Passed => p.green("[PASS]"),
                Status::Failed => p.red("[FAIL]"),
                _ => p.yellow("[SKIP]"),
            };
            let inherited = t
                .inherited_from
                .as_ref()
                .map(|b| format!(" (inherited from {})", esc(b)))
                .unwrap_or_default();
            writeln!(out, "\t{tag} {}{inherited}", esc(&t.name))?;
            if let Some(e) = &t.error {
                writeln!(out, "\t\t{} [rule] {}", p.red("[FAIL]"), esc(e))?;
            } else if let Some(m) = t.matched {
                let rtag = if t.status == Status::Failed {
                    p.red("[FAIL]")
                } else {
                    p.green("[PASS]")
                };
                writeln!(out, "\t\t{rtag} [rule] {m}")?;
            }
            for f in &t.functions {
                let v = match &f.output {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                writeln!(out, "\t\t{} [{}] {}", p.green("[PASS]"), f.name, esc(&v))?;
            }
            for line in &t.explain {
                writeln!(out, "\t\t  {}", esc(line))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The lists of skipped (counted per reason; names with `--verbose`),
/// failed and invalid items.
fn lists(report: &RunReport<'_>, style: Style, p: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let name = |i: &ItemReport| esc(i.id.as_deref().unwrap_or(&i.file)).into_owned();
    let skipped: Vec<_> = report.items.iter().filter(|i| i.status == Status::Skipped).collect();
    if !skipped.is_empty() && style.verbose {
        writeln!(out, "{}", p.bold("Skipped:"))?;
        for i in &skipped {
            writeln!(
                out,
                "  {} ({}): skipped: {}",
                name(i),
                esc(&i.file),
                esc(i.reason.as_deref().unwrap_or(""))
            )?;
        }
    }
    if !skipped.is_empty() && !style.verbose && !style.failures_only {
        let reasons: Vec<String> = report
            .skip_reasons()
            .iter()
            .map(|(r, n)| format!("{n} {}", esc(r)))
            .collect();
        writeln!(
            out,
            "{} {} {} ({}; -v lists them)",
            p.bold("Skipped:"),
            skipped.len(),
            super::plural(skipped.len(), "item", "items"),
            reasons.join(", "),
        )?;
    }
    let failed: Vec<_> = report.items.iter().filter(|i| i.status == Status::Failed).collect();
    if !failed.is_empty() {
        writeln!(out, "{}", p.red("Failed:"))?;
        for i in failed {
            let tests: Vec<_> = i
                .tests
                .iter()
                .filter(|t| t.status == Status::Failed)
                .map(|t| esc(&t.name))
                .collect();
            let why = match (&i.reason, tests.is_empty()) {
                (Some(r), _) => format!("strict: {}", esc(r)),
                (None, false) => tests.join(", "),
                (None, true) => "see the diagnostics above".to_owned(),
            };
            writeln!(out, "  {} ({}): {why}", name(i), esc(&i.file))?;
        }
    }
    let invalid: Vec<_> = report.items.iter().filter(|i| i.status == Status::Invalid).collect();
    if !invalid.is_empty() {
        writeln!(out, "{}", p.red("Invalid:"))?;
        for i in invalid {
            writeln!(out, "  {}", esc(&i.file))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpt_keeps_short_lines_whole() {
        assert_eq!(excerpt("Key: value", 6, 5), ("Key: value".to_owned(), 5, 5));
    }

    #[test]
    fn excerpt_cuts_long_lines_around_the_column() {
        let line = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let (shown, at, width) = excerpt(&line, 1001, 1);
        // 60 characters before the column, the column, then up to 200 in all.
        assert_eq!(shown.chars().count(), 1 + 200 + 1);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(shown.chars().nth(at), Some('X'));
        assert_eq!((at, width), (61, 1));
        // A span running past the cut is shortened to the excerpt.
        let (_, at, width) = excerpt(&line, 1001, 5000);
        assert_eq!(at + width, 201);
    }

    #[test]
    fn excerpt_clamps_a_column_past_the_end() {
        let (shown, at, _) = excerpt("abc", 500, 1);
        assert!(at <= shown.chars().count());
    }
}
