//! What a run writes as it goes: alert lines (`--alerts-out`, else
//! stdout) and signal lines (`--signals-out`). The first write error is
//! kept and reported when the outputs are finished, so one full disk does
//! not stop the run half-way through an input.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::alerting::group::Alert;
use crate::error::{Error, Result};

/// The outputs of one run.
pub(super) struct Outputs<'o> {
    alerts: Option<BufWriter<File>>,
    signals: Option<BufWriter<File>>,
    out: &'o mut dyn Write,
    error: Option<io::Error>,
}

fn create(path: Option<&Path>) -> Result<Option<BufWriter<File>>> {
    match path {
        Some(p) => Ok(Some(BufWriter::new(File::create(p).map_err(|source| Error::Read {
            path: p.to_path_buf(),
            source,
        })?))),
        None => Ok(None),
    }
}

impl<'o> Outputs<'o> {
    /// Creates the files; alerts go to `out` without `alerts_out`.
    pub(super) fn create(
        alerts_out: Option<&Path>,
        signals_out: Option<&Path>,
        out: &'o mut dyn Write,
    ) -> Result<Self> {
        Ok(Outputs {
            alerts: create(alerts_out)?,
            signals: create(signals_out)?,
            out,
            error: None,
        })
    }

    /// Whether signal lines are written.
    pub(super) fn keeps_signals(&self) -> bool {
        self.signals.is_some()
    }

    /// Writes one signal line (with its newline), if signals are written.
    pub(super) fn signal(&mut self, line: &str) {
        if let Some(w) = self.signals.as_mut() {
            if let Err(e) = w.write_all(line.as_bytes()) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Writes one alert line.
    pub(super) fn alert(&mut self, a: &Alert) {
        let mut line = a.payload.to_json();
        line.push('\n');
        let r = match self.alerts.as_mut() {
            Some(w) => w.write_all(line.as_bytes()),
            None => self.out.write_all(line.as_bytes()),
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// Makes what was written durable (flushes the signals, syncs the
    /// alerts file, flushes stdout) before anything is sent.
    ///
    /// # Errors
    /// The first write error of the run; a closed stdout is not one.
    pub(super) fn finish(mut self) -> Result<()> {
        if let Some(mut w) = self.signals.take() {
            if let Err(e) = w.flush() {
                self.error.get_or_insert(e);
            }
        }
        if let Some(w) = self.alerts.take() {
            match w.into_inner() {
                Ok(f) => {
                    // Devices such as /dev/null cannot be synced (EINVAL).
                    if let Err(e) = f.sync_all() {
                        if e.kind() != io::ErrorKind::InvalidInput {
                            self.error.get_or_insert(e);
                        }
                    }
                }
                Err(e) => {
                    self.error.get_or_insert(e.into_error());
                }
            }
        }
        if let Err(e) = self.out.flush() {
            if e.kind() != io::ErrorKind::BrokenPipe {
                self.error.get_or_insert(e);
            }
        }
        match self.error {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
            _ => Ok(()),
        }
    }
}
