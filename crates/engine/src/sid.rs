use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const LEN: usize = 20;

/// An Engine.IO session id: 20 URL-safe base64 characters from 15 random bytes,
/// the same shape as the reference server's ids. Stored inline; `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; LEN]);

impl Sid {
    /// A fresh random id.
    pub fn random() -> Self {
        let raw: [u8; 15] = rand::random();
        let mut out = [0u8; LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(raw, &mut out)
            .expect("15 bytes encode to 20 characters");
        debug_assert_eq!(n, LEN);
        Self(out)
    }

    /// Parses an id from a request; `None` if it cannot be one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; LEN] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Self(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from URL-safe base64 characters, which are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_url_safe_and_parse_back() {
        let a = Sid::random();
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_ne!(a, Sid::random());
        assert_eq!(Sid::parse("too-short"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa/"), None);
    }
}
