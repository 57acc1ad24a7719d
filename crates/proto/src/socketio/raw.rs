//! JSON kept as the text it arrived as, for arguments that are only passed on.
//!
//! Most servers forward what they receive (an echo, a chat message to a room, an
//! ack with the same data). Parsing such an argument into a [`Value`] tree and
//! writing it back costs an allocation per string, array and object; copying its
//! text costs none. The text can be copied as it is only when it is already what
//! `JSON.stringify` would write for the value it holds, so [`RawJson`] only holds
//! text in that canonical form; anything else is parsed as before.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Payload;
use super::json::{JsFormatter, escaped_unit, pairs_with_next, replace_lone_surrogates};

/// One JSON value as text, exactly as `JSON.stringify` writes it: compact, no
/// escape that `JSON.stringify` would not write, numbers in JavaScript layout, no
/// key twice in an object.
///
/// Writing it out copies the text: it needs no parsing and no formatting. Reading it
/// parses it ([`deserialize`](Self::deserialize), [`to_value`](Self::to_value)).
/// Cloning shares the text. The [`Decoder`](super::Decoder) hands out the arguments
/// of events and acks in this form when the sender wrote them canonically, which
/// every JavaScript client does.
///
/// ```
/// use ferrio_proto::socketio::RawJson;
/// use serde_json::json;
///
/// let raw = RawJson::new(r#"{"t":1,"p":"xx"}"#).expect("canonical");
/// assert_eq!(raw.to_value(), json!({"t": 1, "p": "xx"}));
/// // Not what JSON.stringify writes: spaces, `1.0`, a needless escape.
/// assert!(RawJson::new(r#"{ "t": 1 }"#).is_none());
/// assert!(RawJson::new("1.0").is_none());
/// assert!(RawJson::new(r#""\u0041""#).is_none());
/// ```
#[derive(Clone)]
pub struct RawJson {
    text: Arc<str>,
    /// The text with each lone surrogate escape written `\ufffd`, when it has
    /// any: what reading it sees. Same length, so the same offsets apply.
    readable: Option<Arc<str>>,
    start: usize,
    end: usize,
}

/// Objects with more keys than this are not kept raw: checking them for a repeated
/// key would take a set, and they are rare in events.
const MAX_KEYS: usize = 16;

/// Nesting kept raw at most, below `serde_json`'s own limit of 128 so that every
/// raw text also parses.
const MAX_RAW_DEPTH: usize = 64;

impl RawJson {
    /// The text as raw JSON if it is one JSON value in canonical form (see the type's
    /// documentation); `None` otherwise, also for valid JSON written another way.
    pub fn new(text: &str) -> Option<Self> {
        Self::new_within(text, MAX_RAW_DEPTH)
    }

    /// The value written as `JSON.stringify` writes it.
    pub fn from_value(value: &Value) -> Self {
        let mut out = Vec::new();
        super::json::write_value(value, &mut out);
        // The JSON writer writes UTF-8.
        let text = String::from_utf8(out).unwrap_or_default();
        Self::whole(text.into())
    }

    /// Like [`new`](Self::new), nesting at most `max_depth` levels.
    pub(crate) fn new_within(text: &str, max_depth: usize) -> Option<Self> {
        let mut scan = Scan::new(text, max_depth, usize::MAX);
        scan.value(0)?;
        if scan.pos != text.len() {
            return None;
        }
        Some(Self::whole(text.into()).readable_if(scan.lone_surrogates))
    }

    /// The items of `text`, if it is a canonical array (checked with
    /// [`new_within`](Self::new_within)'s rules) of at most `max_values` values in
    /// all, each as [`Payload::Raw`] sharing one copy of the text: validating and
    /// splitting in one pass.
    pub(crate) fn array_items(
        text: &str,
        max_depth: usize,
        max_values: usize,
    ) -> Option<Vec<Payload>> {
        if !text.starts_with('[') || max_depth.min(MAX_RAW_DEPTH) == 0 {
            return None;
        }
        // Copied before it is checked: text that is not canonical is rare.
        let mut whole = Self::whole(text.into());
        let mut scan = Scan::new(text, max_depth, max_values);
        scan.pos = 1;
        // The array itself.
        scan.values = 1;
        let mut items = Vec::new();
        if scan.eat(b']').is_some() {
            scan.count_empty()?;
        } else {
            loop {
                let start = scan.pos;
                scan.value(1)?;
                items.push(Payload::Raw(whole.slice(start, scan.pos)));
                match scan.peek()? {
                    b',' => scan.pos += 1,
                    b']' => {
                        scan.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if scan.pos != text.len() {
            return None;
        }
        if scan.lone_surrogates {
            whole = whole.readable_if(true);
            for item in &mut items {
                if let Payload::Raw(raw) = item {
                    raw.readable.clone_from(&whole.readable);
                }
            }
        }
        Some(items)
    }

    fn whole(text: Arc<str>) -> Self {
        let end = text.len();
        Self {
            text,
            readable: None,
            start: 0,
            end,
        }
    }

    /// Keeps a readable copy of the text if it has lone surrogate escapes.
    fn readable_if(mut self, lone_surrogates: bool) -> Self {
        if lone_surrogates {
            self.readable = replace_lone_surrogates(&self.text).map(Arc::from);
        }
        self
    }

    /// The text as it reads: [`as_str`](Self::as_str), with each lone surrogate
    /// escape written `\ufffd`.
    pub(crate) fn readable_str(&self) -> &str {
        match &self.readable {
            Some(readable) => readable.get(self.start..self.end).unwrap_or_default(),
            None => self.as_str(),
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.text[self.start..self.end]
    }

    /// The value as a `T`.
    ///
    /// A lone surrogate escape (JavaScript text cut inside a surrogate pair)
    /// reads as U+FFFD, as a Rust string cannot hold it; the raw text, sent on
    /// as it is, keeps it.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.readable_str())
    }

    /// The value as a [`Value`] tree.
    pub fn to_value(&self) -> Value {
        // Canonical text is valid JSON nesting less than serde_json's limit, so
        // this never fails.
        self.deserialize().unwrap_or(Value::Null)
    }

    /// The items, if the value is an array; each shares this value's text.
    pub fn items(&self) -> Option<RawItems<'_>> {
        (self.as_str().as_bytes().first() == Some(&b'[')).then_some(RawItems {
            array: self,
            pos: 1,
        })
    }

    /// The string, if the value is one: borrowed unless it has escapes.
    pub fn as_string(&self) -> Option<Cow<'_, str>> {
        let text = self.as_str();
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            return self.deserialize::<String>().ok().map(Cow::Owned);
        }
        Some(Cow::Borrowed(inner))
    }

    /// Whether the value is a number.
    pub fn is_number(&self) -> bool {
        self.as_str()
            .as_bytes()
            .first()
            .is_some_and(|&b| b == b'-' || b.is_ascii_digit())
    }

    fn slice(&self, start: usize, end: usize) -> Self {
        Self {
            text: self.text.clone(),
            readable: self.readable.clone(),
            start: self.start + start,
            end: self.start + end,
        }
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.as_str())
    }
}

/// Two raw values are equal when they hold equal values (the text of equal
/// objects may differ in key order, as `Value` equality ignores it).
impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl Eq for RawJson {}

/// The items of a raw array, from [`RawJson::items`].
#[derive(Debug, Clone)]
pub struct RawItems<'a> {
    array: &'a RawJson,
    pos: usize,
}

impl Iterator for RawItems<'_> {
    type Item = RawJson;

    fn next(&mut self) -> Option<RawJson> {
        let bytes = self.array.as_str().as_bytes();
        if bytes.get(self.pos).is_none_or(|&b| b == b']') {
            return None;
        }
        let start = self.pos;
        let end = skip_value(bytes, start);
        // Past the `,`, or onto the `]`.
        self.pos = if bytes.get(end) == Some(&b',') {
            end + 1
        } else {
            end
        };
        Some(self.array.slice(start, end))
    }
}

/// The end of the value starting at `pos` in canonical text: only strings and
/// brackets need attention, as the text is known to be valid.
fn skip_value(bytes: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while let Some(next) = find_structural(bytes, pos) {
        pos = next;
        match bytes[pos] {
            b'"' => {
                pos = skip_string(bytes, pos);
                if depth == 0 {
                    return pos;
                }
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                if depth == 0 {
                    return pos;
                }
                depth -= 1;
                if depth == 0 {
                    return pos + 1;
                }
            }
            // A comma.
            _ if depth == 0 => return pos,
            _ => {}
        }
        pos += 1;
    }
    bytes.len()
}

/// Past the closing quote of the string whose opening quote is at `pos`.
fn skip_string(bytes: &[u8], mut pos: usize) -> usize {
    pos += 1;
    while let Some(next) = find_string_special(bytes, pos) {
        if bytes[next] == b'"' {
            return next + 1;
        }
        // A backslash and the character it escapes.
        pos = next + 2;
    }
    bytes.len()
}

/// Bytes that matter between values: `"` `[` `]` `{` `}` `,`.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let special = *b"\"[]{},";
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

/// The first byte from `from` on that is structural.
fn find_structural(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter()
        .position(|&b| STRUCTURAL[usize::from(b)])
        .map(|i| from + i)
}

/// The first byte from `from` on that ends a run of plain string characters: `"`,
/// `\`, or a control character. Eight bytes at a time, as strings are most of an
/// event's text.
fn find_string_special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Bit 7 of each byte that is zero; exact for the lowest such byte, which is
    // all that is used.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let quote = zero(v ^ (ONES * u64::from(b'"')));
        let backslash = zero(v ^ (ONES * u64::from(b'\\')));
        // Below 0x20: subtracting 0x20 borrows into bit 7 (exact for the lowest).
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
        let hits = quote | backslash | control;
        if hits != 0 {
            return Some(from + offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| from + offset + i)
}

/// A recognizer of canonical JSON: `None` as soon as the text is not valid JSON, or
/// not written the way `JSON.stringify` writes it. It never needs to say why: the
/// caller then parses the text with `serde_json`, which does.
struct Scan<'a> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// Values seen so far, and how many may be.
    values: usize,
    max_values: usize,
    /// Whether a string holds a lone surrogate escape.
    lone_surrogates: bool,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str, max_depth: usize, max_values: usize) -> Self {
        Self {
            bytes: text.as_bytes(),
            pos: 0,
            max_depth: max_depth.min(MAX_RAW_DEPTH),
            values: 0,
            max_values,
            lone_surrogates: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// One value; `depth` arrays and objects enclose it.
    fn value(&mut self, depth: usize) -> Option<()> {
        self.values += 1;
        if self.values > self.max_values {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'[' => self.array(depth + 1),
            b'{' => self.object(depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// An empty array or object counts twice, as in the parser's pre-scan (which
    /// counts one value per comma and per bracket), so both agree on every limit.
    fn count_empty(&mut self) -> Option<()> {
        self.values += 1;
        (self.values <= self.max_values).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > self.max_depth {
            return None;
        }
        self.pos += 1;
        if self.eat(b']').is_some() {
            return self.count_empty();
        }
        loop {
            self.value(depth)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > self.max_depth {
            return None;
        }
        self.pos += 1;
        if self.eat(b'}').is_some() {
            return self.count_empty();
        }
        // Canonical strings are equal exactly when their texts are, so a repeated
        // key is a repeated slice.
        // Offsets as u32 keep the array small enough to clear without a memset
        // call; a payload past 4 GiB is only not kept raw.
        let mut keys = [(0u32, 0u32); MAX_KEYS];
        let mut count = 0;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let (start, end) = self.string()?;
            let key = (u32::try_from(start).ok()?, u32::try_from(end).ok()?);
            let text = &self.bytes[start..end];
            let seen = |k: &(u32, u32)| &self.bytes[k.0 as usize..k.1 as usize] == text;
            if count == MAX_KEYS || keys[..count].iter().any(seen) {
                return None;
            }
            keys[count] = key;
            count += 1;
            self.eat(b':')?;
            self.value(depth)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string with only the escapes `JSON.stringify` writes; returns the range of
    /// the whole string, quotes included.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        self.pos += 1;
        loop {
            // Most bytes need no look: skip to the next one that does.
            self.pos = find_string_special(self.bytes, self.pos)?;
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'"' => return Some((start, self.pos)),
                b'\\' => {
                    let escaped = self.peek()?;
                    self.pos += 1;
                    match escaped {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    }
                }
                // Control characters must be escaped, and here as `\u00XX`.
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// After `\\u`: the four lowercase hex digits `JSON.stringify` writes, which it
    /// does only for a control character without a short escape and for a lone
    /// surrogate (a string cut inside a pair). Any other character it writes as
    /// itself, and a whole pair as the one character.
    fn unicode_escape(&mut self) -> Option<()> {
        // `self.pos` is just past the `\u`.
        let escape = self.pos - 2;
        let unit = escaped_unit(self.bytes, escape)?;
        if self.bytes[self.pos..escape + 6]
            .iter()
            .any(u8::is_ascii_uppercase)
        {
            return None;
        }
        self.pos = escape + 6;
        match unit {
            0x08 | 0x09 | 0x0a | 0x0c | 0x0d => None,
            0x00..=0x1f => Some(()),
            0xdc00..=0xdfff => {
                self.lone_surrogates = true;
                Some(())
            }
            0xd800..=0xdbff if !pairs_with_next(self.bytes, self.pos) => {
                self.lone_surrogates = true;
                Some(())
            }
            _ => None,
        }
    }

    /// A number, in the layout JavaScript's `Number.prototype.toString` gives it.
    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        self.eat(b'-');
        let digits_start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.bytes[digits_start..self.pos];
        if digits.is_empty() || (digits[0] == b'0' && digits.len() > 1) {
            return None;
        }
        let is_float = matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        if !is_float {
            // An integer serde_json keeps as an integer and writes back as it is;
            // `-0` is written `0`, and longer ones may not fit a u64 or an i64.
            let negative_zero = start != digits_start && digits == b"0";
            return (!negative_zero && digits.len() <= 18).then_some(());
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            self.pos += 1;
        }
        // Rare in events: compare with what the writer makes of the number.
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?;
        let number: f64 = serde_json::from_str(text).ok()?;
        let mut out = Vec::with_capacity(24);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, JsFormatter);
        serde::Serialize::serialize(&number, &mut ser).ok()?;
        (out == text.as_bytes()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn canonical(text: &str) -> bool {
        RawJson::new(text).is_some()
    }

    #[test]
    fn accepts_what_json_stringify_writes() {
        for text in [
            "0",
            "-1",
            "123456789012345678",
            "1.5",
            "-0.25",
            "1e+21",
            "1e-7",
            "0.000001",
            "true",
            "false",
            "null",
            r#""""#,
            r#""a\"b\\c\n\t\r\b\féü😀""#,
            "[]",
            "{}",
            r#"[1,"a",[{}],{"a":[null]}]"#,
            r#"{"t":1732560000,"p":"xxxx","n":{"a":1,"b":2}}"#,
        ] {
            assert!(canonical(text), "{text}");
            let raw = RawJson::new(text).unwrap();
            let mut out = Vec::new();
            super::super::write_json(&raw.to_value(), &mut out).unwrap();
            assert_eq!(out, text.as_bytes(), "writes back as it was");
        }
    }

    #[test]
    fn refuses_other_layouts_and_invalid_json() {
        for text in [
            "",
            " 1",
            "1 ",
            "[1, 2]",
            r#"{"a" :1}"#,
            "01",
            "-0",
            "1.0",
            "1e21",
            "1E+21",
            "0.0000001",
            "1234567890123456789",
            r#""\u0041""#,
            r#""\/""#,
            "\"\u{1}\"",
            r#"{"a":1,"a":2}"#,
            "[1,]",
            "[,1]",
            r#"{"a":1,}"#,
            r#"{1:2}"#,
            "tru",
            "nul",
            "[1",
            r#""abc"#,
            "1.",
            "-",
            "+1",
            "NaN",
            "[][]",
        ] {
            assert!(!canonical(text), "{text}");
        }
    }

    #[test]
    fn depth_and_key_count_are_bounded() {
        assert!(RawJson::new_within("[[1]]", 2).is_some());
        assert!(RawJson::new_within("[[1]]", 1).is_none());
        assert!(RawJson::new_within(r#"{"a":{}}"#, 1).is_none());
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(RawJson::new_within(&deep, 1000).is_none());
        let keys = |n: usize| {
            let entries: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{i}"#)).collect();
            format!("{{{}}}", entries.join(","))
        };
        assert!(canonical(&keys(MAX_KEYS)));
        assert!(!canonical(&keys(MAX_KEYS + 1)));
    }

    #[test]
    fn items_share_the_text() {
        let raw = RawJson::new(r#"["echo",{"a":[1,"],"]},"x,y",[],2,"\\",["\"]"]]"#).unwrap();
        let items: Vec<RawJson> = raw.items().unwrap().collect();
        let texts: Vec<&str> = items.iter().map(RawJson::as_str).collect();
        assert_eq!(
            texts,
            [
                "\"echo\"",
                r#"{"a":[1,"],"]}"#,
                "\"x,y\"",
                "[]",
                "2",
                r#""\\""#,
                r#"["\"]"]"#
            ]
        );
        assert_eq!(items[0].as_string().as_deref(), Some("echo"));
        assert!(items[4].is_number() && !items[0].is_number());
        assert_eq!(RawJson::new("[]").unwrap().items().unwrap().count(), 0);
        assert!(RawJson::new("{}").unwrap().items().is_none());
        assert_eq!(
            RawJson::new(r#""a\"b""#).unwrap().as_string().as_deref(),
            Some("a\"b")
        );
    }

    #[test]
    fn string_specials_are_found_at_any_offset() {
        for len in 0..20 {
            for special in [b'"', b'\\', b'\n', 0x1f, 0] {
                let mut text = vec![b'x'; len];
                assert_eq!(find_string_special(&text, 0), None);
                text.push(special);
                text.extend_from_slice(b"\"\\zzzzzzzzz");
                assert_eq!(find_string_special(&text, 0), Some(len), "{len} {special}");
                // Bytes just above the specials, and non-ASCII, are plain.
                let plain = [b'#', b']', b' ', 0x7f, 0xc3, 0xa9, 0x21, 0x5d, 0xe2];
                let mut text: Vec<u8> = plain.iter().cycle().take(len).copied().collect();
                text.push(special);
                assert_eq!(find_string_special(&text, 0), Some(len), "{len} {special}");
            }
        }
        assert_eq!(find_string_special(b"ab\"", 3), None);
        assert_eq!(find_string_special(b"ab\"", 4), None);
    }

    #[test]
    fn arrays_split_while_checked() {
        let split = |text: &str, depth: usize| {
            RawJson::array_items(text, depth, usize::MAX).map(|items| {
                items
                    .iter()
                    .map(|i| match i {
                        Payload::Raw(raw) => raw.as_str().to_owned(),
                        other => panic!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            split(r#"["echo",{"t":[1,2]},"a,b",null]"#, 64).unwrap(),
            [r#""echo""#, r#"{"t":[1,2]}"#, r#""a,b""#, "null"]
        );
        assert_eq!(split("[]", 64).unwrap(), Vec::<String>::new());
        for bad in [
            "",
            "{}",
            "[",
            "[1,]",
            "[1] ",
            "[1 ]",
            r#"[{"a":1,"a":1}]"#,
            "[1.0]",
            "[]]",
        ] {
            assert_eq!(split(bad, 64), None, "{bad}");
        }
        assert!(split("[[1]]", 2).is_some());
        assert_eq!(split("[[1]]", 1), None);
        assert_eq!(split("[]", 0), None);
    }

    #[test]
    fn unicode_escapes_are_raw_only_as_json_stringify_writes_them() {
        // JSON.stringify escapes a control character without a short form, and a
        // lone surrogate (a string cut inside a pair), in lowercase hex.
        for canonical in [
            r#""\u0001""#,
            r#""a\u001fb""#,
            r#""cut \ud83d""#,
            r#""\ude00 cut""#,
            r#""\ud83d\ud83d""#,
            r#"{"\udbff":"\udc00x"}"#,
        ] {
            let raw = RawJson::new(canonical);
            assert_eq!(
                raw.as_ref().map(RawJson::as_str),
                Some(canonical),
                "{canonical}"
            );
        }
        for other in [
            r#""\u000a""#,
            r#""\u0041""#,
            r#""\u00e9""#,
            r#""\uD83D""#,
            r#""\ud83d\ude00""#,
            r#""\ud83d\u0041""#,
            r#""\u12""#,
        ] {
            assert!(RawJson::new(other).is_none(), "{other}");
        }
    }

    #[test]
    fn lone_surrogates_read_as_replacement_characters() {
        let raw = RawJson::new(r#"["cut \ud83d","\ude00",{"k":"\u0001"}]"#).unwrap();
        assert_eq!(
            raw.to_value(),
            serde_json::json!(["cut \u{fffd}", "\u{fffd}", {"k": "\u{1}"}])
        );
        let name = RawJson::new(r#""a\udc00""#).unwrap();
        assert_eq!(name.as_string().as_deref(), Some("a\u{fffd}"));
        assert_eq!(name.deserialize::<String>().unwrap(), "a\u{fffd}");
    }

    #[test]
    fn equality_is_by_value() {
        let a = RawJson::new(r#"{"a":1,"b":2}"#).unwrap();
        let b = RawJson::new(r#"{"b":2,"a":1}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, RawJson::new(r#"{"a":1}"#).unwrap());
        assert_eq!(
            RawJson::from_value(&json!({"a": 1.0})).as_str(),
            r#"{"a":1}"#
        );
    }
}
