//! The workers' part of a replay: parse one record, route it by log type,
//! evaluate the detections of that log type. The Python rules of the event
//! (those whose InlineFilters it passes) are left pending: the run sends
//! them to the Python workers, then [`complete`] merges their matches with
//! the native ones.

use std::cell::RefCell;

use serde_json::Value;

use super::Plan;
use super::join::{self, OwnedJoin};
use crate::alerting::time;
use crate::engine::AlertFields;
use crate::engine::schema::{Parsed, Schema};

/// One match found by a worker.
pub struct Found {
    /// Detection index in [`Plan::detections`].
    pub rule: u32,
    /// Its alert fields for the event.
    pub fields: AlertFields,
    /// The event with `p_alert_context`, when signals are written.
    pub event: Option<Value>,
    /// (correlation, item, join values) of the correlation items it feeds.
    pub joins: Vec<(usize, usize, Vec<OwnedJoin>)>,
    /// `unique()`'s value (Python rules that define it).
    pub unique: Option<String>,
}

/// An event with Python rules still to run.
pub struct Pending {
    /// The parsed event.
    pub event: Value,
    /// Indexes into [`Plan::python`] of the rules to run.
    pub rules: Vec<u32>,
    /// The event as one line of JSON text.
    pub text: String,
}

/// What a worker reports about one record.
pub enum Record {
    /// Not a JSON object.
    Bad(String),
    /// No `p_log_type` and no `--log-type`.
    NoLogType,
    /// An event without a usable time, or with matches.
    Event {
        /// `p_event_time`, nanoseconds.
        time: Option<i64>,
        /// Index into [`Plan::log_types`], `u32::MAX` for none.
        log_type: u32,
        /// The matches.
        found: Vec<Found>,
        /// The Python rules still to run, if any.
        python: Option<Box<Pending>>,
    },
}

/// How the workers read records.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Log type of events without `p_log_type` (`--log-type`).
    pub log_type: Option<&'a str>,
    /// Parse only, evaluate nothing (benchmarks).
    pub parse_only: bool,
    /// Keep each matching event for the signal lines.
    pub keep_events: bool,
    /// Parse every event in full and evaluate every detection of its log
    /// type (the reference for the fast path).
    pub full: bool,
}

thread_local! {
    /// The candidates of the record a worker thread is on, kept between
    /// records so that routing allocates nothing.
    static CANDIDATES: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// The worker's part for one record: parse, route, evaluate.
/// `None` for an event with a usable time and no match: nothing to report.
///
/// The fast path builds only what the detections read ([`Plan::schema`])
/// and evaluates only the candidates of the event's log type
/// ([`Plan::indexes`]); an event that matches, or has Python rules to
/// run, is parsed again in full for what carries it on. `opts.full`
/// parses every event in full and evaluates every detection of its log
/// type: the reference the fast path is checked against.
pub fn evaluate(plan: &Plan, opts: Options<'_>, bytes: &[u8]) -> Option<Record> {
    if opts.full || opts.parse_only {
        return evaluate_full(plan, opts, bytes);
    }
    // Routing reads little: the gate builds only that, and most events
    // have no candidate to build the rest for.
    let event = match pruned(plan.gate.as_ref().unwrap_or(&plan.schema), bytes) {
        Ok(v) => v,
        Err(bad) => return Some(bad),
    };
    let t = time::event_time(event.get("p_event_time"));
    let Some(log_type) = log_type(&event, &opts) else {
        return Some(Record::NoLogType);
    };
    let no_match = |log_type| {
        t.is_none().then_some(Record::Event {
            time: None,
            log_type,
            found: Vec::new(),
            python: None,
        })
    };
    let Some((log_type_index, _)) = plan.by_log_type.get(log_type) else {
        return no_match(u32::MAX);
    };
    let log_type_index = *log_type_index;
    let Some(index) = plan.indexes.get(log_type_index as usize) else {
        return no_match(log_type_index);
    };
    let mut candidates = CANDIDATES.take();
    index.candidates(&event, &mut candidates);
    if candidates.is_empty() {
        CANDIDATES.set(candidates);
        return no_match(log_type_index);
    }
    let event = match &plan.gate {
        Some(_) => match pruned(&plan.schema, bytes) {
            Ok(v) => v,
            Err(bad) => {
                CANDIDATES.set(candidates);
                return Some(bad);
            }
        },
        None => event,
    };
    let (found, python) = match_rules(plan, &candidates, &event);
    CANDIDATES.set(candidates);
    if python.is_empty() && found.is_empty() {
        return no_match(log_type_index);
    }
    // What goes on (to the Python workers, into signals, to correlation
    // joins) is the whole event.
    let carried = !python.is_empty()
        || opts.keep_events
        || found.iter().any(|f| {
            plan.detections
                .get(f.rule as usize)
                .is_some_and(|d| !d.feeds.is_empty())
        });
    let event = if carried {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => v,
            Err(e) => return Some(Record::Bad(format!("not valid JSON ({e}); skipped"))),
        }
    } else {
        event
    };
    finish(plan, opts.keep_events, bytes, t, log_type_index, event, found, python)
}

/// A record parsed against `schema`: the pruned object, or the record
/// that reports why it is skipped.
fn pruned(schema: &Schema, bytes: &[u8]) -> Result<Value, Record> {
    match schema.parse(bytes) {
        Ok(Parsed::Object(v)) => Ok(v),
        Ok(Parsed::Other(kind)) => Err(Record::Bad(format!("not a JSON object but {kind}; skipped"))),
        Err(e) => Err(Record::Bad(format!("not valid JSON ({e}); skipped"))),
    }
}

/// The event's `p_log_type`, else the `--log-type` of the run.
fn log_type<'e>(event: &'e Value, opts: &Options<'e>) -> Option<&'e str> {
    match event.get("p_log_type") {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => opts.log_type,
    }
}

/// Every detection of the event's log type on the fully parsed event.
fn evaluate_full(plan: &Plan, opts: Options<'_>, bytes: &[u8]) -> Option<Record> {
    let event: Value = match serde_json::from_slice(bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Some(Record::Bad(format!("not a JSON object but {kind}; skipped")));
        }
        Err(e) => return Some(Record::Bad(format!("not valid JSON ({e}); skipped"))),
    };
    let t = time::event_time(event.get("p_event_time"));
    let Some(log_type) = log_type(&event, &opts) else {
        return Some(Record::NoLogType);
    };
    if opts.parse_only {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: u32::MAX,
            found: Vec::new(),
            python: None,
        });
    }
    let Some((log_type_index, rules)) = plan.by_log_type.get(log_type) else {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: u32::MAX,
            found: Vec::new(),
            python: None,
        });
    };
    let log_type_index = *log_type_index;
    let (found, python) = match_rules(plan, rules, &event);
    finish(plan, opts.keep_events, bytes, t, log_type_index, event, found, python)
}

/// The matches of `event` among `rules`, and the Python rules it goes on
/// to: their `InlineFilters` run first, natively, and only the events that
/// pass them reach `rule()`.
fn match_rules(plan: &Plan, rules: &[u32], event: &Value) -> (Vec<Found>, Vec<u32>) {
    let mut found = Vec::new();
    let mut python = Vec::new();
    for &r in rules {
        let Some(d) = plan.detections.get(r as usize) else {
            continue;
        };
        if let Some(p) = d.python {
            if d.program.passes_filters(event) {
                python.push(p);
            }
            continue;
        }
        if d.program.matches(event) {
            found.push(Found {
                rule: r,
                fields: d.program.alert(event),
                event: None,
                joins: Vec::new(),
                unique: None,
            });
        }
    }
    (found, python)
}

/// The record of an event with its matches and pending Python rules.
#[allow(clippy::too_many_arguments)]
fn finish(
    plan: &Plan,
    keep_events: bool,
    bytes: &[u8],
    t: Option<i64>,
    log_type_index: u32,
    event: Value,
    mut found: Vec<Found>,
    python: Vec<u32>,
) -> Option<Record> {
    if !python.is_empty() {
        // One line of JSON: a record of a JSON array may span lines, and a
        // raw line break can only be white space between tokens.
        let text = String::from_utf8_lossy(bytes).replace(['\n', '\r'], " ");
        return Some(Record::Event {
            time: t,
            log_type: log_type_index,
            found,
            python: Some(Box::new(Pending {
                event,
                rules: python,
                text,
            })),
        });
    }
    if found.is_empty() {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: log_type_index,
            found,
            python: None,
        });
    }
    attach(plan, keep_events, event, &mut found);
    Some(Record::Event {
        time: t,
        log_type: log_type_index,
        found,
        python: None,
    })
}

/// Merges the Python matches of a pending event with its native ones (in
/// detection order) and attaches the event to those that need it.
pub fn complete(plan: &Plan, keep_events: bool, pending: Pending, found: &mut Vec<Found>, python: Vec<Found>) {
    if python.is_empty() && found.is_empty() {
        return;
    }
    found.extend(python);
    found.sort_by_key(|f| f.rule);
    attach(plan, keep_events, pending.event, found);
}

/// Signals carry the event with its alert context (§3.1 step 4): the
/// copy each match keeps, and the join values of the correlation items it
/// feeds.
fn attach(plan: &Plan, keep_events: bool, mut event: Value, found: &mut [Found]) {
    if found.is_empty() {
        return;
    }
    let last = found.len() - 1;
    for (i, f) in found.iter_mut().enumerate() {
        let Some(d) = plan.detections.get(f.rule as usize) else {
            continue;
        };
        if !keep_events && d.feeds.is_empty() {
            continue;
        }
        let mut e = if i == last && keep_events {
            std::mem::take(&mut event)
        } else {
            event.clone()
        };
        if let Value::Object(o) = &mut e {
            o.insert("p_alert_context".to_owned(), f.fields.context.clone());
        }
        for (c, item, fields) in &d.feeds {
            let values = fields.iter().map(|p| OwnedJoin::of(join::field(&e, p), true)).collect();
            f.joins.push((*c, *item, values));
        }
        if keep_events {
            f.event = Some(e);
        }
    }
}
