//! Alert-field precedence (derived-detections §4).

use super::fields::Source;
use crate::yaml::Node;

/// Python alert functions a base may define (derived-detections §4,
/// simple-detections §14.1), as they are spelt in Python.
pub const ALERT_FUNCTIONS: &[&str] = &[
    "title",
    "dedup",
    "severity",
    "alert_context",
    "description",
    "reference",
    "runbook",
    "destinations",
];

/// The alert functions a Python file defines at top level: a line starting
/// with `def <name>(` at column 0 (derived-detections §4, decision on
/// detecting Python alert functions; no Python is executed).
pub fn alert_functions(python: &str) -> Vec<&'static str> {
    ALERT_FUNCTIONS
        .iter()
        .copied()
        .filter(|name| {
            python.lines().any(|l| {
                l.strip_prefix("def ")
                    .and_then(|r| r.strip_prefix(name))
                    .is_some_and(|r| r.starts_with('('))
            })
        })
        .collect()
}

/// The alert fields of derived-detections §4's precedence table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertField {
    /// Alert severity.
    Severity,
    /// Alert title.
    Title,
    /// Deduplication string.
    Dedup,
    /// Alert context.
    AlertContext,
    /// Description.
    Description,
    /// Reference.
    Reference,
    /// Runbook.
    Runbook,
    /// Destinations.
    Destinations,
}

impl AlertField {
    /// Every field, in the order of the table.
    pub const ALL: &'static [AlertField] = &[
        AlertField::Severity,
        AlertField::Title,
        AlertField::Dedup,
        AlertField::AlertContext,
        AlertField::Description,
        AlertField::Reference,
        AlertField::Runbook,
        AlertField::Destinations,
    ];

    /// A lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            AlertField::Severity => "severity",
            AlertField::Title => "title",
            AlertField::Dedup => "dedup",
            AlertField::AlertContext => "alert context",
            AlertField::Description => "description",
            AlertField::Reference => "reference",
            AlertField::Runbook => "runbook",
            AlertField::Destinations => "destinations",
        }
    }
}

/// One candidate in an alert field's precedence chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// A YAML key, from the detection's own file or its base.
    Key(&'static str, Source),
    /// A Python alert function, from the detection's own Python file or
    /// its base's.
    Function(&'static str, Source),
    /// The rendered alert title (a dedup step).
    Title,
    /// The fixed fallback: the `RuleID` of the detection (title),
    /// `defaultDedupString:<RuleID>` (dedup), `{}` (alert context), or the
    /// key's default.
    Default,
}

/// The precedence chain of one alert field (derived-detections §4): the
/// candidates in the order they are tried. The first one applies; a later
/// one is used only when an earlier one yields nothing: no
/// `DynamicSeverities` condition matches (or `ChangeTo: DEFAULT`), an
/// `AlertTitle` renders empty, a `GroupBy` renders empty (which goes
/// straight to [`Step::Default`], skipping the title).
///
/// `own` is the detection's root mapping; `base` the local base's root for
/// a derived detection (`None` otherwise); `functions` the alert functions
/// the Python file that holds the logic defines (the base's for a derived
/// detection, see [`alert_functions`]), tagged [`Source::Base`] when `base`
/// is given. Keys present in `own` count even with an empty value
/// (derived-detections §3 note 1).
///
/// Decision: the spec does not say which wins when a Python base both
/// defines an alert function and sets the matching dynamic key; the
/// function wins, since Python alert functions win over YAML values in
/// every row of the table.
pub fn alert_precedence(field: AlertField, own: &Node, base: Option<&Node>, functions: &[&str]) -> Vec<Step> {
    let logic = if base.is_some() { Source::Base } else { Source::Derived };
    let in_own = |k: &str| own.get(k).is_some();
    let in_base = |k: &str| base.is_some_and(|b| b.get(k).is_some());
    let function = |name: &'static str| functions.contains(&name).then_some(Step::Function(name, logic));
    // A static key: the derived value, else the base's.
    let stat = |k: &'static str| {
        if in_own(k) {
            Some(Step::Key(k, Source::Derived))
        } else if in_base(k) {
            Some(Step::Key(k, Source::Base))
        } else {
            None
        }
    };
    // A dynamic key with its Python function: derived key, else base
    // function, else base key.
    let dynamic = |k: &'static str, f: &'static str| {
        if in_own(k) && base.is_some() {
            Some(Step::Key(k, Source::Derived))
        } else {
            function(f).or_else(|| stat(k))
        }
    };
    let mut chain = Vec::new();
    match field {
        AlertField::Severity => {
            chain.extend(dynamic("DynamicSeverities", "severity"));
            chain.push(stat("Severity").unwrap_or(Step::Default));
        }
        AlertField::Title => {
            chain.extend(dynamic("AlertTitle", "title"));
            chain.extend(stat("DisplayName"));
            chain.push(Step::Default);
        }
        AlertField::Dedup => {
            // `GroupBy: []` counts as absent (simple-detections §9); in a
            // derived file it still replaces the base's `GroupBy`/`dedup()`.
            let empty = |node: Option<&Node>| node.and_then(Node::as_seq).is_some_and(<[Node]>::is_empty);
            let group_by = dynamic("GroupBy", "dedup").filter(|step| match step {
                Step::Key(k, Source::Derived) => !empty(own.get(k)),
                Step::Key(k, _) => !empty(base.and_then(|b| b.get(k))),
                _ => true,
            });
            match group_by {
                Some(step) => chain.push(step),
                None if dynamic("AlertTitle", "title").is_some() => chain.push(Step::Title),
                None => {}
            }
            chain.push(Step::Default);
        }
        AlertField::AlertContext => {
            chain.extend(dynamic("AlertContext", "alert_context"));
            chain.push(Step::Default);
        }
        AlertField::Description | AlertField::Reference | AlertField::Runbook | AlertField::Destinations => {
            let (key, func) = match field {
                AlertField::Description => ("Description", "description"),
                AlertField::Reference => ("Reference", "reference"),
                AlertField::Runbook => ("Runbook", "runbook"),
                _ => ("OutputIds", "destinations"),
            };
            chain.extend(function(func));
            chain.push(stat(key).unwrap_or(Step::Default));
        }
    }
    chain
}
