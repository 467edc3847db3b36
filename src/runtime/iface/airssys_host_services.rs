//! `airssys:core/host-services`: the host's log, time, sleep, and messages between the
//! components loaded in one host (the delivery model is in `services.rs`). No grant is needed
//! and nothing here writes an audit line.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::component::Linker;

use crate::runtime::bindings::core_types::{ComponentMetadata, HostError, LogLevel};
use crate::runtime::bindings::host_services;
use crate::runtime::fault::{CallError, Fault};
use crate::runtime::services::{Components, HasServices, ServicesView, describe_component_error, metadata_of};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    host_services::add_to_linker::<InstanceState, HasServices>(linker, InstanceState::services_view)
}

impl ServicesView<'_> {
    fn hub(&self) -> Result<Arc<dyn Components>, HostError> {
        self.services.hub.as_ref().and_then(|hub| hub.upgrade()).ok_or_else(|| {
            HostError::NotFound("this instance runs outside a host: no other component is loaded".into())
        })
    }

    /// Checks a message's target and size before it goes anywhere.
    fn message_target(&self, target: &str, payload: &[u8]) -> Result<Arc<dyn Components>, HostError> {
        if target.is_empty() {
            return Err(HostError::InvalidInput("the target component id is empty".into()));
        }
        if target == self.guard.name() {
            return Err(HostError::InvalidInput(format!(
                "`{target}` is this component: a component cannot message itself"
            )));
        }
        let max = self.guard.run_limits.max_message_bytes;
        if payload.len() > max {
            return Err(HostError::LimitExceeded(format!(
                "the payload has {} bytes; the limit is {max}",
                payload.len()
            )));
        }
        let hub = self.hub()?;
        if !hub.is_loaded(target) {
            return Err(HostError::NotFound(format!("no component named `{target}` is loaded")));
        }
        Ok(hub)
    }
}

impl host_services::Host for ServicesView<'_> {
    fn log(&mut self, level: LogLevel, message: String) {
        self.services.log.write(self.guard.name(), level, &message);
    }

    fn send_message(&mut self, target: String, payload: Vec<u8>) -> Result<(), HostError> {
        let hub = self.message_target(&target, &payload)?;
        match hub.handle_message(&target, self.guard.name(), &payload) {
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
        let sender = self.guard.name().to_string();
        let max = self.guard.run_limits.max_pending_requests;
        hub.requests()
            .push(sender, target, payload, timeout_ms.max(1), max)
            .map_err(|mine| {
                HostError::LimitExceeded(format!("{mine} requests are already waiting; the limit is {max}"))
            })
    }

    fn cancel_request(&mut self, request_id: u64) -> Result<(), HostError> {
        let hub = self.hub()?;
        if hub.requests().cancel(self.guard.name(), request_id) {
            Ok(())
        } else {
            Err(HostError::NotFound(format!(
                "request {request_id} is not waiting (unknown, not this component's, or already delivered)"
            )))
        }
    }

    fn current_time_millis(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn sleep_millis(&mut self, millis: u64) {
        // Never past the current call's deadline.
        let capped = Duration::from_millis(millis.min(self.guard.run_limits.max_sleep_ms)).min(self.guard.time_left());
        std::thread::sleep(capped);
    }

    fn list_components(&mut self) -> Vec<String> {
        match self.services.hub.as_ref().and_then(|hub| hub.upgrade()) {
            Some(hub) => hub.names(),
            None => vec![self.guard.name().to_string()],
        }
    }

    fn get_component_metadata(&mut self, id: String) -> Result<ComponentMetadata, HostError> {
        if id == self.guard.name() {
            return Ok(metadata_of(&self.guard.policy.manifest));
        }
        let hub = self.hub()?;
        hub.metadata(&id)
            .ok_or_else(|| HostError::NotFound(format!("no component named `{id}` is loaded")))
    }
}
