//! `check` and `inspect` on components built here from WIT and WAT: one fixture per finding,
//! clean components for each extension package, WASI components, malformed inputs, a batch of
//! 200, the differential test against wit-component's decoder and the suggestion round trip.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airssys_wasm::analyze::ComponentKind;
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::report::{json, sarif};

/// A fixture: the artifact's bytes (or WAT text), its file extension, its manifest, and the
/// codes `check` must report.
struct Fixture {
    name: &'static str,
    bytes: Vec<u8>,
    ext: &'static str,
    manifest: Option<String>,
    want: &'static [&'static str],
    /// The kinds `check --kind` accepts (empty: every kind).
    kinds: Vec<ComponentKind>,
}

fn manifest(perms: &str) -> Option<String> {
    Some(format!(
        "[component]\nname = \"fixture\"\nversion = \"0.1.0\"\n\n[permissions]\n{perms}"
    ))
}

fn ops(list: &[&str]) -> Vec<u8> {
    common::component_importing(list, "", "")
}

/// A component importing `import` from a package defined in `nested` WIT.
fn with_package(nested: &str, import: &str) -> Vec<u8> {
    common::component_importing(&["host-services.log"], nested, &format!("    import {import};\n"))
}

/// A component importing `wasi:filesystem/types@0.2.0` with `methods` on `descriptor`, and
/// `wasi:filesystem/preopens@0.2.0` too when `preopens`.
fn with_wasi_filesystem(methods: &str, preopens: bool) -> Vec<u8> {
    let package = format!(
        "package wasi:filesystem@0.2.0 {{\n    interface types {{\n        resource descriptor {{\n{methods}        }}\n    }}\n    interface preopens {{\n        use types.{{descriptor}};\n        get-directories: func() -> list<tuple<descriptor, string>>;\n    }}\n}}\n"
    );
    let mut imports = "    import wasi:filesystem/types@0.2.0;\n".to_string();
    if preopens {
        imports.push_str("    import wasi:filesystem/preopens@0.2.0;\n");
    }
    common::component_importing(&["host-services.log"], &package, &imports)
}

fn fixtures() -> Vec<Fixture> {
    let f = |name, bytes, manifest, want| Fixture {
        name,
        bytes,
        ext: "wasm",
        manifest,
        want,
        kinds: Vec::new(),
    };
    let wat = |name, text: &str, manifest, want| Fixture {
        name,
        bytes: text.as_bytes().to_vec(),
        ext: "wat",
        manifest,
        want,
        kinds: Vec::new(),
    };
    let clean_fs = ops(&[
        "filesystem.read-file",
        "filesystem.write-file",
        "metadata.stat",
        "host-services.log",
    ]);
    let mut truncated = clean_fs.clone();
    truncated.truncate(truncated.len() / 2);
    vec![
        f(
            "clean-filesystem",
            clean_fs.clone(),
            manifest(
                "filesystem = [\n  { action = \"read\", path = \"/data/in/**\" },\n  { action = \"write\", path = \"/data/out/**\" },\n  { action = \"metadata\", path = \"/data/**\" },\n]\n",
            ),
            &[],
        ),
        f(
            "clean-network",
            ops(&[
                "connection.resolve",
                "connection.connect-host",
                "socket.send",
                "socket.create-socket",
            ]),
            manifest(
                "network = [\n  { action = \"resolve\", domain = \"api.example.com\" },\n  { action = \"connect\", domain = \"api.example.com\", port = 443 },\n]\n",
            ),
            &[],
        ),
        f(
            "clean-process",
            ops(&[
                "lifecycle.spawn",
                "lifecycle.wait",
                "lifecycle.kill",
                "signals.send-term",
            ]),
            manifest(
                "process = [\n  { action = \"spawn\", executable = \"/usr/bin/git\" },\n  { action = \"signal\", signal = \"SIGKILL\" },\n  { action = \"signal\", signal = \"SIGTERM\" },\n]\n",
            ),
            &[],
        ),
        f(
            "undeclared-permission",
            ops(&["filesystem.write-file"]),
            manifest("filesystem = [{ action = \"read\", path = \"/data/**\" }]\n"),
            &["CMP002", "CMP003"],
        ),
        f(
            "unused-grant",
            ops(&["filesystem.read-file"]),
            manifest(
                "filesystem = [{ action = \"read\", path = \"/data/**\" }]\nnetwork = [{ action = \"connect\", domain = \"api.example.com\", port = 443 }]\n",
            ),
            &["CMP003"],
        ),
        f(
            "risky-remove-dir-all",
            ops(&["filesystem.remove-dir-all"]),
            manifest("filesystem = [{ action = \"delete\", path = \"/**\" }]\n"),
            &["CMP004", "MAN019"],
        ),
        f(
            "risky-spawn-shell",
            ops(&["lifecycle.spawn-shell"]),
            manifest("process = [{ action = \"spawn\", executable = \"/bin/sh\" }]\n"),
            &["CMP004"],
        ),
        f(
            "literal-signal-not-granted",
            ops(&["lifecycle.kill"]),
            manifest("process = [{ action = \"signal\", signal = \"SIGTERM\" }]\n"),
            &["CMP002", "CMP003"],
        ),
        f(
            "outside-catalogue",
            with_package(
                "package example:evil@1.0.0 {\n    interface backdoor {\n        open-door: func();\n    }\n}\n",
                "example:evil/backdoor@1.0.0",
            ),
            manifest(""),
            &["WIT002"],
        ),
        f(
            "unknown-operation",
            with_package(
                "package airssys:ext-filesystem@1.0.1 {\n    interface filesystem {\n        format-disk: func();\n    }\n}\n",
                "airssys:ext-filesystem/filesystem@1.0.1",
            ),
            manifest(""),
            &["WIT002"],
        ),
        f(
            "incompatible-version",
            with_package(
                "package airssys:ext-network@2.0.0 {\n    interface socket {\n        connect: func(host: string);\n    }\n}\n",
                "airssys:ext-network/socket@2.0.0",
            ),
            manifest(""),
            &["WIT004"],
        ),
        f(
            "signature-mismatch-on-a-version-bump",
            with_package(
                "package airssys:ext-filesystem@1.0.2 {\n    interface filesystem {\n        read-file: func(path: string, limit: u32) -> list<u8>;\n    }\n}\n",
                "airssys:ext-filesystem/filesystem@1.0.2",
            ),
            manifest(""),
            &["CMP002", "WIT003"],
        ),
        Fixture {
            kinds: vec![ComponentKind::Airssys],
            ..f(
                "missing-lifecycle",
                common::component(
                    "package test:app@0.1.0;\nworld app {\n    import airssys:core/host-services@1.0.0;\n}\n",
                    "app",
                ),
                manifest(""),
                &["WIT005"],
            )
        },
        f(
            "library-without-lifecycle",
            common::component(
                "package test:app@0.1.0;\nworld app {\n    import airssys:core/host-services@1.0.0;\n}\n",
                "app",
            ),
            manifest(""),
            &[],
        ),
        Fixture {
            kinds: vec![ComponentKind::Airssys, ComponentKind::WasiCommand],
            ..f(
                "disallowed-kind",
                common::component(
                    "package test:app@0.1.0;\nworld app {\n    import airssys:core/host-services@1.0.0;\n}\n",
                    "app",
                ),
                manifest(""),
                &["CMP010"],
            )
        },
        f(
            "mistyped-lifecycle",
            common::component(
                "package test:app@0.1.0;\npackage airssys:core@1.0.1 {\n    interface component-lifecycle {\n        init: func();\n    }\n}\nworld app {\n    export airssys:core/component-lifecycle@1.0.1;\n}\n",
                "app",
            ),
            manifest(""),
            &["WIT003"],
        ),
        f(
            "bare-function-import",
            common::component_importing(&["host-services.log"], "", "    import shout: func(message: string);\n"),
            manifest(""),
            &["WIT002"],
        ),
        wat(
            "core-module",
            "(module\n  (import \"airssys:ext-filesystem/filesystem@1.0.0\" \"write-file\" (func (param i32 i32 i32 i32 i32)))\n)\n",
            manifest(""),
            &["CMP002", "CMP005"],
        ),
        wat(
            "case-variant-names",
            "(module\n  (import \"AIRSSYS:EXT-FILESYSTEM/FILESYSTEM@1.0.0\" \"WRITE-FILE\" (func))\n)\n",
            manifest(""),
            &["CMP002", "CMP005"],
        ),
        wat(
            "versionless-import",
            "(module\n  (import \"airssys:ext-filesystem/filesystem\" \"write-file\" (func))\n)\n",
            manifest(""),
            &["CMP005", "WIT004"],
        ),
        wat(
            "non-interface-import-name",
            "(module\n  (import \"https://evil.example/x\" \"f\" (func))\n)\n",
            manifest(""),
            &["CMP005", "CMP006"],
        ),
        f(
            "wasi-http-undeclared",
            with_package(
                "package wasi:http@0.2.0 {\n    interface outgoing-handler {\n        handle: func(url: string) -> u32;\n    }\n}\n",
                "wasi:http/outgoing-handler@0.2.0",
            ),
            manifest(""),
            &["CMP002"],
        ),
        f(
            "wasi-http-granted",
            with_package(
                "package wasi:http@0.2.0 {\n    interface outgoing-handler {\n        handle: func(url: string) -> u32;\n    }\n}\n",
                "wasi:http/outgoing-handler@0.2.0",
            ),
            manifest("network = [{ action = \"connect\", domain = \"api.example.com\", port = 443 }]\n"),
            &[],
        ),
        f(
            "wasi-filesystem-delete",
            with_wasi_filesystem("            unlink-file-at: func(path: string);\n", true),
            manifest("filesystem = [{ action = \"read\", path = \"/data/**\" }]\n"),
            &["CMP002", "CMP003"],
        ),
        // Without `preopens` the component holds no descriptor: nothing to delete.
        f(
            "wasi-filesystem-without-preopens",
            with_wasi_filesystem("            unlink-file-at: func(path: string);\n", false),
            manifest(""),
            &[],
        ),
        f(
            "wasi-unmapped",
            with_package(
                "package wasi:keyvalue@0.2.0 {\n    interface store {\n        get: func(key: string) -> option<list<u8>>;\n    }\n}\n",
                "wasi:keyvalue/store@0.2.0",
            ),
            manifest(""),
            &["CMP006"],
        ),
        f("invalid-binary", truncated, manifest(""), &["CMP001"]),
        f("missing-manifest", clean_fs, None, &["CMP007"]),
    ]
}

/// Writes a fixture as `<dir>/<name>.<ext>` with its manifest as `<dir>/<name>.toml`.
fn write(dir: &Path, fx: &Fixture) -> PathBuf {
    let path = dir.join(format!("{}.{}", fx.name, fx.ext));
    std::fs::write(&path, &fx.bytes).unwrap();
    if let Some(m) = &fx.manifest {
        std::fs::write(dir.join(format!("{}.toml", fx.name)), m).unwrap();
    }
    path
}

fn codes(report: &check::Report) -> Vec<&'static str> {
    common::codes(&report.diagnostics)
}

fn redact(s: &str, dir: &Path) -> String {
    s.replace(&dir.display().to_string(), "<tmp>")
}

#[test]
fn every_finding_has_a_fixture_with_snapshots() {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::with_snapshots(|| {
        for fx in fixtures() {
            let path = write(dir.path(), &fx);
            let options = Options {
                kinds: fx.kinds.clone(),
                ..Options::default()
            };
            let report = check::check(&catalogue, &[path], &options).unwrap();
            let human = common::render(&report.diagnostics, &report.sources);
            assert_eq!(codes(&report), fx.want, "{}:\n{human}", fx.name);
            let json = json::to_string(&json::BatchReport::new(
                &report.diagnostics,
                &report.sources,
                &report.components,
                &report.kinds,
            ));
            insta::assert_snapshot!(format!("{}-human", fx.name), redact(&human, dir.path()));
            insta::assert_snapshot!(format!("{}-json", fx.name), redact(&json, dir.path()));
            insta::assert_snapshot!(
                format!("{}-sarif", fx.name),
                redact(&sarif_without_rules(&report), dir.path())
            );
        }
    });
}

/// The SARIF log with its rule list (the whole registry, tested in tests/sarif.rs) replaced by
/// its length, so that adding a rule does not touch every fixture's snapshot.
fn sarif_without_rules(report: &check::Report) -> String {
    let mut log: serde_json::Value = serde_json::from_str(&sarif::render_batch(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
    ))
    .unwrap();
    let rules = &mut log["runs"][0]["tool"]["driver"]["rules"];
    let n = rules.as_array().map_or(0, Vec::len);
    assert_eq!(n, airssys_wasm::diagnostics::RULES.len());
    *rules = serde_json::json!("<every rule of the registry>");
    json::to_string(&log)
}

#[test]
fn findings_point_at_the_import_and_the_manifest_entry() {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures()
        .into_iter()
        .find(|f| f.name == "risky-remove-dir-all")
        .unwrap();
    let path = write(dir.path(), &fx);
    let report = check::check(&catalogue, std::slice::from_ref(&path), &Options::default()).unwrap();
    let d = report.diagnostics.iter().find(|d| d.rule.code == "CMP004").unwrap();
    let primary = d.primary.as_ref().unwrap();
    assert_eq!(report.sources.get(primary.source).name, path.display().to_string());
    let bytes = &fx.bytes[primary.span.clone()];
    assert_eq!(
        bytes, b"airssys:ext-filesystem/filesystem@1.0.0",
        "the span covers the import name in the binary"
    );
    let secondary = &d.secondary[0];
    let text = report.sources.get(secondary.source).text.clone().unwrap();
    assert_eq!(&text[secondary.span.clone()], "{ action = \"delete\", path = \"/**\" }");
}

/// `inspect --format json` lists exactly the imports wit-component decodes from the bytes.
#[test]
fn inspect_imports_equal_the_decoded_world() {
    let dir = tempfile::tempdir().unwrap();
    for fx in fixtures()
        .into_iter()
        .filter(|f| f.ext == "wasm" && f.name != "invalid-binary")
    {
        let path = write(dir.path(), &fx);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(["inspect", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            fx.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let listed: BTreeMap<String, Vec<String>> = v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["functions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["name"].as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect();
        let wit_component::DecodedWasm::Component(resolve, world) = wit_component::decode(&fx.bytes).unwrap() else {
            panic!("a component")
        };
        let mut decoded: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, item) in &resolve.worlds[world].imports {
            let name = resolve.name_world_key(key);
            match item {
                wit_parser::WorldItem::Interface { id, .. } => {
                    decoded.insert(name, resolve.interfaces[*id].functions.keys().cloned().collect());
                }
                wit_parser::WorldItem::Function(f) => {
                    decoded.insert(name, vec![f.name.clone()]);
                }
                wit_parser::WorldItem::Type { .. } => {}
            }
        }
        assert_eq!(listed, decoded, "{}", fx.name);
    }
}

/// Fills the placeholders of a suggested manifest with plausible values.
fn fill(suggestion: &str) -> String {
    suggestion
        .replace("\"<fill in: path>\"", "\"/data/**\"")
        .replace("\"<fill in: host>\"", "\"api.example.com\"")
        .replace("\"<fill in: port>\"", "443")
        .replace("\"<fill in: executable>\"", "\"/usr/bin/git\"")
        .replace("\"<fill in: signal>\"", "\"SIGUSR1\"")
}

#[test]
fn suggested_manifests_round_trip() {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for fx in fixtures().into_iter().filter(|f| f.name != "invalid-binary") {
        let path = write(dir.path(), &fx);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(["inspect", "--suggest-manifest"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", fx.name);
        let suggestion = String::from_utf8(out.stdout).unwrap();
        // Left unfilled, the placeholders are refused rather than granting anything.
        let unfilled = airssys_wasm::manifest::Manifest::parse("s.toml", &suggestion);
        assert_eq!(
            suggestion.contains("\"<fill in:"),
            unfilled.has_errors(),
            "{}:\n{suggestion}",
            fx.name
        );
        std::fs::write(dir.path().join(format!("{}.toml", fx.name)), fill(&suggestion)).unwrap();
        let report = check::check(&catalogue, &[path], &Options::default()).unwrap();
        let bad: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| ["CMP002", "CMP003", "CMP007"].contains(&d.rule.code) || d.rule.code.starts_with("MAN"))
            .collect();
        assert!(
            bad.is_empty(),
            "{}:\n{}\n{}",
            fx.name,
            fill(&suggestion),
            common::render(&report.diagnostics, &report.sources)
        );
    }
}

#[test]
fn batch_of_200_equals_one_by_one() {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let menu = [
        "filesystem.read-file",
        "filesystem.write-file",
        "filesystem.delete-file",
        "connection.resolve",
        "socket.connect",
        "lifecycle.spawn",
        "signals.send-kill",
        "metadata.stat",
    ];
    let grants = [
        "{ action = \"read\", path = \"/data/**\" }",
        "{ action = \"write\", path = \"/out/*\" }",
        "{ action = \"delete\", path = \"/**\" }",
    ];
    let mut components = Vec::new();
    for i in 0..200usize {
        let chosen: Vec<&str> = menu
            .iter()
            .enumerate()
            .filter(|(b, _)| i >> b & 1 == 1 || *b == i % 8)
            .map(|(_, o)| *o)
            .collect();
        let path = dir.path().join(format!("c{i:03}.wasm"));
        std::fs::write(&path, ops(&chosen)).unwrap();
        let fs: Vec<&str> = grants
            .iter()
            .enumerate()
            .filter(|(b, _)| i % 3 == *b || i % 5 == *b)
            .map(|(_, g)| *g)
            .collect();
        std::fs::write(
            path.with_extension("toml"),
            manifest(&format!("filesystem = [{}]\n", fs.join(", "))).unwrap(),
        )
        .unwrap();
        components.push(path);
    }
    let summarise = |r: &check::Report| -> Vec<String> {
        r.diagnostics
            .iter()
            .map(|d| {
                let p = d.primary.as_ref().unwrap();
                format!(
                    "{} {} {:?} {}",
                    d.rule.code,
                    r.sources.get(p.source).name,
                    p.span,
                    d.message
                )
            })
            .collect()
    };
    let batch = check::check(
        &catalogue,
        &check::discover(&[dir.path().to_path_buf()]).unwrap(),
        &Options::default(),
    )
    .unwrap();
    let mut one_by_one = Vec::new();
    for c in &components {
        one_by_one.extend(summarise(
            &check::check(&catalogue, std::slice::from_ref(c), &Options::default()).unwrap(),
        ));
    }
    assert_eq!(batch.components.len(), 200);
    assert!(!one_by_one.is_empty());
    assert_eq!(summarise(&batch), one_by_one);
}

fn check_bytes(bytes: &[u8], ext: &str) -> check::Report {
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.path().join("Component.toml"), manifest("").unwrap()).unwrap();
    check::check(&catalogue, &[path], &Options::default()).unwrap()
}

#[test]
fn malformed_inputs_are_findings_not_panics() {
    let clean = ops(&["filesystem.read-file"]);
    // (The 8-byte header alone is a valid, empty component.)
    for cut in [0, 4, 7, 9, clean.len() / 3, clean.len() - 1] {
        assert_eq!(
            codes(&check_bytes(&clean[..cut], "wasm")),
            ["CMP001"],
            "truncated at {cut}"
        );
    }
    let mut state = 0x2545F4914F6CDD1Du64;
    let random: Vec<u8> = (0..65536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert_eq!(codes(&check_bytes(&random, "wasm")), ["CMP001"]);
    let mut big = b"\0asm\x0d\0\x01\0".to_vec();
    big.resize(50 << 20, 0x41);
    assert_eq!(codes(&check_bytes(&big, "wasm")), ["CMP001"], "a 50 MB file");
    assert_eq!(codes(&check_bytes(b"(module (func", "wat")), ["CMP001"], "broken WAT");
}

#[test]
fn ten_thousand_imports() {
    // A component with 10,000 instance imports exceeds wasmparser's limit of 1,000 instances:
    // an invalid-binary finding that names the limit.
    let mut wat = String::from("(component\n");
    for i in 0..10_000 {
        wat.push_str(&format!(
            "  (import \"example:many/i{i}@1.0.0\" (instance (export \"f\" (func))))\n"
        ));
    }
    wat.push_str(")\n");
    let report = check_bytes(wat.as_bytes(), "wat");
    assert_eq!(codes(&report), ["CMP001"]);
    assert!(
        report.diagnostics[0].message.contains("limit"),
        "{}",
        report.diagnostics[0].message
    );
    // A core module may import 10,000 functions: every one is analysed.
    let mut wat = String::from("(module\n");
    for i in 0..10_000 {
        wat.push_str(&format!("  (import \"example:many/i{i}@1.0.0\" \"f\" (func))\n"));
    }
    wat.push_str(")\n");
    let report = check_bytes(wat.as_bytes(), "wat");
    let outside = report.diagnostics.iter().filter(|d| d.rule.code == "WIT002").count();
    assert_eq!(outside, 10_000);
}

#[test]
fn deeply_nested_component_types() {
    for depth in [10usize, 100, 1000] {
        let wat = format!(
            "(component {} {})",
            "(type (component ".repeat(depth),
            "))".repeat(depth)
        );
        let report = check_bytes(wat.as_bytes(), "wat");
        // Either refused as invalid (too deep for the validator) or read as what it is: a
        // library without imports.
        let invalid = report.diagnostics.iter().any(|d| d.rule.code == "CMP001");
        assert!(
            invalid || report.kinds == [Some(ComponentKind::Library)],
            "depth {depth}: {:?} {:?}",
            report.kinds,
            common::codes(&report.diagnostics)
        );
    }
}

/// A policy waiver may accept an analyzer finding for one component until it expires.
#[test]
fn waivers_apply_to_analyzer_findings() {
    use airssys_wasm::diagnostics::Sources;
    use airssys_wasm::orgpolicy::{Date, PolicySet};
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures().into_iter().find(|f| f.name == "unused-grant").unwrap();
    let path = write(dir.path(), &fx);
    let policy = "[[waiver]]\ncomponent = \"fixture\"\ncode = \"unused-grant\"\nreason = \"the next release uses it\"\nexpires = 2026-12-31\n";
    let run = |today| {
        let mut sources = Sources::new();
        let set = PolicySet::from_texts(&mut sources, &[("waivers.toml", policy)]).unwrap();
        let options = Options {
            policies: Some((&set, today)),
            ..Options::default()
        };
        codes(&check::check_with_progress(&catalogue, std::slice::from_ref(&path), &options, sources, None).unwrap())
    };
    assert_eq!(
        run(Date::new(2026, 12, 1).unwrap()),
        Vec::<&str>::new(),
        "active: waived, and the waiver was used"
    );
    assert_eq!(
        run(Date::new(2027, 1, 1).unwrap()),
        ["CMP003", "POL014"],
        "expired: reported again, and the waiver too"
    );
}
