//! The filesystem host through a real guest (the proxy component): allowed operations with
//! their effects, the same operations denied, the audit lines, and the filesystem part of the
//! escape suite. Every escape test asserts the denial (or the error that fits) and that nothing
//! outside the grants changed, by comparing a snapshot of the tree around the grant (names,
//! kinds, contents, link targets, permission bits) before and after.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use wasmtime::component::Val;

use crate::guest::{FS, Proxy, assert_denied, bytes, err_case, field, is_denied, lines, ok, s, unbytes};

/// A temporary tree: `grant/` (the granted directory, empty at first) next to `outside/`,
/// which holds files no grant names.
struct Tree {
    dir: TempDir,
}

impl Tree {
    fn new() -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir(tree.p("grant")).unwrap();
        tree.put("outside/secret.txt", "top secret");
        tree.put("outside/sub/deep.txt", "deep secret");
        tree.put("readme.txt", "next to the grant");
        tree
    }

    fn root(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root())
    }

    fn put(&self, rel: &str, data: &str) {
        let path = self.p(rel);
        fs::create_dir_all(Path::new(&path).parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    fn link(&self, target: &str, rel: &str) {
        symlink(target, self.p(rel)).unwrap();
    }

    /// A manifest with `grants` (action, path below the root).
    fn manifest(&self, grants: &[(&str, &str)]) -> String {
        let mut toml =
            String::from("[component]\nname = \"fs-guest\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n");
        for (action, path) in grants {
            toml.push_str(&format!(
                "  {{ action = \"{action}\", path = \"{}\" }},\n",
                self.p(path)
            ));
        }
        toml.push_str("]\n");
        toml
    }

    /// Every action on `grant/**`.
    fn full_grant(&self) -> String {
        self.manifest(&[
            ("read", "grant/**"),
            ("write", "grant/**"),
            ("delete", "grant/**"),
            ("metadata", "grant/**"),
        ])
    }

    /// Everything below the root except `grant/`: path -> description.
    fn outside(&self) -> BTreeMap<String, String> {
        let mut seen = BTreeMap::new();
        snapshot(self.dir.path(), "", &mut seen);
        seen
    }
}

fn flags(names: &[&str]) -> Val {
    Val::Flags(names.iter().map(|n| n.to_string()).collect())
}

fn snapshot(dir: &Path, rel: &str, seen: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if rel == "grant" {
            continue;
        }
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let described = if meta.file_type().is_symlink() {
            format!("link -> {}", fs::read_link(entry.path()).unwrap().display())
        } else if meta.is_dir() {
            snapshot(&entry.path(), &rel, seen);
            format!("dir {mode:o}")
        } else {
            let data = fs::read(entry.path()).unwrap();
            format!("file {mode:o} {}", String::from_utf8_lossy(&data))
        };
        seen.insert(rel, described);
    }
}

fn last_line(p: &Proxy) -> Value {
    p.audit().pop().expect("an audit line")
}

// ---------------------------------------------------------------- allowed and denied

#[test]
fn a_guest_reads_writes_and_lists_inside_its_grant() {
    let t = Tree::new();
    let mut p = Proxy::of(FS, &t.full_grant());
    let file = t.p("grant/notes/a.txt");
    ok(p.call("filesystem.create-dir-all", &[s(&t.p("grant/notes"))]));
    ok(p.call("filesystem.write-file", &[s(&file), bytes(b"hello")]));
    ok(p.call("filesystem.append-file", &[s(&file), bytes(b", world")]));
    assert_eq!(fs::read_to_string(&file).unwrap(), "hello, world");
    let read = ok(p.call("filesystem.read-file", &[s(&file)]));
    assert_eq!(unbytes(&read), b"hello, world");

    // A handle: write, seek, read back, sync, close.
    let h = ok(p.call(
        "filesystem.open",
        &[s(&t.p("grant/h.bin")), flags(&["read", "write", "create"])],
    ));
    assert_eq!(
        ok(p.call("filesystem.write", &[h.clone(), bytes(b"0123456789")])),
        Val::U64(10)
    );
    let at = ok(p.call(
        "filesystem.seek",
        &[h.clone(), Val::Variant("start".into(), Some(Box::new(Val::U64(4))))],
    ));
    assert_eq!(at, Val::U64(4));
    assert_eq!(
        unbytes(&ok(p.call("filesystem.read", &[h.clone(), Val::U64(3)]))),
        b"456"
    );
    ok(p.call("filesystem.sync", std::slice::from_ref(&h)));
    p.call("filesystem.close", &[h]);
    assert_eq!(fs::read_to_string(t.p("grant/h.bin")).unwrap(), "0123456789");

    // Copy, rename, metadata, listing, search.
    assert_eq!(
        ok(p.call("filesystem.copy", &[s(&file), s(&t.p("grant/b.txt"))])),
        Val::U64(12)
    );
    ok(p.call(
        "filesystem.rename",
        &[s(&t.p("grant/b.txt")), s(&t.p("grant/notes/c.log"))],
    ));
    let stat = ok(p.call("metadata.stat", &[s(&t.p("grant/notes/c.log"))]));
    assert_eq!(field(&stat, "size"), &Val::U64(12));
    assert_eq!(field(&stat, "kind"), &Val::Enum("file".into()));
    let listing = ok(p.call("filesystem.list-dir", &[s(&t.p("grant/notes"))]));
    let Val::List(entries) = listing else { panic!() };
    let names: Vec<&Val> = entries.iter().map(|e| field(e, "name")).collect();
    assert_eq!(names, [&s("a.txt"), &s("c.log")]);
    let found = ok(p.call(
        "metadata.find-files",
        &[s(&t.p("grant")), s("*.log"), Val::Option(None)],
    ));
    assert_eq!(found, Val::List(vec![s(&t.p("grant/notes/c.log"))]));
    let walked = ok(p.call(
        "metadata.walk-dir",
        &[s(&t.p("grant")), Val::Option(Some(Box::new(Val::U32(1))))],
    ));
    let Val::List(walked) = walked else { panic!() };
    assert_eq!(walked.len(), 2, "h.bin and notes: {walked:?}");
    ok(p.call("metadata.set-permissions", &[s(&file), Val::U32(0o600)]));
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    ok(p.call(
        "metadata.set-times",
        &[
            s(&file),
            Val::Option(None),
            Val::Option(Some(Box::new(Val::U64(1_234_567_890_000)))),
        ],
    ));
    assert_eq!(
        ok(p.call("metadata.modified-time", &[s(&file)])),
        Val::U64(1_234_567_890_000)
    );
    let exists = ok(p.call(
        "metadata.batch-exists",
        &[Val::List(vec![s(&file), s(&t.p("grant/none"))])],
    ));
    assert_eq!(exists, Val::List(vec![Val::Bool(true), Val::Bool(false)]));
    assert_eq!(ok(p.call("metadata.dir-size", &[s(&t.p("grant/notes"))])), Val::U64(24));

    // Clean up through the guest.
    ok(p.call("filesystem.delete-file", &[s(&t.p("grant/h.bin"))]));
    ok(p.call("filesystem.remove-dir-all", &[s(&t.p("grant/notes"))]));
    assert_eq!(fs::read_dir(t.p("grant")).unwrap().count(), 0);

    // Every line was allowed and names the operation and the path.
    let all = lines(&p);
    assert!(all.iter().all(|l| l.2 == "allowed"), "{all:?}");
    assert!(all.contains(&(
        "filesystem.write-file".to_string(),
        format!("filesystem:write {file}"),
        "allowed".to_string()
    )));
    assert!(
        all.iter()
            .any(|l| l.0 == "filesystem.read" && l.1 == format!("filesystem:read {}", t.p("grant/h.bin")))
    );
    assert_eq!(
        last_line(&p)["by"],
        format!("grant filesystem #3 delete `{}`", t.p("grant/**"))
    );
}

#[test]
fn the_same_operations_outside_the_grant_are_denied_and_change_nothing() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let secret = t.p("outside/secret.txt");
    let cases: Vec<(&str, Vec<Val>, String)> = vec![
        (
            "filesystem.read-file",
            vec![s(&secret)],
            format!("filesystem:read {secret}"),
        ),
        (
            "filesystem.write-file",
            vec![s(&secret), bytes(b"x")],
            format!("filesystem:write {secret}"),
        ),
        (
            "filesystem.append-file",
            vec![s(&secret), bytes(b"x")],
            format!("filesystem:write {secret}"),
        ),
        (
            "filesystem.truncate",
            vec![s(&secret), Val::U64(0)],
            format!("filesystem:write {secret}"),
        ),
        (
            "filesystem.delete-file",
            vec![s(&secret)],
            format!("filesystem:delete {secret}"),
        ),
        (
            "filesystem.open",
            vec![s(&secret), flags(&["read"])],
            format!("filesystem:read {secret}"),
        ),
        (
            "filesystem.exists",
            vec![s(&secret)],
            format!("filesystem:metadata {secret}"),
        ),
        (
            "filesystem.create-dir",
            vec![s(&t.p("outside/new"))],
            format!("filesystem:write {}", t.p("outside/new")),
        ),
        (
            "filesystem.remove-dir-all",
            vec![s(&t.p("outside"))],
            format!("filesystem:delete {}", t.p("outside")),
        ),
        (
            "filesystem.list-dir",
            vec![s(&t.p("outside"))],
            format!("filesystem:read {}", t.p("outside")),
        ),
        (
            "filesystem.read-symlink",
            vec![s(&secret)],
            format!("filesystem:metadata {secret}"),
        ),
        (
            "filesystem.canonicalize",
            vec![s(&secret)],
            format!("filesystem:metadata {secret}"),
        ),
        (
            "metadata.stat",
            vec![s(&secret)],
            format!("filesystem:metadata {secret}"),
        ),
        (
            "metadata.set-permissions",
            vec![s(&secret), Val::U32(0o777)],
            format!("filesystem:write {secret}"),
        ),
        (
            "metadata.set-times",
            vec![s(&secret), Val::Option(Some(Box::new(Val::U64(0)))), Val::Option(None)],
            format!("filesystem:write {secret}"),
        ),
        (
            "metadata.walk-dir",
            vec![s(&t.p("outside")), Val::Option(None)],
            format!("filesystem:read {}", t.p("outside")),
        ),
        (
            "metadata.batch-stat",
            vec![Val::List(vec![s(&t.p("grant")), s(&secret)])],
            format!("filesystem:metadata {secret}"),
        ),
    ];
    for (op, args, resource) in cases {
        let r = p.call(op, &args);
        assert_denied(&p, &r, &resource);
        let line = last_line(&p);
        assert_eq!(line["operation"], op);
        assert_eq!(line["verdict"], "denied");
        assert_eq!(line["by"], "no grant");
        assert_eq!(line["component"], "fs-guest");
    }
    assert_eq!(t.outside(), before);
}

// ---------------------------------------------------------------- the escape suite

#[test]
fn escape_dot_dot_leaving_and_reentering_the_grant() {
    let t = Tree::new();
    t.put("grant/mine.txt", "mine");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    // Leaving: `grant/../outside/secret.txt` is `outside/secret.txt`.
    let leaving = format!("{}/grant/../outside/secret.txt", t.root());
    let r = p.call("filesystem.write-file", &[s(&leaving), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {leaving}"));
    let deeper = format!("{}/grant/a/b/../../../outside/sub/deep.txt", t.root());
    assert!(is_denied(&p.call("filesystem.read-file", &[s(&deeper)])));
    // Leaving and coming back lexically names a granted path, and only that path is touched.
    let back = format!("{}/grant/../outside/../grant/mine.txt", t.root());
    ok(p.call("filesystem.write-file", &[s(&back), bytes(b"rewritten")]));
    assert_eq!(fs::read_to_string(t.p("grant/mine.txt")).unwrap(), "rewritten");
    // Through a link to `..` the walk leaves the grant, and that hop is denied.
    t.link("..", "grant/up");
    let via_up = t.p("grant/up/outside/secret.txt");
    let r = p.call("filesystem.write-file", &[s(&via_up), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/secret.txt")));
    ok(p.call("filesystem.read-file", &[s(&t.p("grant/up/grant/mine.txt"))]));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_absolute_path_outside() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    for path in [
        t.p("readme.txt"),
        "/etc/passwd".to_string(),
        t.root().to_string(),
        "/".to_string(),
    ] {
        assert!(is_denied(&p.call("filesystem.read-file", &[s(&path)])), "{path}");
        assert!(
            is_denied(&p.call("filesystem.write-file", &[s(&path), bytes(b"x")])),
            "{path}"
        );
    }
    let r = p.call("filesystem.remove-dir-all", &[s(t.root())]);
    assert_denied(&p, &r, &format!("filesystem:delete {}", t.root()));
    assert_eq!(t.outside(), before);
    assert!(Path::new(&t.p("grant")).is_dir());
}

#[test]
fn escape_nul_in_a_path() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    // The string after the NUL is what a C library would see.
    let tricky = format!("{}/grant/x\0/../../outside/secret.txt", t.root());
    let r = p.call("filesystem.write-file", &[s(&tricky), bytes(b"pwned")]);
    assert!(is_denied(&r), "{r:?}");
    let r = p.call(
        "filesystem.read-file",
        &[s(&format!("{}\0", t.p("outside/secret.txt")))],
    );
    assert!(is_denied(&r), "{r:?}");
    assert_eq!(last_line(&p)["verdict"], "denied");
    assert_eq!(t.outside(), before);
    assert_eq!(fs::read_dir(t.p("grant")).unwrap().count(), 0);
}

#[test]
fn escape_symlink_inside_pointing_outside_absolute() {
    let t = Tree::new();
    t.link(&t.p("outside/secret.txt"), "grant/abs");
    t.link(&t.p("outside"), "grant/absdir");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let target = t.p("outside/secret.txt");
    let r = p.call("filesystem.read-file", &[s(&t.p("grant/abs"))]);
    assert_denied(&p, &r, &format!("filesystem:read {target}"));
    let r = p.call("filesystem.write-file", &[s(&t.p("grant/abs")), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {target}"));
    let r = p.call(
        "filesystem.open",
        &[s(&t.p("grant/absdir/secret.txt")), flags(&["write", "truncate"])],
    );
    assert_denied(&p, &r, &format!("filesystem:write {target}"));
    let r = p.call("filesystem.create-dir", &[s(&t.p("grant/absdir/new"))]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/new")));
    let r = p.call("metadata.set-permissions", &[s(&t.p("grant/abs")), Val::U32(0o777)]);
    assert!(is_denied(&r));
    // The link itself is inside the grant: it can be inspected and removed, not followed.
    assert_eq!(
        ok(p.call("metadata.is-symlink", &[s(&t.p("grant/abs"))])),
        Val::Bool(true)
    );
    assert_eq!(
        ok(p.call("filesystem.read-symlink", &[s(&t.p("grant/abs"))])),
        s(&target)
    );
    ok(p.call("filesystem.remove-dir-all", &[s(&t.p("grant/absdir"))]));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_symlink_relative_dot_dot() {
    let t = Tree::new();
    t.link("../outside/secret.txt", "grant/rel");
    fs::create_dir(t.p("grant/a")).unwrap();
    t.link("../../outside/sub", "grant/a/reldir");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let r = p.call("filesystem.append-file", &[s(&t.p("grant/rel")), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/secret.txt")));
    let r = p.call("filesystem.read-file", &[s(&t.p("grant/a/reldir/deep.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:read {}", t.p("outside/sub/deep.txt")));
    let r = p.call("filesystem.delete-file", &[s(&t.p("grant/a/reldir/deep.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:delete {}", t.p("outside/sub/deep.txt")));
    let r = p.call("metadata.walk-dir", &[s(&t.p("grant/a/reldir")), Val::Option(None)]);
    assert!(is_denied(&r));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_symlink_whose_target_ends_in_slash() {
    let t = Tree::new();
    t.link(&format!("{}/", t.p("outside")), "grant/slash");
    t.link("../outside/", "grant/relslash");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let r = p.call("filesystem.list-dir", &[s(&t.p("grant/slash"))]);
    assert_denied(&p, &r, &format!("filesystem:read {}", t.p("outside")));
    let r = p.call(
        "filesystem.write-file",
        &[s(&t.p("grant/slash/secret.txt")), bytes(b"pwned")],
    );
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/secret.txt")));
    let r = p.call("filesystem.remove-dir-all", &[s(&t.p("grant/relslash/sub"))]);
    assert_denied(&p, &r, &format!("filesystem:delete {}", t.p("outside/sub")));
    // A trailing slash on the guest's path follows the final link even where the operation
    // would not: the target is then decided too.
    let r = p.call("filesystem.remove-dir-all", &[s(&format!("{}/", t.p("grant/slash")))]);
    assert_denied(&p, &r, &format!("filesystem:delete {}", t.p("outside")));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_symlink_loop() {
    let t = Tree::new();
    t.link("b", "grant/a");
    t.link("a", "grant/b");
    // A loop that passes outside is denied at its first hop outside.
    t.link(&t.p("outside/loop"), "grant/c");
    t.link(&t.p("grant/c"), "outside/loop");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let r = p.call("filesystem.write-file", &[s(&t.p("grant/a")), bytes(b"x")]);
    assert_eq!(err_case(&r), Some("symlink-loop"), "{r:?}");
    let r = p.call("filesystem.read-file", &[s(&t.p("grant/a/x"))]);
    assert_eq!(err_case(&r), Some("symlink-loop"), "{r:?}");
    let hops = lines(&p).iter().filter(|l| l.0 == "filesystem.read-file").count();
    assert!(hops <= 42, "at most 40 hops are decided: {hops}");
    let r = p.call("filesystem.write-file", &[s(&t.p("grant/c")), bytes(b"x")]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/loop")));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_hard_link_to_an_outside_file() {
    let t = Tree::new();
    fs::hard_link(t.p("outside/secret.txt"), t.p("grant/alias.txt")).unwrap();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let alias = t.p("grant/alias.txt");
    let r = p.call("filesystem.read-file", &[s(&alias)]);
    assert_denied(&p, &r, &format!("filesystem:read {alias}"));
    assert!(
        last_line(&p)["by"].as_str().unwrap().contains("2 hard links"),
        "{}",
        last_line(&p)
    );
    for (op, args) in [
        ("filesystem.write-file", vec![s(&alias), bytes(b"pwned")]),
        ("filesystem.append-file", vec![s(&alias), bytes(b"pwned")]),
        ("filesystem.truncate", vec![s(&alias), Val::U64(0)]),
        ("filesystem.open", vec![s(&alias), flags(&["write", "truncate"])]),
        ("filesystem.open", vec![s(&alias), flags(&["read"])]),
        ("filesystem.copy", vec![s(&alias), s(&t.p("grant/copy.txt"))]),
    ] {
        let r = p.call(op, &args);
        assert!(is_denied(&r), "{op}: {r:?}");
    }
    t.put("grant/plain.txt", "plain");
    let r = p.call("filesystem.copy", &[s(&t.p("grant/plain.txt")), s(&alias)]);
    assert!(is_denied(&r), "{r:?}");
    assert!(!Path::new(&t.p("grant/copy.txt")).exists());
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_rename_with_its_destination_outside() {
    let t = Tree::new();
    t.put("grant/f.txt", "mine");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let dest = t.p("outside/secret.txt");
    let r = p.call("filesystem.rename", &[s(&t.p("grant/f.txt")), s(&dest)]);
    assert_denied(&p, &r, &format!("filesystem:write {dest}"));
    let both = lines(&p);
    assert_eq!(both.len(), 2, "both parts are decided: {both:?}");
    assert_eq!(both[0].1, format!("filesystem:delete {}", t.p("grant/f.txt")));
    let r = p.call(
        "filesystem.rename",
        &[s(&t.p("grant/f.txt")), s(&t.p("outside/new.txt"))],
    );
    assert!(is_denied(&r));
    // Through a directory link that points outside.
    t.link(&t.p("outside"), "grant/out");
    let r = p.call(
        "filesystem.rename",
        &[s(&t.p("grant/f.txt")), s(&t.p("grant/out/moved.txt"))],
    );
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/moved.txt")));
    assert_eq!(fs::read_to_string(t.p("grant/f.txt")).unwrap(), "mine");
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_rename_with_its_source_outside() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let src = t.p("outside/secret.txt");
    let r = p.call("filesystem.rename", &[s(&src), s(&t.p("grant/stolen.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:delete {src}"));
    let r = p.call("filesystem.rename", &[s(&t.p("outside")), s(&t.p("grant/stolen"))]);
    assert!(is_denied(&r));
    assert_eq!(fs::read_dir(t.p("grant")).unwrap().count(), 0);
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_copy_to_outside() {
    let t = Tree::new();
    t.put("grant/f.txt", "mine");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    for dest in [t.p("outside/secret.txt"), t.p("outside/new.txt"), t.p("readme.txt")] {
        let r = p.call("filesystem.copy", &[s(&t.p("grant/f.txt")), s(&dest)]);
        assert_denied(&p, &r, &format!("filesystem:write {dest}"));
    }
    t.link(&t.p("outside/new.txt"), "grant/dangling");
    let r = p.call("filesystem.copy", &[s(&t.p("grant/f.txt")), s(&t.p("grant/dangling"))]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/new.txt")));
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_copy_from_outside() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let src = t.p("outside/secret.txt");
    let r = p.call("filesystem.copy", &[s(&src), s(&t.p("grant/stolen.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:read {src}"));
    t.link("../outside/secret.txt", "grant/via");
    let r = p.call("filesystem.copy", &[s(&t.p("grant/via")), s(&t.p("grant/stolen.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:read {src}"));
    assert!(!Path::new(&t.p("grant/stolen.txt")).exists());
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_truncate_via_open_flags_with_only_a_read_grant() {
    let t = Tree::new();
    t.put("grant/data.txt", "precious data");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.manifest(&[("read", "grant/**")]));
    let path = t.p("grant/data.txt");
    for f in [
        &["read", "truncate"][..],
        &["truncate"],
        &["read", "create"],
        &["read", "append"],
    ] {
        let r = p.call("filesystem.open", &[s(&path), flags(f)]);
        assert_denied(&p, &r, &format!("filesystem:write {path}"));
    }
    let r = p.call("filesystem.truncate", &[s(&path), Val::U64(0)]);
    assert_denied(&p, &r, &format!("filesystem:write {path}"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "precious data");
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_write_through_a_handle_opened_read_only() {
    let t = Tree::new();
    t.put("grant/data.txt", "precious data");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let path = t.p("grant/data.txt");
    let h = ok(p.call("filesystem.open", &[s(&path), flags(&["read"])]));
    let r = p.call("filesystem.write", &[h.clone(), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {path}"));
    let line = last_line(&p);
    assert_eq!(line["operation"], "filesystem.write");
    assert_eq!(line["by"], "handle opened read-only");
    assert!(is_denied(&p.call("filesystem.sync", std::slice::from_ref(&h))));
    assert_eq!(
        unbytes(&ok(p.call("filesystem.read", &[h.clone(), Val::U64(100)]))),
        b"precious data"
    );
    p.call("filesystem.close", &[h]);
    assert_eq!(fs::read_to_string(&path).unwrap(), "precious data");
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_trailing_dot_on_a_file() {
    let t = Tree::new();
    t.put("grant/a.log", "log");
    t.put("grant/secret.txt", "not a log");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.manifest(&[("read", "grant/*.log"), ("write", "grant/*.log")]));
    // `/.` after an ungranted file does not make it match `*.log`.
    for path in [
        format!("{}/.", t.p("grant/secret.txt")),
        format!("{}/", t.p("grant/secret.txt")),
    ] {
        let r = p.call("filesystem.write-file", &[s(&path), bytes(b"pwned")]);
        assert_denied(&p, &r, &format!("filesystem:write {path}"));
    }
    // `/.` after a file never makes it a file to write: the kernel's answer, not-a-directory.
    let r = p.call("filesystem.read-file", &[s(&format!("{}/.", t.p("grant/a.log")))]);
    assert_eq!(err_case(&r), Some("not-a-directory"), "{r:?}");
    let r = p.call(
        "filesystem.write-file",
        &[s(&format!("{}/.", t.p("grant/a.log"))), bytes(b"x")],
    );
    assert_eq!(err_case(&r), Some("not-a-directory"), "{r:?}");
    // `.` and `..` after the grant's directory name the directory, which `*.log` does not match.
    let r = p.call("filesystem.list-dir", &[s(&format!("{}/.", t.p("grant")))]);
    assert!(is_denied(&r));
    assert_eq!(fs::read_to_string(t.p("grant/a.log")).unwrap(), "log");
    assert_eq!(fs::read_to_string(t.p("grant/secret.txt")).unwrap(), "not a log");
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_create_symlink_to_an_ungranted_target() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let secret = t.p("outside/secret.txt");
    let r = p.call("filesystem.create-symlink", &[s(&secret), s(&t.p("grant/l1"))]);
    assert_denied(&p, &r, &format!("filesystem:read {secret}"));
    let r = p.call(
        "filesystem.create-symlink",
        &[s("../outside/secret.txt"), s(&t.p("grant/l2"))],
    );
    assert_denied(&p, &r, &format!("filesystem:read {secret}"));
    let r = p.call("filesystem.create-symlink", &[s("/etc/shadow"), s(&t.p("grant/l3"))]);
    assert!(is_denied(&r));
    // A link placed outside, pointing in.
    let r = p.call("filesystem.create-symlink", &[s(&t.p("grant")), s(&t.p("outside/in"))]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/in")));
    // The link's directory reached through a link: its relative target is judged from where
    // the link really is. `grant/deep/er/up2` is `grant` itself, so `../outside/secret.txt`
    // in it, harmless as written (`grant/deep/er/outside/...`), would point outside.
    fs::create_dir_all(t.p("grant/deep/er")).unwrap();
    t.link("../..", "grant/deep/er/up2");
    let r = p.call(
        "filesystem.create-symlink",
        &[s("../outside/secret.txt"), s(&t.p("grant/deep/er/up2/l4"))],
    );
    assert_denied(&p, &r, &format!("filesystem:read {secret}"));
    assert!(fs::symlink_metadata(t.p("grant/l4")).is_err());
    // The same place with a target that stays inside works.
    ok(p.call(
        "filesystem.create-symlink",
        &[s("deep"), s(&t.p("grant/deep/er/up2/l5"))],
    ));
    assert_eq!(fs::read_link(t.p("grant/l5")).unwrap().to_str(), Some("deep"));
    for name in ["l1", "l2", "l3"] {
        assert!(fs::symlink_metadata(t.p(&format!("grant/{name}"))).is_err(), "{name}");
    }
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_symlink_to_an_ungranted_path_inside_the_same_base() {
    let t = Tree::new();
    t.put("grant/public.txt", "public");
    t.put("grant/private.key", "private");
    t.link("private.key", "grant/innocent.txt");
    t.link(&t.p("grant/private.key"), "grant/abs.txt");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.manifest(&[("read", "grant/*.txt"), ("write", "grant/*.txt")]));
    assert_eq!(
        unbytes(&ok(p.call("filesystem.read-file", &[s(&t.p("grant/public.txt"))]))),
        b"public"
    );
    let key = t.p("grant/private.key");
    let r = p.call("filesystem.read-file", &[s(&t.p("grant/innocent.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:read {key}"));
    let r = p.call("filesystem.write-file", &[s(&t.p("grant/abs.txt")), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {key}"));
    let r = p.call("filesystem.open", &[s(&t.p("grant/innocent.txt")), flags(&["read"])]);
    assert!(is_denied(&r));
    assert_eq!(fs::read_to_string(&key).unwrap(), "private");
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_walks_and_removals_do_not_follow_links_out() {
    let t = Tree::new();
    fs::create_dir(t.p("grant/tree")).unwrap();
    t.put("grant/tree/own.txt", "own");
    t.link(&t.p("outside"), "grant/tree/out");
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    let walked = ok(p.call("metadata.walk-dir", &[s(&t.p("grant")), Val::Option(None)]));
    let Val::List(walked) = walked else { panic!() };
    let paths: Vec<&Val> = walked.iter().map(|e| field(e, "path")).collect();
    assert_eq!(
        paths,
        [
            &s(&t.p("grant/tree")),
            &s(&t.p("grant/tree/out")),
            &s(&t.p("grant/tree/own.txt"))
        ]
    );
    assert_eq!(field(&walked[1], "kind"), &Val::Enum("symlink".into()));
    let found = ok(p.call(
        "metadata.find-files",
        &[s(&t.p("grant")), s("*.txt"), Val::Option(None)],
    ));
    assert_eq!(found, Val::List(vec![s(&t.p("grant/tree/own.txt"))]));
    assert_eq!(ok(p.call("metadata.dir-size", &[s(&t.p("grant"))])), Val::U64(3));
    ok(p.call("filesystem.remove-dir-all", &[s(&t.p("grant/tree"))]));
    assert!(!Path::new(&t.p("grant/tree")).exists());
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_home_paths_without_a_known_home_are_not_a_way_out() {
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(FS, &t.full_grant());
    for path in ["~/.ssh/id_rsa", "~", "~/../etc/passwd"] {
        assert!(is_denied(&p.call("filesystem.read-file", &[s(path)])), "{path}");
    }
    assert_eq!(t.outside(), before);
}

#[test]
fn escape_replacing_the_granted_directory_by_a_link() {
    // `write grant/**` matches `grant` itself: the guest may remove it and put a link there.
    // Its write grant must not follow that link to `outside`, which it may only read.
    let t = Tree::new();
    let before = t.outside();
    let mut p = Proxy::of(
        FS,
        &t.manifest(&[("read", "**"), ("write", "grant/**"), ("delete", "grant/**")]),
    );
    ok(p.call("filesystem.remove-dir-all", &[s(&t.p("grant"))]));
    ok(p.call("filesystem.create-symlink", &[s(&t.p("outside")), s(&t.p("grant"))]));
    let secret = t.p("outside/secret.txt");
    let r = p.call("filesystem.write-file", &[s(&t.p("grant/secret.txt")), bytes(b"pwned")]);
    assert_denied(&p, &r, &format!("filesystem:write {secret}"));
    let r = p.call("filesystem.delete-file", &[s(&t.p("grant/sub/deep.txt"))]);
    assert_denied(&p, &r, &format!("filesystem:delete {}", t.p("outside/sub/deep.txt")));
    let r = p.call("filesystem.create-dir", &[s(&t.p("grant/new"))]);
    assert_denied(&p, &r, &format!("filesystem:write {}", t.p("outside/new")));
    // What the read grant allows anyway still works through the link.
    assert_eq!(
        unbytes(&ok(p.call("filesystem.read-file", &[s(&t.p("grant/secret.txt"))]))),
        b"top secret"
    );
    assert_eq!(t.outside(), before);
}

// ---------------------------------------------------------------- bounds

/// A runtime whose read limit is 8 MiB (the default limits otherwise), and the filesystem
/// proxy compiled for it: a read at exactly the limit crosses the boundary as 8 Mi values when
/// a host lifts it dynamically, as the proxy does.
fn small_read_limit() -> &'static (airssys_wasm::runtime::Runtime, wasmtime::component::Component) {
    use airssys_wasm::runtime::{RunLimits, Runtime, RuntimeConfig, services::LogSink};
    static RT: std::sync::OnceLock<(Runtime, wasmtime::component::Component)> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        let rt = Runtime::new(RuntimeConfig {
            log: LogSink::disabled(),
            env: airssys_wasm::policy::Env::default(),
            policies: airssys_wasm::orgpolicy::PolicySet::default(),
            limits: RunLimits {
                max_read_bytes: 8 << 20,
                ..RunLimits::default()
            },
            ..RuntimeConfig::default()
        })
        .unwrap();
        let compiled = rt.compile(&crate::guest::proxy_component_of(FS)).unwrap();
        (rt, compiled)
    })
}

#[test]
fn a_read_at_exactly_the_limit_returns_the_data() {
    let tree = Tree::new();
    let limit: u64 = 8 << 20;
    for (name, size) in [("exact", limit), ("over", limit + 1)] {
        let f = fs::File::create(tree.p(&format!("grant/{name}"))).unwrap();
        f.set_len(size).unwrap();
    }
    let (rt, compiled) = small_read_limit();
    let mut p = Proxy::on(rt, compiled, &tree.full_grant());
    // Exactly the limit: the data, never a trap.
    let data = p
        .try_call("filesystem.read-file", &[s(&tree.p("grant/exact"))])
        .unwrap_or_else(|e| panic!("a read at the limit trapped: {e:#}"));
    assert_eq!(unbytes(&ok(data)).len() as u64, limit);
    let h = ok(p.call("filesystem.open", &[s(&tree.p("grant/exact")), flags(&["read"])]));
    let data = p
        .try_call("filesystem.read", &[h.clone(), Val::U64(limit)])
        .unwrap_or_else(|e| panic!("a read at the limit trapped: {e:#}"));
    assert_eq!(unbytes(&ok(data)).len() as u64, limit);
    // One byte more: limit-exceeded.
    let r = p.call("filesystem.read-file", &[s(&tree.p("grant/over"))]);
    assert_eq!(err_case(&r), Some("limit-exceeded"), "{r:?}");
    let r = p.call("filesystem.read", &[h, Val::U64(limit + 1)]);
    assert_eq!(err_case(&r), Some("limit-exceeded"), "{r:?}");
    // And the instance goes on.
    assert!(ok(p.call("filesystem.exists", &[s(&tree.p("grant/exact"))])) == Val::Bool(true));
}

#[test]
fn a_walk_bigger_than_the_guests_memory_is_limit_exceeded_not_a_trap() {
    let tree = Tree::new();
    // 50 levels of 200-byte names, 5 files each: about 1.5 MB of paths for a guest of 1 MiB
    // (made one directory at a time: the paths are longer than PATH_MAX).
    let mut dir = cap_std::fs::Dir::open_ambient_dir(tree.p("grant"), cap_std::ambient_authority()).unwrap();
    for level in 0..50 {
        let name = format!("{level:04}").repeat(50);
        dir.create_dir(&name).unwrap();
        dir = dir.open_dir(&name).unwrap();
        for i in 0..5 {
            dir.write(format!("file-{i}"), "").unwrap();
        }
    }
    let manifest = format!("{}[limits]\nmemory = \"1 MiB\"\n", tree.full_grant());
    let mut p = Proxy::of(FS, &manifest);
    for (op, args) in [
        ("metadata.walk-dir", vec![s(&tree.p("grant")), Val::Option(None)]),
        (
            "metadata.find-files",
            vec![s(&tree.p("grant")), s("file-*"), Val::Option(None)],
        ),
    ] {
        let r = p
            .try_call(op, &args)
            .unwrap_or_else(|e| panic!("{op}: the guest trapped: {e:#}"));
        assert_eq!(err_case(&r), Some("limit-exceeded"), "{op}: {r:?}");
    }
    // What the guest can hold is answered, and the instance is still usable.
    let r = p.call(
        "metadata.walk-dir",
        &[s(&tree.p("grant")), Val::Option(Some(Box::new(Val::U32(2))))],
    );
    match ok(r) {
        Val::List(entries) => assert_eq!(entries.len(), 1 + 6),
        other => panic!("{other:?}"),
    }
}

#[test]
fn copy_from_an_endless_device_stops_at_its_budget_and_the_instance_goes_on() {
    let tree = Tree::new();
    let manifest = format!(
        "[component]\nname = \"fs-guest\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  {{ action = \"read\", path = \"/dev/zero\" }},\n  {{ action = \"write\", path = \"{}\" }},\n  {{ action = \"metadata\", path = \"{}\" }},\n]\n",
        tree.p("grant/**"),
        tree.p("grant/**")
    );
    let (rt, compiled) = small_read_limit();
    let mut p = Proxy::on(rt, compiled, &manifest);
    let dest = tree.p("grant/zeros");
    let r = p.call("filesystem.copy", &[s("/dev/zero"), s(&dest)]);
    assert_eq!(err_case(&r), Some("limit-exceeded"), "{r:?}");
    // The disk got at most the budget (the read limit: 8 MiB here), and the guest goes on.
    assert!(fs::metadata(&dest).unwrap().len() <= 8 << 20);
    assert_eq!(
        ok(p.call("metadata.file-size", &[s(&dest)])),
        Val::U64(fs::metadata(&dest).unwrap().len())
    );
}
