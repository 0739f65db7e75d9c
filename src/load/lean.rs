//! What of a file's tree outlives loading (docs/design/016).
//!
//! Once a file is loaded, its typed model holds what the later stages of
//! `validate` and `test` read; the parsed tree is kept for the few raw
//! reads left (the keys of `READ_RAW` and of `--filter`, every key of a
//! derived detection, the `Tests` of Python rules and policies, data-model
//! `Mappings`). A lean load drops the other top-level keys and replaces
//! every other list or mapping value by an empty one at the same position,
//! so a 10,000-rule repository does not keep 10,000 full trees until the
//! run ends. Commands that write files or bundles, or that show
//! raw values (`fmt`, `zip`, `upload`, `show`, `derive`, `run`, the editor
//! server), keep whole trees.

use std::sync::Arc;

use crate::model::{AnalysisType, Body};
use crate::yaml::{Node, NodeKind};

/// Which part of each file's tree a load keeps.
#[derive(Debug, Clone, Default)]
pub enum Keep {
    /// The whole tree (the default).
    #[default]
    All,
    /// Top-level keys, scalar values and the values of the keys later
    /// stages read raw, plus `keys` (those `--filter` reads).
    Lean {
        /// More top-level keys whose values are kept whole.
        keys: Arc<[String]>,
        /// Whether the typed detection logic stays (`test` runs it); without
        /// it (`validate`), a rule keeps whether it has a `Detection`,
        /// `DynamicSeverities`, `AlertContext` or `GroupBy`, not their
        /// expressions, which no cross-file check reads.
        logic: bool,
    },
}

/// Top-level keys whose values are kept whole by a lean load, whatever the
/// type: data-model `Mappings` go to the Python worker as they are.
const KEPT: &[&str] = &["Mappings"];

/// Top-level keys later stages of `validate` and `test` read from the tree
/// (presence, position or scalar value); a lean load drops the others from
/// every file but a derived detection, whose keys say what it overrides.
/// The first key stays too: it is where an item without an ID is reported.
const READ_RAW: &[&str] = &[
    "AnalysisType",
    "BaseDetection",
    "CreateAlert",
    "Enabled",
    "Filename",
    "Mappings",
    "Status",
    "Tests",
];

/// The tree to keep of a loaded file.
pub fn prune(root: Node, ty: AnalysisType, body: &Body, keep: &Keep) -> Node {
    let Keep::Lean { keys, .. } = keep else { return root };
    // A correlation rule's references are re-read from its tree by a
    // cross-file check; correlation rules are few.
    if ty == AnalysisType::CorrelationRule {
        return root;
    }
    // A Simple Detection's tests live in the typed model; a Python rule's,
    // a policy's and a derived detection's (whose base may be Python) are
    // read raw by the Python plan.
    let native_tests = matches!(body, Body::Rule(r) if r.is_simple() && !r.is_derived());
    let derived = matches!(body, Body::Rule(r) if r.is_derived());
    let Node { span, kind } = root;
    let NodeKind::Map(entries) = kind else {
        return Node { span, kind };
    };
    let mut entries: Vec<_> = entries
        .into_iter()
        .enumerate()
        .filter_map(|(i, (k, v))| {
            let name = k.as_str().unwrap_or_default();
            let asked = keys.iter().any(|key| key == name);
            if !(i == 0 || derived || asked || READ_RAW.contains(&name) || name == ty.id_key()) {
                return None;
            }
            let whole = KEPT.contains(&name) || (name == "Tests" && !native_tests) || asked;
            Some((k, if whole { v } else { hollow(v) }))
        })
        .collect();
    // The collect reuses the file's allocation of every entry.
    entries.shrink_to_fit();
    Node {
        span,
        kind: NodeKind::Map(entries),
    }
}

/// The typed body to keep of a loaded file: without `logic`, a rule's
/// expressions are emptied (each list stays `Some`, so `is_simple` and the
/// like still answer as for the file). `InlineFilters` stay: a cross-file
/// check reads whether a base has them.
pub fn slim(body: &mut Body, keep: &Keep) {
    let (Keep::Lean { logic: false, .. }, Body::Rule(rule)) = (keep, body) else {
        return;
    };
    fn empty<T>(list: &mut Option<Vec<T>>) {
        if let Some(l) = list {
            *l = Vec::new();
        }
    }
    empty(&mut rule.detection);
    empty(&mut rule.dynamic_severities);
    empty(&mut rule.alert_context);
    empty(&mut rule.group_by);
    if let Some(t) = &mut rule.alert_title {
        t.parts = Vec::new();
    }
}

/// A list or mapping emptied, at the same position; a scalar as it is.
fn hollow(n: Node) -> Node {
    match n.kind {
        NodeKind::Seq(_) => Node {
            span: n.span,
            kind: NodeKind::Seq(Vec::new()),
        },
        NodeKind::Map(_) => Node {
            span: n.span,
            kind: NodeKind::Map(Vec::new()),
        },
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    fn lean(keys: &[&str]) -> LoadOptions {
        lean_with(keys, true)
    }

    fn lean_with(keys: &[&str], logic: bool) -> LoadOptions {
        LoadOptions {
            keep: Keep::Lean {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                logic,
            },
            ..LoadOptions::default()
        }
    }

    fn root(text: &str, opts: LoadOptions) -> Node {
        match load_file(FileId(0), Some(text), opts).analysis {
            Some(a) => a.root,
            None => panic!("not loaded"),
        }
    }

    const SIMPLE: &str = "AnalysisType: rule\nRuleID: A\nEnabled: true\nSeverity: High\nLogTypes: [AWS.CloudTrail]\nTags: [x, y]\nDetection:\n  - KeyPath: a\n    Condition: Equals\n    Value: 1\nTests:\n  - Name: t\n    ExpectedResult: true\n    Log: {a: 1}\n";

    /// The top-level keys of a tree, in order.
    fn keys(n: &Node) -> Vec<&str> {
        n.as_map()
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect()
    }

    #[test]
    fn a_lean_tree_keeps_the_keys_read_raw_and_empties_their_lists_and_maps() {
        let full = root(SIMPLE, LoadOptions::default());
        let kept = root(SIMPLE, lean(&[]));
        assert_eq!(keys(&kept), ["AnalysisType", "RuleID", "Enabled", "Tests"]);
        for (k, v) in kept.as_map().unwrap_or(&[]) {
            let (fk, fv) = full.get_entry(k.as_str().unwrap()).unwrap();
            assert_eq!(fk, k, "a key keeps its position");
            assert_eq!(fv.span, v.span, "`{:?}` keeps its position", k.as_str());
            match &fv.kind {
                NodeKind::Seq(_) => assert_eq!(v.kind, NodeKind::Seq(Vec::new())),
                NodeKind::Map(_) => assert_eq!(v.kind, NodeKind::Map(Vec::new())),
                _ => assert_eq!(fv, v),
            }
        }
        // A Simple Detection's tests are in the typed model.
        assert_eq!(kept.get("Tests").map(|t| &t.kind), Some(&NodeKind::Seq(Vec::new())));
        // The first key stays, whatever it is.
        let reordered = format!("Severity: High\n{}", SIMPLE.replace("Severity: High\n", ""));
        assert_eq!(keys(&root(&reordered, lean(&[])))[0], "Severity");
        assert_eq!(kept.first_key_span(), full.first_key_span());
    }

    #[test]
    fn a_derived_detection_keeps_every_key() {
        let derived = "AnalysisType: rule\nRuleID: D\nBaseDetection: B\nSeverity: Low\nInlineFilters:\n  - KeyPath: a\n    Condition: Exists\n";
        let kept = root(derived, lean(&[]));
        assert_eq!(keys(&kept), keys(&root(derived, LoadOptions::default())));
        assert_eq!(
            kept.get("InlineFilters").map(|t| &t.kind),
            Some(&NodeKind::Seq(Vec::new()))
        );
    }

    #[test]
    fn filter_keys_python_tests_mappings_and_correlation_rules_stay_whole() {
        let kept = root(SIMPLE, lean(&["Tags"]));
        assert_eq!(kept.get("Tags"), root(SIMPLE, LoadOptions::default()).get("Tags"));
        let python = SIMPLE.replace(
            "Detection:\n  - KeyPath: a\n    Condition: Equals\n    Value: 1\n",
            "Filename: a.py\n",
        );
        let kept = root(&python, lean(&[]));
        assert_eq!(kept.get("Tests"), root(&python, LoadOptions::default()).get("Tests"));
        let derived = "AnalysisType: rule\nRuleID: D\nBaseDetection: B\nTests:\n  - Name: t\n    ExpectedResult: true\n    Log: {a: 1}\n";
        assert_eq!(
            root(derived, lean(&[])).get("Tests"),
            root(derived, LoadOptions::default()).get("Tests")
        );
        let model = "AnalysisType: datamodel\nDataModelID: M\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nMappings:\n  - Name: actor\n    Path: a.b\n";
        assert_eq!(
            root(model, lean(&[])).get("Mappings"),
            root(model, LoadOptions::default()).get("Mappings")
        );
        let correlation = "AnalysisType: correlation_rule\nRuleID: C\nEnabled: true\nSeverity: High\nDetection:\n  - Sequence:\n      - ID: a\n        RuleID: A\n      - ID: b\n        RuleID: B\n    Transitions:\n      - ID: a to b\n        From: a\n        To: b\n    LookbackWindowMinutes: 15\n    Schedule:\n      RateMinutes: 15\n      TimeoutMinutes: 5\n";
        assert_eq!(root(correlation, lean(&[])), root(correlation, LoadOptions::default()));
    }

    #[test]
    fn without_logic_a_rule_keeps_what_it_has_but_not_its_expressions() {
        let text = format!(
            "{SIMPLE}InlineFilters:\n  - KeyPath: b\n    Condition: Exists\nGroupBy:\n  - KeyPath: a\nAlertTitle: \"x {{a}}\"\n"
        );
        let rule = |opts| match load_file(FileId(0), Some(&text), opts).analysis.map(|a| a.body) {
            Some(Body::Rule(r)) => r,
            _ => panic!("not a rule"),
        };
        let with = rule(lean(&[]));
        assert_eq!(with.detection.as_ref().map(Vec::len), Some(1));
        let without = rule(lean_with(&[], false));
        assert!(without.is_simple());
        assert_eq!(without.detection.as_ref().map(Vec::len), Some(0));
        assert_eq!(without.group_by.as_ref().map(Vec::len), Some(0));
        assert_eq!(without.alert_title.as_ref().map(|t| t.parts.len()), Some(0));
        assert_eq!(
            without.inline_filters, with.inline_filters,
            "a cross-file check reads them"
        );
        assert_eq!(without.tests, with.tests);
        assert_eq!(without.dynamic_severities, None, "absent stays absent");
    }
}
