//! `airssys-wasm run` end to end: the binary, real files, exit codes, the audit log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::lifecycle;
use crate::support::audit_lines;

fn airssys(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(dir)
        // One compilation cache for the tests' runs (each component compiled once).
        .env(
            "AIRSSYS_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/cwasm-cache"),
        )
        .output()
        .unwrap()
}

fn write_component(dir: &Path, name: &str, bytes: &[u8], manifest: &str) {
    std::fs::write(dir.join(format!("{name}.wasm")), bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap();
}

fn manifest(name: &str) -> String {
    format!("[component]\nname = \"{name}\"\nversion = \"1.0.0\"\n")
}

#[test]
fn run_prints_the_output_of_execute() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "echo", &lifecycle::echo(), &manifest("echo"));
    std::fs::write(dir.path().join("in.txt"), "hello from a file").unwrap();
    let out = airssys(&["run", "echo.wasm", "--input", "in.txt"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"hello from a file");
}

#[test]
fn run_loads_several_components_that_message_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let relay = lifecycle::relay();
    write_component(dir.path(), "alpha", &relay, &manifest("alpha"));
    write_component(dir.path(), "peer", &relay, &manifest("peer"));
    std::fs::write(dir.path().join("in"), "mhi").unwrap();
    let out = airssys(
        &["run", "alpha.wasm", "--with", "peer.wasm", "--input", "in"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, [0], "send-message to the loaded peer is ok");
}

#[test]
fn run_reports_a_fault_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "spin", &lifecycle::infinite_loop(), &manifest("spin"));
    let out = airssys(&["run", "spin.wasm", "--timeout-ms", "50"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("time limit of 50 ms"), "{stderr}");
}

#[test]
fn run_refuses_a_component_whose_check_fails_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    // A grant that the default policy denies (reading /etc/shadow): a policy violation.
    let bytes = crate::common::component_importing(&["filesystem.read-file"], "", "");
    let text = format!(
        "{}\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"/etc/shadow\" }}]\n",
        manifest("reader")
    );
    write_component(dir.path(), "reader", &bytes, &text);
    let out = airssys(&["run", "reader.wasm"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to run"), "{stderr}");
    // Forced, it runs (its dummy `execute` traps, which is reported, not a crash).
    let out = airssys(&["run", "reader.wasm", "--force"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("trapped"), "{stderr}");
}

#[test]
fn run_warns_about_an_operation_without_a_grant_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    // Imports filesystem.read-file without a grant: CMP002, shown as a warning; the operation
    // is denied if called.
    let bytes = crate::common::component_importing(&["filesystem.read-file"], "", "");
    write_component(dir.path(), "reader", &bytes, &manifest("reader"));
    let out = airssys(&["run", "reader.wasm", "--invoke", "none"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CMP002") && stderr.contains("warning"), "{stderr}");
    assert!(!stderr.contains("refusing to run"), "{stderr}");
}

#[test]
fn run_rejects_bad_arguments_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "echo", &lifecycle::echo(), &manifest("echo"));
    let out = airssys(&["run", "echo.wasm", "--memory", "lots"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--memory `lots` is not a size"));
    let out = airssys(&["run", "missing.wasm"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.path().join("bad.toml"), "[component]\nname = \"X\"\n").unwrap();
    let out = airssys(&["run", "echo.wasm", "--manifest", "bad.toml", "--force"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml: missing or has errors") && stderr.contains("cannot be enforced, even with --force"),
        "{stderr}"
    );
}

#[test]
fn run_names_what_is_wrong_with_the_component_path_and_the_files_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // A missing component is named as such, not as a missing manifest.
    let out = airssys(&["run", "missing.wasm"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read missing.wasm"), "{}", stderr(&out));

    // A directory holding one component runs it, with the manifest beside it.
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    write_component(&one, "echo", &lifecycle::echo(), &manifest("echo"));
    std::fs::write(dir.path().join("in"), "via the directory").unwrap();
    let out = airssys(&["run", "one", "--input", "in"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"via the directory");
    let out = airssys(&["run", "one", "--with", "=peer.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`=peer.toml` names no component"),
        "{}",
        stderr(&out)
    );

    // Several, or none: the error lists what is there.
    let two = dir.path().join("two");
    std::fs::create_dir(&two).unwrap();
    write_component(&two, "a", &lifecycle::echo(), &manifest("a"));
    write_component(&two, "b", &lifecycle::echo(), &manifest("b"));
    let out = airssys(&["run", "two"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("holds 2 components") && text.contains("a.wasm") && text.contains("b.wasm"),
        "{text}"
    );
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = airssys(&["run", "empty"], dir.path());
    assert!(stderr(&out).contains("no component in it"), "{}", stderr(&out));

    // A missing input file stops the run before any component starts; so does an audit log
    // that cannot be opened, and it is not called a read.
    let out = airssys(
        &["run", "one", "--input", "nothing-here", "--audit-log", "audit.jsonl"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read nothing-here"), "{}", stderr(&out));
    assert!(
        !dir.path().join("audit.jsonl").exists(),
        "nothing ran, nothing was logged"
    );
    let out = airssys(&["run", "one", "--audit-log", "no/such/dir/audit.jsonl"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot open the audit log no/such/dir/audit.jsonl for appending"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_refuses_an_input_larger_than_the_components_memory() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "echo", &lifecycle::echo(), &manifest("echo"));
    std::fs::write(dir.path().join("big"), vec![b'x'; 300 * 1024]).unwrap();
    let out = airssys(
        &["run", "echo.wasm", "--input", "big", "--memory", "256 KiB"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the input (big) is larger than 262144 bytes, the memory limit of `echo`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
    // Standard input is read the same way, and never past the limit.
    let mut child = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(["run", "echo.wasm", "--input", "-", "--memory", "256 KiB"])
        .current_dir(dir.path())
        .env(
            "AIRSSYS_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/cwasm-cache"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // More than the limit, and the pipe stays open: the host stops reading at the limit.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b'y'; 64 * 1024];
        while stdin.write_all(&chunk).is_ok() {}
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input (standard input) is larger than"));
}

#[test]
fn a_child_dies_with_the_host_that_started_it() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "{}[permissions]\nprocess = [{{ action = \"spawn\", executable = \"/bin/sh\" }}]\n",
        manifest("spawner")
    );
    write_component(dir.path(), "spawner", &lifecycle::shell_spawner(), &toml);
    // An organisation policy that allows shells, so that this test can start one.
    std::fs::write(dir.path().join("shells.toml"), "").unwrap();
    let pid_file = dir.path().join("child.pid");
    std::fs::write(
        dir.path().join("command"),
        format!(
            "echo $$ > '{}.tmp' && mv '{0}.tmp' '{0}' && exec /bin/sleep 60",
            pid_file.display()
        ),
    )
    .unwrap();
    let mut host = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(["run", "spawner.wasm", "--input", "command", "--policy", "shells.toml"])
        .args(["--timeout-ms", "60000", "--audit-log", "audit.jsonl"])
        .current_dir(dir.path())
        .env(
            "AIRSSYS_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/cwasm-cache"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pid_file.exists() {
        if let Ok(Some(status)) = host.try_wait() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(host.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("the host ended before the child started ({status}): {stderr}");
        }
        assert!(std::time::Instant::now() < give_up, "the child never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let child: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let state = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
    };
    assert!(matches!(state(child), Some(c) if c != 'Z'), "the child runs");
    // The host is killed outright: no destructor, no shutdown.
    host.kill().unwrap();
    host.wait().unwrap();
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !matches!(state(child), None | Some('Z')) {
        assert!(std::time::Instant::now() < give_up, "the child outlived its host");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The bundled example, copied here with a manifest that lets it read `file`.
fn file_reader_in(dir: &Path, file: &Path) {
    let manifest = format!(
        "[component]\nname = \"file-reader\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}\" }}]\n",
        file.display()
    );
    write_component(dir, "reader", &lifecycle::file_reader(), &manifest);
    std::fs::write(dir.join("in"), file.display().to_string()).unwrap();
}

#[test]
fn an_audit_log_that_cannot_be_written_is_the_hosts_failure() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("data.txt");
    std::fs::write(&secret, "content nobody may see unlogged").unwrap();
    file_reader_in(dir.path(), &secret);
    // A device that is always full: the first line fails (ENOSPC).
    let out = airssys(
        &["run", "reader.wasm", "--input", "in", "--audit-log", "/dev/full"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the audit log (/dev/full) cannot be written: No space left on device"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("permission-denied"),
        "not the component's denial: {stderr}"
    );
    assert!(out.stdout.is_empty(), "the read took no effect without its line");

    // A FIFO nobody reads: refused at once rather than waited on.
    let fifo = dir.path().join("audit.fifo");
    let c_path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a valid NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    let out = airssys(
        &["run", "reader.wasm", "--input", "in", "--audit-log", "audit.fifo"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot open the audit log"), "{stderr}");

    // The control case: a writable log, the same run succeeds and logs the read.
    let out = airssys(
        &["run", "reader.wasm", "--input", "in", "--audit-log", "audit.jsonl"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"content nobody may see unlogged");
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(log.contains("\"verdict\":\"allowed\""), "{log}");
}

/// `run` with its own compilation cache in `cache`.
fn run_cached(dir: &Path, cache: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(["run", "echo.wasm", "--input", "in.txt"])
        .args(extra)
        .current_dir(dir)
        .env("AIRSSYS_CACHE_DIR", cache)
        .output()
        .unwrap()
}

/// The `.cwasm` entries of a cache and anything else in it but verdicts.
fn cache_files(cache: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    std::fs::read_dir(cache)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "verdict"))
        .partition(|p| p.extension().is_some_and(|e| e == "cwasm"))
}

/// The verdicts a cache holds.
fn verdicts(cache: &Path) -> usize {
    std::fs::read_dir(cache)
        .map(|entries| {
            entries
                .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "verdict"))
                .count()
        })
        .unwrap_or_default()
}

/// A C program built by clang and wasi-libc (a WASI command through the preview1 adapter) with
/// an empty manifest: its clean check is remembered on the first run, and the second run, from
/// the remembered verdict and the cached compilation, prints the same.
#[test]
fn a_c_command_runs_the_same_from_a_remembered_check() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    write_component(
        dir.path(),
        "hello",
        &crate::common::toolchain::c_command("hello"),
        &manifest("hello"),
    );
    for run in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(["run", "hello.wasm", "--audit-log", "audit.jsonl"])
            .current_dir(dir.path())
            .env("AIRSSYS_CACHE_DIR", &cache)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "run {run}: {stderr}");
        assert_eq!(out.stdout, b"hello from C\n", "run {run}");
        assert!(stderr.is_empty(), "run {run}: nothing to report: {stderr}");
        assert_eq!(verdicts(&cache), 1, "run {run}");
        assert_eq!(cache_files(&cache).0.len(), 1, "run {run}: one compiled entry");
    }
}

/// A clean static check is remembered, and made again as soon as anything it depends on
/// changes: the manifest, the component, the policies.
#[test]
fn run_remembers_a_clean_check_and_checks_again_when_an_input_changes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(["run", "reader.wasm"])
            .args(extra)
            .current_dir(dir.path())
            .env("AIRSSYS_CACHE_DIR", &cache)
            .output()
            .unwrap()
    };
    // The check passed when the run went on to call the component (whose dummy `init` traps).
    let passed = |out: &Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        !stderr.contains("refusing to run") && stderr.contains("error: init")
    };
    let reader = crate::common::component_importing(&["filesystem.read-file"], "", "");
    let granted = |path: &str| {
        format!(
            "{}\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{path}\" }}]\n",
            manifest("reader")
        )
    };
    write_component(dir.path(), "reader", &reader, &granted("/data/**"));
    for _ in 0..2 {
        let out = run(&[]);
        assert!(passed(&out), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(verdicts(&cache), 1, "one clean verdict, kept");
    }
    assert!(passed(&run(&["--no-cache"])));

    // A manifest that breaks the default policy: checked again and refused, nothing remembered.
    write_component(dir.path(), "reader", &reader, &granted("/etc/shadow"));
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to run"), "{stderr}");
    assert_eq!(verdicts(&cache), 1);

    // Another component under the good manifest: checked again (its new import has no grant).
    let writer = crate::common::component_importing(&["filesystem.read-file", "filesystem.write-file"], "", "");
    write_component(dir.path(), "reader", &writer, &granted("/data/**"));
    let stderr = String::from_utf8_lossy(&run(&[]).stderr).into_owned();
    assert!(stderr.contains("CMP002"), "{stderr}");
    assert_eq!(verdicts(&cache), 1, "a check with a warning is not remembered");

    // The first component again, under a policy that denies what it is granted.
    write_component(dir.path(), "reader", &reader, &granted("/data/**"));
    std::fs::write(
        dir.path().join("policy.toml"),
        "[filesystem]\ndeny = [{ path = \"/data/**\" }]\n",
    )
    .unwrap();
    let out = run(&["--policy", "policy.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to run"), "{stderr}");
    assert!(passed(&run(&[])), "the remembered verdict under the default policy");
    assert_eq!(verdicts(&cache), 1);
}

#[test]
fn run_keeps_compiled_components_in_its_cache_and_refuses_a_damaged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    write_component(dir.path(), "echo", &lifecycle::echo(), &manifest("echo"));
    std::fs::write(dir.path().join("in.txt"), "cached").unwrap();

    let out = run_cached(dir.path(), &cache, &["--no-cache"]);
    assert_eq!(out.stdout, b"cached", "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!cache.exists(), "--no-cache neither reads nor creates the cache");

    let out = run_cached(dir.path(), &cache, &[]);
    assert_eq!(out.stdout, b"cached", "{}", String::from_utf8_lossy(&out.stderr));
    let (entries, others) = cache_files(&cache);
    assert_eq!((entries.len(), others.len()), (1, 0), "{entries:?} {others:?}");
    let good = std::fs::read(&entries[0]).unwrap();

    // Altered: refused with a warning, compiled again, replaced.
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x55;
    std::fs::write(&entries[0], &bad).unwrap();
    let out = run_cached(dir.path(), &cache, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.stdout, b"cached", "{stderr}");
    assert!(
        stderr.contains("warning: `echo`: the cached compilation")
            && stderr.contains("does not match its length and checksum")
            && stderr.contains("compiled again"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&entries[0]).unwrap(), good, "replaced by a good entry");
    let out = run_cached(dir.path(), &cache, &[]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "a clean hit");

    // A cache directory others can write is not used at all.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::remove_file(&entries[0]).unwrap();
    let out = run_cached(dir.path(), &cache, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.stdout, b"cached", "{stderr}");
    assert!(
        stderr.contains("others can write it") && stderr.contains("--no-cache"),
        "{stderr}"
    );
    assert_eq!(cache_files(&cache).0.len(), 0, "nothing was written there");
}

#[test]
fn two_runs_filling_the_cache_at_once_leave_one_good_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    write_component(dir.path(), "echo", &lifecycle::echo(), &manifest("echo"));
    std::fs::write(dir.path().join("in.txt"), "at once").unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(["run", "echo.wasm", "--input", "in.txt"])
            .current_dir(dir.path())
            .env("AIRSSYS_CACHE_DIR", &cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..4).map(|_| spawn()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.stdout, b"at once", "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    }
    let (entries, others) = cache_files(&cache);
    assert_eq!(
        (entries.len(), others.len()),
        (1, 0),
        "no temporary file left: {others:?}"
    );
    let out = run_cached(dir.path(), &cache, &[]);
    assert_eq!(out.stdout, b"at once");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "the entry is whole: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_writes_start_and_end_lines_around_its_decisions() {
    use airssys_wasm::digest::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    std::fs::write(dir.join("data.txt"), "granted").unwrap();
    std::os::unix::fs::symlink("data.txt", dir.join("link.txt")).unwrap();
    let manifest = format!(
        "[component]\nname = \"file-reader\"\nversion = \"1.4.0\"\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/*.txt\" }}]\n",
        dir.display()
    );
    write_component(&dir, "reader", &lifecycle::file_reader(), &manifest);
    let link = dir.join("link.txt").display().to_string();
    std::fs::write(dir.join("in"), &link).unwrap();
    std::fs::write(dir.join("denied"), "/etc/passwd").unwrap();
    let run = |input: &str, log: &str| airssys(&["run", "reader.wasm", "--input", input, "--audit-log", log], &dir);
    let out = run("in", "allowed.jsonl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"granted");
    let out = run("denied", "denied.jsonl");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    let allowed = audit_lines(&dir.join("allowed.jsonl"));
    let kinds: Vec<&str> = allowed.iter().map(|l| l["record"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "decision", "decision", "end"], "{allowed:#?}");
    let start = &allowed[0];
    let wasm = std::fs::read(dir.join("reader.wasm")).unwrap();
    assert_eq!(start["component"], "file-reader");
    assert_eq!(start["version"], "1.4.0");
    assert_eq!(start["digest"], Digest::of(&wasm).hex());
    assert_eq!(start["mode"], "enforce");
    assert_eq!(
        start["policies"],
        serde_json::json!([{
            "name": "builtin:default",
            "digest": Digest::of(airssys_wasm::orgpolicy::DEFAULT_POLICY.as_bytes()).hex(),
        }])
    );
    // The read of the link, then of its target, marked as reached through it.
    assert_eq!(allowed[1]["resource"], format!("filesystem:read {link}"));
    assert!(allowed[1].get("via_symlink").is_none(), "{}", allowed[1]);
    assert_eq!(
        allowed[2]["resource"],
        format!("filesystem:read {}", dir.join("data.txt").display())
    );
    assert_eq!(allowed[2]["via_symlink"], link.as_str());
    for decision in &allowed[1..3] {
        assert_eq!(decision["phase"], "execute");
        assert_eq!(decision["verdict"], "allowed");
        assert_eq!(decision["format"], 2);
    }
    let end = &allowed[3];
    assert_eq!(
        end["counts"],
        serde_json::json!({ "allowed": 2, "denied": 0, "would-deny": 0 })
    );
    assert_eq!((&end["outcome"], &end["exit"]), (&"ok".into(), &0.into()));

    let denied = audit_lines(&dir.join("denied.jsonl"));
    let end = denied.last().unwrap();
    assert_eq!(end["record"], "end");
    assert_eq!(
        end["counts"],
        serde_json::json!({ "allowed": 0, "denied": 1, "would-deny": 0 })
    );
    assert_eq!((&end["outcome"], &end["exit"]), (&"failed".into(), &1.into()));
    assert!(end["detail"].as_str().unwrap().contains("permission-denied"), "{end}");
    // Every line of a run carries its run id; two runs have two ids.
    for lines in [&allowed, &denied] {
        assert!(lines.iter().all(|l| l["run"] == lines[0]["run"]), "{lines:#?}");
    }
    assert_ne!(allowed[0]["run"], denied[0]["run"]);
}
