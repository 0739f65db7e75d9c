//! Which Python runs the workers: `--python`, then `DETECT_PYTHON`, then
//! `detect.python` in the settings file, then the active virtualenv
//! (`VIRTUAL_ENV`), then the repository's own environment made by
//! `detect python-env` (`.detect/venv`), then `python3` on `PATH`.

use std::path::{Path, PathBuf};

use crate::settings::Layers;

/// The folder `detect python-env` creates, relative to the project root.
pub const PROJECT_VENV: &str = ".detect/venv";

/// Where the interpreter was chosen from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--python`.
    Flag,
    /// `DETECT_PYTHON`.
    Environment,
    /// `detect.python`.
    Settings,
    /// `VIRTUAL_ENV`.
    VirtualEnv,
    /// `.detect/venv` in the project.
    ProjectVenv,
    /// `python3` on `PATH`.
    Path,
}

impl Origin {
    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "--python",
            Origin::Environment => "DETECT_PYTHON",
            Origin::Settings => "detect.python in the settings file",
            Origin::VirtualEnv => "the active virtualenv (VIRTUAL_ENV)",
            Origin::ProjectVenv => "the project's .detect/venv",
            Origin::Path => "python3 on PATH",
        }
    }
}

/// The chosen interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// What to execute.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: Origin,
}

/// The interpreter of a virtualenv folder.
pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Chooses the interpreter; `setting` is `detect.python`, relative paths
/// in it are taken from `settings_dir`.
pub fn choose(
    layers: &Layers<'_>,
    flag: Option<&Path>,
    setting: Option<&str>,
    settings_dir: Option<&Path>,
    project_root: &Path,
) -> Interpreter {
    if let Some(p) = flag {
        return Interpreter {
            path: p.to_path_buf(),
            origin: Origin::Flag,
        };
    }
    if let Some(p) = layers.var("DETECT_PYTHON") {
        return Interpreter {
            path: PathBuf::from(p),
            origin: Origin::Environment,
        };
    }
    if let Some(p) = setting {
        let path = PathBuf::from(p);
        let path = match settings_dir {
            Some(d) if path.is_relative() && path.components().count() > 1 => d.join(path),
            _ => path,
        };
        return Interpreter {
            path,
            origin: Origin::Settings,
        };
    }
    if let Some(v) = layers.var("VIRTUAL_ENV") {
        return Interpreter {
            path: venv_python(Path::new(&v)),
            origin: Origin::VirtualEnv,
        };
    }
    let own = venv_python(&project_root.join(PROJECT_VENV));
    if own.is_file() {
        return Interpreter {
            path: own,
            origin: Origin::ProjectVenv,
        };
    }
    Interpreter {
        path: PathBuf::from("python3"),
        origin: Origin::Path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn the_flag_wins_then_the_variable_then_the_setting_then_the_virtualenv() {
        let s = Settings::default();
        let root = Path::new("/nonexistent-project");
        let all = Layers::with_vars(&s, &[("DETECT_PYTHON", "/env/python"), ("VIRTUAL_ENV", "/venv")]);
        let flag = choose(&all, Some(Path::new("/flag/python")), Some("/set/python"), None, root);
        assert_eq!((flag.path, flag.origin), (PathBuf::from("/flag/python"), Origin::Flag));
        let env = choose(&all, None, Some("/set/python"), None, root);
        assert_eq!(
            (env.path, env.origin),
            (PathBuf::from("/env/python"), Origin::Environment)
        );
        let venv_only = Layers::with_vars(&s, &[("VIRTUAL_ENV", "/venv")]);
        let set = choose(&venv_only, None, Some("tools/python"), Some(Path::new("/repo")), root);
        assert_eq!(
            (set.path, set.origin),
            (PathBuf::from("/repo/tools/python"), Origin::Settings)
        );
        let venv = choose(&venv_only, None, None, None, root);
        assert_eq!(venv.origin, Origin::VirtualEnv);
        assert!(venv.path.starts_with("/venv"));
        let none = Layers::with_vars(&s, &[]);
        let path = choose(&none, None, None, None, root);
        assert_eq!((path.path, path.origin), (PathBuf::from("python3"), Origin::Path));
    }

    #[test]
    fn a_bare_command_name_in_the_settings_is_looked_up_on_path() {
        let s = Settings::default();
        let none = Layers::with_vars(&s, &[]);
        let i = choose(
            &none,
            None,
            Some("python3.12"),
            Some(Path::new("/repo")),
            Path::new("/x"),
        );
        assert_eq!(i.path, PathBuf::from("python3.12"));
    }
}
