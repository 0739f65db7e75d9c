//! The JSON Schema (draft 2020-12) document of analysis files, built from
//! the key tables of `model::fields` (the ones the loader reads) and the
//! condition table: one `$defs` entry per analysis type, and a root that
//! dispatches on `AnalysisType` with `if`/`then`, or one type's entry.
//!
//! The schema is PAT's strict mode: unknown keys are errors, as without
//! `--ignore-extra-keys`. What needs more than one file (a `BaseDetection`
//! that exists, duplicate IDs) or a value's meaning (a KeyPath's grammar, a
//! cron expression, SQL) is left to `detect validate`.

use serde_json::{Map, Value, json};

use super::custom::{Place, custom_for};
use super::expr;
use crate::model::AnalysisType;
use crate::model::fields::{self, Field, Kind};

/// The draft the documents declare.
pub const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The top-level table of every analysis type.
pub use crate::model::fields::TOP_LEVEL as TABLES;

/// The pattern PAT requires of names and IDs.
const NAME_PATTERN: &str = "^[^<>&\"%]+$";

/// The schema of a value of `kind`; `custom` gives custom keys' schemas.
fn value(field: &Field, custom: &dyn Fn(&str) -> Value) -> Value {
    match field.kind {
        Kind::Skip | Kind::Name => json!({ "type": "string", "pattern": NAME_PATTERN }),
        Kind::Str => json!({ "type": "string" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int => json!({ "type": "integer" }),
        Kind::StrList => json!({ "type": "array", "items": { "type": "string" } }),
        // `uniqueItems` is exact; `Tags` are also unique ignoring case,
        // which a schema cannot say (`detect validate` does).
        Kind::Set | Kind::TagSet => json!({ "type": "array", "items": { "type": "string" }, "uniqueItems": true }),
        Kind::Any => json!({}),
        Kind::Custom => custom(field.key),
    }
}

/// A closed mapping of a table's keys, with its required keys.
pub fn object(table: &[Field], custom: &dyn Fn(&str) -> Value) -> Value {
    object_of(table.iter(), custom, &[])
}

fn object_of<'a>(table: impl Iterator<Item = &'a Field>, custom: &dyn Fn(&str) -> Value, nullable: &[&str]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in table {
        let mut v = value(f, custom);
        if nullable.contains(&f.key) {
            v = json!({ "anyOf": [v, { "type": "null" }] });
        }
        properties.insert(f.key.to_owned(), v);
        if f.required {
            required.push(f.key);
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn required_one_of(keys: &[&str]) -> Value {
    json!({ "oneOf": keys.iter().map(|k| json!({ "required": [k] })).collect::<Vec<_>>() })
}

fn required_any_of(keys: &[&str]) -> Value {
    json!({ "anyOf": keys.iter().map(|k| json!({ "required": [k] })).collect::<Vec<_>>() })
}

/// Adds `clauses` to a schema's `allOf`.
fn with_all_of(mut schema: Value, clauses: Vec<Value>) -> Value {
    if let Some(m) = schema.as_object_mut() {
        m.insert("allOf".to_owned(), Value::Array(clauses));
    }
    schema
}

/// Sets `AnalysisType` to the type's name.
fn typed(mut schema: Value, ty: AnalysisType) -> Value {
    schema["properties"]["AnalysisType"] = json!({ "const": ty.name() });
    schema
}

/// A rule or scheduled rule: a derived detection when `BaseDetection` is a
/// non-empty string, else a rule with its logic.
fn rule(ty: AnalysisType) -> Value {
    let custom = custom_for(Place::Top(ty));
    let derived_keys = fields::DERIVED_OWN_KEYS
        .iter()
        .chain(crate::model::keys::OVERRIDABLE.iter());
    let derived = object_of(
        fields::RULE
            .iter()
            .filter(|f| derived_keys.clone().any(|k| *k == f.key)),
        &custom,
        &[],
    );
    let mut derived = typed(derived, ty);
    derived["required"] = json!(["AnalysisType", "RuleID", "BaseDetection"]);
    derived["description"] = json!("a derived detection: identity and overrides of its base");
    let full = typed(object_of(fields::RULE.iter(), &custom, fields::RULE_NULLABLE), ty);
    let log_source = if ty == AnalysisType::Rule {
        json!({ "required": ["LogTypes"], "not": { "required": ["ScheduledQueries"] } })
    } else {
        json!({ "required": ["ScheduledQueries"], "not": { "required": ["LogTypes"] } })
    };
    let full = with_all_of(full, vec![required_one_of(&["Detection", "Filename"]), log_source]);
    json!({
        "if": {
            "properties": { "BaseDetection": { "type": "string", "minLength": 1 } },
            "required": ["BaseDetection"],
        },
        "then": derived,
        "else": full,
    })
}

/// A lookup table: filled by a query when it has a query key, else from a
/// file or an object store.
fn lookup_table() -> Value {
    let ty = AnalysisType::LookupTable;
    let file_refresh = {
        let mut r = object(fields::FILE_REFRESH, &|_| json!({}));
        r["oneOf"] = json!([{ "required": ["RoleARN"] }, { "required": ["GCSCredentials"] }]);
        r
    };
    let file_custom = custom_for(Place::Top(ty));
    let file = object(fields::LOOKUP_TABLE, &|k| {
        if k == "Refresh" {
            file_refresh.clone()
        } else {
            file_custom(k)
        }
    });
    let file = with_all_of(typed(file, ty), vec![required_any_of(&["Filename", "Refresh"])]);
    let sql_refresh = {
        let mut r = object(fields::SQL_REFRESH, &|_| json!({}));
        r["oneOf"] = json!([{ "required": ["PeriodMinutes"] }, { "required": ["CronExpression"] }]);
        r
    };
    let sql = object(fields::SQL_LOOKUP_TABLE, &|k| {
        if k == "Refresh" {
            sql_refresh.clone()
        } else {
            file_custom(k)
        }
    });
    let mut sql = typed(sql, ty);
    if let Some(r) = sql["required"].as_array_mut() {
        r.push(json!("Refresh"));
    }
    json!({
        "if": required_any_of(fields::QUERY_KEYS),
        "then": sql,
        "else": file,
    })
}

/// The schema of one analysis type (its `$defs` entry).
fn analysis_type(ty: AnalysisType, table: &[Field]) -> Value {
    match ty {
        AnalysisType::Rule | AnalysisType::ScheduledRule => rule(ty),
        AnalysisType::LookupTable => lookup_table(),
        AnalysisType::ScheduledQuery | AnalysisType::SavedQuery => with_all_of(
            typed(object(table, &custom_for(Place::Top(ty))), ty),
            vec![required_any_of(fields::QUERY_KEYS)],
        ),
        _ => typed(object(table, &custom_for(Place::Top(ty))), ty),
    }
}

/// The `$defs` key of an analysis type.
fn def_name(ty: AnalysisType) -> String {
    format!("AnalysisType.{}", ty.name())
}

/// The schema document: every type dispatched on `AnalysisType`, or only
/// `only`'s.
pub fn document(only: Option<AnalysisType>) -> Value {
    let mut defs = Map::new();
    for (ty, table) in TABLES {
        defs.insert(def_name(*ty), analysis_type(*ty, table));
    }
    for (name, def) in expr::defs() {
        defs.insert(name.to_owned(), def);
    }
    let mut root = Map::new();
    root.insert("$schema".to_owned(), json!(DRAFT));
    match only {
        Some(ty) => {
            root.insert("title".to_owned(), json!(format!("Panther {} file", ty.name())));
            root.insert("$ref".to_owned(), json!(format!("#/$defs/{}", def_name(ty))));
        }
        None => {
            root.insert("title".to_owned(), json!("Panther analysis file"));
            root.insert(
                "description".to_owned(),
                json!("a detection, query, data model, pack, global, lookup table or prompt (PAT's strict mode)"),
            );
            root.insert("type".to_owned(), json!("object"));
            root.insert("required".to_owned(), json!(["AnalysisType"]));
            let names: Vec<&str> = TABLES.iter().map(|(ty, _)| ty.name()).collect();
            root.insert("properties".to_owned(), json!({ "AnalysisType": { "enum": names } }));
            let dispatch: Vec<Value> = TABLES
                .iter()
                .map(|(ty, _)| {
                    json!({
                        "if": { "properties": { "AnalysisType": { "const": ty.name() } }, "required": ["AnalysisType"] },
                        "then": { "$ref": format!("#/$defs/{}", def_name(*ty)) },
                    })
                })
                .collect();
            root.insert("allOf".to_owned(), Value::Array(dispatch));
        }
    }
    root.insert("$defs".to_owned(), Value::Object(defs));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_analysis_type_has_a_table() {
        for (ty, _) in AnalysisType::ALL {
            assert!(TABLES.iter().any(|(t, _)| t == ty), "{}", ty.name());
        }
    }

    /// The closed mappings of a type's definition (both branches of an
    /// `if`).
    fn branches(def: &Value) -> Vec<&Value> {
        match (def.get("then"), def.get("else")) {
            (Some(t), Some(e)) => vec![t, e],
            _ => vec![def],
        }
    }

    #[test]
    fn every_key_of_every_table_is_in_the_schema() {
        let doc = document(None);
        for (ty, table) in TABLES {
            let def = &doc["$defs"][def_name(*ty)];
            for f in table.iter() {
                assert!(
                    branches(def).iter().any(|b| b["properties"].get(f.key).is_some()),
                    "{}: {}",
                    ty.name(),
                    f.key
                );
            }
            for b in branches(def) {
                assert_eq!(b["additionalProperties"], json!(false), "{}", ty.name());
            }
        }
    }

    #[test]
    fn a_key_of_the_table_is_a_property_of_the_schema() {
        let doc = document(Some(AnalysisType::Policy));
        let props = &doc["$defs"]["AnalysisType.policy"]["properties"];
        for f in fields::POLICY {
            assert!(props.get(f.key).is_some(), "{}", f.key);
        }
        assert_eq!(props["AnalysisType"], json!({ "const": "policy" }));
        assert_eq!(props["Enabled"], json!({ "type": "boolean" }));
        assert_eq!(doc["$ref"], json!("#/$defs/AnalysisType.policy"));
    }
}
