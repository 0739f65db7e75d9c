//! BaseDetection inheritance (derived-detections §3, §5).
//!
//! Finds the base of a derived detection among the loaded items and builds
//! the effective detection: every key of the base, with each overridable
//! key the derived file writes replacing the base's value whole. Logic keys
//! are always the base's. Tests are inherited when the derived file has no
//! `Tests` key at all.

use std::collections::HashMap;

use crate::model::{Analysis, AnalysisType, Rule, RuleTest};
use crate::source::{Pos, Span};
use crate::yaml::{Node, NodeKind};

pub use crate::load::rule::OVERRIDABLE;

/// Where a derived detection's base is.
#[derive(Debug, Clone, Copy)]
pub enum Base<'a> {
    /// Not among the loaded files.
    NotLocal,
    /// Loaded, but its file is invalid.
    Invalid(&'a Analysis),
    /// Loaded and usable.
    Local(&'a Analysis),
}

/// Finds items by ID: the first valid item of each ID, then the first
/// invalid one (so an invalid base is recognised as such).
pub struct Index<'a> {
    valid: HashMap<&'a str, &'a Analysis>,
    invalid: HashMap<&'a str, &'a Analysis>,
}

impl<'a> Index<'a> {
    /// Builds the index; `is_invalid` tells which items have errors.
    pub fn new(analyses: impl IntoIterator<Item = &'a Analysis>, is_invalid: impl Fn(&Analysis) -> bool) -> Self {
        let mut valid = HashMap::new();
        let mut invalid = HashMap::new();
        for a in analyses {
            let Some(id) = &a.id else { continue };
            let map = if is_invalid(a) { &mut invalid } else { &mut valid };
            map.entry(id.value.as_str()).or_insert(a);
        }
        Index { valid, invalid }
    }

    /// The base of a derived detection.
    pub fn base(&self, id: &str) -> Base<'a> {
        if let Some(a) = self.valid.get(id) {
            return Base::Local(a);
        }
        match self.invalid.get(id) {
            Some(a) => Base::Invalid(a),
            None => Base::NotLocal,
        }
    }

    /// A valid item by ID.
    pub fn get(&self, id: &str) -> Option<&'a Analysis> {
        self.valid.get(id).copied()
    }
}

/// Whether a loaded item can be a base: a plain rule, not derived.
pub fn is_valid_base_kind(a: &Analysis) -> bool {
    a.analysis_type.value == AnalysisType::Rule && a.rule().is_some_and(|r| !r.is_derived())
}

/// The effective detection of a derived detection (derived-detections §3),
/// with the RuleID of the base for inherited tests.
pub fn effective(base: &Rule, derived: &Rule, derived_root: &Node) -> (Rule, bool) {
    let has = |k: &str| derived_root.get(k).is_some();
    let mut e = base.clone();
    macro_rules! take {
        ($key:literal, $field:ident) => {
            if has($key) {
                e.$field = derived.$field.clone();
            }
        };
    }
    take!("Enabled", enabled);
    take!("Severity", severity);
    take!("DisplayName", display_name);
    take!("Tags", tags);
    take!("CreateAlert", create_alert);
    take!("DedupPeriodMinutes", dedup_period_minutes);
    take!("Threshold", threshold);
    take!("InlineFilters", inline_filters);
    take!("DynamicSeverities", dynamic_severities);
    take!("AlertTitle", alert_title);
    take!("AlertContext", alert_context);
    take!("GroupBy", group_by);
    take!("Status", status);
    let inherited = !has("Tests");
    e.tests = if inherited {
        base.tests.clone()
    } else {
        derived.tests.clone()
    };
    e.base_detection = derived.base_detection.clone();
    (e, inherited)
}

/// Tests of an effective rule, or none.
pub fn tests(rule: &Rule) -> &[RuleTest] {
    rule.tests.as_deref().unwrap_or(&[])
}

// ---------------------------------------------------------------------------
// Effective top-level fields (`detect show`, filters on effective values).
// ---------------------------------------------------------------------------

/// Where a top-level value of an effective detection comes from
/// (cli-and-settings §6.3, `detect show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Written in the detection's own file (also for detections that are
    /// not derived).
    Derived,
    /// Inherited from the base detection's file.
    Base,
    /// Neither file sets the key; the documented default applies.
    Default,
}

impl Source {
    /// The spelling used by `show`'s outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Derived => "derived",
            Source::Base => "base",
            Source::Default => "default",
        }
    }
}

/// One top-level key of an effective detection with its value and source.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The YAML key, as users write it.
    pub key: String,
    /// The value as written in the file it comes from (for a default: the
    /// default value).
    pub value: Node,
    /// Where the value comes from.
    pub source: Source,
}

/// Documented defaults of optional rule keys (simple-detections §4.1,
/// §4.3). Keys without a default (`DisplayName`, `AlertTitle`, `GroupBy`,
/// …) are simply absent when no file sets them.
pub const RULE_DEFAULTS: &[&str] = &[
    "Description",
    "Runbook",
    "Reference",
    "Tags",
    "Reports",
    "OnlyUseBaseRiskScore",
    "DedupPeriodMinutes",
    "Threshold",
    "CreateAlert",
    "OutputIds",
    "SummaryAttributes",
];

/// The default value of a key of [`RULE_DEFAULTS`].
pub fn rule_default(key: &str) -> Option<NodeKind> {
    Some(match key {
        "Description" | "Runbook" | "Reference" => NodeKind::Str(String::new()),
        "Tags" | "OutputIds" | "SummaryAttributes" => NodeKind::Seq(Vec::new()),
        "Reports" => NodeKind::Map(Vec::new()),
        "OnlyUseBaseRiskScore" => NodeKind::Bool(false),
        "CreateAlert" => NodeKind::Bool(true),
        "DedupPeriodMinutes" => NodeKind::Int(60),
        "Threshold" => NodeKind::Int(1),
        _ => return None,
    })
}

fn top_level(root: &Node) -> impl Iterator<Item = (String, &Node)> {
    root.as_map()
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| Some((k.key_text()?, v)))
}

/// The effective top-level fields of a loaded item, in a stable order, each
/// with its [`Source`] (derived-detections §3).
///
/// `base` is the local base of a derived detection; pass `None` for an item
/// that is not derived and for a derived detection whose base is not among
/// the loaded files (or is not a rule): its fields are then the ones its
/// file writes, without defaults, since the rest lives on the instance.
///
/// For a derived detection with a base, the fields follow the algorithm of
/// §3: every key of the base; `RuleID` and `BaseDetection` of the derived
/// file; every overridable key the derived file writes (even with an empty
/// value) replaces the base's whole; `Status` likewise; `AnalysisType` is
/// attributed to the derived file, which must write `rule` like its base.
/// `Detection` and keys the derived file may not set are ignored, and logic
/// keys are always the base's. The order is the base file's, with
/// `BaseDetection` right after `RuleID` and overrides the base lacks
/// appended in the derived file's order.
///
/// Rules and scheduled rules whose effective detection is complete then get
/// the defaults of [`RULE_DEFAULTS`] for keys no file sets, appended last.
pub fn effective_fields(item: &Analysis, base: Option<&Analysis>) -> Vec<Field> {
    let own = |(key, v): (String, &Node)| Field {
        key,
        value: v.clone(),
        source: Source::Derived,
    };
    let mut fields: Vec<Field> = match base {
        None => top_level(&item.root).map(own).collect(),
        Some(b) => {
            let mut fields: Vec<Field> = top_level(&b.root)
                .filter(|(k, _)| k != "BaseDetection")
                .map(|(key, v)| Field {
                    key,
                    value: v.clone(),
                    source: Source::Base,
                })
                .collect();
            let set = |fields: &mut Vec<Field>, key: &str, after: Option<&str>| {
                let Some(v) = item.root.get(key) else { return };
                let field = Field {
                    key: key.to_owned(),
                    value: v.clone(),
                    source: Source::Derived,
                };
                if let Some(f) = fields.iter_mut().find(|f| f.key == key) {
                    *f = field;
                } else {
                    let at = after
                        .and_then(|a| fields.iter().position(|f| f.key == a))
                        .map_or(fields.len(), |i| i + 1);
                    fields.insert(at, field);
                }
            };
            set(&mut fields, "AnalysisType", None);
            set(&mut fields, "RuleID", Some("AnalysisType"));
            set(&mut fields, "BaseDetection", Some("RuleID"));
            // Overrides in the derived file's order, so appended keys read
            // as they are written there.
            for (key, _) in top_level(&item.root) {
                if OVERRIDABLE.contains(&key.as_str()) || key == "Status" {
                    set(&mut fields, &key, None);
                }
            }
            fields
        }
    };
    let complete = base.is_some() || !item.rule().is_some_and(Rule::is_derived);
    let rule_like = matches!(
        item.analysis_type.value,
        AnalysisType::Rule | AnalysisType::ScheduledRule
    );
    if complete && rule_like {
        for key in RULE_DEFAULTS {
            if fields.iter().any(|f| f.key == *key) {
                continue;
            }
            if let Some(kind) = rule_default(key) {
                fields.push(Field {
                    key: (*key).to_owned(),
                    value: Node {
                        span: Span::default(),
                        kind,
                    },
                    source: Source::Default,
                });
            }
        }
    }
    fields
}

/// The effective detection as one YAML mapping, for code that reads top-level
/// keys (selection filters on effective values, derived-detections §7.3).
///
/// Defaults are left out: a filter sees the keys the files write (the
/// derived file's, else the base's), so `--filter CreateAlert=true` selects
/// the same detections that are not derived as it does in PAT.
pub fn effective_root(fields: &[Field]) -> Node {
    let entries = fields
        .iter()
        .filter(|f| f.source != Source::Default)
        .map(|f| {
            let key = Node {
                span: f.value.span,
                kind: NodeKind::Str(f.key.clone()),
            };
            (key, f.value.clone())
        })
        .collect();
    Node {
        span: Span::default(),
        kind: NodeKind::Map(entries),
    }
}

/// The local base whose values a derived detection's effective fields
/// merge with: a valid loaded base of a kind that can be a base. `None` for
/// an item that is not derived, and for a base that is not local, invalid
/// or not a plain rule (the item then shows its own values).
pub fn mergeable_base<'a>(a: &Analysis, index: &Index<'a>) -> Option<&'a Analysis> {
    let id = a.rule()?.base_detection.as_ref()?;
    match index.base(&id.value) {
        Base::Local(b) if is_valid_base_kind(b) => Some(b),
        _ => None,
    }
}

/// The root mapping selection filters see: the effective detection
/// (derived-detections §3, §7.3) without defaults.
pub fn selection_root(a: &Analysis, index: &Index<'_>) -> Node {
    effective_root(&effective_fields(a, mergeable_base(a, index)))
}

/// The one selection rule of every command (cli-and-settings §4.10):
/// files under `*/global_helpers` and `*data_models*` always pass; any
/// other item passes when every `--filter` matches its effective values, so
/// a derived detection is matched on what it inherits from a local base.
pub fn selects(filters: &[crate::filter::Filter], a: &Analysis, rel: &str, index: &Index<'_>) -> bool {
    filters.is_empty() || crate::filter::bypasses(rel) || crate::filter::matches_all(filters, &selection_root(a, index))
}

/// The selection of an upload, `zip` or `show`'s hypothetical upload
/// (derived-detections §7.2, §7.3): [`selects`], and on effective values
/// not experimental or deprecated ([`is_status_excluded`]). Files that
/// bypass filters are always selected.
pub fn selects_for_upload(filters: &[crate::filter::Filter], a: &Analysis, rel: &str, index: &Index<'_>) -> bool {
    if crate::filter::bypasses(rel) {
        return true;
    }
    let root = selection_root(a, index);
    crate::filter::matches_all(filters, &root) && !is_status_excluded(&root)
}

/// Whether a top-level `Status` keeps an item out of uploads and bundles
/// (`experimental` or `deprecated`, compared ignoring case, as PAT's
/// implicit `Status!=experimental,deprecated` filter does).
pub fn is_status_excluded(root: &Node) -> bool {
    root.get("Status")
        .and_then(Node::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("experimental") || s.eq_ignore_ascii_case("deprecated"))
}

// ---------------------------------------------------------------------------
// Alert-field precedence (derived-detections §4).
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Automatic base disabling (derived-detections §7, upload-protocol §7.3).
// ---------------------------------------------------------------------------

/// A base that automatic disabling concerns, with the derived detections
/// that cause it and those that inherit its `Enabled`.
#[derive(Debug, Clone)]
pub struct DisabledBase<'a> {
    /// The base detection.
    pub base: &'a Analysis,
    /// Whether the base already says `Enabled: false` (the edit changes
    /// nothing, but the base is still bundled).
    pub already_disabled: bool,
    /// The selected, effectively enabled derived detections that name it,
    /// in selection order.
    pub derived: Vec<&'a Analysis>,
    /// Every loaded derived detection of this base that writes no
    /// `Enabled` (selected or not): it inherits the base's value and stops
    /// running with it (derived-detections §7.4, `derived-inherits-disabled`).
    pub inheriting: Vec<&'a Analysis>,
}

/// A `BaseDetection` that automatic disabling cannot act on.
#[derive(Debug, Clone)]
pub struct MissingBase<'a> {
    /// The base's `RuleID`.
    pub id: String,
    /// The selected derived detections that name it.
    pub derived: Vec<&'a Analysis>,
}

/// What an upload (or `zip`) with automatic base disabling does
/// (derived-detections §7.2–§7.4, upload-protocol §7.3).
#[derive(Debug, Clone, Default)]
pub struct AutoDisable<'a> {
    /// Bases to put in the bundle with `Enabled: false`, even when the
    /// filters excluded them (§7.3), in the order their first derived
    /// detection appears in the selection. Apply [`disable_in_text`] to
    /// each base's file text for the bundle entry (and for the file on
    /// disk only with `--write-base-changes`).
    pub disable: Vec<DisabledBase<'a>>,
    /// Bases not among the loaded files: warning `derived-base-not-local`
    /// on each derived detection; their state on the instance is unchanged.
    pub not_local: Vec<MissingBase<'a>>,
    /// Local bases whose `Status` is experimental or deprecated: not
    /// bundled, warning `derived-base-not-uploaded`.
    pub excluded: Vec<DisabledBase<'a>>,
}

impl AutoDisable<'_> {
    /// Whether the item is one of the bases the upload disables.
    pub fn disables(&self, item: &Analysis) -> bool {
        self.disable.iter().any(|d| std::ptr::eq(d.base, item))
    }
}

fn enabled_value(root: &Node) -> Option<bool> {
    match root.get("Enabled")?.kind {
        NodeKind::Bool(b) => Some(b),
        _ => None,
    }
}

/// Decides which bases an upload with automatic base disabling disables
/// (derived-detections §7.2).
///
/// * `selection`: the items chosen for this upload, in bundle order: valid
///   items that pass the selection filters (evaluated on effective values,
///   [`effective_root`]) and are not experimental or deprecated
///   ([`is_status_excluded`]). Items that are not derived are ignored.
/// * `project`: every item loaded from the project (ignore patterns
///   applied, filters not), to find derived detections that inherit
///   `Enabled` from a base being disabled.
/// * `index`: the project's [`Index`], to find bases by `RuleID`. An
///   invalid local base counts as local (an upload refuses invalid specs
///   anyway).
///
/// A selected derived detection counts when its effective `Enabled` is
/// true: its own `Enabled`, else its local base's current value; a
/// derived detection whose base is not local and that writes no `Enabled`
/// counts as enabled, so the missing base is reported rather than ignored.
/// Derived detections that are disabled, filtered out or experimental never
/// disable their base (a deliberate difference from PAT, decision 9).
pub fn bases_to_disable<'a>(
    selection: &[&'a Analysis],
    project: &[&'a Analysis],
    index: &Index<'a>,
) -> AutoDisable<'a> {
    let mut out = AutoDisable::default();
    for &d in selection {
        let Some(base_id) = d.rule().and_then(|r| r.base_detection.as_ref()) else {
            continue;
        };
        let id = base_id.value.as_str();
        let base = match index.base(id) {
            Base::NotLocal => None,
            Base::Invalid(b) | Base::Local(b) => Some(b),
        };
        let enabled = enabled_value(&d.root)
            .or_else(|| base.map(|b| enabled_value(&b.root).unwrap_or(false)))
            .unwrap_or(true);
        if !enabled {
            continue;
        }
        let Some(base) = base else {
            match out.not_local.iter_mut().find(|m| m.id == id) {
                Some(m) => m.derived.push(d),
                None => out.not_local.push(MissingBase {
                    id: id.to_owned(),
                    derived: vec![d],
                }),
            }
            continue;
        };
        let list = if is_status_excluded(&base.root) {
            &mut out.excluded
        } else {
            &mut out.disable
        };
        match list.iter_mut().find(|x| std::ptr::eq(x.base, base)) {
            Some(x) => x.derived.push(d),
            None => list.push(DisabledBase {
                base,
                already_disabled: enabled_value(&base.root) == Some(false),
                derived: vec![d],
                inheriting: project
                    .iter()
                    .copied()
                    .filter(|p| {
                        p.rule()
                            .and_then(|r| r.base_detection.as_ref())
                            .is_some_and(|b| b.value == id)
                            && p.root.get("Enabled").is_none()
                    })
                    .collect(),
            }),
        }
    }
    out
}

/// Why [`disable_in_text`] could not edit a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisableError {
    /// The text is not a YAML mapping this edit understands.
    #[error("cannot edit the file: {0}")]
    Unreadable(String),
    /// The top-level `Enabled` is a list or mapping.
    #[error("`Enabled` is not a scalar; fix the file first")]
    NotScalar,
    /// The edit would not produce `Enabled: false` (an unusual layout).
    #[error("the edit did not produce `Enabled: false`; edit the file by hand")]
    Unverified,
}

/// Byte offset of a 1-based (line, character column) position.
fn byte_offset(text: &str, pos: Pos) -> Option<usize> {
    let mut line_start = 0;
    for _ in 1..pos.line {
        line_start += text.get(line_start..)?.find('\n')? + 1;
    }
    let rest = text.get(line_start..)?;
    let col = (pos.col as usize).checked_sub(1)?;
    match rest.char_indices().nth(col) {
        Some((i, _)) => Some(line_start + i),
        None if rest.chars().count() == col => Some(text.len()),
        None => None,
    }
}

/// Sets the top-level `Enabled` of a YAML file to `false` with the minimal
/// text edit of derived-detections §7.2: the scalar value of `Enabled` is
/// replaced by `false`, or, when the key is absent, a line `Enabled: false`
/// (indented like `AnalysisType`) is inserted right after the top-level
/// `AnalysisType` line. Every other byte stays as it is; a file that already
/// says `Enabled: false` comes back unchanged.
///
/// Used by `derive --disable-base`, and meant for the bundle edit of
/// `zip`/`upload --auto-disable-base` and `--write-base-changes`.
///
/// # Errors
/// Text that does not parse as a mapping with `AnalysisType`, an `Enabled`
/// that is a list or mapping, or an edit that does not read back as
/// `Enabled: false`.
pub fn disable_in_text(text: &str) -> Result<String, DisableError> {
    let doc = crate::yaml::parse(text).map_err(|e| DisableError::Unreadable(e.message))?;
    let root = doc
        .root
        .filter(|r| r.as_map().is_some())
        .ok_or_else(|| DisableError::Unreadable("it is not a YAML mapping".to_owned()))?;
    let unreadable = || DisableError::Unreadable("a position in the file could not be found".to_owned());
    let edited = match root.get_entry("Enabled") {
        Some((_, v)) if v.kind == NodeKind::Bool(false) => return Ok(text.to_owned()),
        Some((_, v)) if matches!(v.kind, NodeKind::Seq(_) | NodeKind::Map(_)) => return Err(DisableError::NotScalar),
        Some((k, v)) => {
            let start = byte_offset(text, v.span.start).ok_or_else(unreadable)?;
            let end = byte_offset(text, v.span.end).ok_or_else(unreadable)?;
            if start < end {
                format!("{}false{}", &text[..start], &text[end..])
            } else {
                // `Enabled:` with no value: write after the colon.
                let after_key = byte_offset(text, k.span.end).ok_or_else(unreadable)?;
                let colon = text[after_key..]
                    .find(':')
                    .map(|i| after_key + i + 1)
                    .ok_or_else(unreadable)?;
                format!("{} false{}", &text[..colon], &text[colon..])
            }
        }
        None => {
            let (k, v) = root
                .get_entry("AnalysisType")
                .ok_or_else(|| DisableError::Unreadable("it has no top-level `AnalysisType`".to_owned()))?;
            let root_start = byte_offset(text, root.span.start).ok_or_else(unreadable)?;
            if text[root_start..].starts_with('{') {
                // A flow mapping: insert an entry before `AnalysisType`.
                let at = byte_offset(text, k.span.start).ok_or_else(unreadable)?;
                format!("{}Enabled: false, {}", &text[..at], &text[at..])
            } else {
                let value_end = byte_offset(text, v.span.end).ok_or_else(unreadable)?;
                let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
                let indent = " ".repeat((k.span.start.col as usize).saturating_sub(1));
                match text[value_end..].find('\n') {
                    Some(i) => {
                        let at = value_end + i + 1;
                        format!("{}{indent}Enabled: false{newline}{}", &text[..at], &text[at..])
                    }
                    None => format!("{text}{newline}{indent}Enabled: false{newline}"),
                }
            }
        }
    };
    let check = crate::yaml::parse(&edited).ok().and_then(|d| d.root);
    let keys = |r: &Node| {
        top_level(r)
            .map(|(k, _)| k)
            .filter(|k| k != "Enabled")
            .collect::<Vec<_>>()
    };
    match check {
        Some(r) if r.get("Enabled").map(|e| &e.kind) == Some(&NodeKind::Bool(false)) && keys(&r) == keys(&root) => {
            Ok(edited)
        }
        _ => Err(DisableError::Unverified),
    }
}

#[cfg(test)]
mod precedence_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::source::FileId;

    fn load(t: &str) -> Analysis {
        load_file(FileId(0), Some(t), LoadOptions::default()).analysis.unwrap()
    }

    #[test]
    fn overrides_replace_and_tests_inherit() {
        let base = load(
            "AnalysisType: rule\nRuleID: B\nEnabled: false\nLogTypes: [X]\nSeverity: Low\nTags: [a]\nFilename: b.py\nTests:\n  - {Name: t, ExpectedResult: true, Log: {}}\n",
        );
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nSeverity: High\nTags: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(inherited);
        assert_eq!(e.severity.unwrap().value, crate::model::Level::High);
        assert_eq!(e.tags.unwrap().len(), 0);
        assert!(!e.enabled.unwrap().value);
        assert_eq!(e.tests.unwrap().len(), 1);
        assert_eq!(e.filename.unwrap().value, "b.py");
        let derived = load("AnalysisType: rule\nRuleID: D\nBaseDetection: B\nTests: []\n");
        let (e, inherited) = effective(base.rule().unwrap(), derived.rule().unwrap(), &derived.root);
        assert!(!inherited);
        assert!(e.tests.unwrap().is_empty());
    }
}
