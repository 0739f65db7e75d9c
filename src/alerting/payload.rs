//! The Custom Webhook payload (alerts-and-webhooks §1.3, §5.5, §9.1).
//!
//! Exactly thirteen members, in the order of the schema, compact JSON. The
//! alert ID and the detection version are SHA-256 based so that re-running
//! the same input gives the same IDs (which makes delivery idempotent).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time;
use crate::sha256::{Sha256, hex};

/// Alert types `detect` creates (§3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertType {
    /// Match of a streaming rule.
    Rule,
    /// Match of a correlation rule.
    CorrelationRule,
    /// Evaluation error of a rule.
    RuleError,
    /// Evaluation error of a correlation rule.
    CorrelationRuleError,
}

impl AlertType {
    /// The spelling in payloads and destination filters.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Rule => "RULE",
            AlertType::CorrelationRule => "CORRELATION_RULE",
            AlertType::RuleError => "RULE_ERROR",
            AlertType::CorrelationRuleError => "CORRELATION_RULE_ERROR",
        }
    }
}

/// One webhook body. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// Detection ID.
    pub id: String,
    /// Creation time, AWSDateTime.
    pub created_at: String,
    /// Upper-case severity.
    pub severity: String,
    /// Alert type.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// Console link or `""`.
    pub link: String,
    /// Title.
    pub title: String,
    /// Detection name.
    pub name: String,
    /// Stable alert ID.
    pub alert_id: String,
    /// Description.
    pub description: String,
    /// Runbook.
    pub runbook: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Detection version.
    pub version: String,
    /// Alert context object.
    pub alert_context: Value,
}

impl Payload {
    /// The compact JSON body.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, a string list and a JSON value cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `detect-alert-v1` ID: the first 16 bytes of SHA-256 over the fixed tag,
/// the detection ID, the dedup string and the window start, joined with
/// newlines, as 32 lowercase hex characters.
pub fn alert_id(rule_id: &str, dedup: &str, window_start: i64) -> String {
    let mut h = Sha256::default();
    h.update(b"detect-alert-v1\n");
    h.update(rule_id.as_bytes());
    h.update(b"\n");
    h.update(dedup.as_bytes());
    h.update(b"\n");
    h.update(time::rfc3339(window_start).as_bytes());
    hex(&h.finish(), 16)
}

/// The detection version: the first 16 bytes of SHA-256 over the file
/// bytes (a derived detection: its own file, then its base's).
pub fn version(files: &[&[u8]]) -> String {
    let mut h = Sha256::default();
    for f in files {
        h.update(f);
    }
    hex(&h.finish(), 16)
}

/// `<console_url>/alerts/<alertId>`, or `""` without a console URL.
pub fn link(console_url: Option<&str>, alert_id: &str) -> String {
    match console_url {
        Some(u) if !u.is_empty() => format!("{}/alerts/{alert_id}", u.trim_end_matches('/')),
        _ => String::new(),
    }
}

/// 32 random lowercase hex characters.
pub fn random_hex() -> String {
    let bytes: Vec<u8> = (0..16).map(|_| fastrand::u8(..)).collect();
    hex(&bytes, 16)
}

/// A random UUID (version 4), for delivery IDs.
pub fn uuid() -> String {
    let mut b: Vec<u8> = (0..16).map(|_| fastrand::u8(..)).collect();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b, 16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The test alert of `detect alerts test` (§9.1).
pub fn test_alert(destination: &str, console_url: Option<&str>) -> Payload {
    let alert_id = random_hex();
    let mut context = Map::new();
    context.insert("test".to_owned(), Value::Bool(true));
    context.insert("destination".to_owned(), Value::String(destination.to_owned()));
    Payload {
        id: "detect.TestAlert".to_owned(),
        created_at: time::aws(time::now()),
        severity: "INFO".to_owned(),
        alert_type: AlertType::Rule.as_str().to_owned(),
        link: link(console_url, &alert_id),
        title: "Test alert from detect".to_owned(),
        name: "Test Alert".to_owned(),
        alert_id,
        description: format!("Test alert sent by `detect alerts test` to check the destination {destination}."),
        runbook: String::new(),
        tags: vec!["test".to_owned()],
        version: String::new(),
        alert_context: Value::Object(context),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_hex() {
        let t = time::parse("2024-06-01 10:07:00").unwrap();
        let a = alert_id("R", "d", t);
        assert_eq!(a, alert_id("R", "d", t));
        assert_ne!(a, alert_id("R", "d", t + 1));
        assert_ne!(a, alert_id("R", "e", t));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(version(&[b"ab", b"c"]), version(&[b"abc"]));
        assert_eq!(version(&[b"abc"]), "ba7816bf8f01cfea414140de5dae2223");
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn payload_has_thirteen_fields_in_order() {
        let p = test_alert("soc", Some("https://x.example/"));
        let v: Value = serde_json::from_str(&p.to_json()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "createdAt",
                "severity",
                "type",
                "link",
                "title",
                "name",
                "alertId",
                "description",
                "runbook",
                "tags",
                "version",
                "alertContext"
            ]
        );
        assert_eq!(p.link, format!("https://x.example/alerts/{}", p.alert_id));
        assert_eq!(link(None, "a"), "");
    }
}
