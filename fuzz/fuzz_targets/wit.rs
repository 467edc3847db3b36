//! WIT checking (`airssys-wasm wit`): the input is one `.wit` file of the author's package,
//! resolved with the catalogue and checked against it, then every renderer.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::witcheck;
use libfuzzer_sys::fuzz_target;

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::embedded().expect("the embedded catalogue is valid"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let input = vec![vec![("world.wit".to_string(), text.to_string())]];
    let diagnostics = witcheck::check_files(catalogue(), input, None, &mut sources);
    common::render_all(diagnostics, &sources);
});
