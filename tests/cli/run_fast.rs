//! `detect run`'s fast path (events built only as far as the detections
//! read them, a candidate index per log type) against the full evaluation
//! (`--full-eval`: every event parsed in full, every detection of its log
//! type evaluated): byte-identical alerts, signals and reports.

use std::fmt::Write as _;
use std::path::Path;

use crate::util::{copy_dir, corpus, detect, fixture, run};

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
        outputs.push((code, no_time(&out), no_time(&err), read(&alerts), read(&signals)));
    }
    let (fast, full) = (&outputs[0], &outputs[1]);
    assert_eq!(fast.0, full.0, "exit codes; {}", fast.2);
    assert_eq!(fast.1, full.1, "stdout");
    assert_eq!(fast.2, full.2, "stderr");
    assert_eq!(fast.3, full.3, "alerts");
    assert_eq!(fast.4, full.4, "signals");
    fast.4.clone()
}

/// Output without the run time (`· 12 ms` in the summary line,
/// `"duration_ms": 12` in a JSON report).
fn no_time(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = match l.rfind(" · ") {
                Some(i) if l.ends_with(" ms") => &l[..i],
                _ => l,
            };
            match l.find("\"duration_ms\":") {
                Some(i) => {
                    let rest = &l[i + 14..];
                    let digits = rest.trim_start().chars().take_while(char::is_ascii_digit).count();
                    let skip = rest.len() - rest.trim_start().len() + digits;
                    format!("{}\"duration_ms\": 0{}", &l[..i], &rest[skip..])
                }
                None => l.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// One detection file's log types and (member path, string) pairs.
type Harvested = (Vec<String>, Vec<(String, String)>);

/// Per detection file of the corpus: its log types and the (member path,
/// string) pairs its conditions name (`Key:`/`KeyPath:` followed by
/// `Value:`), the values its rules look for.
fn harvest(dir: &Path, out: &mut Vec<Harvested>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            harvest(&p, out);
            continue;
        }
        if !p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let (mut log_types, mut pairs) = (Vec::new(), Vec::new());
        let mut in_log_types = false;
        let mut key: Option<String> = None;
        let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_owned();
        for line in text.lines() {
            let t = line.trim_start().trim_start_matches("- ").trim();
            if let Some(v) = t.strip_prefix("Value:") {
                if let Some(k) = key.take() {
                    pairs.push((k, unquote(v)));
                }
            } else if let Some(k) = t.strip_prefix("KeyPath:").or_else(|| t.strip_prefix("Key:")) {
                let k = unquote(k);
                key = (!k.is_empty() && !k.contains(['[', '*', '{'])).then_some(k);
            }
            if line.starts_with("LogTypes:") {
                in_log_types = true;
            } else if in_log_types && line.trim_start().starts_with("- ") {
                log_types.push(unquote(t));
            } else if !line.starts_with(' ') {
                in_log_types = false;
            }
        }
        if !log_types.is_empty() && !pairs.is_empty() {
            out.push((log_types, pairs));
        }
    }
}

/// Events made of one detection file's values (most of them, sometimes in
/// another case or as an array), in one of its log types, with values of
/// other files mixed in; nested objects for dotted paths.
fn events(files: &[Harvested], n: usize) -> String {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = String::new();
    for i in 0..n {
        let (log_types, pairs) = &files[rng.usize(..files.len())];
        let (_, noise) = &files[rng.usize(..files.len())];
        let mut fields: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs.iter().chain(noise.iter().take(3)) {
            if rng.u8(..5) == 0 {
                continue;
            }
            let v = match rng.u8(..12) {
                0 => format!("[{}, \"x\"]", json(v)),
                1 => json(&v.to_uppercase()),
                2 => rng.i64(-5..5000).to_string(),
                _ => json(v),
            };
            fields.push((k.clone(), v));
        }
        let mut line = String::from("{");
        let log_type = &log_types[rng.usize(..log_types.len())];
        let _ = write!(
            line,
            "\"p_log_type\": {}, \"p_event_time\": \"2024-06-0{} 0{}:{:02}:00\"",
            json(log_type),
            1 + i % 7,
            i % 10,
            i % 60
        );
        // Later pairs on the same path repeat the member, as JSON allows.
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
    let mut files = Vec::new();
    harvest(&corpus, &mut files);
    assert!(files.len() > 30, "{}", files.len());
    let events = tmp.path().join("events.jsonl");
    std::fs::write(&events, events_text(&files)).unwrap();
    let signals = same_both_ways(tmp.path(), &repo, &events, &["--all-dirs", "--format", "json"]);
    // Not vacuous: many detections match.
    let matched: std::collections::BTreeSet<&str> = signals
        .lines()
        .filter_map(|l| l.split("\"ruleId\":\"").nth(1)?.split('"').next())
        .collect();
    assert!(signals.lines().count() > 100, "{} signals", signals.lines().count());
    assert!(matched.len() > 10, "{matched:?}");
}

fn events_text(files: &[Harvested]) -> String {
    events(files, 20_000)
}
