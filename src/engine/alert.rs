//! Alert fields of a match: title, dedup string, severity and alert context
//! (simple-detections §6–§9, cli-and-settings §8 items 2–3).
//!
//! Built once per alert (or per matching test), never per event, so these
//! functions may allocate.

use serde_json::{Map, Value};

use super::key_path::Path;

/// Longest title or dedup string, in code points.
pub const MAX_FIELD: usize = 1000;
/// Largest serialised alert context, in characters.
pub const MAX_CONTEXT: usize = 204_800;

/// A compiled `AlertTitle`.
#[derive(Debug, Clone)]
pub enum TitlePart {
    /// Literal text.
    Text(Box<str>),
    /// A placeholder.
    Field(Path),
}

/// The text form of a resolved value (simple-detections §7.2).
pub fn text_form(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Cuts a field to 1000 code points: the first 985 and `... (truncated)`.
pub fn truncate(s: String) -> String {
    if s.chars().count() <= MAX_FIELD {
        return s;
    }
    let mut out: String = s.chars().take(MAX_FIELD - 15).collect();
    out.push_str("... (truncated)");
    out
}

/// Renders a title template (without truncation or fallback).
pub fn render_title(parts: &[TitlePart], event: &Value) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            TitlePart::Text(t) => out.push_str(t),
            TitlePart::Field(path) => out.push_str(&text_form(path.resolve(event).value())),
        }
    }
    out
}

/// Builds the alert context object (simple-detections §8): later duplicate
/// names replace the value and keep the first position; absent is `null`;
/// an oversized context becomes `{"_error": …}`.
pub fn render_context(items: &[(Box<str>, Path)], event: &Value) -> Value {
    let mut obj = Map::new();
    for (name, path) in items {
        let v = path.resolve(event).value().cloned().unwrap_or(Value::Null);
        obj.insert(name.to_string(), v);
    }
    let v = Value::Object(obj);
    let mut size = CharCount(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut size, &v);
    let size = size.0;
    if size > MAX_CONTEXT {
        let mut e = Map::new();
        e.insert(
            "_error".to_owned(),
            Value::String(format!(
                "alert_context size is [{size}] characters, bigger than maximum of [{MAX_CONTEXT}] characters"
            )),
        );
        return Value::Object(e);
    }
    v
}

/// Counts the characters of UTF-8 text written to it, without keeping it.
struct CharCount(usize);

impl std::io::Write for CharCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.iter().filter(|b| (**b & 0xC0) != 0x80).count();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The dedup string (simple-detections §9): `GroupBy` pieces joined with
/// `:`, else the rendered `AlertTitle`, else `defaultDedupString:<RuleID>`.
pub fn dedup(group_by: &[Path], rendered_title: Option<&str>, rule_id: &str, event: &Value) -> String {
    if !group_by.is_empty() {
        let joined = group_by
            .iter()
            .map(|p| text_form(p.resolve(event).value()))
            .collect::<Vec<_>>()
            .join(":");
        if !joined.is_empty() {
            return truncate(joined);
        }
        return format!("defaultDedupString:{rule_id}");
    }
    match rendered_title {
        Some(t) if !t.is_empty() => truncate(t.to_owned()),
        _ => format!("defaultDedupString:{rule_id}"),
    }
}
