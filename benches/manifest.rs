//! Benchmark: `manifest` on hostile files just under the 1 MiB limit (issue 12, item 10):
//! thousands of duplicate grants, nested grants, hosts under one wildcard, in-name wildcard
//! patterns (the budgeted comparisons), and a syntax-error storm (one error per `!`). Each is parsed and checked,
//! then rendered as the CLI renders it: human, JSON and GitHub.
//! `cargo bench --bench manifest`; results are recorded in docs/performance.md.

mod support;

use std::hint::black_box;
use std::time::Duration;

use airssys_wasm::diagnostics::{Sources, sort};
use airssys_wasm::manifest::{MAX_MANIFEST_BYTES, Manifest};
use airssys_wasm::report::{github, human, json};
use support::best;

const HEAD: &str = "[component]\nname = \"bench\"\nversion = \"1.0.0\"\n\n[permissions]\n";

/// `key = [` + as many `item(i)` as fit under the limit + `]`.
fn fill(key: &str, item: impl Fn(usize) -> String) -> (String, usize) {
    let mut text = format!("{HEAD}{key} = [\n");
    let mut n = 0;
    loop {
        let next = format!("  {},\n", item(n));
        if text.len() + next.len() + 2 > MAX_MANIFEST_BYTES {
            break;
        }
        text.push_str(&next);
        n += 1;
    }
    text.push_str("]\n");
    (text, n)
}

fn main() {
    let cases: Vec<(&str, String, usize)> = vec![
        {
            let (t, n) = fill("filesystem", |_| "{ action = \"read\", path = \"/data/**\" }".into());
            ("duplicate grants", t, n)
        },
        {
            let (t, n) = fill("filesystem", |i| {
                format!("{{ action = \"read\", path = \"/d/{}**\" }}", "x/".repeat(i % 40))
            });
            ("nested grants", t, n)
        },
        {
            let (t, n) = fill("filesystem", |i| {
                format!("{{ action = \"read\", path = \"/d/a{i}/b\" }}")
            });
            ("distinct paths", t, n)
        },
        {
            let (t, n) = fill("network", |i| {
                format!("{{ action = \"connect\", domain = \"h{i}.example.com\", port = 443 }}")
            });
            ("distinct hosts", t, n)
        },
        {
            let (t, n) = fill("filesystem", |i| {
                format!("{{ action = \"read\", path = \"/d/*{i}*/**/x\" }}")
            });
            ("in-name wildcards", t, n)
        },
        {
            let mut t = format!("{HEAD}x = [");
            while t.len() + 4 < MAX_MANIFEST_BYTES {
                t.push_str("!,");
            }
            t.push_str("]\n");
            let n = 0;
            ("syntax-error storm", t, n)
        },
    ];
    println!(
        "{:<20} {:>9} {:>7} {:>9} {:>11} {:>11} {:>11} {:>11}",
        "input", "bytes", "grants", "findings", "parse+check", "human", "json", "github"
    );
    for (label, text, n) in &cases {
        assert!(text.len() <= MAX_MANIFEST_BYTES, "{label}: {} bytes", text.len());
        let mut sources = Sources::new();
        let mut findings = 0;
        let parse = best(3, || {
            let mut s = Sources::new();
            findings = black_box(Manifest::parse_in(&mut s, "Component.toml", text))
                .diagnostics
                .len();
        });
        let mut d = Manifest::parse_in(&mut sources, "Component.toml", text).diagnostics;
        sort(&mut d, &sources);
        let human = best(3, || {
            black_box(human::render(&d, &sources, human::Style::default()));
        });
        let json = best(3, || {
            black_box(json::to_string(&json::JsonReport::new(&d, &sources)));
        });
        let github = best(3, || {
            black_box(github::render(&d, &sources));
        });
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        println!(
            "{label:<20} {:>9} {n:>7} {findings:>9} {:>11} {:>11} {:>11} {:>11}",
            text.len(),
            ms(parse),
            ms(human),
            ms(json),
            ms(github)
        );
    }
}
