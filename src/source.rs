//! Source files and positions.
//!
//! Every value read from a file keeps a [`Span`]: the 1-based line and column
//! (in characters) where it starts and ends. Diagnostics point at spans;
//! renderers read the source line back from [`SourceFile::line`].

use std::path::PathBuf;

/// Index of a file in the loaded source list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position in a file: 1-based line and 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub col: u32,
}

/// A range in a file, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// First character.
    pub start: Pos,
    /// One past the last character.
    pub end: Pos,
}

impl Span {
    /// The span of the first line and column of a file.
    pub const START: Span = Span {
        start: Pos { line: 1, col: 1 },
        end: Pos { line: 1, col: 1 },
    };

    /// A span covering a single position.
    pub fn at(line: u32, col: u32) -> Span {
        let p = Pos { line, col };
        Span { start: p, end: p }
    }

    /// A span inside a one-line scalar: `offset` and `len` count characters.
    ///
    /// Used to point at a part of a string value (a bad placeholder in a
    /// title, say). Falls back to the whole span for multi-line values.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        if self.start.line != self.end.line {
            return self;
        }
        let col = self.start.col.saturating_add(offset as u32);
        Span {
            start: Pos {
                line: self.start.line,
                col,
            },
            end: Pos {
                line: self.start.line,
                col: col.saturating_add(len as u32),
            },
        }
    }
}

/// A value together with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// One file read from disk.
///
/// Its `Debug` form shows the path and size, never the text: a settings file
/// can hold tokens and webhook headers, and a detection file can be large.
#[derive(Clone)]
pub struct SourceFile {
    /// Path as discovered (absolute or relative to the working directory).
    pub path: PathBuf,
    /// Path for reports: `/`-separated, relative to the current directory
    /// when the file is below it.
    pub display: String,
    /// Path relative to the project root, `/`-separated; the sort key of
    /// every report (cli-and-settings §1.6).
    pub rel: String,
    /// The text, or `None` when the file is not UTF-8.
    pub text: Option<String>,
    /// Byte offset of each line's start (files are below 4 GiB: the
    /// loader reads at most 64 MiB), built when a line is first asked for:
    /// most files are never quoted.
    line_starts: std::sync::OnceLock<Box<[u32]>>,
    /// Whether the text was set aside after loading (a lean load keeps
    /// only the texts a report may quote) and is read again on demand.
    released: bool,
}

impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("bytes", &self.text.as_ref().map(String::len))
            .finish_non_exhaustive()
    }
}

impl SourceFile {
    /// Builds a source file (its line index is built on first use).
    pub fn new(path: PathBuf, display: String, rel: String, text: Option<String>) -> Self {
        SourceFile {
            path,
            display,
            rel,
            text,
            line_starts: std::sync::OnceLock::new(),
            released: false,
        }
    }

    fn line_starts(&self) -> &[u32] {
        self.line_starts.get_or_init(|| {
            let text = self.text.as_deref().unwrap_or_default();
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)))
                .collect()
        })
    }

    /// Sets the text aside: a lean load keeps only the texts a report may
    /// quote (docs/design/016); [`SourceFile::reread`] reads it back.
    pub fn release(&mut self) {
        if self.text.take().is_some() {
            self.line_starts = std::sync::OnceLock::new();
            self.released = true;
        }
    }

    /// Reads a released text back from disk, for a report that quotes the
    /// file. A file that can no longer be read keeps no text (the report
    /// then shows positions without the source line).
    pub fn reread(&mut self, read: impl FnOnce(&std::path::Path) -> Option<String>) {
        if !self.released {
            return;
        }
        self.released = false;
        if let Some(text) = read(&self.path) {
            *self = SourceFile::new(
                std::mem::take(&mut self.path),
                std::mem::take(&mut self.display),
                std::mem::take(&mut self.rel),
                Some(text),
            );
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let text = self.text.as_deref()?;
        let i = (line as usize).checked_sub(1)?;
        let starts = self.line_starts();
        let start = *starts.get(i)? as usize;
        let end = starts.get(i + 1).map_or(text.len(), |&e| e as usize);
        Some(text.get(start..end)?.trim_end_matches(['\n', '\r']))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let s = SourceFile::new(
            PathBuf::from(".panther_settings.yml"),
            String::new(),
            String::new(),
            Some("api_token: secret".into()),
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(s.line(1), Some("api_token: secret"));
    }

    #[test]
    fn lines_are_found_by_number() {
        let s = SourceFile::new(
            PathBuf::from("r.yml"),
            String::new(),
            String::new(),
            Some("a: 1\r\n\nb: é\nlast".into()),
        );
        let lines: Vec<_> = (0..=5).map(|n| s.line(n)).collect();
        assert_eq!(lines, [None, Some("a: 1"), Some(""), Some("b: é"), Some("last"), None]);
        let mut released = s.clone();
        released.release();
        assert_eq!(released.line(1), None);
        released.reread(|_| Some("x\ny\n".into()));
        assert_eq!((released.line(2), released.line(3)), (Some("y"), Some("")));
    }
}
