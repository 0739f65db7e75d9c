//! `detect run` and `detect alerts` on fixture repositories, delivering to
//! real HTTP receivers on 127.0.0.1 that each test starts itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{copy_dir, detect, fixture, run, run_in};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
enum Reply {
    /// Status and body.
    Status(u16, &'static str),
    /// Answer with a header too.
    WithHeader(u16, &'static str, &'static str),
    /// Never answer (the connection is held open, then dropped).
    Stall,
    /// Wait this many milliseconds, then answer with status and body.
    Slow(u64, u16, &'static str),
    /// Answer with this status and a body echoing the request's path and
    /// `X-Webhook-Secret` header, with terminal escape sequences around.
    Echo(u16),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The status the receiver wrote back, if it did.
    answered: Option<u16>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("test receiver or fixture")
    }
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

/// A webhook receiver on 127.0.0.1: every connection gets a thread, every
/// request is recorded, the script decides the answer by request number.
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    /// When set, every request gets 200 whatever the script says.
    healthy: Arc<AtomicBool>,
}

impl Receiver {
    fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("test receiver or fixture");
        let port = listener.local_addr().expect("test receiver or fixture").port();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let healthy = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let count = Arc::new(AtomicUsize::new(0));
        let (r, h) = (Arc::clone(&requests), Arc::clone(&healthy));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, h, s, c) = (Arc::clone(&r), Arc::clone(&h), Arc::clone(&script), Arc::clone(&count));
                std::thread::spawn(move || serve(stream, &r, &h, &*s, &c));
            }
        });
        Receiver {
            port,
            requests,
            healthy,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("test receiver or fixture").clone()
    }

    /// alertIds acknowledged with a 2XX, in order.
    fn acknowledged(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .map(|r| {
                r.json()["alertId"]
                    .as_str()
                    .expect("test receiver or fixture")
                    .to_owned()
            })
            .collect()
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Request>>, healthy: &AtomicBool, script: &Script, count: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().expect("test receiver or fixture"));
    let mut stream = stream;
    loop {
        let mut first = String::new();
        if reader.read_line(&mut first).unwrap_or(0) == 0 {
            return;
        }
        let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = count.fetch_add(1, Ordering::SeqCst);
        let reply = if healthy.load(Ordering::SeqCst) {
            Reply::Status(200, "ok")
        } else {
            script(n)
        };
        let index = {
            let mut l = log.lock().expect("test receiver or fixture");
            l.push(Request {
                path,
                headers,
                body,
                answered: None,
            });
            l.len() - 1
        };
        let (status, text, extra) = match reply {
            Reply::Stall => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Reply::Status(s, t) => (s, t.to_owned(), String::new()),
            Reply::Slow(ms, s, t) => {
                std::thread::sleep(Duration::from_millis(ms));
                (s, t.to_owned(), String::new())
            }
            Reply::WithHeader(s, t, h) => (s, t.to_owned(), format!("{h}\r\n")),
            Reply::Echo(s) => {
                let l = log.lock().expect("test receiver or fixture");
                let r = &l[index];
                let text = format!(
                    "\x1b[2J\x1b[31mgot {} at {}\x1b[0m\r\nbye\u{202e}",
                    r.header("x-webhook-secret").unwrap_or("-"),
                    r.path
                );
                (s, text, String::new())
            }
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\r\n{text}",
            text.len()
        );
        if stream
            .write_all(response.as_bytes())
            .and_then(|()| stream.flush())
            .is_ok()
        {
            log.lock().expect("test receiver or fixture")[index].answered = Some(status);
        }
    }
}

/// A copy of the fixture repository with a settings file naming the given
/// destinations (YAML list items, already indented by two spaces).
fn repo(destinations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("test receiver or fixture");
    copy_dir(&fixture("run/repo"), dir.path());
    std::fs::write(
        dir.path().join(".panther_settings.yml"),
        format!("detect:\n  destinations:\n{destinations}"),
    )
    .expect("test receiver or fixture");
    dir
}

/// A destination entry with fast retries.
fn destination(name: &str, url: &str, extra: &str) -> String {
    format!(
        "    - name: {name}\n      type: custom_webhook\n      url: \"{url}\"\n      backoff_initial_ms: 1\n      backoff_max_ms: 5\n{extra}"
    )
}

fn log_records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(".detect/deliveries.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("test receiver or fixture"))
        .collect()
}

/// Runs `detect <args> <events/name>` in `dir`, `args` ending in `--events`.
fn run_on_events(dir: &Path, args: &[&str], name: &str) -> (i32, String, String) {
    let mut c = detect(dir);
    // The fixture's Python rule stays skipped whatever Python the machine has.
    let (command, rest) = args.split_first().map_or(("run", &[][..]), |(c, r)| (*c, r));
    c.arg(command).arg("--no-python").args(rest).arg(events(name));
    run(c)
}

/// Runs `detect run . --rule Fixture.Login.BruteForce --deliver <extra>
/// --events <events/week.jsonl>` in `dir` with the environment variables
/// `env` set.
fn deliver_brute_force(dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let mut c = detect(dir);
    c.envs(env.iter().copied())
        .args(["run", ".", "--rule", "Fixture.Login.BruteForce", "--deliver"])
        .args(extra)
        .arg("--events")
        .arg(events("week.jsonl"));
    run(c)
}

/// Starts two `detect` processes at once in `dir`, the arguments of the
/// `i`-th added by `args(i, command)`, waits for both and checks that each
/// exits 0.
fn two_at_once(dir: &Path, args: impl Fn(usize, &mut std::process::Command)) {
    let bin = assert_cmd::cargo::cargo_bin("detect");
    let children: Vec<std::process::Child> = (0..2)
        .map(|i| {
            let mut c = std::process::Command::new(&bin);
            c.current_dir(dir);
            args(i, &mut c);
            c.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("detect starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("detect runs");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

fn events(name: &str) -> PathBuf {
    fixture(&format!("run/logs/{name}"))
}

fn expected_alerts() -> String {
    std::fs::read_to_string(fixture("run/expected/alerts.jsonl")).expect("test receiver or fixture")
}

#[test]
fn replay_writes_the_expected_alerts_for_every_input_form() {
    let dir = fixture("run");
    let expected = expected_alerts();
    for input in ["week.jsonl", "week.json", "week.jsonl.gz"] {
        let (code, out, err) = run_on_events(&dir, &["run", "repo", "--events"], input);
        assert_eq!(code, 0, "{input}: {err}");
        assert_eq!(out, expected, "{input}");
    }
    let mut c = detect(&dir);
    c.args(["run", "repo", "--no-python", "--events", "-"])
        .write_stdin(std::fs::read(events("week.jsonl")).unwrap());
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str()), (0, expected.as_str()), "{err}");
    assert!(
        err.contains("21 events · 5 rules evaluated (1 skipped: python rule) · 1 disabled · 23 signals · 10 alerts (CORRELATION_RULE 1, RULE 9)"),
        "{err}"
    );
    assert!(
        err.contains("  Fixture.Login.BruteForce: 12 matches, 2 alerts"),
        "{err}"
    );
}

#[test]
fn same_input_twice_gives_byte_identical_alerts_with_many_threads() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough events to spread over several batches and threads.
    let base = std::fs::read_to_string(events("week.jsonl")).unwrap();
    let mut big = String::new();
    for day in 10..28 {
        big.push_str(&base.replace("2024-06-03", &format!("2024-06-{day}")));
    }
    let input = tmp.path().join("big.jsonl");
    std::fs::write(&input, big.repeat(40)).unwrap();
    let mut outputs = Vec::new();
    for jobs in ["1", "2", "4"] {
        let out = tmp.path().join(format!("alerts-{jobs}.jsonl"));
        let mut c = detect(&fixture("run"));
        c.args(["run", "repo", "--jobs", jobs, "--alerts-out"])
            .arg(&out)
            .arg("--events")
            .arg(&input);
        let (code, _, err) = run(c);
        assert_eq!(code, 0, "{err}");
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(!outputs[0].is_empty());
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

#[test]
fn dedup_threshold_and_create_alert_false() {
    let tmp = tempfile::tempdir().unwrap();
    let signals = tmp.path().join("signals.jsonl");
    let mut c = detect(&fixture("run"));
    c.args(["run", "repo", "--events"])
        .arg(events("week.jsonl"))
        .arg("--signals-out")
        .arg(&signals);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let alerts: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let of = |id: &str| alerts.iter().filter(|a| a["id"] == id).collect::<Vec<_>>();
    // 60-minute windows: 09:10 opens, 09:40 joins, 10:10 (start + period) opens.
    let root: Vec<&str> = of("Fixture.Root.Login")
        .iter()
        .map(|a| a["createdAt"].as_str().unwrap())
        .collect();
    assert_eq!(
        root,
        [
            "2024-06-03T09:10:00.000Z",
            "2024-06-03T09:15:00.000Z",
            "2024-06-03T10:10:00.000Z"
        ]
    );
    // DedupPeriodMinutes 3 is raised to 5: every root login is an alert.
    assert_eq!(of("Fixture.Root.Login.Critical").len(), 4);
    // Threshold 3 within 15 minutes: alice at the third failure, with the
    // first failure's context; bob only once three land within 15 minutes.
    let brute = of("Fixture.Login.BruteForce");
    assert_eq!(brute.len(), 2);
    assert_eq!(brute[0]["createdAt"], "2024-06-03T10:10:00.000Z");
    assert_eq!(brute[0]["alertContext"]["ip"], "192.0.2.1");
    assert_eq!(brute[0]["severity"], "MEDIUM");
    assert_eq!(brute[1]["severity"], "HIGH");
    assert_eq!(brute[1]["createdAt"], "2024-06-03T12:02:00.000Z");
    // CreateAlert false: signals, never alerts.
    assert!(of("Fixture.Key.Created").is_empty());
    let sigs: Vec<Value> = std::fs::read_to_string(&signals)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&Value> = sigs.iter().filter(|s| s["ruleId"] == "Fixture.Key.Created").collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["createAlert"], false);
    assert_eq!(keys[0]["dedup"], Value::Null);
    assert_eq!(
        keys[0]["event"]["p_alert_context"],
        serde_json::json!({"account": "111"})
    );
    assert_eq!(keys[0]["eventTime"], "2024-06-03T09:00:00.000Z");
    // The correlation rule: key then root login in account 111, found by
    // the 10:00 run (rate 60, lookback 90).
    let corr = of("Fixture.Key.Then.Root.Login");
    assert_eq!(corr.len(), 1);
    assert_eq!(corr[0]["type"], "CORRELATION_RULE");
    assert_eq!(corr[0]["createdAt"], "2024-06-03T10:00:00.000Z");
    assert_eq!(corr[0]["severity"], "CRITICAL");
}

#[test]
fn malformed_lines_are_reported_and_strict_fails() {
    let dir = fixture("run");
    let (code, out, err) = run_on_events(
        &dir,
        &["run", "repo", "--now", "2024-06-03T09:30:00Z", "--events"],
        "broken.jsonl",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3);
    // The form of `validate`'s warnings: path:line:col: warning[code]: ...
    assert!(
        err.contains("broken.jsonl:2:1: warning[event-unreadable]: not valid JSON"),
        "{err}"
    );
    assert!(
        err.contains("broken.jsonl:4:1: warning[event-unreadable]: not a JSON object but an array; skipped\n"),
        "{err}"
    );
    assert!(
        err.contains("broken.jsonl:5:1: warning[event-no-log-type]: the event has no `p_log_type`"),
        "{err}"
    );
    assert!(
        err.contains("broken.jsonl: warning[event-no-time]: 1 event had no usable `p_event_time`; it was given the time 2024-06-03T09:30:00.000Z\n"),
        "{err}"
    );
    assert!(err.contains("  Fixture.Root.Login: 2 matches, 1 alert\n"), "{err}");
    let mut c = detect(&dir);
    c.args(["run", "repo", "--strict", "--events"])
        .arg(events("broken.jsonl"));
    assert_eq!(run(c).0, 2);
    let mut c = detect(&dir);
    c.args(["run", "repo", "--fail-on-alert", "--events"])
        .arg(events("week.jsonl"));
    assert_eq!(run(c).0, 1);
    let mut c = detect(&dir);
    c.args(["run", "repo", "--events", "logs/missing.jsonl"]);
    assert_eq!(run(c).0, 2);
}

#[test]
fn retries_until_acknowledged_with_headers_and_no_secrets_written() {
    // Fails twice, then answers 200.
    let rx = Receiver::start(|n| {
        if n < 2 {
            Reply::Status(500, "busy")
        } else {
            Reply::Status(200, "thanks")
        }
    });
    let url = rx.url("/hook/s3cr3t-path-token");
    let dest = destination(
        "soc",
        "${DETECT_TEST_HOOK_URL}",
        "      headers:\n        Authorization: \"Bearer ${DETECT_TEST_TOKEN}\"\n        X-Static: plain\n",
    );
    let dir = repo(&dest);
    let alerts_out = dir.path().join("alerts.jsonl");
    let secrets = [
        ("DETECT_TEST_TOKEN", "tok-123-secret"),
        ("DETECT_TEST_HOOK_URL", url.as_str()),
    ];
    let (code, out, err) = deliver_brute_force(
        dir.path(),
        &secrets,
        &["--alerts-out", alerts_out.to_str().expect("a UTF-8 temporary path")],
    );
    assert_eq!(code, 0, "{err}");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 4, "{err}");
    for r in &reqs {
        assert_eq!(r.path, "/hook/s3cr3t-path-token");
        assert_eq!(r.header("authorization"), Some("Bearer tok-123-secret"));
        assert_eq!(r.header("x-static"), Some("plain"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("user-agent").unwrap().starts_with("detect/"));
    }
    // Delivered exactly once each, in creation order.
    let written: Vec<String> = std::fs::read_to_string(&alerts_out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(written.len(), 2);
    let ids = alert_ids(&written.join("\n"));
    assert_eq!(rx.acknowledged(), ids);
    // The body is the alerts-out line, byte for byte.
    assert_eq!(String::from_utf8(reqs[3].body.clone()).unwrap(), written[1]);
    let records = log_records(dir.path());
    assert_eq!(records.len(), 2);
    let attempts: Vec<Vec<Value>> = records
        .iter()
        .map(|r| r["attempts"].as_array().unwrap().clone())
        .collect();
    assert_eq!(attempts[0].len(), 3);
    assert_eq!(attempts[0][0]["httpStatus"], 500);
    assert_eq!(attempts[0][0]["error"], "HTTP 500");
    assert_eq!(attempts[0][0]["responseBody"], "busy");
    assert_eq!(attempts[0][2]["httpStatus"], 200);
    assert_eq!(attempts[1].len(), 1);
    assert_eq!(records[0]["status"], "DELIVERED");
    assert_eq!(records[0]["kind"], "alert");
    assert_eq!(records[0]["responseBody"], "thanks");
    assert_eq!(records[0]["destinationHost"], format!("127.0.0.1:{}", rx.port));
    assert_eq!(records[0]["resendOf"], Value::Null);
    // Secrets appear nowhere: not in the log, the journal, or the output.
    let log = std::fs::read_to_string(dir.path().join(".detect/deliveries.jsonl")).unwrap();
    let journal = std::fs::read_to_string(dir.path().join(".detect/deliveries.pending.jsonl")).unwrap();
    for text in [&log, &journal, &out, &err] {
        assert!(!text.contains("tok-123-secret"), "{text}");
        assert!(!text.contains("s3cr3t-path-token"), "{text}");
    }
    // Running again delivers nothing twice.
    let (code, _, err) = deliver_brute_force(dir.path(), &secrets, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 deliveries skipped: already delivered"), "{err}");
    assert_eq!(rx.requests().len(), 4);
}

#[test]
fn payload_fields_and_types_follow_the_schema() {
    let rx = Receiver::start(|_| Reply::Status(204, ""));
    let dir = repo(&destination("soc", &rx.url("/"), ""));
    std::fs::write(
        dir.path().join(".panther_settings.yml"),
        format!(
            "detect:\n  console_url: \"https://acme.example.net/\"\n  destinations:\n{}",
            destination("soc", &rx.url("/"), "")
        ),
    )
    .unwrap();
    let (code, _, err) = deliver_brute_force(dir.path(), &[], &[]);
    assert_eq!(code, 0, "{err}");
    let body = rx.requests()[0].json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    let expected = [
        "id",
        "createdAt",
        "severity",
        "type",
        "link",
        "title",
        "name",
        "alertId",
        "description",
        "runbook",
        "tags",
        "version",
        "alertContext",
    ];
    assert_eq!(keys, expected);
    // Every field but the tag list and the context is a string.
    for k in expected.into_iter().filter(|k| !matches!(*k, "tags" | "alertContext")) {
        assert!(body[k].is_string(), "{k}");
    }
    assert!(body["tags"].as_array().unwrap().iter().all(Value::is_string));
    assert!(body["alertContext"].is_object());
    let created = body["createdAt"].as_str().unwrap();
    assert_eq!(created.len(), 24);
    assert!(created.ends_with('Z') && &created[10..11] == "T" && &created[19..20] == ".");
    let id = body["alertId"].as_str().unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(body["link"], format!("https://acme.example.net/alerts/{id}"));
    assert_eq!(body["tags"], serde_json::json!(["Brute Force", "Identity"]));
    assert_eq!(body["type"], "RULE");
    assert_eq!(body["version"].as_str().unwrap().len(), 32);
}

#[test]
fn routing_by_output_ids_severity_and_log_type() {
    let dests = [
        destination(
            "high-only",
            "http://127.0.0.1:9/x",
            "      severities: [high, CRITICAL]\n",
        ),
        destination(
            "okta-only",
            "http://127.0.0.1:9/x",
            "      log_types: [Okta.SystemLog]\n",
        ),
        destination(
            "soc-pager",
            "http://127.0.0.1:9/x",
            "      id: 1f0e5e0c-3c2a-4b8e-9a57-1c0f1c9a7b10\n      severities: [INFO]\n",
        ),
        destination("off", "http://127.0.0.1:9/x", "      enabled: false\n"),
        destination(
            "no-correlation",
            "http://127.0.0.1:9/x",
            "      alert_types: [RULE]\n      severities: [CRITICAL]\n",
        ),
    ]
    .concat();
    let dir = repo(&dests);
    let mut c = detect(dir.path());
    c.args([
        "run",
        ".",
        "--deliver",
        "--dry-run",
        "--alerts-out",
        "a.jsonl",
        "--events",
    ])
    .arg(events("week.jsonl"));
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let routes: Vec<String> = err
        .lines()
        .filter(|l| l.contains(" -> "))
        .map(|l| l.split_once(' ').unwrap().1.to_owned())
        .collect();
    assert_eq!(
        routes,
        [
            // OutputIds ignore the filters of soc-pager (INFO only).
            "Fixture.Root.Login HIGH RULE -> soc-pager (OutputIds)",
            "Fixture.Root.Login.Critical CRITICAL RULE -> high-only, no-correlation (filters)",
            "Fixture.Root.Login HIGH RULE -> soc-pager (OutputIds)",
            "Fixture.Root.Login.Critical CRITICAL RULE -> high-only, no-correlation (filters)",
            "Fixture.Root.Login.Critical CRITICAL RULE -> high-only, no-correlation (filters)",
            "Fixture.Root.Login HIGH RULE -> soc-pager (OutputIds)",
            "Fixture.Root.Login.Critical CRITICAL RULE -> high-only, no-correlation (filters)",
            "Fixture.Login.BruteForce MEDIUM RULE -> okta-only (filters)",
            "Fixture.Login.BruteForce HIGH RULE -> high-only, okta-only (filters)",
            "Fixture.Key.Then.Root.Login CRITICAL CORRELATION_RULE -> high-only (filters)",
        ],
        "{err}"
    );
    assert!(out.is_empty());
    assert!(!dir.path().join(".detect").exists(), "a dry run writes no log");
}

#[test]
fn permanent_failure_exits_3_and_resend_succeeds_after_recovery() {
    let rx = Receiver::start(|_| Reply::Status(500, "down"));
    let dir = repo(&destination("soc", &rx.url("/hook"), "      max_retries: 2\n"));
    let (code, _, err) = deliver_brute_force(dir.path(), &[], &["--alerts-out", "a.jsonl"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("failed after 3 attempts: HTTP 500"), "{err}");
    assert_eq!(rx.requests().len(), 6);
    let records = log_records(dir.path());
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["status"] == "FAILED"));
    assert_eq!(records[0]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(records[0]["responseBody"], "down");
    // `alerts log` lists them; `--failed --format json` is the records.
    let (code, out, _) = run_in(dir.path(), ["alerts", "log", "--failed", "--format", "json"]);
    assert_eq!(code, 0);
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 2);
    // The receiver recovers; resend sends both, once.
    rx.healthy.store(true, Ordering::SeqCst);
    let (code, _, err) = run_in(dir.path(), ["alerts", "resend"]);
    assert_eq!(code, 0, "{err}");
    let records = log_records(dir.path());
    assert_eq!(records.len(), 4);
    assert_eq!(records[2]["kind"], "resend");
    assert_eq!(records[2]["status"], "DELIVERED");
    let failed_ids: Vec<&Value> = records[..2].iter().map(|r| &r["deliveryId"]).collect();
    assert!(failed_ids.contains(&&records[2]["resendOf"]));
    assert_eq!(rx.acknowledged().len(), 2);
    // Nothing left to resend.
    let (code, out, _) = run_in(dir.path(), ["alerts", "resend"]);
    assert_eq!((code, out.trim()), (0, "nothing to resend"));
    let (_, out, _) = run_in(dir.path(), ["alerts", "log"]);
    assert_eq!(out.lines().count(), 4);
    assert!(out.lines().next().unwrap().contains("DELIVERED"), "{out}");
}

#[test]
fn kill_during_delivery_then_resend_loses_nothing_and_sends_nothing_twice() {
    // The third request stalls: the process is killed while waiting.
    let rx = Receiver::start(|n| if n == 2 { Reply::Stall } else { Reply::Status(200, "ok") });
    let dir = repo(&destination(
        "soc-pager",
        &rx.url("/hook"),
        "      timeout_seconds: 60\n",
    ));
    let bin = assert_cmd::cargo::cargo_bin("detect");
    let mut child = std::process::Command::new(bin)
        .current_dir(dir.path())
        .args(["run", ".", "--deliver", "--alerts-out", "a.jsonl", "--events"])
        .arg(events("week.jsonl"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rx.requests().len() < 3 {
        assert!(Instant::now() < deadline, "the receiver never got the third request");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(rx.acknowledged().len(), 2);
    rx.healthy.store(true, Ordering::SeqCst);
    let (_, out, _) = run_in(dir.path(), ["alerts", "log"]);
    assert_eq!(out.matches("INTERRUPTED").count(), 8, "{out}");
    let (code, _, err) = run_in(dir.path(), ["alerts", "resend"]);
    assert_eq!(code, 0, "{err}");
    let mut acked = rx.acknowledged();
    let mut expected = alert_ids(&expected_alerts());
    acked.sort();
    expected.sort();
    assert_eq!(acked, expected, "every alert acknowledged exactly once");
    let records = log_records(dir.path());
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r["status"] == "DELIVERED"));
}

#[test]
fn timeouts_redirects_and_retry_after() {
    let rx = Receiver::start(|n| match n {
        0 => Reply::Stall,
        1 => Reply::WithHeader(302, "", "Location: http://127.0.0.1:9/elsewhere"),
        2 => Reply::WithHeader(429, "slow down", "Retry-After: 1"),
        _ => Reply::Status(200, "ok"),
    });
    let dir = repo(&destination(
        "soc",
        &rx.url("/hook"),
        "      timeout_seconds: 1\n      max_retries: 3\n",
    ));
    let started = Instant::now();
    let (code, _, err) = deliver_brute_force(dir.path(), &[], &["--alerts-out", "a.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "time-out and Retry-After waited"
    );
    let records = log_records(dir.path());
    let a = records[0]["attempts"].as_array().unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a[0]["error"], "timed out after 1s");
    assert_eq!(a[0]["httpStatus"], Value::Null);
    assert_eq!(a[1]["httpStatus"], 302);
    assert_eq!(a[1]["error"], "HTTP 302 (redirects are not followed)");
    assert_eq!(a[2]["httpStatus"], 429);
    assert_eq!(a[3]["httpStatus"], 200);
    assert_eq!(rx.requests().len(), 5, "the redirect was not followed");
}

#[test]
fn alerts_test_manual_dispatch_and_configuration_errors() {
    let rx = Receiver::start(|_| Reply::Status(200, "ok"));
    let dests = [
        destination(
            "strict",
            &rx.url("/t"),
            "      severities: [CRITICAL]\n      alert_types: [SYSTEM_ERROR]\n      enabled: false\n",
        ),
        destination("other", &rx.url("/o"), "      severities: [LOW]\n"),
        destination(
            "manual",
            &rx.url("/m"),
            "      severities: [LOW]\n      allow_manual_dispatch: true\n",
        ),
        destination("needs-env", "${DETECT_TEST_UNSET_VARIABLE}", ""),
    ]
    .concat();
    let dir = repo(&dests);
    // `alerts test` ignores filters and `enabled`.
    let (code, out, err) = run_in(dir.path(), ["alerts", "test", "strict"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("delivered to `strict`"), "{out}");
    let body = rx.requests()[0].json();
    assert_eq!(body["id"], "detect.TestAlert");
    assert_eq!(
        body["alertContext"],
        serde_json::json!({"test": true, "destination": "strict"})
    );
    let records = log_records(dir.path());
    assert_eq!(records[0]["kind"], "test");
    let test_alert = records[0]["alertId"].as_str().unwrap().to_owned();
    // Sending it where it never went is a manual dispatch.
    let (code, _, err) = run_in(
        dir.path(),
        ["alerts", "resend", "--alert-id", &test_alert, "--destination", "other"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("allow_manual_dispatch"), "{err}");
    let (code, _, err) = run_in(
        dir.path(),
        ["alerts", "resend", "--alert-id", &test_alert, "--destination", "manual"],
    );
    assert_eq!(code, 0, "{err}");
    let records = log_records(dir.path());
    assert_eq!(records[1]["kind"], "manual");
    assert_eq!(records[1]["destination"], "manual");
    // Unknown destination, missing variable: exit 2, nothing sent.
    let before = rx.requests().len();
    let mut c = detect(dir.path());
    c.args(["alerts", "test", "nope"]);
    assert_eq!(run(c).0, 2);
    let (code, _, err) = run_in(dir.path(), ["alerts", "test", "needs-env"]);
    assert_eq!(code, 2);
    assert!(err.contains("DETECT_TEST_UNSET_VARIABLE"), "{err}");
    assert_eq!(rx.requests().len(), before);
    // `alerts deliver FILE` routes with the repository's metadata.
    let alerts = dir.path().join("alerts.jsonl");
    std::fs::write(&alerts, expected_alerts()).unwrap();
    let (code, out, err) = run_in(dir.path(), ["alerts", "deliver", "alerts.jsonl", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Fixture.Root.Login HIGH RULE -> no destination (OutputIds)"),
        "{out}"
    );
    assert!(
        err.contains("warning[unmatched-output-id]: `Fixture.Root.Login` lists OutputIds `soc-pager`, which matches no enabled destination"),
        "{err}"
    );
}

#[test]
fn bad_destination_settings_are_configuration_errors() {
    for (extra, message) in [
        ("      severities: [URGENT]\n", "unknown severity `URGENT`"),
        ("      max_retries: 11\n", "between 0 and 10"),
        ("      alert_types: [RULE, NOPE]\n", "unknown alert type `NOPE`"),
    ] {
        let dir = repo(&destination("soc", "http://127.0.0.1:9/", extra));
        let (code, _, err) = run_in(dir.path(), ["alerts", "log"]);
        assert_eq!(code, 2, "{extra}");
        assert!(err.contains(message), "{err}");
    }
    let dir = repo(&destination("soc", "ftp://127.0.0.1/", ""));
    let mut c = detect(dir.path());
    c.args(["alerts", "log"]);
    assert_eq!(run(c).0, 2);
    let dir = repo(&destination("soc", "http://127.0.0.1:9/", "      retries: 3\n"));
    let (code, _, err) = run_on_events(dir.path(), &["run", ".", "--events"], "week.jsonl");
    assert_eq!(code, 0);
    assert!(
        err.contains("warning[unknown-setting]: unknown key `retries` in a destination"),
        "{err}"
    );
}

#[test]
fn state_file_carries_dedup_windows_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(events("week.jsonl"))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    // The first part ends after the 09:15 root login; the 09:40 one falls
    // in the window the 09:10 login opened.
    let (first, second) = (tmp.path().join("first.jsonl"), tmp.path().join("second.jsonl"));
    std::fs::write(&first, lines[..3].concat()).unwrap();
    std::fs::write(&second, lines[3..].concat()).unwrap();
    let root_logins = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|a| a["id"] == "Fixture.Root.Login")
            .map(|a| a["createdAt"].as_str().unwrap().to_owned())
            .collect()
    };
    let run_part = |input: &Path, state: Option<&Path>| {
        let mut c = detect(&fixture("run"));
        c.args(["run", "repo", "--events"]).arg(input);
        if let Some(s) = state {
            c.arg("--state").arg(s);
        }
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{err}");
        root_logins(&out)
    };
    let state = tmp.path().join("state.json");
    let mut with_state = run_part(&first, Some(&state));
    assert!(state.is_file(), "the state is saved");
    with_state.extend(run_part(&second, Some(&state)));
    assert_eq!(
        with_state,
        run_part(&events("week.jsonl"), None),
        "two runs with a state file alert as one run over everything"
    );
    // Without the state, the second run opens a new window at 09:40.
    assert_eq!(run_part(&second, None), ["2024-06-03T09:40:00.000Z"]);
}

/// The `alertId` of each line of alerts (JSON Lines), in order.
fn alert_ids(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("test receiver or fixture")["alertId"]
                .as_str()
                .expect("test receiver or fixture")
                .to_owned()
        })
        .collect()
}

/// The alert IDs of the fixture week, sorted.
fn expected_alert_ids() -> Vec<String> {
    let mut ids = alert_ids(&expected_alerts());
    ids.sort();
    ids
}

#[test]
fn failed_delivery_set_up_records_no_window_in_the_state() {
    let rx = Receiver::start(|_| Reply::Status(200, "ok"));
    let dir = repo(&destination(
        "soc-pager",
        &rx.url("/hook"),
        "      headers:\n        Authorization: \"Bearer ${DETECT_TEST_STATE_TOKEN}\"\n",
    ));
    let state = dir.path().join("state.json");
    let deliver = |token: Option<&str>| {
        let mut c = detect(dir.path());
        c.env_remove("DETECT_TEST_STATE_TOKEN");
        if let Some(t) = token {
            c.env("DETECT_TEST_STATE_TOKEN", t);
        }
        c.args(["run", ".", "--deliver", "--alerts-out", "a.jsonl", "--state"])
            .arg(&state)
            .arg("--events")
            .arg(events("week.jsonl"));
        run(c)
    };
    // The header variable is unset: a configuration error before anything
    // is sent or recorded.
    let (code, _, err) = deliver(None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("DETECT_TEST_STATE_TOKEN"), "{err}");
    assert!(err.contains(" · 10 alerts ("), "the summary is printed first: {err}");
    assert!(rx.requests().is_empty());
    assert!(!state.exists(), "no window is recorded");
    // A dry run sends nothing, so it records nothing either.
    let mut c = detect(dir.path());
    c.env("DETECT_TEST_STATE_TOKEN", "t0ken")
        .args(["run", ".", "--deliver", "--dry-run", "--state"])
        .arg(&state)
        .arg("--events")
        .arg(events("week.jsonl"));
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("note: --dry-run: the state file was not updated"), "{err}");
    assert!(!state.exists());
    // Fixed, the same run delivers every alert of the week, once.
    let (code, _, err) = deliver(Some("t0ken"));
    assert_eq!(code, 0, "{err}");
    let mut acked = rx.acknowledged();
    acked.sort();
    assert_eq!(acked, expected_alert_ids(), "{err}");
    assert!(state.is_file());
    // And a third run finds every window in the state: nothing new.
    let (code, _, err) = deliver(Some("t0ken"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(rx.requests().len(), 10);
}

#[test]
fn concurrent_runs_on_one_delivery_log_deliver_each_alert_once() {
    let rx = Receiver::start(|_| Reply::Slow(30, 200, "ok"));
    let dir = repo(&destination("soc-pager", &rx.url("/hook"), ""));
    two_at_once(dir.path(), |i, c| {
        c.args(["run", ".", "--deliver", "--quiet", "--alerts-out"])
            .arg(format!("a{i}.jsonl"))
            .arg("--state")
            .arg("state.json")
            .arg("--events")
            .arg(events("week.jsonl"));
    });
    let mut acked = rx.acknowledged();
    acked.sort();
    assert_eq!(acked, expected_alert_ids(), "each alert acknowledged exactly once");
    let records = log_records(dir.path());
    assert_eq!(records.len(), 10);
}

#[test]
fn concurrent_resends_send_each_failed_alert_once() {
    let up = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&up);
    let rx = Receiver::start(move |_| {
        if flag.load(Ordering::SeqCst) {
            Reply::Slow(30, 200, "ok")
        } else {
            Reply::Status(500, "down")
        }
    });
    let dir = repo(&destination("soc-pager", &rx.url("/hook"), "      max_retries: 0\n"));
    let (code, _, err) = run_on_events(
        dir.path(),
        &["run", ".", "--deliver", "--alerts-out", "a.jsonl", "--events"],
        "week.jsonl",
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(rx.requests().len(), 10);
    up.store(true, Ordering::SeqCst);
    two_at_once(dir.path(), |_, c| {
        c.args(["alerts", "resend"]);
    });
    let mut acked = rx.acknowledged();
    acked.sort();
    assert_eq!(acked, expected_alert_ids(), "each alert re-sent exactly once");
    assert_eq!(log_records(dir.path()).len(), 20);
}

#[test]
fn a_torn_last_line_in_the_delivery_log_does_not_swallow_the_next_record() {
    let rx = Receiver::start(|_| Reply::Status(200, "ok"));
    let dir = repo(&destination("soc-pager", &rx.url("/hook"), ""));
    let log = dir.path().join(".detect/deliveries.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    // What a crash in the middle of an append leaves behind.
    std::fs::write(&log, "{\"deliveryId\":\"cut-short\",\"kind\":\"al").unwrap();
    let deliver = || {
        let mut c = detect(dir.path());
        c.args(["run", ".", "--deliver", "--alerts-out", "a.jsonl", "--events"])
            .arg(events("week.jsonl"));
        run(c)
    };
    let (code, _, err) = deliver();
    assert_eq!(code, 0, "{err}");
    assert_eq!(rx.requests().len(), 10);
    let (code, _, err) = deliver();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("10 deliveries skipped: already delivered"), "{err}");
    assert_eq!(rx.requests().len(), 10, "nothing is sent again");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.starts_with("{\"deliveryId\":\"cut-short\",\"kind\":\"al\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 11);
}

#[test]
fn secrets_echoed_by_a_receiver_are_scrubbed_and_replies_printed_safely() {
    // The first alert is refused, the second acknowledged; both replies
    // echo the secret header and the URL.
    let rx = Receiver::start(|n| Reply::Echo(if n == 0 { 500 } else { 200 }));
    let url = rx.url("/hook/abcdefgh-path-secret?token=q-s3cret-value&team=soc");
    let dir = repo(&destination(
        "soc",
        &url,
        "      max_retries: 0\n      headers:\n        X-Webhook-Secret: \"${DETECT_TEST_ECHO_SECRET}\"\n",
    ));
    let (code, out, err) = deliver_brute_force(
        dir.path(),
        &[("DETECT_TEST_ECHO_SECRET", "hdr-s3cret-42")],
        &["--alerts-out", "a.jsonl"],
    );
    assert_eq!(code, 3, "{err}");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("x-webhook-secret"), Some("hdr-s3cret-42"));
    let log = std::fs::read_to_string(dir.path().join(".detect/deliveries.jsonl")).unwrap();
    let journal = std::fs::read_to_string(dir.path().join(".detect/deliveries.pending.jsonl")).unwrap();
    for text in [&log, &journal, &out, &err] {
        for secret in ["hdr-s3cret-42", "q-s3cret-value", "abcdefgh-path-secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    // What is kept is the reply with the secrets replaced: the header, the
    // long path segment and every query value (`soc` too; control
    // characters are JSON-escaped in the log).
    let records = log_records(dir.path());
    assert_eq!(records[1]["status"], "DELIVERED");
    let body = records[1]["responseBody"].as_str().unwrap();
    assert!(body.contains("got *** at /hook/***?token=***&team=***"), "{body}");
    // The refused reply is shown with the error, its escapes made visible.
    assert!(
        err.contains("failed after 1 attempt: HTTP 500 (reply: \\x1b[2J\\x1b[31mgot *** at /hook/***?token=***&team=***\\x1b[0m\\r\\nbye\\u{202e})"),
        "{err}"
    );
    assert!(!err.contains('\x1b') && !err.contains('\u{202e}'), "{err:?}");
    // `alerts log --format json` shows the same records as JSON, with no
    // raw character a terminal would act on.
    let (code, out, err) = run_in(dir.path(), ["alerts", "log", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\x1b') && !out.contains('\u{202e}'), "{out:?}");
    let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0]["responseBody"].as_str().unwrap().ends_with("bye\u{202e}"));
}

#[test]
fn summary_counts_a_correlation_match_once_however_many_runs_find_it() {
    // With a 180-minute lookback the runs at 10:00, 11:00 and 12:00 all
    // see the key (09:00) followed by the root login (09:10) in account
    // 111: three signals, one match, one alert.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("run/repo"), dir.path());
    let rule = dir.path().join("correlation_rules/key_then_root.yml");
    let text = std::fs::read_to_string(&rule).unwrap();
    assert!(text.contains("LookbackWindowMinutes: 90"));
    std::fs::write(
        &rule,
        text.replace("LookbackWindowMinutes: 90", "LookbackWindowMinutes: 180"),
    )
    .unwrap();
    let signals = dir.path().join("signals.jsonl");
    let mut c = detect(dir.path());
    c.args(["run", ".", "--signals-out"])
        .arg(&signals)
        .arg("--events")
        .arg(events("week.jsonl"));
    let (code, _, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let found = std::fs::read_to_string(&signals)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"ruleId\":\"Fixture.Key.Then.Root.Login\""))
        .count();
    assert_eq!(found, 3);
    assert!(
        err.contains("  Fixture.Key.Then.Root.Login: 1 match, 1 alert\n"),
        "{err}"
    );
    assert!(err.contains(" · 25 signals · 10 alerts ("), "{err}");
}

#[test]
fn filter_matches_values_a_derived_detection_inherits() {
    // The derived detection writes no Severity: `High` comes from its base,
    // and `--filter Severity=High` selects it like `test` and `validate` do.
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let rule = |id: &str, severity: &str| {
        format!(
            "AnalysisType: rule\nRuleID: {id}\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: {severity}\n\
             Detection:\n  - KeyPath: eventName\n    Condition: Equals\n    Value: ConsoleLogin\n"
        )
    };
    std::fs::write(rules.join("base.yml"), rule("Inherit.Base", "High")).unwrap();
    std::fs::write(rules.join("low.yml"), rule("Inherit.Low", "Low")).unwrap();
    std::fs::write(
        rules.join("derived.yml"),
        "AnalysisType: rule\nRuleID: Inherit.Derived\nBaseDetection: Inherit.Base\nDisplayName: Derived\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("events.jsonl"),
        "{\"p_log_type\": \"AWS.CloudTrail\", \"p_event_time\": \"2024-06-03T09:10:00Z\", \"eventName\": \"ConsoleLogin\"}\n",
    )
    .unwrap();
    let (code, out, err) = run_in(
        tmp.path(),
        ["run", ".", "--filter", "Severity=High", "--events", "events.jsonl"],
    );
    assert_eq!(code, 0, "{err}");
    let alerts: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut ids: Vec<&str> = alerts.iter().map(|a| a["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["Inherit.Base", "Inherit.Derived"], "{out}");
    let derived = alerts.iter().find(|a| a["id"] == "Inherit.Derived").unwrap();
    assert_eq!(derived["severity"], "HIGH");
}
