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
//! Exit codes: 0 done; 1 the base is not a local rule, or the output file
//! exists (without `--force`); 2 a bad flag (`--set` key or value, `--id`).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::{OutputArgs, ProjectArgs};
use crate::commands::context::Context;
use crate::commands::show::{emit, fail};
use crate::diagnostic::{Severity, did_you_mean};
use crate::error::{Error, Result};
use crate::exit;
use crate::load::load_file;
use crate::model::{Analysis, AnalysisType, Level};
use crate::resolve::{self, Field, Index, OVERRIDABLE};
use crate::source::{FileId, Span};
use crate::yaml::{self, Node, NodeKind};

/// Flags of `detect derive`.
#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// `RuleID` of the local rule to derive from.
    #[arg(value_name = "BASE_ID")]
    pub base_id: String,
    /// What to read.
    #[command(flatten)]
    pub project: ProjectArgs,
    /// `RuleID` of the new detection (default: `<BASE_ID>.Derived`).
    #[arg(long = "id", value_name = "NEW_ID")]
    pub id: Option<String>,
    /// File to write (default: next to the base, named after the new ID).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Pre-fill an override, e.g. `Severity=High` or `Tags=a,b` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also set `Enabled: false` in the base file (a one-line edit).
    #[arg(long)]
    pub disable_base: bool,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the file and the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

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

/// The text of the derived file (derived-detections §10).
fn generate(new_id: &str, base: &Analysis, sets: &[(&'static str, Node)], functions: &[&str]) -> String {
    let base_id = base.id_str();
    let mut out = String::new();
    push_entry(&mut out, "AnalysisType", &node(NodeKind::Str("rule".to_owned())));
    push_entry(&mut out, "RuleID", &node(NodeKind::Str(new_id.to_owned())));
    push_entry(&mut out, "BaseDetection", &node(NodeKind::Str(base_id.to_owned())));
    if !sets.iter().any(|(k, _)| *k == "Enabled") {
        push_entry(&mut out, "Enabled", &node(NodeKind::Bool(true)));
    }
    for key in OVERRIDABLE {
        // The last `--set` of a key wins.
        if let Some((_, v)) = sets.iter().rev().find(|(k, _)| k == key) {
            push_entry(&mut out, key, v);
        }
    }
    let _ = write!(
        out,
        "\n# Overridable keys, shown with the current values of the base\n\
         # `{base_id}`. Uncomment a key to override it: the value here\n\
         # replaces the base's whole (lists and filters are not merged).\n\
         # The logic always comes from the base.\n"
    );
    for key in OVERRIDABLE {
        // `Enabled` is always written; `Tests` is described below.
        if matches!(*key, "Tests" | "Enabled") || sets.iter().any(|(k, _)| k == key) {
            continue;
        }
        let function = FUNCTION_OF
            .iter()
            .find(|(k, f)| k == key && functions.contains(f))
            .map(|(_, f)| *f);
        let note = match function {
            Some(f) if SHADOWED.contains(key) => Some(format!("no effect: the base's {f}() decides")),
            Some(f) => Some(format!("replaces the base's {f}()")),
            None => None,
        };
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
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" }
        ),
    };
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

/// Runs the command and returns its exit code.
///
/// # Errors
/// Bad flags (exit 2), failures to read or write files.
pub fn run(args: &DeriveArgs, out: &mut dyn Write) -> Result<u8> {
    let sets = args.set.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>>>()?;
    let mut cx = Context::resolve(&args.project, &OutputArgs::default())?;
    let project = cx.load()?;
    let invalid = project.invalid_files();
    let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
    let index = Index::new(analyses.iter().copied(), |a| invalid.contains(&a.file));
    let base_id = args.base_id.as_str();

    // The base: a local rule that is not itself derived.
    let Some(base) = index
        .get(base_id)
        .or_else(|| analyses.iter().copied().find(|a| a.id_str() == base_id))
    else {
        let rules = analyses
            .iter()
            .filter(|a| a.analysis_type.value == AnalysisType::Rule)
            .map(|a| a.id_str());
        return Ok(fail(
            &format!("no local rule has the RuleID `{base_id}`"),
            did_you_mean(base_id, rules).or_else(|| {
                Some(format!(
                    "`derive` needs the base's file among the loaded paths ({})",
                    cx.paths.join(", ")
                ))
            }),
        ));
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
    let out_path = match &args.out {
        Some(p) => p.clone(),
        None => base_src
            .path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(file_name(&new_id)),
    };
    let out_shown = shown(&out_path, &cx.cwd);
    if out_path.exists() && !args.force {
        return Ok(fail(
            &format!("`{out_shown}` already exists"),
            Some("use --force to overwrite it, or --out to write elsewhere".to_owned()),
        ));
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
    let loaded = load_file(FileId(0), Some(&text), cx.project.load.clone());
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
    let Some(derived) = loaded.analysis else {
        return Err(Error::Usage("the generated file could not be read back".to_owned()));
    };
    for d in loaded.diagnostics.iter().filter(|d| d.severity() == Severity::Warning) {
        warn(&format!("[{}] {}", d.code.name(), d.message));
    }
    let has_dynamic_severities = sets.iter().any(|(k, _)| *k == "DynamicSeverities");
    for (key, _) in &sets {
        if !SHADOWED.contains(key) || (*key == "Severity" && has_dynamic_severities) {
            continue;
        }
        if let Some((_, f)) = FUNCTION_OF.iter().find(|(k, f)| k == key && functions.contains(f)) {
            warn(&format!(
                "[derived-override-shadowed] `{key}` has no effect: the base's Python `{f}()` decides it"
            ));
        }
    }

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
        std::fs::write(&out_path, &text).map_err(Error::Write)?;
        let _ = writeln!(report, "wrote {out_shown}");
    }
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
    fn file_names_follow_the_id() {
        assert_eq!(file_name("AWS.Root.Login.Derived"), "AWS.Root.Login.Derived.yml");
        assert_eq!(file_name("a/b c"), "a_b_c.yml");
    }
}
