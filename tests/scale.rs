//! Registry-scale audits: shards chosen by content digest, merged into exactly what one process
//! prints; the result cache; `--from-list`. The corpus is generated here from the `check`
//! fixtures (every finding the analysis makes), each copy made unique by a custom section (or a
//! comment in WAT), beside its own manifest, a shared `Component.toml`, or none.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use airssys_wasm::cache::{Cache, CacheStats};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::digest::Shard;
use airssys_wasm::orgpolicy::{Date, PolicySet};

/// Rules whose findings point into the policy (which the cache must find again), and waivers
/// the corpus uses (CMP003 of the fixtures' component, and of component 7 alone), never uses,
/// and that expired.
const POLICY: &str = r#"
[operations]
forbid = ["airssys:ext-process/*"]

[components]
kinds = ["airssys", "wasi-command", "core-module"]

[[waiver]]
component = "fixture"
code = "unused-grant"
reason = "kept for the next release"
expires = 2099-12-31

[[waiver]]
component = "rare"
code = "unused-grant"
reason = "used by one component only, so by one shard only"
expires = 2099-12-31

[[waiver]]
component = "nobody"
code = "CMP004"
reason = "no component of this name"
expires = 2099-12-31

[[waiver]]
component = "fixture"
code = "CMP006"
reason = "long gone"
expires = 2000-01-01
"#;

/// Writes `n` components under `dir` (ten directories; the last has no `Component.toml`) and
/// the policy, and returns the policy's path.
fn corpus(dir: &Path, n: usize) -> PathBuf {
    let fixtures = common::fixtures::check_fixtures();
    for d in 0..10 {
        std::fs::create_dir_all(dir.join(format!("d{d}"))).unwrap();
        if d < 9 {
            let shared = fixtures[d % fixtures.len()].manifest.clone().unwrap_or_default();
            std::fs::write(dir.join(format!("d{d}/Component.toml")), shared).unwrap();
        }
    }
    for i in 0..n {
        let fx = &fixtures[i % fixtures.len()];
        let stem = dir.join(format!("d{}/c{i:05}", i % 10));
        let mut bytes = fx.bytes.clone();
        if fx.ext == "wat" {
            bytes.extend(format!("\n;; copy {i}\n").bytes());
        } else {
            let payload = format!("copy {i}");
            bytes.extend([0, (payload.len() + 3) as u8, 2, b'i', b'd']);
            bytes.extend(payload.bytes());
        }
        std::fs::write(stem.with_extension(fx.ext), bytes).unwrap();
        // Every third component uses its directory's Component.toml (or none, in d9).
        if let Some(m) = fx.manifest.as_ref().filter(|_| i % 3 != 0) {
            std::fs::write(stem.with_extension("toml"), m).unwrap();
        }
    }
    std::fs::write(
        dir.join("d7/c00007.toml"),
        "[component]\nname = \"rare\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [{ action = \"read\", path = \"/never/used\" }]\n",
    )
    .unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    policy
}

/// The binary under test, copied once into the test's directory: the target directory may be
/// shared with other worktrees, whose builds would replace it between the processes of a test.
fn binary(dir: &Path) -> PathBuf {
    let copy = dir.join("airssys-wasm");
    if !copy.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_airssys-wasm"), &copy).unwrap();
        let ours = output(Command::new(&copy).args(["merge", "--help"]));
        assert!(
            ours.status.success(),
            "{} is another build (no `merge`): the target directory is shared; rebuild and run again",
            env!("CARGO_BIN_EXE_airssys-wasm")
        );
    }
    copy
}

fn airssys(dir: &Path, args: &[&str]) -> Output {
    output(Command::new(binary(dir)).args(args).current_dir(dir))
}

/// Starts `cmd`. The binary is a fresh copy: until another test thread's child (forked while
/// the copy was open for writing) has made its own exec, starting the copy fails with
/// `ETXTBSY`, so that is tried again.
fn spawn(cmd: &mut Command) -> std::process::Child {
    for _ in 0..200 {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            started => return started.unwrap(),
        }
    }
    cmd.spawn().unwrap()
}

/// Runs `cmd` to its end (see [`spawn`]), with its output.
fn output(cmd: &mut Command) -> Output {
    spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))
        .wait_with_output()
        .unwrap()
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).unwrap()
}

/// The component indices of a jsonl stream.
fn indices(jsonl: &str) -> Vec<u64> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "component")
        .map(|v| v["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn shards_merge_to_exactly_the_single_process_output() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 2_000;
    corpus(tmp.path(), n);
    let check = ["check", "--format", "jsonl", "--policy", "policy.toml", "."];
    let single = airssys(tmp.path(), &check);
    assert_eq!(
        single.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let whole = stdout(&single);
    assert_eq!(indices(whole), (0..n as u64).collect::<Vec<_>>());
    // The corpus exercises what merging must get right: manifests shared across shards, a
    // waiver used by some shards only (no POL015 for it), one used by none, one expired.
    let batch: Vec<&str> = whole.lines().filter(|l| l.contains(r#""type":"batch""#)).collect();
    assert_eq!(batch.len(), 2, "{batch:?}");
    assert!(batch.iter().any(|l| l.contains("POL014")) && batch.iter().any(|l| l.contains("POL015")));
    let mut dropped = 0;
    for count in [2, 4, 8] {
        let mut files = Vec::new();
        let mut seen = BTreeSet::new();
        for index in 1..=count {
            let shard = format!("{index}/{count}");
            let mut args = check.to_vec();
            args.extend(["--shard", &shard]);
            let out = airssys(tmp.path(), &args);
            assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
            // The shards without component 7 report its waiver unused; the merge must not.
            dropped += stdout(&out)
                .lines()
                .filter(|l| l.contains("POL015") && !whole.contains(*l))
                .count();
            for i in indices(stdout(&out)) {
                assert!(seen.insert(i), "component {i} is in two shards of {count}");
            }
            let file = format!("shard-{index}-of-{count}.jsonl");
            std::fs::write(tmp.path().join(&file), &out.stdout).unwrap();
            files.push(file);
        }
        assert_eq!(seen.len(), n, "the {count} shards together check every component");
        files.reverse();
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        let merged = airssys(tmp.path(), &args);
        assert_eq!(stdout(&merged), whole, "{count} shards merged");
        assert_eq!(merged.status.code(), single.status.code());
    }
    assert_eq!(
        dropped,
        1 + 3 + 7,
        "every shard but component 7's reported its waiver unused"
    );
}

fn check_with(
    catalogue: &Catalogue,
    dir: &Path,
    components: &[PathBuf],
    cache: Option<&Cache>,
    shard: Option<Shard>,
) -> (String, Option<CacheStats>, Vec<PathBuf>) {
    let mut sources = Sources::new();
    let policies = PolicySet::load(&mut sources, &[dir.join("policy.toml")]).unwrap();
    let options = Options {
        policies: Some((
            &policies,
            Date {
                year: 2026,
                month: 1,
                day: 1,
            },
        )),
        cache,
        shard,
        ..Options::default()
    };
    let report = check::check_with_progress(catalogue, components, &options, sources, None).unwrap();
    let json = airssys_wasm::report::json::BatchReport::new(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
    );
    (
        airssys_wasm::report::json::to_string(&json),
        report.cache,
        report.components,
    )
}

#[test]
fn a_shard_keeps_its_members_when_files_are_added_or_reordered() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 120);
    let catalogue = Catalogue::embedded().unwrap();
    let all = check::discover(&[tmp.path().to_path_buf()]).unwrap();
    let shard = Some(Shard { index: 2, count: 3 });
    let (_, _, members) = check_with(&catalogue, tmp.path(), &all[..100], None, shard);
    let mut reordered = all.clone();
    reordered.reverse();
    let (_, _, again) = check_with(&catalogue, tmp.path(), &reordered, None, shard);
    let kept: BTreeSet<_> = again.into_iter().filter(|c| all[..100].contains(c)).collect();
    assert_eq!(kept, members.into_iter().collect());
}

#[test]
fn an_unchanged_reaudit_is_only_cache_lookups() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 90);
    let catalogue = Catalogue::embedded().unwrap();
    let components = check::discover(&[tmp.path().to_path_buf()]).unwrap();
    let n = components.len();
    let (uncached, _, _) = check_with(&catalogue, tmp.path(), &components, None, None);
    let dir = tmp.path().join("cache");
    let run = || {
        let cache = Cache::open(&dir).unwrap();
        let (out, stats, _) = check_with(&catalogue, tmp.path(), &components, Some(&cache), None);
        assert_eq!(out, uncached, "cached findings are the findings");
        stats.unwrap()
    };
    let cold = run();
    assert_eq!((cold.hits, cold.analysed, cold.unstored), (0, n, 0));
    let warm = run();
    assert_eq!(
        (warm.hits, warm.analysed, warm.corrupt),
        (n, 0, 0),
        "nothing changed: nothing analysed"
    );

    // A corrupt entry (cut short, as by a crash of another writer) and a garbage one are
    // recomputed and replaced.
    let entries: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), n);
    let text = std::fs::read(&entries[0]).unwrap();
    std::fs::write(&entries[0], &text[..text.len() / 2]).unwrap();
    std::fs::write(&entries[1], "garbage").unwrap();
    let repaired = run();
    assert_eq!((repaired.hits, repaired.analysed, repaired.corrupt), (n - 2, 2, 2));
    assert_eq!(run().hits, n);

    // A changed manifest is a new key for the components that use it (and only them).
    std::fs::write(
        tmp.path().join("d1/Component.toml"),
        "[component]\nname = \"changed\"\nversion = \"1.0.0\"\n",
    )
    .unwrap();
    let (uncached, _, _) = check_with(&catalogue, tmp.path(), &components, None, None);
    let cache = Cache::open(&dir).unwrap();
    let (out, stats, _) = check_with(&catalogue, tmp.path(), &components, Some(&cache), None);
    assert_eq!(out, uncached);
    let stats = stats.unwrap();
    assert!(stats.analysed > 0 && stats.analysed < n / 10, "{stats:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn processes_sharing_a_cache_print_what_an_uncached_run_prints() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 200);
    let check = [
        "check",
        "--format",
        "json",
        "--policy",
        "policy.toml",
        "d0",
        "d1",
        "d2",
        "d3",
    ];
    let uncached = airssys(tmp.path(), &check);
    let mut args = check.to_vec();
    args.extend(["--cache", "cache"]);
    let children: Vec<_> = (0..4)
        .map(|_| {
            spawn(
                Command::new(binary(tmp.path()))
                    .args(&args)
                    .current_dir(tmp.path())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped()),
            )
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.stdout, uncached.stdout);
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("cache: "));
    }
    let warm = airssys(tmp.path(), &args);
    assert_eq!(warm.stdout, uncached.stdout);
    assert_eq!(String::from_utf8_lossy(&warm.stderr), "cache: 80 reused, 0 analysed\n");
    assert!(
        walk(&tmp.path().join("cache"))
            .iter()
            .all(|p| !p.to_string_lossy().contains(".tmp-"))
    );
}

#[test]
fn merge_refuses_what_is_not_the_shards_of_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 40);
    let check = ["check", "--format", "jsonl", "--policy", "policy.toml", "."];
    let shard = |i: &str, extra: &[&str]| {
        let mut args = check.to_vec();
        args.extend(["--shard", i]);
        args.extend(extra);
        let out = airssys(tmp.path(), &args);
        let file = format!("{}{}.jsonl", i.replace('/', "of"), extra.len());
        std::fs::write(tmp.path().join(&file), out.stdout).unwrap();
        file
    };
    let (s1, s2, s3) = (shard("1/3", &[]), shard("2/3", &[]), shard("3/3", &[]));
    let other = shard("3/3", &["-A", "unused-grant"]);
    let text = std::fs::read_to_string(tmp.path().join(&s2)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(tmp.path().join("cut.jsonl"), lines[..lines.len() - 1].join("\n")).unwrap();
    std::fs::write(
        tmp.path().join("garbage.jsonl"),
        format!("{}\n{{\"version\":1,\"ty", lines[0]),
    )
    .unwrap();
    let edited = text.replace(
        r#""type":"summary","components":"#,
        r#""type":"summary","components":1"#,
    );
    std::fs::write(tmp.path().join("edited.jsonl"), edited).unwrap();
    let merge = |files: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(files);
        let out = airssys(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{files:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let cases = [
        (vec![&*s1, &s2], format!("{s1}:1: shard 1/3, but 2 files were given")),
        (vec![&*s1, &s2, &s2], format!("{s2}:1: shard 2/3 again (also {s2})")),
        (
            vec![&*s1, &s2, &other],
            format!("{other}:1: checked another batch than {s1}"),
        ),
        (
            vec![&*s1, "cut.jsonl", &s3],
            "cut.jsonl: it ends before its summary".to_string(),
        ),
        (
            vec![&*s1, "garbage.jsonl", &s3],
            "garbage.jsonl:2: not a JSON document".to_string(),
        ),
        (
            vec![&*s1, "edited.jsonl", &s3],
            "the summary does not match the documents before it".to_string(),
        ),
        (vec![&*s1, "nope.jsonl"], "cannot read nope.jsonl".to_string()),
    ];
    for (files, want) in cases {
        let said = merge(&files);
        assert!(said.starts_with("error: ") && said.contains(&want), "{files:?}: {said}");
    }
}

#[test]
fn from_list_reports_unusable_lines_by_number_and_checks_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fixtures = common::fixtures::check_fixtures();
    let named = |name: &str| fixtures.iter().find(|f| f.name == name).unwrap();
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("ok.wasm"), &named("clean-filesystem").bytes).unwrap();
    std::fs::write(
        dir.join("ok.toml"),
        named("clean-filesystem").manifest.as_ref().unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("other.wasm"), &named("unused-grant").bytes).unwrap();
    std::fs::write(
        dir.join("manifests/other.toml"),
        named("unused-grant").manifest.as_ref().unwrap(),
    )
    .unwrap();
    let list = "# a registry's listing\nok.wasm\n\nmissing.wasm\nmanifests\nother.wasm\tmanifests/other.toml\nok.wasm\nother.wasm\tnope.toml\tx\ty\n";
    let mut child = spawn(
        Command::new(binary(dir))
            .args(["check", "--color", "never", "--from-list", "-"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), list.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    common::with_snapshots(|| insta::assert_snapshot!("from-list", text));
}

#[test]
fn a_listed_digest_chooses_the_shard_and_a_wrong_one_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 30);
    let components = check::discover(&[tmp.path().to_path_buf()]).unwrap();
    let relative = |c: &PathBuf| c.strip_prefix(tmp.path()).unwrap().display().to_string();
    let wrong = airssys_wasm::digest::Digest::of(b"not the file");
    let mut list = String::new();
    for (i, c) in components.iter().enumerate() {
        let digest = if i == 5 {
            wrong
        } else {
            check::content_digest(c).unwrap()
        };
        list.push_str(&format!("{}\t\t{digest:?}\n", relative(c)));
    }
    list.push_str(&format!("{}\t\tsha256:zz\n", relative(&components[0])));
    std::fs::write(tmp.path().join("list.txt"), list).unwrap();
    let check = ["check", "--format", "jsonl", "--from-list", "list.txt"];
    let whole = airssys(tmp.path(), &check);
    let mut files = Vec::new();
    for index in 1..=4u32 {
        let mut args = check.to_vec();
        let shard = format!("{index}/4");
        args.extend(["--shard", &shard]);
        let out = airssys(tmp.path(), &args);
        let text = stdout(&out);
        let has_wrong = indices(text).contains(&5);
        assert_eq!(
            has_wrong,
            Shard { index, count: 4 }.contains(&wrong),
            "the listed digest decides"
        );
        let file = format!("listed-{index}.jsonl");
        std::fs::write(tmp.path().join(&file), &out.stdout).unwrap();
        files.push(file);
    }
    let mismatch = stdout(&whole)
        .lines()
        .find(|l| l.contains(r#""index":5,"#))
        .unwrap()
        .to_string();
    assert!(
        mismatch.contains("CMP011") && mismatch.contains("but its line says"),
        "{mismatch}"
    );
    assert!(stdout(&whole).contains("`sha256:zz` is not a digest"));
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(stdout(&airssys(tmp.path(), &args)), stdout(&whole));
}

#[test]
fn a_cache_that_cannot_be_written_is_counted_and_the_findings_are_right() {
    let tmp = tempfile::tempdir().unwrap();
    corpus(tmp.path(), 30);
    let catalogue = Catalogue::embedded().unwrap();
    let components = check::discover(&[tmp.path().to_path_buf()]).unwrap();
    let (uncached, _, _) = check_with(&catalogue, tmp.path(), &components, None, None);
    let dir = tmp.path().join("cache");
    let cache = Cache::open(&dir).unwrap();
    // Files where the fan-out directories would go: every write fails.
    for b in 0..=255u8 {
        std::fs::write(dir.join(format!("v1/{b:02x}")), "not a directory").unwrap();
    }
    let (out, stats, _) = check_with(&catalogue, tmp.path(), &components, Some(&cache), None);
    assert_eq!(out, uncached);
    let stats = stats.unwrap();
    assert_eq!((stats.analysed, stats.unstored), (components.len(), components.len()));
    assert!(stats.write_error.unwrap().starts_with("cannot write "));
    // A cache directory that cannot be made is the tool's error, naming it and the fix.
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, "a file").unwrap();
    let said = Cache::open(&blocked).unwrap_err().to_string();
    assert!(
        said.contains("cannot use the cache directory") && said.contains("leave out --cache"),
        "{said}"
    );
}
