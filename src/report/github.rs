//! GitHub workflow annotations: one `::error file=…,line=…,col=…,title=<code>::<message>`
//! line per diagnostic (`::warning`, `::notice` for info), then the summary.

use std::io::{self, Write};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;
use crate::text::escape_control as esc;

use super::RunReport;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub(super) fn render(report: &RunReport<'_>, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        writeln!(out, "{}", annotation(d, report.sources))?;
    }
    if let Some(problem) = &report.problem {
        writeln!(out, "{}", problem_line(problem))?;
    }
    writeln!(out, "{}", super::summary_line(report))
}

/// The annotation line of one diagnostic about `sources`.
pub(super) fn annotation(d: &Diagnostic, sources: &[SourceFile]) -> String {
    let level = match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let (file, line, col) = super::position(d, sources);
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!("file={}", escape_prop(&esc(f))));
    }
    if let (Some(l), Some(c)) = (line, col) {
        props.push(format!("line={l},col={c}"));
    }
    props.push(format!("title={}", d.code.name()));
    // Controls are shown escaped; only the line break before the help
    // is a real one (encoded as `%0A` for the runner).
    let mut msg = esc(&d.message).into_owned();
    if let Some(h) = &d.help {
        msg = format!("{msg}\nhelp: {}", esc(h));
    }
    format!("::{level} {}::{}", props.join(","), escape_data(&msg))
}

/// The annotation of a failure no diagnostic states.
pub(super) fn problem_line(problem: &str) -> String {
    format!("::error title=detect::{}", escape_data(&esc(problem)))
}

/// The annotation of a failure of a command, with its help on a second line.
pub(super) fn error_line(message: &str, help: Option<&str>) -> String {
    let mut msg = esc(message).into_owned();
    if let Some(h) = help {
        msg = format!("{msg}\nhelp: {}", esc(h));
    }
    format!("::error title=detect::{}", escape_data(&msg))
}

/// An annotation of `level` (`error`, `warning`, `notice`) titled
/// `title`, about `file` when given.
pub(super) fn line(level: &str, file: Option<&str>, title: &str, message: &str) -> String {
    let file = file.map_or_else(String::new, |f| format!("file={},", escape_prop(&esc(f))));
    format!(
        "::{level} {file}title={}::{}",
        escape_prop(&esc(title)),
        escape_data(&esc(message))
    )
}
