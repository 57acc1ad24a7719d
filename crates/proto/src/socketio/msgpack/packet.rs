//! Socket.IO packets as `socket.io-msgpack-parser` 3.0.2 sends them: one
//! MessagePack map per packet, in one binary Engine.IO message.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use super::decode::decode_entries;
use super::{EncodeError, PacketError, Writer, decode};
use crate::socketio::{DecoderConfig, Packet, PacketKind, Payload, RESERVED_EVENTS};

/// Values the envelope adds around the data (`type`, `nsp`, `id` and the map
/// itself): they do not count against
/// [`max_json_values`](DecoderConfig::max_json_values), which bounds the data
/// as it does in a text packet.
const ENVELOPE_VALUES: usize = 4;

/// Appends `packet` to `out` as `socket.io-msgpack-parser` encodes the packet
/// object of a Node server: the map `{type, data, nsp, id}` written by
/// notepack.io, where
///
/// * `type` is the number of the plain type (0 CONNECT … 4 CONNECT_ERROR; a
///   binary type is written as EVENT or ACK: there are no attachments);
/// * `data` is left out when the packet has none (DISCONNECT, a CONNECT
///   without auth), and binary leaves are written inline as `bin`;
/// * `nsp` is always written (the receiving parser refuses a packet without
///   it), `"/"` for the main namespace;
/// * `id` is written only when the packet carries an ack id.
///
/// Node builds its packet objects with the keys in other orders for some
/// packets (`{id, type, data, nsp}` for an ACK), and its CONNECT reply holds
/// `pid: undefined` when recovery is off, which ferrio leaves out: every
/// decoder reads the same packet either way.
///
/// On error (a string, buffer or array of 2^32 items or more) `out` is left
/// as it was.
///
/// ```
/// use ferrio_proto::socketio::{Packet, PacketKind, msgpack};
/// use serde_json::json;
///
/// let packet = Packet::new(PacketKind::Event, "/", Some(json!(["hi", 1]).into())).with_id(7);
/// let mut out = Vec::new();
/// msgpack::write_packet(&packet, &mut out)?;
/// assert_eq!(out, b"\x84\xa4type\x02\xa4data\x92\xa2hi\x01\xa3nsp\xa1/\xa2id\x07");
/// # Ok::<(), msgpack::EncodeError>(())
/// ```
pub fn write_packet(packet: &Packet<Payload>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = Writer::append(out, |w| {
        let fields = 2 + usize::from(packet.data.is_some()) + usize::from(packet.id.is_some());
        w.map_len(fields)?;
        w.str("type")?;
        w.uint(type_number(packet.kind));
        if let Some(data) = &packet.data {
            w.str("data")?;
            w.payload(data)?;
        }
        w.str("nsp")?;
        w.str(if packet.nsp.is_empty() {
            "/"
        } else {
            &packet.nsp
        })?;
        if let Some(id) = packet.id {
            w.str("id")?;
            w.uint(id);
        }
        Ok(())
    });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The number of a packet type in the msgpack parser: binary types are plain.
fn type_number(kind: PacketKind) -> u64 {
    match kind.to_plain() {
        PacketKind::Connect => 0,
        PacketKind::Disconnect => 1,
        PacketKind::Event | PacketKind::BinaryEvent => 2,
        PacketKind::Ack | PacketKind::BinaryAck => 3,
        PacketKind::ConnectError => 4,
    }
}

/// Decodes one binary Engine.IO message of a `socket.io-msgpack-parser` peer
/// into a packet, with the checks of that parser's `checkPacket`:
///
/// | field | must be |
/// |---|---|
/// | `type` | an integer from 0 (CONNECT) to 4 (CONNECT_ERROR) |
/// | `nsp` | a string (it is required) |
/// | `id` | absent, or an integer (ferrio: not negative; beyond 2^53 a JavaScript number is not exact) |
/// | `data` | CONNECT: absent or an object; DISCONNECT: absent; EVENT, ACK: an array; CONNECT_ERROR: an object or a string |
///
/// Values are read as [`decode`](super::decode) reads them (binary leaves as
/// [`Payload::Binary`], `undefined` values as absent keys); other keys of the
/// map are ignored (Node's client sends `options`).
///
/// Stricter than the Node parser where the Node server would then misbehave,
/// as ferrio's text decoder is: an EVENT's array must start with a string that
/// is not in [`RESERVED_EVENTS`] or with a number, and an ACK must have an id.
///
/// Limits: [`max_depth`](DecoderConfig::max_depth) and
/// [`max_json_values`](DecoderConfig::max_json_values) bound the data as in a
/// text packet (the envelope map is not counted). Binary leaves are not
/// attachments: [`max_attachments`](DecoderConfig::max_attachments) does not
/// apply; the Engine.IO payload limit bounds the message.
///
/// ```
/// use bytes::Bytes;
/// use ferrio_proto::socketio::{DecoderConfig, PacketKind, Payload, msgpack};
/// use serde_json::json;
///
/// let bytes = Bytes::from_static(b"\x84\xa4type\x02\xa4data\x92\xa3img\xc4\x01\x07\xa3nsp\xa5/chat\xa2id\x05");
/// let packet = msgpack::decode_packet(&bytes, &DecoderConfig::default())?;
/// assert_eq!((packet.kind, packet.nsp.as_ref(), packet.id), (PacketKind::Event, "/chat", Some(5)));
/// assert_eq!(
///     packet.data,
///     Some(Payload::Array(vec![json!("img").into(), Bytes::from_static(&[7]).into()]))
/// );
/// # Ok::<(), msgpack::PacketError>(())
/// ```
pub fn decode_packet(
    bytes: &Bytes,
    config: &DecoderConfig,
) -> Result<Packet<Payload>, PacketError> {
    let envelope = config
        .max_depth(config.max_depth.saturating_add(1))
        .max_json_values(config.max_json_values.saturating_add(ENVELOPE_VALUES));
    // The envelope's fields are read in place: no map is built for them. A
    // repeated key's last value is the map's, as when the map is built.
    let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
    let is_map = decode_entries(bytes, &envelope, |key, value| match key {
        "type" => kind = value,
        "nsp" => nsp = value,
        "id" => id = value,
        "data" => data = value,
        _ => {}
    })?;
    if !is_map {
        // Not a map: refused, after the decoder's own errors.
        decode(bytes, &envelope)?;
        return Err(PacketError::NotAMap);
    }
    let kind = kind
        .as_ref()
        .and_then(packet_kind)
        .ok_or(PacketError::InvalidType)?;
    let nsp = match nsp {
        Some(Payload::Json(Value::String(nsp))) if nsp == "/" => Cow::Borrowed("/"),
        Some(Payload::Json(Value::String(nsp))) => Cow::Owned(nsp),
        _ => return Err(PacketError::InvalidNamespace),
    };
    let id = match id {
        None => None,
        Some(Payload::Json(Value::Number(n))) => Some(n.as_u64().ok_or(PacketError::InvalidId)?),
        Some(_) => return Err(PacketError::InvalidId),
    };
    check_data(kind, id, data.as_ref())?;
    Ok(Packet {
        kind,
        nsp,
        id,
        data,
        attachments: 0,
    })
}

/// The packet type of a `type` field.
fn packet_kind(value: &Payload) -> Option<PacketKind> {
    let Payload::Json(Value::Number(n)) = value else {
        return None;
    };
    Some(match n.as_u64()? {
        0 => PacketKind::Connect,
        1 => PacketKind::Disconnect,
        2 => PacketKind::Event,
        3 => PacketKind::Ack,
        4 => PacketKind::ConnectError,
        _ => return None,
    })
}

fn is_object(data: &Payload) -> bool {
    matches!(data, Payload::Json(Value::Object(_)) | Payload::Object(_))
}

fn check_data(
    kind: PacketKind,
    id: Option<u64>,
    data: Option<&Payload>,
) -> Result<(), PacketError> {
    let invalid = PacketError::InvalidPayload(kind);
    let valid = match (kind, data) {
        (PacketKind::Connect, None) | (PacketKind::Disconnect, None) => true,
        // python-socketio writes `data: nil` in its DISCONNECT. Node's parser
        // refuses it and closes the connection ("forced close"), which over
        // long-polling holds the session until its close times out; a
        // DISCONNECT carries nothing, so ferrio takes it.
        (PacketKind::Disconnect, Some(Payload::Json(Value::Null))) => true,
        (PacketKind::Connect, Some(data)) => is_object(data),
        (PacketKind::ConnectError, Some(data)) => {
            is_object(data) || matches!(data, Payload::Json(Value::String(_)))
        }
        (PacketKind::Event, Some(data)) => return check_event(data),
        (PacketKind::Ack, Some(Payload::Json(Value::Array(_)) | Payload::Array(_))) => {
            id.ok_or(PacketError::MissingAckId)?;
            true
        }
        _ => false,
    };
    if valid { Ok(()) } else { Err(invalid) }
}

/// An event's array: a name (a string not reserved, or a number) first.
fn check_event(data: &Payload) -> Result<(), PacketError> {
    let invalid = PacketError::InvalidPayload(PacketKind::Event);
    let first = match data {
        Payload::Json(Value::Array(items)) => items.first(),
        Payload::Array(items) => match items.first() {
            Some(Payload::Json(first)) => Some(first),
            _ => None,
        },
        _ => None,
    };
    match first {
        Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
            Err(PacketError::ReservedEvent(name.clone()))
        }
        Some(Value::String(_) | Value::Number(_)) => Ok(()),
        _ => Err(invalid),
    }
}
