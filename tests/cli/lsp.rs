//! `detect lsp` driven as an editor drives it: JSON-RPC with
//! Content-Length framing over the child's stdio.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one answer may take before the test gives up (a hang, not
/// a speed check).
const PATIENCE: Duration = Duration::from_secs(120);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Client {
    fn start(dir: &Path) -> Client {
        // As `util::detect`, with a std command (its stdio is piped).
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("detect"));
        cmd.current_dir(dir).env_clear().env("NO_COLOR", "1");
        for v in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(v) {
                cmd.env(v, value);
            }
        }
        let mut child = cmd
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start detect lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                r.read_exact(&mut body).expect("a whole body");
                let v: Value = serde_json::from_slice(&body).expect("the server writes JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming: rx,
            next_id: 0,
        }
    }

    fn raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write");
        self.stdin.write_all(body).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn send(&mut self, v: &Value) {
        self.raw(v.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self) -> Value {
        self.incoming.recv_timeout(PATIENCE).expect("the server answers")
    }

    /// Sends a request and returns its whole response (`result` or `error`).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.next();
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }

    /// Waits for diagnostics of `uri` that satisfy `ok`.
    fn diagnostics(&mut self, uri: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        loop {
            let m = self.next();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                let d = m["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
                if ok(&d) {
                    return d;
                }
            }
        }
    }

    /// Reads until the latest diagnostics of every `(uri, ok)` pair
    /// satisfy `ok` (a publish of one file may come before another's);
    /// returns them in the order given.
    fn diagnostics_of(&mut self, want: &[(&str, &Wanted)]) -> Vec<Vec<Value>> {
        let mut latest: Vec<Option<Vec<Value>>> = vec![None; want.len()];
        loop {
            let done = want
                .iter()
                .zip(&latest)
                .all(|((_, ok), d)| d.as_deref().is_some_and(ok));
            if done {
                return latest.into_iter().map(Option::unwrap_or_default).collect();
            }
            let m = self.next();
            if m["method"] != "textDocument/publishDiagnostics" {
                continue;
            }
            for (i, (uri, _)) in want.iter().enumerate() {
                if m["params"]["uri"] == *uri {
                    latest[i] = Some(m["params"]["diagnostics"].as_array().cloned().unwrap_or_default());
                }
            }
        }
    }

    fn initialize(&mut self, root: &Path) {
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": url(root), "capabilities": {}}),
        );
        assert_eq!(r["capabilities"]["textDocumentSync"]["change"], 2, "{r}");
        self.notify("initialized", json!({}));
    }

    fn open(&mut self, path: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": url(path), "languageId": "yaml", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, path: &Path, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": url(path), "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    /// `shutdown`, `exit`, and the exit code.
    fn shut_down(mut self) -> Option<i32> {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// What a test waits for in a file's published diagnostics.
type Wanted = dyn Fn(&[Value]) -> bool;

const BASE: &str = "AnalysisType: rule
RuleID: Base.Rule
DisplayName: Base rule
Enabled: true
LogTypes:
  - AWS.CloudTrail
Severity: High
Detection:
  - Key: eventName
    Condition: Equals
    Value: ConsoleLogin
Tests:
  - Name: matches
    ExpectedResult: true
    Log:
      eventName: ConsoleLogin
      userIdentity:
        arn: x
";

const DERIVED: &str = "AnalysisType: rule
RuleID: Derived.Rule
BaseDetection: Base.Rule
Severity: Low
";

/// A rule with `Sevrity` (line 7) and a comment with a non-ASCII
/// character before it on the same line's predecessor.
const TYPO: &str = "AnalysisType: rule
RuleID: Typo.Rule
Enabled: true
# Règle: vérifie 😀
LogTypes:
  - AWS.CloudTrail
Sevrity: High
Detection:
  - Key: eventName
    Condition: Eq
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(dir.path().join(".panther_settings.yml"), "").expect("write");
    std::fs::write(rules.join("base.yml"), BASE).expect("write");
    std::fs::write(rules.join("derived.yml"), DERIVED).expect("write");
    dir
}

fn codes(d: &[Value]) -> Vec<String> {
    d.iter().map(|d| d["code"].as_str().unwrap_or("").to_owned()).collect()
}

#[test]
fn diagnostics_completion_definition_and_fix() {
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let typo = root.join("rules/typo.yml");
    let base = root.join("rules/base.yml");
    let mut c = Client::start(&root);
    c.initialize(&root);

    // A misspelt key: the diagnostic is on its line (0-based 6), with the
    // help `validate` prints.
    c.open(&typo, TYPO);
    let d = c.diagnostics(&url(&typo), |d| codes(d).contains(&"unknown-key".to_owned()));
    let unknown = d.iter().find(|d| d["code"] == "unknown-key").expect("unknown-key");
    assert_eq!(
        unknown["range"]["start"],
        json!({"line": 6, "character": 0}),
        "{unknown}"
    );
    assert_eq!(unknown["range"]["end"], json!({"line": 6, "character": 7}), "{unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap_or("")
            .contains("did you mean `Severity`?"),
        "{unknown}"
    );

    // Completion after `Condition: Eq` offers `Equals`.
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": url(&typo)}, "position": {"line": 9, "character": 17}}),
    );
    let labels: Vec<&str> = items
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert!(labels.contains(&"Equals"), "{labels:?}");

    // Completion of a base ID after `BaseDetection: `, and of the top-level
    // keys the file does not have yet (at the start of a top-level line).
    let derived = root.join("rules/derived.yml");
    let label_list = |items: &Value| -> Vec<String> {
        items
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["label"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": url(&derived)}, "position": {"line": 2, "character": 15}}),
    );
    let labels = label_list(&items);
    assert!(labels.contains(&"Base.Rule".to_owned()), "{labels:?}");
    assert!(!labels.contains(&"Derived.Rule".to_owned()), "{labels:?}");
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": url(&derived)}, "position": {"line": 3, "character": 0}}),
    );
    let labels = label_list(&items);
    assert!(labels.contains(&"DisplayName".to_owned()), "{labels:?}");
    assert!(!labels.contains(&"BaseDetection".to_owned()), "{labels:?}");

    // Go to the definition of `BaseDetection: Base.Rule` (line 2, in the
    // value), which is base.yml's `RuleID` value on line 1.
    let loc = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": url(&derived)}, "position": {"line": 2, "character": 18}}),
    );
    assert_eq!(loc["uri"], url(&base), "{loc}");
    assert_eq!(loc["range"]["start"]["line"], 1, "{loc}");
    assert_eq!(loc["range"]["start"]["character"], 8, "{loc}");

    // References of Base.Rule from its own RuleID: the derived file's base.
    let refs = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": url(&base)}, "position": {"line": 1, "character": 10},
               "context": {"includeDeclaration": false}}),
    );
    let refs = refs.as_array().cloned().unwrap_or_default();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0]["uri"], url(&derived));

    // Hover on the base reference shows its DisplayName and Severity.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": url(&derived)}, "position": {"line": 2, "character": 18}}),
    );
    let text = h["contents"]["value"].as_str().unwrap_or("");
    assert!(text.contains("Base rule") && text.contains("High"), "{h}");

    // The code action renames the key; applied, the diagnostic goes.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": url(&typo)},
               "range": {"start": {"line": 6, "character": 0}, "end": {"line": 6, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    let action = actions
        .as_array()
        .and_then(|a| a.iter().find(|a| a["kind"] == "quickfix"))
        .cloned()
        .expect("a quick fix");
    let edits = action["edit"]["changes"][url(&typo)]
        .as_array()
        .cloned()
        .expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], "Severity");
    let fixed = apply(TYPO, &edits[0]);
    assert!(fixed.contains("\nSeverity: High\n"), "{fixed}");
    c.change(&typo, 2, &fixed);
    c.diagnostics(&url(&typo), |d| !codes(d).contains(&"unknown-key".to_owned()));

    assert_eq!(c.shut_down(), Some(0));
}

/// Applies one LSP text edit to ASCII-positioned text (the edit is on an
/// ASCII line).
fn apply(text: &str, edit: &Value) -> String {
    let pos = |p: &Value| {
        let line = p["line"].as_u64().unwrap_or(0) as usize;
        let ch = p["character"].as_u64().unwrap_or(0) as usize;
        let start: usize = text.split('\n').take(line).map(|l| l.len() + 1).sum();
        start + ch
    };
    let (s, e) = (pos(&edit["range"]["start"]), pos(&edit["range"]["end"]));
    format!("{}{}{}", &text[..s], edit["newText"].as_str().unwrap_or(""), &text[e..])
}

#[test]
fn an_edit_publishes_the_other_files_it_affects_and_clears_them() {
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let other = root.join("rules/other.yml");
    std::fs::write(&other, BASE.replace("RuleID: Base.Rule", "RuleID: Other.Rule")).expect("write");
    let base = root.join("rules/base.yml");
    let derived = root.join("rules/derived.yml");
    let mut c = Client::start(&root);
    c.initialize(&root);
    c.open(&base, BASE);
    // base.yml takes other.yml's ID: the duplicate is reported on the
    // later file, other.yml, which was not edited; the derived file's
    // base is gone.
    c.change(&base, 2, &BASE.replace("RuleID: Base.Rule", "RuleID: Other.Rule"));
    let d = c.diagnostics(&url(&other), |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["duplicate-id"]);
    assert_eq!(d[0]["relatedInformation"][0]["location"]["uri"], url(&base), "{d:?}");
    // Undone: the other file's diagnostics are cleared.
    c.change(&base, 3, BASE);
    let mut cleared = std::collections::HashSet::new();
    while cleared.len() < 2 {
        let m = c.next();
        if m["method"] == "textDocument/publishDiagnostics" && m["params"]["diagnostics"] == json!([]) {
            cleared.insert(m["params"]["uri"].as_str().unwrap_or("").to_owned());
        }
    }
    assert!(
        cleared.contains(&url(&other)) && cleared.contains(&url(&derived)),
        "{cleared:?}"
    );
    assert_eq!(c.shut_down(), Some(0));
}

#[test]
fn failing_unit_test_is_shown_on_save_with_the_explanation() {
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    let base = root.join("rules/base.yml");
    let mut c = Client::start(&root);
    c.initialize(&root);
    let failing = BASE.replace("      eventName: ConsoleLogin\n", "      eventName: Other\n");
    std::fs::write(&base, &failing).expect("write");
    c.open(&base, &failing);
    c.notify("textDocument/didSave", json!({"textDocument": {"uri": url(&base)}}));
    let derived = root.join("rules/derived.yml");
    let failed = |d: &[Value]| codes(d).contains(&"test-failed".to_owned());
    let passed = |d: &[Value]| !codes(d).contains(&"test-failed".to_owned());
    let both = c.diagnostics_of(&[(&url(&base), &failed), (&url(&derived), &failed)]);
    let t = both[0]
        .iter()
        .find(|d| d["code"] == "test-failed")
        .expect("test-failed");
    // On the test item `- Name: matches` (0-based line 12).
    assert_eq!(t["range"]["start"]["line"], 12, "{t}");
    let msg = t["message"].as_str().unwrap_or("");
    assert!(msg.contains("test 'matches'") && msg.contains("eventName"), "{msg}");
    // The derived detection inherits that test: saving the base runs it
    // too, reported at its `BaseDetection` (0-based line 2).
    let t = both[1]
        .iter()
        .find(|d| d["code"] == "test-failed")
        .expect("test-failed on the derived file");
    assert_eq!(t["range"]["start"]["line"], 2, "{t}");
    // Saving the base fixed clears both.
    std::fs::write(&base, BASE).expect("write");
    c.change(&base, 2, BASE);
    c.notify("textDocument/didSave", json!({"textDocument": {"uri": url(&base)}}));
    c.diagnostics_of(&[(&url(&base), &passed), (&url(&derived), &passed)]);
    assert_eq!(c.shut_down(), Some(0));
}

#[test]
fn malformed_input_never_ends_the_server() {
    let dir = project();
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    std::fs::write(root.join("rules/latin1.yml"), b"AnalysisType: rule\nRuleID: caf\xe9\n").expect("write");
    let mut c = Client::start(&root);
    c.initialize(&root);
    // A file that is not UTF-8 gets a located diagnostic.
    let latin = root.join("rules/latin1.yml");
    let d = c.diagnostics(&url(&latin), |d| !d.is_empty());
    assert_eq!(codes(&d), vec!["yaml-syntax"]);
    assert_eq!(d[0]["range"]["start"], json!({"line": 1, "character": 11}));
    // A body that is not JSON, one that is not JSON-RPC.
    c.raw(b"{not json");
    c.raw(b"[1, 2, 3]");
    // An unknown method, bad params, unknown and foreign URIs.
    let r = c.call("textDocument/nope", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = c.call("textDocument/hover", json!({"nope": 1}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    for uri in [
        "file:///nowhere/x.yml",
        "untitled:Untitled-1",
        "http://example.invalid/a.yml",
    ] {
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": "AnalysisType: [\n"}}),
        );
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 99, "character": 99}, "end": {"line": 0, "character": 0}}, "text": "é"}]}),
        );
        let h = c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4000000000u32, "character": 4000000000u32}}),
        );
        assert!(h.is_null() || h.is_object());
        c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        );
        c.request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        );
    }
    // A file outside the workspace.
    let outside = tempfile::tempdir().expect("tempdir");
    let other = outside.path().join("x.yml");
    c.open(&other, "AnalysisType: rule\n");
    // An incremental edit with positions past the end, in a workspace file.
    let base = root.join("rules/base.yml");
    c.open(&base, BASE);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": url(&base), "version": 2},
               "contentChanges": [{"range": {"start": {"line": 500, "character": 3}, "end": {"line": 900, "character": 0}}, "text": "\u{0}\u{ffff}:"}]}),
    );
    // Still answering.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": url(&base)}, "position": {"line": 6, "character": 2}}),
    );
    assert!(
        h["contents"]["value"].as_str().unwrap_or("").contains("Severity"),
        "{h}"
    );
    assert_eq!(c.shut_down(), Some(0));
}

/// A generated repository of `n` Simple Detections with tests.
fn generate(root: &Path, n: usize) {
    let rules = root.join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(root.join(".panther_settings.yml"), "").expect("write");
    for i in 0..n {
        let text = format!(
            "AnalysisType: rule
RuleID: Gen.Rule.{i}
DisplayName: Generated rule {i}
Enabled: true
LogTypes:
  - AWS.CloudTrail
Severity: Medium
Detection:
  - Key: eventName
    Condition: Equals
    Value: Event{i}
  - Any:
      - KeyPath: userIdentity.type
        Condition: Equals
        Value: Root
      - Key: sourceIPAddress
        Condition: IsIPAddressPublic
AlertTitle: 'Event {{eventName}} by {{userIdentity.arn}}'
Tests:
  - Name: matches
    ExpectedResult: true
    Log:
      eventName: Event{i}
      sourceIPAddress: 8.8.8.8
      userIdentity:
        type: Root
        arn: arn:aws:iam::1:root
  - Name: other event
    ExpectedResult: false
    Log:
      eventName: Other
"
        );
        std::fs::write(rules.join(format!("gen_{i:04}.yml")), text).expect("write");
    }
}

#[test]
fn a_thousand_rule_workspace_stays_responsive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    generate(&root, 1000);
    let target = root.join("rules/gen_0500.yml");
    let text = std::fs::read_to_string(&target).expect("read");
    let mut c = Client::start(&root);
    let start = Instant::now();
    c.initialize(&root);
    c.open(&target, &text);
    // Answered once the workspace is loaded.
    c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": url(&target)}, "position": {"line": 0, "character": 1}}),
    );
    let loaded = start.elapsed();
    let mut latencies = Vec::new();
    for v in 0..10 {
        let (edited, expect_typo) = if v % 2 == 0 {
            (text.replace("Severity: Medium", "Sevrity: Medium"), true)
        } else {
            (text.clone(), false)
        };
        let t = Instant::now();
        c.change(&target, v + 2, &edited);
        c.diagnostics(&url(&target), |d| {
            codes(d).contains(&"unknown-key".to_owned()) == expect_typo
        });
        latencies.push(t.elapsed());
    }
    // Completion of a base ID sees all 1,000 rules.
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": url(&target)}, "position": {"line": 9, "character": 17}}),
    );
    assert!(items.as_array().is_some_and(|a| !a.is_empty()));
    latencies.sort();
    eprintln!(
        "lsp, 1,000 rules: initialize+load {} ms; edit -> publishDiagnostics median {} ms, max {} ms (debug build)",
        loaded.as_millis(),
        latencies[latencies.len() / 2].as_millis(),
        latencies.last().map_or(0, Duration::as_millis)
    );
    assert_eq!(c.shut_down(), Some(0));
}
