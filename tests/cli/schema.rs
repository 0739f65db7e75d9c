//! `detect schema`: the JSON Schema is a valid draft 2020-12 schema, every
//! valid corpus file conforms to it, and files with schema errors (unknown
//! keys, wrong types, missing keys) do not.
//!
//! YAML is read with `detect`'s own YAML layer (YAML 1.2 rules as PAT reads
//! them: `yes`/`On` stay strings) and converted with `Node::to_json`, so
//! the schema sees what the loader sees.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{corpus, detect};

/// Codes of the loader that a JSON Schema expresses: the corpus's invalid
/// files with an error of one of these must be rejected by the schema.
const SCHEMA_CODES: &[(&str, &str)] = &[
    ("unknown-key", "closed mappings (`additionalProperties: false`)"),
    ("wrong-type", "`type` of every key"),
    ("missing-key", "`required`"),
    ("exclusive-keys", "`oneOf` of `Detection`/`Filename` and the like"),
    ("multi-key-arity", "`minItems`/`maxItems` 2 of multi-key `Values`"),
    ("invalid-id", "`pattern` of IDs and `DisplayName`"),
    ("duplicate-value", "`uniqueItems` of set fields"),
    ("invalid-value", "`enum` of `ResourceTypes`, `Severity`, conditions"),
];
// Not schema errors: `yaml-syntax` (no document to check), `bad-pack-ref`
// and `missing-file` (they need other files).

/// The schema `detect schema ARGS` prints.
fn schema(args: &[&str]) -> Value {
    let out = detect(Path::new("."))
        .arg("schema")
        .args(args)
        .output()
        .expect("detect runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

/// A compiled schema, after checking it against the draft 2020-12
/// meta-schema.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(doc: Value) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let meta = compiler
            .compile("https://json-schema.org/draft/2020-12/schema", &mut schemas)
            .expect("boon has the draft 2020-12 meta-schema");
        if let Err(e) = schemas.validate(&doc, meta) {
            panic!("not a valid draft 2020-12 schema: {e:#}");
        }
        compiler.add_resource("urn:detect:schema", doc).expect("a new resource");
        let index = compiler
            .compile("urn:detect:schema", &mut schemas)
            .expect("the schema compiles");
        Validator { schemas, index }
    }

    fn check(&self, v: &Value) -> Result<(), String> {
        self.schemas.validate(v, self.index).map_err(|e| format!("{e:#}"))
    }
}

/// A YAML text as JSON, read by `detect`'s YAML layer.
fn json_of(text: &str) -> Option<Value> {
    let doc = detect::yaml::parse(text).ok()?;
    doc.root?.to_json().ok()
}

fn yaml(text: &str) -> Value {
    json_of(text).expect("test YAML parses")
}

const RULE: &str = "\
AnalysisType: rule
RuleID: Test.Rule
Enabled: true
LogTypes: [AWS.CloudTrail]
Severity: High
Detection:
  - Key: eventName
    Condition: Equals
    Value: ConsoleLogin
Tests:
  - Name: login
    ExpectedResult: true
    Log: {eventName: ConsoleLogin}
";

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema_for_every_type() {
    Validator::new(schema(&[]));
    for ty in [
        "rule",
        "scheduled_rule",
        "policy",
        "correlation_rule",
        "global",
        "datamodel",
        "pack",
        "scheduled_query",
        "saved_query",
        "lookup_table",
        "scheduled_prompt",
    ] {
        let doc = schema(&["--type", ty]);
        assert_eq!(doc["$schema"], json!("https://json-schema.org/draft/2020-12/schema"));
        Validator::new(doc);
    }
}

#[test]
fn an_unknown_type_is_a_usage_error() {
    let out = detect(Path::new("."))
        .args(["schema", "--type", "rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheduled_rule"));
}

#[test]
fn unknown_keys_and_wrong_types_are_rejected() {
    let v = Validator::new(schema(&[]));
    v.check(&yaml(RULE)).unwrap();
    let bad = [
        (
            "an unknown top-level key",
            RULE.replace("Enabled: true", "Enabled: true\nExtra: 1"),
        ),
        ("a misspelt key", RULE.replace("Severity:", "Severty:")),
        ("Enabled as a string", RULE.replace("Enabled: true", "Enabled: 'true'")),
        (
            "a severity PAT rejects",
            RULE.replace("Severity: High", "Severity: HIGH"),
        ),
        (
            "LogTypes as a string",
            RULE.replace("[AWS.CloudTrail]", "AWS.CloudTrail"),
        ),
        ("no Severity", RULE.replace("Severity: High\n", "")),
        (
            "no Detection or Filename",
            RULE.split("Detection:").next().unwrap().to_owned(),
        ),
        ("both Detection and Filename", format!("{RULE}Filename: r.py\n")),
        (
            "an unknown condition",
            RULE.replace("Condition: Equals", "Condition: Equal"),
        ),
        (
            "an unknown key in an expression",
            RULE.replace("Value: ConsoleLogin", "Value: ConsoleLogin\n    Extra: 1"),
        ),
        (
            "Values with Equals",
            RULE.replace("Value: ConsoleLogin", "Values: [ConsoleLogin]"),
        ),
        (
            "Key and KeyPath together",
            RULE.replace("- Key: eventName", "- Key: eventName\n    KeyPath: a.b"),
        ),
        (
            "a test without ExpectedResult",
            RULE.replace("    ExpectedResult: true\n", ""),
        ),
        (
            "an unknown test key",
            RULE.replace("    Log:", "    Logs: {}\n    Log:"),
        ),
        (
            "ExpectedResult as a string",
            RULE.replace("ExpectedResult: true", "ExpectedResult: 'yes'"),
        ),
        (
            "an unknown type",
            RULE.replace("AnalysisType: rule", "AnalysisType: rules"),
        ),
    ];
    for (what, text) in &bad {
        assert!(v.check(&yaml(text)).is_err(), "accepted {what}:\n{text}");
    }
    // The same by the per-type schema.
    let rule_only = Validator::new(schema(&["--type", "rule"]));
    rule_only.check(&yaml(RULE)).unwrap();
    for (what, text) in &bad[..3] {
        assert!(rule_only.check(&yaml(text)).is_err(), "--type rule accepted {what}");
    }
    // YAML 1.2: `yes` is a string, so `Enabled: yes` is a wrong type.
    assert!(v.check(&yaml(&RULE.replace("Enabled: true", "Enabled: yes"))).is_err());
}

#[test]
fn every_shape_of_match_expression_validates() {
    let v = Validator::new(schema(&["--type", "rule"]));
    let detection = "\
Detection:
  - All:
      - KeyPath: a.b[0]
        Condition: IsIn
        Values: [x, y]
      - DeepKey: [a, b]
        Condition: Exists
      - Condition: IsGreaterThan
        Values:
          - Key: a
          - KeyPath: b
      - KeyPath: items
        Condition: AnyElement
        Expressions:
          - Key: name
            Condition: Has
            Value: admin
  - Any:
      - Condition: AlwaysTrue
      - Enrichment: {Table: t, Selector: ip, FieldPath: c}
        Condition: Equals
        Value: 1
      - Key: ip
        Condition: IsIPAddressPrivate
        Value: true
  - None:
      - OnlyOne:
          - Key: x
            Condition: IsNullOrEmpty
";
    let text = RULE.replace(
        "Detection:\n  - Key: eventName\n    Condition: Equals\n    Value: ConsoleLogin\n",
        detection,
    );
    v.check(&yaml(&text)).unwrap();
    let three_keys = text.replace(
        "          - KeyPath: b\n",
        "          - KeyPath: b\n          - Key: c\n",
    );
    assert!(
        v.check(&yaml(&three_keys)).is_err(),
        "three key specifiers in a multi-key expression"
    );
}

#[test]
fn a_derived_detection_validates_and_may_not_set_logic() {
    let v = Validator::new(schema(&[]));
    let derived = "AnalysisType: rule\nRuleID: A.Custom\nBaseDetection: A\nSeverity: Low\nEnabled: true\n";
    v.check(&yaml(derived)).unwrap();
    assert!(v.check(&yaml(&format!("{derived}LogTypes: [X]\n"))).is_err());
}

#[test]
fn output_writes_the_schema_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = detect(dir.path())
        .args(["schema", "--output", "s.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(dir.path().join("s.json")).unwrap();
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written, schema(&[]));
}

/// The codes `detect validate` reports as errors on one file.
fn error_codes(root: &Path, rel: &str) -> Vec<String> {
    let out = detect(root)
        .args(["validate", rel, "--format", "json"])
        .output()
        .expect("detect runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    report["diagnostics"]
        .as_array()
        .expect("a list of diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_corpus_valid_files_conform_and_its_schema_errors_are_rejected() {
    let Some(root) = corpus() else { return };
    let v = Validator::new(schema(&[]));
    let expectations: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expectations.json")).unwrap()).unwrap();
    let (mut valid, mut rejected, mut problems) = (0, 0, Vec::new());
    for f in expectations["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let Some(doc) = json_of(&text) else {
            // A YAML syntax error: nothing for a schema to check.
            continue;
        };
        if doc.get("AnalysisType").is_none() {
            // Not an analysis file (a settings file); skipped, not rejected.
            continue;
        }
        if f["expect_valid"] == json!(true) {
            match v.check(&doc) {
                Ok(()) => valid += 1,
                Err(e) => problems.push(format!("{path}: valid, but the schema rejects it: {e}")),
            }
            continue;
        }
        let codes = error_codes(&root, path);
        let schema_codes: Vec<&String> = codes
            .iter()
            .filter(|c| SCHEMA_CODES.iter().any(|(s, _)| s == c))
            .collect();
        if schema_codes.is_empty() {
            continue;
        }
        match v.check(&doc) {
            Ok(()) => problems.push(format!("{path}: has {schema_codes:?}, but the schema accepts it")),
            Err(_) => rejected += 1,
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // By hand from the corpus README: 197 files, of which 12 are invalid; of
    // the invalid ones two are YAML syntax errors and one (`example_invalid_pack`)
    // is invalid only as a folder; every other invalid file is a schema error.
    assert_eq!(rejected, 9, "schema errors rejected");
    // 185 files are `expect_valid: true`; the settings file has no
    // `AnalysisType`, and `example_policy.json` is read too (JSON is YAML).
    assert_eq!(valid, 184, "valid files checked");
}

/// Every analysis file of a detection repository named by
/// `DETECT_SCHEMA_CHECKOUT` (a panther-analysis checkout, say) against the
/// schema: prints how many conform and lists the rest with their first
/// error. Not run without the variable (the repository is not part of
/// this one); `detect validate` on the same files is the reference, so a
/// file the schema rejects must also have an error there.
#[test]
fn a_checkout_named_by_the_environment_conforms() {
    let Some(root) = std::env::var_os("DETECT_SCHEMA_CHECKOUT").map(std::path::PathBuf::from) else {
        eprintln!("skipping: DETECT_SCHEMA_CHECKOUT is not set");
        return;
    };
    let v = Validator::new(schema(&[]));
    let (mut files, mut rejected) = (0, Vec::new());
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') {
                    stack.push(path);
                }
                continue;
            }
            if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
                continue;
            }
            let Some(doc) = json_of(&std::fs::read_to_string(&path).unwrap_or_default()) else {
                continue;
            };
            if doc.get("AnalysisType").is_none() {
                continue;
            }
            files += 1;
            if let Err(e) = v.check(&doc) {
                let rel = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                rejected.push((rel, e.lines().take(3).collect::<Vec<_>>().join(" / ")));
            }
        }
    }
    rejected.sort();
    eprintln!("{files} analysis files, {} rejected by the schema", rejected.len());
    for (path, why) in &rejected {
        eprintln!("  {path}: {why}");
    }
    for (path, _) in &rejected {
        let codes = error_codes(&root, path);
        assert!(
            !codes.is_empty(),
            "{path}: rejected by the schema, valid for `detect validate`"
        );
    }
}
