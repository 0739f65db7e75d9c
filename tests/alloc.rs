//! Matching allocates nothing: a counting global allocator (the
//! `allocation-counter` crate) around
//! `Program::matches` on every Simple Detection of the shared corpus and
//! its test events, after a warm-up pass (STYLE §2.3).
//!
//! Wildcard paths (`[*]`) build their result array by definition
//! (match-expressions §2.3.2), so rules that use one are measured apart and
//! only reported.

use detect::engine::Program;
use detect::load::{LoadOptions, load_file};
use detect::source::FileId;

fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn matching_corpus_events_allocates_nothing() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.is_dir() {
        assert!(
            std::env::var("CI").is_err(),
            "../shared/corpus is missing and CI is set"
        );
        return;
    }
    let mut files = Vec::new();
    for d in [
        "panther-analysis/simple",
        "panther-analysis/history/simple",
        "pat-fixtures/simple-detections/valid",
    ] {
        yaml_files(&corpus.join(d), &mut files);
    }
    let mut cases = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let loaded = load_file(
            FileId(0),
            Some(&text),
            LoadOptions {
                ignore_extra_keys: true,
                ..LoadOptions::default()
            },
        );
        let Some(a) = loaded.analysis else { continue };
        let Some(rule) = a.rule() else { continue };
        if !rule.is_simple() {
            continue;
        }
        let program = Program::compile(a.id_str(), rule, true);
        let events: Vec<_> = rule.tests.iter().flatten().filter_map(|t| t.log.event().ok()).collect();
        cases.push((text.contains("[*]"), program, events));
    }
    assert!(cases.len() > 50, "{} rules", cases.len());
    let run = |wild: bool| {
        let mut n = 0;
        for (w, p, events) in &cases {
            if *w == wild {
                for e in events {
                    std::hint::black_box(p.matches(e));
                    n += 1;
                }
            }
        }
        n
    };
    run(false);
    run(true);
    let mut evaluated = 0;
    let info = allocation_counter::measure(|| evaluated = run(false));
    assert!(evaluated > 100, "{evaluated} evaluations");
    assert_eq!(
        info.count_total, 0,
        "{} allocations over {evaluated} evaluations",
        info.count_total
    );
    let mut wild = 0;
    let info = allocation_counter::measure(|| wild = run(true));
    eprintln!(
        "{evaluated} evaluations without allocation; rules with wildcards: {wild} evaluations, {} allocations",
        info.count_total
    );
}
