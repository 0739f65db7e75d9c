//! What `show` prints about one item, built from the loaded project: the
//! effective fields with their sources (derived-detections §3), the base,
//! whether an upload would disable the item (§7.2) and the precedence of
//! the alert fields (§4).

use std::path::Path;

use serde_json::{Map, Value};

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

    /// `Python, N lines, N tests`.
    pub(super) fn summary(&self) -> String {
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
pub(super) fn find<'p>(project: &'p Project, id: &str) -> Option<&'p Analysis> {
    project.resolved().find(id)
}

/// Builds the view of the item with ID `id`, or `None` when no loaded item
/// has it. `filters` are the selection filters of a hypothetical upload.
pub fn view(project: &Project, filters: &[filter::Filter], id: &str) -> Option<View> {
    let index = project.resolved();
    let (analyses, invalid): (Vec<&Analysis>, _) = (index.analyses().collect(), index.invalid());
    let item = index.find(id)?;
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
        .filter(|a| resolve::selects_for_upload(filters, a, &project.source(a.file).rel, &index))
        .collect();
    let mut plan = resolve::bases_to_disable(&selection, &analyses, &index);
    let kept = crate::bundle::keep_correlation_feeders(&mut plan, &analyses, invalid);
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
        NodeKind::Str(s) => Value::String(s.to_string()),
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
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
