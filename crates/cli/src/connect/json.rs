//! Arguments as the terminal shows them: a JSON array, binary data written
//! `{"_binary":"<base64>"}` (both ways). A buffer that a line names again (a
//! server may point many placeholders at one attachment) is written once; later
//! uses are `{"_binary_ref":N}`, N counting the buffers written before it in the
//! line from 0, so a line costs at most about 4/3 of its distinct bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use ferrio_client::{ConnectError, Payload};
use serde_json::{Map, Value};

/// The key of a binary value.
const BINARY_KEY: &str = "_binary";

/// The key of a binary value written earlier in the same line.
const BINARY_REF_KEY: &str = "_binary_ref";

/// Reads `ARGS_JSON`: a JSON array, one element per argument. An object
/// `{"_binary":"<base64>"}` anywhere in it is binary data.
pub(crate) fn parse_args(text: &str) -> Result<Vec<Payload>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON {text:?}: {e}"))?;
    let Value::Array(items) = value else {
        return Err(format!(
            "arguments must be a JSON array, such as [\"hello\", 1]; got {text}"
        ));
    };
    items.into_iter().map(to_payload).collect()
}

/// Reads a JSON object (`--auth`).
pub(crate) fn parse_object(text: &str) -> Result<Value, String> {
    match serde_json::from_str(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(format!(
            "expected a JSON object, such as {{\"token\":\"abc\"}}; got {text}"
        )),
        Err(e) => Err(format!("invalid JSON {text:?}: {e}")),
    }
}

/// One argument as a payload, `{"_binary": ...}` objects made binary.
fn to_payload(value: Value) -> Result<Payload, String> {
    if !contains_binary(&value) {
        return Ok(Payload::Json(value));
    }
    Ok(match value {
        Value::Object(map) => match binary_of(&map) {
            Some(b64) => {
                Payload::Binary(Bytes::from(BASE64.decode(b64).map_err(|e| {
                    format!("invalid base64 in {{\"_binary\":{b64:?}}}: {e}")
                })?))
            }
            None => Payload::Object(
                map.into_iter()
                    .map(|(k, v)| to_payload(v).map(|p| (k, p)))
                    .collect::<Result<_, _>>()?,
            ),
        },
        Value::Array(items) => Payload::Array(
            items
                .into_iter()
                .map(to_payload)
                .collect::<Result<_, _>>()?,
        ),
        other => Payload::Json(other),
    })
}

/// `Some(base64)` if the object is exactly `{"_binary": "<string>"}`.
fn binary_of(map: &Map<String, Value>) -> Option<&str> {
    match map.get(BINARY_KEY) {
        Some(Value::String(b64)) if map.len() == 1 => Some(b64),
        _ => None,
    }
}

fn contains_binary(value: &Value) -> bool {
    match value {
        Value::Object(map) => binary_of(map).is_some() || map.values().any(contains_binary),
        Value::Array(items) => items.iter().any(contains_binary),
        _ => false,
    }
}

/// A payload as JSON, binary data as `{"_binary":"<base64>"}`, or as
/// `{"_binary_ref":N}` if it is the buffer `written[N]` (same address and length).
fn to_json(payload: &Payload, written: &mut Vec<(usize, usize)>) -> Value {
    match payload {
        Payload::Json(value) => value.clone(),
        Payload::Raw(raw) => raw.to_value(),
        Payload::Binary(bytes) => {
            let key = (bytes.as_ptr() as usize, bytes.len());
            let mut map = Map::new();
            match written.iter().position(|w| *w == key) {
                Some(n) if !bytes.is_empty() => {
                    map.insert(BINARY_REF_KEY.into(), Value::from(n));
                }
                _ => {
                    written.push(key);
                    map.insert(BINARY_KEY.into(), Value::String(BASE64.encode(bytes)));
                }
            }
            Value::Object(map)
        }
        Payload::Array(items) => {
            Value::Array(items.iter().map(|item| to_json(item, written)).collect())
        }
        Payload::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v, written)))
                .collect(),
        ),
        // A form a later version may add: read it as plain JSON.
        other => other.to_value().unwrap_or(Value::Null),
    }
}

/// Arguments as one line of compact JSON: `["hello",1]`.
pub(crate) fn args_line<'a>(args: impl IntoIterator<Item = &'a Payload>) -> String {
    let mut written = Vec::new();
    Value::Array(
        args.into_iter()
            .map(|arg| to_json(arg, &mut written))
            .collect(),
    )
    .to_string()
}

/// A `connect_error` as JSON: `{"message":...,"data":...}` (`data` only if
/// the server sent some).
pub(crate) fn connect_error(error: &ConnectError) -> String {
    let mut map = Map::new();
    map.insert("message".into(), Value::String(error.message().to_owned()));
    if let Some(data) = error.data() {
        map.insert("data".into(), data.clone());
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_arguments_with_binary() {
        let args =
            parse_args(r#"["a", 1, {"_binary": "AQI="}, {"x": [{"_binary": ""}]}]"#).unwrap();
        assert_eq!(
            args,
            [
                Payload::Json(json!("a")),
                Payload::Json(json!(1)),
                Payload::Binary(Bytes::from_static(&[1, 2])),
                Payload::Object(vec![(
                    "x".into(),
                    Payload::Array(vec![Payload::Binary(Bytes::new())])
                )]),
            ]
        );
        assert_eq!(
            args_line(&args),
            r#"["a",1,{"_binary":"AQI="},{"x":[{"_binary":""}]}]"#
        );
        // Not exactly `{"_binary": string}`: plain JSON.
        assert_eq!(
            parse_args(r#"[{"_binary": "AQI=", "more": 1}, {"_binary": 5}]"#).unwrap(),
            [
                Payload::Json(json!({"_binary": "AQI=", "more": 1})),
                Payload::Json(json!({"_binary": 5}))
            ]
        );
        assert_eq!(parse_args("[]").unwrap(), []);
    }

    #[test]
    fn a_buffer_named_again_is_written_once() {
        let shared = Bytes::from_static(&[1, 2]);
        let other = Bytes::from(vec![1, 2]);
        let args = [
            Payload::Binary(shared.clone()),
            Payload::Array(vec![
                Payload::Binary(other),
                Payload::Binary(shared.clone()),
                Payload::Binary(Bytes::new()),
                Payload::Binary(Bytes::new()),
            ]),
            Payload::Object(vec![("k".into(), Payload::Binary(shared))]),
        ];
        assert_eq!(
            args_line(&args),
            r#"[{"_binary":"AQI="},[{"_binary":"AQI="},{"_binary_ref":0},{"_binary":""},{"_binary":""}],{"k":{"_binary_ref":0}}]"#
        );
    }

    #[test]
    fn rejects_what_is_not_an_array() {
        assert!(parse_args(r#""hello""#).unwrap_err().contains("JSON array"));
        assert!(parse_args("[1,").unwrap_err().contains("invalid JSON"));
        assert!(
            parse_args(r#"[{"_binary": "%%"}]"#)
                .unwrap_err()
                .contains("base64")
        );
        assert!(parse_object("[1]").is_err());
        assert_eq!(parse_object(r#"{"t":1}"#).unwrap(), json!({"t": 1}));
    }
}
