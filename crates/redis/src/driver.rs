//! The Redis connection behind the adapters, as a small internal trait, and
//! its implementation on fred.
//!
//! The adapters need only publishing, (pattern) subscriptions, `PUBSUB NUMSUB`
//! and a stream of incoming messages; keeping that behind [`Driver`] lets a
//! second client library be added (or a test double be used) without touching
//! the protocol code.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::CustomCommand;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use crate::RedisError;

/// A boxed future of the driver.
pub(crate) type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message received on a subscribed channel or pattern.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    /// The channel it was published to.
    pub channel: String,
    /// Its bytes, as published.
    pub payload: Bytes,
}

/// A message to publish: `PUBLISH`, or `SPUBLISH` when `sharded`.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The channel.
    pub channel: String,
    /// The bytes.
    pub payload: Bytes,
    /// Sharded pub/sub (Redis 7).
    pub sharded: bool,
}

/// One entry of a stream: its id and its fields, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamEntry {
    /// `<ms>-<seq>`.
    pub id: String,
    /// `(field, value)` pairs.
    pub fields: Vec<(String, Bytes)>,
}

/// One `XADD`: `XADD stream MAXLEN ~ max_len * field value …`.
#[derive(Debug, Clone)]
pub(crate) struct XAdd {
    /// The stream.
    pub stream: String,
    /// The approximate cap.
    pub max_len: u64,
    /// The fields, in order.
    pub fields: Vec<(&'static str, Bytes)>,
}

impl XAdd {
    /// What it costs the queue: its stream name and fields.
    pub(crate) fn size(&self) -> usize {
        self.stream.len()
            + self
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

/// Where incoming messages go.
pub(crate) type Sink = Arc<dyn Fn(Incoming) + Send + Sync>;

/// What the adapters ask of a Redis connection.
pub(crate) trait Driver: Send + Sync + 'static {
    /// Publishes each message in order (pipelined).
    fn publish_all(&self, batch: Vec<Outgoing>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `PUBSUB SHARDNUMSUB channel`.
    fn shardnumsub(&self, channel: String) -> DriverFuture<'_, Result<usize, RedisError>>;
    /// `SSUBSCRIBE`, kept across reconnections.
    fn ssubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `SUNSUBSCRIBE`.
    fn sunsubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `PUBSUB NUMSUB channel`.
    fn numsub(&self, channel: String) -> DriverFuture<'_, Result<usize, RedisError>>;
    /// `SUBSCRIBE`, kept across reconnections.
    fn subscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `PSUBSCRIBE`, kept across reconnections.
    fn psubscribe(&self, patterns: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `UNSUBSCRIBE`.
    fn unsubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// `PUNSUBSCRIBE`.
    fn punsubscribe(&self, patterns: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>>;
    /// Messages that arrived while the reader lagged behind, lost (a metric).
    fn lagged(&self) -> u64;

    /// Each `XADD`, pipelined: the entry ids, in order. Default: unsupported.
    fn xadd_all(
        &self,
        _batch: Vec<XAdd>,
    ) -> DriverFuture<'_, Result<Vec<Result<String, RedisError>>, RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }

    /// `XREAD BLOCK block_ms COUNT count STREAMS stream after`, on a
    /// connection of the stream's own (it blocks). Default: unsupported.
    fn xread(
        &self,
        _stream: String,
        _after: String,
        _count: u64,
        _block_ms: u64,
    ) -> DriverFuture<'_, Result<Vec<StreamEntry>, RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }

    /// `XRANGE stream start end [COUNT count]`. Default: unsupported.
    fn xrange(
        &self,
        _stream: String,
        _start: String,
        _end: String,
        _count: Option<u64>,
    ) -> DriverFuture<'_, Result<Vec<StreamEntry>, RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }

    /// The id of the stream's last entry (`XREVRANGE stream + - COUNT 1`),
    /// `None` when it is empty. Default: unsupported.
    fn last_id(&self, _stream: String) -> DriverFuture<'_, Result<Option<String>, RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }

    /// `SET key value PX ms`. Default: unsupported.
    fn set_px(
        &self,
        _key: String,
        _value: Bytes,
        _ms: u64,
    ) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }

    /// Gets and deletes a key at once (`GETDEL`). Default: unsupported.
    fn take(&self, _key: String) -> DriverFuture<'_, Result<Option<Bytes>, RedisError>> {
        Box::pin(async { Err(unsupported()) })
    }
}

fn unsupported() -> RedisError {
    RedisError::Redis("not supported by this connection".into())
}

/// A command sent as is (fred's typed stream commands convert replies into
/// maps, which would refuse a whole reply for one malformed entry).
fn command(name: &'static str, blocking: bool) -> CustomCommand {
    CustomCommand::new_static(name, None::<u16>, blocking)
}

/// The bytes of a bulk or simple string reply.
fn bytes_of(value: Value) -> Option<Bytes> {
    match value {
        Value::Bytes(b) => Some(b),
        Value::String(s) => Some(s.into_inner()),
        _ => None,
    }
}

fn text_of(value: Value) -> Option<String> {
    String::from_utf8(bytes_of(value)?.to_vec()).ok()
}

/// The entries of an `XRANGE` reply (or of one stream in an `XREAD` reply):
/// `[[id, [field, value, …]], …]`. A malformed entry is logged and skipped.
fn entries_of(value: Value) -> Vec<StreamEntry> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let entry = entry_of(item);
            if entry.is_none() {
                tracing::warn!("malformed stream entry skipped");
            }
            entry
        })
        .collect()
}

fn entry_of(item: Value) -> Option<StreamEntry> {
    let Value::Array(parts) = item else {
        return None;
    };
    let mut parts = parts.into_iter();
    let id = text_of(parts.next()?)?;
    let fields = match parts.next()? {
        Value::Array(flat) => {
            let mut fields = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let Some(key) = flat.next() {
                let value = bytes_of(flat.next()?)?;
                fields.push((text_of(key)?, value));
            }
            fields
        }
        Value::Map(map) => map
            .inner()
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), bytes_of(v)?)))
            .collect(),
        // An entry whose fields are gone (XDEL'd while read): no fields.
        Value::Null => Vec::new(),
        _ => return None,
    };
    Some(StreamEntry { id, fields })
}

/// The entries of an `XREAD` reply for one stream: `[[stream, entries]]`
/// (RESP2) or `{stream: entries}` (RESP3); `Null` when the block timed out.
fn xread_entries(value: Value) -> Vec<StreamEntry> {
    match value {
        Value::Array(streams) => streams
            .into_iter()
            .flat_map(|stream| match stream {
                Value::Array(pair) => pair.into_iter().nth(1).map(entries_of).unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect(),
        Value::Map(map) => map.inner().into_values().flat_map(entries_of).collect(),
        _ => Vec::new(),
    }
}

/// The fred implementation: one publisher client and one subscriber client,
/// each reconnecting on its own; the subscriber subscribes again to every
/// channel, pattern and shard channel after a reconnection
/// ([`crate::resubscribe`]).
pub(crate) struct FredDriver {
    publisher: Client,
    /// `None` for a driver that only publishes (the emitter).
    subscriber: Option<SubscriberClient>,
    /// The task restoring the subscriptions after a reconnection.
    resubscriber: Option<AbortHandle>,
    lagged: Arc<AtomicU64>,
    /// Where the clients connect (for the stream readers).
    config: Option<Config>,
    /// One blocking `XREAD` connection per stream, made on first use.
    readers: std::sync::Mutex<std::collections::HashMap<String, Client>>,
}

impl Drop for FredDriver {
    fn drop(&mut self) {
        if let Some(task) = &self.resubscriber {
            task.abort();
        }
    }
}

/// Capacity of fred's fan-out of incoming messages (its default of 32 drops
/// messages under bursts).
const INCOMING_CAPACITY: usize = 65_536;

fn driver_error(e: Error) -> RedisError {
    RedisError::Redis(e.to_string())
}

/// Reconnect forever, every 100 ms up to 1 s apart.
fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new_exponential(0, 100, 1_000, 2)
}

fn config_of(url: &str) -> Result<Config, RedisError> {
    Config::from_url(url).map_err(|e| RedisError::Url(e.to_string()))
}

impl FredDriver {
    /// Connects a client that only publishes (and counts subscribers).
    pub(crate) async fn connect_publisher(url: &str) -> Result<Self, RedisError> {
        let publisher = Client::new(config_of(url)?, None, None, Some(policy()));
        publisher.init().await.map_err(driver_error)?;
        Ok(Self {
            publisher,
            subscriber: None,
            resubscriber: None,
            lagged: Arc::new(AtomicU64::new(0)),
            config: None,
            readers: Default::default(),
        })
    }

    /// Connects both clients to `url` and starts delivering incoming messages
    /// to `sink`.
    pub(crate) async fn connect(url: &str, sink: Sink) -> Result<Self, RedisError> {
        let config = config_of(url)?;
        let perf = PerformanceConfig {
            broadcast_channel_capacity: INCOMING_CAPACITY,
            ..Default::default()
        };
        let publisher = Client::new(config.clone(), None, None, Some(policy()));
        let subscriber = SubscriberClient::new(config.clone(), Some(perf), None, Some(policy()));
        publisher.init().await.map_err(driver_error)?;
        let mut rx = subscriber.message_rx();
        subscriber.init().await.map_err(driver_error)?;
        let resubscriber = crate::resubscribe::spawn(subscriber.clone());
        let lagged = Arc::new(AtomicU64::new(0));
        let lag_count = lagged.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(message) => {
                        let Some(payload) = message.value.into_bytes() else {
                            tracing::debug!(channel = %&*message.channel, "non-bulk pub/sub message skipped");
                            continue;
                        };
                        sink(Incoming {
                            channel: message.channel.to_string(),
                            payload,
                        });
                    }
                    Err(RecvError::Lagged(n)) => {
                        lag_count.fetch_add(n, Ordering::Relaxed);
                        tracing::warn!(lost = n, "Redis messages lost: the adapter fell behind");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Ok(Self {
            publisher,
            subscriber: Some(subscriber),
            resubscriber: Some(resubscriber),
            lagged,
            config: Some(config),
            readers: Default::default(),
        })
    }
}

impl FredDriver {
    fn subscriber(&self) -> Result<&SubscriberClient, RedisError> {
        self.subscriber
            .as_ref()
            .ok_or_else(|| RedisError::Redis("this connection only publishes".into()))
    }

    /// The blocking connection of `stream`, connected on first use.
    async fn reader(&self, stream: &str) -> Result<Client, RedisError> {
        let existing = self
            .readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(stream)
            .cloned();
        if let Some(client) = existing {
            return Ok(client);
        }
        let config = self.config.clone().ok_or_else(unsupported)?;
        let client = Client::new(config, None, None, Some(policy()));
        client.init().await.map_err(driver_error)?;
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stream.to_owned(), client.clone());
        Ok(client)
    }
}

impl Driver for FredDriver {
    fn publish_all(&self, batch: Vec<Outgoing>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            if let [one] = &batch[..] {
                let (channel, payload) = (one.channel.as_str(), one.payload.clone());
                let _: i64 = if one.sharded {
                    self.publisher.spublish(channel, payload).await
                } else {
                    self.publisher.publish(channel, payload).await
                }
                .map_err(driver_error)?;
                return Ok(());
            }
            let pipeline = self.publisher.pipeline();
            for out in batch {
                let _: () = if out.sharded {
                    pipeline.spublish(out.channel, out.payload).await
                } else {
                    pipeline.publish(out.channel, out.payload).await
                }
                .map_err(driver_error)?;
            }
            let _: Vec<Value> = pipeline.all().await.map_err(driver_error)?;
            Ok(())
        })
    }

    fn shardnumsub(&self, channel: String) -> DriverFuture<'_, Result<usize, RedisError>> {
        Box::pin(async move {
            let counts: Vec<(String, i64)> = self
                .publisher
                .pubsub_shardnumsub(channel)
                .await
                .map_err(driver_error)?;
            Ok(counts
                .first()
                .map_or(0, |(_, n)| usize::try_from(*n).unwrap_or(0)))
        })
    }

    fn ssubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .ssubscribe(channels)
                .await
                .map_err(driver_error)
        })
    }

    fn sunsubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .sunsubscribe(channels)
                .await
                .map_err(driver_error)
        })
    }

    fn numsub(&self, channel: String) -> DriverFuture<'_, Result<usize, RedisError>> {
        Box::pin(async move {
            let counts: Vec<(String, i64)> = self
                .publisher
                .pubsub_numsub(channel)
                .await
                .map_err(driver_error)?;
            Ok(counts
                .first()
                .map_or(0, |(_, n)| usize::try_from(*n).unwrap_or(0)))
        })
    }

    fn subscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .subscribe(channels)
                .await
                .map_err(driver_error)
        })
    }

    fn psubscribe(&self, patterns: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .psubscribe(patterns)
                .await
                .map_err(driver_error)
        })
    }

    fn unsubscribe(&self, channels: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .unsubscribe(channels)
                .await
                .map_err(driver_error)
        })
    }

    fn punsubscribe(&self, patterns: Vec<String>) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            self.subscriber()?
                .punsubscribe(patterns)
                .await
                .map_err(driver_error)
        })
    }

    fn lagged(&self) -> u64 {
        self.lagged.load(Ordering::Relaxed)
    }

    fn xadd_all(
        &self,
        batch: Vec<XAdd>,
    ) -> DriverFuture<'_, Result<Vec<Result<String, RedisError>>, RedisError>> {
        Box::pin(async move {
            let pipeline = self.publisher.pipeline();
            for add in batch {
                let mut args: Vec<Value> = vec![
                    add.stream.into(),
                    "MAXLEN".into(),
                    "~".into(),
                    Value::try_from(add.max_len).map_err(driver_error)?,
                    "*".into(),
                ];
                for (field, value) in add.fields {
                    args.push(field.into());
                    args.push(value.into());
                }
                let _: () = pipeline
                    .custom(command("XADD", false), args)
                    .await
                    .map_err(driver_error)?;
            }
            Ok(pipeline
                .try_all::<Value>()
                .await
                .into_iter()
                .map(|r| {
                    r.map_err(driver_error).and_then(|v| {
                        text_of(v).ok_or_else(|| RedisError::Redis("XADD gave no id".into()))
                    })
                })
                .collect())
        })
    }

    fn xread(
        &self,
        stream: String,
        after: String,
        count: u64,
        block_ms: u64,
    ) -> DriverFuture<'_, Result<Vec<StreamEntry>, RedisError>> {
        Box::pin(async move {
            let reader = self.reader(&stream).await?;
            let args: Vec<Value> = vec![
                "BLOCK".into(),
                Value::try_from(block_ms).map_err(driver_error)?,
                "COUNT".into(),
                Value::try_from(count).map_err(driver_error)?,
                "STREAMS".into(),
                stream.into(),
                after.into(),
            ];
            let reply: Value = reader
                .custom(command("XREAD", true), args)
                .await
                .map_err(driver_error)?;
            Ok(xread_entries(reply))
        })
    }

    fn xrange(
        &self,
        stream: String,
        start: String,
        end: String,
        count: Option<u64>,
    ) -> DriverFuture<'_, Result<Vec<StreamEntry>, RedisError>> {
        Box::pin(async move {
            let mut args: Vec<Value> = vec![stream.into(), start.into(), end.into()];
            if let Some(count) = count {
                args.push("COUNT".into());
                args.push(Value::try_from(count).map_err(driver_error)?);
            }
            let reply: Value = self
                .publisher
                .custom(command("XRANGE", false), args)
                .await
                .map_err(driver_error)?;
            Ok(entries_of(reply))
        })
    }

    fn last_id(&self, stream: String) -> DriverFuture<'_, Result<Option<String>, RedisError>> {
        Box::pin(async move {
            let args: Vec<Value> = vec![
                stream.into(),
                "+".into(),
                "-".into(),
                "COUNT".into(),
                1.into(),
            ];
            let reply: Value = self
                .publisher
                .custom(command("XREVRANGE", false), args)
                .await
                .map_err(driver_error)?;
            Ok(entries_of(reply).into_iter().next().map(|e| e.id))
        })
    }

    fn set_px(
        &self,
        key: String,
        value: Bytes,
        ms: u64,
    ) -> DriverFuture<'_, Result<(), RedisError>> {
        Box::pin(async move {
            let args: Vec<Value> = vec![
                key.into(),
                value.into(),
                "PX".into(),
                Value::try_from(ms.max(1)).map_err(driver_error)?,
            ];
            let _: Value = self
                .publisher
                .custom(command("SET", false), args)
                .await
                .map_err(driver_error)?;
            Ok(())
        })
    }

    fn take(&self, key: String) -> DriverFuture<'_, Result<Option<Bytes>, RedisError>> {
        Box::pin(async move {
            let reply: Value = self
                .publisher
                .custom(command("GETDEL", false), vec![Value::from(key)])
                .await
                .map_err(driver_error)?;
            Ok(bytes_of(reply))
        })
    }
}
