//! The resolve stage's entry point: one pass over a loaded project builds
//! the resolved set that checks and commands read (docs/design/008).

use std::collections::HashSet;

use super::set::Index;
use crate::model::Analysis;
use crate::project::Project;
use crate::source::FileId;

/// The resolved set of a loaded project: its items in project order, the
/// files that are invalid, and the items by ID. Build it once per command
/// run with [`Resolved::build`] and hand it on.
pub struct Resolved<'a> {
    /// Every typed item, in the order of the project's entries.
    pub analyses: Vec<&'a Analysis>,
    /// Files with an error that makes them invalid.
    pub invalid: HashSet<FileId>,
    /// The items by ID (valid first).
    pub index: Index<'a>,
}

impl<'a> Resolved<'a> {
    /// Resolves a loaded project.
    pub fn build(project: &'a Project) -> Self {
        let invalid = project.invalid_files();
        let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
        let index = Index::of(&analyses, &invalid);
        Resolved {
            analyses,
            invalid,
            index,
        }
    }

    /// Whether an item's file is invalid.
    pub fn is_invalid(&self, a: &Analysis) -> bool {
        self.invalid.contains(&a.file)
    }
}

impl<'a> Index<'a> {
    /// The index of loaded items, `invalid` telling which files have errors
    /// (the cross-file checks, before a [`Resolved`] exists).
    pub fn of(analyses: &[&'a Analysis], invalid: &HashSet<FileId>) -> Self {
        Index::new(analyses.iter().copied(), |a| invalid.contains(&a.file))
    }

    /// The index of items that are all valid (items loaded for a lookup).
    pub fn of_valid(analyses: impl IntoIterator<Item = &'a Analysis>) -> Self {
        Index::new(analyses, |_| false)
    }
}
