//! `detect derive`: scaffold a derived detection of a base rule
//! (cli-and-settings §6.3, derived-detections §10).
//!
//! The generated file holds `AnalysisType: rule`, the new `RuleID`,
//! `BaseDetection`, an explicit `Enabled: true` (so the detection keeps
//! running when its base is disabled), the overrides given with `--set`,
//! and every other overridable key as a commented-out line with the base's
//! current value. It has no logic keys and no `Tests` key, so the base's
//! tests are inherited ([`crate::scaffold`] writes the text). Before
//! anything is written the file is loaded like any detection file, so
//! `derive` never writes a file `validate` rejects.
//!
//! `--disable-base` also sets `Enabled: false` in the base file with the
//! minimal edit of [`resolve::disable_in_text`].
//!
//! With `--remote`, a `BASE_ID` that is not among the loaded files is
//! looked up on the Panther instance (upload-protocol §4.8). The instance
//! returns only the base's Python body and tests, so the overridable keys
//! are written as comments without values, and there is no effective
//! detection to diff. A local base never causes a request.
//!
//! Exit codes: 0 done; 1 the base is not a local rule (nor, with
//! `--remote`, on the instance), or the output file exists (without
//! `--force`); 2 a bad flag (`--set` key or value, `--id`), or `--remote`
//! without a token or host; 3 the lookup failed.

use std::io::Write;

use std::path::{Path, PathBuf};

use crate::cli::OutputArgs;
use crate::cli::derive::DeriveArgs;
use crate::commands::context::Context;
use crate::commands::remote_bases::{self, Lookup};
use crate::diagnostic::{Code, Diagnostic, Severity, did_you_mean};
use crate::error::{Error, Result};
use crate::exit;
use crate::load::{Loaded, load_file};
use crate::model::{Analysis, AnalysisType};
use crate::panther_api::RemoteBase;
use crate::project::Project;
use crate::report::command::Reporter;
use crate::report::derived::{BaseEdit, Derived};
use crate::resolve::{self, Field};
use crate::scaffold::{FUNCTION_OF, SHADOWED, file_name, generate, generate_remote, head, parse_set, push_entry};
use crate::source::{FileId, SourceFile, Span};
use crate::yaml::Node;
use crate::yaml_write;

/// The effective detection as YAML, without comments, for the diff.
fn render(fields: &[Field]) -> String {
    let mut out = String::new();
    for f in fields {
        push_entry(&mut out, &yaml_write::string(&f.key), &f.value);
    }
    out
}

fn diff(old: &str, new: &str, a: &str, b: &str) -> String {
    similar::udiff::unified_diff(similar::Algorithm::Myers, old, new, 3, Some((a, b)))
}

/// A path for messages: relative to the working directory when below it.
fn shown(path: &Path, cwd: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    abs.strip_prefix(cwd)
        .unwrap_or(&abs)
        .to_string_lossy()
        .replace('\\', "/")
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// A failure of the command (`error: message`, its help): exit 1.
fn fail(rep: &mut Reporter<'_>, message: &str, help: Option<String>) -> u8 {
    rep.problem(message, help.as_deref());
    exit::FINDINGS
}

/// Loads a generated file like any detection file: an error means the
/// `--set` values make an invalid detection (a usage error).
fn check(text: &str, cx: &Context) -> Result<Loaded> {
    let loaded = load_file(FileId(0), Some(text), cx.project.load.clone());
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| format!("{}: {}", d.code.name(), d.message))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Usage(format!(
            "the --set values make an invalid detection: {}",
            errors.join("; ")
        )));
    }
    Ok(loaded)
}

/// The folder of a new file whose base is not in the repository: next to
/// a loaded detection that already derives from the same base, else the
/// first search root (its folder when it is a file).
fn remote_out_dir(analyses: &[&Analysis], project: &Project, base_id: &str, cx: &Context) -> PathBuf {
    let sibling = analyses.iter().find(|a| {
        a.rule()
            .and_then(|r| r.base_detection.as_ref())
            .is_some_and(|b| b.value == base_id)
    });
    if let Some(a) = sibling {
        return project
            .source(a.file)
            .path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .to_path_buf();
    }
    let first = PathBuf::from(cx.paths.first().map_or(".", String::as_str));
    if cx.cwd.join(&first).is_file() {
        return first.parent().unwrap_or_else(|| Path::new("")).to_path_buf();
    }
    first
}

/// Looks the base up on the instance: the base, or the exit code of a
/// failure (1 not found, 3 the lookup failed) with its message printed.
fn lookup(
    args: &DeriveArgs,
    cx: &Context,
    hint: Option<String>,
    rep: &mut Reporter<'_>,
) -> Result<std::result::Result<RemoteBase, u8>> {
    let base_id = args.base_id.as_str();
    let client = args.api.client(&cx.settings)?;
    let found = remote_bases::fetch(&client, [base_id]).remove(base_id);
    Ok(match found {
        Some(Lookup::Found(b)) => Ok(b),
        Some(Lookup::NotFound) => Err(fail(
            rep,
            &format!("base detection `{base_id}` is neither in the repository nor on the Panther instance"),
            hint,
        )),
        Some(Lookup::Failed(e)) => {
            rep.problem(
                &format!("could not look up base detection `{base_id}` on the Panther instance: {e}"),
                None,
            );
            Err(exit::REMOTE)
        }
        None => {
            rep.problem(
                &format!("could not look up base detection `{base_id}` on the Panther instance"),
                None,
            );
            Err(exit::REMOTE)
        }
    })
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Bad flags (exit 2), `--remote` without a token or host (exit 2),
/// failures to read or write files.
pub fn run(args: &DeriveArgs, out: &mut dyn Write) -> Result<u8> {
    let sets = args.set.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>>>()?;
    let output = OutputArgs {
        format: args.format,
        ..OutputArgs::default()
    };
    let mut cx = Context::resolve(&args.project.project(), &output)?;
    let mut err = std::io::stderr();
    let mut rep = Reporter::new("derive", cx.format, cx.cwd.clone(), out, &mut err);
    let result = derive(args, &mut cx, &sets, &mut rep);
    rep.end(result, Error::Write)
}

/// `derive` once the options are known; reports through `rep`.
fn derive(args: &DeriveArgs, cx: &mut Context, sets: &[(&'static str, Node)], rep: &mut Reporter<'_>) -> Result<u8> {
    let project = cx.load()?;
    rep.set_root(project.root.clone());
    // The files that could not be loaded: a base among them is not found.
    rep.unloaded(&project);
    let index = project.resolved();
    let (analyses, invalid): (Vec<&Analysis>, _) = (index.analyses().collect(), index.invalid());
    let base_id = args.base_id.as_str();
    let rules = || {
        analyses
            .iter()
            .filter(|a| a.analysis_type.value == AnalysisType::Rule)
            .map(|a| a.id_str())
    };

    // The base: a local rule that is not itself derived, or with
    // `--remote` a rule on the instance (looked up below, once the flags
    // are known to be good).
    let local = index
        .get(base_id)
        .or_else(|| analyses.iter().copied().find(|a| a.id_str() == base_id));
    let base = match local {
        Some(b) => b,
        None if args.remote => {
            if args.disable_base {
                return Ok(fail(
                    rep,
                    &format!("base detection `{base_id}` is not in the repository: --disable-base cannot edit it"),
                    Some("disable the base in Panther instead, or drop --disable-base".to_owned()),
                ));
            }
            let hint = did_you_mean(base_id, rules());
            return derive_remote(args, cx, &project, &analyses, sets, hint, rep);
        }
        None => {
            return Ok(fail(
                rep,
                &format!("no local rule has the RuleID `{base_id}`"),
                did_you_mean(base_id, rules()).or_else(|| {
                    Some(format!(
                        "`derive` needs the base's file among the loaded paths ({}), or --remote to look it up on the Panther instance",
                        cx.paths.join(", ")
                    ))
                }),
            ));
        }
    };
    let base_src = project.source(base.file);
    if base.analysis_type.value != AnalysisType::Rule {
        return Ok(fail(
            rep,
            &format!(
                "`{base_id}` is a {} ({}); only rules can be derived from",
                base.analysis_type.value.name(),
                base_src.display
            ),
            None,
        ));
    }
    if let Some(b) = base.rule().and_then(|r| r.base_detection.as_ref()) {
        return Ok(fail(
            rep,
            &format!(
                "`{base_id}` is itself derived from `{}`; derivation is one level deep",
                b.value
            ),
            Some(format!("derive from `{}` instead", b.value)),
        ));
    }
    if invalid.contains(&base.file) {
        let d = Diagnostic::global(
            Code::DerivedBaseInvalid,
            format!(
                "`{base_id}` has errors ({}): its derived detections are not tested until they are fixed",
                base_src.display
            ),
        );
        rep.diagnostic(&d, &[]);
    }

    // The new ID and the output file.
    let new_id = new_id(args)?;
    let default_dir = base_src.path.parent().unwrap_or_else(|| Path::new("")).to_path_buf();
    let out_path = match output(args, cx, &project, &analyses, &new_id, &default_dir, rep)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let out_shown = shown(&out_path, &cx.cwd);

    // Python alert functions of the base, for notes and warnings.
    let mut functions = Vec::new();
    if let Some(name) = base.rule().and_then(|r| r.filename.as_ref()) {
        let py = base_src
            .path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(&name.value);
        if let Ok(text) = std::fs::read_to_string(py) {
            functions = resolve::alert_functions(&text);
        }
    }

    // Generate and load the file; never write one `validate` rejects.
    let text = generate(&new_id, base, sets, &functions);
    let loaded = check(&text, cx)?;
    warn_about(&loaded, &text, &out_shown, sets, &functions, rep);
    let Some(derived) = loaded.analysis else {
        return Err(Error::Usage("the generated file could not be read back".to_owned()));
    };

    // The base edit, and the derived detections it switches off with the
    // base because they inherit `Enabled` (derived-detections §7.4).
    if args.disable_base {
        for a in analyses.iter().filter(|a| {
            a.rule()
                .and_then(|r| r.base_detection.as_ref())
                .is_some_and(|b| b.value == base_id)
                && a.root.get("Enabled").is_none()
        }) {
            let at = a.root.get_entry("BaseDetection").map_or(Span::START, |(k, _)| k.span);
            let d = Diagnostic::new(
                Code::DerivedInheritsDisabled,
                a.file,
                at,
                format!(
                    "`{}` writes no `Enabled` and stops running with its base; add `Enabled: true` to it",
                    a.id_str()
                ),
            );
            rep.diagnostic(&d, &project.sources);
        }
    }
    let base_edit = if args.disable_base {
        let Some(old) = base_src.text.as_deref() else {
            return Ok(fail(rep, &format!("cannot read `{}` as text", base_src.display), None));
        };
        match resolve::disable_in_text(old) {
            Ok(new) => Some((old, new)),
            Err(e) => {
                return Ok(fail(
                    rep,
                    &format!("cannot disable `{base_id}` in {}: {e}", base_src.display),
                    None,
                ));
            }
        }
    } else {
        None
    };

    // The effective detection before (the base) and after (the new one).
    let before = render(&resolve::effective_fields(base, None));
    let after_fields = resolve::effective_fields(&derived, Some(base));
    let after = render(&after_fields);
    write_file(args, &out_path, &text)?;
    let edit = match &base_edit {
        Some((old, new)) if old == new => Some(BaseEdit {
            file: base_src.display.clone(),
            diff: None,
        }),
        Some((old, new)) => {
            if !args.dry_run {
                std::fs::write(&base_src.path, new).map_err(Error::Write)?;
            }
            Some(BaseEdit {
                file: base_src.display.clone(),
                diff: Some(diff(
                    old,
                    new,
                    &format!("a/{}", base_src.display),
                    &format!("b/{}", base_src.display),
                )),
            })
        }
        None => None,
    };
    let effective = diff(
        &before,
        &after,
        &format!("{base_id} (effective)"),
        &format!("{new_id} (effective)"),
    );
    rep.derived(&Derived {
        base_edit: edit,
        effective_diff: Some(effective),
        ..derived_file(args, &out_shown, &new_id, text)
    });
    Ok(exit::SUCCESS)
}

/// `derive --remote` of a base that is not among the loaded files.
fn derive_remote(
    args: &DeriveArgs,
    cx: &Context,
    project: &Project,
    analyses: &[&Analysis],
    sets: &[(&'static str, Node)],
    hint: Option<String>,
    rep: &mut Reporter<'_>,
) -> Result<u8> {
    let base_id = args.base_id.as_str();
    let new_id = new_id(args)?;
    let default_dir = remote_out_dir(analyses, project, base_id, cx);
    let out_path = match output(args, cx, project, analyses, &new_id, &default_dir, rep)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let out_shown = shown(&out_path, &cx.cwd);
    // The keys the file sets are checked before anything is sent.
    check(&head(&new_id, base_id, sets), cx)?;

    let remote = match lookup(args, cx, hint, rep)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let functions = resolve::alert_functions(&remote.python_body);
    let text = generate_remote(&new_id, base_id, &remote, sets, &functions);
    let loaded = check(&text, cx)?;
    if loaded.analysis.is_none() {
        return Err(Error::Usage("the generated file could not be read back".to_owned()));
    }
    warn_about(&loaded, &text, &out_shown, sets, &functions, rep);

    write_file(args, &out_path, &text)?;
    rep.derived(&Derived {
        remote_base: Some((remote.python_body.lines().count(), remote.tests.len())),
        ..derived_file(args, &out_shown, &new_id, text)
    });
    Ok(exit::SUCCESS)
}

/// The `RuleID` of the new detection, checked.
fn new_id(args: &DeriveArgs) -> Result<String> {
    let base_id = args.base_id.as_str();
    let new_id = args.id.clone().unwrap_or_else(|| format!("{base_id}.Derived"));
    if new_id.is_empty() {
        return Err(Error::Usage("--id must not be empty".to_owned()));
    }
    if let Some(c) = new_id.chars().find(|c| matches!(c, '<' | '>' | '&' | '"' | '%')) {
        return Err(Error::Usage(format!(
            "--id `{new_id}` contains the forbidden character `{c}`"
        )));
    }
    if new_id == base_id {
        return Err(Error::Usage(format!(
            "--id must differ from the base's RuleID `{base_id}`"
        )));
    }
    Ok(new_id)
}

/// The file to write (`--out`, else `<default_dir>/<NEW_ID>.yml`), or the
/// exit code when it exists without `--force`. A `RuleID` another file
/// already uses is a usage error.
fn output(
    args: &DeriveArgs,
    cx: &Context,
    project: &Project,
    analyses: &[&Analysis],
    new_id: &str,
    default_dir: &Path,
    rep: &mut Reporter<'_>,
) -> Result<std::result::Result<PathBuf, u8>> {
    let out_path = match &args.out {
        Some(p) => p.clone(),
        None => default_dir.join(file_name(new_id)),
    };
    if out_path.exists() && !args.force {
        return Ok(Err(fail(
            rep,
            &format!("`{}` already exists", shown(&out_path, &cx.cwd)),
            Some("use --force to overwrite it, or --out to write elsewhere".to_owned()),
        )));
    }
    if let Some(other) = analyses
        .iter()
        .find(|a| a.id_str() == new_id && !same_file(&project.source(a.file).path, &out_path))
    {
        return Err(Error::Usage(format!(
            "RuleID `{new_id}` is already used by {}; choose another with --id",
            project.source(other.file).display
        )));
    }
    Ok(Ok(out_path))
}

/// Warnings about the generated file `path`: its own (from loading it),
/// and the `--set` keys a Python alert function of the base shadows, each
/// at its place in the file, with the line of `text` (the generated file)
/// as `validate` shows it.
fn warn_about(
    loaded: &Loaded,
    text: &str,
    path: &str,
    sets: &[(&'static str, Node)],
    functions: &[&str],
    rep: &mut Reporter<'_>,
) {
    let source = [SourceFile::new(
        PathBuf::from(path),
        path.to_owned(),
        path.to_owned(),
        Some(text.to_owned()),
    )];
    for d in loaded.diagnostics.iter().filter(|d| d.severity() == Severity::Warning) {
        rep.diagnostic(d, &source);
    }
    let has_dynamic_severities = sets.iter().any(|(k, _)| *k == "DynamicSeverities");
    for (key, _) in sets {
        if !SHADOWED.contains(key) || (*key == "Severity" && has_dynamic_severities) {
            continue;
        }
        if let Some((_, f)) = FUNCTION_OF.iter().find(|(k, f)| k == key && functions.contains(f)) {
            let at = loaded
                .analysis
                .as_ref()
                .and_then(|a| a.root.get_entry(key))
                .map_or(Span::default(), |(k, _)| k.span);
            let d = Diagnostic::new(
                Code::DerivedOverrideShadowed,
                FileId(0),
                at,
                format!("`{key}` has no effect: the base's Python `{f}()` decides it"),
            );
            rep.diagnostic(&d, &source);
        }
    }
}

/// Writes the file, unless `--dry-run`.
fn write_file(args: &DeriveArgs, out_path: &Path, text: &str) -> Result<()> {
    if args.dry_run {
        return Ok(());
    }
    if let Some(parent) = out_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::Read {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(out_path, text).map_err(Error::Write)
}

/// The outcome of a file written (or, `--dry-run`, shown).
fn derived_file(args: &DeriveArgs, out_shown: &str, new_id: &str, text: String) -> Derived {
    Derived {
        id: new_id.to_owned(),
        base: args.base_id.clone(),
        file: out_shown.to_owned(),
        written: !args.dry_run,
        text,
        base_edit: None,
        effective_diff: None,
        remote_base: None,
    }
}
