//! Writes the seed corpora, `fuzz/seeds/TARGET/`, from the repository's fixtures: manifests,
//! policies, request lines, WIT packages, and components (the examples' WAT assembled, and one
//! component per catalogue world, built with a dummy core module). Run from `fuzz/` by
//! `fuzz/run --seeds`. It is built like the targets (with coverage instrumentation, whose
//! runtime is libFuzzer's), so it is a libFuzzer binary that does its work before fuzzing and
//! exits.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airssys_wasm::catalogue::Catalogue;

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

libfuzzer_sys::fuzz_target!(
    init: write_seeds_and_exit(),
    |_data: &[u8]| {}
);

fn write_seeds_and_exit() {
    write_seeds();
    std::process::exit(0)
}

fn write_seeds() {
    let root = Path::new("..");
    let mut seeds: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut add = |target: &'static str, name: String, bytes: Vec<u8>| {
        seeds.entry(target).or_default().push((name, bytes));
    };
    let mut tomls = Vec::new();
    for dir in ["tests/fixtures", "docs/examples", "policies"] {
        files(&root.join(dir), "toml", &mut tomls);
    }
    for p in &tomls {
        let bytes = std::fs::read(p).unwrap();
        let name = p.strip_prefix(root).unwrap().display().to_string().replace('/', "_");
        let is_policy = p.starts_with(root.join("policies"))
            || p.starts_with(root.join("tests/fixtures/policies"))
                && !p.ends_with("Component.toml")
                && !p.ends_with("Wide.toml");
        add(if is_policy { "policy" } else { "manifest" }, name, bytes);
    }
    let requests = std::fs::read_to_string(root.join("tests/fixtures/policies/requests.txt")).unwrap();
    add("request", "requests.txt".into(), requests.clone().into_bytes());
    for (i, line) in requests
        .lines()
        .chain([
            "connect [::1]:8080",
            "connect 0x7f.1:80",
            "bind 8080",
            "resolve EXAMPLE.com.",
            "spawn /usr/bin/../bin/git",
            "signal SIGTERM",
            "read ~/cfg/a.toml",
            "delete /data/./x/../y",
        ])
        .enumerate()
    {
        add("request", format!("line-{i}"), line.as_bytes().to_vec());
    }
    let mut wits = Vec::new();
    for dir in ["tests/fixtures/wit", "docs/examples", "wit"] {
        files(&root.join(dir), "wit", &mut wits);
    }
    for p in &wits {
        let name = p.strip_prefix(root).unwrap().display().to_string().replace('/', "_");
        add("wit", name, std::fs::read(p).unwrap());
    }
    let mut wats = Vec::new();
    files(&root.join("docs/examples"), "wat", &mut wats);
    for p in &wats {
        let text = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let binary = airssys_wasm::component::to_binary(&text).unwrap().into_owned();
        add("component", format!("{name}.wasm"), binary);
        add("component", name, text);
    }
    // One component per catalogue world.
    let catalogue = Catalogue::embedded().unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let mut by_dir: BTreeMap<PathBuf, wit_parser::SourceMap> = BTreeMap::new();
    for (name, text) in &catalogue.files {
        let dir = Path::new(name).parent().unwrap().to_path_buf();
        by_dir.entry(dir).or_default().push_str(name, text.clone());
    }
    let mut groups: Vec<_> = by_dir
        .into_values()
        .map(|m| m.parse().map_err(|(_, e)| e).unwrap())
        .collect();
    let core = groups
        .iter()
        .position(|g: &wit_parser::UnresolvedPackageGroup| g.main.name.name == "core")
        .unwrap();
    let main = groups.remove(core);
    let pkg = resolve.push_groups(main, groups).unwrap();
    let worlds: Vec<(String, wit_parser::WorldId)> = resolve.packages[pkg]
        .worlds
        .iter()
        .map(|(n, id)| (n.clone(), *id))
        .collect();
    for (name, world) in worlds {
        let mut module = wit_component::dummy_module(
            &resolve,
            world,
            wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
        );
        wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)
            .unwrap();
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .unwrap()
            .validate(true)
            .encode()
            .unwrap();
        add("component", format!("world-{name}.wasm"), component);
        add("component", format!("core-{name}.wasm"), module);
    }
    for (target, files) in seeds {
        let dir = Path::new("seeds").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        println!("{target}: {} seeds", files.len());
    }
}
