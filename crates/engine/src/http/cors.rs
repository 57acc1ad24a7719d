use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use super::Body;
use crate::{Cors, Origins};

/// Answers a CORS preflight (`OPTIONS`) as Node's `cors` does: the
/// configured status (204), the allowed headers (the request's, echoed, by
/// default), methods, max age and exposed headers; the origin and
/// credentials are added by [`apply`].
pub(crate) fn preflight(cors: &Cors, request: &HeaderMap) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(cors.options_success_status).unwrap_or(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    match &cors.allowed_headers {
        Some(allowed) => {
            if let Ok(allowed) = HeaderValue::from_str(allowed) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
            }
        }
        None => {
            headers.append(
                header::VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
            if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
        }
    }
    if let Ok(methods) = HeaderValue::from_str(&cors.methods) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    if let Some(max_age) = cors.max_age {
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// Adds the CORS headers the `cors` package would add for this request's origin.
pub(crate) fn apply(cors: &Cors, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    let star = matches!(cors.origins, Origins::Any);
    if let Some(exposed) = &cors.exposed_headers {
        if let Ok(exposed) = HeaderValue::from_str(exposed) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
        }
    }
    if !star {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let allow = match (&cors.origins, origin) {
        (Origins::Any, _) => Some(HeaderValue::from_static("*")),
        (Origins::List(_) | Origins::Predicate(_), Some(origin)) => {
            allows(cors, origin).then(|| origin.clone())
        }
        (Origins::Mirror, Some(origin)) => Some(origin.clone()),
        (Origins::List(_) | Origins::Predicate(_) | Origins::Mirror, None) => None,
    };
    let Some(allow) = allow else { return };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    // Sent with `*` too, as `cors` does: browsers refuse that pair, so no
    // site can read a credentialed answer through it.
    if cors.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// Whether a request from `origin` may be served: always, unless the origins
/// are a [`List`](Origins::List) that does not hold it, or a
/// [`Predicate`](Origins::Predicate) that refuses it.
pub(crate) fn allows(cors: &Cors, origin: &HeaderValue) -> bool {
    match &cors.origins {
        Origins::List(list) => list.iter().any(|o| o.as_bytes() == origin.as_bytes()),
        Origins::Predicate(accepts) => origin.to_str().is_ok_and(|origin| accepts(origin)),
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

    /// As Node's `cors` with `origin: "*"` and `credentials: true`: the
    /// star and the credentials header (a pair browsers refuse), never the
    /// origin echoed.
    #[test]
    fn any_origin_with_credentials_is_a_star_as_in_cors() {
        let mut h = HeaderMap::new();
        let evil = HeaderValue::from_static("https://evil.example");
        apply(&Cors::default().credentials(true), Some(&evil), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert!(allows(&Cors::default(), &evil));
    }

    #[test]
    fn a_predicate_echoes_what_it_accepts_and_refuses_the_rest() {
        let cors = Cors::default()
            .origins(Origins::predicate(|o| o.ends_with(".example.com")))
            .exposed_headers("x-a,x-b");
        let good = HeaderValue::from_static("https://app.example.com");
        let bad = HeaderValue::from_static("https://evil.example");
        let mut h = HeaderMap::new();
        apply(&cors, Some(&good), &mut h);
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-a,x-b");
        assert_eq!(h[header::VARY], "Origin");
        assert!(allows(&cors, &good));
        assert!(!allows(&cors, &bad));
        let mut h = HeaderMap::new();
        apply(&cors, Some(&bad), &mut h);
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }

    /// Node's `cors` preflight with `maxAge: 600, optionsSuccessStatus: 200`.
    #[test]
    fn preflight_options() {
        let cors = Cors::default().max_age(600).options_success_status(200);
        let mut request = HeaderMap::new();
        request.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        let mut r = preflight(&cors, &request);
        apply(
            &cors,
            Some(&HeaderValue::from_static("http://a")),
            r.headers_mut(),
        );
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_HEADERS], "content-type");
        assert_eq!(h[header::VARY], "Access-Control-Request-Headers");
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET,HEAD,PUT,PATCH,POST,DELETE"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
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
        // Only `Vary: Origin`, as `cors` answers an origin it does not allow.
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[header::VARY], "Origin");
        assert!(!allows(&cors, &other));
        assert!(allows(&cors, &HeaderValue::from_static("http://a")));
    }
}
