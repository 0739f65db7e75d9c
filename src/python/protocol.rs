//! What `detect` and a Python worker say to each other: one JSON document
//! per line, requests on the worker's standard input, replies on its
//! standard output (the worker moves both away from the detection's own
//! `print` and `input`).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Deserialize;

/// Where a detection's Python code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Code {
    /// A `.py` file (absolute path).
    Path(PathBuf),
    /// Python source carried in the YAML (`body`).
    Body(String),
}

/// One unit test, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct TestJob {
    /// `Name`.
    pub name: String,
    /// `ExpectedResult`, as JSON text (PAT compares whatever is written).
    pub expected: String,
    /// The `Log` or `Resource`, as JSON text in Python's dialect.
    pub data: String,
    /// `Mocks`, as JSON text, or `None`.
    pub mocks: Option<String>,
    /// `ExpectedDestinations`, when given.
    pub expected_destinations: Option<Vec<String>>,
    /// The verdict of the detection's InlineFilters on this event, when it
    /// has some (evaluated by the native engine).
    pub filter: Option<bool>,
}

/// One detection with the tests to run, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionJob {
    /// `RuleID` or `PolicyID` (the module name).
    pub id: String,
    /// `RULE`, `SCHEDULED_RULE` or `POLICY`.
    pub analysis_type: &'static str,
    /// The code.
    pub code: Code,
    /// `not CreateAlert`, when `CreateAlert` is written.
    pub suppress_alert: Option<bool>,
    /// The tests.
    pub tests: Vec<TestJob>,
}

/// An enabled data model, for the workers' setup.
#[derive(Debug, Clone, PartialEq)]
pub struct DataModelSpec {
    /// `DataModelID`.
    pub id: String,
    /// `LogTypes`.
    pub log_types: Vec<String>,
    /// `Mappings`, as JSON text.
    pub mappings: String,
    /// Its `.py` file, when it has one.
    pub path: Option<PathBuf>,
}

use super::event::string;

fn path(out: &mut String, p: &std::path::Path) {
    string(out, &p.to_string_lossy());
}

/// The `setup` request.
pub fn setup_request(
    globals_dir: &std::path::Path,
    cache_dir: Option<&std::path::Path>,
    data_models: &[DataModelSpec],
) -> String {
    let mut out = String::from("{\"op\":\"setup\",\"globals_dir\":");
    path(&mut out, globals_dir);
    if let Some(c) = cache_dir {
        out.push_str(",\"cache_dir\":");
        path(&mut out, c);
    }
    out.push_str(",\"data_models\":[");
    for (i, dm) in data_models.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        string(&mut out, &dm.id);
        out.push_str(",\"log_types\":[");
        for (j, l) in dm.log_types.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            string(&mut out, l);
        }
        out.push_str("],\"mappings\":");
        out.push_str(&dm.mappings);
        if let Some(p) = &dm.path {
            out.push_str(",\"path\":");
            path(&mut out, p);
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// The `detection` request for the tests at `indices` of `job`.
pub fn detection_request(job: &DetectionJob, indices: &[usize], destinations: &[String]) -> String {
    let mut out = String::from("{\"op\":\"detection\",\"id\":");
    string(&mut out, &job.id);
    let _ = write!(out, ",\"analysis_type\":\"{}\"", job.analysis_type);
    match &job.code {
        Code::Path(p) => {
            out.push_str(",\"path\":");
            path(&mut out, p);
        }
        Code::Body(b) => {
            out.push_str(",\"body\":");
            string(&mut out, b);
        }
    }
    if let Some(s) = job.suppress_alert {
        let _ = write!(out, ",\"suppress_alert\":{s}");
    }
    out.push_str(",\"destinations\":[");
    for (i, d) in destinations.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, d);
    }
    out.push_str("],\"tests\":[");
    for (n, &i) in indices.iter().enumerate() {
        let Some(t) = job.tests.get(i) else { continue };
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"index\":{i},\"name\":");
        string(&mut out, &t.name);
        out.push_str(",\"expected\":");
        out.push_str(&t.expected);
        out.push_str(",\"data\":");
        out.push_str(&t.data);
        if let Some(m) = &t.mocks {
            out.push_str(",\"mocks\":");
            out.push_str(m);
        }
        if let Some(d) = &t.expected_destinations {
            out.push_str(",\"expected_destinations\":[");
            for (j, name) in d.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                string(&mut out, name);
            }
            out.push(']');
        }
        if let Some(f) = t.filter {
            let _ = write!(out, ",\"filter\":{f}");
        }
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

/// What the worker says when it starts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Hello {
    /// `sys.version`, first word.
    pub python: String,
    /// `sys.executable`.
    #[serde(default)]
    pub executable: String,
    /// The installed panther-core version.
    #[serde(default)]
    pub panther_core: Option<String>,
    /// Why panther-core cannot be imported.
    #[serde(default)]
    pub error: Option<String>,
}

/// An exception raised while loading Python code.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LoadError {
    /// The data model ID (setup errors only).
    #[serde(default)]
    pub id: Option<String>,
    /// `Type: message`.
    pub message: String,
    /// The file the exception points at.
    #[serde(default)]
    pub file: Option<String>,
    /// Its line.
    #[serde(default)]
    pub line: Option<u32>,
    /// Its column (syntax errors).
    #[serde(default)]
    pub column: Option<u32>,
    /// The formatted traceback (its tail).
    #[serde(default)]
    pub traceback: String,
}

/// One function's result, as PAT prints it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FunctionResult {
    /// `rule`, `policy`, `title`, `dedup`, `alertContext`, ...
    pub name: String,
    /// The output PAT prints (JSON text for non-strings).
    #[serde(default)]
    pub output: Option<String>,
    /// The error message PAT prints instead.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether PAT prints `[PASS]`.
    pub passed: bool,
}

/// One reply line (every field optional: which are set says which reply).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Reply {
    /// Start-up.
    #[serde(default)]
    pub hello: Option<Hello>,
    /// Setup done.
    #[serde(default)]
    pub ready: Option<bool>,
    /// Data models that failed to load.
    #[serde(default)]
    pub errors: Vec<LoadError>,
    /// The detection's module is loaded.
    #[serde(default)]
    pub loaded: Option<bool>,
    /// The detection's module failed to load.
    #[serde(default)]
    pub setup_error: Option<LoadError>,
    /// A test result: its index.
    #[serde(default)]
    pub test: Option<usize>,
    /// PAT's verdict.
    #[serde(default)]
    pub passed: bool,
    /// `rule()`/`policy()`'s return, when a boolean.
    #[serde(default)]
    pub output: Option<bool>,
    /// Function results, PAT's order.
    #[serde(default)]
    pub functions: Vec<FunctionResult>,
    /// What the test printed.
    #[serde(default)]
    pub stdout: String,
    /// Exceptions that failed the test without a function line of their own.
    #[serde(default)]
    pub hidden: Vec<String>,
    /// Why the test could not run (PAT counts it failed and prints nothing).
    #[serde(default)]
    pub error: Option<String>,
    /// All tests of the detection were sent.
    #[serde(default)]
    pub done: Option<bool>,
    /// The worker cannot go on.
    #[serde(default)]
    pub fatal: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> DetectionJob {
        DetectionJob {
            id: "A.\"B\"".to_owned(),
            analysis_type: "RULE",
            code: Code::Path(PathBuf::from("/r/a.py")),
            suppress_alert: Some(true),
            tests: vec![
                TestJob {
                    name: "one".to_owned(),
                    expected: "true".to_owned(),
                    data: "{\"x\":NaN}".to_owned(),
                    mocks: None,
                    expected_destinations: Some(vec!["Slack".to_owned()]),
                    filter: Some(false),
                },
                TestJob {
                    name: "two".to_owned(),
                    expected: "false".to_owned(),
                    data: "{}".to_owned(),
                    mocks: Some("[{\"objectName\":\"f\",\"returnValue\":true}]".to_owned()),
                    expected_destinations: None,
                    filter: None,
                },
            ],
        }
    }

    #[test]
    fn a_detection_request_is_one_line_with_the_chosen_tests() {
        let line = detection_request(&job(), &[1], &["Pager".to_owned()]);
        assert!(line.ends_with("]}\n") && line.matches('\n').count() == 1);
        assert!(line.contains("\"id\":\"A.\\\"B\\\"\""));
        assert!(line.contains("\"suppress_alert\":true"));
        assert!(line.contains("\"destinations\":[\"Pager\"]"));
        assert!(line.contains("{\"index\":1,\"name\":\"two\""));
        assert!(!line.contains("\"one\""));
        assert!(line.contains("\"mocks\":[{\"objectName\""));
    }

    #[test]
    fn a_test_result_reply_parses() {
        let r: Reply = serde_json::from_str(
            r#"{"test":0,"passed":false,"output":true,"functions":[{"name":"rule","output":"true","error":null,"passed":true},{"name":"title","output":null,"error":"KeyError: 'x'","passed":false}],"stdout":"hi\n"}"#,
        )
        .unwrap_or_default();
        assert_eq!(r.test, Some(0));
        assert_eq!(r.functions.len(), 2);
        assert_eq!(r.functions[1].error.as_deref(), Some("KeyError: 'x'"));
        assert_eq!(r.stdout, "hi\n");
    }
}
