//! The namespaces of the server, as `instrument` saw them made: the admin
//! namespace's handlers find a namespace by name here (without holding the
//! server, and without making one, unlike Node's `io.of(name)`).

use ferrio::{Namespace, WeakNamespace};
use parking_lot::Mutex;

/// The namespaces, held weakly so that a dynamic child that is cleaned up goes.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    list: Mutex<Vec<WeakNamespace>>,
}

impl Namespaces {
    /// Adds a namespace; whether it was new.
    pub(crate) fn add(&self, namespace: &Namespace) -> bool {
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
