//! Why an item cannot be evaluated (run, test): a typed reason, rendered to
//! the words the reports print.

use super::set::{Base, Index, is_valid_base_kind};
use crate::model::{Analysis, Rule};

/// Why a detection (or its tests) is not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// The base of a derived detection is not among the loaded files.
    UnknownBase,
    /// The base is loaded but invalid, or not a plain rule.
    InvalidBase,
    /// The base is not local; the instance says it is a Python rule.
    RemotePythonBase,
    /// The (effective) detection has Python logic and Python detections
    /// are not run (`--no-python`, or no `Filename` to run).
    PythonRule,
    /// Python detections are selected but no interpreter can be started.
    NoPython,
    /// The interpreter cannot import panther-core.
    NoPantherCore,
    /// A simple scheduled rule (`run` evaluates streaming rules only).
    ScheduledRule,
    /// A correlation rule whose detection does not compile.
    InvalidCorrelationRule,
    /// `--skip-disabled-tests` and the effective `Enabled` is false.
    Disabled,
    /// `--test-names` selects none of the item's tests.
    NoMatchingTestNames,
    /// The item has no tests.
    NoTests,
}

impl Skip {
    /// The words reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::UnknownBase => "unknown base",
            Skip::InvalidBase => "invalid base",
            Skip::RemotePythonBase => "remote python base",
            Skip::PythonRule => "python rule",
            Skip::NoPython => "no python",
            Skip::NoPantherCore => "no panther-core",
            Skip::ScheduledRule => "scheduled rule",
            Skip::InvalidCorrelationRule => "invalid correlation rule",
            Skip::Disabled => "disabled",
            Skip::NoMatchingTestNames => "no matching test names",
            Skip::NoTests => "no tests",
        }
    }

    /// Whether the reason is about the base of a derived detection (it
    /// wins over `no tests`).
    pub fn is_base(self) -> bool {
        matches!(self, Skip::UnknownBase | Skip::InvalidBase | Skip::RemotePythonBase)
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'a> Index<'a> {
    /// The usable local base named `id`, with its rule, or why there is
    /// none: [`Skip::UnknownBase`] when no loaded item has the ID,
    /// [`Skip::InvalidBase`] when it is invalid or not a plain rule. The one
    /// answer `test` and `run` give to "which base does this derived
    /// detection use".
    pub fn usable_base(&self, id: &str) -> Result<(&'a Analysis, &'a Rule), Skip> {
        match self.base(id) {
            Base::NotLocal => Err(Skip::UnknownBase),
            Base::Invalid(_) => Err(Skip::InvalidBase),
            Base::Local(b) => match b.rule() {
                Some(rule) if is_valid_base_kind(b) => Ok((b, rule)),
                _ => Err(Skip::InvalidBase),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    #[test]
    fn reasons_render_as_the_reports_print_them() {
        let all = [
            (Skip::UnknownBase, "unknown base"),
            (Skip::InvalidBase, "invalid base"),
            (Skip::RemotePythonBase, "remote python base"),
            (Skip::PythonRule, "python rule"),
            (Skip::ScheduledRule, "scheduled rule"),
            (Skip::InvalidCorrelationRule, "invalid correlation rule"),
            (Skip::Disabled, "disabled"),
            (Skip::NoMatchingTestNames, "no matching test names"),
            (Skip::NoTests, "no tests"),
        ];
        for (s, text) in all {
            assert_eq!(s.to_string(), text);
        }
    }

    #[test]
    fn usable_base_says_why_not() {
        let load = |i: u32, t: &str| load_file(FileId(i), Some(t), LoadOptions::default()).analysis.unwrap();
        let rule = load(
            0,
            "AnalysisType: rule\nRuleID: R\nLogTypes: [X]\nSeverity: Low\nFilename: r.py\n",
        );
        let derived = load(1, "AnalysisType: rule\nRuleID: D\nBaseDetection: R\n");
        let policy = load(
            2,
            "AnalysisType: policy\nPolicyID: P\nResourceTypes: [X]\nSeverity: Low\nFilename: p.py\n",
        );
        let broken = load(
            3,
            "AnalysisType: rule\nRuleID: B\nLogTypes: [X]\nSeverity: Low\nFilename: b.py\n",
        );
        let fixture = crate::resolve::Fixture::new(vec![rule, derived, policy, broken], [FileId(3)].into());
        let index = fixture.index();
        let rule = fixture.entries[0].analysis.as_ref().unwrap();
        assert!(index.usable_base("R").is_ok_and(|(a, _)| std::ptr::eq(a, rule)));
        assert_eq!(index.usable_base("nope").err(), Some(Skip::UnknownBase));
        assert_eq!(
            index.usable_base("D").err(),
            Some(Skip::InvalidBase),
            "a derived detection is no base"
        );
        assert_eq!(
            index.usable_base("P").err(),
            Some(Skip::InvalidBase),
            "a policy is no base"
        );
        assert_eq!(index.usable_base("B").err(), Some(Skip::InvalidBase), "an invalid file");
    }
}
