//! The fuzz targets' bodies (`fuzz/targets.rs`) run over their seed corpora (`fuzz/seeds/`) and
//! over every input a fuzzer found to crash or hang them (`fuzz/regressions/TARGET/`, kept after
//! the fix). Each must return normally. The fuzzers themselves run outside `cargo test`
//! (`fuzz/run`, see docs/fuzzing.md).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(dir)
            .join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn run(target: &str, body: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no seeds for `{target}`: run `fuzz/run --seeds`");
    for (name, bytes) in inputs {
        let ok = std::panic::catch_unwind(|| body(&bytes)).is_ok();
        assert!(ok, "the `{target}` target panicked on {name}");
    }
}

#[test]
fn manifest_inputs() {
    run("manifest", targets::manifest);
}

#[test]
fn policy_inputs() {
    run("policy", targets::policy);
}

#[test]
fn request_inputs() {
    run("request", targets::request);
}

#[test]
fn component_inputs() {
    run("component", targets::component);
}

#[test]
fn wit_inputs() {
    run("wit", targets::wit);
}
