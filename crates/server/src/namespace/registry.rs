//! Finding the namespace a CONNECT names: static ones first, then dynamic
//! parents whose matcher accepts the name, which create a child on demand.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use std::time::Duration;

use serde_json::Value;

use super::parent::{ChildLink, Children, ParentAdapterFactory};
use super::{Listeners, Namespace};
use crate::adapter::AdapterFactory;

/// A predicate over a namespace name and the client's auth payload.
pub(crate) type Predicate = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// Decides whether a dynamic parent accepts a namespace name.
pub(crate) enum Matcher {
    Pattern(regex::Regex),
    Predicate(Predicate),
}

impl Matcher {
    fn accepts(&self, name: &str, auth: &Value) -> bool {
        match self {
            Self::Pattern(re) => re.is_match(name),
            Self::Predicate(f) => f(name, auth),
        }
    }
}

struct Parent {
    matcher: Matcher,
    listeners: Arc<Listeners>,
    /// Shared with the parent namespace's adapter, which broadcasts to them.
    children: Children,
}

/// What every namespace of a server is made with.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    /// [`SocketIoConfig::ack_timeout`](crate::SocketIoConfig::ack_timeout).
    pub ack_timeout: Duration,
    /// [`SocketIoConfig::cleanup_empty_child_namespaces`](crate::SocketIoConfig::cleanup_empty_child_namespaces).
    pub cleanup_empty_children: bool,
    /// [`SocketIoConfig::max_namespace_len`](crate::SocketIoConfig::max_namespace_len).
    pub max_name_len: usize,
    /// [`SocketIoConfig::connection_state_recovery`](crate::SocketIoConfig::connection_state_recovery).
    pub recovery: Option<crate::RecoveryConfig>,
    /// [`SocketIoConfig::parser`](crate::SocketIoConfig::parser).
    pub parser: ferrio_proto::socketio::Parser,
}

/// All namespaces of a server.
pub(crate) struct Registry {
    adapters: Arc<dyn AdapterFactory>,
    settings: Settings,
    statics: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<Arc<Parent>>>,
}

impl Registry {
    pub(crate) fn new(adapters: Arc<dyn AdapterFactory>, settings: Settings) -> Self {
        Self {
            adapters,
            settings,
            statics: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        }
    }

    /// The static namespace with this name, created if needed.
    pub(crate) fn of(&self, name: &str) -> Namespace {
        let name = normalize(name);
        if let Some(ns) = self.statics.read().get(&name) {
            return ns.clone();
        }
        let mut statics = self.statics.write();
        statics
            .entry(name.clone())
            .or_insert_with(|| {
                let settings = self.settings;
                Namespace::new(name, Arc::default(), &*self.adapters, settings, None)
            })
            .clone()
    }

    /// Adds a dynamic parent; returns a namespace handle whose middleware and
    /// connection handlers its children share.
    pub(crate) fn dynamic(&self, matcher: Matcher, label: &str) -> Namespace {
        let listeners: Arc<Listeners> = Arc::default();
        let children = Children::default();
        let parent = Arc::new(Parent {
            matcher,
            listeners: listeners.clone(),
            children: children.clone(),
        });
        self.parents.write().push(parent);
        // The parent holds no sockets; its adapter passes broadcasts and socket
        // operations on to the children, so `parent.emit(…)` reaches them all.
        let factory = ParentAdapterFactory(children);
        Namespace::new(label.to_owned(), listeners, &factory, self.settings, None)
    }

    /// The namespace a client's CONNECT names, if any accepts it.
    ///
    /// A dynamic child is returned in use: the socket made for this CONNECT
    /// releases it when dropped (see [`Namespace::release`]), and a child no
    /// one uses is removed when
    /// [`cleanup_empty_children`](Settings::cleanup_empty_children) is on.
    /// Names longer than [`max_name_len`](Settings::max_name_len) match no
    /// dynamic parent.
    pub(crate) fn lookup(&self, name: &str, auth: &Value) -> Option<Namespace> {
        if let Some(ns) = self.statics.read().get(name) {
            return Some(ns.clone());
        }
        if name.len() > self.settings.max_name_len {
            return None;
        }
        let parents = self.parents.read().clone();
        for parent in parents {
            {
                // Taken in use under the children's lock, so a cleanup (which
                // checks under the write lock) never removes it meanwhile.
                let children = parent.children.read();
                if let Some(child) = children.get(name) {
                    child.acquire();
                    return Some(child.clone());
                }
            }
            if parent.matcher.accepts(name, auth) {
                let mut children = parent.children.write();
                let child = children
                    .entry(name.to_owned())
                    .or_insert_with(|| {
                        tracing::debug!(nsp = name, "dynamic namespace created");
                        let link = ChildLink::new(&parent.children, self.settings);
                        Namespace::new(
                            name.to_owned(),
                            parent.listeners.clone(),
                            &*self.adapters,
                            self.settings,
                            Some(link),
                        )
                    })
                    .clone();
                child.acquire();
                return Some(child);
            }
        }
        None
    }

    /// Every namespace that exists (static ones and dynamic children).
    pub(crate) fn all(&self) -> Vec<Namespace> {
        let mut all: Vec<_> = self.statics.read().values().cloned().collect();
        for parent in self.parents.read().iter() {
            all.extend(parent.children.read().values().cloned());
        }
        all
    }
}

fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    }
}
