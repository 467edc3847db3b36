//! Helpers shared by the integration tests: snapshot settings (snapshots live in the
//! top-level `snapshots/` folder) and diagnostic rendering without colour.
#![allow(dead_code)]

pub mod crate_dir;
pub mod fixtures;
pub mod sarif_schema;
pub mod toolchain;

use airssys_wasm::diagnostics::{Diagnostic, Sources};
use airssys_wasm::report::{human, json};

/// The operations the bundled example component (docs/examples/csv-export) imports.
pub const CSV_EXPORT_USES: &[&str] = &[
    "filesystem.read-file",
    "filesystem.list-dir",
    "filesystem.write-file",
    "connection.resolve",
    "connection.connect-host",
    "socket.send",
    "socket.close-socket",
    "host-services.log",
];

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

/// Builds a component for `world` in a WIT package written against the catalogue (whose
/// packages are resolved first), with `wit_component::dummy_module` as its core module.
pub fn component(wit: &str, world: &str) -> Vec<u8> {
    let (resolve, world) = resolve_world(wit, world);
    encode(&resolve, world)
}

/// The catalogue plus `wit`, resolved; returns the world's id.
pub fn resolve_world(wit: &str, world: &str) -> (wit_parser::Resolve, wit_parser::WorldId) {
    resolve_world_with(&[], wit, world)
}

/// The catalogue, then `packages`, then `wit`, resolved; returns the world's id.
pub fn resolve_world_with(packages: &[&str], wit: &str, world: &str) -> (wit_parser::Resolve, wit_parser::WorldId) {
    let catalogue = airssys_wasm::catalogue::Catalogue::embedded().unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let mut groups = Vec::new();
    let mut last_dir = None;
    let mut map = wit_parser::SourceMap::new();
    for (name, text) in &catalogue.files {
        let dir = std::path::Path::new(name).parent().map(|p| p.to_path_buf());
        if last_dir.is_some() && last_dir != dir {
            groups.push(std::mem::take(&mut map).parse().map_err(|(_, e)| e).unwrap());
        }
        last_dir = dir;
        map.push_str(name, text.clone());
    }
    groups.push(map.parse().map_err(|(_, e)| e).unwrap());
    let main = groups.remove(0);
    resolve.push_groups(main, groups).unwrap();
    for (i, package) in packages.iter().enumerate() {
        resolve.push_str(format!("package-{i}.wit"), package).unwrap();
    }
    let pkg = resolve.push_str("test.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    (resolve, world)
}

/// A component exporting the lifecycle and importing exactly `ops` (`"filesystem.read-file"`,
/// `"host-services.log"`), at the catalogue's versions, plus any `extra` WIT world items.
/// Real toolchains import only the functions a component uses; so does this.
pub fn component_importing(ops: &[&str], extra_wit: &str, extra_items: &str) -> Vec<u8> {
    component_importing_with(&[], ops, extra_wit, extra_items)
}

/// [`component_importing`], with other packages (`packages`, each a WIT package's text, such as
/// WASI interfaces) resolved before the component's, so that `extra_items` can import them.
pub fn component_importing_with(packages: &[&str], ops: &[&str], extra_wit: &str, extra_items: &str) -> Vec<u8> {
    let catalogue = airssys_wasm::catalogue::Catalogue::embedded().unwrap();
    let mut imports = String::new();
    let mut interfaces: Vec<&str> = ops.iter().map(|o| o.split('.').next().unwrap()).collect();
    interfaces.dedup();
    for iface in &interfaces {
        let op = catalogue
            .operations
            .iter()
            .find(|o| o.interface == *iface)
            .expect("a catalogue interface");
        imports.push_str(&format!("    import {};\n", op.interface_name()));
    }
    let wit = format!(
        "package test:app@0.1.0;\n{extra_wit}\nworld app {{\n    export airssys:core/component-lifecycle@1.0.0;\n{imports}{extra_items}}}\n"
    );
    let (mut resolve, world) = resolve_world_with(packages, &wit, "app");
    keep_only(&mut resolve, ops);
    encode(&resolve, world)
}

/// Drops the functions of the interfaces named in `ops` (`"filesystem.read-file"`) that `ops`
/// does not name (the lifecycle export keeps every function).
pub fn keep_only(resolve: &mut wit_parser::Resolve, ops: &[&str]) {
    let keep: Vec<(&str, &str)> = ops.iter().map(|o| o.split_once('.').unwrap()).collect();
    for (_, iface) in resolve.interfaces.iter_mut() {
        let Some(name) = iface.name.clone() else { continue };
        if keep.iter().any(|(i, _)| *i == name) && name != "component-lifecycle" {
            iface
                .functions
                .retain(|f, _| keep.iter().any(|(i, k)| *i == name && k == f));
        }
    }
}

/// Encodes a component for `world` with a dummy core module.
pub fn encode(resolve: &wit_parser::Resolve, world: wit_parser::WorldId) -> Vec<u8> {
    let module = wit_component::dummy_module(
        resolve,
        world,
        wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
    );
    encode_core(module, resolve, world)
}

/// Encodes a component for `world` around the core module `module` (validated).
pub fn encode_core(mut module: Vec<u8>, resolve: &wit_parser::Resolve, world: wit_parser::WorldId) -> Vec<u8> {
    wit_component::embed_component_metadata(&mut module, resolve, world, wit_component::StringEncoding::UTF8).unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}
