//! A client for Panther's public GraphQL API (upload-protocol §3, §4).
//!
//! One [`Client`] per command: `reqwest` with rustls, HTTP/1.1 keep-alive,
//! system proxies (except for loopback endpoints), no redirects (a
//! redirect would carry the token to another host). Every operation is one
//! `POST` of `{"query", "variables", "operationName"}` with `X-API-Key`,
//! bounded in time (connect 10 s, request 30 s or as configured, the
//! synchronous upload 300 s) and in response size ([`MAX_RESPONSE_BYTES`]).
//!
//! The token is sent in one header marked sensitive and appears nowhere
//! else: every message built from a response or a transport error is
//! scrubbed of it before it leaves this module. The endpoint is only ever
//! shown without its user name, password and query values
//! ([`redact_url`]), and text from the server is shown with its control
//! characters escaped ([`crate::text::escape_control`]).
//!
//! This module classifies failures ([`ApiError`]) and parses answers; the
//! retry policy belongs to the commands.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde_json::{Value, json};

use crate::settings::Secret;
use crate::text::escape_control;

/// Largest response body read; a bigger one is a protocol error.
pub const MAX_RESPONSE_BYTES: u64 = 32 << 20;

/// IDs or names per delete request (a backend limit).
pub const DELETE_BATCH: usize = 100;

/// `query GetVersion` (§4.1).
pub const GET_VERSION: &str = "query GetVersion {\n  generalSettings {\n    pantherVersion\n  }\n}\n";

const STATS_FIELDS: &str = "dataModels { ...UploadStatistics }\n      globalHelpers { ...UploadStatistics }\n      lookupTables { ...UploadStatistics }\n      policies { ...UploadStatistics }\n      queries { ...UploadStatistics }\n      rules { ...UploadStatistics }\n      correlationRules { ...UploadStatistics }\n      scheduledPrompts { ...UploadStatistics }";

/// `mutation uploadDetectionEntitiesAsync` (§4.3).
pub const UPLOAD_ASYNC: &str = "mutation uploadDetectionEntitiesAsync($input: UploadDetectionEntitiesAsyncInput!) {\n  uploadDetectionEntitiesAsync(input: $input) {\n    receiptId\n  }\n}\n";

/// `query status` (§4.4).
pub fn upload_status_query() -> String {
    format!(
        "query status($input: ID!) {{\n  detectionEntitiesUploadStatus(receiptId: $input) {{\n    status\n    error\n    result {{\n      {STATS_FIELDS}\n    }}\n  }}\n}}\n\nfragment UploadStatistics on UploadStatistics {{\n  modified\n  new\n  total\n}}\n"
    )
}

/// `mutation UploadDetections` (§4.5).
pub fn upload_sync_query() -> String {
    format!(
        "mutation UploadDetections($input: UploadDetectionEntitiesInput!) {{\n  uploadDetectionEntities(input: $input) {{\n      {STATS_FIELDS}\n  }}\n}}\n\nfragment UploadStatistics on UploadStatistics {{\n  modified\n  new\n  total\n}}\n"
    )
}

/// `mutation ValidateBulkUpload` (§4.6).
pub const VALIDATE: &str = "mutation ValidateBulkUpload($input: ValidateBulkUploadInput!) {\n  validateBulkUpload(input: $input) {\n    receiptId\n  }\n}\n";

/// `query ValidateBulkUploadStatus` (§4.6).
pub const VALIDATE_STATUS: &str = "query ValidateBulkUploadStatus($input: ID!) {\n  validateBulkUploadStatus(receiptId: $input) {\n    status\n    error\n    result {\n      issues {\n        path\n        errorMessage\n      }\n    }\n  }\n}\n";

/// `mutation DeleteDetections` (§4.7).
pub const DELETE_DETECTIONS: &str = "mutation DeleteDetections($input: DeleteDetectionsInput!) {\n  deleteDetections(input: $input) {\n    ids\n    savedQueryNames\n  }\n}\n";

/// `mutation DeleteSavedQueries` (§4.7).
pub const DELETE_SAVED_QUERIES: &str = "mutation DeleteSavedQueries($input: DeleteSavedQueriesByNameInput!) {\n  deleteSavedQueriesByName(input: $input) {\n    detectionIDs\n    names\n  }\n}\n";

/// `ListSchemas` (upload-protocol §4.11): the Panther-managed log types.
pub const SCHEMAS: &str = "query ListSchemas($input: SchemasInput!) {\n  schemas(input: $input) {\n    edges {\n      node {\n        name\n      }\n    }\n  }\n}\n";

/// `query GetRuleBody` (§4.8).
pub const GET_RULE_BODY: &str = "query GetRuleBody($input: ID!) {\n  rulePythonBody(input: $input) {\n    pythonBody\n    tests {\n      expectedResult\n      name\n      resource\n      mocks {\n        objectName\n        returnValue\n      }\n    }\n  }\n}\n";

/// Why the endpoint is unusable (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Neither a URL nor a host name (the value as [`redact_host_text`]
    /// shows it).
    #[error("`{0}` is not a Panther API host or GraphQL URL")]
    Invalid(String),
    /// Plain HTTP to a host that is not loopback.
    #[error(
        "refusing to send the API token over plain http to `{0}`; use https (http is accepted only for loopback addresses)"
    )]
    Insecure(String),
}

/// The GraphQL endpoint for an `api_host` (upload-protocol §3.1): a URL
/// with scheme and host is used as is, anything else becomes
/// `https://api.<api_host>/public/graphql`. HTTPS is required unless the
/// host is loopback.
///
/// # Errors
/// A value that makes no URL, or plain HTTP to a remote host.
pub fn endpoint(api_host: &str) -> Result<Url, EndpointError> {
    let api_host = api_host.trim();
    let invalid = || EndpointError::Invalid(redact_host_text(api_host));
    let url = match Url::parse(api_host) {
        Ok(u) if u.has_host() && matches!(u.scheme(), "http" | "https") => u,
        Ok(u) if u.has_host() => return Err(invalid()),
        _ => {
            if api_host.is_empty()
                || api_host.contains(['/', '?', '#', '@'])
                || api_host.chars().any(char::is_whitespace)
            {
                return Err(invalid());
            }
            Url::parse(&format!("https://api.{api_host}/public/graphql")).map_err(|_| invalid())?
        }
    };
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(EndpointError::Insecure(url.host_str().unwrap_or_default().to_owned()));
    }
    Ok(url)
}

/// A URL as it may be shown: no user name or password, query values
/// replaced by `***`, no fragment.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if u.query().is_some() {
        let pairs: Vec<(String, bool)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.is_empty())).collect();
        if pairs.is_empty() {
            u.set_query(None);
        } else {
            let mut q = u.query_pairs_mut();
            q.clear();
            for (k, empty) in &pairs {
                q.append_pair(k, if *empty { "" } else { "***" });
            }
        }
    }
    escape_control(u.as_str()).into_owned()
}

/// An `api_host` value as it may be shown in an error: a URL as
/// [`redact_url`]; anything else without what precedes an `@` and without
/// what follows a `?`.
pub fn redact_host_text(api_host: &str) -> String {
    if let Ok(u) = Url::parse(api_host) {
        if u.has_host() {
            return redact_url(&u);
        }
    }
    let mut s = api_host.rsplit_once('@').map_or(api_host, |(_, host)| host).to_owned();
    if let Some(i) = s.find(['?', '#']) {
        s.truncate(i);
        s.push_str("?***");
    }
    escape_control(&s).into_owned()
}

/// `api_host` with its user name, password and query values replaced by
/// `*` of the same length (for quoting the settings file with its columns
/// intact); `None` when it has none of them.
pub fn mask_url_secrets(api_host: &str) -> Option<String> {
    let chars: Vec<char> = api_host.chars().collect();
    let mut masked = chars.clone();
    let text_start = api_host.find("://").map_or(0, |i| api_host[..i].chars().count() + 3);
    let end_of = |from: usize, stops: &[char]| {
        (from..chars.len())
            .find(|&i| stops.contains(&chars[i]))
            .unwrap_or(chars.len())
    };
    let authority_end = end_of(text_start, &['/', '?', '#']);
    if let Some(at) = (text_start..authority_end).rev().find(|&i| chars[i] == '@') {
        masked[text_start..at].fill('*');
    }
    if let Some(q) = (authority_end..chars.len()).find(|&i| chars[i] == '?') {
        let q_end = end_of(q, &['#']);
        let mut in_value = false;
        for i in q + 1..q_end {
            match chars[i] {
                '&' => in_value = false,
                '=' if !in_value => in_value = true,
                _ if in_value => masked[i] = '*',
                _ => {}
            }
        }
    }
    (masked != chars).then(|| masked.into_iter().collect())
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A failure of one API call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer: connection refused or reset, DNS failure, TLS failure,
    /// time-out.
    #[error("{}", escape_control(.message))]
    Transport {
        /// What happened.
        message: String,
    },
    /// The server refused the token (HTTP 401 or 403).
    #[error(
        "authentication failed (HTTP {status}): check the API token, the API host, and that the token has the Bulk Upload permission"
    )]
    Auth {
        /// 401 or 403.
        status: u16,
    },
    /// An HTTP error status without a GraphQL answer.
    #[error("HTTP {status}: {}", escape_control(.message))]
    Http {
        /// The status.
        status: u16,
        /// The start of the body.
        message: String,
        /// `Retry-After`, when the server sent seconds.
        retry_after: Option<Duration>,
    },
    /// A GraphQL error (`errors[0]`); `message` is the server's text as
    /// sent (for [`render_error`]), shown escaped.
    #[error("{}", escape_control(.message))]
    GraphQl {
        /// `message` (or `body`).
        message: String,
        /// `extensions.code`.
        code: Option<String>,
    },
    /// An answer that is neither data nor errors, or lacks what the
    /// operation must return.
    #[error("unexpected answer from Panther: {}", escape_control(.message))]
    Protocol {
        /// What was wrong.
        message: String,
    },
    /// The async upload answered without a receipt ID (retryable, as in PAT).
    #[error("empty data: the upload was not given a receipt ID")]
    EmptyReceipt,
}

impl ApiError {
    /// A failure worth another attempt after a back-off: no answer, or
    /// HTTP 429, 502, 503, 504 (upload-protocol §6.4).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::EmptyReceipt => true,
            ApiError::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// A GraphQL error the backend means as "try again later" (§6.2).
    pub fn is_busy(&self) -> bool {
        match self {
            ApiError::GraphQl { message, .. } => is_retryable_text(message),
            _ => false,
        }
    }

    /// The instance does not know the operation (async upload, validation).
    pub fn is_unsupported(&self) -> bool {
        match self {
            ApiError::GraphQl { message, code } => {
                code.as_deref() == Some("GRAPHQL_VALIDATION_FAILED") || message.contains("Cannot query field")
            }
            _ => false,
        }
    }

    /// `Retry-After`, if the server sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// PAT's retryable predicate (upload-protocol §6.2).
pub fn is_retryable_text(text: &str) -> bool {
    text.contains("another upload")
        || text == "upload failed"
        || text.contains("ddb lock")
        || text.contains("pload does not exist")
}

/// Counters of one category of the upload statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items created.
    pub new: u64,
    /// Items changed.
    pub modified: u64,
    /// Items of this type processed.
    pub total: u64,
}

/// The upload statistics (upload-protocol §4.4, §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// By response key, in [`Stats::CATEGORIES`] order.
    pub counts: [Counts; 8],
}

impl Stats {
    /// Response keys and summary labels, in summary order.
    pub const CATEGORIES: [(&'static str, &'static str); 8] = [
        ("rules", "Rules"),
        ("queries", "Queries"),
        ("policies", "Policies"),
        ("dataModels", "Data Models"),
        ("globalHelpers", "Global Helpers"),
        ("lookupTables", "Lookup Tables"),
        ("correlationRules", "Correlation Rules"),
        ("scheduledPrompts", "Scheduled Prompts"),
    ];

    /// Reads the statistics object; missing categories count as zero.
    pub fn from_json(v: &Value) -> Stats {
        let mut s = Stats::default();
        for (i, (key, _)) in Self::CATEGORIES.iter().enumerate() {
            let c = &v[*key];
            let n = |k: &str| c[k].as_u64().unwrap_or(0);
            s.counts[i] = Counts {
                new: n("new"),
                modified: n("modified"),
                total: n("total"),
            };
        }
        s
    }

    /// Adds another upload's statistics (for `--batch`).
    pub fn add(&mut self, other: &Stats) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.new += b.new;
            a.modified += b.modified;
            a.total += b.total;
        }
    }

    /// `{"rules": {"new", "modified", "total"}, ...}`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        for ((key, _), c) in Self::CATEGORIES.iter().zip(self.counts) {
            m.insert(
                (*key).to_owned(),
                json!({"new": c.new, "modified": c.modified, "total": c.total}),
            );
        }
        Value::Object(m)
    }
}

/// The state of an asynchronous upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadStatus {
    /// `NOT_PROCESSED`: keep polling.
    NotProcessed,
    /// `COMPLETED`.
    Completed(Stats),
    /// `FAILED` with its `error` text.
    Failed(String),
    /// Any other status value.
    Unexpected(String),
}

/// One issue of a failed upload or a remote validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The bundle entry (project-relative path).
    pub path: String,
    /// What is wrong.
    pub error_message: String,
}

/// The state of a remote validation.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidateStatus {
    /// `NOT_PROCESSED`.
    NotProcessed,
    /// `COMPLETED` (or `FAILED`): the error text and the issues.
    Done {
        /// `error`, when not empty.
        error: Option<String>,
        /// `result.issues`.
        issues: Vec<Issue>,
    },
    /// Any other status value.
    Unexpected(String),
}

/// A backend error text as PAT renders it (upload-protocol §6.3): escaped
/// unicode undone, a JSON `{"error", "issues"}` document split up; control
/// characters in the result escaped for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedError {
    /// The error line.
    pub message: String,
    /// Issues, each naming a bundle entry.
    pub issues: Vec<Issue>,
}

/// Renders a backend error text.
pub fn render_error(text: &str) -> RenderedError {
    // A well-formed JSON text is read as is: undoing its `\u001b` escapes
    // first would make it invalid JSON.
    let parsed = match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    };
    let text = unescape_unicode(text);
    let parsed = parsed.or_else(|| serde_json::from_str::<Value>(&text).ok());
    if let Some(Value::Object(m)) = parsed {
        if m.contains_key("error") || m.contains_key("issues") || m.contains_key("message") {
            let message = m
                .get("error")
                .or_else(|| m.get("message"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default();
            let issues = m.get("issues").map(parse_issues).unwrap_or_default();
            return RenderedError {
                message: shown(&message),
                issues,
            };
        }
    }
    RenderedError {
        message: escape_control(&text).into_owned(),
        issues: Vec::new(),
    }
}

fn parse_issues(v: &Value) -> Vec<Issue> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| Issue {
                    path: shown(i["path"].as_str().unwrap_or_default()),
                    error_message: shown(i["errorMessage"].as_str().unwrap_or_default()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A backend text as printed: escaped unicode undone, then control
/// characters escaped.
fn shown(s: &str) -> String {
    escape_control(&unescape_unicode(s)).into_owned()
}

/// `\u003c` → `<` (escaped unicode left in backend messages).
fn unescape_unicode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 6);
        match hex
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
        {
            Some(c) if hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) => {
                out.push(c);
                rest = &rest[i + 6..];
            }
            _ => {
                out.push_str("\\u");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A test of a remote base detection (upload-protocol §4.8).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTest {
    /// `name`.
    pub name: String,
    /// `expectedResult`.
    pub expected_result: bool,
    /// `resource` parsed from its JSON text (`null` when it is not JSON).
    pub log: Value,
}

/// A base detection fetched from the instance.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteBase {
    /// The Python body.
    pub python_body: String,
    /// Its tests (remote mocks are dropped, as PAT does).
    pub tests: Vec<RemoteTest>,
}

/// Time limits of a client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting.
    pub connect: Duration,
    /// Each request.
    pub request: Duration,
    /// The synchronous upload mutation.
    pub sync_upload: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
            sync_upload: Duration::from_secs(300),
        }
    }
}

/// The API client.
pub struct Client {
    http: reqwest::blocking::Client,
    endpoint: Url,
    /// The endpoint as shown ([`redact_url`]).
    shown: String,
    token: Secret,
    timeouts: Timeouts,
    verbose: bool,
    /// `-vv`: also the variables of each request (bundle data replaced by
    /// its length).
    trace: bool,
    /// When set, no request runs past this instant (its time-out is cut
    /// to what is left); see [`Client::set_deadline`].
    deadline: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.shown)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client. `verbose` logs operation names, sizes and timings
    /// (never the token) on stderr.
    ///
    /// # Errors
    /// The TLS stack cannot be set up, or the token is not a valid header
    /// value.
    pub fn new(endpoint: Url, token: Secret, timeouts: Timeouts, verbose: bool) -> Result<Client, ApiError> {
        let mut headers = HeaderMap::new();
        let mut key = HeaderValue::from_str(token.expose()).map_err(|_| ApiError::Protocol {
            message: "the API token contains characters that cannot be sent in a header".to_owned(),
        })?;
        key.set_sensitive(true);
        headers.insert("X-API-Key", key);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let agent = HeaderValue::from_str(&format!("detect/{}", env!("CARGO_PKG_VERSION")))
            .unwrap_or(HeaderValue::from_static("detect"));
        headers.insert(USER_AGENT, agent);
        let mut builder = reqwest::blocking::Client::builder()
            .default_headers(headers)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .redirect(reqwest::redirect::Policy::none())
            .http1_only();
        if is_loopback(&endpoint) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ApiError::Transport {
            message: format!("cannot set up the HTTP client: {e}"),
        })?;
        Ok(Client {
            http,
            shown: redact_url(&endpoint),
            endpoint,
            token,
            timeouts,
            verbose,
            trace: false,
            deadline: Mutex::new(None),
        })
    }

    /// The verbosity: 0 quiet traffic, 1 (`-v`) operations, sizes and
    /// timings, 2 (`-vv`) also the variables.
    #[must_use]
    pub fn with_verbosity(mut self, level: u8) -> Client {
        self.verbose = level > 0;
        self.trace = level > 1;
        self
    }

    /// Bounds every following request by `deadline` (its time-out becomes
    /// at most the time left; none is sent once it has passed), or lifts
    /// the bound with `None`.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = deadline;
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline.lock().ok().and_then(|d| *d)
    }

    /// The endpoint as it may be shown: without user name, password and
    /// query values ([`redact_url`]).
    pub fn endpoint(&self) -> &str {
        &self.shown
    }

    /// Replaces the token, the endpoint's password and its query values
    /// in a text taken from outside (transport errors name the URL).
    fn scrub(&self, s: &str) -> String {
        let mut out = s.replace(self.endpoint.as_str(), &self.shown);
        let mut secrets: Vec<String> = vec![self.token.expose().to_owned()];
        secrets.extend(self.endpoint.password().map(str::to_owned));
        if !self.endpoint.username().is_empty() {
            secrets.push(format!("{}:", self.endpoint.username()));
        }
        secrets.extend(self.endpoint.query_pairs().map(|(_, v)| v.into_owned()));
        for secret in secrets {
            // Very short values would mangle ordinary words.
            if secret.len() >= 3 {
                out = out.replace(&secret, "***");
            }
        }
        out
    }

    #[expect(clippy::print_stderr, reason = "--verbose traffic log, never the token")]
    fn log(&self, line: &str) {
        if self.verbose {
            eprintln!("detect: {}", escape_control(&self.scrub(line)));
        }
    }

    /// Sends one operation and returns its `data` object.
    fn call(&self, op: &str, query: &str, variables: Value, timeout: Duration) -> Result<Value, ApiError> {
        let mut timeout = timeout;
        if let Some(deadline) = self.deadline() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApiError::Transport {
                    message: "the time limit ran out before the request was sent".to_owned(),
                });
            }
            timeout = timeout.min(left);
        }
        if self.trace {
            self.log(&format!("{op}: variables {}", shown_variables(&variables)));
        }
        let body = json!({"query": query, "variables": variables, "operationName": op}).to_string();
        let size = body.len();
        let start = Instant::now();
        let sent = self.http.post(self.endpoint.clone()).timeout(timeout).body(body).send();
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let message = if e.is_timeout() {
                    no_answer_within(timeout)
                } else {
                    self.scrub(&transport_message(&e))
                };
                self.log(&format!(
                    "{op}: no answer after {} ms: {message}",
                    start.elapsed().as_millis()
                ));
                return Err(ApiError::Transport { message });
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut buf = Vec::new();
        let read = resp.take(MAX_RESPONSE_BYTES + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            // A trickled answer runs into the request's time-out while its
            // body is read: that is a time-out, not a broken body.
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout)
                || start.elapsed() >= timeout;
            let message = if timed_out {
                no_answer_within(timeout)
            } else {
                self.scrub(&format!("the connection failed while reading the answer: {e}"))
            };
            self.log(&format!(
                "{op}: answer cut short after {} ms: {message}",
                start.elapsed().as_millis()
            ));
            return Err(ApiError::Transport { message });
        }
        self.log(&format!(
            "{op}: sent {size} bytes to {}, HTTP {status}, {} bytes back in {} ms",
            self.shown,
            buf.len(),
            start.elapsed().as_millis()
        ));
        if buf.len() as u64 > MAX_RESPONSE_BYTES {
            return Err(ApiError::Protocol {
                message: format!("the answer is larger than {} MB", MAX_RESPONSE_BYTES >> 20),
            });
        }
        if status == 401 || status == 403 {
            return Err(ApiError::Auth { status });
        }
        if (300..400).contains(&status) {
            // Following it would send the token wherever the answer points.
            return Err(ApiError::Http {
                status,
                message: "the endpoint redirects, and redirects are not followed; check the API host".to_owned(),
                retry_after: None,
            });
        }
        let parsed: Option<Value> = serde_json::from_slice(&buf).ok();
        if matches!(status, 429 | 502 | 503 | 504) {
            return Err(ApiError::Http {
                status,
                message: self.scrub(&snippet(&buf)),
                retry_after,
            });
        }
        if let Some(first) = parsed
            .as_ref()
            .and_then(|v| v["errors"].as_array())
            .and_then(|a| a.first())
        {
            let message = first["message"]
                .as_str()
                .or_else(|| first["body"].as_str())
                .map_or_else(|| first.to_string(), str::to_owned);
            return Err(ApiError::GraphQl {
                message: self.scrub(&message),
                code: first["extensions"]["code"].as_str().map(str::to_owned),
            });
        }
        if status >= 400 {
            return Err(ApiError::Http {
                status,
                message: self.scrub(&snippet(&buf)),
                retry_after,
            });
        }
        match parsed {
            Some(v) if v["data"].is_object() => Ok(v["data"].clone()),
            Some(_) => Err(ApiError::Protocol {
                message: "the answer has neither `data` nor `errors`".to_owned(),
            }),
            None => Err(ApiError::Protocol {
                message: format!("the answer is not JSON: {}", self.scrub(&snippet(&buf))),
            }),
        }
    }

    /// The Panther version (`check-connection`).
    ///
    /// # Errors
    /// Any failure; a missing version is a protocol error.
    pub fn version(&self) -> Result<String, ApiError> {
        let data = self.call("GetVersion", GET_VERSION, json!({}), self.timeouts.request)?;
        data["generalSettings"]["pantherVersion"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(|v| escape_control(v).into_owned())
            .ok_or_else(|| ApiError::Protocol {
                message: "did not receive version in response".to_owned(),
            })
    }

    /// Starts an asynchronous upload and returns its receipt ID.
    ///
    /// # Errors
    /// Any failure; a missing or empty receipt is [`ApiError::EmptyReceipt`].
    pub fn upload_async(&self, zip_base64: &str, pat_version: &str) -> Result<String, ApiError> {
        let vars = json!({"input": {"data": zip_base64, "patVersion": pat_version}});
        let data = self.call(
            "uploadDetectionEntitiesAsync",
            UPLOAD_ASYNC,
            vars,
            self.timeouts.request,
        )?;
        match data["uploadDetectionEntitiesAsync"]["receiptId"].as_str() {
            Some(r) if !r.is_empty() => Ok(escape_control(r).into_owned()),
            _ => Err(ApiError::EmptyReceipt),
        }
    }

    /// The state of an asynchronous upload.
    ///
    /// # Errors
    /// Any failure of the request.
    pub fn upload_status(&self, receipt: &str) -> Result<UploadStatus, ApiError> {
        let data = self.call(
            "status",
            &upload_status_query(),
            json!({"input": receipt}),
            self.timeouts.request,
        )?;
        let s = &data["detectionEntitiesUploadStatus"];
        Ok(match s["status"].as_str().unwrap_or_default() {
            "NOT_PROCESSED" => UploadStatus::NotProcessed,
            "COMPLETED" => UploadStatus::Completed(Stats::from_json(&s["result"])),
            "FAILED" => UploadStatus::Failed(self.scrub(s["error"].as_str().unwrap_or("upload failed"))),
            other => UploadStatus::Unexpected(escape_control(&self.scrub(other)).into_owned()),
        })
    }

    /// A synchronous upload. An answer without the result field counts as
    /// all zero, as in PAT.
    ///
    /// # Errors
    /// Any failure of the request.
    pub fn upload_sync(&self, zip_base64: &str) -> Result<Stats, ApiError> {
        let vars = json!({"input": {"data": zip_base64}});
        let data = self.call(
            "UploadDetections",
            &upload_sync_query(),
            vars,
            self.timeouts.sync_upload,
        )?;
        Ok(Stats::from_json(&data["uploadDetectionEntities"]))
    }

    /// Starts a remote validation and returns its receipt ID.
    ///
    /// # Errors
    /// Any failure; [`ApiError::is_unsupported`] tells an instance without
    /// the endpoint.
    pub fn validate(&self, zip_base64: &str, pat_version: &str) -> Result<String, ApiError> {
        let vars = json!({"input": {"data": zip_base64, "patVersion": pat_version}});
        let data = self.call("ValidateBulkUpload", VALIDATE, vars, self.timeouts.request)?;
        match data["validateBulkUpload"]["receiptId"].as_str() {
            Some(r) if !r.is_empty() => Ok(escape_control(r).into_owned()),
            _ => Err(ApiError::EmptyReceipt),
        }
    }

    /// The state of a remote validation.
    ///
    /// # Errors
    /// Any failure of the request.
    pub fn validate_status(&self, receipt: &str) -> Result<ValidateStatus, ApiError> {
        let vars = json!({"input": receipt});
        let data = self.call("ValidateBulkUploadStatus", VALIDATE_STATUS, vars, self.timeouts.request)?;
        let s = &data["validateBulkUploadStatus"];
        Ok(match s["status"].as_str().unwrap_or_default() {
            "NOT_PROCESSED" => ValidateStatus::NotProcessed,
            "COMPLETED" | "FAILED" => ValidateStatus::Done {
                error: s["error"].as_str().filter(|e| !e.is_empty()).map(|e| self.scrub(e)),
                issues: parse_issues(&s["result"]["issues"]),
            },
            other => ValidateStatus::Unexpected(escape_control(&self.scrub(other)).into_owned()),
        })
    }

    /// Deletes (or, with `dry_run`, looks up) detections by ID, in batches
    /// of [`DELETE_BATCH`]. Returns the IDs found or deleted and the linked
    /// saved queries.
    ///
    /// # Errors
    /// The first failing batch.
    pub fn delete_detections(&self, ids: &[String], dry_run: bool) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let mut found = Vec::new();
        let mut queries = Vec::new();
        for chunk in ids.chunks(DELETE_BATCH) {
            let vars = json!({"input": {"ids": chunk, "dryRun": dry_run, "includeSavedQueries": true}});
            let data = self.call("DeleteDetections", DELETE_DETECTIONS, vars, self.timeouts.request)?;
            found.extend(strings(&data["deleteDetections"]["ids"]));
            queries.extend(strings(&data["deleteDetections"]["savedQueryNames"]));
        }
        Ok((found, queries))
    }

    /// Deletes (or looks up) saved queries by name, in batches. Returns the
    /// linked detection IDs and the names found or deleted.
    ///
    /// # Errors
    /// The first failing batch.
    pub fn delete_saved_queries(
        &self,
        names: &[String],
        dry_run: bool,
    ) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let mut detections = Vec::new();
        let mut found = Vec::new();
        for chunk in names.chunks(DELETE_BATCH) {
            let vars = json!({"input": {"names": chunk, "dryRun": dry_run, "includeDetections": true}});
            let data = self.call("DeleteSavedQueries", DELETE_SAVED_QUERIES, vars, self.timeouts.request)?;
            detections.extend(strings(&data["deleteSavedQueriesByName"]["detectionIDs"]));
            found.extend(strings(&data["deleteSavedQueriesByName"]["names"]));
        }
        Ok((detections, found))
    }

    /// The names of the log types the instance manages (upload-protocol
    /// §4.11).
    ///
    /// # Errors
    /// Any failure of the request.
    pub fn log_types(&self) -> Result<Vec<String>, ApiError> {
        let vars = json!({"input": {"isManaged": true}});
        let data = self.call("ListSchemas", SCHEMAS, vars, self.timeouts.request)?;
        Ok(data["schemas"]["edges"]
            .as_array()
            .map(|edges| {
                edges
                    .iter()
                    .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Looks up a base detection on the instance (upload-protocol §4.8).
    /// `None` when the instance has no such detection.
    ///
    /// # Errors
    /// Any failure of the request.
    pub fn rule_body(&self, id: &str) -> Result<Option<RemoteBase>, ApiError> {
        let data = self.call(
            "GetRuleBody",
            GET_RULE_BODY,
            json!({"input": id}),
            self.timeouts.request,
        )?;
        let b = &data["rulePythonBody"];
        if b.is_null() {
            return Ok(None);
        }
        let tests = b["tests"]
            .as_array()
            .map(|ts| {
                ts.iter()
                    .map(|t| RemoteTest {
                        name: escape_control(t["name"].as_str().unwrap_or_default()).into_owned(),
                        expected_result: t["expectedResult"].as_bool().unwrap_or(false),
                        log: t["resource"]
                            .as_str()
                            .and_then(|r| serde_json::from_str(r).ok())
                            .unwrap_or(Value::Null),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(RemoteBase {
            python_body: b["pythonBody"].as_str().unwrap_or_default().to_owned(),
            tests,
        }))
    }
}

/// `the server did not answer within 30 s`.
fn no_answer_within(timeout: Duration) -> String {
    format!("the server did not answer within {}", show_seconds(timeout))
}

/// `30 s`, `1.5 s`, `0.25 s`.
pub fn show_seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    let text = format!("{s:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

/// Variables for the `-vv` log: a bundle (`input.data`, a string) is
/// replaced by its length.
fn shown_variables(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(data) = v.get_mut("input").and_then(|i| i.get_mut("data")) {
        if let Some(text) = data.as_str() {
            *data = Value::String(format!("<bundle: {} base64 characters>", text.len()));
        }
    }
    v.to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(|s| escape_control(s).into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The first line of a body, for error messages (at most 200 characters).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(empty body)");
    let mut s: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// A transport error with its causes ("connection refused"), without the
/// URL noise reqwest puts first.
fn transport_message(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    if e.is_timeout() {
        parts.push("the request timed out".to_owned());
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("acme.runpanther.net").unwrap().as_str(),
            "https://api.acme.runpanther.net/public/graphql"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080/public/graphql").unwrap().as_str(),
            "http://127.0.0.1:8080/public/graphql"
        );
        assert!(endpoint("http://localhost:1/x").is_ok());
        assert!(endpoint("http://[::1]:1/x").is_ok());
        assert_eq!(
            endpoint("http://api.acme.example/public/graphql"),
            Err(EndpointError::Insecure("api.acme.example".to_owned()))
        );
        assert!(endpoint("").is_err());
        assert!(endpoint("acme.example/path").is_err());
        assert!(endpoint("ftp://host/x").is_err());
    }

    #[test]
    fn shown_urls_have_no_credentials() {
        let u = Url::parse("https://bob:hunter22@api.acme.example/public/graphql?token=abc&x=&y=2#frag").unwrap();
        assert_eq!(
            redact_url(&u),
            "https://api.acme.example/public/graphql?token=***&x=&y=***"
        );
        assert_eq!(
            redact_url(&Url::parse("http://127.0.0.1:9/x?").unwrap()),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(redact_host_text("bob:hunter22@acme.example?k=v"), "acme.example?***");
        assert_eq!(
            mask_url_secrets("https://bob:pw@h:1/p?t=abc&x=&y=2#f").as_deref(),
            Some("https://******@h:1/p?t=***&x=&y=*#f")
        );
        assert_eq!(mask_url_secrets("acme.example"), None);
        assert_eq!(mask_url_secrets("http://127.0.0.1:9/public/graphql"), None);
        assert_eq!(
            endpoint("ftp://bob:hunter22@h/x?t=abc"),
            Err(EndpointError::Invalid("ftp://h/x?t=***".to_owned()))
        );
        let e = ApiError::GraphQl {
            message: "bad\u{1b}[2Jthing\nerror: fake".to_owned(),
            code: None,
        };
        assert_eq!(e.to_string(), "bad\\x1b[2Jthing\\nerror: fake");
    }

    #[test]
    fn retryable_predicate() {
        assert!(is_retryable_text(
            "another upload is in process, please try again later"
        ));
        assert!(is_retryable_text("upload failed"));
        assert!(!is_retryable_text("upload failed: bad yaml"));
        assert!(is_retryable_text("failed to acquire ddb lock"));
        assert!(is_retryable_text("Upload does not exist"));
        assert!(!is_retryable_text("unknown error occurred"));
    }

    #[test]
    fn renders_backend_errors() {
        let r = render_error(
            r#"{"error":"validation failed","issues":[{"path":"rules/a.yml","errorMessage":"bad \u003cx\u003e"}]}"#,
        );
        assert_eq!(r.message, "validation failed");
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].error_message, "bad <x>");
        let r = render_error("plain \\u003ctext\\u003e");
        assert_eq!(r.message, "plain <text>");
        assert_eq!(render_error("bad \\u00zz").message, "bad \\u00zz");
    }

    #[test]
    fn stats_parse_and_add() {
        let v = json!({"rules": {"new": 1, "modified": 3, "total": 120}, "queries": null});
        let mut s = Stats::from_json(&v);
        assert_eq!(
            s.counts[0],
            Counts {
                new: 1,
                modified: 3,
                total: 120
            }
        );
        assert_eq!(s.counts[1], Counts::default());
        s.add(&Stats::from_json(&v));
        assert_eq!(s.counts[0].total, 240);
        assert_eq!(s.to_json()["rules"]["modified"], 6);
    }
}
