//! Writing [`Node`] values back as YAML text, for `show --format yaml` and
//! the files `derive` generates.
//!
//! Block style with two-space indentation, sequences indented under their
//! key. A string is written plain only when every YAML loader reads it back
//! as the same string (PAT's dialect, YAML 1.1 and 1.2 alike); otherwise it
//! is double-quoted with escapes, so the output always reads back to the
//! values it was made from.

use std::fmt::Write as _;

use crate::yaml::{Node, NodeKind, float_text, resolve_plain};

/// Words YAML 1.1 loaders read as booleans or null; quoted although PAT's
/// dialect keeps most of them strings.
const YAML11_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"];

/// A string as a YAML scalar: plain when that is unambiguous, else
/// double-quoted.
pub fn string(s: &str) -> String {
    if is_plain_safe(s) { s.to_owned() } else { quoted(s) }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if resolve_plain(s) != NodeKind::Str(s.into()) || YAML11_WORDS.contains(&s.to_lowercase().as_str()) {
        return false;
    }
    // Anything that may read as a number, date or time in some loader.
    if first.is_ascii_digit() || matches!(first, '+' | '-' | '.') {
        return false;
    }
    if "?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() || s.ends_with(char::is_whitespace) {
        return false;
    }
    !(s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '{' | '}' | '[' | ']' | ',' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}'
                )
        }))
}

/// A double-quoted YAML scalar.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar or an empty collection on one line; `None` for a non-empty
/// list or mapping.
pub fn inline(node: &Node) -> Option<String> {
    Some(match &node.kind {
        NodeKind::Null => "null".to_owned(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Float(f) => float(*f),
        NodeKind::Str(s) => string(s),
        NodeKind::Seq(items) if items.is_empty() => "[]".to_owned(),
        NodeKind::Map(entries) if entries.is_empty() => "{}".to_owned(),
        NodeKind::Seq(_) | NodeKind::Map(_) => return None,
    })
}

/// A float that reads back as a float: PyYAML needs a dot, also in front
/// of an exponent, and a signed exponent (`1e21` would be a string).
fn float(f: f64) -> String {
    let t = float_text(f);
    if !f.is_finite() {
        return t;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t.as_str(), None),
    };
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    match exp {
        None => format!("{mantissa}{dot}"),
        Some(e) if e.starts_with(['-', '+']) => format!("{mantissa}{dot}e{e}"),
        Some(e) => format!("{mantissa}{dot}e+{e}"),
    }
}

fn key(k: &Node) -> String {
    match &k.kind {
        NodeKind::Str(s) => string(s),
        _ => k.key_text().map_or_else(|| "null".to_owned(), |t| string(&t)),
    }
}

/// The lines of a non-empty list or mapping at indentation 0.
fn block(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                out.extend(entry(&key(k), v));
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                match inline(item) {
                    Some(s) => out.push(format!("- {s}")),
                    None => {
                        for (i, line) in block(item).into_iter().enumerate() {
                            out.push(if i == 0 {
                                format!("- {line}")
                            } else {
                                format!("  {line}")
                            });
                        }
                    }
                }
            }
        }
        _ => out.extend(inline(node)),
    }
    out
}

/// The lines of one `key: value` entry at indentation 0.
pub fn entry(key: &str, value: &Node) -> Vec<String> {
    match inline(value) {
        Some(s) => vec![format!("{key}: {s}")],
        None => {
            let mut out = vec![format!("{key}:")];
            out.extend(block(value).into_iter().map(|l| format!("  {l}")));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn round_trip(text: &str) {
        let root = parse(text).unwrap().root.unwrap();
        let mut out = String::new();
        for (k, v) in root.as_map().unwrap() {
            for line in entry(&key(k), v) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        let back = parse(&out).unwrap().root.unwrap();
        assert_eq!(back.to_json().unwrap(), root.to_json().unwrap(), "{text}\n---\n{out}");
    }

    #[test]
    fn strings_that_could_read_as_something_else_are_quoted() {
        for s in [
            "yes",
            "On",
            "null",
            "1",
            "0x1F",
            "1e3",
            "2024-01-15",
            "1:30:00",
            "-x",
            "a: b",
            "a #b",
            "{x}",
            "",
            " x",
            "x ",
            "é\u{2028}",
            "tab\tx",
            "a\nb",
            "\"q\"",
            "'s'",
            "*a",
            "&a",
            "!t",
            "@x",
            "x:",
        ] {
            assert_ne!(string(s), s, "{s:?} must be quoted");
        }
        for s in [
            "AWS.CloudTrail",
            "Okta admin role granted (prod)",
            "p_any_ip_addresses",
            "MITRE ATT&CK",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn floats_keep_a_dot_and_a_signed_exponent() {
        assert_eq!(float(1e21), "1.0e+21");
        assert_eq!(float(1.5e-7), "1.5e-7");
        assert_eq!(float(2370.0), "2370.0");
        assert_eq!(float(f64::INFINITY), ".inf");
    }

    #[test]
    fn values_read_back_unchanged() {
        round_trip("a: yes\nb: '0644'\nc: 0644\nd: 1.5\ne: 2370.0\nf: \"x\\ny\"\ng: [1, [2, 3], {k: v}, []]\n");
        round_trip(
            "Detection:\n  - Any:\n      - KeyPath: a.b[*].c\n        Condition: IsIn\n        Values: [x, 'y z']\n  - {Key: k, Condition: Exists}\n",
        );
        round_trip(
            "Reports:\n  MITRE ATT&CK: ['TA0001:T1078']\n  200: {}\nTitle: \"Login by {user}\"\nn: ~\nf: 1.0e+21\n",
        );
        round_trip("Log: {\"a\\\"b\": \"\\u0001\", nested: [[1], {x: [y]}]}\n");
    }
}
