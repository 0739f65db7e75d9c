//! `detect zip`: validate, test and write the upload bundle
//! (upload-protocol §2; cli-and-settings §4.6, §6.3).
//!
//! Also the front half `upload` shares: the implicit Status filter, the
//! helper roots, the test step (or validation alone with `--skip-tests`),
//! the bundle plan with its warnings, and the report with the members
//! `zip` and `upload` add to the JSON object.
//!
//! Output: the bundle path is the only line on stdout; the test report
//! goes to stderr (`--format json` prints the report object, with the
//! path in `bundle.path`, on stdout instead).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::bundle::{self, Plan, PlanOptions};
use crate::cli::zip::{BundleArgs, ZipArgs};
use crate::commands::connection::say;
use crate::commands::context::Context;
use crate::commands::test::{self, TestOptions};
use crate::commands::validate::{self, Outcome};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::discover;
use crate::error::{Error, Result};
use crate::exit;
use crate::filter;
use crate::report::{self, Format, RunReport, Status};

/// The validated project and the bundle plan.
pub struct Prepared {
    /// The test (or validation) outcome, with the plan's warnings added.
    pub outcome: Outcome,
    /// The plan; `None` when the run stops before bundling.
    pub plan: Option<Plan>,
    /// Lines to show on stderr when the run stops before bundling.
    pub problems: Vec<String>,
}

/// Whether the bundle disables bases (flag or `auto_disable_base: true`).
pub fn auto_disable(args: &BundleArgs, cx: &Context) -> bool {
    // No variable: this cannot fail.
    cx.layers()
        .switch(
            args.auto_disable_base,
            args.no_auto_disable_base,
            None,
            cx.settings.auto_disable_base,
            false,
        )
        .unwrap_or(false)
}

/// The output folder: `--out`, `PANTHER_OUT`, settings `out`.
pub fn out_dir(args: &BundleArgs, cx: &Context) -> Option<PathBuf> {
    match &args.out {
        Some(p) => Some(p.clone()),
        None => cx
            .layers()
            .text(None, "PANTHER_OUT", cx.settings.out.as_deref())
            .map(PathBuf::from),
    }
}

/// Adds the project's `global_helpers` and `data_models` folders to the
/// search roots: a bundle always carries them (upload-protocol §2.1).
pub fn add_helper_roots(cx: &mut Context) {
    let roots = &mut cx.project.discover.roots;
    if roots.is_empty() {
        roots.push(PathBuf::from("."));
    }
    let project_root = discover::project_root(&roots[0], &cx.cwd);
    for name in ["global_helpers", "data_models"] {
        let p = project_root.join(name);
        if p.is_dir() && !roots.iter().any(|r| discover::absolute(r, &cx.cwd) == p) {
            roots.push(p);
        }
    }
}

/// Validates, tests (unless skipped) and plans the bundle.
///
/// # Errors
/// Failures of the run itself; a bundled file outside the project root.
pub fn prepare(cx: &mut Context, args: &BundleArgs) -> Result<Prepared> {
    cx.filters = filter::with_status_filter(std::mem::take(&mut cx.filters));
    if auto_disable(args, cx) {
        cx.load_whole_project();
    }
    add_helper_roots(cx);
    let opts = TestOptions::resolve(cx, &args.step)?;
    let skip_tests = cx.layers().switch(
        args.skip_tests,
        args.no_skip_tests,
        Some("PANTHER_SKIP_TESTS"),
        cx.settings.skip_tests,
        false,
    )?;
    let mut outcome = if skip_tests {
        let mut outcome = validate::run(cx)?;
        // Validation alone passes nothing: say what was done.
        for item in &mut outcome.items {
            if item.status == Status::Passed {
                item.status = Status::Validated;
                item.reason = Some("tests not run (--skip-tests)".to_owned());
            }
        }
        outcome
    } else {
        test::run(cx, &opts)?
    };
    if outcome.code != exit::SUCCESS {
        // One line: what stopped the bundle, naming the files that could
        // not be read when there are any.
        let unread = unreadable_files(&outcome.project);
        let problems = vec![if unread.is_empty() {
            "nothing was bundled: fix the findings above first".to_owned()
        } else {
            format!(
                "nothing was bundled: could not read {} (fix these and any other findings above first)",
                unread.join(", ")
            )
        }];
        return Ok(Prepared {
            outcome,
            plan: None,
            problems,
        });
    }
    let auto = auto_disable(args, cx);
    let is_reported = |p: &Path| cx.is_reported(p);
    let mut plan = bundle::plan(
        &outcome.project,
        &PlanOptions {
            filters: &cx.filters,
            auto_disable_base: auto,
            is_reported: &is_reported,
        },
    )?;
    let warned = plan.diagnostics.iter().any(|d| d.severity() == Severity::Warning);
    outcome.project.diagnostics.append(&mut plan.diagnostics);
    crate::project::sort_diagnostics(&mut outcome.project.diagnostics, &outcome.project.sources);
    let mut problems = Vec::new();
    if !plan.invalid.is_empty() {
        problems.push(format!(
            "nothing was bundled: base detections to disable are invalid: {}",
            plan.invalid.join(", ")
        ));
    }
    if cx.deny_warnings && warned {
        problems.push("nothing was bundled: warnings with --deny-warnings".to_owned());
    }
    if plan.entries.is_empty() {
        problems.push("nothing to bundle: no analysis item was selected".to_owned());
    }
    if problems.is_empty() {
        Ok(Prepared {
            outcome,
            plan: Some(plan),
            problems,
        })
    } else {
        outcome.code = exit::FINDINGS;
        Ok(Prepared {
            outcome,
            plan: None,
            problems,
        })
    }
}

/// The files and folders of a project that could not be read.
fn unreadable_files(project: &crate::project::Project) -> Vec<String> {
    let mut out: Vec<String> = project
        .diagnostics
        .iter()
        .filter(|d| matches!(d.code, Code::UnreadableFile | Code::UnreadableFolder))
        .filter_map(Diagnostic::file)
        .map(|f| project.source(f).display.clone())
        .collect();
    out.dedup();
    out
}

/// `disabledBases` of the JSON report.
pub fn disabled_json(plan: Option<&Plan>) -> Value {
    plan.map_or_else(
        || json!([]),
        |p| p.disabled.iter().map(|b| json!({"id": b.id, "file": b.file})).collect(),
    )
}

/// `Disabled N base detections: <ID> (<file>), ...` (upload-protocol §7.3).
pub fn disabled_line(plan: &Plan) -> Option<String> {
    if plan.disabled.is_empty() {
        return None;
    }
    let list: Vec<String> = plan.disabled.iter().map(|b| format!("{} ({})", b.id, b.file)).collect();
    Some(format!(
        "Disabled {} base detection{}: {}",
        plan.disabled.len(),
        if plan.disabled.len() == 1 { "" } else { "s" },
        list.join(", ")
    ))
}

/// Writes `bytes` to `dir/name` (creating `dir`) and returns the path.
///
/// # Errors
/// The folder or file cannot be written.
pub fn write_bundle(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Renders the report to `--output` when given, else to `out`; the JSON
/// object gets `extra` members (upload-protocol §5).
///
/// # Errors
/// The report file cannot be written.
pub fn write_report(
    cx: &Context,
    report: &RunReport<'_>,
    extra: Map<String, Value>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut buf = Vec::new();
    report::render(report, cx.format, cx.style, &mut buf).map_err(Error::Write)?;
    if cx.format == Format::Json {
        if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&buf) {
            m.extend(extra);
            buf = serde_json::to_vec_pretty(&Value::Object(m)).map_err(|e| Error::Write(e.into()))?;
            buf.push(b'\n');
        }
    }
    match &cx.output {
        Some(path) => {
            std::fs::write(path, &buf).map_err(Error::Write)?;
            if cx.format != Format::Human {
                let mut err = std::io::stderr();
                let _ = writeln!(err, "{}", report::summary_line(report));
            }
            Ok(())
        }
        None => match out.write_all(&buf) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
            _ => Ok(()),
        },
    }
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Failures of the run itself.
pub fn run(args: &ZipArgs, out: &mut dyn Write) -> Result<u8> {
    let mut cx = Context::resolve(&args.project, &args.output.options(args.bundle.step.strict))?;
    let prepared = prepare(&mut cx, &args.bundle)?;
    let mut extra = Map::new();
    let mut path = None;
    let mut sha = None;
    if let Some(plan) = &prepared.plan {
        let bytes = bundle::write_zip(&plan.entries)?;
        let digest = bundle::sha256_hex(&bytes);
        let dir = out_dir(&args.bundle, &cx);
        let name = bundle::file_name();
        let written = write_bundle(dir.as_deref().unwrap_or(Path::new(".")), &name, &bytes)?;
        let shown = match &dir {
            Some(_) => written.to_string_lossy().replace('\\', "/"),
            None => name,
        };
        extra.insert(
            "bundle".to_owned(),
            json!({"path": shown, "files": plan.entries.len(), "items": plan.items(), "bytes": bytes.len(), "sha256": digest}),
        );
        path = Some(shown);
        sha = Some(digest);
    } else {
        extra.insert("bundle".to_owned(), Value::Null);
    }
    extra.insert("disabledBases".to_owned(), disabled_json(prepared.plan.as_ref()));
    let report = prepared.outcome.report(&cx, "zip");
    let mut err = std::io::stderr();
    if cx.format == Format::Json {
        write_report(&cx, &report, extra, out)?;
    } else {
        write_report(&cx, &report, extra, &mut err)?;
    }
    for p in &prepared.problems {
        say(&mut err, &format!("error: {p}"))?;
    }
    if let Some(plan) = &prepared.plan {
        if let Some(line) = disabled_line(plan) {
            say(&mut err, &line)?;
        }
        if cx.style.verbose {
            if let Some(d) = &sha {
                say(&mut err, &format!("bundle SHA-256: {d}"))?;
            }
        }
    }
    if let (Some(p), false) = (&path, cx.format == Format::Json && cx.output.is_none()) {
        say(out, p)?;
    }
    Ok(prepared.outcome.code)
}
