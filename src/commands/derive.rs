//! `detect derive`: scaffold a derived detection of a base rule
//! (cli-and-settings §6.3, derived-detections §10).
//!
//! The generated file holds `AnalysisType: rule`, the new `RuleID`,
//! `BaseDetection`, an explicit `Enabled: true` (so the detection keeps
//! running when its base is disabled), the overrides given with `--set`,
//! and every other overridable key as a commented-out line with the base's
//! current value. It has no logic keys and no `Tests` key, so the base's
//! tests are inherited. Before anything is written the file is loaded like
//! any detection file, so `derive` never writes a file `validate` rejects.
//!
//! `--disable-base` also sets `Enabled: false` in the base file with the
//! minimal edit of [`resolve::disable_in_text`].
//!
//! With `--remote`, a `BASE_ID` that is not among the loaded files is
//! looked up on the Panther instance (upload-protocol §4.8). The instance
//! returns only the base's Python body and tests, so the overridable keys
//! are written as comments without values, and there is no effective
//! detection to diff. A local base never causes a request.
//!
//! Exit codes: 0 done; 1 the base is not a local rule (nor, with
//! `--remote`, on the instance), or the output file exists (without
//! `--force`); 2 a bad flag (`--set` key or value, `--id`), or `--remote`
//! without a token or host; 3 the lookup failed.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::OutputArgs;
use crate::cli::derive::DeriveArgs;
use crate::commands::connection::report_remote_failure;
use crate::commands::context::Context;
use crate::commands::remote_bases::{self, Lookup};
use crate::commands::show::{emit, fail};
use crate::diagnostic::{Severity, did_you_mean};
use crate::error::{Error, Result};
use crate::exit;
use crate::load::{Loaded, load_file};
use crate::model::{Analysis, AnalysisType, Level};
use crate::panther_api::RemoteBase;
use crate::project::Project;
use crate::resolve::{self, Field, Index, OVERRIDABLE};
use crate::source::{FileId, Span};
use crate::yaml::{self, Node, NodeKind};

/// How a `--set` value is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Bool,
    Level,
    Int,
    Text,
    TextList,
    Mapping,
    List,
}

fn value_kind(key: &str) -> Option<ValueKind> {
    Some(match key {
        "Enabled" | "CreateAlert" | "OnlyUseBaseRiskScore" => ValueKind::Bool,
        "Severity" => ValueKind::Level,
        "DedupPeriodMinutes" | "Threshold" => ValueKind::Int,
        "Description" | "DisplayName" | "Runbook" | "Reference" | "AlertTitle" => ValueKind::Text,
        "Tags" | "OutputIds" | "SummaryAttributes" => ValueKind::TextList,
        "Reports" => ValueKind::Mapping,
        "InlineFilters" | "DynamicSeverities" | "AlertContext" | "GroupBy" => ValueKind::List,
        _ => return None,
    })
}

fn node(kind: NodeKind) -> Node {
    Node {
        span: Span::default(),
        kind,
    }
}

/// Parses YAML text given on the command line.
fn yaml_value(key: &str, text: &str) -> Result<Node> {
    match yaml::parse(text) {
        Ok(doc) => Ok(doc.root.unwrap_or_else(|| node(NodeKind::Null))),
        Err(e) => Err(Error::Usage(format!(
            "--set {key}: the value is not valid YAML: {}",
            e.message
        ))),
    }
}

/// Types one `--set KEY=VALUE` (derived-detections §2.2).
fn parse_set(raw: &str) -> Result<(&'static str, Node)> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(Error::Usage(format!("--set `{raw}` is not in the form KEY=VALUE")));
    };
    let key = key.trim();
    let settable = OVERRIDABLE.iter().copied().filter(|k| *k != "Tests");
    let Some(name) = settable.clone().find(|k| *k == key) else {
        let why = if key == "Tests" {
            "a derived detection inherits the base's tests; add its own `Tests` to the file instead".to_owned()
        } else if matches!(key, "RuleID" | "BaseDetection" | "AnalysisType") {
            "it is written by `derive` itself (use --id for the RuleID)".to_owned()
        } else if matches!(key, "Detection" | "Filename" | "LogTypes" | "ScheduledQueries") {
            "it defines the logic, which always comes from the base".to_owned()
        } else {
            let mut why = "only overridable keys can be set".to_owned();
            if let Some(h) = did_you_mean(key, settable.clone()) {
                why = format!("{why}; {h}");
            }
            why
        };
        return Err(Error::Usage(format!(
            "--set: `{key}` cannot be set in a derived detection: {why}"
        )));
    };
    let kind = value_kind(name).unwrap_or(ValueKind::Text);
    let bad = |what: &str| Error::Usage(format!("--set {name}: expected {what}, found `{value}`"));
    let v = match kind {
        ValueKind::Bool => match value.trim().to_lowercase().as_str() {
            "true" => NodeKind::Bool(true),
            "false" => NodeKind::Bool(false),
            _ => return Err(bad("true or false")),
        },
        ValueKind::Level => match Level::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(value.trim())) {
            Some((_, n)) => NodeKind::Str((*n).to_owned()),
            None => return Err(bad("one of Info, Low, Medium, High, Critical")),
        },
        ValueKind::Int => match value.trim().parse::<i64>() {
            Ok(i) => NodeKind::Int(i),
            Err(_) => return Err(bad("an integer")),
        },
        ValueKind::Text => NodeKind::Str(value.to_owned()),
        ValueKind::TextList if value.trim_start().starts_with('[') => {
            let n = yaml_value(name, value)?;
            let ok = n
                .as_seq()
                .is_some_and(|items| items.iter().all(|i| i.as_str().is_some()));
            if !ok {
                return Err(bad("a list of strings"));
            }
            n.kind
        }
        ValueKind::TextList => NodeKind::Seq(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| node(NodeKind::Str(s.to_owned())))
                .collect(),
        ),
        ValueKind::Mapping | ValueKind::List => {
            let n = yaml_value(name, value)?;
            match (&n.kind, kind) {
                (NodeKind::Null, ValueKind::List) => NodeKind::Seq(Vec::new()),
                (NodeKind::Null, _) => NodeKind::Map(Vec::new()),
                (NodeKind::Seq(_), ValueKind::List) | (NodeKind::Map(_), ValueKind::Mapping) => n.kind,
                (_, ValueKind::List) => {
                    return Err(bad("a YAML list, e.g. `[{KeyPath: user, Condition: Exists}]`"));
                }
                _ => return Err(bad("a YAML mapping, e.g. `{MITRE ATT&CK: [TA0001]}`")),
            }
        }
    };
    Ok((name, node(v)))
}

/// Keys that a Python alert function of the base decides.
const FUNCTION_OF: &[(&str, &str)] = &[
    ("Severity", "severity"),
    ("DynamicSeverities", "severity"),
    ("AlertTitle", "title"),
    ("AlertContext", "alert_context"),
    ("GroupBy", "dedup"),
    ("Description", "description"),
    ("Reference", "reference"),
    ("Runbook", "runbook"),
    ("OutputIds", "destinations"),
];

/// Static keys a Python function shadows even when the derived file sets
/// them (derived-detections §4, `derived-override-shadowed`).
const SHADOWED: &[&str] = &["Severity", "Description", "Reference", "Runbook", "OutputIds"];

/// A file name from an ID: characters other than letters, digits, `.`,
/// `_` and `-` become `_`.
fn file_name(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}.yml", stem.trim_matches('.'))
}

fn push_entry(out: &mut String, key: &str, value: &Node) {
    for line in emit::entry(key, value) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// The keys the file sets: `AnalysisType`, `RuleID`, `BaseDetection`,
/// `Enabled: true` (unless `--set`) and the `--set` values, in
/// [`OVERRIDABLE`] order (the last `--set` of a key wins).
fn head(new_id: &str, base_id: &str, sets: &[(&'static str, Node)]) -> String {
    let mut out = String::new();
    push_entry(&mut out, "AnalysisType", &node(NodeKind::Str("rule".to_owned())));
    push_entry(&mut out, "RuleID", &node(NodeKind::Str(new_id.to_owned())));
    push_entry(&mut out, "BaseDetection", &node(NodeKind::Str(base_id.to_owned())));
    if !sets.iter().any(|(k, _)| *k == "Enabled") {
        push_entry(&mut out, "Enabled", &node(NodeKind::Bool(true)));
    }
    for key in OVERRIDABLE {
        if let Some((_, v)) = sets.iter().rev().find(|(k, _)| k == key) {
            push_entry(&mut out, key, v);
        }
    }
    out
}

/// The overridable keys written as comments: every one but `Tests`,
/// `Enabled` (always written) and the `--set` keys.
fn commented_keys<'s>(sets: &'s [(&'static str, Node)]) -> impl Iterator<Item = &'static str> + 's {
    OVERRIDABLE
        .iter()
        .copied()
        .filter(|key| !matches!(*key, "Tests" | "Enabled") && !sets.iter().any(|(k, _)| k == key))
}

/// What a Python alert function of the base does to an override of `key`.
fn function_note(key: &str, functions: &[&str]) -> Option<String> {
    let f = FUNCTION_OF
        .iter()
        .find(|(k, f)| *k == key && functions.contains(f))
        .map(|(_, f)| *f)?;
    Some(if SHADOWED.contains(&key) {
        format!("no effect: the base's {f}() decides")
    } else {
        format!("replaces the base's {f}()")
    })
}

/// `s` when `n` is not 1.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The text of the derived file (derived-detections §10).
fn generate(new_id: &str, base: &Analysis, sets: &[(&'static str, Node)], functions: &[&str]) -> String {
    let base_id = base.id_str();
    let mut out = head(new_id, base_id, sets);
    let _ = write!(
        out,
        "\n# Overridable keys, shown with the current values of the base\n\
         # `{base_id}`. Uncomment a key to override it: the value here\n\
         # replaces the base's whole (lists and filters are not merged).\n\
         # The logic always comes from the base.\n"
    );
    for key in commented_keys(sets) {
        let note = function_note(key, functions);
        let (value, note) = match base.root.get(key) {
            Some(v) => (Some(v.clone()), note),
            None => match resolve::rule_default(key) {
                Some(kind) => (
                    Some(node(kind)),
                    Some(note.map_or("default".to_owned(), |n| format!("default; {n}"))),
                ),
                None => (None, Some(note.unwrap_or_else(|| "not set in the base".to_owned()))),
            },
        };
        let lines = match &value {
            Some(v) => emit::entry(key, v),
            None => vec![format!("{key}:")],
        };
        for (i, line) in lines.iter().enumerate() {
            out.push_str("# ");
            out.push_str(line);
            if let (0, Some(n)) = (i, &note) {
                out.push_str("  # ");
                out.push_str(n);
            }
            out.push('\n');
        }
    }
    let tests = base.rule().map_or(0, |r| resolve::tests(r).len());
    let _ = match tests {
        0 => writeln!(
            out,
            "# Tests: `{base_id}` has none; add a `Tests` list to test this detection."
        ),
        n => writeln!(
            out,
            "# Tests: the {n} test{} of `{base_id}` {} inherited; a `Tests` list here replaces them.",
            plural(n),
            if n == 1 { "is" } else { "are" }
        ),
    };
    out
}

/// What a value of `key` looks like, for the comments of a file whose base
/// values are unknown.
fn value_hint(key: &str) -> &'static str {
    match key {
        "DedupPeriodMinutes" => "minutes",
        "Threshold" => "matches needed for an alert",
        "Reports" => "a mapping of framework to IDs",
        "InlineFilters" => "a list of match expressions",
        "DynamicSeverities" => "a list of {ChangeTo, Conditions}",
        "AlertContext" => "a list of {KeyName, KeyValue}",
        "GroupBy" => "a list of key specifiers",
        _ => match value_kind(key) {
            Some(ValueKind::Bool) => "true or false",
            Some(ValueKind::Level) => "Info, Low, Medium, High or Critical",
            Some(ValueKind::Int) => "an integer",
            Some(ValueKind::TextList) => "a list of strings",
            Some(ValueKind::Mapping) => "a mapping",
            Some(ValueKind::List) => "a list",
            Some(ValueKind::Text) | None => "text",
        },
    }
}

/// The text of a derived file whose base is on the Panther instance: the
/// instance returns only the base's Python body and tests, so the
/// overridable keys are listed without the base's values.
fn generate_remote(
    new_id: &str,
    base_id: &str,
    remote: &RemoteBase,
    sets: &[(&'static str, Node)],
    functions: &[&str],
) -> String {
    let lines = remote.python_body.lines().count();
    let tests = remote.tests.len();
    let mut out = head(new_id, base_id, sets);
    out.push('\n');
    out.push_str(&comment(&format!(
        "The base `{base_id}` is on the Panther instance, not in this repository: \
         a Python rule ({lines} line{}) with {tests} test{}, which `detect` cannot run. \
         The instance returns only its Python body and tests, so the overridable keys \
         below are listed without the base's values. Uncomment a key and give it a value \
         to override it: the value here replaces the base's whole (lists and filters are \
         not merged). The logic always comes from the base.",
        plural(lines),
        plural(tests),
    )));
    for key in commented_keys(sets) {
        let mut note = value_hint(key).to_owned();
        if let Some(n) = function_note(key, functions) {
            note = format!("{note}; {n}");
        }
        let _ = writeln!(out, "# {key}:  # {note}");
    }
    out.push_str(&comment(&match tests {
        0 => format!("Tests: `{base_id}` has none on the instance; add a `Tests` list to test this detection."),
        n => format!(
            "Tests: the {n} test{} of `{base_id}` on the instance {} inherited (`detect` cannot \
             run them); a `Tests` list here replaces them.",
            plural(n),
            if n == 1 { "is" } else { "are" }
        ),
    }));
    out
}

/// `text` as `# ` comment lines of at most 72 characters (a longer word
/// keeps its own line).
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 72 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The effective detection as YAML, without comments, for the diff.
fn render(fields: &[Field]) -> String {
    let mut out = String::new();
    for f in fields {
        push_entry(&mut out, &emit::string(&f.key), &f.value);
    }
    out
}

fn diff(old: &str, new: &str, a: &str, b: &str) -> String {
    similar::udiff::unified_diff(similar::Algorithm::Myers, old, new, 3, Some((a, b)))
}

/// A path for messages: relative to the working directory when below it.
fn shown(path: &Path, cwd: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    abs.strip_prefix(cwd)
        .unwrap_or(&abs)
        .to_string_lossy()
        .replace('\\', "/")
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn warn(line: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {line}");
}

/// Loads a generated file like any detection file: an error means the
/// `--set` values make an invalid detection (a usage error).
fn check(text: &str, cx: &Context) -> Result<Loaded> {
    let loaded = load_file(FileId(0), Some(text), cx.project.load.clone());
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| format!("{}: {}", d.code.name(), d.message))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Usage(format!(
            "the --set values make an invalid detection: {}",
            errors.join("; ")
        )));
    }
    Ok(loaded)
}

/// The folder of a new file whose base is not in the repository: next to
/// a loaded detection that already derives from the same base, else the
/// first search root (its folder when it is a file).
fn remote_out_dir(analyses: &[&Analysis], project: &Project, base_id: &str, cx: &Context) -> PathBuf {
    let sibling = analyses.iter().find(|a| {
        a.rule()
            .and_then(|r| r.base_detection.as_ref())
            .is_some_and(|b| b.value == base_id)
    });
    if let Some(a) = sibling {
        return project
            .source(a.file)
            .path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .to_path_buf();
    }
    let first = PathBuf::from(cx.paths.first().map_or(".", String::as_str));
    if cx.cwd.join(&first).is_file() {
        return first.parent().unwrap_or_else(|| Path::new("")).to_path_buf();
    }
    first
}

/// Looks the base up on the instance: the base, or the exit code of a
/// failure (1 not found, 3 the lookup failed) with its message printed.
fn lookup(args: &DeriveArgs, cx: &Context, hint: Option<String>) -> Result<std::result::Result<RemoteBase, u8>> {
    let base_id = args.base_id.as_str();
    let client = args.api.client(&cx.settings)?;
    let found = remote_bases::fetch(&client, [base_id]).remove(base_id);
    Ok(match found {
        Some(Lookup::Found(b)) => Ok(b),
        Some(Lookup::NotFound) => Err(fail(
            &format!("base detection `{base_id}` is neither in the repository nor on the Panther instance"),
            hint,
        )),
        Some(Lookup::Failed(e)) => {
            report_remote_failure(&format!(
                "could not look up base detection `{base_id}` on the Panther instance: {e}"
            ));
            Err(exit::REMOTE)
        }
        None => {
            report_remote_failure(&format!(
                "could not look up base detection `{base_id}` on the Panther instance"
            ));
            Err(exit::REMOTE)
        }
    })
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Bad flags (exit 2), `--remote` without a token or host (exit 2),
/// failures to read or write files.
pub fn run(args: &DeriveArgs, out: &mut dyn Write) -> Result<u8> {
    let sets = args.set.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>>>()?;
    let mut cx = Context::resolve(&args.project.project(), &OutputArgs::default())?;
    let project = cx.load()?;
    let invalid = project.invalid_files();
    let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
    let index = Index::new(analyses.iter().copied(), |a| invalid.contains(&a.file));
    let base_id = args.base_id.as_str();
    let rules = || {
        analyses
            .iter()
            .filter(|a| a.analysis_type.value == AnalysisType::Rule)
            .map(|a| a.id_str())
    };

    // The base: a local rule that is not itself derived, or with
    // `--remote` a rule on the instance (looked up below, once the flags
    // are known to be good).
    let local = index
        .get(base_id)
        .or_else(|| analyses.iter().copied().find(|a| a.id_str() == base_id));
    let base = match local {
        Some(b) => b,
        None if args.remote => {
            if args.disable_base {
                return Ok(fail(
                    &format!("base detection `{base_id}` is not in the repository: --disable-base cannot edit it"),
                    Some("disable the base in Panther instead, or drop --disable-base".to_owned()),
                ));
            }
            let hint = did_you_mean(base_id, rules());
            return derive_remote(args, &cx, &project, &analyses, &sets, hint, out);
        }
        None => {
            return Ok(fail(
                &format!("no local rule has the RuleID `{base_id}`"),
                did_you_mean(base_id, rules()).or_else(|| {
                    Some(format!(
                        "`derive` needs the base's file among the loaded paths ({}), or --remote to look it up on the Panther instance",
                        cx.paths.join(", ")
                    ))
                }),
            ));
        }
    };
    let base_src = project.source(base.file);
    if base.analysis_type.value != AnalysisType::Rule {
        return Ok(fail(
            &format!(
                "`{base_id}` is a {} ({}); only rules can be derived from",
                base.analysis_type.value.name(),
                base_src.display
            ),
            None,
        ));
    }
    if let Some(b) = base.rule().and_then(|r| r.base_detection.as_ref()) {
        return Ok(fail(
            &format!(
                "`{base_id}` is itself derived from `{}`; derivation is one level deep",
                b.value
            ),
            Some(format!("derive from `{}` instead", b.value)),
        ));
    }
    if invalid.contains(&base.file) {
        warn(&format!(
            "`{base_id}` has errors ({}): its derived detections are not tested until they are fixed",
            base_src.display
        ));
    }

    // The new ID and the output file.
    let new_id = new_id(args)?;
    let default_dir = base_src.path.parent().unwrap_or_else(|| Path::new("")).to_path_buf();
    let out_path = match output(args, &cx, &project, &analyses, &new_id, &default_dir)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let out_shown = shown(&out_path, &cx.cwd);

    // Python alert functions of the base, for notes and warnings.
    let mut functions = Vec::new();
    if let Some(name) = base.rule().and_then(|r| r.filename.as_ref()) {
        let py = base_src
            .path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(&name.value);
        if let Ok(text) = std::fs::read_to_string(py) {
            functions = resolve::alert_functions(&text);
        }
    }

    // Generate and load the file; never write one `validate` rejects.
    let text = generate(&new_id, base, &sets, &functions);
    let loaded = check(&text, &cx)?;
    warn_about(&loaded, &sets, &functions);
    let Some(derived) = loaded.analysis else {
        return Err(Error::Usage("the generated file could not be read back".to_owned()));
    };

    // The base edit, and the derived detections it switches off with the
    // base because they inherit `Enabled` (derived-detections §7.4).
    if args.disable_base {
        for a in analyses.iter().filter(|a| {
            a.rule()
                .and_then(|r| r.base_detection.as_ref())
                .is_some_and(|b| b.value == base_id)
                && a.root.get("Enabled").is_none()
        }) {
            warn(&format!(
                "[derived-inherits-disabled] `{}` ({}) writes no `Enabled` and stops running with its base; add `Enabled: true` to it",
                a.id_str(),
                project.source(a.file).display
            ));
        }
    }
    let base_edit = if args.disable_base {
        let Some(old) = base_src.text.as_deref() else {
            return Ok(fail(&format!("cannot read `{}` as text", base_src.display), None));
        };
        match resolve::disable_in_text(old) {
            Ok(new) => Some((old, new)),
            Err(e) => {
                return Ok(fail(
                    &format!("cannot disable `{base_id}` in {}: {e}", base_src.display),
                    None,
                ));
            }
        }
    } else {
        None
    };

    // The effective detection before (the base) and after (the new one).
    let before = render(&resolve::effective_fields(base, None));
    let after_fields = resolve::effective_fields(&derived, Some(base));
    let after = render(&after_fields);
    let mut report = write_file(args, &out_path, &out_shown, &text)?;
    if let Some((old, new)) = &base_edit {
        if old == new {
            let _ = writeln!(report, "`{base_id}` is already disabled in {}", base_src.display);
        } else {
            if !args.dry_run {
                std::fs::write(&base_src.path, new).map_err(Error::Write)?;
            }
            let verb = if args.dry_run { "would set" } else { "set" };
            let _ = writeln!(report, "{verb} `Enabled: false` in {}", base_src.display);
            report.push_str(&diff(
                old,
                new,
                &format!("a/{}", base_src.display),
                &format!("b/{}", base_src.display),
            ));
        }
    }
    report.push('\n');
    report.push_str(&diff(
        &before,
        &after,
        &format!("{base_id} (effective)"),
        &format!("{new_id} (effective)"),
    ));
    finish(out, &report)
}

/// `derive --remote` of a base that is not among the loaded files.
fn derive_remote(
    args: &DeriveArgs,
    cx: &Context,
    project: &Project,
    analyses: &[&Analysis],
    sets: &[(&'static str, Node)],
    hint: Option<String>,
    out: &mut dyn Write,
) -> Result<u8> {
    let base_id = args.base_id.as_str();
    let new_id = new_id(args)?;
    let default_dir = remote_out_dir(analyses, project, base_id, cx);
    let out_path = match output(args, cx, project, analyses, &new_id, &default_dir)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let out_shown = shown(&out_path, &cx.cwd);
    // The keys the file sets are checked before anything is sent.
    check(&head(&new_id, base_id, sets), cx)?;

    let remote = match lookup(args, cx, hint)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let functions = resolve::alert_functions(&remote.python_body);
    let text = generate_remote(&new_id, base_id, &remote, sets, &functions);
    let loaded = check(&text, cx)?;
    if loaded.analysis.is_none() {
        return Err(Error::Usage("the generated file could not be read back".to_owned()));
    }
    warn_about(&loaded, sets, &functions);

    let mut report = write_file(args, &out_path, &out_shown, &text)?;
    let lines = remote.python_body.lines().count();
    let tests = remote.tests.len();
    let _ = writeln!(
        report,
        "base `{base_id}` is on the Panther instance (Python, {lines} line{}, {tests} test{}): \
         only its Python body and tests are known, so there is no effective detection to diff",
        plural(lines),
        plural(tests)
    );
    finish(out, &report)
}

/// The `RuleID` of the new detection, checked.
fn new_id(args: &DeriveArgs) -> Result<String> {
    let base_id = args.base_id.as_str();
    let new_id = args.id.clone().unwrap_or_else(|| format!("{base_id}.Derived"));
    if new_id.is_empty() {
        return Err(Error::Usage("--id must not be empty".to_owned()));
    }
    if let Some(c) = new_id.chars().find(|c| matches!(c, '<' | '>' | '&' | '"' | '%')) {
        return Err(Error::Usage(format!(
            "--id `{new_id}` contains the forbidden character `{c}`"
        )));
    }
    if new_id == base_id {
        return Err(Error::Usage(format!(
            "--id must differ from the base's RuleID `{base_id}`"
        )));
    }
    Ok(new_id)
}

/// The file to write (`--out`, else `<default_dir>/<NEW_ID>.yml`), or the
/// exit code when it exists without `--force`. A `RuleID` another file
/// already uses is a usage error.
fn output(
    args: &DeriveArgs,
    cx: &Context,
    project: &Project,
    analyses: &[&Analysis],
    new_id: &str,
    default_dir: &Path,
) -> Result<std::result::Result<PathBuf, u8>> {
    let out_path = match &args.out {
        Some(p) => p.clone(),
        None => default_dir.join(file_name(new_id)),
    };
    if out_path.exists() && !args.force {
        return Ok(Err(fail(
            &format!("`{}` already exists", shown(&out_path, &cx.cwd)),
            Some("use --force to overwrite it, or --out to write elsewhere".to_owned()),
        )));
    }
    if let Some(other) = analyses
        .iter()
        .find(|a| a.id_str() == new_id && !same_file(&project.source(a.file).path, &out_path))
    {
        return Err(Error::Usage(format!(
            "RuleID `{new_id}` is already used by {}; choose another with --id",
            project.source(other.file).display
        )));
    }
    Ok(Ok(out_path))
}

/// Warnings about the generated file: its own (from loading it), and the
/// `--set` keys a Python alert function of the base shadows.
fn warn_about(loaded: &Loaded, sets: &[(&'static str, Node)], functions: &[&str]) {
    for d in loaded.diagnostics.iter().filter(|d| d.severity() == Severity::Warning) {
        warn(&format!("[{}] {}", d.code.name(), d.message));
    }
    let has_dynamic_severities = sets.iter().any(|(k, _)| *k == "DynamicSeverities");
    for (key, _) in sets {
        if !SHADOWED.contains(key) || (*key == "Severity" && has_dynamic_severities) {
            continue;
        }
        if let Some((_, f)) = FUNCTION_OF.iter().find(|(k, f)| k == key && functions.contains(f)) {
            warn(&format!(
                "[derived-override-shadowed] `{key}` has no effect: the base's Python `{f}()` decides it"
            ));
        }
    }
}

/// Writes the file (or, with `--dry-run`, shows it); the start of the report.
fn write_file(args: &DeriveArgs, out_path: &Path, out_shown: &str, text: &str) -> Result<String> {
    let mut report = String::new();
    if args.dry_run {
        let _ = writeln!(report, "would write {out_shown}:\n{text}");
    } else {
        if let Some(parent) = out_path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::Read {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(out_path, text).map_err(Error::Write)?;
        let _ = writeln!(report, "wrote {out_shown}");
    }
    Ok(report)
}

/// Prints the report; a closed pipe ends quietly.
fn finish(out: &mut dyn Write, report: &str) -> Result<u8> {
    match out.write_all(report.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(exit::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_typed_by_key() {
        let kind = |s: &str| parse_set(s).map(|(_, n)| n.kind);
        assert_eq!(kind("Severity=critical").unwrap(), NodeKind::Str("Critical".into()));
        assert_eq!(kind("Enabled=False").unwrap(), NodeKind::Bool(false));
        assert_eq!(kind("Threshold=5").unwrap(), NodeKind::Int(5));
        assert_eq!(kind("DisplayName=true").unwrap(), NodeKind::Str("true".into()));
        assert!(matches!(kind("Tags=a, b,").unwrap(), NodeKind::Seq(v) if v.len() == 2));
        assert!(matches!(kind("Tags=").unwrap(), NodeKind::Seq(v) if v.is_empty()));
        assert!(matches!(kind("OutputIds=[x, 'y,z']").unwrap(), NodeKind::Seq(v) if v.len() == 2));
        assert!(matches!(kind("InlineFilters=").unwrap(), NodeKind::Seq(v) if v.is_empty()));
        assert!(matches!(kind("GroupBy=[{Key: user}]").unwrap(), NodeKind::Seq(v) if v.len() == 1));
        assert!(matches!(
            kind("Reports={MITRE ATT&CK: [TA0001]}").unwrap(),
            NodeKind::Map(_)
        ));
    }

    #[test]
    fn set_rejects_keys_and_values_it_cannot_type() {
        for bad in [
            "Severity=Urgent",
            "Enabled=yes",
            "Threshold=ten",
            "GroupBy=user",
            "Reports=[a]",
            "Tags=[1]",
            "LogTypes=A",
            "Tests=[]",
            "Serverity=High",
            "RuleID=X",
            "Severity",
            "InlineFilters=[",
        ] {
            let e = parse_set(bad).unwrap_err();
            assert_eq!(e.exit_code(), exit::USAGE, "{bad}");
        }
        let e = parse_set("Serverity=High").unwrap_err().to_string();
        assert!(e.contains("did you mean `Severity`"), "{e}");
    }

    #[test]
    fn a_remote_base_gives_keys_without_values_and_a_clean_file() {
        let remote = RemoteBase {
            python_body: "def rule(event):\n    return True\n\ndef severity(event):\n    return 'LOW'\n".to_owned(),
            tests: vec![crate::panther_api::RemoteTest {
                name: "Hit".to_owned(),
                expected_result: true,
                log: serde_json::Value::Null,
            }],
        };
        let sets = vec![parse_set("Tags=a,b").unwrap()];
        let functions = resolve::alert_functions(&remote.python_body);
        let text = generate_remote("New.Id", "Remote.Base", &remote, &sets, &functions);
        assert!(
            text.starts_with(
                "AnalysisType: rule\nRuleID: New.Id\nBaseDetection: Remote.Base\nEnabled: true\nTags:\n  - a\n  - b\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n# Severity:  # Info, Low, Medium, High or Critical; no effect: the base's severity() decides\n"
            ),
            "{text}"
        );
        assert!(text.contains("a Python rule (5 lines) with 1 test, which"), "{text}");
        assert!(!text.contains("# Tags:"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        let loaded = load_file(FileId(0), Some(&text), crate::load::LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert!(loaded.analysis.is_some());
    }

    #[test]
    fn comments_wrap_at_72_columns() {
        let text = comment(&"word ".repeat(40));
        assert!(text.lines().all(|l| l.starts_with("# ") && l.len() <= 72), "{text}");
        assert_eq!(text.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert_eq!(comment("a-very-long-word"), "# a-very-long-word\n");
    }

    #[test]
    fn file_names_follow_the_id() {
        assert_eq!(file_name("AWS.Root.Login.Derived"), "AWS.Root.Login.Derived.yml");
        assert_eq!(file_name("a/b c"), "a_b_c.yml");
    }
}
