//! The chat page: plain HTML, CSS and JavaScript embedded in the binary.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

/// The files of the page, from `crates/cli/web/`.
const FILES: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "/chat.css",
        "text/css; charset=utf-8",
        include_str!("../../web/chat.css"),
    ),
    (
        "/chat.js",
        "application/javascript; charset=utf-8",
        include_str!("../../web/chat.js"),
    ),
];

/// Answers `GET /`, `/chat.css` and `/chat.js`; 404 for anything else.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pages;

impl<B> Service<Request<B>> for Pages {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(answer(req.method(), req.uri().path())))
    }
}

fn answer(method: &Method, path: &str) -> Response<Full<Bytes>> {
    let path = if path == "/index.html" { "/" } else { path };
    let Some((_, content_type, body)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Always revalidate: a rebuilt binary serves a new page at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_page_and_its_files() {
        let page = answer(&Method::GET, "/");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(FILES[0].2.contains("/socket.io/socket.io.js"));
        assert_eq!(answer(&Method::HEAD, "/chat.js").status(), StatusCode::OK);
        assert_eq!(answer(&Method::GET, "/index.html").status(), StatusCode::OK);
        assert_eq!(
            answer(&Method::GET, "/nope").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            answer(&Method::POST, "/").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
