//! Policy parsing: one policy file (which may extend the built-in policies), checked against
//! a fixed manifest, compiled for run time, and every renderer.
#![no_main]

#[path = "common.rs"]
mod common;

use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};
use airssys_wasm::policy::Env;
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = r#"
[component]
name = "fuzz-target"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/data/**" }, { action = "write", path = "/tmp/out/*" }]
network = [{ action = "connect", domain = "*.example.com", port = 443 }, { action = "bind", port = 8080 }]
process = [{ action = "spawn", executable = "/usr/bin/git" }, { action = "signal", signal = "SIGTERM" }]
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let m = Manifest::parse_in(&mut sources, "Component.toml", MANIFEST)
        .into_valid()
        .expect("the fixed manifest is valid");
    match PolicySet::from_texts(&mut sources, &[("policy.toml", text)]) {
        Ok(set) => {
            let diagnostics = set.check_manifest(&m, Date::new(2025, 6, 1).expect("a date"));
            std::hint::black_box(set.effective(&m, &Env::default()));
            common::render_all(diagnostics, &sources);
        }
        Err(e) => common::render_all(e.diagnostics, &sources),
    }
});
