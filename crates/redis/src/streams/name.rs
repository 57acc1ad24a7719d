//! Which stream a namespace's entries go to (Node's `streamName` and
//! `streamCount`).

/// Java's `String.hashCode` over UTF-16 code units, with int32 wrap, as the
/// streams adapter computes it.
fn hash_code(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The stream of namespace `nsp`: `name` alone with one stream, else
/// `{name}-{hashCode(nsp) % count}`, where the index keeps the sign of the
/// hash as JavaScript's `%` does (so `socket.io--1` is possible).
pub(crate) fn stream_for(name: &str, count: u32, nsp: &str) -> String {
    if count <= 1 {
        return name.to_owned();
    }
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    format!("{name}-{}", hash_code(nsp) % count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stream_is_the_name() {
        assert_eq!(stream_for("socket.io", 1, "/admin"), "socket.io");
    }

    /// Values computed with the adapter's `hashCode` in Node.
    #[test]
    fn the_index_is_javas_hash_code_modulo_the_count() {
        assert_eq!(hash_code("/"), 47);
        assert_eq!(stream_for("s", 4, "/"), "s-3");
        assert_eq!(hash_code("/admin"), 1_438_238_848);
        assert_eq!(stream_for("s", 3, "/admin"), "s-1");
        // Wraps as int32, and the index keeps the hash's sign.
        assert_eq!(hash_code("/ns-1000"), -1_810_684_840);
        assert_eq!(stream_for("socket.io", 3, "/ns-1000"), "socket.io--1");
        // JavaScript prints -0 as "0".
        assert_eq!(hash_code("/xyz1234"), -1_282_694_580);
        assert_eq!(stream_for("s", 3, "/xyz1234"), "s-0");
    }

    /// Non-BMP characters count as two UTF-16 units.
    #[test]
    fn astral_characters_count_as_two_units() {
        assert_eq!(hash_code("/😀"), 1_818_066);
    }
}
