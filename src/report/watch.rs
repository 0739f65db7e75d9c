//! The lines `--watch` prints around each run's report: before it a
//! timestamp line, `[14:03:07] watching: every item (Ctrl-C to stop)` for
//! the first run and `[14:03:09] changed: rules/a.yml, rules/b.py` for the
//! others; a run that failed as a whole is `[14:03:09] error: <why>`.
//! The report itself is the command's usual one, in its format.

use std::io::{self, Write};

/// The local time of day, `HH:MM:SS`.
fn now() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// The line before a run: `None` for the first run, else the changed
/// files.
///
/// # Errors
/// Writing to `out` failed.
pub fn header(out: &mut dyn Write, changed: Option<&[String]>) -> io::Result<()> {
    match changed {
        None => writeln!(out, "[{}] watching: every item (Ctrl-C to stop)", now()),
        Some(files) => writeln!(out, "[{}] changed: {}", now(), files.join(", ")),
    }
}

/// A run that failed as a whole; the watch goes on.
///
/// # Errors
/// Writing to `out` failed.
pub fn failed(out: &mut dyn Write, why: &str) -> io::Result<()> {
    writeln!(out, "[{}] error: {}", now(), crate::text::escape_control(why))
}
