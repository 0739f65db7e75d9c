//! Which packages a repository's Python detections need: the
//! `requirements.txt`, the `[packages]` of a `Pipfile`, or the dependencies
//! of a `pyproject.toml`, as pip requirement strings (`detect python-env`
//! installs them). Entries pip cannot take are left out with the reason,
//! located in the file.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::source::{FileId, Pos, Span};
/// Which kind of dependency file the packages came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `requirements.txt`, passed to pip as `-r`.
    Requirements,
    /// The `[packages]` of a `Pipfile`.
    Pipfile,
    /// `[project].dependencies` or `[tool.poetry.dependencies]` of a
    /// `pyproject.toml`.
    Pyproject,
}

impl Kind {
    /// The file name, in the order they are looked for.
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Requirements => "requirements.txt",
            Kind::Pipfile => "Pipfile",
            Kind::Pyproject => "pyproject.toml",
        }
    }
}

/// The dependency file of the repository and what pip gets from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packages {
    /// The file used, or `None` (only panther-core is installed).
    pub kind: Option<Kind>,
    /// Its bytes (hashed).
    pub bytes: Vec<u8>,
    /// Arguments for `pip install`: requirement strings, or `-r FILE`.
    pub pip_args: Vec<String>,
    /// The requirements named (for the report; empty for requirements.txt).
    pub requirements: Vec<String>,
    /// Entries left out, with why (`panther-analysis-tool`, forms pip cannot take).
    pub left_out: Vec<LeftOut>,
}

/// A dependency entry not passed to pip.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    /// The package name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// Why.
    pub why: String,
    /// Whether that is worth a warning (an unsupported form) or only a
    /// note (`panther-analysis-tool`, `python`).
    pub warn: bool,
}

impl LeftOut {
    /// PAT itself, which the workers do not need (a note, not a warning).
    fn pat(name: &str, span: Span) -> LeftOut {
        LeftOut {
            name: name.to_owned(),
            span,
            why: "the workers do not need it".to_owned(),
            warn: false,
        }
    }
}

/// Finds the dependency file at `root` and what pip gets from it: the
/// first of `requirements.txt`, `Pipfile` and a `pyproject.toml` with a
/// dependency table. `Err` inside: the file and why it cannot be read.
///
/// # Errors
/// The file exists but cannot be read.
pub fn find_packages(root: &Path) -> Result<std::result::Result<Packages, (PathBuf, Diagnostic)>> {
    for kind in [Kind::Requirements, Kind::Pipfile, Kind::Pyproject] {
        let path = root.join(kind.file_name());
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let parsed = match kind {
            Kind::Requirements => Ok(Some(Packages {
                kind: Some(kind),
                pip_args: vec!["-r".to_owned(), path.to_string_lossy().into_owned()],
                requirements: Vec::new(),
                left_out: Vec::new(),
                bytes,
            })),
            Kind::Pipfile | Kind::Pyproject => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let r = if kind == Kind::Pipfile {
                    pipfile(&text).map(Some)
                } else {
                    pyproject(&text)
                };
                r.map(|o| {
                    o.map(|(requirements, left_out)| Packages {
                        kind: Some(kind),
                        pip_args: pip_args(&requirements),
                        requirements,
                        left_out,
                        bytes,
                    })
                })
            }
        };
        match parsed {
            Ok(Some(p)) => return Ok(Ok(p)),
            Ok(None) => {}
            Err(d) => return Ok(Err((path, *d))),
        }
    }
    Ok(Ok(Packages {
        kind: None,
        bytes: Vec::new(),
        pip_args: Vec::new(),
        requirements: Vec::new(),
        left_out: Vec::new(),
    }))
}

/// Requirements as pip arguments: `-e PATH` splits in two.
fn pip_args(requirements: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for r in requirements {
        match r.strip_prefix("-e ") {
            Some(p) => {
                out.push("-e".to_owned());
                out.push(p.to_owned());
            }
            None => out.push(r.clone()),
        }
    }
    out
}

type Parsed = (Vec<String>, Vec<LeftOut>);

fn parse_toml(text: &str) -> std::result::Result<toml::Table, Box<Diagnostic>> {
    text.parse::<toml::Table>().map_err(|e| {
        let span = e.span().map_or(Span::START, |r| offsets_span(text, r.start, r.end));
        let msg = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
        Box::new(Diagnostic::new(
            Code::PythonEnvSyntax,
            FileId(0),
            span,
            format!("not valid TOML: {msg}"),
        ))
    })
}

/// The pip requirements of a Pipfile's `[packages]`.
///
/// # Errors
/// The text is not TOML (a diagnostic on file 0).
pub fn pipfile(text: &str) -> std::result::Result<Parsed, Box<Diagnostic>> {
    let table = parse_toml(text)?;
    let mut reqs = Vec::new();
    let mut left = Vec::new();
    let Some(packages) = table.get("packages").and_then(toml::Value::as_table) else {
        return Ok((reqs, left));
    };
    for (name, value) in packages {
        let span = key_span(text, "packages", name);
        if is_pat(name) {
            left.push(LeftOut::pat(name, span));
            continue;
        }
        match pipfile_entry(name, value) {
            Ok(r) => reqs.push(r),
            Err(why) => left.push(LeftOut {
                name: name.clone(),
                span,
                why,
                warn: true,
            }),
        }
    }
    Ok((reqs, left))
}

/// Marker names a Pipfile entry may carry as keys.
const MARKER_KEYS: &[&str] = &[
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
];

fn pipfile_entry(name: &str, value: &toml::Value) -> std::result::Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(format!("{name}{}", pipfile_version(s))),
        toml::Value::Table(t) => {
            let extras = extras(t)?;
            let mut markers: Vec<String> = Vec::new();
            if let Some(m) = t.get("markers") {
                markers.push(m.as_str().ok_or("`markers` is not a string")?.to_owned());
            }
            for key in MARKER_KEYS {
                if let Some(v) = t.get(*key) {
                    let v = v.as_str().ok_or_else(|| format!("`{key}` is not a string"))?;
                    markers.push(format!("{key} {}", v.trim()));
                }
            }
            let markers = join_markers(&markers);
            if let Some(url) = t.get("git").and_then(toml::Value::as_str) {
                let url = if url.starts_with("git+") {
                    url.to_owned()
                } else {
                    format!("git+{url}")
                };
                let at = t.get("ref").and_then(toml::Value::as_str).map(|r| format!("@{r}"));
                return Ok(format!("{name}{extras} @ {url}{}{markers}", at.unwrap_or_default()));
            }
            if let Some(p) = t.get("path").and_then(toml::Value::as_str) {
                if t.get("editable").and_then(toml::Value::as_bool) == Some(true) {
                    return Ok(format!("-e {p}"));
                }
                return Ok(format!("{p}{markers}"));
            }
            if let Some(f) = t.get("file").and_then(toml::Value::as_str) {
                return Ok(format!("{name}{extras} @ {f}{markers}"));
            }
            let version = match t.get("version") {
                None => String::new(),
                Some(v) => pipfile_version(v.as_str().ok_or("`version` is not a string")?),
            };
            Ok(format!("{name}{extras}{version}{markers}"))
        }
        _ => Err("its value is neither a version string nor a table".to_owned()),
    }
}

/// A Pipfile version: `*` is any, an operator is kept, a bare version is `==`.
fn pipfile_version(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s == "*" {
        String::new()
    } else if s.starts_with(['=', '!', '<', '>', '~']) {
        s.to_owned()
    } else {
        format!("=={s}")
    }
}

fn extras(t: &toml::Table) -> std::result::Result<String, String> {
    let Some(v) = t.get("extras") else {
        return Ok(String::new());
    };
    let list = v.as_array().ok_or("`extras` is not a list")?;
    let names: Option<Vec<&str>> = list.iter().map(toml::Value::as_str).collect();
    let names = names.ok_or("`extras` holds a value that is not a string")?;
    Ok(if names.is_empty() {
        String::new()
    } else {
        format!("[{}]", names.join(","))
    })
}

fn join_markers(markers: &[String]) -> String {
    match markers {
        [] => String::new(),
        [one] => format!("; {one}"),
        many => format!(
            "; {}",
            many.iter().map(|m| format!("({m})")).collect::<Vec<_>>().join(" and ")
        ),
    }
}

/// The pip requirements of a `pyproject.toml`: `[project].dependencies`,
/// else Poetry's `[tool.poetry.dependencies]` without `python`. `None`: the
/// file has neither (it only configures tools).
///
/// # Errors
/// The text is not TOML (a diagnostic on file 0).
pub fn pyproject(text: &str) -> std::result::Result<Option<Parsed>, Box<Diagnostic>> {
    let table = parse_toml(text)?;
    let mut reqs = Vec::new();
    let mut left = Vec::new();
    if let Some(deps) = table
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_array)
    {
        for d in deps {
            let Some(s) = d.as_str() else { continue };
            let name = requirement_name(s);
            if is_pat(name) {
                left.push(LeftOut {
                    name: name.to_owned(),
                    span: value_span(text, s),
                    why: "the workers do not need it".to_owned(),
                    warn: false,
                });
            } else {
                reqs.push(s.trim().to_owned());
            }
        }
        return Ok(Some((reqs, left)));
    }
    let Some(deps) = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(toml::Value::as_table)
    else {
        return Ok(None);
    };
    for (name, value) in deps {
        let span = key_span(text, "tool.poetry.dependencies", name);
        if name.eq_ignore_ascii_case("python") {
            continue;
        }
        if is_pat(name) {
            left.push(LeftOut::pat(name, span));
            continue;
        }
        match poetry_entry(name, value) {
            Ok(Some(r)) => reqs.push(r),
            Ok(None) => left.push(LeftOut {
                name: name.clone(),
                span,
                why: "it is optional (an extra)".to_owned(),
                warn: false,
            }),
            Err(why) => left.push(LeftOut {
                name: name.clone(),
                span,
                why,
                warn: true,
            }),
        }
    }
    Ok(Some((reqs, left)))
}

fn poetry_entry(name: &str, value: &toml::Value) -> std::result::Result<Option<String>, String> {
    match value {
        toml::Value::String(s) => Ok(Some(format!("{name}{}", poetry_constraint(s)?))),
        toml::Value::Table(t) => {
            if t.get("optional").and_then(toml::Value::as_bool) == Some(true) {
                return Ok(None);
            }
            let extras = extras(t)?;
            let mut markers = Vec::new();
            if let Some(m) = t.get("markers") {
                markers.push(m.as_str().ok_or("`markers` is not a string")?.to_owned());
            }
            if let Some(p) = t.get("python") {
                let p = p.as_str().ok_or("`python` is not a string")?;
                let spec = poetry_constraint(p)?;
                let clauses: Vec<String> = spec
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(|c| {
                        let op_end = c.find(|ch: char| ch.is_ascii_digit()).unwrap_or(c.len());
                        format!("python_version {} \"{}\"", &c[..op_end], &c[op_end..])
                    })
                    .collect();
                if !clauses.is_empty() {
                    markers.push(clauses.join(" and "));
                }
            }
            let markers = join_markers(&markers);
            if let Some(url) = t.get("git").and_then(toml::Value::as_str) {
                let at = ["rev", "tag", "branch"]
                    .iter()
                    .find_map(|k| t.get(*k).and_then(toml::Value::as_str))
                    .map(|r| format!("@{r}"));
                let url = if url.starts_with("git+") {
                    url.to_owned()
                } else {
                    format!("git+{url}")
                };
                return Ok(Some(format!(
                    "{name}{extras} @ {url}{}{markers}",
                    at.unwrap_or_default()
                )));
            }
            if let Some(p) = t.get("path").and_then(toml::Value::as_str) {
                if t.get("develop").and_then(toml::Value::as_bool) == Some(true) {
                    return Ok(Some(format!("-e {p}")));
                }
                return Ok(Some(format!("{p}{markers}")));
            }
            if let Some(u) = t.get("url").and_then(toml::Value::as_str) {
                return Ok(Some(format!("{name}{extras} @ {u}{markers}")));
            }
            let version = match t.get("version") {
                None => String::new(),
                Some(v) => poetry_constraint(v.as_str().ok_or("`version` is not a string")?)?,
            };
            Ok(Some(format!("{name}{extras}{version}{markers}")))
        }
        toml::Value::Array(_) => {
            Err("a list of constraints (one per Python version) has no single pip form".to_owned())
        }
        _ => Err("its value is neither a version string nor a table".to_owned()),
    }
}

/// A Poetry constraint as a PEP 440 specifier: `^1.2` is `>=1.2,<2`, `~1.2`
/// is `>=1.2,<1.3`, a bare version is `==`, `*` is any.
///
/// # Errors
/// `||` (an alternative), which PEP 440 cannot write.
pub fn poetry_constraint(s: &str) -> std::result::Result<String, String> {
    if s.contains("||") || s.contains(" | ") {
        return Err(format!(
            "the constraint `{s}` has alternatives (`||`), which pip cannot take"
        ));
    }
    let mut out = Vec::new();
    for clause in s.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let clause: String = clause.chars().filter(|c| !c.is_whitespace()).collect();
        if clause == "*" {
            continue;
        }
        if let Some(v) = clause.strip_prefix('^') {
            out.push(bounded(v, caret_index(v)));
        } else if let Some(v) = clause.strip_prefix('~').filter(|v| !v.starts_with('=')) {
            let n = v.split('.').count();
            out.push(bounded(v, if n >= 2 { 1 } else { 0 }));
        } else if clause.starts_with(['=', '!', '<', '>', '~']) {
            out.push(clause);
        } else {
            out.push(format!("=={clause}"));
        }
    }
    Ok(out.join(","))
}

/// The part a caret bumps: the first non-zero one (the last if all are 0).
fn caret_index(v: &str) -> usize {
    let parts: Vec<u64> = v.split('.').map(leading_number).collect();
    parts
        .iter()
        .position(|&p| p != 0)
        .unwrap_or(parts.len().saturating_sub(1))
}

fn leading_number(part: &str) -> u64 {
    let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// `>=v,<upper` where `upper` keeps the parts before `i` and bumps part `i`.
fn bounded(v: &str, i: usize) -> String {
    let parts: Vec<u64> = v.split('.').map(leading_number).collect();
    let mut upper: Vec<String> = parts.iter().take(i).map(u64::to_string).collect();
    upper.push((parts.get(i).copied().unwrap_or(0) + 1).to_string());
    format!(">={v},<{}", upper.join("."))
}

/// The project name at the start of a PEP 508 requirement.
fn requirement_name(s: &str) -> &str {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(s.len());
    &s[..end]
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn is_pat(name: &str) -> bool {
    normalize(name) == "panther-analysis-tool"
}

/// The line of `key = ...` inside the table `[section]` (by text; line 0,
/// the whole file, when not found).
fn key_span(text: &str, section: &str, key: &str) -> Span {
    let header = format!("[{section}]");
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t.replace(' ', "") == header;
            continue;
        }
        if !inside {
            continue;
        }
        let bare = t.trim_start_matches(['"', '\'']);
        if let Some(rest) = bare.strip_prefix(key) {
            let rest = rest.trim_start_matches(['"', '\'']).trim_start();
            if rest.starts_with('=') {
                let col = line.len() - line.trim_start().len();
                let key_len = t.split('=').next().unwrap_or(t).trim_end().chars().count();
                return line_span(i, col, key_len.max(1));
            }
        }
    }
    Span::default()
}

/// The line where the string `value` is written (line 0 when not found).
fn value_span(text: &str, value: &str) -> Span {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(value) {
            return line_span(i, col, value.chars().count());
        }
    }
    Span::default()
}

/// The span of the byte range `start..end` of `text` (1-based lines,
/// columns in characters).
fn offsets_span(text: &str, start: usize, end: usize) -> Span {
    let pos = |at: usize| {
        let at = at.min(text.len());
        let before = text.get(..at).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    };
    Span {
        start: pos(start),
        end: pos(end.max(start)),
    }
}

fn line_span(line0: usize, byte_col: usize, width: usize) -> Span {
    let line = u32::try_from(line0 + 1).unwrap_or(u32::MAX);
    let col = u32::try_from(byte_col + 1).unwrap_or(u32::MAX);
    Span {
        start: Pos { line, col },
        end: Pos {
            line,
            col: col.saturating_add(u32::try_from(width).unwrap_or(0)),
        },
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipfile_packages_become_pip_requirements() {
        let text = r#"
[[source]]
url = "https://pypi.org/simple"

[dev-packages]
black = "*"

[packages]
policyuniverse = "==1.5.1.20230817"
requests = ">=2.33.1,<3"
typing-extensions = "*"
panther-analysis-tool = "~=1.6.3"
bare = "1.2"
withtable = {version = "~=2.0", extras = ["socks", "security"]}
anyversion = {version = "*"}
marked = {version = ">=1", markers = "os_name == 'posix'", sys_platform = "== 'linux'"}
fromgit = {git = "https://example.com/x.git", ref = "v1"}
local = {path = "./helpers", editable = true}
weird = 3
"#;
        let (reqs, left) = pipfile(text).unwrap();
        assert_eq!(
            reqs,
            [
                "policyuniverse==1.5.1.20230817",
                "requests>=2.33.1,<3",
                "typing-extensions",
                "bare==1.2",
                "withtable[socks,security]~=2.0",
                "anyversion",
                "marked>=1; (os_name == 'posix') and (sys_platform == 'linux')",
                "fromgit @ git+https://example.com/x.git@v1",
                "-e ./helpers",
            ]
        );
        let names: Vec<(&str, bool, u32)> = left
            .iter()
            .map(|l| (l.name.as_str(), l.warn, l.span.start.line))
            .collect();
        // Line numbers counted by hand in the text above (line 1 is the empty one after `r#"`).
        assert_eq!(names, [("panther-analysis-tool", false, 12), ("weird", true, 19)]);
        assert_eq!(pip_args(&reqs[8..]), ["-e", "./helpers"]);
    }

    #[test]
    fn a_pipfile_without_packages_names_none_and_bad_toml_is_located() {
        assert_eq!(pipfile("[dev-packages]\nx = \"*\"\n").unwrap(), (vec![], vec![]));
        let d = pipfile("[packages]\nrequests = \n").unwrap_err();
        assert_eq!(d.code, Code::PythonEnvSyntax);
        let at = d.primary.as_ref().map(|l| l.span.start.line);
        assert_eq!(at, Some(2));
    }

    #[test]
    fn pyproject_pep621_dependencies_are_taken_as_written() {
        let text = "[project]\nname = \"x\"\ndependencies = [\n  \"requests>=2\",\n  \"panther_analysis_tool==1.11.1\",\n  \"pycountry; python_version >= '3.9'\",\n]\n";
        let (reqs, left) = pyproject(text).unwrap().unwrap();
        assert_eq!(reqs, ["requests>=2", "pycountry; python_version >= '3.9'"]);
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].name.as_str(), left[0].span.start.line),
            ("panther_analysis_tool", 5)
        );
    }

    #[test]
    fn poetry_dependencies_lose_python_and_get_pep440_constraints() {
        let text = r#"
[tool.poetry.dependencies]
python = "^3.11"
caret = "^1.2.3"
caretzero = "^0.2.3"
tilde = "~1.2"
exact = "1.4"
any = "*"
ranged = ">=1.0, <1.5"
extra = {version = "^2.0", extras = ["a"], python = ">=3.9"}
opt = {version = "*", optional = true}
alt = "^1 || ^2"
"#;
        let (reqs, left) = pyproject(text).unwrap().unwrap();
        assert_eq!(
            reqs,
            [
                "caret>=1.2.3,<2",
                "caretzero>=0.2.3,<0.3",
                "tilde>=1.2,<1.3",
                "exact==1.4",
                "any",
                "ranged>=1.0,<1.5",
                "extra[a]>=2.0,<3; python_version >= \"3.9\"",
            ]
        );
        let names: Vec<(&str, bool)> = left.iter().map(|l| (l.name.as_str(), l.warn)).collect();
        assert_eq!(names, [("opt", false), ("alt", true)]);
        assert_eq!(left[1].span.start.line, 12);
    }

    #[test]
    fn poetry_carets_and_tildes() {
        let c = |s: &str| poetry_constraint(s).unwrap();
        assert_eq!(c("^0.0.3"), ">=0.0.3,<0.0.4");
        assert_eq!(c("^0"), ">=0,<1");
        assert_eq!(c("^0.0"), ">=0.0,<0.1");
        assert_eq!(c("^2"), ">=2,<3");
        assert_eq!(c("~1"), ">=1,<2");
        assert_eq!(c("~1.2.3"), ">=1.2.3,<1.3");
        assert_eq!(c("~=1.2"), "~=1.2");
        assert_eq!(c("1.2.*"), "==1.2.*");
    }

    #[test]
    fn a_tool_only_pyproject_is_not_a_dependency_file() {
        // panther-analysis's own pyproject.toml configures black and isort only.
        let text = "[tool.black]\nline-length = 100\n\n[tool.isort]\nprofile = \"black\"\n";
        assert_eq!(pyproject(text).unwrap(), None);
    }

    #[test]
    fn the_first_dependency_file_wins_and_requirements_go_to_pip_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("pyproject.toml"), "[tool.black]\nx = 1\n").unwrap();
        let none = find_packages(root).unwrap().unwrap();
        assert_eq!((none.kind, none.pip_args.len()), (None, 0));
        std::fs::write(root.join("Pipfile"), "[packages]\nrequests = \"*\"\n").unwrap();
        let pip = find_packages(root).unwrap().unwrap();
        assert_eq!(
            (pip.kind, pip.pip_args.clone()),
            (Some(Kind::Pipfile), vec!["requests".to_owned()])
        );
        std::fs::write(root.join("requirements.txt"), "requests==2.0\n").unwrap();
        let req = find_packages(root).unwrap().unwrap();
        assert_eq!(req.kind, Some(Kind::Requirements));
        assert_eq!(req.pip_args[0], "-r");
        assert!(req.pip_args[1].ends_with("requirements.txt"));
        assert_eq!(req.bytes, b"requests==2.0\n");
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalize("Panther_Analysis.Tool"), "panther-analysis-tool");
        assert!(is_pat("panther__analysis-tool"));
        assert_eq!(requirement_name("pycountry[x]>=1; os_name=='nt'"), "pycountry");
    }
}
