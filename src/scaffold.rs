//! Scaffolding a derived detection (derived-detections §10): typing the
//! `--set KEY=VALUE` overrides and writing the text of the new file.
//!
//! The generated file holds `AnalysisType: rule`, the new `RuleID`,
//! `BaseDetection`, an explicit `Enabled: true` (so the detection keeps
//! running when its base is disabled), the overrides, and every other
//! overridable key as a commented-out line with the base's current value
//! (or, for a base known only from the Panther instance, a hint of what a
//! value looks like). It has no logic keys and no `Tests` key, so the
//! base's tests are inherited.

use std::fmt::Write as _;

use crate::diagnostic::did_you_mean;
use crate::error::{Error, Result};
use crate::model::{Analysis, Level};
use crate::panther_api::RemoteBase;
use crate::resolve::{self, OVERRIDABLE};
use crate::source::Span;
use crate::yaml::{self, Node, NodeKind};
use crate::yaml_write;

use crate::model::keys::{self, Kind as ValueKind};

/// The value kind of a key (the table of detection keys).
fn value_kind(key: &str) -> Option<ValueKind> {
    keys::get(key).map(|k| k.kind)
}

fn node(kind: NodeKind) -> Node {
    Node {
        span: Span::default(),
        kind,
    }
}

/// Parses YAML text given on the command line.
fn yaml_value(key: &str, text: &str) -> Result<Node> {
    match yaml::parse(text) {
        Ok(doc) => Ok(doc.root.unwrap_or_else(|| node(NodeKind::Null))),
        Err(e) => Err(Error::Usage(format!(
            "--set {key}: the value is not valid YAML: {}",
            e.message
        ))),
    }
}

/// Types one `--set KEY=VALUE` (derived-detections §2.2).
///
/// # Errors
/// [`Error::Usage`] for a key that cannot be set or a value of the wrong
/// type.
pub fn parse_set(raw: &str) -> Result<(&'static str, Node)> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(Error::Usage(format!("--set `{raw}` is not in the form KEY=VALUE")));
    };
    let key = key.trim();
    let settable = OVERRIDABLE.iter().copied().filter(|k| *k != "Tests");
    let Some(name) = settable.clone().find(|k| *k == key) else {
        let why = if key == "Tests" {
            "a derived detection inherits the base's tests; add its own `Tests` to the file instead".to_owned()
        } else if matches!(key, "RuleID" | "BaseDetection" | "AnalysisType") {
            "it is written by `derive` itself (use --id for the RuleID)".to_owned()
        } else if matches!(key, "Detection" | "Filename" | "LogTypes" | "ScheduledQueries") {
            "it defines the logic, which always comes from the base".to_owned()
        } else {
            let mut why = "only overridable keys can be set".to_owned();
            if let Some(h) = did_you_mean(key, settable.clone()) {
                why = format!("{why}; {h}");
            }
            why
        };
        return Err(Error::Usage(format!(
            "--set: `{key}` cannot be set in a derived detection: {why}"
        )));
    };
    let kind = value_kind(name).unwrap_or(ValueKind::Text);
    let bad = |what: &str| Error::Usage(format!("--set {name}: expected {what}, found `{value}`"));
    let v = match kind {
        ValueKind::Bool => match value.trim().to_lowercase().as_str() {
            "true" => NodeKind::Bool(true),
            "false" => NodeKind::Bool(false),
            _ => return Err(bad("true or false")),
        },
        ValueKind::Level => match Level::ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(value.trim())) {
            Some((_, n)) => NodeKind::Str((*n).into()),
            None => return Err(bad("one of Info, Low, Medium, High, Critical")),
        },
        ValueKind::Int => match value.trim().parse::<i64>() {
            Ok(i) => NodeKind::Int(i),
            Err(_) => return Err(bad("an integer")),
        },
        ValueKind::Text => NodeKind::Str(value.into()),
        ValueKind::TextList if value.trim_start().starts_with('[') => {
            let n = yaml_value(name, value)?;
            let ok = n
                .as_seq()
                .is_some_and(|items| items.iter().all(|i| i.as_str().is_some()));
            if !ok {
                return Err(bad("a list of strings"));
            }
            n.kind
        }
        ValueKind::TextList => NodeKind::Seq(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| node(NodeKind::Str((*s).into())))
                .collect(),
        ),
        ValueKind::Mapping | ValueKind::List => {
            let n = yaml_value(name, value)?;
            match (&n.kind, kind) {
                (NodeKind::Null, ValueKind::List) => NodeKind::Seq(Vec::new()),
                (NodeKind::Null, _) => NodeKind::Map(Vec::new()),
                (NodeKind::Seq(_), ValueKind::List) | (NodeKind::Map(_), ValueKind::Mapping) => n.kind,
                (_, ValueKind::List) => {
                    return Err(bad("a YAML list, e.g. `[{KeyPath: user, Condition: Exists}]`"));
                }
                _ => return Err(bad("a YAML mapping, e.g. `{MITRE ATT&CK: [TA0001]}`")),
            }
        }
    };
    Ok((name, node(v)))
}

/// Keys that a Python alert function of the base decides (the table of
/// detection keys).
pub const FUNCTION_OF: &[(&str, &str)] = &keys::FUNCTION_OF;

/// Static keys a Python function shadows even when the derived file sets
/// them (derived-detections §4, `derived-override-shadowed`).
pub const SHADOWED: &[&str] = &{
    let mut out = [""; keys::SHADOWED.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = keys::SHADOWED[i].0;
        i += 1;
    }
    out
};

/// A file name from an ID: characters other than letters, digits, `.`,
/// `_` and `-` become `_`.
pub fn file_name(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}.yml", stem.trim_matches('.'))
}

/// Appends `key: value` as block YAML lines.
pub fn push_entry(out: &mut String, key: &str, value: &Node) {
    for line in yaml_write::entry(key, value) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// The keys the file sets: `AnalysisType`, `RuleID`, `BaseDetection`,
/// `Enabled: true` (unless `--set`) and the `--set` values, in
/// [`OVERRIDABLE`] order (the last `--set` of a key wins).
pub fn head(new_id: &str, base_id: &str, sets: &[(&'static str, Node)]) -> String {
    let mut out = String::new();
    push_entry(&mut out, "AnalysisType", &node(NodeKind::Str("rule".into())));
    push_entry(&mut out, "RuleID", &node(NodeKind::Str(new_id.into())));
    push_entry(&mut out, "BaseDetection", &node(NodeKind::Str(base_id.into())));
    if !sets.iter().any(|(k, _)| *k == "Enabled") {
        push_entry(&mut out, "Enabled", &node(NodeKind::Bool(true)));
    }
    for key in OVERRIDABLE {
        if let Some((_, v)) = sets.iter().rev().find(|(k, _)| k == key) {
            push_entry(&mut out, key, v);
        }
    }
    out
}

/// The overridable keys written as comments: every one but `Tests`,
/// `Enabled` (always written) and the `--set` keys.
fn commented_keys<'s>(sets: &'s [(&'static str, Node)]) -> impl Iterator<Item = &'static str> + 's {
    OVERRIDABLE
        .iter()
        .copied()
        .filter(|key| !matches!(*key, "Tests" | "Enabled") && !sets.iter().any(|(k, _)| k == key))
}

/// What a Python alert function of the base does to an override of `key`.
fn function_note(key: &str, functions: &[&str]) -> Option<String> {
    let f = FUNCTION_OF
        .iter()
        .find(|(k, f)| *k == key && functions.contains(f))
        .map(|(_, f)| *f)?;
    Some(if SHADOWED.contains(&key) {
        format!("no effect: the base's {f}() decides")
    } else {
        format!("replaces the base's {f}()")
    })
}

/// `s` when `n` is not 1.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The text of the derived file (derived-detections §10).
pub fn generate(new_id: &str, base: &Analysis, sets: &[(&'static str, Node)], functions: &[&str]) -> String {
    let base_id = base.id_str();
    let mut out = head(new_id, base_id, sets);
    let _ = write!(
        out,
        "\n# Overridable keys, shown with the current values of the base\n\
         # `{base_id}`. Uncomment a key to override it: the value here\n\
         # replaces the base's whole (lists and filters are not merged).\n\
         # The logic always comes from the base.\n"
    );
    for key in commented_keys(sets) {
        let note = function_note(key, functions);
        let (value, note) = match base.root.get(key) {
            Some(v) => (Some(v.clone()), note),
            None => match resolve::rule_default(key) {
                Some(kind) => (
                    Some(node(kind)),
                    Some(note.map_or("default".to_owned(), |n| format!("default; {n}"))),
                ),
                None => (None, Some(note.unwrap_or_else(|| "not set in the base".to_owned()))),
            },
        };
        let lines = match &value {
            Some(v) => yaml_write::entry(key, v),
            None => vec![format!("{key}:")],
        };
        for (i, line) in lines.iter().enumerate() {
            out.push_str("# ");
            out.push_str(line);
            if let (0, Some(n)) = (i, &note) {
                out.push_str("  # ");
                out.push_str(n);
            }
            out.push('\n');
        }
    }
    let tests = base.rule().map_or(0, |r| resolve::tests(r).len());
    let _ = match tests {
        0 => writeln!(
            out,
            "# Tests: `{base_id}` has none; add a `Tests` list to test this detection."
        ),
        n => writeln!(
            out,
            "# Tests: the {n} test{} of `{base_id}` {} inherited; a `Tests` list here replaces them.",
            plural(n),
            if n == 1 { "is" } else { "are" }
        ),
    };
    out
}

/// What a value of `key` looks like, for the comments of a file whose base
/// values are unknown.
fn value_hint(key: &str) -> &'static str {
    match key {
        "DedupPeriodMinutes" => "minutes",
        "Threshold" => "matches needed for an alert",
        "Reports" => "a mapping of framework to IDs",
        "InlineFilters" => "a list of match expressions",
        "DynamicSeverities" => "a list of {ChangeTo, Conditions}",
        "AlertContext" => "a list of {KeyName, KeyValue}",
        "GroupBy" => "a list of key specifiers",
        _ => match value_kind(key) {
            Some(ValueKind::Bool) => "true or false",
            Some(ValueKind::Level) => "Info, Low, Medium, High or Critical",
            Some(ValueKind::Int) => "an integer",
            Some(ValueKind::TextList) => "a list of strings",
            Some(ValueKind::Mapping) => "a mapping",
            Some(ValueKind::List) => "a list",
            Some(ValueKind::Text) | None => "text",
        },
    }
}

/// The text of a derived file whose base is on the Panther instance: the
/// instance returns only the base's Python body and tests, so the
/// overridable keys are listed without the base's values.
pub fn generate_remote(
    new_id: &str,
    base_id: &str,
    remote: &RemoteBase,
    sets: &[(&'static str, Node)],
    functions: &[&str],
) -> String {
    let lines = remote.python_body.lines().count();
    let tests = remote.tests.len();
    let mut out = head(new_id, base_id, sets);
    out.push('\n');
    out.push_str(&comment(&format!(
        "The base `{base_id}` is on the Panther instance, not in this repository: \
         a Python rule ({lines} line{}) with {tests} test{}, which `detect` cannot run. \
         The instance returns only its Python body and tests, so the overridable keys \
         below are listed without the base's values. Uncomment a key and give it a value \
         to override it: the value here replaces the base's whole (lists and filters are \
         not merged). The logic always comes from the base.",
        plural(lines),
        plural(tests),
    )));
    for key in commented_keys(sets) {
        let mut note = value_hint(key).to_owned();
        if let Some(n) = function_note(key, functions) {
            note = format!("{note}; {n}");
        }
        let _ = writeln!(out, "# {key}:  # {note}");
    }
    out.push_str(&comment(&match tests {
        0 => format!("Tests: `{base_id}` has none on the instance; add a `Tests` list to test this detection."),
        n => format!(
            "Tests: the {n} test{} of `{base_id}` on the instance {} inherited (`detect` cannot \
             run them); a `Tests` list here replaces them.",
            plural(n),
            if n == 1 { "is" } else { "are" }
        ),
    }));
    out
}

/// `text` as `# ` comment lines of at most 72 characters (a longer word
/// keeps its own line).
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 72 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;
    use crate::load::load_file;
    use crate::source::FileId;

    #[test]
    fn set_values_are_typed_by_key() {
        let kind = |s: &str| parse_set(s).map(|(_, n)| n.kind);
        assert_eq!(kind("Severity=critical").unwrap(), NodeKind::Str("Critical".into()));
        assert_eq!(kind("Enabled=False").unwrap(), NodeKind::Bool(false));
        assert_eq!(kind("Threshold=5").unwrap(), NodeKind::Int(5));
        assert_eq!(kind("DisplayName=true").unwrap(), NodeKind::Str("true".into()));
        assert!(matches!(kind("Tags=a, b,").unwrap(), NodeKind::Seq(v) if v.len() == 2));
        assert!(matches!(kind("Tags=").unwrap(), NodeKind::Seq(v) if v.is_empty()));
        assert!(matches!(kind("OutputIds=[x, 'y,z']").unwrap(), NodeKind::Seq(v) if v.len() == 2));
        assert!(matches!(kind("InlineFilters=").unwrap(), NodeKind::Seq(v) if v.is_empty()));
        assert!(matches!(kind("GroupBy=[{Key: user}]").unwrap(), NodeKind::Seq(v) if v.len() == 1));
        assert!(matches!(
            kind("Reports={MITRE ATT&CK: [TA0001]}").unwrap(),
            NodeKind::Map(_)
        ));
    }

    #[test]
    fn set_rejects_keys_and_values_it_cannot_type() {
        for bad in [
            "Severity=Urgent",
            "Enabled=yes",
            "Threshold=ten",
            "GroupBy=user",
            "Reports=[a]",
            "Tags=[1]",
            "LogTypes=A",
            "Tests=[]",
            "Serverity=High",
            "RuleID=X",
            "Severity",
            "InlineFilters=[",
        ] {
            let e = parse_set(bad).unwrap_err();
            assert_eq!(e.exit_code(), exit::USAGE, "{bad}");
        }
        let e = parse_set("Serverity=High").unwrap_err().to_string();
        assert!(e.contains("did you mean `Severity`"), "{e}");
    }

    #[test]
    fn a_remote_base_gives_keys_without_values_and_a_clean_file() {
        let remote = RemoteBase {
            python_body: "def rule(event):\n    return True\n\ndef severity(event):\n    return 'LOW'\n".to_owned(),
            tests: vec![crate::panther_api::RemoteTest {
                name: "Hit".to_owned(),
                expected_result: true,
                log: serde_json::Value::Null,
            }],
        };
        let sets = vec![parse_set("Tags=a,b").unwrap()];
        let functions = resolve::alert_functions(&remote.python_body);
        let text = generate_remote("New.Id", "Remote.Base", &remote, &sets, &functions);
        assert!(
            text.starts_with(
                "AnalysisType: rule\nRuleID: New.Id\nBaseDetection: Remote.Base\nEnabled: true\nTags:\n  - a\n  - b\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n# Severity:  # Info, Low, Medium, High or Critical; no effect: the base's severity() decides\n"
            ),
            "{text}"
        );
        assert!(text.contains("a Python rule (5 lines) with 1 test, which"), "{text}");
        assert!(!text.contains("# Tags:"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        let loaded = load_file(FileId(0), Some(&text), crate::load::LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert!(loaded.analysis.is_some());
    }

    #[test]
    fn a_local_base_gives_the_set_keys_then_the_others_commented_with_its_values() {
        let base_text = include_str!("../fixtures/derived/rules/login/login_failed.yml");
        let base = load_file(FileId(0), Some(base_text), crate::load::LoadOptions::default());
        let Some(base) = base.analysis else {
            panic!("the fixture loads");
        };
        // Given out of order: the file follows the order of OVERRIDABLE.
        let sets = vec![parse_set("Threshold=10").unwrap(), parse_set("Severity=high").unwrap()];
        let text = generate("Derived.Login.Failed.Team", &base, &sets, &[]);
        assert!(
            text.starts_with(
                "AnalysisType: rule\nRuleID: Derived.Login.Failed.Team\nBaseDetection: Derived.Login.Failed\n\
                 Enabled: true\nSeverity: High\nThreshold: 10\n\n# Overridable keys,"
            ),
            "{text}"
        );
        // The base's values, as written there.
        assert!(
            text.contains("\n# Description: A login to the identity provider failed.\n"),
            "{text}"
        );
        assert!(
            text.contains("\n# Tags:\n#   - Identity\n#   - Initial Access\n"),
            "{text}"
        );
        assert!(text.contains("\n# DedupPeriodMinutes: 60\n"), "{text}");
        // Not in the base: the default, marked so.
        assert!(text.contains("\n# Reference: \"\"  # default\n"), "{text}");
        // Set keys and `Enabled` are not repeated as comments.
        for key in ["Enabled", "Severity", "Threshold"] {
            assert!(!text.contains(&format!("# {key}:")), "{key}: {text}");
        }
        assert!(
            text.ends_with(
                "# Tests: the 4 tests of `Derived.Login.Failed` are inherited; a `Tests` list here replaces them.\n"
            ),
            "{text}"
        );
        let loaded = load_file(FileId(0), Some(&text), crate::load::LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    }

    #[test]
    fn alert_functions_of_the_base_are_noted_on_the_keys_they_decide() {
        assert_eq!(
            function_note("Runbook", &["runbook"]).as_deref(),
            Some("no effect: the base's runbook() decides")
        );
        assert_eq!(
            function_note("AlertTitle", &["title"]).as_deref(),
            Some("replaces the base's title()")
        );
        assert_eq!(function_note("Runbook", &["title"]), None);
    }

    #[test]
    fn comments_wrap_at_72_columns() {
        let text = comment(&"word ".repeat(40));
        assert!(text.lines().all(|l| l.starts_with("# ") && l.len() <= 72), "{text}");
        assert_eq!(text.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert_eq!(comment("a-very-long-word"), "# a-very-long-word\n");
    }

    #[test]
    fn file_names_follow_the_id() {
        assert_eq!(file_name("AWS.Root.Login.Derived"), "AWS.Root.Login.Derived.yml");
        assert_eq!(file_name("a/b c"), "a_b_c.yml");
    }
}
