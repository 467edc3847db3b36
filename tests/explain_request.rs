//! `airssys-wasm explain-request`: offline decisions across the three domains, with the
//! normalisation tricks attackers use (`..`, trailing dots, upper case, IP literal forms), the
//! grant and the policy rule that decided, JSON output, request files and exit codes.

mod common;

use std::process::Command;

const MANIFEST: &str = "tests/fixtures/policies/Wide.toml";
const POLICY: &str = "tests/fixtures/policies/team-requests.toml";

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn explain(requests: &[&str]) -> (i32, String) {
    let mut args = vec!["explain-request", "--manifest", MANIFEST, "--policy", POLICY];
    args.extend(requests);
    run(&args)
}

/// (request, allowed?)
const CASES: &[(&str, bool)] = &[
    ("write /data/out/report.csv", true),
    ("write /data/out/../out/report.csv", true),
    ("write /data/out/../../etc/passwd", false),
    ("write /data/out/secret.key", false),
    ("write /data/out/x/../secret-2", false),
    ("read /data/out/report.csv", false),
    ("connect api.example.com:443", true),
    ("connect API.Example.COM.:443", true),
    ("connect api.example.com:80", false),
    ("connect 127.0.0.1:443", false),
    ("connect 0x7f.1:443", false),
    ("connect 2130706433:443", false),
    ("connect [::1]:443", false),
    ("connect [::ffff:127.0.0.1]:443", false),
    ("connect Metadata.Internal.:443", false),
    ("resolve db.internal", false),
    ("resolve example.org", true),
    ("bind 8080", true),
    ("bind 9090", false),
    ("spawn /usr/bin/git", true),
    ("spawn /usr/bin/../bin/git", true),
    ("spawn /bin/sh", false),
    ("spawn /bin/./sh", false),
    ("spawn git", false),
    ("signal SIGTERM", true),
    ("signal term", true),
    ("signal SIGKILL", false),
];

#[test]
fn decisions_across_domains() {
    let mut all = String::new();
    for (request, allowed) in CASES {
        let (code, out) = explain(&[request]);
        assert_eq!(code, if *allowed { 0 } else { 1 }, "{request}:\n{out}");
        let line = out.lines().nth(2).unwrap_or_default();
        assert!(
            line.starts_with(if *allowed { "allowed" } else { "denied" }),
            "{request}: {line}"
        );
        all.push_str(&format!("{request:40} => {line}\n"));
    }
    common::with_snapshots(|| insta::assert_snapshot!("decisions", all));
}

/// `explain-request` of the test manifest and policy with a `--requests` file.
fn with_requests<'a>(file: &'a str, format: &'a str) -> Vec<&'a str> {
    vec![
        "explain-request",
        "--manifest",
        MANIFEST,
        "--policy",
        POLICY,
        "--requests",
        file,
        "--format",
        format,
    ]
}

#[test]
fn requests_file_and_json() {
    let (code, out) = run(&with_requests("tests/fixtures/policies/requests.txt", "json"));
    assert_eq!(code, 1);
    common::with_snapshots(|| insta::assert_snapshot!("requests-file-json", out));
    let json: serde_json::Value = serde_json::from_str(
        out.split("--- stdout\n")
            .nth(1)
            .unwrap()
            .split("--- stderr")
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["answers"].as_array().unwrap().len(), 7);
    assert_eq!(
        json["answers"][0]["from"],
        serde_json::json!({ "file": "tests/fixtures/policies/requests.txt", "line": 2 })
    );
    assert_eq!(
        json["summary"],
        serde_json::json!({ "requests": 7, "allowed": 3, "denied": 4, "invalid": 0 })
    );
}

/// A bad line is reported with its line number, the other lines are still answered, and the
/// summary counts it; an invalid request is never allowed (exit 1).
#[test]
fn a_bad_request_line_is_reported_and_the_others_answered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.txt");
    std::fs::write(
        &file,
        "write /data/out/a.csv\n# comment\n\nfrobnicate /x\nconnect api.example.com\nbind 8080\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let args = |format: &'static str| {
        let mut args = with_requests(file, format);
        args.push("read /data/out/a.csv");
        args
    };
    let (code, out) = run(&args("human"));
    assert_eq!(code, 1, "{out}");
    let out = out.replace(file, "<requests.txt>");
    common::with_snapshots(|| insta::assert_snapshot!("bad-request-line", out));
    assert!(
        out.contains("invalid frobnicate /x  <requests.txt>:4: unknown action `frobnicate`"),
        "{out}"
    );
    assert!(
        out.contains("invalid connect api.example.com  <requests.txt>:5: "),
        "{out}"
    );
    assert!(out.contains("allowed bind 8080"), "answered after the bad lines: {out}");
    assert!(out.contains("5 requests: 2 allowed, 1 denied, 2 invalid\n"), "{out}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args("json"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bad = &json["answers"][2];
    assert_eq!(bad["request"], "frobnicate /x");
    assert_eq!(bad["from"]["line"], 4);
    assert_eq!(bad["allowed"], false);
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("unknown action `frobnicate`")
    );
    assert!(bad.get("normalized").is_none());
    assert_eq!(json["answers"][0]["from"], serde_json::json!({ "argument": 1 }));
    assert_eq!(json["summary"]["invalid"], 2);
}

#[test]
fn default_policy_applies_when_none_is_given() {
    let (code, out) = run(&[
        "explain-request",
        "--manifest",
        MANIFEST,
        "connect 169.254.169.254:443",
        "spawn /bin/sh",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("builtin:default"), "{out}");
    common::with_snapshots(|| insta::assert_snapshot!("default-policy", out));
}

#[test]
fn bad_request_syntax_is_invalid_and_never_allowed() {
    for bad in [
        "fly /x",
        "connect example.com",
        "connect ::1:443",
        "read",
        "signal SIGNOPE",
        "bind 0",
    ] {
        let (code, out) = explain(&[bad]);
        assert_eq!(code, 1, "{bad}: {out}");
        assert!(out.contains(&format!("\ninvalid {bad}  argument 1: ")), "{bad}: {out}");
        assert!(
            out.contains("1 request: 0 allowed, 0 denied, 1 invalid"),
            "{bad}: {out}"
        );
    }
    let (code, _) = run(&["explain-request", "--manifest", MANIFEST]);
    assert_eq!(code, 2, "no request at all");
}

#[test]
fn check_and_manifest_take_policies() {
    let (code, out) = run(&[
        "manifest",
        MANIFEST,
        "--policy",
        POLICY,
        "--policy",
        "policies/strict.toml",
    ]);
    assert_eq!(code, 1);
    for want in ["POL009", "POL010", "POL006", "POL008", "POL012", "POL007"] {
        assert!(out.contains(want), "{want} in\n{out}");
    }
    let (code, out) = run(&[
        "manifest",
        MANIFEST,
        "--policy",
        POLICY,
        "-A",
        "denied-executable",
        "-A",
        "signal-not-allowed",
        "-A",
        "overly-broad-grant",
        "-A",
        "denied-host",
        "-A",
        "denied-path",
    ]);
    assert_eq!(code, 0, "the command line's levels win:\n{out}");
    let (code, out) = run(&["check", "docs/examples/csv-export", "--policy", "policies/strict.toml"]);
    assert_eq!(code, 0, "the example stays in /data, uses port 443 and is tidy:\n{out}");
    let (code, out) = run(&[
        "check",
        "docs/examples/csv-export",
        "--policy",
        "tests/fixtures/policies/extends/team.toml",
    ]);
    assert_eq!(
        code, 0,
        "an extends chain given with --policy; port 443 is allowed:\n{out}"
    );
    let (code, out) = run(&["manifest", MANIFEST, "--policy", "tests/fixtures/policies/cycle/a.toml"]);
    assert_eq!(code, 2, "{out}");
}
