//! The spec's example vectors as tests: `fixtures/engine/match_vectors.json`
//! (match-expressions.md, every row) and `fixtures/engine/alert_vectors.json`
//! (simple-detections.md SEV, TTL, DF, WX), extracted from the spec by
//! `scripts/extract_vectors.py`.

use serde_json::Value;

use super::Program;
use crate::diagnostic::Severity;
use crate::load::{LoadOptions, load_file};
use crate::source::FileId;

fn vectors(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/engine")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn program(rule_yaml: &str) -> Result<Program, String> {
    let loaded = load_file(FileId(0), Some(rule_yaml), LoadOptions::default());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(format!("{errors:?}"));
    }
    let a = loaded.analysis.ok_or("no analysis")?;
    let rule = a.rule().ok_or("not a rule")?;
    Ok(Program::compile(a.id_str(), rule, true))
}

const HEADER: &str =
    "AnalysisType: rule\nRuleID: Vector.Test\nEnabled: true\nLogTypes: [Custom.Test]\nSeverity: Info\n";

#[test]
fn every_match_vector_of_the_spec() {
    let mut failures = Vec::new();
    let all = vectors("match_vectors.json");
    for v in &all {
        let id = v["id"].as_str().unwrap();
        let rule = format!("{HEADER}{}", v["rule"].as_str().unwrap());
        match program(&rule) {
            Err(e) => failures.push(format!("{id}: rule rejected: {e}")),
            Ok(p) => {
                let got = p.matches(&v["event"]);
                if got != v["expected"].as_bool().unwrap() {
                    failures.push(format!("{id}: expected {}, got {got}", v["expected"]));
                }
            }
        }
    }
    assert!(all.len() > 400);
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_alert_vector_of_the_spec() {
    let mut failures = Vec::new();
    for v in vectors("alert_vectors.json") {
        let id = v["id"].as_str().unwrap();
        let p = match program(v["rule"].as_str().unwrap()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{id}: rule rejected: {e}"));
                continue;
            }
        };
        let event = &v["event"];
        let matched = p.matches(event);
        if let Some(m) = v["match"].as_bool() {
            if m != matched {
                failures.push(format!("{id}: match expected {m}, got {matched}"));
                continue;
            }
        }
        if !matched {
            continue;
        }
        let a = p.alert(event);
        if let Some(s) = v["severity"].as_str() {
            let got = a.severity.map(|l| l.upper());
            if got != Some(s) {
                failures.push(format!("{id}: severity expected {s}, got {got:?}"));
            }
        }
        if let Some(t) = v["title"].as_str() {
            if a.title.as_deref() != Some(t) {
                failures.push(format!("{id}: title expected {t:?}, got {:?}", a.title));
            }
        }
        if let Some(d) = v["dedup"].as_str() {
            if a.dedup.as_deref() != Some(d) {
                failures.push(format!("{id}: dedup expected {d:?}, got {:?}", a.dedup));
            }
        }
        if !v["alert_context"].is_null() && a.context != v["alert_context"] {
            failures.push(format!(
                "{id}: context expected {}, got {}",
                v["alert_context"], a.context
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
