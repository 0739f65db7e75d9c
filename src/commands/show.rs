//! `detect show`: print the effective detection of an ID, each top-level
//! field with its source (cli-and-settings §6.3).
//!
//! The effective detection is built by [`crate::resolve::effective_fields`]
//! (derived-detections §3); values are the YAML values as written in the
//! file they come from (cli-and-settings §8 item 1). The command also says
//! whether an upload with automatic base disabling would disable the item
//! ([`crate::resolve::bases_to_disable`], derived-detections §7.2), and, in the
//! human form, which key or Python function decides each alert field
//! ([`crate::resolve::alert_precedence`], §4).
//!
//! # JSON form
//!
//! One object:
//!
//! ```json
//! {"id": "Example.Login.Prod", "file": "rules/login_prod.yml",
//!  "base": {"id": "Example.Login", "file": "rules/login.yml"},
//!  "fields": {"AnalysisType": {"value": "rule", "source": "derived"},
//!             "LogTypes": {"value": ["Okta.SystemLog"], "source": "base"},
//!             "Threshold": {"value": 1, "source": "default"}},
//!  "auto_disabled": false}
//! ```
//!
//! `base` is `null` for an item that is not derived; for a derived
//! detection whose base is not among the loaded files its `file` is
//! `null`. `fields` lists every effective top-level key.
//!
//! # `--remote`
//!
//! A base that is not among the loaded files is looked up on the Panther
//! instance (upload-protocol §4.8); a local base never causes a request.
//! The instance returns only the base's Python body and tests, so the
//! fields stay the item's own; `base` gains
//! `"remote": {"python_lines": N, "tests": [{"name", "expected_result"}]}`
//! (the key is absent for a base that was not fetched). A lookup that
//! fails or finds nothing is the warning `remote-base-lookup` on stderr,
//! and the item is shown as without `--remote`.

use std::io::Write;

use crate::cli::OutputArgs;
use crate::cli::show::{ShowArgs, ShowFormat};
use crate::commands::context::Context;
use crate::commands::remote_bases::{self, Lookup};
use crate::diagnostic::did_you_mean;
use crate::error::{Error, Result};
use crate::exit;
use crate::model::Analysis;
use crate::project::Project;

mod render;
mod view;

use view::find;
pub use view::{BaseRef, RemoteInfo, View, node_json, view};

/// Writes `error: <message>` and an optional help line on stderr, for
/// failures that exit 1 rather than 2 (cli-and-settings §6.5).
pub(crate) fn fail(message: &str, help: Option<String>) -> u8 {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "error: {message}");
    if let Some(h) = help {
        let _ = writeln!(err, "  = help: {h}");
    }
    exit::FINDINGS
}

/// With `--remote`, looks up the base of a derived detection whose base
/// is not among the loaded files, and records it in the view. A lookup
/// that fails or finds nothing is the warning `remote-base-lookup` on
/// stderr; the view stays as it was.
///
/// # Errors
/// No token or host (a usage error).
fn add_remote_base(args: &ShowArgs, cx: &Context, project: &Project, view: &mut View) -> Result<()> {
    let Some(id) = view.base.as_ref().filter(|b| b.file.is_none()).map(|b| b.id.clone()) else {
        return Ok(());
    };
    let client = args.api.client(&cx.settings)?;
    let lookup = remote_bases::fetch(&client, [id.as_str()])
        .remove(&id)
        .unwrap_or_else(|| Lookup::Failed("no answer".to_owned()));
    if let Lookup::Found(b) = &lookup {
        view.set_remote_base(b);
        return Ok(());
    }
    let message = find(project, &args.id)
        .and_then(|a| remote_bases::diagnostic(a, &lookup))
        .map_or_else(
            || format!("could not look up base detection `{id}` on the Panther instance"),
            |d| d.message,
        );
    let mut err = std::io::stderr();
    let _ = writeln!(err, "warning[remote-base-lookup]: {message}");
    Ok(())
}

/// Runs the command and returns its exit code: 0, or 1 when no loaded item
/// has the ID.
///
/// # Errors
/// Failures of the run itself (bad settings, missing path, bad filter);
/// `--remote` without a token or host.
pub fn run(args: &ShowArgs, out: &mut dyn Write) -> Result<u8> {
    let mut cx = Context::resolve(&args.project, &OutputArgs::default())?;
    let project = cx.load()?;
    let Some(mut view) = view(&project, &cx.filters, &args.id) else {
        let ids = project
            .entries
            .iter()
            .filter_map(|e| e.analysis.as_ref())
            .map(Analysis::id_str)
            .filter(|i| !i.is_empty());
        let help = did_you_mean(&args.id, ids).or_else(|| {
            project
                .entries
                .is_empty()
                .then(|| format!("no detections were found in {}", cx.paths.join(", ")))
        });
        return Ok(fail(&format!("no loaded detection has the ID `{}`", args.id), help));
    };
    if args.remote {
        add_remote_base(args, &cx, &project, &mut view)?;
    }
    let text = match args.format {
        ShowFormat::Json => {
            let mut s = serde_json::to_string_pretty(&view.to_json()).map_err(|e| Error::Write(e.into()))?;
            s.push('\n');
            s
        }
        ShowFormat::Yaml => view.to_yaml(),
        ShowFormat::Human => view.to_human(),
    };
    match out.write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(exit::SUCCESS),
    }
}
