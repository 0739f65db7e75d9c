//! A test's `Log` or `Resource` as the JSON text a worker decodes into the
//! same Python values PAT's YAML loader gives: the YAML dialect is the
//! loader's (booleans, timestamps kept as strings, ...), so this only
//! writes the tree, with Python's `NaN`/`Infinity` for non-finite floats
//! (which `json.loads` accepts).

use crate::yaml::{Node, NodeKind};

/// Writes `node` as JSON text for Python's `json.loads`.
pub fn to_python_json(node: &Node) -> String {
    let mut out = String::with_capacity(256);
    write(node, &mut out);
    out
}

fn write(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::Null => out.push_str("null"),
        NodeKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        NodeKind::Int(i) => out.push_str(&i.to_string()),
        NodeKind::Float(f) => float(*f, out),
        NodeKind::Str(s) => string(out, s),
        NodeKind::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        NodeKind::Map(entries) => {
            out.push('{');
            let mut first = true;
            for (k, v) in entries {
                // A list or mapping as a key has no JSON form; PAT's events
                // never have one.
                let Some(key) = k.key_text() else { continue };
                if !first {
                    out.push(',');
                }
                first = false;
                string(out, &key);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
    }
}

fn float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else if let Some(n) = serde_json::Number::from_f64(f) {
        let text = n.to_string();
        out.push_str(&text);
        // `1e300` and `1.5` are floats to Python; `3` would be an int.
        if !text.contains(['.', 'e', 'E']) {
            out.push_str(".0");
        }
    }
}

/// Appends `s` as a JSON string.
pub(super) fn string(out: &mut String, s: &str) {
    // A `&str` always serializes.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        match crate::yaml::parse(text) {
            Ok(crate::yaml::Document { root: Some(n), .. }) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_dialect_values_reach_python_with_their_types() {
        let n = tree("a: on\nb: 2021-01-01\nc: 0x1F\nd: .nan\ne: -.inf\nf: 1.0\ng: \"q\\\"\\n\"\nh: [1, null, true]\n");
        assert_eq!(
            to_python_json(&n),
            r#"{"a":"on","b":"2021-01-01","c":31,"d":NaN,"e":-Infinity,"f":1.0,"g":"q\"\n","h":[1,null,true]}"#
        );
    }
}
