//! The `--signals-out` line (alerts-and-webhooks §5.3), one function for
//! the signals of detections and of correlation rules.

use serde_json::{Map, Value};

use crate::alerting::time;

/// One signal, as written.
#[derive(Debug)]
pub struct Signal<'a> {
    /// `RuleID`.
    pub rule_id: &'a str,
    /// The event's log type; empty for a correlation rule.
    pub log_type: &'a str,
    /// Event time (nanoseconds), or the run time of a correlation rule.
    pub time: i64,
    /// The dedup string; `None` is `null`.
    pub dedup: Option<&'a str>,
    /// Whether the signal can create an alert.
    pub create_alert: bool,
    /// The event with `p_alert_context`; `null` when events are not kept.
    pub event: Value,
}

/// The JSON Lines line of a signal, with its newline: the keys `ruleId`,
/// `logType`, `eventTime`, `dedup`, `createAlert`, `event` in that order.
pub fn line(s: Signal<'_>) -> String {
    let mut o = Map::new();
    o.insert("ruleId".to_owned(), Value::String(s.rule_id.to_owned()));
    o.insert("logType".to_owned(), Value::String(s.log_type.to_owned()));
    o.insert("eventTime".to_owned(), Value::String(time::aws(s.time)));
    o.insert(
        "dedup".to_owned(),
        s.dedup.map_or(Value::Null, |d| Value::String(d.to_owned())),
    );
    o.insert("createAlert".to_owned(), Value::Bool(s.create_alert));
    o.insert("event".to_owned(), s.event);
    let mut line = Value::Object(o).to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_signal_is_one_json_line_with_the_keys_in_order() {
        let s = Signal {
            rule_id: "A.Rule",
            log_type: "AWS.CloudTrail",
            // 2024-06-01T10:00:00Z = 1,717,236,000 s.
            time: 1_717_236_000 * 1_000_000_000,
            dedup: Some("alice"),
            create_alert: true,
            event: json!({"p_alert_context": {}}),
        };
        assert_eq!(
            line(s),
            "{\"ruleId\":\"A.Rule\",\"logType\":\"AWS.CloudTrail\",\
             \"eventTime\":\"2024-06-01T10:00:00.000Z\",\"dedup\":\"alice\",\
             \"createAlert\":true,\"event\":{\"p_alert_context\":{}}}\n"
        );
    }

    #[test]
    fn no_dedup_is_null() {
        let s = Signal {
            rule_id: "C",
            log_type: "",
            time: 0,
            dedup: None,
            create_alert: false,
            event: Value::Null,
        };
        let v: Value = serde_json::from_str(line(s).trim_end()).unwrap_or_default();
        assert_eq!(v["dedup"], Value::Null);
        assert_eq!(v["createAlert"], json!(false));
        assert_eq!(v["event"], Value::Null);
        assert_eq!(v["logType"], json!(""));
    }
}
