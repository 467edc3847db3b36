//! `run` hosting WASI 0.2 components built by a real toolchain (C with wasi-libc and the
//! preview1 adapter, built from `tests/guests/c/` inside the tests): real effects where the
//! manifest grants them, denials (and audit lines) where it does not.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::toolchain;
use crate::support::audit_lines;

pub(crate) fn airssys(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(dir)
        .env_remove("GREETING")
        // One compilation cache for the tests' runs (each component compiled once).
        .env(
            "AIRSSYS_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/cwasm-cache"),
        )
        .output()
        .unwrap()
}

/// A scratch directory whose path has no symbolic link in it (grants name real paths).
pub(crate) fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().canonicalize().unwrap();
    (dir, real)
}

/// Writes the C program `name` as `<dir>/<name>.wasm` with `permissions` in its manifest.
fn command(dir: &Path, name: &str, permissions: &str) {
    std::fs::write(dir.join(format!("{name}.wasm")), toolchain::c_command(name)).unwrap();
    let manifest = format!("[component]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n{permissions}");
    std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap();
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hello_prints() {
    let (_tmp, dir) = scratch();
    command(&dir, "hello", "");
    let out = airssys(&["run", "hello.wasm"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from C\n");
}

#[test]
fn arguments_environment_and_exit_code_come_from_the_command_line_only() {
    let (_tmp, dir) = scratch();
    command(&dir, "args-env-exit", "");
    let out = airssys(
        &[
            "run",
            "args-env-exit.wasm",
            "--env",
            "GREETING=hi there",
            "--",
            "7",
            "second",
        ],
        &dir,
    );
    // WASI 0.2's `exit` carries success or failure, not a number: the adapter's `exit(7)` is a
    // failure, which `run` (like `wasmtime run`) reports as 1.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "arg 0: args-env-exit.wasm\narg 1: 7\narg 2: second\nGREETING=hi there\nHOME=(unset)\n",
        "the host's HOME is never passed"
    );
    let out = airssys(&["run", "args-env-exit.wasm"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("GREETING=(unset)"));
    let out = airssys(&["run", "args-env-exit.wasm", "--env", "NOEQUALS"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("KEY=VALUE"), "{}", text(&out.stderr));
}

#[test]
fn a_reader_reads_its_grant_and_nothing_outside_it() {
    let (_tmp, dir) = scratch();
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "granted contents\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "SECRET\n").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), data.join("link")).unwrap();
    let grant = format!(
        "[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/**\" }}]\n",
        data.display()
    );
    command(&dir, "reader", &grant);
    let log = dir.join("audit.jsonl");
    let log_arg = log.display().to_string();
    let run = |path: &str| airssys(&["run", "reader.wasm", "--audit-log", &log_arg, "--", path], &dir);

    let inside = data.join("in.txt").display().to_string();
    let out = run(&inside);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "granted contents\n");

    // Outside through `..`, through a symbolic link, and by an absolute path.
    let dotdot = format!("{}/../secret.txt", data.display());
    let link = data.join("link").display().to_string();
    let absolute = dir.join("secret.txt").display().to_string();
    for path in [&dotdot, &link, &absolute] {
        let out = run(path);
        assert_eq!(out.status.code(), Some(1), "{path}: {}", text(&out.stderr));
        assert!(!text(&out.stdout).contains("SECRET"), "{path} was read");
    }
    let lines = audit_lines(&log);
    let open_at = "wasi:filesystem/types.[method]descriptor.open-at";
    let secret = format!("filesystem:read {}", dir.join("secret.txt").display());
    assert!(
        lines.iter().any(|l| l["operation"] == open_at
            && l["verdict"] == "allowed"
            && l["resource"] == format!("filesystem:read {inside}")),
        "{lines:#?}"
    );
    let denied: Vec<_> = lines
        .iter()
        .filter(|l| l["operation"] == open_at && l["verdict"] == "denied")
        .map(|l| l["resource"].as_str().unwrap().to_string())
        .collect();
    // `..` is decided on the path as the guest wrote it (normalised lexically: outside the
    // grant), the link on where it points; the absolute path names no preopened directory, so
    // wasi-libc refuses it before any host call.
    assert_eq!(denied, [format!("filesystem:read {dotdot}"), secret], "{lines:#?}");
}

#[test]
fn a_writer_creates_files_only_where_granted() {
    let (_tmp, dir) = scratch();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let grant = format!(
        "[permissions]\nfilesystem = [{{ action = \"write\", path = \"{}/*.txt\" }}]\n",
        out_dir.display()
    );
    command(&dir, "writer", &grant);
    let granted = out_dir.join("new.txt");
    let out = airssys(&["run", "writer.wasm", "--", &granted.display().to_string()], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&granted).unwrap(), "written\n");

    for ungranted in [
        out_dir.join("new.csv"),
        dir.join("elsewhere.txt"),
        out_dir.join("../escape.txt"),
    ] {
        let out = airssys(&["run", "writer.wasm", "--", &ungranted.display().to_string()], &dir);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            ungranted.display(),
            text(&out.stderr)
        );
        assert!(!ungranted.exists(), "{} was created", ungranted.display());
    }
}

#[test]
fn an_ungranted_operation_warns_and_is_denied_when_called() {
    let (_tmp, dir) = scratch();
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "x").unwrap();
    // No grant at all: `run` starts, warns, and the open is denied.
    command(&dir, "reader", "");
    let out = airssys(
        &["run", "reader.wasm", "--", &data.join("in.txt").display().to_string()],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("have no grant; they are denied"), "{stderr}");
    assert!(!stderr.contains("refusing to run"), "{stderr}");
}

#[test]
fn report_only_lets_an_ungranted_read_through_and_logs_it() {
    let (_tmp, dir) = scratch();
    std::fs::write(dir.join("plain.txt"), "seen\n").unwrap();
    command(&dir, "reader", "");
    let log = dir.join("audit.jsonl");
    let out = airssys(
        &[
            "run",
            "reader.wasm",
            "--report-only",
            "--audit-log",
            &log.display().to_string(),
            "--",
            &dir.join("plain.txt").display().to_string(),
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "seen\n");
    let lines = audit_lines(&log);
    assert!(
        lines
            .iter()
            .any(|l| l["verdict"] == "would-deny"
                && l["operation"] == "wasi:filesystem/types.[method]descriptor.open-at"),
        "{lines:#?}"
    );
}

/// An airssys component (`execute` reads the file its input names) with `permissions`.
fn airssys_component(dir: &Path, name: &str, bytes: &[u8], permissions: &str) {
    std::fs::write(dir.join(format!("{name}.wasm")), bytes).unwrap();
    let manifest = format!("[component]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n{permissions}");
    std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap();
}

/// `run NAME.wasm --input <file holding request>`.
fn execute(dir: &Path, name: &str, request: &str) -> Output {
    let input = dir.join("request");
    std::fs::write(&input, request).unwrap();
    airssys(
        &["run", &format!("{name}.wasm"), "--input", &input.display().to_string()],
        dir,
    )
}

/// A directory `data/` with `in.txt`, a secret beside it, and the grant to read `data/**`.
fn data_and_secret(dir: &Path) -> (PathBuf, PathBuf, String) {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "granted bytes\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "SECRET\n").unwrap();
    let grant = format!(
        "[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/**\" }}]\n",
        data.display()
    );
    (data.join("in.txt"), dir.join("secret.txt"), grant)
}

#[test]
fn a_wit_bindgen_c_airssys_component_that_uses_stdio_runs() {
    let (_tmp, dir) = scratch();
    let (inside, secret, grant) = data_and_secret(&dir);
    let bytes = toolchain::airssys_c("file-reader", "filesystem-component");
    airssys_component(&dir, "c-reader", &bytes, &grant);

    let out = execute(&dir, "c-reader", &inside.display().to_string());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "granted bytes\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("file-reader: init with 0 config entries"), "{stderr}");
    assert!(
        stderr.contains(&format!("file-reader: read {}: ok", inside.display())),
        "{stderr}"
    );

    let out = execute(&dir, "c-reader", &secret.display().to_string());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("SECRET"));
    assert!(text(&out.stderr).contains(": failed"), "{}", text(&out.stderr));
}

#[test]
fn a_python_component_runs_under_a_narrow_manifest() {
    let (_tmp, dir) = scratch();
    let (inside, secret, grant) = data_and_secret(&dir);
    let bytes = toolchain::python("file-reader", "filesystem-component");
    airssys_component(&dir, "py-reader", &bytes, &grant);

    // Through the airssys extension, and through Python's own `open()` (WASI filesystem on
    // the preopened grant base).
    for request in [inside.display().to_string(), format!("open:{}", inside.display())] {
        let out = execute(&dir, "py-reader", &request);
        assert!(out.status.success(), "{request}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("granted bytes\n"),
            "{request}: {}",
            text(&out.stdout)
        );
    }
    for request in [secret.display().to_string(), format!("open:{}", secret.display())] {
        let out = execute(&dir, "py-reader", &request);
        assert_eq!(out.status.code(), Some(1), "{request}: {}", text(&out.stderr));
        assert!(!text(&out.stdout).contains("SECRET"), "{request} was read");
        assert!(
            text(&out.stderr).contains("permission-denied"),
            "{request}: {}",
            text(&out.stderr)
        );
    }
}

/// componentize-js (StarlingMonkey, 12 MB): one run reads the granted file, and is refused the
/// secret beside it, directly and through `..`; every call audited.
#[test]
fn a_javascript_component_runs_under_a_narrow_manifest() {
    let (_tmp, dir) = scratch();
    let (inside, secret, grant) = data_and_secret(&dir);
    let bytes = toolchain::js("file-reader", "filesystem-component");
    airssys_component(&dir, "js-reader", &bytes, &grant);
    let dotdot = inside.parent().unwrap().join("../secret.txt");
    let request = format!("{}\n{}\n{}\n", inside.display(), secret.display(), dotdot.display());
    let out = execute(&dir, "js-reader", &request);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("read {}: 14 bytes: granted bytes", inside.display()),
        "{stdout}"
    );
    for (line, path) in lines[1..3].iter().zip([&secret, &dotdot]) {
        let expected = format!(
            "refused {}: {{\"tag\":\"permission-denied\",\"val\":\"filesystem:read {}\"}}",
            path.display(),
            path.display()
        );
        assert_eq!(*line, expected, "{stdout}");
    }
    assert!(!stdout.contains("SECRET"), "{stdout}");
    assert_audited(
        &out,
        Some("filesystem.read-file"),
        &format!("filesystem:read {}", inside.display()),
        "allowed",
    );
    for path in [&secret, &dotdot] {
        assert_audited(
            &out,
            Some("filesystem.read-file"),
            &format!("filesystem:read {}", path.display()),
            "denied",
        );
    }
}

#[test]
fn an_instance_limit_too_low_is_named_with_the_option_that_raises_it() {
    let (_tmp, dir) = scratch();
    command(&dir, "hello", "");
    let out = airssys(&["run", "hello.wasm", "--instances", "2"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("more core instances than the limit of 2") && stderr.contains("run --instances N"),
        "{stderr}"
    );
    let out = airssys(&["run", "hello.wasm", "--instances", "0"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--instances must be positive"),
        "{}",
        text(&out.stderr)
    );
}

/// A loopback TCP server that answers each connection with `reply(what it read)`, counting
/// connections.
fn server(reply: fn(&[u8]) -> Vec<u8>) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 2048];
            let n = stream.read(&mut buf).unwrap_or(0);
            let _ = stream.write_all(&reply(&buf[..n]));
        }
    });
    (port, accepted)
}

/// `pong:` + what the client sent.
pub(crate) fn pong_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    server(|read| [b"pong:", read].concat())
}

/// A UDP server on loopback that answers each datagram with `pong:` and what it got, and counts
/// the datagrams.
fn udp_pong_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = socket.send_to(&[b"pong:", &buf[..n]].concat(), from);
        }
    });
    (port, hits)
}

/// `200 hello` to any HTTP request.
fn http_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    server(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".to_vec())
}

/// That the run's audit log (standard error) has the operation (when given), the resource and
/// the verdict.
fn assert_audited(out: &Output, operation: Option<&str>, resource: &str, verdict: &str) {
    let stderr = text(&out.stderr);
    let has = |key: &str, value: &str| stderr.contains(&format!("\"{key}\":\"{value}\""));
    assert!(
        operation.is_none_or(|op| has("operation", op)) && has("resource", resource) && has("verdict", verdict),
        "{stderr}"
    );
}

/// The Python socket client, granted to connect to one of two loopback servers started by
/// `server`, sends `ping` to each with `scheme` (`""` for TCP, `"udp:"`): the granted one answers,
/// the other sees nothing, and both decisions are audited on `operation`.
fn python_client_reaches_the_granted_server_only(
    scheme: &str,
    server: fn() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>),
    operation: &str,
) {
    use std::sync::atomic::Ordering;
    let (_tmp, dir) = scratch();
    let (granted, granted_hits) = server();
    let (other, other_hits) = server();
    let grant =
        format!("[permissions]\nnetwork = [{{ action = \"connect\", domain = \"127.0.0.1\", port = {granted} }}]\n");
    let bytes = toolchain::python("socket-client", "filesystem-component");
    airssys_component(&dir, "py-client", &bytes, &grant);

    let out = execute(&dir, "py-client", &format!("{scheme}127.0.0.1:{granted}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "pong:ping");
    assert_eq!(granted_hits.load(Ordering::SeqCst), 1);
    let connect = format!("network:connect 127.0.0.1:{granted}");
    assert_audited(&out, Some(operation), &connect, "allowed");

    let out = execute(&dir, "py-client", &format!("{scheme}127.0.0.1:{other}"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("pong"));
    assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the ungranted server saw nothing");
    assert_audited(
        &out,
        Some(operation),
        &format!("network:connect 127.0.0.1:{other}"),
        "denied",
    );
}

#[test]
fn a_python_socket_client_reaches_a_granted_loopback_server_and_no_other() {
    python_client_reaches_the_granted_server_only("", pong_server, "wasi:sockets/tcp.[method]tcp-socket.start-connect");
}

#[test]
fn a_python_udp_client_reaches_a_granted_loopback_server_and_no_other() {
    python_client_reaches_the_granted_server_only(
        "udp:",
        udp_pong_server,
        "wasi:sockets/udp.[method]outgoing-datagram-stream.send",
    );
}

#[test]
fn a_python_http_client_reaches_a_granted_loopback_server_and_no_other() {
    use std::sync::atomic::Ordering;
    let (_tmp, dir) = scratch();
    let (granted, granted_hits) = http_server();
    let (other, other_hits) = http_server();
    let grant =
        format!("[permissions]\nnetwork = [{{ action = \"connect\", domain = \"127.0.0.1\", port = {granted} }}]\n");
    let bytes = toolchain::python("http-client", "http-client");
    airssys_component(&dir, "py-http", &bytes, &grant);

    let out = execute(&dir, "py-http", &format!("127.0.0.1:{granted}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "200 hello");
    assert_eq!(granted_hits.load(Ordering::SeqCst), 1);
    let connect = format!("network:connect 127.0.0.1:{granted}");
    assert_audited(&out, Some("wasi:http/outgoing-handler.handle"), &connect, "allowed");

    let out = execute(&dir, "py-http", &format!("127.0.0.1:{other}"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("HttpRequestDenied"), "{}", text(&out.stderr));
    assert_eq!(
        other_hits.load(Ordering::SeqCst),
        0,
        "the ungranted server saw no request"
    );
}

#[test]
fn the_manifest_sets_the_instance_limit() {
    let (_tmp, dir) = scratch();
    command(&dir, "hello", "[limits]\ninstances = 3\n");
    let out = airssys(&["run", "hello.wasm"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("than the limit of 3"),
        "{}",
        text(&out.stderr)
    );
    // The command line wins over the manifest.
    let out = airssys(&["run", "hello.wasm", "--instances", "50"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from C\n");
}

#[test]
fn a_wait_in_the_host_ends_at_the_call_time_limit() {
    let (_tmp, dir) = scratch();
    command(&dir, "sleeper", "");
    // A one-hour sleep is a wait in `wasi:io/poll`, in the host, where epoch interruption does
    // not reach: the host bounds it by the call's deadline.
    let out = airssys(&["run", "sleeper.wasm", "--timeout-ms", "300", "--", "3600"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("time limit of 300 ms"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("woke"));
    // A short sleep within the limit completes.
    let out = airssys(&["run", "sleeper.wasm", "--", "0"], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "woke\n");
}
