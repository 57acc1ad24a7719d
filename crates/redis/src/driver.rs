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
        let subscriber = SubscriberClient::new(config, Some(perf), None, Some(policy()));
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
        })
    }
}

impl FredDriver {
    fn subscriber(&self) -> Result<&SubscriberClient, RedisError> {
        self.subscriber
            .as_ref()
            .ok_or_else(|| RedisError::Redis("this connection only publishes".into()))
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
}
