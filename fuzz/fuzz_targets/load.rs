//! Fuzz target: arbitrary bytes through loading and the cross-file checks.
//!
//! The input is split on NUL bytes into up to eight files (NUL never occurs
//! in valid YAML, so a single seed file stays one file); each part is loaded
//! with `load_file` as a file of its own, then the whole set goes through
//! the resolve stage, the cross-file checks and the report sort with
//! `project::resolve_and_check`, as `Project::load` does. A first
//! line that is a comment starting `#!` sets load options, so seeds stay
//! YAML (see [`options`]). Nothing here may panic, and every diagnostic must
//! point at a file of the set (reporters index `sources` with it).
//!
//! `DETECT_FUZZ_SKIP_LIBYAML_PANICS=1` skips inputs on which the YAML parser
//! itself (libyaml-safer 0.3.0) panics, so a run can go on past those known
//! upstream bugs (simonask/libyaml-safer#6 and #7) and look for others. Leave
//! it unset to check that `detect` guards against them.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use detect::load::{self, LoadOptions};
use detect::project::{Entry, resolve_and_check};
use detect::source::{FileId, SourceFile};
use libfuzzer_sys::fuzz_target;

/// Most files one input becomes; enough for duplicate IDs, packs and
/// correlation references across files.
const MAX_FILES: usize = 8;

fuzz_target!(|data: &[u8]| {
    if skip_libyaml_panics() && parts(data).any(libyaml_panics) {
        return;
    }
    let opts = options(data);
    let mut sources = Vec::new();
    let mut loaded = Vec::new();
    for (i, part) in parts(data).enumerate() {
        let text = std::str::from_utf8(part).ok();
        let id = FileId(i as u32);
        loaded.push(load::load_file(id, text, opts.clone()));
        let rel = format!("rules/fuzz_rules/f{i}.yml");
        sources.push(SourceFile::new(
            PathBuf::from(&rel),
            rel.clone(),
            rel,
            text.map(str::to_owned),
        ));
    }
    let mut diagnostics: Vec<_> = loaded.iter().flat_map(|l| l.diagnostics.clone()).collect();
    let entries: Vec<Entry> = loaded
        .into_iter()
        .enumerate()
        .filter(|(_, l)| l.is_analysis)
        .map(|(i, l)| Entry {
            file: FileId(i as u32),
            analysis: l.analysis,
        })
        .collect();
    resolve_and_check(&sources, &entries, &mut diagnostics, None);
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

/// The files of an input: NUL-separated, at most [`MAX_FILES`].
fn parts(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.splitn(MAX_FILES, |&b| b == 0)
}

/// Load options from a first line such as
/// `#! ignore-extra-keys ignore-table-names table=my_db.*`: the words turn on
/// `--ignore-extra-keys` and `--ignore-table-names`, and each `table=`
/// adds a `--valid-table-names` pattern.
fn options(data: &[u8]) -> LoadOptions {
    let mut opts = LoadOptions::default();
    let Some(rest) = data.strip_prefix(b"#!") else { return opts };
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut tables = Vec::new();
    for word in String::from_utf8_lossy(line).split_whitespace() {
        match word {
            "ignore-extra-keys" => opts.ignore_extra_keys = true,
            "ignore-table-names" => opts.ignore_table_names = true,
            w => {
                if let Some(t) = w.strip_prefix("table=") {
                    tables.push(t.to_owned());
                }
            }
        }
    }
    opts.valid_table_names = tables.into();
    opts
}

/// Whether `DETECT_FUZZ_SKIP_LIBYAML_PANICS` is set to a non-empty value
/// other than `0`.
fn skip_libyaml_panics() -> bool {
    static SKIP: OnceLock<bool> = OnceLock::new();
    *SKIP.get_or_init(|| {
        std::env::var("DETECT_FUZZ_SKIP_LIBYAML_PANICS").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// Whether libyaml-safer panics on this part when run on its own.
///
/// libfuzzer-sys installs a panic hook that aborts, so the hook is swapped
/// for a silent one while the parser runs; the target is single-threaded.
fn libyaml_panics(part: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(part) else { return false };
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = std::panic::catch_unwind(|| {
        let mut input = text.as_bytes();
        let mut parser = libyaml_safer::Parser::new();
        parser.set_input_string(&mut input);
        for event in parser {
            if event.is_err() {
                break;
            }
        }
    })
    .is_err();
    std::panic::set_hook(hook);
    panicked
}
