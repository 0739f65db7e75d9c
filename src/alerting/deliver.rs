//! Sending payloads (alerts-and-webhooks §7.2): `POST` JSON, 2XX
//! acknowledges, retries with exponential backoff and jitter, every attempt
//! recorded, each finished delivery appended to the delivery log.
//!
//! Destinations are served in parallel (at most [`MAX_IN_FLIGHT`] requests
//! at a time); one destination gets its alerts one at a time, in order.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use super::dest::Target;
use super::log::{self, Attempt, DeliveryLog, Record};
use super::time;

/// Requests in flight at most, over all destinations.
pub const MAX_IN_FLIGHT: usize = 8;
/// Response bytes kept.
pub const MAX_BODY: u64 = 64 << 10;
/// Longest wait a `Retry-After` header may ask for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// One delivery to make.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its delivery ID (already in the pending journal).
    pub delivery_id: String,
    /// `alert`, `resend`, `manual` or `test`.
    pub kind: &'static str,
    /// Alert ID.
    pub alert_id: String,
    /// Detection ID.
    pub rule_id: String,
    /// The payload.
    pub payload: Value,
    /// The delivery this one re-sends.
    pub resend_of: Option<String>,
}

impl Job {
    /// The journal entry of this job.
    pub fn pending(&self, destination: &str) -> log::Pending {
        log::Pending {
            queued_at: time::aws(time::now()),
            delivery_id: self.delivery_id.clone(),
            kind: self.kind.to_owned(),
            alert_id: self.alert_id.clone(),
            rule_id: self.rule_id.clone(),
            destination: destination.to_owned(),
            resend_of: self.resend_of.clone(),
            payload: self.payload.clone(),
        }
    }
}

/// The upper bound of the wait before retry `k` (1-based).
pub fn backoff_cap(t: &Target, k: u32) -> u64 {
    let exp = 1u64.checked_shl(k.saturating_sub(1)).unwrap_or(u64::MAX);
    t.backoff_initial_ms.saturating_mul(exp).min(t.backoff_max_ms)
}

/// A wait between half and all of [`backoff_cap`].
fn backoff(t: &Target, k: u32) -> Duration {
    let cap = backoff_cap(t, k);
    let low = cap / 2;
    Duration::from_millis(if cap > low { fastrand::u64(low..=cap) } else { cap })
}

/// `Retry-After` in seconds or as an HTTP date, capped.
fn retry_after(v: &HeaderValue) -> Option<Duration> {
    let s = v.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = chrono::DateTime::parse_from_rfc2822(s).ok()?;
    let wait = when.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)).min(MAX_RETRY_AFTER))
}

/// Describes a request error without its URL (URLs may hold secrets).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}s", timeout.as_secs());
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let inner = cause.to_string();
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    if inner.contains("://") {
        kind.to_owned()
    } else {
        format!("{kind}: {inner}")
    }
}

/// Builds the client of a destination: no redirects (a 3XX is a failure,
/// so custom headers never reach another host), the per-attempt time-out.
pub fn client(t: &Target) -> Result<Client, String> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(t.timeout)
        .user_agent(concat!("detect/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", describe(&e, t.timeout)))
}

/// Sends one payload with retries and returns its record (not yet logged).
pub fn send(client: Result<&Client, &str>, t: &Target, job: &Job, retries: bool) -> Record {
    let body = serde_json::to_vec(&job.payload).unwrap_or_default();
    let started = time::now();
    let mut attempts = Vec::new();
    let max_attempts = if retries { 1 + t.max_retries } else { 1 };
    let mut delivered = false;
    for k in 1..=max_attempts {
        let at = time::now();
        let clock = Instant::now();
        let mut attempt = Attempt {
            attempt: k,
            at: time::aws(at),
            duration_ms: 0,
            http_status: None,
            error: None,
            response_body: None,
        };
        let mut wait = None;
        match client {
            Err(e) => attempt.error = Some(e.to_owned()),
            Ok(c) => {
                let result = c
                    .post(t.url.clone())
                    .headers(t.headers.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send();
                match result {
                    Err(e) => attempt.error = Some(describe(&e, t.timeout)),
                    Ok(resp) => {
                        let status = resp.status();
                        if matches!(status.as_u16(), 429 | 503) {
                            wait = resp.headers().get(RETRY_AFTER).and_then(retry_after);
                        }
                        let mut bytes = Vec::new();
                        let read = resp.take(MAX_BODY).read_to_end(&mut bytes);
                        attempt.http_status = Some(status.as_u16());
                        attempt.response_body = Some(String::from_utf8_lossy(&bytes).into_owned());
                        if status.is_success() {
                            delivered = true;
                        } else if status.is_redirection() {
                            attempt.error = Some(format!("HTTP {} (redirects are not followed)", status.as_u16()));
                        } else {
                            attempt.error = Some(format!("HTTP {}", status.as_u16()));
                        }
                        if let (Err(e), None) = (read, &attempt.error) {
                            if !delivered {
                                attempt.error = Some(format!("reading the response failed: {e}"));
                            }
                        }
                    }
                }
            }
        }
        attempt.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A receiver may echo a header or the URL back: nothing it sent is
        // kept before the destination's secrets are scrubbed from it.
        attempt.response_body = attempt.response_body.map(|b| t.scrub(&b));
        attempt.error = attempt.error.map(|e| t.scrub(&e));
        attempts.push(attempt);
        if delivered || k == max_attempts {
            break;
        }
        std::thread::sleep(wait.unwrap_or_else(|| backoff(t, k)));
    }
    let response_body = attempts.last().and_then(|a| a.response_body.clone());
    Record {
        delivery_id: job.delivery_id.clone(),
        kind: job.kind.to_owned(),
        alert_id: job.alert_id.clone(),
        rule_id: job.rule_id.clone(),
        destination: t.name.clone(),
        destination_host: t.host.clone(),
        status: if delivered { log::DELIVERED } else { log::FAILED }.to_owned(),
        started_at: time::aws(started),
        finished_at: time::aws(time::now()),
        attempts,
        response_body,
        resend_of: job.resend_of.clone(),
        payload: job.payload.clone(),
    }
}

/// The jobs of one destination (index into the targets).
type Planned = (usize, Vec<Job>);
/// What serving one destination produced: its plan position, records and
/// log-write errors.
type Served = (usize, Vec<Record>, Vec<String>);

/// What a delivery round produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records in plan order.
    pub records: Vec<Record>,
    /// Failures to write the log (the delivery itself is in `records`).
    pub log_errors: Vec<String>,
}

/// Delivers a plan: per destination (index into `targets`), its jobs in
/// order. Journal entries must already be written. Each record is logged
/// as soon as its delivery ends; `progress` is called with it.
pub fn run(
    targets: &[Target],
    plan: Vec<(usize, Vec<Job>)>,
    log: &DeliveryLog,
    retries: bool,
    progress: &(dyn Fn(&Record) + Sync),
) -> Outcome {
    let n = plan.len();
    let queue: Mutex<VecDeque<(usize, Planned)>> = Mutex::new(plan.into_iter().enumerate().collect());
    let results: Mutex<Vec<Served>> = Mutex::new(Vec::new());
    let workers = n.min(MAX_IN_FLIGHT);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .pop_front();
                    let Some((order, (ti, jobs))) = next else { break };
                    let Some(t) = targets.get(ti) else { continue };
                    let c = client(t);
                    let mut records = Vec::new();
                    let mut errors = Vec::new();
                    for job in &jobs {
                        let r = send(c.as_ref().map_err(String::as_str), t, job, retries);
                        if let Err(e) = log.append(&r) {
                            errors.push(format!("cannot write the delivery log `{}`: {e}", log.path().display()));
                        }
                        progress(&r);
                        records.push(r);
                    }
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((order, records, errors));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(o, _, _)| *o);
    let mut out = Outcome::default();
    for (_, r, e) in results {
        out.records.extend(r);
        out.log_errors.extend(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_caps_follow_the_spec_defaults() {
        let t = Target {
            name: "d".to_owned(),
            host: "h".to_owned(),
            url: reqwest::Url::parse("http://h/").unwrap(),
            headers: Default::default(),
            timeout: Duration::from_secs(10),
            max_retries: 10,
            backoff_initial_ms: 1000,
            backoff_max_ms: 60_000,
            secrets: Vec::new(),
        };
        let caps: Vec<u64> = (1..=10).map(|k| backoff_cap(&t, k) / 1000).collect();
        assert_eq!(caps, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        for k in 1..=10 {
            let w = backoff(&t, k).as_millis() as u64;
            assert!(w >= backoff_cap(&t, k) / 2 && w <= backoff_cap(&t, k));
        }
        assert_eq!(backoff_cap(&t, 80), 60_000);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            retry_after(&HeaderValue::from_static("3")),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after(&HeaderValue::from_static("9999")), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after(&HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&HeaderValue::from_static("soon")), None);
    }
}
