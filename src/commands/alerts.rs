//! `detect alerts`: deliver, resend, test and inspect alert deliveries
//! (alerts-and-webhooks §7–§9).
//!
//! Every command that sends first writes the planned deliveries to the
//! pending journal of the delivery log, then sends, then appends one record
//! per finished delivery; see [`crate::alerting::log`] for why.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::alerting::deliver::{self, Job};
use crate::alerting::delivery;
use crate::alerting::delivery::Deliverable;
use crate::alerting::dest::{self, Target};
use crate::alerting::log::{self, DeliveryLog, Record};
use crate::alerting::payload;
use crate::cli::alerts::{AlertsArgs, AlertsCommand, DeliverArgs, LogArgs, LogFormat, ResendArgs, TestArgs};
use crate::cli::{OutputArgs, ProjectArgs};
use crate::commands::context::Context;
use crate::diagnostic::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::exit;
use crate::model::{Analysis, Body};
use crate::report::Format;
use crate::report::command::{Case, Reporter, Stream};
use crate::settings::DestinationSettings;

/// Characters of a receiver's reply shown with a failed delivery.
const REPLY_SHOWN: usize = 200;

/// `1 attempt`, `2 attempts`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// JSON text with the characters serde leaves raw but a terminal acts on
/// (DEL, C1 controls, bidirectional overrides) written as `\uXXXX`; they
/// can only occur inside strings, so the JSON means the same.
fn json_printable(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // serde_json already escapes C0 controls in strings; the line
        // breaks of pretty printing are structure and stay.
        if matches!(c, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Default delivery log, relative to the project root.
pub const DEFAULT_LOG: &str = ".detect/deliveries.jsonl";

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself (bad settings, unreadable files).
pub fn run(args: &AlertsArgs, out: &mut dyn Write) -> Result<u8> {
    match &args.command {
        AlertsCommand::Deliver(a) => {
            let cx = resolve_context(&a.project, a.format)?;
            let mut err = std::io::stderr();
            let mut rep = Reporter::new("alerts deliver", cx.format, cx.cwd.clone(), out, &mut err);
            let result = deliver_file(a, cx, &mut rep);
            rep.end(result, Error::Write)
        }
        AlertsCommand::Resend(a) => {
            let cx = resolve_context(&a.project.project(), a.format)?;
            let mut err = std::io::stderr();
            let mut rep = Reporter::new("alerts resend", cx.format, cx.cwd.clone(), out, &mut err);
            let result = resend(a, &cx, &mut rep);
            rep.end(result, Error::Write)
        }
        AlertsCommand::Test(a) => test(a, out),
        AlertsCommand::Log(a) => show_log(a, out),
    }
}

/// How to deliver.
#[derive(Debug, Clone)]
pub struct DeliverOptions {
    /// Print routing decisions only.
    pub dry_run: bool,
    /// Ignore earlier `DELIVERED` records.
    pub force: bool,
    /// Restrict to one destination name.
    pub only: Option<String>,
    /// Kind of the deliveries (`alert`).
    pub kind: &'static str,
    /// Where the human format prints the routing decisions of a dry run.
    pub routing: Stream,
}

fn resolve_context(project: &ProjectArgs, format: Option<Format>) -> Result<Context> {
    let output = OutputArgs {
        format,
        ..OutputArgs::default()
    };
    Context::resolve(project, &output)
}

/// The project root as `run` and `test` find it.
fn project_root(cx: &Context) -> PathBuf {
    let first = cx
        .project
        .discover
        .roots
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    crate::discover::project_root(&first, &cx.cwd)
}

/// The delivery log path: `detect.delivery_log` (relative to the project
/// root) or the default.
pub fn log_path(cx: &Context, root: &Path) -> PathBuf {
    let rel = cx.settings.delivery_log.as_deref().unwrap_or(DEFAULT_LOG);
    root.join(rel)
}

/// Opens (and locks) the delivery log, with the hint to ignore it in git
/// when this created it.
fn open_log(cx: &Context, root: &Path) -> Result<(DeliveryLog, Option<String>)> {
    let path = log_path(cx, root);
    let log = DeliveryLog::open(&path)?;
    let mut hint = None;
    if log.created {
        let ignored = std::fs::read_to_string(root.join(".gitignore")).is_ok_and(|g| g.contains(".detect"));
        if !ignored && cx.settings.delivery_log.is_none() {
            hint = Some(format!(
                "hint: the delivery log is {}; add `.detect/` to .gitignore\n",
                path.display()
            ));
        }
    }
    Ok((log, hint))
}

fn find_destination<'a>(cx: &'a Context, name: &str) -> Result<(usize, &'a DestinationSettings)> {
    cx.settings
        .destinations
        .iter()
        .enumerate()
        .find(|(_, d)| d.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = cx.settings.destinations.iter().map(|d| d.name.as_str()).collect();
            Error::Usage(if names.is_empty() {
                format!("unknown destination `{name}`: the settings file defines none under `detect.destinations`")
            } else {
                format!("unknown destination `{name}`; configured: {}", names.join(", "))
            })
        })
}

/// Routes, plans and sends alerts; the shared back half of `run --deliver`
/// and `alerts deliver`. Returns 0, or 3 when a delivery failed for good.
///
/// # Errors
/// Configuration errors (missing variables, unknown destination) before
/// anything is sent, or an unwritable delivery log.
pub fn deliver(
    cx: &Context,
    root: &Path,
    items: &[Deliverable],
    opts: &DeliverOptions,
    rep: &mut Reporter<'_>,
) -> Result<u8> {
    match prepare(cx, root, items, opts, rep)? {
        Some(p) => {
            p.journal()?;
            p.send(rep)
        }
        None => Ok(exit::SUCCESS),
    }
}

/// Deliveries set up and planned but not yet journaled or sent: the
/// destinations in use are expanded and the delivery log is open and
/// locked (so nothing another process delivers in the meantime is sent
/// again). Dropping it releases the lock without sending.
#[derive(Debug)]
pub struct Prepared {
    log: DeliveryLog,
    targets: Vec<Target>,
    plan: Vec<(usize, Vec<Job>)>,
    pending: Vec<log::Pending>,
}

impl Prepared {
    /// Writes the planned deliveries to the pending journal and syncs it;
    /// from then on an interrupted delivery is found by `alerts resend`.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn journal(&self) -> Result<()> {
        self.log.enqueue(&self.pending)
    }

    /// Sends what [`Prepared::journal`] recorded; returns 0, or 3 when a
    /// delivery failed for good.
    ///
    /// # Errors
    /// None today; kept for symmetry with the other steps.
    pub fn send(self, rep: &mut Reporter<'_>) -> Result<u8> {
        send_planned(&self.log, &self.targets, self.plan, true, rep)
    }
}

/// Routes alerts, expands the destinations they use, opens and locks the
/// delivery log and plans the deliveries that are not already done. `None`
/// when there is nothing to send (a dry run, no destination, everything
/// delivered).
///
/// # Errors
/// Configuration errors (missing variables, unknown destination), an
/// unusable delivery log, or a lock held too long by another process.
pub fn prepare(
    cx: &Context,
    root: &Path,
    items: &[Deliverable],
    opts: &DeliverOptions,
    rep: &mut Reporter<'_>,
) -> Result<Option<Prepared>> {
    let dests = &cx.settings.destinations;
    let only = match &opts.only {
        Some(name) => Some(find_destination(cx, name)?.0),
        None => None,
    };
    if dests.is_empty() {
        let d = Diagnostic::global(
            Code::NoDestinations,
            "no destinations are configured under `detect.destinations`; nothing was delivered",
        );
        rep.diagnostic(&d, &[]);
        return Ok(None);
    }
    let mut routed = Vec::new();
    // Route every alert.
    let routing = delivery::route(items, dests, only);
    // Per alert: its warnings, then (dry run) its routing decision.
    for (i, (item, (chosen, by))) in items.iter().zip(&routing.chosen).enumerate() {
        for (_, u) in routing.unmatched.iter().filter(|(at, _)| *at == i) {
            let d = Diagnostic::global(
                Code::UnmatchedOutputId,
                format!(
                    "`{}` lists OutputIds `{u}`, which matches no enabled destination",
                    item.rule_id
                ),
            );
            rep.diagnostic(&d, &[]);
        }
        if opts.dry_run {
            let names: Vec<&str> = chosen
                .iter()
                .filter_map(|d| dests.get(*d))
                .map(|d| d.name.as_str())
                .collect();
            let line = format!(
                "{} {} {} {} -> {} ({})\n",
                item.alert_id,
                item.rule_id,
                item.severity,
                item.alert_type,
                if names.is_empty() {
                    "no destination".to_owned()
                } else {
                    names.join(", ")
                },
                by.as_str()
            );
            rep.human(opts.routing, &line);
            routed.push(json!({
                "alert_id": item.alert_id, "rule_id": item.rule_id, "severity": item.severity,
                "type": item.alert_type, "destinations": names, "by": by.as_str(),
            }));
        }
    }
    let plan = routing.per_destination;
    if opts.dry_run {
        rep.result("routing", Value::Array(routed));
        return Ok(None);
    }
    // Expand every destination in use before anything is sent.
    let mut targets = Vec::new();
    let mut target_of = vec![usize::MAX; dests.len()];
    for (d, list) in plan.iter().enumerate() {
        if !list.is_empty() {
            target_of[d] = targets.len();
            targets.push(Target::resolve(&dests[d])?);
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    // Locked before it is read: what a concurrent run delivered until it
    // let go is in the log now.
    let (log, hint) = open_log(cx, root)?;
    if let Some(h) = hint {
        rep.stderr(&h);
    }
    let (records, warnings) = log::read_records(log.path())?;
    for w in warnings {
        rep.stderr(&format!("{w}\n"));
    }
    let delivered: HashSet<(&str, &str)> = records
        .iter()
        .filter(|r| r.status == log::DELIVERED)
        .map(|r| (r.alert_id.as_str(), r.destination.as_str()))
        .collect();
    let planned = delivery::plan(items, dests, &plan, &delivered, opts.force, opts.kind);
    let skipped = planned.skipped;
    let pending = planned.pending;
    let jobs_plan: Vec<(usize, Vec<Job>)> = planned.jobs.into_iter().map(|(d, jobs)| (target_of[d], jobs)).collect();
    if skipped > 0 {
        rep.human(
            Stream::Err,
            &format!(
                "{} skipped: already delivered (use --force to send {} again)\n",
                if skipped == 1 {
                    "1 delivery".to_owned()
                } else {
                    format!("{skipped} deliveries")
                },
                if skipped == 1 { "it" } else { "them" }
            ),
        );
        rep.result("already_delivered", json!(skipped));
    }
    if jobs_plan.is_empty() {
        return Ok(None);
    }
    Ok(Some(Prepared {
        log,
        targets,
        plan: jobs_plan,
        pending,
    }))
}

/// Journals, sends, reports; returns the exit code.
fn send_all(
    log: &DeliveryLog,
    targets: &[Target],
    plan: Vec<(usize, Vec<Job>)>,
    pending: &[log::Pending],
    retries: bool,
    rep: &mut Reporter<'_>,
) -> Result<u8> {
    if plan.is_empty() {
        return Ok(exit::SUCCESS);
    }
    log.enqueue(pending)?;
    send_planned(log, targets, plan, retries, rep)
}

/// Sends journaled deliveries, reports; returns the exit code.
fn send_planned(
    log: &DeliveryLog,
    targets: &[Target],
    plan: Vec<(usize, Vec<Job>)>,
    retries: bool,
    rep: &mut Reporter<'_>,
) -> Result<u8> {
    if plan.is_empty() {
        return Ok(exit::SUCCESS);
    }
    // In the human format a failure is shown when it happens (the workers
    // cannot share the reporter); the machine formats list every delivery.
    let live = rep.is_human();
    let report = |r: &Record| {
        if live && r.status == log::FAILED {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "error: {}", failure(r));
        }
    };
    let outcome = deliver::run(targets, plan, log, retries, &report);
    if !live {
        for r in outcome.records.iter().filter(|r| r.status == log::FAILED) {
            rep.problem(&failure(r), None);
        }
    }
    for e in &outcome.log_errors {
        rep.problem(&e.to_string(), None);
    }
    let ok = outcome.records.iter().filter(|r| r.status == log::DELIVERED).count();
    let failed = outcome.records.len() - ok;
    rep.result(
        "deliveries",
        outcome
            .records
            .iter()
            .map(|r| {
                json!({
                    "delivery_id": r.delivery_id, "kind": r.kind, "alert_id": r.alert_id,
                    "rule_id": r.rule_id, "destination": r.destination, "status": r.status,
                    "attempts": r.attempts.len(),
                    "http_status": r.attempts.last().and_then(|a| a.http_status),
                })
            })
            .collect(),
    );
    for r in &outcome.records {
        rep.case(Case {
            suite: "deliveries".to_owned(),
            class: r.destination.clone(),
            name: format!("{} {}", r.kind, r.alert_id),
            file: None,
            failure: (r.status == log::FAILED).then(|| failure(r)),
        });
    }
    rep.summary(&format!(
        "deliveries: {ok} delivered, {failed} failed (log: {})",
        log.path().display()
    ));
    if !outcome.log_errors.is_empty() {
        return Ok(exit::REMOTE);
    }
    Ok(if failed > 0 { exit::REMOTE } else { exit::SUCCESS })
}

/// Why a delivery failed: the alert, the destination, the attempts, the
/// last error and the start of the reply, safe to print.
fn failure(r: &Record) -> String {
    let last = r.attempts.last().and_then(|a| a.error.clone()).unwrap_or_default();
    // The reply, already scrubbed of secrets, made safe to print.
    let reply = r
        .response_body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            let mut snippet: String = b.chars().take(REPLY_SHOWN).collect();
            if snippet.len() < b.len() {
                snippet.push('…');
            }
            format!(" (reply: {})", dest::printable(&snippet))
        })
        .unwrap_or_default();
    format!(
        "delivery of alert {} (`{}`) to `{}` ({}) failed after {}: {}{reply}",
        r.alert_id,
        dest::printable(&r.rule_id),
        dest::printable(&r.destination),
        r.destination_host,
        plural(r.attempts.len(), "attempt"),
        dest::printable(&last)
    )
}

/// Detection ID → (`OutputIds`, `LogTypes`).
type RoutingMeta = std::collections::HashMap<String, (Vec<String>, Vec<String>)>;

/// Routing metadata of the loaded detections by ID: `OutputIds` and
/// `LogTypes` (derived detections: their own value, else the base's).
fn routing_metadata(cx: &mut Context) -> Result<RoutingMeta> {
    let project = cx.load()?;
    let analyses: Vec<&Analysis> = project.entries.iter().filter_map(|e| e.analysis.as_ref()).collect();
    let by_id: std::collections::HashMap<&str, &Analysis> = analyses.iter().map(|a| (a.id_str(), *a)).collect();
    let list = |a: &Analysis, key: &str| -> Option<Vec<String>> {
        a.root
            .get(key)
            .and_then(|n| n.as_seq())
            .map(|s| s.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
    };
    let mut out = std::collections::HashMap::new();
    for a in &analyses {
        let base = match &a.body {
            Body::Rule(r) => r
                .base_detection
                .as_ref()
                .and_then(|b| by_id.get(b.value.as_str()).copied()),
            _ => None,
        };
        let pick = |key: &str| {
            list(a, key)
                .or_else(|| base.and_then(|b| list(b, key)))
                .unwrap_or_default()
        };
        out.insert(a.id_str().to_owned(), (pick("OutputIds"), pick("LogTypes")));
    }
    std::mem::forget(project);
    Ok(out)
}

fn deliver_file(args: &DeliverArgs, mut cx: Context, rep: &mut Reporter<'_>) -> Result<u8> {
    let root = project_root(&cx);
    rep.set_root(root.clone());
    let text = std::fs::read_to_string(&args.file).map_err(|source| Error::Read {
        path: args.file.clone(),
        source,
    })?;
    let meta = routing_metadata(&mut cx)?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", args.file.display(), i + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| Error::Usage(format!("{at}: not a JSON object: {e}")))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(alert_id), Some(rule_id), Some(severity), Some(alert_type)) =
            (s("alertId"), s("id"), s("severity"), s("type"))
        else {
            return Err(Error::Usage(format!(
                "{at}: not an alert payload (needs `id`, `alertId`, `severity` and `type`)"
            )));
        };
        // Alerts of unknown detections go only to destinations without a
        // log-type filter (§9): an empty log-type list matches no filter.
        let (output_ids, log_types) = meta.get(&rule_id).cloned().unwrap_or_default();
        items.push(Deliverable {
            payload: v,
            alert_id,
            rule_id,
            severity,
            alert_type,
            log_types,
            output_ids,
        });
    }
    let opts = DeliverOptions {
        dry_run: args.dry_run,
        force: args.force,
        only: args.destination.clone(),
        kind: "alert",
        routing: Stream::Out,
    };
    deliver(&cx, &root, &items, &opts, rep)
}

fn resend(args: &ResendArgs, cx: &Context, rep: &mut Reporter<'_>) -> Result<u8> {
    let root = project_root(cx);
    rep.set_root(root.clone());
    let path = log_path(cx, &root);
    if !path.exists() {
        // Checked again below, under the lock: a missing log is an empty one.
        if let Some(id) = args.alert_ids.first() {
            return Err(Error::Usage(format!(
                "alert `{id}` is not in the delivery log {}",
                path.display()
            )));
        }
        nothing_to_resend(rep);
        return Ok(exit::SUCCESS);
    }
    // Locked before it is read, so a resend running at the same time has
    // either finished (its records are read here) or not started.
    let (log, hint) = open_log(cx, &root)?;
    if let Some(h) = hint {
        rep.stderr(&h);
    }
    let (records, mut warnings) = log::read_records(&path)?;
    let (pending, w2) = log::read_pending(&path)?;
    warnings.extend(w2);
    for w in warnings {
        rep.stderr(&format!("{w}\n"));
    }
    let only = match &args.destination {
        Some(name) => Some(find_destination(cx, name)?.1.name.clone()),
        None => None,
    };
    let latest = log::latest(&records, &pending);
    let ids: HashSet<&str> = args.alert_ids.iter().map(String::as_str).collect();
    let mut chosen: Vec<(log::Latest, &'static str)> = Vec::new();
    for l in &latest {
        if !ids.is_empty() && !ids.contains(l.alert_id.as_str()) {
            continue;
        }
        if only.as_ref().is_some_and(|o| *o != l.destination) {
            continue;
        }
        if l.status == log::DELIVERED && !args.force {
            continue;
        }
        chosen.push((l.clone(), "resend"));
    }
    // Manual dispatch: an alert named with --alert-id sent to a destination
    // it was never routed to.
    if let (Some(d), false) = (&only, ids.is_empty()) {
        for id in &args.alert_ids {
            let known = latest.iter().find(|l| l.alert_id == *id);
            let Some(any) = known else {
                return Err(Error::Usage(format!(
                    "alert `{id}` is not in the delivery log {}",
                    path.display()
                )));
            };
            if latest.iter().any(|l| l.alert_id == *id && l.destination == *d) {
                continue;
            }
            let (_, settings) = find_destination(cx, d)?;
            if !settings.allow_manual_dispatch {
                return Err(Error::Usage(format!(
                    "alert `{id}` was never sent to `{d}`; sending it there is a manual dispatch, which needs `allow_manual_dispatch: true` on that destination"
                )));
            }
            let mut manual = any.clone();
            manual.destination.clone_from(d);
            chosen.push((manual, "manual"));
        }
    } else if !ids.is_empty() {
        for id in &args.alert_ids {
            if !latest.iter().any(|l| l.alert_id == *id) {
                return Err(Error::Usage(format!(
                    "alert `{id}` is not in the delivery log {}",
                    path.display()
                )));
            }
        }
    }
    if chosen.is_empty() {
        nothing_to_resend(rep);
        return Ok(exit::SUCCESS);
    }
    let dests = &cx.settings.destinations;
    let mut targets: Vec<Target> = Vec::new();
    let mut plan: Vec<(usize, Vec<Job>)> = Vec::new();
    let mut journal = Vec::new();
    for (l, kind) in chosen {
        let Some(d) = dests.iter().find(|d| d.name == l.destination) else {
            return Err(Error::Usage(format!(
                "the delivery log names destination `{}`, which the settings file no longer defines",
                l.destination
            )));
        };
        let ti = match targets.iter().position(|t| t.name == d.name) {
            Some(i) => i,
            None => {
                targets.push(Target::resolve(d)?);
                plan.push((targets.len() - 1, Vec::new()));
                targets.len() - 1
            }
        };
        let job = Job {
            delivery_id: payload::uuid(),
            kind,
            alert_id: l.alert_id.clone(),
            rule_id: l.rule_id.clone(),
            payload: l.payload.clone(),
            resend_of: (kind == "resend").then(|| l.delivery_id.clone()),
        };
        journal.push(job.pending(&d.name));
        if let Some((_, jobs)) = plan.iter_mut().find(|(t, _)| *t == ti) {
            jobs.push(job);
        }
    }
    send_all(&log, &targets, plan, &journal, true, rep)
}

/// `nothing to resend`, and no deliveries.
fn nothing_to_resend(rep: &mut Reporter<'_>) {
    rep.human(Stream::Out, "nothing to resend\n");
    rep.result("deliveries", json!([]));
    rep.summary("deliveries: nothing to resend");
}

fn test(args: &TestArgs, out: &mut dyn Write) -> Result<u8> {
    let cx = resolve_context(&args.project.project(), Some(Format::Human))?;
    let root = project_root(&cx);
    let (_, d) = find_destination(&cx, &args.name)?;
    let target = Target::resolve(d)?;
    let p = payload::test_alert(&d.name, cx.settings.console_url.as_deref());
    let job = Job {
        delivery_id: payload::uuid(),
        kind: "test",
        alert_id: p.alert_id.clone(),
        rule_id: p.id.clone(),
        payload: serde_json::to_value(&p).unwrap_or(Value::Null),
        resend_of: None,
    };
    let (log, hint) = open_log(&cx, &root)?;
    let pending = vec![job.pending(&d.name)];
    let mut err = std::io::stderr();
    let mut rep = Reporter::new("alerts test", Format::Human, root, out, &mut err);
    if let Some(h) = hint {
        rep.stderr(&h);
    }
    let code = send_all(
        &log,
        &[target],
        vec![(0, vec![job])],
        &pending,
        !args.no_retry,
        &mut rep,
    )?;
    rep.human(
        Stream::Out,
        &format!(
            "test alert {} {} `{}`\n",
            p.alert_id,
            if code == exit::SUCCESS {
                "delivered to"
            } else {
                "not delivered to"
            },
            d.name
        ),
    );
    rep.finish().map_err(Error::Write)?;
    Ok(code)
}

fn show_log(args: &LogArgs, out: &mut dyn Write) -> Result<u8> {
    let cx = resolve_context(&args.project.project(), None)?;
    let root = project_root(&cx);
    let path = log_path(&cx, &root);
    let (records, mut warnings) = log::read_records(&path)?;
    let (pending, w2) = log::read_pending(&path)?;
    warnings.extend(w2);
    let mut err = std::io::stderr();
    for w in warnings {
        let _ = writeln!(err, "{w}");
    }
    let finished: HashSet<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
    let keep = |alert: &str, dest: &str, failed: bool| {
        (!args.failed || failed)
            && (args.alert_ids.is_empty() || args.alert_ids.iter().any(|a| a == alert))
            && args.destination.as_deref().is_none_or(|d| d == dest)
    };
    let mut selected: Vec<&Record> = records
        .iter()
        .filter(|r| keep(&r.alert_id, &r.destination, r.status == log::FAILED))
        .collect();
    selected.reverse();
    selected.sort_by(|a, b| b.finished_at.cmp(&a.finished_at));
    let interrupted: Vec<&log::Pending> = pending
        .iter()
        .filter(|p| !finished.contains(p.delivery_id.as_str()))
        .filter(|p| keep(&p.alert_id, &p.destination, true))
        .collect();
    match args.format {
        LogFormat::Json => {
            let v = serde_json::to_string_pretty(&selected).unwrap_or_else(|_| "[]".to_owned());
            writeln!(out, "{}", json_printable(&v)).map_err(Error::Write)?;
        }
        LogFormat::Human => {
            for p in interrupted.iter().rev() {
                writeln!(
                    out,
                    "{}  {}  {}  {}  INTERRUPTED  (queued, no record: `detect alerts resend` sends it)",
                    dest::printable(&p.queued_at),
                    dest::printable(&p.alert_id),
                    dest::printable(&p.rule_id),
                    dest::printable(&p.destination)
                )
                .map_err(Error::Write)?;
            }
            for r in &selected {
                let status = r
                    .attempts
                    .last()
                    .and_then(|a| a.http_status)
                    .map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"));
                writeln!(
                    out,
                    "{}  {}  {}  {}  {}  {}  {}  {}",
                    dest::printable(&r.finished_at),
                    dest::printable(&r.alert_id),
                    dest::printable(&r.rule_id),
                    dest::printable(&r.destination),
                    dest::printable(&r.status),
                    plural(r.attempts.len(), "attempt"),
                    status,
                    dest::printable(&r.kind)
                )
                .map_err(Error::Write)?;
            }
            if selected.is_empty() && interrupted.is_empty() {
                writeln!(out, "no deliveries in {}", path.display()).map_err(Error::Write)?;
            }
        }
    }
    Ok(exit::SUCCESS)
}
