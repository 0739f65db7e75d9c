//! The three forms of a [`View`]: JSON, YAML with each key's source in a
//! comment, and the human form with the alert-field precedence.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::view::{View, node_json};
use crate::resolve::{AlertField, Step};
use crate::yaml_write;

impl View {
    /// The JSON form (module docs).
    pub fn to_json(&self) -> Value {
        let mut fields = Map::new();
        for f in &self.fields {
            fields.insert(
                f.key.clone(),
                json!({"value": node_json(&f.value), "source": f.source.as_str()}),
            );
        }
        let base = self.base.as_ref().map(|b| {
            let mut v = json!({"id": b.id, "file": b.file});
            if let (Some(r), Value::Object(m)) = (&b.remote, &mut v) {
                let tests: Vec<Value> = r
                    .tests
                    .iter()
                    .map(|(name, expected)| json!({"name": name, "expected_result": expected}))
                    .collect();
                m.insert(
                    "remote".to_owned(),
                    json!({"python_lines": r.python_lines, "tests": tests}),
                );
            }
            v
        });
        json!({
            "id": self.id,
            "file": self.file,
            "base": base,
            "fields": fields,
            "auto_disabled": self.auto_disabled,
        })
    }

    fn header(&self) -> Vec<String> {
        let mut out = vec![format!("{} ({})", self.id, self.file)];
        if let Some(b) = &self.base {
            let place = match (&b.file, &b.remote) {
                (Some(f), _) => f.clone(),
                (None, Some(r)) => format!("on the Panther instance: {}", r.summary()),
                (None, None) => "not among the loaded files".to_owned(),
            };
            out.push(format!("base: {} ({place})", b.id));
        }
        out.push(format!("auto_disabled: {}", self.auto_disabled));
        out
    }

    /// The YAML form: the effective detection, each key's source in a
    /// comment.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for line in self.header() {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
        for f in &self.fields {
            let lines = yaml_write::entry(&yaml_write::string(&f.key), &f.value);
            for (i, line) in lines.iter().enumerate() {
                out.push_str(line);
                if i == 0 {
                    out.push_str("  # ");
                    out.push_str(f.source.as_str());
                }
                out.push('\n');
            }
        }
        out
    }

    fn step_text(&self, field: AlertField, step: &Step) -> String {
        match step {
            Step::Key(k, s) => format!("{k} ({})", s.as_str()),
            Step::Function(f, s) => format!(
                "{f}() in {} ({})",
                self.python.as_deref().unwrap_or("the Python file"),
                s.as_str()
            ),
            Step::Title => "the alert title".to_owned(),
            Step::Default => match field {
                AlertField::Title => format!("the RuleID `{}`", self.id),
                AlertField::Dedup => format!("defaultDedupString:{}", self.id),
                AlertField::AlertContext => "{}".to_owned(),
                AlertField::Severity => "none (no Severity)".to_owned(),
                AlertField::Destinations => "none".to_owned(),
                _ => "empty".to_owned(),
            },
        }
    }

    /// The human form.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        for line in self.header() {
            out.push_str(&line);
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str("note: ");
            out.push_str(n);
            out.push('\n');
        }
        if let Some((b, r)) = self.base.as_ref().and_then(|b| Some((b, b.remote.as_ref()?))) {
            let _ = writeln!(out, "\nremote base {}:", b.id);
            let _ = write!(
                out,
                "  Python body: {} line{}",
                r.python_lines,
                if r.python_lines == 1 { "" } else { "s" }
            );
            if !r.functions.is_empty() {
                let names: Vec<String> = r.functions.iter().map(|f| format!("{f}()")).collect();
                let _ = write!(out, "; alert functions: {}", names.join(", "));
            }
            out.push('\n');
            if r.tests.is_empty() {
                out.push_str("  tests: none\n");
            } else {
                out.push_str("  tests (expected result, name):\n");
                for (name, expected) in &r.tests {
                    let _ = writeln!(out, "    {:<6} {name}", expected.to_string());
                }
            }
        }
        out.push_str("\nfields (source, key: value):\n");
        for f in &self.fields {
            let lines = yaml_write::entry(&yaml_write::string(&f.key), &f.value);
            for (i, line) in lines.iter().enumerate() {
                let src = if i == 0 { f.source.as_str() } else { "" };
                let _ = writeln!(out, "  {src:<8} {line}");
            }
        }
        if !self.chains.is_empty() {
            out.push_str("\nalert fields (the first that applies):\n");
            for (field, steps) in &self.chains {
                let text: Vec<String> = steps.iter().map(|s| self.step_text(*field, s)).collect();
                let _ = writeln!(out, "  {:<14} {}", field.name(), text.join(", else "));
            }
        }
        out
    }
}
