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
        (Origins::Any, Some(origin)) if cors.credentials => Some(origin.clone()),
        (Origins::Any, _) => Some(HeaderValue::from_static("*")),
        (Origins::List(list), Some(origin)) => list
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
            .then(|| origin.clone()),
        (Origins::List(_), None) => None,
    };
    let Some(allow) = allow else { return };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    if !matches!(cors.origins, Origins::Any) || cors.credentials {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if cors.credentials {
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
    fn listed_origins_are_echoed_and_others_refused() {
        let cors = Cors::default()
            .origins(Origins::List(vec!["http://a".into()]))
            .credentials(true);
        let mut h = HeaderMap::new();
        apply(&cors, Some(&HeaderValue::from_static("http://a")), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://a");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let mut h = HeaderMap::new();
        apply(&cors, Some(&HeaderValue::from_static("http://b")), &mut h);
        assert!(h.is_empty());
    }
}
