//! Component reading and classification: bytes (a binary, or WAT text) read as `check` reads
//! them, classified against the embedded catalogue, checked against a fixed manifest, listed
//! as `inspect` lists them, and every renderer.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use airssys_wasm::analyze::{self, ManifestRef};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::{check, component, inspect};
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = r#"
[component]
name = "fuzz-target"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/data/**" }, { action = "write", path = "/tmp/out/*" }]
network = [{ action = "connect", domain = "*.example.com", port = 443 }]
process = [{ action = "spawn", executable = "/usr/bin/git" }]
"#;

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::embedded().expect("the embedded catalogue is valid"))
}

fuzz_target!(|data: &[u8]| {
    let catalogue = catalogue();
    let mut sources = Sources::new();
    let m = Manifest::parse_in(&mut sources, "Component.toml", MANIFEST)
        .into_valid()
        .expect("the fixed manifest is valid");
    let binary = sources.add_binary("fuzz.wasm");
    let artifact = match component::to_binary(data).and_then(|b| component::read(&b)) {
        Ok(a) => a,
        Err(invalid) => {
            common::render_all(vec![check::invalid_binary(binary, &invalid)], &sources);
            return;
        }
    };
    let (interfaces, functions, mut diagnostics) = check::classify(catalogue, &artifact, binary);
    diagnostics.extend(analyze::check_permissions(
        &functions,
        &ManifestRef {
            manifest: &m,
            source: m.source,
        },
        binary,
    ));
    let listing = inspect::inspection("fuzz.wasm", &artifact, &interfaces, &functions);
    std::hint::black_box(inspect::render(&listing));
    std::hint::black_box(inspect::suggest_manifest("fuzz.wasm", &functions));
    common::render_all(diagnostics, &sources);
});
