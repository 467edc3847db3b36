//! The source directory of a dependency, found through `cargo metadata` (for the WIT files that
//! wasmtime-wasi and wasmtime-wasi-http ship). Shared by the tests and `benches/runtime.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory of the dependency `name`'s `Cargo.toml`.
pub fn dependency_dir(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the dependency graph"))["manifest_path"]
        .as_str()
        .expect("manifest path")
        .to_string();
    Path::new(&manifest).parent().expect("crate directory").to_path_buf()
}
