//! Finding the namespace a CONNECT names: static ones first, then dynamic
//! parents whose matcher accepts the name, which create a child on demand.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use std::time::Duration;

use serde_json::Value;

use super::parent::{ChildLink, Children, ParentAdapterFactory};
use super::{Listeners, Namespace};
use crate::adapter::{AdapterFactory, BoxFuture};

/// A predicate over a namespace name and the client's auth payload.
pub(crate) type Predicate = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// An async predicate over a namespace name and the client's auth payload.
pub(crate) type AsyncPredicate =
    Arc<dyn Fn(String, Value) -> BoxFuture<'static, bool> + Send + Sync>;

/// Told of each namespace made after the main one (Node's `new_namespace`).
pub(crate) type NewNamespaceHook = Arc<dyn Fn(&Namespace) + Send + Sync>;

/// Decides whether a dynamic parent accepts a namespace name.
pub(crate) enum Matcher {
    Pattern(regex::Regex),
    Predicate(Predicate),
    Async(AsyncPredicate),
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

/// What making a namespace needs, shared with the lookups that finish later.
struct Maker {
    adapters: Arc<dyn AdapterFactory>,
    settings: Settings,
    hooks: RwLock<Vec<NewNamespaceHook>>,
}

impl Maker {
    /// Tells the `new_namespace` hooks, outside every lock of the registry.
    fn created(&self, namespace: &Namespace) {
        let hooks = self.hooks.read().clone();
        for hook in hooks {
            hook(namespace);
        }
    }

    /// The child `name` of `parent`, made if needed; taken in use when
    /// `acquire` (for a socket), under the children's lock, so a cleanup
    /// (which checks under the write lock) never removes it meanwhile.
    fn child(&self, parent: &Parent, name: &str, acquire: bool) -> Namespace {
        let mut made = false;
        let child = {
            let mut children = parent.children.write();
            let child = children
                .entry(name.to_owned())
                .or_insert_with(|| {
                    tracing::debug!(nsp = name, "dynamic namespace created");
                    made = true;
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
            if acquire {
                child.acquire();
            }
            child
        };
        if made {
            self.created(&child);
        }
        child
    }
}

/// What a CONNECT's namespace name leads to.
pub(crate) enum Lookup {
    /// A namespace (a dynamic child is taken in use: see [`Registry::lookup`]).
    Found(Namespace),
    /// None: "Invalid namespace".
    Missing,
    /// An async dynamic-namespace function decides.
    Pending(BoxFuture<'static, Option<Namespace>>),
}

/// All namespaces of a server.
pub(crate) struct Registry {
    maker: Arc<Maker>,
    statics: RwLock<HashMap<String, Namespace>>,
    parents: RwLock<Vec<Arc<Parent>>>,
}

impl Registry {
    pub(crate) fn new(adapters: Arc<dyn AdapterFactory>, settings: Settings) -> Self {
        Self {
            maker: Arc::new(Maker {
                adapters,
                settings,
                hooks: RwLock::default(),
            }),
            statics: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
        }
    }

    /// Adds a `new_namespace` hook.
    pub(crate) fn on_new_namespace(&self, hook: NewNamespaceHook) {
        self.maker.hooks.write().push(hook);
    }

    /// The namespace with this name, as Node's `io.of(name)`: a static one,
    /// or a dynamic child that exists, or a child made through the first
    /// dynamic parent whose pattern matches the name; else a new static one.
    pub(crate) fn of(&self, name: &str) -> Namespace {
        let name = normalize(name);
        if let Some(ns) = self.statics.read().get(&name) {
            return ns.clone();
        }
        let parents = self.parents.read().clone();
        for parent in &parents {
            if let Some(child) = parent.children.read().get(&name) {
                return child.clone();
            }
        }
        // As Node, only patterns (not functions) make a child here.
        for parent in &parents {
            if let Matcher::Pattern(re) = &parent.matcher
                && re.is_match(&name)
            {
                return self.maker.child(parent, &name, false);
            }
        }
        let mut made = false;
        let namespace = {
            let mut statics = self.statics.write();
            statics
                .entry(name.clone())
                .or_insert_with(|| {
                    made = true;
                    let settings = self.maker.settings;
                    Namespace::new(name, Arc::default(), &*self.maker.adapters, settings, None)
                })
                .clone()
        };
        if made && namespace.name() != "/" {
            self.maker.created(&namespace);
        }
        namespace
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
        Namespace::new(
            label.to_owned(),
            listeners,
            &factory,
            self.maker.settings,
            None,
        )
    }

    /// The namespace a client's CONNECT names, if any accepts it: a static
    /// one, a dynamic child that exists, or a child made by the first parent
    /// that accepts the name (asked in the order they were added; an async
    /// function makes the rest of the lookup async).
    ///
    /// A dynamic child is returned in use: the socket made for this CONNECT
    /// releases it when dropped (see [`Namespace::release`]), and a child no
    /// one uses is removed when
    /// [`cleanup_empty_children`](Settings::cleanup_empty_children) is on.
    /// Names longer than [`max_name_len`](Settings::max_name_len) match no
    /// dynamic parent.
    pub(crate) fn lookup(&self, name: &str, auth: &Value) -> Lookup {
        if let Some(ns) = self.statics.read().get(name) {
            return Lookup::Found(ns.clone());
        }
        if name.len() > self.maker.settings.max_name_len {
            return Lookup::Missing;
        }
        let parents = self.parents.read().clone();
        for parent in &parents {
            // Taken in use under the children's lock, so a cleanup (which
            // checks under the write lock) never removes it meanwhile.
            let children = parent.children.read();
            if let Some(child) = children.get(name) {
                child.acquire();
                return Lookup::Found(child.clone());
            }
        }
        for (at, parent) in parents.iter().enumerate() {
            let accepts = match &parent.matcher {
                Matcher::Pattern(re) => re.is_match(name),
                Matcher::Predicate(f) => f(name, auth),
                Matcher::Async(_) => {
                    let rest = parents.get(at..).unwrap_or_default().to_vec();
                    let maker = self.maker.clone();
                    let (name, auth) = (name.to_owned(), auth.clone());
                    return Lookup::Pending(Box::pin(async move {
                        for parent in rest {
                            let accepts = match &parent.matcher {
                                Matcher::Pattern(re) => re.is_match(&name),
                                Matcher::Predicate(f) => f(&name, &auth),
                                Matcher::Async(f) => f(name.clone(), auth.clone()).await,
                            };
                            if accepts {
                                return Some(maker.child(&parent, &name, true));
                            }
                        }
                        None
                    }));
                }
            };
            if accepts {
                return Lookup::Found(self.maker.child(parent, name, true));
            }
        }
        Lookup::Missing
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
