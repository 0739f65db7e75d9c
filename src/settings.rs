//! `.panther_settings.yml` (cli-and-settings §5).
//!
//! Lookup: `--config`, else `DETECT_CONFIG` (both must exist), else
//! `.panther_settings.yml` in the current directory, else the nearest one
//! from the first search root up to the project root. Read with YAML 1.1
//! booleans (`yes`/`on` are true here, unlike in detection files). PAT's keys
//! keep PAT's meaning; `detect`-only keys live under `detect:`. Unknown keys
//! are warnings; type errors are usage errors pointing at line and column.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::source::{FileId, SourceFile};
use crate::yaml::{self, Node, NodeKind};

/// The file name PAT and `detect` look for.
pub const FILE_NAME: &str = ".panther_settings.yml";

/// Values read from the settings file; `None` where the file is silent.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    /// `path`.
    pub path_value: Option<String>,
    /// `ignore_files`.
    pub ignore_files: Option<Vec<String>>,
    /// `_filter` / `filter`.
    pub filter: Option<Vec<String>>,
    /// `minimum_tests`.
    pub minimum_tests: Option<i64>,
    /// `skip_disabled_tests`.
    pub skip_disabled_tests: Option<bool>,
    /// `ignore_extra_keys`.
    pub ignore_extra_keys: Option<bool>,
    /// `sort_test_results`.
    pub sort_test_results: Option<bool>,
    /// `show_failures_only`.
    pub show_failures_only: Option<bool>,
    /// `ignore_table_names`.
    pub ignore_table_names: Option<bool>,
    /// `valid_table_names`.
    pub valid_table_names: Option<Vec<String>>,
    /// `test_names`.
    pub test_names: Option<Vec<String>>,
    /// `workers` (or `detect.jobs`, which wins).
    pub jobs: Option<i64>,
    /// `detect.format`.
    pub format: Option<String>,
    /// `detect.all_dirs`.
    pub all_dirs: Option<bool>,
    /// `detect.strict`.
    pub strict: Option<bool>,
    /// `detect.deny_warnings`.
    pub deny_warnings: Option<bool>,
    /// Warnings about the file (unknown keys, PAT incompatibilities).
    pub diagnostics: Vec<Diagnostic>,
    /// The file, to render the warnings.
    pub source: Option<SourceFile>,
}

/// PAT keys `detect` accepts without acting on them (yet).
const ACCEPTED: &[&str] = &[
    "api_token",
    "api_host",
    "aws_profile",
    "out",
    "filters",
    "skip_tests",
    "available_destination",
    "ignore_table_names",
    "valid_table_names",
    "auto_disable_base",
    "max_retries",
    "no_async",
    "batch",
    "confirm",
    "analysis_id",
    "query_id",
    "kms_key",
    "github_tag",
    "github_branch",
    "github_owner",
    "github_repository",
    "body",
    "iterations",
    "hour",
    "log_type",
    "editor",
    "auto_accept",
    "write_merge_conflicts",
    "preview",
    "skip_version_check",
    "debug",
];

const KNOWN: &[&str] = &[
    "path",
    "ignore_files",
    "_filter",
    "filter",
    "minimum_tests",
    "skip_disabled_tests",
    "ignore_extra_keys",
    "sort_test_results",
    "show_failures_only",
    "test_names",
    "workers",
    "detect",
];

const DETECT_KEYS: &[&str] = &[
    "format",
    "all_dirs",
    "strict",
    "deny_warnings",
    "jobs",
    "upload",
    "console_url",
    "delivery_log",
    "destinations",
];

/// Finds the settings file to read.
///
/// # Errors
/// `--config` or `DETECT_CONFIG` naming a file that does not exist.
pub fn locate(
    config: Option<&Path>,
    env_config: Option<&str>,
    cwd: &Path,
    first_root: &Path,
    project_root: &Path,
) -> Result<Option<PathBuf>> {
    if let Some(c) = config {
        return if c.is_file() {
            Ok(Some(c.to_path_buf()))
        } else {
            Err(Error::Settings(format!(
                "settings file `{}` does not exist",
                c.display()
            )))
        };
    }
    if let Some(c) = env_config.filter(|c| !c.is_empty()) {
        let p = PathBuf::from(c);
        return if p.is_file() {
            Ok(Some(p))
        } else {
            Err(Error::Settings(format!(
                "settings file `{c}` (from DETECT_CONFIG) does not exist"
            )))
        };
    }
    let here = cwd.join(FILE_NAME);
    if here.is_file() {
        return Ok(Some(here));
    }
    let start = crate::discover::absolute(first_root, cwd);
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        let f = d.join(FILE_NAME);
        if f.is_file() {
            return Ok(Some(f));
        }
        if d == project_root {
            break;
        }
        dir = d.parent();
    }
    Ok(None)
}

/// Reads a settings file.
///
/// # Errors
/// Unreadable file, YAML syntax error, or a value of the wrong type.
pub fn read(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let display = path.display().to_string();
    let at = |n: &Node| format!("{display}:{}:{}", n.span.start.line, n.span.start.col);
    let doc = yaml::parse(&text).map_err(|e| {
        Error::Settings(format!(
            "{display}:{}:{}: {}",
            e.span.start.line, e.span.start.col, e.message
        ))
    })?;
    let mut s = Settings {
        path: Some(path.to_path_buf()),
        ..Settings::default()
    };
    let file = FileId(u32::MAX);
    let Some(root) = doc.root else { return Ok(s) };
    let Some(entries) = root.as_map() else {
        return Err(Error::Settings(format!(
            "{}: the settings file must be a mapping",
            at(&root)
        )));
    };
    for (k, v) in entries {
        let Some(raw) = k.as_str() else { continue };
        let key = raw.replace('-', "_");
        if key != raw {
            s.diagnostics.push(
                Diagnostic::new(
                    Code::PatIgnoresSetting,
                    file,
                    k.span,
                    format!("PAT ignores the hyphenated key `{raw}`"),
                )
                .with_help(format!("write `{key}` so that PAT reads it too")),
            );
        }
        match key.as_str() {
            "path" => s.path_value = Some(string(v, &at)?),
            "ignore_files" => s.ignore_files = Some(strings(v, &at)?),
            "_filter" => s.filter = Some(strings(v, &at)?),
            "filter" => {
                s.diagnostics.push(
                    Diagnostic::new(
                        Code::PatIgnoresSetting,
                        file,
                        k.span,
                        "PAT ignores `filter`; it reads `_filter`",
                    )
                    .with_help("rename the key to `_filter` so that both tools apply it"),
                );
                s.filter = Some(filter_value(v, &at)?);
            }
            "minimum_tests" => s.minimum_tests = Some(int(v, &at)?),
            "skip_disabled_tests" => s.skip_disabled_tests = Some(boolean(v, &at)?),
            "ignore_extra_keys" => s.ignore_extra_keys = Some(boolean(v, &at)?),
            "sort_test_results" => s.sort_test_results = Some(boolean(v, &at)?),
            "show_failures_only" => s.show_failures_only = Some(boolean(v, &at)?),
            "test_names" => s.test_names = Some(strings(v, &at)?),
            "ignore_table_names" => s.ignore_table_names = Some(boolean(v, &at)?),
            "valid_table_names" => s.valid_table_names = Some(strings(v, &at)?),
            "workers" => s.jobs = s.jobs.or(Some(int(v, &at)?)),
            "detect" => detect_section(&mut s, v, file, &at)?,
            k2 if ACCEPTED.contains(&k2) => {}
            _ => {
                let help = did_you_mean(&key, KNOWN.iter().chain(ACCEPTED).copied());
                let mut d = Diagnostic::new(Code::UnknownSetting, file, k.span, format!("unknown key `{raw}`"));
                d.help = help;
                s.diagnostics.push(d);
            }
        }
    }
    s.source = Some(SourceFile::new(
        path.to_path_buf(),
        display.clone(),
        display,
        Some(text),
    ));
    Ok(s)
}

fn detect_section(s: &mut Settings, v: &Node, file: FileId, at: &dyn Fn(&Node) -> String) -> Result<()> {
    if v.is_null() {
        return Ok(());
    }
    let Some(entries) = v.as_map() else {
        return Err(Error::Settings(format!("{}: `detect` must be a mapping", at(v))));
    };
    for (k, v) in entries {
        let Some(raw) = k.as_str() else { continue };
        let key = raw.replace('-', "_");
        match key.as_str() {
            "format" => s.format = Some(string(v, at)?),
            "all_dirs" => s.all_dirs = Some(boolean(v, at)?),
            "strict" => s.strict = Some(boolean(v, at)?),
            "deny_warnings" => s.deny_warnings = Some(boolean(v, at)?),
            "jobs" => s.jobs = Some(int(v, at)?),
            "upload" | "console_url" | "delivery_log" | "destinations" => {}
            _ => {
                let mut d = Diagnostic::new(
                    Code::UnknownSetting,
                    file,
                    k.span,
                    format!("unknown key `detect.{raw}`"),
                );
                d.help = did_you_mean(&key, DETECT_KEYS.iter().copied());
                s.diagnostics.push(d);
            }
        }
    }
    Ok(())
}

fn string(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<String> {
    match &v.kind {
        NodeKind::Str(s) => Ok(s.clone()),
        NodeKind::Int(_) | NodeKind::Float(_) => Ok(v.key_text().unwrap_or_default()),
        _ => Err(Error::Settings(format!(
            "{}: expected a string, found {}",
            at(v),
            v.type_name()
        ))),
    }
}

fn strings(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<Vec<String>> {
    match &v.kind {
        NodeKind::Seq(items) => items.iter().map(|i| string(i, at)).collect(),
        NodeKind::Null => Ok(Vec::new()),
        _ => Err(Error::Settings(format!(
            "{}: expected a list, found {}",
            at(v),
            v.type_name()
        ))),
    }
}

fn filter_value(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<Vec<String>> {
    match &v.kind {
        NodeKind::Map(entries) => {
            let mut out = Vec::new();
            for (k, vals) in entries {
                let key = k.key_text().unwrap_or_default();
                let vals = match &vals.kind {
                    NodeKind::Seq(_) => strings(vals, at)?,
                    _ => vec![string(vals, at)?],
                };
                out.push(format!("{key}={}", vals.join(",")));
            }
            Ok(out)
        }
        _ => strings(v, at),
    }
}

fn int(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<i64> {
    match v.kind {
        NodeKind::Int(i) => Ok(i),
        _ => Err(Error::Settings(format!(
            "{}: expected an integer, found {}",
            at(v),
            v.type_name()
        ))),
    }
}

/// YAML 1.1 booleans, as PAT's settings loader reads them.
fn boolean(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<bool> {
    match &v.kind {
        NodeKind::Bool(b) => Ok(*b),
        NodeKind::Str(s) => match s.to_lowercase().as_str() {
            "yes" | "on" | "y" => Ok(true),
            "no" | "off" | "n" => Ok(false),
            _ => Err(Error::Settings(format!("{}: expected a boolean, found `{s}`", at(v)))),
        },
        _ => Err(Error::Settings(format!(
            "{}: expected a boolean, found {}",
            at(v),
            v.type_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pat_and_detect_keys() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(
            &f,
            "minimum_tests: 2\nskip_disabled_tests: yes\n_filter: [\"Severity=High\"]\nminimun_tests: 3\ndetect:\n  strict: on\n  jobs: 4\n",
        )
        .unwrap();
        let s = read(&f).unwrap();
        assert_eq!(s.minimum_tests, Some(2));
        assert_eq!(s.skip_disabled_tests, Some(true));
        assert_eq!(s.strict, Some(true));
        assert_eq!(s.jobs, Some(4));
        assert_eq!(s.filter.as_deref(), Some(&["Severity=High".to_owned()][..]));
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(s.diagnostics[0].help.as_deref(), Some("did you mean `minimum_tests`?"));
    }

    #[test]
    fn empty_file_is_empty_settings_and_bad_types_fail() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(&f, "# nothing\n").unwrap();
        assert!(read(&f).unwrap().minimum_tests.is_none());
        std::fs::write(&f, "minimum_tests: many\n").unwrap();
        let e = read(&f).unwrap_err().to_string();
        assert!(e.contains(":1:16:"), "{e}");
    }

    #[test]
    fn pat_filter_dict_form() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(&f, "filter:\n  RuleID: [A, B]\n").unwrap();
        let s = read(&f).unwrap();
        assert_eq!(s.filter.unwrap(), vec!["RuleID=A,B".to_owned()]);
        assert_eq!(s.diagnostics[0].code, Code::PatIgnoresSetting);
    }
}
