//! What `detect coverage` computes: for every detection its ATT&CK
//! mappings and the shape of its tests, then per technique the detections
//! covering it, per tactic the detections mapped to it, and the gaps
//! (detections without tests, or without both a true and a false case).

use std::collections::{BTreeMap, BTreeSet};

use super::mitre::{self, Mapping, REPORTS_KEY, TACTICS, Tactic};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Analysis, AnalysisType};
use crate::source::FileId;
use crate::yaml::{Node, NodeKind};

/// The facts about one detection that coverage needs.
#[derive(Debug, Clone)]
pub struct Detection {
    /// `RuleID` or `PolicyID`.
    pub id: String,
    /// The file.
    pub file: FileId,
    /// Its analysis type.
    pub analysis_type: AnalysisType,
    /// The effective `Enabled`.
    pub enabled: bool,
    /// The ATT&CK entries that parse, without repeats.
    pub mappings: BTreeSet<Mapping>,
    /// The number of tests, and of those with `ExpectedResult: true`.
    pub tests: usize,
    /// Tests with `ExpectedResult: true`.
    pub true_cases: usize,
    /// Tests with `ExpectedResult: false`.
    pub false_cases: usize,
}

/// Reads a detection; a derived detection takes `Enabled`, `Reports` and
/// `Tests` from `base` where it does not set them. Malformed ATT&CK
/// entries are pushed to `warnings` (`invalid-mitre-mapping`).
pub fn detection(a: &Analysis, base: Option<&Analysis>, warnings: &mut Vec<Diagnostic>) -> Detection {
    let own_or_base = |key: &str| -> Option<(&Node, FileId)> {
        match a.root.get(key) {
            Some(n) => Some((n, a.file)),
            None => base.and_then(|b| b.root.get(key).map(|n| (n, b.file))),
        }
    };
    let enabled = matches!(own_or_base("Enabled").map(|(n, _)| &n.kind), Some(NodeKind::Bool(true)));
    let mut mappings = BTreeSet::new();
    if let Some((reports, file)) = own_or_base("Reports") {
        if let Some((key, entries)) = reports.get_entry(REPORTS_KEY) {
            read_entries(key, entries, file, &mut mappings, warnings);
        }
    }
    let (mut tests, mut true_cases, mut false_cases) = (0, 0, 0);
    let own_tests = a.root.get("Tests").and_then(Node::as_seq).filter(|t| !t.is_empty());
    let tests_list = own_tests.or_else(|| base.and_then(|b| b.root.get("Tests")).and_then(Node::as_seq));
    for t in tests_list.unwrap_or(&[]) {
        tests += 1;
        match t.get("ExpectedResult").map(|n| &n.kind) {
            Some(NodeKind::Bool(true)) => true_cases += 1,
            Some(NodeKind::Bool(false)) => false_cases += 1,
            _ => {}
        }
    }
    Detection {
        id: a.id_str().to_owned(),
        file: a.file,
        analysis_type: a.analysis_type.value,
        enabled,
        mappings,
        tests,
        true_cases,
        false_cases,
    }
}

fn read_entries(key: &Node, entries: &Node, file: FileId, out: &mut BTreeSet<Mapping>, warnings: &mut Vec<Diagnostic>) {
    let Some(items) = entries.as_seq() else {
        let mut d = Diagnostic::new(
            Code::InvalidMitreMapping,
            file,
            if entries.is_null() { key.span } else { entries.span },
            format!("`Reports.{REPORTS_KEY}` must be a list, found {}", entries.type_name()),
        );
        d.help = Some("list entries such as `- TA0001:T1078`".to_owned());
        warnings.push(d);
        return;
    };
    for item in items {
        let parsed = match item.as_str() {
            Some(s) => mitre::parse(s),
            None => Err(format!("an entry must be a string, found {}", item.type_name())),
        };
        match parsed {
            Ok(m) => {
                out.insert(m);
            }
            Err(why) => {
                let mut d = Diagnostic::new(Code::InvalidMitreMapping, file, item.span, why);
                d.help = Some("write `TACTIC:TECHNIQUE`, e.g. `TA0006:T1110.003`".to_owned());
                warnings.push(d);
            }
        }
    }
}

/// Why a detection is a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GapKind {
    /// No unit test at all.
    NoTests,
    /// Tests, but none expects a match.
    NoTrueCase,
    /// Tests, but every one expects a match.
    NoFalseCase,
}

impl GapKind {
    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            GapKind::NoTests => "no-tests",
            GapKind::NoTrueCase => "no-true-case",
            GapKind::NoFalseCase => "no-false-case",
        }
    }
}

/// A detection with a gap in its tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The detection's ID.
    pub id: String,
    /// Its file.
    pub file: FileId,
    /// What is missing.
    pub kind: GapKind,
}

/// One (technique, tactic) cell of the matrix and the detections on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    /// `T1078`.
    pub technique: String,
    /// The tactic, or `None` for an entry without one.
    pub tactic: Option<Tactic>,
    /// Enabled detections, by ID, sorted.
    pub enabled: Vec<String>,
    /// Disabled detections, by ID, sorted.
    pub disabled: Vec<String>,
}

/// Detections mapped to one tactic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacticCount {
    /// The tactic.
    pub tactic: Tactic,
    /// Enabled detections with at least one technique under it.
    pub enabled: usize,
    /// Distinct techniques under it covered by an enabled detection.
    pub techniques: usize,
}

/// The whole result.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Detections read.
    pub detections: usize,
    /// Of those, enabled.
    pub enabled: usize,
    /// Enabled detections with no ATT&CK entry.
    pub enabled_unmapped: usize,
    /// Cells, sorted by technique then tactic (matrix order).
    pub covered: Vec<Covered>,
    /// Every tactic, in matrix order.
    pub tactics: Vec<TacticCount>,
    /// Gaps, sorted by ID.
    pub gaps: Vec<Gap>,
}

impl Coverage {
    /// Distinct techniques covered by at least one enabled detection.
    pub fn techniques_covered(&self) -> usize {
        let set: BTreeSet<&str> = self
            .covered
            .iter()
            .filter(|c| !c.enabled.is_empty())
            .map(|c| c.technique.as_str())
            .collect();
        set.len()
    }
}

/// A (technique, tactic position) cell of the matrix.
type Cell = (String, Option<usize>);

/// The enabled and the disabled detections of a cell.
type Ids = (BTreeSet<String>, BTreeSet<String>);

/// Tallies the detections.
pub fn tally(detections: &[Detection]) -> Coverage {
    let mut cells: BTreeMap<Cell, Ids> = BTreeMap::new();
    let position = |t: &Tactic| TACTICS.iter().position(|o| o == t);
    let mut cov = Coverage {
        detections: detections.len(),
        ..Coverage::default()
    };
    let mut per_tactic: Vec<(BTreeSet<&str>, BTreeSet<&str>)> = vec![Default::default(); TACTICS.len()];
    for d in detections {
        if d.enabled {
            cov.enabled += 1;
            if d.mappings.is_empty() {
                cov.enabled_unmapped += 1;
            }
        }
        for m in &d.mappings {
            let slot = m.tactic.as_ref().and_then(position);
            let cell = cells.entry((m.technique.clone(), slot)).or_default();
            if d.enabled {
                cell.0.insert(d.id.clone());
                if let Some(i) = slot {
                    per_tactic[i].0.insert(&d.id);
                    per_tactic[i].1.insert(&m.technique);
                }
            } else {
                cell.1.insert(d.id.clone());
            }
        }
        let gap = if d.tests == 0 {
            Some(GapKind::NoTests)
        } else if d.true_cases == 0 {
            Some(GapKind::NoTrueCase)
        } else if d.false_cases == 0 {
            Some(GapKind::NoFalseCase)
        } else {
            None
        };
        if let Some(kind) = gap {
            cov.gaps.push(Gap {
                id: d.id.clone(),
                file: d.file,
                kind,
            });
        }
    }
    cov.gaps.sort_by(|a, b| (&a.id, a.kind).cmp(&(&b.id, b.kind)));
    cov.covered = cells
        .into_iter()
        .map(|((technique, slot), (enabled, disabled))| Covered {
            technique,
            tactic: slot.map(|i| TACTICS[i]),
            enabled: enabled.into_iter().collect(),
            disabled: disabled.into_iter().collect(),
        })
        .collect();
    cov.tactics = TACTICS
        .iter()
        .zip(per_tactic)
        .map(|(t, (ids, techniques))| TacticCount {
            tactic: *t,
            enabled: ids.len(),
            techniques: techniques.len(),
        })
        .collect();
    cov
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(id: &str, enabled: bool, entries: &[&str], tests: (usize, usize, usize)) -> Detection {
        Detection {
            id: id.to_owned(),
            file: FileId(0),
            analysis_type: AnalysisType::Rule,
            enabled,
            mappings: entries.iter().map(|e| mitre::parse(e).unwrap()).collect(),
            tests: tests.0,
            true_cases: tests.1,
            false_cases: tests.2,
        }
    }

    #[test]
    fn scores_count_enabled_detections_per_cell() {
        let cov = tally(&[
            det("A", true, &["TA0001:T1078", "TA0006:T1110.003"], (2, 1, 1)),
            det("B", true, &["TA0001:T1078"], (0, 0, 0)),
            det("C", false, &["TA0001:T1078", "T1098"], (1, 1, 0)),
        ]);
        assert_eq!(cov.covered.len(), 3);
        let t1078 = &cov.covered[0];
        assert_eq!(t1078.technique, "T1078");
        assert_eq!(t1078.enabled, ["A", "B"]);
        assert_eq!(t1078.disabled, ["C"]);
        assert_eq!(cov.covered[1].technique, "T1098");
        assert!(cov.covered[1].enabled.is_empty());
        assert_eq!(cov.techniques_covered(), 2);
        let initial = cov.tactics.iter().find(|t| t.tactic.id == "TA0001").unwrap();
        assert_eq!((initial.enabled, initial.techniques), (2, 1));
        let gaps: Vec<_> = cov.gaps.iter().map(|g| (g.id.as_str(), g.kind)).collect();
        assert_eq!(gaps, [("B", GapKind::NoTests), ("C", GapKind::NoFalseCase)]);
    }
}
