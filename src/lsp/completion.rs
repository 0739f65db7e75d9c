//! Completion: top-level keys of the file's `AnalysisType`, condition
//! names, `LogTypes`, RuleIDs where one is expected (`BaseDetection`,
//! correlation `RuleID`, pack `IDs`) and field paths of the file's own test
//! events for `Key`/`KeyPath`.

use std::collections::BTreeSet;

use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use crate::lsp::cursor::{self, Cursor};
use crate::lsp::reference;
use crate::lsp::workspace::Workspace;
use crate::model::{AnalysisType, Condition};
use crate::source::FileId;

/// Most field paths offered from one file's events.
const MAX_FIELDS: usize = 500;

/// The completions at the cursor of `text` (the file `file`).
pub fn complete(ws: Option<&Workspace>, file: Option<FileId>, text: &str, c: &Cursor<'_>) -> Vec<CompletionItem> {
    let nested = !c.parents.is_empty();
    match (c.key, c.item, c.parents.first().copied()) {
        (Some("Condition"), _, _) => conditions(c.word),
        (Some("AnalysisType"), _, _) if c.top => AnalysisType::ALL
            .iter()
            .map(|(_, name)| item(name, CompletionItemKind::ENUM_MEMBER, None))
            .collect(),
        (Some("BaseDetection"), _, _) => rule_ids(ws, file, true),
        (Some("RuleID"), _, _) if nested => rule_ids(ws, file, false),
        (None, true, Some("IDs")) if c.parents.get(1) == Some(&"PackDefinition") => all_ids(ws),
        (None, true, Some("LogTypes")) => log_types(ws),
        (Some("LogTypes"), _, _) => log_types(ws),
        (Some(k @ ("Key" | "KeyPath")), _, _) => fields(ws, file, k == "KeyPath"),
        (None, false, _) if c.top => top_keys(text),
        _ => Vec::new(),
    }
}

fn item(label: &str, kind: CompletionItemKind, doc: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        documentation: doc.map(|d| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: d,
            })
        }),
        ..CompletionItem::default()
    }
}

/// Condition names containing the word typed (case-insensitively); all of
/// them when none does.
fn conditions(word: &str) -> Vec<CompletionItem> {
    let w = word.to_ascii_lowercase();
    let mut names: Vec<&str> = Condition::ALL
        .iter()
        .map(|c| c.name())
        .filter(|n| n.to_ascii_lowercase().contains(&w))
        .collect();
    if names.is_empty() {
        names = Condition::ALL.iter().map(|c| c.name()).collect();
    }
    names
        .into_iter()
        .map(|n| item(n, CompletionItemKind::ENUM_MEMBER, reference::condition(n)))
        .collect()
}

/// The top-level keys the file's type allows that it does not have yet.
fn top_keys(text: &str) -> Vec<CompletionItem> {
    let ty = cursor::analysis_type(text).and_then(AnalysisType::from_name);
    let mut keys = crate::model::fields::top_level_keys(ty.unwrap_or(AnalysisType::Rule));
    let present = cursor::top_keys(text);
    keys.retain(|k| !present.contains(k));
    keys.into_iter()
        .map(|k| CompletionItem {
            insert_text: Some(format!("{k}: ")),
            ..item(k, CompletionItemKind::PROPERTY, reference::key(k))
        })
        .collect()
}

/// IDs of rules and scheduled rules (for `BaseDetection`: not derived
/// ones), but the file's own.
fn rule_ids(ws: Option<&Workspace>, file: Option<FileId>, bases: bool) -> Vec<CompletionItem> {
    let Some(ws) = ws else { return Vec::new() };
    let mut ids = BTreeSet::new();
    for a in ws.entries.iter().filter_map(|e| e.analysis.as_ref()) {
        if Some(a.file) == file {
            continue;
        }
        let Some(r) = a.rule() else { continue };
        if bases && r.is_derived() {
            continue;
        }
        if let Some(id) = &a.id {
            ids.insert((id.value.clone(), r.display_name.as_ref().map(|d| d.value.clone())));
        }
    }
    ids.into_iter()
        .map(|(id, name)| CompletionItem {
            detail: name,
            ..item(&id, CompletionItemKind::REFERENCE, None)
        })
        .collect()
}

/// Every ID of the workspace (pack `IDs`).
fn all_ids(ws: Option<&Workspace>) -> Vec<CompletionItem> {
    let Some(ws) = ws else { return Vec::new() };
    let ids: BTreeSet<&str> = ws
        .entries
        .iter()
        .filter_map(|e| e.analysis.as_ref())
        .filter(|a| a.analysis_type.value != AnalysisType::Pack)
        .filter_map(|a| a.id.as_ref().map(|i| i.value.as_str()))
        .collect();
    ids.into_iter()
        .map(|id| item(id, CompletionItemKind::REFERENCE, None))
        .collect()
}

/// The log types the workspace's rules and data models name.
fn log_types(ws: Option<&Workspace>) -> Vec<CompletionItem> {
    let Some(ws) = ws else { return Vec::new() };
    let mut seen = BTreeSet::new();
    for a in ws.entries.iter().filter_map(|e| e.analysis.as_ref()) {
        match &a.body {
            crate::model::Body::Rule(r) => seen.extend(r.log_types.iter().flatten().map(|l| l.value.as_str())),
            crate::model::Body::Other(o) => seen.extend(o.log_types.iter().map(|l| l.value.as_str())),
        }
    }
    seen.into_iter()
        .map(|l| item(l, CompletionItemKind::ENUM_MEMBER, None))
        .collect()
}

/// Field paths of the file's test events: top-level names for `Key`,
/// dotted paths (`[*]` for arrays) for `KeyPath`.
fn fields(ws: Option<&Workspace>, file: Option<FileId>, paths: bool) -> Vec<CompletionItem> {
    let Some(a) = ws.zip(file).and_then(|(ws, f)| ws.analysis(f)) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    for t in a.root.get("Tests").and_then(|t| t.as_seq()).unwrap_or(&[]) {
        let Some(Ok(event)) = t.get("Log").map(|l| l.to_json()) else {
            continue;
        };
        walk(&event, String::new(), paths, 0, &mut seen);
    }
    seen.into_iter()
        .map(|p| item(&p, CompletionItemKind::FIELD, None))
        .collect()
}

fn walk(v: &serde_json::Value, prefix: String, deep: bool, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 8 || out.len() >= MAX_FIELDS {
        return;
    }
    match v {
        serde_json::Value::Object(m) => {
            for (k, child) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(path.clone());
                if deep {
                    walk(child, path, deep, depth + 1, out);
                }
            }
        }
        serde_json::Value::Array(items) if deep && !prefix.is_empty() => {
            let path = format!("{prefix}[*]");
            for i in items.iter().filter(|i| i.is_object()).take(20) {
                walk(i, path.clone(), deep, depth + 1, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_after_a_prefix() {
        let names: Vec<String> = conditions("Eq").into_iter().map(|c| c.label).collect();
        assert!(names.contains(&"Equals".to_owned()), "{names:?}");
        assert!(names.contains(&"IEquals".to_owned()));
        assert!(!names.contains(&"IsIn".to_owned()));
        assert_eq!(conditions("zzz").len(), Condition::ALL.len());
    }

    #[test]
    fn top_keys_follow_the_type_and_skip_present_ones() {
        let labels = |t: &str| top_keys(t).into_iter().map(|c| c.label).collect::<Vec<_>>();
        let rule = labels("AnalysisType: rule\nRuleID: a\n");
        assert!(rule.contains(&"Severity".to_owned()));
        assert!(!rule.contains(&"RuleID".to_owned()));
        let pack = labels("AnalysisType: pack\n");
        assert!(pack.contains(&"PackDefinition".to_owned()), "{pack:?}");
        assert!(!pack.contains(&"Severity".to_owned()));
    }

    #[test]
    fn field_paths_walk_objects_and_arrays() {
        let v = serde_json::json!({"a": {"b": 1}, "r": [{"t": 1}], "x": 2});
        let mut out = BTreeSet::new();
        walk(&v, String::new(), true, 0, &mut out);
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(got, vec!["a", "a.b", "r", "r[*].t", "x"]);
    }
}
