//! `detect check-connection`: ask the instance for its version
//! (upload-protocol §4.1), and what every network command shares: the API
//! flags, the token and host lookup (flag > environment > settings file),
//! and the client with the configured time-outs.

use std::io::Write;
use std::time::Duration;

use crate::cli::connection::{ApiArgs, CheckConnectionArgs};
use crate::cli::{OutputArgs, RemoteArgs};
use crate::commands::context::Context;
use crate::error::{Error, Result};
use crate::exit;
use crate::panther_api::{self, Client, Timeouts};
use crate::settings::{Secret, Settings};

impl ApiArgs {
    /// The client these flags (then the environment, then the settings)
    /// name.
    ///
    /// # Errors
    /// As [`client`].
    pub fn client(&self, settings: &Settings) -> Result<Client> {
        client(
            settings,
            self.api_token.as_deref(),
            self.api_host.as_deref(),
            self.verbose,
        )
    }
}

/// The client named by the `--api-token`/`--api-host` flags every report
/// command accepts (then the environment, then the settings).
///
/// # Errors
/// As [`client`].
pub fn output_client(settings: &Settings, api: &RemoteArgs, verbose: u8) -> Result<Client> {
    client(settings, api.api_token.as_deref(), api.api_host.as_deref(), verbose)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The endpoint and token of a network command (upload-protocol §3.4): a
/// missing token or host, or plain HTTP to a remote host, is a usage error.
///
/// # Errors
/// [`Error::Usage`] as described.
pub fn target(settings: &Settings, token: Option<&str>, host: Option<&str>) -> Result<(reqwest::Url, Secret)> {
    let token = token
        .map(Secret::new)
        .or_else(|| env("PANTHER_API_TOKEN").map(Secret::new))
        .or_else(|| settings.api_token.clone())
        .filter(|t| !t.expose().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "no API token: set PANTHER_API_TOKEN, pass --api-token, or set `api_token` in .panther_settings.yml"
                    .to_owned(),
            )
        })?;
    let host = host
        .map(str::to_owned)
        .or_else(|| env("PANTHER_API_HOST"))
        .or_else(|| settings.api_host.clone())
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "no API host: set PANTHER_API_HOST, pass --api-host, or set `api_host` in .panther_settings.yml"
                    .to_owned(),
            )
        })?;
    let url = panther_api::endpoint(&host).map_err(|e| Error::Usage(e.to_string()))?;
    Ok((url, token))
}

/// Seconds from the settings as a duration.
pub(crate) fn seconds(value: Option<f64>, default: f64) -> Duration {
    Duration::from_secs_f64(value.unwrap_or(default).clamp(0.0, 86_400.0))
}

/// A client for a network command, with `detect.upload.request_timeout_seconds`.
///
/// # Errors
/// As [`target`]; a token that cannot be sent in a header.
pub fn client(settings: &Settings, token: Option<&str>, host: Option<&str>, verbose: u8) -> Result<Client> {
    let (url, token) = target(settings, token, host)?;
    let request = seconds(settings.upload.request_timeout_seconds, 30.0).max(Duration::from_secs(1));
    let timeouts = Timeouts {
        request,
        sync_upload: request.max(Duration::from_secs(300)),
        ..Timeouts::default()
    };
    Client::new(url, token, timeouts, verbose > 0)
        .map(|c| c.with_verbosity(verbose))
        .map_err(|e| Error::Usage(e.to_string()))
}

/// Waits and limits of a network command that sends a bundle (upload,
/// remote validation): retries, back-off, polling.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) max_retries: u32,
    pub(crate) busy_wait: Duration,
    pub(crate) backoff: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) poll_timeout: Duration,
    /// The longest the bundle may take to be accepted (`--timeout`,
    /// `detect.upload.timeout_seconds`, default 300 s): every upload
    /// request, retry and wait.
    pub(crate) timeout: Duration,
    pub(crate) pat_version: String,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
}

impl Policy {
    /// `--max-retries` (or settings `max_retries`) clamped to 0-10 with a
    /// warning, the waits from `detect.upload.*`.
    pub(crate) fn new(max_retries: Option<i64>, cx: &Context) -> Policy {
        let u = &cx.settings.upload;
        let requested = max_retries.or(cx.settings.max_retries).unwrap_or(10);
        let max_retries = requested.clamp(0, 10);
        if max_retries != requested {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "warning: --max-retries {requested} is outside 0-10; using {max_retries}"
            );
        }
        Policy {
            max_retries: u32::try_from(max_retries).unwrap_or(10),
            busy_wait: seconds(u.busy_wait_seconds, 30.0),
            backoff: seconds(u.backoff_seconds, 2.0),
            backoff_max: seconds(u.backoff_max_seconds, 30.0),
            poll_interval: seconds(u.poll_interval_seconds, 2.0),
            poll_timeout: seconds(u.poll_timeout_seconds, 900.0),
            timeout: seconds(u.timeout_seconds, 300.0),
            pat_version: u.pat_version.clone().unwrap_or_else(|| "1.11.1".to_owned()),
            quiet: cx.style.quiet,
            verbose: cx.style.verbose,
        }
    }

    /// The `n`-th back-off (1-based): 2 s, 4 s, 8 s, 16 s, 30 s, ... with
    /// ±20 % jitter.
    pub(crate) fn backoff(&self, n: u32) -> Duration {
        let base = self.backoff.as_secs_f64() * 2f64.powi(n.saturating_sub(1).min(30) as i32);
        let capped = base.min(self.backoff_max.as_secs_f64());
        Duration::from_secs_f64((capped * (0.8 + 0.4 * fastrand::f64())).max(0.0))
    }
}

/// A progress line on stderr, unless `--quiet`.
pub(crate) fn progress(policy: &Policy, line: &str) {
    if !policy.quiet {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "{line}");
    }
}

/// A wait as `2s` or `10ms`.
pub(crate) fn show_wait(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{}s", d.as_secs_f64().round())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Writes `error: <message>` on stderr (the one-line form of a remote
/// failure; the command returns exit 3 itself).
pub(crate) fn report_remote_failure(message: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "error: {message}");
}

/// Writes to `out`, ignoring a closed pipe.
pub(crate) fn say(out: &mut dyn Write, line: &str) -> Result<()> {
    match writeln!(out, "{line}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(()),
    }
}

/// Runs the command and returns its exit code.
///
/// # Errors
/// Usage errors (no token, no host, a bad settings file).
pub fn run(args: &CheckConnectionArgs, out: &mut dyn Write) -> Result<u8> {
    let cx = Context::resolve(&args.project.project(), &OutputArgs::default())?;
    let client = args.api.client(&cx.settings)?;
    match client.version() {
        Ok(v) => {
            say(
                out,
                &format!("connection successful: connected to Panther backend on version: {v}"),
            )?;
            Ok(exit::SUCCESS)
        }
        Err(e) => {
            report_remote_failure(&format!("connection check failed ({}): {e}", client.endpoint()));
            Ok(exit::REMOTE)
        }
    }
}
