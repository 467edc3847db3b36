//! The audit log as a reviewer reads it, through the library's `Host`: a `start` line per
//! component (run id, digest, version, policies in force), decision lines with their run,
//! lifecycle phase and symbolic-link mark, and an `end` line with the counts and the outcome.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use airssys_wasm::diagnostics::Sources;
use airssys_wasm::digest::Digest;
use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::runtime::{AuditLog, Host, Runtime, RuntimeConfig, services::LogSink};
use serde_json::{Value, json};

use crate::guest::manifest;
use crate::lifecycle;
use crate::support::Captured;

const POLICY: &str = "[filesystem]\ndeny = [{ path = \"/etc/shadow\" }]\n";

/// A host whose audit lines are kept in memory, under the policy [`POLICY`].
fn host() -> (Host, Captured) {
    let captured = Captured::default();
    let mut sources = Sources::new();
    let policies = PolicySet::from_texts(&mut sources, &[("org.toml", POLICY)]).unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        audit: AuditLog::to_writer(captured.clone()),
        log: LogSink::disabled(),
        policies,
        ..RuntimeConfig::default()
    })
    .unwrap();
    (Host::new(Arc::new(runtime)), captured)
}

/// A scratch directory (its real path) with `data/in.txt` and `data/link -> in.txt`.
fn data() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/in.txt"), "inside").unwrap();
    std::os::unix::fs::symlink("in.txt", dir.join("data/link")).unwrap();
    (tmp, dir)
}

fn reader_manifest(dir: &Path, limits: &str) -> airssys_wasm::manifest::Manifest {
    manifest(&format!(
        "[component]\nname = \"phases\"\nversion = \"1.2.3\"\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/data/**\" }}]\n{limits}",
        dir.display()
    ))
}

/// The lines of one kind (`start`, `decision`, `end`).
fn of_kind<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["record"] == kind).collect()
}

#[test]
fn a_run_is_logged_between_its_start_and_end_lines_with_each_decisions_phase() {
    let (_tmp, dir) = data();
    let (host, audit) = host();
    let bytes = lifecycle::file_reader_reading_in("/nonexistent/init", "/nonexistent/shutdown");
    host.load(&bytes, reader_manifest(&dir, "")).unwrap();
    host.init("phases").unwrap();
    let link = dir.join("data/link").display().to_string();
    assert_eq!(host.execute("phases", link.as_bytes()).unwrap(), b"inside");
    host.shutdown("phases").unwrap();
    host.finish(Some(0)).unwrap();

    let lines = audit.lines();
    let run = host.runtime().run_id().to_string();
    assert!(
        lines.iter().all(|l| l["run"] == run.as_str() && l["format"] == 2),
        "{lines:#?}"
    );
    assert_eq!(lines.first().unwrap()["record"], "start", "{lines:#?}");
    assert_eq!(lines.last().unwrap()["record"], "end", "{lines:#?}");

    let start = of_kind(&lines, "start")[0];
    assert_eq!(start["component"], "phases");
    assert_eq!(start["version"], "1.2.3");
    assert_eq!(start["digest"], Digest::of(&bytes).hex());
    assert_eq!(start["mode"], "enforce");
    assert_eq!(
        start["policies"],
        json!([{ "name": "org.toml", "digest": Digest::of(POLICY.as_bytes()).hex() }])
    );

    let decisions: Vec<(String, String, String, Option<String>)> = of_kind(&lines, "decision")
        .iter()
        .map(|l| {
            (
                l["phase"].as_str().unwrap().to_string(),
                l["resource"].as_str().unwrap().to_string(),
                l["verdict"].as_str().unwrap().to_string(),
                l["via_symlink"].as_str().map(str::to_string),
            )
        })
        .collect();
    let target = dir.join("data/in.txt").display().to_string();
    let row = |phase: &str, path: &str, verdict: &str, via: Option<&str>| {
        (
            phase.to_string(),
            format!("filesystem:read {path}"),
            verdict.to_string(),
            via.map(str::to_string),
        )
    };
    assert_eq!(
        decisions,
        [
            row("init", "/nonexistent/init", "denied", None),
            row("execute", &link, "allowed", None),
            // The link's target, decided again and marked with the link that led there.
            row("execute", &target, "allowed", Some(&link)),
            row("shutdown", "/nonexistent/shutdown", "denied", None),
        ]
    );

    let end = of_kind(&lines, "end")[0];
    assert_eq!(end["component"], "phases");
    assert_eq!(end["mode"], "enforce");
    assert_eq!(end["counts"], json!({ "allowed": 2, "denied": 2, "would-deny": 0 }));
    assert_eq!(end["outcome"], "ok");
    assert_eq!(end["exit"], 0);
    assert!(end.get("detail").is_none(), "{end}");
}

#[test]
fn the_end_line_says_what_failed_first() {
    let (_tmp, dir) = data();
    let (host, audit) = host();
    host.load(&lifecycle::file_reader(), reader_manifest(&dir, "")).unwrap();
    host.init("phases").unwrap();
    assert!(host.execute("phases", b"/etc/shadow").is_err());
    assert!(host.execute("phases", b"/nonexistent/other").is_err());
    host.shutdown("phases").unwrap();
    host.finish(Some(1)).unwrap();
    let lines = audit.lines();
    let end = of_kind(&lines, "end")[0];
    assert_eq!(end["outcome"], "failed");
    assert_eq!(end["exit"], 1);
    let detail = end["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("execute returned an error: permission-denied") && detail.contains("/etc/shadow"),
        "{detail}"
    );
    assert_eq!(end["counts"], json!({ "allowed": 0, "denied": 2, "would-deny": 0 }));
    // The policy's denial names the rule.
    let shadow = of_kind(&lines, "decision")[0];
    assert!(
        shadow["by"].as_str().unwrap().starts_with("policy org.toml:2:"),
        "{shadow}"
    );
}

#[test]
fn a_component_that_cannot_be_instantiated_has_a_start_and_an_end_line() {
    let (_tmp, dir) = data();
    let (host, audit) = host();
    let err = host
        .load(
            &lifecycle::file_reader(),
            reader_manifest(&dir, "[limits]\ninstances = 1\n"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("limit of 1"), "{err}");
    let lines = audit.lines();
    let kinds: Vec<&str> = lines.iter().map(|l| l["record"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["start", "end"], "{lines:#?}");
    assert_eq!(lines[1]["outcome"], "not-loaded");
    assert!(
        lines[1]["detail"].as_str().unwrap().contains("cannot be instantiated"),
        "{}",
        lines[1]
    );
    // Nothing is loaded, so finishing writes nothing more.
    host.finish(None).unwrap();
    assert_eq!(audit.lines().len(), 2);
}

#[test]
fn each_runtime_has_its_own_random_run_id() {
    let ids: Vec<String> = (0..3).map(|_| host().0.runtime().run_id().to_string()).collect();
    for id in &ids {
        // A version-4 UUID: 8-4-4-4-12 lowercase hexadecimal digits, `4` starting the third
        // group, 8, 9, a or b the fourth.
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{id}"
        );
        assert!(
            id.chars().all(|c| c == '-' || matches!(c, '0'..='9' | 'a'..='f')),
            "{id}"
        );
        assert!(groups[2].starts_with('4') && "89ab".contains(&groups[3][..1]), "{id}");
    }
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
}
