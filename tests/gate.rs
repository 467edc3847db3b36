//! The CI gate's rough edges, end to end through the binary: built-in policies on the command
//! line, the bundled example policy on the bundled example, repeated paths, the order of
//! `-A/-W/-D`, the progress counter, `--color never` on argument errors, and `--sarif-base`.

mod common;

use std::process::{Command, Output};

fn airssys(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const EXAMPLE: &str = "docs/examples/csv-export";

#[test]
fn builtin_policies_work_on_the_command_line() {
    for policy in ["builtin:default", "builtin:strict"] {
        let out = airssys(&["check", "--policy", policy, EXAMPLE]);
        assert_eq!(out.status.code(), Some(0), "{policy}: {}{}", stdout(&out), stderr(&out));
        assert_eq!(stdout(&out), "checked 1 component: 0 errors, 0 warnings, 0 notes\n");
        let manifest = format!("{EXAMPLE}/Component.toml");
        let out = airssys(&["manifest", "--policy", policy, &manifest]);
        assert_eq!(out.status.code(), Some(0), "{policy}: {}{}", stdout(&out), stderr(&out));
    }
    // A policy file may extend a built-in one given on the same command line: loaded once.
    let out = airssys(&[
        "check",
        "--policy",
        "builtin:default",
        "--policy",
        "policies/examples/ci-gate.toml",
        EXAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));

    let out = airssys(&["check", "--policy", "builtin:nope", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("there is no built-in policy `builtin:nope`"), "{err}");
    assert!(
        err.contains("the built-in policies are `builtin:default` and `builtin:strict`"),
        "{err}"
    );
    assert!(!err.contains("cannot read"), "{err}");
}

/// The example CI policy passes the bundled clean example: its waiver is for a component this
/// run does not check, which is a note (not a warning its `warnings = "deny"` would fail on).
#[test]
fn the_example_ci_gate_passes_the_clean_example() {
    let out = airssys(&["check", "--policy", "policies/examples/ci-gate.toml", EXAMPLE]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("the waiver for `legacy-exporter` >=1.0, <2 (code POL006"),
        "{text}"
    );
    assert!(
        text.ends_with("checked 1 component: 0 errors, 0 warnings, 1 note\n"),
        "{text}"
    );
}

#[test]
fn a_path_given_twice_is_checked_once() {
    let wat = format!("{EXAMPLE}/csv-export.wat");
    let dotted = format!("{EXAMPLE}/./csv-export.wat");
    let out = airssys(&["check", "--format", "json", EXAMPLE, &wat, &dotted, EXAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["components"],
        serde_json::json!([wat]),
        "first reached through the directory"
    );
    let out = airssys(&["check", EXAMPLE, EXAMPLE]);
    assert_eq!(stdout(&out), "checked 1 component: 0 errors, 0 warnings, 0 notes\n");
}

/// rustc's convention: for one code, the flag given last wins, whatever its kind.
#[test]
fn the_later_level_flag_wins() {
    let minimal = "tests/fixtures/manifests/good/01-minimal.toml";
    let code = |flags: &[&str]| {
        let mut args = vec!["check", "--manifest", minimal];
        args.extend(flags);
        args.push(EXAMPLE);
        airssys(&args).status.code()
    };
    assert_eq!(code(&[]), Some(1), "undeclared permissions are errors");
    assert_eq!(
        code(&["-D", "undeclared-permission", "-A", "undeclared-permission"]),
        Some(0)
    );
    assert_eq!(
        code(&["-A", "undeclared-permission", "-D", "undeclared-permission"]),
        Some(1)
    );
    assert_eq!(code(&["-A", "CMP002", "-W", "CMP002"]), Some(0), "a warning");
    assert_eq!(code(&["-W", "CMP002", "-D", "warnings", "-A", "CMP002"]), Some(0));
    let out = airssys(&["check", "--manifest", minimal, "-D", "CMP002", "-W", "CMP002", EXAMPLE]);
    assert!(
        stdout(&out).ends_with("0 errors, 7 warnings, 0 notes\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn color_never_applies_to_argument_errors() {
    let out = airssys(&["--color", "always", "check", "--frobnicate", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\x1b["), "asked for colour: {:?}", stderr(&out));
    for args in [
        &["--color", "never", "check", "--frobnicate", EXAMPLE][..],
        &["check", "--frobnicate", "--color=never", EXAMPLE],
        &["--color", "always", "--color", "never", "nope"],
    ] {
        let out = airssys(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{args:?}: {err:?}");
        assert!(!err.contains('\x1b'), "{args:?}: {err:?}");
    }
}

/// The progress callback sees 1, 2, ..., n, in order, however the components are scheduled.
#[test]
fn progress_never_goes_backwards() {
    use airssys_wasm::catalogue::Catalogue;
    use airssys_wasm::check::{self, Options};
    use airssys_wasm::diagnostics::Sources;

    let dir = tempfile::tempdir().unwrap();
    let wat = std::fs::read(format!("{}/{EXAMPLE}/csv-export.wat", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let components: Vec<_> = (0..64)
        .map(|i| {
            let path = dir.path().join(format!("c{i:02}.wat"));
            std::fs::write(&path, &wat).unwrap();
            path
        })
        .collect();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |done: usize, total: usize| seen.lock().unwrap().push((done, total));
    let catalogue = Catalogue::embedded().unwrap();
    check::check_with_progress(
        &catalogue,
        &components,
        &Options::default(),
        Sources::new(),
        Some(&record),
    )
    .unwrap();
    let want: Vec<(usize, usize)> = (1..=64).map(|n| (n, 64)).collect();
    assert_eq!(*seen.lock().unwrap(), want);
}

#[test]
fn sarif_uris_are_relative_to_the_sarif_base() {
    let minimal = "tests/fixtures/manifests/good/01-minimal.toml";
    let uris = |extra: &[&str]| {
        let mut args = vec!["check", "--format", "sarif", "--manifest", minimal];
        args.extend(extra);
        args.push(EXAMPLE);
        let out = airssys(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut uris: Vec<String> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["locations"].as_array().unwrap().clone())
            .map(|l| {
                l["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        uris.dedup();
        uris
    };
    // The manifest has no [permissions] table to anchor on: line 1 of the component.
    let wat = format!("{EXAMPLE}/csv-export.wat");
    assert_eq!(uris(&[]), [wat.as_str()], "default: the current directory");
    assert_eq!(uris(&["--sarif-base", "docs"]), ["examples/csv-export/csv-export.wat"]);
    assert_eq!(uris(&["--sarif-base", "tests/"]), [format!("../{wat}")]);

    let out = airssys(&["check", "--format", "sarif", "--sarif-base", "README.md", EXAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--sarif-base README.md: not a directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_writes_junit() {
    let purge = "docs/examples/purge/purge.wat";
    let out = airssys(&["check", "--format", "junit", purge, EXAMPLE]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "checked 2 components: 1 error, 0 warnings, 0 notes\n");
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"airssys-wasm\" tests=\"2\" failures=\"1\" errors=\"0\">\n"), "{xml}");
    assert!(
        xml.contains(&format!("<testcase classname=\"airssys-wasm\" name=\"{purge}\">\n      <failure type=\"WIT003\" message=\"1 error\">error[WIT003] signature-mismatch: `filesystem.delete-file` differs")),
        "{xml}"
    );
    assert!(xml.contains("catalogue&apos;s WIT"), "escaped: {xml}");
    assert!(
        xml.contains(&format!(
            "<testcase classname=\"airssys-wasm\" name=\"{EXAMPLE}/csv-export.wat\"/>"
        )),
        "a clean component passes: {xml}"
    );
    assert!(xml.ends_with("  </testsuite>\n</testsuites>\n"));
    // Balanced: every element opened is closed (a passing test case closes itself).
    for tag in ["testsuites", "testsuite", "testcase", "failure"] {
        let opened = xml.matches(&format!("<{tag} ")).count();
        let self_closed = if tag == "testcase" {
            xml.matches("\"/>").count()
        } else {
            0
        };
        assert_eq!(
            opened,
            xml.matches(&format!("</{tag}>")).count() + self_closed,
            "<{tag}> in {xml}"
        );
    }
    // `manifest` and `wit` take it too.
    let out = airssys(&[
        "manifest",
        "--format",
        "junit",
        "tests/fixtures/manifests/bad/46-shadowed-path.toml",
    ]);
    assert_eq!(out.status.code(), Some(0), "warnings only");
    let xml = stdout(&out);
    assert!(xml.contains("tests=\"1\" failures=\"0\""), "{xml}");
    assert!(xml.contains("<system-out>warning[MAN018] shadowed-grant: "), "{xml}");
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = airssys(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        for word in ["airssys-wasm", "check", "explain-request", "completions", "sarif-base"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let bash = Command::new("bash")
        .arg("-n")
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(&airssys(&["completions", "bash"]).stdout)?;
            child.wait()
        })
        .unwrap();
    assert!(bash.success(), "the bash script parses");
    let out = airssys(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: bash, elvish, fish, powershell, zsh"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_renders_headings_for_a_terminal() {
    let out = airssys(&["explain", "CMP003"]);
    let text = stdout(&out);
    assert!(text.contains("\nHow to fix\n──────────\n"), "{text}");
    assert!(!text.contains("## "), "{text}");
    let out = airssys(&["--color", "always", "explain", "CMP003"]);
    assert!(stdout(&out).contains("\x1b[1mHow to fix\x1b[0m"), "{}", stdout(&out));
    // The Markdown reference keeps its Markdown.
    assert!(stdout(&airssys(&["explain", "--markdown"])).contains("\n## CMP003"));
}

/// The pre-commit hooks run `check` the way pre-commit does: the entry, then the staged files
/// (or the configured directories).
#[test]
fn pre_commit_hooks_run_check() {
    let hooks = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.pre-commit-hooks.yaml")).unwrap();
    for id in ["airssys-wasm-check", "airssys-wasm-check-dir"] {
        assert!(hooks.contains(&format!("- id: {id}\n")), "{id}");
    }
    assert_eq!(hooks.matches("  entry: airssys-wasm check\n").count(), 2);
    assert_eq!(hooks.matches("  language: rust\n").count(), 2);
    assert!(hooks.contains("  files: \\.(wasm|wat)$\n"));
    let staged = format!("{EXAMPLE}/csv-export.wat");
    assert_eq!(airssys(&["check", &staged]).status.code(), Some(0));
    assert_eq!(
        airssys(&["check", "docs/examples/purge/purge.wat", &staged])
            .status
            .code(),
        Some(1)
    );
}

/// The composite action's check step, run as GitHub runs it: with the action's inputs in the
/// environment, the installed binary, and the runner's files.
#[test]
fn the_action_checks_and_writes_sarif_relative_to_the_workspace() {
    let action = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    assert!(action.contains("\n  using: composite\n"));
    assert!(action.contains("uses: github/codeql-action/upload-sarif@v3"));
    assert!(action.contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\""));
    let step = action.split("      id: check\n").nth(1).unwrap();
    let script: String = step
        .split("      run: |\n")
        .nth(1)
        .unwrap()
        .split("\n    - name:")
        .next()
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("        ").unwrap_or(l)))
        .collect();

    let runner = tempfile::tempdir().unwrap();
    let bin = runner.path().join("airssys-wasm/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_airssys-wasm"), bin.join("airssys-wasm")).unwrap();
    let output = runner.path().join("github-output");
    let sarif = runner.path().join("out.sarif");
    let run = |paths: &str, policy: &str| {
        std::fs::write(&output, "").unwrap();
        let status = Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUNNER_TEMP", runner.path())
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_WORKSPACE", env!("CARGO_MANIFEST_DIR"))
            .env("AIRSSYS_PATHS", paths)
            .env("AIRSSYS_POLICY", policy)
            .env("AIRSSYS_ARGS", "-D warnings")
            .env("AIRSSYS_SARIF", &sarif)
            .output()
            .unwrap();
        (status.status.code(), std::fs::read_to_string(&output).unwrap())
    };
    assert_eq!(run(EXAMPLE, "builtin:strict"), (Some(0), "exit-code=0\n".to_string()));
    let (code, out) = run(&format!("docs/examples/purge/purge.wat {EXAMPLE}"), "");
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "exit-code=1\n"),
        "findings: the upload still runs"
    );
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let uri = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "docs/examples/purge/purge.wat");
    let (code, out) = run("no/such/dir", "");
    assert_eq!(
        (code, out.as_str()),
        (Some(1), "exit-code=2\n"),
        "the tool could not run: fail at once"
    );
}
