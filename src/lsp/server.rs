//! The message loop: initialize, then requests and notifications until
//! `shutdown` and `exit`. Nothing but protocol messages goes to stdout;
//! `-v` logs to stderr.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::Sender;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, CompletionResponse, DidChangeWatchedFilesRegistrationOptions,
    FileChangeType, FileSystemWatcher, GlobPattern, GotoDefinitionResponse, Hover, HoverContents,
    HoverProviderCapability, InitializeParams, MarkupContent, MarkupKind, MessageType, OneOf, Position,
    PublishDiagnosticsParams, Registration, RegistrationParams, SaveOptions, ServerCapabilities, ShowMessageParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};
use serde::de::DeserializeOwned;

use crate::diagnostic::Diagnostic;
use crate::lsp::documents::Documents;
use crate::lsp::workspace::{self, Workspace};
use crate::lsp::{code_action, completion, cursor, definition, diagnostics, hover, position, transport, unit_tests};
use crate::source::FileId;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Logs a line to stderr under `-v`.
fn log(msg: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        let _ = writeln!(std::io::stderr(), "detect lsp: {}", crate::text::escape_control(msg));
    }
}

/// Serves the protocol on stdin/stdout; returns the exit code (0 after
/// `shutdown` then `exit`, 1 when the client left without `shutdown`).
pub fn serve(verbose: bool) -> u8 {
    VERBOSE.store(verbose, Ordering::Relaxed);
    let io = transport::stdio(log);
    let conn = Connection {
        sender: io.sender.clone(),
        receiver: io.receiver.clone(),
    };
    let code = match run(&conn) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "detect lsp: {}", crate::text::escape_control(&e));
            1
        }
    };
    drop(conn);
    if let Err(e) = io.join() {
        let _ = writeln!(std::io::stderr(), "detect lsp: cannot write to stdout: {e}");
        return 1;
    }
    code
}

/// What the server announces.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                include_text: Some(false),
            })),
            ..TextDocumentSyncOptions::default()
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".to_owned(), " ".to_owned(), "-".to_owned()]),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

fn run(conn: &Connection) -> Result<u8, String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let params = conn.initialize(caps).map_err(|e| format!("initialize failed: {e}"))?;
    // The handshake is answered already: parameters that do not parse
    // leave the server without a workspace rather than end it.
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_else(|e| {
        log(&format!("bad initialize params: {e}"));
        InitializeParams::default()
    });
    let folder = folder(&params);
    let mut server = Server {
        folder: folder.clone(),
        sender: conn.sender.clone(),
        ws: None,
        docs: Documents::default(),
        tests: HashMap::new(),
        published: HashMap::new(),
        next_id: 0,
        shutdown: false,
    };
    let watch = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);
    if watch {
        server.register_watcher();
    }
    server.load();
    for msg in &conn.receiver {
        match msg {
            Message::Request(r) => server.request(r),
            Message::Notification(n) if n.method == note::Exit::METHOD => {
                return Ok(if server.shutdown { 0 } else { 1 });
            }
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
    }
    Ok(1)
}

/// The workspace folder: the first workspace folder, else the root URI,
/// else the root path.
#[expect(deprecated, reason = "root_uri and root_path are what older clients send")]
fn folder(params: &InitializeParams) -> Option<PathBuf> {
    params
        .workspace_folders
        .iter()
        .flatten()
        .map(|f| &f.uri)
        .chain(params.root_uri.as_ref())
        .find_map(|u| u.to_file_path().ok())
        .or_else(|| params.root_path.as_ref().map(PathBuf::from))
}

struct Server {
    /// The workspace folder, if the client named one.
    folder: Option<PathBuf>,
    sender: Sender<Message>,
    ws: Option<Workspace>,
    docs: Documents,
    /// Failing unit tests of the last save, by file.
    tests: HashMap<FileId, Vec<Diagnostic>>,
    /// What each file was last published with.
    published: HashMap<Url, Vec<lsp_types::Diagnostic>>,
    next_id: i32,
    shutdown: bool,
}

/// Whether a path is a settings file.
fn is_settings(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == crate::settings::FILE_NAME)
}

fn params<P: DeserializeOwned>(v: serde_json::Value) -> Result<P, String> {
    serde_json::from_value(v).map_err(|e| format!("bad params: {e}"))
}

impl Server {
    fn send(&self, m: Message) {
        let _ = self.sender.send(m);
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        if let Ok(p) = serde_json::to_value(params) {
            self.send(Message::Notification(Notification::new(method.to_owned(), p)));
        }
    }

    fn show_error(&self, message: &str) {
        log(message);
        self.notify(
            note::ShowMessage::METHOD,
            ShowMessageParams {
                typ: MessageType::ERROR,
                message: message.to_owned(),
            },
        );
    }

    fn register_watcher(&mut self) {
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![FileSystemWatcher {
                glob_pattern: GlobPattern::String("**/*.{yml,yaml}".to_owned()),
                kind: None,
            }],
        };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "detect-watched-files".to_owned(),
                method: note::DidChangeWatchedFiles::METHOD.to_owned(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        self.next_id += 1;
        if let Ok(p) = serde_json::to_value(params) {
            self.send(Message::Request(Request::new(
                RequestId::from(self.next_id),
                req::RegisterCapability::METHOD.to_owned(),
                p,
            )));
        }
    }

    /// Loads (or reloads) the workspace and publishes its diagnostics.
    fn load(&mut self) {
        let Some(folder) = self.folder.clone() else { return };
        // As `detect validate` run in the folder: a settings file there is
        // found first. The server is a process of its own.
        if let Err(e) = std::env::set_current_dir(&folder) {
            log(&format!("cannot enter {}: {e}", folder.display()));
        }
        let start = Instant::now();
        match Workspace::load(&folder) {
            Ok(ws) => {
                log(&format!(
                    "loaded {} files of {} in {} ms",
                    ws.sources.len(),
                    ws.root.display(),
                    start.elapsed().as_millis()
                ));
                // The editor's text wins over the disk's.
                self.ws = Some(ws);
                self.tests.clear();
                let open: Vec<(PathBuf, Vec<u8>)> = self
                    .docs
                    .iter()
                    .filter_map(|(uri, text)| Some((uri.to_file_path().ok()?, text.as_bytes().to_vec())))
                    .collect();
                if let Some(ws) = self.ws.as_mut() {
                    let mut any = false;
                    for (path, bytes) in open {
                        any |= ws.update(&path, Some(bytes)).is_some();
                    }
                    if any {
                        ws.recheck();
                    }
                }
                self.publish();
            }
            Err(e) => self.show_error(&format!("detect: cannot load the workspace: {e}")),
        }
    }

    /// Publishes the diagnostics of every file whose list changed (an
    /// empty list clears a file's).
    fn publish(&mut self) {
        let Some(ws) = &self.ws else { return };
        let start = Instant::now();
        let all = diagnostics::by_file(ws, ws.diagnostics.iter().chain(self.tests.values().flatten()));
        let now: HashMap<Url, Vec<lsp_types::Diagnostic>> = all
            .into_iter()
            .filter_map(|(f, d)| Some((diagnostics::uri(ws, f)?, d)))
            .collect();
        let mut sent = 0;
        for uri in self.published.keys().filter(|u| !now.contains_key(*u)) {
            sent += 1;
            self.notify(
                note::PublishDiagnostics::METHOD,
                PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics: Vec::new(),
                    version: None,
                },
            );
        }
        for (uri, d) in &now {
            if self.published.get(uri) != Some(d) {
                sent += 1;
                self.notify(
                    note::PublishDiagnostics::METHOD,
                    PublishDiagnosticsParams {
                        uri: uri.clone(),
                        diagnostics: d.clone(),
                        version: None,
                    },
                );
            }
        }
        self.published = now;
        log(&format!("published {sent} files in {} ms", start.elapsed().as_millis()));
    }

    /// Re-reads one file from `bytes` and re-checks; `None` for a path
    /// outside the workspace.
    fn update(&mut self, path: &Path, bytes: Option<Vec<u8>>) -> Option<FileId> {
        if is_settings(path) {
            // Read again whole, on save (settings change how every file loads).
            return None;
        }
        let start = Instant::now();
        let ws = self.ws.as_mut()?;
        let id = ws.update(path, bytes)?;
        self.tests.remove(&id);
        ws.recheck();
        log(&format!(
            "re-checked {} in {} ms",
            path.display(),
            start.elapsed().as_millis()
        ));
        self.publish();
        Some(id)
    }

    fn notification(&mut self, n: Notification) {
        if let Err(e) = self.try_notification(n) {
            log(&e);
        }
    }

    fn try_notification(&mut self, n: Notification) -> Result<(), String> {
        match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                self.docs.open(uri.clone(), p.text_document.text.clone());
                if let Ok(path) = uri.to_file_path() {
                    let same = self.ws.as_ref().and_then(|ws| {
                        let id = ws.file(&path)?;
                        Some(ws.source(id)?.text.as_deref() == Some(p.text_document.text.as_str()))
                    });
                    if same != Some(true) {
                        self.update(&path, Some(p.text_document.text.into_bytes()));
                    }
                }
            }
            note::DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                let text = self.docs.change(&uri, p.content_changes).map(str::to_owned);
                if let (Some(text), Ok(path)) = (text, uri.to_file_path()) {
                    self.update(&path, Some(text.into_bytes()));
                }
            }
            note::DidSaveTextDocument::METHOD => {
                let p: lsp_types::DidSaveTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                let Ok(path) = uri.to_file_path() else { return Ok(()) };
                if is_settings(&path) {
                    self.load();
                    return Ok(());
                }
                if let Some(text) = p.text {
                    self.docs.open(uri.clone(), text);
                }
                let bytes = match self.docs.get(&uri) {
                    Some(t) => Some(t.as_bytes().to_vec()),
                    None => workspace::read(&path),
                };
                if let Some(id) = self.update(&path, bytes) {
                    let start = Instant::now();
                    if let Some(ws) = &self.ws {
                        // The file's own tests, and those of the derived
                        // detections that inherit from it.
                        let files = unit_tests::affected(ws, id);
                        let mut failed = 0;
                        for f in &files {
                            let found = unit_tests::failures(ws, *f);
                            failed += found.len();
                            self.tests.insert(*f, found);
                        }
                        log(&format!(
                            "ran the tests of {} and {} derived detections in {} ms: {failed} failed",
                            path.display(),
                            files.len() - 1,
                            start.elapsed().as_millis(),
                        ));
                    }
                    self.publish();
                }
            }
            note::DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                self.docs.close(&uri);
                if let Ok(path) = uri.to_file_path() {
                    // The editor may have dropped unsaved changes: the disk wins.
                    let on_disk = workspace::read(&path);
                    let same = self.ws.as_ref().and_then(|ws| {
                        let id = ws.file(&path)?;
                        let text = ws.source(id)?.text.as_deref()?.as_bytes();
                        Some(on_disk.as_deref() == Some(text))
                    });
                    if same == Some(false) {
                        self.update(&path, on_disk);
                    }
                }
            }
            note::DidChangeWatchedFiles::METHOD => {
                let p: lsp_types::DidChangeWatchedFilesParams = params(n.params)?;
                if p.changes
                    .iter()
                    .any(|c| c.uri.to_file_path().is_ok_and(|p| is_settings(&p)))
                {
                    self.load();
                    return Ok(());
                }
                let Some(ws) = self.ws.as_mut() else { return Ok(()) };
                let mut changed = false;
                for c in p.changes {
                    if self.docs.get(&c.uri).is_some() {
                        continue; // The editor's text wins while it is open.
                    }
                    let Ok(path) = c.uri.to_file_path() else { continue };
                    let bytes = if c.typ == FileChangeType::DELETED {
                        None
                    } else {
                        workspace::read(&path)
                    };
                    if let Some(id) = ws.update(&path, bytes) {
                        self.tests.remove(&id);
                        changed = true;
                    }
                }
                if changed {
                    ws.recheck();
                    self.publish();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        let result = if self.shutdown {
            Err((ErrorCode::InvalidRequest, "the server is shutting down".to_owned()))
        } else {
            self.answer(r)
        };
        let response = match result {
            Ok(v) => Response::new_ok(id, v),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(Message::Response(response));
    }

    /// The text and file of a document, and a protocol position in it as
    /// (line, byte in the line, our position).
    fn locate(&self, uri: &Url, p: Position) -> Option<(String, Option<FileId>, usize, usize, crate::source::Pos)> {
        let path = uri.to_file_path().ok();
        let file = self.ws.as_ref().zip(path.as_ref()).and_then(|(ws, p)| ws.file(p));
        let text = match self.docs.get(uri) {
            Some(t) => t.to_owned(),
            None => {
                let ws = self.ws.as_ref()?;
                ws.source(file?)?.text.clone()?
            }
        };
        let line = position::line_of(&text, p.line).unwrap_or("");
        let byte = position::offset(line, Position { line: 0, ..p });
        let at = position::from_lsp(&text, p);
        Some((text, file, p.line as usize, byte, at))
    }

    fn answer(&mut self, r: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        let bad = |e: String| (ErrorCode::InvalidParams, e);
        let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| (ErrorCode::InternalError, e.to_string()));
        match r.method.as_str() {
            req::Shutdown::METHOD => {
                self.shutdown = true;
                Ok(serde_json::Value::Null)
            }
            req::Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(r.params).map_err(bad)?;
                let tdp = p.text_document_position;
                let Some((text, file, line, byte, _)) = self.locate(&tdp.text_document.uri, tdp.position) else {
                    return Ok(serde_json::Value::Null);
                };
                let c = cursor::at(&text, line, byte);
                let items = completion::complete(self.ws.as_ref(), file, &text, &c);
                json(serde_json::to_value(CompletionResponse::Array(items)))
            }
            req::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(r.params).map_err(bad)?;
                let tdp = p.text_document_position_params;
                let Some((text, file, line, byte, at)) = self.locate(&tdp.text_document.uri, tdp.position) else {
                    return Ok(serde_json::Value::Null);
                };
                match hover::hover(self.ws.as_ref(), file, &text, line, byte, at) {
                    Some(value) => json(serde_json::to_value(Hover {
                        contents: HoverContents::Markup(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value,
                        }),
                        range: None,
                    })),
                    None => Ok(serde_json::Value::Null),
                }
            }
            req::GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(r.params).map_err(bad)?;
                let tdp = p.text_document_position_params;
                let found = self
                    .locate(&tdp.text_document.uri, tdp.position)
                    .and_then(|(_, file, _, _, at)| {
                        let ws = self.ws.as_ref()?;
                        let t = definition::target(ws, file?, at)?;
                        definition::definition(ws, t.id())
                    });
                match found {
                    Some(l) => json(serde_json::to_value(GotoDefinitionResponse::Scalar(l))),
                    None => Ok(serde_json::Value::Null),
                }
            }
            req::References::METHOD => {
                let p: lsp_types::ReferenceParams = params(r.params).map_err(bad)?;
                let tdp = p.text_document_position;
                let found = self
                    .locate(&tdp.text_document.uri, tdp.position)
                    .and_then(|(_, file, _, _, at)| {
                        let ws = self.ws.as_ref()?;
                        let t = definition::target(ws, file?, at)?;
                        Some(definition::references(ws, t.id(), p.context.include_declaration))
                    });
                json(serde_json::to_value(found.unwrap_or_default()))
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(r.params).map_err(bad)?;
                let uri = p.text_document.uri;
                let found = self.ws.as_ref().and_then(|ws| {
                    let file = ws.file(&uri.to_file_path().ok()?)?;
                    Some(code_action::actions(ws, file, &uri, p.range))
                });
                json(serde_json::to_value(found.unwrap_or_default()))
            }
            m => Err((ErrorCode::MethodNotFound, format!("unknown method `{m}`"))),
        }
    }
}
