//! `--changed-since`: the items a set of changed files selects, with what
//! depends on them, each with the reasons it was selected.
//!
//! An item is *changed* when its own file or the `.py` its `Filename` names
//! is among the changed files. From there, selection follows these edges,
//! transitively:
//!
//! - a derived detection depends on its `BaseDetection`;
//! - a correlation rule depends on every `RuleID` it references;
//! - an item with a `.py` depends on a global whose `GlobalID` the `.py`
//!   imports (a plain text match of `import G` / `from G import`, not a
//!   Python parse: an import built at run time is not seen);
//! - an item whose `LogTypes` (a derived detection's effective ones)
//!   include one of a data model's `LogTypes` depends on that data model.
//!
//! A deleted analysis file (read as of REF) is a source of these edges
//! too, never selected itself.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path};

use super::{Index, mergeable_base};
use crate::load::LoadOptions;
use crate::model::{Analysis, AnalysisType, Body};
use crate::project::Project;
use crate::source::FileId;

/// Why an item was selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Its file, or the `.py` its `Filename` names, changed.
    Changed,
    /// A derived detection of a selected base; `changed` when the base
    /// itself changed.
    DerivedFrom {
        /// The base's ID.
        base: String,
        /// Whether the base changed (not only selected).
        changed: bool,
    },
    /// A correlation rule referencing a selected rule.
    References(String),
    /// Its `.py` imports a selected global.
    ImportsGlobal(String),
    /// A selected data model covers one of its log types.
    DataModel {
        /// The data model's ID.
        data_model: String,
        /// The shared log type.
        log_type: String,
    },
}

impl Why {
    /// The short name of the reason (the `why` of the JSON report).
    pub fn kind(&self) -> &'static str {
        match self {
            Why::Changed => "changed",
            Why::DerivedFrom { .. } => "derived_from",
            Why::References(_) => "references",
            Why::ImportsGlobal(_) => "imports_global",
            Why::DataModel { .. } => "data_model",
        }
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Changed => f.write_str("changed"),
            Why::DerivedFrom { base, changed: true } => write!(f, "derived from {base} (changed)"),
            Why::DerivedFrom { base, changed: false } => write!(f, "derived from {base}"),
            Why::References(id) => write!(f, "references {id}"),
            Why::ImportsGlobal(id) => write!(f, "imports global {id}"),
            Why::DataModel { data_model, log_type } => write!(f, "data model {data_model} for LogType {log_type}"),
        }
    }
}

/// The selected items' files, each with its reasons (never empty).
pub type Selection = HashMap<FileId, Vec<Why>>;

/// The items `changed` (paths relative to the project root,
/// `/`-separated) selects, with their dependents. `deleted` holds the
/// text, as of REF, of deleted analysis files: what depended on them is
/// selected too (a derived detection of a deleted base, ...).
pub fn select_changed(project: &Project, changed: &HashSet<String>, deleted: &[String]) -> Selection {
    let index = project.resolved();
    let mut analyses: Vec<&Analysis> = index.analyses().collect();
    let live = analyses.len();
    let gone: Vec<Analysis> = deleted
        .iter()
        .filter_map(|t| crate::load::load_file(FileId(u32::MAX), Some(t), LoadOptions::default()).analysis)
        .filter(|a| !a.id_str().is_empty())
        .collect();
    analyses.extend(gone.iter());
    let mut direct: HashSet<usize> = (live..analyses.len()).collect();
    for (at, a) in analyses.iter().enumerate().take(live) {
        let rel = &project.source(a.file).rel;
        let py = filename(a).map(|f| join_rel(rel, f));
        if changed.contains(rel) || py.is_some_and(|p| changed.contains(&p)) {
            direct.insert(at);
        }
    }
    let edges = edges(project, &index, &analyses, live);
    // Follow the edges from the changed items until nothing is added.
    let mut by_source: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, e) in edges.iter().enumerate() {
        by_source.entry(e.source.as_str()).or_default().push(n);
    }
    let mut selected: HashSet<usize> = direct.clone();
    let mut queue: Vec<usize> = direct.iter().copied().collect();
    while let Some(at) = queue.pop() {
        let id = analyses[at].id_str();
        if id.is_empty() {
            continue;
        }
        for &n in by_source.get(id).into_iter().flatten() {
            if selected.insert(edges[n].target) {
                queue.push(edges[n].target);
            }
        }
    }
    let selected_ids: HashSet<&str> = selected.iter().map(|&at| analyses[at].id_str()).collect();
    let changed_ids: HashSet<&str> = direct.iter().map(|&at| analyses[at].id_str()).collect();
    let mut out = Selection::new();
    for &at in direct.iter().filter(|&&at| at < live) {
        out.entry(analyses[at].file).or_default().push(Why::Changed);
    }
    for e in &edges {
        if e.target >= live || !selected.contains(&e.target) || !selected_ids.contains(e.source.as_str()) {
            continue;
        }
        let mut why = e.why.clone();
        if let Why::DerivedFrom { base, changed } = &mut why {
            *changed = changed_ids.contains(base.as_str());
        }
        let list = out.entry(analyses[e.target].file).or_default();
        if !list.contains(&why) {
            list.push(why);
        }
    }
    out
}

/// One dependency: `target` (an index into the analyses) depends on the
/// item(s) with ID `source`.
struct Edge {
    source: String,
    target: usize,
    why: Why,
}

/// The edges into the first `live` analyses (those of the project; the
/// others are deleted files, sources only).
fn edges(project: &Project, index: &Index<'_>, analyses: &[&Analysis], live: usize) -> Vec<Edge> {
    let mut edges = Vec::new();
    let globals: Vec<&str> = analyses
        .iter()
        .filter(|a| a.analysis_type.value == AnalysisType::Global && !a.id_str().is_empty())
        .map(|a| a.id_str())
        .collect();
    // LogType -> data models claiming it.
    let mut models: HashMap<&str, Vec<&str>> = HashMap::new();
    for a in analyses
        .iter()
        .filter(|a| a.analysis_type.value == AnalysisType::DataModel)
    {
        if let Body::Other(o) = &a.body {
            for l in &o.log_types {
                models.entry(l.value.as_str()).or_default().push(a.id_str());
            }
        }
    }
    for (target, a) in analyses.iter().enumerate().take(live) {
        match &a.body {
            Body::Rule(r) => {
                if let Some(b) = &r.base_detection {
                    edges.push(Edge {
                        source: b.value.clone(),
                        target,
                        why: Why::DerivedFrom {
                            base: b.value.clone(),
                            changed: false,
                        },
                    });
                }
                let log_types = r
                    .log_types
                    .as_ref()
                    .or_else(|| mergeable_base(a, index).and_then(|b| b.rule()?.log_types.as_ref()));
                for l in log_types.into_iter().flatten() {
                    for m in models.get(l.value.as_str()).into_iter().flatten() {
                        edges.push(Edge {
                            source: (*m).to_owned(),
                            target,
                            why: Why::DataModel {
                                data_model: (*m).to_owned(),
                                log_type: l.value.clone(),
                            },
                        });
                    }
                }
            }
            Body::Other(o) => {
                for r in &o.rule_refs {
                    edges.push(Edge {
                        source: r.value.clone(),
                        target,
                        why: Why::References(r.value.clone()),
                    });
                }
            }
        }
        if globals.is_empty() {
            continue;
        }
        let Some(f) = filename(a) else { continue };
        let src = project.source(a.file);
        let Some(py) = src.path.parent().map(|d| d.join(f)) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(py) else {
            continue;
        };
        for g in imported(&text, &globals) {
            if g != a.id_str() {
                edges.push(Edge {
                    source: g.to_owned(),
                    target,
                    why: Why::ImportsGlobal(g.to_owned()),
                });
            }
        }
    }
    edges
}

/// The `Filename` of an item.
fn filename(a: &Analysis) -> Option<&str> {
    match &a.body {
        Body::Rule(r) => r.filename.as_ref().map(|f| f.value.as_str()),
        Body::Other(o) => o.filename.as_ref().map(|f| f.value.as_str()),
    }
}

/// `file` (relative to the folder of `rel`), relative to the project root,
/// `/`-separated.
fn join_rel(rel: &str, file: &str) -> String {
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    parts.pop();
    for c in Path::new(file).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

/// The globals among `globals` that Python text imports: lines
/// `import G`, `import a, G as b` and `from G import ...` (also
/// `from G.sub import`), matched as text.
fn imported<'g>(text: &str, globals: &[&'g str]) -> Vec<&'g str> {
    let mut names: HashSet<&str> = HashSet::new();
    for line in text.lines().map(str::trim_start) {
        if let Some(rest) = line.strip_prefix("import ") {
            for part in rest.split(',') {
                if let Some(name) = part.split_whitespace().next() {
                    names.insert(name.split('.').next().unwrap_or(name));
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some("import")) = (words.next(), words.next()) {
                names.insert(name.split('.').next().unwrap_or(name));
            }
        }
    }
    globals.iter().copied().filter(|g| names.contains(g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_matched_as_text() {
        let text =
            "import os\nfrom panther_base_helpers import deep_get\n  import a_helper as h, other\nx = 'import fake'\n";
        let globals = ["panther_base_helpers", "a_helper", "other", "fake", "os_extra"];
        assert_eq!(
            imported(text, &globals),
            vec!["panther_base_helpers", "a_helper", "other"]
        );
        assert_eq!(imported("from pkg.sub import x\n", &["pkg", "sub"]), vec!["pkg"]);
    }

    #[test]
    fn filename_is_relative_to_the_yaml_folder() {
        assert_eq!(join_rel("rules/a/r.yml", "r.py"), "rules/a/r.py");
        assert_eq!(join_rel("r.yml", "./r.py"), "r.py");
        assert_eq!(join_rel("rules/a/r.yml", "../b/r.py"), "rules/b/r.py");
    }

    #[test]
    fn reasons_read_as_documented() {
        let d = Why::DerivedFrom {
            base: "B".into(),
            changed: true,
        };
        assert_eq!(d.to_string(), "derived from B (changed)");
        let m = Why::DataModel {
            data_model: "D".into(),
            log_type: "AWS.CloudTrail".into(),
        };
        assert_eq!(m.to_string(), "data model D for LogType AWS.CloudTrail");
        assert_eq!(Why::ImportsGlobal("g".into()).to_string(), "imports global g");
    }
}
