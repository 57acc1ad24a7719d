//! `serveClient`: the official browser client, served under the Socket.IO path.
//!
//! The reference server answers `GET /socket.io/socket.io.js` (and the other
//! bundles of `socket.io-client/dist/`, with their source maps) so a page can
//! load the client from the server it talks to. ferrio does not ship the
//! bundle: [`SocketIoConfig::serve_client`](crate::SocketIoConfig::serve_client)
//! points at a `dist/` folder installed by npm, and this module answers with
//! the reference's headers:
//!
//! ```text
//! 200  Cache-Control: public, max-age=0
//!      Content-Type: application/javascript; charset=utf-8   (application/json for .map)
//!      ETag: "4.8.4"                                          (the client's version)
//! 304  when If-None-Match is that ETag (or W/ that ETag)
//! 404  when the file is not in the folder
//! ```
//!
//! The ETag is the version in the package's `package.json` (the folder's
//! parent), as the reference uses its own version, which is its client's.
//! When there is no such file it is a hash of the file's content. Each file
//! (and `package.json`) is read once, off the async threads, on its first
//! request, and then answered from memory: a flood of requests costs no disk
//! reads and no blocking-pool threads. Reinstalling the package takes effect
//! at the next start (or a new `SocketIo`), as with the reference, which
//! reads its version once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The files the reference server serves, as named in `socket.io-client/dist/`.
pub(crate) const CLIENT_FILES: [&str; 8] = [
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
];

/// A client file as first read: its ETag and content, or why it could not be
/// read (it is then answered 404 until the next start).
type Cached = Result<(String, Bytes), String>;

/// Serves the client bundles of one folder under one Socket.IO path.
#[derive(Debug, Clone)]
pub(crate) struct ClientFiles {
    dir: PathBuf,
    /// The Socket.IO path with its trailing slash, e.g. `/socket.io/`.
    prefix: String,
    /// Each file of [`CLIENT_FILES`], by index, once read.
    cache: Arc<[tokio::sync::OnceCell<Cached>; CLIENT_FILES.len()]>,
}

impl ClientFiles {
    pub(crate) fn new(dir: PathBuf, path: &str) -> Self {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Self {
            dir,
            prefix,
            cache: Arc::new(std::array::from_fn(|_| tokio::sync::OnceCell::new())),
        }
    }

    /// The file `name`, read on its first request and kept.
    async fn cached(&self, name: &'static str) -> &Cached {
        let Some(slot) = CLIENT_FILES
            .iter()
            .position(|f| *f == name)
            .and_then(|i| self.cache.get(i))
        else {
            static UNKNOWN: Cached = Err(String::new());
            return &UNKNOWN;
        };
        slot.get_or_init(|| async {
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || load(&dir, name))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        })
        .await
    }

    /// The client file a request path names, if it names one.
    pub(crate) fn file_name(&self, path: &str) -> Option<&'static str> {
        let name = path.strip_prefix(self.prefix.as_str())?;
        CLIENT_FILES.iter().copied().find(|f| *f == name)
    }

    /// Answers a request for the client file `name`.
    pub(crate) async fn respond(
        &self,
        name: &'static str,
        headers: &HeaderMap,
    ) -> Response<Full<Bytes>> {
        let matches = |etag: &str| {
            headers.get(header::IF_NONE_MATCH).is_some_and(|v| {
                let v = v.as_bytes();
                v == etag.as_bytes() || v.strip_prefix(b"W/") == Some(etag.as_bytes())
            })
        };
        match self.cached(name).await {
            Ok((etag, _)) if matches(etag) => {
                tracing::debug!(file = name, "serve client: 304");
                status(StatusCode::NOT_MODIFIED)
            }
            Ok((etag, body)) => {
                tracing::debug!(file = name, "serve client");
                let content_type = if name.ends_with(".map") {
                    "application/json; charset=utf-8"
                } else {
                    "application/javascript; charset=utf-8"
                };
                let mut response = Response::new(Full::new(body.clone()));
                let h = response.headers_mut();
                h.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=0"),
                );
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                if let Ok(etag) = HeaderValue::from_str(etag) {
                    h.insert(header::ETAG, etag);
                }
                response
            }
            Err(e) => {
                tracing::debug!(file = name, dir = %self.dir.display(), error = %e, "serve client: not found");
                status(StatusCode::NOT_FOUND)
            }
        }
    }
}

/// Reads the file `name` of `dir`, with its ETag.
fn load(dir: &Path, name: &str) -> Cached {
    let body = std::fs::read(dir.join(name)).map_err(|e| e.to_string())?;
    let etag = package_version(dir).unwrap_or_else(|| content_etag(&body));
    Ok((etag, Bytes::from(body)))
}

/// `"<version>"` from the package's `package.json`, the parent of `dist/`.
fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read(dir.parent()?.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let version = json.get("version")?.as_str()?;
    let plain = version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    plain.then(|| format!("\"{version}\""))
}

/// A strong ETag from the content: FNV-1a 64 and the length.
fn content_etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{:x}-{hash:016x}\"", body.len())
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A folder laid out like `node_modules/socket.io-client`.
    fn package(version: Option<&str>) -> (PathBuf, ClientFiles) {
        let root = std::env::temp_dir().join(format!(
            "ferrio-serve-client-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        let dist = root.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("socket.io.js"), "/* client */").unwrap();
        std::fs::write(dist.join("socket.io.js.map"), "{}").unwrap();
        if let Some(v) = version {
            std::fs::write(root.join("package.json"), format!(r#"{{"version":"{v}"}}"#)).unwrap();
        }
        let files = ClientFiles::new(dist, "/socket.io/");
        (root, files)
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    fn if_none_match(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_the_reference_file_names_match() {
        let files = ClientFiles::new("dist".into(), "/socket.io");
        assert_eq!(
            files.file_name("/socket.io/socket.io.js"),
            Some("socket.io.js")
        );
        assert_eq!(
            files.file_name("/socket.io/socket.io.msgpack.min.js.map"),
            Some("socket.io.msgpack.min.js.map")
        );
        assert_eq!(files.file_name("/socket.io/"), None);
        assert_eq!(files.file_name("/socket.io/../socket.io.js"), None);
        assert_eq!(files.file_name("/socket.io/package.json"), None);
        assert_eq!(files.file_name("/other/socket.io.js"), None);
    }

    #[tokio::test]
    async fn serves_with_the_version_as_etag_and_answers_304() {
        let (root, files) = package(Some("4.8.4"));
        let res = files.respond("socket.io.js", &HeaderMap::new()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::ETAG], "\"4.8.4\"");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=0");
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/javascript; charset=utf-8"
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"/* client */");

        let res = files.respond("socket.io.js.map", &HeaderMap::new()).await;
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );

        for etag in ["\"4.8.4\"", "W/\"4.8.4\""] {
            let res = files.respond("socket.io.js", &if_none_match(etag)).await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{etag}");
            assert!(res.headers().get(header::ETAG).is_none());
        }
        let res = files
            .respond("socket.io.js", &if_none_match("\"4.8.3\""))
            .await;
        assert_eq!(res.status(), StatusCode::OK);

        let res = files.respond("socket.io.min.js", &HeaderMap::new()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = files
            .respond("socket.io.min.js", &if_none_match("\"4.8.4\""))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn without_a_package_json_the_etag_is_a_content_hash() {
        let (root, files) = package(None);
        let res = files.respond("socket.io.js", &HeaderMap::new()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let etag = res.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
            "{etag}"
        );
        let res = files.respond("socket.io.js", &if_none_match(&etag)).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        // A new `ClientFiles` (a restart) sees a changed file.
        std::fs::write(root.join("dist/socket.io.js"), "/* changed */").unwrap();
        let restarted = ClientFiles::new(root.join("dist"), "/socket.io/");
        let res = restarted
            .respond("socket.io.js", &if_none_match(&etag))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn files_are_read_once_and_answered_from_memory() {
        let (root, files) = package(Some("4.8.4"));
        let res = files.respond("socket.io.js", &HeaderMap::new()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let missing = files.respond("socket.io.min.js", &HeaderMap::new()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        // The disk is not read again: the package can even go away.
        std::fs::remove_dir_all(&root).unwrap();
        let res = files.respond("socket.io.js", &HeaderMap::new()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::ETAG], "\"4.8.4\"");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"/* client */");
        let res = files
            .respond("socket.io.js", &if_none_match("\"4.8.4\""))
            .await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        // Clones share what was read.
        let res = files
            .clone()
            .respond("socket.io.js", &HeaderMap::new())
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}
