//! The multi-component host: lifecycle calls, messages and requests between components, and
//! faults that end one instance while the host goes on serving the others.

use std::sync::Arc;

use airssys_wasm::runtime::{CallError, Host, Runtime, RuntimeConfig, services::LogSink};

use crate::guest::manifest;
use crate::lifecycle;

fn host() -> Host {
    let runtime = Runtime::new(RuntimeConfig {
        log: LogSink::disabled(),
        ..RuntimeConfig::default()
    })
    .unwrap();
    Host::new(Arc::new(runtime))
}

fn named(name: &str, limits: &str) -> airssys_wasm::manifest::Manifest {
    manifest(&format!(
        "[component]\nname = \"{name}\"\nversion = \"1.0.0\"\n{limits}"
    ))
}

fn load(host: &Host, bytes: &[u8], name: &str, limits: &str) {
    host.load(bytes, named(name, limits)).unwrap();
    host.init(name).unwrap();
}

#[test]
fn a_message_reaches_the_peer_before_send_message_returns() {
    let host = host();
    let relay = lifecycle::relay();
    load(&host, &relay, "alpha", "");
    load(&host, &relay, "peer", "");
    assert_eq!(host.components(), ["alpha", "peer"]);
    assert_eq!(host.execute("alpha", b"mhello").unwrap(), [0], "send-message is ok");
    assert_eq!(
        host.execute("peer", b"g").unwrap(),
        b"hello",
        "the peer stored the message"
    );
}

#[test]
fn a_request_is_answered_through_the_callback() {
    let host = host();
    let relay = lifecycle::relay();
    load(&host, &relay, "alpha", "");
    load(&host, &relay, "peer", "");
    assert_eq!(host.execute("alpha", b"rping").unwrap(), [0], "send-request is ok");
    // The peer echoed "ping" from its execute, and the host handed that to alpha's callback.
    assert_eq!(host.execute("alpha", b"g").unwrap(), b"ping");
    // The peer's own execute ran once for the request; it has received no message.
    assert_eq!(host.execute("peer", b"g").unwrap(), b"");
}

#[test]
fn a_message_to_a_missing_component_is_not_found() {
    let host = host();
    load(&host, &lifecycle::relay(), "alpha", "");
    // 1 + the `not-found` case (1) of host-error.
    assert_eq!(host.execute("alpha", b"mhello").unwrap(), [2]);
    assert_eq!(host.execute("alpha", b"rhello").unwrap(), [2]);
}

#[test]
fn duplicate_names_and_unknown_components_are_refused() {
    let host = host();
    let echo = lifecycle::echo();
    load(&host, &echo, "one", "");
    let err = host.load(&echo, named("one", "")).unwrap_err();
    assert!(err.to_string().contains("already loaded"), "{err}");
    assert!(matches!(host.execute("two", b""), Err(CallError::NotLoaded(_))));
    let err = host.load(b"not wasm", named("three", "")).unwrap_err();
    assert!(matches!(err, CallError::Load(_)), "{err}");
}

/// Runs `bytes` under `limits`, expects its `execute` to fault with a message containing
/// `expect`, and checks that the host still serves another component and refuses the ended one.
fn faults(bytes: &[u8], limits: &str, expect: &str) {
    let host = host();
    load(&host, bytes, "faulty", limits);
    load(&host, &lifecycle::echo(), "healthy", "");
    let err = host.execute("faulty", b"go").unwrap_err();
    assert!(matches!(err, CallError::Fault { .. }), "{err:?}");
    assert!(err.to_string().contains(expect), "`{err}` should say `{expect}`");
    assert_eq!(host.execute("healthy", b"still here").unwrap(), b"still here");
    let again = host.execute("faulty", b"go").unwrap_err();
    assert!(matches!(again, CallError::Unavailable { .. }), "{again:?}");
    assert!(again.to_string().contains(expect), "{again}");
    // A fresh instance of the same component works again after the fault.
    let fresh = host.load(bytes, named("faulty-again", limits));
    assert!(fresh.is_ok(), "{fresh:?}");
}

#[test]
fn an_infinite_loop_hits_the_time_limit() {
    faults(
        &lifecycle::infinite_loop(),
        "[limits]\ntimeout-ms = 100\n",
        "time limit of 100 ms",
    );
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    faults(
        &lifecycle::infinite_loop(),
        "[limits]\nfuel = 1000000\n",
        "fuel limit of 1000000",
    );
}

#[test]
fn runaway_memory_growth_hits_the_memory_limit() {
    faults(
        &lifecycle::memory_hog(),
        "[limits]\nmemory = \"4 MiB\"\n",
        "memory past the limit of 4194304 bytes",
    );
}

#[test]
fn deep_recursion_overflows_the_stack() {
    faults(&lifecycle::deep_recursion(), "", "call stack overflowed");
}

#[test]
fn a_guest_trap_ends_only_that_instance() {
    faults(&lifecycle::trap(), "", "trapped");
}

#[test]
fn a_fuel_limit_is_refused_rather_than_ignored_without_fuel_metering() {
    let runtime = Runtime::new(RuntimeConfig {
        log: LogSink::disabled(),
        fuel_metering: false,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let host = Host::new(Arc::new(runtime));
    let err = host
        .load(&lifecycle::echo(), named("metered", "[limits]\nfuel = 1000\n"))
        .unwrap_err();
    assert!(err.to_string().contains("does not meter fuel"), "{err}");
    // Without a fuel limit the same component loads.
    host.load(&lifecycle::echo(), named("unmetered", "")).unwrap();
}

/// A sink that takes `room` lines, then is full (ENOSPC).
struct Full {
    room: usize,
}

impl std::io::Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.room -= 1;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A host whose audit log takes `room` lines.
fn host_with_log_room(room: usize) -> (Host, airssys_wasm::runtime::AuditLog) {
    let audit = airssys_wasm::runtime::AuditLog::to_writer(Full { room });
    let runtime = Runtime::new(RuntimeConfig {
        log: LogSink::disabled(),
        audit: audit.clone(),
        ..RuntimeConfig::default()
    })
    .unwrap();
    (Host::new(Arc::new(runtime)), audit)
}

#[test]
fn an_audit_failure_ends_the_call_as_the_hosts_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "data").unwrap();
    let m = manifest(&format!(
        "[component]\nname = \"reader\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}\" }}]\n",
        file.display()
    ));
    // No room even for the start line: the component is not loaded.
    let (host, _) = host_with_log_room(0);
    let err = host.load(&lifecycle::file_reader(), m.clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("the audit log cannot be written: No space left on device"),
        "{err}"
    );
    assert!(host.components().is_empty());
    // Room for the start line only: the first decision cannot be recorded.
    let (host, audit) = host_with_log_room(1);
    host.load(&lifecycle::file_reader(), m).unwrap();
    host.init("reader").unwrap();
    let err = host
        .execute("reader", file.display().to_string().as_bytes())
        .unwrap_err();
    match &err {
        CallError::Fault { fault, .. } => {
            assert!(fault.is_host_failure(), "{fault}");
            assert!(fault.to_string().contains("No space left on device"), "{fault}");
        }
        other => panic!("expected the host's failure, got {other}"),
    }
    assert!(audit.failure().is_some());
    // The instance does not go on without its record.
    assert!(matches!(
        host.execute("reader", b"x"),
        Err(CallError::Unavailable { .. })
    ));
}
