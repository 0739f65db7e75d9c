//! The output of `detect python-env`: progress lines and findings on
//! standard error, the result on standard output (`--print-hash`: the
//! hash alone).

use std::io::{self, Write};

use crate::diagnostic::Diagnostic;
use crate::report::message::{self, Paint};
use crate::source::SourceFile;
use crate::text::escape_control as esc;

/// One step, reported as it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The venv is being created.
    Creating {
        /// The venv, as displayed.
        venv: String,
        /// The base interpreter.
        base: String,
        /// Its version line.
        version: String,
    },
    /// pip runs.
    Installing {
        /// What is installed, as displayed.
        what: String,
    },
    /// A half-made venv is removed after a failure.
    Removing {
        /// The venv, as displayed.
        venv: String,
    },
}

/// What the run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `--print-hash`: the hash only.
    Hash(String),
    /// The stamp matched: nothing was done.
    UpToDate,
    /// The venv was (re)built.
    Created,
    /// It failed (exit 2): the message and what to do.
    Failed {
        /// What went wrong.
        message: String,
        /// What to do.
        help: String,
    },
}

/// What `detect test` will run in this repository, when it is not the venv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// Where that interpreter comes from.
    pub origin: &'static str,
    /// Its path.
    pub path: String,
}

/// The result of `detect python-env`.
#[derive(Debug)]
pub struct EnvReport {
    /// What happened.
    pub outcome: Outcome,
    /// The venv folder, as displayed.
    pub venv: String,
    /// Its interpreter, as displayed.
    pub venv_python: String,
    /// The dependency file used, as displayed (`None`: none found).
    pub source: Option<String>,
    /// How many requirements came from it (`None` for requirements.txt).
    pub count: Option<usize>,
    /// The hash of the inputs.
    pub hash: String,
    /// Another interpreter `detect test` would take first.
    pub shadowed: Option<Shadowed>,
    /// `.detect/` is not ignored by git.
    pub gitignore_hint: bool,
    /// Findings about the dependency file.
    pub diagnostics: Vec<Diagnostic>,
    /// The sources the diagnostics point into.
    pub sources: Vec<SourceFile>,
    /// The exit code.
    pub code: u8,
}

/// One progress line, as the step starts.
///
/// # Errors
/// Writing to `err` failed.
pub fn step(err: &mut dyn Write, s: &Step) -> io::Result<()> {
    match s {
        Step::Creating { venv, base, version } => {
            writeln!(err, "creating {} with {} ({})", esc(venv), esc(base), esc(version))
        }
        Step::Installing { what } => writeln!(err, "installing {}", esc(what)),
        Step::Removing { venv } => writeln!(err, "removing the half-made {}", esc(venv)),
    }
}

/// What was installed from where, for the result line.
fn contents(r: &EnvReport) -> String {
    match (&r.source, r.count) {
        (Some(s), Some(n)) => format!(
            "panther-core and {n} {} of {}",
            if n == 1 { "package" } else { "packages" },
            esc(s)
        ),
        (Some(s), None) => format!("panther-core and the packages of {}", esc(s)),
        (None, _) => "panther-core only (no requirements.txt, Pipfile or pyproject.toml with dependencies)".to_owned(),
    }
}

/// The findings and the result.
///
/// # Errors
/// Writing failed.
pub fn render(out: &mut dyn Write, err: &mut dyn Write, r: &EnvReport) -> io::Result<()> {
    for d in &r.diagnostics {
        message::write(err, d, &r.sources, &Paint::default(), true)?;
    }
    match &r.outcome {
        Outcome::Hash(h) => return writeln!(out, "{h}"),
        Outcome::Failed { message, help } => {
            writeln!(err, "error: {}", esc(message))?;
            return writeln!(err, "  = help: {}", esc(help));
        }
        Outcome::UpToDate => writeln!(out, "{} is up to date ({})", esc(&r.venv), contents(r))?,
        Outcome::Created => writeln!(out, "created {} with {}", esc(&r.venv), contents(r))?,
    }
    match &r.shadowed {
        None => writeln!(
            out,
            "`detect test` in this repository uses {} by itself",
            esc(&r.venv_python)
        )?,
        Some(s) => writeln!(
            out,
            "note: `detect test` takes `{}` from {} first; unset it to use {}",
            esc(&s.path),
            s.origin,
            esc(&r.venv_python)
        )?,
    }
    if r.gitignore_hint {
        writeln!(
            out,
            "hint: .detect/ is not ignored by git; add `.detect/` to .gitignore"
        )?;
    }
    Ok(())
}
