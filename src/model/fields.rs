//! The one table of the keys every analysis type allows (PAT's schemas, see
//! `load::other`), with the kind of value each holds and whether it is
//! required. The loader reads these tables to report unknown, missing and
//! mistyped keys, and `detect schema` turns the same tables into a JSON
//! Schema, so a key added here shows in both.
//!
//! A `Kind::Custom` value is read by the type's own loader code and has a
//! hand-written sub-schema in `schema::custom`; a unit test there checks
//! that every custom key has one. Rules between keys (exactly one of
//! `Detection` and `Filename`, at least one query key, …) are code in the
//! loader and a clause of the schema (docs/design/012-json-schema.md).

use super::AnalysisType;

/// How a value is read and typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Checked elsewhere: `AnalysisType` and the ID key.
    Skip,
    /// A string.
    Str,
    /// A string matching `^[^<>&"%]+$` (`DisplayName`).
    Name,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
    /// A list of strings.
    StrList,
    /// A list of strings without duplicates.
    Set,
    /// `Tags`: a set compared case-insensitively.
    TagSet,
    /// Any value, `null` included.
    Any,
    /// Read by the type's own code.
    Custom,
}

/// One key of a type's schema or of a nested mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The YAML key, as users write it.
    pub key: &'static str,
    /// Its value kind.
    pub kind: Kind,
    /// Whether the key must be present.
    pub required: bool,
}

/// A required key.
pub const fn req(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: true,
    }
}

/// An optional key.
pub const fn opt(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: false,
    }
}

/// The key names of a table, in table order, as a constant array (for the
/// loader's `&[&str]` lists).
macro_rules! names {
    ($table:expr) => {{
        const TABLE: &[Field] = $table;
        const OUT: [&str; TABLE.len()] = {
            let mut out = [""; TABLE.len()];
            let mut i = 0;
            while i < TABLE.len() {
                out[i] = TABLE[i].key;
                i += 1;
            }
            out
        };
        &OUT
    }};
}

/// `RULE_SCHEMA` (rules and scheduled rules). `LogTypes` or
/// `ScheduledQueries` and `Detection` or `Filename` are rules between keys.
pub const RULE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("RuleID", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("LogTypes", Kind::Set),
    opt("ScheduledQueries", Kind::StrList),
    req("Severity", Kind::Custom),
    opt("DisplayName", Kind::Name),
    opt("Description", Kind::Str),
    opt("Runbook", Kind::Str),
    opt("Reference", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("Reports", Kind::Custom),
    opt("CreatedBy", Kind::Str),
    opt("Status", Kind::Str),
    opt("OnlyUseBaseRiskScore", Kind::Bool),
    opt("BaseVersion", Kind::Int),
    opt("Detection", Kind::Custom),
    opt("InlineFilters", Kind::Custom),
    opt("DynamicSeverities", Kind::Custom),
    opt("AlertTitle", Kind::Str),
    opt("AlertContext", Kind::Custom),
    opt("GroupBy", Kind::Custom),
    opt("DedupPeriodMinutes", Kind::Int),
    opt("Threshold", Kind::Int),
    opt("CreateAlert", Kind::Bool),
    opt("OutputIds", Kind::Set),
    opt("SummaryAttributes", Kind::Set),
    opt("Tests", Kind::Custom),
    opt("Filename", Kind::Str),
    opt("BaseDetection", Kind::Str),
];

/// The names of [`RULE`].
pub const RULE_KEYS: &[&str] = names!(RULE);

/// Keys of a rule whose value may be `null`.
pub const RULE_NULLABLE: &[&str] = &["BaseDetection", "Detection"];

/// Keys a derived detection sets besides the overrides of
/// `model::keys::OVERRIDABLE`: identity (derived-detections §2.1) and PAT's
/// bookkeeping (§2.2).
pub const DERIVED_OWN_KEYS: &[&str] = &["AnalysisType", "RuleID", "BaseDetection", "Status", "BaseVersion"];

/// Logic keys a derived detection may never set, even with
/// `--ignore-extra-keys`.
pub const DERIVED_LOGIC_KEYS: &[&str] = &["Filename", "LogTypes", "ScheduledQueries"];

/// A rule test case (simple-detections §11.1).
pub const RULE_TEST: &[Field] = &[
    req("Name", Kind::Str),
    req("ExpectedResult", Kind::Bool),
    req("Log", Kind::Any),
    opt("Mocks", Kind::Custom),
    opt("LogType", Kind::Str),
    opt("ExpectedDestinations", Kind::StrList),
];

/// The names of [`RULE_TEST`].
pub const RULE_TEST_KEYS: &[&str] = names!(RULE_TEST);

/// An item of a test's `Mocks`; `returnValue` is a string or a boolean.
pub const MOCK: &[Field] = &[req("objectName", Kind::Str), req("returnValue", Kind::Custom)];

/// The names of [`MOCK`].
pub const MOCK_KEYS: &[&str] = names!(MOCK);

/// `POLICY_SCHEMA`.
pub const POLICY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PolicyID", Kind::Skip),
    req("Enabled", Kind::Bool),
    req("Filename", Kind::Str),
    opt("ResourceTypes", Kind::Custom),
    req("Severity", Kind::Custom),
    opt("ActionDelaySeconds", Kind::Int),
    opt("AutoRemediationID", Kind::Str),
    opt("AutoRemediationParameters", Kind::Any),
    opt("Description", Kind::Str),
    opt("DisplayName", Kind::Name),
    opt("OnlyUseBaseRiskScore", Kind::Bool),
    opt("OutputIds", Kind::Set),
    opt("CreatedBy", Kind::Str),
    opt("Reference", Kind::Str),
    opt("Runbook", Kind::Str),
    opt("Status", Kind::Str),
    opt("Suppressions", Kind::Set),
    opt("Tags", Kind::TagSet),
    opt("Reports", Kind::Custom),
    opt("Tests", Kind::Custom),
    opt("BaseVersion", Kind::Int),
];

/// A policy test case.
pub const POLICY_TEST: &[Field] = &[
    req("Name", Kind::Str),
    req("ExpectedResult", Kind::Bool),
    req("Resource", Kind::Any),
    opt("ResourceType", Kind::Str),
    opt("Mocks", Kind::Custom),
];

/// The names of [`POLICY_TEST`].
pub const POLICY_TEST_KEYS: &[&str] = names!(POLICY_TEST);

/// `GLOBAL_SCHEMA`.
pub const GLOBAL: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("GlobalID", Kind::Skip),
    req("Filename", Kind::Str),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("BaseVersion", Kind::Int),
];

/// `DATA_MODEL_SCHEMA`.
pub const DATA_MODEL: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("DataModelID", Kind::Skip),
    req("Enabled", Kind::Bool),
    req("LogTypes", Kind::Set),
    req("Mappings", Kind::Custom),
    opt("DisplayName", Kind::Name),
    opt("Filename", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// `PACK_SCHEMA`.
pub const PACK: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PackID", Kind::Skip),
    req("PackDefinition", Kind::Custom),
    opt("Description", Kind::Str),
    opt("DisplayName", Kind::Name),
];

/// The query keys of queries and SQL lookup tables; at least one is needed.
pub const QUERY_KEYS: &[&str] = &["Query", "AthenaQuery", "SnowflakeQuery", "DatabricksQuery"];

/// `SAVED_QUERY_SCHEMA`.
pub const SAVED_QUERY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("QueryName", Kind::Skip),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("Lookback", Kind::Bool),
    opt("LookbackWindowSeconds", Kind::Int),
    opt("BaseVersion", Kind::Int),
];

/// `SCHEDULED_QUERY_SCHEMA`.
pub const SCHEDULED_QUERY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("QueryName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    req("Schedule", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("Lookback", Kind::Bool),
    opt("LookbackWindowSeconds", Kind::Int),
    opt("EmailConfig", Kind::Custom),
    opt("BaseVersion", Kind::Int),
];

/// `SCHEDULED_PROMPT_SCHEMA`.
pub const SCHEDULED_PROMPT: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PromptName", Kind::Skip),
    req("DisplayName", Kind::Str),
    req("PromptText", Kind::Str),
    req("RunAsUser", Kind::Custom),
    req("Schedule", Kind::Custom),
    opt("Description", Kind::Str),
    opt("OutputLength", Kind::Custom),
    opt("Enabled", Kind::Bool),
    opt("Private", Kind::Custom),
];

/// `OutputLength` values of a scheduled prompt.
pub const OUTPUT_LENGTHS: &[&str] = &["small", "medium", "largest"];

/// A query's or prompt's `Schedule`: exactly one of `CronExpression` and
/// `RateMinutes`.
pub const QUERY_SCHEDULE: &[Field] = &[
    opt("CronExpression", Kind::Str),
    opt("RateMinutes", Kind::Int),
    req("TimeoutMinutes", Kind::Int),
];

/// The names of [`QUERY_SCHEDULE`].
pub const QUERY_SCHEDULE_KEYS: &[&str] = names!(QUERY_SCHEDULE);

/// `LOOKUP_TABLE_SCHEMA`; one of `Filename` and `Refresh` is required.
pub const LOOKUP_TABLE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("LookupName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Filename", Kind::Str),
    opt("Refresh", Kind::Custom),
    req("Schema", Kind::Str),
    req("LogTypeMap", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Reference", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// `SQL_LOOKUP_TABLE_SCHEMA`; one of [`QUERY_KEYS`] is required, and
/// `Refresh`.
pub const SQL_LOOKUP_TABLE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("LookupName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    req("LogTypeMap", Kind::Custom),
    opt("Refresh", Kind::Custom),
    opt("Indicators", Kind::Custom),
    opt("Validations", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Reference", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// A file-backed table's `Refresh` (an S3 or GCS object).
pub const FILE_REFRESH: &[Field] = &[
    req("ObjectPath", Kind::Str),
    req("PeriodMinutes", Kind::Int),
    opt("AlarmPeriodMinutes", Kind::Int),
    opt("RoleARN", Kind::Str),
    opt("ObjectKMSKey", Kind::Str),
    opt("GCSCredentials", Kind::Str),
    opt("StorageProvider", Kind::Str),
];

/// The names of [`FILE_REFRESH`].
pub const FILE_REFRESH_KEYS: &[&str] = names!(FILE_REFRESH);

/// A `Mappings` item of a data model: `Name` and exactly one of `Path`
/// and `Method`.
pub const DATA_MODEL_MAPPING: &[Field] = &[req("Name", Kind::Str), opt("Path", Kind::Str), opt("Method", Kind::Str)];

/// The names of [`DATA_MODEL_MAPPING`].
pub const DATA_MODEL_MAPPING_KEYS: &[&str] = names!(DATA_MODEL_MAPPING);

/// A pack's `PackDefinition`. A repeated ID is only a warning
/// (`duplicate-pack-id`), so the list is not a set.
pub const PACK_DEFINITION: &[Field] = &[req("IDs", Kind::StrList)];

/// The names of [`PACK_DEFINITION`].
pub const PACK_DEFINITION_KEYS: &[&str] = names!(PACK_DEFINITION);

/// A scheduled query's `EmailConfig`.
pub const EMAIL_CONFIG: &[Field] = &[
    req("Recipients", Kind::StrList),
    opt("SendEmpty", Kind::Bool),
    opt("PreferAttachment", Kind::Bool),
];

/// The names of [`EMAIL_CONFIG`].
pub const EMAIL_CONFIG_KEYS: &[&str] = names!(EMAIL_CONFIG);

/// A query-filled table's `Refresh`: exactly one of the two.
pub const SQL_REFRESH: &[Field] = &[opt("PeriodMinutes", Kind::Int), opt("CronExpression", Kind::Str)];

/// The names of [`SQL_REFRESH`].
pub const SQL_REFRESH_KEYS: &[&str] = names!(SQL_REFRESH);

/// A lookup table's `LogTypeMap`.
pub const LOG_TYPE_MAP: &[Field] = &[req("PrimaryKey", Kind::Str), opt("AssociatedLogTypes", Kind::Custom)];

/// The names of [`LOG_TYPE_MAP`].
pub const LOG_TYPE_MAP_KEYS: &[&str] = names!(LOG_TYPE_MAP);

/// An `AssociatedLogTypes` item of a `LogTypeMap`.
pub const ASSOCIATED_LOG_TYPE: &[Field] = &[req("LogType", Kind::Str), req("Selectors", Kind::StrList)];

/// The names of [`ASSOCIATED_LOG_TYPE`].
pub const ASSOCIATED_LOG_TYPE_KEYS: &[&str] = names!(ASSOCIATED_LOG_TYPE);

/// A `DynamicSeverities` entry.
pub const DYNAMIC_SEVERITY: &[Field] = &[req("ChangeTo", Kind::Custom), req("Conditions", Kind::Custom)];

/// The names of [`DYNAMIC_SEVERITY`].
pub const DYNAMIC_SEVERITY_KEYS: &[&str] = names!(DYNAMIC_SEVERITY);

/// An `AlertContext` item.
pub const ALERT_CONTEXT_ITEM: &[Field] = &[req("KeyName", Kind::Str), req("KeyValue", Kind::Custom)];

/// The names of [`ALERT_CONTEXT_ITEM`].
pub const ALERT_CONTEXT_ITEM_KEYS: &[&str] = names!(ALERT_CONTEXT_ITEM);

/// A correlation rule (correlation-rules §2.1).
pub const CORRELATION_RULE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("RuleID", Kind::Skip),
    req("Enabled", Kind::Bool),
    req("Severity", Kind::Custom),
    req("Detection", Kind::Custom),
    opt("DisplayName", Kind::Name),
    opt("Description", Kind::Str),
    opt("Runbook", Kind::Str),
    opt("Reference", Kind::Str),
    opt("Reports", Kind::Custom),
    opt("Tags", Kind::TagSet),
    opt("SummaryAttributes", Kind::Set),
    opt("OutputIds", Kind::Set),
    opt("CreateAlert", Kind::Bool),
    opt("OnlyUseBaseRiskScore", Kind::Bool),
    opt("CreatedBy", Kind::Str),
    opt("Status", Kind::Str),
    opt("BaseVersion", Kind::Int),
    opt("Tests", Kind::Custom),
];

/// The names of [`CORRELATION_RULE`].
pub const CORRELATION_RULE_KEYS: &[&str] = names!(CORRELATION_RULE);

/// The detection block of a correlation rule, either form (§2.2).
pub const CORRELATION_BLOCK: &[Field] = &[
    opt("Group", Kind::Custom),
    opt("Sequence", Kind::Custom),
    opt("MatchCriteria", Kind::Custom),
    opt("MinMatchCount", Kind::Int),
    opt("Transitions", Kind::Custom),
    opt("LookbackWindowMinutes", Kind::Int),
    opt("Schedule", Kind::Custom),
    opt("EventEvaluationOrder", Kind::Str),
];

/// The names of [`CORRELATION_BLOCK`].
pub const CORRELATION_BLOCK_KEYS: &[&str] = names!(CORRELATION_BLOCK);

/// An item of `Group` or `Sequence` (§2.3).
pub const CORRELATION_ITEM: &[Field] = &[
    opt("ID", Kind::Str),
    req("RuleID", Kind::Str),
    opt("MinMatchCount", Kind::Int),
    opt("MaxMatchCount", Kind::Int),
    opt("Absence", Kind::Bool),
];

/// The names of [`CORRELATION_ITEM`].
pub const CORRELATION_ITEM_KEYS: &[&str] = names!(CORRELATION_ITEM);

/// A `MatchCriteria` entry (§2.4).
pub const CORRELATION_CRITERION: &[Field] = &[req("GroupID", Kind::Str), req("Match", Kind::Str)];

/// The names of [`CORRELATION_CRITERION`].
pub const CORRELATION_CRITERION_KEYS: &[&str] = names!(CORRELATION_CRITERION);

/// A transition (§2.5).
pub const CORRELATION_TRANSITION: &[Field] = &[
    opt("ID", Kind::Str),
    req("From", Kind::Str),
    req("To", Kind::Str),
    opt("WithinTimeFrameMinutes", Kind::Int),
    opt("Match", Kind::Custom),
];

/// The names of [`CORRELATION_TRANSITION`].
pub const CORRELATION_TRANSITION_KEYS: &[&str] = names!(CORRELATION_TRANSITION);

/// The element of a transition's `Match` (§2.5): `On`, or `From` and `To`.
pub const CORRELATION_MATCH: &[Field] = &[opt("On", Kind::Str), opt("From", Kind::Str), opt("To", Kind::Str)];

/// The names of [`CORRELATION_MATCH`].
pub const CORRELATION_MATCH_KEYS: &[&str] = names!(CORRELATION_MATCH);

/// A correlation rule's `Schedule` (§2.6).
pub const CORRELATION_SCHEDULE: &[Field] = &[
    opt("RateMinutes", Kind::Int),
    opt("CronExpression", Kind::Str),
    req("TimeoutMinutes", Kind::Int),
];

/// The names of [`CORRELATION_SCHEDULE`].
pub const CORRELATION_SCHEDULE_KEYS: &[&str] = names!(CORRELATION_SCHEDULE);

/// A correlation test (§6.1).
pub const CORRELATION_TEST: &[Field] = &[
    req("Name", Kind::Str),
    req("ExpectedResult", Kind::Bool),
    req("RuleOutputs", Kind::Custom),
];

/// The names of [`CORRELATION_TEST`].
pub const CORRELATION_TEST_KEYS: &[&str] = names!(CORRELATION_TEST);

/// A rule output of a correlation test (§6.1).
pub const CORRELATION_OUTPUT: &[Field] = &[req("ID", Kind::Str), req("Matches", Kind::Custom)];

/// The names of [`CORRELATION_OUTPUT`].
pub const CORRELATION_OUTPUT_KEYS: &[&str] = names!(CORRELATION_OUTPUT);

/// The top-level table of every analysis type (a lookup table's SQL form
/// is [`SQL_LOOKUP_TABLE`]).
pub const TOP_LEVEL: &[(AnalysisType, &[Field])] = &[
    (AnalysisType::Rule, RULE),
    (AnalysisType::ScheduledRule, RULE),
    (AnalysisType::Policy, POLICY),
    (AnalysisType::CorrelationRule, CORRELATION_RULE),
    (AnalysisType::Global, GLOBAL),
    (AnalysisType::DataModel, DATA_MODEL),
    (AnalysisType::Pack, PACK),
    (AnalysisType::ScheduledQuery, SCHEDULED_QUERY),
    (AnalysisType::SavedQuery, SAVED_QUERY),
    (AnalysisType::LookupTable, LOOKUP_TABLE),
    (AnalysisType::ScheduledPrompt, SCHEDULED_PROMPT),
];

/// Every top-level key a file of `ty` may have, in table order (both forms
/// of a lookup table).
pub fn top_level_keys(ty: AnalysisType) -> Vec<&'static str> {
    let sql: &[Field] = if ty == AnalysisType::LookupTable {
        SQL_LOOKUP_TABLE
    } else {
        &[]
    };
    let own = TOP_LEVEL.iter().filter(|(t, _)| *t == ty).flat_map(|(_, f)| f.iter());
    let mut out: Vec<&'static str> = Vec::new();
    for f in own.chain(sql) {
        if !out.contains(&f.key) {
            out.push(f.key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &[(&str, &[Field])] = &[
        ("RULE", RULE),
        ("RULE_TEST", RULE_TEST),
        ("MOCK", MOCK),
        ("POLICY", POLICY),
        ("POLICY_TEST", POLICY_TEST),
        ("GLOBAL", GLOBAL),
        ("DATA_MODEL", DATA_MODEL),
        ("PACK", PACK),
        ("SAVED_QUERY", SAVED_QUERY),
        ("SCHEDULED_QUERY", SCHEDULED_QUERY),
        ("SCHEDULED_PROMPT", SCHEDULED_PROMPT),
        ("QUERY_SCHEDULE", QUERY_SCHEDULE),
        ("LOOKUP_TABLE", LOOKUP_TABLE),
        ("SQL_LOOKUP_TABLE", SQL_LOOKUP_TABLE),
        ("FILE_REFRESH", FILE_REFRESH),
        ("DATA_MODEL_MAPPING", DATA_MODEL_MAPPING),
        ("PACK_DEFINITION", PACK_DEFINITION),
        ("EMAIL_CONFIG", EMAIL_CONFIG),
        ("SQL_REFRESH", SQL_REFRESH),
        ("LOG_TYPE_MAP", LOG_TYPE_MAP),
        ("ASSOCIATED_LOG_TYPE", ASSOCIATED_LOG_TYPE),
        ("DYNAMIC_SEVERITY", DYNAMIC_SEVERITY),
        ("ALERT_CONTEXT_ITEM", ALERT_CONTEXT_ITEM),
        ("CORRELATION_RULE", CORRELATION_RULE),
        ("CORRELATION_BLOCK", CORRELATION_BLOCK),
        ("CORRELATION_ITEM", CORRELATION_ITEM),
        ("CORRELATION_CRITERION", CORRELATION_CRITERION),
        ("CORRELATION_TRANSITION", CORRELATION_TRANSITION),
        ("CORRELATION_MATCH", CORRELATION_MATCH),
        ("CORRELATION_SCHEDULE", CORRELATION_SCHEDULE),
        ("CORRELATION_TEST", CORRELATION_TEST),
        ("CORRELATION_OUTPUT", CORRELATION_OUTPUT),
    ];

    #[test]
    fn keys_are_unique_within_a_table() {
        for (name, table) in TABLES {
            for (i, f) in table.iter().enumerate() {
                assert!(table[..i].iter().all(|o| o.key != f.key), "{name}: {} twice", f.key);
            }
        }
    }

    #[test]
    fn the_name_lists_follow_their_tables() {
        assert_eq!(RULE_KEYS.len(), RULE.len());
        assert_eq!(RULE_KEYS[0], "AnalysisType");
        assert_eq!(RULE_KEYS.last(), Some(&"BaseDetection"));
        assert_eq!(
            RULE_TEST_KEYS,
            [
                "Name",
                "ExpectedResult",
                "Log",
                "Mocks",
                "LogType",
                "ExpectedDestinations"
            ]
        );
        assert_eq!(MOCK_KEYS, ["objectName", "returnValue"]);
        assert_eq!(CORRELATION_MATCH_KEYS, ["On", "From", "To"]);
    }

    #[test]
    fn every_overridable_key_is_a_rule_key() {
        for key in crate::model::keys::OVERRIDABLE.iter().chain(DERIVED_OWN_KEYS) {
            assert!(RULE_KEYS.contains(key), "{key}");
        }
    }
}
