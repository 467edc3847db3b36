//! Manifest parsing: bytes as `Manifest::load` reads them, the whole-manifest checks, the
//! default policy's checks, compilation of the grants, and every renderer.
#![no_main]

#[path = "common.rs"]
mod common;

use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};
use airssys_wasm::policy::Env;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sources = Sources::new();
    let policies = PolicySet::default_set(&mut sources).expect("the default policy is valid");
    let parsed = Manifest::from_bytes(&mut sources, "Component.toml", data);
    let mut diagnostics = parsed.diagnostics;
    if let Some(m) = &parsed.manifest {
        diagnostics.extend(policies.check_manifest(m, Date::new(2025, 6, 1).expect("a date")));
        let effective = policies.effective(m, &Env::default());
        std::hint::black_box(effective);
    }
    common::render_all(diagnostics, &sources);
});
