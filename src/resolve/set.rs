//! The set of loaded items by ID, and the one selection rule on effective
//! values that every command uses (cli-and-settings §4.10).

use std::collections::HashMap;

use super::fields::{effective_fields, effective_root, is_status_excluded};
use crate::model::{Analysis, AnalysisType};
use crate::yaml::Node;

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
