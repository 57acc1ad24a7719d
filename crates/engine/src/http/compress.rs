//! Compression of polling answers (`EngineConfig::http_compression_threshold`).
//!
//! Small bodies are compressed where they are answered; bodies above
//! [`INLINE_LIMIT`] go to tokio's blocking pool, so that gzipping a full
//! outbox (megabytes) never stalls an async worker and the sessions it runs.

use std::io::Write;

use http::HeaderMap;
use http::header::{ACCEPT_ENCODING, HeaderValue};

/// Bodies larger than this are compressed on the blocking pool (64 KiB:
/// about 0.2 ms of `Compression::fast()` work, under a scheduler tick).
pub(crate) const INLINE_LIMIT: usize = 64 * 1024;

/// A content coding a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    /// The coding to use for a body of `len` bytes: `None` below `threshold`,
    /// with compression off, or when the client accepts neither gzip nor deflate.
    pub(crate) fn choose(
        request: &HeaderMap,
        len: usize,
        threshold: Option<usize>,
    ) -> Option<Self> {
        if len < threshold? {
            return None;
        }
        let accepted = request
            .get(ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        preferred(accepted)
    }

    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        })
    }

    /// Compresses `body`; on failure (none is expected writing to memory)
    /// the body is returned as it was, with no coding.
    fn apply(self, body: Vec<u8>) -> (Vec<u8>, Option<HeaderValue>) {
        let level = flate2::Compression::fast();
        let compressed = match self {
            Self::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
                enc.write_all(&body).and_then(|()| enc.finish())
            }
            Self::Deflate => {
                let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), level);
                enc.write_all(&body).and_then(|()| enc.finish())
            }
        };
        match compressed {
            Ok(bytes) => (bytes, Some(self.header())),
            Err(_) => (body, None),
        }
    }
}

/// How well one coding matches an `Accept-Encoding` entry, as the
/// `negotiator` package ranks it: quality, then exact name over `*`, then
/// the entry's place in the header.
#[derive(Debug, Clone, Copy)]
struct Priority {
    q: f32,
    exact: bool,
    place: usize,
}

/// The coding Node's `accepts(req).encodings(["gzip", "deflate"])` picks
/// for this `Accept-Encoding`: the highest quality wins, then an exact name
/// over `*`, then the one named first in the header, then gzip.
fn preferred(accept: &str) -> Option<Encoding> {
    let entries: Vec<(&str, f32, usize)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(place, entry)| {
            let mut parts = entry.trim().split(';');
            let name = parts.next()?.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return None;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                .next()
                .unwrap_or(1.0);
            Some((name, q, place))
        })
        .collect();
    let priority = |coding: &str| {
        let mut best: Option<Priority> = None;
        for &(name, q, place) in &entries {
            let exact = name.eq_ignore_ascii_case(coding);
            if !exact && name != "*" {
                continue;
            }
            let better = best.is_none_or(|b| (exact, q, place) > (b.exact, b.q, b.place));
            if better {
                best = Some(Priority { q, exact, place });
            }
        }
        best.filter(|p| p.q > 0.0)
    };
    let candidates = [
        (Encoding::Gzip, priority("gzip")),
        (Encoding::Deflate, priority("deflate")),
    ];
    candidates
        .into_iter()
        .filter_map(|(encoding, p)| Some((encoding, p?)))
        .min_by(|(_, a), (_, b)| {
            b.q.total_cmp(&a.q)
                .then(b.exact.cmp(&a.exact))
                .then(a.place.cmp(&b.place))
        })
        .map(|(encoding, _)| encoding)
}

/// The compression of a body failed to run (its blocking task was cancelled,
/// as in a runtime shutdown): the body is lost.
#[derive(Debug)]
pub(crate) struct Lost;

/// Compresses a polling answer when the client accepts gzip or deflate and the
/// body reaches `threshold`; returns the body and the coding used. Bodies
/// above [`INLINE_LIMIT`] are compressed on the blocking pool.
pub(crate) async fn compress(
    body: Vec<u8>,
    request: &HeaderMap,
    threshold: Option<usize>,
) -> Result<(Vec<u8>, Option<HeaderValue>), Lost> {
    let Some(encoding) = Encoding::choose(request, body.len(), threshold) else {
        return Ok((body, None));
    };
    if body.len() <= INLINE_LIMIT {
        return Ok(encoding.apply(body));
    }
    tokio::task::spawn_blocking(move || encoding.apply(body))
        .await
        .map_err(|_| Lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::io::Read;
    use std::task::Poll;

    fn gzip_client() -> HeaderMap {
        let mut req = HeaderMap::new();
        req.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        req
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut plain)
            .unwrap();
        plain
    }

    #[tokio::test]
    async fn compresses_large_bodies_for_gzip_clients() {
        let body = vec![b'4'; 4096];
        let (out, enc) = compress(body.clone(), &gzip_client(), Some(1024))
            .await
            .unwrap();
        assert_eq!(enc.unwrap(), "gzip");
        assert_eq!(gunzip(&out), body);
    }

    #[tokio::test]
    async fn leaves_small_bodies_and_unwilling_clients_alone() {
        let req = gzip_client();
        let none = |(_, enc): (Vec<u8>, Option<HeaderValue>)| enc.is_none();
        assert!(none(compress(vec![1; 10], &req, Some(1024)).await.unwrap()));
        let plain = HeaderMap::new();
        assert!(none(
            compress(vec![1; 4096], &plain, Some(1024)).await.unwrap()
        ));
        assert!(none(compress(vec![1; 4096], &req, None).await.unwrap()));
    }

    /// The choices of Node's `accepts` (negotiator 0.6) for these headers.
    #[test]
    fn the_coding_follows_the_q_values_as_in_node() {
        let cases = [
            ("gzip, deflate, br", Some(Encoding::Gzip)),
            ("deflate, gzip", Some(Encoding::Deflate)),
            ("gzip;q=0.5, deflate", Some(Encoding::Deflate)),
            ("gzip;q=0, deflate;q=0.1", Some(Encoding::Deflate)),
            ("gzip;q=0", None),
            ("*", Some(Encoding::Gzip)),
            ("*;q=0.5, deflate", Some(Encoding::Deflate)),
            ("br, identity", None),
            ("", None),
            ("GZIP", Some(Encoding::Gzip)),
        ];
        for (accept, expected) in cases {
            assert_eq!(preferred(accept), expected, "{accept:?}");
        }
    }

    /// Polls `future` once: whether it finished there, on this thread.
    async fn finishes_in_one_poll<F: Future>(future: F) -> bool {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_ready())).await
    }

    #[tokio::test]
    async fn bodies_above_the_inline_limit_are_not_compressed_inline() {
        let req = gzip_client();
        let small = vec![b'x'; INLINE_LIMIT];
        assert!(finishes_in_one_poll(compress(small, &req, Some(1024))).await);
        // An 8 MiB outbox: its first poll hands the work to the blocking pool.
        let big: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        assert!(!finishes_in_one_poll(compress(big.clone(), &req, Some(1024))).await);
        let (out, enc) = compress(big.clone(), &req, Some(1024)).await.unwrap();
        assert_eq!(enc.unwrap(), "gzip");
        assert_eq!(gunzip(&out), big);
    }
}
