//! `.panther_settings.yml` (cli-and-settings §5).
//!
//! Lookup: `--config`, else `DETECT_CONFIG` (both must exist), else
//! `.panther_settings.yml` in the current directory, else the nearest one
//! from the first search root up to the project root. Read with YAML 1.1
//! booleans (`yes`/`on` are true here, unlike in detection files). PAT's keys
//! keep PAT's meaning; `detect`-only keys live under `detect:`. Unknown keys
//! are warnings; type errors are usage errors pointing at line and column.

pub mod layer;

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::source::{FileId, SourceFile};
use crate::yaml::{self, Node, NodeKind};

pub use layer::Layers;

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
    /// `detect.console_url`: base of alert links (alerts-and-webhooks §5.5).
    pub console_url: Option<String>,
    /// `detect.delivery_log`: the delivery log, relative to the project root.
    pub delivery_log: Option<String>,
    /// `detect.python`: the interpreter of Python detections.
    pub python: Option<String>,
    /// `detect.destinations`: alert destinations (alerts-and-webhooks §6).
    pub destinations: Vec<DestinationSettings>,
    /// `api_token`. Never printed; the settings file's text kept for
    /// diagnostics has it masked.
    pub api_token: Option<Secret>,
    /// `api_host`.
    pub api_host: Option<String>,
    /// `out`.
    pub out: Option<String>,
    /// `skip_tests`.
    pub skip_tests: Option<bool>,
    /// `auto_disable_base`.
    pub auto_disable_base: Option<bool>,
    /// `max_retries`.
    pub max_retries: Option<i64>,
    /// `no_async`.
    pub no_async: Option<bool>,
    /// `batch`.
    pub batch: Option<bool>,
    /// `confirm` (`delete`).
    pub confirm: Option<bool>,
    /// `analysis_id` (`delete`).
    pub analysis_id: Option<Vec<String>>,
    /// `query_id` (`delete`).
    pub query_id: Option<Vec<String>>,
    /// `detect.upload.*`.
    pub upload: UploadSettings,
    /// Warnings about the file (unknown keys, PAT incompatibilities).
    pub diagnostics: Vec<Diagnostic>,
    /// The file, to render the warnings.
    pub source: Option<SourceFile>,
}

/// `detect.upload.*` (cli-and-settings §5.4); `None` where the file is
/// silent. Durations are seconds and may be fractional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadSettings {
    /// `poll_interval_seconds` (default 2).
    pub poll_interval_seconds: Option<f64>,
    /// `poll_timeout_seconds` (default 900).
    pub poll_timeout_seconds: Option<f64>,
    /// `request_timeout_seconds` (default 30).
    pub request_timeout_seconds: Option<f64>,
    /// `timeout_seconds`: the longest an upload may take to be accepted
    /// (default 300).
    pub timeout_seconds: Option<f64>,
    /// `busy_wait_seconds` (default 30).
    pub busy_wait_seconds: Option<f64>,
    /// `backoff_seconds`: first wait after a transport failure (default 2).
    pub backoff_seconds: Option<f64>,
    /// `backoff_max_seconds`: longest wait after a transport failure
    /// (default 30).
    pub backoff_max_seconds: Option<f64>,
    /// `pat_version` (default `1.11.1`).
    pub pat_version: Option<String>,
    /// `keep_bundle`.
    pub keep_bundle: Option<bool>,
}

/// A secret value (the API token): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// PAT keys `detect` accepts without acting on them (yet).
const ACCEPTED: &[&str] = &[
    "aws_profile",
    "filters",
    "available_destination",
    "ignore_table_names",
    "valid_table_names",
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
    "api_token",
    "api_host",
    "out",
    "skip_tests",
    "auto_disable_base",
    "max_retries",
    "no_async",
    "batch",
    "confirm",
    "analysis_id",
    "query_id",
];

const UPLOAD_KEYS: &[&str] = &[
    "poll_interval_seconds",
    "poll_timeout_seconds",
    "request_timeout_seconds",
    "timeout_seconds",
    "busy_wait_seconds",
    "backoff_seconds",
    "backoff_max_seconds",
    "pat_version",
    "keep_bundle",
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
    "python",
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
        // Value errors name the key.
        let at_key = |n: &Node| format!("{}: `{raw}`", at(n));
        match key.as_str() {
            "path" => s.path_value = Some(string(v, &at_key)?),
            "ignore_files" => s.ignore_files = Some(strings(v, &at_key)?),
            "_filter" => s.filter = Some(strings(v, &at_key)?),
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
                s.filter = Some(filter_value(v, &at_key)?);
            }
            "minimum_tests" => s.minimum_tests = Some(int(v, &at_key)?),
            "skip_disabled_tests" => s.skip_disabled_tests = Some(boolean(v, &at_key)?),
            "ignore_extra_keys" => s.ignore_extra_keys = Some(boolean(v, &at_key)?),
            "sort_test_results" => s.sort_test_results = Some(boolean(v, &at_key)?),
            "show_failures_only" => s.show_failures_only = Some(boolean(v, &at_key)?),
            "test_names" => s.test_names = Some(strings(v, &at_key)?),
            "ignore_table_names" => s.ignore_table_names = Some(boolean(v, &at_key)?),
            "valid_table_names" => s.valid_table_names = Some(strings(v, &at_key)?),
            "workers" => s.jobs = s.jobs.or(Some(int(v, &at_key)?)),
            "api_token" => s.api_token = Some(Secret::new(string(v, &at_key)?)).filter(|t| !t.expose().is_empty()),
            "api_host" => s.api_host = Some(string(v, &at_key)?),
            "out" => s.out = Some(string(v, &at_key)?),
            "skip_tests" => s.skip_tests = Some(boolean(v, &at_key)?),
            "auto_disable_base" => s.auto_disable_base = Some(boolean(v, &at_key)?),
            "max_retries" => s.max_retries = Some(int(v, &at_key)?),
            "no_async" => s.no_async = Some(boolean(v, &at_key)?),
            "batch" => s.batch = Some(boolean(v, &at_key)?),
            "confirm" => s.confirm = Some(boolean(v, &at_key)?),
            "analysis_id" => s.analysis_id = Some(strings(v, &at_key)?),
            "query_id" => s.query_id = Some(strings(v, &at_key)?),
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
    // Diagnostics about the file quote its lines: the token must not be
    // among them. Masking keeps the length, so columns stay right.
    let text = match &s.api_token {
        Some(t) => text.replace(t.expose(), &"*".repeat(t.expose().chars().count())),
        None => text,
    };
    // So must the user name, password and query values of `api_host`.
    let text = match s
        .api_host
        .as_deref()
        .and_then(|h| Some((h, crate::panther_api::mask_url_secrets(h)?)))
    {
        Some((host, masked)) => text.replace(host, &masked),
        None => text,
    };
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
        let at_key = |n: &Node| format!("{}: `detect.{raw}`", at(n));
        match key.as_str() {
            "format" => s.format = Some(string(v, &at_key)?),
            "all_dirs" => s.all_dirs = Some(boolean(v, &at_key)?),
            "strict" => s.strict = Some(boolean(v, &at_key)?),
            "deny_warnings" => s.deny_warnings = Some(boolean(v, &at_key)?),
            "jobs" => s.jobs = Some(int(v, &at_key)?),
            "upload" => upload_section(s, v, file, at)?,
            "console_url" => s.console_url = Some(string(v, &at_key)?),
            "delivery_log" => s.delivery_log = Some(string(v, &at_key)?),
            "python" => s.python = Some(string(v, &at_key)?),
            "destinations" => s.destinations = destinations(v, file, &at_key, &mut s.diagnostics)?,
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

fn upload_section(s: &mut Settings, v: &Node, file: FileId, at: &dyn Fn(&Node) -> String) -> Result<()> {
    if v.is_null() {
        return Ok(());
    }
    let Some(entries) = v.as_map() else {
        return Err(Error::Settings(format!("{}: `detect.upload` must be a mapping", at(v))));
    };
    let u = &mut s.upload;
    for (k, v) in entries {
        let Some(raw) = k.as_str() else { continue };
        let key = raw.replace('-', "_");
        let at_key = |n: &Node| format!("{}: `detect.upload.{raw}`", at(n));
        match key.as_str() {
            "poll_interval_seconds" => u.poll_interval_seconds = Some(seconds(v, &at_key)?),
            "poll_timeout_seconds" => u.poll_timeout_seconds = Some(seconds(v, &at_key)?),
            "request_timeout_seconds" => u.request_timeout_seconds = Some(seconds(v, &at_key)?),
            "timeout_seconds" => u.timeout_seconds = Some(seconds(v, &at_key)?),
            "busy_wait_seconds" => u.busy_wait_seconds = Some(seconds(v, &at_key)?),
            "backoff_seconds" => u.backoff_seconds = Some(seconds(v, &at_key)?),
            "backoff_max_seconds" => u.backoff_max_seconds = Some(seconds(v, &at_key)?),
            "pat_version" => u.pat_version = Some(string(v, &at_key)?),
            "keep_bundle" => u.keep_bundle = Some(boolean(v, &at_key)?),
            _ => {
                let mut d = Diagnostic::new(
                    Code::UnknownSetting,
                    file,
                    k.span,
                    format!("unknown key `detect.upload.{raw}`"),
                );
                d.help = did_you_mean(&key, UPLOAD_KEYS.iter().copied());
                s.diagnostics.push(d);
            }
        }
    }
    Ok(())
}

/// A duration in seconds: a finite number, not negative, at most a day.
fn seconds(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<f64> {
    let n = match v.kind {
        NodeKind::Int(i) => i as f64,
        NodeKind::Float(f) => f,
        _ => {
            return Err(Error::Settings(format!(
                "{}: expected a number of seconds, found {}",
                at(v),
                v.type_name()
            )));
        }
    };
    if !(0.0..=86_400.0).contains(&n) {
        return Err(Error::Settings(format!(
            "{}: expected a number of seconds between 0 and 86400",
            at(v)
        )));
    }
    Ok(n)
}

/// Severity names a destination may list (alerts-and-webhooks §6).
pub const SEVERITIES: &[&str] = &["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// Alert types a destination may list (alerts-and-webhooks §3.6).
pub const ALERT_TYPES: &[&str] = &[
    "RULE",
    "SCHEDULED_RULE",
    "POLICY",
    "CORRELATION_RULE",
    "RULE_ERROR",
    "SCHEDULED_RULE_ERROR",
    "POLICY_ERROR",
    "CORRELATION_RULE_ERROR",
    "SYSTEM_ERROR",
];

const DESTINATION_KEYS: &[&str] = &[
    "name",
    "id",
    "type",
    "url",
    "headers",
    "severities",
    "alert_types",
    "log_types",
    "allow_manual_dispatch",
    "enabled",
    "timeout_seconds",
    "max_retries",
    "backoff_initial_ms",
    "backoff_max_ms",
];

/// One entry of `detect.destinations` (alerts-and-webhooks §6).
///
/// `url` and header values are kept as written: `${VAR}` is expanded only
/// when the destination is used, so a missing variable fails only the
/// commands that send.
#[derive(Clone, Default)]
pub struct DestinationSettings {
    /// `name`: unique; matched by `OutputIds`.
    pub name: String,
    /// `id`: optional; also matched by `OutputIds`.
    pub id: Option<String>,
    /// `url` as written (may contain `${VAR}`).
    pub url: String,
    /// `headers` as written, in file order.
    pub headers: Vec<(String, String)>,
    /// `severities`, upper case (default: all five).
    pub severities: Vec<String>,
    /// `alert_types`, upper case (default: all except `SYSTEM_ERROR`).
    pub alert_types: Vec<String>,
    /// `log_types` (empty: all).
    pub log_types: Vec<String>,
    /// `allow_manual_dispatch` (default false).
    pub allow_manual_dispatch: bool,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `timeout_seconds` per attempt (default 10).
    pub timeout_seconds: u64,
    /// `max_retries`, 0–10 (default 10).
    pub max_retries: u32,
    /// `backoff_initial_ms` (default 1000).
    pub backoff_initial_ms: u64,
    /// `backoff_max_ms` (default 60000).
    pub backoff_max_ms: u64,
}

impl std::fmt::Debug for DestinationSettings {
    // Header values and URLs may carry secrets: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationSettings")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("severities", &self.severities)
            .field("alert_types", &self.alert_types)
            .field("log_types", &self.log_types)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn destinations(
    v: &Node,
    file: FileId,
    at: &dyn Fn(&Node) -> String,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<DestinationSettings>> {
    let items = match &v.kind {
        NodeKind::Seq(items) => items.as_slice(),
        NodeKind::Null => &[],
        _ => {
            return Err(Error::Settings(format!(
                "{}: `detect.destinations` must be a list, found {}",
                at(v),
                v.type_name()
            )));
        }
    };
    let mut out: Vec<DestinationSettings> = Vec::new();
    for item in items {
        let d = destination(item, file, at, diags)?;
        if out.iter().any(|o| o.name == d.name) {
            return Err(Error::Settings(format!(
                "{}: duplicate destination name `{}`",
                at(item),
                d.name
            )));
        }
        if let Some(id) = &d.id {
            if out.iter().any(|o| o.id.as_ref() == Some(id)) {
                return Err(Error::Settings(format!(
                    "{}: duplicate destination id `{id}`",
                    at(item)
                )));
            }
        }
        out.push(d);
    }
    Ok(out)
}

fn destination(
    item: &Node,
    file: FileId,
    at: &dyn Fn(&Node) -> String,
    diags: &mut Vec<Diagnostic>,
) -> Result<DestinationSettings> {
    let Some(entries) = item.as_map() else {
        return Err(Error::Settings(format!(
            "{}: a destination must be a mapping, found {}",
            at(item),
            item.type_name()
        )));
    };
    let mut d = DestinationSettings {
        severities: SEVERITIES.iter().map(|s| (*s).to_owned()).collect(),
        alert_types: ALERT_TYPES
            .iter()
            .filter(|t| **t != "SYSTEM_ERROR")
            .map(|s| (*s).to_owned())
            .collect(),
        enabled: true,
        timeout_seconds: 10,
        max_retries: 10,
        backoff_initial_ms: 1000,
        backoff_max_ms: 60_000,
        ..DestinationSettings::default()
    };
    let (mut name, mut ty, mut url) = (None, None, None);
    let non_negative = |v: &Node| -> Result<u64> {
        let i = int(v, at)?;
        u64::try_from(i).map_err(|_| Error::Settings(format!("{}: expected a number of at least 0, found {i}", at(v))))
    };
    for (k, v) in entries {
        let Some(raw) = k.as_str() else { continue };
        match raw.replace('-', "_").as_str() {
            "name" => name = Some(string(v, at)?),
            "id" => d.id = Some(string(v, at)?),
            "type" => ty = Some((string(v, at)?, v)),
            "url" => url = Some((string(v, at)?, v)),
            "headers" => {
                if !v.is_null() {
                    let Some(hs) = v.as_map() else {
                        return Err(Error::Settings(format!(
                            "{}: `headers` must be a mapping, found {}",
                            at(v),
                            v.type_name()
                        )));
                    };
                    for (hk, hv) in hs {
                        let key = hk.key_text().unwrap_or_default();
                        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                            return Err(Error::Settings(format!(
                                "{}: `{key}` is not a valid header name",
                                at(hk)
                            )));
                        }
                        // The value is never quoted in a message: it may be a secret.
                        let value = string(hv, at)?;
                        d.headers.push((key, value));
                    }
                }
            }
            "severities" => d.severities = enumeration(v, SEVERITIES, "severity", at)?,
            "alert_types" => d.alert_types = enumeration(v, ALERT_TYPES, "alert type", at)?,
            "log_types" => d.log_types = strings(v, at)?,
            "allow_manual_dispatch" => d.allow_manual_dispatch = boolean(v, at)?,
            "enabled" => d.enabled = boolean(v, at)?,
            "timeout_seconds" => {
                d.timeout_seconds = non_negative(v)?;
                if d.timeout_seconds == 0 {
                    return Err(Error::Settings(format!(
                        "{}: `timeout_seconds` must be at least 1",
                        at(v)
                    )));
                }
            }
            "max_retries" => {
                let n = non_negative(v)?;
                if n > 10 {
                    return Err(Error::Settings(format!(
                        "{}: `max_retries` must be between 0 and 10, found {n}",
                        at(v)
                    )));
                }
                d.max_retries = n as u32;
            }
            "backoff_initial_ms" => d.backoff_initial_ms = non_negative(v)?,
            "backoff_max_ms" => d.backoff_max_ms = non_negative(v)?,
            _ => {
                let mut diag = Diagnostic::new(
                    Code::UnknownSetting,
                    file,
                    k.span,
                    format!("unknown key `{raw}` in a destination"),
                );
                diag.help = did_you_mean(raw, DESTINATION_KEYS.iter().copied());
                diags.push(diag);
            }
        }
    }
    d.name = match name {
        Some(n) if !n.is_empty() => n,
        _ => return Err(Error::Settings(format!("{}: a destination needs a `name`", at(item)))),
    };
    match ty {
        Some((t, _)) if t == "custom_webhook" => {}
        Some((t, node)) => {
            return Err(Error::Settings(format!(
                "{}: destination `{}`: unknown type `{t}`; the only supported type is `custom_webhook`",
                at(node),
                d.name
            )));
        }
        None => {
            return Err(Error::Settings(format!(
                "{}: destination `{}` needs `type: custom_webhook`",
                at(item),
                d.name
            )));
        }
    }
    let Some((u, node)) = url else {
        return Err(Error::Settings(format!(
            "{}: destination `{}` needs a `url`",
            at(item),
            d.name
        )));
    };
    // A URL built from variables is checked when it is expanded.
    if !u.starts_with("${") && !u.starts_with("http://") && !u.starts_with("https://") {
        return Err(Error::Settings(format!(
            "{}: destination `{}`: the URL must start with http:// or https://",
            at(node),
            d.name
        )));
    }
    d.url = u;
    Ok(d)
}

fn enumeration(v: &Node, allowed: &[&str], what: &str, at: &dyn Fn(&Node) -> String) -> Result<Vec<String>> {
    let NodeKind::Seq(items) = &v.kind else {
        return Err(Error::Settings(format!(
            "{}: expected a list, found {}",
            at(v),
            v.type_name()
        )));
    };
    let mut out = Vec::new();
    for i in items {
        let s = string(i, at)?.to_uppercase();
        if !allowed.contains(&s.as_str()) {
            return Err(Error::Settings(format!(
                "{}: unknown {what} `{}`; use one of {}",
                at(i),
                s,
                allowed.join(", ")
            )));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn string(v: &Node, at: &dyn Fn(&Node) -> String) -> Result<String> {
    match &v.kind {
        NodeKind::Str(s) => Ok(s.to_string()),
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
    fn reads_the_python_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(&f, "detect:\n  python: .venv/bin/python\n").unwrap();
        let s = read(&f).unwrap();
        assert_eq!(s.python.as_deref(), Some(".venv/bin/python"));
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
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
    fn reads_upload_keys_and_masks_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(
            &f,
            "api_token: s3cr3t-token\napi-host: x.example\nmax_retries: 3\nauto_disable_base: yes\ndetect:\n  upload:\n    poll_interval_seconds: 0.01\n    busy_wait_seconds: 0\n    pol_timeout_seconds: 1\n",
        )
        .unwrap();
        let s = read(&f).unwrap();
        assert_eq!(s.api_token.as_ref().map(Secret::expose), Some("s3cr3t-token"));
        assert_eq!(format!("{:?}", s.api_token), "Some(Secret(***))");
        assert_eq!(s.api_host.as_deref(), Some("x.example"));
        assert_eq!(s.max_retries, Some(3));
        assert_eq!(s.auto_disable_base, Some(true));
        assert_eq!(s.upload.poll_interval_seconds, Some(0.01));
        assert_eq!(s.upload.busy_wait_seconds, Some(0.0));
        let text = s.source.as_ref().and_then(|src| src.text.clone()).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(s.diagnostics.iter().any(|d| d.message.contains("pol_timeout_seconds")));
        std::fs::write(&f, "detect:\n  upload:\n    poll_interval_seconds: -1\n").unwrap();
        assert!(read(&f).is_err());
    }

    #[test]
    fn reads_destinations_with_defaults_and_hides_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(
            &f,
            "detect:\n  console_url: https://acme.example/\n  destinations:\n    - name: soc\n      type: custom_webhook\n      url: \"https://hooks.example/${TOKEN_PATH}\"\n      headers:\n        Authorization: Bearer s3cret\n      severities: [high, Critical]\n      enabled: no\n      retries: 3\n",
        )
        .unwrap();
        let s = read(&f).unwrap();
        assert_eq!(s.console_url.as_deref(), Some("https://acme.example/"));
        let d = &s.destinations[0];
        assert_eq!(d.severities, ["HIGH", "CRITICAL"]);
        assert!(!d.alert_types.contains(&"SYSTEM_ERROR".to_owned()));
        assert_eq!(
            (d.timeout_seconds, d.max_retries, d.backoff_initial_ms, d.backoff_max_ms),
            (10, 10, 1000, 60_000)
        );
        assert!(!d.enabled);
        assert_eq!(s.diagnostics[0].code, Code::UnknownSetting);
        let shown = format!("{:?}", s.destinations);
        assert!(!shown.contains("s3cret") && !shown.contains("TOKEN_PATH"), "{shown}");
        std::fs::write(&f, "detect:\n  destinations:\n    - {name: a, type: custom_webhook, url: \"http://x/\"}\n    - {name: a, type: custom_webhook, url: \"http://y/\"}\n").unwrap();
        assert!(
            read(&f)
                .unwrap_err()
                .to_string()
                .contains("duplicate destination name `a`")
        );
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
