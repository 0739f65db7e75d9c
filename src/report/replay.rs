//! What `detect run` found, as data, and its rendering in each format: the
//! summary line and the per-detection lines of the human format
//! (alerts-and-webhooks §5.1), the results of the JSON report, one JUnit
//! case (and GitHub annotation) per alert.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::command::{Case, Reporter, Stream};
use crate::alerting::payload::Payload;

/// The outcome of a replay.
#[derive(Debug)]
pub struct Replay<'a> {
    /// Events read.
    pub events: u64,
    /// Detections and correlation rules evaluated.
    pub evaluated: usize,
    /// Detections not evaluated, by reason.
    pub skipped: &'a BTreeMap<&'static str, usize>,
    /// The same, by ID.
    pub skipped_ids: &'a [(String, &'static str)],
    /// Detections not evaluated because they are disabled.
    pub disabled: usize,
    /// Detections not evaluated because they have errors.
    pub invalid: usize,
    /// Signals written.
    pub signals: u64,
    /// Alerts by type.
    pub alerts: &'a BTreeMap<&'static str, u64>,
    /// Input records that were skipped (unreadable, no log type).
    pub records_skipped: u64,
    /// Wall time.
    pub duration_ms: u128,
    /// `--parse-only`.
    pub parse_only: bool,
    /// `(ID, matches, alerts)` of the detections that matched, most
    /// matches first.
    pub hits: Vec<(&'a str, u64, u64)>,
    /// The alerts created, in order.
    pub payloads: Vec<&'a Payload>,
    /// Whether the payloads belong in the report (they are not written to
    /// `--alerts-out`).
    pub payloads_in_report: bool,
    /// `--quiet`: the summary line only.
    pub quiet: bool,
    /// `--verbose`: also the skipped detections.
    pub verbose: bool,
}

impl Reporter<'_> {
    /// Reports what a replay found.
    pub fn replay(&mut self, r: &Replay<'_>) {
        self.summary(&summary_line(r));
        if self.is_human() {
            self.human(Stream::Err, &details(r));
            return;
        }
        self.result(
            "summary",
            json!({
                "events": r.events,
                "evaluated": r.evaluated,
                "skipped": r.skipped,
                "disabled": r.disabled,
                "invalid": r.invalid,
                "signals": r.signals,
                "alerts": r.alerts,
                "records_skipped": r.records_skipped,
                "duration_ms": r.duration_ms,
            }),
        );
        self.result(
            "detections",
            r.hits
                .iter()
                .map(|(id, matches, alerts)| json!({"id": id, "matches": matches, "alerts": alerts}))
                .collect(),
        );
        self.result(
            "skipped",
            r.skipped_ids
                .iter()
                .map(|(id, reason)| json!({"id": id, "reason": reason}))
                .collect(),
        );
        if r.payloads_in_report {
            self.result(
                "alerts",
                r.payloads
                    .iter()
                    .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
                    .collect(),
            );
        }
        for p in &r.payloads {
            self.case(Case {
                suite: "alerts".to_owned(),
                class: p.id.clone(),
                name: p.alert_id.clone(),
                file: None,
                failure: Some(format!("{} {} alert: {}", p.severity, p.alert_type, p.title)),
            });
        }
    }
}

/// `1,204 events · 87 rules evaluated (3 skipped: python rule) · 19
/// signals · 4 alerts (RULE 4) · 41 ms`.
fn summary_line(r: &Replay<'_>) -> String {
    let skipped: usize = r.skipped.values().sum();
    let mut line = format!(
        "{} · {} evaluated",
        counted(r.events, "event", "events"),
        counted(r.evaluated as u64, "rule", "rules")
    );
    if skipped > 0 {
        let reasons: Vec<String> = if r.skipped.len() == 1 {
            r.skipped.keys().map(|k| (*k).to_owned()).collect()
        } else {
            r.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect()
        };
        let _ = write!(line, " ({skipped} skipped: {})", reasons.join(", "));
    }
    if r.disabled > 0 {
        let _ = write!(line, " · {} disabled", r.disabled);
    }
    if r.invalid > 0 {
        let _ = write!(line, " · {} invalid", r.invalid);
    }
    let alerts: u64 = r.alerts.values().sum();
    let kinds: Vec<String> = r.alerts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = write!(
        line,
        " · {} · {}",
        counted(r.signals, "signal", "signals"),
        counted(alerts, "alert", "alerts")
    );
    if !kinds.is_empty() {
        let _ = write!(line, " ({})", kinds.join(", "));
    }
    if r.records_skipped > 0 {
        let _ = write!(line, " · {} skipped", counted(r.records_skipped, "record", "records"));
    }
    let _ = write!(line, " · {} ms", r.duration_ms);
    if r.parse_only {
        line.push_str(" (parse only)");
    }
    line
}

/// The lines after the summary: the detections with errors, a line per
/// detection that matched, and (`--verbose`) the skipped ones.
fn details(r: &Replay<'_>) -> String {
    let mut more = String::new();
    if r.quiet {
        return more;
    }
    if r.invalid > 0 {
        let _ = writeln!(
            more,
            "note: {} not evaluated; `detect validate` lists them",
            if r.invalid == 1 {
                "1 detection with errors was".to_owned()
            } else {
                format!("{} detections with errors were", r.invalid)
            }
        );
    }
    for (id, matches, alerts) in &r.hits {
        let _ = writeln!(
            more,
            "  {id}: {}, {}",
            counted(*matches, "match", "matches"),
            counted(*alerts, "alert", "alerts")
        );
    }
    if r.verbose {
        for (id, reason) in r.skipped_ids {
            let _ = writeln!(more, "  skipped: {id}: {reason}");
        }
    }
    more
}

/// `1 alert`, `1,204 alerts`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_digits(n), if n == 1 { one } else { many })
}

/// `1204` → `1,204`.
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(counted(1, "alert", "alerts"), "1 alert");
        assert_eq!(counted(1204, "alert", "alerts"), "1,204 alerts");
        assert_eq!(counted(0, "event", "events"), "0 events");
        assert_eq!(group_digits(1_000_000), "1,000,000");
    }
}
