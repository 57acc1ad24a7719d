//! Lines made of what the server chose (event names, ids, namespaces,
//! reasons, arguments) are printed with every control character escaped, so
//! a server cannot move the cursor, retitle the terminal or write to the
//! clipboard through OSC/CSI sequences.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The line with each C0 control character, DEL and each C1 control
/// character written as a JSON escape (`\u001b`); the line as it is when it
/// has none.
pub(crate) fn printable(line: &str) -> Cow<'_, str> {
    if !line.chars().any(is_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if is_control(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(printable("plain é 😀"), Cow::Borrowed(_)));
        assert_eq!(printable("\u{1b}]0;x\u{7}"), "\\u001b]0;x\\u0007");
        assert_eq!(printable("a\u{7f}b\u{9b}c\nd"), "a\\u007fb\\u009bc\\u000ad");
    }
}
