//! A pool of long-lived Python worker processes, driven over pipes.
//!
//! Each worker is owned by one thread of the pool for its whole life
//! (spawned there, killed there), takes detections from a shared queue and
//! runs their tests in file order, so module state persists across one
//! detection's tests as under PAT. A test that runs past the timeout, or a
//! worker that dies, fails only the test it was running: the worker is
//! replaced and the detection's remaining tests go on in the new one.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, atomic::AtomicUsize, atomic::Ordering};
use std::time::{Duration, Instant};

use super::protocol::{
    DataModelSpec, DetectionJob, FunctionResult, Hello, LoadError, Reply, detection_request, setup_request,
};

/// The worker script, shipped inside the binary.
const WORKER: &str = include_str!("worker.py");

/// How long a worker may take to start and import panther-core.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How much of a worker's standard error is kept to explain a crash.
const STDERR_TAIL: usize = 4096;

/// How the pool is set up.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The interpreter.
    pub python: PathBuf,
    /// How many workers at most.
    pub workers: usize,
    /// The limit for one test (and for loading one detection).
    pub timeout: Duration,
    /// Global helpers: `(GlobalID, .py file)`.
    pub globals: Vec<(String, PathBuf)>,
    /// Enabled data models.
    pub data_models: Vec<DataModelSpec>,
    /// `--available-destination` names.
    pub destinations: Vec<String>,
    /// The working directory of the workers.
    pub cwd: PathBuf,
    /// detect's cache folder (parsed JSONPaths), when there is one.
    pub cache_dir: Option<PathBuf>,
}

/// Why the pool cannot start.
#[derive(Debug, Clone, PartialEq)]
pub enum StartError {
    /// The interpreter cannot be started.
    NoPython(String),
    /// It starts, but panther-core cannot be imported.
    NoPantherCore {
        /// What the interpreter said.
        error: String,
    },
    /// Anything else (the worker died, a temporary folder failed).
    Other(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::NoPython(e) => write!(f, "no Python interpreter: {e}"),
            StartError::NoPantherCore { error } => write!(f, "panther-core is not installed ({error})"),
            StartError::Other(e) => f.write_str(e),
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// PAT's verdict.
    pub passed: bool,
    /// `rule()`/`policy()`'s boolean return.
    pub output: Option<bool>,
    /// Function results in PAT's order (the matcher first).
    pub functions: Vec<FunctionResult>,
    /// What the test printed.
    pub stdout: String,
    /// Exceptions that failed it without a function line of their own.
    pub hidden: Vec<String>,
    /// Why the test could not run or finish.
    pub error: Option<String>,
    /// How long it took, seen from `detect`.
    pub duration: Duration,
}

impl TestResult {
    fn failed(reason: String, duration: Duration) -> TestResult {
        TestResult {
            passed: false,
            output: None,
            functions: Vec::new(),
            stdout: String::new(),
            hidden: Vec::new(),
            error: Some(reason),
            duration,
        }
    }
}

/// What running one detection gave.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectionOutcome {
    /// The module loaded; one result per test, in job order.
    Tests(Vec<TestResult>),
    /// The module failed to load (PAT's "invalid").
    LoadFailed(LoadError),
}

/// A started pool.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    temp: TempDir,
    /// Workers started and set up, waiting for the run.
    idle: Mutex<Vec<Worker>>,
    /// What the interpreter said about itself.
    pub hello: Hello,
    /// Data models that failed to load.
    pub setup_errors: Vec<LoadError>,
}

impl Pool {
    /// Starts one worker to check the interpreter and panther-core, and
    /// lays out the global helpers.
    ///
    /// # Errors
    /// See [`StartError`].
    pub fn start(config: PoolConfig) -> Result<Pool, StartError> {
        let temp = TempDir::new().map_err(|e| StartError::Other(format!("cannot make a temporary folder: {e}")))?;
        let globals = temp.path.join("globals");
        std::fs::create_dir_all(&globals)
            .map_err(|e| StartError::Other(format!("cannot make {}: {e}", globals.display())))?;
        for (id, file) in &config.globals {
            let to = globals.join(format!("{id}.py"));
            std::fs::copy(file, &to)
                .map_err(|e| StartError::Other(format!("cannot copy the global helper {}: {e}", file.display())))?;
        }
        let counter = AtomicUsize::new(0);
        // Every worker starts at once, so their start-ups overlap; the
        // first one's hello says whether the interpreter can be used.
        let mut first = Worker::launch(&config, &temp, &counter)?;
        let mut others: Vec<Worker> = (1..config.workers.max(1))
            .filter_map(|_| Worker::launch(&config, &temp, &counter).ok())
            .collect();
        let hello = first.hello(&config)?;
        if hello.error.is_some() || hello.panther_core.is_none() {
            let error = hello.error.clone().unwrap_or_else(|| "not found".to_owned());
            first.kill();
            return Err(StartError::NoPantherCore { error });
        }
        let setup_errors = first
            .setup(&config, &temp)
            .map_err(|e| StartError::Other(format!("the Python worker failed to set up: {e}")))?;
        let mut idle = vec![first];
        // The others: hello and setup; one that fails is left out (the run
        // starts a replacement when it needs one).
        others.retain_mut(|w| w.hello(&config).is_ok() && w.send_setup(&config, &temp).is_ok());
        for mut w in others {
            if w.ready().is_ok() {
                idle.push(w);
            }
        }
        Ok(Pool {
            config,
            temp,
            idle: Mutex::new(idle),
            hello,
            setup_errors,
        })
    }

    /// Runs every job; one outcome per job, in job order.
    pub fn run(&self, jobs: &[DetectionJob]) -> Vec<DetectionOutcome> {
        let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
        let results: Mutex<Vec<Option<DetectionOutcome>>> = Mutex::new(vec![None; jobs.len()]);
        let counter = AtomicUsize::new(self.config.workers.max(1));
        let slots = self.config.workers.clamp(1, jobs.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..slots {
                let (queue, results, counter) = (&queue, &results, &counter);
                s.spawn(move || {
                    let mut worker: Option<Worker> = self.idle.lock().ok().and_then(|mut f| f.pop());
                    loop {
                        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                        let Some(i) = next else { break };
                        let outcome = self.run_job(&mut worker, &jobs[i], counter);
                        if let Ok(mut r) = results.lock() {
                            r[i] = Some(outcome);
                        }
                    }
                    if let Some(mut w) = worker {
                        w.exit();
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_default();
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| DetectionOutcome::Tests(Vec::new())))
            .collect()
    }

    /// The project file behind a path a worker names: a global helper's
    /// copy is the global's own `.py` file.
    pub fn source_of(&self, p: &Path) -> PathBuf {
        let globals = self.temp.path.join("globals");
        if let Ok(rest) = p.strip_prefix(&globals) {
            let name = rest.to_string_lossy();
            if let Some((_, file)) = self.config.globals.iter().find(|(id, _)| format!("{id}.py") == name) {
                return file.clone();
            }
        }
        std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
    }

    /// A worker started with the pool, if one is still idle.
    pub(super) fn take_first(&self) -> Option<Worker> {
        self.idle.lock().ok().and_then(|mut f| f.pop())
    }

    /// A new worker, set up (globals, data models).
    pub(super) fn spawn_ready(&self, counter: &AtomicUsize) -> Result<Worker, String> {
        let mut w = Worker::launch(&self.config, &self.temp, counter).map_err(|e| e.to_string())?;
        w.hello(&self.config).map_err(|e| e.to_string())?;
        w.setup(&self.config, &self.temp)?;
        Ok(w)
    }

    /// The configuration the pool was started with.
    pub(super) fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// A worker ready for work: `slot`'s, or a new one.
    fn ready<'w>(&self, slot: &'w mut Option<Worker>, counter: &AtomicUsize) -> Result<&'w mut Worker, String> {
        if slot.is_none() {
            let mut w = Worker::launch(&self.config, &self.temp, counter).map_err(|e| e.to_string())?;
            w.hello(&self.config).map_err(|e| e.to_string())?;
            w.setup(&self.config, &self.temp)?;
            *slot = Some(w);
        }
        slot.as_mut().ok_or_else(|| "no worker".to_owned())
    }

    fn run_job(&self, slot: &mut Option<Worker>, job: &DetectionJob, counter: &AtomicUsize) -> DetectionOutcome {
        let timeout = self.config.timeout;
        let mut results: Vec<Option<TestResult>> = vec![None; job.tests.len()];
        let mut pending: Vec<usize> = (0..job.tests.len()).collect();
        while !pending.is_empty() || results.is_empty() {
            let worker = match self.ready(slot, counter) {
                Ok(w) => w,
                Err(e) => {
                    let reason = format!("the Python worker could not be started: {e}");
                    for i in pending {
                        results[i] = Some(TestResult::failed(reason.clone(), Duration::ZERO));
                    }
                    break;
                }
            };
            let request = detection_request(job, &pending, &self.config.destinations);
            if let Err(e) = worker.send(&request) {
                let why = worker.died(&format!("could not be sent the detection ({e})"));
                *slot = None;
                return DetectionOutcome::LoadFailed(plain_error(why));
            }
            match worker.recv(timeout) {
                Ok(r) if r.setup_error.is_some() => {
                    return DetectionOutcome::LoadFailed(r.setup_error.unwrap_or_else(|| plain_error(String::new())));
                }
                Ok(r) if r.loaded.is_some() => {}
                Ok(r) => {
                    let why = r.fatal.unwrap_or_else(|| "an unexpected reply".to_owned());
                    worker.kill();
                    *slot = None;
                    return DetectionOutcome::LoadFailed(plain_error(format!("the Python worker failed: {why}")));
                }
                Err(Recv::Timeout) => {
                    worker.kill();
                    *slot = None;
                    return DetectionOutcome::LoadFailed(plain_error(format!(
                        "loading the module timed out after {}",
                        seconds(timeout)
                    )));
                }
                Err(Recv::Closed) => {
                    let why = worker.died("exited while loading the module");
                    *slot = None;
                    return DetectionOutcome::LoadFailed(plain_error(why));
                }
            }
            if results.is_empty() {
                let _ = worker.recv(timeout);
                break;
            }
            let mut started = Instant::now();
            let mut broke = None;
            for (n, &i) in pending.iter().enumerate() {
                match worker.recv(timeout) {
                    Ok(r) if r.test.is_some() => {
                        let idx = r.test.unwrap_or(i);
                        let elapsed = started.elapsed();
                        started = Instant::now();
                        if let Some(slot) = results.get_mut(idx) {
                            *slot = Some(TestResult {
                                passed: r.passed && r.error.is_none(),
                                output: r.output,
                                functions: r.functions,
                                stdout: r.stdout,
                                hidden: r.hidden,
                                error: r.error,
                                duration: elapsed,
                            });
                        }
                    }
                    Ok(r) => {
                        let why = r.fatal.unwrap_or_else(|| "an unexpected reply".to_owned());
                        results[i] = Some(TestResult::failed(
                            format!("the Python worker failed: {why}"),
                            started.elapsed(),
                        ));
                        worker.kill();
                        broke = Some(n);
                        break;
                    }
                    Err(Recv::Timeout) => {
                        results[i] = Some(TestResult::failed(
                            format!("timed out after {}", seconds(timeout)),
                            started.elapsed(),
                        ));
                        worker.kill();
                        broke = Some(n);
                        break;
                    }
                    Err(Recv::Closed) => {
                        let why = worker.died("exited while running this test");
                        results[i] = Some(TestResult::failed(why, started.elapsed()));
                        broke = Some(n);
                        break;
                    }
                }
            }
            match broke {
                None => {
                    // The `done` line.
                    if !matches!(worker.recv(timeout), Ok(r) if r.done.is_some()) {
                        worker.kill();
                        *slot = None;
                    }
                    pending.clear();
                }
                Some(n) => {
                    *slot = None;
                    pending = pending.split_off(n + 1);
                }
            }
        }
        DetectionOutcome::Tests(
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| TestResult::failed("the test was not run".to_owned(), Duration::ZERO)))
                .collect(),
        )
    }
}

fn plain_error(message: String) -> LoadError {
    LoadError {
        id: None,
        message,
        file: None,
        line: None,
        column: None,
        traceback: String::new(),
    }
}

/// `15 s`, `1.5 s`.
pub fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

pub(super) enum Recv {
    Timeout,
    Closed,
}

/// One worker process.
#[derive(Debug)]
pub(super) struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl Worker {
    /// Starts the process; [`Worker::hello`] waits for it to be ready.
    fn launch(config: &PoolConfig, temp: &TempDir, counter: &AtomicUsize) -> Result<Worker, StartError> {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let tmp = temp.path.join(format!("worker-{n}"));
        std::fs::create_dir_all(&tmp).map_err(|e| StartError::Other(format!("cannot make {}: {e}", tmp.display())))?;
        let mut child = Command::new(&config.python)
            .arg("-c")
            .arg(WORKER)
            .current_dir(&config.cwd)
            .env("TMPDIR", &tmp)
            .env("PYTHONIOENCODING", "utf-8")
            // The same string hashes in every run: a rule that prints a set
            // prints it in the same order each time (PAT's order changes).
            .env(
                "PYTHONHASHSEED",
                std::env::var_os("PYTHONHASHSEED").unwrap_or_else(|| "0".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| StartError::NoPython(format!("{}: {e}", config.python.display())))?;
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut r = BufReader::with_capacity(1 << 16, out);
                loop {
                    let mut line = Vec::new();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.extend(&buf[..n]);
                        let extra = t.len().saturating_sub(STDERR_TAIL);
                        t.drain(..extra);
                    }
                }
            });
        }
        Ok(Worker {
            child,
            stdin,
            lines: rx,
            stderr,
        })
    }

    /// What the started worker says of itself.
    fn hello(&mut self, config: &PoolConfig) -> Result<Hello, StartError> {
        let worker = self;
        match worker.recv(START_TIMEOUT) {
            Ok(Reply { hello: Some(h), .. }) => Ok(h),
            Ok(_) => {
                worker.kill();
                Err(StartError::Other("the Python worker did not say hello".to_owned()))
            }
            Err(Recv::Timeout) => {
                worker.kill();
                Err(StartError::Other(format!(
                    "{} did not start within {}",
                    config.python.display(),
                    seconds(START_TIMEOUT)
                )))
            }
            Err(Recv::Closed) => {
                let why = worker.died("exited at start");
                Err(StartError::NoPython(why))
            }
        }
    }

    fn setup(&mut self, config: &PoolConfig, temp: &TempDir) -> Result<Vec<LoadError>, String> {
        self.send_setup(config, temp)?;
        self.ready()
    }

    fn send_setup(&mut self, config: &PoolConfig, temp: &TempDir) -> Result<(), String> {
        self.send(&setup_request(
            &temp.path.join("globals"),
            config.cache_dir.as_deref(),
            &config.data_models,
        ))
        .map_err(|e| e.to_string())
    }

    fn ready(&mut self) -> Result<Vec<LoadError>, String> {
        match self.recv(START_TIMEOUT) {
            Ok(r) if r.ready.is_some() => Ok(r.errors),
            Ok(r) => Err(r.fatal.unwrap_or_else(|| "an unexpected reply".to_owned())),
            Err(Recv::Timeout) => {
                self.kill();
                Err(format!("setting up took more than {}", seconds(START_TIMEOUT)))
            }
            Err(Recv::Closed) => Err(self.died("exited during setup")),
        }
    }

    pub(super) fn send(&mut self, line: &str) -> std::io::Result<()> {
        match &mut self.stdin {
            Some(s) => {
                s.write_all(line.as_bytes())?;
                s.flush()
            }
            None => Err(std::io::Error::other("the worker's input is closed")),
        }
    }

    pub(super) fn recv(&self, timeout: Duration) -> Result<Reply, Recv> {
        self.recv_line(timeout).map(|line| {
            serde_json::from_slice(&line).unwrap_or_else(|e| Reply {
                fatal: Some(format!("unreadable reply ({e})")),
                ..Reply::default()
            })
        })
    }

    /// The next reply line, unparsed.
    pub(super) fn recv_line(&self, timeout: Duration) -> Result<Vec<u8>, Recv> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(Recv::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(Recv::Closed),
        }
    }

    /// Kills the process and says how it ended: `the Python worker
    /// exited (code 1) <what>`, with the tail of its standard error.
    pub(super) fn died(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if status.is_none() {
            self.kill();
            status = self.child.try_wait().ok().flatten();
        }
        // Let the reader of standard error catch up with the exit.
        std::thread::sleep(Duration::from_millis(30));
        let how = match status.and_then(|s| s.code()) {
            Some(c) => format!("exited (code {c})"),
            None => "was killed".to_owned(),
        };
        let tail = self
            .stderr
            .lock()
            .map(|t| {
                String::from_utf8_lossy(&t.iter().copied().collect::<Vec<u8>>())
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        let last = tail.lines().last().unwrap_or("").to_owned();
        let what = what.strip_prefix("exited ").unwrap_or(what);
        if last.is_empty() {
            format!("the Python worker {how} {what}")
        } else {
            format!("the Python worker {how} {what}: {last}")
        }
    }

    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the worker to exit, then makes sure it did.
    pub(super) fn exit(&mut self) {
        let _ = self.send("{\"op\":\"exit\"}\n");
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// A temporary folder removed on drop.
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let path = base.join(format!(
                "detect-python-{}-{:08x}",
                std::process::id(),
                fastrand::u32(..)
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary folder name"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
