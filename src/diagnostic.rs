//! Diagnostics: findings about user files.
//!
//! A [`Diagnostic`] is plain data: a stable [`Code`], a severity, a one-line
//! message, the primary location, related locations and an optional help
//! line. Loading, resolving and checking collect them; `report/` renders them.
//! The list of codes is the canonical one of cli-and-settings §8 item 5.

use crate::source::{FileId, Span};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Makes the file invalid (or the item failed, for test codes).
    Error,
    /// Changes the exit code only under `--deny-warnings`.
    Warning,
    /// Never changes the exit code.
    Info,
}

impl Severity {
    /// The spelling used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// A stable diagnostic code (cli-and-settings §8 item 5).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The kebab-case name printed in reports.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity this code always carries.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }
        }
    };
}

codes! {
    /// The file is not valid YAML (or not UTF-8, or nested too deeply).
    YamlSyntax = "yaml-syntax", Error;
    /// A YAML file that is empty or holds only comments (not an analysis item).
    EmptyFile = "empty-file", Info;
    /// `AnalysisType` is not one of the known values.
    UnknownAnalysisType = "unknown-analysis-type", Error;
    /// A file in a recognised folder has an ID key but no `AnalysisType`.
    MissingAnalysisType = "missing-analysis-type", Warning;
    /// A key not allowed where it stands.
    UnknownKey = "unknown-key", Error;
    /// An unknown top-level key accepted because of `--ignore-extra-keys`.
    ExtraKeyIgnored = "extra-key-ignored", Warning;
    /// A required key is missing.
    MissingKey = "missing-key", Error;
    /// A value of the wrong type.
    WrongType = "wrong-type", Error;
    /// A value of the right type that is not allowed.
    InvalidValue = "invalid-value", Error;
    /// Two keys that exclude each other.
    ExclusiveKeys = "exclusive-keys", Error;
    /// An ID or `DisplayName` with forbidden characters.
    InvalidId = "invalid-id", Error;
    /// An ID already used by an earlier file.
    DuplicateId = "duplicate-id", Error;
    /// Two IDs that differ only in letter case.
    IdCaseCollision = "id-case-collision", Warning;
    /// Duplicates in a set field.
    DuplicateValue = "duplicate-value", Error;
    /// The same key twice in one YAML mapping.
    DuplicateKey = "duplicate-key", Warning;
    /// A `Schedule` that breaks its rules.
    InvalidSchedule = "invalid-schedule", Error;
    /// A scheduled query reads a table name that is not fully qualified.
    InvalidTableName = "invalid-table-name", Error;
    /// `Filename` names a file that does not exist.
    MissingFile = "missing-file", Error;
    /// A pack lists IDs that were not loaded or are invalid.
    BadPackRef = "bad-pack-ref", Error;
    /// Two enabled data models claim the same log type.
    ConflictingDataModel = "conflicting-data-model", Error;
    /// A log type the Panther instance does not list.
    UnknownLogType = "unknown-log-type", Error;
    /// An issue returned by Panther's validation endpoint.
    RemoteValidation = "remote-validation", Error;
    /// `DedupPeriodMinutes` outside the documented list.
    DedupPeriod = "dedup-period", Warning;
    /// An all-caps `Severity`.
    SeveritySpelling = "severity-spelling", Warning;
    /// A construct `detect` accepts but PAT rejects.
    PatIncompatible = "pat-incompatible", Warning;
    /// Two tests of one detection with the same `Name`.
    DuplicateTestName = "duplicate-test-name", Warning;
    /// A unit test whose result differs from `ExpectedResult`.
    TestFailed = "test-failed", Error;
    /// `--minimum-tests` is not met.
    InsufficientTests = "insufficient-tests", Error;
    /// A Python detection, global helper or data model fails to load.
    PythonLoadError = "python-load-error", Error;
    /// No interpreter with panther-core: Python detections are skipped.
    PythonUnavailable = "python-unavailable", Warning;
    /// An unknown key in the settings file.
    UnknownSetting = "unknown-setting", Warning;
    /// A settings key `detect` applies but PAT ignores.
    PatIgnoresSetting = "pat-ignores-setting", Warning;
    /// `Filename` names a file a bundle may not hold.
    FilenameNotAllowed = "filename-not-allowed", Error;
    /// `Filename` names a file above the size cap.
    FilenameTooLarge = "filename-too-large", Error;
    /// A detection file found but not readable (dangling link, FIFO,
    /// device, read error).
    UnreadableFile = "unreadable-file", Error;
    /// A folder that cannot be listed.
    UnreadableFolder = "unreadable-folder", Error;
    /// A symbolic link back to a folder already walked.
    SymlinkLoop = "symlink-loop", Warning;
    /// A base `--auto-disable-base` keeps enabled: an enabled correlation
    /// rule needs its signals.
    DerivedBaseFeedsCorrelation = "derived-base-feeds-correlation", Warning;
    /// An ID listed twice in a pack's `PackDefinition.IDs`.
    DuplicatePackId = "duplicate-pack-id", Warning;

    /// A `Condition` name that does not exist.
    UnknownCondition = "unknown-condition", Error;
    /// The keys of an expression do not fit its `Condition`.
    ConditionShape = "condition-shape", Error;
    /// A list item that is not a match expression at all.
    InvalidExpression = "invalid-expression", Error;
    /// A `KeyPath` that breaks the grammar, or an empty `Key`.
    InvalidKeyPath = "invalid-key-path", Error;
    /// An empty `DeepKey` or a bad step.
    InvalidDeepKey = "invalid-deep-key", Error;
    /// A `Values` list mixing kinds.
    MixedValues = "mixed-values", Error;
    /// A multi-key `Values` list without exactly two key specifiers.
    MultiKeyArity = "multi-key-arity", Error;
    /// Something `InlineFilters` do not allow.
    InlineFilterRestriction = "inline-filter-restriction", Error;
    /// Something `DynamicSeverities` conditions do not allow.
    DynamicSeverityRestriction = "dynamic-severity-restriction", Error;
    /// `Has` / `DoesNotHave`.
    DeprecatedCondition = "deprecated-condition", Warning;
    /// A `Value` on a unary IP condition.
    ValueIgnored = "value-ignored", Warning;
    /// A `Value` type the condition can never match.
    NeverMatches = "never-matches", Warning;
    /// An empty combinator group in `Detection`.
    EmptyGroup = "empty-group", Warning;
    /// `InlineFilters` on a rule that is not a streaming rule.
    FiltersIgnored = "filters-ignored", Warning;

    /// A malformed `AlertTitle` template.
    InvalidAlertTitle = "invalid-alert-title", Error;
    /// An `AlertContext` item whose `KeyValue` is not a key specifier.
    InvalidAlertContext = "invalid-alert-context", Error;
    /// A `GroupBy` item that is not a key specifier.
    InvalidGroupBy = "invalid-group-by", Error;
    /// `GroupBy: []`.
    EmptyGroupBy = "empty-group-by", Warning;
    /// Two `AlertContext` items with the same `KeyName`.
    DuplicateKeyName = "duplicate-key-name", Warning;
    /// `CreateAlert: false` with alert keys that then have no effect.
    UnusedAlertKeys = "unused-alert-keys", Warning;
    /// `Mocks` in a Simple Detection test.
    MocksIgnored = "mocks-ignored", Warning;
    /// A `scheduled_rule` with `Detection`.
    ScheduledSimpleDetection = "scheduled-simple-detection", Warning;

    /// `BaseDetection` is empty, not a string or has forbidden characters.
    DerivedBaseId = "derived-base-id", Error;
    /// A derived detection whose `AnalysisType` is not `rule`.
    DerivedAnalysisType = "derived-analysis-type", Error;
    /// A derived detection whose `RuleID` is missing or equals its base.
    DerivedRuleId = "derived-rule-id", Error;
    /// A key a derived detection may not set.
    DerivedKeyNotAllowed = "derived-key-not-allowed", Error;
    /// The base is not a rule a detection can derive from.
    DerivedBaseKind = "derived-base-kind", Error;
    /// The base is itself derived.
    DerivedChain = "derived-chain", Error;
    /// The base is not among the loaded files.
    UnknownBaseDetection = "unknown-base-detection", Warning;
    /// A `Detection` key in a derived detection (ignored).
    DerivedDetectionIgnored = "derived-detection-ignored", Warning;
    /// An override that has no effect.
    DerivedOverrideShadowed = "derived-override-shadowed", Warning;
    /// A derived detection inherits `Enabled: false`.
    DerivedInheritsDisabled = "derived-inherits-disabled", Warning;
    /// The base will not be part of the upload.
    DerivedBaseNotUploaded = "derived-base-not-uploaded", Warning;
    /// The base is not in the repository.
    DerivedBaseNotLocal = "derived-base-not-local", Warning;
    /// A base looked up through the API.
    RemoteBaseLookup = "remote-base-lookup", Warning;
    /// Derived `InlineFilters` replace the base's.
    DerivedFiltersReplaced = "derived-filters-replaced", Info;
    /// A derived detection with no tests of its own or inherited.
    DerivedNoTests = "derived-no-tests", Info;
    /// A derived detection with `Tests: []` disables inherited tests.
    DerivedTestsDisabled = "derived-tests-disabled", Info;

    /// The `Detection` of a correlation rule has the wrong shape.
    CorrDetectionShape = "corr-detection-shape", Error;
    /// A key not allowed in this correlation form.
    CorrKeyNotAllowed = "corr-key-not-allowed", Error;
    /// An empty `Group` or `Sequence`.
    CorrNoItems = "corr-no-items", Error;
    /// Two items with the same `ID`.
    CorrDuplicateItem = "corr-duplicate-item", Error;
    /// No item that must be present.
    CorrNoPresentItem = "corr-no-present-item", Error;
    /// A bad `MinMatchCount`.
    CorrMatchCount = "corr-match-count", Error;
    /// A group `MinMatchCount` out of range.
    CorrGroupMinRange = "corr-group-min-range", Error;
    /// A reference to an item ID that does not exist.
    CorrUnknownItem = "corr-unknown-item", Error;
    /// A criterion that names only absent items.
    CorrCriterionAbsentOnly = "corr-criterion-absent-only", Error;
    /// Criteria that contradict each other.
    CorrCriterionConflict = "corr-criterion-conflict", Error;
    /// The wrong number of transitions.
    CorrTransitionCount = "corr-transition-count", Error;
    /// Transitions that do not follow the sequence.
    CorrTransitionOrder = "corr-transition-order", Error;
    /// A transition `Match` of the wrong shape.
    CorrMatchShape = "corr-match-shape", Error;
    /// Transition matches that do not chain.
    CorrMatchChain = "corr-match-chain", Error;
    /// A bad `WithinTimeFrameMinutes`.
    CorrTimeFrame = "corr-time-frame", Error;
    /// Two adjacent absent items.
    CorrAdjacentAbsence = "corr-adjacent-absence", Error;
    /// `LookbackWindowMinutes` below the minimum.
    CorrLookbackMinimum = "corr-lookback-minimum", Error;
    /// A malformed rule reference.
    CorrBadReference = "corr-bad-reference", Error;
    /// A correlation test of the wrong shape.
    CorrTestShape = "corr-test-shape", Error;
    /// A referenced rule that is not loaded.
    CorrUnknownReference = "corr-unknown-reference", Warning;
    /// A referenced rule that is disabled.
    CorrDisabledReference = "corr-disabled-reference", Warning;
    /// A non-standard field in a match criterion.
    CorrNonStandardField = "corr-non-standard-field", Warning;
    /// `MatchCriteria` that do not cover every item.
    CorrMatchCriteriaScope = "corr-match-criteria-scope", Warning;
    /// The lookback window leaves a gap.
    CorrLookbackGap = "corr-lookback-gap", Warning;
    /// `TimeoutMinutes` above `RateMinutes`.
    CorrTimeoutAboveRate = "corr-timeout-above-rate", Warning;
    /// A time frame above the lookback window.
    CorrFrameAboveLookback = "corr-frame-above-lookback", Warning;
    /// A `MinMatchCount` on an absent item.
    CorrAbsenceCount = "corr-absence-count", Warning;
    /// A correlation with a single item.
    CorrSingleItem = "corr-single-item", Warning;
    /// An item without `ID`.
    CorrMissingItemId = "corr-missing-item-id", Warning;
    /// A correlation test anchor problem.
    CorrTestAnchor = "corr-test-anchor", Warning;
    /// A correlation test with a null join value.
    CorrTestNullJoin = "corr-test-null-join", Warning;
    /// An empty `RuleOutputs` entry.
    CorrEmptyRuleOutput = "corr-empty-rule-output", Warning;
    /// The lookback window against the recommended ratio.
    CorrLookbackRatio = "corr-lookback-ratio", Info;
    /// The lookback window against the sequence span.
    CorrLookbackSequence = "corr-lookback-sequence", Info;
    /// A test whose signals span more than the window.
    CorrTestSpan = "corr-test-span", Info;
    /// A correlation rule without tests.
    CorrNoTests = "corr-no-tests", Info;
    /// A sequence without transitions.
    CorrNoTransitions = "corr-no-transitions", Info;
    /// A line of an events file that is not a JSON object (`run` skips it).
    EventUnreadable = "event-unreadable", Warning;
    /// An event without `p_log_type` while no `--log-type` was given.
    EventNoLogType = "event-no-log-type", Warning;
    /// Events without a usable `p_event_time` (given the `--now` time).
    EventNoTime = "event-no-time", Warning;
    /// A detection created 1,000 alerts within one hour of event time.
    AlertLimit = "alert-limit", Warning;
    /// An `OutputIds` entry that names no enabled destination.
    UnmatchedOutputId = "unmatched-output-id", Warning;
    /// Delivery was asked for but no destination is configured.
    NoDestinations = "no-destinations", Warning;
    /// A line of the delivery log or its journal that is not a record.
    DeliveryLogLine = "delivery-log-line", Warning;
    /// A Python rule raised (or timed out) on events of a replay.
    PythonRuleError = "python-rule-error", Warning;
    /// `derive` from a base that has errors.
    DerivedBaseInvalid = "derived-base-invalid", Warning;
    /// A file `fmt` cannot rewrite safely (or may not write) and leaves as
    /// it is.
    FmtLeftUnchanged = "fmt-left-unchanged", Warning;
    /// A `Pipfile` or `pyproject.toml` that `detect python-env` cannot
    /// read as TOML.
    PythonEnvSyntax = "python-env-syntax", Error;
    /// A dependency entry `detect python-env` cannot turn into a pip
    /// requirement (left out of the environment).
    PythonEnvEntryLeftOut = "python-env-entry-left-out", Warning;
    /// A `Reports: MITRE ATT&CK:` entry `detect coverage` cannot read
    /// (not `TA0001:T1078`, `TA0006:T1110.003` or `T1078`).
    InvalidMitreMapping = "invalid-mitre-mapping", Warning;
}

/// A location with an optional note.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The file.
    pub file: FileId,
    /// Where in it.
    pub span: Span,
    /// A short note ("first defined here").
    pub text: Option<String>,
}

/// One finding about a user file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code; its severity is fixed by the code.
    pub code: Code,
    /// One lowercase line quoting the user's spelling in backticks.
    pub message: String,
    /// Where it is wrong; `None` for findings not tied to a position.
    pub primary: Option<Label>,
    /// Context locations.
    pub related: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    /// A text edit that applies the help, when there is one.
    pub fix: Option<Fix>,
}

/// A suggested change to the source: the edits of one diagnostic's help
/// (`validate --fix`, the language server's code actions).
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// What the change does, in the imperative ("rename `Sevrity` to
    /// `Severity`").
    pub title: String,
    /// The replacements, in the diagnostic's file; spans do not overlap.
    pub edits: Vec<Edit>,
    /// Whether applying it keeps the file's meaning as the author intended
    /// (a misspelt key or condition name, a deprecated alias): `--fix`
    /// applies only these; an editor offers every fix.
    pub safe: bool,
}

/// One replacement of a span of a file by a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// What is replaced.
    pub span: Span,
    /// What it is replaced with.
    pub text: String,
}

impl Fix {
    /// A fix that replaces one span.
    pub fn replace(title: impl Into<String>, span: Span, text: impl Into<String>, safe: bool) -> Fix {
        Fix {
            title: title.into(),
            edits: vec![Edit {
                span,
                text: text.into(),
            }],
            safe,
        }
    }

    /// The rename of a misspelt word written at `span` to the candidate
    /// `suggest` finds, with its help line; `None` when no candidate is
    /// close enough.
    pub fn misspelt<'a>(
        word: &str,
        span: Span,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Option<(String, Fix)> {
        let to = suggest(word, candidates)?;
        let fix = Fix::replace(format!("rename `{word}` to `{to}`"), span, to, true);
        Some((format!("did you mean `{to}`?"), fix))
    }
}

impl Diagnostic {
    /// A diagnostic at a span of a file.
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: Some(Label { file, span, text: None }),
            related: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// A diagnostic with no position (a command-line warning).
    pub fn global(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            primary: None,
            related: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds the fix that applies the help.
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// Adds a related location.
    pub fn with_related(mut self, file: FileId, span: Span, text: impl Into<String>) -> Self {
        self.relate(file, span, text);
        self
    }

    /// Sets the help line and the fix that applies it on a diagnostic
    /// already reported.
    pub fn with_help_and_fix(&mut self, help: impl Into<String>, fix: Fix) {
        self.help = Some(help.into());
        self.fix = Some(fix);
    }

    /// Adds a related location to a diagnostic already reported.
    pub fn relate(&mut self, file: FileId, span: Span, text: impl Into<String>) -> &mut Self {
        self.related.push(Label {
            file,
            span,
            text: Some(text.into()),
        });
        self
    }

    /// The severity, fixed by the code.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// The file the diagnostic is about.
    pub fn file(&self) -> Option<FileId> {
        self.primary.as_ref().map(|l| l.file)
    }
}

/// The nearest candidate to a misspelt word, if it is close enough to be a
/// likely typo ("did you mean `Severity`?").
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c.to_lowercase() == lower {
            return Some(c);
        }
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        if score >= 0.85 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `X`?` for a help line, when there is a close candidate.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    suggest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_unique_and_kebab_case() {
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len);
    }

    #[test]
    fn every_code_is_documented_with_its_severity() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/codes.md");
        let doc = std::fs::read_to_string(path).unwrap();
        for c in Code::ALL {
            let heading = format!("### `{}` ({})", c.name(), c.severity().as_str());
            assert!(doc.contains(&heading), "docs/codes.md lacks `{heading}`");
        }
        let documented = doc.lines().filter(|l| l.starts_with("### `")).count();
        assert_eq!(
            documented,
            Code::ALL.len(),
            "docs/codes.md documents codes the registry lacks"
        );
    }

    #[test]
    fn suggests_nearest_key() {
        assert_eq!(suggest("Sevrity", ["Severity", "Enabled"]), Some("Severity"));
        assert_eq!(suggest("enabled", ["Severity", "Enabled"]), Some("Enabled"));
        assert_eq!(suggest("Zebra", ["Severity", "Enabled"]), None);
    }
}
