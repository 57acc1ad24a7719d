//! The admin namespace's connection middleware for basic authentication
//! (Node's `initAuthenticationMiddleware`): a session id from an earlier
//! login, or the username and a password that matches the bcrypt hash;
//! anything else is refused with `"invalid credentials"`, as Node does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrio::{ConnectError, Namespace, Socket};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::store::SessionStore;

/// How many password checks run at once: bcrypt is slow on purpose, so
/// unauthenticated clients could otherwise keep every core busy; more wait.
pub const MAX_CONCURRENT_PASSWORD_CHECKS: usize = 2;

/// How many logins may wait for a password check; past it, a login is
/// refused at once (`invalid credentials`), so that a flood of them does
/// not queue minutes of bcrypt work that outlives its connections.
pub const MAX_WAITING_PASSWORD_CHECKS: usize = 32;

/// The message of the refusal (Node's, which the dashboard shows).
pub(crate) const INVALID_CREDENTIALS: &str = "invalid credentials";

/// The session id a login made, kept on the socket until the connection
/// handler sends it (`session`): a socket cannot emit before it connects.
#[derive(Debug, Clone)]
pub(crate) struct NewSession(pub String);

/// Adds the middleware to the admin namespace.
pub(crate) fn require_login(
    admin: &Namespace,
    username: String,
    password_hash: String,
    store: Arc<dyn SessionStore>,
) {
    let checks = Arc::new(Checks {
        running: Semaphore::new(MAX_CONCURRENT_PASSWORD_CHECKS),
        waiting: AtomicUsize::new(0),
    });
    let credentials = Arc::new((username, password_hash));
    admin.use_middleware(move |socket: Arc<Socket>| {
        let store = store.clone();
        let checks = checks.clone();
        let credentials = credentials.clone();
        async move {
            let auth = socket.handshake().auth();
            if let Some(session_id) = auth.get("sessionId").and_then(Value::as_str) {
                if store.does_session_exist(session_id).await {
                    tracing::debug!("admin authenticated with a valid session id");
                    return Ok(());
                }
            }
            let (username, hash) = &*credentials;
            let given_user = auth.get("username").and_then(Value::as_str);
            let given_password = auth.get("password").and_then(Value::as_str);
            if let (Some(given_user), Some(password)) = (given_user, given_password) {
                if given_user == username && password_matches(&checks, password, hash).await {
                    let session_id = random_id();
                    store.save_session(&session_id).await;
                    socket.extensions().insert(NewSession(session_id));
                    return Ok(());
                }
            }
            tracing::debug!("admin refused: invalid credentials");
            Err(ConnectError::new(INVALID_CREDENTIALS))
        }
    });
}

/// The password checks running and waiting.
#[derive(Debug)]
struct Checks {
    running: Semaphore,
    waiting: AtomicUsize,
}

/// Counts a login as waiting until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Checks a password against the hash off the runtime's threads, a few at
/// once; `false` when too many wait already.
async fn password_matches(checks: &Checks, password: &str, hash: &str) -> bool {
    let waiting = checks.waiting.fetch_add(1, Ordering::AcqRel);
    let _waiting = Waiting(&checks.waiting);
    if waiting >= MAX_WAITING_PASSWORD_CHECKS {
        tracing::warn!("admin login refused: too many password checks waiting");
        return false;
    }
    let Ok(_permit) = checks.running.acquire().await else {
        return false;
    };
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// 8 random bytes in hex, as Node's `randomId`.
fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hash` is a bcrypt hash (Node's `getRounds` check at `instrument`).
pub(crate) fn is_bcrypt_hash(hash: &str) -> bool {
    hash.parse::<bcrypt::HashParts>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn logins_past_the_waiting_bound_are_refused_at_once() {
        let checks = Checks {
            running: Semaphore::new(0),
            waiting: AtomicUsize::new(MAX_WAITING_PASSWORD_CHECKS),
        };
        // No permit will ever come: only the bound can answer.
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            password_matches(
                &checks,
                "pw",
                "$2a$04$1sKkx5IJoyA/gIu7WSzobeVRTxFqiC/B9ILIHZXoRJN/kfFNYhj52",
            ),
        )
        .await;
        assert_eq!(refused, Ok(false));
        assert_eq!(
            checks.waiting.load(Ordering::Acquire),
            MAX_WAITING_PASSWORD_CHECKS
        );
    }

    #[tokio::test]
    async fn a_bcryptjs_hash_is_checked() {
        let checks = Checks {
            running: Semaphore::new(1),
            waiting: AtomicUsize::new(0),
        };
        let hash = "$2a$04$1sKkx5IJoyA/gIu7WSzobeVRTxFqiC/B9ILIHZXoRJN/kfFNYhj52";
        assert!(password_matches(&checks, "secret", hash).await);
        assert!(!password_matches(&checks, "wrong", hash).await);
        assert_eq!(checks.waiting.load(Ordering::Acquire), 0);
    }
}
