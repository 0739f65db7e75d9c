//! Text shown on a terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes C0 controls (but tab), DEL, C1 controls, the line and
/// paragraph separators and the bidirectional overrides and isolates, so
/// text from a file, a server or a webhook reply cannot move the cursor,
/// clear the screen, start a fake line or reorder what is shown: `\n`,
/// `\r`, `\e` … as `\n`, `\r`, `\x1b`, the others as `\u{9b}`, `\u{202e}`.
/// The one escape of every text shown on a terminal.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    // Nearly every text is printable ASCII: checked a byte at a time,
    // which the compiler vectorises.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t') || !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Writing to a String cannot fail.
            c if bad(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if bad(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_control;

    #[test]
    fn escapes_controls_and_keeps_the_rest() {
        assert_eq!(escape_control("a\tb é"), "a\tb é");
        assert!(matches!(escape_control("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape_control("\x1b[2J\rPassed: 99\n"), "\\x1b[2J\\rPassed: 99\\n");
        assert_eq!(escape_control("\x7f\u{9b}\u{85}"), "\\x7f\\u{9b}\\u{85}");
        assert_eq!(
            escape_control("a\u{202e}b\u{2066}c\u{2069}\u{2028}"),
            "a\\u{202e}b\\u{2066}c\\u{2069}\\u{2028}"
        );
    }
}
