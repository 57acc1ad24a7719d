//! The offsets the in-memory log stamps on packets: a counter, written as a
//! short base-64 string (opaque to the client, as Node's `yeast()` ids are).

/// The digits, in order of value: URL-safe, so an offset needs no escaping.
const DIGITS: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// The most digits a `u64` takes (64 bits, 6 per digit).
const MAX_DIGITS: usize = 11;

/// Writes an offset: its base-64 digits, most significant first, without
/// leading zeros.
pub(crate) fn format(mut offset: u64) -> String {
    let mut digits = [0u8; MAX_DIGITS];
    let mut at = MAX_DIGITS;
    loop {
        at -= 1;
        // The index is below 64: in bounds.
        digits[at] = DIGITS[(offset % 64) as usize];
        offset /= 64;
        if offset == 0 {
            break;
        }
    }
    digits[at..].iter().map(|&d| char::from(d)).collect()
}

/// Reads an offset a client sent back; `None` unless [`format`] could have
/// written it.
pub(crate) fn parse(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > MAX_DIGITS || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.bytes().try_fold(0u64, |value, byte| {
        let digit = DIGITS.iter().position(|&d| d == byte)?;
        value.checked_mul(64)?.checked_add(digit as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_back_what_was_written() {
        for offset in [0, 1, 63, 64, 4095, 4096, 1 << 40, u64::MAX - 1, u64::MAX] {
            let text = format(offset);
            assert!(text.len() <= MAX_DIGITS);
            assert_eq!(parse(&text), Some(offset), "{text}");
        }
        assert_eq!(format(0), "0");
        assert_eq!(format(64), "10");
        assert_eq!(format(u64::MAX), "F__________");
    }

    #[test]
    fn malformed_offsets_are_refused() {
        for text in [
            "",
            "00",
            "01",
            "a.b",
            "1796182534707-0",
            "G__________",
            "___________",
            "123456789012",
            "é",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
