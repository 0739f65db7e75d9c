//! `detect validate --remote` (upload-protocol §4.6, §4.11; cli-and-settings
//! §6.3): after a clean local validation, ask the Panther instance.
//!
//! In order: the instance's log types (each `LogTypes` entry it does not
//! list is the error `unknown-log-type`; `Custom.*` names are checked by
//! PAT's pattern instead), the bases missing from the repository
//! (`remote-base-lookup` when the instance does not have them either), and
//! the bundle `upload` would send, given to the validation endpoint. Its
//! issues become `remote-validation` errors on the files they name. A
//! transport or authentication failure ends the check with exit 3.

use std::collections::HashSet;
use std::time::Instant;

use crate::bundle::{self, PlanOptions};
use crate::commands::connection::{Policy, progress, report_remote_failure, show_wait};
use crate::commands::context::Context;
use crate::commands::remote_bases;
use crate::commands::validate::Outcome;
use crate::diagnostic::{self, Code, Diagnostic, Severity};
use crate::exit;
use crate::filter;
use crate::model::{Analysis, Body};
use crate::panther_api::{self, ApiError, Client, Issue, ValidateStatus};
use crate::report::Status;
use crate::source::Spanned;
use crate::source::{FileId, SourceFile, Span};

/// Transport failures of status polls tolerated in a row.
const POLL_FLAKES: u32 = 5;

/// PAT's pattern for custom log type names (cli-and-settings §3 row 21):
/// `Custom.` then one to six dot-separated parts, each an upper-case
/// letter followed by letters and digits.
pub fn is_custom_log_type(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("Custom.") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('.').collect();
    parts.len() <= 6
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
        })
}

/// Issues of the validation endpoint (or of a rejected upload) as
/// diagnostics: an issue's path is a bundle entry name, which is the
/// project-relative path of the file (upload-protocol §6.4).
pub fn issue_diagnostics(issues: &[Issue], sources: &[SourceFile]) -> Vec<Diagnostic> {
    issues
        .iter()
        .map(|i| match bundle::source_by_name(sources, &i.path) {
            Some((n, _)) => Diagnostic::new(
                Code::RemoteValidation,
                FileId(u32::try_from(n).unwrap_or(u32::MAX)),
                Span::START,
                i.error_message.clone(),
            ),
            None => Diagnostic::global(Code::RemoteValidation, format!("{}: {}", i.path, i.error_message)),
        })
        .collect()
}

/// The `LogTypes` entries of a loaded item.
fn log_types(a: &Analysis) -> &[Spanned<String>] {
    match &a.body {
        Body::Rule(r) => r.log_types.as_deref().unwrap_or(&[]),
        Body::Other(o) => &o.log_types,
    }
}

/// `unknown-log-type` errors for the reported, valid items.
fn check_log_types(
    cx: &Context,
    outcome: &Outcome,
    known: &HashSet<&str>,
    invalid: &HashSet<FileId>,
) -> Vec<Diagnostic> {
    let project = &outcome.project;
    let mut known_sorted: Vec<&str> = known.iter().copied().collect();
    known_sorted.sort_unstable();
    let mut out = Vec::new();
    for a in project.entries.iter().filter_map(|e| e.analysis.as_ref()) {
        if invalid.contains(&a.file) || !cx.is_reported(&project.source(a.file).path) {
            continue;
        }
        for t in log_types(a) {
            let name = t.value.as_str();
            let ok = if name.starts_with("Custom.") {
                is_custom_log_type(name)
            } else {
                known.contains(name)
            };
            if ok {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::UnknownLogType,
                a.file,
                t.span,
                format!("log type `{name}` is not supported by the Panther instance"),
            );
            if name.starts_with("Custom.") {
                d = d.with_help("custom log types are named `Custom.` then dot-separated parts, each starting with a capital letter (`Custom.MyApp.Audit`)");
            } else if let Some(help) = diagnostic::did_you_mean(name, known_sorted.iter().copied()) {
                d = d.with_help(help);
            }
            out.push(d);
        }
    }
    out
}

/// A failure that ends the remote check (exit 3).
struct Stop(String);

fn stop(what: &str, e: &ApiError) -> Stop {
    if e.is_unsupported() {
        return Stop(format!(
            "{what}: this Panther instance does not support remote validation"
        ));
    }
    Stop(format!("{what}: {e}"))
}

/// Sends the bundle and waits for the verdict: the error text (if any)
/// and the issues.
fn validate_bundle(
    client: &Client,
    policy: &Policy,
    zip: &[u8],
) -> std::result::Result<(Option<String>, Vec<Issue>), Stop> {
    let data = bundle::base64(zip);
    let total = policy.max_retries + 1;
    let mut attempt = 1;
    let receipt = loop {
        match client.validate(&data, &policy.pat_version) {
            Ok(r) => break r,
            Err(e) if (e.is_transient() || e.is_busy()) && attempt < total => {
                let wait = if e.is_busy() {
                    policy.busy_wait
                } else {
                    e.retry_after().unwrap_or_else(|| policy.backoff(attempt))
                };
                attempt += 1;
                progress(
                    policy,
                    &format!(
                        "retrying remote validation in {} (attempt {attempt}/{total}): {e}",
                        show_wait(wait)
                    ),
                );
                std::thread::sleep(wait);
            }
            Err(e) => return Err(stop("remote validation failed", &e)),
        }
    };
    let start = Instant::now();
    let mut flakes = 0;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= policy.poll_timeout {
            return Err(Stop(format!(
                "remote validation did not finish within {} s (receipt ID {receipt})",
                policy.poll_timeout.as_secs_f64().round()
            )));
        }
        std::thread::sleep(policy.poll_interval.min(policy.poll_timeout - elapsed));
        match client.validate_status(&receipt) {
            Ok(ValidateStatus::NotProcessed) => flakes = 0,
            Ok(ValidateStatus::Done { error, issues }) => return Ok((error, issues)),
            Ok(ValidateStatus::Unexpected(s)) => {
                return Err(Stop(format!("remote validation failed: unexpected status `{s}`")));
            }
            Err(e) if e.is_transient() && flakes < POLL_FLAKES => {
                flakes += 1;
                std::thread::sleep(e.retry_after().unwrap_or_else(|| policy.backoff(flakes)));
            }
            Err(e) => return Err(stop("remote validation failed", &e)),
        }
    }
}

/// Runs the remote half of `validate --remote` on a validated project,
/// adding its diagnostics to the outcome and updating items and exit code.
///
/// The bundle is only sent when the local validation found nothing to fix.
///
/// # Errors
/// A bundled file outside the project root; a failure to write the zip.
pub fn run(cx: &Context, outcome: &mut Outcome, client: &Client) -> crate::error::Result<()> {
    let policy = &Policy::new(None, cx);
    if outcome.code != exit::SUCCESS {
        progress(policy, "Remote validation skipped: fix the local findings first");
        return Ok(());
    }
    let invalid = outcome.project.resolved().invalid().clone();
    let mut found = Vec::new();
    // 1. Log types.
    match client.log_types() {
        Ok(names) if !names.is_empty() => {
            let known: HashSet<&str> = names.iter().map(String::as_str).collect();
            found.extend(check_log_types(cx, outcome, &known, &invalid));
        }
        Ok(_) => progress(
            policy,
            "warning: the Panther instance listed no log types; log types were not checked",
        ),
        Err(e) => {
            if matches!(e, ApiError::Auth { .. }) {
                report_remote_failure(&format!("remote validation failed: {e}"));
                outcome.code = exit::REMOTE;
                return Ok(());
            }
            progress(
                policy,
                &format!("warning: could not list the instance's log types ({e}); log types were not checked"),
            );
        }
    }
    // 2. Bases missing from the repository.
    let bases = {
        let project = &outcome.project;
        let index = project.resolved();
        let derived: Vec<&Analysis> = index
            .analyses()
            .filter(|a| !invalid.contains(&a.file) && cx.is_reported(&project.source(a.file).path))
            .collect();
        remote_bases::resolve(client, &derived, &index)
    };
    // 3. The bundle.
    let filters = filter::with_status_filter(cx.filters.clone());
    let is_reported = |p: &std::path::Path| cx.is_reported(p);
    let plan = bundle::plan(
        &outcome.project,
        &PlanOptions {
            filters: &filters,
            auto_disable_base: false,
            is_reported: &is_reported,
        },
    )?;
    let mut stopped = None;
    if plan.entries.is_empty() {
        progress(
            policy,
            "Remote validation: nothing to send (no analysis item was selected)",
        );
    } else {
        let zip = bundle::write_zip(&plan.entries)?;
        progress(
            policy,
            &format!("Validating {} files with {}", plan.entries.len(), client.endpoint()),
        );
        match validate_bundle(client, policy, &zip) {
            Ok((error, issues)) => {
                let mut diags = issue_diagnostics(&issues, &outcome.project.sources);
                if let Some(e) = error {
                    let r = panther_api::render_error(&e);
                    diags.extend(issue_diagnostics(&r.issues, &outcome.project.sources));
                    if !r.message.is_empty() {
                        diags.push(Diagnostic::global(Code::RemoteValidation, r.message));
                    }
                }
                found.extend(diags);
            }
            Err(Stop(message)) => stopped = Some(message),
        }
    }
    // Apply what was found.
    let project = &mut outcome.project;
    let warned = !bases.diagnostics.is_empty();
    bases.apply_to(&mut project.diagnostics);
    let bad: HashSet<FileId> = found
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .filter_map(Diagnostic::file)
        .collect();
    let errors = found.iter().any(|d| d.severity() == Severity::Error);
    let warnings = warned || found.iter().any(|d| d.severity() == Severity::Warning);
    project.diagnostics.append(&mut found);
    crate::project::sort_diagnostics(&mut project.diagnostics, &project.sources);
    let bad_files: HashSet<&str> = bad
        .iter()
        .filter_map(|f| project.sources.get(f.0 as usize))
        .map(|s| s.display.as_str())
        .collect();
    for item in &mut outcome.items {
        if bad_files.contains(item.file.as_str()) {
            item.status = Status::Invalid;
        }
    }
    if errors || (cx.deny_warnings && warnings) {
        outcome.code = exit::FINDINGS;
    }
    if let Some(message) = stopped {
        report_remote_failure(&message);
        outcome.code = exit::REMOTE;
    } else if !plan.entries.is_empty() {
        progress(
            policy,
            &if errors {
                let n = project
                    .diagnostics
                    .iter()
                    .filter(|d| matches!(d.code, Code::RemoteValidation | Code::UnknownLogType))
                    .count();
                format!(
                    "Remote validation failed: {n} issue{} (listed in the report)",
                    if n == 1 { "" } else { "s" }
                )
            } else {
                "Remote validation success".to_owned()
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_log_types_follow_pats_pattern() {
        for ok in ["Custom.App", "Custom.MyApp.Audit2", "Custom.A.B.C.D.E.F"] {
            assert!(is_custom_log_type(ok), "{ok}");
        }
        for bad in [
            "Custom.",
            "Custom.app",
            "Custom.App.",
            "Custom.App-Logs",
            "Custom.A.B.C.D.E.F.G",
            "AWS.CloudTrail",
        ] {
            assert!(!is_custom_log_type(bad), "{bad}");
        }
    }
}
