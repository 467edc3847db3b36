//! The fuzz targets' bodies, shared by the libFuzzer binaries (`fuzz_targets/*.rs`) and by the
//! main test suite (`tests/fuzz_regressions.rs`), which runs them over the seed corpora and every
//! crasher kept in `fuzz/regressions/`. Each takes arbitrary bytes; none may panic.
#![allow(dead_code)]

use std::sync::OnceLock;

use airssys_wasm::analyze::{self, ManifestRef};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::{Diagnostic, Sources, sort};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet, parse_request};
use airssys_wasm::policy::Env;
use airssys_wasm::report::{github, human, json, sarif};
use airssys_wasm::{check, component, inspect, wit_world};

/// Sorts and renders `diagnostics` in the human (narrow and wide), JSON, SARIF and GitHub
/// formats, so that a renderer's panic on some input is found with the parser's.
pub fn render_all(mut diagnostics: Vec<Diagnostic>, sources: &Sources) {
    sort(&mut diagnostics, sources);
    for (color, width) in [(false, 100), (true, 40)] {
        let out = human::render(&diagnostics, sources, human::Style { color, width });
        std::hint::black_box(out);
    }
    std::hint::black_box(json::to_string(&json::JsonReport::new(&diagnostics, sources)));
    std::hint::black_box(sarif::render(&diagnostics, sources));
    std::hint::black_box(github::render(&diagnostics, sources));
}

/// The fuzzer's set-up: libFuzzer's panic hook aborts at once, before `catch_unwind` could
/// catch anything; a panic that `airssys_wasm::guard` catches (a third-party parser's, turned
/// into a finding) is let through to be caught, every other panic still aborts (a crash).
pub fn init() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !airssys_wasm::guard::active() {
            abort(info);
        }
    }));
}

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::embedded().expect("the embedded catalogue is valid"))
}

fn today() -> Date {
    Date::new(2025, 6, 1).expect("a date")
}

/// Manifest parsing: bytes as `Manifest::load` reads them, the whole-manifest checks, the
/// default policy's checks, compilation of the grants, and every renderer.
pub fn manifest(data: &[u8]) {
    let mut sources = Sources::new();
    let policies = PolicySet::default_set(&mut sources).expect("the default policy is valid");
    let parsed = Manifest::from_bytes(&mut sources, "Component.toml", data);
    let mut diagnostics = parsed.diagnostics;
    if let Some(m) = &parsed.manifest {
        diagnostics.extend(policies.check_manifest(m, today()));
        let effective = policies.effective(m, &Env::default());
        std::hint::black_box(effective);
    }
    render_all(diagnostics, &sources);
}

const POLICY_MANIFEST: &str = r#"
[component]
name = "fuzz-target"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/data/**" }, { action = "write", path = "/tmp/out/*" }]
network = [{ action = "connect", domain = "*.example.com", port = 443 }, { action = "bind", port = 8080 }]
process = [{ action = "spawn", executable = "/usr/bin/git" }, { action = "signal", signal = "SIGTERM" }]
"#;

/// Policy parsing: one policy file (which may extend the built-in policies), checked against
/// a fixed manifest, compiled for run time, and every renderer.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let m = Manifest::parse_in(&mut sources, "Component.toml", POLICY_MANIFEST)
        .into_valid()
        .expect("the fixed manifest is valid");
    match PolicySet::from_texts(&mut sources, &[("policy.toml", text)]) {
        Ok(set) => {
            let diagnostics = set.check_manifest(&m, today());
            std::hint::black_box(set.effective(&m, &Env::default()));
            render_all(diagnostics, &sources);
        }
        Err(e) => render_all(e.diagnostics, &sources),
    }
}

const REQUEST_MANIFEST: &str = r#"
[component]
name = "fuzz-target"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/data/**" }, { action = "write", path = "/tmp/out/*" },
              { action = "read", path = "~/cfg/*.toml" }]
network = [{ action = "connect", domain = "*.example.com", port = 443 }, { action = "bind", port = 8080 },
           { action = "connect", domain = "10.0.0.1", port = 22 }, { action = "resolve", domain = "**" }]
process = [{ action = "spawn", executable = "/usr/bin/git" }, { action = "signal", signal = "SIGTERM" }]
"#;

/// Request parsing (`explain-request`): each line parsed, normalised, decided against a fixed
/// manifest under the default policy, and its error message formatted.
pub fn request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let set = PolicySet::default_set(&mut sources).expect("the default policy is valid");
    let m = Manifest::parse_in(&mut sources, "Component.toml", REQUEST_MANIFEST)
        .into_valid()
        .expect("the fixed manifest is valid");
    let effective = set.effective(&m, &Env::default());
    for line in text.lines() {
        match parse_request(line) {
            Ok(req) => {
                std::hint::black_box(req.normalized());
                std::hint::black_box(effective.decide(&req.as_request()));
            }
            Err(e) => {
                std::hint::black_box(e.to_string());
            }
        }
    }
}

const COMPONENT_MANIFEST: &str = r#"
[component]
name = "fuzz-target"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/data/**" }, { action = "write", path = "/tmp/out/*" }]
network = [{ action = "connect", domain = "*.example.com", port = 443 }]
process = [{ action = "spawn", executable = "/usr/bin/git" }]
"#;

/// Component reading and classification: bytes (a binary, or WAT text) read as `check` reads
/// them, classified against the embedded catalogue, checked against a fixed manifest, listed
/// as `inspect` lists them, and every renderer.
pub fn component(data: &[u8]) {
    let catalogue = catalogue();
    let mut sources = Sources::new();
    let m = Manifest::parse_in(&mut sources, "Component.toml", COMPONENT_MANIFEST)
        .into_valid()
        .expect("the fixed manifest is valid");
    let binary = sources.add_binary("fuzz.wasm");
    let artifact = match component::to_binary(data).and_then(|b| component::read(&b)) {
        Ok(a) => a,
        Err(invalid) => {
            render_all(vec![check::invalid_binary(binary, &invalid)], &sources);
            return;
        }
    };
    let c = check::classify(catalogue, &artifact, binary);
    let (interfaces, functions, mut diagnostics) = (c.imports, c.functions, c.diagnostics);
    diagnostics.extend(analyze::permission_findings(
        &functions,
        &ManifestRef {
            manifest: &m,
            source: m.source,
        },
        binary,
    ));
    let listing = inspect::inspection("fuzz.wasm", &artifact, c.kind, &interfaces, &functions);
    std::hint::black_box(inspect::render(&listing));
    std::hint::black_box(inspect::suggest_manifest("fuzz.wasm", &functions));
    render_all(diagnostics, &sources);
}

/// WIT checking (`airssys-wasm wit`): the input is one `.wit` file of the author's package,
/// resolved with the catalogue and checked against it, then every renderer.
pub fn wit(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let input = vec![vec![("world.wit".to_string(), text.to_string())]];
    let diagnostics = wit_world::check_files(catalogue(), input, None, &mut sources);
    render_all(diagnostics, &sources);
}
