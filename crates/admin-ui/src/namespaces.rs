//! The namespaces of the server, as `instrument` saw them made: the admin
//! namespace's handlers find a namespace by name here (without holding the
//! server, and without making one, unlike Node's `io.of(name)`).

use std::collections::HashSet;

use ferrio::{HandlersId, Namespace, WeakNamespace};
use parking_lot::Mutex;

/// The namespaces, held weakly so that a dynamic child that is cleaned up goes.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    list: Mutex<Vec<WeakNamespace>>,
    /// The connection handlers already listened to: a dynamic namespace's
    /// children share one set, listened to once.
    handlers: Mutex<HashSet<HandlersId>>,
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
        Added {
            namespace: self.add_namespace(namespace),
            handlers: self.handlers.lock().insert(namespace.handlers_id()),
        }
    }

    fn add_namespace(&self, namespace: &Namespace) -> bool {
        let mut list = self.list.lock();
        list.retain(|weak| weak.upgrade().is_some());
        let known = list
            .iter()
            .filter_map(WeakNamespace::upgrade)
            .any(|nsp| nsp.name() == namespace.name());
        if !known {
            list.push(namespace.downgrade());
        }
        !known
    }

    /// The namespaces that still exist, in the order they were made.
    pub(crate) fn all(&self) -> Vec<Namespace> {
        self.list
            .lock()
            .iter()
            .filter_map(WeakNamespace::upgrade)
            .collect()
    }

    /// The namespace of this name, if it exists.
    pub(crate) fn find(&self, name: &str) -> Option<Namespace> {
        self.all().into_iter().find(|nsp| nsp.name() == name)
    }
}
