//! `detect delete`: delete detections or saved queries on Panther
//! (upload-protocol §4.7; cli-and-settings §4.8, §6.3).
//!
//! A dry run first tells, for each ID, whether it will be deleted or was
//! not found, and which linked saved queries or detections go with it.
//! Then, unless `--dry-run`, a confirmation (a prompt on a terminal;
//! `--no-confirm` in scripts; without a terminal and without it the
//! command refuses with exit 2 before any request), then the deletion of
//! what the dry run found.

use std::io::{BufRead, IsTerminal, Read, Write};

use crate::cli::OutputArgs;
use crate::cli::delete::DeleteArgs;
use crate::commands::connection::{report_remote_failure, say};
use crate::commands::context::Context;
use crate::error::{Error, Result};
use crate::exit;
use crate::panther_api::ApiError;

fn remote(e: &ApiError) -> u8 {
    report_remote_failure(&format!("delete failed: {e}"));
    exit::REMOTE
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Usage errors: nothing to delete, no token or host, no confirmation
/// possible.
pub fn run(args: &DeleteArgs, out: &mut dyn Write) -> Result<u8> {
    let cx = Context::resolve(&args.project.project(), &OutputArgs::default())?;
    let ids = if args.analysis_id.is_empty() {
        cx.settings.analysis_id.clone().unwrap_or_default()
    } else {
        args.analysis_id.clone()
    };
    let names = if args.query_id.is_empty() {
        cx.settings.query_id.clone().unwrap_or_default()
    } else {
        args.query_id.clone()
    };
    if ids.is_empty() && names.is_empty() {
        return Err(Error::Usage(
            "nothing to delete: give --analysis-id ID or --query-id NAME".to_owned(),
        ));
    }
    let ask = !args.no_confirm && (args.confirm || cx.settings.confirm.unwrap_or(true));
    let interactive = std::io::stdin().is_terminal();
    if ask && !args.dry_run && !interactive {
        return Err(Error::Usage(
            "refusing to delete without confirmation: stdin is not a terminal; pass --no-confirm (or --dry-run to only look)"
                .to_owned(),
        ));
    }
    let client = args.api.client(&cx.settings)?;
    let mut found_ids = Vec::new();
    let mut found_names = Vec::new();
    if !ids.is_empty() {
        let (found, linked) = match client.delete_detections(&ids, true) {
            Ok(r) => r,
            Err(e) => return Ok(remote(&e)),
        };
        for id in &ids {
            let state = if found.contains(id) {
                "will be deleted"
            } else {
                "was not found"
            };
            say(out, &format!("detection {id} {state}"))?;
        }
        if !linked.is_empty() {
            say(
                out,
                &format!("linked saved queries that will be deleted too: {}", linked.join(", ")),
            )?;
        }
        found_ids = found;
    }
    if !names.is_empty() {
        let (linked, found) = match client.delete_saved_queries(&names, true) {
            Ok(r) => r,
            Err(e) => return Ok(remote(&e)),
        };
        for n in &names {
            let state = if found.contains(n) {
                "will be deleted"
            } else {
                "was not found"
            };
            say(out, &format!("saved query {n} {state}"))?;
        }
        if !linked.is_empty() {
            say(
                out,
                &format!("linked detections that will be deleted too: {}", linked.join(", ")),
            )?;
        }
        found_names = found;
    }
    if args.dry_run {
        say(out, "Dry run: nothing was deleted.")?;
        return Ok(exit::SUCCESS);
    }
    if found_ids.is_empty() && found_names.is_empty() {
        say(out, "Nothing to delete.")?;
        return Ok(exit::SUCCESS);
    }
    if ask {
        let mut err = std::io::stderr();
        let _ = write!(err, "Continue? (y/n) ");
        let _ = err.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().take(64).read_line(&mut answer);
        if !answer.trim().eq_ignore_ascii_case("y") {
            say(out, "Cancelled")?;
            return Ok(exit::SUCCESS);
        }
    }
    let mut deleted_ids = Vec::new();
    let mut deleted_names = Vec::new();
    if !found_ids.is_empty() {
        match client.delete_detections(&found_ids, false) {
            Ok((d, q)) => {
                deleted_ids = d;
                deleted_names.extend(q);
            }
            Err(e) => return Ok(remote(&e)),
        }
    }
    if !found_names.is_empty() {
        match client.delete_saved_queries(&found_names, false) {
            Ok((d, q)) => {
                deleted_ids.extend(d);
                deleted_names.extend(q);
            }
            Err(e) => return Ok(remote(&e)),
        }
    }
    deleted_ids.sort();
    deleted_ids.dedup();
    deleted_names.sort();
    deleted_names.dedup();
    say(
        out,
        &format!(
            "Deleted {} detection{} and {} saved quer{}",
            deleted_ids.len(),
            if deleted_ids.len() == 1 { "" } else { "s" },
            deleted_names.len(),
            if deleted_names.len() == 1 { "y" } else { "ies" }
        ),
    )?;
    Ok(exit::SUCCESS)
}
