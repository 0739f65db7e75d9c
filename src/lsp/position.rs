//! Positions: ours are 1-based line and column counted in characters; the
//! protocol's are 0-based line and column counted in UTF-16 code units.

use lsp_types::{Position, Range};

use crate::source::{Pos, SourceFile, Span};

/// The UTF-16 column of the 1-based character column `col` of `line`
/// (clamped to the end of the line).
pub fn utf16_col(line: &str, col: u32) -> u32 {
    line.chars()
        .take(col.saturating_sub(1) as usize)
        .map(|c| c.len_utf16() as u32)
        .sum()
}

/// The 1-based character column of the UTF-16 column `character` of
/// `line` (clamped to the end of the line; inside a surrogate pair,
/// rounded up to the next character).
pub fn char_col(line: &str, character: u32) -> u32 {
    let mut units = 0;
    let mut col = 1;
    for c in line.chars() {
        if units >= character {
            break;
        }
        units += c.len_utf16() as u32;
        col += 1;
    }
    col
}

/// The protocol position of a position of `src`.
pub fn to_lsp(src: &SourceFile, pos: Pos) -> Position {
    let line = pos.line.saturating_sub(1);
    // A file that is not UTF-8 has no text: its columns count the
    // characters of the valid part, taken as one unit each.
    let character = match &src.text {
        Some(_) => src.line(pos.line).map_or(0, |l| utf16_col(l, pos.col)),
        None => pos.col.saturating_sub(1),
    };
    Position { line, character }
}

/// The protocol range of a span of `src`.
pub fn range(src: &SourceFile, span: Span) -> Range {
    Range {
        start: to_lsp(src, span.start),
        end: to_lsp(src, span.end),
    }
}

/// The text of a 0-based line of `text`, without its line break.
pub fn line_of(text: &str, line: u32) -> Option<&str> {
    text.split('\n')
        .nth(line as usize)
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Our position of a protocol position in `text`.
pub fn from_lsp(text: &str, p: Position) -> Pos {
    let col = line_of(text, p.line).map_or(1, |l| char_col(l, p.character));
    Pos {
        line: p.line.saturating_add(1),
        col,
    }
}

/// The byte offset of a protocol position in `text`, clamped to the end of
/// its line (and of the text).
pub fn offset(text: &str, p: Position) -> usize {
    let mut start = 0;
    for _ in 0..p.line {
        match text.get(start..).and_then(|t| t.find('\n')) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let rest = text.get(start..).unwrap_or("");
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let line = rest.get(..line_end).unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= p.character {
            return start + i;
        }
        units += c.len_utf16() as u32;
    }
    start + line.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn src(text: &str) -> SourceFile {
        SourceFile::new(
            PathBuf::from("a.yml"),
            String::new(),
            String::new(),
            Some(text.to_owned()),
        )
    }

    #[test]
    fn ascii_columns_shift_by_one() {
        let s = src("RuleID: a\nSevrity: High\n");
        let r = range(
            &s,
            Span {
                start: Pos { line: 2, col: 1 },
                end: Pos { line: 2, col: 8 },
            },
        );
        assert_eq!(r.start, Position { line: 1, character: 0 });
        assert_eq!(r.end, Position { line: 1, character: 7 });
    }

    #[test]
    fn non_ascii_counts_utf16_units() {
        // `é` is one unit, `😀` two: column 3 (1-based, characters) of
        // "é😀xy" is after both, 1 + 2 = 3 units; column 4 after `x`.
        let s = src("é😀xy\n");
        assert_eq!(to_lsp(&s, Pos { line: 1, col: 3 }), Position { line: 0, character: 3 });
        assert_eq!(to_lsp(&s, Pos { line: 1, col: 4 }), Position { line: 0, character: 4 });
        assert_eq!(
            from_lsp("é😀xy\n", Position { line: 0, character: 3 }),
            Pos { line: 1, col: 3 }
        );
        // Inside the surrogate pair: rounded up to the next character.
        assert_eq!(
            from_lsp("é😀xy\n", Position { line: 0, character: 2 }),
            Pos { line: 1, col: 3 }
        );
        // Byte offset: é is 2 bytes, 😀 4.
        assert_eq!(offset("é😀xy\n", Position { line: 0, character: 3 }), 6);
    }

    #[test]
    fn out_of_range_positions_are_clamped() {
        let s = src("ab\r\ncd");
        assert_eq!(to_lsp(&s, Pos { line: 1, col: 40 }), Position { line: 0, character: 2 });
        assert_eq!(to_lsp(&s, Pos { line: 9, col: 1 }), Position { line: 8, character: 0 });
        assert_eq!(offset("ab\r\ncd", Position { line: 0, character: 9 }), 2);
        assert_eq!(offset("ab\r\ncd", Position { line: 1, character: 1 }), 5);
        assert_eq!(offset("ab\r\ncd", Position { line: 7, character: 1 }), 6);
    }
}
