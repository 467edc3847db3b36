//! Benchmark: registry-scale audits. A batch of generated components (each with its own
//! manifest, 1–16 imported operations, made unique by a custom section) checked by the library
//! without a cache, with a cold cache and with a warm one; the content digests every shard
//! computes to choose its members; and the command as separate processes: one process, the
//! shards of 2 and 8 one after the other, their merge, and the cold and warm cache.
//! `cargo bench --bench scale [-- N]` (N components, default 2,000); results are recorded in
//! docs/performance.md and used by docs/scale.md.

#[path = "../tests/common/mod.rs"]
mod common;

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use airssys_wasm::cache::Cache;
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::orgpolicy::PolicySet;
use rayon::prelude::*;
use support::{OPS, best};

const MANIFEST: &str = "[component]\nname = \"bench\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [{ action = \"read\", path = \"/data/**\" }, { action = \"write\", path = \"/data/out/**\" }]\nnetwork = [{ action = \"resolve\", domain = \"api.example.com\" }, { action = \"connect\", domain = \"api.example.com\", port = 443 }]\n";

/// `n` components in `dir`, each beside its manifest; returns the bytes written.
fn batch(dir: &Path, n: usize) -> usize {
    let shapes: Vec<Vec<u8>> = (0..64usize)
        .map(|i| {
            let ops: Vec<&str> = OPS
                .iter()
                .enumerate()
                .filter(|(b, _)| (i >> (b % 6)) & 1 == 1 || b % 7 == i % 7)
                .map(|(_, o)| *o)
                .collect();
            common::component_importing(&ops, "", "")
        })
        .collect();
    let mut total = 0;
    for i in 0..n {
        let mut bytes = shapes[i % shapes.len()].clone();
        let payload = format!("copy {i:08}");
        bytes.extend([0, (payload.len() + 3) as u8, 2, b'i', b'd']);
        bytes.extend(payload.bytes());
        let path = dir.join(format!("c{i:06}.wasm"));
        std::fs::write(&path, &bytes).unwrap();
        std::fs::write(path.with_extension("toml"), MANIFEST).unwrap();
        total += bytes.len();
    }
    total
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn per_component(d: Duration, n: usize) -> String {
    format!("{:.0} µs/component", d.as_secs_f64() * 1e6 / n as f64)
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("batch");
    std::fs::create_dir(&dir).unwrap();
    let bytes = batch(&dir, n);
    let catalogue = Catalogue::embedded().unwrap();
    let components = check::discover(std::slice::from_ref(&dir)).unwrap();
    println!(
        "## {n} components ({:.1} MB), {} threads",
        bytes as f64 / 1e6,
        rayon::current_num_threads()
    );

    let run = |cache: Option<&Cache>| {
        let mut sources = Sources::new();
        let policies = PolicySet::default_set(&mut sources).unwrap();
        let options = Options {
            policies: Some((&policies, airssys_wasm::orgpolicy::Date::from_days_since_epoch(20_000))),
            cache,
            ..Options::default()
        };
        let report = check::check_with_progress(&catalogue, &components, &options, sources, None).unwrap();
        assert_eq!(report.components.len(), n);
        report.cache
    };
    // Interleaved rounds, so that each configuration sees the same machine state.
    let rounds = 5;
    println!("\n## The library (best of {rounds} interleaved rounds)");
    let (mut plain, mut cold, mut warm, mut digests) = (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    for round in 1..=rounds {
        plain = plain.min(best(1, || {
            run(None);
        }));
        cold = cold.min(best(1, || {
            let cache = Cache::open(&tmp.path().join(format!("cold-{round}"))).unwrap();
            assert_eq!(run(Some(&cache)).unwrap().analysed, n);
        }));
        warm = warm.min(best(1, || {
            let cache = Cache::open(&tmp.path().join("cold-1")).unwrap();
            assert_eq!(run(Some(&cache)).unwrap().hits, n);
        }));
        digests = digests.min(best(1, || {
            components.par_iter().for_each(|c| {
                check::content_digest(c).unwrap();
            });
        }));
    }
    let block = vec![0x5au8; 64 << 20];
    let sha = best(3, || {
        std::hint::black_box(airssys_wasm::digest::Digest::of(&block));
    });
    println!(
        "{:<56} {:>10}  {:.0} MB/s",
        "SHA-256 of 64 MiB in memory, one thread",
        ms(sha),
        64.0 * 1.048_576 / sha.as_secs_f64()
    );
    for (label, d) in [
        ("no cache", plain),
        ("cold cache (analyse and store)", cold),
        ("warm cache (lookups only)", warm),
        ("content digests of every file (what each shard reads)", digests),
    ] {
        println!("{label:<56} {:>10}  {}", ms(d), per_component(d, n));
    }

    println!("\n## The command, as separate processes (best of {rounds} interleaved rounds)");
    // A copy: the target directory may be shared, and rebuilt by another worktree meanwhile.
    let exe = tmp.path().join("airssys-wasm");
    std::fs::copy(env!("CARGO_BIN_EXE_airssys-wasm"), &exe).unwrap();
    let airssys = |args: &[&str]| {
        let out = Command::new(&exe).args(args).current_dir(tmp.path()).output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {out:?}");
        out.stdout
    };
    let (mut single, mut cli_cold, mut cli_warm) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for round in 1..=rounds {
        single = single.min(best(1, || {
            airssys(&["check", "--format", "jsonl", "batch"]);
        }));
        let dir = format!("cli-cold-{round}");
        cli_cold = cli_cold.min(best(1, || {
            airssys(&["check", "--format", "jsonl", "--cache", &dir, "batch"]);
        }));
        cli_warm = cli_warm.min(best(1, || {
            airssys(&["check", "--format", "jsonl", "--cache", "cli-cold-1", "batch"]);
        }));
    }
    println!(
        "{:<56} {:>10}  {}",
        "check --format jsonl",
        ms(single),
        per_component(single, n)
    );
    println!(
        "{:<56} {:>10}  {}",
        "check --cache (cold)",
        ms(cli_cold),
        per_component(cli_cold, n)
    );
    println!(
        "{:<56} {:>10}  {}",
        "check --cache (warm)",
        ms(cli_warm),
        per_component(cli_warm, n)
    );
    for count in [2, 8] {
        let mut files: Vec<PathBuf> = Vec::new();
        let shards = best(3, || {
            files.clear();
            for i in 1..=count {
                let out = airssys(&[
                    "check",
                    "--format",
                    "jsonl",
                    "--shard",
                    &format!("{i}/{count}"),
                    "batch",
                ]);
                let file = tmp.path().join(format!("shard-{i}.jsonl"));
                std::fs::write(&file, out).unwrap();
                files.push(file);
            }
        });
        let mut args = vec!["merge".to_string()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let merge = best(3, || {
            airssys(&args);
        });
        println!(
            "{:<56} {:>10}  (one shard ≈ {}), merge {}",
            format!("{count} shards, one after the other"),
            ms(shards),
            ms(shards / count),
            ms(merge)
        );
    }
}
