//! The admin namespace's connection middleware for basic authentication
//! (Node's `initAuthenticationMiddleware`): a session id from an earlier
//! login, or the username and a password that matches the bcrypt hash;
//! anything else is refused with `"invalid credentials"`, as Node does.

use std::sync::Arc;

use ferrio::{ConnectError, Namespace, Socket};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::store::SessionStore;

/// How many password checks run at once: bcrypt is slow on purpose, so
/// unauthenticated clients could otherwise keep every core busy; more wait.
pub const MAX_CONCURRENT_PASSWORD_CHECKS: usize = 2;

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
    let checks = Arc::new(Semaphore::new(MAX_CONCURRENT_PASSWORD_CHECKS));
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

/// Checks a password against the hash off the runtime's threads, a few at once.
async fn password_matches(checks: &Semaphore, password: &str, hash: &str) -> bool {
    let Ok(_permit) = checks.acquire().await else {
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
