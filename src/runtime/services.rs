//! `host-services`: the host's log, time, sleep, and messages between the components loaded in
//! one [`super::Host`].
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
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::Store;
use wasmtime::component::Linker;

use super::audit::now_rfc3339;
use super::bindings::FullComponent;
use super::bindings::core_types::{ComponentError, ComponentMetadata, HostError, LogLevel};
use super::bindings::host_services;
use super::host::{CallError, Fault, guarded_call};
use super::state::InstanceState;
use crate::manifest::Manifest;

/// Deliveries of queued requests per top-level call, so that two components answering each
/// other's requests forever cannot hold the host.
const MAX_DELIVERIES: usize = 10_000;
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
    fn write(&self, component: &str, level: LogLevel, message: &str) {
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

/// One loaded component.
pub(crate) struct Slot {
    name: String,
    metadata: ComponentMetadata,
    live: Mutex<Live>,
}

enum Live {
    Ready(Box<Store<InstanceState>>, Box<FullComponent>),
    Ended(Fault),
}

impl Slot {
    pub(crate) fn new(name: String, store: Store<InstanceState>, bindings: FullComponent) -> Self {
        let metadata = metadata_of(&store.data().policy.manifest);
        Slot {
            name,
            metadata,
            live: Mutex::new(Live::Ready(Box::new(store), Box::new(bindings))),
        }
    }
}

fn metadata_of(manifest: &Manifest) -> ComponentMetadata {
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

struct Pending {
    id: u64,
    sender: String,
    target: String,
    payload: Vec<u8>,
    timeout_ms: u64,
}

/// The components of one host and the requests waiting for delivery.
pub struct Hub {
    slots: RwLock<Vec<Arc<Slot>>>,
    next_request: AtomicU64,
    queue: Mutex<VecDeque<Pending>>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Hub {
            slots: RwLock::new(Vec::new()),
            next_request: AtomicU64::new(1),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    pub(crate) fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|s| s.name == name)
            .cloned()
    }

    pub(crate) fn insert(&self, slot: Slot) {
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::new(slot));
    }

    /// Calls into a component. `nested` calls (made from inside another component's host call)
    /// never wait for a busy component: waiting could deadlock on a message cycle.
    pub(crate) fn call<R>(
        &self,
        component: &str,
        nested: bool,
        timeout_ms: Option<u64>,
        f: impl FnOnce(&mut Store<InstanceState>, &FullComponent) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let slot = self
            .slot(component)
            .ok_or_else(|| CallError::NotLoaded(component.to_string()))?;
        let mut live = if nested {
            match slot.live.try_lock() {
                Ok(live) => live,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(CallError::Unavailable {
                        component: component.to_string(),
                        reason: "it is already handling a call (a message cycle)".to_string(),
                    });
                }
            }
        } else {
            slot.live.lock().unwrap_or_else(|p| p.into_inner())
        };
        let outcome = match &mut *live {
            Live::Ended(fault) => {
                return Err(CallError::Unavailable {
                    component: component.to_string(),
                    reason: format!("an earlier call ended it: {fault}"),
                });
            }
            Live::Ready(store, bindings) => guarded_call(store, timeout_ms, |store| f(store, bindings)),
        };
        outcome.map_err(|fault| {
            *live = Live::Ended(fault.clone());
            CallError::Fault {
                component: component.to_string(),
                fault,
            }
        })
    }

    /// Runs queued requests and their callbacks, oldest first, until none is left.
    pub(crate) fn deliver_requests(&self) {
        for _ in 0..MAX_DELIVERIES {
            let Some(request) = self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else {
                return;
            };
            let answer = match self.call(&request.target, false, Some(request.timeout_ms), |store, b| {
                b.airssys_core_component_lifecycle()
                    .call_execute(store, &request.payload)
            }) {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(error)) => Err(describe_component_error(&error)),
                Err(CallError::Fault {
                    fault: Fault::Timeout(_),
                    ..
                }) => Err("timeout".to_string()),
                Err(other) => Err(other.to_string()),
            };
            // A sender that has ended or errs in its callback only affects itself.
            let _ = self.call(&request.sender, false, None, |store, b| {
                b.airssys_core_component_lifecycle().call_handle_callback(
                    store,
                    request.id,
                    answer.as_deref().map_err(String::as_str),
                )
            });
        }
    }
}

/// The per-instance part of `host-services`.
pub struct ServicesState {
    hub: Weak<Hub>,
    log: LogSink,
}

impl ServicesState {
    pub(crate) fn new(hub: Weak<Hub>, log: LogSink) -> Self {
        ServicesState { hub, log }
    }
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

impl InstanceState {
    fn hub(&self) -> Result<Arc<Hub>, HostError> {
        self.services.hub.upgrade().ok_or_else(|| {
            HostError::NotFound("this instance runs outside a host: no other component is loaded".into())
        })
    }

    /// Checks a message's target and size before it goes anywhere.
    fn message_target(&self, target: &str, payload: &[u8]) -> Result<Arc<Hub>, HostError> {
        if target.is_empty() {
            return Err(HostError::InvalidInput("the target component id is empty".into()));
        }
        if target == self.name() {
            return Err(HostError::InvalidInput(format!(
                "`{target}` is this component: a component cannot message itself"
            )));
        }
        let max = self.run_limits.max_message_bytes;
        if payload.len() > max {
            return Err(HostError::LimitExceeded(format!(
                "the payload has {} bytes; the limit is {max}",
                payload.len()
            )));
        }
        let hub = self.hub()?;
        if hub.slot(target).is_none() {
            return Err(HostError::NotFound(format!("no component named `{target}` is loaded")));
        }
        Ok(hub)
    }
}

impl host_services::Host for InstanceState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.services.log.write(self.policy.name(), level, &message);
    }

    fn send_message(&mut self, target: String, payload: Vec<u8>) -> Result<(), HostError> {
        let hub = self.message_target(&target, &payload)?;
        let sender = self.name().to_string();
        match hub.call(&target, true, None, |store, b| {
            b.airssys_core_component_lifecycle()
                .call_handle_message(store, &sender, &payload)
        }) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(HostError::TargetFailed(describe_component_error(&error))),
            Err(CallError::Unavailable { reason, .. }) => {
                Err(HostError::LimitExceeded(format!("`{target}`: {reason}")))
            }
            Err(CallError::Fault {
                fault: Fault::Timeout(_),
                ..
            }) => Err(HostError::Timeout),
            Err(other) => Err(HostError::TargetFailed(other.to_string())),
        }
    }

    fn send_request(&mut self, target: String, payload: Vec<u8>, timeout_ms: u64) -> Result<u64, HostError> {
        let hub = self.message_target(&target, &payload)?;
        let sender = self.name().to_string();
        let mut queue = hub.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mine = queue.iter().filter(|p| p.sender == sender).count();
        if mine >= self.run_limits.max_pending_requests {
            return Err(HostError::LimitExceeded(format!(
                "{mine} requests are already waiting; the limit is {}",
                self.run_limits.max_pending_requests
            )));
        }
        let id = hub.next_request.fetch_add(1, Ordering::Relaxed);
        queue.push_back(Pending {
            id,
            sender,
            target,
            payload,
            timeout_ms: timeout_ms.max(1),
        });
        Ok(id)
    }

    fn cancel_request(&mut self, request_id: u64) -> Result<(), HostError> {
        let hub = self.hub()?;
        let mut queue = hub.queue.lock().unwrap_or_else(|p| p.into_inner());
        match queue.iter().position(|p| p.id == request_id && p.sender == self.name()) {
            Some(i) => {
                queue.remove(i);
                Ok(())
            }
            None => Err(HostError::NotFound(format!(
                "request {request_id} is not waiting (unknown, not this component's, or already delivered)"
            ))),
        }
    }

    fn current_time_millis(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn sleep_millis(&mut self, millis: u64) {
        // Never past the current call's deadline.
        let capped = Duration::from_millis(millis.min(self.run_limits.max_sleep_ms)).min(self.time_left());
        std::thread::sleep(capped);
    }

    fn list_components(&mut self) -> Vec<String> {
        match self.services.hub.upgrade() {
            Some(hub) => hub.names(),
            None => vec![self.name().to_string()],
        }
    }

    fn get_component_metadata(&mut self, id: String) -> Result<ComponentMetadata, HostError> {
        if id == self.name() {
            return Ok(metadata_of(&self.policy.manifest));
        }
        let hub = self.hub()?;
        hub.slot(&id)
            .map(|slot| slot.metadata.clone())
            .ok_or_else(|| HostError::NotFound(format!("no component named `{id}` is loaded")))
    }
}

impl super::bindings::core_types::Host for InstanceState {}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    host_services::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |s| s)?;
    super::bindings::core_types::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |s| s)
}
