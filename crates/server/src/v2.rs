//! The Socket.IO v2 rules (protocol revision 4) for clients on Engine.IO v3,
//! behind [`allow_eio3`](crate::SocketIoConfig::allow_eio3), as socket.io 4.8
//! applies them:
//!
//! - the client is in the main namespace from the start, without sending a
//!   CONNECT; it connects to others with `0/nsp?query,`, the query standing
//!   for the auth payload (a v2 client has no auth);
//! - the CONNECT reply carries no payload;
//! - a refusal by middleware is `4/nsp,` with the error's data, or its
//!   message as a JSON string.
//!
//! Packets are otherwise those of v5, attachments included.

use serde_json::{Map, Value};

use crate::ConnectError;

/// The namespace a v2 CONNECT names, and its query as the auth payload: an
/// object of the query's parameters, percent-decoded, a repeated one as an
/// array of its values (as Node's `url.parse(nsp, true)`).
pub(crate) fn connect_target(nsp: &str) -> (String, Value) {
    let (name, query) = nsp.split_once('?').unwrap_or((nsp, ""));
    let mut auth = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match auth.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                auth.insert(key.into_owned(), Value::Array(vec![first, value]));
            }
            None => {
                auth.insert(key.into_owned(), value);
            }
        }
    }
    (name.to_owned(), Value::Object(auth))
}

/// The payload of a v2 CONNECT_ERROR for a refusal by middleware: the
/// error's data when it has some, else its message, as Node sends
/// `err.data || err.message`.
pub(crate) fn connect_error(error: ConnectError) -> Value {
    match error.data {
        Some(data) if !is_falsy(&data) => data,
        _ => Value::String(error.message),
    }
}

/// Whether JavaScript would find the value false (`||` skips it).
fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_query_of_a_v2_connect_is_its_auth() {
        assert_eq!(connect_target("/admin"), ("/admin".into(), json!({})));
        assert_eq!(
            connect_target("/admin?token=a%20b&x=1&x=2&y=+"),
            (
                "/admin".into(),
                json!({"token": "a b", "x": ["1", "2"], "y": " "})
            )
        );
    }

    #[test]
    fn a_v2_connect_error_is_the_data_or_the_message() {
        assert_eq!(connect_error(ConnectError::new("no")), json!("no"));
        let with_data = ConnectError {
            message: "no".into(),
            data: Some(json!({"code": 7})),
        };
        assert_eq!(connect_error(with_data), json!({"code": 7}));
        let falsy = ConnectError {
            message: "no".into(),
            data: Some(json!(0)),
        };
        assert_eq!(connect_error(falsy), json!("no"));
    }
}
