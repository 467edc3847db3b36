//! The guard every host operation goes through, whatever interface it implements.
//!
//! [`Guard::authorize`] is the only way a host operation gets permission for an effect: it
//! asks the shared decision ([`crate::orgpolicy::Effective`], which wraps the same
//! [`crate::policy::CompiledGrants`] that `check` uses), writes the audit line, and answers
//! `Ok` (go ahead) or `Err(Denied)` (return the operation's `permission-denied` error).
//! [`Guard::authorize_handle`] and [`Guard::refuse`] record what the host decides itself
//! (handle access, host rules).
//!
//! A [`Guard`] is one field of the instance's store data, and every interface's view borrows
//! it (shared: nothing here needs `&mut`): the component's policy, the audit log, the limits,
//! the memory the instance has, and the current call's deadline, which bound every answer
//! ([`Guard::answer_budget`]) and every long operation ([`Guard::call_deadline`]).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::audit::{AuditLog, Mode, Observed, Record, Trail, Verdict, now_rfc3339};
use super::limits::{Limiter, RunLimits};
use crate::manifest::Manifest;
use crate::orgpolicy::{Effective, EffectiveDecision, PolicySet};
use crate::policy::{Env, FsAction, GrantRef, Request};

/// Everything the guard needs about one component: its manifest, its grants compiled once
/// together with the organisation's policy denials, and the mode. Shared by every instance of
/// the component.
#[derive(Debug)]
pub struct ComponentPolicy {
    pub manifest: Manifest,
    pub effective: Effective,
    pub env: Env,
    pub mode: Mode,
    /// What audit lines say of each grant, per domain in manifest order (see
    /// [`Self::describe_grant`]), written once instead of on every decision.
    grant_texts: [Vec<String>; 3],
}

impl ComponentPolicy {
    /// Compiles `manifest` under `policies` for the machine described by `env`.
    pub fn new(manifest: Manifest, policies: &PolicySet, env: Env, mode: Mode) -> Self {
        use crate::policy::Domain;
        let effective = policies.effective(&manifest, &env);
        fn texts<'a, G: std::fmt::Display + 'a>(domain: Domain, grants: impl Iterator<Item = &'a G>) -> Vec<String> {
            grants
                .enumerate()
                .map(|(index, grant)| format!("grant {domain} #{} {grant}", index + 1))
                .collect()
        }
        let grant_texts = [
            texts(Domain::Filesystem, manifest.filesystem.iter().map(|e| &e.grant)),
            texts(Domain::Network, manifest.network.iter().map(|e| &e.grant)),
            texts(Domain::Process, manifest.process.iter().map(|e| &e.grant)),
        ];
        ComponentPolicy {
            manifest,
            effective,
            env,
            mode,
            grant_texts,
        }
    }

    /// The component's name, as its manifest gives it.
    pub fn name(&self) -> &str {
        &self.manifest.component.name
    }

    /// A grant as audit lines name it: ``grant filesystem #1 read `/data/**` ``.
    pub fn describe_grant(&self, grant: GrantRef) -> String {
        self.grant_text(grant).to_string()
    }

    fn grant_text(&self, grant: GrantRef) -> &str {
        use crate::policy::Domain;
        let domain = match grant.domain {
            Domain::Filesystem => 0,
            Domain::Network => 1,
            Domain::Process => 2,
        };
        self.grant_texts[domain]
            .get(grant.index)
            .map_or("grant (not in the manifest)", String::as_str)
    }
}

/// What one element of a listed answer (a directory entry, a walk entry, a stat) counts
/// against [`Guard::answer_budget`] besides its strings: at least what it takes in the
/// guest's memory and on the host.
pub(crate) const ANSWER_ENTRY_BYTES: u64 = 64;

/// A refusal: the text goes into the operation's `permission-denied(string)` error. It names
/// what was refused (`filesystem:write /etc/passwd`), never anything the guest could not see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied(pub String);

/// What every host operation answers to: the component's policy and audit log, the
/// instance's limits and the memory it has, and the current call's deadline.
pub(crate) struct Guard {
    pub(crate) policy: Arc<ComponentPolicy>,
    pub(crate) audit: AuditLog,
    /// The run id, the phase, the verdicts counted and the observer.
    pub(crate) trail: Arc<Trail>,
    /// The instance's bounds (also read by the store's limiter when it is made).
    pub(crate) run_limits: RunLimits,
    /// The store's resource limiter, which counts the memory the instance has.
    pub(crate) limits: Limiter,
    /// When the current export call runs out of time (set by [`super::Runtime::arm`]); `None`
    /// outside a call, where an operation gets the whole `timeout_ms` from its start.
    pub(crate) deadline: Option<Instant>,
    /// The filesystem requests this instance was allowed, remembered.
    fs_allowed: RefCell<FsAllowed>,
}

/// The filesystem requests an instance was allowed, by path and action, with the grant that
/// allowed each: what the policy decides cannot change during the instance's life (its
/// manifest and the organisation's policies are fixed when it is loaded), so a request decided
/// once is decided the same way again, as an access vector cache does in an operating system.
/// Only allowed requests are kept (a denial is rare and names its rule); each later request
/// is still shown to the observer and written to the audit log. Bounded: emptied when full.
#[derive(Default)]
struct FsAllowed {
    by_path: foldhash::HashMap<Box<str>, [Option<Option<GrantRef>>; 4]>,
}

impl FsAllowed {
    /// At most this many paths, of at most [`FsAllowed::MAX_PATH`] bytes each.
    const MAX_PATHS: usize = 256;
    const MAX_PATH: usize = 1024;

    fn get(&self, action: FsAction, path: &str) -> Option<Option<GrantRef>> {
        self.by_path.get(path)?[action as usize]
    }

    fn put(&mut self, action: FsAction, path: &str, grant: Option<GrantRef>) {
        if path.len() > Self::MAX_PATH {
            return;
        }
        if self.by_path.len() >= Self::MAX_PATHS && !self.by_path.contains_key(path) {
            self.by_path.clear();
        }
        match self.by_path.get_mut(path) {
            Some(slots) => slots[action as usize] = Some(grant),
            None => {
                let mut slots = [None; 4];
                slots[action as usize] = Some(grant);
                self.by_path.insert(path.into(), slots);
            }
        }
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("component", &self.name())
            .field("mode", &self.policy.mode)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub(crate) fn new(policy: Arc<ComponentPolicy>, audit: AuditLog, trail: Arc<Trail>, run_limits: RunLimits) -> Self {
        Guard {
            limits: run_limits.store_limits(),
            policy,
            audit,
            trail,
            run_limits,
            deadline: None,
            fs_allowed: RefCell::default(),
        }
    }

    /// The time left before the current call's deadline (the whole `timeout_ms` outside a
    /// call). Every host operation that waits or works in a loop stops by then.
    pub(crate) fn time_left(&self) -> Duration {
        match self.deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_millis(self.run_limits.timeout_ms),
        }
    }

    /// The most bytes one answer of a host operation may hold: the read limit
    /// ([`RunLimits::max_read_bytes`]), and no more than the instance's memory can still
    /// grow to hold (an answer it could not hold would trap it while it is handed over). An
    /// answer counts its data and, for lists, a fixed size per element
    /// ([`ANSWER_ENTRY_BYTES`]).
    pub(crate) fn answer_budget(&self) -> u64 {
        let room = self.run_limits.memory_bytes.saturating_sub(self.limits.memory_in_use());
        self.run_limits.max_read_bytes.min(room)
    }

    /// Why an answer of `bytes` is refused (for `limit-exceeded` messages), given
    /// [`Self::answer_budget`].
    pub(crate) fn over_budget(&self, bytes: u64) -> String {
        let max = self.run_limits.max_read_bytes;
        if bytes > max {
            format!("{bytes} bytes; the limit of one answer is {max}")
        } else {
            format!(
                "{bytes} bytes, more than the instance's memory can still hold ({} of its {} bytes are in use)",
                self.limits.memory_in_use(),
                self.run_limits.memory_bytes
            )
        }
    }

    /// The instant by which a host operation started now must have finished: the current
    /// call's deadline.
    pub(crate) fn call_deadline(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.time_left()).unwrap_or(now)
    }

    /// The component's name.
    pub(crate) fn name(&self) -> &str {
        self.policy.name()
    }

    /// The component's policy.
    pub(crate) fn policy(&self) -> &ComponentPolicy {
        &self.policy
    }

    /// Asks the decision for `request`, on behalf of `operation` (`interface.function`), and
    /// writes the audit line. `Ok` carries the manifest grant that allows it (`None` only in
    /// report-only and unguarded modes when nothing does). Every effect of a host operation
    /// must be preceded by an `Ok` from here (or from [`Self::authorize_handle`]).
    pub(crate) fn authorize(&self, operation: &str, request: Request<'_>) -> Result<Option<GrantRef>, Denied> {
        self.recorder().authorize(operation, request, None)
    }

    /// [`Self::authorize`] for where the symbolic link `link` led (a hop): the audit line
    /// names the link.
    pub(crate) fn authorize_hop(
        &self,
        operation: &str,
        request: Request<'_>,
        link: &str,
    ) -> Result<Option<GrantRef>, Denied> {
        self.recorder().authorize(operation, request, Some(link))
    }

    fn recorder(&self) -> Recorder<'_> {
        Recorder {
            fs_allowed: Some(&self.fs_allowed),
            ..Recorder::new(&self.policy, &self.audit, &self.trail)
        }
    }

    /// Whether a decision with this outcome leaves a trace: an audit line (when there is a
    /// log) or a refusal. When it does not — allowed, and no log — the caller may skip
    /// describing the request. Unguarded mode records nothing.
    pub(crate) fn records(&self, allowed: bool) -> bool {
        self.recorder().records(allowed)
    }

    /// Records a decision that the host made itself: an access check against what a handle
    /// was opened for (`permitted`), or one of the host's own rules (an `LD_PRELOAD` in a
    /// child's environment, a signal to a process group the instance does not own). `by`
    /// names the reason, for example `handle opened read-only`.
    pub(crate) fn authorize_handle(
        &self,
        operation: &str,
        resource: &str,
        permitted: bool,
        by: &str,
    ) -> Result<(), Denied> {
        self.authorize_handle_via(operation, resource, permitted, by, None)
    }

    /// [`Self::authorize_handle`] for a decision about where a symbolic link led (`link`).
    pub(crate) fn authorize_handle_via(
        &self,
        operation: &str,
        resource: &str,
        permitted: bool,
        by: &str,
        link: Option<&str>,
    ) -> Result<(), Denied> {
        let recorder = self.recorder();
        if !recorder.records(permitted) {
            return Ok(());
        }
        recorder.finish(operation, resource, permitted, by, link)
    }

    /// Refuses outright: a host rule that holds in every mode (report-only included), such as
    /// a dynamic-loader variable in a child's environment. Logged as `denied`.
    pub(crate) fn refuse(&self, operation: &str, resource: &str, by: &str) -> Denied {
        self.recorder().refuse(operation, resource, by)
    }

    /// The part of the guard that decides and records, detached from the instance: for host
    /// code that runs outside a call on the store (a socket-address check of wasmtime-wasi).
    pub(crate) fn decider(&self) -> Decider {
        Decider {
            policy: Arc::clone(&self.policy),
            audit: self.audit.clone(),
            trail: Arc::clone(&self.trail),
        }
    }
}

/// The deciding and recording half of a [`Guard`], shareable across threads: the same
/// decision and the same audit lines.
#[derive(Clone, Debug)]
pub(crate) struct Decider {
    pub(crate) policy: Arc<ComponentPolicy>,
    pub(crate) audit: AuditLog,
    pub(crate) trail: Arc<Trail>,
}

impl Decider {
    fn recorder(&self) -> Recorder<'_> {
        Recorder::new(&self.policy, &self.audit, &self.trail)
    }

    /// As [`Guard::authorize`].
    pub(crate) fn authorize(&self, operation: &str, request: Request<'_>) -> Result<Option<GrantRef>, Denied> {
        self.recorder().authorize(operation, request, None)
    }

    /// Records a denial the host made itself (a policy rule met on the way, as
    /// [`Guard::authorize_handle`] with `permitted` false): `Err` unless report-only or
    /// unguarded mode lets it through.
    pub(crate) fn record(&self, operation: &str, resource: &str, by: &str) -> Result<(), Denied> {
        let recorder = self.recorder();
        if !recorder.records(false) {
            return Ok(());
        }
        recorder.finish(operation, resource, false, by, None)
    }
}

/// What decides and records, borrowed from a [`Guard`] or a [`Decider`].
struct Recorder<'g> {
    policy: &'g ComponentPolicy,
    audit: &'g AuditLog,
    trail: &'g Trail,
    /// The instance's remembered filesystem decisions (a guard's recorder only).
    fs_allowed: Option<&'g RefCell<FsAllowed>>,
}

impl<'g> Recorder<'g> {
    fn new(policy: &'g ComponentPolicy, audit: &'g AuditLog, trail: &'g Trail) -> Self {
        Recorder {
            policy,
            audit,
            trail,
            fs_allowed: None,
        }
    }

    /// The policy's decision on `request`, remembered for an allowed filesystem request.
    fn decide(&self, request: &Request<'_>) -> EffectiveDecision {
        let (Some(cache), Request::Fs { action, path }) = (self.fs_allowed, request) else {
            return self.policy.effective.decide(request);
        };
        if let Some(grant) = cache.borrow().get(*action, path) {
            return EffectiveDecision {
                allowed: true,
                grant,
                denied_by: None,
            };
        }
        let decision = self.policy.effective.decide(request);
        if decision.allowed {
            cache.borrow_mut().put(*action, path, decision.grant);
        }
        decision
    }

    fn records(&self, allowed: bool) -> bool {
        self.policy.mode != Mode::Unguarded && (!allowed || self.audit.is_enabled())
    }

    fn authorize(&self, operation: &str, request: Request<'_>, via: Option<&str>) -> Result<Option<GrantRef>, Denied> {
        let policy = self.policy;
        if policy.mode == Mode::Unguarded {
            return Ok(None);
        }
        let decision = self.decide(&request);
        if let Some(observer) = self.trail.observer() {
            observer.observe(&Observed {
                component: policy.name(),
                operation,
                request: &request,
                decision: &decision,
                via_symlink: via,
            });
        }
        if !self.records(decision.allowed) {
            return Ok(decision.grant);
        }
        let resource = describe_request(&request);
        let rule;
        let by = match (&decision.denied_by, decision.grant) {
            (Some(denied_by), _) => {
                rule = format!("policy {denied_by}");
                rule.as_str()
            }
            (None, Some(grant)) => policy.grant_text(grant),
            (None, None) => "no grant",
        };
        self.finish(operation, &resource, decision.allowed, by, via)?;
        Ok(decision.grant.filter(|_| decision.allowed))
    }

    fn record<'r>(
        &'r self,
        operation: &'r str,
        resource: &'r str,
        verdict: Verdict,
        by: &'r str,
        via: Option<&'r str>,
    ) -> Record<'r> {
        Record {
            time: now_rfc3339(),
            component: self.policy.name(),
            operation,
            resource,
            verdict,
            by,
            mode: self.policy.mode,
            phase: self.trail.phase(),
            via_symlink: via,
            run: self.trail.run(),
        }
    }

    /// Writes the line and counts it when it was written.
    fn write(&self, record: &Record<'_>) -> std::io::Result<()> {
        self.audit.write(record)?;
        if self.audit.is_enabled() {
            self.trail.count(record.verdict);
        }
        Ok(())
    }

    fn refuse(&self, operation: &str, resource: &str, by: &str) -> Denied {
        let record = self.record(operation, resource, Verdict::Denied, by, None);
        // The operation is refused whether or not the line could be written (a line that could
        // not be written is the host's failure all the same: the log keeps it).
        let _ = self.write(&record);
        Denied(resource.to_string())
    }

    fn finish(
        &self,
        operation: &str,
        resource: &str,
        allowed: bool,
        by: &str,
        via: Option<&str>,
    ) -> Result<(), Denied> {
        let verdict = match (allowed, self.policy.mode) {
            (true, _) => Verdict::Allowed,
            (false, Mode::ReportOnly) => Verdict::WouldDeny,
            (false, _) => Verdict::Denied,
        };
        let record = self.record(operation, resource, verdict, by, via);
        if let Err(e) = self.write(&record) {
            // No effect without its record. This is the host's failure, not a decision about the
            // component: the log keeps the error, and the call that met it ends as the host's
            // failure (`Fault::AuditLog`), so that a host such as `run` reports the operating
            // system's error rather than a denial.
            return Err(Denied(format!(
                "{resource}: not done, the host cannot write its audit log ({e})"
            )));
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
        Request::Fs { action, path } => {
            let mut text = String::with_capacity(20 + path.len());
            text.push_str("filesystem:");
            text.push_str(action.as_str());
            text.push(' ');
            push_escaped(&mut text, path);
            text
        }
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

/// Appends `text` as [`str::escape_debug`] writes it; text that needs no escaping (printable
/// ASCII without quotes or backslashes, the usual path) is copied as it is.
fn push_escaped(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && !matches!(b, b'"' | b'\'' | b'\\'))
    {
        out.push_str(text);
    } else {
        let _ = write!(out, "{}", text.escape_debug());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{ComponentPolicy, Denied, Guard};
    use crate::diagnostics::Sources;
    use crate::orgpolicy::PolicySet;
    use crate::policy::{Env, FsAction, NetAction, Request};
    use crate::runtime::testing::{Captured, guard as state};
    use crate::runtime::{AuditLog, Mode, RunLimits};

    const MANIFEST: &str = r#"
[component]
name = "guarded"
version = "1.0.0"
[permissions]
filesystem = [{ action = "read", path = "/data/**" }]
network = [{ action = "connect", domain = "169.254.169.254", port = 80 }]
"#;

    fn read(path: &str) -> Request<'_> {
        Request::Fs {
            action: FsAction::Read,
            path,
        }
    }

    /// An allowed filesystem request is remembered per path and action; each repeat gets
    /// the same grant and its own audit line, a denial is decided afresh every time, and
    /// another action on a remembered path is decided on its own.
    #[test]
    fn remembered_decisions_are_the_policys_and_each_is_still_logged() {
        let (s, audit) = state(MANIFEST, Mode::Enforce);
        let first = s.authorize("filesystem.read-file", read("/data/a.csv")).unwrap();
        for _ in 0..3 {
            assert_eq!(s.authorize("filesystem.read-file", read("/data/a.csv")).unwrap(), first);
        }
        assert_eq!(s.fs_allowed.borrow().get(FsAction::Read, "/data/a.csv"), Some(first));
        let write = Request::Fs {
            action: FsAction::Write,
            path: "/data/a.csv",
        };
        for _ in 0..2 {
            assert!(s.authorize("filesystem.write-file", write).is_err());
            assert!(s.authorize("filesystem.read-file", read("/etc/passwd")).is_err());
        }
        assert_eq!(s.fs_allowed.borrow().get(FsAction::Write, "/data/a.csv"), None);
        assert_eq!(s.fs_allowed.borrow().get(FsAction::Read, "/etc/passwd"), None);
        let verdicts: Vec<String> = audit.lines().iter().map(|l| l["verdict"].to_string()).collect();
        assert_eq!(verdicts.len(), 8);
        assert_eq!(verdicts.iter().filter(|v| v.contains("allowed")).count(), 4);
        assert!(
            audit.lines()[..4]
                .iter()
                .all(|l| l["by"] == "grant filesystem #1 read `/data/**`")
        );
    }

    /// The remembered decisions are bounded in paths and in bytes per path.
    #[test]
    fn remembered_decisions_are_bounded() {
        let (s, _) = state(MANIFEST, Mode::Enforce);
        for i in 0..3 * super::FsAllowed::MAX_PATHS {
            let path = format!("/data/{i}.csv");
            assert!(s.authorize("filesystem.read-file", read(&path)).unwrap().is_some());
            assert!(s.fs_allowed.borrow().by_path.len() <= super::FsAllowed::MAX_PATHS);
        }
        let long = format!("/data/{}", "x".repeat(super::FsAllowed::MAX_PATH));
        assert!(s.authorize("filesystem.read-file", read(&long)).unwrap().is_some());
        assert_eq!(s.fs_allowed.borrow().get(FsAction::Read, &long), None);
    }

    #[test]
    fn allowed_and_denied_requests_are_logged_with_what_decided() {
        let (s, audit) = state(MANIFEST, Mode::Enforce);
        assert!(
            s.authorize("filesystem.read-file", read("/data/a.csv"))
                .unwrap()
                .is_some()
        );
        let denied = s.authorize("filesystem.read-file", read("/etc/passwd")).unwrap_err();
        assert_eq!(denied, Denied("filesystem:read /etc/passwd".into()));
        let lines = audit.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["verdict"], "allowed");
        assert_eq!(lines[0]["by"], "grant filesystem #1 read `/data/**`");
        assert_eq!(lines[0]["component"], "guarded");
        assert_eq!(lines[0]["operation"], "filesystem.read-file");
        assert_eq!(lines[1]["verdict"], "denied");
        assert_eq!(lines[1]["by"], "no grant");
        assert_eq!(lines[1]["resource"], "filesystem:read /etc/passwd");
        assert!(
            lines
                .iter()
                .all(|l| l["mode"] == "enforce" && l["time"].as_str().unwrap().ends_with('Z'))
        );
    }

    #[test]
    fn report_only_lets_denials_through_and_says_so_on_every_line() {
        let (s, audit) = state(MANIFEST, Mode::ReportOnly);
        assert_eq!(s.authorize("filesystem.read-file", read("/etc/passwd")), Ok(None));
        assert!(s.authorize("filesystem.read-file", read("/data/x")).is_ok());
        let lines = audit.lines();
        assert_eq!(lines[0]["verdict"], "would-deny");
        assert_eq!(lines[1]["verdict"], "allowed");
        assert!(lines.iter().all(|l| l["mode"] == "report-only"));
        // Host rules hold in report-only mode too.
        let refused = s.refuse("lifecycle.spawn", "env LD_PRELOAD", "dynamic-loader variable");
        assert_eq!(refused, Denied("env LD_PRELOAD".into()));
        assert_eq!(audit.lines()[2]["verdict"], "denied");
    }

    #[test]
    fn a_policy_denial_wins_over_a_grant_and_names_the_rule() {
        let mut sources = Sources::new();
        let policies = PolicySet::default_set(&mut sources).unwrap();
        let manifest = crate::manifest::Manifest::parse("Component.toml", MANIFEST)
            .into_valid()
            .unwrap();
        let policy = Arc::new(ComponentPolicy::new(manifest, &policies, Env::default(), Mode::Enforce));
        let audit = Captured::default();
        let s = Guard::new(
            policy,
            AuditLog::to_writer(audit.clone()),
            crate::runtime::testing::trail(),
            RunLimits::default(),
        );
        let metadata = Request::Net {
            action: NetAction::Connect,
            host: Some("169.254.169.254"),
            port: Some(80),
        };
        assert!(
            s.authorize("socket.connect", metadata).is_err(),
            "the default policy denies cloud metadata"
        );
        let line = &audit.lines()[0];
        assert_eq!(line["verdict"], "denied");
        assert!(
            line["by"].as_str().unwrap().starts_with("policy builtin:default:"),
            "{line}"
        );
    }

    #[test]
    fn nothing_happens_without_its_audit_line() {
        struct Broken;
        impl std::io::Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (mut s, _) = state(MANIFEST, Mode::Enforce);
        s.audit = AuditLog::to_writer(Broken);
        let refused = s.authorize("filesystem.read-file", read("/data/a.csv")).unwrap_err();
        assert!(
            refused.0.contains("cannot write its audit log (disk full)"),
            "{refused:?}"
        );
        // The host's failure is kept for the call to report, and nothing more is allowed.
        assert_eq!(s.audit.failure(), Some("disk full"));
        assert!(s.authorize("filesystem.read-file", read("/data/a.csv")).is_err());
    }

    #[test]
    fn without_a_log_the_verdicts_and_grants_are_the_same() {
        let (logged, _) = state(MANIFEST, Mode::Enforce);
        let (mut quiet, _) = state(MANIFEST, Mode::Enforce);
        quiet.audit = AuditLog::disabled();
        for path in ["/data/a.csv", "/data/", "/etc/passwd", "/data/../etc/x", "rel"] {
            assert_eq!(
                quiet.authorize("filesystem.read-file", read(path)),
                logged.authorize("filesystem.read-file", read(path)),
                "{path}"
            );
        }
        assert_eq!(
            quiet.authorize_handle(
                "filesystem.read",
                "filesystem:read /x",
                false,
                "handle opened write-only"
            ),
            Err(Denied("filesystem:read /x".into()))
        );
        assert_eq!(quiet.authorize_handle("filesystem.read", "r", true, "h"), Ok(()));
    }

    proptest::proptest! {
        #[test]
        fn requests_are_described_with_their_paths_escaped(path in "\\PC*|[ -~]*|[\\x00-\\x1f\"'\\\\a/]*") {
            let expected = format!("filesystem:write {}", path.escape_debug());
            let request = Request::Fs { action: FsAction::Write, path: &path };
            proptest::prop_assert_eq!(super::describe_request(&request), expected);
        }
    }

    #[test]
    fn unguarded_mode_decides_nothing_and_logs_nothing() {
        let (s, audit) = state(MANIFEST, Mode::Unguarded);
        assert_eq!(s.authorize("filesystem.read-file", read("/etc/passwd")), Ok(None));
        assert!(audit.lines().is_empty());
    }
}
