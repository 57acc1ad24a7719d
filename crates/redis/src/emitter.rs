//! [`Emitter`]: send to the clients of a cluster from any Rust process, as
//! `@socket.io/redis-emitter` 5.1 does from Node (memo §2.4).

use std::sync::Arc;

use bytes::Bytes;
use ferrio_proto::socketio::{ArgsError, Payload, RESERVED_EVENTS, to_args};
use serde::Serialize;
use serde_json::{Value, json};

use crate::RedisError;
use crate::classic::wire::{self, WireFlags, WireOpts};
use crate::driver::{Driver, FredDriver, Outgoing};

/// Why an emitter call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// The event name is reserved (`connect`, `disconnect`, …), as Node's
    /// emitter refuses it.
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The arguments could not be serialized.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The message could not be encoded.
    #[error("could not encode the message: {0}")]
    Encode(String),
    /// Redis did not take it.
    #[error(transparent)]
    Redis(#[from] RedisError),
}

/// Publishes to a cluster's clients through Redis, without being a server:
/// the wire of `@socket.io/redis-emitter` 5.1 (uid `"emitter"`), which Node
/// servers with the classic adapter and ferrio servers with
/// [`RedisAdapter`](crate::RedisAdapter) both understand.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let emitter = ferrio_redis::Emitter::connect("redis://127.0.0.1:6379", "socket.io").await?;
/// emitter.to("room1").emit("news", &("hello",)).await?;
/// emitter.of("/admin").volatile().emit("tick", &(1,)).await?;
/// emitter.server_side_emit("reload", &("config",)).await?;
/// # Ok(()) }
/// ```
///
/// The builder methods return a new `Emitter`; clones share one connection.
#[derive(Clone)]
pub struct Emitter {
    driver: Arc<dyn Driver>,
    key: Arc<str>,
    nsp: Arc<str>,
    opts: WireOpts,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

const UID: &str = "emitter";

impl Emitter {
    /// Connects to Redis at `url`, for the channels under `key` (Node's
    /// default is `"socket.io"`); it emits to the main namespace `/`.
    pub async fn connect(url: &str, key: &str) -> Result<Self, RedisError> {
        Ok(Self {
            driver: Arc::new(FredDriver::connect_publisher(url).await?),
            key: key.into(),
            nsp: "/".into(),
            opts: WireOpts::default(),
        })
    }

    /// The same emitter for namespace `nsp` (a leading `/` is added when
    /// missing, as Node's `.of()` does), with no rooms or flags.
    pub fn of(&self, nsp: &str) -> Self {
        let nsp: Arc<str> = if nsp.starts_with('/') {
            nsp.into()
        } else {
            format!("/{nsp}").into()
        };
        Self {
            driver: self.driver.clone(),
            key: self.key.clone(),
            nsp,
            opts: WireOpts::default(),
        }
    }

    /// Targets also the sockets in `room`.
    pub fn to(&self, room: impl Into<String>) -> Self {
        let mut next = self.clone();
        let room = room.into();
        if !next.opts.rooms.contains(&room) {
            next.opts.rooms.push(room);
        }
        next
    }

    /// Same as [`to`](Self::to).
    pub fn in_room(&self, room: impl Into<String>) -> Self {
        self.to(room)
    }

    /// Leaves out the sockets in `room`.
    pub fn except(&self, room: impl Into<String>) -> Self {
        let mut next = self.clone();
        let room = room.into();
        if !next.opts.except.contains(&room) {
            next.opts.except.push(room);
        }
        next
    }

    /// Clients that are not ready may miss it.
    pub fn volatile(&self) -> Self {
        let mut next = self.clone();
        next.opts.flags.volatile = true;
        next
    }

    /// Sets the `compress` flag.
    pub fn compress(&self, compress: bool) -> Self {
        let mut next = self.clone();
        next.opts.flags.compress = Some(compress);
        next
    }

    /// Emits an event to the targeted clients; `data` is the arguments (a
    /// tuple for several; `bytes::Bytes` is binary).
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        self.emit_args(event, to_args(data)?).await
    }

    /// Emits an event whose arguments are payloads already (binary kept).
    pub async fn emit_args(&self, event: &str, args: Vec<Payload>) -> Result<(), EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::Reserved(event.to_owned()));
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Payload::Json(Value::String(event.to_owned())));
        data.extend(args);
        let bytes = encode_emitter_broadcast(&self.nsp, &Payload::Array(data), &self.opts)
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        let channel = match &self.opts.rooms[..] {
            [room] => format!("{}#{}#{room}#", self.key, self.nsp),
            _ => format!("{}#{}#", self.key, self.nsp),
        };
        self.publish(channel, bytes).await
    }

    /// Makes the targeted sockets of every server join `rooms`.
    pub async fn sockets_join(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        self.request(json!({"type": wire::kind::REMOTE_JOIN, "opts": wire::opts_json(&self.opts), "rooms": rooms}))
            .await
    }

    /// Makes the targeted sockets of every server leave `rooms`.
    pub async fn sockets_leave(&self, rooms: &[&str]) -> Result<(), EmitterError> {
        self.request(json!({"type": wire::kind::REMOTE_LEAVE, "opts": wire::opts_json(&self.opts), "rooms": rooms}))
            .await
    }

    /// Disconnects the targeted sockets of every server; with `close`, their
    /// whole connection.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.request(json!({"type": wire::kind::REMOTE_DISCONNECT, "opts": wire::opts_json(&self.opts), "close": close}))
            .await
    }

    /// Sends an event to every server of the namespace (their
    /// `on_server_side` / `io.on(event)` handlers). Acks are not supported,
    /// as in Node's emitter.
    pub async fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::Reserved(event.to_owned()));
        }
        let mut args = vec![Payload::Json(Value::String(event.to_owned()))];
        args.extend(to_args(data)?);
        let bytes = wire::encode_server_side(UID, None, &Payload::Array(args))
            .map_err(|e| EmitterError::Encode(e.to_string()))?;
        self.publish(self.request_channel(), bytes).await
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.key, self.nsp)
    }

    async fn request(&self, body: Value) -> Result<(), EmitterError> {
        self.publish(self.request_channel(), wire::json_bytes(&body))
            .await
    }

    async fn publish(&self, channel: String, bytes: Bytes) -> Result<(), EmitterError> {
        Ok(self
            .driver
            .publish_all(vec![Outgoing {
                channel,
                payload: bytes,
                sharded: false,
            }])
            .await?)
    }
}

/// The emitter's broadcast: `["emitter", {type:2, data, nsp}, {rooms, flags, except}]`
/// (its opts keys come in that order).
fn encode_emitter_broadcast(
    nsp: &str,
    data: &Payload,
    opts: &WireOpts,
) -> Result<Bytes, ferrio_proto::socketio::msgpack::EncodeError> {
    use ferrio_proto::socketio::msgpack::Writer;
    let mut w = Writer::new();
    w.array_len(3)?;
    w.str(UID)?;
    w.map_len(3)?;
    w.str("type")?;
    w.uint(2);
    w.str("data")?;
    w.payload(data)?;
    w.str("nsp")?;
    w.str(nsp)?;
    w.map_len(3)?;
    w.str("rooms")?;
    w.array_len(opts.rooms.len())?;
    for room in &opts.rooms {
        w.str(room)?;
    }
    w.str("flags")?;
    let flags = WireFlags {
        volatile: opts.flags.volatile,
        compress: opts.flags.compress,
        ..WireFlags::default()
    };
    let len = usize::from(flags.volatile) + usize::from(flags.compress.is_some());
    w.map_len(len)?;
    if flags.volatile {
        w.str("volatile")?;
        w.bool(true);
    }
    if let Some(compress) = flags.compress {
        w.str("compress")?;
        w.bool(compress);
    }
    w.str("except")?;
    w.array_len(opts.except.len())?;
    for room in &opts.except {
        w.str(room)?;
    }
    Ok(Bytes::from(w.into_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Appendix A's captures of `@socket.io/redis-emitter` 5.1.
    #[test]
    fn the_emitters_broadcasts_are_nodes_bytes() {
        let opts = WireOpts {
            rooms: vec!["r3".into()],
            ..WireOpts::default()
        };
        let data = Payload::Array(vec![
            Payload::Json(json!("from-emitter")),
            Payload::Binary(Bytes::from_static(&[9])),
        ]);
        assert_eq!(
            encode_emitter_broadcast("/", &data, &opts)
                .unwrap()
                .to_vec(),
            hex(
                "93a7656d697474657283a47479706502a46461746192ac66726f6d2d656d6974746572c40109a36e7370a12f83a5726f6f6d7391a27233a5666c61677380a665786365707490"
            )
        );
        let opts = WireOpts {
            except: vec!["r".into()],
            flags: WireFlags {
                volatile: true,
                ..WireFlags::default()
            },
            ..WireOpts::default()
        };
        assert_eq!(
            encode_emitter_broadcast("/admin", &Payload::Json(json!(["b"])), &opts)
                .unwrap()
                .to_vec(),
            hex(
                "93a7656d697474657283a47479706502a46461746191a162a36e7370a62f61646d696e83a5726f6f6d7390a5666c61677381a8766f6c6174696c65c3a665786365707491a172"
            )
        );
    }

    #[test]
    fn the_emitters_requests_are_nodes_json() {
        let opts = WireOpts::default();
        assert_eq!(
            &wire::json_bytes(
                &json!({"type": wire::kind::REMOTE_LEAVE, "opts": wire::opts_json(&opts), "rooms": ["r3"]})
            )[..],
            br#"{"type":3,"opts":{"rooms":[],"except":[]},"rooms":["r3"]}"#
        );
        let args = Payload::Array(vec![json!("evt").into(), json!(1).into()]);
        assert_eq!(
            &wire::encode_server_side(UID, None, &args).unwrap()[..],
            br#"{"uid":"emitter","type":6,"data":["evt",1]}"#
        );
    }
}
