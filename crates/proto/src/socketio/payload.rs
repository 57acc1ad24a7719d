use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{DecodeError, Packet, PacketKind, RawJson};

/// A payload that may hold binary data: JSON with byte buffers among its leaves.
///
/// This is the form before [`deconstruct`](Self::deconstruct) on send and after
/// [`reconstruct`](Self::reconstruct) on receive. Plain JSON stays a [`Value`] inside
/// [`Json`](Self::Json), so a caller can wrap an existing value at no cost, and only
/// the arrays and objects on the way to a binary leaf (or to a [`Raw`](Self::Raw)
/// value) need the [`Array`](Self::Array) and [`Object`](Self::Object) variants.
///
/// The arguments of an event or an ack arrive as [`Raw`](Self::Raw) text when the
/// sender wrote them as `JSON.stringify` does (see [`Decoder`](super::Decoder)):
/// they are parsed only if read, and sent on by copying. Match both `Json` and
/// `Raw`, or read values with [`to_value`](Self::to_value), rather than expect
/// `Json`.
///
/// Equality compares what the payloads hold, not their form: two payloads without
/// binary data are equal when their JSON values are (`Json([1])`,
/// `Array([Json(1)])` and `Raw("[1]")` are all equal), and payloads with binary
/// data are compared structurally. [`reconstruct`](Self::reconstruct) always gives
/// the smallest form: every subtree without binary data is one `Json`.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_proto::socketio::Payload;
/// use serde_json::json;
///
/// let args = Payload::Array(vec![json!("img").into(), Bytes::from_static(&[1, 2, 3]).into()]);
/// let mut buffers = Vec::new();
/// let wire = args.clone().deconstruct(&mut buffers);
/// assert_eq!(wire, json!(["img", {"_placeholder": true, "num": 0}]));
/// assert_eq!(Payload::reconstruct(wire, &buffers), Ok(args));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Payload {
    /// JSON without binary data.
    Json(Value),
    /// JSON without binary data, as text in the form `JSON.stringify` writes.
    Raw(RawJson),
    /// A byte buffer: a `Buffer`, `ArrayBuffer` or typed array on the JavaScript side.
    Binary(Bytes),
    /// An array of payloads: for items that are binary, have binary data inside,
    /// or are [`Raw`](Self::Raw).
    Array(Vec<Payload>),
    /// An object of payloads, for values like an [`Array`](Self::Array)'s items;
    /// keys in order. If a key repeats, the last value wins, at the place of the
    /// first.
    Object(Vec<(String, Payload)>),
}

impl Payload {
    /// Whether any leaf is binary.
    pub fn has_binary(&self) -> bool {
        match self {
            Self::Json(_) | Self::Raw(_) => false,
            Self::Binary(_) => true,
            Self::Array(items) => items.iter().any(Self::has_binary),
            Self::Object(entries) => entries.iter().any(|(_, v)| v.has_binary()),
        }
    }

    /// Replaces each binary leaf with `{"_placeholder":true,"num":N}` and appends its
    /// buffer to `buffers`, depth-first (arrays in index order, object keys in order)
    /// as the reference encoder does. `N` is the buffer's index in `buffers`, so
    /// numbering goes on from what `buffers` already holds.
    ///
    /// A leaf that is the same buffer as one already in `buffers` (a clone of the
    /// same `Bytes`: same address, same length) reuses its number, so a buffer is
    /// sent once however often it is named. Every decoder takes a placeholder
    /// number twice, the reference one included.
    ///
    /// A JSON object that happens to look like a placeholder is written as it is; the
    /// receiver will take it for one, as with the reference implementation.
    pub fn deconstruct(self, buffers: &mut Vec<Bytes>) -> Value {
        self.into_value(&mut |bytes| {
            let same = |b: &Bytes| b.as_ptr() == bytes.as_ptr() && b.len() == bytes.len();
            let num = match buffers.iter().position(same) {
                Some(num) => num,
                None => {
                    buffers.push(bytes);
                    buffers.len() - 1
                }
            };
            let mut placeholder = Map::with_capacity(2);
            placeholder.insert("_placeholder".into(), Value::Bool(true));
            placeholder.insert("num".into(), num.into());
            Value::Object(placeholder)
        })
    }

    /// Replaces every placeholder in `value` by its buffer from `buffers`.
    ///
    /// A placeholder is any object whose `_placeholder` is `true`; its `num` must be a
    /// non-negative integer below `buffers.len()`, or the result is
    /// [`DecodeError::InvalidPlaceholder`]. Like the reference decoder, a buffer may be
    /// used twice or not at all. Recursion follows the nesting of `value`, which a
    /// decoder has already bounded.
    pub fn reconstruct(value: Value, buffers: &[Bytes]) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
                let index = map.get("num").and_then(placeholder_index);
                let bytes = index.and_then(|i| buffers.get(i));
                bytes
                    .cloned()
                    .map(Self::Binary)
                    .ok_or(DecodeError::InvalidPlaceholder)
            }
            Value::Array(items) => {
                let items = items
                    .into_iter()
                    .map(|v| Self::reconstruct(v, buffers))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(|p| matches!(p, Self::Json(_))) {
                    Ok(Self::Json(Value::Array(
                        items.into_iter().map(Self::unwrap_json).collect(),
                    )))
                } else {
                    Ok(Self::Array(items))
                }
            }
            Value::Object(map) => {
                let entries = map
                    .into_iter()
                    .map(|(k, v)| Ok((k, Self::reconstruct(v, buffers)?)))
                    .collect::<Result<Vec<_>, DecodeError>>()?;
                if entries.iter().all(|(_, p)| matches!(p, Self::Json(_))) {
                    let map = entries.into_iter().map(|(k, v)| (k, v.unwrap_json()));
                    Ok(Self::Json(Value::Object(map.collect())))
                } else {
                    Ok(Self::Object(entries))
                }
            }
            other => Ok(Self::Json(other)),
        }
    }

    /// The payload as JSON if it holds no binary data: a `Json` as it is, a `Raw`
    /// parsed, an `Array` or `Object` of such built up.
    ///
    /// ```
    /// use ferrio_proto::socketio::{Payload, RawJson};
    /// use serde_json::json;
    ///
    /// let raw = Payload::Raw(RawJson::new(r#"{"a":1}"#).unwrap());
    /// assert_eq!(raw.to_value(), Some(json!({"a": 1})));
    /// assert_eq!(Payload::Binary(vec![1].into()).to_value(), None);
    /// ```
    pub fn to_value(&self) -> Option<Value> {
        match self {
            Self::Json(v) => Some(v.clone()),
            Self::Raw(raw) => Some(raw.to_value()),
            Self::Binary(_) => None,
            Self::Array(items) => items.iter().map(Self::to_value).collect(),
            Self::Object(entries) => dedupe(entries.clone())
                .into_iter()
                .map(|(k, v)| Some((k, v.to_value()?)))
                .collect::<Option<Map<_, _>>>()
                .map(Value::Object),
        }
    }

    /// The JSON inside a `Json` (only called once every item is known to be one).
    fn unwrap_json(self) -> Value {
        match self {
            Self::Json(v) => v,
            _ => Value::Null,
        }
    }

    /// Converts to JSON, turning each binary leaf into what `binary` returns.
    fn into_value(self, binary: &mut impl FnMut(Bytes) -> Value) -> Value {
        match self {
            Self::Json(v) => v,
            Self::Raw(raw) => raw.to_value(),
            Self::Binary(bytes) => binary(bytes),
            Self::Array(items) => {
                Value::Array(items.into_iter().map(|p| p.into_value(binary)).collect())
            }
            Self::Object(entries) => Value::Object(
                dedupe(entries)
                    .into_iter()
                    .map(|(k, p)| (k, p.into_value(binary)))
                    .collect(),
            ),
        }
    }
}

/// Keeps one entry per key: the last value, at the place of the first, as assigning
/// to a JavaScript object does. Done before numbering so that a value that is
/// overwritten leaves no unused attachment behind.
fn dedupe(entries: Vec<(String, Payload)>) -> Vec<(String, Payload)> {
    if entries.len() < 2 {
        return entries;
    }
    let mut slots: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut out: Vec<(String, Payload)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match slots.get(&key) {
            Some(&i) => out[i].1 = value,
            None => {
                slots.insert(key.clone(), out.len());
                out.push((key, value));
            }
        }
    }
    out
}

/// `num` of a placeholder as an index: a non-negative integer (`1.0` counts, as in
/// JavaScript).
fn placeholder_index(num: &Value) -> Option<usize> {
    let n = num.as_number()?;
    let n = match n.as_u64() {
        Some(n) => n,
        None => {
            let f = n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0)?;
            // Out-of-range floats saturate, and then fail the bounds check.
            f as u64
        }
    };
    usize::try_from(n).ok()
}

/// By value without binary data, structurally with it (see [`Payload`]).
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        if !self.has_binary() && !other.has_binary() {
            return match (self, other) {
                (Self::Json(a), Self::Json(b)) => a == b,
                (Self::Raw(a), Self::Raw(b)) if a.as_str() == b.as_str() => true,
                _ => self.to_value() == other.to_value(),
            };
        }
        match (self, other) {
            (Self::Binary(a), Self::Binary(b)) => a == b,
            (Self::Array(a), Self::Array(b)) => a == b,
            (Self::Object(a), Self::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Payload {}

impl From<RawJson> for Payload {
    fn from(raw: RawJson) -> Self {
        Self::Raw(raw)
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Self::Binary(bytes)
    }
}

impl From<Vec<Payload>> for Payload {
    fn from(items: Vec<Payload>) -> Self {
        Self::Array(items)
    }
}

impl Packet<Payload> {
    /// Splits a packet into its text part and its attachments, ready for
    /// [`encode_packet`](super::encode_packet) and one binary Engine.IO message per
    /// buffer, sent in order after the text.
    ///
    /// An event or ack with binary data becomes BINARY_EVENT or BINARY_ACK with its
    /// attachment count; one without becomes a plain EVENT or ACK, whatever type it
    /// had. Other types cannot carry attachments: as Node's `JSON.stringify` does for a
    /// `Buffer`, their binary leaves are written inline as
    /// `{"type":"Buffer","data":[bytes…]}` and no buffer is returned.
    pub fn deconstruct(self) -> (Packet, Vec<Bytes>) {
        let kind = self.kind.to_plain();
        let mut buffers = Vec::new();
        let data = match kind {
            PacketKind::Event | PacketKind::Ack => self.data.map(|d| d.deconstruct(&mut buffers)),
            _ => self.data.map(|d| d.into_value(&mut node_buffer_json)),
        };
        let packet = Packet {
            kind: if buffers.is_empty() {
                kind
            } else {
                kind.to_binary()
            },
            nsp: self.nsp,
            id: self.id,
            data,
            attachments: buffers.len(),
        };
        (packet, buffers)
    }
}

/// `JSON.stringify(buffer)` in Node: `{"type":"Buffer","data":[1,2,3]}`.
fn node_buffer_json(bytes: Bytes) -> Value {
    let mut map = Map::with_capacity(2);
    map.insert("type".into(), "Buffer".into());
    map.insert("data".into(), bytes.iter().copied().collect());
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bin(b: &'static [u8]) -> Payload {
        Payload::Binary(Bytes::from_static(b))
    }

    #[test]
    fn placeholders_are_numbered_depth_first() {
        let payload = Payload::Array(vec![
            json!("ev").into(),
            Payload::Object(vec![
                ("z".into(), bin(b"0")),
                (
                    "a".into(),
                    Payload::Array(vec![bin(b"1"), json!(null).into(), bin(b"2")]),
                ),
            ]),
            bin(b"3"),
        ]);
        assert!(payload.has_binary());
        let mut buffers = Vec::new();
        let wire = payload.clone().deconstruct(&mut buffers);
        let ph = |n: usize| json!({"_placeholder": true, "num": n});
        assert_eq!(
            wire,
            json!(["ev", {"z": ph(0), "a": [ph(1), null, ph(2)]}, ph(3)])
        );
        // Keys keep their order on the wire (JSON.stringify order).
        assert_eq!(
            serde_json::to_string(&wire).unwrap(),
            r#"["ev",{"z":{"_placeholder":true,"num":0},"a":[{"_placeholder":true,"num":1},null,{"_placeholder":true,"num":2}]},{"_placeholder":true,"num":3}]"#
        );
        assert_eq!(buffers, [&b"0"[..], b"1", b"2", b"3"]);
        assert_eq!(Payload::reconstruct(wire, &buffers), Ok(payload));
    }

    #[test]
    fn a_buffer_named_twice_is_sent_once() {
        let shared = Bytes::from(vec![1u8; 1000]);
        let equal_but_distinct = Bytes::from(vec![1u8; 1000]);
        let payload = Payload::Array(vec![
            shared.clone().into(),
            Payload::Object(vec![("again".into(), shared.clone().into())]),
            equal_but_distinct.clone().into(),
            shared.slice(..10).into(),
            shared.clone().into(),
        ]);
        let packet = Packet::new(PacketKind::Event, "/", Some(payload.clone()));
        let (wire, buffers) = packet.deconstruct();
        let ph = |n: usize| json!({"_placeholder": true, "num": n});
        assert_eq!(
            wire.data,
            Some(json!([ph(0), {"again": ph(0)}, ph(1), ph(2), ph(0)]))
        );
        assert_eq!(wire.attachments, 3);
        assert_eq!(buffers.len(), 3);
        assert_eq!(buffers[0].as_ptr(), shared.as_ptr());
        assert_eq!(buffers[1].as_ptr(), equal_but_distinct.as_ptr());
        assert_eq!(buffers[2].len(), 10);
        // And back: every placeholder gets the one buffer.
        assert_eq!(
            Payload::reconstruct(wire.data.unwrap(), &buffers),
            Ok(payload)
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value_at_the_first_place() {
        let payload = Payload::Object(vec![
            ("a".into(), bin(b"dropped")),
            ("b".into(), json!(1).into()),
            ("a".into(), bin(b"kept")),
        ]);
        let mut buffers = Vec::new();
        let wire = payload.deconstruct(&mut buffers);
        assert_eq!(
            serde_json::to_string(&wire).unwrap(),
            r#"{"a":{"_placeholder":true,"num":0},"b":1}"#
        );
        assert_eq!(buffers, [&b"kept"[..]]);
    }

    #[test]
    fn reconstruct_keeps_plain_subtrees_as_json() {
        let wire = json!([{"a": [1, 2]}, {"_placeholder": true, "num": 0}, [{"b": {"_placeholder": true, "num": 0}}]]);
        let buffers = [Bytes::from_static(b"x")];
        assert_eq!(
            Payload::reconstruct(wire, &buffers),
            Ok(Payload::Array(vec![
                json!({"a": [1, 2]}).into(),
                bin(b"x"),
                Payload::Array(vec![Payload::Object(vec![("b".into(), bin(b"x"))])]),
            ]))
        );
        assert!(!Payload::from(json!([1])).has_binary());
        assert_eq!(
            Payload::reconstruct(json!({"_placeholder": false, "num": 9}), &[]),
            Ok(json!({"_placeholder": false, "num": 9}).into())
        );
    }

    #[test]
    fn equality_compares_contents_not_forms() {
        let raw = |t: &str| Payload::Raw(RawJson::new(t).unwrap());
        let forms = [
            Payload::Json(json!([1, {"a": "x"}])),
            Payload::Array(vec![json!(1).into(), raw(r#"{"a":"x"}"#)]),
            raw(r#"[1,{"a":"x"}]"#),
            Payload::Array(vec![
                raw("1"),
                Payload::Object(vec![
                    ("a".into(), json!("y").into()),
                    ("a".into(), raw(r#""x""#)),
                ]),
            ]),
        ];
        for a in &forms {
            for b in &forms {
                assert_eq!(a, b);
            }
        }
        assert_ne!(forms[0], Payload::Json(json!([1, {"a": "y"}])));
        let with_binary = Payload::Array(vec![json!(1).into(), bin(b"x")]);
        assert_eq!(with_binary, Payload::Array(vec![raw("1"), bin(b"x")]));
        assert_ne!(with_binary, Payload::Array(vec![raw("1"), bin(b"y")]));
        assert_ne!(with_binary, forms[0]);
    }

    #[test]
    fn placeholder_num_must_be_in_range() {
        let buffers = [Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        let ph = |num: Value| json!([{"_placeholder": true, "num": num}]);
        assert_eq!(
            Payload::reconstruct(ph(json!(1.0)), &buffers),
            Ok(Payload::Array(vec![bin(b"b")]))
        );
        for bad in [
            json!(2),
            json!(-1),
            json!(0.5),
            json!("0"),
            json!(null),
            json!(1e300),
        ] {
            assert_eq!(
                Payload::reconstruct(ph(bad.clone()), &buffers),
                Err(DecodeError::InvalidPlaceholder),
                "{bad}"
            );
        }
        assert_eq!(
            Payload::reconstruct(json!([{"_placeholder": true}]), &buffers),
            Err(DecodeError::InvalidPlaceholder)
        );
    }

    #[test]
    fn packet_deconstruct_picks_the_wire_type() {
        let ev = Packet::new(
            PacketKind::Event,
            "/a",
            Some(Payload::Array(vec![json!("img").into(), bin(b"\x01\x02")])),
        )
        .with_id(4);
        let (wire, buffers) = ev.deconstruct();
        assert_eq!(
            (wire.kind, wire.attachments, wire.id),
            (PacketKind::BinaryEvent, 1, Some(4))
        );
        assert_eq!(buffers, [&b"\x01\x02"[..]]);

        let ack = Packet::new(PacketKind::BinaryAck, "/", Some(json!([1]).into())).with_id(1);
        let (wire, buffers) = ack.deconstruct();
        assert_eq!((wire.kind, wire.attachments), (PacketKind::Ack, 0));
        assert!(buffers.is_empty());

        let connect = Packet::new(
            PacketKind::Connect,
            "/",
            Some(Payload::Object(vec![("key".into(), bin(b"\x00\xff"))])),
        );
        let (wire, buffers) = connect.deconstruct();
        assert_eq!(wire.kind, PacketKind::Connect);
        assert_eq!(
            wire.data,
            Some(json!({"key": {"type": "Buffer", "data": [0, 255]}}))
        );
        assert!(buffers.is_empty());
    }
}
