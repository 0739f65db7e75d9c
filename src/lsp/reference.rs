//! The hover texts: one table of what each detection key means, and the
//! condition, key-specifier and combinator texts read from the format
//! reference `docs/match-expressions.md` (compiled in), so the page and the
//! editor say the same thing.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::OnceLock;

use crate::model::expr::{Condition, Semantics};

/// The format reference the condition texts come from.
const MATCH_EXPRESSIONS: &str = include_str!("../../docs/match-expressions.md");

/// What each key of an analysis file means (one line; the format pages in
/// `docs/` say more).
pub const KEYS: &[(&str, &str)] = &[
    (
        "AnalysisType",
        "The kind of item: `rule`, `scheduled_rule`, `correlation_rule`, `policy`, `global`, `datamodel`, `pack`, `scheduled_query`, `saved_query`, `lookup_table` or `scheduled_prompt`.",
    ),
    (
        "RuleID",
        "The detection's unique ID; other files refer to it (`BaseDetection`, correlation `RuleID`, pack `IDs`).",
    ),
    ("PolicyID", "The policy's unique ID."),
    ("GlobalID", "The global helper's unique ID."),
    ("DataModelID", "The data model's unique ID."),
    ("PackID", "The pack's unique ID."),
    ("QueryName", "The query's unique name."),
    ("Enabled", "Whether the detection runs on Panther (`true`/`false`)."),
    ("LogTypes", "The log types the rule reads (`AWS.CloudTrail`, …)."),
    (
        "ScheduledQueries",
        "The scheduled queries whose results a scheduled rule reads.",
    ),
    (
        "Severity",
        "Alert severity: `Info`, `Low`, `Medium`, `High` or `Critical`.",
    ),
    ("DisplayName", "The name shown in Panther and the fallback alert title."),
    ("Description", "What the detection finds."),
    ("Runbook", "What to do with an alert."),
    ("Reference", "A link with background on the behaviour detected."),
    ("Tags", "Free-form labels (`--filter Tags=…` selects by them)."),
    (
        "Reports",
        "Framework mappings: a mapping of framework name to a list of entries.",
    ),
    ("SummaryAttributes", "Event fields summarised on the alert."),
    ("OutputIds", "Destinations alerts go to, overriding severity routing."),
    (
        "CreateAlert",
        "Whether a match creates an alert (`false`: only a signal, e.g. for correlation rules).",
    ),
    (
        "DedupPeriodMinutes",
        "How long matches with the same dedup string join one alert (minutes).",
    ),
    ("Threshold", "How many matches within the dedup period make an alert."),
    ("OnlyUseBaseRiskScore", "Use the base risk score only."),
    (
        "Detection",
        "The Simple Detection logic: a list of match expressions, all of which must hold (see docs/match-expressions.md).",
    ),
    (
        "InlineFilters",
        "Expressions that must hold before `Detection` runs (streaming rules only).",
    ),
    (
        "DynamicSeverities",
        "Entries of `ChangeTo` + `Conditions`: the first whose conditions hold sets the alert severity.",
    ),
    (
        "AlertTitle",
        "The alert title, with `{KeyPath}` placeholders filled from the event.",
    ),
    ("AlertContext", "Items of `KeyName` + `KeyValue` added to the alert."),
    (
        "GroupBy",
        "Key specifiers whose values, joined with `:`, make the dedup string.",
    ),
    (
        "Tests",
        "Unit tests: `Name`, `ExpectedResult` and the `Log` event (`detect test` runs them).",
    ),
    (
        "Filename",
        "The Python file of a Python detection or helper, relative to this file.",
    ),
    (
        "BaseDetection",
        "The RuleID of the rule this derived detection inherits from (see docs/derived.md).",
    ),
    ("BaseVersion", "The version of the base this file was written against."),
    ("Status", "Lifecycle status of the detection."),
    ("CreatedBy", "Who created the detection."),
    (
        "PackDefinition",
        "The pack's content: `IDs`, the detections and helpers it holds.",
    ),
    ("IDs", "The IDs of the items a pack holds."),
    (
        "Mappings",
        "A data model's field mappings (`Name` with `Path` or `Method`).",
    ),
    (
        "Condition",
        "The comparison of a match expression (`Equals`, `IsIn`, …; see docs/match-expressions.md).",
    ),
    ("Value", "The comparand of a match expression's `Condition`."),
    (
        "Values",
        "The list of comparands (`IsIn`), or two key specifiers (multi-key).",
    ),
    (
        "Expressions",
        "The expressions a list comprehension runs on each element.",
    ),
    ("Conditions", "The expressions of a `DynamicSeverities` entry."),
    (
        "ChangeTo",
        "The severity a `DynamicSeverities` entry sets (`DEFAULT`: the static `Severity`).",
    ),
    ("KeyName", "The name of an `AlertContext` item."),
    (
        "KeyValue",
        "The key specifier whose value an `AlertContext` item holds.",
    ),
    ("Name", "The name of a unit test."),
    ("ExpectedResult", "Whether the detection should match the test's event."),
    ("Log", "The event of a unit test."),
    ("Mocks", "Mocked Python functions of a test (Python detections only)."),
    ("Query", "The SQL of a query."),
    (
        "Schedule",
        "When a scheduled query runs (`RateMinutes` or `CronExpression`, `TimeoutMinutes`).",
    ),
];

/// The text of a key, from [`KEYS`] then the reference page (key
/// specifiers, combinators).
pub fn key(name: &str) -> Option<String> {
    KEYS.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, t)| (*t).to_owned())
        .or_else(|| page().get(name).cloned())
}

/// The text of a condition: its row of the reference page (a negated
/// condition: that of its positive form), and whether `InlineFilters`
/// allow it.
pub fn condition(name: &str) -> Option<String> {
    let (c, deprecated) = Condition::parse(name)?;
    let mut text = String::new();
    if deprecated {
        let _ = write!(text, "Deprecated: use `{}`.\n\n", c.name());
    }
    let own = page().get(c.name());
    match (own, c.semantics()) {
        (Some(t), _) => text.push_str(t),
        (None, Semantics::Test(base, true)) => {
            let positive = Condition::ALL
                .iter()
                .find(|p| p.semantics() == Semantics::Test(base, false))
                .map_or("", |p| p.name());
            let _ = write!(
                text,
                "`not` of `{positive}` (so `true` on absent or `null` values). `{positive}`: {}",
                page().get(positive).map_or("", String::as_str)
            );
        }
        (None, _) => {}
    }
    text.push_str(if c.allowed_in_filters() {
        "\n\nAllowed in `InlineFilters`."
    } else {
        "\n\nNot allowed in `InlineFilters`."
    });
    Some(text)
}

/// Name → text, from the tables and the bullets of the reference page.
fn page() -> &'static HashMap<String, String> {
    static PAGE: OnceLock<HashMap<String, String>> = OnceLock::new();
    PAGE.get_or_init(|| parse(MATCH_EXPRESSIONS))
}

/// Table rows `| `A`, `B` | text |` give `A` and `B` the text; bullets
/// `- head: text` give each identifier quoted in the head the bullet.
fn parse(md: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in md.lines() {
        if let Some(row) = line.strip_prefix("| ") {
            let mut cells = row.split(" | ");
            let (Some(names), Some(text)) = (cells.next(), cells.next()) else {
                continue;
            };
            let text = text.trim_end_matches(" |").trim();
            for name in quoted(names) {
                // `Key: a.b` names `Key`.
                let name = name.split(':').next().unwrap_or(name);
                if is_ident(name) {
                    out.entry(name.to_owned()).or_insert_with(|| text.to_owned());
                }
            }
        } else if let Some(bullet) = line.strip_prefix("- ") {
            let Some((head, _)) = split_outside_ticks(bullet) else {
                continue;
            };
            for name in quoted(head).filter(|n| is_ident(n)) {
                out.entry(name.to_owned()).or_insert_with(|| bullet.to_owned());
            }
        }
    }
    out
}

/// The texts between backticks.
fn quoted(s: &str) -> impl Iterator<Item = &str> {
    s.split('`').skip(1).step_by(2)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Splits at the first `: ` that is not inside backticks.
fn split_outside_ticks(s: &str) -> Option<(&str, &str)> {
    let mut inside = false;
    for (i, c) in s.char_indices() {
        match c {
            '`' => inside = !inside,
            ':' if !inside && s[i + 1..].starts_with(' ') => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_condition_has_a_text_from_the_page() {
        for c in Condition::ALL {
            let t = condition(c.name()).unwrap_or_default();
            // More than the InlineFilters line.
            assert!(t.len() > 40, "{}: {t}", c.name());
        }
        let eq = condition("Equals").unwrap_or_default();
        assert!(eq.starts_with("JSON equality"), "{eq}");
        let ne = condition("DoesNotEqual").unwrap_or_default();
        assert!(ne.starts_with("`not` of `Equals`"), "{ne}");
        assert!(
            condition("Has")
                .unwrap_or_default()
                .starts_with("Deprecated: use `Contains`")
        );
        assert_eq!(condition("Nope"), None);
    }

    #[test]
    fn specifiers_and_combinators_come_from_the_page() {
        assert!(key("KeyPath").unwrap_or_default().contains("[*]"));
        assert!(key("Any").unwrap_or_default().contains("every / some"));
        assert!(key("Severity").unwrap_or_default().contains("Critical"));
    }
}
