//! `airssys-wasm wit`: a component author's WIT checked against the catalogue. Static cases are
//! folders under tests/fixtures/wit/; cases that need a modified copy of a catalogue package in
//! `deps/` are generated from `wit/` into a temporary directory.

mod common;

use std::path::Path;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::wit_world::check_path;

fn run(path: &Path) -> (Vec<&'static str>, String) {
    let catalogue = Catalogue::embedded().unwrap();
    let mut sources = Sources::new();
    let mut diags = check_path(&catalogue, path, None, &mut sources).unwrap();
    airssys_wasm::diagnostics::sort(&mut diags, &sources);
    let rendered = common::render(&diags, &sources);
    let tmp = std::env::temp_dir().display().to_string();
    let rendered = rendered
        .lines()
        .map(|l| l.replace(&tmp, "<tmp>"))
        .collect::<Vec<_>>()
        .join("\n");
    (common::codes(&diags), redact_tempdir(&rendered))
}

/// Temporary directory names are random; replace `<tmp>/.tmpXXXXXX` with `<tmp>`.
fn redact_tempdir(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("<tmp>/.tmp") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 10..];
        rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    }
    out.push_str(rest);
    out
}

#[test]
fn static_fixtures() {
    let cases = [
        ("good", vec![]),
        ("unknown-import", vec!["WIT002"]),
        ("version-mismatch", vec!["WIT004"]),
        ("missing-lifecycle", vec!["WIT005"]),
        ("syntax-error", vec!["WIT001"]),
        ("no-world", vec!["WIT006"]),
        ("interface-typo", vec!["WIT002"]),
    ];
    common::with_snapshots(|| {
        for (name, want) in cases {
            let (codes, rendered) = run(&Path::new("tests/fixtures/wit").join(name));
            assert_eq!(codes, want, "{name}:\n{rendered}");
            insta::assert_snapshot!(format!("wit-{name}"), rendered);
        }
    });
}

/// A package directory with `world.wit` and a copy of a catalogue package in `deps/`,
/// rewritten by `edit`.
fn with_vendored(world: &str, package: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("world.wit"), world).unwrap();
    let dep = dir.path().join("deps").join(package);
    std::fs::create_dir_all(&dep).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit").join(package);
    for f in std::fs::read_dir(src).unwrap() {
        let f = f.unwrap().path();
        let text = std::fs::read_to_string(&f).unwrap();
        std::fs::write(dep.join(f.file_name().unwrap()), edit(text)).unwrap();
    }
    dir
}

const FS_WORLD: &str = "package example:fs@0.1.0;\n\nworld app {\n    include airssys:core/component@1.0.0;\n    import airssys:ext-filesystem/filesystem@1.0.0;\n}\n";

#[test]
fn vendored_identical_copy_is_clean() {
    let dir = with_vendored(FS_WORLD, "ext-filesystem", |t| t);
    assert_eq!(run(dir.path()).0, Vec::<&str>::new());
}

#[test]
fn wrong_signature_in_a_vendored_copy() {
    let dir = with_vendored(FS_WORLD, "ext-filesystem", |t| {
        t.replace(
            "read-file: func(path: string) -> result<list<u8>, fs-error>;",
            "read-file: func(path: string, limit: u32) -> result<list<u8>, fs-error>;",
        )
    });
    let (codes, rendered) = run(dir.path());
    assert_eq!(codes, ["WIT003"], "{rendered}");
    assert!(rendered.contains("read-file"), "{rendered}");
    common::with_snapshots(|| insta::assert_snapshot!("wit-wrong-signature", rendered));
}

#[test]
fn changed_record_field_type_is_a_signature_mismatch() {
    let dir = with_vendored(FS_WORLD, "ext-filesystem", |t| t.replacen("u64", "u32", 1));
    let (codes, rendered) = run(dir.path());
    assert_eq!(codes, ["WIT003"], "{rendered}");
}

#[test]
fn extra_operation_in_a_vendored_copy_is_outside_the_catalogue() {
    let dir = with_vendored(FS_WORLD, "ext-filesystem", |t| {
        t.replace(
            "interface filesystem {",
            "interface filesystem {\n    /// Formats the disk.\n    format-disk: func();\n",
        )
    });
    assert_eq!(run(dir.path()).0, ["WIT002"]);
}

#[test]
fn semver_compatible_vendored_version_links() {
    let world = FS_WORLD.replace("filesystem@1.0.0", "filesystem@1.2.0");
    let dir = with_vendored(&world, "ext-filesystem", |t| t.replace("@1.0.0", "@1.2.0"));
    let (codes, rendered) = run(dir.path());
    assert!(codes.is_empty(), "{rendered}");
}

#[test]
fn incompatible_vendored_version_is_reported() {
    let world = FS_WORLD.replace("filesystem@1.0.0", "filesystem@2.0.0");
    let dir = with_vendored(&world, "ext-filesystem", |t| t.replace("@1.0.0", "@2.0.0"));
    assert_eq!(run(dir.path()).0, ["WIT004"]);
}

#[test]
fn mistyped_lifecycle_export() {
    let world = "package example:life@0.1.0;\n\nworld app {\n    include airssys:core/component@1.0.0;\n}\n";
    let dir = with_vendored(world, "core", |t| {
        t.replace(
            "execute: func(input: list<u8>) -> result<list<u8>, component-error>;",
            "execute: func(input: string) -> result<list<u8>, component-error>;",
        )
    });
    // core depends on the extension packages: the catalogue supplies them.
    let (codes, rendered) = run(dir.path());
    assert_eq!(codes, ["WIT003"], "{rendered}");
    common::with_snapshots(|| insta::assert_snapshot!("wit-mistyped-lifecycle", rendered));
}
