//! `check` and `inspect` on components built here from WIT and WAT: one fixture per finding,
//! clean components for each extension package, WASI components, malformed inputs, a batch of
//! 200, the differential test against wit-component's decoder and the suggestion round trip.
//!
//! The fixtures are files in tests/fixtures/check (see its README): adding a case is adding a
//! `.wit` or `.wat` file, usually a `.toml` manifest beside it, and reviewing its snapshots.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use airssys_wasm::analyze::ComponentKind;
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::report::{json, sarif};
use common::fixtures::check_fixtures as fixtures;

fn manifest(perms: &str) -> Option<String> {
    Some(format!(
        "[component]\nname = \"fixture\"\nversion = \"0.1.0\"\n\n[permissions]\n{perms}"
    ))
}

fn ops(list: &[&str]) -> Vec<u8> {
    common::component_importing(list, "", "")
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
            let report = fx.check(&catalogue, dir.path());
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
                redact(&sarif_without_rules(&report, dir.path()), dir.path())
            );
        }
    });
}

/// The SARIF log with its rule list (the whole registry, tested in tests/sarif.rs) replaced by
/// its length, so that adding a rule does not touch every fixture's snapshot. URIs are
/// relative to the fixture's directory.
fn sarif_without_rules(report: &check::Report, dir: &Path) -> String {
    let mut log: serde_json::Value = serde_json::from_str(&sarif::render_batch(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
        &sarif::Options::relative_to(dir, dir),
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
    let path = fx.write(dir.path());
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
        let path = fx.write(dir.path());
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
        let path = fx.write(dir.path());
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

/// A policy waiver may accept an analyzer finding for one component until it expires. The
/// waived finding stays in the report, marked with the waiver, counted apart and shown as
/// waived by the human and JSON output.
#[test]
fn waivers_apply_to_analyzer_findings() {
    use airssys_wasm::diagnostics::{Sources, count};
    use airssys_wasm::orgpolicy::{Date, PolicySet};
    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fx = fixtures().into_iter().find(|f| f.name == "unused-grant").unwrap();
    let path = fx.write(dir.path());
    let policy = "[[waiver]]\ncomponent = \"fixture\"\ncode = \"unused-grant\"\nreason = \"the next release uses it\"\nexpires = 2026-12-31\n";
    let run = |today| {
        let mut sources = Sources::new();
        let set = PolicySet::from_texts(&mut sources, &[("waivers.toml", policy)]).unwrap();
        let options = Options {
            policies: Some((&set, today)),
            ..Options::default()
        };
        check::check_with_progress(&catalogue, std::slice::from_ref(&path), &options, sources, None).unwrap()
    };
    let in_force = |report: &check::Report| {
        let kept: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.waived.is_none())
            .cloned()
            .collect();
        common::codes(&kept)
    };

    let active = run(Date::new(2026, 12, 1).unwrap());
    assert_eq!(
        in_force(&active),
        Vec::<&str>::new(),
        "active: waived, and the waiver was used"
    );
    let waived: Vec<_> = active
        .diagnostics
        .iter()
        .filter_map(|d| Some((d.rule.code, d.waived.as_ref()?)))
        .collect();
    assert_eq!(waived.len(), 1);
    let (code, waiver) = waived[0];
    assert_eq!(
        (code, waiver.reason.as_str(), waiver.expires.as_str()),
        ("CMP003", "the next release uses it", "2026-12-31")
    );
    assert_eq!((waiver.file.as_str(), waiver.line), ("waivers.toml", 1));
    let counts = count(&active.diagnostics);
    assert_eq!((counts.errors, counts.warnings, counts.waived), (0, 0, 1));

    let human = common::render(&active.diagnostics, &active.sources);
    assert!(
        human.contains("waived: CMP003 unused-grant at ")
            && human.contains("(reason: the next release uses it; waiver at waivers.toml:1, until 2026-12-31)"),
        "{human}"
    );
    let json: serde_json::Value = serde_json::from_str(&json::to_string(&json::BatchReport::new(
        &active.diagnostics,
        &active.sources,
        &active.components,
        &active.kinds,
    )))
    .unwrap();
    assert_eq!(json["diagnostics"], serde_json::json!([]));
    assert_eq!(json["waived"][0]["code"], "CMP003");
    assert_eq!(
        json["waived"][0]["waiver"],
        serde_json::json!({ "reason": "the next release uses it", "expires": "2026-12-31", "file": "waivers.toml", "line": 1 })
    );
    assert_eq!(json["summary"]["waived"], 1);

    assert_eq!(
        in_force(&run(Date::new(2027, 1, 1).unwrap())),
        ["CMP003", "POL014"],
        "expired: reported again, and the waiver too"
    );
}
