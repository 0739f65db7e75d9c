//! Destinations: `${VAR}` expansion and routing (alerts-and-webhooks §6,
//! §7.1).
//!
//! Expanded URLs and header values live only in [`Target`], whose `Debug`
//! hides them; messages name a destination and its host, never its path or
//! headers.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::settings::DestinationSettings;

/// A destination ready to send to.
#[derive(Clone)]
pub struct Target {
    /// `name`.
    pub name: String,
    /// Host and port of the URL, for messages and the log.
    pub host: String,
    /// The expanded URL.
    pub url: Url,
    /// Custom headers, expanded.
    pub headers: HeaderMap,
    /// Per-attempt time-out.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub backoff_initial_ms: u64,
    /// Longest backoff.
    pub backoff_max_ms: u64,
    /// Texts replaced by [`Target::scrub`], longest first.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Replaces `${NAME}` with the environment variable `NAME`; `$$` is a
/// literal `$`.
///
/// # Errors
/// A variable that is not set, or an unterminated `${`. The message names
/// the variable, never a value.
pub fn expand(text: &str, what: &str, destination: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let Some(end) = r.find('}') else {
                return Err(Error::Settings(format!(
                    "destination `{destination}`: unterminated `${{` in {what}"
                )));
            };
            let name = &r[..end];
            match std::env::var(name) {
                Ok(v) => out.push_str(&v),
                Err(_) => {
                    return Err(Error::Settings(format!(
                        "destination `{destination}`: environment variable `{name}` used in {what} is not set"
                    )));
                }
            }
            rest = &r[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Host and port of a URL (what may be shown).
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

impl Target {
    /// Expands a destination's URL and headers.
    ///
    /// # Errors
    /// A missing variable, or an expanded URL or header that is not valid.
    pub fn resolve(d: &DestinationSettings) -> Result<Target> {
        let raw = expand(&d.url, "the URL", &d.name)?;
        let url = Url::parse(&raw)
            .map_err(|e| Error::Settings(format!("destination `{}`: the URL is not valid ({e})", d.name)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::Settings(format!(
                "destination `{}`: the URL must be an http:// or https:// URL with a host",
                d.name
            )));
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &d.headers {
            let value = expand(v, &format!("header `{k}`"), &d.name)?;
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::Settings(format!("destination `{}`: `{k}` is not a valid header name", d.name)))?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                Error::Settings(format!(
                    "destination `{}`: the value of header `{k}` is not a valid header value",
                    d.name
                ))
            })?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        let secrets = secrets_of(&url, &headers);
        Ok(Target {
            name: d.name.clone(),
            host: host_of(&url),
            url,
            headers,
            timeout: Duration::from_secs(d.timeout_seconds.max(1)),
            max_retries: d.max_retries.min(10),
            backoff_initial_ms: d.backoff_initial_ms,
            backoff_max_ms: d.backoff_max_ms,
            secrets,
        })
    }

    /// Replaces every secret of the destination (header values, the URL's
    /// user, password, query values and longer path segments) with `***`
    /// in a text that came back from the receiver or the network.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }
}

/// Shortest text treated as a secret: replacing one- or two-character
/// values would garble any reply and hide nothing.
pub const MIN_SECRET: usize = 3;

/// Path segments at least this long are treated as secrets (webhook
/// services put tokens there); shorter ones (`hook`, `api`, `v1`) are not.
pub const MIN_PATH_SECRET: usize = 8;

/// The texts to scrub for a destination: every expanded header value, and
/// its part after the first space (`Bearer <token>`); the URL's user,
/// password, `user:password` and the `Basic` credentials made of them;
/// every query value; path segments of [`MIN_PATH_SECRET`] or more
/// characters. Raw and percent-decoded forms; longest first.
fn secrets_of(url: &Url, headers: &HeaderMap) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in headers.values() {
        let Ok(v) = v.to_str() else { continue };
        out.push(v.to_owned());
        if let Some((_, rest)) = v.split_once(' ') {
            out.push(rest.trim().to_owned());
        }
    }
    let (user, password) = (url.username(), url.password().unwrap_or(""));
    if !user.is_empty() || !password.is_empty() {
        for part in [user, password] {
            out.push(part.to_owned());
            out.push(decode(part));
        }
        let pair = format!("{}:{}", decode(user), decode(password));
        out.push(crate::bundle::base64(pair.as_bytes()));
        out.push(pair);
    }
    if let Some(q) = url.query() {
        for (raw, (_, value)) in q.split('&').zip(url.query_pairs()) {
            if let Some((_, v)) = raw.split_once('=') {
                out.push(v.to_owned());
            }
            out.push(value.into_owned());
        }
    }
    for seg in url.path_segments().into_iter().flatten() {
        if seg.chars().count() >= MIN_PATH_SECRET {
            out.push(seg.to_owned());
            out.push(decode(seg));
        }
    }
    out.retain(|s| s.chars().count() >= MIN_SECRET);
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// `%XX` escapes decoded (invalid ones kept as written); `+` is left alone.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if let (b'%', Some(h), Some(l)) = (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces each of `secrets` (longest first) in `text` with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// A text from outside made safe for a terminal
/// ([`crate::text::escape_control`]), so a reply cannot move the cursor,
/// recolour or rewrite what is shown.
pub fn printable(text: &str) -> String {
    crate::text::escape_control(text).into_owned()
}

/// What routing looks at for one alert.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo<'a> {
    /// Upper-case severity.
    pub severity: &'a str,
    /// Alert type.
    pub alert_type: &'a str,
    /// Log types of the alert; any may pass a log-type filter.
    pub log_types: &'a [String],
    /// The detection's `OutputIds`.
    pub output_ids: &'a [String],
}

/// Which rule chose the destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The detection's `OutputIds`.
    OutputIds,
    /// The destinations' own filters.
    Filters,
}

impl ChosenBy {
    /// The word used in `--dry-run` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenBy::OutputIds => "OutputIds",
            ChosenBy::Filters => "filters",
        }
    }
}

/// The routing decision for one alert.
#[derive(Debug, Clone)]
pub struct Route {
    /// Indexes of the chosen destinations, in settings order.
    pub destinations: Vec<usize>,
    /// Which rule chose them.
    pub by: ChosenBy,
    /// `OutputIds` entries that match no enabled destination.
    pub unmatched: Vec<String>,
}

/// Routes an alert (§7.1): `OutputIds` (by `id` or `name`, ignoring
/// filters) when the detection has any, else every enabled destination
/// whose filters accept severity, type and one of the log types.
pub fn route(info: RouteInfo<'_>, destinations: &[DestinationSettings]) -> Route {
    if !info.output_ids.is_empty() {
        let mut chosen = Vec::new();
        let mut unmatched = Vec::new();
        for o in info.output_ids {
            let found: Vec<usize> = destinations
                .iter()
                .enumerate()
                .filter(|(_, d)| d.enabled && (d.name == *o || d.id.as_deref() == Some(o.as_str())))
                .map(|(i, _)| i)
                .collect();
            if found.is_empty() {
                unmatched.push(o.clone());
            }
            chosen.extend(found);
        }
        chosen.sort_unstable();
        chosen.dedup();
        return Route {
            destinations: chosen,
            by: ChosenBy::OutputIds,
            unmatched,
        };
    }
    let chosen = destinations
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.enabled
                && d.severities.iter().any(|s| s == info.severity)
                && d.alert_types.iter().any(|t| t == info.alert_type)
                && (d.log_types.is_empty() || info.log_types.iter().any(|l| d.log_types.contains(l)))
        })
        .map(|(i, _)| i)
        .collect();
    Route {
        destinations: chosen,
        by: ChosenBy::Filters,
        unmatched: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(name: &str) -> DestinationSettings {
        DestinationSettings {
            name: name.to_owned(),
            url: "http://127.0.0.1:1/x".to_owned(),
            severities: vec!["HIGH".to_owned(), "CRITICAL".to_owned()],
            alert_types: vec!["RULE".to_owned()],
            enabled: true,
            timeout_seconds: 1,
            ..DestinationSettings::default()
        }
    }

    #[test]
    fn expansion_of_variables() {
        // Tests cannot set variables (`set_var` is unsafe); PATH is always set.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand("a ${PATH} $$5 $x", "h", "d").unwrap(), format!("a {path} $5 $x"));
        let e = expand("${DETECT_TEST_NOT_SET_ANYWHERE}", "the URL", "d")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DETECT_TEST_NOT_SET_ANYWHERE") && e.contains("not set"),
            "{e}"
        );
        assert!(expand("${OPEN", "h", "d").is_err());
    }

    #[test]
    fn secrets_cover_headers_credentials_query_and_long_path_segments() {
        let url = Url::parse("https://bot:p%40ss@h.example/services/T0KENPATH123/x?sig=a%2Fb&v=1").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer tok-9"));
        headers.insert("x-short", HeaderValue::from_static("ab"));
        let s = secrets_of(&url, &headers);
        for want in [
            "Bearer tok-9",
            "tok-9",
            "bot",
            "p%40ss",
            "p@ss",
            "bot:p@ss",
            "T0KENPATH123",
            "a%2Fb",
            "a/b",
        ] {
            assert!(s.iter().any(|x| x == want), "{want} not in {s:?}");
        }
        // `Basic` credentials reqwest makes of the URL's user and password.
        assert!(s.contains(&crate::bundle::base64(b"bot:p@ss")), "{s:?}");
        // Too short to scrub: `ab`, `1`, `x`; `services` is a long segment.
        assert!(!s.iter().any(|x| x == "ab" || x == "1" || x == "x"), "{s:?}");
        assert_eq!(
            scrub("echo Bearer tok-9 and tok-9 at /services/T0KENPATH123?sig=a/b", &s),
            "echo *** and *** at /***/***?sig=***"
        );
        assert_eq!(
            printable("a\x1b[2J\r\n\u{7f}\u{9b}\u{202e}é"),
            "a\\x1b[2J\\r\\n\\x7f\\u{9b}\\u{202e}é"
        );
    }

    #[test]
    fn routing_by_output_ids_and_filters() {
        let mut a = dest("a");
        a.id = Some("uuid-a".to_owned());
        let b = dest("b");
        let mut c = dest("c");
        c.log_types = vec!["Okta.SystemLog".to_owned()];
        let mut d = dest("d");
        d.enabled = false;
        let all = [a, b, c, d];
        let logs = ["AWS.CloudTrail".to_owned()];
        let info = RouteInfo {
            severity: "HIGH",
            alert_type: "RULE",
            log_types: &logs,
            output_ids: &[],
        };
        assert_eq!(route(info, &all).destinations, [0, 1]);
        let low = RouteInfo {
            severity: "LOW",
            ..info
        };
        assert!(route(low, &all).destinations.is_empty());
        let ids = ["uuid-a".to_owned(), "c".to_owned(), "d".to_owned(), "zz".to_owned()];
        let r = route(
            RouteInfo {
                output_ids: &ids,
                ..low
            },
            &all,
        );
        assert_eq!(r.destinations, [0, 2]);
        assert_eq!(r.by, ChosenBy::OutputIds);
        assert_eq!(r.unmatched, ["d", "zz"]);
        let okta = ["Okta.SystemLog".to_owned()];
        assert_eq!(
            route(
                RouteInfo {
                    log_types: &okta,
                    ..info
                },
                &all
            )
            .destinations,
            [0, 1, 2]
        );
    }
}
