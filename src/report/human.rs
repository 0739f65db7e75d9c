//! Human output: rustc/ruff-style diagnostics with the source line and a
//! caret, PAT-style test blocks (`[PASS]`/`[FAIL]` and the alert function
//! lines), the lists of skipped, failed and invalid items, and the summary
//! line `Passed: N  Failed: N  Invalid: N  Skipped: N  (total N, <ms> ms)`
//! (`test` also counts unit tests there). Skipped items are counted per
//! reason unless `--verbose`; `--quiet` prints errors one line each. With
//! `--changed-since`, `--verbose` lists why each item was selected.

use std::io::{self, Write};

use crate::diagnostic::Severity;
use crate::text::escape_control as esc;

use super::message::Paint;
use super::{FunctionReport, ItemReport, RunReport, Status, Style};

pub(super) fn render(report: &RunReport<'_>, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: style.color };
    if !style.quiet {
        tests(report, style, p, out)?;
    }
    for d in &report.diagnostics {
        if style.quiet && d.severity() != Severity::Error {
            continue;
        }
        super::message::write(out, d, report.sources, &p, !style.quiet)?;
    }
    if style.verbose {
        for n in &report.notes {
            writeln!(out, "note: {}", esc(n))?;
        }
    }
    if let Some(n) = style.slowest {
        slowest(report, n, p, out)?;
    }
    lists(report, style, p, out)?;
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

fn tests(report: &RunReport<'_>, style: Style, p: Paint, out: &mut dyn Write) -> io::Result<()> {
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
            } else if let Some(m) = t
                .matched
                .filter(|_| !t.functions.first().is_some_and(FunctionReport::is_matcher))
            {
                let rtag = if t.status == Status::Failed {
                    p.red("[FAIL]")
                } else {
                    p.green("[PASS]")
                };
                writeln!(out, "\t\t{rtag} [rule] {m}")?;
            }
            if let Some(printed) = t.stdout.as_ref().filter(|_| t.status == Status::Failed) {
                writeln!(out, "\t\t{}", p.yellow("printed:"))?;
                for line in printed.lines() {
                    writeln!(out, "\t\t  {}", esc(line))?;
                }
            }
            for f in &t.functions {
                let v = match (&f.error, &f.output) {
                    (Some(e), _) => e.clone(),
                    (None, o) => o.shown().to_owned(),
                };
                let tag = if f.passed { p.green("[PASS]") } else { p.red("[FAIL]") };
                writeln!(out, "\t\t{tag} [{}] {}", f.name, esc(&v))?;
            }
            for line in &t.explain {
                writeln!(out, "\t\t  {}", esc(line))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `--slowest N`: the N slowest timed tests, slowest first.
fn slowest(report: &RunReport<'_>, n: usize, p: Paint, out: &mut dyn Write) -> io::Result<()> {
    let mut timed: Vec<(std::time::Duration, &str, &str)> = report
        .items
        .iter()
        .flat_map(|i| {
            let id = i.id.as_deref().unwrap_or(&i.file);
            i.tests
                .iter()
                .filter_map(move |t| t.duration.map(|d| (d, id, t.name.as_str())))
        })
        .collect();
    if timed.is_empty() || n == 0 {
        return Ok(());
    }
    timed.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (a.1, a.2).cmp(&(b.1, b.2))));
    writeln!(out, "{}", p.bold("Slowest tests:"))?;
    for (d, id, name) in timed.into_iter().take(n) {
        writeln!(out, "  {:>9.3} ms  {} / {}", d.as_secs_f64() * 1e3, esc(id), esc(name))?;
    }
    Ok(())
}

/// The lists of skipped (counted per reason; names with `--verbose`),
/// failed and invalid items.
fn lists(report: &RunReport<'_>, style: Style, p: Paint, out: &mut dyn Write) -> io::Result<()> {
    let name = |i: &ItemReport| esc(i.id.as_deref().unwrap_or(&i.file)).into_owned();
    let selected: Vec<_> = report.items.iter().filter(|i| !i.selected_because.is_empty()).collect();
    if !selected.is_empty() && style.verbose {
        // `--changed-since`: why each item is part of the run.
        writeln!(out, "{}", p.bold("Selected:"))?;
        for i in selected {
            let why: Vec<String> = i.selected_because.iter().map(ToString::to_string).collect();
            writeln!(out, "  {} ({}): {}", name(i), esc(&i.file), esc(&why.join("; ")))?;
        }
    }
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
