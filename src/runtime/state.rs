//! The store data of one instance and the guard every host operation goes through.
//!
//! [`InstanceState::authorize`] is the only way a host operation gets permission for an effect:
//! it asks the shared decision ([`crate::orgpolicy::Effective`], which wraps the same
//! [`crate::policy::CompiledGrants`] that `check` uses), writes the audit line, and answers
//! `Ok` (go ahead) or `Err(Denied)` (return the operation's `permission-denied` error).

use std::sync::{Arc, Weak};

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;

use super::audit::{AuditLog, Mode, Record, Verdict, now_rfc3339};
use super::fs::FsState;
use super::net::NetState;
use super::process::ProcState;
use super::services::{Hub, ServicesState};
use crate::manifest::Manifest;
use crate::orgpolicy::{Effective, PolicySet};
use crate::policy::{Env, GrantRef, Request};

/// Everything the guard needs about one component: its manifest, its grants compiled once
/// together with the organisation's policy denials, and the mode. Shared by every instance of
/// the component.
#[derive(Debug)]
pub struct ComponentPolicy {
    pub manifest: Manifest,
    pub effective: Effective,
    pub env: Env,
    pub mode: Mode,
}

impl ComponentPolicy {
    /// Compiles `manifest` under `policies` for the machine described by `env`.
    pub fn new(manifest: Manifest, policies: &PolicySet, env: Env, mode: Mode) -> Self {
        let effective = policies.effective(&manifest, &env);
        ComponentPolicy {
            manifest,
            effective,
            env,
            mode,
        }
    }

    /// The component's name, as its manifest gives it.
    pub fn name(&self) -> &str {
        &self.manifest.component.name
    }

    /// The manifest text of a grant, for audit lines (`filesystem[0] { action = ..., ... }`).
    pub fn describe_grant(&self, grant: GrantRef) -> String {
        use crate::policy::Domain;
        let text = match grant.domain {
            Domain::Filesystem => self.manifest.filesystem.get(grant.index).map(|e| e.grant.to_string()),
            Domain::Network => self.manifest.network.get(grant.index).map(|e| e.grant.to_string()),
            Domain::Process => self.manifest.process.get(grant.index).map(|e| e.grant.to_string()),
        };
        format!("grant {}[{}] {}", grant.domain, grant.index, text.unwrap_or_default())
    }
}

/// A refusal: the text goes into the operation's `permission-denied(string)` error. It names
/// what was refused (`filesystem:write /etc/passwd`), never anything the guest could not see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied(pub String);

/// The data of one instance's store.
pub struct InstanceState {
    pub(crate) policy: Arc<ComponentPolicy>,
    pub(crate) audit: AuditLog,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) run_limits: super::RunLimits,
    pub(crate) fs: FsState,
    pub(crate) net: NetState,
    pub(crate) process: ProcState,
    pub(crate) services: ServicesState,
}

impl std::fmt::Debug for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceState")
            .field("component", &self.name())
            .finish_non_exhaustive()
    }
}

impl InstanceState {
    pub(crate) fn new(
        policy: Arc<ComponentPolicy>,
        audit: AuditLog,
        run_limits: super::RunLimits,
        hub: Weak<Hub>,
        log: super::services::LogSink,
    ) -> Self {
        InstanceState {
            limits: run_limits.store_limits(),
            policy,
            audit,
            table: ResourceTable::new(),
            run_limits,
            fs: FsState::default(),
            net: NetState::default(),
            process: ProcState::default(),
            services: ServicesState::new(hub, log),
        }
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        self.policy.name()
    }

    /// The component's policy.
    pub fn policy(&self) -> &ComponentPolicy {
        &self.policy
    }

    /// Asks the decision for `request`, on behalf of `operation` (`interface.function`), and
    /// writes the audit line. `Ok` carries the manifest grant that allows it (`None` only in
    /// report-only and unguarded modes when nothing does). Every effect of a host operation
    /// must be preceded by an `Ok` from here (or from [`Self::authorize_handle`]).
    pub(crate) fn authorize(&mut self, operation: &str, request: Request<'_>) -> Result<Option<GrantRef>, Denied> {
        let mode = self.policy.mode;
        if mode == Mode::Unguarded {
            return Ok(None);
        }
        let decision = self.policy.effective.decide(&request);
        let resource = describe_request(&request);
        let by = match (&decision.denied_by, decision.grant) {
            (Some(rule), _) => format!("policy {rule}"),
            (None, Some(grant)) => self.policy.describe_grant(grant),
            (None, None) => "no grant".to_string(),
        };
        self.finish(operation, &resource, decision.allowed, &by)?;
        Ok(decision.grant.filter(|_| decision.allowed))
    }

    /// Records a decision that the host made itself: an access check against what a handle
    /// was opened for (`permitted`), or one of the host's own rules (an `LD_PRELOAD` in a
    /// child's environment, a signal to a process group the instance does not own). `by`
    /// names the reason, for example `handle opened read-only`.
    pub(crate) fn authorize_handle(
        &mut self,
        operation: &str,
        resource: &str,
        permitted: bool,
        by: &str,
    ) -> Result<(), Denied> {
        if self.policy.mode == Mode::Unguarded {
            return Ok(());
        }
        self.finish(operation, resource, permitted, by)
    }

    /// Refuses outright: a host rule that holds in every mode (report-only included), such as
    /// a dynamic-loader variable in a child's environment. Logged as `denied`.
    pub(crate) fn refuse(&mut self, operation: &str, resource: &str, by: &str) -> Denied {
        let record = Record {
            time: now_rfc3339(),
            component: self.policy.name(),
            operation,
            resource,
            verdict: Verdict::Denied,
            by,
            mode: self.policy.mode,
        };
        // The operation is refused whether or not the line could be written.
        let _ = self.audit.write(&record);
        Denied(resource.to_string())
    }

    fn finish(&mut self, operation: &str, resource: &str, allowed: bool, by: &str) -> Result<(), Denied> {
        let mode = self.policy.mode;
        let verdict = match (allowed, mode) {
            (true, _) => Verdict::Allowed,
            (false, Mode::ReportOnly) => Verdict::WouldDeny,
            (false, _) => Verdict::Denied,
        };
        let record = Record {
            time: now_rfc3339(),
            component: self.policy.name(),
            operation,
            resource,
            verdict,
            by,
            mode,
        };
        if self.audit.write(&record).is_err() {
            // No effect without its record.
            return Err(Denied(format!("{resource} (the audit log cannot be written)")));
        }
        match verdict {
            Verdict::Denied => Err(Denied(resource.to_string())),
            Verdict::Allowed | Verdict::WouldDeny => Ok(()),
        }
    }
}

/// `filesystem:read /data/in.csv`, `network:connect example.com:443`, `process:spawn /bin/echo`,
/// `process:signal SIGTERM`: the request as audit lines and denial messages show it.
pub fn describe_request(request: &Request<'_>) -> String {
    match *request {
        Request::Fs { action, path } => format!("filesystem:{action} {}", path.escape_debug()),
        Request::Net { action, host, port } => match (host, port) {
            (Some(h), Some(p)) if h.contains(':') => format!("network:{action} [{}]:{p}", h.escape_debug()),
            (Some(h), Some(p)) => format!("network:{action} {}:{p}", h.escape_debug()),
            (Some(h), None) => format!("network:{action} {}", h.escape_debug()),
            (None, Some(p)) => format!("network:{action} port {p}"),
            (None, None) => format!("network:{action}"),
        },
        Request::Spawn { executable } => format!("process:spawn {}", executable.escape_debug()),
        Request::Signal { signal } => format!("process:signal {signal}"),
    }
}

/// Test support: an instance state outside any store, for calling host operations directly.
#[cfg(test)]
pub(crate) mod testing {
    use std::io::Write;
    use std::sync::{Arc, Mutex, Weak};

    use super::{ComponentPolicy, InstanceState};
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

    /// A state for the manifest `toml` (which must be valid) in `mode`, with its audit lines.
    pub(crate) fn state(toml: &str, mode: Mode) -> (InstanceState, Captured) {
        let manifest = Manifest::parse("Component.toml", toml)
            .into_valid()
            .unwrap_or_else(|d| panic!("invalid test manifest: {d:?}"));
        let policy = Arc::new(ComponentPolicy::new(
            manifest,
            &PolicySet::default(),
            Env::default(),
            mode,
        ));
        let captured = Captured::default();
        let audit = AuditLog::to_writer(captured.clone());
        let state = InstanceState::new(policy, audit, RunLimits::default(), Weak::new(), LogSink::disabled());
        (state, captured)
    }
}
