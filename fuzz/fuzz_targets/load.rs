//! Fuzz target: arbitrary bytes through loading and the cross-file checks.
//!
//! The input is split on NUL bytes into up to eight files (NUL never occurs
//! in valid YAML, so a single seed file stays one file); each part is loaded
//! with `load_file` as a file of its own, then the whole set goes through
//! `check::run_all` and the report sort, as `Project::load` does. An input
//! whose first line is the comment `#!ignore-extra-keys` loads with
//! `--ignore-extra-keys`. Nothing here may panic, and every diagnostic must
//! point at a file of the set (reporters index `sources` with it).

#![no_main]

use std::path::PathBuf;

use detect::check::{self, CheckCx};
use detect::load::{self, LoadOptions};
use detect::model::Analysis;
use detect::project::{invalid_files, sort_diagnostics};
use detect::source::{FileId, SourceFile};
use libfuzzer_sys::fuzz_target;

/// Most files one input becomes; enough for duplicate IDs, packs and
/// correlation references across files.
const MAX_FILES: usize = 8;

fuzz_target!(|data: &[u8]| {
    let opts = LoadOptions {
        ignore_extra_keys: data.starts_with(b"#!ignore-extra-keys"),
    };
    let mut sources = Vec::new();
    let mut loaded = Vec::new();
    for (i, part) in data.splitn(MAX_FILES, |&b| b == 0).enumerate() {
        let text = std::str::from_utf8(part).ok();
        let id = FileId(i as u32);
        loaded.push(load::load_file(id, text, opts));
        let rel = format!("rules/fuzz_rules/f{i}.yml");
        sources.push(SourceFile::new(
            PathBuf::from(&rel),
            rel.clone(),
            rel,
            text.map(str::to_owned),
        ));
    }
    let mut diagnostics: Vec<_> = loaded.iter().flat_map(|l| l.diagnostics.clone()).collect();
    let invalid = invalid_files(&diagnostics);
    let analyses: Vec<&Analysis> = loaded
        .iter()
        .filter(|l| l.is_analysis)
        .filter_map(|l| l.analysis.as_ref())
        .collect();
    let cx = CheckCx {
        sources: &sources,
        analyses: &analyses,
        invalid: &invalid,
    };
    diagnostics.extend(check::run_all(&cx));
    sort_diagnostics(&mut diagnostics, &sources);
    for d in &diagnostics {
        for label in d.primary.iter().chain(&d.related) {
            assert!(
                (label.file.0 as usize) < sources.len(),
                "diagnostic {:?} points at a file outside the set",
                d.code
            );
        }
    }
});
