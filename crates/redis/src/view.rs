//! Reading decoded messages (a [`Payload`] from msgpack, or JSON) by shape,
//! without trusting them: every accessor answers `None` on a shape it does not
//! expect.

use ferrio_proto::socketio::Payload;
use serde_json::Value;

/// The entries of an object, in order.
pub(crate) fn into_entries(payload: Payload) -> Option<Vec<(String, Payload)>> {
    match payload {
        Payload::Object(entries) => Some(entries),
        Payload::Json(Value::Object(map)) => Some(
            map.into_iter()
                .map(|(k, v)| (k, Payload::Json(v)))
                .collect(),
        ),
        Payload::Raw(raw) => into_entries(Payload::Json(raw.to_value())),
        _ => None,
    }
}

/// The items of an array.
pub(crate) fn into_items(payload: Payload) -> Option<Vec<Payload>> {
    match payload {
        Payload::Array(items) => Some(items),
        Payload::Json(Value::Array(items)) => Some(items.into_iter().map(Payload::Json).collect()),
        Payload::Raw(raw) => into_items(Payload::Json(raw.to_value())),
        _ => None,
    }
}

/// Takes the value of `key` out of `entries` (the last one if it repeats).
pub(crate) fn take(entries: &mut Vec<(String, Payload)>, key: &str) -> Option<Payload> {
    let at = entries.iter().rposition(|(k, _)| k == key)?;
    Some(entries.swap_remove(at).1)
}

/// A string.
pub(crate) fn string(payload: Payload) -> Option<String> {
    match payload {
        Payload::Json(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A non-negative integer.
pub(crate) fn uint(payload: &Payload) -> Option<u64> {
    match payload {
        Payload::Json(Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// A boolean.
pub(crate) fn boolean(payload: &Payload) -> Option<bool> {
    match payload {
        Payload::Json(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// Room names: strings, or numbers as JavaScript prints them (Node apps may
/// `join(1)`; ferrio rooms are strings).
pub(crate) fn rooms(payload: Payload) -> Option<Vec<String>> {
    into_items(payload)?
        .into_iter()
        .map(|item| match item {
            Payload::Json(Value::String(s)) => Some(s),
            Payload::Json(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}
