//! `detect upload`: validate, test, bundle and upload to Panther
//! (upload-protocol §1, §5, §6; cli-and-settings §4.5, §6.3).
//!
//! The front half is `zip`'s ([`crate::commands::zip::prepare`]); any
//! invalid spec or failed test stops the run with exit 1 before anything
//! is sent. The upload tries the asynchronous mutation and polls its
//! status, falling back to the synchronous mutation for the run when the
//! instance does not know it. Retries follow §6.4: a "try again later"
//! backend error waits `busy_wait_seconds` and re-sends; a transport
//! failure (no answer, HTTP 429/502/503/504) backs off exponentially with
//! jitter and re-sends; both share the `--max-retries` budget; a status
//! poll that gets no answer is repeated up to five times in a row, and a
//! poll failure never re-sends the bundle: the run ends with exit 3 and the
//! receipt ID, the upload's state unknown. Authentication failures and every other error end the run
//! at once with exit 3.
//!
//! Output: the report (tests, diagnostics, the summary line), then the
//! upload section on stdout (stderr for JUnit and SARIF, merged into the
//! object for JSON). Progress and retry lines go to stderr.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::bundle::{self, Plan};
use crate::cli::upload::UploadArgs;
use crate::commands::connection::{self, Policy, progress, report_remote_failure, say, show_wait};
use crate::commands::context::Context;
use crate::commands::remote_validation;
use crate::commands::zip::{self, disabled_json, disabled_line, out_dir, write_bundle, write_report};
use crate::error::{Error, Result};
use crate::exit;
use crate::panther_api::{self, ApiError, Client, Issue, Stats, UploadStatus, show_seconds};
use crate::report::Format;

/// Transport failures of status polls tolerated in a row (§6.4).
const POLL_FLAKES: u32 = 5;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A successful upload.
#[derive(Debug, Clone, Default)]
struct Uploaded {
    stats: Stats,
    receipts: Vec<String>,
}

/// A failed upload.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    issues: Vec<Issue>,
    receipt: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            issues: Vec::new(),
            receipt: None,
        }
    }
}

/// How one attempt ended.
enum AttemptError {
    /// The async mutation is unknown to the instance.
    Unsupported,
    /// A backend "try again later": wait `busy_wait`, re-send.
    Busy(String),
    /// No usable answer: back off, re-send.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Stop.
    Fatal(Failure),
}

fn classify(e: ApiError, receipt: Option<&str>) -> AttemptError {
    if e.is_unsupported() {
        return AttemptError::Unsupported;
    }
    if e.is_busy() {
        return AttemptError::Busy(e.to_string());
    }
    if e.is_transient() {
        return AttemptError::Transient {
            retry_after: e.retry_after(),
            message: e.to_string(),
        };
    }
    let mut f = match &e {
        ApiError::GraphQl { message, .. } => {
            let r = panther_api::render_error(message);
            Failure {
                message: format!("upload rejected by Panther: {}", r.message),
                issues: r.issues,
                receipt: None,
            }
        }
        ApiError::Auth { .. } => Failure::new(e.to_string()),
        _ => Failure::new(format!("upload failed: {e}")),
    };
    f.receipt = receipt.map(str::to_owned);
    AttemptError::Fatal(f)
}

/// The upload was accepted but its status could not be read: never a
/// reason to send the bundle again (upload-protocol §6.4).
fn status_unknown(receipt: &str, why: &str) -> AttemptError {
    let mut f = Failure::new(format!(
        "the upload was sent (receipt ID {receipt}) but its status is unknown: {why}; check its state in the Panther Console (or run the upload again once the instance answers)"
    ));
    f.receipt = Some(receipt.to_owned());
    AttemptError::Fatal(f)
}

/// Polls an asynchronous upload until it ends (§4.4, §6.4). A poll that
/// gets no usable answer is repeated (up to [`POLL_FLAKES`] times in a row,
/// within the poll time-out) and never re-sends the bundle; only a terminal
/// status or a backend "try again later" ends the attempt.
fn poll(client: &Client, policy: &Policy, receipt: &str) -> std::result::Result<Stats, AttemptError> {
    let start = Instant::now();
    let mut flakes = 0;
    let mut last_failure: Option<String> = None;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= policy.poll_timeout {
            let limit = policy.poll_timeout.as_secs_f64().round();
            if let Some(why) = &last_failure {
                return Err(status_unknown(
                    receipt,
                    &format!("no status poll succeeded before the {limit} s poll time-out (last: {why})"),
                ));
            }
            let mut f = Failure::new(format!(
                "the upload did not finish within {limit} s (receipt ID {receipt}); check its state in the Panther Console"
            ));
            f.receipt = Some(receipt.to_owned());
            return Err(AttemptError::Fatal(f));
        }
        std::thread::sleep(policy.poll_interval.min(policy.poll_timeout - elapsed));
        match client.upload_status(receipt) {
            Ok(UploadStatus::NotProcessed) => {
                flakes = 0;
                last_failure = None;
            }
            Ok(UploadStatus::Completed(stats)) => return Ok(stats),
            Ok(UploadStatus::Failed(text)) => {
                let r = panther_api::render_error(&text);
                if panther_api::is_retryable_text(&text) || panther_api::is_retryable_text(&r.message) {
                    return Err(AttemptError::Busy(r.message));
                }
                return Err(AttemptError::Fatal(Failure {
                    message: format!("upload rejected by Panther: {}", r.message),
                    issues: r.issues,
                    receipt: Some(receipt.to_owned()),
                }));
            }
            Ok(UploadStatus::Unexpected(s)) => return Err(AttemptError::Busy(format!("unexpected status: {s}"))),
            // The backend's own "try again later" ends the attempt (§6.2),
            // and a refused token will not work on the next poll either.
            Err(e) if e.is_busy() || matches!(e, ApiError::Auth { .. }) => return Err(classify(e, Some(receipt))),
            Err(e) if e.is_transient() => {
                flakes += 1;
                if flakes > POLL_FLAKES {
                    return Err(status_unknown(
                        receipt,
                        &format!("{flakes} status polls in a row failed (last: {e})"),
                    ));
                }
                let wait = e
                    .retry_after()
                    .map_or_else(|| policy.backoff(flakes), |r| r.min(MAX_RETRY_AFTER));
                progress(
                    policy,
                    &format!("status poll failed ({e}); polling again in {}", show_wait(wait)),
                );
                last_failure = Some(e.to_string());
                std::thread::sleep(wait.min(policy.poll_timeout.saturating_sub(start.elapsed())));
            }
            Err(e) => return Err(status_unknown(receipt, &format!("the status poll failed: {e}"))),
        }
    }
}

/// Uploads one bundle with retries (§6.1, §6.4). `use_async` turns false
/// for the rest of the run when the instance lacks the async mutation.
/// The bundle must be accepted within `policy.timeout`: each upload request
/// is cut to the time left, and a retry whose wait would end past it is
/// not made.
fn upload_one(
    client: &Client,
    policy: &Policy,
    zip_bytes: &[u8],
    use_async: &mut bool,
) -> std::result::Result<(Stats, Option<String>), Failure> {
    let data = bundle::base64(zip_bytes);
    let total = policy.max_retries + 1;
    let mut attempt = 1;
    let mut transient = 0;
    let deadline = Instant::now() + policy.timeout;
    loop {
        let mut receipt = None;
        let result = if *use_async {
            client.set_deadline(Some(deadline));
            let sent = client.upload_async(&data, &policy.pat_version);
            client.set_deadline(None);
            match sent {
                Ok(r) => {
                    if policy.verbose {
                        progress(
                            policy,
                            &format!("upload accepted, receipt ID {r}; polling for its result"),
                        );
                    }
                    receipt = Some(r.clone());
                    poll(client, policy, &r)
                }
                Err(e) => Err(classify(e, None)),
            }
        } else {
            client.set_deadline(Some(deadline));
            let sent = client.upload_sync(&data);
            client.set_deadline(None);
            sent.map_err(|e| classify(e, None))
        };
        let (reason, wait) = match result {
            Ok(stats) => return Ok((stats, receipt)),
            Err(AttemptError::Unsupported) if *use_async => {
                *use_async = false;
                progress(
                    policy,
                    "this Panther instance has no asynchronous upload; using the synchronous upload",
                );
                continue;
            }
            Err(AttemptError::Unsupported) => {
                return Err(Failure::new(
                    "upload failed: this Panther instance does not support the upload operation",
                ));
            }
            Err(AttemptError::Fatal(f)) => return Err(f),
            Err(AttemptError::Busy(reason)) => (reason, policy.busy_wait),
            Err(AttemptError::Transient { message, retry_after }) => {
                transient += 1;
                let wait = retry_after.map_or_else(|| policy.backoff(transient), |r| r.min(MAX_RETRY_AFTER));
                (message, wait)
            }
        };
        if attempt >= total {
            let mut f = Failure::new(format!(
                "exhausted retries attempting to perform bulk upload ({total} attempt{}): {reason}",
                if total == 1 { "" } else { "s" }
            ));
            f.receipt = receipt;
            return Err(f);
        }
        if Instant::now() + wait >= deadline {
            let mut f = Failure::new(format!(
                "gave up: the bundle was not accepted within the {} time limit (--timeout, detect.upload.timeout_seconds; {attempt} attempt{}): {reason}",
                show_seconds(policy.timeout),
                if attempt == 1 { "" } else { "s" }
            ));
            f.receipt = receipt;
            return Err(f);
        }
        attempt += 1;
        progress(
            policy,
            &format!(
                "retrying upload in {} (attempt {attempt}/{total}): {reason}",
                show_wait(wait)
            ),
        );
        std::thread::sleep(wait);
    }
}

/// The "Upload Summary" block (§5): categories with any non-zero
/// counter, PAT's labels and order.
fn summary(stats: &Stats) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("--------------------------\nUpload Summary\n");
    for ((_, label), c) in Stats::CATEGORIES.iter().zip(stats.counts) {
        if c.total + c.new + c.modified > 0 {
            let _ = write!(
                s,
                "\t{label}\n\t\tTotal: {}\n\t\tNew: {}\n\t\tModified: {}\n",
                c.total, c.new, c.modified
            );
        }
    }
    s
}

fn human_size(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} bytes")
    } else if n < 10 * 1024 * 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{} MiB", n / (1024 * 1024))
    }
}

/// Writes the edit of disabled bases to the files (`--write-base-changes`).
fn write_base_changes(plan: &Plan, out: &mut dyn Write) -> Result<()> {
    for b in &plan.disabled {
        std::fs::write(&b.path, &b.edited).map_err(|source| Error::Read {
            path: b.path.clone(),
            source,
        })?;
        say(out, &format!("Set Enabled: false in {}", b.file))?;
    }
    Ok(())
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself: usage errors (no token or host, plain HTTP
/// to a remote host), unreadable files.
pub fn run(args: &UploadArgs, out: &mut dyn Write) -> Result<u8> {
    let mut cx = Context::resolve(&args.project, &args.output.options(args.bundle.step.strict))?;
    let client = if args.dry_run {
        None
    } else {
        Some(connection::output_client(&cx.settings, &args.api, args.output.verbose)?)
    };
    if args.write_base_changes && !zip::auto_disable(&args.bundle, &cx) {
        return Err(Error::Usage(
            "--write-base-changes needs --auto-disable-base (or `auto_disable_base: true`)".to_owned(),
        ));
    }
    let mut policy = Policy::new(args.max_retries, &cx);
    if let Some(t) = args.timeout {
        policy.timeout = Duration::from_secs_f64(t);
    }
    let batch = args.batch || cx.settings.batch.unwrap_or(false);
    let mut use_async = !(args.no_async || cx.settings.no_async.unwrap_or(false));
    let keep_dir = out_dir(&args.bundle, &cx).or_else(|| {
        cx.settings
            .upload
            .keep_bundle
            .unwrap_or(false)
            .then(|| Path::new(".").to_path_buf())
    });
    let mut prepared = zip::prepare(&mut cx, &args.bundle)?;
    let mut err = std::io::stderr();
    // Every format but JSON shows the report before the upload starts; the
    // JSON object is written once, at the end, with the upload's members.
    let json_at_end = cx.format == Format::Json;
    if !json_at_end {
        let report = prepared.outcome.report(&cx, "upload");
        write_report(&cx, &report, Map::new(), out)?;
        for p in &prepared.problems {
            say(&mut err, &format!("error: {p}"))?;
        }
    }
    let mut section = Section {
        out: match (cx.format, &cx.output) {
            (Format::Json, None) => None,
            (Format::Junit | Format::Sarif | Format::Codequality | Format::Markdown, None) => {
                Some(Box::new(std::io::stderr()))
            }
            _ => Some(Box::new(ForwardTo(&mut *out))),
        },
    };
    let mut extra = Map::new();
    extra.insert("receiptId".to_owned(), Value::Null);
    extra.insert("disabledBases".to_owned(), disabled_json(prepared.plan.as_ref()));
    let mut code = prepared.outcome.code;
    let mut failure: Option<Failure> = None;
    if let Some(plan) = prepared.plan.take() {
        let bundles: Vec<Vec<bundle::Entry>> = if batch {
            bundle::batches(&plan)
        } else {
            vec![plan.entries.clone()]
        };
        let zips: Vec<Vec<u8>> = bundles.iter().map(|b| bundle::write_zip(b)).collect::<Result<_>>()?;
        let whole = match (batch, zips.first()) {
            (false, Some(z)) => z.clone(),
            _ => bundle::write_zip(&plan.entries)?,
        };
        let sha = bundle::sha256_hex(&whole);
        let mut bundle_json =
            json!({"files": plan.entries.len(), "items": plan.items(), "bytes": whole.len(), "sha256": sha});
        if let Some(line) = disabled_line(&plan) {
            section.say(&line)?;
        }
        section.say(&format!(
            "Bundle: {} files, {} items, {}{}",
            plan.entries.len(),
            plan.items(),
            human_size(whole.len()),
            if batch {
                format!(" in {} batches", zips.len())
            } else {
                String::new()
            }
        ))?;
        if cx.style.verbose {
            section.say(&format!("Bundle SHA-256: {sha}"))?;
        }
        if let Some(dir) = &keep_dir {
            let stamp = bundle::file_name();
            let mut paths = Vec::new();
            if batch {
                let stem = stamp.trim_end_matches(".zip").to_owned();
                for (n, z) in zips.iter().enumerate() {
                    paths.push(write_bundle(dir, &format!("{stem}-batch-{}.zip", n + 1), z)?);
                }
            } else {
                paths.push(write_bundle(dir, &stamp, &whole)?);
            }
            let shown: Vec<String> = paths.iter().map(|p| p.to_string_lossy().replace('\\', "/")).collect();
            section.say(&format!("Bundle written to {}", shown.join(", ")))?;
            bundle_json["path"] = json!(shown.first());
        }
        if args.dry_run {
            for e in &plan.entries {
                let note = e.edit.map(|n| format!(" ({n})")).unwrap_or_default();
                section.say(&format!("  {} ({} bytes){note}", e.name, e.bytes.len()))?;
            }
            section.say("Dry run: nothing was uploaded.")?;
            bundle_json["entries"] = plan
                .entries
                .iter()
                .map(|e| json!({"name": e.name, "bytes": e.bytes.len(), "edit": e.edit}))
                .collect();
            extra.insert("dryRun".to_owned(), json!(true));
        }
        extra.insert("bundle".to_owned(), bundle_json);
        if let Some(client) = &client {
            if args.write_base_changes {
                write_base_changes(&plan, &mut err)?;
            }
            progress(
                &policy,
                &format!(
                    "Uploading {} files ({}) to {} (time limits: {} to be accepted, {} to finish)",
                    plan.entries.len(),
                    human_size(whole.len()),
                    client.endpoint(),
                    show_seconds(policy.timeout),
                    show_seconds(policy.poll_timeout)
                ),
            );
            let start = Instant::now();
            let mut done = Uploaded::default();
            for z in &zips {
                match upload_one(client, &policy, z, &mut use_async) {
                    Ok((stats, receipt)) => {
                        done.stats.add(&stats);
                        done.receipts.extend(receipt);
                    }
                    Err(f) => {
                        failure = Some(f);
                        break;
                    }
                }
            }
            extra.insert(
                "receiptId".to_owned(),
                match done.receipts.as_slice() {
                    [] => Value::Null,
                    [one] => json!(one),
                    many => json!(many),
                },
            );
            match &failure {
                None => {
                    section.say(summary(&done.stats).trim_end())?;
                    let receipt = if done.receipts.is_empty() {
                        String::new()
                    } else {
                        format!(" (receipt ID {})", done.receipts.join(", "))
                    };
                    section.say(&format!(
                        "Upload succeeded in {:.1} s{receipt}",
                        start.elapsed().as_secs_f64()
                    ))?;
                    extra.insert("stats".to_owned(), done.stats.to_json());
                }
                Some(f) => {
                    let project = &mut prepared.outcome.project;
                    let mut diags = remote_validation::issue_diagnostics(&f.issues, &project.sources);
                    for d in &diags {
                        let at = d
                            .file()
                            .and_then(|id| project.sources.get(id.0 as usize))
                            .map(|s| format!("{}:1:1: ", s.display))
                            .unwrap_or_default();
                        section.say(&format!("{at}error[{}]: {}", d.code.name(), d.message))?;
                    }
                    project.diagnostics.append(&mut diags);
                    crate::project::sort_diagnostics(&mut project.diagnostics, &project.sources);
                    if let Some(r) = &f.receipt {
                        extra.insert("receiptId".to_owned(), json!(r));
                    }
                    extra.insert("error".to_owned(), json!(f.message));
                    section.say("Upload failed")?;
                    code = code.max(exit::REMOTE);
                }
            }
        }
    } else {
        extra.insert("bundle".to_owned(), Value::Null);
    }
    drop(section);
    if json_at_end {
        let report = prepared.outcome.report(&cx, "upload");
        write_report(&cx, &report, extra, out)?;
        for p in &prepared.problems {
            say(&mut err, &format!("error: {p}"))?;
        }
    }
    if let Some(f) = &failure {
        report_remote_failure(&f.message);
    }
    Ok(code)
}

/// Where the upload section goes (nowhere for JSON: it is in the object).
struct Section<'a> {
    out: Option<Box<dyn Write + 'a>>,
}

impl Section<'_> {
    fn say(&mut self, line: &str) -> Result<()> {
        match &mut self.out {
            Some(w) => say(w.as_mut(), line),
            None => Ok(()),
        }
    }
}

/// A `Write` that forwards to a borrowed writer.
struct ForwardTo<'a>(&'a mut dyn Write);

impl Write for ForwardTo<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
