use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Shared, immutable UTF-8 text: cheap to clone, never copied on send.
///
/// A broadcast builds its frame once as a `Text` and hands a clone to every
/// recipient; the WebSocket writer sends it without re-checking its encoding.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(Utf8Bytes);

impl Text {
    /// Text borrowed from a static string.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Utf8Bytes::from_static(s))
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Checks that `bytes` are UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Utf8Bytes::try_from(bytes).map(Self)
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into()
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
        Self(Utf8Bytes::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(Utf8Bytes::from(s))
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
