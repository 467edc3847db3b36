//! The components loaded in one [`super::Host`]: their stores (each call made through
//! [`guarded_call`], which renews the budget and confines a fault to its instance), and the
//! delivery of queued requests. The hub is what `host-services` reaches as [`Components`].

use std::sync::{Arc, Mutex, RwLock};

use wasmtime::Store;

use super::audit::{Phase, Trail};
use super::bindings::FullComponent;
use super::bindings::core_types::{ComponentError, ComponentMetadata};
use super::fault::{CallError, Fault};
use super::services::{Components, Requests, describe_component_error, metadata_of};
use super::state::{InstanceState, arm, set_deadline};

/// Deliveries of queued requests per top-level call, so that two components answering each
/// other's requests forever cannot hold the host.
const MAX_DELIVERIES: usize = 10_000;

/// One loaded component.
pub(crate) struct Slot {
    name: String,
    command: bool,
    metadata: ComponentMetadata,
    live: Mutex<Live>,
    /// The instance's trail (kept here: an instance that ends drops its store).
    trail: Arc<Trail>,
    /// What failed first: a fault, an error a call returned, a command's failure.
    failure: Mutex<Option<String>>,
}

enum Live {
    Ready(Box<Store<InstanceState>>, Box<Exports>),
    Ended(Fault),
}

/// What a loaded component offers the host to call.
pub(crate) enum Exports {
    /// An airssys component: `airssys:core/component-lifecycle`.
    Lifecycle(FullComponent),
    /// A WASI command: `wasi:cli/run`.
    Command(wasmtime_wasi::p2::bindings::sync::Command),
}

/// How a WASI command's `run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `run` returned (`Ok` is 0, `Err` is 1, as `wasmtime run` reports them).
    Returned(bool),
    /// The command called `wasi:cli/exit` with this code.
    Code(i32),
}

impl Exit {
    /// The process exit code this stands for.
    pub fn code(self) -> i32 {
        match self {
            Exit::Returned(true) => 0,
            Exit::Returned(false) => 1,
            Exit::Code(code) => code,
        }
    }
}

impl Slot {
    /// Whether the component is a WASI command (and still callable or not).
    pub(crate) fn is_command(&self) -> bool {
        self.command
    }

    pub(crate) fn new(name: String, store: Store<InstanceState>, bindings: Exports) -> Self {
        let metadata = metadata_of(&store.data().guard.policy.manifest);
        Slot {
            command: matches!(bindings, Exports::Command(_)),
            name,
            metadata,
            trail: Arc::clone(&store.data().guard.trail),
            live: Mutex::new(Live::Ready(Box::new(store), Box::new(bindings))),
            failure: Mutex::new(None),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn trail(&self) -> &Trail {
        &self.trail
    }

    /// Notes a failure of a call (only the first is kept).
    pub(crate) fn failed(&self, what: impl FnOnce() -> String) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if failure.is_none() {
            *failure = Some(what());
        }
    }

    /// The first failure noted, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The components of one host and the requests waiting for delivery.
pub(crate) struct Hub {
    slots: RwLock<Vec<Arc<Slot>>>,
    requests: Requests,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Hub {
            slots: RwLock::new(Vec::new()),
            requests: Requests::new(),
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

    /// Every slot, in load order.
    pub(crate) fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).clone()
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
        phase: Phase,
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
            Live::Ready(_, exports) if !matches!(**exports, Exports::Lifecycle(_)) => {
                return Err(CallError::Unavailable {
                    component: component.to_string(),
                    reason: "it is a WASI command: it exports `wasi:cli/run`, not `airssys:core/component-lifecycle`"
                        .to_string(),
                });
            }
            Live::Ready(store, exports) => match &**exports {
                Exports::Lifecycle(bindings) => guarded_call(store, timeout_ms, phase, |store| f(store, bindings)),
                Exports::Command(_) => unreachable!("refused above"),
            },
        };
        outcome.map_err(|fault| {
            slot.failed(|| format!("{} was stopped: {fault}", phase.as_str()));
            *live = Live::Ended(fault.clone());
            CallError::Fault {
                component: component.to_string(),
                fault,
            }
        })
    }

    /// Calls a WASI command's `run`. A command that calls `wasi:cli/exit` ends with its code;
    /// the instance cannot be called again either way.
    pub(crate) fn run_command(&self, component: &str) -> Result<Exit, CallError> {
        let slot = self
            .slot(component)
            .ok_or_else(|| CallError::NotLoaded(component.to_string()))?;
        let mut live = slot.live.lock().unwrap_or_else(|p| p.into_inner());
        let Live::Ready(store, exports) = &mut *live else {
            return Err(CallError::Unavailable {
                component: component.to_string(),
                reason: "an earlier call ended it".to_string(),
            });
        };
        let Exports::Command(command) = &**exports else {
            return Err(CallError::Unavailable {
                component: component.to_string(),
                reason: "it is an airssys component: it exports `airssys:core/component-lifecycle`, not `wasi:cli/run`"
                    .to_string(),
            });
        };
        let outcome = guarded_call(store, None, Phase::Run, |store| {
            match command.wasi_cli_run().call_run(&mut *store) {
                Ok(returned) => Ok(Exit::Returned(returned.is_ok())),
                Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                    Some(exit) => Ok(Exit::Code(exit.0)),
                    None => Err(e),
                },
            }
        });
        if let Ok(exit) = outcome
            && exit.code() != 0
        {
            slot.failed(|| match exit {
                Exit::Code(code) => format!("run exited with code {code}"),
                Exit::Returned(_) => "run returned an error".to_string(),
            });
        }
        match outcome {
            Ok(Exit::Code(code)) => {
                // The instance unwound through `exit`: it cannot be called again.
                *live = Live::Ended(Fault::Exited(code));
                Ok(Exit::Code(code))
            }
            Ok(returned) => Ok(returned),
            Err(fault) => {
                slot.failed(|| format!("run was stopped: {fault}"));
                *live = Live::Ended(fault.clone());
                Err(CallError::Fault {
                    component: component.to_string(),
                    fault,
                })
            }
        }
    }

    /// Runs queued requests and their callbacks, oldest first, until none is left.
    pub(crate) fn deliver_requests(&self) {
        for _ in 0..MAX_DELIVERIES {
            let Some(request) = self.requests.pop() else {
                return;
            };
            let answer = match self.call(
                &request.target,
                false,
                Some(request.timeout_ms),
                Phase::Execute,
                |store, b| {
                    b.airssys_core_component_lifecycle()
                        .call_execute(store, &request.payload)
                },
            ) {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(error)) => {
                    let error = describe_component_error(&error);
                    if let Some(slot) = self.slot(&request.target) {
                        slot.failed(|| {
                            format!("execute (a request of `{}`) returned an error: {error}", request.sender)
                        });
                    }
                    Err(error)
                }
                Err(CallError::Fault {
                    fault: Fault::Timeout(_),
                    ..
                }) => Err("timeout".to_string()),
                Err(other) => Err(other.to_string()),
            };
            // A sender that has ended or errs in its callback only affects itself.
            let _ = self.call(&request.sender, false, None, Phase::HandleCallback, |store, b| {
                b.airssys_core_component_lifecycle().call_handle_callback(
                    store,
                    request.id,
                    answer.as_deref().map_err(String::as_str),
                )
            });
        }
    }
}

impl Components for Hub {
    fn names(&self) -> Vec<String> {
        Hub::names(self)
    }

    fn is_loaded(&self, id: &str) -> bool {
        self.slot(id).is_some()
    }

    fn metadata(&self, id: &str) -> Option<ComponentMetadata> {
        self.slot(id).map(|slot| slot.metadata.clone())
    }

    fn handle_message(
        &self,
        target: &str,
        sender: &str,
        payload: &[u8],
    ) -> Result<Result<(), ComponentError>, CallError> {
        let sender = sender.to_string();
        self.call(target, true, None, Phase::HandleMessage, |store, b| {
            b.airssys_core_component_lifecycle()
                .call_handle_message(store, &sender, payload)
        })
    }

    fn requests(&self) -> &Requests {
        &self.requests
    }
}

/// Runs `f` on a store in `phase` after renewing its budget; a trap becomes a [`Fault`].
pub(crate) fn guarded_call<R>(
    store: &mut Store<InstanceState>,
    timeout_ms: Option<u64>,
    phase: Phase,
    f: impl FnOnce(&mut Store<InstanceState>) -> wasmtime::Result<R>,
) -> Result<R, Fault> {
    store.data().guard.trail.set_phase(phase);
    arm(store);
    if let Some(ms) = timeout_ms.filter(|ms| *ms < store.data().guard.run_limits.timeout_ms) {
        set_deadline(store, ms);
    }
    let result = f(store);
    // An audit line that could not be written ends the call as the host's failure, whatever
    // the component made of the refusal.
    if let Some(reason) = store.data().guard.audit.failure() {
        return Err(Fault::AuditLog(reason.to_string()));
    }
    result.map_err(|e| Fault::from_error(&e, &store.data().guard.run_limits))
}
