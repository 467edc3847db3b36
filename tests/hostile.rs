//! Hostile inputs to the parsers and renderers (issue 12, items 10, 11, 13, 14, 15): very long
//! lines, control characters, syntax-error storms, thousands of findings, and files that never
//! end. Each must give a bounded, printable report or a clear error, never a panic or a hang.

mod common;

use std::path::Path;
use std::process::Command;

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::{Diagnostic, Sources, sort};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};
use airssys_wasm::report::human;
use airssys_wasm::wit_world;

const HEAD: &str = "[component]\nname = \"hostile\"\nversion = \"1.0.0\"\n\n[permissions]\n";

fn sorted(mut d: Vec<Diagnostic>, sources: &Sources) -> Vec<Diagnostic> {
    sort(&mut d, sources);
    d
}

fn manifest_report(text: &str) -> (Vec<Diagnostic>, String) {
    let mut sources = Sources::new();
    let parsed = Manifest::parse_in(&mut sources, "Component.toml", text);
    let d = sorted(parsed.diagnostics, &sources);
    let out = common::render(&d, &sources);
    (d, out)
}

fn policy_report(text: &str) -> (Vec<Diagnostic>, String) {
    let mut sources = Sources::new();
    let d = PolicySet::from_texts(&mut sources, &[("policy.toml", text)])
        .map(|_| Vec::new())
        .unwrap_or_else(|e| e.diagnostics);
    let d = sorted(d, &sources);
    let out = common::render(&d, &sources);
    (d, out)
}

fn wit_report(text: &str) -> (Vec<Diagnostic>, String) {
    let catalogue = Catalogue::embedded().unwrap();
    let mut sources = Sources::new();
    let input = vec![vec![("world.wit".to_string(), text.to_string())]];
    let d = sorted(wit_world::check_files(&catalogue, input, None, &mut sources), &sources);
    let out = common::render(&d, &sources);
    (d, out)
}

/// Columns around miette's limit (it panicked for labels past column 65,535) and far past it.
const COLUMNS: [usize; 5] = [100, 65_535, 65_536, 65_537, 300_000];

/// The `[file:line:column]` header of the first report.
fn header_column(out: &str) -> usize {
    let header = out.lines().find(|l| l.contains("╭─[")).expect("a source header");
    let inner = header.rsplit('[').next().unwrap().trim_end_matches(']');
    inner.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn manifest_labels_past_column_65535_render_clipped() {
    for column in COLUMNS {
        // The unknown action's value starts at `column` (1-based) of line 6.
        let pad = " ".repeat(column - 1 - "filesystem = [{ action = ".len());
        let text = format!("{HEAD}filesystem = [{pad}{{ action = \"raed\", path = \"/x\" }}]\n");
        let (d, out) = manifest_report(&text);
        assert_eq!(common::codes(&d), ["MAN011"], "{out}");
        assert!(out.contains("\"raed\""), "{out}");
        assert!(out.len() < 4_000, "{} bytes for column {column}", out.len());
        assert_eq!(header_column(&out), column, "{out}");
        if column > 200 {
            assert!(out.contains('…'), "{out}");
        }
    }
}

#[test]
fn policy_labels_past_column_65535_render_clipped() {
    for column in COLUMNS {
        let text = format!(
            "[filesystem]\ndeny = [{}{{ pth = \"/etc/shadow\" }}]\n",
            " ".repeat(column)
        );
        let (d, out) = policy_report(&text);
        assert_eq!(common::codes(&d), ["POL002"], "{out}");
        assert!(out.contains("did you mean `path`"), "{out}");
        assert!(out.len() < 4_000, "{} bytes for column {column}", out.len());
    }
    // A finding about a manifest whose rule is far along a policy line: both files clipped.
    let column = 70_000;
    let policy = format!(
        "[filesystem]\ndeny = [{}{{ path = \"/etc/shadow\" }}]\n",
        " ".repeat(column)
    );
    let manifest = format!(
        "{HEAD}filesystem = [{}{{ action = \"read\", path = \"/etc/shadow\" }}]\n",
        " ".repeat(column)
    );
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("policy.toml", &policy)]).unwrap();
    let m = Manifest::parse_in(&mut sources, "Component.toml", &manifest)
        .manifest
        .unwrap();
    let d = sorted(set.check_manifest(&m, Date::new(2025, 1, 1).unwrap()), &sources);
    assert_eq!(common::codes(&d), ["POL003"]);
    let out = common::render(&d, &sources);
    assert!(out.contains("policy.toml") && out.contains("Component.toml"), "{out}");
    assert!(out.len() < 6_000, "{} bytes", out.len());
}

#[test]
fn wit_labels_past_column_65535_render_clipped() {
    for column in COLUMNS {
        let text = format!(
            "package me:hostile@1.0.0;\nworld w {{{}import airssys:nope/x@1.0.0; }}\n",
            " ".repeat(column)
        );
        let (d, out) = wit_report(&text);
        assert!(!d.is_empty(), "{out}");
        assert!(out.contains("nope"), "{out}");
        assert!(out.len() < 6_000, "{} bytes for column {column}", out.len());
    }
}

#[test]
fn a_label_over_a_long_span_is_shown_by_its_ends() {
    let (d, out) = manifest_report(&format!(
        "{HEAD}[component.x]\n[component]\ndescription = \"{}\"\n",
        "a".repeat(200_000)
    ));
    assert!(!d.is_empty());
    assert!(out.len() < 6_000, "{} bytes", out.len());
}

#[test]
fn control_characters_from_manifests_are_escaped() {
    let text = format!(
        "{HEAD}filesystem = [{{ action = \"read\\u001b[2J\", path = \"/x\" }}, \
         {{ action = \"read\", path = \"/y\\nerror[MAN999]: forged\" }}]\n\
         \"\\u001b]0;title\\u0007\" = 1\n\"\\u202e\" = 2\n"
    );
    let (d, out) = manifest_report(&text);
    assert!(d.len() >= 3, "{out}");
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!out.contains(raw), "raw {raw:?} in {out}");
    }
    assert!(out.contains("read\\u{1b}[2J"), "{out}");
    assert!(out.contains("\\u{1b}]0;title\\u{7}"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("error[MAN999]")), "{out}");
}

#[test]
fn control_characters_in_the_source_excerpt_are_escaped() {
    // Raw control characters are not TOML; the syntax error shows them escaped.
    let (d, out) = manifest_report(&format!("{HEAD}filesystem = \u{1b}[2J\u{7}\r[\n"));
    assert_eq!(common::codes(&d), ["MAN001"]);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(out.contains("\\u{1b}[2J\\u{7}\\r"), "{out}");
}

#[test]
fn control_characters_from_policies_are_escaped() {
    let (d, out) = policy_report("[filesystem]\ndeny = [{ \"p\\u001b[31mth\" = \"/etc/shadow\" }]\n\"x\\ny\" = 1\n");
    assert!(d.len() >= 2, "{out}");
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(out.contains("p\\u{1b}[31mth") && out.contains("x\\ny"), "{out}");
}

/// Lines, arrays and inline tables full of bad tokens: one error per token without a cap, each
/// repeating the (long) line in human output.
#[test]
fn syntax_error_storms_are_capped_per_file() {
    let storms = [
        format!("{HEAD}x = [{}]\n", "!,".repeat(4_000)),
        format!("{HEAD}x = {{ {} }}\n", "\"".repeat(65_000)),
        format!("{HEAD}x = {{ {} }}\n", "a b, ".repeat(100_000)),
        "!\n".repeat(4_000),
    ];
    for (i, text) in storms.iter().enumerate() {
        let policy = text.replace(HEAD, "");
        for (what, (d, out)) in [("manifest", manifest_report(text)), ("policy", policy_report(&policy))] {
            assert_eq!(d.len(), 20, "storm {i}: {} {what} findings", d.len());
            assert!(d.iter().all(|d| d.rule.code == "MAN001" || d.rule.code == "POL001"));
            let note = d.last().unwrap().notes.join(" ");
            assert!(note.contains("more syntax errors after this one"), "storm {i}: {note}");
            assert!(
                out.len() < 40_000,
                "storm {i}: {} bytes of output for a {what}",
                out.len()
            );
        }
    }
}

#[test]
fn thousands_of_findings_render_at_most_a_hundred_per_file() {
    let n = 3_000;
    let grants: Vec<&str> = vec!["{ action = \"read\", path = \"/data/x\" }"; n];
    let (d, out) = manifest_report(&format!("{HEAD}filesystem = [{}]\n", grants.join(", ")));
    assert_eq!(d.len(), n - 1, "every duplicate is a finding");
    assert_eq!(out.matches("MAN017(duplicate-grant)").count(), human::MAX_PER_FILE);
    assert!(
        out.contains(&format!(
            "note: {} more findings in Component.toml not shown",
            n - 1 - human::MAX_PER_FILE
        )),
        "{}",
        &out[out.len() - 300..]
    );
    assert!(out.len() < 200_000, "{} bytes", out.len());
}

fn airssys(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn endless_and_special_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.wasm");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    let fifo = fifo.display().to_string();
    let manifest = write(dir.path(), "Component.toml", HEAD);
    let extends_zero = write(dir.path(), "zero.toml", "extends = [\"/dev/zero\"]\n");
    let extends_fifo = write(dir.path(), "fifo.toml", &format!("extends = [\"{fifo}\"]\n"));
    let character = "a character device, not a regular file";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["manifest", "/dev/zero"], character),
        (vec!["manifest", &fifo], "a FIFO (named pipe), not a regular file"),
        (vec!["manifest", "--policy", &extends_zero, &manifest], character),
        (
            vec!["manifest", "--policy", &extends_fifo, &manifest],
            "a FIFO (named pipe)",
        ),
        (vec!["manifest", "--policy", "/dev/urandom", &manifest], character),
        (vec!["wit", "/dev/zero"], character),
        (vec!["check", "--manifest", &manifest, &fifo], "a FIFO (named pipe)"),
        (vec!["inspect", "/dev/zero"], character),
        (
            vec!["explain-request", "--manifest", &manifest, "--requests", "/dev/zero"],
            character,
        ),
        (vec!["explain-request", "--manifest", "/dev/zero", "read /x"], character),
    ];
    for (args, want) in cases {
        let (code, stdout, stderr) = airssys(&args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}

#[test]
fn files_over_the_limit_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse files: reading them whole would allocate gigabytes.
    let big = dir.path().join("big.toml");
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    let big = big.display().to_string();
    let manifest = write(dir.path(), "Component.toml", HEAD);
    let (code, stdout, _) = airssys(&["manifest", &big]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("the manifest is 3221225472 bytes, over the limit of 1048576"),
        "{stdout}"
    );
    let (code, _, stderr) = airssys(&["manifest", "--policy", &big, &manifest]);
    assert_eq!(code, 2);
    assert!(stderr.contains("the policy is 3221225472 bytes"), "{stderr}");
    let wit = dir.path().join("big.wit");
    std::fs::File::create(&wit).unwrap().set_len(3 << 30).unwrap();
    let (code, _, stderr) = airssys(&["wit", wit.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("3221225472 bytes, over the limit of 1048576"),
        "{stderr}"
    );
}

#[test]
fn control_characters_in_requests_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write(
        dir.path(),
        "Component.toml",
        &format!("{HEAD}filesystem = [{{ action = \"read\", path = \"/data/**\" }}]\n"),
    );
    let (code, stdout, stderr) = airssys(&[
        "explain-request",
        "--manifest",
        &manifest,
        "read /data/\u{1b}[2Jx\u{9b}y",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{9b}'), "{stdout}");
    assert!(stdout.contains("/data/\\u{1b}[2Jx\\u{9b}y"), "{stdout}");
    let (code, stdout, _) = airssys(&["explain-request", "--manifest", &manifest, "re\u{1b}[2Jad /x"]);
    assert_eq!(code, 1, "an invalid request is never allowed");
    assert!(
        !stdout.contains('\u{1b}') && stdout.starts_with("invalid re\\u{1b}[2Jad /x  argument 1: "),
        "{stdout}"
    );
    let requests = write(dir.path(), "requests.txt", "read /data/a\rdenied  write /etc/forged\n");
    let (_, stdout, stderr) = airssys(&["explain-request", "--manifest", &manifest, "--requests", &requests]);
    assert!(!stdout.contains('\r'), "{stdout}{stderr}");
}

/// Found by the `wit` fuzz target: wit-parser 0.254 panics (`unwrap` on `None`) on a doc
/// comment written `/**/` followed by more slashes. The panic is caught and reported as a
/// `wit-error` finding about the package; the command goes on and exits 1, printing no panic.
#[test]
fn a_panic_inside_wit_parser_is_a_finding() {
    for doc in ["/**///", "/**/", "/**/// x\n/// y"] {
        let text = format!("package me:hostile@1.0.0;\n\ninterface types {{\n    {doc}\n    type t = u32;\n}}\n");
        let (d, out) = wit_report(&text);
        assert_eq!(common::codes(&d), ["WIT001"], "{doc}: {out}");
        assert!(out.contains("wit-parser panicked"), "{doc}: {out}");
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "world.wit", &text);
        let (code, stdout, stderr) = airssys(&["wit", &file]);
        assert_eq!(code, 1, "{doc}: {stdout}{stderr}");
        assert!(
            stdout.contains("WIT001") && !stderr.contains("panicked"),
            "{doc}: {stdout}{stderr}"
        );
    }
}
