//! The set of loaded items by ID, and the one selection rule on effective
//! values that every command uses (cli-and-settings §4.10).

use std::collections::{HashMap, HashSet};

use super::fields::{effective_fields, effective_root, is_status_excluded};
use crate::model::{Analysis, AnalysisType};
use crate::project::Entry;
use crate::source::FileId;
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
/// invalid one (so an invalid base is recognised as such). A view of the
/// resolved set ([`super::Resolved::view`]); it is never built on its own.
#[derive(Clone, Copy)]
pub struct Index<'a> {
    entries: &'a [Entry],
    by_id: &'a HashMap<String, Vec<usize>>,
    invalid: &'a HashSet<FileId>,
}

impl<'a> Index<'a> {
    /// The view of a resolved set's parts.
    pub(super) fn view(
        entries: &'a [Entry],
        by_id: &'a HashMap<String, Vec<usize>>,
        invalid: &'a HashSet<FileId>,
    ) -> Self {
        Index {
            entries,
            by_id,
            invalid,
        }
    }

    /// The items with this ID, in project order.
    fn with_id(&self, id: &str) -> impl Iterator<Item = &'a Analysis> + 'a {
        let entries = self.entries;
        self.by_id
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(move |&at| entries.get(at)?.analysis.as_ref())
    }

    /// The base of a derived detection.
    pub fn base(&self, id: &str) -> Base<'a> {
        let mut invalid = None;
        for a in self.with_id(id) {
            if !self.is_invalid(a) {
                return Base::Local(a);
            }
            invalid = invalid.or(Some(a));
        }
        invalid.map_or(Base::NotLocal, Base::Invalid)
    }

    /// A valid item by ID.
    pub fn get(&self, id: &str) -> Option<&'a Analysis> {
        self.with_id(id).find(|a| !self.is_invalid(a))
    }

    /// The item with ID `id`: the valid one, else the first loaded item
    /// with that ID (valid or not).
    pub fn find(&self, id: &str) -> Option<&'a Analysis> {
        self.get(id).or_else(|| self.analyses().find(|a| a.id_str() == id))
    }

    /// Every typed item, in the order of the project's entries.
    pub fn analyses(&self) -> impl Iterator<Item = &'a Analysis> + 'a {
        self.entries.iter().filter_map(|e| e.analysis.as_ref())
    }

    /// Files with an error that makes them invalid.
    pub fn invalid(&self) -> &'a HashSet<FileId> {
        self.invalid
    }

    /// Whether an item's file is invalid.
    pub fn is_invalid(&self, a: &Analysis) -> bool {
        self.invalid.contains(&a.file)
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
