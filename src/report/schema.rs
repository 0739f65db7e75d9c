//! The output of `detect schema`: the document as indented JSON with a
//! final newline, keys in the order the generator put them.

use std::io::{self, Write};

/// Writes `document` to `out`.
///
/// # Errors
/// A failed write.
pub fn write(out: &mut dyn Write, document: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document)?;
    out.write_all(b"\n")?;
    out.flush()
}
