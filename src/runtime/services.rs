//! The `host-services` domain: the host's log ([`LogSink`]), and what an instance knows of the
//! other components loaded in its [`super::Host`] ([`Components`], implemented by the host's
//! hub) and of the requests waiting for delivery ([`Requests`]). The interface itself is
//! `iface/airssys_host_services.rs`.
//!
//! Delivery model (documented in `docs/runtime.md`):
//! - `send-message` is synchronous: the target's `handle-message` runs before the call returns,
//!   and an error it returns comes back as `target-failed`. A component cannot message itself,
//!   and a target that is already running a call (a message cycle) is `limit-exceeded`.
//! - `send-request` queues the request and returns its id at once. When the sender's current
//!   export call has returned, the host runs the target's `execute` with the payload (within
//!   the request's `timeout-ms`) and hands its output, or the error text, to the sender's
//!   `handle-callback`. `cancel-request` removes a request that has not been delivered yet.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use wasmtime::component::HasData;

use super::audit::now_rfc3339;
use super::bindings::core_types::{ComponentError, ComponentMetadata, LogLevel};
use super::fault::CallError;
use super::guard::Guard;
use crate::manifest::Manifest;

/// Longest log record kept; the rest is cut and marked.
const MAX_LOG_BYTES: usize = 16 * 1024;

/// Where `host-services.log` records go.
#[derive(Clone)]
pub struct LogSink {
    sink: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSink")
            .field("enabled", &self.sink.is_some())
            .finish()
    }
}

impl LogSink {
    pub fn stderr() -> Self {
        Self::to_writer(io::stderr())
    }

    pub fn disabled() -> Self {
        LogSink { sink: None }
    }

    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        LogSink {
            sink: Some(Arc::new(Mutex::new(Box::new(writer)))),
        }
    }

    /// Writes `<time> <LEVEL> [<component>] <message>`, with control characters escaped so
    /// that a component cannot forge other lines.
    pub(crate) fn write(&self, component: &str, level: LogLevel, message: &str) {
        let Some(sink) = &self.sink else { return };
        let level = match level {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        };
        let mut cut = message.len().min(MAX_LOG_BYTES);
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = if cut < message.len() { " [truncated]" } else { "" };
        let line = format!(
            "{} {level} [{component}] {}{more}\n",
            now_rfc3339(),
            message[..cut].escape_debug()
        );
        let mut sink = sink.lock().unwrap_or_else(|p| p.into_inner());
        // The host's log failing must not fail the component.
        let _ = sink.write_all(line.as_bytes());
    }
}

/// The components loaded together in one host, as `host-services` reaches them. The host's
/// hub implements it (`hub.rs`); an instance holds it weakly, and an instance made outside a
/// host has none.
pub(crate) trait Components: Send + Sync {
    /// The ids of the loaded components, in load order.
    fn names(&self) -> Vec<String>;

    /// Whether a component with the id `id` is loaded.
    fn is_loaded(&self, id: &str) -> bool;

    /// What the manifest of the component `id` says; `None` when no such component is loaded.
    fn metadata(&self, id: &str) -> Option<ComponentMetadata>;

    /// Calls `handle-message(sender, payload)` of `target`. It never waits for a target that
    /// is busy (a message cycle): that is [`CallError::Unavailable`].
    fn handle_message(
        &self,
        target: &str,
        sender: &str,
        payload: &[u8],
    ) -> Result<Result<(), ComponentError>, CallError>;

    /// The requests waiting for delivery.
    fn requests(&self) -> &Requests;
}

/// A request made with `send-request`, waiting for delivery.
pub(crate) struct Pending {
    pub(crate) id: u64,
    pub(crate) sender: String,
    pub(crate) target: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) timeout_ms: u64,
}

/// The requests of one host waiting for delivery, oldest first.
pub(crate) struct Requests {
    next: AtomicU64,
    queue: Mutex<VecDeque<Pending>>,
}

impl Requests {
    pub(crate) fn new() -> Self {
        Requests {
            next: AtomicU64::new(1),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Queues a request of `sender` and returns its id, unless `sender` already has
    /// `max_waiting` requests waiting: then `Err` with how many it has.
    pub(crate) fn push(
        &self,
        sender: String,
        target: String,
        payload: Vec<u8>,
        timeout_ms: u64,
        max_waiting: usize,
    ) -> Result<u64, usize> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mine = queue.iter().filter(|p| p.sender == sender).count();
        if mine >= max_waiting {
            return Err(mine);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        queue.push_back(Pending {
            id,
            sender,
            target,
            payload,
            timeout_ms,
        });
        Ok(id)
    }

    /// Removes the waiting request `id` of `sender`; `false` when there is none.
    pub(crate) fn cancel(&self, sender: &str, id: u64) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        match queue.iter().position(|p| p.id == id && p.sender == sender) {
            Some(i) => {
                queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// The oldest waiting request, taken out of the queue.
    pub(crate) fn pop(&self) -> Option<Pending> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
    }
}

/// The per-instance part of `host-services`.
pub struct ServicesState {
    pub(crate) hub: Option<Weak<dyn Components>>,
    pub(crate) log: LogSink,
}

impl ServicesState {
    pub(crate) fn new(hub: Option<Weak<dyn Components>>, log: LogSink) -> Self {
        ServicesState { hub, log }
    }
}

/// What `host-services` (and the core `types`) are implemented on: the guard and the
/// instance's services state.
pub(crate) struct ServicesView<'a> {
    pub(crate) guard: &'a Guard,
    pub(crate) services: &'a ServicesState,
}

/// The `HasData` of the services interfaces: their data is a [`ServicesView`].
pub(crate) struct HasServices;

impl HasData for HasServices {
    type Data<'a> = ServicesView<'a>;
}

/// `permission-denied: ...`, `invalid-input: ...`: a component error as one line of text.
pub fn describe_component_error(error: &ComponentError) -> String {
    match error {
        ComponentError::PermissionDenied(m) => format!("permission-denied: {m}"),
        ComponentError::InvalidInput(m) => format!("invalid-input: {m}"),
        ComponentError::NotFound(m) => format!("not-found: {m}"),
        ComponentError::NotReady => "not-ready".to_string(),
        ComponentError::Timeout => "timeout".to_string(),
        ComponentError::Unsupported(m) => format!("unsupported: {m}"),
        ComponentError::Internal(m) => format!("internal: {m}"),
    }
}

/// What `get-component-metadata` answers for a component with `manifest`.
pub(crate) fn metadata_of(manifest: &Manifest) -> ComponentMetadata {
    let c = &manifest.component;
    ComponentMetadata {
        name: c.name.clone(),
        version: c.version.as_ref().map_or_else(String::new, ToString::to_string),
        description: c.description.clone(),
        author: c.author.clone(),
        license: c.license.clone(),
        properties: c
            .repository
            .iter()
            .map(|r| ("repository".to_string(), r.clone()))
            .collect(),
    }
}
