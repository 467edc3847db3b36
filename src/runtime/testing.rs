//! Test support: an instance state (or only a guard) outside any store, for calling host
//! operations directly through their views, with an audit log the test can read back. The
//! audit log in memory and the loopback echo servers are shared with the integration tests
//! (`tests/runtime/support.rs`).

use std::sync::Arc;

use super::guard::{ComponentPolicy, Guard};
use super::state::InstanceState;
use crate::manifest::Manifest;
use crate::orgpolicy::PolicySet;
use crate::policy::Env;
use crate::runtime::{AuditLog, Mode, RunLimits, Trail, services::LogSink};

#[path = "../../tests/runtime/support.rs"]
mod support;
pub(crate) use support::{Captured, Rng, free_tcp_port, free_udp_port, tcp_echo, udp_echo};

/// The compiled policy of the manifest `toml` (which must be valid) under `policies`.
pub(crate) fn policy(toml: &str, policies: &PolicySet, mode: Mode) -> Arc<ComponentPolicy> {
    let manifest = Manifest::parse("Component.toml", toml)
        .into_valid()
        .unwrap_or_else(|d| panic!("invalid test manifest: {d:?}"));
    Arc::new(ComponentPolicy::new(manifest, policies, Env::default(), mode))
}

/// A state for the manifest `toml` (which must be valid) in `mode`, with its audit lines.
pub(crate) fn state(toml: &str, mode: Mode) -> (InstanceState, Captured) {
    state_under(toml, &PolicySet::default(), mode)
}

/// [`state`] under the organisation policies `policies`.
pub(crate) fn state_under(toml: &str, policies: &PolicySet, mode: Mode) -> (InstanceState, Captured) {
    let captured = Captured::default();
    let audit = AuditLog::to_writer(captured.clone());
    let guard = Guard::new(policy(toml, policies, mode), audit, trail(), RunLimits::default());
    let state = InstanceState::new(
        guard,
        None,
        LogSink::disabled(),
        &crate::runtime::WasiOptions::default(),
    );
    (state, captured)
}

/// Only the guard of [`state`].
pub(crate) fn guard(toml: &str, mode: Mode) -> (Guard, Captured) {
    let captured = Captured::default();
    let audit = AuditLog::to_writer(captured.clone());
    let policy = policy(toml, &PolicySet::default(), mode);
    (Guard::new(policy, audit, trail(), RunLimits::default()), captured)
}

/// The trail of a test instance: the run id `test-run`, no observer.
pub(crate) fn trail() -> Arc<Trail> {
    Arc::new(Trail::new("test-run".into(), None))
}
