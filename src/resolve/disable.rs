//! Automatic base disabling (derived-detections §7, upload-protocol §7.3).

use super::fields::{is_status_excluded, top_level};
use super::set::{Base, Index};
use crate::model::Analysis;
use crate::source::Pos;
use crate::yaml::{Node, NodeKind};

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
///   [`crate::resolve::effective_root`]) and are not experimental or deprecated
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
