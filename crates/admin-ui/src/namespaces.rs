//! The namespaces of the server, as `instrument` saw them made: the admin
//! namespace's handlers find a namespace by name here (without holding the
//! server, and without making one, unlike Node's `io.of(name)`).

use std::collections::{HashMap, HashSet};

use ferrio::{HandlersId, Namespace, WeakNamespace};
use parking_lot::Mutex;

/// The namespaces by name, held weakly so that a dynamic child that is
/// cleaned up goes; in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_name: HashMap<String, WeakNamespace>,
    /// Names in the order they were added (may name a namespace that is gone).
    order: Vec<String>,
    /// The connection handlers already listened to: a dynamic namespace's
    /// children share one set, listened to once.
    handlers: HashSet<HandlersId>,
    /// `order`'s length at which the names of namespaces that went are
    /// forgotten: doubled each time, so it costs O(1) per name added.
    prune_at: usize,
}

/// What was new about a namespace [`Namespaces::add`] was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Added {
    /// The namespace was not known.
    pub namespace: bool,
    /// Its connection handlers were not listened to yet.
    pub handlers: bool,
}

impl Namespaces {
    /// Adds a namespace; what was new about it.
    pub(crate) fn add(&self, namespace: &Namespace) -> Added {
        let mut state = self.state.lock();
        let name = namespace.name();
        let known = state
            .by_name
            .get(name)
            .and_then(WeakNamespace::upgrade)
            .is_some();
        if !known {
            if state
                .by_name
                .insert(name.to_owned(), namespace.downgrade())
                .is_none()
            {
                state.order.push(name.to_owned());
            }
            if state.order.len() >= state.prune_at.max(64) {
                prune(&mut state);
                state.prune_at = 2 * state.order.len();
            }
        }
        Added {
            namespace: !known,
            handlers: state.handlers.insert(namespace.handlers_id()),
        }
    }

    /// The namespaces that still exist, in the order they were made.
    pub(crate) fn all(&self) -> Vec<Namespace> {
        let state = self.state.lock();
        state
            .order
            .iter()
            .filter_map(|name| state.by_name.get(name))
            .filter_map(WeakNamespace::upgrade)
            .collect()
    }

    /// The namespace of this name, if it exists.
    pub(crate) fn find(&self, name: &str) -> Option<Namespace> {
        self.state
            .lock()
            .by_name
            .get(name)
            .and_then(WeakNamespace::upgrade)
    }
}

/// Forgets the namespaces that went.
fn prune(state: &mut State) {
    state.by_name.retain(|_, weak| weak.upgrade().is_some());
    let by_name = &state.by_name;
    state.order.retain(|name| by_name.contains_key(name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn namespaces_are_kept_once_in_order_and_children_share_handlers() {
        let io = ferrio::SocketIo::new();
        let namespaces = Namespaces::default();
        let (main, chat) = (io.of("/"), io.of("/chat"));
        let added = namespaces.add(&main);
        assert!(added.namespace && added.handlers);
        assert!(!namespaces.add(&main).namespace, "once");
        namespaces.add(&chat);
        let names: Vec<String> = namespaces
            .all()
            .iter()
            .map(|n| n.name().to_owned())
            .collect();
        assert_eq!(names, ["/", "/chat"]);
        assert!(namespaces.find("/chat").is_some());
        assert!(namespaces.find("/nope").is_none());
    }
}
