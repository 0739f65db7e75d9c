//! Base detections that are not in the repository, looked up on the
//! Panther instance (upload-protocol §4.8) for `test --remote-bases`,
//! `validate --remote`, `show --remote` and `derive --remote`.
//!
//! A fetched base is a Python body with its tests: `detect` cannot run
//! it, so a derived detection of such a base is skipped with the reason
//! `remote python base`. A lookup that fails, or finds nothing, is the
//! warning `remote-base-lookup` on the derived detection's `BaseDetection`
//! and leaves the reason `unknown base`.

use std::collections::{BTreeMap, HashSet};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Analysis;
use crate::panther_api::{ApiError, Client, RemoteBase};
use crate::resolve::{Base, Index};
use crate::source::FileId;

/// What the instance said about one base ID.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The base exists on the instance.
    Found(RemoteBase),
    /// The instance has no detection with this ID.
    NotFound,
    /// The lookup failed (the message is safe to print: no token).
    Failed(String),
}

impl Lookup {
    /// The fetched base, if any.
    pub fn found(&self) -> Option<&RemoteBase> {
        match self {
            Lookup::Found(b) => Some(b),
            _ => None,
        }
    }
}

/// Looks up each ID once, in order. After an authentication failure the
/// remaining IDs are not asked for (the token will not work for them
/// either); they get the same failure.
pub fn fetch<'a>(client: &Client, ids: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Lookup> {
    let mut out = BTreeMap::new();
    let mut auth: Option<String> = None;
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        let result = match &auth {
            Some(message) => Lookup::Failed(message.clone()),
            None => match client.rule_body(id) {
                Ok(Some(b)) => Lookup::Found(b),
                Ok(None) => Lookup::NotFound,
                Err(e @ ApiError::Auth { .. }) => {
                    let message = e.to_string();
                    auth = Some(message.clone());
                    Lookup::Failed(message)
                }
                Err(e) => Lookup::Failed(e.to_string()),
            },
        };
        out.insert(id.to_owned(), result);
    }
    out
}

/// The `BaseDetection` values of `derived` whose base is not among the
/// loaded files, in order, each once.
pub fn missing<'a>(derived: impl IntoIterator<Item = &'a Analysis>, index: &Index<'_>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for a in derived {
        let Some(b) = a.rule().and_then(|r| r.base_detection.as_ref()) else {
            continue;
        };
        if b.value.is_empty() || !matches!(index.base(&b.value), Base::NotLocal) {
            continue;
        }
        if !ids.contains(&b.value) {
            ids.push(b.value.clone());
        }
    }
    ids
}

/// The warning for a derived detection whose base lookup did not find a
/// usable base; `None` when the base was found.
pub fn diagnostic(a: &Analysis, lookup: &Lookup) -> Option<Diagnostic> {
    let b = a.rule()?.base_detection.as_ref()?;
    let message = match lookup {
        Lookup::Found(_) => return None,
        Lookup::NotFound => format!(
            "base detection `{}` is neither in the repository nor on the Panther instance",
            b.value
        ),
        Lookup::Failed(e) => format!(
            "could not look up base detection `{}` on the Panther instance: {e}",
            b.value
        ),
    };
    Some(
        Diagnostic::new(Code::RemoteBaseLookup, a.file, b.span, message)
            .with_help("check the ID, or add the base detection to the repository"),
    )
}

/// What the instance said about the bases of some derived detections.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Each base ID looked up.
    pub lookups: BTreeMap<String, Lookup>,
    /// `remote-base-lookup` warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Derived detections whose base was found on the instance.
    pub found_for: HashSet<FileId>,
}

impl Resolved {
    /// Updates a run's diagnostics: a base found on the instance is not
    /// unknown any more (its `unknown-base-detection` goes), a failed
    /// lookup adds its warning.
    pub fn apply_to(self, diagnostics: &mut Vec<Diagnostic>) {
        if !self.found_for.is_empty() {
            diagnostics.retain(|d| {
                d.code != Code::UnknownBaseDetection || d.file().is_none_or(|f| !self.found_for.contains(&f))
            });
        }
        diagnostics.extend(self.diagnostics);
    }
}

/// Looks up, on the instance, the bases of `derived` that are not among
/// the loaded files (each base once), and says what it found for each
/// derived detection. No request when every base is local.
pub fn resolve(client: &Client, derived: &[&Analysis], index: &Index<'_>) -> Resolved {
    let ids = missing(derived.iter().copied(), index);
    if ids.is_empty() {
        return Resolved::default();
    }
    let lookups = fetch(client, ids.iter().map(String::as_str));
    let mut out = Resolved::default();
    for a in derived {
        let Some(lookup) = a
            .rule()
            .and_then(|r| r.base_detection.as_ref())
            .and_then(|b| lookups.get(&b.value))
        else {
            continue;
        };
        match diagnostic(a, lookup) {
            Some(d) => out.diagnostics.push(d),
            None => {
                out.found_for.insert(a.file);
            }
        }
    }
    out.lookups = lookups;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};

    #[test]
    fn missing_lists_each_unknown_base_once() {
        let texts = [
            "AnalysisType: rule\nRuleID: A\nBaseDetection: Remote.One\nEnabled: true\n",
            "AnalysisType: rule\nRuleID: B\nBaseDetection: Remote.One\nEnabled: true\n",
            "AnalysisType: rule\nRuleID: C\nBaseDetection: Local\nEnabled: true\n",
            "AnalysisType: rule\nRuleID: Local\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nDetection:\n  - Key: a\n    Condition: Exists\n",
        ];
        let loaded = texts
            .iter()
            .enumerate()
            .filter_map(|(i, t)| load_file(FileId(i as u32), Some(t), LoadOptions::default()).analysis)
            .collect();
        let fixture = crate::resolve::Fixture::new(loaded, HashSet::new());
        let index = fixture.index();
        let loaded: Vec<&Analysis> = index.analyses().collect();
        assert_eq!(missing(loaded.iter().copied(), &index), vec!["Remote.One".to_owned()]);
        let d = diagnostic(loaded[0], &Lookup::NotFound).map(|d| d.code);
        assert_eq!(d, Some(Code::RemoteBaseLookup));
        let found = Lookup::Found(RemoteBase {
            python_body: String::new(),
            tests: Vec::new(),
        });
        assert!(diagnostic(loaded[0], &found).is_none());
    }
}
