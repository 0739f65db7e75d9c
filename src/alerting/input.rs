//! Reading events (alerts-and-webhooks §5.2): JSON Lines or one JSON array
//! of objects, detected from the first non-blank character; `.gz` files
//! decompressed; `-` for standard input.
//!
//! A reader thread turns each input into [`Batch`]es of a few megabytes and
//! hands them over a bounded channel, so reading and decompressing overlap
//! with evaluation and memory stays bounded whatever the input size. A JSON
//! Lines batch is cut at a line break and split into lines by the workers
//! ([`par_records`]); a JSON array is split into its elements by the reader,
//! which must follow the nesting sequentially anyway.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Size of a batch handed to the workers.
const BATCH_BYTES: usize = 2 << 20;
/// Size of the pieces a JSON Lines batch is split into for the workers.
const PIECE_BYTES: usize = 128 << 10;

/// One opened input.
pub struct Input {
    /// The name used in messages (`-` is `<stdin>`).
    pub name: String,
    reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Counts bytes read from a file, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens every input before anything runs, so an unreadable file stops the
/// command at once (exit 2). Returns the inputs and their total size on
/// disk (`None` when standard input is among them).
///
/// # Errors
/// A file that cannot be opened.
pub fn open(names: &[PathBuf], count: &Arc<AtomicU64>) -> Result<(Vec<Input>, Option<u64>)> {
    let mut out = Vec::new();
    let mut total = Some(0u64);
    for p in names {
        if p.as_os_str() == "-" {
            total = None;
            out.push(Input {
                name: "<stdin>".to_owned(),
                reader: Box::new(std::io::stdin()),
            });
            continue;
        }
        let f = File::open(p).map_err(|source| Error::Read {
            path: p.clone(),
            source,
        })?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        total = total.map(|t| t + size);
        let counted = Counting {
            inner: f,
            count: Arc::clone(count),
        };
        let reader: Box<dyn Read + Send> = if p.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(
                256 << 10,
                counted,
            )))
        } else {
            Box::new(counted)
        };
        out.push(Input {
            name: p.display().to_string(),
            reader,
        });
    }
    Ok((out, total))
}

/// How the records of a batch are delimited.
#[derive(Debug)]
pub enum Records {
    /// JSON Lines: every non-blank line is a record.
    Lines,
    /// Array elements: (line where the element starts, byte range).
    Elements(Vec<(u64, usize, usize)>),
}

/// Records read from one input.
#[derive(Debug)]
pub struct Batch {
    /// Index of the input.
    pub input: usize,
    /// Line of the first byte of `data`.
    pub first_line: u64,
    /// The bytes.
    pub data: Vec<u8>,
    /// Where the records are.
    pub records: Records,
}

impl Batch {
    /// The batch of `data`, read from input `input` from line `first_line`.
    fn new(input: usize, first_line: u64, data: Vec<u8>, records: Records) -> Batch {
        Batch {
            input,
            first_line,
            data,
            records,
        }
    }
}

/// What the reader sends.
#[derive(Debug)]
pub enum Message {
    /// Records to evaluate.
    Batch(Batch),
    /// A problem with an input: a read error (the rest of the input is
    /// lost) or a broken array structure.
    Problem {
        /// Index of the input.
        input: usize,
        /// Line, when known.
        line: Option<u64>,
        /// What went wrong.
        message: String,
    },
    /// The input is read completely.
    Done {
        /// Index of the input.
        input: usize,
    },
}

/// Reads every input in order and sends its batches. Stops early when the
/// receiver is gone. The buffers of evaluated batches come back on `spent`
/// and are filled again: a fresh buffer of a few megabytes costs a page
/// fault per page.
pub fn read_all(inputs: Vec<Input>, tx: &SyncSender<Message>, spent: &Receiver<Vec<u8>>) {
    for (i, input) in inputs.into_iter().enumerate() {
        if read_one(i, input.reader, tx, spent).is_err() {
            return;
        }
        if tx.send(Message::Done { input: i }).is_err() {
            return;
        }
    }
}

type Sent = std::result::Result<(), ()>;

fn send(tx: &SyncSender<Message>, m: Message) -> Sent {
    tx.send(m).map_err(|_| ())
}

/// Reads into `buf` until it holds at least `want` more bytes or the input
/// ends; returns whether the input ended.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let target = buf.len() + want;
    while buf.len() < target {
        let start = buf.len();
        buf.resize(target, 0);
        match reader.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(true);
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(false)
}

/// A buffer for a batch: a spent one if there is one.
fn buffer(spent: &Receiver<Vec<u8>>) -> Vec<u8> {
    match spent.try_recv() {
        Ok(mut b) => {
            b.clear();
            b
        }
        Err(_) => Vec::with_capacity(BATCH_BYTES + (64 << 10)),
    }
}

fn read_one(
    input: usize,
    mut reader: Box<dyn Read + Send>,
    tx: &SyncSender<Message>,
    spent: &Receiver<Vec<u8>>,
) -> Sent {
    let mut buf = buffer(spent);
    // Find the first non-blank byte to choose the format.
    let mut eof = false;
    let first = loop {
        if let Some(b) = buf.iter().find(|b| !is_blank(**b)) {
            break Some(*b);
        }
        if eof {
            break None;
        }
        match fill(&mut reader, &mut buf, 64 << 10) {
            Ok(e) => eof = e,
            Err(e) => {
                return send(
                    tx,
                    Message::Problem {
                        input,
                        line: None,
                        message: format!("cannot read: {e}"),
                    },
                );
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => read_array(input, &mut *reader, buf, eof, tx),
        Some(_) => read_lines(input, &mut *reader, buf, eof, tx, spent),
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn read_lines(
    input: usize,
    reader: &mut dyn Read,
    mut buf: Vec<u8>,
    mut eof: bool,
    tx: &SyncSender<Message>,
    spent: &Receiver<Vec<u8>>,
) -> Sent {
    let mut line = 1u64;
    loop {
        if !eof && buf.len() < BATCH_BYTES {
            let want = BATCH_BYTES - buf.len();
            match fill(reader, &mut buf, want) {
                Ok(e) => eof = e,
                Err(e) => return read_failed(input, &mut line, buf, &e, tx),
            }
        }
        if eof {
            return flush_lines(input, &mut line, buf, tx);
        }
        // Cut after the last line break; a line longer than a batch grows
        // the buffer until it ends.
        match memchr::memrchr(b'\n', &buf) {
            Some(i) => {
                let mut next = buffer(spent);
                next.extend_from_slice(&buf[i + 1..]);
                buf.truncate(i + 1);
                let full = std::mem::replace(&mut buf, next);
                flush_lines(input, &mut line, full, tx)?;
            }
            None => match fill(reader, &mut buf, BATCH_BYTES) {
                Ok(e) => eof = e,
                Err(e) => return read_failed(input, &mut line, buf, &e, tx),
            },
        }
    }
}

/// Sends the lines read before a read error, then the error.
fn read_failed(input: usize, line: &mut u64, data: Vec<u8>, e: &std::io::Error, tx: &SyncSender<Message>) -> Sent {
    flush_lines(input, line, data, tx)?;
    send(
        tx,
        Message::Problem {
            input,
            line: Some(*line),
            message: format!("cannot read further: {e}"),
        },
    )
}

fn flush_lines(input: usize, line: &mut u64, data: Vec<u8>, tx: &SyncSender<Message>) -> Sent {
    if data.is_empty() {
        return Ok(());
    }
    let first_line = *line;
    // Counting line breaks here is a cheap sequential pass; it keeps line
    // numbers exact without waiting for the workers.
    *line += memchr::memchr_iter(b'\n', &data).count() as u64;
    send(tx, Message::Batch(Batch::new(input, first_line, data, Records::Lines)))
}

/// Follows the nesting of a JSON array to find its elements.
#[derive(Default)]
struct ArrayScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
    done: bool,
    trailing: bool,
    element: Option<(u64, usize)>,
    line: u64,
}

fn read_array(input: usize, reader: &mut dyn Read, mut buf: Vec<u8>, mut eof: bool, tx: &SyncSender<Message>) -> Sent {
    let mut scan = ArrayScan {
        line: 1,
        ..ArrayScan::default()
    };
    let mut pos = 0usize;
    let mut first_line = 1u64;
    let mut elements = Vec::new();
    loop {
        while pos < buf.len() && !scan.trailing {
            let b = buf[pos];
            scan.step(b, pos, &mut elements);
            pos += 1;
        }
        if scan.trailing {
            send(
                tx,
                Message::Problem {
                    input,
                    line: Some(scan.line),
                    message: "unexpected data after the closing `]` of the JSON array; the rest is ignored".to_owned(),
                },
            )?;
            eof = true;
        }
        let cut = if eof {
            buf.len()
        } else {
            scan.element.map_or(pos, |(_, s)| s)
        };
        if eof || cut >= BATCH_BYTES {
            if eof {
                if let Some((l, s)) = scan.element.take() {
                    if !scan.trailing {
                        elements.push((l, s, buf.len()));
                    }
                }
                if scan.started && !scan.done && !scan.trailing {
                    send(
                        tx,
                        Message::Problem {
                            input,
                            line: Some(scan.line),
                            message: "the JSON array is not closed with `]`".to_owned(),
                        },
                    )?;
                }
            }
            let rest = buf.split_off(cut.min(buf.len()));
            let data = std::mem::replace(&mut buf, rest);
            let records = Records::Elements(std::mem::take(&mut elements));
            send(tx, Message::Batch(Batch::new(input, first_line, data, records)))?;
            first_line = scan.line;
            pos -= cut.min(pos);
            if let Some((_, s)) = scan.element.as_mut() {
                *s -= cut;
            }
            if eof {
                return Ok(());
            }
        }
        match fill(reader, &mut buf, 1 << 20) {
            Ok(e) => eof = e,
            Err(e) => {
                send(
                    tx,
                    Message::Problem {
                        input,
                        line: Some(scan.line),
                        message: format!("cannot read further: {e}"),
                    },
                )?;
                eof = true;
                scan.element = None;
                scan.done = true;
            }
        }
    }
}

impl ArrayScan {
    fn step(&mut self, b: u8, pos: usize, out: &mut Vec<(u64, usize, usize)>) {
        if b == b'\n' {
            self.line += 1;
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return;
        }
        if self.done {
            if !is_blank(b) {
                self.trailing = true;
            }
            return;
        }
        if !self.started {
            if b == b'[' {
                self.started = true;
                self.depth = 1;
            }
            return;
        }
        if self.depth == 1 {
            match b {
                b',' => {
                    if let Some((l, s)) = self.element.take() {
                        out.push((l, s, pos));
                    }
                    return;
                }
                b']' => {
                    if let Some((l, s)) = self.element.take() {
                        out.push((l, s, pos));
                    }
                    self.depth = 0;
                    self.done = true;
                    return;
                }
                _ if is_blank(b) => return,
                _ => {
                    if self.element.is_none() {
                        self.element = Some((self.line, pos));
                    }
                }
            }
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => self.depth = self.depth.saturating_sub(1).max(1),
            _ => {}
        }
    }
}

/// Maps every record of a batch in parallel and returns, in input order,
/// the line of each record `f` kept with its result, and the number of
/// records seen.
pub fn par_records<T: Send>(batch: &Batch, f: impl Fn(&[u8]) -> Option<T> + Sync) -> (Vec<(u64, T)>, u64) {
    match &batch.records {
        Records::Elements(items) => {
            let out: Vec<(u64, T)> = items
                .par_iter()
                .with_min_len(64)
                .filter_map(|(line, s, e)| f(trim(&batch.data[*s..*e])).map(|t| (*line, t)))
                .collect();
            (out, items.len() as u64)
        }
        Records::Lines => {
            let pieces = pieces(&batch.data);
            let results: Vec<Piece<T>> = pieces
                .par_iter()
                .map(|&(s, e)| {
                    let mut kept = Vec::new();
                    let mut line = 0u64;
                    let mut records = 0u64;
                    let piece = &batch.data[s..e];
                    let mut start = 0;
                    let ends = memchr::memchr_iter(b'\n', piece).chain(std::iter::once(piece.len()));
                    for end in ends {
                        let t = trim(&piece[start..end]);
                        if !t.is_empty() {
                            records += 1;
                            if let Some(r) = f(t) {
                                kept.push((line, r));
                            }
                        }
                        line += 1;
                        start = end + 1;
                    }
                    // One piece more than there are breaks.
                    (kept, line.saturating_sub(1), records)
                })
                .collect();
            let mut out = Vec::new();
            let mut line = batch.first_line;
            let mut records = 0;
            for (kept, breaks, n) in results {
                out.extend(kept.into_iter().map(|(l, t)| (line + l, t)));
                line += breaks;
                records += n;
            }
            (out, records)
        }
    }
}

/// What a worker found in one piece: kept results with their line within
/// the piece, line breaks, records.
type Piece<T> = (Vec<(u64, T)>, u64, u64);

/// Cuts text into pieces that end after a line break (the last may not).
fn pieces(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + PIECE_BYTES).min(data.len());
        if end < data.len() {
            end = match memchr::memchr(b'\n', &data[end..]) {
                Some(i) => end + i + 1,
                None => data.len(),
            };
        }
        out.push((start, end));
        start = end;
    }
    out
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !is_blank(*c)).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !is_blank(*c)).map_or(s, |i| i + 1);
    &b[s..e.max(s)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &[u8]) -> (Vec<(u64, String)>, Vec<String>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let data = text.to_vec();
        let (give, spent) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            read_all(
                vec![Input {
                    name: "t".to_owned(),
                    reader: Box::new(std::io::Cursor::new(data)),
                }],
                &tx,
                &spent,
            );
        });
        let mut records = Vec::new();
        let mut problems = Vec::new();
        for m in rx {
            match m {
                Message::Batch(b) => {
                    let (r, _) = par_records(&b, |t| Some(String::from_utf8_lossy(t).into_owned()));
                    records.extend(r);
                    // Reused buffers must not leak old bytes into new batches.
                    let mut data = b.data;
                    data.fill(b'#');
                    let _ = give.send(data);
                }
                Message::Problem { line, message, .. } => problems.push(format!("{line:?}: {message}")),
                Message::Done { .. } => {}
            }
        }
        h.join().unwrap();
        (records, problems)
    }

    #[test]
    fn json_lines_with_blank_lines_and_line_numbers() {
        let (r, p) = collect(b"{\"a\":1}\n\n  \r\n{\"b\":2}\r\nnot json\n{\"c\":3}");
        assert_eq!(
            r,
            vec![
                (1, "{\"a\":1}".to_owned()),
                (4, "{\"b\":2}".to_owned()),
                (5, "not json".to_owned()),
                (6, "{\"c\":3}".to_owned())
            ]
        );
        assert!(p.is_empty());
    }

    #[test]
    fn arrays_are_split_into_elements() {
        let (r, p) = collect(b" \n[\n {\"a\": [1, \"],\"]},\n {\"b\": {\"c\": 2}}, 3\n]\n");
        assert_eq!(
            r,
            vec![
                (3, "{\"a\": [1, \"],\"]}".to_owned()),
                (4, "{\"b\": {\"c\": 2}}".to_owned()),
                (4, "3".to_owned())
            ]
        );
        assert!(p.is_empty());
        let (_, p) = collect(b"[{\"a\":1}, {\"b\"");
        assert_eq!(p, vec!["Some(1): the JSON array is not closed with `]`".to_owned()]);
        let (r, p) = collect(b"[{\"a\":1}] x");
        assert_eq!(r.len(), 1);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn long_inputs_cross_batches() {
        let mut text = Vec::new();
        for i in 0..300_000 {
            text.extend_from_slice(format!("{{\"i\":{i},\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}}\n").as_bytes());
        }
        let (r, _) = collect(&text);
        assert_eq!(r.len(), 300_000);
        assert_eq!(r[299_999].0, 300_000);
        let mut arr = b"[".to_vec();
        arr.extend(text.iter().map(|b| if *b == b'\n' { b',' } else { *b }));
        arr.pop();
        arr.push(b']');
        let (r, p) = collect(&arr);
        assert_eq!(r.len(), 300_000, "{p:?}");
        assert!(r[299_999].1.starts_with("{\"i\":299999"));
    }
}
