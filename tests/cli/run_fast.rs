//! `detect run`'s fast path (events built only as far as the detections
//! read them, a candidate index per log type) against the full evaluation
//! (`--full-eval`: every event parsed in full, every detection of its log
//! type evaluated): byte-identical alerts, signals and reports.

use std::fmt::Write as _;
use std::path::Path;

use crate::util::{copy_dir, corpus, detect, fixture, redact, run};

/// Runs `detect run` on `repo` over `events` with `extra` flags, once on
/// the fast path and once with `--full-eval`, and checks that stdout, the
/// alerts file and the signals file are the same bytes. Returns the
/// signals file of the fast path.
fn same_both_ways(dir: &Path, repo: &Path, events: &Path, extra: &[&str]) -> String {
    let mut outputs = Vec::new();
    for (i, full) in [false, true].into_iter().enumerate() {
        let alerts = dir.join(format!("alerts-{i}.jsonl"));
        let signals = dir.join(format!("signals-{i}.jsonl"));
        let mut c = detect(dir);
        c.arg("run")
            .arg(repo)
            .args(["--no-python", "--now", "2024-06-10T00:00:00Z", "--events"])
            .arg(events)
            .arg("--alerts-out")
            .arg(&alerts)
            .arg("--signals-out")
            .arg(&signals)
            .args(extra);
        if full {
            c.arg("--full-eval");
        }
        let (code, out, err) = run(c);
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        outputs.push((code, redact(&out), redact(&err), read(&alerts), read(&signals)));
    }
    let (fast, full) = (&outputs[0], &outputs[1]);
    assert_eq!(fast.0, full.0, "exit codes; {}", fast.2);
    assert_eq!(fast.1, full.1, "stdout");
    assert_eq!(fast.2, full.2, "stderr");
    assert_eq!(fast.3, full.3, "alerts");
    assert_eq!(fast.4, full.4, "signals");
    fast.4.clone()
}

#[test]
fn the_fixture_week_gives_the_same_bytes_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = fixture("run/repo");
    for input in ["week.jsonl", "week.json", "broken.jsonl"] {
        let events = fixture(&format!("run/logs/{input}"));
        let signals = same_both_ways(tmp.path(), &repo, &events, &["--format", "json"]);
        if input != "broken.jsonl" {
            // 23 signals, as `run.rs` checks against the expected alerts.
            assert_eq!(signals.lines().count(), 23, "{input}");
        }
        same_both_ways(tmp.path(), &repo, &events, &["--jobs", "1"]);
    }
}

/// Strings written after `Value:` and member names written after `Key:`
/// or `KeyPath:` in the corpus's detections: values its rules look for.
fn harvest(dir: &Path, keys: &mut Vec<String>, values: &mut Vec<String>, log_types: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            harvest(&p, keys, values, log_types);
            continue;
        }
        if !p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let mut in_log_types = false;
        for line in text.lines() {
            let t = line.trim_start().trim_start_matches("- ").trim();
            let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_owned();
            if let Some(v) = t.strip_prefix("Value:") {
                values.push(unquote(v));
            } else if let Some(k) = t.strip_prefix("KeyPath:").or_else(|| t.strip_prefix("Key:")) {
                let k = unquote(k);
                if !k.is_empty() && !k.contains(['[', '*']) {
                    keys.push(k);
                }
            }
            if line.starts_with("LogTypes:") {
                in_log_types = true;
            } else if in_log_types && line.trim_start().starts_with("- ") {
                log_types.push(unquote(t));
            } else if !line.starts_with(' ') {
                in_log_types = false;
            }
        }
    }
    for l in [&mut *keys, &mut *values, &mut *log_types] {
        l.sort();
        l.dedup();
    }
}

/// Events made of the corpus's own keys and values, in every log type the
/// corpus names, some with keys in other cases, repeated keys, nested
/// objects, arrays and numbers.
fn events(keys: &[String], values: &[String], log_types: &[String], n: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = String::new();
    let pick = |rng: &mut fastrand::Rng, l: &[String]| l[rng.usize(..l.len())].clone();
    for i in 0..n {
        let mut fields: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.usize(3..12) {
            let mut k = pick(&mut rng, keys);
            if rng.u8(..20) == 0 {
                k = k.to_uppercase();
            }
            let v = match rng.u8(..10) {
                0 => format!("[{}, {}]", json(&pick(&mut rng, values)), json(&pick(&mut rng, values))),
                1 => rng.i64(-5..5000).to_string(),
                2 => "null".to_owned(),
                _ => json(&pick(&mut rng, values)),
            };
            fields.push((k, v));
        }
        // Nest dotted keys: `a.b.c` becomes {"a": {"b": {"c": v}}}.
        let mut line = String::from("{");
        let log_type = pick(&mut rng, log_types);
        let _ = write!(
            line,
            "\"p_log_type\": {}, \"p_event_time\": \"2024-06-0{} 0{}:{:02}:00\"",
            json(&log_type),
            1 + i % 7,
            i % 10,
            i % 60
        );
        for (k, v) in fields {
            let parts: Vec<&str> = k.split('.').collect();
            let mut value = v;
            for p in parts[1..].iter().rev() {
                value = format!("{{{}: {value}}}", json(p));
            }
            let _ = write!(line, ", {}: {value}", json(parts[0]));
        }
        line.push_str("}\n");
        out.push_str(&line);
    }
    out
}

fn json(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[test]
fn corpus_rules_on_events_made_of_their_own_values_give_the_same_bytes_both_ways() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&corpus, &repo);
    std::fs::write(repo.join(".panther_settings.yml"), "detect:\n  format: human\n").unwrap();
    let (mut keys, mut values, mut log_types) = (Vec::new(), Vec::new(), Vec::new());
    harvest(&corpus, &mut keys, &mut values, &mut log_types);
    assert!(keys.len() > 50 && values.len() > 100 && log_types.len() > 10);
    let events = tmp.path().join("events.jsonl");
    std::fs::write(&events, events_text(&keys, &values, &log_types)).unwrap();
    let signals = same_both_ways(tmp.path(), &repo, &events, &["--all-dirs", "--format", "json"]);
    // Not vacuous: many detections match.
    let matched: std::collections::BTreeSet<&str> = signals
        .lines()
        .filter_map(|l| l.split("\"ruleId\":\"").nth(1)?.split('"').next())
        .collect();
    assert!(signals.lines().count() > 100, "{} signals", signals.lines().count());
    assert!(matched.len() > 10, "{matched:?}");
}

fn events_text(keys: &[String], values: &[String], log_types: &[String]) -> String {
    events(keys, values, log_types, 20_000)
}
