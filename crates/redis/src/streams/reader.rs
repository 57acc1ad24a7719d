//! The `XREAD` loop of one stream: one blocking connection per stream,
//! shared by every namespace adapter of the factory (as in Node), which
//! hands each entry to the adapters with the entry id as its offset.
//!
//! It starts after the stream's last entry (Node starts at `$`, which loses
//! what is appended before its first `XREAD` is in place), and resumes from
//! the last id it read after Redis comes back, so nothing appended within
//! `MAXLEN` is lost during an outage.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::driver::Driver;
use crate::shared::Router;

/// The pause before a failed read is tried again.
const RETRY: Duration = Duration::from_millis(100);

/// Where a reader starts when the stream is empty or does not exist.
const START: &str = "0-0";

/// Starts reading `stream`; the receiver turns `true` once the reader knows
/// where to start (what is appended from then on is read).
pub(crate) fn spawn(
    stream: String,
    driver: Arc<dyn Driver>,
    router: Weak<Router>,
    count: u64,
    block: Duration,
) -> watch::Receiver<bool> {
    let (started, rx) = watch::channel(false);
    let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX);
    tokio::spawn(async move {
        let mut last = loop {
            match driver.last_id(stream.clone()).await {
                Ok(id) => break id.unwrap_or_else(|| START.to_owned()),
                Err(e) => {
                    tracing::warn!(%stream, error = %e, "stream position not read; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        let _ = started.send(true);
        let mut failing = false;
        loop {
            match driver
                .xread(stream.clone(), last.clone(), count, block_ms)
                .await
            {
                Ok(entries) => {
                    if failing {
                        tracing::info!(%stream, from = %last, "stream reads resumed");
                        failing = false;
                    }
                    let Some(router) = router.upgrade() else {
                        return;
                    };
                    for entry in entries {
                        last.clone_from(&entry.id);
                        router.dispatch_entry(&entry);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(%stream, error = %e, "XREAD failed; retrying from the last id");
                        failing = true;
                    }
                    tokio::time::sleep(RETRY).await;
                }
            }
            if router.strong_count() == 0 {
                return;
            }
        }
    });
    rx
}
