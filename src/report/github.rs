//! GitHub workflow annotations: one `::error file=…,line=…,col=…,title=<code>::<message>`
//! line per diagnostic (`::warning`, `::notice` for info), then the summary.

use std::io::{self, Write};

use crate::diagnostic::Severity;
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
        let level = match d.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let (file, line, col) = report.position(d);
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
        writeln!(out, "::{level} {}::{}", props.join(","), escape_data(&msg))?;
    }
    if let Some(problem) = &report.problem {
        writeln!(out, "::error title=detect::{}", escape_data(&esc(problem)))?;
    }
    writeln!(out, "{}", super::summary_line(report))
}
