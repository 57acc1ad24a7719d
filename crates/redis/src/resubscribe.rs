//! Restores the subscriber's subscriptions after every reconnection.
//!
//! fred's own `manage_subscriptions` sends `SUBSCRIBE` and `PSUBSCRIBE` even
//! when it tracks none, which Redis refuses ("wrong number of arguments"), and
//! it then gives up before the shard channels: a sharded adapter stayed deaf
//! to the cluster after a Redis restart. This task skips empty lists,
//! subscribes shard channels one by one (each may hash to its own slot), and
//! retries until it succeeds or the next reconnection starts it over.

use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

/// Delay between two attempts when restoring fails (Redis still loading).
const RETRY: Duration = Duration::from_millis(100);

/// Spawns the task; the caller aborts it when it drops the client (the task
/// holds a clone, so the client would otherwise live on).
pub(crate) fn spawn(subscriber: SubscriberClient) -> AbortHandle {
    let mut reconnects = subscriber.reconnect_rx();
    tokio::spawn(async move {
        loop {
            match reconnects.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
            while let Err(e) = restore(&subscriber).await {
                tracing::warn!(error = %e, "restoring Redis subscriptions failed; retrying");
                tokio::time::sleep(RETRY).await;
                // A newer reconnection restores everything itself.
                if !reconnects.is_empty() {
                    break;
                }
            }
        }
    })
    .abort_handle()
}

/// Subscribes again to everything the client tracks.
async fn restore(subscriber: &SubscriberClient) -> Result<(), Error> {
    let channels: Vec<String> = subscriber
        .tracked_channels()
        .iter()
        .map(|c| c.to_string())
        .collect();
    if !channels.is_empty() {
        subscriber.subscribe(channels).await?;
    }
    let patterns: Vec<String> = subscriber
        .tracked_patterns()
        .iter()
        .map(|p| p.to_string())
        .collect();
    if !patterns.is_empty() {
        subscriber.psubscribe(patterns).await?;
    }
    for channel in subscriber.tracked_shard_channels() {
        subscriber.ssubscribe(channel.to_string()).await?;
    }
    Ok(())
}
