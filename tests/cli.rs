//! End-to-end tests of the binary: exit code, stdout and stderr of each command, snapshotted
//! together, plus `--help` of every command so that CLI changes show up in review.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn exit_code(args: &[&str]) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

const CASES: &[(&str, &[&str])] = &[
    ("help", &["--help"]),
    ("help-catalogue", &["catalogue", "--help"]),
    ("help-wit", &["wit", "--help"]),
    ("help-manifest", &["manifest", "--help"]),
    ("help-explain", &["explain", "--help"]),
    ("help-check", &["check", "--help"]),
    ("help-diff", &["diff", "--help"]),
    ("help-inspect", &["inspect", "--help"]),
    ("help-merge", &["merge", "--help"]),
    ("help-report", &["report", "--help"]),
    ("check-example", &["check", "docs/examples/csv-export"]),
    (
        "check-example-minimal-manifest-github",
        &[
            "check",
            "--format",
            "github",
            "--manifest",
            "tests/fixtures/manifests/good/01-minimal.toml",
            "docs/examples/csv-export/csv-export.wat",
        ],
    ),
    (
        "check-allow-undeclared",
        &[
            "check",
            "-A",
            "undeclared-permission",
            "--manifest",
            "tests/fixtures/manifests/good/01-minimal.toml",
            "docs/examples/csv-export",
        ],
    ),
    ("check-no-components", &["check", "docs/examples/csv-export/wit"]),
    (
        "check-missing-manifest-flag",
        &["check", "--manifest", "no/such.toml", "docs/examples/csv-export"],
    ),
    (
        "inspect-example",
        &["inspect", "docs/examples/csv-export/csv-export.wat"],
    ),
    (
        "inspect-suggest",
        &[
            "inspect",
            "--suggest-manifest",
            "docs/examples/csv-export/csv-export.wat",
        ],
    ),
    ("inspect-not-a-component", &["inspect", "README.md"]),
    ("catalogue-human", &["catalogue"]),
    (
        "manifest-example",
        &["manifest", "docs/examples/csv-export/Component.toml"],
    ),
    (
        "manifest-bad-human",
        &["manifest", "tests/fixtures/manifests/bad/55-many-problems.toml"],
    ),
    (
        "manifest-bad-json",
        &[
            "manifest",
            "--format",
            "json",
            "tests/fixtures/manifests/bad/46-shadowed-path.toml",
        ],
    ),
    (
        "manifest-deny-warnings",
        &[
            "manifest",
            "-D",
            "warnings",
            "tests/fixtures/manifests/bad/46-shadowed-path.toml",
        ],
    ),
    (
        "manifest-allow-code",
        &[
            "manifest",
            "-A",
            "shadowed-grant",
            "tests/fixtures/manifests/bad/46-shadowed-path.toml",
        ],
    ),
    ("manifest-missing-file", &["manifest", "no/such/Component.toml"]),
    (
        "manifest-unknown-code",
        &[
            "manifest",
            "-A",
            "shadowed-grnat",
            "docs/examples/csv-export/Component.toml",
        ],
    ),
    ("wit-example", &["wit", "docs/examples/csv-export/wit"]),
    (
        "wit-missing-lifecycle",
        &["wit", "tests/fixtures/wit/missing-lifecycle"],
    ),
    (
        "wit-unknown-world",
        &["wit", "--world", "nope", "tests/fixtures/wit/good"],
    ),
    (
        "wit-json",
        &["wit", "--format", "json", "tests/fixtures/wit/version-mismatch"],
    ),
    ("explain-code", &["explain", "MAN018"]),
    ("explain-name", &["explain", "unknown-key"]),
    ("explain-unknown", &["explain", "MAN999"]),
    ("explain-list", &["explain", "--list"]),
    ("catalogue-dir-missing", &["--catalogue", "no/such/dir", "catalogue"]),
];

#[test]
fn commands() {
    common::with_snapshots(|| {
        for (name, args) in CASES {
            insta::assert_snapshot!(format!("cli-{name}"), run(args));
        }
    });
}

#[test]
fn exit_codes() {
    assert_eq!(exit_code(&["manifest", "docs/examples/csv-export/Component.toml"]), 0);
    assert_eq!(
        exit_code(&["manifest", "tests/fixtures/manifests/bad/46-shadowed-path.toml"]),
        0,
        "warnings only"
    );
    assert_eq!(
        exit_code(&[
            "manifest",
            "-D",
            "warnings",
            "tests/fixtures/manifests/bad/46-shadowed-path.toml"
        ]),
        1
    );
    assert_eq!(
        exit_code(&["manifest", "tests/fixtures/manifests/bad/28-path-relative.toml"]),
        1
    );
    assert_eq!(exit_code(&["manifest", "no/such/file.toml"]), 2);
    assert_eq!(exit_code(&["explain", "NOPE01"]), 2);
    assert_eq!(exit_code(&["frobnicate"]), 2);
    assert_eq!(exit_code(&["check", "docs/examples/csv-export"]), 0);
    let minimal = "tests/fixtures/manifests/good/01-minimal.toml";
    assert_eq!(
        exit_code(&["check", "--manifest", minimal, "docs/examples/csv-export"]),
        1,
        "undeclared permissions"
    );
    assert_eq!(
        exit_code(&[
            "check",
            "-A",
            "undeclared-permission",
            "--manifest",
            minimal,
            "docs/examples/csv-export"
        ]),
        0
    );
    assert_eq!(exit_code(&["check", "no/such/dir"]), 2);
}

#[test]
fn catalogue_json_totals_are_computed() {
    let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(["catalogue", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["totals"]["operations"], 115);
    assert_eq!(v["totals"]["packages"], 4);
    let per_package: Vec<u64> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["operations"].as_array().unwrap().len() as u64)
                .sum()
        })
        .collect();
    assert_eq!(per_package, [15, 36, 32, 32]);
}

#[test]
fn a_broken_catalogue_directory_ends_with_exit_2_and_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(
        pkg.join("ops.wit"),
        "package t:p@1.0.0;\ninterface ops {\n    /// No requirement.\n    go: func();\n}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .arg("--catalogue")
        .arg(dir.path())
        .arg("catalogue")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CAT002"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the catalogue is invalid"));
}

#[test]
fn rules_reference_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    let want = airssys_wasm::diagnostics::registry::reference_markdown();
    if std::env::var_os("AIRSSYS_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is stale: run `AIRSSYS_BLESS=1 cargo test --test cli rules_reference` (or `airssys-wasm explain --markdown > docs/rules.md`)"
    );
}

/// A binary built without the `runtime` feature still parses `run`, and exits 2 saying why it
/// cannot run anything.
#[cfg(not(feature = "runtime"))]
#[test]
fn run_without_the_runtime_feature_exits_2_and_says_so() {
    let out = run(&["run", "docs/examples/file-reader/file-reader.wat"]);
    assert!(out.starts_with("exit: 2\n"), "{out}");
    assert!(out.contains("built without the `runtime` feature"), "{out}");
}
