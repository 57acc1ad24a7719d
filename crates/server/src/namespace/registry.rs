//! Finding the namespace a CONNECT names: static ones first, then dynamic
//! parents whose matcher accepts the name, which create a child on demand.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::parent::{Children, ParentAdapterFactory};
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

/// All namespaces of a server.
pub(crate) struct Registry {
    adapters: Arc<dyn AdapterFactory>,
    statics: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<Arc<Parent>>>,
}

impl Registry {
    pub fn new(adapters: Arc<dyn AdapterFactory>) -> Self {
        Self {
            adapters,
            statics: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        }
    }

    /// The static namespace with this name, created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        let name = normalize(name);
        if let Some(ns) = self
            .statics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
        {
            return ns.clone();
        }
        let mut statics = self.statics.write().unwrap_or_else(|e| e.into_inner());
        statics
            .entry(name.clone())
            .or_insert_with(|| Namespace::new(name, Arc::default(), &*self.adapters))
            .clone()
    }

    /// Adds a dynamic parent; returns a namespace handle whose middleware and
    /// connection handlers its children share.
    pub fn dynamic(&self, matcher: Matcher, label: &str) -> Namespace {
        let listeners: Arc<Listeners> = Arc::default();
        let children = Children::default();
        let parent = Arc::new(Parent {
            matcher,
            listeners: listeners.clone(),
            children: children.clone(),
        });
        self.parents
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(parent);
        // The parent holds no sockets; its adapter passes broadcasts and socket
        // operations on to the children, so `parent.emit(…)` reaches them all.
        Namespace::new(label.to_owned(), listeners, &ParentAdapterFactory(children))
    }

    /// The namespace a client's CONNECT names, if any accepts it.
    pub fn lookup(&self, name: &str, auth: &Value) -> Option<Namespace> {
        if let Some(ns) = self
            .statics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(ns.clone());
        }
        let parents = self
            .parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for parent in parents {
            let existing = parent
                .children
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|c| c.name() == name)
                .cloned();
            if let Some(child) = existing {
                return Some(child);
            }
            if parent.matcher.accepts(name, auth) {
                let mut children = parent.children.write().unwrap_or_else(|e| e.into_inner());
                if let Some(child) = children.iter().find(|c| c.name() == name) {
                    return Some(child.clone());
                }
                let child =
                    Namespace::new(name.to_owned(), parent.listeners.clone(), &*self.adapters);
                children.push(child.clone());
                tracing::debug!(nsp = name, "dynamic namespace created");
                return Some(child);
            }
        }
        None
    }

    /// Every namespace that exists (static ones and dynamic children).
    pub fn all(&self) -> Vec<Namespace> {
        let mut all: Vec<_> = self
            .statics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for parent in self
            .parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            all.extend(
                parent
                    .children
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned(),
            );
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
