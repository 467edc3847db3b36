//! Manifest validation, data-driven: every file under tests/fixtures/manifests/{bad,good} is
//! checked for the codes its `# expect:` header names and snapshotted as rendered diagnostics.
//! Adding a case is adding a file (and reviewing its snapshot).

mod common;

use std::path::{Path, PathBuf};

use airssys_wasm::diagnostics::{Severity, Sources};
use airssys_wasm::manifest::Manifest;
use proptest::prelude::*;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    common::fixtures::files(&format!("manifests/{kind}"), &["toml"])
}

/// The codes named by the `# expect:` header line.
fn expected_codes(text: &str) -> Vec<String> {
    let Some(line) = text.lines().find_map(|l| l.strip_prefix("# expect:")) else {
        return Vec::new();
    };
    line.split(['—', '-', ' ', ','])
        .filter(|w| w.len() == 6 && w.starts_with("MAN"))
        .map(str::to_string)
        .collect()
}

/// Loads a fixture by its path relative to the repository, so snapshots show stable names.
fn check(path: &Path) -> (Sources, airssys_wasm::manifest::Parsed) {
    let rel = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .display()
        .to_string();
    let mut sources = Sources::new();
    let bytes = std::fs::read(path).unwrap();
    let parsed = Manifest::from_bytes(&mut sources, &rel, &bytes);
    (sources, parsed)
}

#[test]
fn bad_manifests_report_their_codes() {
    let files = fixtures("bad");
    assert!(files.len() >= 30, "at least 30 bad manifests, found {}", files.len());
    common::with_snapshots(|| {
        for path in files {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let (sources, parsed) = check(&path);
            let got = common::codes(&parsed.diagnostics);
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            for code in expected_codes(&text) {
                assert!(got.contains(&code.as_str()), "{name}: expected {code}, got {got:?}");
            }
            assert!(!parsed.diagnostics.is_empty(), "{name}: a bad manifest has findings");
            insta::assert_snapshot!(format!("bad-{name}"), common::render(&parsed.diagnostics, &sources));
        }
    });
}

#[test]
fn empty_manifest_misses_component() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests/bad/empty.toml");
    let (_, parsed) = check(&path);
    assert_eq!(common::codes(&parsed.diagnostics), ["MAN005"]);
}

#[test]
fn good_manifests_have_no_findings() {
    let files = fixtures("good");
    assert!(files.len() >= 5);
    common::with_snapshots(|| {
        for path in files {
            let (sources, parsed) = check(&path);
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                parsed.diagnostics.is_empty(),
                "{name}: {}",
                common::render(&parsed.diagnostics, &sources)
            );
            let m = parsed.manifest.expect("a good manifest has a model");
            insta::assert_debug_snapshot!(
                format!("good-{name}"),
                (
                    &m.component,
                    m.filesystem.len(),
                    m.network.len(),
                    m.process.len(),
                    &m.limits,
                    &m.config
                )
            );
        }
    });
}

#[test]
fn binary_garbage_is_not_utf8() {
    let mut sources = Sources::new();
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let parsed = Manifest::from_bytes(&mut sources, "garbage.toml", &bytes);
    assert_eq!(common::codes(&parsed.diagnostics), ["MAN002"]);
    common::with_snapshots(|| insta::assert_snapshot!("binary-garbage", common::render(&parsed.diagnostics, &sources)));
}

#[test]
fn ten_megabyte_manifest_is_refused_unread() {
    let mut sources = Sources::new();
    let mut text = String::from("[component]\nname = \"big\"\nversion = \"1.0.0\"\n[config]\n");
    while text.len() < 10 << 20 {
        text.push_str("k = \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n");
    }
    let parsed = Manifest::from_bytes(&mut sources, "big.toml", text.as_bytes());
    assert_eq!(common::codes(&parsed.diagnostics), ["MAN003"]);
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    for depth in [33usize, 10_000, 1_000_000] {
        let text = format!(
            "[component]\nname = \"deep\"\nversion = \"1.0.0\"\n[config]\nx = {}1{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let parsed = Manifest::parse("deep.toml", &text);
        assert_eq!(common::codes(&parsed.diagnostics), ["MAN003"], "depth {depth}");
        let inline = format!("[config]\nx = {}{}\n", "{a = ".repeat(depth), "}".repeat(depth));
        assert_eq!(
            common::codes(&Manifest::parse("deep.toml", &inline).diagnostics),
            ["MAN003"]
        );
    }
}

#[test]
fn findings_point_at_the_offending_value() {
    let text = "[component]\nname = \"ok-name\"\nversion = \"1.0.0\"\n[permissions]\nnetwork = [{ action = \"connect\", domain = \"api.example.com\", port = 0 }]\n";
    let parsed = Manifest::parse("Component.toml", text);
    let d = &parsed.diagnostics[0];
    assert_eq!(d.rule.code, "MAN014");
    let span = d.primary.as_ref().unwrap().span.clone();
    assert_eq!(&text[span], "0");
}

const VALID: &str = include_str!("fixtures/manifests/good/05-full.toml");

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,400}") {
        let mut sources = Sources::new();
        let parsed = Manifest::parse_in(&mut sources, "fuzz.toml", &s);
        let _ = common::render(&parsed.diagnostics, &sources);
    }

    #[test]
    fn never_panics_on_mutated_valid_manifests(pos in 0usize..VALID.len(), len in 0usize..20, insert in "[\\[\\]{}=\",.*/a-z0-9 \\n]{0,12}") {
        let mut s = VALID.to_string();
        let start = (0..=pos).rev().find(|i| s.is_char_boundary(*i)).unwrap();
        let end = (start + len).min(s.len());
        let end = (end..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap();
        s.replace_range(start..end, &insert);
        let mut sources = Sources::new();
        let parsed = Manifest::parse_in(&mut sources, "mutated.toml", &s);
        let rendered = common::render(&parsed.diagnostics, &sources);
        // Every error-level finding carries a span into the file it is about.
        for d in parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            prop_assert!(d.primary.is_some(), "{rendered}");
        }
    }
}
