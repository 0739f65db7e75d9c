//! The report of a command that acts rather than checks (`derive`, `fmt`,
//! `run`, `alerts`): the command hands its findings to a [`Reporter`] as
//! events (diagnostics, failures no diagnostic states, its own results,
//! cases, the summary) and never prints; the reporter renders them in one
//! of the formats of [`Format`].
//!
//! - `human`: each event is written as it comes, so a long run shows its
//!   problems while it goes on: diagnostics on standard error in the one
//!   form of [`super::message`] (the form `validate` uses), a failure as
//!   `error: message` (and `  = help: …`), the command's own lines where
//!   the command has always put them.
//! - `json`: one object on stdout at the end: `tool`, `version`,
//!   `command`, the command's results (each command documents its keys),
//!   `errors` (`message`, `help`: failures no diagnostic states) and
//!   `diagnostics`, each in the shape of `validate`'s JSON report.
//! - `junit`: a `<testsuite name="diagnostics">` with one `<testcase>`
//!   per error diagnostic or failure (an `<error>`), then the command's
//!   own cases (for `run`, one per alert). JUnit has no warnings: they are
//!   in the other formats.
//! - `sarif`: the diagnostics, as `validate`'s SARIF log has them.
//! - `github`: one annotation per diagnostic (as `validate` prints it),
//!   per failure and per case with a finding, then the summary line.
//!
//! A diagnostic renders through the same function in every command, so it
//! prints the same from `validate`, `derive`, `fmt` and `run`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::message::{self, Paint};
use super::{Format, codequality, github, json as json_report, junit, markdown, sarif};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::Project;
use crate::source::{FileId, SourceFile};

/// Where a human line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: what the command produces (a diff, a file list).
    Out,
    /// Standard error: diagnostics, progress, the summary.
    Err,
}

/// One case of the JUnit report (and an annotation in the GitHub format
/// when it has a finding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The `<testsuite>` it belongs to (`alerts`, `files`).
    pub suite: String,
    /// `classname`: a detection ID or a path.
    pub class: String,
    /// `name`.
    pub name: String,
    /// The file it is about, when there is one.
    pub file: Option<String>,
    /// The finding (`<failure message=…>`); `None`: the case passed.
    pub failure: Option<String>,
}

/// A failure no diagnostic states, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    message: String,
    help: Option<String>,
}

/// Receives a command's events and renders them in one format.
pub struct Reporter<'w> {
    command: &'static str,
    format: Format,
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    /// The project root (SARIF locations are relative to it).
    root: PathBuf,
    /// The files the kept diagnostics are about.
    sources: Vec<SourceFile>,
    diagnostics: Vec<Diagnostic>,
    problems: Vec<Problem>,
    results: Map<String, Value>,
    cases: Vec<Case>,
    summary: Vec<String>,
    /// The first failed write to `out` (a closed pipe is not one).
    error: Option<io::Error>,
}

impl std::fmt::Debug for Reporter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("command", &self.command)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<'w> Reporter<'w> {
    /// A reporter of `command` in `format`: the report on `out`, human
    /// diagnostics on `err`. SARIF locations are relative to `root`.
    pub fn new(
        command: &'static str,
        format: Format,
        root: PathBuf,
        out: &'w mut dyn Write,
        err: &'w mut dyn Write,
    ) -> Self {
        Reporter {
            command,
            format,
            out,
            err,
            root,
            sources: Vec::new(),
            diagnostics: Vec::new(),
            problems: Vec::new(),
            results: Map::new(),
            cases: Vec::new(),
            summary: Vec::new(),
            error: None,
        }
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the format is `human` (the command's own lines are shown).
    pub fn is_human(&self) -> bool {
        self.format == Format::Human
    }

    /// The project root, once known.
    pub fn set_root(&mut self, root: PathBuf) {
        self.root = root;
    }

    /// A diagnostic about `sources`.
    pub fn diagnostic(&mut self, d: &Diagnostic, sources: &[SourceFile]) {
        if self.is_human() {
            let _ = message::write(&mut *self.err, d, sources, &Paint::default(), true);
            return;
        }
        let mut d = d.clone();
        if let Some(l) = d.primary.as_mut() {
            l.file = self.source(sources, l.file);
        }
        for i in 0..d.related.len() {
            let file = self.source(sources, d.related[i].file);
            d.related[i].file = file;
        }
        self.diagnostics.push(d);
    }

    /// The id in this report of `sources[id]`, copied in once.
    fn source(&mut self, sources: &[SourceFile], id: FileId) -> FileId {
        let Some(src) = sources.get(id.0 as usize) else {
            return FileId(u32::MAX);
        };
        if let Some(i) = self
            .sources
            .iter()
            .position(|s| s.path == src.path && s.display == src.display)
        {
            return FileId(i as u32);
        }
        self.sources.push(src.clone());
        FileId((self.sources.len() - 1) as u32)
    }

    /// The errors of the files that could not be loaded as a detection at
    /// all (not YAML, unreadable, no `AnalysisType`), as `validate` reports
    /// them: a command that acts on detections does not see these files,
    /// and says why. The errors of files that did load are `validate`'s.
    pub fn unloaded(&mut self, project: &Project) {
        let unloaded = unloaded(project);
        for d in project
            .diagnostics
            .iter()
            .filter(|d| d.severity() == Severity::Error && d.file().is_some_and(|f| unloaded.contains(&f)))
        {
            self.diagnostic(d, &project.sources);
        }
    }

    /// A failure no diagnostic states: `error: message` (and `  = help:
    /// help`) in human output.
    pub fn problem(&mut self, message: &str, help: Option<&str>) {
        if self.is_human() {
            let _ = writeln!(self.err, "error: {message}");
            if let Some(h) = help {
                let _ = writeln!(self.err, "  = help: {h}");
            }
            return;
        }
        self.problems.push(Problem {
            message: message.to_owned(),
            help: help.map(str::to_owned),
        });
    }

    /// Text of the human format only, written as given (the machine
    /// formats carry the same facts as results).
    pub fn human(&mut self, stream: Stream, text: &str) {
        if !self.is_human() {
            return;
        }
        match stream {
            Stream::Err => {
                let _ = self.err.write_all(text.as_bytes());
            }
            Stream::Out => {
                if let Err(e) = self.out.write_all(text.as_bytes()) {
                    if e.kind() != io::ErrorKind::BrokenPipe {
                        self.error.get_or_insert(e);
                    }
                }
            }
        }
    }

    /// Text for people on standard error in every format: advice and
    /// warnings about the tool's own files (the delivery log), which no
    /// document field holds; the machine formats keep stdout for their
    /// document.
    pub fn stderr(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
    }

    /// A result of the command under `key` in the JSON report.
    pub fn result(&mut self, key: &str, value: Value) {
        if self.format == Format::Json {
            self.results.insert(key.to_owned(), value);
        }
    }

    /// Takes the result under `key` out of the JSON report.
    pub(super) fn take_result(&mut self, key: &str) -> Option<Value> {
        self.results.shift_remove(key)
    }

    /// Appends `value` to the list under `key` in the JSON report.
    pub(super) fn push_result(&mut self, key: &str, value: Value) {
        if self.format != Format::Json {
            return;
        }
        match self.results.get_mut(key) {
            Some(Value::Array(list)) => list.push(value),
            _ => {
                self.results.insert(key.to_owned(), Value::Array(vec![value]));
            }
        }
    }

    /// A case of the JUnit report.
    pub fn case(&mut self, case: Case) {
        if matches!(self.format, Format::Junit | Format::Github | Format::Markdown) {
            self.cases.push(case);
        }
    }

    /// A one-line summary: on standard error in human output (with its
    /// newline), last in the GitHub format (a run that delivers has two).
    pub fn summary(&mut self, line: &str) {
        if self.is_human() {
            let _ = writeln!(self.err, "{line}");
        } else {
            self.summary.push(line.to_owned());
        }
    }

    /// Ends the report of a command that returned `result`: a failure
    /// of the run itself is also an error of the machine formats' document
    /// (the caller shows it on standard error as for every command).
    ///
    /// # Errors
    /// The command's own error, else a failed write (made by `write_error`).
    pub fn end<E: std::fmt::Display>(
        mut self,
        result: Result<u8, E>,
        write_error: impl FnOnce(io::Error) -> E,
    ) -> Result<u8, E> {
        if let Err(e) = &result {
            if !self.is_human() {
                self.problems.push(Problem {
                    message: e.to_string(),
                    help: None,
                });
            }
        }
        match self.finish() {
            Ok(()) => result,
            Err(w) => result.and_then(|_| Err(write_error(w))),
        }
    }

    /// Writes the machine formats' document.
    ///
    /// # Errors
    /// Writing to the output failed (a closed pipe is not an error).
    pub fn finish(mut self) -> io::Result<()> {
        let r = self.render();
        let r = r.and_then(|()| self.out.flush());
        match (self.error.take(), r) {
            (Some(e), _) => Err(e),
            (None, Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            (None, r) => r,
        }
    }

    fn render(&mut self) -> io::Result<()> {
        let diagnostics: Vec<&Diagnostic> = self.diagnostics.iter().collect();
        match self.format {
            Format::Human => Ok(()),
            Format::Json => {
                let mut doc = Map::new();
                doc.insert("tool".to_owned(), json!("detect"));
                doc.insert("version".to_owned(), json!(env!("CARGO_PKG_VERSION")));
                doc.insert("command".to_owned(), json!(self.command));
                doc.extend(std::mem::take(&mut self.results));
                doc.insert(
                    "errors".to_owned(),
                    self.problems
                        .iter()
                        .map(|p| json!({"message": p.message, "help": p.help}))
                        .collect(),
                );
                doc.insert(
                    "diagnostics".to_owned(),
                    diagnostics
                        .iter()
                        .map(|d| json_report::diagnostic(d, &self.sources))
                        .collect(),
                );
                serde_json::to_writer_pretty(&mut *self.out, &Value::Object(doc))?;
                writeln!(self.out)
            }
            Format::Sarif => {
                let doc = sarif::document(&diagnostics, &self.sources, &self.root);
                serde_json::to_writer_pretty(&mut *self.out, &doc)?;
                writeln!(self.out)
            }
            Format::Github => {
                for d in &diagnostics {
                    writeln!(self.out, "{}", github::annotation(d, &self.sources))?;
                }
                for p in &self.problems {
                    writeln!(self.out, "{}", github::error_line(&p.message, p.help.as_deref()))?;
                }
                for c in &self.cases {
                    if let Some(f) = &c.failure {
                        writeln!(self.out, "{}", github::line("warning", c.file.as_deref(), &c.class, f))?;
                    }
                }
                for s in &self.summary {
                    writeln!(self.out, "{s}")?;
                }
                Ok(())
            }
            Format::Markdown => {
                let problems: Vec<(&str, Option<&str>)> = self
                    .problems
                    .iter()
                    .map(|p| (p.message.as_str(), p.help.as_deref()))
                    .collect();
                let cases: Vec<&Case> = self.cases.iter().collect();
                let text = markdown::command_document(
                    self.command,
                    &diagnostics,
                    &self.sources,
                    &problems,
                    &cases,
                    &self.summary,
                );
                self.out.write_all(text.as_bytes())
            }
            Format::Codequality => {
                let doc = codequality::document(&diagnostics, &self.sources);
                serde_json::to_writer_pretty(&mut *self.out, &doc)?;
                writeln!(self.out)
            }
            Format::Junit => {
                let text = junit_document(self.command, &diagnostics, &self.sources, &self.problems, &self.cases);
                self.out.write_all(text.as_bytes())
            }
        }
    }
}

/// The files of `project` that could not be loaded as a detection at all.
pub fn unloaded(project: &Project) -> HashSet<FileId> {
    project
        .entries
        .iter()
        .filter(|e| e.analysis.is_none())
        .map(|e| e.file)
        .collect()
}

/// `path:line:col: error[code]: message`, as `validate`'s JUnit report
/// names an error.
fn diagnostic_line(d: &Diagnostic, sources: &[SourceFile]) -> String {
    let (file, l, c) = super::position(d, sources);
    let head = format!("{}[{}]: {}", d.severity().as_str(), d.code.name(), d.message);
    match (file, l, c) {
        (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: {head}"),
        (Some(f), _, _) => format!("{f}: {head}"),
        (None, _, _) => head,
    }
}

fn junit_document(
    command: &str,
    diagnostics: &[&Diagnostic],
    sources: &[SourceFile],
    problems: &[Problem],
    cases: &[Case],
) -> String {
    let esc = junit::esc;
    let mut body = String::new();
    let (mut total, mut failures, mut errors) = (0usize, 0usize, 0usize);
    // The errors: the diagnostics of severity error, then the failures.
    let mut lines: Vec<(String, String, String)> = diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| {
            let (file, _, _) = super::position(d, sources);
            let line = diagnostic_line(d, sources);
            let detail = match &d.help {
                Some(h) => format!("{line}\nhelp: {h}"),
                None => line.clone(),
            };
            (file.unwrap_or(command).to_owned(), line, detail)
        })
        .collect();
    lines.extend(problems.iter().map(|p| {
        let detail = match &p.help {
            Some(h) => format!("{}\nhelp: {h}", p.message),
            None => p.message.clone(),
        };
        (command.to_owned(), p.message.clone(), detail)
    }));
    if !lines.is_empty() {
        let n = lines.len();
        let _ = writeln!(
            body,
            "  <testsuite name=\"diagnostics\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\">"
        );
        for (name, message, detail) in &lines {
            let _ = writeln!(
                body,
                "    <testcase classname=\"diagnostics\" name=\"{}\"><error message=\"{}\">{}</error></testcase>",
                esc(name),
                esc(message),
                esc(detail)
            );
        }
        let _ = writeln!(body, "  </testsuite>");
        total += n;
        errors += n;
    }
    // The command's own cases, one suite per `suite`, in order of first use.
    let mut suites: Vec<&str> = Vec::new();
    for c in cases {
        if !suites.contains(&c.suite.as_str()) {
            suites.push(&c.suite);
        }
    }
    for suite in suites {
        let of: Vec<&Case> = cases.iter().filter(|c| c.suite == suite).collect();
        let f = of.iter().filter(|c| c.failure.is_some()).count();
        let _ = writeln!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\">",
            esc(suite),
            of.len()
        );
        for c in &of {
            let _ = write!(
                body,
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&c.class),
                esc(&c.name)
            );
            if let Some(f) = &c.file {
                let _ = write!(body, " file=\"{}\"", esc(f));
            }
            match &c.failure {
                Some(m) => {
                    let _ = writeln!(body, "><failure message=\"{}\"/></testcase>", esc(m));
                }
                None => {
                    let _ = writeln!(body, "/>");
                }
            }
        }
        let _ = writeln!(body, "  </testsuite>");
        total += of.len();
        failures += f;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"detect {command}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n\
         {body}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::source::Span;

    /// A diagnostic about a whole file (line 0), through `format`.
    fn whole_file(format: Format) -> String {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut rep = Reporter::new("fmt", format, PathBuf::from("/srv"), &mut out, &mut err);
        let d = Diagnostic::new(Code::UnreadableFile, FileId(0), Span::default(), "cannot read the file");
        rep.diagnostic(&d, &[message::named("rules/a.yml")]);
        rep.finish().unwrap();
        let mut text = String::from_utf8(out).unwrap();
        text.push_str(&String::from_utf8(err).unwrap());
        text
    }

    #[test]
    fn a_whole_file_has_no_line_in_any_format() {
        assert_eq!(
            whole_file(Format::Human),
            "rules/a.yml: error[unreadable-file]: cannot read the file\n"
        );
        assert_eq!(
            whole_file(Format::Github),
            "::error file=rules/a.yml,title=unreadable-file::cannot read the file\n"
        );
        let doc: Value = serde_json::from_str(&whole_file(Format::Json)).unwrap();
        assert_eq!(doc["diagnostics"][0]["file"], "rules/a.yml");
        assert_eq!(
            (&doc["diagnostics"][0]["line"], &doc["diagnostics"][0]["column"]),
            (&Value::Null, &Value::Null)
        );
        let sarif: Value = serde_json::from_str(&whole_file(Format::Sarif)).unwrap();
        let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "rules/a.yml");
        assert!(location.get("region").is_none(), "{location}");
        assert!(
            whole_file(Format::Junit)
                .contains("<error message=\"rules/a.yml: error[unreadable-file]: cannot read the file\">"),
            "{}",
            whole_file(Format::Junit)
        );
    }

    #[test]
    fn related_files_are_copied_once_and_renumbered() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut rep = Reporter::new("run", Format::Json, PathBuf::from("/srv"), &mut out, &mut err);
        let sources = [message::named("a.yml"), message::named("b.yml")];
        // About b.yml, related to a.yml; then about a.yml alone.
        let first = Diagnostic::new(Code::YamlSyntax, FileId(1), Span::at(2, 3), "one").with_related(
            FileId(0),
            Span::at(4, 5),
            "here",
        );
        let second = Diagnostic::new(Code::YamlSyntax, FileId(0), Span::at(1, 1), "two");
        rep.diagnostic(&first, &sources);
        rep.diagnostic(&second, &sources);
        assert_eq!(rep.sources.len(), 2);
        rep.finish().unwrap();
        let doc: Value = serde_json::from_str(std::str::from_utf8(&out).unwrap()).unwrap();
        let d = &doc["diagnostics"];
        assert_eq!(
            (&d[0]["file"], &d[0]["related"][0]["file"], &d[1]["file"]),
            (&json!("b.yml"), &json!("a.yml"), &json!("a.yml"))
        );
        assert!(err.is_empty());
    }
}
