//! Reports: what a command found, rendered in one of the formats of
//! cli-and-settings §6.4.
//!
//! Commands build a [`RunReport`] (plain data) and never print; the
//! renderers here turn it into text. Machine formats are contracts: their
//! fields are documented in each renderer module.

mod codequality;
pub mod command;
pub mod coverage;
pub mod derived;
pub mod fixed;
mod github;
mod human;
mod json;
mod junit;
mod markdown;
pub mod message;
pub mod python_env;
pub mod reformat;
pub mod replay;
#[cfg(test)]
mod sample;
mod sarif;
pub mod schema;
pub mod watch;

use std::io::{self, Write};

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// This tool's own project page, SARIF's `tool.driver.informationUri`:
/// the `repository` of Cargo.toml, and no URL at all while it has none
/// (a made-up address would send code-scanning users nowhere; the SARIF
/// field is optional and the tool is named by `tool.driver.name`).
pub const TOOL_URL: Option<&str> = if env!("CARGO_PKG_REPOSITORY").is_empty() {
    None
} else {
    Some(env!("CARGO_PKG_REPOSITORY"))
};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people, PAT-like.
    Human,
    /// One JSON object.
    Json,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub workflow annotations.
    Github,
    /// GitHub-flavoured Markdown for a pull-request comment.
    Markdown,
    /// GitLab Code Quality JSON.
    Codequality,
}

/// The state an item ends in (cli-and-settings §8 item 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything ran and passed.
    Passed,
    /// A test failed, or a strict-mode skip.
    Failed,
    /// The file has errors.
    Invalid,
    /// Not run, with a reason.
    Skipped,
    /// Validated, tests not run (`zip`/`upload --skip-tests`).
    Validated,
}

impl Status {
    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Skipped => "skipped",
            Status::Validated => "validated",
        }
    }
}

/// What an alert function returned, as compact text. A run keeps one per
/// function of every matching test until it reports, and a JSON value (an
/// order-keeping map for the alert context) takes several times the room
/// of its text.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionOutput {
    /// A string, as returned.
    Text(Box<str>),
    /// Anything else, as compact JSON.
    Json(Box<str>),
}

impl FunctionOutput {
    /// The output of a value: a string as itself, anything else as JSON.
    pub fn of(value: &serde_json::Value) -> FunctionOutput {
        match value {
            serde_json::Value::String(s) => FunctionOutput::Text(s.as_str().into()),
            // `to_string` of a value writes through `fmt`, a byte at a time.
            other => FunctionOutput::Json(
                serde_json::to_string(other)
                    .unwrap_or_else(|_| other.to_string())
                    .into(),
            ),
        }
    }

    /// As printed: a string as itself, anything else as compact JSON.
    pub fn shown(&self) -> &str {
        match self {
            FunctionOutput::Text(s) | FunctionOutput::Json(s) => s,
        }
    }

    /// The value again, for a format that embeds it. The JSON text was
    /// written by `serde_json`, so it reads back; were it not to, the text
    /// stands in as a string.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            FunctionOutput::Text(s) => serde_json::Value::String(s.to_string()),
            FunctionOutput::Json(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
            }
        }
    }
}

/// An alert function's output in a test report.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionReport {
    /// `title`, `dedup`, `severity` or `alertContext`.
    pub name: &'static str,
    /// A string, or the alert context object.
    pub output: FunctionOutput,
    /// Whether it printed `[PASS]` (a Python function can fail: it raised,
    /// or returned what the test does not expect).
    pub passed: bool,
    /// The exception a Python function raised, printed instead of the output.
    pub error: Option<String>,
}

impl FunctionReport {
    /// A function that ran and passed.
    pub fn ok(name: &'static str, output: serde_json::Value) -> FunctionReport {
        FunctionReport {
            name,
            output: FunctionOutput::of(&output),
            passed: true,
            error: None,
        }
    }

    /// Whether this is the detection's own function (`rule`, `policy`),
    /// listed first for Python detections.
    pub fn is_matcher(&self) -> bool {
        matches!(self.name, "rule" | "policy")
    }
}

/// One unit test's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TestReport {
    /// `Name`.
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub status: Status,
    /// `ExpectedResult`.
    pub expected: bool,
    /// The detection's result; `None` when skipped or not evaluable.
    pub matched: Option<bool>,
    /// Alert functions, for matched tests.
    pub functions: Vec<FunctionReport>,
    /// Base RuleID for inherited tests.
    pub inherited_from: Option<String>,
    /// Why the test could not be evaluated.
    pub error: Option<String>,
    /// Explanation lines (`--explain`, failing tests).
    pub explain: Vec<String>,
    /// What a Python test printed.
    pub stdout: Option<String>,
    /// How long a Python test took.
    pub duration: Option<std::time::Duration>,
}

impl TestReport {
    /// A test with nothing evaluated yet: no result, functions, error or
    /// explanation.
    pub fn new(name: String, status: Status, expected: bool) -> TestReport {
        TestReport {
            name,
            status,
            expected,
            matched: None,
            functions: Vec::new(),
            inherited_from: None,
            error: None,
            explain: Vec::new(),
            stdout: None,
            duration: None,
        }
    }
}

/// One item (detection or invalid file).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReport {
    /// The ID, when known.
    pub id: Option<String>,
    /// `AnalysisType` as written, when known.
    pub analysis_type: Option<String>,
    /// Display path.
    pub file: String,
    /// Final state.
    pub status: Status,
    /// Skip reason (also for strict-mode failures).
    pub reason: Option<String>,
    /// `BaseDetection` of a derived detection.
    pub base: Option<String>,
    /// Tests.
    pub tests: Vec<TestReport>,
    /// Why `--changed-since` selected the item; empty without it.
    pub selected_because: Vec<crate::resolve::Why>,
}

/// Counts of unit tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    /// Passed tests.
    pub passed: usize,
    /// Failed tests.
    pub failed: usize,
    /// Tests not run (their item was skipped).
    pub skipped: usize,
}

impl TestCounts {
    /// `passed + failed + skipped`.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

/// Counts of the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed items.
    pub passed: usize,
    /// Failed items.
    pub failed: usize,
    /// Invalid items.
    pub invalid: usize,
    /// Skipped items.
    pub skipped: usize,
    /// Validated items whose tests were not run.
    pub validated: usize,
}

impl Summary {
    /// `passed + failed + invalid + skipped`.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.invalid + self.skipped + self.validated
    }
}

/// Everything a command reports.
#[derive(Debug)]
pub struct RunReport<'a> {
    /// `validate`, `test`, ...
    pub command: &'static str,
    /// Search roots as given.
    pub paths: Vec<String>,
    /// Items in the order of cli-and-settings §1.6.
    pub items: &'a [ItemReport],
    /// Diagnostics to show, sorted.
    pub diagnostics: Vec<&'a Diagnostic>,
    /// Sources, to render positions and lines.
    pub sources: &'a [SourceFile],
    /// Wall time.
    pub duration_ms: u128,
    /// Lines for `--verbose` (gated files and the like).
    pub notes: Vec<String>,
    /// Why the run failed when no diagnostic says it (nothing to test,
    /// filters matched nothing).
    pub problem: Option<String>,
    /// The project root, absolute (SARIF locations are relative to it).
    pub root: std::path::PathBuf,
}

impl RunReport<'_> {
    /// Counts items by state.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for i in self.items {
            match i.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Invalid => s.invalid += 1,
                Status::Skipped => s.skipped += 1,
                Status::Validated => s.validated += 1,
            }
        }
        s
    }

    /// Counts unit tests by state; `None` for a report without tests
    /// (`validate`).
    pub fn test_counts(&self) -> Option<TestCounts> {
        if self.command != "test" && self.items.iter().all(|i| i.tests.is_empty()) {
            return None;
        }
        let mut c = TestCounts::default();
        for t in self.items.iter().flat_map(|i| &i.tests) {
            match t.status {
                Status::Passed => c.passed += 1,
                Status::Failed => c.failed += 1,
                Status::Invalid | Status::Skipped | Status::Validated => c.skipped += 1,
            }
        }
        Some(c)
    }

    /// Skipped items counted by reason, the most frequent first (then by
    /// reason).
    pub fn skip_reasons(&self) -> Vec<(&str, usize)> {
        let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for i in self.items.iter().filter(|i| i.status == Status::Skipped) {
            *by.entry(i.reason.as_deref().unwrap_or("no reason")).or_default() += 1;
        }
        let mut v: Vec<(&str, usize)> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// `(path, line, column)` of a diagnostic; `None` values when global.
    pub fn position(&self, d: &Diagnostic) -> (Option<&str>, Option<u32>, Option<u32>) {
        position(d, self.sources)
    }
}

/// `(path, line, column)` of a diagnostic about `sources`; `None` values
/// when global, and no line or column for one about a whole file (line 0,
/// which no format can show as a position).
pub fn position<'s>(d: &Diagnostic, sources: &'s [SourceFile]) -> (Option<&'s str>, Option<u32>, Option<u32>) {
    match &d.primary {
        Some(l) if l.span.start.line == 0 => (sources.get(l.file.0 as usize).map(|s| s.display.as_str()), None, None),
        Some(l) => {
            let path = sources.get(l.file.0 as usize).map(|s| s.display.as_str());
            (path, Some(l.span.start.line), Some(l.span.start.col))
        }
        None => (None, None, None),
    }
}

/// How human output looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Only failing tests (`--show-failures-only`).
    pub failures_only: bool,
    /// Passing first, then failing, by ID (`--sort-test-results`).
    pub sort: bool,
    /// `--verbose`.
    pub verbose: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--slowest N`: list the N slowest timed tests.
    pub slowest: Option<usize>,
}

/// Writes a report in a format.
///
/// # Errors
/// Writing to `out` failed.
pub fn render(report: &RunReport<'_>, format: Format, style: Style, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::render(report, style, out),
        Format::Json => json::render(report, out),
        Format::Junit => junit::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Github => github::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Codequality => codequality::render(report, out),
    }
}

/// The one-line summary shared by the human and github formats: items by
/// state, then (for `test`) unit tests by state, then the run time.
pub fn summary_line(report: &RunReport<'_>) -> String {
    let s = report.summary();
    let validated = if s.validated > 0 {
        format!("Validated: {} (tests not run)  ", s.validated)
    } else {
        String::new()
    };
    let tests = report.test_counts().map_or_else(String::new, |t| {
        format!(
            ", {} {}: {} passed, {} failed, {} skipped",
            t.total(),
            plural(t.total(), "test", "tests"),
            t.passed,
            t.failed,
            t.skipped
        )
    });
    format!(
        "Passed: {}  Failed: {}  Invalid: {}  Skipped: {}  {validated}(total {}{tests}, {} ms)",
        s.passed,
        s.failed,
        s.invalid,
        s.skipped,
        s.total(),
        report.duration_ms
    )
}

/// `one` for 1, `many` otherwise.
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod function_output_tests {
    use super::FunctionOutput;
    use serde_json::json;

    #[test]
    fn strings_show_as_themselves_and_values_as_compact_json() {
        let s = FunctionOutput::of(&json!("a \"b\""));
        assert_eq!(s.shown(), "a \"b\"");
        assert_eq!(s.to_value(), json!("a \"b\""));
        let v = json!({"z": 1, "a": [0.1, 1e300, -0.0, 18446744073709551615u64], "m": null});
        let o = FunctionOutput::of(&v);
        assert_eq!(
            o.shown(),
            r#"{"z":1,"a":[0.1,1e+300,-0.0,18446744073709551615],"m":null}"#
        );
        // Key order and every float's bits come back.
        assert_eq!(o.to_value().to_string(), v.to_string());
        for f in [
            0.1f64,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            5e-324,
            0.30000000000000004,
        ] {
            let back = FunctionOutput::of(&json!(f)).to_value();
            assert_eq!(back.as_f64().map(f64::to_bits), Some(f.to_bits()), "{f}");
        }
    }
}
