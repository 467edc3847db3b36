//! What every target does with its findings: render them in every format, as the CLI would.
#![allow(dead_code)]

use airssys_wasm::diagnostics::{Diagnostic, Sources, sort};
use airssys_wasm::report::{github, human, json, sarif};

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
