//! Sub-schemas of the keys the key tables mark `Kind::Custom`: values the
//! loader reads with code of their own (`Detection`, `Tests`, `Schedule`,
//! …). Simple values come from the tables alone (`document.rs`).

use serde_json::{Value, json};

use super::document::object;
use crate::load::other::RESOURCE_TYPES;
use crate::model::fields::{self, Field};
use crate::model::{AnalysisType, Level};

/// Which table a custom key stands in, when the same key differs by table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The top level of a file of this type.
    Top(AnalysisType),
    /// A nested table of `model::fields`.
    Nested(&'static [Field]),
}

fn strings() -> Value {
    json!({ "type": "array", "items": { "type": "string" } })
}

fn list_of(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// The severity names (Title case: PAT rejects other spellings).
pub fn severity() -> Value {
    json!({ "enum": Level::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>() })
}

/// The sub-schema of custom key `key` in `place`, or `None` when the table
/// has a custom key this module does not know (a unit test forbids that).
pub fn custom(place: Place, key: &str) -> Option<Value> {
    use AnalysisType as T;
    let nested = |table| custom_for(Place::Nested(table));
    Some(match (place, key) {
        (_, "Severity") => severity(),
        (_, "Reports") => json!({
            "type": "object",
            "additionalProperties": list_of(json!({ "type": ["string", "number"] })),
        }),
        (Place::Top(T::Rule | T::ScheduledRule), "Detection") => json!({
            "type": ["array", "null"],
            "items": { "$ref": "#/$defs/MatchExpression" },
            "minItems": 1,
        }),
        (_, "InlineFilters") => json!({ "$ref": "#/$defs/MatchExpressions" }),
        (_, "DynamicSeverities") => list_of(object(fields::DYNAMIC_SEVERITY, &nested(fields::DYNAMIC_SEVERITY))),
        (_, "ChangeTo") => json!({ "enum": Level::ALL.iter().map(|(_, n)| *n).chain(["DEFAULT"]).collect::<Vec<_>>() }),
        (_, "Conditions") => json!({ "$ref": "#/$defs/MatchExpressions" }),
        (_, "AlertContext") => list_of(object(fields::ALERT_CONTEXT_ITEM, &nested(fields::ALERT_CONTEXT_ITEM))),
        (_, "KeyValue") => json!({ "$ref": "#/$defs/KeySpec" }),
        (_, "GroupBy") => list_of(json!({ "$ref": "#/$defs/KeySpec" })),
        (Place::Top(T::Rule | T::ScheduledRule), "Tests") => {
            list_of(object(fields::RULE_TEST, &nested(fields::RULE_TEST)))
        }
        (Place::Top(T::Policy), "Tests") => list_of(object(fields::POLICY_TEST, &nested(fields::POLICY_TEST))),
        (Place::Top(T::CorrelationRule), "Tests") => {
            list_of(object(fields::CORRELATION_TEST, &nested(fields::CORRELATION_TEST)))
        }
        (_, "Mocks") => list_of(object(fields::MOCK, &nested(fields::MOCK))),
        (_, "returnValue") => json!({ "type": ["string", "boolean"] }),
        (_, "ResourceTypes") => list_of(json!({ "enum": RESOURCE_TYPES })),
        (_, "Mappings") => {
            let mut m = object(fields::DATA_MODEL_MAPPING, &nested(fields::DATA_MODEL_MAPPING));
            m["oneOf"] = json!([{ "required": ["Path"] }, { "required": ["Method"] }]);
            list_of(m)
        }
        (_, "PackDefinition") => object(fields::PACK_DEFINITION, &nested(fields::PACK_DEFINITION)),
        (Place::Top(T::ScheduledQuery | T::ScheduledPrompt), "Schedule") => {
            let mut s = object(fields::QUERY_SCHEDULE, &nested(fields::QUERY_SCHEDULE));
            s["oneOf"] = json!([{ "required": ["CronExpression"] }, { "required": ["RateMinutes"] }]);
            s
        }
        (_, "EmailConfig") => object(fields::EMAIL_CONFIG, &nested(fields::EMAIL_CONFIG)),
        (_, "RunAsUser") => json!({ "type": "string", "minLength": 1 }),
        (_, "OutputLength") => json!({ "enum": fields::OUTPUT_LENGTHS }),
        (_, "Private") => json!({ "type": "boolean" }),
        // Which `Refresh` applies depends on the query keys; see
        // `document::lookup_table`.
        (_, "Refresh") => json!({ "type": "object" }),
        (_, "LogTypeMap") => object(fields::LOG_TYPE_MAP, &nested(fields::LOG_TYPE_MAP)),
        (_, "AssociatedLogTypes") => list_of(object(
            fields::ASSOCIATED_LOG_TYPE,
            &nested(fields::ASSOCIATED_LOG_TYPE),
        )),
        (_, "Indicators" | "Validations") => list_of(json!({
            "type": "object",
            "properties": { "Field": { "type": "string" }, key: strings() },
            "required": ["Field", key],
            "additionalProperties": false,
        })),
        (Place::Top(T::CorrelationRule), "Detection") => {
            list_of(object(fields::CORRELATION_BLOCK, &nested(fields::CORRELATION_BLOCK)))
        }
        (_, "Group" | "Sequence") => list_of(object(fields::CORRELATION_ITEM, &nested(fields::CORRELATION_ITEM))),
        (_, "MatchCriteria") => json!({
            "type": "object",
            "additionalProperties": list_of(object(
                fields::CORRELATION_CRITERION,
                &nested(fields::CORRELATION_CRITERION),
            )),
        }),
        (_, "Transitions") => list_of(object(
            fields::CORRELATION_TRANSITION,
            &nested(fields::CORRELATION_TRANSITION),
        )),
        (_, "Match") => list_of(object(fields::CORRELATION_MATCH, &nested(fields::CORRELATION_MATCH))),
        (Place::Nested(_), "Schedule") => object(fields::CORRELATION_SCHEDULE, &nested(fields::CORRELATION_SCHEDULE)),
        (_, "RuleOutputs") => list_of(object(fields::CORRELATION_OUTPUT, &nested(fields::CORRELATION_OUTPUT))),
        (_, "Matches") => json!({
            "description": "field -> value -> timestamps (RFC 3339 strings or integers)",
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": list_of(json!({ "type": ["string", "integer"] })),
            },
        }),
        _ => return None,
    })
}

/// A lookup of custom sub-schemas for one place, as [`object`] takes it.
pub fn custom_for(place: Place) -> impl Fn(&str) -> Value {
    move |key| custom(place, key).unwrap_or_else(|| json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fields::Kind;

    #[test]
    fn every_custom_key_has_a_sub_schema() {
        let tops = super::super::document::TABLES;
        let nested: &[&[Field]] = &[
            fields::RULE_TEST,
            fields::MOCK,
            fields::POLICY_TEST,
            fields::QUERY_SCHEDULE,
            fields::FILE_REFRESH,
            fields::CORRELATION_BLOCK,
            fields::CORRELATION_ITEM,
            fields::CORRELATION_CRITERION,
            fields::CORRELATION_TRANSITION,
            fields::CORRELATION_MATCH,
            fields::CORRELATION_SCHEDULE,
            fields::CORRELATION_TEST,
            fields::CORRELATION_OUTPUT,
            fields::DATA_MODEL_MAPPING,
            fields::PACK_DEFINITION,
            fields::EMAIL_CONFIG,
            fields::SQL_REFRESH,
            fields::LOG_TYPE_MAP,
            fields::ASSOCIATED_LOG_TYPE,
            fields::DYNAMIC_SEVERITY,
            fields::ALERT_CONTEXT_ITEM,
        ];
        let places = tops
            .iter()
            .map(|(ty, table)| (Place::Top(*ty), *table))
            .chain(nested.iter().map(|t| (Place::Nested(t), *t)));
        for (place, table) in places {
            for f in table.iter().filter(|f| f.kind == Kind::Custom) {
                assert!(custom(place, f.key).is_some(), "{place:?}: {}", f.key);
            }
        }
    }
}
