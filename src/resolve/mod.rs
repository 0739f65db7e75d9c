//! The resolve stage: BaseDetection inheritance (derived-detections §3, §5).
//!
//! Between loading and the checks: finds the base of each derived detection
//! among the loaded items (`set.rs`), builds the effective detection, every
//! key of the base with each overridable key the derived file writes
//! replacing the base's value whole (`fields.rs`), and says why an item
//! cannot be evaluated (`skip.rs`). Logic keys are always the base's. Tests
//! are inherited when the derived file has no `Tests` key at all. Alert
//! precedence (`precedence.rs`) and automatic base disabling (`disable.rs`)
//! read the same set.

mod dependents;
mod disable;
mod fields;
mod precedence;
mod set;
mod skip;
mod stage;

pub use crate::load::rule::OVERRIDABLE;
pub use dependents::*;
pub use disable::*;
pub use fields::*;
pub use precedence::*;
pub use set::*;
pub use skip::*;
pub use stage::*;

#[cfg(test)]
mod precedence_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::model::Analysis;
    use crate::source::FileId;

    fn load(t: &str) -> Analysis {
        load_file(FileId(0), Some(t), LoadOptions::default()).analysis.unwrap()
    }

    #[test]
    fn overrides_replace_and_tests_inherit() {
        let base = load(
            "AnalysisType: rule\nRuleID: B\nEnabled: false\nLogTypes: [X]\nSeverity: Low\nTags: [a]\nFilename: b.py\nTests:\n  - {Name: t, ExpectedResult: true, Log: {}}\n",
        );
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nSeverity: High\nTags: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(inherited);
        assert_eq!(e.severity.unwrap().value, crate::model::Level::High);
        assert_eq!(e.tags.unwrap().len(), 0);
        assert!(!e.enabled.unwrap().value);
        assert_eq!(e.tests.unwrap().len(), 1);
        assert_eq!(e.filename.unwrap().value, "b.py");
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nTests: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(!inherited);
        assert!(e.tests.unwrap().is_empty());
    }
}
