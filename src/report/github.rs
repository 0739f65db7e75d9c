//! GitHub workflow annotations: one `::error file=…,line=…,col=…,title=<code>::<message>`
//! line per diagnostic (`::warning`, `::notice` for info), then the summary.

use std::io::{self, Write};

use crate::diagnostic::Severity;

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
            props.push(format!("file={}", escape_prop(f)));
        }
        if let (Some(l), Some(c)) = (line, col) {
            props.push(format!("line={l},col={c}"));
        }
        props.push(format!("title={}", d.code.name()));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg = format!("{msg}\nhelp: {h}");
        }
        writeln!(out, "::{level} {}::{}", props.join(","), escape_data(&msg))?;
    }
    writeln!(out, "{}", super::summary_line(report))
}
