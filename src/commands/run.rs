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
//! of their `Schedule`. Python rules run in a pool of Python workers,
//! started only when the plan has one: each batch's events with Python
//! rules to run go to the workers once the native pass of the batch is
//! done, and their matches join the native ones before the grouper.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde_json::Value;

use crate::alerting::delivery::Deliverable;
use crate::alerting::group::{self, Alert, Grouper, Match, RuleMeta};
use crate::alerting::input::{self, Message};
use crate::alerting::payload::AlertType;
use crate::alerting::replay::plan::PythonMode;
use crate::alerting::replay::signal::{self, Signal};
use crate::alerting::replay::{self, Kept, Plan, Record, Selection, Stats};
use crate::alerting::time::{self, SECOND};
use crate::cli::OutputArgs;
use crate::cli::run::RunArgs;
use crate::commands::alerts::{self, DeliverOptions};
use crate::commands::context::Context;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::error::{Error, Result};
use crate::exit;
use crate::report::Format;
use crate::report::command::{self, Reporter, Stream};
use crate::report::message;
use crate::report::replay::{Replay, counted};
use crate::resolve::Skip;
use crate::source::{FileId, Span};

mod outputs;
mod python;

use outputs::Outputs;

/// Problems reported per input before the rest are only counted.
const SHOWN_PROBLEMS: usize = 20;

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself: a bad flag or settings file, an unreadable
/// input, an unwritable output.
pub fn run(args: &RunArgs, out: &mut dyn Write) -> Result<u8> {
    let start = Instant::now();
    let output = OutputArgs {
        format: args.format,
        jobs: args.workers.jobs,
        strict: args.strict,
        quiet: args.quiet,
        verbose: u8::from(args.verbose),
        ..OutputArgs::default()
    };
    let mut cx = Context::resolve(&args.project, &output)?;
    let mut err = std::io::stderr();
    let mut sink = std::io::sink();
    // Alert lines go to stdout in the human format only: a machine
    // format's document is stdout, and holds the alerts itself.
    let (alert_out, report_out): (&mut dyn Write, &mut dyn Write) = if cx.format == Format::Human {
        (out, &mut sink)
    } else {
        (&mut sink, out)
    };
    let mut rep = Reporter::new("run", cx.format, cx.cwd.clone(), report_out, &mut err);
    let result = replay(args, &mut cx, &mut rep, alert_out, start);
    rep.end(result, Error::Write)
}

/// The run once the options are known; reports through `rep`, alert lines
/// on `out` (without `--alerts-out`).
fn replay(args: &RunArgs, cx: &mut Context, rep: &mut Reporter<'_>, out: &mut dyn Write, start: Instant) -> Result<u8> {
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
    let project = cx.load()?;
    rep.set_root(project.root.clone());
    // Settings warnings, and the errors of files that could not be loaded
    // (the errors of the detections that did are `validate`'s).
    let unloaded = command::unloaded(&project);
    for d in project.diagnostics.iter().filter(|d| {
        matches!(d.code, Code::UnknownSetting | Code::PatIgnoresSetting)
            || (d.severity() == Severity::Error && d.file().is_some_and(|f| unloaded.contains(&f)))
    }) {
        rep.diagnostic(d, &project.sources);
    }
    let selection = |python| Selection {
        filters: &cx.filters,
        rules: &args.rules,
        include_disabled: args.include_disabled,
        python,
    };
    let mode = if args.no_python {
        PythonMode::Off
    } else {
        PythonMode::Run
    };
    let mut plan = Plan::build(&project, selection(mode))?;
    // The pool starts only when a Python rule is selected.
    let timeout = args.python_timeout.unwrap_or(std::time::Duration::from_secs(15));
    let started = if args.parse_only {
        python::Started::None
    } else {
        python::start(cx, &project, &plan, args.python.as_deref(), timeout)
    };
    let pool = match started {
        python::Started::Pool(p) => Some(p),
        python::Started::None => None,
        python::Started::Unavailable(mode, d) => {
            rep.diagnostic(&d, &[]);
            plan = Plan::build(&project, selection(mode))?;
            None
        }
    };
    let replayer = match &pool {
        Some(p) => {
            let rules: Vec<_> = plan.python.iter().map(|p| p.rule.clone()).collect();
            match crate::python::replay::Replayer::new(p, &rules) {
                Ok(r) => Some(r),
                Err(e) => {
                    let d = Diagnostic::global(Code::PythonUnavailable, format!("Python detections were not run: {e}"))
                        .with_help("choose another interpreter with --python");
                    rep.diagnostic(&d, &[]);
                    plan = Plan::build(&project, selection(PythonMode::Unavailable(Skip::NoPython)))?;
                    None
                }
            }
        }
        None => None,
    };
    if let Some(r) = &replayer {
        // Rules that do not load are left out, with their error.
        for (i, e) in &r.load_errors {
            let l = python::load_error(cx, &project, &plan, *i, e);
            rep.diagnostic(&l.diagnostic, std::slice::from_ref(&l.source));
            plan.drop_python(*i);
        }
    }
    let mut py_errors = python::Errors::new(plan.python.len());
    let console_url = cx.settings.console_url.clone();

    let count = Arc::new(AtomicU64::new(0));
    let (inputs, total_bytes) = input::open(&args.events, &count)?;
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();

    let mut outputs = Outputs::create(args.alerts_out.as_deref(), args.signals_out.as_deref(), out)?;

    let mut grouper = Grouper::new(
        plan.detections.len() + plan.correlations.len(),
        args.no_alert_limit,
        args.wall_clock,
        console_url,
    );
    let metas: Vec<RuleMeta> = plan.metas();
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
    let (give_back, spent) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || input::read_all(inputs, &tx, &spent));

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
    let eval_options = replay::evaluate::Options {
        log_type: args.log_type.as_deref(),
        parse_only: args.parse_only,
        keep_events: outputs.keeps_signals(),
        full: args.full_eval,
    };
    let mut latest_time: Option<i64> = None;

    for message in rx {
        match message {
            Message::Problem { input, line, message } => {
                read_failed = true;
                let name = names.get(input).map_or("<input>", String::as_str);
                let at = line.map_or(String::new(), |l| format!(":{l}"));
                rep.problem(&format!("{name}{at}: {message}"), None);
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
                        let d = Diagnostic::new(Code::EventNoTime, FileId(0), Span::default(), message);
                        rep.diagnostic(&d, &[message::named(name)]);
                    }
                }
                if let Some(s) = shown.get(input) {
                    if *s > SHOWN_PROBLEMS {
                        let name = names.get(input).map_or("<input>", String::as_str);
                        rep.human(
                            Stream::Err,
                            &format!(
                                "note: {name}: {} more unreadable or skipped {} not shown\n",
                                s - SHOWN_PROBLEMS,
                                if s - SHOWN_PROBLEMS == 1 { "record" } else { "records" }
                            ),
                        );
                    }
                }
            }
            Message::Batch(batch) => {
                let (mut records, n) = input::par_records(&batch, |bytes| replay::evaluate(&plan, eval_options, bytes));
                if let Some(r) = &replayer {
                    python::run_batch(&plan, r, eval_options.keep_events, &mut records, &mut py_errors);
                }
                stats.events += n;
                let name = names.get(batch.input).map_or("<input>", String::as_str);
                for (line, rec) in records {
                    match rec {
                        Record::Bad(msg) => {
                            stats.bad += 1;
                            stats.events -= 1;
                            report(rep, &mut shown[batch.input], name, line, Code::EventUnreadable, &msg);
                        }
                        Record::NoLogType => {
                            stats.no_log_type += 1;
                            stats.events -= 1;
                            report(
                                rep,
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
                            ..
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
                                if outputs.keeps_signals() {
                                    outputs.signal(&signal::line(Signal {
                                        rule_id: &d.meta.id,
                                        log_type: log_type_name,
                                        time: t,
                                        dedup: f.fields.dedup.as_deref(),
                                        create_alert: f.fields.dedup.is_some(),
                                        event: f.event.unwrap_or(Value::Null),
                                    }));
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
                                    unique: f.unique,
                                };
                                if let Some(a) = grouper.add(&metas, m) {
                                    stats.hits[rule].1 += 1;
                                    outputs.alert(&a);
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
                // The reader fills the buffer again (it may be gone).
                let _ = give_back.send(batch.data);
            }
        }
    }
    let _ = reader.join();
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(r) = replayer {
        r.finish();
    }
    for l in py_errors.diagnostics(cx, &project, &plan) {
        rep.diagnostic(&l.diagnostic, std::slice::from_ref(&l.source));
    }

    // Correlation rules, over the signals of the run.
    let corr_signals = replay::correlate(&plan, &kept, &mut grouper, &metas, &mut stats, |a, line| {
        outputs.signal(&line);
        if let Some(a) = a {
            outputs.alert(&a);
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
            rep.diagnostic(&Diagnostic::global(Code::AlertLimit, message), &[]);
        }
    }

    // Make what was produced durable before anything is sent.
    outputs.finish()?;
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

    let ms = start.elapsed().as_millis();
    rep.replay(&replay_summary(&plan, &stats, &alerts, args, ms));

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
            routing: Stream::Err,
        };
        let prepared = alerts::prepare(cx, &project.root, &items, &opts, rep)?;
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
                rep.human(Stream::Err, "note: --dry-run: the state file was not updated\n");
            }
        } else if let Err(e) = grouper.save_state(state, &metas) {
            // The alerts are journaled: deliver them, then fail.
            state_error = Some(e);
        }
    }

    if let Some(p) = prepared {
        code = code.max(p.send(rep)?);
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
fn report(rep: &mut Reporter<'_>, shown: &mut usize, name: &str, line: u64, code: Code, message: &str) {
    *shown += 1;
    if *shown <= SHOWN_PROBLEMS {
        let line = u32::try_from(line).unwrap_or(u32::MAX);
        let d = Diagnostic::new(code, FileId(0), Span::at(line, 1), message);
        rep.diagnostic(&d, &[message::named(name)]);
    }
}

/// Matches and alerts per detection that matched, the most matches first
/// (then by ID).
fn hits<'p>(plan: &'p Plan, stats: &Stats) -> Vec<(&'p str, u64, u64)> {
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
    hits
}

/// What the run found, for the reporter.
fn replay_summary<'a>(plan: &'a Plan, stats: &'a Stats, alerts: &'a [Alert], args: &RunArgs, ms: u128) -> Replay<'a> {
    Replay {
        events: stats.events,
        evaluated: plan.detections.len() + plan.correlations.len() - plan.dropped,
        skipped: &plan.skipped,
        skipped_ids: &plan.skipped_ids,
        disabled: plan.disabled,
        invalid: plan.invalid,
        signals: stats.signals,
        alerts: &stats.alerts,
        records_skipped: stats.bad + stats.no_log_type,
        duration_ms: ms,
        parse_only: args.parse_only,
        hits: hits(plan, stats),
        payloads: alerts.iter().map(|a| &a.payload).collect(),
        payloads_in_report: args.alerts_out.is_none(),
        quiet: args.quiet,
        verbose: args.verbose,
    }
}
