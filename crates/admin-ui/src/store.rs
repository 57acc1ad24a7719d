//! The session-id store: a dashboard that logged in gets a session id, and
//! reconnects with it instead of the password (Node's `InMemoryStore` and
//! the `Store` interface of `RedisStore`).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// A future a [`SessionStore`] answers with.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Keeps the session ids given to authenticated dashboards (Node's `Store`:
/// `doesSessionExist`, `saveSession`).
pub trait SessionStore: Send + Sync + 'static {
    /// Whether `session_id` was saved and is still valid.
    fn does_session_exist<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, bool>;
    /// Saves a new session id.
    fn save_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, ()>;
}

/// Default of [`InMemoryStore::with_limits`]'s `max_sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
/// Default of [`InMemoryStore::with_limits`]'s `session_duration`: 24 h, as
/// Node's `RedisStore` (its `InMemoryStore` keeps them forever).
pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(86_400);

/// Session ids in memory, on this server only; bounded in count (the oldest
/// is forgotten first) and in age.
#[derive(Debug)]
pub struct InMemoryStore {
    max_sessions: usize,
    session_duration: Duration,
    sessions: Mutex<Sessions>,
}

#[derive(Debug, Default)]
struct Sessions {
    expiry: HashMap<String, Instant>,
    /// Ids in the order they were saved, to forget the oldest first.
    order: VecDeque<String>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::with_limits(DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_DURATION)
    }
}

impl InMemoryStore {
    /// A store of at most `max_sessions` ids (default 10 000), each valid for
    /// `session_duration` (default 24 h).
    pub fn with_limits(max_sessions: usize, session_duration: Duration) -> Self {
        Self {
            max_sessions: max_sessions.max(1),
            session_duration,
            sessions: Mutex::default(),
        }
    }

    /// How many sessions are kept now (expired ones included until they are
    /// pushed out).
    pub fn len(&self) -> usize {
        self.sessions.lock().expiry.len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn exists(&self, session_id: &str) -> bool {
        let sessions = self.sessions.lock();
        sessions
            .expiry
            .get(session_id)
            .is_some_and(|expires| *expires > Instant::now())
    }

    fn save(&self, session_id: &str) {
        let mut sessions = self.sessions.lock();
        let now = Instant::now();
        // Forget the expired, then the oldest while full.
        while let Some(oldest) = sessions.order.front() {
            let expired = sessions.expiry.get(oldest).is_none_or(|e| *e <= now);
            if !expired && sessions.expiry.len() < self.max_sessions {
                break;
            }
            if let Some(oldest) = sessions.order.pop_front() {
                sessions.expiry.remove(&oldest);
            }
        }
        let expires = now + self.session_duration;
        if sessions
            .expiry
            .insert(session_id.to_owned(), expires)
            .is_none()
        {
            sessions.order.push_back(session_id.to_owned());
        }
    }
}

impl SessionStore for InMemoryStore {
    fn does_session_exist<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, bool> {
        let exists = self.exists(session_id);
        Box::pin(async move { exists })
    }

    fn save_session<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, ()> {
        self.save(session_id);
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_and_the_oldest_goes_first_when_full() {
        let store = InMemoryStore::with_limits(2, Duration::from_secs(10));
        store.save_session("a").await;
        store.save_session("b").await;
        assert!(store.does_session_exist("a").await);
        store.save_session("c").await;
        assert!(
            !store.does_session_exist("a").await,
            "the oldest is forgotten"
        );
        assert!(store.does_session_exist("b").await);
        assert_eq!(store.len(), 2);
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!store.does_session_exist("c").await, "expired");
        store.save_session("d").await;
        assert_eq!(store.len(), 1, "expired ones are pushed out");
    }
}
