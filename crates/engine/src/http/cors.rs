use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use super::Body;
use crate::{Cors, Origins};

/// Answers a CORS preflight (`OPTIONS`) with 204; the allow headers are added by [`apply`].
pub(crate) fn preflight(request: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
    );
    response
}

/// Adds the CORS headers the `cors` package would add for this request's origin.
pub(crate) fn apply(cors: &Cors, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    let allow = match (&cors.origins, origin) {
        (Origins::Any, _) => Some(HeaderValue::from_static("*")),
        (Origins::List(_), Some(origin)) => allows(cors, origin).then(|| origin.clone()),
        (Origins::Mirror, Some(origin)) => Some(origin.clone()),
        (Origins::List(_) | Origins::Mirror, None) => None,
    };
    let Some(allow) = allow else { return };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    let star = matches!(cors.origins, Origins::Any);
    if !star {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    // Never with `*`: any site could then read credentialed answers if a
    // browser ever accepted it; browsers refuse the pair anyway.
    if cors.credentials && !star {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if headers.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS) {
        if let Ok(methods) = HeaderValue::from_str(&cors.methods) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
    }
}

/// Whether a request from `origin` may be served: always, unless the origins
/// are a [`List`](Origins::List) that does not hold it.
pub(crate) fn allows(cors: &Cors, origin: &HeaderValue) -> bool {
    match &cors.origins {
        Origins::List(list) => list.iter().any(|o| o.as_bytes() == origin.as_bytes()),
        Origins::Any | Origins::Mirror => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_origin_without_credentials_is_a_star() {
        let mut h = HeaderMap::new();
        apply(
            &Cors::default(),
            Some(&HeaderValue::from_static("http://a")),
            &mut h,
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn any_origin_with_credentials_is_a_star_without_credentials() {
        let mut h = HeaderMap::new();
        let evil = HeaderValue::from_static("https://evil.example");
        apply(&Cors::default().credentials(true), Some(&evil), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
        assert!(allows(&Cors::default(), &evil));
    }

    #[test]
    fn mirror_echoes_any_origin_with_credentials() {
        let mut h = HeaderMap::new();
        let cors = Cors::default().origins(Origins::Mirror).credentials(true);
        let evil = HeaderValue::from_static("https://evil.example");
        apply(&cors, Some(&evil), &mut h);
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://evil.example"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::VARY], "Origin");
    }

    #[test]
    fn listed_origins_are_echoed_and_others_refused() {
        let cors = Cors::default()
            .origins(Origins::List(vec!["http://a".into()]))
            .credentials(true);
        let mut h = HeaderMap::new();
        apply(&cors, Some(&HeaderValue::from_static("http://a")), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://a");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let mut h = HeaderMap::new();
        let other = HeaderValue::from_static("http://b");
        apply(&cors, Some(&other), &mut h);
        assert!(h.is_empty());
        assert!(!allows(&cors, &other));
        assert!(allows(&cors, &HeaderValue::from_static("http://a")));
    }
}
