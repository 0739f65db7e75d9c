//! Text from outside (server replies, file contents) made safe to print.
//!
//! A terminal obeys control characters: an escape sequence in a backend
//! error message can recolour, move the cursor, rewrite the line the user
//! reads or set the window title. Every such text is passed through
//! [`escape_control`] (or [`escape_control_line`] where it must stay on one
//! line) before it is printed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes C0 controls (U+0000–U+001F), DEL and C1 controls
/// (U+0080–U+009F), keeping `\n` (for multi-line blocks): `\t` and `\r`
/// as themselves written with a backslash, other C0 controls and DEL as
/// `\x1b`, C1 controls as `\u{9b}`. Borrows when there is nothing to
/// escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// As [`escape_control`], but also escapes `\n` (as `\n`), for text that
/// must stay on one line (a message after `error: `).
pub fn escape_control_line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

fn escape(s: &str, keep_newline: bool) -> Cow<'_, str> {
    let needs = |c: char| c.is_control() && !(keep_newline && c == '\n');
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_del_and_c1_keeps_newlines_unless_asked() {
        assert!(matches!(escape_control("plain text, ünïcode ✓"), Cow::Borrowed(_)));
        assert_eq!(escape_control("a\nb"), "a\nb");
        assert_eq!(escape_control_line("a\nb"), "a\\nb");
        assert_eq!(
            escape_control("\u{1b}[31mred\u{7}\t\r\u{0}\u{7f}"),
            "\\x1b[31mred\\x07\\t\\r\\x00\\x7f"
        );
        assert_eq!(escape_control("x\u{9b}2Jy\u{85}"), "x\\u{9b}2Jy\\u{85}");
        // U+00A0 and above are not controls.
        assert_eq!(escape_control("\u{a0}"), "\u{a0}");
    }
}
