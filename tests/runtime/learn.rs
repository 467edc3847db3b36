//! `run --learn` on components built by real toolchains (a C reader and a C writer through
//! wasi-libc and the preview1 adapter, and a Python socket client by componentize-py), each
//! unknown (no manifest): the learned manifest passes `check` without a warning, and the
//! enforced run under it does the same work without a denial.

use std::path::Path;
use std::process::Output;

use airssys_wasm::manifest::Manifest;
use serde_json::Value;

use crate::common::toolchain;
use crate::support::audit_lines;
use crate::wasi::{airssys, pong_server, scratch, text};

/// The manifest in `path`, which must be valid.
fn manifest(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path).unwrap();
    Manifest::parse("learned.toml", &text)
        .into_valid()
        .unwrap_or_else(|d| panic!("{text}\n{d:#?}"))
}

fn grants(m: &Manifest) -> Vec<String> {
    let fs = m.filesystem.iter().map(|e| e.grant.to_string());
    let net = m.network.iter().map(|e| e.grant.to_string());
    fs.chain(net).collect()
}

/// `check COMPONENT --manifest MANIFEST` passes: exit 0, and no finding but notes (an unused
/// grant would be a warning).
fn assert_checks_clean(dir: &Path, component: &str, manifest: &str, extra: &[&str]) {
    let mut args = vec!["check", component, "--manifest", manifest, "--format", "json"];
    args.extend(extra);
    let out = airssys(&args, dir);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    let not_notes: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "note")
        .collect();
    assert!(not_notes.is_empty(), "{not_notes:#?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The decision lines of an audit log.
fn decisions(path: &Path) -> Vec<Value> {
    audit_lines(path)
        .into_iter()
        .filter(|l| l["record"] == "decision")
        .collect()
}

fn succeeded(out: &Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The C command `name` as `<dir>/<name>.wasm`, with no manifest.
fn unknown_command(dir: &Path, name: &str) {
    std::fs::write(dir.join(format!("{name}.wasm")), toolchain::c_command(name)).unwrap();
}

/// `run COMPONENT --learn --learn-out OUT --audit-log learn.jsonl OPTIONS...`, which must
/// succeed.
fn learned_by(dir: &Path, component: &str, out: &str, options: &[&str]) -> Output {
    let mut args = vec![
        "run",
        component,
        "--learn",
        "--learn-out",
        out,
        "--audit-log",
        "learn.jsonl",
    ];
    args.extend(options);
    let output = airssys(&args, dir);
    succeeded(&output);
    output
}

/// `run COMPONENT --manifest MANIFEST --audit-log enforced.jsonl OPTIONS...`, enforced: it must
/// succeed, and every decision it made must be allowed.
fn enforced_by(dir: &Path, component: &str, manifest: &str, options: &[&str]) -> Output {
    let mut args = vec![
        "run",
        component,
        "--manifest",
        manifest,
        "--audit-log",
        "enforced.jsonl",
    ];
    args.extend(options);
    let output = airssys(&args, dir);
    succeeded(&output);
    let lines = decisions(&dir.join("enforced.jsonl"));
    assert!(
        !lines.is_empty()
            && lines
                .iter()
                .all(|l| l["verdict"] == "allowed" && l["mode"] == "enforce"),
        "{lines:#?}"
    );
    output
}

#[test]
fn a_c_reader_is_learned_then_checked_and_run_without_a_denial() {
    let (_tmp, dir) = scratch();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/in.txt"), "learned contents\n").unwrap();
    std::fs::write(dir.join("data/other.txt"), "OTHER\n").unwrap();
    unknown_command(&dir, "reader");
    let input = dir.join("data/in.txt").display().to_string();

    let out = learned_by(&dir, "reader.wasm", "learned.toml", &["--", &input]);
    assert_eq!(text(&out.stdout), "learned contents\n", "the component's output only");
    assert!(text(&out.stderr).contains("learned manifest written to learned.toml"));
    // Learning is a report-only run: the read was let through and logged as such.
    let learning = decisions(&dir.join("learn.jsonl"));
    assert!(learning.iter().any(|l| l["verdict"] == "would-deny"), "{learning:#?}");
    assert!(
        audit_lines(&dir.join("learn.jsonl"))
            .iter()
            .all(|l| l["mode"] == "report-only")
    );

    let learned = manifest(&dir.join("learned.toml"));
    assert_eq!(grants(&learned), [format!("read `{input}`")]);
    assert_eq!(learned.component.name, "reader");
    assert!(learned.acknowledged.is_none(), "path_open's need is met by the read");
    assert_checks_clean(&dir, "reader.wasm", "learned.toml", &[]);

    let out = enforced_by(&dir, "reader.wasm", "learned.toml", &["--", &input]);
    assert_eq!(text(&out.stdout), "learned contents\n");

    // Exactly what the run did: the file beside it stays out of reach.
    let other = dir.join("data/other.txt").display().to_string();
    let out = airssys(
        &["run", "reader.wasm", "--manifest", "learned.toml", "--", &other],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("OTHER"));
}

#[test]
fn a_c_writer_is_learned_then_checked_and_run_without_a_denial() {
    let (_tmp, dir) = scratch();
    std::fs::create_dir(dir.join("out")).unwrap();
    unknown_command(&dir, "writer");
    let target = dir.join("out/new.txt");
    let path = target.display().to_string();

    learned_by(&dir, "writer.wasm", "writer.learned.toml", &["--", &path]);
    let learned = manifest(&dir.join("writer.learned.toml"));
    assert_eq!(grants(&learned), [format!("write `{path}`")]);
    assert_checks_clean(&dir, "writer.wasm", "writer.learned.toml", &[]);

    // The enforced run makes the file again, under the learned manifest.
    std::fs::remove_file(&target).unwrap();
    enforced_by(&dir, "writer.wasm", "writer.learned.toml", &["--", &path]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "written\n");
}

#[test]
fn a_python_network_client_is_learned_then_checked_and_run_without_a_denial() {
    use std::sync::atomic::Ordering;
    let (_tmp, dir) = scratch();
    let (port, hits) = pong_server();
    std::fs::write(
        dir.join("py-client.wasm"),
        toolchain::python("socket-client", "filesystem-component"),
    )
    .unwrap();
    std::fs::write(dir.join("request"), format!("127.0.0.1:{port}")).unwrap();

    let out = learned_by(&dir, "py-client.wasm", "learned.toml", &["--input", "request"]);
    assert_eq!(text(&out.stdout), "pong:ping");
    let learned = manifest(&dir.join("learned.toml"));
    assert_eq!(grants(&learned), [format!("connect `127.0.0.1:{port}`")]);
    // componentize-py imports whole interfaces; what the script did not use is acknowledged,
    // never granted.
    let acknowledged = learned.acknowledged.as_ref().expect("CPython's unused imports");
    let actions: Vec<&str> = acknowledged.actions.iter().map(|(a, _)| a.as_str()).collect();
    assert!(
        actions.contains(&"write") && actions.contains(&"resolve") && !actions.contains(&"connect"),
        "{actions:?}"
    );
    assert_checks_clean(&dir, "py-client.wasm", "learned.toml", &[]);

    let out = enforced_by(&dir, "py-client.wasm", "learned.toml", &["--input", "request"]);
    assert_eq!(text(&out.stdout), "pong:ping");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "the learning run and the enforced one");
}

#[test]
fn a_symbolic_link_and_its_target_are_both_learned() {
    let (_tmp, dir) = scratch();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/real.txt"), "through the link\n").unwrap();
    std::os::unix::fs::symlink("real.txt", dir.join("data/link.txt")).unwrap();
    unknown_command(&dir, "reader");
    let link = dir.join("data/link.txt").display().to_string();
    learned_by(&dir, "reader.wasm", "learned.toml", &["--", &link]);
    let real = dir.join("data/real.txt").display().to_string();
    let mut learned = grants(&manifest(&dir.join("learned.toml")));
    learned.sort();
    assert_eq!(learned, [format!("read `{link}`"), format!("read `{real}`")]);
    // The hop is marked in the learning run's log.
    let hop = decisions(&dir.join("learn.jsonl"))
        .into_iter()
        .find(|l| l["resource"] == format!("filesystem:read {real}"))
        .expect("the target's decision");
    assert_eq!(hop["via_symlink"], link.as_str());
    assert_checks_clean(&dir, "reader.wasm", "learned.toml", &[]);
    let out = airssys(&["run", "reader.wasm", "--manifest", "learned.toml", "--", &link], &dir);
    succeeded(&out);
    assert_eq!(text(&out.stdout), "through the link\n");
}

/// How many components `path` has below `/`.
fn components(path: &Path) -> usize {
    path.components().count() - 1
}

#[test]
fn a_learn_depth_grants_the_tree_below_that_many_components() {
    let (_tmp, dir) = scratch();
    std::fs::create_dir_all(dir.join("data/sub")).unwrap();
    std::fs::write(dir.join("data/sub/in.txt"), "deep\n").unwrap();
    std::fs::write(dir.join("data/beside.txt"), "beside\n").unwrap();
    unknown_command(&dir, "reader");
    let input = dir.join("data/sub/in.txt").display().to_string();
    // Depth: the scratch directory's components and `data`.
    let depth = (components(&dir) + 1).to_string();

    // Without --learn-out: the manifest follows the component's output on standard output.
    let out = airssys(
        &["run", "reader.wasm", "--learn", "--learn-depth", &depth, "--", &input],
        &dir,
    );
    succeeded(&out);
    let stdout = text(&out.stdout);
    let (output, learned) = stdout.split_once("# Learned by").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(output, "deep\n");
    let learned = format!("# Learned by{learned}");
    std::fs::write(dir.join("deep.toml"), &learned).unwrap();
    assert_eq!(
        grants(&manifest(&dir.join("deep.toml"))),
        [format!("read `{}/data/**`", dir.display())],
        "{learned}"
    );
    assert!(learned.contains(&format!("--learn-depth {depth}")), "{learned}");
    assert_checks_clean(&dir, "reader.wasm", "deep.toml", &[]);
    let beside = dir.join("data/beside.txt").display().to_string();
    let out = airssys(&["run", "reader.wasm", "--manifest", "deep.toml", "--", &beside], &dir);
    succeeded(&out);
    assert_eq!(text(&out.stdout), "beside\n", "the tree below `data` is granted");

    // One component more: the tree below `data/sub`, which `beside.txt` is not in.
    let deeper = (components(&dir) + 2).to_string();
    learned_by(
        &dir,
        "reader.wasm",
        "deeper.toml",
        &["--learn-depth", &deeper, "--", &input],
    );
    assert_eq!(
        grants(&manifest(&dir.join("deeper.toml"))),
        [format!("read `{}/data/sub/**`", dir.display())]
    );
    let out = airssys(
        &["run", "reader.wasm", "--manifest", "deeper.toml", "--", &beside],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    // A path no deeper than the depth stays exact.
    learned_by(
        &dir,
        "reader.wasm",
        "exact.toml",
        &["--learn-depth", "99", "--", &input],
    );
    assert_eq!(grants(&manifest(&dir.join("exact.toml"))), [format!("read `{input}`")]);
}

#[test]
fn what_an_organisation_policy_denies_is_not_learned() {
    let (_tmp, dir) = scratch();
    std::fs::create_dir(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/secret.txt"), "SECRET\n").unwrap();
    let secret = dir.join("data/secret.txt").display().to_string();
    std::fs::write(
        dir.join("org.toml"),
        format!("extends = [\"builtin:default\"]\n\n[filesystem]\ndeny = [{{ path = \"{secret}\" }}]\n"),
    )
    .unwrap();
    unknown_command(&dir, "reader");

    let out = airssys(
        &[
            "run",
            "reader.wasm",
            "--policy",
            "org.toml",
            "--learn",
            "--learn-out",
            "learned.toml",
            "--",
            &secret,
        ],
        &dir,
    );
    // Report-only: the read went through and was logged as `would-deny`; learning does not
    // turn it into a grant.
    succeeded(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: learn: not granted: `read {secret}` (wasi:filesystem/types.[method]descriptor.open-at): denied by policy org.toml:4:"
        )),
        "{stderr}"
    );
    let text_of = std::fs::read_to_string(dir.join("learned.toml")).unwrap();
    assert!(
        text_of.contains("# Observed, but not granted: an organisation policy denies it")
            && text_of.contains(&format!("#   `read {secret}`")),
        "{text_of}"
    );
    let learned = manifest(&dir.join("learned.toml"));
    assert!(grants(&learned).is_empty(), "{text_of}");
    // The need the denied read would have met is acknowledged: never granted.
    let acknowledged = learned.acknowledged.as_ref().expect("path_open's need");
    assert_eq!(
        acknowledged.actions.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["read", "write"]
    );
    assert_checks_clean(&dir, "reader.wasm", "learned.toml", &["--policy", "org.toml"]);
    // Enforced, the policy refuses the read.
    let out = airssys(
        &[
            "run",
            "reader.wasm",
            "--policy",
            "org.toml",
            "--manifest",
            "learned.toml",
            "--",
            &secret,
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("SECRET"));
}

#[test]
fn learn_options_that_cannot_work_are_refused_before_anything_runs() {
    let (_tmp, dir) = scratch();
    unknown_command(&dir, "reader");
    for (args, expected) in [
        (
            &["run", "reader.wasm", "--learn", "--learn-depth", "0"][..],
            "--learn-depth must be at least 1",
        ),
        (&["run", "reader.wasm", "--learn-depth", "2"][..], "--learn"),
        (
            &["run", "reader.wasm", "--learn", "--with", "reader.wasm"][..],
            "cannot be used with",
        ),
        (
            &["run", "reader.wasm", "--learn", "--learn-out", "no/such/dir/x.toml"][..],
            "is not a directory to write the manifest in",
        ),
    ] {
        let out = airssys(args, &dir);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
}

/// The merge with the static needs, through the library: a need the run met is granted, one it
/// did not is acknowledged, and one that can be neither (a literal whose action is granted for
/// something else) is said.
#[test]
fn the_needs_of_the_imports_are_met_acknowledged_or_named() {
    use airssys_wasm::diagnostics::Sources;
    use airssys_wasm::learn::{Learning, Observation, learn};
    use airssys_wasm::orgpolicy::{PolicySet, parse_request};
    let bytes = crate::common::component_importing(
        &[
            "filesystem.read-file",
            "filesystem.delete-file",
            "lifecycle.spawn",
            "lifecycle.spawn-shell",
        ],
        "",
        "",
    );
    let catalogue = airssys_wasm::catalogue::Catalogue::embedded().unwrap();
    let artifact = airssys_wasm::component::read(&bytes).unwrap();
    let mut sources = Sources::new();
    let id = sources.add_binary("merged.wasm");
    let classified = airssys_wasm::check::classify(&catalogue, &artifact, id);
    let observed = |operation: &str, request: &str| Observation {
        operation: operation.to_string(),
        request: parse_request(request).unwrap(),
        denied_by: None,
    };
    let base = Manifest::parse("m.toml", "[component]\nname = \"merged\"\nversion = \"2.0.0\"\n")
        .into_valid()
        .unwrap();
    let learned = learn(&Learning {
        component: "merged.wasm",
        run: "r",
        manifest: &base,
        functions: &classified.functions,
        observations: &[
            observed("filesystem.read-file", "read /data/x"),
            observed("lifecycle.spawn", "spawn /usr/bin/gzip"),
        ],
        depth: None,
        policies: &PolicySet::default(),
    });
    let m = Manifest::parse("learned.toml", &learned.manifest)
        .into_valid()
        .unwrap_or_else(|d| panic!("{}\n{d:#?}", learned.manifest));
    assert_eq!(grants(&m), ["read `/data/x`"]);
    assert_eq!(
        m.process.iter().map(|e| e.grant.to_string()).collect::<Vec<_>>(),
        ["spawn `/usr/bin/gzip`"]
    );
    let acknowledged = m.acknowledged.as_ref().unwrap();
    assert_eq!(
        acknowledged.actions.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["delete"],
        "{}",
        learned.manifest
    );
    assert!(
        learned.manifest.contains("\"delete\",  # delete-file\n"),
        "{}",
        learned.manifest
    );
    assert_eq!(learned.warnings.len(), 1, "{:?}", learned.warnings);
    assert!(
        learned.warnings[0].starts_with("`spawn-shell` needs process `spawn` of `/bin/sh` that the run did not use"),
        "{:?}",
        learned.warnings
    );
    assert!(
        learned
            .manifest
            .contains("# Not in this manifest:\n#   `spawn-shell` needs"),
        "{}",
        learned.manifest
    );
}
