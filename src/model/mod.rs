//! The typed model of every analysis file. No I/O here.
//!
//! An [`Analysis`] is one loaded file: its type, its ID and a typed body.
//! Values keep their spans so that later stages can point at them.

pub mod correlation;
pub mod expr;
pub mod fields;
pub mod keys;

use crate::source::{FileId, Span, Spanned};
use crate::yaml::Node;
pub use expr::*;

/// The `AnalysisType` values (cli-and-settings §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalysisType {
    /// Streaming rule.
    Rule,
    /// Rule over scheduled queries.
    ScheduledRule,
    /// Cloud resource policy.
    Policy,
    /// Correlation rule.
    CorrelationRule,
    /// Python helper module.
    Global,
    /// Data model.
    DataModel,
    /// Pack.
    Pack,
    /// Scheduled query.
    ScheduledQuery,
    /// Saved query.
    SavedQuery,
    /// Lookup table.
    LookupTable,
    /// AI prompt on a schedule.
    ScheduledPrompt,
}

impl AnalysisType {
    /// Every type with its YAML spelling.
    pub const ALL: &'static [(AnalysisType, &'static str)] = &[
        (AnalysisType::Rule, "rule"),
        (AnalysisType::ScheduledRule, "scheduled_rule"),
        (AnalysisType::Policy, "policy"),
        (AnalysisType::CorrelationRule, "correlation_rule"),
        (AnalysisType::Global, "global"),
        (AnalysisType::DataModel, "datamodel"),
        (AnalysisType::Pack, "pack"),
        (AnalysisType::ScheduledQuery, "scheduled_query"),
        (AnalysisType::SavedQuery, "saved_query"),
        (AnalysisType::LookupTable, "lookup_table"),
        (AnalysisType::ScheduledPrompt, "scheduled_prompt"),
    ];

    /// Parses the exact spelling.
    pub fn from_name(s: &str) -> Option<AnalysisType> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }

    /// The YAML spelling.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(t, _)| *t == self).map_or("rule", |(_, n)| n)
    }

    /// The key that holds the ID.
    pub fn id_key(self) -> &'static str {
        match self {
            AnalysisType::Rule | AnalysisType::ScheduledRule | AnalysisType::CorrelationRule => "RuleID",
            AnalysisType::Policy => "PolicyID",
            AnalysisType::Global => "GlobalID",
            AnalysisType::DataModel => "DataModelID",
            AnalysisType::Pack => "PackID",
            AnalysisType::ScheduledQuery | AnalysisType::SavedQuery => "QueryName",
            AnalysisType::LookupTable => "LookupName",
            AnalysisType::ScheduledPrompt => "PromptName",
        }
    }

    /// Whether items of this type are counted as detections in reports.
    pub fn is_detection(self) -> bool {
        matches!(
            self,
            AnalysisType::Rule | AnalysisType::ScheduledRule | AnalysisType::Policy | AnalysisType::CorrelationRule
        )
    }
}

/// All ID keys, to recognise a file that forgot its `AnalysisType`.
pub const ID_KEYS: &[&str] = &[
    "RuleID",
    "PolicyID",
    "GlobalID",
    "DataModelID",
    "PackID",
    "QueryName",
    "LookupName",
    "PromptName",
];

/// One loaded analysis file.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The file.
    pub file: FileId,
    /// `AnalysisType` as written.
    pub analysis_type: Spanned<AnalysisType>,
    /// The ID, when present and a string.
    pub id: Option<Spanned<String>>,
    /// The typed body.
    pub body: Body,
    /// The root mapping as parsed, for checks that need raw keys.
    pub root: Node,
}

impl Analysis {
    /// The rule body, for rules, scheduled rules and derived detections.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.body {
            Body::Rule(r) => Some(r),
            _ => None,
        }
    }

    /// The ID text, or `""`.
    pub fn id_str(&self) -> &str {
        self.id.as_ref().map_or("", |s| s.value.as_str())
    }
}

/// The type-specific content of an analysis file.
#[derive(Debug, Clone)]
pub enum Body {
    /// `rule` or `scheduled_rule`, Simple, Python or derived.
    Rule(Box<Rule>),
    /// Everything else: validated from the raw tree, no typed body needed
    /// yet (policies, globals, data models, packs, queries, lookup tables,
    /// prompts; correlation rules keep their typed rule in `Other`).
    Other(Other),
}

/// What other analysis types keep for cross-file checks.
#[derive(Debug, Clone, Default)]
pub struct Other {
    /// `Enabled`, where the type has it.
    pub enabled: Option<bool>,
    /// `Filename`, where present.
    pub filename: Option<Spanned<String>>,
    /// Log types a data model claims (`LogTypes`).
    pub log_types: Vec<Spanned<String>>,
    /// IDs a pack lists (`PackDefinition.IDs`).
    pub pack_ids: Vec<Spanned<String>>,
    /// RuleIDs a correlation rule references.
    pub rule_refs: Vec<Spanned<String>>,
    /// The typed correlation rule, for `correlation_rule` files.
    pub correlation: Option<Box<correlation::CorrelationRule>>,
}

/// The severity levels (simple-detections §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Info.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// The five levels with their Title-case names.
    pub const ALL: &'static [(Level, &'static str)] = &[
        (Level::Info, "Info"),
        (Level::Low, "Low"),
        (Level::Medium, "Medium"),
        (Level::High, "High"),
        (Level::Critical, "Critical"),
    ];

    /// The upper-case spelling printed in every output.
    pub fn upper(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
            Level::Critical => "CRITICAL",
        }
    }

    /// The Title-case spelling.
    pub fn title(self) -> &'static str {
        Self::ALL.iter().find(|(l, _)| *l == self).map_or("Info", |(_, n)| n)
    }
}

/// A rule, scheduled rule or derived detection.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// `Enabled`.
    pub enabled: Option<Spanned<bool>>,
    /// `LogTypes`.
    pub log_types: Option<Vec<Spanned<String>>>,
    /// `ScheduledQueries`.
    pub scheduled_queries: Option<Vec<Spanned<String>>>,
    /// `Severity`.
    pub severity: Option<Spanned<Level>>,
    /// `DisplayName`.
    pub display_name: Option<Spanned<String>>,
    /// `Filename` (Python rules).
    pub filename: Option<Spanned<String>>,
    /// `BaseDetection` (derived detections).
    pub base_detection: Option<Spanned<String>>,
    /// `Detection` (Simple Detections).
    pub detection: Option<ExprList>,
    /// `InlineFilters`.
    pub inline_filters: Option<ExprList>,
    /// `DynamicSeverities`.
    pub dynamic_severities: Option<Vec<DynamicSeverity>>,
    /// `AlertTitle`.
    pub alert_title: Option<Template>,
    /// `AlertContext`.
    pub alert_context: Option<Vec<ContextItem>>,
    /// `GroupBy`.
    pub group_by: Option<Vec<KeySpec>>,
    /// `DedupPeriodMinutes`.
    pub dedup_period_minutes: Option<Spanned<i64>>,
    /// `Threshold`.
    pub threshold: Option<Spanned<i64>>,
    /// `CreateAlert`.
    pub create_alert: Option<Spanned<bool>>,
    /// `Tags`.
    pub tags: Option<Vec<Spanned<String>>>,
    /// `Status`.
    pub status: Option<Spanned<String>>,
    /// `Tests`; `Some(vec![])` for `Tests: []`.
    pub tests: Option<Vec<RuleTest>>,
}

impl Rule {
    /// Whether the logic is YAML (`Detection`).
    pub fn is_simple(&self) -> bool {
        self.detection.is_some()
    }

    /// Whether this is a derived detection.
    pub fn is_derived(&self) -> bool {
        self.base_detection.is_some()
    }
}

/// One `DynamicSeverities` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicSeverity {
    /// `ChangeTo`: a level, or `None` for `DEFAULT`.
    pub change_to: Spanned<Option<Level>>,
    /// `Conditions`, implicit `All`.
    pub conditions: ExprList,
}

/// A parsed `AlertTitle` (simple-detections §7.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Literal text and placeholders in order.
    pub parts: Vec<TemplatePart>,
    /// Where the template is written.
    pub span: Span,
}

/// A piece of a title template.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Literal text (escapes already applied).
    Text(String),
    /// `{KeyPath}`.
    Field(KeyPath),
}

/// One `AlertContext` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextItem {
    /// `KeyName`.
    pub key_name: Spanned<String>,
    /// `KeyValue`.
    pub key_value: KeySpec,
}

/// One unit test of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTest {
    /// `Name`.
    pub name: Spanned<String>,
    /// `ExpectedResult`.
    pub expected: Spanned<bool>,
    /// The test's `Log`, read once at load time.
    pub log: TestLog,
    /// Where the test item starts (its first key).
    pub span: Span,
}

/// A test's `Log` as the engine reads it, kept as compact JSON text rather
/// than as the file's tree: a large repository's tests would otherwise keep
/// every tree alive until the tests run (docs/design/016).
#[derive(Debug, Clone, PartialEq)]
pub enum TestLog {
    /// The test has no `Log` (`missing-key` is reported at load).
    Missing,
    /// The `Log` cannot become a JSON event (a non-finite number, a key that
    /// is a list or mapping): the reason.
    Invalid(String),
    /// The `Log` is not a mapping: what it is instead (`a list`, ...).
    NotMapping(&'static str),
    /// The event, serialised JSON of an object, keys in document order.
    Event(Box<str>),
}

impl TestLog {
    /// Reads a test's `Log` node (`None` when the key is absent).
    pub fn of(node: Option<&Node>) -> TestLog {
        let Some(node) = node else { return TestLog::Missing };
        match node.to_json_text() {
            Err((_, msg)) => TestLog::Invalid(msg),
            Ok(_) if node.as_map().is_none() => TestLog::NotMapping(node.type_name()),
            Ok(text) => TestLog::Event(text.into_boxed_str()),
        }
    }

    /// The event to evaluate, or why the test cannot run (the message a
    /// test report shows).
    ///
    /// # Errors
    /// No `Log`, a `Log` that cannot be evaluated, or one that is not a
    /// mapping.
    pub fn event(&self) -> Result<serde_json::Value, String> {
        match self {
            TestLog::Missing => Err("the test has no `Log`".to_owned()),
            TestLog::Invalid(msg) => Err(format!("the `Log` cannot be evaluated: {msg}")),
            TestLog::NotMapping(found) => Err(format!("the `Log` must be a mapping, found {found}")),
            TestLog::Event(text) => {
                serde_json::from_str(text).map_err(|e| format!("the `Log` cannot be evaluated: {e}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(text: &str) -> TestLog {
        let doc = crate::yaml::parse(text).unwrap().root.unwrap();
        TestLog::of(doc.get("Log"))
    }

    #[test]
    fn a_test_log_gives_back_the_event_the_tree_gives() {
        let text = "Log:\n  z: 1\n  a: {b: [1.5, -2, true, null, \"é\\u0000\"], 3: x}\n  big: 18446744073709551616\n";
        let tree = crate::yaml::parse(text).unwrap().root.unwrap();
        let from_tree = tree.get("Log").unwrap().to_json().unwrap();
        let event = log(text).event().unwrap();
        assert_eq!(event, from_tree);
        // Key order is the document's, not sorted.
        let keys: Vec<_> = event.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "big"]);
    }

    #[test]
    fn a_test_log_that_cannot_be_an_event_says_why() {
        assert_eq!(TestLog::of(None).event().unwrap_err(), "the test has no `Log`");
        assert_eq!(
            log("Log: [1, 2]\n").event().unwrap_err(),
            "the `Log` must be a mapping, found a list"
        );
        assert_eq!(
            log("Log: {a: .nan}\n").event().unwrap_err(),
            "the `Log` cannot be evaluated: `.nan` is not a finite number"
        );
        assert!(
            log("Log: {[a]: 1}\n")
                .event()
                .unwrap_err()
                .starts_with("the `Log` cannot be evaluated: a mapping key")
        );
    }
}
