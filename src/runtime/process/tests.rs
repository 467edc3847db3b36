//! Unit tests of the process host: real children (`/bin/echo`, `/bin/cat`, `/bin/sleep`,
//! `/usr/bin/touch`, `/usr/bin/env`, `/bin/sh`), called through the trait methods with the
//! instance state of `testing::state`, and the audit lines they leave.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::Resource;

use super::spawn::code_hook;
use super::*;
use crate::runtime::Mode;
use crate::runtime::bindings::lifecycle::{self, Host as _};
use crate::runtime::bindings::proc_types::{self, ShellOptions, SpawnOptions, Stdio};
use crate::runtime::bindings::signals::Host as _;
use crate::runtime::state::InstanceState;
use crate::runtime::testing::{Captured, state, state_under};

/// `assert_eq!` through `Debug`: the generated WIT types do not implement `PartialEq`.
macro_rules! assert_same {
    ($left:expr, $right:expr $(,)?) => {{
        let (left, right) = debug_pair(&$left, &$right);
        assert_eq!(left, right)
    }};
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (left, right) = debug_pair(&$left, &$right);
        assert_eq!(left, right, $($msg)+)
    }};
}

fn debug_pair<T: std::fmt::Debug>(left: &T, right: &T) -> (String, String) {
    (format!("{left:?}"), format!("{right:?}"))
}

const ECHO: &str = "/bin/echo";
const CAT: &str = "/bin/cat";
const SLEEP: &str = "/bin/sleep";
const TOUCH: &str = "/usr/bin/touch";
const ENV: &str = "/usr/bin/env";

fn spawn_grant(exe: &str) -> String {
    format!(r#"{{ action = "spawn", executable = "{exe}" }}"#)
}

fn signal_grant(signal: &str) -> String {
    format!(r#"{{ action = "signal", signal = "{signal}" }}"#)
}

fn manifest(grants: &[String]) -> String {
    format!(
        "[component]\nname = \"proc-test\"\nversion = \"0.1.0\"\n\n[permissions]\nprocess = [\n{}\n]\n",
        grants.join(",\n")
    )
}

fn enforce(grants: &[String]) -> (InstanceState, Captured) {
    state(&manifest(grants), Mode::Enforce)
}

fn options(exe: &str, args: &[&str]) -> SpawnOptions {
    SpawnOptions {
        executable: exe.to_string(),
        args: args.iter().map(ToString::to_string).collect(),
        env: Vec::new(),
        cwd: None,
        stdin: Stdio::Null,
        stdout: Stdio::Piped,
        stderr: Stdio::Null,
    }
}

fn shell_options() -> ShellOptions {
    ShellOptions {
        env: Vec::new(),
        cwd: None,
        stdin: Stdio::Null,
        stdout: Stdio::Piped,
        stderr: Stdio::Null,
    }
}

/// A borrow of `handle`, as the guest passes `borrow<child>`.
fn b(handle: &Resource<ChildEntry>) -> Resource<ChildEntry> {
    Resource::new_borrow(handle.rep())
}

/// `(operation, resource, verdict)` of every audit line.
fn audit(captured: &Captured) -> Vec<(String, String, String)> {
    captured
        .lines()
        .iter()
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (s("operation"), s("resource"), s("verdict"))
        })
        .collect()
}

fn line(op: &str, resource: &str, verdict: &str) -> (String, String, String) {
    (op.to_string(), resource.to_string(), verdict.to_string())
}

fn read_to_end(state: &mut InstanceState, handle: &Resource<ChildEntry>, which: Output) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let chunk = match which {
            Output::Stdout => state.process_view().read_stdout(b(handle), 1 << 16),
            Output::Stderr => state.process_view().read_stderr(b(handle), 1 << 16),
        }
        .unwrap();
        if chunk.is_empty() {
            return out;
        }
        out.extend(chunk);
    }
}

/// Waits (boundedly) until `done` holds; the tests assert outcomes, never durations.
fn eventually(mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < give_up, "condition never became true");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The state letter of `/proc/<pid>/stat` (`S`, `R`, `Z`...), `None` once the pid is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    child::stat_fields(&stat)?.first()?.chars().next()
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

fn sleeper(state: &mut InstanceState) -> Resource<ChildEntry> {
    state.process_view().spawn(options(SLEEP, &["30"])).unwrap()
}

// ---- spawning -------------------------------------------------------------------------------

#[test]
fn spawn_runs_echo_and_reads_its_output() {
    let (mut s, captured) = enforce(&[spawn_grant(ECHO)]);
    let child = s.process_view().spawn(options(ECHO, &["hello", "world"])).unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"hello world\n");
    let exit = s.process_view().wait(b(&child)).unwrap();
    assert_eq!((exit.code, exit.signal, exit.success), (Some(0), None, true));
    assert_same!(s.process_view().try_wait(b(&child)).unwrap(), Some(exit));
    assert_same!(s.process_view().exit_status(b(&child)), Some(exit));
    assert!(!s.process_view().is_running(b(&child)));
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn", "process:spawn /bin/echo", "allowed")]
    );
    let l = &captured.lines()[0];
    assert_eq!(l["component"], "proc-test");
    assert_eq!(l["mode"], "enforce");
    assert!(l["by"].as_str().unwrap().starts_with("grant process #1"));
}

#[test]
fn spawn_without_grant_is_denied_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let (mut s, captured) = enforce(&[spawn_grant(ECHO)]);
    let err = s
        .process_view()
        .spawn(options(TOUCH, &[marker.to_str().unwrap()]))
        .unwrap_err();
    assert_same!(
        err,
        ProcessError::PermissionDenied("process:spawn /usr/bin/touch".into())
    );
    assert!(!exists(&marker));
    assert!(s.process_view().list_children().is_empty());
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn", "process:spawn /usr/bin/touch", "denied")]
    );
}

#[test]
fn relative_paths_and_bare_names_are_denied_without_path_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let arg = marker.to_str().unwrap();
    let (mut s, captured) = enforce(&[spawn_grant(TOUCH)]);
    for exe in ["touch", "usr/bin/touch", "./touch", "../usr/bin/touch"] {
        let err = s.process_view().spawn(options(exe, &[arg])).unwrap_err();
        assert_same!(err, ProcessError::PermissionDenied(format!("process:spawn {exe}")));
    }
    assert!(!exists(&marker));
    assert!(audit(&captured).iter().all(|(_, _, v)| v == "denied"));

    // Report-only lets the denial through, but there is still no PATH lookup.
    let (mut s, captured) = state(&manifest(&[spawn_grant(TOUCH)]), Mode::ReportOnly);
    let err = s.process_view().spawn(options("touch", &[arg])).unwrap_err();
    assert!(
        matches!(err, ProcessError::InvalidInput(ref m) if m.contains("absolute")),
        "{err:?}"
    );
    assert!(!exists(&marker));
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn", "process:spawn touch", "would-deny")]
    );
}

#[test]
fn symlink_to_an_ungranted_executable_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let link = dir.path().join("tool");
    std::os::unix::fs::symlink(TOUCH, &link).unwrap();
    let link = link.to_str().unwrap();

    let (mut s, captured) = enforce(&[spawn_grant(link)]);
    let err = s
        .process_view()
        .spawn(options(link, &[marker.to_str().unwrap()]))
        .unwrap_err();
    assert_same!(
        err,
        ProcessError::PermissionDenied("process:spawn /usr/bin/touch".into())
    );
    assert!(!exists(&marker));
    assert_eq!(
        audit(&captured),
        [
            line("lifecycle.spawn", &format!("process:spawn {link}"), "allowed"),
            line("lifecycle.spawn", "process:spawn /usr/bin/touch", "denied"),
        ]
    );

    // With the target granted too, the end of the chain runs.
    let (mut s, _) = enforce(&[spawn_grant(link), spawn_grant(TOUCH)]);
    let child = s
        .process_view()
        .spawn(options(link, &[marker.to_str().unwrap()]))
        .unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert!(exists(&marker));
}

#[test]
fn relative_link_chains_are_followed_and_each_link_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    // outer -> sub/inner -> ../real, a copy of `touch` under a name nobody granted by default.
    std::fs::copy(TOUCH, dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink("../real", sub.join("inner")).unwrap();
    std::os::unix::fs::symlink("sub/inner", dir.path().join("outer")).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (outer, inner, real) = (path("outer"), path("sub/inner"), path("real"));

    let (mut s, captured) = enforce(&[spawn_grant(&outer), spawn_grant(&inner)]);
    let err = s
        .process_view()
        .spawn(options(&outer, &[marker.to_str().unwrap()]))
        .unwrap_err();
    assert_same!(err, ProcessError::PermissionDenied(format!("process:spawn {real}")));
    assert!(!exists(&marker));
    let verdicts: Vec<String> = audit(&captured)
        .into_iter()
        .map(|(_, r, v)| format!("{r} {v}"))
        .collect();
    assert_eq!(
        verdicts,
        [
            format!("process:spawn {outer} allowed"),
            format!("process:spawn {inner} allowed"),
            format!("process:spawn {real} denied"),
        ]
    );

    let (mut s, _) = enforce(&[spawn_grant(&outer), spawn_grant(&inner), spawn_grant(&real)]);
    let child = s
        .process_view()
        .spawn(options(&outer, &[marker.to_str().unwrap()]))
        .unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert!(exists(&marker));
}

#[test]
fn symlink_loops_end_in_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let c = dir.path().join("c");
    std::os::unix::fs::symlink(&c, &a).unwrap();
    std::os::unix::fs::symlink(&a, &c).unwrap();
    let (a, c) = (a.to_str().unwrap(), c.to_str().unwrap());
    let (mut s, _) = enforce(&[spawn_grant(a), spawn_grant(c)]);
    let err = s.process_view().spawn(options(a, &[])).unwrap_err();
    assert!(
        matches!(err, ProcessError::InvalidInput(ref m) if m.contains("symbolic links")),
        "{err:?}"
    );
}

#[test]
fn the_final_component_rule_leaves_directory_links_alone() {
    // `/bin` links to `usr/bin` here, but `/bin/echo` itself is a file: one grant is enough.
    let (mut s, captured) = enforce(&[spawn_grant(ECHO)]);
    let child = s.process_view().spawn(options(ECHO, &["x"])).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert_eq!(audit(&captured).len(), 1);
}

#[test]
fn bin_sh_through_spawn_follows_its_link_but_spawn_shell_does_not() {
    let sh_is_link = Path::new(SHELL).symlink_metadata().unwrap().file_type().is_symlink();
    let (mut s, captured) = enforce(&[spawn_grant(SHELL)]);
    let child = s
        .process_view()
        .spawn_shell("echo shell".into(), shell_options())
        .unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"shell\n");
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn-shell", "process:spawn /bin/sh", "allowed")]
    );
    if sh_is_link {
        // `spawn` of the link also needs its target (here /bin/dash).
        let target = std::fs::read_link(SHELL).unwrap();
        let err = s.process_view().spawn(options(SHELL, &["-c", "true"])).unwrap_err();
        assert!(
            matches!(err, ProcessError::PermissionDenied(ref m) if m.ends_with(target.file_name().unwrap().to_str().unwrap())),
            "{err:?}"
        );
    }
}

#[test]
fn spawn_of_a_missing_granted_executable_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let (mut s, _) = enforce(&[spawn_grant(missing)]);
    assert_same!(
        s.process_view().spawn(options(missing, &[])).unwrap_err(),
        ProcessError::NotFound(missing.to_string())
    );
}

#[test]
fn report_only_lets_an_ungranted_spawn_run() {
    let (mut s, captured) = state(&manifest(&[signal_grant("SIGTERM")]), Mode::ReportOnly);
    let child = s.process_view().spawn(options(ECHO, &["reported"])).unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"reported\n");
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn", "process:spawn /bin/echo", "would-deny")]
    );
}

// ---- environment, stdio, working directory ---------------------------------------------

#[test]
fn the_environment_is_exactly_env() {
    let (mut s, _) = enforce(&[spawn_grant(ENV)]);
    let mut opts = options(ENV, &[]);
    opts.env = vec![
        ("FOO".into(), "bar baz".into()),
        ("EMPTY".into(), String::new()),
        // An ordinary variable, however close its name is to the refused ones.
        ("ENV".into(), "production".into()),
        ("XLD_PRELOAD".into(), "x".into()),
    ];
    let child = s.process_view().spawn(opts).unwrap();
    let out = String::from_utf8(read_to_end(&mut s, &child, Output::Stdout)).unwrap();
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["EMPTY=", "ENV=production", "FOO=bar baz", "XLD_PRELOAD=x"]);
}

#[test]
fn loader_variables_are_refused_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    for mode in [Mode::Enforce, Mode::ReportOnly] {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "LD_BIND_NOW",
            "GCONV_PATH",
            "GLIBC_TUNABLES",
            "BASH_ENV",
        ] {
            let (mut s, captured) = state(&manifest(&[spawn_grant(TOUCH)]), mode);
            let mut opts = options(TOUCH, &[marker.to_str().unwrap()]);
            opts.env = vec![("OK".into(), "1".into()), (name.into(), "/tmp/evil.so".into())];
            let err = s.process_view().spawn(opts).unwrap_err();
            assert_same!(
                err,
                ProcessError::PermissionDenied(format!("process:spawn /usr/bin/touch with {name} in its environment"))
            );
            let lines = captured.lines();
            assert_eq!(lines.len(), 2);
            assert_eq!(lines[1]["verdict"], "denied");
            assert!(lines[1]["by"].as_str().unwrap().starts_with("host rule"));
            assert!(!exists(&marker));
        }
    }
}

#[test]
fn malformed_environment_and_arguments_are_invalid_input() {
    let (mut s, _) = enforce(&[spawn_grant(ECHO)]);
    for (name, value) in [("A=B", "1"), ("", "1"), ("A\0B", "1"), ("A", "x\0y")] {
        let mut opts = options(ECHO, &[]);
        opts.env = vec![(name.into(), value.into())];
        assert!(
            matches!(s.process_view().spawn(opts), Err(ProcessError::InvalidInput(_))),
            "{name:?}={value:?}"
        );
    }
    assert!(matches!(
        s.process_view().spawn(options(ECHO, &["a\0b"])),
        Err(ProcessError::InvalidInput(_))
    ));
    assert!(matches!(
        s.process_view().spawn(options("/bin/echo\0x", &[])),
        Err(ProcessError::PermissionDenied(_))
    ));
    assert!(s.process_view().list_children().is_empty());
}

#[test]
fn stdin_inherit_is_refused_and_output_may_inherit() {
    let (mut s, captured) = enforce(&[spawn_grant(CAT), spawn_grant("/bin/true")]);
    let mut opts = options(CAT, &[]);
    opts.stdin = Stdio::Inherit;
    let err = s.process_view().spawn(opts).unwrap_err();
    assert_same!(
        err,
        ProcessError::PermissionDenied("process:spawn /bin/cat with the host's stdin".into())
    );
    assert_eq!(audit(&captured)[1].2, "denied");
    let mut opts = options("/bin/true", &[]);
    opts.stdout = Stdio::Inherit;
    opts.stderr = Stdio::Inherit;
    let child = s.process_view().spawn(opts).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    // Streams that are not piped cannot be used.
    assert_same!(
        s.process_view().read_stdout(b(&child), 10),
        Err(ProcessError::StreamClosed)
    );
    assert_same!(
        s.process_view().write_stdin(b(&child), b"x".to_vec()),
        Err(ProcessError::StreamClosed)
    );
}

#[test]
fn working_directory_must_be_absolute_and_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = enforce(&[spawn_grant(SHELL)]);
    let mut opts = shell_options();
    opts.cwd = Some(dir.path().to_str().unwrap().into());
    let child = s.process_view().spawn_shell("pwd".into(), opts).unwrap();
    let out = read_to_end(&mut s, &child, Output::Stdout);
    assert_eq!(String::from_utf8(out).unwrap().trim_end(), dir.path().to_str().unwrap());

    let mut opts = shell_options();
    opts.cwd = Some("relative/dir".into());
    assert!(matches!(
        s.process_view().spawn_shell("true".into(), opts),
        Err(ProcessError::InvalidInput(_))
    ));
    let mut opts = shell_options();
    let missing = dir.path().join("missing");
    opts.cwd = Some(missing.to_str().unwrap().into());
    assert_same!(
        s.process_view().spawn_shell("true".into(), opts).unwrap_err(),
        ProcessError::NotFound(missing.to_str().unwrap().into())
    );
}

#[test]
fn spawn_shell_runs_the_command_with_a_grant_and_nothing_without() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let command = format!("echo made > '{}'", marker.display());

    let (mut s, captured) = enforce(&[spawn_grant(ECHO)]);
    let err = s
        .process_view()
        .spawn_shell(command.clone(), shell_options())
        .unwrap_err();
    assert_same!(err, ProcessError::PermissionDenied("process:spawn /bin/sh".into()));
    assert!(!exists(&marker));
    assert_eq!(
        audit(&captured),
        [line("lifecycle.spawn-shell", "process:spawn /bin/sh", "denied")]
    );

    let (mut s, _) = enforce(&[spawn_grant(SHELL)]);
    let child = s.process_view().spawn_shell(command, shell_options()).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "made\n");
    let info = s.process_view().process_info(b(&child)).unwrap();
    assert_eq!((info.executable.as_str(), info.args.len()), (SHELL, 2));
}

// ---- pipes ------------------------------------------------------------------------------------

#[test]
fn cat_echoes_stdin_until_it_is_closed() {
    let (mut s, _) = enforce(&[spawn_grant(CAT)]);
    let mut opts = options(CAT, &[]);
    opts.stdin = Stdio::Piped;
    let child = s.process_view().spawn(opts).unwrap();
    assert_eq!(s.process_view().write_stdin(b(&child), b"one ".to_vec()).unwrap(), 4);
    assert_eq!(s.process_view().write_stdin(b(&child), Vec::new()).unwrap(), 0);
    assert_eq!(s.process_view().read_stdout(b(&child), 100).unwrap(), b"one ");
    assert_eq!(s.process_view().write_stdin(b(&child), b"two".to_vec()).unwrap(), 3);
    s.process_view().close_stdin(b(&child)).unwrap();
    assert_same!(s.process_view().close_stdin(b(&child)), Err(ProcessError::StreamClosed));
    assert_same!(
        s.process_view().write_stdin(b(&child), b"x".to_vec()),
        Err(ProcessError::StreamClosed)
    );
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"two");
    // End of file stays end of file.
    assert_eq!(s.process_view().read_stdout(b(&child), 100).unwrap(), b"");
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
}

#[test]
fn reads_are_bounded_by_max_len_and_by_the_instance_limit() {
    let (mut s, _) = enforce(&[spawn_grant(ECHO)]);
    let child = s.process_view().spawn(options(ECHO, &["abcdefgh"])).unwrap();
    s.process_view().wait(b(&child)).unwrap();
    assert_eq!(s.process_view().read_stdout(b(&child), 3).unwrap(), b"abc");
    assert_eq!(s.process_view().read_stdout(b(&child), 0).unwrap(), b"");
    s.guard.run_limits.max_read_bytes = 2;
    assert_eq!(s.process_view().read_stdout(b(&child), u64::MAX).unwrap(), b"de");
    s.guard.run_limits.max_read_bytes = 1 << 20;
    assert_eq!(s.process_view().read_stdout(b(&child), u64::MAX).unwrap(), b"fgh\n");
}

#[test]
fn stderr_is_read_separately() {
    let (mut s, _) = enforce(&[spawn_grant(CAT)]);
    let mut opts = options(CAT, &["/nonexistent-file"]);
    opts.stderr = Stdio::Piped;
    let child = s.process_view().spawn(opts).unwrap();
    let err = String::from_utf8(read_to_end(&mut s, &child, Output::Stderr)).unwrap();
    assert!(err.contains("/nonexistent-file"), "{err}");
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"");
    let exit = s.process_view().wait(b(&child)).unwrap();
    assert_eq!((exit.code, exit.success), (Some(1), false));
}

#[test]
fn writing_to_a_child_that_closed_its_stdin_is_stream_closed() {
    let (mut s, _) = enforce(&[spawn_grant("/bin/true")]);
    let mut opts = options("/bin/true", &[]);
    opts.stdin = Stdio::Piped;
    let child = s.process_view().spawn(opts).unwrap();
    s.process_view().wait(b(&child)).unwrap();
    // EPIPE, not SIGPIPE: the host is still here to assert it.
    assert_same!(
        s.process_view().write_stdin(b(&child), vec![0; 1 << 20]),
        Err(ProcessError::StreamClosed)
    );
}

#[test]
fn a_full_pipe_takes_what_fits() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP)]);
    let mut opts = options(SLEEP, &["30"]);
    opts.stdin = Stdio::Piped;
    let child = s.process_view().spawn(opts).unwrap();
    // sleep never reads: the first write fills the pipe and returns its count, the next one
    // waits until the instance's deadline.
    let written = s.process_view().write_stdin(b(&child), vec![7; 4 << 20]).unwrap();
    assert!(written > 0 && written < 4 << 20, "{written}");
    s.guard.run_limits.timeout_ms = 10;
    assert_same!(
        s.process_view().write_stdin(b(&child), vec![7; 10]),
        Err(ProcessError::Timeout)
    );
    assert_same!(s.process_view().read_stdout(b(&child), 10), Err(ProcessError::Timeout));
    assert_same!(s.process_view().wait(b(&child)), Err(ProcessError::Timeout));
}

// ---- waiting and information -------------------------------------------------------------

#[test]
fn wait_timeout_returns_none_while_running() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGKILL")]);
    let child = sleeper(&mut s);
    assert_same!(s.process_view().wait_timeout(b(&child), 10).unwrap(), None);
    assert_same!(s.process_view().try_wait(b(&child)).unwrap(), None);
    assert_same!(s.process_view().exit_status(b(&child)), None);
    assert!(s.process_view().is_running(b(&child)));
    s.process_view().kill(b(&child)).unwrap();
    let exit = s.process_view().wait_timeout(b(&child), 20_000).unwrap().unwrap();
    assert_eq!(
        (exit.code, exit.signal, exit.success),
        (None, Some(libc::SIGKILL), false)
    );
    assert!(!s.process_view().is_running(b(&child)));
}

#[test]
fn current_pid_is_the_host() {
    let (mut s, _) = enforce(&[]);
    assert_eq!(s.process_view().current_pid(), std::process::id());
}

#[test]
fn list_children_and_process_info() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP), spawn_grant(ECHO)]);
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let long = sleeper(&mut s);
    let short = s.process_view().spawn(options(ECHO, &["x"])).unwrap();
    let mut pids: Vec<u32> = s.process_view().list_children().iter().map(|c| c.pid).collect();
    pids.sort_unstable();
    let mut expected = vec![
        s.process_view().process_info(b(&long)).unwrap().pid,
        s.process_view().process_info(b(&short)).unwrap().pid,
    ];
    expected.sort_unstable();
    assert_eq!(pids, expected);

    let info = s.process_view().process_info(b(&long)).unwrap();
    assert_eq!(info.process_group, info.pid, "each child leads its own group");
    assert_ne!(
        info.process_group,
        rustix::process::getpgrp().as_raw_nonzero().get() as u32
    );
    assert_eq!(
        (info.executable.as_str(), info.args.as_slice()),
        (SLEEP, &["30".to_string()][..])
    );
    assert!(info.started_at >= before);
    assert!(info.running && !info.detached);
    assert_eq!(proc_state(info.pid).map(|c| c != 'Z'), Some(true));

    s.process_view().wait(b(&short)).unwrap();
    let listed: Vec<u32> = s.process_view().list_children().iter().map(|c| c.pid).collect();
    assert_eq!(listed, [info.pid]);
    let info = s.process_view().process_info(b(&short)).unwrap();
    assert!(!info.running);
}

#[test]
fn resource_usage_while_running_and_after_exit() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGTERM")]);
    let child = sleeper(&mut s);
    let pid = s.process_view().process_info(b(&child)).unwrap().pid;
    eventually(|| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|st| st.contains("VmRSS"))
            && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e.ends_with("sleep"))
    });
    let running = s.process_view().resource_usage(b(&child)).unwrap();
    assert!(
        running.rss_kib > 0 && running.max_rss_kib >= running.rss_kib,
        "{running:?}"
    );
    s.process_view().terminate(b(&child)).unwrap();
    s.process_view().wait(b(&child)).unwrap();
    let ended = s.process_view().resource_usage(b(&child)).unwrap();
    assert_eq!(ended.rss_kib, 0);
    assert!(ended.max_rss_kib > 0, "{ended:?}");
    assert_same!(s.process_view().resource_usage(b(&child)).unwrap(), ended);
}

#[test]
fn invalid_handles_are_reported() {
    let (mut s, _) = enforce(&[signal_grant("SIGTERM")]);
    let bogus = Resource::<ChildEntry>::new_borrow(4242);
    assert_same!(s.process_view().wait(b(&bogus)), Err(ProcessError::InvalidHandle));
    assert_same!(s.process_view().try_wait(b(&bogus)), Err(ProcessError::InvalidHandle));
    assert!(!s.process_view().is_running(b(&bogus)));
    assert_same!(s.process_view().exit_status(b(&bogus)), None);
    assert_same!(s.process_view().send_term(b(&bogus)), Err(ProcessError::InvalidHandle));
    assert_same!(
        s.process_view().process_info(b(&bogus)).map(|_| ()),
        Err(ProcessError::InvalidHandle)
    );
}

// ---- limits and handle drops -------------------------------------------------------------

#[test]
fn the_child_limit_counts_unreaped_children() {
    let (mut s, captured) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGKILL")]);
    s.guard.run_limits.max_children = 2;
    let first = sleeper(&mut s);
    let second = sleeper(&mut s);
    assert_same!(
        s.process_view().spawn(options(SLEEP, &["30"])).map(|_| ()),
        Err(ProcessError::LimitExceeded)
    );
    // A child that has ended no longer counts: the check reaps it on the way.
    let pid = s.process_view().child_entry(&second).unwrap().pid();
    s.process_view().send_kill(b(&second)).unwrap();
    eventually(|| proc_state(pid) == Some('Z'));
    let third = sleeper(&mut s);
    assert!(s.process_view().is_running(b(&first)) && s.process_view().is_running(b(&third)));
    assert_same!(
        s.process_view().exit_status(b(&second)).and_then(|e| e.signal),
        Some(libc::SIGKILL)
    );
    assert_eq!(audit(&captured).len(), 5);
}

#[test]
fn dropping_a_handle_kills_and_reaps_the_child() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP)]);
    let child = sleeper(&mut s);
    let pid = s.process_view().process_info(b(&child)).unwrap().pid;
    proc_types::HostChild::drop(&mut s.process_view(), child).unwrap();
    assert_eq!(proc_state(pid), None, "killed and reaped before drop returned");
    assert!(s.process_view().list_children().is_empty());
    assert_eq!(s.process.live.load(std::sync::atomic::Ordering::SeqCst), 0);

    // Dropping the whole instance does the same.
    let child = sleeper(&mut s);
    let pid = s.process_view().process_info(b(&child)).unwrap().pid;
    drop(s);
    assert_eq!(proc_state(pid), None);
}

#[test]
fn dropping_a_handle_also_kills_what_the_child_started_in_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("grandchild");
    let (mut s, _) = enforce(&[spawn_grant(SHELL)]);
    let command = format!("/bin/sleep 30 & echo $! > '{}'; wait", ready.display());
    let shell = s.process_view().spawn_shell(command, shell_options()).unwrap();
    eventually(|| std::fs::read_to_string(&ready).is_ok_and(|t| t.ends_with('\n')));
    let grandchild: u32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    assert!(matches!(proc_state(grandchild), Some(c) if c != 'Z'));
    proc_types::HostChild::drop(&mut s.process_view(), shell).unwrap();
    // Killed with its parent; whoever adopts it reaps it (or leaves a zombie, which is dead).
    eventually(|| matches!(proc_state(grandchild), None | Some('Z')));
}

#[test]
fn a_detached_child_survives_its_handle() {
    let (mut s, captured) = enforce(&[spawn_grant(SLEEP)]);
    let child = s.process_view().spawn_detached(options(SLEEP, &["30"])).unwrap();
    let info = s.process_view().process_info(b(&child)).unwrap();
    assert!(info.detached);
    proc_types::HostChild::drop(&mut s.process_view(), child).unwrap();
    assert!(matches!(proc_state(info.pid), Some(c) if c != 'Z'));
    // It still counts until it ends; then the host reaps it (no zombie is left).
    assert_eq!(s.process.live.load(std::sync::atomic::Ordering::SeqCst), 1);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(info.pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    eventually(|| proc_state(info.pid).is_none());
    eventually(|| s.process.live.load(std::sync::atomic::Ordering::SeqCst) == 0);
    assert_eq!(audit(&captured)[0].0, "lifecycle.spawn-detached");
}

// ---- signals ------------------------------------------------------------------------------

type SignalOp = fn(&mut InstanceState, Resource<ChildEntry>) -> Result<(), ProcessError>;

#[test]
fn each_signal_operation_sends_its_signal() {
    let cases: [(&str, &str, i32, SignalOp); 8] = [
        ("lifecycle.kill", "SIGKILL", libc::SIGKILL, |s, h| {
            lifecycle::Host::kill(&mut s.process_view(), h)
        }),
        ("lifecycle.terminate", "SIGTERM", libc::SIGTERM, |s, h| {
            s.process_view().terminate(h)
        }),
        ("signals.send-term", "SIGTERM", libc::SIGTERM, |s, h| {
            s.process_view().send_term(h)
        }),
        ("signals.send-kill", "SIGKILL", libc::SIGKILL, |s, h| {
            s.process_view().send_kill(h)
        }),
        ("signals.send-interrupt", "SIGINT", libc::SIGINT, |s, h| {
            s.process_view().send_interrupt(h)
        }),
        ("signals.send-hangup", "SIGHUP", libc::SIGHUP, |s, h| {
            s.process_view().send_hangup(h)
        }),
        ("signals.send-user1", "SIGUSR1", libc::SIGUSR1, |s, h| {
            s.process_view().send_user1(h)
        }),
        ("signals.send-user2", "SIGUSR2", libc::SIGUSR2, |s, h| {
            s.process_view().send_user2(h)
        }),
    ];
    for (op, name, number, send) in cases {
        // Denied: nothing is sent.
        let (mut s, captured) = enforce(&[spawn_grant(SLEEP)]);
        let child = sleeper(&mut s);
        assert_same!(
            send(&mut s, b(&child)),
            Err(ProcessError::PermissionDenied(format!("process:signal {name}")))
        );
        assert!(s.process_view().is_running(b(&child)), "{op}");
        assert_eq!(
            audit(&captured)[1],
            line(op, &format!("process:signal {name}"), "denied")
        );

        // Granted: the child dies of it.
        let (mut s, captured) = enforce(&[spawn_grant(SLEEP), signal_grant(name)]);
        let child = sleeper(&mut s);
        send(&mut s, b(&child)).unwrap();
        assert_eq!(s.process_view().wait(b(&child)).unwrap().signal, Some(number), "{op}");
        assert_eq!(
            audit(&captured)[1],
            line(op, &format!("process:signal {name}"), "allowed")
        );
    }
}

#[test]
fn children_do_not_inherit_the_hosts_ignored_signals() {
    // The host runs as under `nohup`: SIGHUP ignored (process-wide; no other test relies on it).
    // SAFETY: setting a disposition to SIG_IGN and back installs no handler.
    let old = unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    let (mut s, _) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGHUP")]);
    let child = sleeper(&mut s);
    s.process_view().send_hangup(b(&child)).unwrap();
    let exit = s.process_view().wait(b(&child)).unwrap();
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGHUP, old) };
    assert_eq!(exit.signal, Some(libc::SIGHUP));
}

#[test]
fn send_signal_uses_the_named_signal() {
    let (mut s, captured) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGQUIT")]);
    let child = sleeper(&mut s);
    assert_same!(
        s.process_view().send_signal(b(&child), WitSignal::Sigalrm),
        Err(ProcessError::PermissionDenied("process:signal SIGALRM".into()))
    );
    assert!(s.process_view().is_running(b(&child)));
    s.process_view().send_signal(b(&child), WitSignal::Sigquit).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().signal, Some(libc::SIGQUIT));
    let ops: Vec<String> = audit(&captured)
        .into_iter()
        .skip(1)
        .map(|(o, r, v)| format!("{o} {r} {v}"))
        .collect();
    assert_eq!(
        ops,
        [
            "signals.send-signal process:signal SIGALRM denied",
            "signals.send-signal process:signal SIGQUIT allowed"
        ]
    );
}

#[test]
fn a_reaped_child_is_never_signalled() {
    let (mut s, _) = enforce(&[spawn_grant(ECHO), signal_grant("SIGTERM"), signal_grant("SIGKILL")]);
    // Waited for: reaped.
    let child = s.process_view().spawn(options(ECHO, &[])).unwrap();
    s.process_view().wait(b(&child)).unwrap();
    assert_same!(s.process_view().send_term(b(&child)), Err(ProcessError::AlreadyExited));
    assert_same!(
        s.process_view().get_process_group(b(&child)),
        Err(ProcessError::AlreadyExited)
    );
    // Ended but not waited for (a zombie): reaped by the check, then refused.
    let child = s.process_view().spawn(options(ECHO, &[])).unwrap();
    // (Not `process-info`, which would reap it.)
    let pid = s.process_view().child_entry(&child).unwrap().pid();
    eventually(|| proc_state(pid) == Some('Z'));
    assert_same!(
        lifecycle::Host::kill(&mut s.process_view(), b(&child)),
        Err(ProcessError::AlreadyExited)
    );
    assert_eq!(proc_state(pid), None);
    assert_eq!(s.process_view().exit_status(b(&child)).map(|e| e.code), Some(Some(0)));
    assert_same!(
        s.process_view().graceful_shutdown(b(&child), 10),
        Err(ProcessError::AlreadyExited)
    );
}

#[test]
fn signal_group_reaches_a_group_of_own_children() {
    let (mut s, captured) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGTERM")]);
    let child = sleeper(&mut s);
    let pgid = s.process_view().get_process_group(b(&child)).unwrap();
    assert_eq!(pgid, s.process_view().process_info(b(&child)).unwrap().pid);
    s.process_view().signal_group(b(&child), WitSignal::Sigterm).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().signal, Some(libc::SIGTERM));
    assert_eq!(
        audit(&captured)[1],
        line("signals.signal-group", "process:signal SIGTERM", "allowed")
    );
}

#[test]
fn signal_group_is_refused_when_the_group_has_other_members() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let (mut s, captured) = enforce(&[spawn_grant(SHELL), signal_grant("SIGTERM")]);
    // The shell's background sleep is in the shell's group but is not a child of the instance.
    let command = format!("/bin/sleep 30 & echo $! > '{}'; wait", ready.display());
    let shell = s.process_view().spawn_shell(command, shell_options()).unwrap();
    eventually(|| std::fs::read_to_string(&ready).is_ok_and(|t| t.ends_with('\n')));
    let grandchild: u32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();
    let pgid = s.process_view().get_process_group(b(&shell)).unwrap();
    let err = s
        .process_view()
        .signal_group(b(&shell), WitSignal::Sigterm)
        .unwrap_err();
    assert_same!(
        err,
        ProcessError::PermissionDenied(format!("process:signal SIGTERM to process group {pgid}"))
    );
    assert!(s.process_view().is_running(b(&shell)));
    assert!(matches!(proc_state(grandchild), Some(c) if c != 'Z'));
    let lines = captured.lines();
    assert_eq!(lines[2]["verdict"], "denied");
    assert!(lines[2]["by"].as_str().unwrap().contains(&grandchild.to_string()));
    // Clean up the grandchild, which the host rightly would not touch; the shell reaps it.
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(grandchild as i32).unwrap(),
        rustix::process::Signal::KILL,
    );
    assert_eq!(s.process_view().wait(b(&shell)).unwrap().code, Some(0));
}

#[test]
fn set_process_group_keeps_or_reports_that_linux_cannot_move_a_started_child() {
    let (mut s, _) = enforce(&[spawn_grant(SLEEP)]);
    let a = sleeper(&mut s);
    let c = sleeper(&mut s);
    let a_pid = s.process_view().process_info(b(&a)).unwrap().pid;
    let c_pid = s.process_view().process_info(b(&c)).unwrap().pid;
    // Already leading its own group, or already in the leader's group: nothing to do.
    s.process_view().set_process_group(b(&a), None).unwrap();
    s.process_view().set_process_group(b(&a), Some(b(&a))).unwrap();
    assert_eq!(s.process_view().get_process_group(b(&a)).unwrap(), a_pid);
    // A real move is attempted; the kernel refuses it once the child runs its program.
    let err = s.process_view().set_process_group(b(&c), Some(b(&a))).unwrap_err();
    assert!(
        matches!(err, ProcessError::Unsupported(ref m) if m.contains("EACCES")),
        "{err:?}"
    );
    assert_eq!(s.process_view().get_process_group(b(&c)).unwrap(), c_pid);
    // A leader that has been reaped cannot lend its group.
    let (mut s2, _) = enforce(&[spawn_grant(ECHO), spawn_grant(SLEEP)]);
    let gone = s2.process_view().spawn(options(ECHO, &[])).unwrap();
    s2.process_view().wait(b(&gone)).unwrap();
    let live = sleeper(&mut s2);
    assert_same!(
        s2.process_view().set_process_group(b(&live), Some(b(&gone))),
        Err(ProcessError::AlreadyExited)
    );
    assert_same!(
        s2.process_view().set_process_group(b(&gone), None),
        Err(ProcessError::AlreadyExited)
    );
}

#[test]
fn graceful_shutdown_asks_for_both_signals_first() {
    // Only SIGTERM granted: both lines are written, nothing is sent.
    let (mut s, captured) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGTERM")]);
    let child = sleeper(&mut s);
    assert_same!(
        s.process_view().graceful_shutdown(b(&child), 10),
        Err(ProcessError::PermissionDenied("process:signal SIGKILL".into()))
    );
    assert!(s.process_view().is_running(b(&child)));
    assert_eq!(
        audit(&captured)[1..],
        [
            line("signals.graceful-shutdown", "process:signal SIGTERM", "allowed"),
            line("signals.graceful-shutdown", "process:signal SIGKILL", "denied"),
        ]
    );

    // Both granted: SIGTERM ends sleep within the grace period.
    let (mut s, _) = enforce(&[spawn_grant(SLEEP), signal_grant("SIGTERM"), signal_grant("SIGKILL")]);
    let child = sleeper(&mut s);
    let exit = s.process_view().graceful_shutdown(b(&child), 20_000).unwrap();
    assert_eq!(exit.signal, Some(libc::SIGTERM));
}

#[test]
fn graceful_shutdown_kills_a_child_that_ignores_sigterm() {
    let (mut s, _) = enforce(&[spawn_grant(SHELL), signal_grant("SIGTERM"), signal_grant("SIGKILL")]);
    let child = s
        .process_view()
        .spawn_shell("trap '' TERM; echo ready; exec /bin/sleep 30".into(), shell_options())
        .unwrap();
    // `exec` keeps the ignored disposition; wait until the trap is in place.
    assert_eq!(s.process_view().read_stdout(b(&child), 6).unwrap(), b"ready\n");
    let exit = s.process_view().graceful_shutdown(b(&child), 50).unwrap();
    assert_eq!(exit.signal, Some(libc::SIGKILL));
}

#[test]
fn signal_names_numbers_and_list() {
    let (mut s, _) = enforce(&[]);
    let all = s.process_view().list_signals();
    assert_eq!(all.len(), 29);
    let mut names = std::collections::BTreeSet::new();
    for signal in all {
        let name = s.process_view().signal_name(signal);
        let parsed = Signal::parse(&name).unwrap();
        assert_eq!(parsed, policy_signal(signal));
        assert_eq!(s.process_view().signal_number(signal), parsed.number(), "{name}");
        assert!(names.insert(name));
    }
    assert_eq!(s.process_view().signal_name(WitSignal::Sigterm), "SIGTERM");
    assert_eq!(s.process_view().signal_number(WitSignal::Sigterm), 15);
    assert_eq!(s.process_view().signal_number(WitSignal::Sigkill), 9);
}

#[test]
fn host_numbers_match_the_policy_table_here() {
    for signal in Signal::ALL {
        assert_eq!(host_number(signal), signal.number(), "{signal}");
    }
}

// ---- scripts and their interpreters -----------------------------------------------------

/// Writes an executable script `name` in `dir`; its path.
fn script(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// A state under the built-in default policy, which denies shells and `/usr/bin/env`.
fn under_default_policy(grants: &[String], mode: Mode) -> (InstanceState, Captured) {
    let mut sources = crate::diagnostics::Sources::new();
    let policies = crate::orgpolicy::PolicySet::default_set(&mut sources).unwrap();
    state_under(&manifest(grants), &policies, mode)
}

#[test]
fn a_script_runs_and_its_interpreter_has_an_audit_line() {
    let dir = tempfile::tempdir().unwrap();
    let hello = script(dir.path(), "hello", "#!/bin/sh\necho hi\n");
    let (mut s, captured) = enforce(&[spawn_grant(&hello)]);
    let child = s.process_view().spawn(options(&hello, &[])).unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"hi\n");
    let lines = captured.lines();
    assert_eq!(lines[0]["resource"], format!("process:spawn {hello}"));
    // The interpreter, and each link on the way to the program that runs.
    assert_eq!(lines[1]["resource"], "process:spawn /bin/sh");
    assert_eq!(lines[1]["verdict"], "allowed");
    assert_eq!(lines[1]["by"], format!("the `#!` interpreter of {hello}"));
    if Path::new("/bin/sh")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink()
    {
        assert!(lines.len() > 2, "{lines:?}");
    }
}

#[test]
fn a_policy_that_denies_an_interpreter_denies_every_script_it_would_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let body = format!("\ntouch '{}'\n", marker.display());
    let link = dir.path().join("my-shell");
    std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
    let inner = script(dir.path(), "inner", &format!("#!/bin/sh{body}"));
    let cases = [
        ("#!/bin/sh", "/bin/sh"),
        ("#! /bin/sh -e", "/bin/sh"),
        ("#!/usr/bin/env sh", "/usr/bin/env"),
        // Through a link the component's directory holds, and through a script.
        (&*format!("#!{}", link.display()), "/bin/sh"),
        (&*format!("#!{inner}"), "/bin/sh"),
    ];
    for (i, (shebang, denied_exe)) in cases.iter().enumerate() {
        let path = script(dir.path(), &format!("s{i}"), &format!("{shebang}{body}"));
        let (mut s, captured) = under_default_policy(&[spawn_grant(&path)], Mode::Enforce);
        let err = s.process_view().spawn(options(&path, &[])).map(|_| ()).unwrap_err();
        assert_same!(
            err,
            ProcessError::PermissionDenied(format!("process:spawn {denied_exe}"))
        );
        let lines = captured.lines();
        let last = lines.last().unwrap();
        assert_eq!(last["verdict"], "denied", "{shebang}: {lines:?}");
        let by = last["by"].as_str().unwrap();
        assert!(
            by.starts_with("policy builtin:default:") && by.contains("`#!` interpreter of"),
            "{by}"
        );
        assert_eq!(lines[0]["verdict"], "allowed", "the script itself is granted");
    }
    assert!(!marker.exists(), "no denied script ran");

    // An interpreter no rule denies runs (the control case), under the same policy.
    let echo = script(dir.path(), "echo-me", "#!/bin/echo\n");
    let (mut s, _) = under_default_policy(&[spawn_grant(&echo)], Mode::Enforce);
    let child = s.process_view().spawn(options(&echo, &[])).unwrap();
    assert_eq!(
        read_to_end(&mut s, &child, Output::Stdout),
        format!("{echo}\n").as_bytes()
    );

    // Report-only mode lets it through and says what it would have denied.
    let path = script(dir.path(), "reported", &format!("#!/bin/sh{body}"));
    let (mut s, captured) = under_default_policy(&[spawn_grant(&path)], Mode::ReportOnly);
    let child = s.process_view().spawn(options(&path, &[])).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert!(marker.exists());
    let lines = captured.lines();
    assert!(
        lines
            .iter()
            .any(|l| l["verdict"] == "would-deny" && l["resource"] == "process:spawn /bin/sh")
    );
}

#[test]
fn an_interpreter_named_by_a_relative_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "relative", "#!sh\necho hi\n");
    let (mut s, captured) = enforce(&[spawn_grant(&path)]);
    let err = s.process_view().spawn(options(&path, &[])).map(|_| ()).unwrap_err();
    assert_same!(err, ProcessError::PermissionDenied("process:spawn sh".into()));
    let lines = captured.lines();
    assert_eq!(lines[1]["verdict"], "denied");
    assert!(lines[1]["by"].as_str().unwrap().contains("relative path"), "{lines:?}");
    // Refused in report-only mode too: it is a host rule.
    let (mut s, _) = state(&manifest(&[spawn_grant(&path)]), Mode::ReportOnly);
    assert!(matches!(
        s.process_view().spawn(options(&path, &[])),
        Err(ProcessError::PermissionDenied(_))
    ));
}

#[test]
fn a_fifo_in_the_executables_place_does_not_hold_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a valid NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o755) }, 0);
    let fifo = fifo.display().to_string();
    let (mut s, _) = enforce(&[spawn_grant(&fifo)]);
    // Looking for a `#!` line must not wait for a writer; the kernel then refuses to run it.
    assert!(s.process_view().spawn(options(&fifo, &[])).is_err());
}

#[test]
fn a_child_outlives_the_thread_that_asked_for_it() {
    let (s, _) = enforce(&[spawn_grant(SLEEP)]);
    // A host's worker thread calls into the component, spawns, and ends.
    let (mut s, child, pid, tid) = std::thread::spawn(move || {
        let mut s = s;
        let child = sleeper(&mut s);
        let pid = s.process_view().process_info(b(&child)).unwrap().pid;
        (s, child, pid, rustix::thread::gettid().as_raw_nonzero().get())
    })
    .join()
    .unwrap();
    // Once the thread is gone from the kernel, any signal its end would send has been sent.
    eventually(|| !Path::new(&format!("/proc/self/task/{tid}")).exists());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let pending = |field: &str| {
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        u64::from_str_radix(line[field.len()..].trim(), 16).unwrap()
    };
    let sigkill = 1 << (libc::SIGKILL - 1);
    assert_eq!(pending("ShdPnd:") & sigkill, 0, "{status}");
    assert_eq!(pending("SigPnd:") & sigkill, 0, "{status}");
    assert!(matches!(proc_state(pid), Some(c) if c != 'Z'));
    // Its handle still works, and dropping it still kills it.
    assert!(s.process_view().is_running(b(&child)));
    proc_types::HostChild::drop(&mut s.process_view(), child).unwrap();
    assert_eq!(proc_state(pid), None);
}

// ---- what runs is exactly the file, wherever its links lead ---------------------------------

#[test]
fn a_file_that_is_neither_a_program_nor_a_script_is_refused_and_never_reaches_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch '{}'\n", marker.display());
    // Shell commands without `#!` (glibc's execvp would hand them to /bin/sh), an empty file,
    // bytes that are no format, and a `#` comment line that is not `#!`.
    let cases = [
        ("commands", touch.clone().into_bytes()),
        ("empty", Vec::new()),
        ("garbage", vec![0x00, 0x01, 0x02, 0xff, b'\n', b't', b'o']),
        ("comment", format!("# a script without its line\n{touch}").into_bytes()),
        ("space-bang", format!(" #!/bin/sh\n{touch}").into_bytes()),
    ];
    for (name, body) in cases {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join(name);
        std::fs::write(&path, &body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = path.display().to_string();
        let (mut s, _) = enforce(&[spawn_grant(&path)]);
        let err = s.process_view().spawn(options(&path, &[])).map(|_| ()).unwrap_err();
        assert!(
            matches!(&err, ProcessError::InvalidInput(m) if m.contains("not a program this host can run")
                && m.contains("never handed to a shell") && m.contains(&path)),
            "{name}: {err:?}"
        );
        assert!(!marker.exists(), "{name}: a shell ran the file");
    }
    // The control cases: a real program and a real script still run.
    let script_path = script(dir.path(), "real-script", &format!("#!/bin/sh\n{touch}"));
    let (mut s, _) = enforce(&[spawn_grant(&script_path), spawn_grant(ECHO)]);
    let child = s.process_view().spawn(options(&script_path, &[])).unwrap();
    assert_eq!(s.process_view().wait(b(&child)).unwrap().code, Some(0));
    assert!(marker.exists());
    let child = s.process_view().spawn(options(ECHO, &["exact"])).unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"exact\n");
}

#[test]
fn arguments_and_environment_reach_the_program_exactly() {
    // The host makes the `execve` itself: argv[0] as the guest named the executable, then the
    // arguments, and exactly `env`.
    let dir = tempfile::tempdir().unwrap();
    let args = script(
        dir.path(),
        "args",
        "#!/bin/sh\nprintf '%s|' \"$0\" \"$@\"\nprintf '%s' \"$ONLY\"\n",
    );
    let (mut s, _) = enforce(&[spawn_grant(&args)]);
    let mut opts = options(&args, &["a b", "", "c"]);
    opts.env = vec![("ONLY".into(), "this".into())];
    let child = s.process_view().spawn(opts).unwrap();
    let out = String::from_utf8(read_to_end(&mut s, &child, Output::Stdout)).unwrap();
    assert_eq!(out, format!("{args}|a b||c|this"));
}

/// `dir/<name>` as a symbolic link to `target`.
fn dir_link(dir: &Path, name: &str, target: &str) -> String {
    let link = dir.join(name);
    std::os::unix::fs::symlink(target, &link).unwrap();
    link.display().to_string()
}

#[test]
fn a_directory_link_cannot_lead_a_granted_path_to_a_denied_program() {
    // The component may write its directory (so it can make links there); a granted
    // executable's path goes through a directory link it made, to a shell the organisation
    // denies. Every hop is checked against the denials: absolute and relative targets, a chain
    // of two directory links, and a link to `/bin` that itself links to `usr/bin`.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    // bash: a file, not a link (a link at the end of the path would need a grant of its own).
    let bin = if Path::new("/bin/bash").exists() {
        "/bin"
    } else {
        "/usr/bin"
    };
    let levels_up = dir.path().components().count() - 1;
    let relative_bin = format!("{}{}", "../".repeat(levels_up), bin.trim_start_matches('/'));
    dir_link(dir.path(), "abs", bin);
    dir_link(dir.path(), "rel", &relative_bin);
    dir_link(dir.path(), "chain", "abs");
    std::fs::create_dir(dir.path().join("real")).unwrap();
    dir_link(&dir.path().join("real"), "up", "..");
    for via in ["abs", "rel", "chain", "real/up/abs"] {
        let exe = format!("{}/{via}/bash", dir.path().display());
        let (mut s, captured) = under_default_policy(&[spawn_grant(&exe)], Mode::Enforce);
        let err = s
            .process_view()
            .spawn(options(&exe, &["-c", &format!("touch '{}'", marker.display())]))
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&err, ProcessError::PermissionDenied(m) if m.ends_with("/bin/bash")),
            "{via}: {err:?}"
        );
        let lines = captured.lines();
        assert_eq!(lines[0]["verdict"], "allowed", "{via}: the path as written is granted");
        let last = lines.last().unwrap();
        assert_eq!(last["verdict"], "denied", "{via}: {lines:?}");
        let by = last["by"].as_str().unwrap();
        assert!(
            by.starts_with("policy builtin:default:") && by.contains("through the symbolic link"),
            "{via}: {by}"
        );
    }
    assert!(!marker.exists(), "no denied shell ran");

    // The same for a script's interpreter named through such a link.
    let interp = format!("#!{}/abs/bash\ntouch '{}'\n", dir.path().display(), marker.display());
    let path = script(dir.path(), "s", &interp);
    let (mut s, _) = under_default_policy(&[spawn_grant(&path)], Mode::Enforce);
    assert!(matches!(
        s.process_view().spawn(options(&path, &[])),
        Err(ProcessError::PermissionDenied(_))
    ));
    assert!(!marker.exists());

    // A program no rule denies runs through the same kind of link, and what runs is the
    // resolved file.
    let exe = format!("{}/abs/echo", dir.path().display());
    let (mut s, captured) = under_default_policy(&[spawn_grant(&exe)], Mode::Enforce);
    let child = s.process_view().spawn(options(&exe, &["through a link"])).unwrap();
    assert_eq!(read_to_end(&mut s, &child, Output::Stdout), b"through a link\n");
    assert_eq!(captured.lines().len(), 1, "an allowed hop decides nothing new");
}

#[test]
fn interpreter_hooks_in_the_environment_are_refused_by_family() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("hooked");
    let m = marker.display().to_string();
    // Each hook would make the interpreter run this code before (or instead of) the granted
    // program's own.
    std::fs::write(
        dir.path().join("sitecustomize.py"),
        format!("open('{m}', 'w').close()\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("hook.js"),
        format!("require('fs').writeFileSync('{m}', '')\n"),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    /// The program, its arguments, and the environment that hooks it.
    type Case = (&'static str, Vec<&'static str>, Vec<(String, String)>);
    let cases: Vec<Case> = vec![
        (
            "/usr/bin/perl",
            vec!["-e", "1"],
            vec![
                ("PERL5OPT".into(), "-d".into()),
                ("PERL5DB".into(), format!("BEGIN {{ open(F, '>', '{m}') }}")),
            ],
        ),
        ("/usr/bin/perl", vec!["-e", "1"], vec![("PERL5LIB".into(), d.clone())]),
        (
            "/usr/bin/python3",
            vec!["-c", "pass"],
            vec![("PYTHONPATH".into(), d.clone())],
        ),
        (
            "/usr/bin/python3",
            vec!["-c", "pass"],
            vec![("PYTHONSTARTUP".into(), d.clone())],
        ),
        (
            "/usr/bin/node",
            vec!["-e", "0"],
            vec![("NODE_OPTIONS".into(), format!("--require {d}/hook.js"))],
        ),
        (
            "/bin/bash",
            vec!["-c", "true"],
            vec![("BASH_FUNC_true%%".into(), format!("() {{ touch '{m}'; }}"))],
        ),
        (
            "/bin/bash",
            vec!["-c", "true"],
            vec![("SHELLOPTS".into(), "xtrace".into())],
        ),
        ("/usr/bin/perl", vec!["-e", "1"], vec![("RUBYOPT".into(), "-rx".into())]),
        (
            "/usr/bin/perl",
            vec!["-e", "1"],
            vec![("GIT_SSH_COMMAND".into(), "x".into())],
        ),
        (
            "/usr/bin/perl",
            vec!["-e", "1"],
            vec![("JAVA_TOOL_OPTIONS".into(), "x".into())],
        ),
    ];
    for (exe, args, env) in cases {
        // The program itself, not a link to it (which would need a grant of its own).
        let Ok(exe) = std::fs::canonicalize(exe) else { continue };
        let exe = exe.to_str().unwrap();
        // A host rule: it holds in report-only mode too.
        for mode in [Mode::Enforce, Mode::ReportOnly] {
            let (mut s, captured) = state(&manifest(&[spawn_grant(exe)]), mode);
            let mut opts = options(exe, &args);
            opts.env = env.clone();
            let err = s.process_view().spawn(opts).map(|_| ()).unwrap_err();
            let name = &env.iter().find(|(n, _)| code_hook(n).is_some()).unwrap().0;
            assert_same!(
                err,
                ProcessError::PermissionDenied(format!("process:spawn {exe} with {name} in its environment"))
            );
            let lines = captured.lines();
            let last = lines.last().unwrap();
            assert_eq!(last["verdict"], "denied");
            let by = last["by"].as_str().unwrap();
            assert!(by.contains("run code the program did not name"), "{by}");
            assert!(!marker.exists(), "{exe} {env:?}: the hook ran");
        }
    }
    // Ordinary settings pass, and the program runs with them.
    let (mut s, _) = enforce(&[spawn_grant(ENV)]);
    let mut opts = options(ENV, &[]);
    opts.env = vec![
        ("TZ".into(), "UTC".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("APP_MODE".into(), "production".into()),
        ("perl5opt".into(), "lower case is another variable".into()),
    ];
    let child = s.process_view().spawn(opts).unwrap();
    let out = String::from_utf8(read_to_end(&mut s, &child, Output::Stdout)).unwrap();
    assert_eq!(out.lines().count(), 4, "{out}");
}

#[test]
fn the_hook_families_cover_the_named_interpreters() {
    for name in [
        "LD_PRELOAD",
        "PERL5OPT",
        "PERL5DB",
        "PERL5LIB",
        "PERLLIB",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONWARNINGS",
        "NODE_OPTIONS",
        "NODE_PATH",
        "RUBYOPT",
        "RUBYLIB",
        "BASH_ENV",
        "BASH_FUNC_ls%%",
        "JAVA_TOOL_OPTIONS",
        "PHPRC",
        "LUA_INIT",
        "GIT_CONFIG_COUNT",
        "OPENSSL_CONF",
        "npm_config_script_shell",
    ] {
        assert!(code_hook(name).is_some(), "{name}");
    }
    for name in [
        "PATH",
        "HOME",
        "TZ",
        "LANG",
        "ENV",
        "XLD_PRELOAD",
        "MY_PYTHON",
        "perl5opt",
    ] {
        assert!(code_hook(name).is_none(), "{name}");
    }
}
