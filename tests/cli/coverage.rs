//! `detect coverage` on `fixtures/coverage/`, whose expected numbers are
//! worked out by hand from its six rules:
//!
//! | rule | enabled | entries | tests (true/false) |
//! | --- | --- | --- | --- |
//! | `A.Login` | yes | `TA0001:T1078`, `TA0006:T1110.003` | 1/1 |
//! | `B.Brute` | yes | `TA0006:T1110.003` (twice), `T1078` | 1/0 |
//! | `C.Disabled` | no | `TA0001:T1078` | 1/1 |
//! | `D.Bad` | yes | `TA003:T1556`, `TA0003:T1098`, `TA0001:T15`, `42` | none |
//! | `E.Unmapped` | yes | none | 0/1 |
//! | `A.Login.Custom` | derived from `A.Login`: its `Enabled`, `Reports`, `Tests` | | |
//!
//! So the cells are (T1078, TA0001): A.Login, A.Login.Custom, disabled
//! C.Disabled, score 2; (T1078, no tactic): B.Brute, 1; (T1098, TA0003):
//! D.Bad, 1; (T1110.003, TA0006): A.Login, A.Login.Custom, B.Brute, 3. The
//! gaps are B.Brute (no false case), D.Bad (no tests), E.Unmapped (no true
//! case); three of D.Bad's entries are malformed (lines 8, 10, 11).

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{corpus, fixture, json, run_in};

/// The layer format 4.5 as a JSON Schema, written from the format document
/// (mitre-attack/attack-navigator `layers/spec/v4.5/layerformat.md`): the
/// required fields and the types of those `detect` writes.
fn layer_format_schema() -> Value {
    let metadata = json!({
        "type": "array",
        "items": {
            "oneOf": [
                { "type": "object", "required": ["name", "value"],
                  "properties": { "name": { "type": "string" }, "value": { "type": "string" } } },
                { "type": "object", "required": ["divider"], "properties": { "divider": { "type": "boolean" } } },
            ]
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["name", "domain"],
        "properties": {
            "name": { "type": "string" },
            "description": { "type": "string" },
            "domain": { "enum": ["enterprise-attack", "mobile-attack", "ics-attack"] },
            "versions": {
                "type": "object",
                "required": ["navigator", "layer"],
                "properties": {
                    "attack": { "type": "string" },
                    "navigator": { "type": "string" },
                    "layer": { "const": "4.5" },
                },
            },
            "sorting": { "enum": [0, 1, 2, 3] },
            "hideDisabled": { "type": "boolean" },
            "layout": {
                "type": "object",
                "properties": {
                    "layout": { "enum": ["side", "flat", "mini"] },
                    "showID": { "type": "boolean" },
                    "showName": { "type": "boolean" },
                },
            },
            "techniques": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["techniqueID"],
                    "properties": {
                        "techniqueID": { "type": "string", "pattern": "^T[0-9]{4}(\\.[0-9]{3})?$" },
                        "tactic": { "type": "string" },
                        "comment": { "type": "string" },
                        "enabled": { "type": "boolean" },
                        "score": { "type": "number" },
                        "color": { "type": "string" },
                        "metadata": metadata,
                        "showSubtechniques": { "type": "boolean" },
                    },
                },
            },
            "gradient": {
                "type": "object",
                "required": ["colors", "minValue", "maxValue"],
                "properties": {
                    "colors": { "type": "array", "items": { "type": "string" }, "minItems": 2 },
                    "minValue": { "type": "number" },
                    "maxValue": { "type": "number" },
                },
            },
            "legendItems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["label", "color"],
                    "properties": { "label": { "type": "string" }, "color": { "type": "string" } },
                },
            },
            "metadata": metadata,
        },
    })
}

/// Checks a layer against [`layer_format_schema`] and the one rule a
/// schema cannot say (`maxValue > minValue`).
fn assert_layer_format(layer: &Value) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:layer", layer_format_schema())
        .expect("a new resource");
    let index = compiler
        .compile("urn:layer", &mut schemas)
        .expect("the schema compiles");
    if let Err(e) = schemas.validate(layer, index) {
        panic!("not a 4.5 layer: {e:#}");
    }
    let g = &layer["gradient"];
    assert!(g["maxValue"].as_f64() > g["minValue"].as_f64(), "{g}");
}

/// Runs `detect coverage` on `dir` with `--layer` into a temporary file;
/// returns the exit code, stdout and the layer.
fn coverage_with_layer(dir: &Path, extra: &[&str]) -> (i32, String, Value) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let layer = tmp.path().join("layer.json");
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["coverage".as_ref(), ".".as_ref(), "--layer".as_ref(), layer.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let (code, out, err) = run_in(dir, args);
    assert!(err.is_empty(), "{err}");
    let text = std::fs::read_to_string(&layer).expect("layer written");
    (code, out, serde_json::from_str(&text).expect("layer is JSON"))
}

#[test]
fn the_layer_has_the_techniques_and_scores_worked_out_by_hand() {
    let (code, _, layer) = coverage_with_layer(&fixture("coverage"), &[]);
    assert_eq!(code, 0);
    assert_layer_format(&layer);
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["domain"], "enterprise-attack");
    let cells: Vec<(String, Option<String>, u64, bool)> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap().to_owned(),
                t["tactic"].as_str().map(str::to_owned),
                t["score"].as_u64().unwrap(),
                t["enabled"].as_bool().unwrap(),
            )
        })
        .collect();
    let cell = |id: &str, tactic: Option<&str>, score: u64| (id.to_owned(), tactic.map(str::to_owned), score, true);
    let mut expected = vec![
        cell("T1078", Some("initial-access"), 2),
        cell("T1078", None, 1),
        cell("T1098", Some("persistence"), 1),
        cell("T1110.003", Some("credential-access"), 3),
    ];
    let mut cells_sorted = cells.clone();
    cells_sorted.sort();
    expected.sort();
    assert_eq!(cells_sorted, expected);
    // The detections on a cell are in its metadata, disabled ones marked.
    let t1078 = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == "T1078" && t["tactic"] == "initial-access")
        .unwrap();
    assert_eq!(
        t1078["metadata"],
        json!([
            { "name": "detection", "value": "A.Login" },
            { "name": "detection", "value": "A.Login.Custom" },
            { "name": "disabled detection", "value": "C.Disabled" },
        ])
    );
    assert!(t1078["comment"].as_str().unwrap().contains("A.Login, A.Login.Custom"));
    assert_eq!(layer["gradient"]["maxValue"], 3);
}

#[test]
fn the_json_report_lists_gaps_and_counts() {
    let (code, out, _) = run_in(&fixture("coverage"), ["coverage", ".", "--format", "json"]);
    assert_eq!(code, 0);
    let v = json(&out);
    assert_eq!(
        v["summary"],
        json!({ "detections": 6, "enabled": 5, "enabled_unmapped": 1, "techniques_covered": 3, "gaps": 3 })
    );
    assert_eq!(
        v["gaps"],
        json!([
            { "id": "B.Brute", "file": "rules/b_brute.yml", "kind": "no-false-case" },
            { "id": "D.Bad", "file": "rules/d_bad.yml", "kind": "no-tests" },
            { "id": "E.Unmapped", "file": "rules/e_unmapped.yml", "kind": "no-true-case" },
        ])
    );
    let tactic = |id: &str| {
        v["tactics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| (t["detections"].as_u64().unwrap(), t["techniques"].as_u64().unwrap()))
    };
    assert_eq!(tactic("TA0001"), Some((2, 1)));
    assert_eq!(tactic("TA0003"), Some((1, 1)));
    assert_eq!(tactic("TA0006"), Some((3, 1)));
    assert_eq!(tactic("TA0040"), Some((0, 0)));
    assert_eq!(v["tactics"].as_array().unwrap().len(), 14);
}

#[test]
fn malformed_entries_are_located_warnings() {
    let (_, out, _) = run_in(&fixture("coverage"), ["coverage", ".", "--format", "json"]);
    let v = json(&out);
    let located: Vec<(&str, u64, u64, &str)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap(),
            )
        })
        .collect();
    let w = |line| ("rules/d_bad.yml", line, 7, "invalid-mitre-mapping");
    assert_eq!(located, [w(8), w(10), w(11)]);
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "warning")
    );
    let (code, human, _) = run_in(&fixture("coverage"), ["coverage", "."]);
    assert_eq!(code, 0, "warnings do not fail the run");
    assert!(
        human.contains("rules/d_bad.yml:8:7: warning[invalid-mitre-mapping]: `TA003` is not a tactic ID"),
        "{human}"
    );
    assert!(
        human.contains("6 detections (5 enabled), 3 techniques covered"),
        "{human}"
    );
    assert!(human.contains("Gaps (3):"), "{human}");
}

#[test]
fn fail_on_gaps_exits_1_only_when_there_are_gaps() {
    let (code, _, _) = run_in(&fixture("coverage"), ["coverage", ".", "--fail-on-gaps"]);
    assert_eq!(code, 1);
    let (code, _, _) = run_in(
        &fixture("coverage"),
        ["coverage", ".", "--fail-on-gaps", "--format", "json"],
    );
    assert_eq!(code, 1);
    // Only the rule with a true and a false case: no gaps.
    let (code, out, _) = run_in(
        &fixture("coverage"),
        ["coverage", "rules/a_login.yml", "--fail-on-gaps", "--format", "json"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["summary"]["gaps"], 0);
    assert_eq!(json(&out)["summary"]["detections"], 1);
}

#[test]
fn a_layer_that_cannot_be_written_is_exit_2() {
    let (code, _, err) = run_in(
        &fixture("coverage"),
        ["coverage", ".", "--layer", "/nonexistent-dir/layer.json"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot create"), "{err}");
}

#[test]
fn the_corpus_layer_conforms_to_format_4_5() {
    let Some(root) = corpus() else { return };
    let (code, out, layer) = coverage_with_layer(&root.join("panther-analysis"), &["--format", "json"]);
    assert_eq!(code, 0);
    assert_layer_format(&layer);
    let v = json(&out);
    assert!(v["summary"]["techniques_covered"].as_u64().unwrap() > 0);
    eprintln!("corpus panther-analysis: {}", v["summary"]);
}
