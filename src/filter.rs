//! `--filter KEY=VALUE` / `KEY!=VALUE` (cli-and-settings §4.10).
//!
//! PAT's syntax and meaning, with the three fixes the spec decides: repeated
//! flags with the same key are ANDed (PAT keeps the last; a warning says
//! so), any top-level key of any analysis type is a valid key, and numbers
//! and booleans compare by value. String comparison ignores case.

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::yaml::{Node, NodeKind};

/// Top-level keys of every analysis type, accepted as filter keys.
pub const FILTER_KEYS: &[&str] = &[
    "ActionDelaySeconds",
    "AlertContext",
    "AlertTitle",
    "AnalysisType",
    "AthenaQuery",
    "AutoRemediationID",
    "AutoRemediationParameters",
    "BaseDetection",
    "BaseVersion",
    "CreateAlert",
    "CreatedBy",
    "DataModelID",
    "DatabricksQuery",
    "DedupPeriodMinutes",
    "Description",
    "Detection",
    "DisplayName",
    "DynamicSeverities",
    "Enabled",
    "Filename",
    "GlobalID",
    "GroupBy",
    "InlineFilters",
    "Lookback",
    "LogTypes",
    "LookupName",
    "Mappings",
    "OnlyUseBaseRiskScore",
    "OutputIds",
    "PackDefinition",
    "PackID",
    "PolicyID",
    "PromptName",
    "Query",
    "QueryName",
    "Reference",
    "Reports",
    "ResourceTypes",
    "RuleID",
    "Runbook",
    "Schedule",
    "ScheduledQueries",
    "Severity",
    "SnowflakeQuery",
    "Status",
    "SummaryAttributes",
    "Suppressions",
    "Tags",
    "Tests",
    "Threshold",
];

/// One parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The key.
    pub key: String,
    /// `!=` rather than `=`.
    pub negate: bool,
    /// Alternatives (OR); `""` matches a missing field.
    pub values: Vec<String>,
}

/// Parses filter strings.
///
/// # Errors
/// Malformed text, an unknown key, or a bad `Enabled` value (usage errors).
pub fn parse(raw: &[String], warnings: &mut Vec<Diagnostic>) -> Result<Vec<Filter>> {
    let mut out: Vec<Filter> = Vec::new();
    for r in raw {
        let (key, negate, value) = match r.split_once("!=") {
            Some((k, v)) => (k, true, v),
            None => match r.split_once('=') {
                Some((k, v)) => (k, false, v),
                None => {
                    return Err(Error::Usage(format!(
                        "filter `{r}` is not in the form KEY=VALUE or KEY!=VALUE"
                    )));
                }
            },
        };
        if key.is_empty() || value.is_empty() || value.contains('=') {
            return Err(Error::Usage(format!(
                "filter `{r}` is not in the form KEY=VALUE or KEY!=VALUE"
            )));
        }
        if !FILTER_KEYS.contains(&key) {
            let hint = did_you_mean(key, FILTER_KEYS.iter().copied())
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            return Err(Error::Usage(format!("`{key}` is not a valid filter key{hint}")));
        }
        let values: Vec<String> = value.split(',').map(str::to_owned).collect();
        if key == "Enabled" {
            for v in values.iter().filter(|v| !v.is_empty()) {
                if parse_bool(v).is_none() {
                    return Err(Error::Usage(format!(
                        "filter key Enabled takes true or false, found `{v}`"
                    )));
                }
            }
        }
        if out.iter().any(|f| f.key == key && f.negate == negate) {
            warnings.push(Diagnostic::global(
                Code::PatIgnoresSetting,
                format!("filters on `{key}` are combined with AND; PAT keeps only the last one (write `{key}=a,b` for either)"),
            ));
        }
        out.push(Filter {
            key: key.to_owned(),
            negate,
            values,
        });
    }
    Ok(out)
}

/// The one truthy rule: the boolean words of `--filter` values and of
/// environment variables (`settings::layer`), case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn value_matches(v: &Node, alt: &str, key: &str) -> bool {
    match &v.kind {
        NodeKind::Str(s) => s.to_lowercase() == alt.to_lowercase(),
        NodeKind::Bool(b) => {
            if key == "Enabled" {
                parse_bool(alt) == Some(*b)
            } else {
                alt.eq_ignore_ascii_case(if *b { "true" } else { "false" })
            }
        }
        NodeKind::Int(i) => alt.parse::<f64>().is_ok_and(|a| a == *i as f64),
        NodeKind::Float(f) => alt.parse::<f64>().is_ok_and(|a| a == *f),
        NodeKind::Null => alt.is_empty(),
        NodeKind::Seq(items) => items.iter().any(|i| value_matches(i, alt, key)),
        NodeKind::Map(_) => false,
    }
}

impl Filter {
    /// Whether an analysis (its root mapping, effective values already
    /// applied) passes this filter.
    pub fn matches(&self, root: &Node) -> bool {
        let hit = match root.get(&self.key) {
            Some(v) => self.values.iter().any(|alt| value_matches(v, alt, &self.key)),
            None => self.values.iter().any(String::is_empty),
        };
        hit != self.negate
    }
}

/// Whether an analysis passes every filter.
pub fn matches_all(filters: &[Filter], root: &Node) -> bool {
    filters.iter().all(|f| f.matches(root))
}

/// Statuses never bundled (cli-and-settings §4.10).
const HIDDEN_STATUSES: &[&str] = &["experimental", "deprecated"];

/// Adds PAT's implicit `Status!=experimental,deprecated` filter of
/// `upload`, `zip` and `validate --remote` (cli-and-settings §4.10): a
/// positive user `Status=` filter loses those two values, a negative one
/// gains them, and without a negative one the filter is added.
pub fn with_status_filter(mut filters: Vec<Filter>) -> Vec<Filter> {
    let hidden = |v: &str| HIDDEN_STATUSES.iter().any(|h| h.eq_ignore_ascii_case(v));
    let mut extended = false;
    for f in filters.iter_mut().filter(|f| f.key == "Status") {
        if f.negate {
            for h in HIDDEN_STATUSES {
                if !f.values.iter().any(|v| v.eq_ignore_ascii_case(h)) {
                    f.values.push((*h).to_owned());
                }
            }
            extended = true;
        } else {
            // Left with no alternative, the filter matches nothing, as in PAT.
            f.values.retain(|v| !hidden(v));
        }
    }
    if !extended {
        filters.push(Filter {
            key: "Status".to_owned(),
            negate: true,
            values: HIDDEN_STATUSES.iter().map(|h| (*h).to_owned()).collect(),
        });
    }
    filters
}

/// Files under `*/global_helpers` or `*data_models*` bypass filters.
pub fn bypasses(rel_path: &str) -> bool {
    let dir = rel_path.rsplit_once('/').map_or("", |(d, _)| d);
    let walk = format!("./{dir}");
    walk.contains("/global_helpers") || walk.contains("data_models")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(t: &str) -> Node {
        crate::yaml::parse(t).unwrap().root.unwrap()
    }

    fn f(s: &str) -> Vec<Filter> {
        parse(&[s.to_owned()], &mut Vec::new()).unwrap()
    }

    #[test]
    fn parses_and_matches() {
        let r = root("Severity: High\nEnabled: true\nTags: [AWS, Okta]\nThreshold: 5\n");
        assert!(matches_all(&f("Severity=high"), &r));
        assert!(!matches_all(&f("Severity!=High,Low"), &r));
        assert!(matches_all(&f("Enabled=yes"), &r));
        assert!(matches_all(&f("Tags=okta"), &r));
        assert!(matches_all(&f("Threshold=5"), &r));
        assert!(matches_all(&f("DisplayName=x,"), &r));
        assert!(!matches_all(&f("DisplayName=x"), &r));
    }

    #[test]
    fn rejects_bad_filters() {
        let mut w = Vec::new();
        assert!(parse(&["Tags=".into()], &mut w).is_err());
        assert!(
            parse(&["Sevrity=High".into()], &mut w)
                .unwrap_err()
                .to_string()
                .contains("did you mean `Severity`")
        );
        assert!(parse(&["Enabled=maybe".into()], &mut w).is_err());
        assert!(parse(&["RuleID".into()], &mut w).is_err());
        parse(&["RuleID=A".into(), "RuleID=B".into()], &mut w).unwrap();
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn status_filter_is_implicit() {
        let exp = root("Status: Experimental\n");
        let plain = root("Severity: High\n");
        let stable = root("Status: stable\n");
        let fs = with_status_filter(Vec::new());
        assert!(!matches_all(&fs, &exp));
        assert!(matches_all(&fs, &plain));
        let fs = with_status_filter(f("Status=experimental,stable"));
        assert!(!matches_all(&fs, &exp));
        assert!(matches_all(&fs, &stable));
        let fs = with_status_filter(f("Status!=stable"));
        assert_eq!(fs.len(), 1);
        assert!(!matches_all(&fs, &exp));
        assert!(!matches_all(&fs, &stable));
        assert!(matches_all(&fs, &plain));
        let fs = with_status_filter(f("Status=deprecated"));
        assert!(!matches_all(&fs, &stable));
    }

    #[test]
    fn helpers_bypass() {
        assert!(bypasses("global_helpers/x.yml"));
        assert!(bypasses("data_models/aws/x.yml"));
        assert!(!bypasses("rules/x.yml"));
    }
}
