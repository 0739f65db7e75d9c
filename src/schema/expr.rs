//! The JSON Schema of a match expression (match-expressions §3): one
//! `oneOf` alternative per shape, each closed to other keys, with the
//! condition names of the shape's group taken from the condition table.

use serde_json::{Value, json};

use crate::model::expr::{DEPRECATED_ALIASES, DESCRIPTORS, Group, Takes};

/// The condition names of the descriptors that satisfy `pick`, with the
/// deprecated aliases of those conditions.
fn names(pick: impl Fn(Group, Takes) -> bool) -> Value {
    let mut out: Vec<&str> = DESCRIPTORS
        .iter()
        .filter(|d| pick(d.group, d.takes))
        .map(|d| d.name)
        .collect();
    for (alias, condition) in DEPRECATED_ALIASES {
        let d = condition.descriptor();
        if pick(d.group, d.takes) {
            out.push(alias);
        }
    }
    json!({ "enum": out })
}

/// A closed mapping with `required` keys and these `properties`.
fn shape(description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// One alternative per key specifier: the shape with `Key`, `DeepKey` or
/// `KeyPath` added, so exactly one of them stands in the mapping.
fn with_key_spec(description: &str, properties: &Value, required: &[&str]) -> Vec<Value> {
    ["Key", "DeepKey", "KeyPath"]
        .iter()
        .map(|ks| {
            let mut props = properties.clone();
            if let Some(m) = props.as_object_mut() {
                m.insert((*ks).to_owned(), json!({ "$ref": format!("#/$defs/{ks}") }));
            }
            let mut req: Vec<&str> = required.to_vec();
            req.push(ks);
            shape(description, props, &req)
        })
        .collect()
}

/// The `$defs` entries for match expressions and key specifiers.
pub fn defs() -> Vec<(&'static str, Value)> {
    let single = names(|g, _| g == Group::V);
    let list = names(|g, _| g == Group::L);
    let unary = names(|g, _| g == Group::U);
    let unary_ip = names(|g, t| g == Group::U && t == Takes::Ignored);
    let element = names(|g, _| g == Group::E);
    let absolute = names(|g, _| g == Group::A);
    let value = json!({ "$ref": "#/$defs/Value" });
    let values = json!({ "$ref": "#/$defs/Values" });

    let mut alternatives: Vec<Value> = Vec::new();
    alternatives.extend(with_key_spec(
        "key/value",
        &json!({ "Condition": single, "Value": value }),
        &["Condition", "Value"],
    ));
    alternatives.extend(with_key_spec(
        "key/values",
        &json!({ "Condition": list, "Values": values }),
        &["Condition", "Values"],
    ));
    alternatives.push(shape(
        "multi-key",
        json!({
            "Condition": single,
            "Values": { "type": "array", "items": { "$ref": "#/$defs/KeySpec" }, "minItems": 2, "maxItems": 2 },
        }),
        &["Condition", "Values"],
    ));
    alternatives.extend(with_key_spec(
        "list comprehension",
        &json!({
            "Condition": element,
            "Expressions": { "type": "array", "items": { "$ref": "#/$defs/MatchExpression" }, "minItems": 1 },
        }),
        &["Condition", "Expressions"],
    ));
    alternatives.extend(with_key_spec(
        "existence",
        &json!({ "Condition": unary }),
        &["Condition"],
    ));
    // A `Value` on a unary IP condition is accepted and ignored
    // (`value-ignored`, match-expressions §3).
    alternatives.extend(with_key_spec(
        "unary IP condition with an ignored value",
        &json!({ "Condition": unary_ip, "Value": value }),
        &["Condition", "Value"],
    ));
    alternatives.push(shape("absolute", json!({ "Condition": absolute }), &["Condition"]));
    let enrichment = json!({ "$ref": "#/$defs/Enrichment" });
    alternatives.push(shape(
        "enrichment with a value",
        json!({ "Enrichment": enrichment, "Condition": single, "Value": value }),
        &["Enrichment", "Condition", "Value"],
    ));
    alternatives.push(shape(
        "enrichment with values",
        json!({ "Enrichment": enrichment, "Condition": list, "Values": values }),
        &["Enrichment", "Condition", "Values"],
    ));
    for combinator in ["All", "Any", "OnlyOne", "None"] {
        alternatives.push(shape(
            "combinator",
            json!({ combinator: { "$ref": "#/$defs/MatchExpressions" } }),
            &[combinator],
        ));
    }

    let scalar = json!({ "type": ["string", "number", "boolean"] });
    let key_specs: Vec<Value> = ["Key", "DeepKey", "KeyPath"]
        .iter()
        .map(|ks| shape(ks, json!({ *ks: { "$ref": format!("#/$defs/{ks}") } }), &[ks]))
        .collect();
    vec![
        (
            "MatchExpression",
            json!({ "description": "a match expression (match-expressions §3)", "oneOf": alternatives }),
        ),
        (
            "MatchExpressions",
            json!({ "type": "array", "items": { "$ref": "#/$defs/MatchExpression" } }),
        ),
        ("Value", scalar),
        (
            "Values",
            json!({
                "anyOf": [
                    { "type": "array", "items": { "type": "string" } },
                    { "type": "array", "items": { "type": "number" } },
                    { "type": "array", "items": { "type": "boolean" } },
                ]
            }),
        ),
        ("Key", json!({ "type": "string" })),
        (
            "DeepKey",
            json!({ "type": "array", "items": { "type": ["string", "integer"] }, "minItems": 1 }),
        ),
        ("KeyPath", json!({ "type": "string", "minLength": 1 })),
        (
            "KeySpec",
            json!({
                "description": "exactly one key specifier",
                "oneOf": key_specs,
            }),
        ),
        (
            "Enrichment",
            shape(
                "an enrichment lookup",
                json!({
                    "Table": { "type": "string" },
                    "Selector": { "type": "string" },
                    "FieldPath": { "type": "string" },
                }),
                &["Table", "Selector", "FieldPath"],
            ),
        ),
    ]
}
