//! The delivery log (alerts-and-webhooks §8) and its pending journal.
//!
//! The log is append-only JSON Lines, one record per finished delivery,
//! each written with a single `write` of one line and then `fsync`ed, so
//! concurrent runs do not interleave records and a crash loses nothing that
//! was reported as done.
//!
//! A record is written when a delivery *ends*, so on its own the log cannot
//! tell about a delivery that was cut short by `kill -9`. Before sending,
//! `detect` therefore appends every planned delivery, with its payload, to
//! a journal next to the log (`deliveries.pending.jsonl` for
//! `deliveries.jsonl`), also `fsync`ed. A journal entry whose `deliveryId`
//! never got a log record is an *interrupted* delivery, which
//! `detect alerts resend` picks up like a failed one. The journal only
//! grows; it may be deleted whenever no delivery is running and
//! `detect alerts log` shows no interrupted delivery.
//!
//! An open [`DeliveryLog`] holds an exclusive advisory lock (`flock`) on
//! the log file, so two processes never deliver from one log at the same
//! time: the second waits (at most [`LOCK_WAIT`]) and reads the log only
//! once it holds the lock, so it skips what the first delivered. Opening
//! also ends a torn last line (a crash in the middle of an append) with a
//! newline, so the next record starts on a line of its own; the torn line
//! is then skipped with a warning when the log is read.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Longest wait for another process that holds the delivery log or a
/// state file.
pub const LOCK_WAIT: Duration = Duration::from_secs(600);

/// Takes an exclusive advisory lock on `file` (which is `path`, `what` in
/// messages), waiting at most [`LOCK_WAIT`] for another process to let go;
/// the lock ends when the file is closed.
///
/// # Errors
/// The lock cannot be taken, or is still held by another process when the
/// wait is over.
pub fn lock_exclusive(file: &File, path: &Path, what: &str) -> Result<()> {
    let failed = |source: std::io::Error| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    if try_lock(file).map_err(failed)? {
        return Ok(());
    }
    let _ = writeln!(
        std::io::stderr(),
        "note: another detect process is using {what} `{}`; waiting for it to finish (at most {} s)",
        path.display(),
        LOCK_WAIT.as_secs()
    );
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if try_lock(file).map_err(failed)? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Usage(format!(
                "{what} `{}` is still in use by another detect process after {} s; run again once it has finished",
                path.display(),
                LOCK_WAIT.as_secs()
            )));
        }
    }
}

/// Tries to take an exclusive `flock` on `file` without waiting: `false`
/// when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Elsewhere no inter-process lock is taken (yet).
#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

/// Ends a file that does not end with a newline (a torn last line) with
/// one, so that the next appended line stands on its own.
fn end_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// Status of a finished delivery.
pub const DELIVERED: &str = "DELIVERED";
/// Status of a permanently failed delivery.
pub const FAILED: &str = "FAILED";
/// Status shown for a journal entry without a log record.
pub const INTERRUPTED: &str = "INTERRUPTED";

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1-based attempt number.
    pub attempt: u32,
    /// When it started (AWSDateTime).
    pub at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// What went wrong, when no response arrived or it was not 2XX.
    pub error: Option<String>,
    /// The response body (first 64 KiB), when a response arrived.
    pub response_body: Option<String>,
}

/// One delivery-log record (§8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Random UUID of this delivery.
    pub delivery_id: String,
    /// `alert`, `resend`, `manual` or `test`.
    pub kind: String,
    /// The alert.
    pub alert_id: String,
    /// The detection.
    pub rule_id: String,
    /// Destination name.
    pub destination: String,
    /// Host (and port) of the destination URL, never its path.
    pub destination_host: String,
    /// `DELIVERED` or `FAILED`.
    pub status: String,
    /// Start of the first attempt.
    pub started_at: String,
    /// End of the last attempt.
    pub finished_at: String,
    /// Every attempt.
    pub attempts: Vec<Attempt>,
    /// Body of the final attempt's response.
    pub response_body: Option<String>,
    /// The delivery this one re-sends.
    pub resend_of: Option<String>,
    /// The payload sent.
    pub payload: Value,
}

/// A planned delivery in the pending journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// When it was planned (AWSDateTime).
    pub queued_at: String,
    /// The delivery ID its record will carry.
    pub delivery_id: String,
    /// Kind of the delivery.
    pub kind: String,
    /// The alert.
    pub alert_id: String,
    /// The detection.
    pub rule_id: String,
    /// Destination name.
    pub destination: String,
    /// The delivery this one re-sends.
    pub resend_of: Option<String>,
    /// The payload to send.
    pub payload: Value,
}

/// An open delivery log.
#[derive(Debug)]
pub struct DeliveryLog {
    path: PathBuf,
    file: Mutex<File>,
    journal: Mutex<File>,
    /// Whether the log file was created by this open.
    pub created: bool,
}

/// The journal path of a log path.
pub fn journal_path(log: &Path) -> PathBuf {
    let stem = log
        .file_stem()
        .map_or_else(|| "deliveries".into(), |s| s.to_string_lossy().into_owned());
    log.with_file_name(format!("{stem}.pending.jsonl"))
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })
}

fn append_lines(file: &Mutex<File>, text: &[u8]) -> std::io::Result<()> {
    let mut f = file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    f.write_all(text)?;
    f.flush()?;
    f.sync_data()
}

impl DeliveryLog {
    /// Opens (creating folders and the file as needed) and locks the log
    /// for this process, then ends torn last lines of the log and the
    /// journal.
    ///
    /// # Errors
    /// The folder or file cannot be created or written, or another process
    /// holds the lock for longer than [`LOCK_WAIT`].
    pub fn open(path: &Path) -> Result<DeliveryLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let created = !path.exists();
        let mut file = open_append(path)?;
        lock_exclusive(&file, path, "the delivery log")?;
        let mut journal = open_append(&journal_path(path))?;
        end_torn_line(&mut file).map_err(Error::Write)?;
        end_torn_line(&mut journal).map_err(Error::Write)?;
        Ok(DeliveryLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            journal: Mutex::new(journal),
            created,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a finished delivery as one line, then syncs.
    ///
    /// # Errors
    /// The write fails.
    pub fn append(&self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        append_lines(&self.file, &line).map_err(Error::Write)
    }

    /// Appends planned deliveries to the journal, then syncs.
    ///
    /// # Errors
    /// The write fails.
    pub fn enqueue(&self, pending: &[Pending]) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for p in pending {
            text.extend(serde_json::to_vec(p).unwrap_or_default());
            text.push(b'\n');
        }
        append_lines(&self.journal, &text).map_err(Error::Write)
    }
}

/// Reads the records of a log; a missing file has none. Lines that are not
/// records (a torn last line after a crash) are returned as warnings, each
/// a whole `path:line:col: warning[code]: message` line.
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_records(path: &Path) -> Result<(Vec<Record>, Vec<String>)> {
    read_jsonl(path)
}

/// Reads the pending journal of a log.
///
/// # Errors
/// The file exists but cannot be read.
pub fn read_pending(log: &Path) -> Result<(Vec<Pending>, Vec<String>)> {
    read_jsonl(&journal_path(log))
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(Vec<T>, Vec<String>)> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(r) => out.push(r),
            Err(e) => warnings.push(format!(
                "{}:{}:1: warning[{}]: not a delivery record, skipped: {e}",
                path.display(),
                i + 1,
                crate::diagnostic::Code::DeliveryLogLine.name()
            )),
        }
    }
    Ok((out, warnings))
}

/// The latest state of every (alert, destination) pair: the last log
/// record, or an interrupted journal entry planned after it.
#[derive(Debug, Clone)]
pub struct Latest {
    /// Alert ID.
    pub alert_id: String,
    /// Detection ID.
    pub rule_id: String,
    /// Destination name.
    pub destination: String,
    /// `DELIVERED`, `FAILED` or `INTERRUPTED`.
    pub status: String,
    /// The delivery ID of that record or entry.
    pub delivery_id: String,
    /// The payload.
    pub payload: Value,
}

/// Computes [`Latest`] per pair, in order of first appearance.
pub fn latest(records: &[Record], pending: &[Pending]) -> Vec<Latest> {
    use std::collections::{HashMap, HashSet};
    let finished: HashSet<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
    // (time, order, entry); later wins. Times are AWSDateTime in UTC with
    // milliseconds, so they compare as strings.
    let mut by_pair: HashMap<(String, String), (String, usize, Latest)> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut put = |time: &str, seq: usize, l: Latest| {
        let key = (l.alert_id.clone(), l.destination.clone());
        match by_pair.get(&key) {
            Some((t, s, _)) if (t.as_str(), *s) > (time, seq) => {}
            Some(_) => {
                by_pair.insert(key, (time.to_owned(), seq, l));
            }
            None => {
                order.push(key.clone());
                by_pair.insert(key, (time.to_owned(), seq, l));
            }
        }
    };
    for (i, r) in records.iter().enumerate() {
        put(
            &r.finished_at,
            i,
            Latest {
                alert_id: r.alert_id.clone(),
                rule_id: r.rule_id.clone(),
                destination: r.destination.clone(),
                status: r.status.clone(),
                delivery_id: r.delivery_id.clone(),
                payload: r.payload.clone(),
            },
        );
    }
    for (i, p) in pending.iter().enumerate() {
        if finished.contains(p.delivery_id.as_str()) {
            continue;
        }
        put(
            &p.queued_at,
            records.len() + i,
            Latest {
                alert_id: p.alert_id.clone(),
                rule_id: p.rule_id.clone(),
                destination: p.destination.clone(),
                status: INTERRUPTED.to_owned(),
                delivery_id: p.delivery_id.clone(),
                payload: p.payload.clone(),
            },
        );
    }
    order
        .into_iter()
        .filter_map(|k| by_pair.remove(&k).map(|(_, _, l)| l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, alert: &str, status: &str, at: &str) -> Record {
        Record {
            delivery_id: id.to_owned(),
            kind: "alert".to_owned(),
            alert_id: alert.to_owned(),
            rule_id: "R".to_owned(),
            destination: "d".to_owned(),
            destination_host: "h".to_owned(),
            status: status.to_owned(),
            started_at: at.to_owned(),
            finished_at: at.to_owned(),
            attempts: Vec::new(),
            response_body: None,
            resend_of: None,
            payload: Value::Null,
        }
    }

    #[test]
    fn appends_and_reads_back_with_interrupted_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/deliveries.jsonl");
        let log = DeliveryLog::open(&path).unwrap();
        assert!(log.created);
        let pending = |id: &str, alert: &str| Pending {
            queued_at: "2024-01-01T00:00:00.000Z".to_owned(),
            delivery_id: id.to_owned(),
            kind: "alert".to_owned(),
            alert_id: alert.to_owned(),
            rule_id: "R".to_owned(),
            destination: "d".to_owned(),
            resend_of: None,
            payload: Value::Null,
        };
        log.enqueue(&[pending("1", "a"), pending("2", "b")]).unwrap();
        log.append(&record("1", "a", FAILED, "2024-01-01T00:00:01.000Z"))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let (records, warnings) = read_records(&path).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(warnings.len(), 1);
        let (pend, _) = read_pending(&path).unwrap();
        let l = latest(&records, &pend);
        let got: Vec<(&str, &str)> = l.iter().map(|l| (l.alert_id.as_str(), l.status.as_str())).collect();
        assert_eq!(got, [("a", FAILED), ("b", INTERRUPTED)]);
        // Opened again (the first handle closed, so its lock is gone), the
        // torn line is ended and the next record stands on its own.
        drop(log);
        let log = DeliveryLog::open(&path).unwrap();
        assert!(!log.created);
        log.append(&record("3", "c", DELIVERED, "2024-01-01T00:00:02.000Z"))
            .unwrap();
        let (records, warnings) = read_records(&path).unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].ends_with(":2:1: warning[delivery-log-line]: not a delivery record, skipped: EOF while parsing a string at line 1 column 6"),
            "{warnings:?}"
        );
    }
}
