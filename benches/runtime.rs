//! Benchmark: a guest doing 100,000 `stat` calls (and 100,000 `open` + `read` + `close`) through
//! the host, enforced (with and without an audit log), unguarded; and a WASI guest doing the
//! same through `wasi:filesystem`, in airssys's enforcing host and in plain wasmtime-wasi with
//! a preopened directory. Targets: enforced ≤ 1.10× unguarded, ≤ 1.0× wasmtime-wasi.
//!
//! `cargo bench --bench runtime`; results are
//! recorded in docs/performance.md. `AIRSSYS_BENCH_ONLY=wasi` runs the WASI comparison alone
//! (with `AIRSSYS_BENCH_CALLS`, small enough to run under callgrind). Each figure is the best of 5 runs of 100,000 calls, in
//! nanoseconds per call (guest → host → guest, including the canonical ABI).

use std::sync::Arc;
use std::time::Instant;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::runtime::{AuditLog, ComponentPolicy, Mode, Runtime, RuntimeConfig, services::LogSink};

/// Calls per run (`AIRSSYS_BENCH_CALLS` overrides it, for a quick check in a debug build).
fn calls() -> u32 {
    std::env::var("AIRSSYS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}
const RUNS: usize = 5;

/// The guest's world: the catalogue's filesystem interfaces and two loops.
const WIT: &str = r#"
package bench:guest;
world loops {
    import airssys:ext-filesystem/metadata@1.0.0;
    import airssys:ext-filesystem/filesystem@1.0.0;
    export stat-loop: func(n: u32, path: string) -> u32;
    export open-read-close-loop: func(n: u32, path: string) -> u32;
}
"#;

/// Bump allocator. A loop saves the heap top on entry (above its own arguments, which the host
/// allocated there) and puts it back after each iteration.
const ALLOCATOR: &str = r#"
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.const 131072)) (then unreachable))
    (local.get $ptr))
"#;

/// The airssys guest: `stat`, and `open` + `read` 16 bytes + `close`, counting successes.
fn airssys_wat() -> String {
    format!(
        r#"(module
  (import "airssys:ext-filesystem/metadata@1.0.0" "stat" (func $stat (param i32 i32 i32)))
  (import "airssys:ext-filesystem/filesystem@1.0.0" "open" (func $open (param i32 i32 i32 i32)))
  (import "airssys:ext-filesystem/filesystem@1.0.0" "read" (func $read (param i32 i64 i32)))
  (import "airssys:ext-filesystem/filesystem@1.0.0" "close" (func $close (param i32)))
  {ALLOCATOR}
  (func (export "stat-loop") (param $n i32) (param $p i32) (param $l i32) (result i32)
    (local $ok i32) (local $top i32)
    (local.set $top (global.get $heap))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (call $stat (local.get $p) (local.get $l) (i32.const 1024))
      (local.set $ok (i32.add (local.get $ok) (i32.eqz (i32.load8_u (i32.const 1024)))))
      (global.set $heap (local.get $top))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $ok))
  (func (export "open-read-close-loop") (param $n i32) (param $p i32) (param $l i32) (result i32)
    (local $ok i32) (local $top i32)
    (local.set $top (global.get $heap))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ;; open-flags: read is bit 0
      (call $open (local.get $p) (local.get $l) (i32.const 1) (i32.const 1024))
      (if (i32.eqz (i32.load8_u (i32.const 1024)))
        (then
          (call $read (i32.load (i32.const 1028)) (i64.const 16) (i32.const 2048))
          (local.set $ok (i32.add (local.get $ok) (i32.eqz (i32.load8_u (i32.const 2048)))))
          (call $close (i32.load (i32.const 1028)))))
      (global.set $heap (local.get $top))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $ok))
)"#
    )
}

fn encode(resolve: &wit_parser::Resolve, world: wit_parser::WorldId, wat: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("bench WAT");
    wit_component::embed_component_metadata(&mut module, resolve, world, wit_component::StringEncoding::UTF8)
        .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("component")
}

fn airssys_component() -> Vec<u8> {
    let mut resolve = Catalogue::embedded().expect("catalogue").resolve;
    let pkg = resolve.push_str("bench.wit", WIT).expect("bench WIT");
    let world = resolve.select_world(&[pkg], Some("loops")).expect("world");
    encode(&resolve, world, &airssys_wat())
}

/// Best ns/call over `RUNS` runs of `run(CALLS)`, which returns the number of successes.
fn measure(label: &str, mut run: impl FnMut(u32) -> u32) -> f64 {
    assert_eq!(run(100), 100, "{label}: the operation must succeed");
    let mut best = f64::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let ok = run(calls());
        let ns = start.elapsed().as_nanos() as f64 / f64::from(calls());
        assert_eq!(ok, calls(), "{label}: every call must succeed");
        best = best.min(ns);
    }
    println!("{label:<58} {best:>8.0} ns/call");
    best
}

/// Runs both loops in the airssys host under `mode` and `audit`, with read and metadata
/// granted on `grant` (a path pattern).
fn airssys_host(label: &str, mode: Mode, audit: AuditLog, dir: &std::path::Path, grant: &str) -> (f64, f64) {
    let runtime = Runtime::new(RuntimeConfig {
        mode,
        log: LogSink::disabled(),
        fuel_metering: false,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let component = runtime.compile(&airssys_component()).expect("compile");
    let manifest = Manifest::parse(
        "Component.toml",
        &format!(
            "[component]\nname = \"bench\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  {{ action = \"read\", path = \"{grant}\" }},\n  {{ action = \"metadata\", path = \"{grant}\" }},\n]\n"
        ),
    )
    .into_valid()
    .expect("manifest");
    let policy = Arc::new(ComponentPolicy::new(
        manifest,
        &Default::default(),
        Default::default(),
        mode,
    ));
    let path = dir.join("f.txt").display().to_string();
    loops(&runtime, &component, policy, audit, label, &path)
}

/// Both loops of `component` in one store of `runtime` under `policy`, on `path`.
fn loops(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
    policy: Arc<ComponentPolicy>,
    audit: AuditLog,
    label: &str,
    path: &str,
) -> (f64, f64) {
    let mut store = runtime.store_with(policy, audit);
    let instance = runtime
        .linker()
        .instantiate(&mut store, component)
        .expect("instantiate");
    let stat = instance
        .get_typed_func::<(u32, &str), (u32,)>(&mut store, "stat-loop")
        .expect("stat-loop");
    let orc = instance
        .get_typed_func::<(u32, &str), (u32,)>(&mut store, "open-read-close-loop")
        .expect("open-read-close-loop");
    let s = measure(&format!("stat, {label}"), |n| {
        Runtime::arm(&mut store);
        stat.call(&mut store, (n, path)).expect("stat-loop").0
    });
    let o = measure(&format!("open+read+close, {label}"), |n| {
        Runtime::arm(&mut store);
        orc.call(&mut store, (n, path)).expect("open-read-close-loop").0
    });
    (s, o)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f.txt"), b"0123456789abcdef").expect("write");
    let audit_file = dir.path().join("audit.jsonl");
    if std::env::var("AIRSSYS_BENCH_ONLY").is_ok_and(|only| only == "wasi") {
        let (s_wasi, o_wasi) = wasi::run(dir.path());
        let (s_guarded, o_guarded) = wasi::run_airssys(dir.path(), AuditLog::disabled(), "no audit");
        println!(
            "WASI guest, airssys enforced / wasmtime-wasi: stat {:.2}x, open+read+close {:.2}x",
            s_guarded / s_wasi,
            o_guarded / o_wasi
        );
        return;
    }

    let narrow = format!("{}/**", dir.path().display());
    // Unguarded mode has no grant to confine to, so it resolves from `/`; the `/**` runs do
    // the same resolution with the guard, which isolates what the decision and the audit cost.
    let (s_off, o_off) = airssys_host(
        "unguarded (no decision, no audit; resolves from /)",
        Mode::Unguarded,
        AuditLog::disabled(),
        dir.path(),
        &narrow,
    );
    let (s_root, o_root) = airssys_host(
        "enforced, grant /** (resolves from /), no audit",
        Mode::Enforce,
        AuditLog::disabled(),
        dir.path(),
        "/**",
    );
    let (s_root_log, o_root_log) = airssys_host(
        "enforced, grant /** (resolves from /), audit file",
        Mode::Enforce,
        AuditLog::append_to(&audit_file).expect("audit file"),
        dir.path(),
        "/**",
    );
    let (s_on, o_on) = airssys_host(
        "enforced, grant <dir>/**, no audit",
        Mode::Enforce,
        AuditLog::disabled(),
        dir.path(),
        &narrow,
    );
    let (s_log, o_log) = airssys_host(
        "enforced, grant <dir>/**, audit file",
        Mode::Enforce,
        AuditLog::append_to(&audit_file).expect("audit file"),
        dir.path(),
        &narrow,
    );
    println!(
        "guard cost (same resolution), stat:                    {:.2}x",
        s_root / s_off
    );
    println!(
        "guard cost (same resolution), open+read+close:         {:.2}x",
        o_root / o_off
    );
    println!(
        "guard + audit cost (same resolution), stat:            {:.2}x",
        s_root_log / s_off
    );
    println!(
        "guard + audit cost (same resolution), open+read+close: {:.2}x",
        o_root_log / o_off
    );
    println!(
        "narrow grant / unguarded, stat:                        {:.2}x",
        s_on / s_off
    );
    println!(
        "narrow grant / unguarded, open+read+close:             {:.2}x",
        o_on / o_off
    );
    println!(
        "narrow grant + audit / unguarded, stat:                {:.2}x",
        s_log / s_off
    );
    println!(
        "narrow grant + audit / unguarded, open+read+close:     {:.2}x",
        o_log / o_off
    );

    {
        let (s_wasi, o_wasi) = wasi::run(dir.path());
        let (s_guarded, o_guarded) = wasi::run_airssys(dir.path(), AuditLog::disabled(), "no audit");
        let (s_guarded_log, o_guarded_log) = wasi::run_airssys(
            dir.path(),
            AuditLog::append_to(&audit_file).expect("audit file"),
            "audit file",
        );
        println!(
            "WASI guest, airssys enforced / wasmtime-wasi, stat:                  {:.2}x",
            s_guarded / s_wasi
        );
        println!(
            "WASI guest, airssys enforced / wasmtime-wasi, open+read+close:       {:.2}x",
            o_guarded / o_wasi
        );
        println!(
            "WASI guest, airssys enforced+audit / wasmtime-wasi, stat:            {:.2}x",
            s_guarded_log / s_wasi
        );
        println!(
            "WASI guest, airssys enforced+audit / wasmtime-wasi, open+read+close: {:.2}x",
            o_guarded_log / o_wasi
        );
        println!("enforced / wasmtime-wasi, stat:            {:.2}x", s_on / s_wasi);
        println!("enforced / wasmtime-wasi, open+read+close: {:.2}x", o_on / o_wasi);
        println!(
            "enforced+audit / wasmtime-wasi, stat:            {:.2}x",
            s_log / s_wasi
        );
        println!(
            "enforced+audit / wasmtime-wasi, open+read+close: {:.2}x",
            o_log / o_wasi
        );
    }
}

#[path = "../tests/common/crate_dir.rs"]
mod crate_dir;

/// The same loops through WASI 0.2: in wasmtime-wasi with the directory preopened as `/`, and
/// in airssys's host under a grant of the directory (preopened under its own path).
mod wasi {
    use std::path::{Path, PathBuf};

    use wasmtime::component::{Linker, ResourceTable};
    use wasmtime::{Config, Engine, Store};
    use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

    use airssys_wasm::manifest::Manifest;
    use airssys_wasm::runtime::{AuditLog, Runtime, RuntimeConfig};

    use super::{ALLOCATOR, encode, measure};

    const WIT: &str = r#"
package bench:wasi;
world loops {
    import wasi:filesystem/preopens@0.2.12;
    import wasi:filesystem/types@0.2.12;
    export stat-loop: func(n: u32, path: string) -> u32;
    export open-read-close-loop: func(n: u32, path: string) -> u32;
}
"#;

    struct State {
        ctx: WasiCtx,
        table: ResourceTable,
    }

    impl WasiView for State {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.ctx,
                table: &mut self.table,
            }
        }
    }

    /// wasmtime-wasi's WIT directory.
    fn wasi_wit_dir() -> PathBuf {
        super::crate_dir::dependency_dir("wasmtime-wasi").join("src/p2/wit")
    }

    fn wat() -> String {
        format!(
            r#"(module
  (import "wasi:filesystem/preopens@0.2.12" "get-directories" (func $dirs (param i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.stat-at" (func $stat_at (param i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.open-at" (func $open_at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.12" "[method]descriptor.read" (func $read (param i32 i64 i64 i32)))
  (import "wasi:filesystem/types@0.2.12" "[resource-drop]descriptor" (func $drop (param i32)))
  {ALLOCATOR}
  (global $dir (mut i32) (i32.const -1))
  (func $preopen (result i32)
    (if (i32.eq (global.get $dir) (i32.const -1))
      (then
        (call $dirs (i32.const 512))
        (global.set $dir (i32.load (i32.load (i32.const 512))))))
    (global.get $dir))
  (func (export "stat-loop") (param $n i32) (param $p i32) (param $l i32) (result i32)
    (local $ok i32) (local $d i32) (local $top i32)
    (local.set $d (call $preopen))
    (local.set $top (global.get $heap))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ;; path-flags: symlink-follow
      (call $stat_at (local.get $d) (i32.const 1) (local.get $p) (local.get $l) (i32.const 1024))
      (local.set $ok (i32.add (local.get $ok) (i32.eqz (i32.load8_u (i32.const 1024)))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $ok))
  (func (export "open-read-close-loop") (param $n i32) (param $p i32) (param $l i32) (result i32)
    (local $ok i32) (local $d i32) (local $top i32)
    (local.set $d (call $preopen))
    (local.set $top (global.get $heap))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      ;; descriptor-flags: read
      (call $open_at (local.get $d) (i32.const 1) (local.get $p) (local.get $l) (i32.const 0) (i32.const 1) (i32.const 1024))
      (if (i32.eqz (i32.load8_u (i32.const 1024)))
        (then
          (call $read (i32.load (i32.const 1028)) (i64.const 16) (i64.const 0) (i32.const 2048))
          (local.set $ok (i32.add (local.get $ok) (i32.eqz (i32.load8_u (i32.const 2048)))))
          (call $drop (i32.load (i32.const 1028)))))
      (global.set $heap (local.get $top))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $ok))
)"#
        )
    }

    /// The WASI guest's component.
    fn component_bytes() -> Vec<u8> {
        let mut resolve = wit_parser::Resolve::default();
        resolve.push_dir(wasi_wit_dir()).expect("wasi WIT");
        let pkg = resolve.push_str("bench-wasi.wit", WIT).expect("bench WIT");
        let world = resolve.select_world(&[pkg], Some("loops")).expect("world");
        encode(&resolve, world, &wat())
    }

    /// The loops in airssys's host, enforcing a read grant on `dir`; the guest's first (and
    /// only) preopen is `dir` itself.
    pub fn run_airssys(dir: &Path, audit: AuditLog, label: &str) -> (f64, f64) {
        let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
        let component = runtime.compile(&component_bytes()).expect("compile");
        let text = format!(
            "[component]\nname = \"bench\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/**\" }}, {{ action = \"metadata\", path = \"{}/**\" }}]\n",
            dir.display(),
            dir.display()
        );
        let manifest = Manifest::parse("Component.toml", &text).into_valid().expect("manifest");
        let policy = runtime.policy_for(manifest);
        super::loops(
            &runtime,
            &component,
            policy,
            audit,
            &format!("WASI guest, airssys enforced, {label}"),
            "f.txt",
        )
    }

    pub fn run(dir: &Path) -> (f64, f64) {
        let bytes = component_bytes();

        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("engine");
        let component = wasmtime::component::Component::new(&engine, &bytes).expect("compile");
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("link WASI");
        // Filesystem calls on the calling thread, as airssys's host makes them (wasmtime-wasi's
        // default sends each to a blocking thread pool, which costs it about 10x).
        let ctx = WasiCtxBuilder::new()
            .allow_blocking_current_thread(true)
            .preopened_dir(dir, "/", FsPerms::ReadOnly)
            .expect("preopen")
            .build();
        let mut store = Store::new(
            &engine,
            State {
                ctx,
                table: ResourceTable::new(),
            },
        );
        let instance = linker.instantiate(&mut store, &component).expect("instantiate");
        let stat = instance
            .get_typed_func::<(u32, &str), (u32,)>(&mut store, "stat-loop")
            .expect("stat-loop");
        let orc = instance
            .get_typed_func::<(u32, &str), (u32,)>(&mut store, "open-read-close-loop")
            .expect("open-read-close-loop");
        let s = measure("stat, wasmtime-wasi (preopened directory)", |n| {
            stat.call(&mut store, (n, "f.txt")).expect("stat-loop").0
        });
        let o = measure("open+read+close, wasmtime-wasi (preopened directory)", |n| {
            orc.call(&mut store, (n, "f.txt")).expect("open-read-close-loop").0
        });
        (s, o)
    }
}
