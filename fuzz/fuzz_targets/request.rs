//! Request parsing (`explain-request`): each line parsed, normalised, decided against a fixed
//! manifest under the default policy, and its error message formatted.
#![no_main]

use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{PolicySet, parse_request};
use airssys_wasm::policy::Env;
use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = r#"
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let set = PolicySet::default_set(&mut sources).expect("the default policy is valid");
    let m = Manifest::parse_in(&mut sources, "Component.toml", MANIFEST)
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
});
