//! When Python detections cannot run: where `detect` keeps its cache, and
//! what it says when no interpreter with panther-core is found (the same
//! words from `test` and `run`).

use std::path::{Path, PathBuf};

use super::{Interpreter, StartError};
use crate::diagnostic::{Code, Diagnostic};
use crate::resolve::Skip;

/// `$XDG_CACHE_HOME/detect`, else `~/.cache/detect`.
pub fn cache_dir(layers: &crate::settings::Layers<'_>) -> Option<PathBuf> {
    let base = layers
        .var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| layers.var("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("detect"))
}

/// Why Python detections are not run, for `test` and `run` alike: the
/// skip reason and the one diagnostic saying how to fix it.
pub fn unavailable(chosen: &Interpreter, e: &StartError) -> (Skip, Diagnostic) {
    let shown = chosen.path.display();
    let from = chosen.origin.describe();
    match e {
        StartError::NoPantherCore { error } => (
            Skip::NoPantherCore,
            Diagnostic::global(
                Code::PythonUnavailable,
                format!("Python detections were not run: {shown} ({from}) cannot import panther-core ({error})"),
            )
            .with_help(format!(
                "install it: `{shown} -m pip install panther-core python-dateutil jmespath` (panther-core does not declare the last two) and the packages the rules import, or run `detect python-env` to make an environment for this repository, or choose an interpreter with --python"
            )),
        ),
        StartError::NoPython(why) => (
            Skip::NoPython,
            Diagnostic::global(
                Code::PythonUnavailable,
                format!("Python detections were not run: {shown} ({from}) cannot be started ({why})"),
            )
            .with_help("install Python 3 and panther-core (`python3 -m pip install panther-core python-dateutil jmespath`), or choose an interpreter with --python or DETECT_PYTHON"),
        ),
        StartError::Other(why) => (
            Skip::NoPython,
            Diagnostic::global(Code::PythonUnavailable, format!("Python detections were not run: {why}"))
                .with_help("choose another interpreter with --python"),
        ),
    }
}
