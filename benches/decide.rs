//! Benchmark: the policy decision alone, with 10, 100 and 1,000 grants (target about 50 ns).
//! `cargo bench --bench decide`; results are recorded in docs/performance.md.

use std::hint::black_box;
use std::time::Instant;

use airssys_wasm::policy::{
    CompiledGrants, Env, FsAction, FsGrant, GrantSet, HostPattern, NetAction, NetGrant, PathPattern, ProcGrant, Request,
};

/// `n` filesystem grants (exact, `dir/*`, `dir/**`), `n` network and `n / 10` spawn grants.
fn grants(n: usize) -> GrantSet {
    let mut g = GrantSet::default();
    for i in 0..n {
        let path = match i % 3 {
            0 => format!("/srv/app{i}/config.toml"),
            1 => format!("/srv/app{i}/in/*"),
            _ => format!("/srv/app{i}/data/**"),
        };
        g.filesystem.push(FsGrant {
            action: FsAction::ALL[i % 4],
            pattern: PathPattern::parse(&path).unwrap(),
        });
        let host = if i % 2 == 0 {
            format!("api{i}.example.com")
        } else {
            format!("*.svc{i}.example.net")
        };
        g.network.push(NetGrant {
            action: NetAction::Connect,
            host: Some(HostPattern::parse(&host).unwrap()),
            port: Some(443),
        });
    }
    for i in 0..n / 10 + 1 {
        g.process.push(ProcGrant::spawn(&format!("/usr/bin/tool{i}")).unwrap());
    }
    g
}

fn time<F: FnMut(usize) -> bool>(label: &str, iterations: usize, mut f: F) {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut allowed = 0usize;
        for i in 0..iterations {
            allowed += usize::from(black_box(f(i)));
        }
        black_box(allowed);
        best = best.min(start.elapsed().as_nanos() as f64 / iterations as f64);
    }
    println!("{label:<48} {best:>8.1} ns/decision");
}

fn main() {
    for n in [10, 100, 1000] {
        let compiled = CompiledGrants::compile(&grants(n), &Env::default());
        let paths: Vec<String> = (0..1024)
            .map(|i| {
                let j = (i * 7) % n;
                match j % 3 {
                    0 => format!("/srv/app{j}/config.toml"),
                    1 => format!("/srv/app{j}/in/file{i}.csv"),
                    _ => format!("/srv/app{j}/data/a/b/c{i}.bin"),
                }
            })
            .collect();
        let misses: Vec<String> = (0..1024).map(|i| format!("/home/user{i}/secret/file.txt")).collect();
        let hosts: Vec<String> = (0..1024).map(|i| format!("api{}.example.com", (i * 2) % n)).collect();
        let iterations = 2_000_000;
        time(
            &format!("filesystem, {n} grants, allowed or denied by action"),
            iterations,
            |i| {
                compiled
                    .decide(&Request::Fs {
                        action: FsAction::ALL[i % 4],
                        path: &paths[i % 1024],
                    })
                    .allowed
            },
        );
        time(
            &format!("filesystem, {n} grants, outside every grant"),
            iterations,
            |i| {
                compiled
                    .decide(&Request::Fs {
                        action: FsAction::Read,
                        path: &misses[i % 1024],
                    })
                    .allowed
            },
        );
        time(&format!("network connect, {n} grants"), iterations, |i| {
            compiled
                .decide(&Request::Net {
                    action: NetAction::Connect,
                    host: Some(&hosts[i % 1024]),
                    port: Some(443),
                })
                .allowed
        });
        time(&format!("spawn, {n} grants"), iterations, |i| {
            compiled
                .decide(&Request::Spawn {
                    executable: if i % 2 == 0 { "/usr/bin/tool1" } else { "/usr/bin/other" },
                })
                .allowed
        });
    }
}
