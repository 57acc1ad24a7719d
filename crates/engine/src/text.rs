use bytes::Bytes;
use ferrio_proto::websocket::ByteString;

/// Shared, immutable UTF-8 text: cheap to clone, never copied on send.
///
/// A broadcast builds its frame once as a `Text` and hands a clone to every
/// recipient; the WebSocket writer sends it without re-checking its encoding.
/// Text the WebSocket reader checked is carried on as it is: re-sliced, never
/// checked again.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(ByteString);

impl Text {
    /// Text borrowed from a static string.
    pub const fn from_static(s: &'static str) -> Self {
        Self(ByteString::from_static(s))
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that `bytes` are UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        ByteString::try_from(bytes).map(Self)
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// Text already checked (by the WebSocket reader), taken as it is.
    pub(crate) fn from_checked(text: ByteString) -> Self {
        Self(text)
    }

    /// The text from byte `start` on, sharing the buffer: no copy, no check.
    ///
    /// # Panics
    ///
    /// If `start` is not on a character boundary (or past the end).
    pub(crate) fn tail(&self, start: usize) -> Self {
        Self(self.0.slice_ref(&self.0[start..]))
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(ByteString::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(ByteString::from(s))
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
