//! The process host through a real guest (the proxy component): allowed operations with real
//! children and their effects, the same operations denied, the audit lines, and the process part
//! of the escape suite. Every escape test asserts the denial (or the error that fits) and that
//! nothing ran: a marker file the denied command would have created does not exist, or a process
//! that a denied signal would have reached is still running.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::policy::Env;
use airssys_wasm::runtime::{AuditLog, ComponentPolicy, Mode};
use wasmtime::component::Val;

use crate::guest::{
    PROCESS, Proxy, assert_denied, bytes, err_case, field, is_denied, lines, manifest, ok, runtime, s, unbytes,
};
use crate::support::Captured;

const ECHO: &str = "/bin/echo";
const CAT: &str = "/bin/cat";
const SLEEP: &str = "/bin/sleep";
const TOUCH: &str = "/usr/bin/touch";
const SHELL: &str = "/bin/sh";

fn toml(grants: &[&str]) -> String {
    let mut toml =
        String::from("[component]\nname = \"proc-guest\"\nversion = \"1.0.0\"\n[permissions]\nprocess = [\n");
    for grant in grants {
        let line = match grant.strip_prefix("SIG") {
            Some(_) => format!("  {{ action = \"signal\", signal = \"{grant}\" }},\n"),
            None => format!("  {{ action = \"spawn\", executable = \"{grant}\" }},\n"),
        };
        toml.push_str(&line);
    }
    toml.push_str("]\n");
    toml
}

fn proxy(grants: &[&str]) -> Proxy {
    Proxy::of(PROCESS, &toml(grants))
}

fn stdio(kind: &str) -> Val {
    Val::Enum(kind.to_string())
}

fn list_of_strings(items: &[&str]) -> Val {
    Val::List(items.iter().map(|i| s(i)).collect())
}

/// A `spawn-options` record: stdin null, stdout piped, stderr null, no environment.
fn spawn_options(exe: &str, args: &[&str]) -> Val {
    spawn_options_with(exe, args, &[], "null")
}

fn spawn_options_with(exe: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Val {
    Val::Record(vec![
        ("executable".into(), s(exe)),
        ("args".into(), list_of_strings(args)),
        (
            "env".into(),
            Val::List(env.iter().map(|(k, v)| Val::Tuple(vec![s(k), s(v)])).collect()),
        ),
        ("cwd".into(), Val::Option(None)),
        ("stdin".into(), stdio(stdin)),
        ("stdout".into(), stdio("piped")),
        ("stderr".into(), stdio("null")),
    ])
}

fn shell_options() -> Val {
    Val::Record(vec![
        ("env".into(), Val::List(Vec::new())),
        ("cwd".into(), Val::Option(None)),
        ("stdin".into(), stdio("null")),
        ("stdout".into(), stdio("piped")),
        ("stderr".into(), stdio("null")),
    ])
}

fn some(v: &Val) -> &Val {
    match v {
        Val::Option(Some(x)) => x,
        other => panic!("expected some, got {other:?}"),
    }
}

fn pid_of(p: &mut Proxy, child: &Val) -> u32 {
    match field(
        &ok(p.call("lifecycle.process-info", std::slice::from_ref(child))),
        "pid",
    ) {
        Val::U32(pid) => *pid,
        other => panic!("not a pid: {other:?}"),
    }
}

/// Reads stdout through the guest until end of file.
fn stdout_of(p: &mut Proxy, child: &Val) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let chunk = unbytes(&ok(p.call("lifecycle.read-stdout", &[child.clone(), Val::U64(4096)])));
        if chunk.is_empty() {
            return out;
        }
        out.extend(chunk);
    }
}

fn line(op: &str, resource: &str, verdict: &str) -> (String, String, String) {
    (op.into(), resource.into(), verdict.into())
}

/// The state letter of `/proc/<pid>/stat`; `None` once the pid is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

fn alive(pid: u32) -> bool {
    matches!(proc_state(pid), Some(c) if c != 'Z')
}

/// Alive and not stopped (`T`, `t`): no SIGSTOP reached it.
fn unstopped(pid: u32) -> bool {
    matches!(proc_state(pid), Some(c) if !matches!(c, 'Z' | 'X' | 'T' | 't'))
}

/// Waits (boundedly) until `done` holds; tests assert outcomes, never durations.
fn eventually(mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < give_up, "condition never became true");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

// ---------------------------------------------------------------- allowed and denied

#[test]
fn a_guest_spawns_talks_to_and_signals_its_children() {
    let mut p = proxy(&[ECHO, CAT, SLEEP, "SIGTERM", "SIGKILL", "SIGUSR1"]);

    // echo: its output, its exit.
    let echo = ok(p.call("lifecycle.spawn", &[spawn_options(ECHO, &["hello", "guest"])]));
    assert_eq!(stdout_of(&mut p, &echo), b"hello guest\n");
    let exit = ok(p.call("lifecycle.wait", std::slice::from_ref(&echo)));
    assert_eq!(field(&exit, "code"), &Val::Option(Some(Box::new(Val::S32(0)))));
    assert_eq!(field(&exit, "success"), &Val::Bool(true));
    assert_eq!(
        p.call("lifecycle.is-running", std::slice::from_ref(&echo)),
        Val::Bool(false)
    );
    assert_eq!(
        field(
            some(&p.call("lifecycle.exit-status", std::slice::from_ref(&echo))),
            "success"
        ),
        &Val::Bool(true)
    );

    // cat: stdin in, stdout out.
    let cat = ok(p.call("lifecycle.spawn", &[spawn_options_with(CAT, &[], &[], "piped")]));
    assert_eq!(
        ok(p.call("lifecycle.write-stdin", &[cat.clone(), bytes(b"through the pipe")])),
        Val::U64(16)
    );
    ok(p.call("lifecycle.close-stdin", std::slice::from_ref(&cat)));
    assert_eq!(stdout_of(&mut p, &cat), b"through the pipe");
    ok(p.call("lifecycle.wait", std::slice::from_ref(&cat)));

    // sleep: information, its own process group, signals.
    let sleeper = ok(p.call("lifecycle.spawn", &[spawn_options(SLEEP, &["30"])]));
    let pid = pid_of(&mut p, &sleeper);
    assert!(alive(pid));
    assert_eq!(
        ok(p.call("signals.get-process-group", std::slice::from_ref(&sleeper))),
        Val::U32(pid)
    );
    let listed = p.call("lifecycle.list-children", &[]);
    let Val::List(listed) = listed else { panic!() };
    assert!(listed.iter().any(|c| field(c, "pid") == &Val::U32(pid)));
    assert_eq!(
        ok(p.call("lifecycle.wait-timeout", &[sleeper.clone(), Val::U64(10)])),
        Val::Option(None)
    );
    ok(p.call("lifecycle.resource-usage", std::slice::from_ref(&sleeper)));
    ok(p.call("signals.send-signal", &[sleeper.clone(), Val::Enum("sigusr1".into())]));
    let exit = ok(p.call("lifecycle.wait", std::slice::from_ref(&sleeper)));
    assert_eq!(field(&exit, "signal"), &Val::Option(Some(Box::new(Val::S32(10)))));
    assert_eq!(proc_state(pid), None, "reaped");

    let sleeper = ok(p.call("lifecycle.spawn", &[spawn_options(SLEEP, &["30"])]));
    let exit = ok(p.call("signals.graceful-shutdown", &[sleeper.clone(), Val::U64(20_000)]));
    assert_eq!(field(&exit, "signal"), &Val::Option(Some(Box::new(Val::S32(15)))));

    // Descriptions of signals need no grant.
    assert_eq!(
        p.call("signals.signal-name", &[Val::Enum("sigterm".into())]),
        s("SIGTERM")
    );
    assert_eq!(
        p.call("signals.signal-number", &[Val::Enum("sigkill".into())]),
        Val::S32(9)
    );
    let Val::List(all) = p.call("signals.list-signals", &[]) else {
        panic!()
    };
    assert_eq!(all.len(), 29);
    assert_eq!(p.call("lifecycle.current-pid", &[]), Val::U32(std::process::id()));

    let all = lines(&p);
    assert!(all.iter().all(|l| l.2 == "allowed"), "{all:?}");
    assert_eq!(
        all,
        [
            line("lifecycle.spawn", "process:spawn /bin/echo", "allowed"),
            line("lifecycle.spawn", "process:spawn /bin/cat", "allowed"),
            line("lifecycle.spawn", "process:spawn /bin/sleep", "allowed"),
            line("signals.send-signal", "process:signal SIGUSR1", "allowed"),
            line("lifecycle.spawn", "process:spawn /bin/sleep", "allowed"),
            line("signals.graceful-shutdown", "process:signal SIGTERM", "allowed"),
            line("signals.graceful-shutdown", "process:signal SIGKILL", "allowed"),
        ]
    );
    assert_eq!(p.audit()[0]["by"], "grant process #1 spawn `/bin/echo`");
    assert_eq!(p.audit()[0]["component"], "proc-guest");
}

#[test]
fn the_same_operations_without_grants_are_denied_and_do_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let marker_arg = marker.to_str().unwrap();
    let mut p = proxy(&[SLEEP]);
    let r = p.call("lifecycle.spawn", &[spawn_options(TOUCH, &[marker_arg])]);
    assert_denied(&p, &r, "process:spawn /usr/bin/touch");
    let r = p.call("lifecycle.spawn-detached", &[spawn_options(TOUCH, &[marker_arg])]);
    assert_denied(&p, &r, "process:spawn /usr/bin/touch");
    let r = p.call(
        "lifecycle.spawn-shell",
        &[s(&format!("touch '{marker_arg}'")), shell_options()],
    );
    assert_denied(&p, &r, "process:spawn /bin/sh");
    assert!(!exists(&marker));

    let sleeper = ok(p.call("lifecycle.spawn", &[spawn_options(SLEEP, &["30"])]));
    let pid = pid_of(&mut p, &sleeper);
    let cases: [(&str, Vec<Val>, &str); 11] = [
        ("lifecycle.kill", vec![sleeper.clone()], "SIGKILL"),
        ("lifecycle.terminate", vec![sleeper.clone()], "SIGTERM"),
        ("signals.send-term", vec![sleeper.clone()], "SIGTERM"),
        ("signals.send-kill", vec![sleeper.clone()], "SIGKILL"),
        ("signals.send-interrupt", vec![sleeper.clone()], "SIGINT"),
        ("signals.send-hangup", vec![sleeper.clone()], "SIGHUP"),
        ("signals.send-user1", vec![sleeper.clone()], "SIGUSR1"),
        ("signals.send-user2", vec![sleeper.clone()], "SIGUSR2"),
        (
            "signals.send-signal",
            vec![sleeper.clone(), Val::Enum("sigstop".into())],
            "SIGSTOP",
        ),
        (
            "signals.signal-group",
            vec![sleeper.clone(), Val::Enum("sigkill".into())],
            "SIGKILL",
        ),
        (
            "signals.graceful-shutdown",
            vec![sleeper.clone(), Val::U64(10)],
            "SIGTERM",
        ),
    ];
    for (op, args, signal) in cases {
        let r = p.call(op, &args);
        assert_denied(&p, &r, &format!("process:signal {signal}"));
        assert_eq!(p.audit().last().unwrap()["by"], "no grant", "{op}");
        assert!(alive(pid), "{op} reached the child");
        assert!(unstopped(pid), "{op} stopped the child");
    }
    assert_eq!(
        p.call("lifecycle.is-running", std::slice::from_ref(&sleeper)),
        Val::Bool(true)
    );
}

// ---------------------------------------------------------------- the escape suite

#[test]
fn escape_spawn_of_a_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let mut p = proxy(&[TOUCH]);
    for exe in ["usr/bin/touch", "./touch", "../../usr/bin/touch"] {
        let r = p.call("lifecycle.spawn", &[spawn_options(exe, &[marker.to_str().unwrap()])]);
        assert_denied(&p, &r, &format!("process:spawn {exe}"));
    }
    assert!(!exists(&marker));
}

#[test]
fn escape_spawn_of_a_bare_name_has_no_path_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let mut p = proxy(&[TOUCH]);
    let r = p.call(
        "lifecycle.spawn",
        &[spawn_options("touch", &[marker.to_str().unwrap()])],
    );
    assert_denied(&p, &r, "process:spawn touch");
    // Even where denials are only reported, a bare name is never looked up in PATH.
    let mut p = Proxy::of_with(PROCESS, &toml(&[TOUCH]), Mode::ReportOnly, &PolicySet::default());
    let r = p.call(
        "lifecycle.spawn",
        &[spawn_options("touch", &[marker.to_str().unwrap()])],
    );
    assert_eq!(err_case(&r), Some("invalid-input"), "{r:?}");
    assert_eq!(
        lines(&p),
        [line("lifecycle.spawn", "process:spawn touch", "would-deny")]
    );
    assert!(!exists(&marker));
}

#[test]
fn escape_spawn_of_a_symlink_to_an_ungranted_executable() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let link = dir.path().join("harmless-tool");
    std::os::unix::fs::symlink(TOUCH, &link).unwrap();
    let link = link.to_str().unwrap();
    let mut p = proxy(&[link]);
    let r = p.call("lifecycle.spawn", &[spawn_options(link, &[marker.to_str().unwrap()])]);
    assert_denied(&p, &r, "process:spawn /usr/bin/touch");
    assert_eq!(
        lines(&p),
        [
            line("lifecycle.spawn", &format!("process:spawn {link}"), "allowed"),
            line("lifecycle.spawn", "process:spawn /usr/bin/touch", "denied"),
        ]
    );
    assert!(!exists(&marker));
}

#[test]
fn escape_spawn_with_ld_preload_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    // A host rule: refused even in report-only mode.
    for mode in [Mode::Enforce, Mode::ReportOnly] {
        let mut p = Proxy::of_with(PROCESS, &toml(&[TOUCH]), mode, &PolicySet::default());
        let options = spawn_options_with(
            TOUCH,
            &[marker.to_str().unwrap()],
            &[("PATH", "/usr/bin"), ("LD_PRELOAD", "/tmp/evil.so")],
            "null",
        );
        let r = p.call("lifecycle.spawn", &[options]);
        assert_denied(
            &p,
            &r,
            "process:spawn /usr/bin/touch with LD_PRELOAD in its environment",
        );
        let last = p.audit().pop().unwrap();
        assert!(last["by"].as_str().unwrap().starts_with("host rule"), "{last}");
        assert!(!exists(&marker));
    }
}

#[test]
fn escape_spawn_shell_without_a_bin_sh_grant() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let command = format!("echo pwned > '{}'", marker.display());
    let mut p = proxy(&[ECHO, TOUCH]);
    let r = p.call("lifecycle.spawn-shell", &[s(&command), shell_options()]);
    assert_denied(&p, &r, "process:spawn /bin/sh");
    // Nor through `spawn` of the shell, whose link target is not granted either.
    let r = p.call("lifecycle.spawn", &[spawn_options(SHELL, &["-c", &command])]);
    assert!(is_denied(&r), "{r:?}");
    assert!(!exists(&marker));
}

#[test]
fn escape_signal_without_a_signal_grant() {
    let mut p = proxy(&[SLEEP, "SIGTERM"]);
    let sleeper = ok(p.call("lifecycle.spawn", &[spawn_options(SLEEP, &["30"])]));
    let pid = pid_of(&mut p, &sleeper);
    let r = p.call("signals.send-kill", std::slice::from_ref(&sleeper));
    assert_denied(&p, &r, "process:signal SIGKILL");
    let r = p.call("signals.send-signal", &[sleeper.clone(), Val::Enum("sigstop".into())]);
    assert_denied(&p, &r, "process:signal SIGSTOP");
    assert!(unstopped(pid), "neither killed nor stopped");
    // The granted one works, on the same child.
    ok(p.call("signals.send-term", std::slice::from_ref(&sleeper)));
    let exit = ok(p.call("lifecycle.wait", std::slice::from_ref(&sleeper)));
    assert_eq!(field(&exit, "signal"), &Val::Option(Some(Box::new(Val::S32(15)))));
}

#[test]
fn escape_signal_group_with_a_member_that_is_not_a_child() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let mut p = proxy(&[SHELL, "SIGKILL"]);
    // The shell's background sleep shares its group but is the shell's child, not the guest's.
    let command = format!("/bin/sleep 30 & echo $! > '{}'; wait", ready.display());
    let shell = ok(p.call("lifecycle.spawn-shell", &[s(&command), shell_options()]));
    eventually(|| std::fs::read_to_string(&ready).is_ok_and(|t| t.ends_with('\n')));
    let grandchild: u32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    let shell_pid = pid_of(&mut p, &shell);
    let r = p.call("signals.signal-group", &[shell.clone(), Val::Enum("sigkill".into())]);
    assert_denied(&p, &r, &format!("process:signal SIGKILL to process group {shell_pid}"));
    assert!(
        alive(grandchild),
        "the group signal reached a process that is not a child"
    );
    assert!(alive(shell_pid), "nothing was sent, not even to the guest's own child");
    // Clean up: the test (not the guest) ends the grandchild; the shell then exits.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(grandchild as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    ok(p.call("lifecycle.wait", std::slice::from_ref(&shell)));
}

#[test]
fn escape_signal_to_a_child_that_has_exited_and_been_reaped() {
    let mut p = proxy(&[ECHO, "SIGKILL", "SIGTERM"]);
    let echo = ok(p.call("lifecycle.spawn", &[spawn_options(ECHO, &["bye"])]));
    let pid = pid_of(&mut p, &echo);
    ok(p.call("lifecycle.wait", std::slice::from_ref(&echo)));
    assert_eq!(proc_state(pid), None, "reaped: the pid may now belong to anyone");
    for op in ["signals.send-kill", "lifecycle.kill", "lifecycle.terminate"] {
        let r = p.call(op, std::slice::from_ref(&echo));
        assert_eq!(err_case(&r), Some("already-exited"), "{op}: {r:?}");
    }
    let r = p.call("signals.signal-group", &[echo.clone(), Val::Enum("sigkill".into())]);
    assert_eq!(err_case(&r), Some("already-exited"), "{r:?}");
}

/// The pids a guest could aim at (the host's own, pid 1, another instance's children) cannot
/// be named: no process operation takes a pid, and a handle is an index into this instance's
/// table that Wasmtime checks before the host function runs.
#[test]
fn escape_signals_to_the_hosts_pid_and_to_pid_1_cannot_be_named() {
    // 1. No parameter of any process operation is an integer that could carry a pid.
    let (resolve, world) = crate::common::resolve_world(
        "package test:pids;\nworld w {\n  import airssys:ext-process/lifecycle@1.0.0;\n  import airssys:ext-process/signals@1.0.0;\n}\n",
        "w",
    );
    let mut checked = 0;
    for item in resolve.worlds[world].imports.values() {
        let wit_parser::WorldItem::Interface { id, .. } = item else {
            continue;
        };
        for (name, func) in &resolve.interfaces[*id].functions {
            for param in &func.params {
                let ty = &param.ty;
                assert!(
                    !matches!(
                        ty,
                        wit_parser::Type::U32 | wit_parser::Type::S32 | wit_parser::Type::U64 | wit_parser::Type::S64
                    ) || ["timeout-ms", "max-len", "grace-ms"].contains(&param.name.as_str()),
                    "{name} takes an integer `{}`",
                    param.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 32);

    // 2. Another instance's child, which a forged handle would try to reach.
    let mut owner = proxy(&[SLEEP]);
    let victim = ok(owner.call("lifecycle.spawn", &[spawn_options(SLEEP, &["30"])]));
    let victim_pid = pid_of(&mut owner, &victim);

    // 3. A guest that passes raw handle indices of its own choosing to `send-kill`.
    let rt = runtime();
    let component = rt.compile(&forger_component()).unwrap();
    for index in [0u32, 1, 2, 3, victim_pid, 1, std::process::id(), u32::MAX] {
        let audit = Captured::default();
        let policy = Arc::new(ComponentPolicy::new(
            manifest(&toml(&[SLEEP, "SIGKILL"])),
            &PolicySet::default(),
            Env::default(),
            Mode::Enforce,
        ));
        let mut store = rt.store_with(policy, AuditLog::to_writer(audit.clone()));
        let instance = rt.linker().instantiate(&mut store, &component).unwrap();
        let poke = instance
            .get_typed_func::<(u32,), (u32,)>(&mut store, "poke-kill")
            .unwrap();
        let error = poke.call(&mut store, (index,)).unwrap_err();
        assert!(
            format!("{error:?}").contains("handle index"),
            "index {index}: {error:?}"
        );
        // Rejected before the host ran: no decision was even asked for.
        assert!(audit.lines().is_empty(), "index {index}: {:?}", audit.lines());
    }
    // Nothing was signalled, and the host is still serving guests.
    assert!(alive(victim_pid));
    assert!(proc_state(1).is_some());
    assert!(alive(std::process::id()));
    assert_eq!(owner.call("lifecycle.is-running", &[victim]), Val::Bool(true));
}

/// A component whose export `poke-kill(index)` calls `signals.send-kill` with `index` as the
/// `borrow<child>` handle, as a hand-written guest could, and returns the result's tag.
fn forger_component() -> Vec<u8> {
    let wit = "package test:forger;\nworld forger {\n  import airssys:ext-process/signals@1.0.0;\n  export poke-kill: func(index: u32) -> u32;\n}\n";
    let (resolve, world) = crate::common::resolve_world(wit, "forger");
    let wat = r#"(module
  (import "airssys:ext-process/signals@1.0.0" "send-kill" (func $send_kill (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (local.get $ptr))
  (func (export "poke-kill") (param $index i32) (result i32)
    (call $send_kill (local.get $index) (i32.const 1024))
    (i32.load8_u (i32.const 1024)))
)"#;
    let module = wat::parse_str(wat).unwrap();
    crate::common::encode_core(module, &resolve, world)
}
