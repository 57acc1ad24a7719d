//! The process-wide cache of managers behind [`io`](crate::io): one per
//! server, so that sockets of several namespaces share a connection.

use std::collections::HashMap;
use std::sync::{LazyLock, Weak};

use parking_lot::Mutex;

use super::{Manager, ManagerInner};
use crate::ManagerConfig;
use crate::url::ServerUrl;

static CACHE: LazyLock<Mutex<HashMap<String, Weak<ManagerInner>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The manager a socket for `nsp` on `target` uses, as socket.io-client's
/// `lookup`: a new one (not cached) when `force_new`, or when the cached one
/// has a socket for that namespace already; otherwise the cached one, made
/// with `config` the first time.
pub(crate) fn lookup(
    target: &ServerUrl,
    config: ManagerConfig,
    force_new: bool,
    nsp: &str,
) -> Manager {
    let key = format!("{}{}", target.origin(), config.path);
    let mut cache = CACHE.lock();
    cache.retain(|_, m| m.strong_count() > 0);
    let cached = cache.get(&key).and_then(Weak::upgrade);
    let same_namespace = cached.as_ref().is_some_and(|m| m.has_socket(nsp));
    if force_new || same_namespace {
        return Manager::from_target(target, config);
    }
    if let Some(inner) = cached {
        return Manager { inner };
    }
    let manager = Manager::from_target(target, config);
    cache.insert(key, std::sync::Arc::downgrade(&manager.inner));
    manager
}
