//! `detect run`: run detections over log files and write or deliver alerts
//! (alerts-and-webhooks §4–§5, §7).
//!
//! The pipeline: a reader thread cuts the inputs into batches
//! ([`crate::alerting::input`]); the workers parse each batch's events,
//! route them by log type and evaluate the compiled detections; the main
//! thread then walks the results in input order, writes signals and feeds
//! the grouper, which creates alerts. Only that last step is sequential, so
//! output never depends on thread timing. Correlation rules are evaluated
//! once all input is read, over the signals of the run, at the run times
//! of their `Schedule`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::alerting::group::{self, Alert, Grouper, Match, RuleMeta};
use crate::alerting::input::{self, Message};
use crate::alerting::payload::{self, AlertType};
use crate::alerting::time::{self, MINUTE, SECOND};
use crate::cli::OutputArgs;
use crate::cli::run::RunArgs;
use crate::commands::alerts::{self, DeliverOptions, Deliverable};
use crate::commands::context::Context;
use crate::diagnostic::Code;
use crate::engine::Program;
use crate::engine::correlation::{Correlation, JoinKey, JoinValue};
use crate::error::{Error, Result};
use crate::exit;
use crate::filter;
use crate::model::correlation::{CorrelationRule, Trigger};
use crate::model::{Analysis, AnalysisType, Body, Level, Rule};
use crate::project::Project;
use crate::resolve::{self, Base, Index};
use crate::yaml::Node;

/// Problems reported per input before the rest are only counted.
const SHOWN_PROBLEMS: usize = 20;

/// A detection compiled for the run.
struct Detection {
    meta: RuleMeta,
    program: Program,
    /// Produces signals only (`CreateAlert: false`, or only needed by a
    /// correlation rule under `--rule`).
    signals_only: bool,
    /// (correlation, item, join fields) this detection feeds.
    feeds: Vec<(usize, usize, Vec<String>)>,
}

/// A correlation rule compiled for the run.
struct CorrelationDetection {
    meta: RuleMeta,
    engine: Correlation,
    trigger: Trigger,
    /// Static `Severity`.
    severity: Level,
    /// `RuleID` of each item, in item order.
    item_rules: Vec<String>,
    signals_only: bool,
    /// Referenced correlation rules (indexes), evaluated first.
    needs: Vec<usize>,
    /// (correlation, item) pairs of other correlation rules fed by this one.
    feeds: Vec<(usize, usize)>,
}

/// What the run evaluates, with what it skips and why.
struct Plan {
    detections: Vec<Detection>,
    correlations: Vec<CorrelationDetection>,
    /// Log type → (its index in `log_types`, detection indexes ascending).
    by_log_type: HashMap<String, (u32, Vec<u32>)>,
    /// Log types in `by_log_type`, to name them by index.
    log_types: Vec<String>,
    /// Skip reason → count.
    skipped: BTreeMap<&'static str, usize>,
    /// (ID, reason) of skipped detections.
    skipped_ids: Vec<(String, &'static str)>,
    disabled: usize,
    invalid: usize,
}

/// A join value kept with a signal until the correlation rules run.
#[derive(Debug, Clone)]
enum OwnedJoin {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    List(Vec<OwnedJoin>),
    Opaque,
}

impl OwnedJoin {
    fn of(v: Option<&Value>, top: bool) -> OwnedJoin {
        match v {
            None | Some(Value::Null) => OwnedJoin::Null,
            Some(Value::String(s)) => OwnedJoin::Text(s.clone()),
            Some(Value::Bool(b)) => OwnedJoin::Bool(*b),
            Some(Value::Number(n)) => n.as_i64().map_or(OwnedJoin::Opaque, OwnedJoin::Int),
            Some(Value::Array(items)) if top => {
                OwnedJoin::List(items.iter().map(|i| OwnedJoin::of(Some(i), false)).collect())
            }
            Some(_) => OwnedJoin::Opaque,
        }
    }

    fn borrow<'a>(&'a self, lists: &'a [Vec<JoinValue<'a>>], at: &mut usize) -> JoinValue<'a> {
        match self {
            OwnedJoin::Null => JoinValue::Null,
            OwnedJoin::Text(s) => JoinValue::Text(s),
            OwnedJoin::Int(i) => JoinValue::Int(*i),
            OwnedJoin::Bool(b) => JoinValue::Bool(*b),
            OwnedJoin::Opaque => JoinValue::Opaque,
            OwnedJoin::List(_) => {
                let v = lists.get(*at).map_or(JoinValue::Opaque, |l| JoinValue::List(l));
                *at += 1;
                v
            }
        }
    }

    fn flat(&self) -> JoinValue<'_> {
        match self {
            OwnedJoin::Null => JoinValue::Null,
            OwnedJoin::Text(s) => JoinValue::Text(s),
            OwnedJoin::Int(i) => JoinValue::Int(*i),
            OwnedJoin::Bool(b) => JoinValue::Bool(*b),
            OwnedJoin::List(_) | OwnedJoin::Opaque => JoinValue::Opaque,
        }
    }
}

/// A signal kept for a correlation item: time in seconds, join values,
/// log type.
struct Kept {
    time: i64,
    values: Vec<OwnedJoin>,
    log_type: u32,
}

/// One match found by a worker.
struct Found {
    rule: u32,
    fields: crate::engine::AlertFields,
    event: Option<Value>,
    joins: Vec<(usize, usize, Vec<OwnedJoin>)>,
}

/// What a worker reports about one record.
enum Record {
    /// Not a JSON object.
    Bad(String),
    /// No `p_log_type` and no `--log-type`.
    NoLogType,
    /// An event without a usable time, or with matches.
    Event {
        time: Option<i64>,
        log_type: u32,
        found: Vec<Found>,
    },
}

/// Counters of one run.
#[derive(Default)]
struct Stats {
    events: u64,
    bad: u64,
    no_log_type: u64,
    signals: u64,
    alerts: BTreeMap<&'static str, u64>,
    /// Per detection: matches, alerts.
    hits: Vec<(u64, u64)>,
    corr_hits: Vec<(u64, u64)>,
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself: a bad flag or settings file, an unreadable
/// input, an unwritable output.
pub fn run(args: &RunArgs, out: &mut dyn Write) -> Result<u8> {
    let start = Instant::now();
    let output = OutputArgs {
        jobs: args.jobs,
        strict: args.strict,
        quiet: args.quiet,
        verbose: u8::from(args.verbose),
        ..OutputArgs::default()
    };
    let mut cx = Context::resolve(&args.project, &output)?;
    let now = match &args.now {
        Some(t) => time::parse(t).ok_or_else(|| {
            Error::Usage(format!(
                "`--now {t}` is not a time; use RFC 3339 (2024-06-01T10:00:00Z) or `YYYY-MM-DD HH:MM:SS`"
            ))
        })?,
        None => time::now(),
    };
    if args.dry_run && !args.deliver {
        return Err(Error::Usage("`--dry-run` needs `--deliver`".to_owned()));
    }
    let mut err = std::io::stderr();
    let project = cx.load()?;
    for d in project
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::UnknownSetting | Code::PatIgnoresSetting))
    {
        let _ = writeln!(err, "{}", warning(d.code, &d.message));
    }
    let plan = plan(&cx, &project, args)?;
    let console_url = cx.settings.console_url.clone();

    let count = Arc::new(AtomicU64::new(0));
    let (inputs, total_bytes) = input::open(&args.events, &count)?;
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();

    let mut alerts_file = match &args.alerts_out {
        Some(p) => Some(BufWriter::new(File::create(p).map_err(|source| Error::Read {
            path: p.clone(),
            source,
        })?)),
        None => None,
    };
    let mut signals_file = match &args.signals_out {
        Some(p) => Some(BufWriter::new(File::create(p).map_err(|source| Error::Read {
            path: p.clone(),
            source,
        })?)),
        None => None,
    };

    let mut grouper = Grouper::new(
        plan.detections.len() + plan.correlations.len(),
        args.no_alert_limit,
        args.wall_clock,
        console_url,
    );
    let metas: Vec<RuleMeta> = plan
        .detections
        .iter()
        .map(|d| d.meta.clone())
        .chain(plan.correlations.iter().map(|c| c.meta.clone()))
        .collect();
    // Held to the end of the run: concurrent runs on one state file take
    // turns, so neither loses the windows of the other.
    let _state_lock = match &args.state {
        Some(state) => {
            let lock = group::lock_state(state)?;
            grouper.load_state(state, &metas)?;
            Some(lock)
        }
        None => None,
    };

    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = match total_bytes {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    });

    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(2);
    let reader = std::thread::spawn(move || input::read_all(inputs, &tx));

    let mut stats = Stats {
        hits: vec![(0, 0); plan.detections.len()],
        corr_hits: vec![(0, 0); plan.correlations.len()],
        ..Stats::default()
    };
    let mut kept: Vec<Vec<Vec<Kept>>> = plan
        .correlations
        .iter()
        .map(|c| (0..c.engine.len()).map(|_| Vec::new()).collect())
        .collect();
    let mut shown = vec![0usize; names.len()];
    let mut no_time = vec![0u64; names.len()];
    let mut read_failed = false;
    let mut alerts: Vec<Alert> = Vec::new();
    let mut write_error: Option<std::io::Error> = None;
    let keep_events = signals_file.is_some();
    let mut latest_time: Option<i64> = None;

    for message in rx {
        match message {
            Message::Problem { input, line, message } => {
                read_failed = true;
                let name = names.get(input).map_or("<input>", String::as_str);
                let at = line.map_or(String::new(), |l| format!(":{l}"));
                let _ = writeln!(err, "error: {name}{at}: {message}");
            }
            Message::Done { input } => {
                if let (Some(n), Some(name)) = (no_time.get(input), names.get(input)) {
                    if *n > 0 && !args.quiet {
                        let message = format!(
                            "{} had no usable `p_event_time`; {} given the time {}",
                            counted(*n, "event", "events"),
                            if *n == 1 { "it was" } else { "they were" },
                            time::aws(now)
                        );
                        let _ = writeln!(err, "{name}: {}", warning(Code::EventNoTime, &message));
                    }
                }
                if let Some(s) = shown.get(input) {
                    if *s > SHOWN_PROBLEMS {
                        let name = names.get(input).map_or("<input>", String::as_str);
                        let _ = writeln!(
                            err,
                            "note: {name}: {} more unreadable or skipped {} not shown",
                            s - SHOWN_PROBLEMS,
                            if s - SHOWN_PROBLEMS == 1 { "record" } else { "records" }
                        );
                    }
                }
            }
            Message::Batch(batch) => {
                let (records, n) = input::par_records(&batch, |bytes| evaluate(&plan, args, keep_events, bytes));
                stats.events += n;
                let name = names.get(batch.input).map_or("<input>", String::as_str);
                for (line, rec) in records {
                    match rec {
                        Record::Bad(msg) => {
                            stats.bad += 1;
                            stats.events -= 1;
                            report(
                                &mut err,
                                &mut shown[batch.input],
                                name,
                                line,
                                Code::EventUnreadable,
                                &msg,
                            );
                        }
                        Record::NoLogType => {
                            stats.no_log_type += 1;
                            stats.events -= 1;
                            report(
                                &mut err,
                                &mut shown[batch.input],
                                name,
                                line,
                                Code::EventNoLogType,
                                "the event has no `p_log_type` and no `--log-type` was given; skipped",
                            );
                        }
                        Record::Event {
                            time: t,
                            log_type,
                            found,
                        } => {
                            let t = t.unwrap_or_else(|| {
                                no_time[batch.input] += 1;
                                now
                            });
                            let log_type_name = plan.log_types.get(log_type as usize).map_or("", String::as_str);
                            for f in found {
                                latest_time = Some(latest_time.map_or(t, |l| l.max(t)));
                                let rule = f.rule as usize;
                                let Some(d) = plan.detections.get(rule) else { continue };
                                stats.signals += 1;
                                stats.hits[rule].0 += 1;
                                if let Some(w) = signals_file.as_mut() {
                                    let line = signal_line(&d.meta.id, log_type_name, t, &f.fields, f.event);
                                    if let Err(e) = w.write_all(line.as_bytes()) {
                                        write_error.get_or_insert(e);
                                    }
                                }
                                for (c, item, values) in f.joins {
                                    if let Some(slot) = kept.get_mut(c).and_then(|k| k.get_mut(item)) {
                                        slot.push(Kept {
                                            time: t.div_euclid(SECOND),
                                            values,
                                            log_type,
                                        });
                                    }
                                }
                                if d.signals_only {
                                    continue;
                                }
                                let (Some(title), Some(dedup), Some(severity)) =
                                    (f.fields.title, f.fields.dedup, f.fields.severity)
                                else {
                                    continue;
                                };
                                let m = Match {
                                    rule,
                                    time: t,
                                    log_type: log_type_name.to_owned(),
                                    title,
                                    dedup,
                                    severity,
                                    context: f.fields.context,
                                };
                                if let Some(a) = grouper.add(&metas, m) {
                                    stats.hits[rule].1 += 1;
                                    emit(&mut alerts_file, out, &a, &mut write_error);
                                    *stats.alerts.entry(AlertType::Rule.as_str()).or_default() += 1;
                                    alerts.push(a);
                                }
                            }
                        }
                    }
                }
                if let Some(bar) = &progress {
                    bar.set_position(count.load(std::sync::atomic::Ordering::Relaxed));
                }
            }
        }
    }
    let _ = reader.join();
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }

    // Correlation rules, over the signals of the run.
    let corr_signals = correlate(&plan, &kept, &mut grouper, &metas, &mut stats, |a, line| {
        if let (Some(w), Some(line)) = (signals_file.as_mut(), line) {
            if let Err(e) = w.write_all(line.as_bytes()) {
                write_error.get_or_insert(e);
            }
        }
        if let Some(a) = a {
            emit(&mut alerts_file, out, &a, &mut write_error);
            alerts.push(a);
        }
    });
    let corr_alerts = alerts
        .iter()
        .filter(|a| a.payload.alert_type == AlertType::CorrelationRule.as_str())
        .count() as u64;
    if corr_alerts > 0 {
        stats.alerts.insert(AlertType::CorrelationRule.as_str(), corr_alerts);
    }
    stats.signals += corr_signals;

    for &rule in &grouper.newly_limited {
        if let Some(m) = metas.get(rule) {
            let message = format!(
                "`{}` created {} alerts within one hour; it produced signals only from then on (--no-alert-limit lifts this)",
                m.id,
                group::ALERT_LIMIT
            );
            let _ = writeln!(err, "{}", warning(Code::AlertLimit, &message));
        }
    }

    // Make what was produced durable before anything is sent.
    if let Some(mut w) = signals_file.take() {
        if let Err(e) = w.flush() {
            write_error.get_or_insert(e);
        }
    }
    if let Some(w) = alerts_file.take() {
        match w.into_inner() {
            Ok(f) => {
                // Devices such as /dev/null cannot be synced (EINVAL).
                if let Err(e) = f.sync_all() {
                    if e.kind() != std::io::ErrorKind::InvalidInput {
                        write_error.get_or_insert(e);
                    }
                }
            }
            Err(e) => {
                write_error.get_or_insert(e.into_error());
            }
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            write_error.get_or_insert(e);
        }
    }
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Error::Write(e));
        }
    }
    let mut code = exit::SUCCESS;
    let alert_count: u64 = stats.alerts.values().sum();
    if args.fail_on_alert && alert_count > 0 {
        code = code.max(exit::FINDINGS);
    }
    if cx.strict && !plan.skipped.is_empty() {
        code = code.max(exit::FINDINGS);
    }
    if read_failed || (cx.strict && (stats.bad > 0 || stats.no_log_type > 0)) {
        code = code.max(exit::USAGE);
    }
    let _ = latest_time;

    summary(&mut err, &plan, &stats, args, start.elapsed().as_millis());

    // Delivery is set up (destinations expanded, the delivery log locked)
    // and the deliveries journaled before the state records a window, so a
    // failed set-up records nothing and a crash from here on leaves every
    // alert to `alerts resend` (alerts-and-webhooks §5.4).
    let prepared = if args.deliver {
        let items: Vec<Deliverable> = alerts
            .iter()
            .map(|a| {
                let meta = metas.get(a.rule);
                Deliverable {
                    payload: serde_json::to_value(&a.payload).unwrap_or(Value::Null),
                    alert_id: a.payload.alert_id.clone(),
                    rule_id: a.payload.id.clone(),
                    severity: a.payload.severity.clone(),
                    alert_type: a.payload.alert_type.clone(),
                    log_types: a.log_types.clone(),
                    output_ids: meta.map(|m| m.output_ids.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let opts = DeliverOptions {
            dry_run: args.dry_run,
            force: args.force,
            only: None,
            kind: "alert",
        };
        let mut dry = std::io::stderr();
        let prepared = alerts::prepare(&cx, &project.root, &items, &opts, &mut dry)?;
        if let Some(p) = &prepared {
            p.journal()?;
        }
        prepared
    } else {
        None
    };
    let mut state_error = None;
    if let Some(state) = &args.state {
        if args.dry_run {
            if !args.quiet {
                let _ = writeln!(err, "note: --dry-run: the state file was not updated");
            }
        } else if let Err(e) = grouper.save_state(state, &metas) {
            // The alerts are journaled: deliver them, then fail.
            state_error = Some(e);
        }
    }

    if let Some(p) = prepared {
        code = code.max(p.send()?);
    }
    if let Some(e) = state_error {
        return Err(e);
    }
    // The process ends now; freeing the project is wasted work.
    std::mem::forget(project);
    Ok(code)
}

/// Reports an unreadable record, up to [`SHOWN_PROBLEMS`] per input, as
/// `validate` does (`path:line:col: warning[code]: message`; the column is
/// where the record starts).
fn report(err: &mut dyn Write, shown: &mut usize, name: &str, line: u64, code: Code, message: &str) {
    *shown += 1;
    if *shown <= SHOWN_PROBLEMS {
        let _ = writeln!(err, "{name}:{line}:1: {}", warning(code, message));
    }
}

/// `warning[code]: message`, the form of `validate`'s warnings.
pub fn warning(code: Code, message: &str) -> String {
    format!("warning[{}]: {message}", code.name())
}

/// Writes one alert line to `--alerts-out` or stdout.
fn emit(file: &mut Option<BufWriter<File>>, out: &mut dyn Write, a: &Alert, error: &mut Option<std::io::Error>) {
    let mut line = a.payload.to_json();
    line.push('\n');
    let r = match file.as_mut() {
        Some(w) => w.write_all(line.as_bytes()),
        None => out.write_all(line.as_bytes()),
    };
    if let Err(e) = r {
        error.get_or_insert(e);
    }
}

/// One `--signals-out` line (§5.3).
fn signal_line(
    rule_id: &str,
    log_type: &str,
    t: i64,
    fields: &crate::engine::AlertFields,
    event: Option<Value>,
) -> String {
    let mut o = Map::new();
    o.insert("ruleId".to_owned(), Value::String(rule_id.to_owned()));
    o.insert("logType".to_owned(), Value::String(log_type.to_owned()));
    o.insert("eventTime".to_owned(), Value::String(time::aws(t)));
    o.insert(
        "dedup".to_owned(),
        fields.dedup.clone().map_or(Value::Null, Value::String),
    );
    o.insert("createAlert".to_owned(), Value::Bool(fields.dedup.is_some()));
    o.insert("event".to_owned(), event.unwrap_or(Value::Null));
    let mut s = Value::Object(o).to_string();
    s.push('\n');
    s
}

/// The worker's part for one record: parse, route, evaluate.
fn evaluate(plan: &Plan, args: &RunArgs, keep_events: bool, bytes: &[u8]) -> Option<Record> {
    let mut event: Value = match serde_json::from_slice(bytes) {
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
    let log_type = match event.get("p_log_type") {
        Some(Value::String(s)) => s.as_str(),
        _ => match args.log_type.as_deref() {
            Some(l) => l,
            None => return Some(Record::NoLogType),
        },
    };
    if args.parse_only {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: u32::MAX,
            found: Vec::new(),
        });
    }
    let Some((log_type_index, rules)) = plan.by_log_type.get(log_type) else {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: u32::MAX,
            found: Vec::new(),
        });
    };
    let log_type_index = *log_type_index;
    let mut found = Vec::new();
    for &r in rules {
        let Some(d) = plan.detections.get(r as usize) else {
            continue;
        };
        if !d.program.matches(&event) {
            continue;
        }
        let fields = d.program.alert(&event);
        found.push(Found {
            rule: r,
            fields,
            event: None,
            joins: Vec::new(),
        });
    }
    if found.is_empty() {
        return t.is_none().then_some(Record::Event {
            time: None,
            log_type: log_type_index,
            found,
        });
    }
    // Signals carry the event with its alert context (§3.1 step 4).
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
            let values = fields.iter().map(|p| OwnedJoin::of(field(&e, p), true)).collect();
            f.joins.push((*c, *item, values));
        }
        if keep_events {
            f.event = Some(e);
        }
    }
    Some(Record::Event {
        time: t,
        log_type: log_type_index,
        found,
    })
}

/// A dotted field path of a correlation join field, with the member
/// lookup rule (exact name, else the first case-insensitive match).
fn field<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = event;
    for name in path.split('.') {
        let o = v.as_object()?;
        v = match o.get(name) {
            Some(x) => x,
            None => {
                let lower = name.to_lowercase();
                o.iter().find(|(k, _)| k.to_lowercase() == lower).map(|(_, x)| x)?
            }
        };
    }
    Some(v)
}

/// Evaluates the correlation rules over the kept signals: runs at the
/// schedule's times from the earliest to the latest signal, one match per
/// join value, grouped within the lookback window (correlation-rules §4.3).
/// `emit` receives each alert and each signal line. Returns the number of
/// correlation signals.
fn correlate(
    plan: &Plan,
    kept: &[Vec<Vec<Kept>>],
    grouper: &mut Grouper,
    metas: &[RuleMeta],
    stats: &mut Stats,
    mut emit: impl FnMut(Option<Alert>, Option<String>),
) -> u64 {
    let mut signals = 0;
    let n = plan.correlations.len();
    // Signals produced by correlation rules for other correlation rules.
    let mut extra: Vec<Vec<Vec<Kept>>> = plan
        .correlations
        .iter()
        .map(|c| (0..c.engine.len()).map(|_| Vec::new()).collect())
        .collect();
    let mut done = vec![false; n];
    let corr_log_type = u32::MAX;
    // Referenced correlation rules first; rules in a reference cycle are
    // not evaluated.
    while let Some(ci) = (0..n).find(|&i| !done[i] && plan.correlations[i].needs.iter().all(|&j| done[j] || j == i)) {
        done[ci] = true;
        let c = &plan.correlations[ci];
        let mut builder = c.engine.signals();
        let mut times: Vec<(i64, u32)> = Vec::new();
        for item in 0..c.engine.len() {
            let all = kept[ci][item].iter().chain(extra[ci][item].iter());
            for k in all {
                let lists: Vec<Vec<JoinValue<'_>>> = k
                    .values
                    .iter()
                    .filter_map(|v| match v {
                        OwnedJoin::List(items) => Some(items.iter().map(OwnedJoin::flat).collect()),
                        _ => None,
                    })
                    .collect();
                let mut at = 0;
                let values: Vec<JoinValue<'_>> = k.values.iter().map(|v| v.borrow(&lists, &mut at)).collect();
                builder.push(item, k.time, &values);
                times.push((k.time, k.log_type));
            }
        }
        let indexed = builder.finish();
        let (Some(first), Some(last)) = (indexed.earliest(), indexed.latest()) else {
            continue;
        };
        times.sort_unstable();
        let lookback = c.engine.lookback_minutes() * 60;
        // Join value → start of its match: a run whose lookback still
        // reaches back into it finds the same match again, which is not a
        // new one (a signal each time, one match in the summary).
        let mut matched: HashMap<String, i64> = HashMap::new();
        for t_end in run_times(&c.trigger, first, last.saturating_add(lookback)) {
            let keys = c.engine.matching_values(&indexed, t_end);
            if keys.is_empty() {
                continue;
            }
            // Log types of the signals the run saw, for destination filters.
            let lo = times.partition_point(|(t, _)| *t < t_end - lookback);
            let hi = times.partition_point(|(t, _)| *t <= t_end);
            let mut seen: Vec<String> = times[lo..hi]
                .iter()
                .filter_map(|(_, l)| plan.log_types.get(*l as usize).cloned())
                .collect();
            seen.sort();
            seen.dedup();
            for key in keys {
                let join = match key {
                    JoinKey::Any => String::new(),
                    JoinKey::Null => "null".to_owned(),
                    JoinKey::Text(s) => s.to_owned(),
                };
                signals += 1;
                let new_match = matched
                    .get(&join)
                    .is_none_or(|start| t_end >= start.saturating_add(lookback.max(60)));
                if new_match {
                    matched.insert(join.clone(), t_end);
                    stats.corr_hits[ci].0 += 1;
                }
                let t_nanos = t_end.saturating_mul(SECOND);
                for &(cj, item) in &c.feeds {
                    if let Some(slot) = extra.get_mut(cj).and_then(|e| e.get_mut(item)) {
                        slot.push(Kept {
                            time: t_end,
                            values: vec![OwnedJoin::Text(join.clone())],
                            log_type: corr_log_type,
                        });
                    }
                }
                let mut ev = Map::new();
                ev.insert("p_alert_context".to_owned(), Value::Object(Map::new()));
                ev.insert("p_correlation_join_value".to_owned(), Value::String(join.clone()));
                let mut o = Map::new();
                o.insert("ruleId".to_owned(), Value::String(c.meta.id.clone()));
                o.insert("logType".to_owned(), Value::String(String::new()));
                o.insert("eventTime".to_owned(), Value::String(time::aws(t_nanos)));
                o.insert(
                    "dedup".to_owned(),
                    if c.meta.create_alert {
                        Value::String(join.clone())
                    } else {
                        Value::Null
                    },
                );
                o.insert("createAlert".to_owned(), Value::Bool(c.meta.create_alert));
                o.insert("event".to_owned(), Value::Object(ev));
                let line = format!("{}\n", Value::Object(o));
                let mut alert = None;
                if !c.signals_only {
                    let m = Match {
                        rule: plan.detections.len() + ci,
                        time: t_nanos,
                        log_type: String::new(),
                        title: c.meta.name.clone(),
                        dedup: join,
                        severity: c.severity,
                        context: Value::Object(Map::new()),
                    };
                    if let Some(mut a) = grouper.add(metas, m) {
                        a.log_types = seen.clone();
                        stats.corr_hits[ci].1 += 1;
                        alert = Some(a);
                    }
                }
                emit(alert, Some(line));
            }
        }
    }
    signals
}

/// The run times of a schedule in `[from, to]` (seconds): multiples of
/// `RateMinutes` since the epoch, or the minutes a cron expression fires
/// (UTC), from the first run at or after `from` to the first at or after
/// `to`.
fn run_times(trigger: &Trigger, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    match trigger {
        Trigger::Rate(r) => {
            let step = r.value.max(1) * 60;
            let mut t = from.div_euclid(step) * step;
            if t < from {
                t += step;
            }
            loop {
                out.push(t);
                if t >= to || out.len() > 10_000_000 {
                    break;
                }
                t += step;
            }
        }
        Trigger::Cron(c) => {
            let c = &c.value;
            let mut m = from.div_euclid(60);
            if m * 60 < from {
                m += 1;
            }
            // A cron that never fires stops after a leap-year cycle of minutes.
            let limit = to.div_euclid(60) + 4 * 366 * 1440;
            while m <= limit {
                if cron_fires(c, m) {
                    out.push(m * 60);
                    if m * 60 >= to {
                        break;
                    }
                }
                m += 1;
            }
        }
    }
    out
}

fn cron_fires(c: &crate::model::correlation::Cron, minute: i64) -> bool {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp(minute * 60, 0) else {
        return false;
    };
    let bit = |set: u64, v: u32| set & (1u64 << v) != 0;
    if !bit(c.minutes, t.minute()) || !bit(c.hours, t.hour()) || !bit(c.months, t.month()) {
        return false;
    }
    let dom = bit(c.days_of_month, t.day());
    let dow = bit(c.days_of_week, t.weekday().num_days_from_sunday());
    match (c.dom_restricted, c.dow_restricted) {
        (true, true) => dom || dow,
        (true, false) => dom,
        (false, true) => dow,
        (false, false) => true,
    }
}

/// Chooses and compiles the detections of the run.
fn plan(cx: &Context, project: &Project, args: &RunArgs) -> Result<Plan> {
    let invalid = project.invalid_files();
    let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
    let index = Index::new(analyses.iter().copied(), |a| invalid.contains(&a.file));
    let mut plan = Plan {
        detections: Vec::new(),
        correlations: Vec::new(),
        by_log_type: HashMap::new(),
        log_types: Vec::new(),
        skipped: BTreeMap::new(),
        skipped_ids: Vec::new(),
        disabled: 0,
        invalid: 0,
    };
    // Selection: filters, then --rule plus what selected correlation rules
    // reference (transitively).
    let selected: Vec<&Analysis> = project
        .entries
        .iter()
        .filter_map(|e| {
            let a = e.analysis.as_ref()?;
            if !a.analysis_type.value.is_detection() {
                return None;
            }
            let src = project.source(e.file);
            (filter::bypasses(&src.rel) || filter::matches_all(&cx.filters, &a.root)).then_some(a)
        })
        .collect();
    let wanted: HashSet<String> = args.rules.iter().cloned().collect();
    let mut needed: HashSet<String> = HashSet::new();
    if !wanted.is_empty() {
        let mut stack: Vec<String> = wanted.iter().cloned().collect();
        while let Some(id) = stack.pop() {
            if let Some(a) = index.get(&id) {
                if let Body::Other(o) = &a.body {
                    for r in o.correlation.iter().flat_map(|c| c.rule_refs()) {
                        if !wanted.contains(&r.value) && needed.insert(r.value.clone()) {
                            stack.push(r.value);
                        }
                    }
                }
            }
        }
        let unknown: Vec<&String> = args.rules.iter().filter(|r| index.get(r).is_none()).collect();
        if !unknown.is_empty() {
            return Err(Error::Usage(format!(
                "--rule names detections that are not loaded (or are invalid): {}",
                unknown.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut corr_files: Vec<(&Analysis, &CorrelationRule, bool)> = Vec::new();
    for a in selected {
        let id = a.id_str().to_owned();
        let is_wanted = wanted.is_empty() || wanted.contains(&id);
        if !is_wanted && !needed.contains(&id) {
            continue;
        }
        let signals_only_by_selection = !is_wanted;
        if invalid.contains(&a.file) {
            plan.invalid += 1;
            continue;
        }
        let skip = |plan: &mut Plan, reason: &'static str| {
            *plan.skipped.entry(reason).or_default() += 1;
            plan.skipped_ids.push((id.clone(), reason));
        };
        match (&a.body, a.analysis_type.value) {
            (Body::Rule(rule), AnalysisType::Rule) => {
                let mut files: Vec<&[u8]> = vec![text_of(project, a.file)];
                let mut base_root: Option<&Node> = None;
                let effective: Rule = if rule.is_derived() {
                    let base_id = rule.base_detection.as_ref().map_or("", |b| b.value.as_str());
                    match index.base(base_id) {
                        Base::NotLocal => {
                            skip(&mut plan, "unknown base");
                            continue;
                        }
                        Base::Invalid(_) => {
                            skip(&mut plan, "invalid base");
                            continue;
                        }
                        Base::Local(b) if !resolve::is_valid_base_kind(b) || invalid.contains(&b.file) => {
                            skip(&mut plan, "invalid base");
                            continue;
                        }
                        Base::Local(b) => {
                            let Some(base_rule) = b.rule() else {
                                skip(&mut plan, "invalid base");
                                continue;
                            };
                            files.push(text_of(project, b.file));
                            base_root = Some(&b.root);
                            resolve::effective(base_rule, rule, &a.root).0
                        }
                    }
                } else {
                    (**rule).clone()
                };
                if !effective.is_simple() {
                    skip(&mut plan, "python rule");
                    continue;
                }
                let enabled = effective.enabled.as_ref().is_some_and(|e| e.value);
                if !enabled && !args.include_disabled {
                    plan.disabled += 1;
                    continue;
                }
                let meta = rule_meta(&id, &effective, &a.root, base_root, &files);
                let program = Program::compile(&id, &effective, true);
                let signals_only = signals_only_by_selection || !meta.create_alert;
                plan.detections.push(Detection {
                    meta,
                    program,
                    signals_only,
                    feeds: Vec::new(),
                });
            }
            (Body::Rule(rule), AnalysisType::ScheduledRule) => {
                skip(
                    &mut plan,
                    if rule.is_simple() {
                        "scheduled rule"
                    } else {
                        "python rule"
                    },
                );
            }
            (Body::Other(o), AnalysisType::CorrelationRule) => match o.correlation.as_deref() {
                Some(c) => {
                    let enabled = c.enabled.as_ref().is_some_and(|e| e.value);
                    if !enabled && !args.include_disabled {
                        plan.disabled += 1;
                        continue;
                    }
                    corr_files.push((a, c, signals_only_by_selection));
                }
                None => skip(&mut plan, "invalid correlation rule"),
            },
            _ => skip(&mut plan, "python rule"),
        }
    }
    // Correlation rules.
    for (a, c, signals_only) in corr_files {
        let id = a.id_str().to_owned();
        let (Some(d), Some(trigger)) = (
            c.detection.as_ref(),
            c.detection
                .as_ref()
                .and_then(|d| d.schedule.as_ref())
                .and_then(|s| s.trigger.clone()),
        ) else {
            *plan.skipped.entry("invalid correlation rule").or_default() += 1;
            plan.skipped_ids.push((id, "invalid correlation rule"));
            continue;
        };
        let Ok(engine) = Correlation::compile(d) else {
            *plan.skipped.entry("invalid correlation rule").or_default() += 1;
            plan.skipped_ids.push((id, "invalid correlation rule"));
            continue;
        };
        let text = |n: &Option<crate::source::Spanned<String>>| n.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        let mut tags: Vec<String> = c.tags.iter().flatten().map(|t| t.value.clone()).collect();
        tags.sort();
        let meta = RuleMeta {
            name: c.display_name.as_ref().map_or_else(|| id.clone(), |d| d.value.clone()),
            id: id.clone(),
            description: text(&c.description),
            runbook: text(&c.runbook),
            tags,
            version: payload::version(&[text_of(project, a.file)]),
            period: engine.lookback_minutes().max(1) * MINUTE,
            threshold: 1,
            create_alert: c.creates_alerts(),
            output_ids: c.output_ids.iter().flatten().map(|o| o.value.clone()).collect(),
            log_types: Vec::new(),
            alert_type: AlertType::CorrelationRule,
        };
        plan.correlations.push(CorrelationDetection {
            signals_only: signals_only || !meta.create_alert,
            severity: c.severity.as_ref().map_or(Level::Info, |s| s.value),
            item_rules: d.items.iter().map(|i| i.rule_id.value.clone()).collect(),
            meta,
            engine,
            trigger,
            needs: Vec::new(),
            feeds: Vec::new(),
        });
    }
    // Wire signals: which detection feeds which correlation item.
    let det_by_id: HashMap<String, usize> = plan
        .detections
        .iter()
        .enumerate()
        .map(|(i, d)| (d.meta.id.clone(), i))
        .collect();
    let corr_by_id: HashMap<String, usize> = plan
        .correlations
        .iter()
        .enumerate()
        .map(|(i, c)| (c.meta.id.clone(), i))
        .collect();
    for ci in 0..plan.correlations.len() {
        for item in 0..plan.correlations[ci].engine.len() {
            let rule_id = plan.correlations[ci].item_rules.get(item).cloned().unwrap_or_default();
            let fields: Vec<String> = plan.correlations[ci]
                .engine
                .join_fields(item)
                .iter()
                .map(|f| f.to_string())
                .collect();
            if let Some(&di) = det_by_id.get(&rule_id) {
                plan.detections[di].feeds.push((ci, item, fields));
            } else if let Some(&cj) = corr_by_id.get(&rule_id) {
                plan.correlations[cj].feeds.push((ci, item));
                plan.correlations[ci].needs.push(cj);
            }
        }
    }
    let mut types: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (i, d) in plan.detections.iter().enumerate() {
        for l in &d.meta.log_types {
            types.entry(l.clone()).or_default().push(i as u32);
        }
    }
    for (l, mut rules) in types {
        rules.dedup();
        plan.by_log_type.insert(l.clone(), (plan.log_types.len() as u32, rules));
        plan.log_types.push(l);
    }
    Ok(plan)
}

fn text_of(project: &Project, file: crate::source::FileId) -> &[u8] {
    project.source(file).text.as_deref().map_or(&[], str::as_bytes)
}

/// Alert metadata of an effective rule; keys the typed model does not
/// carry are read from the files (the derived file wins over its base).
fn rule_meta(id: &str, rule: &Rule, root: &Node, base_root: Option<&Node>, files: &[&[u8]]) -> RuleMeta {
    let raw = |key: &str| root.get(key).or_else(|| base_root.and_then(|b| b.get(key)));
    let text = |key: &str| raw(key).and_then(Node::as_str).unwrap_or("").to_owned();
    let list = |key: &str| -> Vec<String> {
        raw(key)
            .and_then(Node::as_seq)
            .map(|s| s.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut tags: Vec<String> = rule.tags.iter().flatten().map(|t| t.value.clone()).collect();
    tags.sort();
    RuleMeta {
        id: id.to_owned(),
        name: rule
            .display_name
            .as_ref()
            .map_or_else(|| id.to_owned(), |d| d.value.clone()),
        description: text("Description"),
        runbook: text("Runbook"),
        tags,
        version: payload::version(files),
        period: group::effective_period_minutes(rule.dedup_period_minutes.as_ref().map(|d| d.value)) * MINUTE,
        threshold: rule
            .threshold
            .as_ref()
            .map_or(1, |t| u64::try_from(t.value).unwrap_or(1).max(1)),
        create_alert: rule.create_alert.as_ref().is_none_or(|c| c.value),
        output_ids: list("OutputIds"),
        log_types: rule.log_types.iter().flatten().map(|l| l.value.clone()).collect(),
        alert_type: AlertType::Rule,
    }
}

/// `1 alert`, `1,204 alerts`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_digits(n), if n == 1 { one } else { many })
}

/// `1204` → `1,204`.
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The human summary on standard error (§5.1), with per-detection hits.
fn summary(err: &mut dyn Write, plan: &Plan, stats: &Stats, args: &RunArgs, ms: u128) {
    let evaluated = plan.detections.len() + plan.correlations.len();
    let skipped: usize = plan.skipped.values().sum();
    let mut line = format!(
        "{} · {} evaluated",
        counted(stats.events, "event", "events"),
        counted(evaluated as u64, "rule", "rules")
    );
    if skipped > 0 {
        let reasons: Vec<String> = if plan.skipped.len() == 1 {
            plan.skipped.keys().map(|r| (*r).to_owned()).collect()
        } else {
            plan.skipped.iter().map(|(r, n)| format!("{n} {r}")).collect()
        };
        let _ = write!(line, " ({skipped} skipped: {})", reasons.join(", "));
    }
    if plan.disabled > 0 {
        let _ = write!(line, " · {} disabled", plan.disabled);
    }
    if plan.invalid > 0 {
        let _ = write!(line, " · {} invalid", plan.invalid);
    }
    let alerts: u64 = stats.alerts.values().sum();
    let kinds: Vec<String> = stats.alerts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = write!(
        line,
        " · {} · {}",
        counted(stats.signals, "signal", "signals"),
        counted(alerts, "alert", "alerts")
    );
    if !kinds.is_empty() {
        let _ = write!(line, " ({})", kinds.join(", "));
    }
    if stats.bad + stats.no_log_type > 0 {
        let _ = write!(
            line,
            " · {} skipped",
            counted(stats.bad + stats.no_log_type, "record", "records")
        );
    }
    let _ = write!(line, " · {ms} ms");
    if args.parse_only {
        line.push_str(" (parse only)");
    }
    let _ = writeln!(err, "{line}");
    if plan.invalid > 0 && !args.quiet {
        let _ = writeln!(
            err,
            "note: {} not evaluated; `detect validate` lists them",
            if plan.invalid == 1 {
                "1 detection with errors was".to_owned()
            } else {
                format!("{} detections with errors were", plan.invalid)
            }
        );
    }
    if args.quiet {
        return;
    }
    let mut hits: Vec<(&str, u64, u64)> = plan
        .detections
        .iter()
        .zip(&stats.hits)
        .map(|(d, h)| (d.meta.id.as_str(), h.0, h.1))
        .chain(
            plan.correlations
                .iter()
                .zip(&stats.corr_hits)
                .map(|(c, h)| (c.meta.id.as_str(), h.0, h.1)),
        )
        .filter(|h| h.1 > 0)
        .collect();
    hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (id, matches, alerts) in hits {
        let _ = writeln!(
            err,
            "  {id}: {}, {}",
            counted(matches, "match", "matches"),
            counted(alerts, "alert", "alerts")
        );
    }
    if args.verbose {
        for (id, reason) in &plan.skipped_ids {
            let _ = writeln!(err, "  skipped: {id}: {reason}");
        }
    }
}
