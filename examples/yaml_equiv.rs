//! Compares the fast YAML path with the libyaml-safer path on every YAML
//! file under the given directories, and times both (single thread).
//!
//! ```text
//! cargo run --release --example yaml_equiv -- DIR...
//! ```
//!
//! Prints, per directory: files, how many the fast path accepted, how many
//! of those are identical to the libyaml-safer tree, every mismatch (the
//! first differing node path and both spans), and the time of each path
//! over all files (the best of three runs). Exits 1 on a mismatch.
//! `--declined` also lists the files the fast path declines.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use detect::yaml;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let show_declined = args.iter().any(|a| a == "--declined");
    args.retain(|a| a != "--declined");
    if args.is_empty() {
        eprintln!("usage: yaml_equiv [--declined] DIR...");
        std::process::exit(2);
    }
    let mut failed = false;
    for dir in &args {
        let texts = read_all(Path::new(dir));
        let (mut accepted, mut identical, mut mismatches) = (0usize, 0usize, Vec::new());
        let mut declined = Vec::new();
        for (path, text) in &texts {
            match yaml::parse_fast(text) {
                None => declined.push(path),
                Some(fast) => {
                    accepted += 1;
                    match yaml::parse_libyaml(text) {
                        Ok(slow) => match yaml::first_difference(&fast, &slow) {
                            None => identical += 1,
                            Some(d) => mismatches.push(format!("{}: {d}", path.display())),
                        },
                        Err(e) => mismatches.push(format!(
                            "{}: the fast path accepts it, libyaml-safer says {} at {:?}",
                            path.display(),
                            e.message,
                            e.span
                        )),
                    }
                }
            }
        }
        let fast = best_of(3, || {
            for (_, t) in &texts {
                std::hint::black_box(yaml::parse_fast(t));
            }
        });
        let slow = best_of(3, || {
            for (_, t) in &texts {
                std::hint::black_box(yaml::parse_libyaml(t).ok());
            }
        });
        let both = best_of(3, || {
            for (_, t) in &texts {
                std::hint::black_box(yaml::parse(t).ok());
            }
        });
        let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
        println!("{dir}");
        println!(
            "  files {}  ({:.1} MB)  accepted by the fast path {} ({:.1} %)  identical {}  mismatches {}",
            texts.len(),
            bytes as f64 / 1e6,
            accepted,
            100.0 * accepted as f64 / texts.len().max(1) as f64,
            identical,
            mismatches.len()
        );
        println!(
            "  fast path {:.1} ms (declines included)  libyaml-safer path {:.1} ms  yaml::parse {:.1} ms  speed-up of parse {:.1}x",
            ms(fast),
            ms(slow),
            ms(both),
            slow.as_secs_f64() / both.as_secs_f64().max(1e-9)
        );
        for m in &mismatches {
            println!("  MISMATCH {m}");
        }
        if show_declined {
            for d in &declined {
                println!("  declined {}", d.display());
            }
        }
        failed |= !mismatches.is_empty();
    }
    if failed {
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn best_of(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Every `.yml` / `.yaml` file under `dir` that is UTF-8, sorted by path.
fn read_all(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.path().extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((e.path().to_path_buf(), text))
        })
        .collect();
    out.sort();
    out
}
