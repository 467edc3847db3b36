//! Helpers shared by the integration tests: snapshot settings (snapshots live in the
//! top-level `snapshots/` folder) and diagnostic rendering without colour.
#![allow(dead_code)]

use airssys_wasm::diagnostics::{Diagnostic, Sources};
use airssys_wasm::report::{human, json};

/// Runs `f` with insta writing to `snapshots/<test-file>__<name>.snap`.
pub fn with_snapshots(f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(f);
}

/// Human rendering, no colour, fixed width.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    human::render(diagnostics, sources, human::Style::default())
}

/// JSON rendering.
pub fn render_json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    json::to_string(&json::JsonReport::new(diagnostics, sources))
}

/// The codes of the diagnostics, sorted and deduplicated.
pub fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    let mut c: Vec<_> = diagnostics.iter().map(|d| d.rule.code).collect();
    c.sort();
    c.dedup();
    c
}
