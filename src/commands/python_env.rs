//! `detect python-env`: the repository's own virtualenv (`.detect/venv`),
//! which `detect test` then finds by itself.
//!
//! It is made with `<base> -m venv` and holds `panther-core` plus the
//! repository's packages (`requirements.txt`, the `[packages]` of a
//! `Pipfile`, or the dependencies of a `pyproject.toml`). A stamp in the
//! venv records the hash of the inputs; a second run with the same hash
//! does nothing. Nothing is printed here: progress goes through a callback
//! and the result is an [`EnvReport`] that `report::python_env` renders.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::python_env::PythonEnvArgs;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::error::{Error, Result};
use crate::python::interpreter::{self, Origin, PROJECT_VENV};
use crate::python::requirements::{Kind, find_packages};
pub use crate::report::python_env::{EnvReport, Outcome, Shadowed, Step};
use crate::settings::{self, Layers, Settings};
use crate::sha256::{Sha256, hex};
use crate::source::{FileId, SourceFile};

/// The stamp file inside the venv.
pub const STAMP: &str = "detect-env.json";

/// The requirement installed for the workers unless `--panther-core` says
/// otherwise.
pub const PANTHER_CORE: &str = "panther-core";

/// Packages PAT's environment always has and a plain `pip install
/// panther-core` does not: panther-core 0.16.3 imports `dateutil`
/// (`enriched_event`) and `jmespath` (`filter`) without declaring them (its
/// metadata requires only `jsonpath-ng`), so the workers could not start;
/// and PAT depends on `boto3`, which `panther_detection_helpers.caching`,
/// data models and AWS rules import (panther-analysis lists PAT, not
/// boto3, in its Pipfile). Always installed with it.
pub const CORE_COMPANIONS: &[&str] = &["python-dateutil", "jmespath", "boto3"];

/// Runs `detect python-env`; `progress` hears of each step as it starts.
///
/// # Errors
/// An unreadable path or dependency file. Failures of Python and pip are
/// an [`Outcome::Failed`] with exit code 2.
pub fn run(args: &PythonEnvArgs, progress: &mut dyn FnMut(&Step)) -> Result<EnvReport> {
    let cwd = std::env::current_dir().map_err(|source| Error::Read {
        path: PathBuf::from("."),
        source,
    })?;
    let start = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let abs = discover::absolute(&start, &cwd);
    if !abs.exists() {
        return Err(Error::Read {
            path: start,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let root = discover::project_root(&abs, &cwd);
    let venv = root.join(PROJECT_VENV);
    let shown = |p: &Path| show(p, &cwd);
    let mut report = EnvReport {
        outcome: Outcome::UpToDate,
        venv: shown(&venv),
        venv_python: shown(&interpreter::venv_python(&venv)),
        source: None,
        count: None,
        hash: String::new(),
        shadowed: None,
        gitignore_hint: false,
        diagnostics: Vec::new(),
        sources: Vec::new(),
        code: crate::exit::SUCCESS,
    };
    let packages = match find_packages(&root)? {
        Ok(p) => p,
        Err((file, diag)) => {
            report.sources.push(source_file(&file, &cwd));
            report.diagnostics.push(diag);
            report.outcome = Outcome::Failed {
                message: format!("cannot read the packages of `{}`", shown(&file)),
                help: "fix the file (it must be valid TOML) and run `detect python-env` again".to_owned(),
            };
            report.code = crate::exit::USAGE;
            return Ok(report);
        }
    };
    if let Some(kind) = packages.kind {
        let file = root.join(kind.file_name());
        report.source = Some(shown(&file));
        if kind != Kind::Requirements {
            report.count = Some(packages.requirements.len());
        }
        let id = FileId(report.sources.len() as u32);
        report.sources.push(source_file(&file, &cwd));
        for l in packages.left_out.iter().filter(|l| l.warn) {
            report.diagnostics.push(
                Diagnostic::new(
                    Code::PythonEnvEntryLeftOut,
                    id,
                    l.span,
                    format!("`{}` left out: {}", l.name, l.why),
                )
                .with_help("install it yourself with `.detect/venv/bin/python -m pip install ...`"),
            );
        }
    }
    let no_settings = Settings::default();
    let env = Layers::new(&no_settings);
    let base = args
        .python
        .clone()
        .or_else(|| env.var("DETECT_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let base_shown = base.to_string_lossy().into_owned();
    // A relative path (not a bare command name) is taken from the working
    // directory, also for the commands that run in the project root.
    let base = if base.is_relative() && base.components().count() > 1 {
        discover::absolute(&base, &cwd)
    } else {
        base
    };
    let probe = match probe(&base) {
        Ok(p) => p,
        Err(message) => {
            report.outcome = Outcome::Failed {
                message,
                help:
                    "install Python 3 (Panther runs 3.11), or name an interpreter with --python PATH or DETECT_PYTHON"
                        .to_owned(),
            };
            report.code = crate::exit::USAGE;
            return Ok(report);
        }
    };
    let core = args.panther_core.clone().unwrap_or_else(|| PANTHER_CORE.to_owned());
    report.hash = inputs_hash(packages.kind, &packages.bytes, &probe.version, &core);
    if args.print_hash {
        // Only the hash: findings about entries wait for a real run.
        report.diagnostics.clear();
        report.outcome = Outcome::Hash(report.hash.clone());
        return Ok(report);
    }
    report.shadowed = shadowed(&root, &cwd, &args.settings);
    report.gitignore_hint = !git_ignores(&root);
    if !args.force && stamp_matches(&venv, &report.hash) {
        report.outcome = Outcome::UpToDate;
        return Ok(report);
    }
    if let Some(missing) = &probe.venv_missing {
        report.outcome = Outcome::Failed {
            message: format!("`{base_shown}` cannot create a virtualenv: {missing}"),
            help: "on Debian or Ubuntu install the venv module (`apt install python3-venv`), or name another Python with --python PATH".to_owned(),
        };
        report.code = crate::exit::USAGE;
        return Ok(report);
    }
    let fail = |report: &mut EnvReport, progress: &mut dyn FnMut(&Step), message: String, help: String| {
        progress(&Step::Removing {
            venv: report.venv.clone(),
        });
        remove_venv(&venv);
        report.outcome = Outcome::Failed { message, help };
        report.code = crate::exit::USAGE;
    };
    if venv.exists() {
        if let Err(e) = std::fs::remove_dir_all(&venv) {
            report.outcome = Outcome::Failed {
                message: format!("cannot remove the old `{}`: {e}", report.venv),
                help: "remove the folder yourself and run `detect python-env` again".to_owned(),
            };
            report.code = crate::exit::USAGE;
            return Ok(report);
        }
    }
    progress(&Step::Creating {
        venv: report.venv.clone(),
        base: base_shown.clone(),
        version: probe.version.clone(),
    });
    let created = Command::new(&base)
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status();
    match created {
        Ok(s) if s.success() => {}
        Ok(s) => {
            let message = format!(
                "`{base_shown} -m venv {}` failed ({s}); its output is above",
                report.venv
            );
            let help = "on Debian or Ubuntu install the venv module (`apt install python3-venv`), or name another Python with --python PATH".to_owned();
            fail(&mut report, progress, message, help);
            return Ok(report);
        }
        Err(e) => {
            let message = format!("cannot run `{base_shown}`: {e}");
            let help = "name an interpreter with --python PATH or DETECT_PYTHON".to_owned();
            fail(&mut report, progress, message, help);
            return Ok(report);
        }
    }
    let python = interpreter::venv_python(&venv);
    let what = match &report.source {
        Some(s) => format!("{core} and the packages of {s}"),
        None => core.clone(),
    };
    progress(&Step::Installing { what });
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
        .args(&args.pip_arg)
        .arg(&core)
        .args(CORE_COMPANIONS)
        .args(&packages.pip_args)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status();
    let help = format!(
        "check the packages{}; pip options go after --pip-arg (an offline mirror: --pip-arg --no-index --pip-arg --find-links --pip-arg DIR)",
        report.source.as_ref().map(|s| format!(" of {s}")).unwrap_or_default()
    );
    match installed {
        Ok(s) if s.success() => {}
        Ok(s) => {
            let message = format!("pip could not install the packages ({s}); its output is above");
            fail(&mut report, progress, message, help);
            return Ok(report);
        }
        Err(e) => {
            let message = format!("cannot run `{}`: {e}", shown(&python));
            fail(&mut report, progress, message, help);
            return Ok(report);
        }
    }
    let stamp = serde_json::json!({
        "hash": report.hash,
        "source": packages.kind.map(Kind::file_name),
        "python": probe.version,
        "panther_core": core,
        "detect": env!("CARGO_PKG_VERSION"),
    });
    let text = serde_json::to_string_pretty(&stamp).unwrap_or_default() + "\n";
    if let Err(e) = std::fs::write(venv.join(STAMP), text) {
        let message = format!("cannot write `{}/{STAMP}`: {e}", report.venv);
        fail(
            &mut report,
            progress,
            message,
            "check the folder's permissions".to_owned(),
        );
        return Ok(report);
    }
    report.outcome = Outcome::Created;
    Ok(report)
}

/// `p` relative to `cwd` when below it, `/`-separated.
fn show(p: &Path, cwd: &Path) -> String {
    let rel = p.strip_prefix(cwd).unwrap_or(p);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() { ".".to_owned() } else { s }
}

fn source_file(path: &Path, cwd: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).ok();
    let display = show(path, cwd);
    SourceFile::new(path.to_path_buf(), display.clone(), display, text)
}

/// The SHA-256 of the inputs: the dependency file's name and bytes, the
/// base interpreter's version line and the panther-core requirement (with
/// [`CORE_COMPANIONS`]).
pub fn inputs_hash(kind: Option<Kind>, bytes: &[u8], version: &str, core: &str) -> String {
    let mut h = Sha256::default();
    let mut field = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(b"detect-env 1");
    field(kind.map_or("", Kind::file_name).as_bytes());
    field(bytes);
    field(version.as_bytes());
    field(core.as_bytes());
    for c in CORE_COMPANIONS {
        field(c.as_bytes());
    }
    hex(&h.finish(), 32)
}

/// What the base interpreter says about itself.
struct Probe {
    /// `CPython 3.11.7 linux x86_64`.
    version: String,
    /// Why `-m venv` cannot work, when it cannot.
    venv_missing: Option<String>,
}

const PROBE: &str = "\
import sys, platform
print(platform.python_implementation(), platform.python_version(), sys.platform, platform.machine())
try:
    import venv, ensurepip
    print('ok')
except Exception as e:
    print('the %s module is missing (%s)' % (getattr(e, 'name', None) or 'venv', type(e).__name__))
";

fn probe(base: &Path) -> std::result::Result<Probe, String> {
    let shown = base.to_string_lossy();
    let out = Command::new(base)
        .args(["-c", PROBE])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run the base Python `{shown}`: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim().to_owned();
    if !out.status.success() || version.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim();
        return Err(format!(
            "the base Python `{shown}` does not run ({}){}",
            out.status,
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        ));
    }
    let venv_missing = match lines.next().map(str::trim) {
        Some("ok") => None,
        Some(why) => Some(why.to_owned()),
        None => Some("it did not say whether it has the venv module".to_owned()),
    };
    Ok(Probe { version, venv_missing })
}

fn stamp_matches(venv: &Path, hash: &str) -> bool {
    if !interpreter::venv_python(venv).is_file() {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(venv.join(STAMP)) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(|h| h == hash))
        .unwrap_or(false)
}

/// Removes a half-made venv, and `.detect` when that leaves it empty.
fn remove_venv(venv: &Path) {
    let _ = std::fs::remove_dir_all(venv);
    if let Some(parent) = venv.parent() {
        // Fails (and keeps the folder) unless it is empty.
        let _ = std::fs::remove_dir(parent);
    }
}

/// Whether git ignores `.detect/`: `git check-ignore`, else (no git, not a
/// repository) a line of the root's `.gitignore`.
fn git_ignores(root: &Path) -> bool {
    let probe = Path::new(PROJECT_VENV).join(STAMP);
    let git = Command::new("git")
        .arg("check-ignore")
        .arg("-q")
        .arg(&probe)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match git.ok().and_then(|s| s.code()) {
        Some(0) => true,
        Some(1) => false,
        _ => std::fs::read_to_string(root.join(".gitignore")).is_ok_and(|t| {
            t.lines().map(str::trim).any(|l| {
                let l = l.trim_start_matches('/').trim_end_matches('/');
                matches!(l, ".detect" | ".detect/*" | ".detect/venv" | ".detect/**")
            })
        }),
    }
}

/// Another interpreter `detect test` takes before `.detect/venv`
/// (`DETECT_PYTHON`, `detect.python`, `VIRTUAL_ENV`).
fn shadowed(root: &Path, cwd: &Path, config: &crate::cli::ConfigArgs) -> Option<Shadowed> {
    let no_settings = Settings::default();
    let env = Layers::new(&no_settings);
    let settings = settings::locate(
        config.config.as_deref(),
        env.var("DETECT_CONFIG").as_deref(),
        cwd,
        root,
        root,
    )
    .ok()
    .flatten()
    .and_then(|p| settings::read(&p).ok())
    .unwrap_or_default();
    let layers = Layers::new(&settings);
    let dir = settings.path.as_deref().and_then(Path::parent);
    let chosen = interpreter::choose(&layers, None, settings.python.as_deref(), dir, root);
    match chosen.origin {
        Origin::ProjectVenv | Origin::Path => None,
        o => Some(Shadowed {
            origin: o.describe(),
            path: chosen.path.to_string_lossy().into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_changes_with_each_input() {
        let base = inputs_hash(Some(Kind::Pipfile), b"a", "CPython 3.11.7", "panther-core");
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            inputs_hash(Some(Kind::Pipfile), b"a", "CPython 3.11.7", "panther-core")
        );
        for other in [
            inputs_hash(Some(Kind::Requirements), b"a", "CPython 3.11.7", "panther-core"),
            inputs_hash(Some(Kind::Pipfile), b"b", "CPython 3.11.7", "panther-core"),
            inputs_hash(Some(Kind::Pipfile), b"a", "CPython 3.12.1", "panther-core"),
            inputs_hash(Some(Kind::Pipfile), b"a", "CPython 3.11.7", "panther-core==0.16.3"),
            inputs_hash(None, b"", "CPython 3.11.7", "panther-core"),
        ] {
            assert_ne!(base, other);
        }
    }
}
