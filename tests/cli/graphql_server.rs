//! A GraphQL server on 127.0.0.1 for the network tests (upload-protocol
//! §8): it routes on the root field, records every request and answers as
//! the test's handler says. Also the example-repository copy whose settings
//! point at it with millisecond waits, and a `detect` runner that checks the
//! token never shows.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::util::{copy_dir, detect, fixture, run};

pub(crate) const TOKEN: &str = "tok-9f8e7d6c5b4a-SECRET";

/// Root fields, longest first where names share a prefix (§8.1).
pub(crate) const FIELDS: &[&str] = &[
    "uploadDetectionEntitiesAsync",
    "uploadDetectionEntities",
    "detectionEntitiesUploadStatus",
    "validateBulkUploadStatus",
    "validateBulkUpload",
    "generalSettings",
    "__schema",
    "deleteDetections",
    "deleteSavedQueriesByName",
    "rulePythonBody",
    "testCorrelationRuleYAML",
    "transpileSimpleDetectionsToPython",
    "transpileFilters",
    "schemas",
    "featureFlags",
];

/// One recorded request.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Value,
    pub(crate) field: &'static str,
}

/// What the server answers.
pub(crate) enum Reply {
    Json(u16, Value),
    Text(u16, &'static str, String),
    /// Close the connection without answering.
    Close,
    /// HTTP 307 to another place.
    Redirect(String),
    /// Answer after a pause.
    Slow(Duration, Box<Reply>),
    /// Send a 200 head announcing a 1000-byte JSON body, then one byte per
    /// interval until the client goes away.
    Trickle(Duration),
}

pub(crate) fn ok(v: Value) -> Reply {
    Reply::Json(200, v)
}

pub(crate) type Handler = Box<dyn FnMut(&Req, usize) -> Reply + Send>;

pub(crate) struct Server {
    pub(crate) url: String,
    pub(crate) requests: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    /// Starts a server; the handler gets the request and how many earlier
    /// requests had the same root field.
    pub(crate) fn start(handler: impl FnMut(&Req, usize) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test fixture");
        let url = format!("http://{}/public/graphql", listener.local_addr().expect("test fixture"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let mut handler: Handler = Box::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &mut handler, &log);
            }
        });
        Server { url, requests }
    }

    pub(crate) fn requests(&self) -> Vec<Req> {
        self.requests.lock().expect("request log").clone()
    }

    pub(crate) fn count(&self, field: &str) -> usize {
        self.requests().iter().filter(|r| r.field == field).count()
    }
}

pub(crate) fn serve(stream: TcpStream, handler: &mut Handler, log: &Arc<Mutex<Vec<Req>>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("test fixture");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or_default().to_owned();
    let field = FIELDS.iter().copied().find(|f| query.contains(f)).unwrap_or("unknown");
    let req = Req {
        method,
        path,
        headers,
        body,
        field,
    };
    let n = {
        let mut l = log.lock().expect("request log");
        let n = l.iter().filter(|r| r.field == field).count();
        l.push(req.clone());
        n
    };
    let mut reply = handler(&req, n);
    let mut stream = reader.into_inner();
    if let Reply::Slow(pause, inner) = reply {
        std::thread::sleep(pause);
        reply = *inner;
    }
    if let Reply::Trickle(every) = reply {
        let head =
            "HTTP/1.1 200 X\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..999 {
            std::thread::sleep(every);
            if stream.write_all(b" ").and_then(|()| stream.flush()).is_err() {
                return;
            }
        }
        return;
    }
    let mut extra = String::new();
    let (status, ctype, text) = match reply {
        Reply::Close | Reply::Slow(..) | Reply::Trickle(_) => return,
        Reply::Json(s, v) => (s, "application/json", v.to_string()),
        Reply::Text(s, c, t) => (s, c, t),
        Reply::Redirect(to) => {
            extra = format!("Location: {to}\r\n");
            (307, "text/plain", String::new())
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        text.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(text.as_bytes());
}

/// Standard base64, decoded here independently of the client's encoder.
pub(crate) fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().take_while(|c| **c != b'=').count();
        let mut acc = 0u32;
        for (i, c) in chunk.iter().take(n).enumerate() {
            acc |= u32::from(val(*c)) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..n]);
    }
    out
}

/// Entries of a zip: (name, bytes) in archive order.
pub(crate) fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("test fixture");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("test fixture");
            let mut s = String::new();
            f.read_to_string(&mut s).expect("test fixture");
            (f.name().to_owned(), s)
        })
        .collect()
}

/// The bundle an upload request carries.
pub(crate) fn bundle_of(r: &Req) -> Vec<(String, String)> {
    unzip(&unbase64(
        r.body["variables"]["input"]["data"].as_str().expect("test fixture"),
    ))
}

/// A copy of the example repository whose settings point at `api_host`
/// with millisecond waits.
pub(crate) fn project(api_host: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("test fixture");
    let dir = tmp.path().join("repo");
    copy_dir(&fixture("example-repo"), &dir);
    std::fs::write(
        dir.join(".panther_settings.yml"),
        format!(
            "minimum_tests: 2\napi_host: \"{api_host}\"\n{extra}detect:\n  format: human\n  upload:\n    poll_interval_seconds: 0.01\n    poll_timeout_seconds: 10\n    busy_wait_seconds: 0\n    backoff_seconds: 0.01\n    backoff_max_seconds: 0.05\n"
        ),
    )
    .expect("test fixture");
    (tmp, dir)
}

/// Runs `detect <args>` in `dir` with the token in the environment and
/// checks that the token appears nowhere in the output.
pub(crate) fn detect_run(dir: &Path, args: &[&str], token_env: bool) -> (i32, String, String) {
    detect_run_within(dir, args, token_env, None)
}

/// As [`detect_run`]; with `limit`, a run still going after it is killed
/// and the test fails (a guard against a client that never gives up, not
/// a measurement).
pub(crate) fn detect_run_within(
    dir: &Path,
    args: &[&str],
    token_env: bool,
    limit: Option<Duration>,
) -> (i32, String, String) {
    let mut c = detect(dir);
    for v in [
        "PANTHER_API_TOKEN",
        "PANTHER_API_HOST",
        "PANTHER_OUT",
        "PANTHER_SKIP_TESTS",
        "PANTHER_MINIMUM_TESTS",
    ] {
        c.env_remove(v);
    }
    if token_env {
        c.env("PANTHER_API_TOKEN", TOKEN);
    }
    c.args(args);
    if let Some(limit) = limit {
        // assert_cmd kills the child at the limit and `run` then fails.
        c.timeout(limit);
    }
    let (code, out, err) = run(c);
    assert!(!out.contains(TOKEN), "token in stdout:\n{out}");
    assert!(!err.contains(TOKEN), "token in stderr:\n{err}");
    (code, out, err)
}
