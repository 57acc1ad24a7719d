use std::io::Write;

use http::HeaderMap;
use http::header::{ACCEPT_ENCODING, HeaderValue};

/// Compresses a polling response body with gzip or deflate when the client
/// accepts one and the body reaches `threshold`; returns the encoding used.
pub(crate) fn maybe_compress(
    body: Vec<u8>,
    request: &HeaderMap,
    threshold: Option<usize>,
) -> (Vec<u8>, Option<HeaderValue>) {
    let Some(threshold) = threshold else {
        return (body, None);
    };
    if body.len() < threshold {
        return (body, None);
    }
    let accepted = request
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts = |name: &str| {
        accepted
            .split(',')
            .any(|e| e.split(';').next().is_some_and(|e| e.trim() == name))
    };
    let level = flate2::Compression::fast();
    let compressed = if accepts("gzip") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
        enc.write_all(&body)
            .and_then(|()| enc.finish())
            .map(|b| (b, "gzip"))
    } else if accepts("deflate") {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), level);
        enc.write_all(&body)
            .and_then(|()| enc.finish())
            .map(|b| (b, "deflate"))
    } else {
        return (body, None);
    };
    match compressed {
        Ok((bytes, name)) => (bytes, Some(HeaderValue::from_static(name))),
        Err(_) => (body, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compresses_large_bodies_for_gzip_clients() {
        let mut req = HeaderMap::new();
        req.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        let body = vec![b'4'; 4096];
        let (out, enc) = maybe_compress(body.clone(), &req, Some(1024));
        assert_eq!(enc.unwrap(), "gzip");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
    }

    #[test]
    fn leaves_small_bodies_and_unwilling_clients_alone() {
        let mut req = HeaderMap::new();
        req.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(maybe_compress(vec![1; 10], &req, Some(1024)).1.is_none());
        assert!(
            maybe_compress(vec![1; 4096], &HeaderMap::new(), Some(1024))
                .1
                .is_none()
        );
        assert!(maybe_compress(vec![1; 4096], &req, None).1.is_none());
    }
}
