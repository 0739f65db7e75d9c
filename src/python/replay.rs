//! Python rules in a replay (`detect run`): every worker of the pool loads
//! the run's streaming Python rules once, then takes batches of events and
//! answers, per event, the matches (with their alert fields) and the
//! exceptions. Batches are spread over the workers; the results come back
//! in input order.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use serde::Deserialize;

use super::pool::{Pool, Recv, Worker, seconds};
use super::protocol::LoadError;

/// Events per request: enough that the per-line overhead stays low, few
/// enough that both workers get work from a small input.
pub const CHUNK: usize = 256;

/// Worker breaks tolerated while finding the rule that broke a chunk.
const CRASHES: usize = 8;

/// How long loading the rules may take beyond the per-rule limit.
const LOAD_SLACK: Duration = Duration::from_secs(120);

/// One streaming Python rule of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRule {
    /// The module name (the detection's `RuleID`).
    pub id: String,
    /// The effective `.py` file (the base's for a derived detection).
    pub path: PathBuf,
    /// The static `Severity`, upper case (what `DEFAULT` and a raising
    /// `severity()` give).
    pub severity: &'static str,
}

/// One event to run, with the rules (indexes into the rule list) whose
/// InlineFilters it passed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventJob {
    /// The event's log type (chooses the data model).
    pub log_type: String,
    /// Rule indexes.
    pub rules: Vec<u32>,
    /// The event as one line of JSON text.
    pub event: String,
}

/// A match, with panther-core's alert fields (batch-mode fallbacks
/// applied).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct PyMatch {
    /// Rule index.
    pub r: u32,
    /// `title()`, when defined.
    #[serde(default)]
    pub title: Option<String>,
    /// `dedup()`, or panther-core's fallback.
    #[serde(default)]
    pub dedup: Option<String>,
    /// `severity()`, when defined.
    #[serde(default)]
    pub severity: Option<String>,
    /// `alert_context()` as JSON text, when defined.
    #[serde(default)]
    pub context: Option<String>,
    /// `unique()`, when defined and not `None`.
    #[serde(default)]
    pub unique: Option<String>,
    /// `destinations()`, when defined.
    #[serde(default)]
    pub destinations: Option<Vec<String>>,
}

/// An exception of a rule on an event.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PyError {
    /// Rule index.
    pub r: u32,
    /// `Type: message`.
    pub error: String,
    /// The file the traceback points at.
    #[serde(default)]
    pub file: Option<String>,
    /// Its line.
    #[serde(default)]
    pub line: Option<u32>,
}

/// What the Python rules gave for one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventOutcome {
    /// Matches, in rule order.
    pub matches: Vec<PyMatch>,
    /// Exceptions.
    pub errors: Vec<PyError>,
}

#[derive(Deserialize)]
struct EventReply {
    i: usize,
    #[serde(default)]
    m: Vec<PyMatch>,
    #[serde(default)]
    e: Vec<PyError>,
}

#[derive(Deserialize, Default)]
struct BatchReply {
    #[serde(default)]
    results: Option<Vec<EventReply>>,
    #[serde(default)]
    loaded_rules: Option<usize>,
    #[serde(default)]
    errors: Vec<LoadIndexed>,
    #[serde(default)]
    fatal: Option<String>,
}

#[derive(Deserialize)]
struct LoadIndexed {
    index: usize,
    #[serde(flatten)]
    error: LoadError,
}

/// The workers of one replay, each with the rules loaded.
#[derive(Debug)]
pub struct Replayer<'p> {
    pool: &'p Pool,
    load: String,
    rules: usize,
    slots: Vec<Mutex<Option<Worker>>>,
    counter: AtomicUsize,
    /// Rules that failed to load: (rule index, why).
    pub load_errors: Vec<(usize, LoadError)>,
}

fn string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

/// The `load` request.
fn load_request(rules: &[ReplayRule], timeout: Duration) -> String {
    let mut out = format!("{{\"op\":\"load\",\"timeout\":{},\"rules\":[", timeout.as_secs_f64());
    for (i, r) in rules.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"index\":{i},\"id\":");
        string(&mut out, &r.id);
        out.push_str(",\"path\":");
        string(&mut out, &r.path.to_string_lossy());
        let _ = write!(out, ",\"severity\":\"{}\"}}", r.severity);
    }
    out.push_str("]}\n");
    out
}

/// The `events` request of `jobs`.
fn events_request(jobs: &[EventJob]) -> String {
    let size: usize = jobs.iter().map(|j| j.event.len() + 64).sum();
    let mut out = String::with_capacity(size + 32);
    out.push_str("{\"op\":\"events\",\"events\":[");
    for (i, j) in jobs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"log_type\":");
        string(&mut out, &j.log_type);
        out.push_str(",\"rules\":[");
        for (k, r) in j.rules.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let _ = write!(out, "{r}");
        }
        out.push_str("],\"event\":");
        out.push_str(&j.event);
        out.push('}');
    }
    out.push_str("]}\n");
    out
}

impl<'p> Replayer<'p> {
    /// Loads `rules` in the pool's first worker; the other workers load
    /// them when they start.
    ///
    /// # Errors
    /// The first worker cannot load them at all (it died, timed out).
    pub fn new(pool: &'p Pool, rules: &[ReplayRule]) -> Result<Replayer<'p>, String> {
        let workers = pool.config().workers.max(1);
        let load = load_request(rules, pool.config().timeout);
        let counter = AtomicUsize::new(1000);
        let mut first = match pool.take_first() {
            Some(w) => w,
            None => pool.spawn_ready(&counter)?,
        };
        let load_errors = load_in(&mut first, &load, load_timeout(pool, rules.len()))?;
        let mut first = Some(first);
        let slots: Vec<Mutex<Option<Worker>>> = (0..workers).map(|_| Mutex::new(first.take())).collect();
        Ok(Replayer {
            pool,
            load,
            rules: rules.len(),
            slots,
            counter,
            load_errors,
        })
    }

    fn load_timeout(&self) -> Duration {
        load_timeout(self.pool, self.rules)
    }

    /// Runs `jobs` on the workers, [`CHUNK`] events per request; one
    /// outcome per job, in job order. A worker that dies or stops
    /// answering is replaced; the events it held get an error for each of
    /// their rules.
    pub fn run(&self, jobs: &[EventJob]) -> Vec<EventOutcome> {
        let chunks: Vec<&[EventJob]> = jobs.chunks(CHUNK).collect();
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Vec<EventOutcome>>>> = Mutex::new(vec![None; chunks.len()]);
        let threads = self.slots.len().min(chunks.len());
        std::thread::scope(|s| {
            for slot in self.slots.iter().take(threads) {
                let (next, results, chunks) = (&next, &results, &chunks);
                s.spawn(move || {
                    let Ok(mut guard) = slot.lock() else { return };
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else { break };
                        let out = self.chunk(&mut guard, chunk);
                        if let Ok(mut r) = results.lock() {
                            r[i] = Some(out);
                        }
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_default();
        let mut out = Vec::with_capacity(jobs.len());
        for (chunk, r) in chunks.iter().zip(results) {
            match r {
                Some(r) => out.extend(r),
                None => out.extend(chunk.iter().map(|j| failed(j, "the events were not run"))),
            }
        }
        out
    }

    /// One chunk on `slot`'s worker. When the worker breaks on it (dies,
    /// stops answering), the chunk runs again one event at a time, and an
    /// event that breaks a worker again one rule at a time, so only the
    /// rule that broke it fails there; after [`CRASHES`] breaks in one
    /// chunk, the rest of it fails with the reason.
    fn chunk(&self, slot: &mut Option<Worker>, jobs: &[EventJob]) -> Vec<EventOutcome> {
        let why = match self.request(slot, jobs) {
            Ok(out) => return out,
            Err(why) => why,
        };
        let mut budget = CRASHES;
        let one = |slot: &mut Option<Worker>, job: &EventJob, budget: &mut usize| -> Result<EventOutcome, String> {
            if *budget == 0 {
                return Err(why.clone());
            }
            match self.request(slot, std::slice::from_ref(job)) {
                Ok(mut o) => Ok(o.pop().unwrap_or_default()),
                Err(e) => {
                    *budget -= 1;
                    Err(e)
                }
            }
        };
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            match one(slot, job, &mut budget) {
                Ok(o) => out.push(o),
                Err(e) if job.rules.len() <= 1 || budget == 0 => out.push(failed(job, &e)),
                Err(_) => {
                    let mut merged = EventOutcome::default();
                    for &r in &job.rules {
                        let single = EventJob {
                            log_type: job.log_type.clone(),
                            rules: vec![r],
                            event: job.event.clone(),
                        };
                        let o = one(slot, &single, &mut budget).unwrap_or_else(|e| failed(&single, &e));
                        merged.matches.extend(o.matches);
                        merged.errors.extend(o.errors);
                    }
                    out.push(merged);
                }
            }
        }
        out
    }

    /// One request on `slot`'s worker (started and loaded when needed);
    /// `Err` says why the worker broke (it is then gone from the slot).
    fn request(&self, slot: &mut Option<Worker>, jobs: &[EventJob]) -> Result<Vec<EventOutcome>, String> {
        if slot.is_none() {
            // A worker the pool started with it (already set up), else a new one.
            let mut w = match self.pool.take_first() {
                Some(w) => w,
                None => self
                    .pool
                    .spawn_ready(&self.counter)
                    .map_err(|e| format!("the Python worker could not be started: {e}"))?,
            };
            load_in(&mut w, &self.load, self.load_timeout())?;
            *slot = Some(w);
        }
        let Some(worker) = slot.as_mut() else {
            return Err("no Python worker".to_owned());
        };
        let request = events_request(jobs);
        if let Err(e) = worker.send(&request) {
            let why = worker.died(&format!("could not be sent the events ({e})"));
            *slot = None;
            return Err(why);
        }
        // The worker stops a rule at the per-event limit itself (and does
        // not run it again); this is the limit for a worker stuck where
        // it cannot.
        let rules = jobs.iter().map(|j| j.rules.len()).max().unwrap_or(1).max(1) as u32;
        let limit = self.pool.config().timeout * (rules + 1) + Duration::from_secs(30);
        let reply = match worker.recv_line(limit) {
            Ok(line) => serde_json::from_slice::<BatchReply>(&line).unwrap_or_else(|e| BatchReply {
                fatal: Some(format!("an unreadable reply ({e})")),
                ..BatchReply::default()
            }),
            Err(Recv::Timeout) => {
                worker.kill();
                *slot = None;
                return Err(format!(
                    "the Python worker did not answer within {}; it was stopped",
                    seconds(limit)
                ));
            }
            Err(Recv::Closed) => {
                let why = worker.died("exited while running this event");
                *slot = None;
                return Err(why);
            }
        };
        let Some(results) = reply.results else {
            let why = format!(
                "the Python worker failed: {}",
                reply.fatal.as_deref().map_or("an unexpected reply", last_line)
            );
            worker.kill();
            *slot = None;
            return Err(why);
        };
        let mut out = vec![EventOutcome::default(); jobs.len()];
        for r in results {
            if let Some(o) = out.get_mut(r.i) {
                o.matches = r.m;
                o.errors = r.e;
            }
        }
        Ok(out)
    }

    /// Stops the workers.
    pub fn finish(self) {
        for slot in self.slots {
            if let Ok(Some(mut w)) = slot.into_inner() {
                w.exit();
            }
        }
    }
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or(s)
}

fn load_timeout(pool: &Pool, rules: usize) -> Duration {
    pool.config().timeout * u32::try_from(rules.max(1)).unwrap_or(u32::MAX) + LOAD_SLACK
}

/// Sends the `load` request; the rules that failed to load.
fn load_in(w: &mut Worker, load: &str, timeout: Duration) -> Result<Vec<(usize, LoadError)>, String> {
    w.send(load).map_err(|e| format!("could not be sent the rules ({e})"))?;
    match w.recv_line(timeout) {
        Ok(line) => match serde_json::from_slice::<BatchReply>(&line) {
            Ok(BatchReply {
                loaded_rules: Some(_),
                errors,
                ..
            }) => Ok(errors.into_iter().map(|e| (e.index, e.error)).collect()),
            Ok(r) => {
                w.kill();
                Err(format!(
                    "the Python worker failed to load the rules: {}",
                    r.fatal.as_deref().map_or("an unexpected reply", last_line)
                ))
            }
            Err(e) => {
                w.kill();
                Err(format!("the Python worker gave an unreadable reply ({e})"))
            }
        },
        Err(Recv::Timeout) => {
            w.kill();
            Err(format!("loading the Python rules took more than {}", seconds(timeout)))
        }
        Err(Recv::Closed) => Err(w.died("exited while loading the rules")),
    }
}

/// An error for each rule of `job`.
fn failed(job: &EventJob, why: &str) -> EventOutcome {
    EventOutcome {
        matches: Vec::new(),
        errors: job
            .rules
            .iter()
            .map(|&r| PyError {
                r,
                error: why.to_owned(),
                file: None,
                line: None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_request_is_one_line_with_each_event_verbatim() {
        let jobs = vec![
            EventJob {
                log_type: "A.B".to_owned(),
                rules: vec![0, 2],
                event: r#"{"x":1,"p_log_type":"A.B"}"#.to_owned(),
            },
            EventJob {
                log_type: "C\"D".to_owned(),
                rules: vec![1],
                event: "{}".to_owned(),
            },
        ];
        let line = events_request(&jobs);
        assert_eq!(
            line,
            "{\"op\":\"events\",\"events\":[{\"log_type\":\"A.B\",\"rules\":[0,2],\"event\":{\"x\":1,\"p_log_type\":\"A.B\"}},{\"log_type\":\"C\\\"D\",\"rules\":[1],\"event\":{}}]}\n"
        );
    }

    #[test]
    fn a_results_reply_parses_matches_and_errors() {
        let r: BatchReply = serde_json::from_str(
            r#"{"results":[{"i":3,"m":[{"r":1,"title":"t","dedup":"d","severity":null,"context":"{\"a\":1}","unique":"u","destinations":null}],"e":[{"r":0,"error":"KeyError: 'x'","file":"/r/a.py","line":4}]}]}"#,
        )
        .unwrap_or_default();
        let results = r.results.unwrap_or_default();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].i, 3);
        assert_eq!(results[0].m[0].dedup.as_deref(), Some("d"));
        assert_eq!(results[0].m[0].unique.as_deref(), Some("u"));
        assert_eq!(results[0].e[0].line, Some(4));
    }

    #[test]
    fn a_load_request_names_each_rule_with_its_index() {
        let line = load_request(
            &[ReplayRule {
                id: "R.1".to_owned(),
                path: PathBuf::from("/r/a.py"),
                severity: "HIGH",
            }],
            Duration::from_secs(15),
        );
        assert_eq!(
            line,
            "{\"op\":\"load\",\"timeout\":15,\"rules\":[{\"index\":0,\"id\":\"R.1\",\"path\":\"/r/a.py\",\"severity\":\"HIGH\"}]}\n"
        );
    }
}
