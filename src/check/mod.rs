//! Cross-file checks and their registry.
//!
//! Loading checks each file on its own; the checks here look at the whole
//! set of loaded files (duplicate IDs, pack references, data-model
//! conflicts, correlation references). Each check lives in its own file and
//! registers in [`CHECKS`]. They run in registry order; their diagnostics
//! are sorted before reporting, so the order only matters for checks that
//! read the validity left by earlier stages.

mod correlation_refs;
mod data_model_conflict;
mod derived;
mod duplicate_id;
mod missing_file;
mod pack_refs;

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Analysis;
use crate::source::{FileId, SourceFile};

/// What a check sees.
pub struct CheckCx<'a> {
    /// Every loaded file.
    pub sources: &'a [SourceFile],
    /// Every analysis item, in the order of cli-and-settings §1.6.
    pub analyses: &'a [&'a Analysis],
    /// Files with an error from loading (their items take no part in ID
    /// checks, as in PAT).
    pub invalid: &'a HashSet<FileId>,
    /// The resolved set (items by ID), with `invalid` as its invalid files.
    pub index: crate::resolve::Index<'a>,
}

impl CheckCx<'_> {
    /// Analyses whose file loaded without errors.
    pub fn valid(&self) -> impl Iterator<Item = &Analysis> {
        self.analyses
            .iter()
            .copied()
            .filter(|a| !self.invalid.contains(&a.file))
    }
}

/// A check over the whole loaded set.
pub trait Check: Sync {
    /// The main code it reports.
    fn code(&self) -> Code;
    /// Runs the check.
    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>);
}

/// Every cross-file check, in the order they run.
pub static CHECKS: &[&dyn Check] = &[
    &duplicate_id::DuplicateId,
    &pack_refs::PackRefs,
    &data_model_conflict::DataModelConflict,
    &missing_file::MissingFile,
    &correlation_refs::CorrelationRefs,
    &derived::Derived,
];

/// Runs every check.
pub fn run_all(cx: &CheckCx<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in CHECKS {
        check.run(cx, &mut out);
    }
    out
}

/// Runs one check over in-memory files `f0.yml`, `f1.yml`, … (unit tests
/// of the checks share this instead of each building a `CheckCx`).
#[cfg(test)]
pub(crate) fn run_on_texts(check: &dyn Check, files: &[&str]) -> Vec<Diagnostic> {
    let sources = files
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let name = format!("f{i}.yml");
            SourceFile::new(
                std::path::PathBuf::from(&name),
                name.clone(),
                name,
                Some((*text).to_owned()),
            )
        })
        .collect();
    run_on_sources(check, sources)
}

/// Runs one check over in-memory files, each source's text loaded as the
/// file of its position; a file with a load error is invalid.
#[cfg(test)]
pub(crate) fn run_on_sources(check: &dyn Check, sources: Vec<SourceFile>) -> Vec<Diagnostic> {
    use crate::load::{LoadOptions, load_file};

    let mut loaded = Vec::new();
    let mut invalid = HashSet::new();
    for (i, source) in sources.iter().enumerate() {
        let file = FileId(i as u32);
        let l = load_file(file, source.text.as_deref(), LoadOptions::default());
        if l.diagnostics
            .iter()
            .any(|d| d.severity() == crate::diagnostic::Severity::Error)
        {
            invalid.insert(file);
        }
        loaded.extend(l.analysis);
    }
    let fixture = crate::resolve::Fixture::new(loaded, invalid);
    let index = fixture.index();
    let refs: Vec<&Analysis> = index.analyses().collect();
    let cx = CheckCx {
        sources: &sources,
        analyses: &refs,
        invalid: index.invalid(),
        index,
    };
    let mut out = Vec::new();
    check.run(&cx, &mut out);
    out
}
