//! `detect show`: print the effective detection of an ID, each top-level
//! field with its source (cli-and-settings §6.3).
//!
//! The effective detection is built by [`resolve::effective_fields`]
//! (derived-detections §3); values are the YAML values as written in the
//! file they come from (cli-and-settings §8 item 1). The command also says
//! whether an upload with automatic base disabling would disable the item
//! ([`resolve::bases_to_disable`], derived-detections §7.2), and, in the
//! human form, which key or Python function decides each alert field
//! ([`resolve::alert_precedence`], §4).
//!
//! # JSON form
//!
//! One object:
//!
//! ```json
//! {"id": "Example.Login.Prod", "file": "rules/login_prod.yml",
//!  "base": {"id": "Example.Login", "file": "rules/login.yml"},
//!  "fields": {"AnalysisType": {"value": "rule", "source": "derived"},
//!             "LogTypes": {"value": ["Okta.SystemLog"], "source": "base"},
//!             "Threshold": {"value": 1, "source": "default"}},
//!  "auto_disabled": false}
//! ```
//!
//! `base` is `null` for an item that is not derived; for a derived
//! detection whose base is not among the loaded files its `file` is
//! `null`. `fields` lists every effective top-level key.
//!
//! # `--remote`
//!
//! A base that is not among the loaded files is looked up on the Panther
//! instance (upload-protocol §4.8); a local base never causes a request.
//! The instance returns only the base's Python body and tests, so the
//! fields stay the item's own; `base` gains
//! `"remote": {"python_lines": N, "tests": [{"name", "expected_result"}]}`
//! (the key is absent for a base that was not fetched). A lookup that
//! fails or finds nothing is the warning `remote-base-lookup` on stderr,
//! and the item is shown as without `--remote`.

pub(crate) mod emit;

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::cli::OutputArgs;
use crate::cli::show::{ShowArgs, ShowFormat};
use crate::commands::context::Context;
use crate::commands::remote_bases::{self, Lookup};
use crate::diagnostic::did_you_mean;
use crate::error::{Error, Result};
use crate::exit;
use crate::filter;
use crate::model::{Analysis, AnalysisType};
use crate::panther_api::RemoteBase;
use crate::project::Project;
use crate::resolve::{self, AlertField, Base, Field, Index, Step};
use crate::yaml::{Node, NodeKind, float_text};

/// The base of a shown derived detection.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRef {
    /// `BaseDetection`.
    pub id: String,
    /// Its file, when it is among the loaded files.
    pub file: Option<String>,
    /// What the instance said about it (`--remote`, base not loaded).
    pub remote: Option<RemoteInfo>,
}

/// A base fetched from the Panther instance: a Python body `detect`
/// cannot run, and its tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteInfo {
    /// Lines of the Python body.
    pub python_lines: usize,
    /// Python alert functions the body defines.
    pub functions: Vec<&'static str>,
    /// The tests: name and expected result.
    pub tests: Vec<(String, bool)>,
}

impl RemoteInfo {
    /// The summary of a fetched base.
    pub fn new(base: &RemoteBase) -> RemoteInfo {
        RemoteInfo {
            python_lines: base.python_body.lines().count(),
            functions: resolve::alert_functions(&base.python_body),
            tests: base.tests.iter().map(|t| (t.name.clone(), t.expected_result)).collect(),
        }
    }

    fn summary(&self) -> String {
        let n = self.tests.len();
        format!(
            "Python, {} line{}, {n} test{}",
            self.python_lines,
            if self.python_lines == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" }
        )
    }
}

/// The note on a derived detection whose base is not among the loaded
/// files.
fn not_loaded_note(id: &str) -> String {
    format!("base `{id}` is not among the loaded files: only this file's own keys are known")
}

/// Everything `show` prints about one item.
#[derive(Debug, Clone)]
pub struct View {
    /// The ID.
    pub id: String,
    /// The item's file, as reports print it.
    pub file: String,
    /// The base, for a derived detection.
    pub base: Option<BaseRef>,
    /// The effective top-level fields.
    pub fields: Vec<Field>,
    /// Whether an upload with automatic base disabling disables the item.
    pub auto_disabled: bool,
    /// Precedence chains of the alert fields (rules only).
    pub chains: Vec<(AlertField, Vec<Step>)>,
    /// The Python file whose alert functions the chains consider.
    pub python: Option<String>,
    /// Remarks for the human form.
    pub notes: Vec<String>,
}

/// The local base of a derived detection that its effective detection is
/// built from: a rule that is not itself derived (valid or not).
fn mergeable_base<'a>(item: &Analysis, index: &Index<'a>) -> (Option<BaseRef>, Option<&'a Analysis>) {
    let Some(id) = item.rule().and_then(|r| r.base_detection.as_ref()) else {
        return (None, None);
    };
    match index.base(&id.value) {
        Base::NotLocal => (
            Some(BaseRef {
                id: id.value.clone(),
                file: None,
                remote: None,
            }),
            None,
        ),
        Base::Invalid(b) | Base::Local(b) => (
            Some(BaseRef {
                id: id.value.clone(),
                file: None,
                remote: None,
            }),
            resolve::is_valid_base_kind(b).then_some(b),
        ),
    }
}

/// The loaded item with ID `id`: the valid one, else the first.
fn find<'p>(project: &'p Project, id: &str) -> Option<&'p Analysis> {
    let invalid = project.invalid_files();
    let analyses = project.entries.iter().filter_map(|e| e.analysis.as_ref());
    let index = Index::new(analyses.clone(), |a| invalid.contains(&a.file));
    index.get(id).or_else(|| analyses.clone().find(|a| a.id_str() == id))
}

/// Builds the view of the item with ID `id`, or `None` when no loaded item
/// has it. `filters` are the selection filters of a hypothetical upload.
pub fn view(project: &Project, filters: &[filter::Filter], id: &str) -> Option<View> {
    let invalid = project.invalid_files();
    let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
    let index = Index::new(analyses.iter().copied(), |a| invalid.contains(&a.file));
    let item = index
        .get(id)
        .or_else(|| analyses.iter().copied().find(|a| a.id_str() == id))?;
    let (mut base_ref, base) = mergeable_base(item, &index);
    if let Some(r) = &mut base_ref {
        r.file = match index.base(&r.id) {
            Base::Local(b) | Base::Invalid(b) => Some(project.source(b.file).display.clone()),
            Base::NotLocal => None,
        };
    }
    let fields = resolve::effective_fields(item, base);

    // The selection of a hypothetical upload: valid items that pass the
    // filters on their effective values and are not experimental or
    // deprecated (derived-detections §7.2, §7.3).
    let selection: Vec<&Analysis> = analyses
        .iter()
        .copied()
        .filter(|a| !invalid.contains(&a.file))
        .filter(|a| {
            let (_, b) = mergeable_base(a, &index);
            let root = resolve::effective_root(&resolve::effective_fields(a, b));
            let rel = &project.source(a.file).rel;
            (filter::bypasses(rel) || filter::matches_all(filters, &root)) && !resolve::is_status_excluded(&root)
        })
        .collect();
    let mut plan = resolve::bases_to_disable(&selection, &analyses, &index);
    let kept = crate::bundle::keep_correlation_feeders(&mut plan, &analyses, &invalid);
    let auto_disabled = plan.disables(item);

    let mut notes = Vec::new();
    if invalid.contains(&item.file) {
        notes.push("the file has errors (run `detect validate`); values are shown as written".to_owned());
    }
    if let Some(r) = &base_ref {
        match (&r.file, base) {
            (None, _) => notes.push(not_loaded_note(&r.id)),
            (Some(_), None) => notes.push(format!(
                "base `{}` is not a rule that can be derived from: only this file's own keys are shown",
                r.id
            )),
            _ => {}
        }
        if item.root.get("Enabled").is_none() {
            if let Some(d) = plan
                .disable
                .iter()
                .find(|d| d.inheriting.iter().any(|a| std::ptr::eq(*a, item)))
            {
                notes.push(format!(
                    "no `Enabled` here: an upload with auto_disable_base disables `{}`, and this detection with it",
                    d.base.id_str()
                ));
            }
        }
    }
    if let Some((_, corr)) = kept.iter().find(|(x, _)| std::ptr::eq(x.base, item)) {
        let names: Vec<String> = corr.iter().map(|c| format!("`{}`", c.id_str())).collect();
        notes.push(format!(
            "an upload with auto_disable_base keeps this detection enabled: the enabled correlation rule {} needs its signals",
            names.join(", ")
        ));
    }
    if auto_disabled {
        let by: Vec<&str> = plan
            .disable
            .iter()
            .filter(|d| std::ptr::eq(d.base, item))
            .flat_map(|d| d.derived.iter().map(|a| a.id_str()))
            .collect();
        notes.push(format!(
            "an upload with auto_disable_base bundles this detection with `Enabled: false`, because of {}",
            by.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
        ));
    }

    let rule_like = matches!(
        item.analysis_type.value,
        AnalysisType::Rule | AnalysisType::ScheduledRule
    );
    let mut chains = Vec::new();
    let mut python = None;
    if rule_like && (base.is_some() || base_ref.is_none()) {
        let logic = base.unwrap_or(item);
        let mut functions = Vec::new();
        if let Some(name) = logic.rule().and_then(|r| r.filename.as_ref()) {
            let src = project.source(logic.file);
            let path = src.path.parent().unwrap_or_else(|| Path::new("")).join(&name.value);
            let shown = Path::new(&src.display)
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join(&name.value)
                .to_string_lossy()
                .replace('\\', "/");
            match std::fs::read_to_string(&path) {
                Ok(text) => functions = resolve::alert_functions(&text),
                Err(_) => notes.push(format!(
                    "cannot read `{shown}`: Python alert functions are not considered"
                )),
            }
            python = Some(shown);
        }
        for field in AlertField::ALL {
            chains.push((
                *field,
                resolve::alert_precedence(*field, &item.root, base.map(|b| &b.root), &functions),
            ));
        }
    }
    Some(View {
        id: item.id_str().to_owned(),
        file: project.source(item.file).display.clone(),
        base: base_ref,
        fields,
        auto_disabled,
        chains,
        python,
        notes,
    })
}

/// A YAML value as JSON; values JSON cannot hold (`.nan`, a list as a
/// mapping key) become their YAML text.
pub fn node_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::from(*i),
        NodeKind::Float(f) => {
            serde_json::Number::from_f64(*f).map_or_else(|| Value::String(float_text(*f)), Value::Number)
        }
        NodeKind::Str(s) => Value::String(s.clone()),
        NodeKind::Seq(items) => Value::Array(items.iter().map(node_json).collect()),
        NodeKind::Map(entries) => {
            let mut obj = Map::new();
            for (k, v) in entries {
                let key = k.key_text().unwrap_or_else(|| node_json(k).to_string());
                obj.insert(key, node_json(v));
            }
            Value::Object(obj)
        }
    }
}

impl View {
    /// Records a base fetched from the instance (`--remote`).
    pub fn set_remote_base(&mut self, base: &RemoteBase) {
        let Some(b) = &mut self.base else { return };
        let old = not_loaded_note(&b.id);
        let new = format!(
            "base `{}` is on the Panther instance, not among the loaded files: a Python rule that `detect` cannot run; only this file's own keys are known",
            b.id
        );
        for n in &mut self.notes {
            if *n == old {
                n.clone_from(&new);
            }
        }
        b.remote = Some(RemoteInfo::new(base));
    }

    /// The JSON form (module docs).
    pub fn to_json(&self) -> Value {
        let mut fields = Map::new();
        for f in &self.fields {
            fields.insert(
                f.key.clone(),
                json!({"value": node_json(&f.value), "source": f.source.as_str()}),
            );
        }
        let base = self.base.as_ref().map(|b| {
            let mut v = json!({"id": b.id, "file": b.file});
            if let (Some(r), Value::Object(m)) = (&b.remote, &mut v) {
                let tests: Vec<Value> = r
                    .tests
                    .iter()
                    .map(|(name, expected)| json!({"name": name, "expected_result": expected}))
                    .collect();
                m.insert(
                    "remote".to_owned(),
                    json!({"python_lines": r.python_lines, "tests": tests}),
                );
            }
            v
        });
        json!({
            "id": self.id,
            "file": self.file,
            "base": base,
            "fields": fields,
            "auto_disabled": self.auto_disabled,
        })
    }

    fn header(&self) -> Vec<String> {
        let mut out = vec![format!("{} ({})", self.id, self.file)];
        if let Some(b) = &self.base {
            let place = match (&b.file, &b.remote) {
                (Some(f), _) => f.clone(),
                (None, Some(r)) => format!("on the Panther instance: {}", r.summary()),
                (None, None) => "not among the loaded files".to_owned(),
            };
            out.push(format!("base: {} ({place})", b.id));
        }
        out.push(format!("auto_disabled: {}", self.auto_disabled));
        out
    }

    /// The YAML form: the effective detection, each key's source in a
    /// comment.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for line in self.header() {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
        for f in &self.fields {
            let lines = emit::entry(&emit::string(&f.key), &f.value);
            for (i, line) in lines.iter().enumerate() {
                out.push_str(line);
                if i == 0 {
                    out.push_str("  # ");
                    out.push_str(f.source.as_str());
                }
                out.push('\n');
            }
        }
        out
    }

    fn step_text(&self, field: AlertField, step: &Step) -> String {
        match step {
            Step::Key(k, s) => format!("{k} ({})", s.as_str()),
            Step::Function(f, s) => format!(
                "{f}() in {} ({})",
                self.python.as_deref().unwrap_or("the Python file"),
                s.as_str()
            ),
            Step::Title => "the alert title".to_owned(),
            Step::Default => match field {
                AlertField::Title => format!("the RuleID `{}`", self.id),
                AlertField::Dedup => format!("defaultDedupString:{}", self.id),
                AlertField::AlertContext => "{}".to_owned(),
                AlertField::Severity => "none (no Severity)".to_owned(),
                AlertField::Destinations => "none".to_owned(),
                _ => "empty".to_owned(),
            },
        }
    }

    /// The human form.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        for line in self.header() {
            out.push_str(&line);
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str("note: ");
            out.push_str(n);
            out.push('\n');
        }
        if let Some((b, r)) = self.base.as_ref().and_then(|b| Some((b, b.remote.as_ref()?))) {
            let _ = writeln!(out, "\nremote base {}:", b.id);
            let _ = write!(
                out,
                "  Python body: {} line{}",
                r.python_lines,
                if r.python_lines == 1 { "" } else { "s" }
            );
            if !r.functions.is_empty() {
                let names: Vec<String> = r.functions.iter().map(|f| format!("{f}()")).collect();
                let _ = write!(out, "; alert functions: {}", names.join(", "));
            }
            out.push('\n');
            if r.tests.is_empty() {
                out.push_str("  tests: none\n");
            } else {
                out.push_str("  tests (expected result, name):\n");
                for (name, expected) in &r.tests {
                    let _ = writeln!(out, "    {:<6} {name}", expected.to_string());
                }
            }
        }
        out.push_str("\nfields (source, key: value):\n");
        for f in &self.fields {
            let lines = emit::entry(&emit::string(&f.key), &f.value);
            for (i, line) in lines.iter().enumerate() {
                let src = if i == 0 { f.source.as_str() } else { "" };
                let _ = writeln!(out, "  {src:<8} {line}");
            }
        }
        if !self.chains.is_empty() {
            out.push_str("\nalert fields (the first that applies):\n");
            for (field, steps) in &self.chains {
                let text: Vec<String> = steps.iter().map(|s| self.step_text(*field, s)).collect();
                let _ = writeln!(out, "  {:<14} {}", field.name(), text.join(", else "));
            }
        }
        out
    }
}

/// Writes `error: <message>` and an optional help line on stderr, for
/// failures that exit 1 rather than 2 (cli-and-settings §6.5).
pub(crate) fn fail(message: &str, help: Option<String>) -> u8 {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "error: {message}");
    if let Some(h) = help {
        let _ = writeln!(err, "  = help: {h}");
    }
    exit::FINDINGS
}

/// With `--remote`, looks up the base of a derived detection whose base
/// is not among the loaded files, and records it in the view. A lookup
/// that fails or finds nothing is the warning `remote-base-lookup` on
/// stderr; the view stays as it was.
///
/// # Errors
/// No token or host (a usage error).
fn add_remote_base(args: &ShowArgs, cx: &Context, project: &Project, view: &mut View) -> Result<()> {
    let Some(id) = view.base.as_ref().filter(|b| b.file.is_none()).map(|b| b.id.clone()) else {
        return Ok(());
    };
    let client = args.api.client(&cx.settings)?;
    let lookup = remote_bases::fetch(&client, [id.as_str()])
        .remove(&id)
        .unwrap_or_else(|| Lookup::Failed("no answer".to_owned()));
    if let Lookup::Found(b) = &lookup {
        view.set_remote_base(b);
        return Ok(());
    }
    let message = find(project, &args.id)
        .and_then(|a| remote_bases::diagnostic(a, &lookup))
        .map_or_else(
            || format!("could not look up base detection `{id}` on the Panther instance"),
            |d| d.message,
        );
    let mut err = std::io::stderr();
    let _ = writeln!(err, "warning[remote-base-lookup]: {message}");
    Ok(())
}

/// Runs the command and returns its exit code: 0, or 1 when no loaded item
/// has the ID.
///
/// # Errors
/// Failures of the run itself (bad settings, missing path, bad filter);
/// `--remote` without a token or host.
pub fn run(args: &ShowArgs, out: &mut dyn Write) -> Result<u8> {
    let mut cx = Context::resolve(&args.project, &OutputArgs::default())?;
    let project = cx.load()?;
    let Some(mut view) = view(&project, &cx.filters, &args.id) else {
        let ids = project
            .entries
            .iter()
            .filter_map(|e| e.analysis.as_ref())
            .map(Analysis::id_str)
            .filter(|i| !i.is_empty());
        let help = did_you_mean(&args.id, ids).or_else(|| {
            project
                .entries
                .is_empty()
                .then(|| format!("no detections were found in {}", cx.paths.join(", ")))
        });
        return Ok(fail(&format!("no loaded detection has the ID `{}`", args.id), help));
    };
    if args.remote {
        add_remote_base(args, &cx, &project, &mut view)?;
    }
    let text = match args.format {
        ShowFormat::Json => {
            let mut s = serde_json::to_string_pretty(&view.to_json()).map_err(|e| Error::Write(e.into()))?;
            s.push('\n');
            s
        }
        ShowFormat::Yaml => view.to_yaml(),
        ShowFormat::Human => view.to_human(),
    };
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(exit::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Source;

    #[test]
    fn sources_are_spelt_as_the_spec_says() {
        assert_eq!(
            [Source::Derived, Source::Base, Source::Default].map(Source::as_str),
            ["derived", "base", "default"]
        );
    }

    #[test]
    fn a_remote_base_adds_its_summary_to_every_form() {
        let mut view = View {
            id: "D".to_owned(),
            file: "rules/d.yml".to_owned(),
            base: Some(BaseRef {
                id: "B".to_owned(),
                file: None,
                remote: None,
            }),
            fields: Vec::new(),
            auto_disabled: false,
            chains: Vec::new(),
            python: None,
            notes: vec![not_loaded_note("B")],
        };
        assert_eq!(view.to_json()["base"], json!({"id": "B", "file": null}));
        view.set_remote_base(&RemoteBase {
            python_body: "def rule(event):\n    return True\n".to_owned(),
            tests: vec![crate::panther_api::RemoteTest {
                name: "Hit".to_owned(),
                expected_result: true,
                log: Value::Null,
            }],
        });
        assert_eq!(
            view.to_json()["base"],
            json!({"id": "B", "file": null, "remote": {"python_lines": 2,
                "tests": [{"name": "Hit", "expected_result": true}]}})
        );
        let human = view.to_human();
        assert!(
            human.contains("base: B (on the Panther instance: Python, 2 lines, 1 test)\n"),
            "{human}"
        );
        assert!(human.contains("note: base `B` is on the Panther instance"), "{human}");
        assert!(
            human.contains("  Python body: 2 lines\n  tests (expected result, name):\n    true   Hit\n"),
            "{human}"
        );
        assert!(
            view.to_yaml()
                .starts_with("# D (rules/d.yml)\n# base: B (on the Panther instance")
        );
    }

    #[test]
    fn json_values_survive_what_json_cannot_hold() {
        let n = crate::yaml::parse("a: .nan\nb: {1: x}\n").unwrap().root.unwrap();
        assert_eq!(node_json(&n), json!({"a": ".nan", "b": {"1": "x"}}));
    }
}
