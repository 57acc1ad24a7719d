//! JSON in and out, the way JavaScript does it.
//!
//! Output is compact and keeps key order (the workspace builds `serde_json` with
//! `preserve_order`), and numbers are written as `Number.prototype.toString` writes
//! them, so the bytes match `JSON.stringify` of the same value: `1` not `1.0`,
//! `1e+21` not `1e21`, `0` for negative zero. Integers are written exactly, also past
//! 2^53 where JavaScript would round them.
//!
//! Input is checked for nesting depth before it is parsed, so a deep payload is an
//! error and never a stack overflow.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter};

use super::DecodeError;

/// A `serde_json` formatter that writes numbers as JavaScript's `JSON.stringify` does.
///
/// Everything but floating-point numbers is written as `serde_json`'s compact
/// formatter writes it, which already matches JavaScript for strings (same escapes,
/// lowercase `\u00XX`) and integers. An `f32` is written with its own shortest
/// digits (`0.1`), not widened to an f64 first as a JavaScript `Float32Array`
/// element would be.
///
/// ```
/// use ferrio_proto::socketio::JsFormatter;
///
/// let mut out = Vec::new();
/// let mut ser = serde_json::Serializer::with_formatter(&mut out, JsFormatter);
/// serde::Serialize::serialize(&[1.0, 0.5, 1e21, -0.0], &mut ser).unwrap();
/// assert_eq!(out, b"[1,0.5,1e+21,0]");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsFormatter;

impl Formatter for JsFormatter {
    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        let mut buf = NumBuf::default();
        CompactFormatter.write_f32(&mut buf, value)?;
        write_js_layout(writer, buf.as_bytes())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let mut buf = NumBuf::default();
        CompactFormatter.write_f64(&mut buf, value)?;
        write_js_layout(writer, buf.as_bytes())
    }
}

/// Rewrites a finite number as `serde_json` writes it (`-1.5e+20`, `1.0`, `0.001`) in
/// the layout of ECMA-262 `Number::toString`.
///
/// Only the layout changes: `serde_json` already picks the shortest digits that read
/// back as the same number, breaking ties to even as JavaScript does.
fn write_js_layout<W: ?Sized + io::Write>(w: &mut W, number: &[u8]) -> io::Result<()> {
    let (negative, number) = match number.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, number),
    };
    let (mantissa, exp) = match number.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&number[..i], parse_exponent(&number[i + 1..])),
        None => (number, 0),
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    // Significant digits, and `n`: the value is 0.DIGITS × 10^n.
    let mut buf = [0u8; 32];
    let mut k = 0;
    let mut n = point as i32 + exp;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if k == 0 && b == b'0' {
            n -= 1;
        } else if k < buf.len() {
            buf[k] = b;
            k += 1;
        }
    }
    while k > 0 && buf[k - 1] == b'0' {
        k -= 1;
    }
    let digits = &buf[..k];
    if digits.is_empty() {
        // Zero, negative zero included, is `0`.
        return w.write_all(b"0");
    }
    if negative {
        w.write_all(b"-")?;
    }
    let k = k as i32;
    if k <= n && n <= 21 {
        w.write_all(digits)?;
        for _ in 0..n - k {
            w.write_all(b"0")?;
        }
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(n as usize);
        w.write_all(a)?;
        w.write_all(b".")?;
        w.write_all(b)?;
    } else if -6 < n && n <= 0 {
        w.write_all(b"0.")?;
        for _ in 0..-n {
            w.write_all(b"0")?;
        }
        w.write_all(digits)?;
    } else {
        w.write_all(&digits[..1])?;
        if k > 1 {
            w.write_all(b".")?;
            w.write_all(&digits[1..])?;
        }
        let sign = if n - 1 < 0 { "-" } else { "+" };
        write!(w, "e{sign}{}", (n - 1).unsigned_abs())?;
    }
    Ok(())
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits.iter().fold(0i32, |e, &d| {
        e.saturating_mul(10)
            .saturating_add(i32::from(d.wrapping_sub(b'0')))
    });
    if negative { -magnitude } else { magnitude }
}

/// A stack buffer for one formatted number (at most 24 bytes for an f64).
struct NumBuf {
    bytes: [u8; 40],
    len: usize,
}

impl Default for NumBuf {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl NumBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl io::Write for NumBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let end = self.len + data.len();
        let dst = self
            .bytes
            .get_mut(self.len..end)
            .ok_or(io::ErrorKind::WriteZero)?;
        dst.copy_from_slice(data);
        self.len = end;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends `value` as JavaScript's `JSON.stringify` would write it.
///
/// Fails only where `serde_json` itself would, for instance on a map whose keys are
/// not strings; a [`Value`] never fails.
pub fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, JsFormatter);
    value.serialize(&mut ser)
}

/// Appends a JSON value; infallible, unlike the generic [`write_json`].
pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    // Serialising a `Value` into a `Vec` has no failure path: keys are strings and
    // numbers are finite.
    let _ = write_json(value, out);
}

/// Parses a payload after checking that it nests at most `max_depth` levels and
/// holds at most `max_values` values.
pub(crate) fn parse(text: &str, max_depth: usize, max_values: usize) -> Result<Value, DecodeError> {
    check_shape(text, max_depth, max_values)?;
    from_str_lossy(text).map_err(|e| DecodeError::from_json(&e))
}

/// `serde_json::from_str`, except that a lone surrogate escape reads as U+FFFD
/// instead of failing.
///
/// `JSON.stringify` writes a lone UTF-16 surrogate as `\ud83d`, and JavaScript
/// strings cut inside a surrogate pair (an emoji sliced in half) are common. A
/// Rust string cannot hold one, and `serde_json` refuses it; the reference
/// server would take it, so refusing it would close a client's connection for
/// ordinary text. Only a failed parse looks for such escapes.
pub(crate) fn from_str_lossy<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text).or_else(|error| match replace_lone_surrogates(text) {
        Some(fixed) => serde_json::from_str(&fixed),
        None => Err(error),
    })
}

/// The text with each lone surrogate escape replaced by `\ufffd`; `None` when
/// it has none. Escapes only occur inside strings, and skipping every escaped
/// byte keeps `\\ud800` (a backslash, then letters) as it is.
pub(crate) fn replace_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let (mut out, mut copied, mut i) = (String::new(), 0, 0);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escaped_unit(bytes, i) else {
            // Any other escape: step over the escaped byte.
            i += 2;
            continue;
        };
        let lone = match unit {
            0xd800..=0xdbff if pairs_with_next(bytes, i + 6) => {
                i += 12;
                continue;
            }
            0xd800..=0xdfff => true,
            _ => false,
        };
        if lone {
            // `i` is at an ASCII backslash and the escape is six ASCII bytes, so
            // both ends are char boundaries.
            out.push_str(&text[copied..i]);
            out.push_str("\\ufffd");
            copied = i + 6;
        }
        i += 6;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The UTF-16 code unit of the `\uXXXX` escape (hex digits in either case)
/// starting at `at`, if there is one.
pub(crate) fn escaped_unit(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if !escape.starts_with(b"\\u") {
        return None;
    }
    escape[2..].iter().try_fold(0u16, |unit, &d| {
        let value = (d as char).to_digit(16)?;
        Some(unit << 4 | value as u16)
    })
}

/// Whether the escape at `at` is a low surrogate, completing a high one just
/// before it into a pair.
pub(crate) fn pairs_with_next(bytes: &[u8], at: usize) -> bool {
    escaped_unit(bytes, at).is_some_and(|u| (0xdc00..=0xdfff).contains(&u))
}

/// Scans the text for `[`, `{` and `,` outside strings: the nesting depth, and an
/// upper bound on the number of values (one, plus one per comma and per array or
/// object: every value but the first of a container follows a comma). Linear, no
/// recursion, no allocation.
fn check_shape(text: &str, max: usize, max_values: usize) -> Result<(), DecodeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut values = 1usize;
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(DecodeError::TooDeep { max });
                }
                values += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => values += 1,
            _ => continue,
        }
        if values > max_values {
            return Err(DecodeError::TooManyValues { max: max_values });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lone_surrogate_escapes_become_replacement_characters() {
        let fixed = |text: &str| replace_lone_surrogates(text);
        assert_eq!(fixed(r#""\ud83d""#).as_deref(), Some(r#""\ufffd""#));
        assert_eq!(
            fixed(r#"["\ude00é","\uDBFF"]"#).as_deref(),
            Some(r#"["\ufffdé","\ufffd"]"#)
        );
        // A high surrogate before a high or a plain escape is lone too.
        assert_eq!(
            fixed(r#""\ud800\ud800\u0041""#).as_deref(),
            Some(r#""\ufffd\ufffd\u0041""#)
        );
        assert_eq!(fixed(r#""x\ud83d""#).as_deref(), Some(r#""x\ufffd""#));
        // Pairs, other escapes and escaped backslashes are left alone.
        assert_eq!(fixed(r#""\ud83d\ude00""#), None);
        assert_eq!(fixed(r#""\\ud800""#), None);
        assert_eq!(fixed(r#""\n\u00e9\"""#), None);
        assert_eq!(fixed(r#""\ud8""#), None);
    }

    #[test]
    fn parsing_reads_lone_surrogates_as_replacement_characters() {
        let value = parse(
            r#"["a\ud83d", {"\udc00": 1}, "\ud83d\ude00"]"#,
            64,
            usize::MAX,
        )
        .unwrap();
        assert_eq!(value, json!(["a\u{fffd}", {"\u{fffd}": 1}, "😀"]));
        // Other errors stay errors.
        assert!(parse(r#"["\ud83d", ]"#, 64, usize::MAX).is_err());
        assert!(parse(r#"["\x"]"#, 64, usize::MAX).is_err());
    }

    fn js(x: f64) -> String {
        let mut out = Vec::new();
        write_json(&x, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    // The tie cases below are exact binary values, written out in full on purpose.
    #[allow(clippy::excessive_precision)]
    fn numbers_match_javascript() {
        // Expected strings are what `String(x)` prints in Node (also checked against
        // Node on 200 000 random doubles while writing this).
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (123456789.125, "123456789.125"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (2f64.powi(53), "9007199254740992"),
            // Two shortest candidates, equally close: JavaScript takes the even one.
            (1231546598918962.25, "1231546598918962.2"),
            (-257231509068292.625, "-257231509068292.62"),
        ];
        for (x, want) in cases {
            assert_eq!(js(x), want, "{x:?}");
        }
        let mut out = Vec::new();
        write_json(&[0.1f32, 3.0f32], &mut out).unwrap();
        assert_eq!(out, b"[0.1,3]");
        write_json(&f64::NAN, &mut out).unwrap();
        assert!(out.ends_with(b"null"));
    }

    #[test]
    fn output_is_compact_and_ordered() {
        let v: Value =
            serde_json::from_str(r#"{ "b" : [1, 2.50, "\u0001é\n"], "a" : null }"#).unwrap();
        let mut out = Vec::new();
        write_value(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"b":[1,2.5,"\u0001é\n"],"a":null}"#
        );
    }

    #[test]
    fn depth_is_bounded_before_parsing() {
        assert_eq!(parse("[[1]]", 2, usize::MAX), Ok(json!([[1]])));
        assert_eq!(
            parse("[[1]]", 1, usize::MAX),
            Err(DecodeError::TooDeep { max: 1 })
        );
        assert_eq!(parse(r#"["[[[{{"]"#, 1, usize::MAX), Ok(json!(["[[[{{"])));
        assert_eq!(parse(r#"["\"[[["]"#, 1, usize::MAX), Ok(json!(["\"[[["])));
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse(&deep, 64, usize::MAX),
            Err(DecodeError::TooDeep { max: 64 })
        );
        // Past serde_json's own limit the error is still an error, not an overflow.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            parse(&deep, 1000, usize::MAX),
            Err(DecodeError::InvalidJson { .. })
        ));
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(matches!(
            parse("[1,", 64, usize::MAX),
            Err(DecodeError::InvalidJson { .. })
        ));
        assert!(matches!(
            parse("{'a':1}", 64, usize::MAX),
            Err(DecodeError::InvalidJson { .. })
        ));
    }
}
