//! GitHub-flavoured Markdown for a pull-request comment (`--format markdown`).
//!
//! The document starts with the hidden marker [`MARKER`] (a CI job finds
//! its one comment by it and updates it), then:
//!
//! 1. a heading with the outcome (`failed`, `passed with warnings`,
//!    `passed`) and the command;
//! 2. a counts table: items passed/failed/invalid/skipped/validated, then
//!    error and warning diagnostics (and, for `test`, a second table of
//!    unit tests);
//! 3. the failure no diagnostic states, if any, as a quote;
//! 4. `Failed tests`: each failing test with why, and its explanation
//!    (what `--explain` prints, the exception, failing alert functions,
//!    what it printed) in a fenced code block, inside `<details>` when it
//!    is longer than [`FOLD_LINES`] lines;
//! 5. `Diagnostics`: a table `Location | Severity | Code | Message | Help`;
//! 6. with `--changed-since`, `Selected by --changed-since`: a table of
//!    the selected items and why each is part of the run. The diagnostics
//!    above are then only those of these items: the "new" ones of a pull
//!    request run with the base commit as REF.
//!
//! Every text from a file or the run is escaped for where it goes: table
//! cells and list items escape Markdown punctuation (`|` included, so a
//! name with a pipe stays one cell), `<`, `>` and `&` as entities, and
//! control characters as [`crate::text::escape_control`] shows them (a
//! line break is `\n`); code blocks use a fence longer than any run of
//! backticks inside. The whole document stays under [`LIMIT`] bytes
//! (GitHub rejects longer comments): what does not fit is left out and a
//! last line says how many failures, diagnostics and selected items were.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;
use crate::text::escape_control;

use super::{FunctionReport, ItemReport, RunReport, Status, TestReport};

/// The hidden line a CI job finds its comment by.
pub const MARKER: &str = "<!-- detect-report -->";

/// GitHub's limit on a comment body, in characters; bytes are counted,
/// which is never fewer.
pub const LIMIT: usize = 65_536;

/// An explanation longer than this is folded into `<details>`.
pub const FOLD_LINES: usize = 12;

/// Room kept for the line saying what was left out.
const RESERVE: usize = 400;

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(document(report, LIMIT).as_bytes())
}

/// The document, at most `limit` bytes.
pub(super) fn document(report: &RunReport<'_>, limit: usize) -> String {
    let mut doc = Doc::new(limit.saturating_sub(RESERVE));
    doc.head(&head(report));
    failures(report, &mut doc);
    diagnostics(&report.diagnostics, report.sources, &mut doc);
    selected(report, &mut doc);
    doc.finish()
}

/// A document that keeps whole blocks while they fit.
struct Doc {
    text: String,
    budget: usize,
    /// `(what, how many)` left out.
    omitted: Vec<(&'static str, usize)>,
}

impl Doc {
    fn new(budget: usize) -> Doc {
        Doc {
            text: String::new(),
            budget,
            omitted: Vec::new(),
        }
    }

    /// Text that is always written (the marker, heading and counts).
    fn head(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn fits(&self, s: &str) -> bool {
        self.text.len() + s.len() <= self.budget
    }

    /// A section: `title` then `intro` before the first block, then the
    /// blocks that fit; the rest are counted as `what` left out.
    fn section(&mut self, title: &str, intro: &str, blocks: Vec<String>, what: &'static str) {
        if blocks.is_empty() {
            return;
        }
        let n = blocks.len();
        let mut written = 0;
        for b in blocks {
            let text = if written == 0 { format!("{title}{intro}{b}") } else { b };
            if !self.fits(&text) {
                break;
            }
            self.text.push_str(&text);
            written += 1;
        }
        if written > 0 && !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
        if written < n {
            self.omitted.push((what, n - written));
        }
    }

    fn finish(mut self) -> String {
        if !self.omitted.is_empty() {
            let parts: Vec<String> = self.omitted.iter().map(|(w, n)| format!("{n} {w}")).collect();
            let _ = writeln!(
                self.text,
                "_Left out to keep this comment under {LIMIT} characters: {}. The job log has the full report._",
                parts.join(", ")
            );
        }
        self.text
    }
}

fn head(report: &RunReport<'_>) -> String {
    let s = report.summary();
    let (errors, warnings) = severity_counts(&report.diagnostics);
    let failed = s.failed + s.invalid > 0 || errors > 0 || report.problem.is_some();
    let outcome = if failed {
        "❌ failed"
    } else if warnings > 0 {
        "⚠️ passed with warnings"
    } else {
        "✅ passed"
    };
    let mut h = String::new();
    let _ = writeln!(h, "{MARKER}");
    let _ = writeln!(h, "## detect {}: {outcome}\n", report.command);
    let _ = writeln!(
        h,
        "| Passed | Failed | Invalid | Skipped | Validated | Errors | Warnings |\n|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        h,
        "| {} | {} | {} | {} | {} | {errors} | {warnings} |\n",
        s.passed, s.failed, s.invalid, s.skipped, s.validated
    );
    if let Some(t) = report.test_counts() {
        let _ = writeln!(
            h,
            "| Unit tests | Passed | Failed | Skipped |\n|---:|---:|---:|---:|\n| {} | {} | {} | {} |\n",
            t.total(),
            t.passed,
            t.failed,
            t.skipped
        );
    }
    if let Some(p) = &report.problem {
        let _ = writeln!(h, "> **error:** {}\n", inline(p));
    }
    h
}

fn severity_counts(diagnostics: &[&Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.severity() == Severity::Error).count();
    let warnings = diagnostics.iter().filter(|d| d.severity() == Severity::Warning).count();
    (errors, warnings)
}

fn name(i: &ItemReport) -> &str {
    i.id.as_deref().unwrap_or(&i.file)
}

fn failures(report: &RunReport<'_>, doc: &mut Doc) {
    let mut blocks = Vec::new();
    for item in report.items.iter().filter(|i| i.status == Status::Failed) {
        let failing: Vec<&TestReport> = item.tests.iter().filter(|t| t.status == Status::Failed).collect();
        if failing.is_empty() {
            let why = item.reason.as_deref().unwrap_or("see the diagnostics");
            blocks.push(format!(
                "- **{}** ({}): {}\n",
                inline(name(item)),
                inline(&item.file),
                inline(why)
            ));
        }
        for t in failing {
            blocks.push(failure(item, t));
        }
    }
    doc.section("### Failed tests\n\n", "", blocks, "failed tests");
}

/// One failing test: a list item, then its explanation in a code block.
fn failure(item: &ItemReport, t: &TestReport) -> String {
    let why = match (&t.error, t.matched) {
        (Some(_), _) => "could not be evaluated".to_owned(),
        (None, Some(true)) if !t.expected => "expected no alert, the detection matched".to_owned(),
        (None, Some(false)) if t.expected => "expected an alert, the detection did not match".to_owned(),
        (None, _) => "an alert function failed".to_owned(),
    };
    let inherited = t
        .inherited_from
        .as_ref()
        .map(|b| format!(" (inherited from {})", inline(b)))
        .unwrap_or_default();
    let mut s = format!(
        "- **{}** › {}{inherited} ({}): {why}\n",
        inline(name(item)),
        inline(&t.name),
        inline(&item.file)
    );
    let lines = explanation(t);
    if lines.is_empty() {
        return s;
    }
    let block = fenced(&lines);
    if lines.len() > FOLD_LINES {
        let _ = write!(
            s,
            "\n  <details><summary>Explanation ({} lines)</summary>\n\n{}\n  </details>\n\n",
            lines.len(),
            indent(&block)
        );
    } else {
        let _ = write!(s, "\n{}\n", indent(&block));
    }
    s
}

/// What the human report prints under a failing test.
fn explanation(t: &TestReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(e) = &t.error {
        lines.push(format!("error: {e}"));
    }
    for f in t.functions.iter().filter(|f| !f.passed) {
        lines.push(function_line(f));
    }
    if let Some(p) = &t.stdout {
        lines.push("printed:".to_owned());
        lines.extend(p.lines().map(|l| format!("  {l}")));
    }
    lines.extend(t.explain.iter().cloned());
    lines
        .iter()
        .flat_map(|l| {
            l.split('\n')
                .map(|l| escape_control(l).into_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn function_line(f: &FunctionReport) -> String {
    let v = match (&f.error, &f.output) {
        (Some(e), _) => e.clone(),
        (None, o) => o.shown().to_owned(),
    };
    format!("[FAIL] [{}] {v}", f.name)
}

/// A fenced code block of `lines` (already free of control characters),
/// its fence longer than any run of backticks inside.
fn fenced(lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut s = format!("{fence}text\n");
    for l in lines {
        let _ = writeln!(s, "{l}");
    }
    let _ = writeln!(s, "{fence}");
    s
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Indents a block by two spaces: it belongs to the list item above.
fn indent(block: &str) -> String {
    let mut s = String::with_capacity(block.len() + 64);
    for l in block.lines() {
        let _ = writeln!(s, "  {l}");
    }
    s
}

fn diagnostics(diagnostics: &[&Diagnostic], sources: &[SourceFile], doc: &mut Doc) {
    let rows: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let location = match super::position(d, sources) {
                (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}"),
                (Some(f), _, _) => f.to_owned(),
                (None, _, _) => String::new(),
            };
            let severity = match d.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            format!(
                "| {} | {severity} | `{}` | {} | {} |\n",
                inline(&location),
                d.code.name(),
                inline(&d.message),
                inline(d.help.as_deref().unwrap_or(""))
            )
        })
        .collect();
    doc.section(
        "### Diagnostics\n\n",
        "| Location | Severity | Code | Message | Help |\n|---|---|---|---|---|\n",
        rows,
        "diagnostics",
    );
}

fn selected(report: &RunReport<'_>, doc: &mut Doc) {
    let rows: Vec<String> = report
        .items
        .iter()
        .filter(|i| !i.selected_because.is_empty())
        .map(|i| {
            let why: Vec<String> = i.selected_because.iter().map(ToString::to_string).collect();
            format!(
                "| {} | {} | {} |\n",
                inline(name(i)),
                inline(&i.file),
                inline(&why.join("; "))
            )
        })
        .collect();
    doc.section(
        "### Selected by `--changed-since`\n\n",
        "Only these items (changed, or depending on a change) were checked; the diagnostics above are theirs.\n\n\
         | Detection | File | Why |\n|---|---|---|\n",
        rows,
        "selected items",
    );
}

/// Text from a file or the run, escaped for a table cell or a list item:
/// control characters shown escaped, Markdown punctuation behind a
/// backslash, HTML's `<`, `>` and `&` as entities.
pub(super) fn inline(s: &str) -> String {
    let s = escape_control(s);
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' | '$' | '@' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

/// The document of a command that acts (`fmt`, `derive`, `run`,
/// `alerts`): the marker, a heading with the outcome, the failures no
/// diagnostic states, the diagnostics table, the cases with a finding
/// (`| Case | File | Finding |`) and the command's summary lines.
pub(super) fn command_document(
    command: &str,
    diagnostics: &[&Diagnostic],
    sources: &[SourceFile],
    problems: &[(&str, Option<&str>)],
    cases: &[&super::command::Case],
    summary: &[String],
) -> String {
    let (errors, warnings) = severity_counts(diagnostics);
    let outcome = if errors > 0 || !problems.is_empty() {
        "❌ failed"
    } else if warnings > 0 || cases.iter().any(|c| c.failure.is_some()) {
        "⚠️ passed with findings"
    } else {
        "✅ passed"
    };
    let mut h = format!("{MARKER}\n## detect {command}: {outcome}\n\n");
    for (message, help) in problems {
        let _ = writeln!(h, "> **error:** {}", inline(message));
        if let Some(help) = help {
            let _ = writeln!(h, ">\n> help: {}", inline(help));
        }
        h.push('\n');
    }
    for s in summary {
        let _ = writeln!(h, "{}\n", inline(s));
    }
    let mut doc = Doc::new(LIMIT - RESERVE);
    doc.head(&h);
    self::diagnostics(diagnostics, sources, &mut doc);
    let rows: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            c.failure.as_ref().map(|f| {
                format!(
                    "| {} › {} | {} | {} |\n",
                    inline(&c.class),
                    inline(&c.name),
                    inline(c.file.as_deref().unwrap_or("")),
                    inline(f)
                )
            })
        })
        .collect();
    doc.section(
        "### Findings\n\n",
        "| Case | File | Finding |\n|---|---|---|\n",
        rows,
        "findings",
    );
    doc.finish()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

    use super::{FOLD_LINES, LIMIT, MARKER, document};
    use crate::diagnostic::{Code, Diagnostic};
    use crate::report::{ItemReport, RunReport, Status, TestReport};
    use crate::source::{FileId, SourceFile, Span};

    /// A parsed table: header cells, then rows of cells, as plain text.
    #[derive(Debug)]
    struct Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    }

    /// The tables, code blocks and raw HTML of a GFM document.
    #[derive(Debug, Default)]
    struct Parsed {
        tables: Vec<Table>,
        code: Vec<String>,
        html: Vec<String>,
    }

    fn parse(md: &str) -> Parsed {
        let mut p = Parsed::default();
        let mut table: Option<Table> = None;
        let mut row: Vec<String> = Vec::new();
        let mut cell: Option<String> = None;
        let mut code: Option<String> = None;
        for ev in Parser::new_ext(md, Options::ENABLE_TABLES) {
            match ev {
                Event::Start(Tag::Table(_)) => {
                    table = Some(Table {
                        header: Vec::new(),
                        rows: Vec::new(),
                    });
                }
                Event::End(TagEnd::Table) => p.tables.extend(table.take()),
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => row.extend(cell.take()),
                Event::End(TagEnd::TableHead) => {
                    if let Some(t) = table.as_mut() {
                        t.header = std::mem::take(&mut row);
                    }
                }
                Event::End(TagEnd::TableRow) => {
                    if let Some(t) = table.as_mut() {
                        t.rows.push(std::mem::take(&mut row));
                    }
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => code = Some(String::new()),
                Event::End(TagEnd::CodeBlock) => p.code.extend(code.take()),
                Event::Text(t) | Event::Code(t) => {
                    if let Some(c) = cell.as_mut().or(code.as_mut()) {
                        c.push_str(&t);
                    }
                }
                Event::Html(h) | Event::InlineHtml(h) => p.html.push(h.to_string()),
                _ => {}
            }
        }
        p
    }

    fn source() -> Vec<SourceFile> {
        vec![SourceFile::new(
            PathBuf::from("/srv/rules/a|b.yml"),
            "rules/a|b.yml".to_owned(),
            "rules/a|b.yml".to_owned(),
            Some("AnalysisType: rule\n".to_owned()),
        )]
    }

    fn item(id: &str, status: Status) -> ItemReport {
        ItemReport {
            id: Some(id.to_owned()),
            analysis_type: Some("rule".to_owned()),
            file: "rules/a|b.yml".to_owned(),
            status,
            reason: None,
            base: None,
            tests: Vec::new(),
            selected_because: Vec::new(),
        }
    }

    fn report<'a>(items: &'a [ItemReport], diagnostics: &'a [Diagnostic], sources: &'a [SourceFile]) -> RunReport<'a> {
        RunReport {
            command: "test",
            paths: vec![".".to_owned()],
            items,
            diagnostics: diagnostics.iter().collect(),
            sources,
            duration_ms: 1,
            notes: Vec::new(),
            problem: None,
            root: PathBuf::from("/srv"),
        }
    }

    fn hostile_diagnostics() -> Vec<Diagnostic> {
        vec![
            Diagnostic::new(
                Code::InvalidValue,
                FileId(0),
                Span::at(3, 7),
                "`A|B` is not | a `severity`\nsecond line <script>alert(1)</script> \u{1b}[2J",
            )
            .with_help("use `High` | `Low` & <b>not</b> this"),
            Diagnostic::global(Code::UnknownSetting, "unknown key `x`"),
        ]
    }

    #[test]
    fn the_diagnostics_table_has_one_row_of_five_cells_per_diagnostic_whatever_the_text() {
        let sources = source();
        let diags = hostile_diagnostics();
        let md = document(&report(&[item("A|B", Status::Invalid)], &diags, &sources), LIMIT);
        assert!(md.starts_with(MARKER), "{md}");
        let parsed = parse(&md);
        let table = parsed
            .tables
            .iter()
            .find(|t| t.header.first().map(String::as_str) == Some("Location"))
            .expect("a diagnostics table");
        assert_eq!(table.header, ["Location", "Severity", "Code", "Message", "Help"]);
        assert_eq!(table.rows.len(), 2, "{md}");
        let first = &table.rows[0];
        assert_eq!(first.len(), 5);
        assert_eq!(first[0], "rules/a|b.yml:3:7");
        assert_eq!(first[1], "error");
        assert_eq!(first[2], "invalid-value");
        assert_eq!(
            first[3],
            "`A|B` is not | a `severity`\\nsecond line <script>alert(1)</script> \\x1b[2J"
        );
        assert_eq!(first[4], "use `High` | `Low` & <b>not</b> this");
        assert_eq!(table.rows[1], ["", "warning", "unknown-setting", "unknown key `x`", ""]);
        // No text of the run is HTML: only the marker is.
        assert_eq!(parsed.html, [format!("{MARKER}\n")], "{md}");
        assert!(!md.contains('\u{1b}'));
    }

    #[test]
    fn the_counts_table_counts_items_and_diagnostics() {
        let sources = source();
        let diags = hostile_diagnostics();
        let items = vec![
            item("A", Status::Passed),
            item("B", Status::Failed),
            item("C", Status::Invalid),
            item("D", Status::Skipped),
            item("E", Status::Skipped),
        ];
        let md = document(&report(&items, &diags, &sources), LIMIT);
        assert!(md.contains("## detect test: ❌ failed"), "{md}");
        let parsed = parse(&md);
        let counts = &parsed.tables[0];
        assert_eq!(
            counts.header,
            [
                "Passed",
                "Failed",
                "Invalid",
                "Skipped",
                "Validated",
                "Errors",
                "Warnings"
            ]
        );
        assert_eq!(counts.rows, [["1", "1", "1", "2", "0", "1", "1"]]);
        let tests = &parsed.tables[1];
        assert_eq!(tests.header, ["Unit tests", "Passed", "Failed", "Skipped"]);
        assert_eq!(tests.rows, [["0", "0", "0", "0"]]);
    }

    #[test]
    fn a_clean_run_passes_and_has_no_sections() {
        let sources = source();
        let md = document(&report(&[item("A", Status::Passed)], &[], &sources), LIMIT);
        assert!(md.contains("## detect test: ✅ passed"), "{md}");
        assert!(!md.contains("###"), "{md}");
    }

    fn failing(explain: Vec<String>) -> ItemReport {
        let mut t = TestReport::new("name | with ``` fence".to_owned(), Status::Failed, true);
        t.matched = Some(false);
        t.explain = explain;
        let mut i = item("Rule|One", Status::Failed);
        i.tests = vec![t, TestReport::new("fine".to_owned(), Status::Passed, true)];
        i
    }

    #[test]
    fn a_failed_test_shows_its_explanation_in_a_code_block() {
        let sources = source();
        let explain = vec!["✗ Detection (all of)".to_owned(), "  ✗ x Equals \"````\"".to_owned()];
        let md = document(&report(&[failing(explain)], &[], &sources), LIMIT);
        let parsed = parse(&md);
        assert_eq!(parsed.code, ["✗ Detection (all of)\n  ✗ x Equals \"````\"\n"], "{md}");
        assert!(md.contains("### Failed tests"));
        assert!(md.contains("expected an alert, the detection did not match"));
        assert!(!md.contains("<details>"), "short explanations are not folded: {md}");
    }

    #[test]
    fn a_long_explanation_is_folded() {
        let sources = source();
        let explain: Vec<String> = (0..=FOLD_LINES).map(|n| format!("line {n}")).collect();
        let md = document(&report(&[failing(explain)], &[], &sources), LIMIT);
        let parsed = parse(&md);
        assert!(
            md.contains(&format!("<summary>Explanation ({} lines)</summary>", FOLD_LINES + 1)),
            "{md}"
        );
        assert_eq!(parsed.code.len(), 1, "{md}");
        assert!(parsed.code[0].starts_with("line 0\n"), "{md}");
        assert!(parsed.code[0].ends_with(&format!("line {FOLD_LINES}\n")), "{md}");
    }

    #[test]
    fn a_large_report_is_cut_below_the_limit_and_says_how_much_is_left_out() {
        let sources = source();
        let n = 2000;
        let diags: Vec<Diagnostic> = (0..n)
            .map(|i| Diagnostic::new(Code::UnknownKey, FileId(0), Span::at(i + 1, 1), "x".repeat(60)))
            .collect();
        let md = document(&report(&[item("A", Status::Invalid)], &diags, &sources), LIMIT);
        assert!(md.len() <= LIMIT, "{}", md.len());
        let parsed = parse(&md);
        let shown = parsed
            .tables
            .iter()
            .find(|t| t.header.first().map(String::as_str) == Some("Location"))
            .map_or(0, |t| t.rows.len());
        assert!(shown > 100 && shown < n as usize, "{shown}");
        let last = md.lines().last().unwrap_or_default();
        assert!(last.contains(&format!("{} diagnostics", n as usize - shown)), "{last}");
        // A small limit still keeps the marker and the counts.
        let small = document(&report(&[item("A", Status::Invalid)], &diags, &sources), 1000);
        assert!(small.starts_with(MARKER) && small.contains("| Passed |"));
        assert!(small.len() <= 1000, "{}", small.len());
        let rows = small.matches("| error |").count();
        assert!(small.contains(&format!("{} diagnostics", n as usize - rows)), "{small}");
    }

    #[test]
    fn changed_since_lists_the_selected_items() {
        let sources = source();
        let mut a = item("A|1", Status::Passed);
        a.selected_because = vec![crate::resolve::Why::Changed];
        let md = document(&report(&[a, item("B", Status::Passed)], &[], &sources), LIMIT);
        let parsed = parse(&md);
        let t = parsed
            .tables
            .iter()
            .find(|t| t.header.first().map(String::as_str) == Some("Detection"))
            .expect("a selection table");
        assert_eq!(t.header, ["Detection", "File", "Why"]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0][0], "A|1");
        assert_eq!(t.rows[0][1], "rules/a|b.yml");
    }
}
