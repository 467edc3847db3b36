//! Test support: an instance state (or only a guard) outside any store, for calling host
//! operations directly through their views, with an audit log the test can read back.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::guard::{ComponentPolicy, Guard};
use super::state::InstanceState;
use crate::manifest::Manifest;
use crate::orgpolicy::PolicySet;
use crate::policy::Env;
use crate::runtime::{AuditLog, Mode, RunLimits, services::LogSink};

/// An audit log that tests can read back.
#[derive(Clone, Default)]
pub(crate) struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The audit lines written so far, parsed.
    pub(crate) fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

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
    let state = InstanceState::new(
        policy(toml, policies, mode),
        audit,
        RunLimits::default(),
        None,
        LogSink::disabled(),
    );
    (state, captured)
}

/// Only the guard of [`state`].
pub(crate) fn guard(toml: &str, mode: Mode) -> (Guard, Captured) {
    let captured = Captured::default();
    let audit = AuditLog::to_writer(captured.clone());
    let policy = policy(toml, &PolicySet::default(), mode);
    (Guard::new(policy, audit, RunLimits::default()), captured)
}
