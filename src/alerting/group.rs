//! Grouping matches into alerts (alerts-and-webhooks §5.3–§5.4): dedup
//! windows on event time, `Threshold`, the alert limiter and the state
//! file that carries open windows from one run to the next.
//!
//! The grouper sees matches strictly in input order; it is the only
//! sequential part of a run, which is what makes results independent of
//! thread timing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::payload::{self, AlertType, Payload};
use super::time;
use crate::error::{Error, Result};
use crate::model::Level;

/// Alerts a detection may create within one hour before it is limited.
pub const ALERT_LIMIT: usize = 1000;

/// What the grouper needs to know about a detection.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// `RuleID`.
    pub id: String,
    /// `DisplayName`, else the ID.
    pub name: String,
    /// `Description` or `""`.
    pub description: String,
    /// `Runbook` or `""`.
    pub runbook: String,
    /// `Tags`, sorted byte-wise.
    pub tags: Vec<String>,
    /// The version hash.
    pub version: String,
    /// Effective dedup period in nanoseconds.
    pub period: i64,
    /// `Threshold` (at least 1).
    pub threshold: u64,
    /// `CreateAlert`.
    pub create_alert: bool,
    /// `OutputIds`.
    pub output_ids: Vec<String>,
    /// `LogTypes`.
    pub log_types: Vec<String>,
    /// `RULE` or `CORRELATION_RULE`.
    pub alert_type: AlertType,
}

/// The effective dedup period in minutes: 60 when absent or 0, 5 for 1–4,
/// else as written (§3.3).
pub fn effective_period_minutes(written: Option<i64>) -> i64 {
    match written {
        None | Some(0) => 60,
        Some(m) if m < 5 => 5,
        Some(m) => m,
    }
}

/// One match, with the alert fields computed from its event.
#[derive(Debug, Clone)]
pub struct Match {
    /// Index of the detection.
    pub rule: usize,
    /// Event time.
    pub time: i64,
    /// The event's log type.
    pub log_type: String,
    /// Rendered title.
    pub title: String,
    /// Dedup string.
    pub dedup: String,
    /// Severity.
    pub severity: Level,
    /// Alert context.
    pub context: Value,
    /// `unique()`'s value: `Threshold` counts distinct values in the
    /// window; a match without one counts as an event.
    pub unique: Option<String>,
}

/// A created alert with what routing needs.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Index of the detection.
    pub rule: usize,
    /// The webhook body.
    pub payload: Payload,
    /// Log types for destination filters (the triggering event's).
    pub log_types: Vec<String>,
}

#[derive(Debug, Clone)]
struct First {
    title: String,
    severity: Level,
    context: Value,
    log_type: String,
}

#[derive(Debug, Clone)]
struct Window {
    start: i64,
    count: u64,
    alert_id: String,
    first: Option<First>,
    /// The `unique()` values counted in the window.
    uniques: HashSet<String>,
}

/// The grouping state of a run.
#[derive(Debug)]
pub struct Grouper {
    windows: HashMap<(usize, String), Window>,
    /// Windows of detections not in this run, kept for the state file.
    foreign: Vec<StateWindow>,
    created: Vec<VecDeque<i64>>,
    limited: Vec<bool>,
    no_limit: bool,
    wall_clock: bool,
    console_url: Option<String>,
    latest: Option<i64>,
    /// Detections that hit the limiter in this run, in the order they did.
    pub newly_limited: Vec<usize>,
    /// Matches grouped into an existing alert.
    pub appended: u64,
}

impl Grouper {
    /// A grouper for `n` detections.
    pub fn new(n: usize, no_limit: bool, wall_clock: bool, console_url: Option<String>) -> Grouper {
        Grouper {
            windows: HashMap::new(),
            foreign: Vec::new(),
            created: vec![VecDeque::new(); n],
            limited: vec![false; n],
            no_limit,
            wall_clock,
            console_url,
            latest: None,
            newly_limited: Vec::new(),
            appended: 0,
        }
    }

    /// Adds a match of a detection that creates alerts; returns the alert
    /// when this match creates one.
    pub fn add(&mut self, rules: &[RuleMeta], m: Match) -> Option<Alert> {
        self.latest = Some(self.latest.map_or(m.time, |l| l.max(m.time)));
        let meta = rules.get(m.rule)?;
        if self.limited[m.rule] {
            return None;
        }
        let key = (m.rule, m.dedup);
        let open = self
            .windows
            .get(&key)
            .is_some_and(|w| m.time < w.start.saturating_add(meta.period));
        if !open {
            let alert_id = payload::alert_id(&meta.id, &key.1, m.time);
            self.windows.insert(
                key.clone(),
                Window {
                    start: m.time,
                    count: 0,
                    alert_id,
                    first: Some(First {
                        title: m.title.clone(),
                        severity: m.severity,
                        context: m.context.clone(),
                        log_type: m.log_type.clone(),
                    }),
                    uniques: HashSet::new(),
                },
            );
        }
        let w = self.windows.get_mut(&key)?;
        if let Some(u) = m.unique {
            if w.uniques.contains(&u) {
                // A value already counted: appended, not counted again.
                if w.count >= meta.threshold {
                    self.appended += 1;
                }
                return None;
            }
            w.uniques.insert(u);
        }
        w.count += 1;
        if w.count != meta.threshold {
            if w.count > meta.threshold {
                self.appended += 1;
            }
            return None;
        }
        // The threshold is reached: the alert takes the fields of the
        // window's first match (or this one's, for a window loaded from a
        // state file).
        let first = w.first.take().unwrap_or(First {
            title: m.title,
            severity: m.severity,
            context: m.context,
            log_type: m.log_type,
        });
        let created_at = if self.wall_clock { time::now() } else { m.time };
        let alert_id = w.alert_id.clone();
        if !self.no_limit {
            let q = &mut self.created[key.0];
            q.push_back(m.time);
            while q.front().is_some_and(|t| *t <= m.time - 60 * time::MINUTE) {
                q.pop_front();
            }
            if q.len() >= ALERT_LIMIT {
                self.limited[key.0] = true;
                self.newly_limited.push(key.0);
            }
        }
        let payload = Payload {
            id: meta.id.clone(),
            created_at: time::aws(created_at),
            severity: first.severity.upper().to_owned(),
            alert_type: meta.alert_type.as_str().to_owned(),
            link: payload::link(self.console_url.as_deref(), &alert_id),
            title: first.title,
            name: meta.name.clone(),
            alert_id,
            description: meta.description.clone(),
            runbook: meta.runbook.clone(),
            tags: meta.tags.clone(),
            version: meta.version.clone(),
            alert_context: first.context,
        };
        Some(Alert {
            rule: key.0,
            payload,
            log_types: vec![first.log_type],
        })
    }

    /// Loads open windows from a state file (§5.4); a missing file is an
    /// empty state.
    ///
    /// # Errors
    /// An unreadable or malformed file.
    pub fn load_state(&mut self, path: &Path, rules: &[RuleMeta]) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let state: State = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("cannot read the state file `{}`: {e}", path.display())))?;
        if state.version != 1 {
            return Err(Error::Usage(format!(
                "the state file `{}` has version {}; this detect reads version 1",
                path.display(),
                state.version
            )));
        }
        let by_id: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        for w in state.windows {
            let (Some(&rule), Some(start)) = (by_id.get(w.rule_id.as_str()), time::parse(&w.window_start)) else {
                self.foreign.push(w);
                continue;
            };
            self.windows.insert(
                (rule, w.dedup),
                Window {
                    start,
                    count: w.count,
                    alert_id: w.alert_id,
                    first: None,
                    uniques: w.unique.into_iter().collect(),
                },
            );
        }
        Ok(())
    }

    /// Writes the windows still open at the end of the run: those whose
    /// period has not ended at the latest event time seen (with
    /// `--wall-clock`, now).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_state(&self, path: &Path, rules: &[RuleMeta]) -> Result<()> {
        let reference = if self.wall_clock {
            Some(time::now())
        } else {
            self.latest
        };
        let mut windows: Vec<StateWindow> = self
            .windows
            .iter()
            .filter(|((rule, _), w)| {
                let period = rules.get(*rule).map_or(60 * time::MINUTE, |r| r.period);
                reference.is_none_or(|t| t < w.start.saturating_add(period))
            })
            .map(|((rule, dedup), w)| StateWindow {
                rule_id: rules.get(*rule).map(|r| r.id.clone()).unwrap_or_default(),
                dedup: dedup.clone(),
                window_start: time::rfc3339(w.start),
                count: w.count,
                alert_id: w.alert_id.clone(),
                unique: {
                    let mut u: Vec<String> = w.uniques.iter().cloned().collect();
                    u.sort();
                    u
                },
            })
            .chain(self.foreign.iter().cloned())
            .collect();
        windows.sort_by(|a, b| (&a.rule_id, &a.dedup).cmp(&(&b.rule_id, &b.dedup)));
        let state = State { version: 1, windows };
        let text = serde_json::to_string_pretty(&state).unwrap_or_default();
        // A name of its own in the same folder (so the rename is atomic and
        // concurrent writers never share a temporary file), synced before
        // it replaces the state.
        let name = path
            .file_name()
            .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
        let tmp = path.with_file_name(format!(".{name}.{}.{:016x}.tmp", std::process::id(), fastrand::u64(..)));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, (text + "\n").as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(|e| {
            Error::Usage(format!(
                "cannot write the state file `{}`: {e}; the windows of this run are not recorded",
                path.display()
            ))
        })
    }
}

/// Locks a state file for this run (an advisory lock on `FILE.lock` next to
/// it, since the state itself is replaced by a rename), waiting at most
/// [`crate::alerting::log::LOCK_WAIT`] for another run; the lock lasts as
/// long as the returned file is open.
///
/// # Errors
/// The lock file cannot be created (a missing folder), or another run holds
/// the lock for too long.
pub fn lock_state(path: &Path) -> Result<std::fs::File> {
    let name = path
        .file_name()
        .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
    let lock = path.with_file_name(format!("{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| Error::Read {
            path: lock.clone(),
            source,
        })?;
    crate::alerting::log::lock_exclusive(&file, path, "the state file")?;
    Ok(file)
}

/// The state file (§5.4).
#[derive(Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    windows: Vec<StateWindow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateWindow {
    rule_id: String,
    dedup: String,
    window_start: String,
    count: u64,
    alert_id: String,
    /// The `unique()` values counted so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unique: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(threshold: u64, period_minutes: i64) -> RuleMeta {
        RuleMeta {
            id: "R".to_owned(),
            name: "R".to_owned(),
            description: String::new(),
            runbook: String::new(),
            tags: Vec::new(),
            version: String::new(),
            period: period_minutes * time::MINUTE,
            threshold,
            create_alert: true,
            output_ids: Vec::new(),
            log_types: vec!["L".to_owned()],
            alert_type: AlertType::Rule,
        }
    }

    fn at(hm: &str, title: &str) -> Match {
        Match {
            rule: 0,
            time: time::parse(&format!("2024-06-01 {hm}:00")).unwrap(),
            log_type: "L".to_owned(),
            title: title.to_owned(),
            dedup: "d".to_owned(),
            severity: Level::High,
            context: Value::Null,
            unique: None,
        }
    }

    #[test]
    fn sixty_minute_windows_of_the_spec_example() {
        let rules = [meta(1, 60)];
        let mut g = Grouper::new(1, false, false, None);
        let created: Vec<bool> = ["10:07", "10:36", "10:42", "11:06", "11:07", "11:12"]
            .iter()
            .map(|t| g.add(&rules, at(t, t)).is_some())
            .collect();
        assert_eq!(created, [true, false, false, false, true, false]);
        assert_eq!(g.appended, 4);
    }

    #[test]
    fn threshold_takes_fields_of_the_first_match_and_time_of_the_nth() {
        let rules = [meta(3, 15)];
        let mut g = Grouper::new(1, false, false, None);
        assert!(g.add(&rules, at("10:00", "first")).is_none());
        assert!(g.add(&rules, at("10:05", "second")).is_none());
        // A late event joins the open window.
        let a = g.add(&rules, at("09:50", "late")).unwrap();
        assert_eq!(a.payload.title, "first");
        assert_eq!(a.payload.created_at, "2024-06-01T09:50:00.000Z");
        // The window ends at exactly start + period.
        assert!(g.add(&rules, at("10:15", "x")).is_none());
        assert!(g.add(&rules, at("10:16", "y")).is_none());
        assert!(g.add(&rules, at("10:17", "z")).is_some());
    }

    #[test]
    fn periods_are_normalised() {
        assert_eq!(effective_period_minutes(None), 60);
        assert_eq!(effective_period_minutes(Some(0)), 60);
        assert_eq!(effective_period_minutes(Some(1)), 5);
        assert_eq!(effective_period_minutes(Some(4)), 5);
        assert_eq!(effective_period_minutes(Some(7)), 7);
    }

    #[test]
    fn limiter_stops_alerts_after_a_thousand_in_an_hour() {
        let rules = [meta(1, 5)];
        let mut g = Grouper::new(1, false, false, None);
        let base = time::parse("2024-06-01 10:00:00").unwrap();
        let mut n = 0;
        for i in 0..1500 {
            let mut m = at("10:00", "t");
            m.dedup = format!("d{i}");
            m.time = base + i * time::SECOND;
            n += usize::from(g.add(&rules, m).is_some());
        }
        assert_eq!(n, ALERT_LIMIT);
        assert_eq!(g.newly_limited, vec![0]);
    }

    #[test]
    fn state_round_trip_keeps_open_windows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let rules = [meta(2, 60)];
        let mut g = Grouper::new(1, false, false, None);
        assert!(g.add(&rules, at("10:00", "a")).is_none());
        g.save_state(&path, &rules).unwrap();
        let mut g2 = Grouper::new(1, false, false, None);
        g2.load_state(&path, &rules).unwrap();
        let a = g2.add(&rules, at("10:30", "b")).unwrap();
        assert_eq!(a.payload.alert_id, payload::alert_id("R", "d", at("10:00", "").time));
    }

    fn unique(hm: &str, value: Option<&str>) -> Match {
        Match {
            unique: value.map(str::to_owned),
            ..at(hm, hm)
        }
    }

    #[test]
    fn threshold_counts_distinct_unique_values_and_matches_without_one() {
        let rules = [meta(3, 15)];
        let mut g = Grouper::new(1, false, false, None);
        // a, a, b: two distinct values; the repeated one is not counted.
        assert!(g.add(&rules, unique("10:00", Some("a"))).is_none());
        assert!(g.add(&rules, unique("10:01", Some("a"))).is_none());
        assert!(g.add(&rules, unique("10:02", Some("b"))).is_none());
        // A third value reaches the threshold; the alert has the first
        // match's fields and this one's time.
        let a = g.add(&rules, unique("10:03", Some("c"))).unwrap();
        assert_eq!(a.payload.title, "10:00");
        assert_eq!(a.payload.created_at, "2024-06-01T10:03:00.000Z");
        // Later matches are appended, repeated values too.
        assert!(g.add(&rules, unique("10:04", Some("a"))).is_none());
        assert!(g.add(&rules, unique("10:05", Some("d"))).is_none());
        assert_eq!(g.appended, 2);
        // A new window counts afresh; a match without a value counts as
        // one event.
        assert!(g.add(&rules, unique("10:15", Some("a"))).is_none());
        assert!(g.add(&rules, unique("10:16", None)).is_none());
        assert!(g.add(&rules, unique("10:17", Some("a"))).is_none());
        assert!(g.add(&rules, unique("10:18", None)).is_some());
    }

    #[test]
    fn state_round_trip_keeps_the_unique_values_of_a_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let rules = [meta(2, 60)];
        let mut g = Grouper::new(1, false, false, None);
        assert!(g.add(&rules, unique("10:00", Some("a"))).is_none());
        g.save_state(&path, &rules).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"unique\": [\n        \"a\"\n      ]"), "{text}");
        let mut g2 = Grouper::new(1, false, false, None);
        g2.load_state(&path, &rules).unwrap();
        // "a" was counted in the earlier run: not again.
        assert!(g2.add(&rules, unique("10:10", Some("a"))).is_none());
        assert!(g2.add(&rules, unique("10:20", Some("b"))).is_some());
    }

    #[test]
    fn concurrent_state_writers_never_share_a_temporary_file() {
        // Without the lock (which separate runs take), writers in one
        // process still each write a temporary file of their own: every
        // save succeeds and leaves a whole state behind.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let rules = [meta(2, 60)];
        let mut g = Grouper::new(1, false, false, None);
        assert!(g.add(&rules, at("10:00", "a")).is_none());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        g.save_state(&path, &rules).unwrap();
                    }
                });
            }
        });
        let mut g2 = Grouper::new(1, false, false, None);
        g2.load_state(&path, &rules).unwrap();
        assert!(g2.add(&rules, at("10:30", "b")).is_some());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file is left");
    }
}
