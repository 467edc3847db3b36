//! Unit tests of the filesystem host: every operation called directly on an instance state,
//! allowed (with its real effect in a temporary directory) and denied (with nothing changed),
//! and the audit lines each writes.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};

use serde_json::Value;
use tempfile::TempDir;
use wasmtime::component::Resource;

use super::{FileHandle, MAX_ENTRIES};
use crate::runtime::Mode;
use crate::runtime::bindings::filesystem::Host as _;
use crate::runtime::bindings::fs_types::{FileKind, FsError, HostFileHandle, OpenFlags, SeekFrom};
use crate::runtime::bindings::metadata::Host as _;
use crate::runtime::state::InstanceState;
use crate::runtime::testing::{Captured, state};

/// A temporary tree and an instance whose grants are relative to it.
struct Fx {
    _dir: TempDir,
    root: Root,
    st: InstanceState,
    audit: Captured,
}

/// `grants`: (action, path below the temporary root).
fn fx(grants: &[(&str, &str)]) -> Fx {
    fx_mode(grants, Mode::Enforce)
}

fn fx_mode(grants: &[(&str, &str)], mode: Mode) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_string();
    let mut toml = String::from("[component]\nname = \"fs-test\"\nversion = \"1.0.0\"\n");
    if !grants.is_empty() {
        toml.push_str("[permissions]\nfilesystem = [\n");
        for (action, path) in grants {
            toml.push_str(&format!("  {{ action = \"{action}\", path = \"{root}/{path}\" }},\n"));
        }
        toml.push_str("]\n");
    }
    let (st, audit) = state(&toml, mode);
    Fx {
        _dir: dir,
        root: Root(root),
        st,
        audit,
    }
}

/// The temporary root (a field apart from the state, so that a path can be built while the
/// state's view is borrowed).
struct Root(String);

impl Root {
    /// The absolute path of `rel` below the root.
    fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.0)
    }
}

impl std::ops::Deref for Root {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}

impl Fx {
    /// The absolute path of `rel` below the root.
    fn p(&self, rel: &str) -> String {
        self.root.p(rel)
    }

    fn write(&self, rel: &str, data: &str) {
        let path = self.p(rel);
        if let Some(parent) = std::path::Path::new(&path).parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, data).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.p(rel)).unwrap()
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.p(rel)).is_ok()
    }

    fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.p(rel)).unwrap();
    }

    fn link(&self, target: &str, rel: &str) {
        symlink(target, self.p(rel)).unwrap();
    }

    fn lines(&self) -> Vec<Value> {
        self.audit.lines()
    }

    /// (operation, resource, verdict, by) of every audit line.
    fn summary(&self) -> Vec<(String, String, String, String)> {
        self.lines()
            .iter()
            .map(|l| {
                let f = |k: &str| l[k].as_str().unwrap_or_default().to_string();
                (f("operation"), f("resource"), f("verdict"), f("by"))
            })
            .collect()
    }

    fn last(&self) -> (String, String, String, String) {
        self.summary().pop().expect("an audit line")
    }

    fn clear(&self) {
        self.audit.0.lock().unwrap().clear();
    }
}

fn denied<T: std::fmt::Debug>(r: Result<T, FsError>) -> String {
    match r {
        Err(FsError::PermissionDenied(text)) => text,
        other => panic!("expected permission-denied, got {other:?}"),
    }
}

/// A second reference to a handle, as a guest's borrow would be.
fn borrow(h: &Resource<FileHandle>) -> Resource<FileHandle> {
    Resource::new_borrow(h.rep())
}

const RO: &[(&str, &str)] = &[("read", "in/**"), ("metadata", "in/**")];

// ---------------------------------------------------------------- open and handles

#[test]
fn open_read_gives_a_handle_that_reads_and_is_audited() {
    let mut f = fx(RO);
    f.write("in/a.txt", "hello");
    let h = f.st.fs_view().open(f.root.p("in/a.txt"), OpenFlags::READ).unwrap();
    assert_eq!(f.st.fs_view().read(borrow(&h), 3).unwrap(), b"hel");
    assert_eq!(f.st.fs_view().read(borrow(&h), 100).unwrap(), b"lo");
    assert_eq!(f.st.fs_view().read(borrow(&h), 100).unwrap(), b"", "end of file");
    let lines = f.summary();
    assert_eq!(lines[0].0, "filesystem.open");
    assert_eq!(lines[0].1, format!("filesystem:read {}", f.root.p("in/a.txt")));
    assert_eq!(lines[0].2, "allowed");
    assert_eq!(lines[0].3, format!("grant filesystem #1 read `{}`", f.root.p("in/**")));
    assert_eq!(lines[1].0, "filesystem.read");
    assert_eq!(lines[1].3, "handle opened read-only");
    f.st.fs_view().close(h);
}

#[test]
fn open_for_writing_needs_a_write_grant() {
    let mut f = fx(RO);
    f.write("in/a.txt", "keep");
    for flags in [
        OpenFlags::WRITE,
        OpenFlags::READ | OpenFlags::TRUNCATE,
        OpenFlags::APPEND,
        OpenFlags::CREATE,
    ] {
        let text = denied(f.st.fs_view().open(f.root.p("in/a.txt"), flags));
        assert_eq!(text, format!("filesystem:write {}", f.root.p("in/a.txt")));
    }
    assert_eq!(
        f.read("in/a.txt"),
        "keep",
        "truncate with only a read grant changed nothing"
    );
    let denied_writes = f
        .summary()
        .iter()
        .filter(|l| l.1.starts_with("filesystem:write"))
        .count();
    assert_eq!(denied_writes, 4);
    assert!(
        f.summary()
            .iter()
            .all(|l| l.1.starts_with("filesystem:read") || l.2 == "denied")
    );
}

#[test]
fn open_read_write_asks_for_both_and_writes_through_the_handle() {
    let mut f = fx(&[("read", "d/**"), ("write", "d/**")]);
    f.write("d/f", "abcdef");
    let h =
        f.st.fs_view()
            .open(f.root.p("d/f"), OpenFlags::READ | OpenFlags::WRITE)
            .unwrap();
    let lines = f.summary();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].1.starts_with("filesystem:read ") && lines[1].1.starts_with("filesystem:write "));
    assert_eq!(f.st.fs_view().write(borrow(&h), b"XY".to_vec()).unwrap(), 2);
    assert_eq!(f.st.fs_view().seek(borrow(&h), SeekFrom::End(-1)).unwrap(), 5);
    assert_eq!(f.st.fs_view().read(borrow(&h), 10).unwrap(), b"f");
    assert_eq!(f.st.fs_view().seek(borrow(&h), SeekFrom::Start(0)).unwrap(), 0);
    assert_eq!(f.st.fs_view().seek(borrow(&h), SeekFrom::Current(2)).unwrap(), 2);
    assert!(matches!(
        f.st.fs_view().seek(borrow(&h), SeekFrom::Current(-10)),
        Err(FsError::InvalidInput(_))
    ));
    f.st.fs_view().sync(borrow(&h)).unwrap();
    assert_eq!(f.last().0, "filesystem.sync");
    HostFileHandle::drop(&mut f.st.fs_view(), h).unwrap();
    assert_eq!(f.read("d/f"), "XYcdef");
}

#[test]
fn open_flags_create_truncate_append_exclusive() {
    let mut f = fx(&[("read", "d/**"), ("write", "d/**")]);
    f.mkdir("d");
    let h =
        f.st.fs_view()
            .open(f.root.p("d/new"), OpenFlags::WRITE | OpenFlags::CREATE)
            .unwrap();
    f.st.fs_view().write(borrow(&h), b"12345".to_vec()).unwrap();
    f.st.fs_view().close(h);
    assert_eq!(f.read("d/new"), "12345");
    let h = f.st.fs_view().open(f.root.p("d/new"), OpenFlags::APPEND).unwrap();
    f.st.fs_view().write(borrow(&h), b"67".to_vec()).unwrap();
    f.st.fs_view().close(h);
    assert_eq!(f.read("d/new"), "1234567");
    let h =
        f.st.fs_view()
            .open(f.root.p("d/new"), OpenFlags::WRITE | OpenFlags::TRUNCATE)
            .unwrap();
    f.st.fs_view().close(h);
    assert_eq!(f.read("d/new"), "");
    let r = f.st.fs_view().open(
        f.root.p("d/new"),
        OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::WRITE,
    );
    assert!(matches!(r, Err(FsError::AlreadyExists(p)) if p == f.root.p("d/new")));
    assert!(matches!(
        f.st.fs_view().open(f.root.p("d/new"), OpenFlags::empty()),
        Err(FsError::InvalidInput(_))
    ));
    assert!(matches!(
        f.st.fs_view()
            .open(f.root.p("d/new"), OpenFlags::WRITE | OpenFlags::EXCLUSIVE),
        Err(FsError::InvalidInput(_))
    ));
    assert!(matches!(
        f.st.fs_view().open(f.root.p("d/missing"), OpenFlags::READ),
        Err(FsError::NotFound(p)) if p == f.root.p("d/missing")
    ));
    f.mkdir("d/sub");
    assert!(matches!(
        f.st.fs_view().open(f.root.p("d/sub"), OpenFlags::READ),
        Err(FsError::IsADirectory(_))
    ));
}

#[test]
fn a_read_only_handle_cannot_write_or_sync() {
    let mut f = fx(&[("read", "d/**"), ("write", "d/**")]);
    f.write("d/f", "data");
    let h = f.st.fs_view().open(f.root.p("d/f"), OpenFlags::READ).unwrap();
    let text = denied(f.st.fs_view().write(borrow(&h), b"evil".to_vec()));
    assert_eq!(text, format!("filesystem:write {}", f.root.p("d/f")));
    let (op, resource, verdict, by) = f.last();
    assert_eq!(
        (op.as_str(), verdict.as_str(), by.as_str()),
        ("filesystem.write", "denied", "handle opened read-only")
    );
    assert_eq!(resource, format!("filesystem:write {}", f.root.p("d/f")));
    denied(f.st.fs_view().sync(borrow(&h)));
    assert_eq!(f.read("d/f"), "data");
    let w = f.st.fs_view().open(f.root.p("d/f"), OpenFlags::WRITE).unwrap();
    denied(f.st.fs_view().read(borrow(&w), 4));
    assert_eq!(f.last().3, "handle opened write-only");
}

#[test]
fn closed_handles_are_invalid_and_handles_are_bounded() {
    let mut f = fx(RO);
    f.write("in/a", "x");
    f.st.guard.run_limits.max_handles = 2;
    let a = f.st.fs_view().open(f.root.p("in/a"), OpenFlags::READ).unwrap();
    let b = f.st.fs_view().open(f.root.p("in/a"), OpenFlags::READ).unwrap();
    let r = f.st.fs_view().open(f.root.p("in/a"), OpenFlags::READ);
    assert!(matches!(r, Err(FsError::LimitExceeded(_))), "{r:?}");
    let stale = borrow(&a);
    f.st.fs_view().close(a);
    assert!(matches!(f.st.fs_view().read(stale, 1), Err(FsError::InvalidHandle)));
    let c = f.st.fs_view().open(f.root.p("in/a"), OpenFlags::READ).unwrap();
    f.st.fs_view().close(b);
    f.st.fs_view().close(c);
}

#[test]
fn reads_are_bounded() {
    let mut f = fx(RO);
    f.write("in/big", &"x".repeat(100));
    f.st.guard.run_limits.max_read_bytes = 10;
    let h = f.st.fs_view().open(f.root.p("in/big"), OpenFlags::READ).unwrap();
    assert!(matches!(
        f.st.fs_view().read(borrow(&h), 11),
        Err(FsError::LimitExceeded(_))
    ));
    assert_eq!(f.st.fs_view().read(borrow(&h), 10).unwrap().len(), 10);
    assert!(matches!(
        f.st.fs_view().read_file(f.root.p("in/big")),
        Err(FsError::LimitExceeded(_))
    ));
    f.write("in/small", "0123456789");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/small")).unwrap(), b"0123456789");
}

// ---------------------------------------------------------------- whole-file operations

#[test]
fn read_file_allowed_and_denied() {
    let mut f = fx(&[("read", "in/*.txt")]);
    f.write("in/a.txt", "A");
    f.write("in/secret.key", "S");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/a.txt")).unwrap(), b"A");
    let text = denied(f.st.fs_view().read_file(f.root.p("in/secret.key")));
    assert_eq!(text, format!("filesystem:read {}", f.root.p("in/secret.key")));
    let (op, _, verdict, by) = f.last();
    assert_eq!(
        (op.as_str(), verdict.as_str(), by.as_str()),
        ("filesystem.read-file", "denied", "no grant")
    );
    assert!(
        matches!(f.st.fs_view().read_file(f.root.p("in/none.txt")), Err(FsError::NotFound(p)) if p == f.root.p("in/none.txt"))
    );
    assert!(matches!(
        f.st.fs_view().read_file(f.root.p("in/a.txt/")),
        Err(FsError::NotADirectory(_))
    ));
    assert!(matches!(
        f.st.fs_view().read_file(f.root.p("in/a.txt/.")),
        Err(FsError::NotADirectory(_))
    ));
    // Relative, empty and NUL paths are denied by the guard before anything else.
    for bad in ["in/a.txt", "", "/x\0y"] {
        denied(f.st.fs_view().read_file(bad.to_string()));
    }
}

#[test]
fn write_and_append_file() {
    let mut f = fx(&[("write", "out/**"), ("read", "in/**")]);
    f.write("in/x", "orig");
    f.mkdir("out");
    f.st.fs_view().write_file(f.root.p("out/a"), b"one".to_vec()).unwrap();
    f.st.fs_view().write_file(f.root.p("out/a"), b"two".to_vec()).unwrap();
    f.st.fs_view().append_file(f.root.p("out/a"), b"+3".to_vec()).unwrap();
    f.st.fs_view().append_file(f.root.p("out/b"), b"new".to_vec()).unwrap();
    assert_eq!(f.read("out/a"), "two+3");
    assert_eq!(f.read("out/b"), "new");
    assert_eq!(f.last().0, "filesystem.append-file");
    denied(f.st.fs_view().write_file(f.root.p("in/x"), b"evil".to_vec()));
    denied(f.st.fs_view().append_file(f.root.p("in/x"), b"evil".to_vec()));
    assert_eq!(f.read("in/x"), "orig");
    denied(f.st.fs_view().write_file(f.root.p("elsewhere"), b"evil".to_vec()));
    assert!(!f.exists("elsewhere"));
    assert!(matches!(
        f.st.fs_view().write_file(f.root.p("out/c/"), b"x".to_vec()),
        Err(FsError::IsADirectory(_))
    ));
    assert!(!f.exists("out/c"));
}

#[test]
fn truncate_allowed_and_denied() {
    let mut f = fx(&[("write", "out/**"), ("read", "in/**")]);
    f.write("out/a", "abcdef");
    f.write("in/b", "abcdef");
    f.st.fs_view().truncate(f.root.p("out/a"), 2).unwrap();
    assert_eq!(f.read("out/a"), "ab");
    f.st.fs_view().truncate(f.root.p("out/a"), 4).unwrap();
    assert_eq!(f.read("out/a"), "ab\0\0");
    assert_eq!(f.last().1, format!("filesystem:write {}", f.root.p("out/a")));
    denied(f.st.fs_view().truncate(f.root.p("in/b"), 0));
    assert_eq!(f.read("in/b"), "abcdef");
    assert!(matches!(
        f.st.fs_view().truncate(f.root.p("out/none"), 0),
        Err(FsError::NotFound(_))
    ));
}

#[test]
fn delete_file_removes_files_and_links_not_directories() {
    let mut f = fx(&[("delete", "d/**"), ("read", "d/**")]);
    f.write("d/a", "x");
    f.write("keep/t", "target");
    f.link(&f.root.p("keep/t"), "d/l");
    f.mkdir("d/sub");
    f.st.fs_view().delete_file(f.root.p("d/a")).unwrap();
    assert!(!f.exists("d/a"));
    f.st.fs_view().delete_file(f.root.p("d/l")).unwrap();
    assert!(!f.exists("d/l"));
    assert_eq!(f.read("keep/t"), "target", "the link went, not its target");
    assert!(matches!(
        f.st.fs_view().delete_file(f.root.p("d/sub")),
        Err(FsError::IsADirectory(_))
    ));
    assert!(matches!(
        f.st.fs_view().delete_file(f.root.p("d/a")),
        Err(FsError::NotFound(_))
    ));
    denied(f.st.fs_view().delete_file(f.root.p("keep/t")));
    assert!(f.exists("keep/t"));
    assert_eq!(f.last().1, format!("filesystem:delete {}", f.root.p("keep/t")));
}

#[test]
fn rename_needs_delete_of_src_and_write_of_dest() {
    let mut f = fx(&[("delete", "a/**"), ("write", "b/**"), ("read", "c/**")]);
    f.write("a/x", "X");
    f.mkdir("b");
    f.write("c/y", "Y");
    f.st.fs_view().rename(f.root.p("a/x"), f.root.p("b/x2")).unwrap();
    assert!(!f.exists("a/x"));
    assert_eq!(f.read("b/x2"), "X");
    let lines = f.summary();
    assert_eq!(lines[0].1, format!("filesystem:delete {}", f.root.p("a/x")));
    assert_eq!(lines[1].1, format!("filesystem:write {}", f.root.p("b/x2")));
    f.clear();
    // Destination outside the write grant: both are asked, nothing moves.
    f.write("a/z", "Z");
    let text = denied(f.st.fs_view().rename(f.root.p("a/z"), f.root.p("c/z")));
    assert_eq!(text, format!("filesystem:write {}", f.root.p("c/z")));
    let lines = f.summary();
    assert_eq!((lines[0].2.as_str(), lines[1].2.as_str()), ("allowed", "denied"));
    assert!(f.exists("a/z") && !f.exists("c/z"));
    // Source outside the delete grant.
    denied(f.st.fs_view().rename(f.root.p("c/y"), f.root.p("b/y")));
    assert!(f.exists("c/y") && !f.exists("b/y"));
    assert!(
        matches!(f.st.fs_view().rename(f.root.p("a/none"), f.root.p("b/n")), Err(FsError::NotFound(p)) if p == f.root.p("a/none"))
    );
}

#[test]
fn copy_needs_read_of_src_and_write_of_dest() {
    let mut f = fx(&[("read", "in/**"), ("write", "out/**")]);
    f.write("in/a", "payload");
    fs::set_permissions(f.root.p("in/a"), fs::Permissions::from_mode(0o640)).unwrap();
    f.mkdir("out");
    f.write("other/o", "outside");
    assert_eq!(f.st.fs_view().copy(f.root.p("in/a"), f.root.p("out/a")).unwrap(), 7);
    assert_eq!(f.read("out/a"), "payload");
    assert_eq!(fs::metadata(f.root.p("out/a")).unwrap().mode() & 0o777, 0o640);
    denied(f.st.fs_view().copy(f.root.p("in/a"), f.root.p("other/a")));
    assert!(!f.exists("other/a"));
    denied(f.st.fs_view().copy(f.root.p("other/o"), f.root.p("out/o")));
    assert!(!f.exists("out/o"));
    assert!(matches!(
        f.st.fs_view().copy(f.root.p("in/dir"), f.root.p("out/x")),
        Err(FsError::NotFound(_))
    ));
    let mut g = fx(&[("read", "d/**"), ("write", "d/**")]);
    g.write("d/same", "keep");
    assert!(matches!(
        g.st.fs_view().copy(g.root.p("d/same"), g.root.p("d/same")),
        Err(FsError::InvalidInput(_))
    ));
    assert_eq!(g.read("d/same"), "keep");
}

#[test]
fn exists_answers_for_granted_paths_only() {
    let mut f = fx(RO);
    f.write("in/a", "x");
    f.write("secret", "x");
    assert!(f.st.fs_view().exists(f.root.p("in/a")).unwrap());
    assert!(!f.st.fs_view().exists(f.root.p("in/b")).unwrap());
    assert!(!f.st.fs_view().exists(f.root.p("in/a/b")).unwrap(), "below a file");
    assert!(
        !f.st.fs_view().exists(f.root.p("in/a/")).unwrap(),
        "a file with a trailing slash"
    );
    denied(f.st.fs_view().exists(f.root.p("secret")));
    assert_eq!(f.last().1, format!("filesystem:metadata {}", f.root.p("secret")));
    f.link("../secret", "in/dangling-out");
    denied(f.st.fs_view().exists(f.root.p("in/dangling-out")));
    f.link("nothing", "in/dangling");
    assert!(!f.st.fs_view().exists(f.root.p("in/dangling")).unwrap());
}

// ---------------------------------------------------------------- directories

#[test]
fn create_dir_and_create_dir_all() {
    let mut f = fx(&[("write", "w/**")]);
    f.mkdir("w");
    f.st.fs_view().create_dir(f.root.p("w/a")).unwrap();
    assert!(fs::metadata(f.root.p("w/a")).unwrap().is_dir());
    assert!(
        matches!(f.st.fs_view().create_dir(f.root.p("w/a")), Err(FsError::AlreadyExists(p)) if p == f.root.p("w/a"))
    );
    assert!(matches!(
        f.st.fs_view().create_dir(f.root.p("w/x/y")),
        Err(FsError::NotFound(_))
    ));
    f.st.fs_view().create_dir_all(f.root.p("w/x/y/z")).unwrap();
    assert!(fs::metadata(f.root.p("w/x/y/z")).unwrap().is_dir());
    f.st.fs_view().create_dir_all(f.root.p("w/x/y/z")).unwrap();
    f.write("w/file", "x");
    assert!(matches!(
        f.st.fs_view().create_dir_all(f.root.p("w/file")),
        Err(FsError::AlreadyExists(_))
    ));
    assert!(matches!(
        f.st.fs_view().create_dir_all(f.root.p("w/file/sub")),
        Err(FsError::NotADirectory(_))
    ));
    denied(f.st.fs_view().create_dir(f.root.p("elsewhere")));
    denied(f.st.fs_view().create_dir_all(f.root.p("elsewhere/a")));
    assert!(!f.exists("elsewhere"));
    assert_eq!(f.last().0, "filesystem.create-dir-all");
}

#[test]
fn create_dir_all_creates_a_missing_base() {
    let mut f = fx(&[("write", "new/base/**")]);
    f.st.fs_view().create_dir_all(f.root.p("new/base/a/b")).unwrap();
    assert!(fs::metadata(f.root.p("new/base/a/b")).unwrap().is_dir());
}

#[test]
fn remove_dir_and_remove_dir_all() {
    let mut f = fx(&[("delete", "d/**")]);
    f.mkdir("d/empty");
    f.write("d/full/a", "x");
    f.write("d/tree/a/b/c", "x");
    f.write("outside/keep", "precious");
    f.link(&f.root.p("outside"), "d/tree/a/link-out");
    f.st.fs_view().remove_dir(f.root.p("d/empty")).unwrap();
    assert!(!f.exists("d/empty"));
    assert!(matches!(
        f.st.fs_view().remove_dir(f.root.p("d/full")),
        Err(FsError::DirectoryNotEmpty(p)) if p == f.root.p("d/full")
    ));
    assert!(matches!(
        f.st.fs_view().remove_dir(f.root.p("d/full/a")),
        Err(FsError::NotADirectory(_))
    ));
    f.st.fs_view().remove_dir_all(f.root.p("d/tree")).unwrap();
    assert!(!f.exists("d/tree"));
    assert_eq!(f.read("outside/keep"), "precious", "the link was removed, not followed");
    denied(f.st.fs_view().remove_dir(f.root.p("outside")));
    denied(f.st.fs_view().remove_dir_all(f.root.p("outside")));
    assert!(f.exists("outside/keep"));
    assert!(matches!(
        f.st.fs_view().remove_dir_all(f.root.p("d/none")),
        Err(FsError::NotFound(_))
    ));
    assert!(matches!(
        f.st.fs_view().remove_dir_all(f.root.p("d/full/a")),
        Err(FsError::NotADirectory(_))
    ));
    // The grant's directory itself, which `d/**` matches.
    f.st.fs_view().remove_dir_all(f.root.p("d")).unwrap();
    assert!(!f.exists("d"));
}

#[test]
fn list_dir_is_sorted_with_kinds_not_following_links() {
    let mut f = fx(RO);
    f.write("in/b", "x");
    f.write("in/a", "x");
    f.mkdir("in/c");
    f.link("a", "in/d");
    let entries = f.st.fs_view().list_dir(f.root.p("in")).unwrap();
    let names: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(
        names,
        [
            ("a", FileKind::File),
            ("b", FileKind::File),
            ("c", FileKind::Directory),
            ("d", FileKind::Symlink)
        ]
    );
    assert_eq!(f.last().1, format!("filesystem:read {}", f.root.p("in")));
    denied(f.st.fs_view().list_dir(f.root.clone()));
    assert!(matches!(
        f.st.fs_view().list_dir(f.root.p("in/a")),
        Err(FsError::NotADirectory(_))
    ));
}

// ---------------------------------------------------------------- symbolic links

#[test]
fn create_symlink_needs_write_of_link_and_read_of_target() {
    let mut f = fx(&[("write", "w/**"), ("read", "w/**"), ("read", "in/**")]);
    f.mkdir("w");
    f.write("in/t", "T");
    f.write("secret", "S");
    f.st.fs_view()
        .create_symlink(f.root.p("in/t"), f.root.p("w/abs"))
        .unwrap();
    assert_eq!(
        fs::read_link(f.root.p("w/abs")).unwrap().to_str().unwrap(),
        f.root.p("in/t")
    );
    f.st.fs_view()
        .create_symlink("../in/t".into(), f.root.p("w/rel"))
        .unwrap();
    assert_eq!(fs::read_link(f.root.p("w/rel")).unwrap().to_str().unwrap(), "../in/t");
    let lines = f.summary();
    assert_eq!(lines[2].1, format!("filesystem:write {}", f.root.p("w/rel")));
    assert_eq!(lines[3].1, format!("filesystem:read {}", f.root.p("in/t")));
    assert_eq!(f.st.fs_view().read_file(f.root.p("w/rel")).unwrap(), b"T");
    // Ungranted targets, absolute or relative.
    denied(f.st.fs_view().create_symlink(f.root.p("secret"), f.root.p("w/s1")));
    denied(f.st.fs_view().create_symlink("../secret".into(), f.root.p("w/s2")));
    assert!(!f.exists("w/s1") && !f.exists("w/s2"));
    // A link outside the write grant.
    denied(f.st.fs_view().create_symlink(f.root.p("in/t"), f.root.p("in/l")));
    assert!(!f.exists("in/l"));
    assert!(matches!(
        f.st.fs_view().create_symlink(f.root.p("in/t"), f.root.p("w/abs")),
        Err(FsError::AlreadyExists(_))
    ));
}

#[test]
fn read_symlink_and_canonicalize() {
    let mut f = fx(&[("metadata", "d/**"), ("metadata", "e/**")]);
    f.write("d/real/file", "x");
    f.mkdir("e");
    f.link("real", "d/rl");
    f.link(&f.root.p("d/rl/file"), "e/abs");
    assert_eq!(f.st.fs_view().read_symlink(f.root.p("d/rl")).unwrap(), "real");
    assert!(matches!(
        f.st.fs_view().read_symlink(f.root.p("d/real")),
        Err(FsError::InvalidInput(_))
    ));
    assert_eq!(
        f.st.fs_view().canonicalize(f.root.p("e/abs")).unwrap(),
        f.root.p("d/real/file")
    );
    assert_eq!(
        f.st.fs_view().canonicalize(f.root.p("d/rl/../real/./file")).unwrap(),
        f.root.p("d/real/file")
    );
    // Each hop was decided: e/abs -> d/rl/file -> d/real/file.
    let resources: Vec<String> = f.summary().into_iter().map(|l| l.1).collect();
    assert!(resources.contains(&format!("filesystem:metadata {}", f.root.p("d/rl/file"))));
    assert!(matches!(
        f.st.fs_view().canonicalize(f.root.p("d/none")),
        Err(FsError::NotFound(_))
    ));
    denied(f.st.fs_view().read_symlink(f.root.p("x")));
    denied(f.st.fs_view().canonicalize(f.root.clone()));
}

#[test]
fn symlinks_inside_a_grant_are_followed_only_to_granted_paths() {
    let mut f = fx(&[("read", "in/**"), ("read", "other/**")]);
    f.write("in/real.txt", "real");
    f.write("other/o.txt", "other");
    f.write("secret/s.txt", "secret");
    f.link("real.txt", "in/rel");
    f.link(&f.root.p("other/o.txt"), "in/to-other");
    f.link(&f.root.p("secret/s.txt"), "in/abs-out");
    f.link("../secret/s.txt", "in/rel-out");
    f.link(&format!("{}/", f.root.p("secret")), "in/dir-out");
    f.link(&f.root.p("other"), "in/dir-other");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/rel")).unwrap(), b"real");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/to-other")).unwrap(), b"other");
    assert_eq!(
        f.st.fs_view().read_file(f.root.p("in/dir-other/o.txt")).unwrap(),
        b"other"
    );
    f.clear();
    let text = denied(f.st.fs_view().read_file(f.root.p("in/abs-out")));
    assert_eq!(text, format!("filesystem:read {}", f.root.p("secret/s.txt")));
    let lines = f.summary();
    assert_eq!(lines.len(), 2, "the path, then the link's target: {lines:?}");
    assert_eq!((lines[0].2.as_str(), lines[1].2.as_str()), ("allowed", "denied"));
    denied(f.st.fs_view().read_file(f.root.p("in/rel-out")));
    denied(f.st.fs_view().read_file(f.root.p("in/dir-out/s.txt")));
    denied(f.st.fs_view().list_dir(f.root.p("in/dir-out")));
    // Operations that do not follow a final link still see the link itself.
    assert!(
        f.st.fs_view().is_symlink(f.root.p("in/abs-out")).is_err(),
        "no metadata grant"
    );
}

#[test]
fn symlink_loops_end() {
    let mut f = fx(RO);
    f.mkdir("in");
    f.link("b", "in/a");
    f.link("a", "in/b");
    f.link("self/x", "in/self");
    assert!(matches!(
        f.st.fs_view().read_file(f.root.p("in/a")),
        Err(FsError::SymlinkLoop(_))
    ));
    assert!(matches!(
        f.st.fs_view().stat(f.root.p("in/self")),
        Err(FsError::SymlinkLoop(_))
    ));
    assert_eq!(
        f.st.fs_view().symlink_stat(f.root.p("in/a")).unwrap().kind,
        FileKind::Symlink
    );
}

#[test]
fn hard_links_are_refused_for_content() {
    let mut f = fx(&[("read", "d/**"), ("write", "d/**"), ("metadata", "d/**")]);
    f.write("outside", "secret");
    f.mkdir("d");
    fs::hard_link(f.root.p("outside"), f.root.p("d/alias")).unwrap();
    let text = denied(f.st.fs_view().read_file(f.root.p("d/alias")));
    assert_eq!(text, format!("filesystem:read {}", f.root.p("d/alias")));
    let (op, _, verdict, by) = f.last();
    assert_eq!((op.as_str(), verdict.as_str()), ("filesystem.read-file", "denied"));
    assert!(by.contains("has 2 hard links"), "{by}");
    denied(f.st.fs_view().write_file(f.root.p("d/alias"), b"x".to_vec()));
    denied(f.st.fs_view().append_file(f.root.p("d/alias"), b"x".to_vec()));
    denied(f.st.fs_view().truncate(f.root.p("d/alias"), 0));
    denied(f.st.fs_view().open(f.root.p("d/alias"), OpenFlags::READ));
    denied(
        f.st.fs_view()
            .open(f.root.p("d/alias"), OpenFlags::WRITE | OpenFlags::TRUNCATE),
    );
    denied(f.st.fs_view().copy(f.root.p("d/alias"), f.root.p("d/copy")));
    f.write("d/plain", "p");
    denied(f.st.fs_view().copy(f.root.p("d/plain"), f.root.p("d/alias")));
    assert_eq!(f.read("outside"), "secret");
    // Metadata is not content: stat says how many links there are.
    assert_eq!(f.st.fs_view().stat(f.root.p("d/alias")).unwrap().nlink, 2);
}

#[test]
fn hard_links_are_refused_for_metadata_changes() {
    let mut f = fx(&[("write", "d/**"), ("metadata", "d/**")]);
    f.write("outside", "secret");
    fs::set_permissions(f.root.p("outside"), fs::Permissions::from_mode(0o600)).unwrap();
    let before = fs::metadata(f.root.p("outside")).unwrap();
    f.mkdir("d");
    fs::hard_link(f.root.p("outside"), f.root.p("d/alias")).unwrap();
    // And through a symbolic link inside the grant that leads to the hard link.
    f.link("alias", "d/via-link");
    for path in [f.root.p("d/alias"), f.root.p("d/via-link")] {
        let text = denied(f.st.fs_view().set_permissions(path.clone(), 0o666));
        assert_eq!(text, format!("filesystem:write {}", f.root.p("d/alias")));
        let (op, _, verdict, by) = f.last();
        assert_eq!((op.as_str(), verdict.as_str()), ("metadata.set-permissions", "denied"));
        assert!(by.contains("has 2 hard links"), "{by}");
        denied(f.st.fs_view().set_times(path.clone(), Some(1), Some(1)));
        denied(f.st.fs_view().set_times(path, None, Some(1)));
        assert_eq!(f.last().0, "metadata.set-times");
    }
    // The file outside is as it was.
    let after = fs::metadata(f.root.p("outside")).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o600);
    assert_eq!(after.mtime(), before.mtime());
    assert_eq!(after.atime(), before.atime());
    // A file with one link is changed as asked.
    f.write("d/own", "mine");
    f.st.fs_view().set_permissions(f.root.p("d/own"), 0o640).unwrap();
    f.st.fs_view()
        .set_times(f.root.p("d/own"), Some(2_000), Some(1_000))
        .unwrap();
    let own = fs::metadata(f.root.p("d/own")).unwrap();
    assert_eq!((own.mode() & 0o7777, own.mtime(), own.atime()), (0o640, 1, 2));
}

// ---------------------------------------------------------------- metadata

#[test]
fn stat_and_symlink_stat() {
    let mut f = fx(&[("metadata", "m/**")]);
    f.write("m/f", "12345");
    fs::set_permissions(f.root.p("m/f"), fs::Permissions::from_mode(0o600)).unwrap();
    f.link("f", "m/l");
    let st = f.st.fs_view().stat(f.root.p("m/l")).unwrap();
    assert_eq!((st.size, st.kind, st.mode, st.nlink), (5, FileKind::File, 0o600, 1));
    let std_meta = fs::metadata(f.root.p("m/f")).unwrap();
    let modified = super::millis(std_meta.modified().unwrap());
    assert_eq!(st.modified, modified);
    assert!(st.accessed > 1_600_000_000_000);
    if let Some(created) = st.created {
        assert!(created > 1_600_000_000_000);
    }
    let ls = f.st.fs_view().symlink_stat(f.root.p("m/l")).unwrap();
    assert_eq!(ls.kind, FileKind::Symlink);
    assert_eq!(f.st.fs_view().stat(f.root.p("m")).unwrap().kind, FileKind::Directory);
    assert_eq!(f.last().0, "metadata.stat");
    assert!(matches!(f.st.fs_view().stat(f.root.p("m/none")), Err(FsError::NotFound(p)) if p == f.root.p("m/none")));
    denied(f.st.fs_view().stat(f.root.clone()));
    denied(f.st.fs_view().symlink_stat(f.root.clone()));
}

#[test]
fn size_kind_and_time_questions() {
    let mut f = fx(&[("metadata", "m/**")]);
    f.write("m/f", "abc");
    f.mkdir("m/d");
    f.link("d", "m/l");
    assert_eq!(f.st.fs_view().file_size(f.root.p("m/f")).unwrap(), 3);
    assert!(matches!(
        f.st.fs_view().file_size(f.root.p("m/d")),
        Err(FsError::IsADirectory(_))
    ));
    assert!(f.st.fs_view().is_file(f.root.p("m/f")).unwrap());
    assert!(!f.st.fs_view().is_file(f.root.p("m/d")).unwrap());
    assert!(!f.st.fs_view().is_file(f.root.p("m/none")).unwrap());
    assert!(f.st.fs_view().is_dir(f.root.p("m/l")).unwrap(), "follows the link");
    assert!(!f.st.fs_view().is_dir(f.root.p("m/f")).unwrap());
    assert!(f.st.fs_view().is_symlink(f.root.p("m/l")).unwrap());
    assert!(!f.st.fs_view().is_symlink(f.root.p("m/d")).unwrap());
    assert!(!f.st.fs_view().is_symlink(f.root.p("m/none")).unwrap());
    let mtime = super::millis(fs::metadata(f.root.p("m/f")).unwrap().modified().unwrap());
    assert_eq!(f.st.fs_view().modified_time(f.root.p("m/f")).unwrap(), mtime);
    for op in 0..6 {
        let outside = f.root.clone();
        let r = match op {
            0 => f.st.fs_view().file_size(outside).map(|_| ()),
            1 => f.st.fs_view().is_file(outside).map(|_| ()),
            2 => f.st.fs_view().is_dir(outside).map(|_| ()),
            3 => f.st.fs_view().is_symlink(outside).map(|_| ()),
            4 => f.st.fs_view().modified_time(outside).map(|_| ()),
            _ => f.st.fs_view().dir_size(outside).map(|_| ()),
        };
        denied(r);
    }
    let ops: Vec<String> = f
        .summary()
        .into_iter()
        .filter(|l| l.2 == "denied")
        .map(|l| l.0)
        .collect();
    assert_eq!(
        ops,
        [
            "metadata.file-size",
            "metadata.is-file",
            "metadata.is-dir",
            "metadata.is-symlink",
            "metadata.modified-time",
            "metadata.dir-size"
        ]
    );
}

#[test]
fn batches_are_authorized_whole_before_anything() {
    let mut f = fx(&[("metadata", "m/**")]);
    f.write("m/a", "aa");
    let paths = vec![f.root.p("m/a"), f.root.p("m/none"), f.root.p("m")];
    let stats = f.st.fs_view().batch_stat(paths.clone()).unwrap();
    assert_eq!(stats[0].as_ref().unwrap().size, 2);
    assert!(matches!(&stats[1], Err(FsError::NotFound(_))));
    assert_eq!(stats[2].as_ref().unwrap().kind, FileKind::Directory);
    assert_eq!(f.st.fs_view().batch_exists(paths).unwrap(), [true, false, true]);
    f.clear();
    let mixed = vec![f.root.p("m/a"), f.root.p("secret"), f.root.p("m/none")];
    let text = denied(f.st.fs_view().batch_stat(mixed.clone()));
    assert_eq!(text, format!("filesystem:metadata {}", f.root.p("secret")));
    let verdicts: Vec<String> = f.summary().into_iter().map(|l| l.2).collect();
    assert_eq!(verdicts, ["allowed", "denied", "allowed"], "every path is decided");
    denied(f.st.fs_view().batch_exists(mixed));
    let too_many = vec![f.root.p("m/a"); MAX_ENTRIES + 1];
    assert!(matches!(
        f.st.fs_view().batch_exists(too_many),
        Err(FsError::LimitExceeded(_))
    ));
}

#[test]
fn dir_size_sums_files_below_without_following_links() {
    let mut f = fx(&[("metadata", "m/**")]);
    f.write("m/a", "123");
    f.write("m/sub/b", "4567");
    f.write("big/c", &"x".repeat(1000));
    f.link(&f.root.p("big"), "m/link");
    assert_eq!(f.st.fs_view().dir_size(f.root.p("m")).unwrap(), 7);
    assert!(matches!(
        f.st.fs_view().dir_size(f.root.p("m/a")),
        Err(FsError::NotADirectory(_))
    ));
}

#[test]
fn set_permissions_and_its_host_rule() {
    let mut f = fx(&[("write", "w/**")]);
    f.write("w/f", "x");
    f.write("r/f", "x");
    f.st.fs_view().set_permissions(f.root.p("w/f"), 0o640).unwrap();
    assert_eq!(fs::metadata(f.root.p("w/f")).unwrap().mode() & 0o7777, 0o640);
    let text = denied(f.st.fs_view().set_permissions(f.root.p("w/f"), 0o4755));
    assert_eq!(text, format!("filesystem:write {}", f.root.p("w/f")));
    let (op, _, verdict, by) = f.last();
    assert_eq!((op.as_str(), verdict.as_str()), ("metadata.set-permissions", "denied"));
    assert!(by.contains("setuid"), "{by}");
    denied(f.st.fs_view().set_permissions(f.root.p("w/f"), 0o2755));
    assert_eq!(fs::metadata(f.root.p("w/f")).unwrap().mode() & 0o7777, 0o640);
    assert!(matches!(
        f.st.fs_view().set_permissions(f.root.p("w/f"), 0o10000),
        Err(FsError::InvalidInput(_))
    ));
    let before = fs::metadata(f.root.p("r/f")).unwrap().mode();
    denied(f.st.fs_view().set_permissions(f.root.p("r/f"), 0o777));
    assert_eq!(fs::metadata(f.root.p("r/f")).unwrap().mode(), before);
    f.mkdir("w/d");
    f.st.fs_view().set_permissions(f.root.p("w/d"), 0o700).unwrap();
    assert_eq!(fs::metadata(f.root.p("w/d")).unwrap().mode() & 0o7777, 0o700);
}

#[test]
fn set_times_sets_what_is_given() {
    let mut f = fx(&[("write", "w/**")]);
    f.write("w/f", "x");
    f.write("r/f", "x");
    f.st.fs_view()
        .set_times(f.root.p("w/f"), Some(1_000_000_000_000), Some(1_500_000_000_123))
        .unwrap();
    let m = fs::metadata(f.root.p("w/f")).unwrap();
    assert_eq!(super::millis(m.accessed().unwrap()), 1_000_000_000_000);
    assert_eq!(super::millis(m.modified().unwrap()), 1_500_000_000_123);
    f.st.fs_view()
        .set_times(f.root.p("w/f"), None, Some(1_600_000_000_000))
        .unwrap();
    let m = fs::metadata(f.root.p("w/f")).unwrap();
    assert_eq!(super::millis(m.accessed().unwrap()), 1_000_000_000_000, "unchanged");
    assert_eq!(super::millis(m.modified().unwrap()), 1_600_000_000_000);
    let before = fs::metadata(f.root.p("r/f")).unwrap().modified().unwrap();
    denied(f.st.fs_view().set_times(f.root.p("r/f"), Some(0), Some(0)));
    assert_eq!(fs::metadata(f.root.p("r/f")).unwrap().modified().unwrap(), before);
    assert_eq!(f.last().0, "metadata.set-times");
}

#[test]
fn walk_dir_is_depth_first_sorted_and_bounded_by_depth() {
    let mut f = fx(&[("read", "r/**")]);
    f.write("r/b/x", "1");
    f.write("r/a", "1");
    f.write("r/b/c/y", "1");
    f.write("out/z", "1");
    f.link(&f.root.p("out"), "r/l");
    let all = f.st.fs_view().walk_dir(f.root.p("r"), None).unwrap();
    let got: Vec<(String, FileKind, u32)> = all.into_iter().map(|e| (e.path, e.kind, e.depth)).collect();
    let want = vec![
        (f.root.p("r/a"), FileKind::File, 1),
        (f.root.p("r/b"), FileKind::Directory, 1),
        (f.root.p("r/b/c"), FileKind::Directory, 2),
        (f.root.p("r/b/c/y"), FileKind::File, 3),
        (f.root.p("r/b/x"), FileKind::File, 2),
        (f.root.p("r/l"), FileKind::Symlink, 1),
    ];
    assert_eq!(got, want);
    let shallow = f.st.fs_view().walk_dir(f.root.p("r"), Some(1)).unwrap();
    assert_eq!(shallow.len(), 3);
    assert!(f.st.fs_view().walk_dir(f.root.p("r"), Some(0)).unwrap().is_empty());
    assert_eq!(f.last().1, format!("filesystem:read {}", f.root.p("r")));
    denied(f.st.fs_view().walk_dir(f.root.p("out"), None));
}

#[test]
fn find_files_matches_names_with_a_glob() {
    let mut f = fx(&[("read", "r/**")]);
    f.write("r/a.log", "1");
    f.write("r/sub/b.log", "1");
    f.write("r/sub/c.txt", "1");
    f.write("r/sub/deep/d.log", "1");
    let found = f.st.fs_view().find_files(f.root.p("r"), "*.log".into(), None).unwrap();
    assert_eq!(
        found,
        [
            f.root.p("r/a.log"),
            f.root.p("r/sub/b.log"),
            f.root.p("r/sub/deep/d.log")
        ]
    );
    let shallow =
        f.st.fs_view()
            .find_files(f.root.p("r"), "*.log".into(), Some(2))
            .unwrap();
    assert_eq!(shallow, [f.root.p("r/a.log"), f.root.p("r/sub/b.log")]);
    assert!(matches!(
        f.st.fs_view().find_files(f.root.p("r"), "[".into(), None),
        Err(FsError::InvalidInput(_))
    ));
    assert!(matches!(
        f.st.fs_view().find_files(f.root.p("r"), "*".repeat(2000), None),
        Err(FsError::LimitExceeded(_))
    ));
    denied(f.st.fs_view().find_files(f.root.clone(), "*".into(), None));
    assert_eq!(f.last().0, "metadata.find-files");
}

// ---------------------------------------------------------------- confinement details

#[test]
fn report_only_lets_the_operation_through_and_says_so() {
    let mut f = fx_mode(&[("read", "in/**")], Mode::ReportOnly);
    f.mkdir("out");
    f.st.fs_view()
        .write_file(f.root.p("out/x"), b"went through".to_vec())
        .unwrap();
    assert_eq!(f.read("out/x"), "went through");
    let (op, _, verdict, by) = f.last();
    assert_eq!(
        (op.as_str(), verdict.as_str(), by.as_str()),
        ("filesystem.write-file", "would-deny", "no grant")
    );
    assert_eq!(f.lines()[0]["mode"], "report-only");
    // Host rules hold in report-only mode too.
    f.write("in/f", "x");
    fs::hard_link(f.root.p("in/f"), f.root.p("in/g")).unwrap();
    denied(f.st.fs_view().read_file(f.root.p("in/g")));
}

#[test]
fn an_exact_grant_allows_its_file_only() {
    let mut f = fx(&[("read", "in/only.txt")]);
    f.write("in/only.txt", "yes");
    f.write("in/other.txt", "no");
    f.link("other.txt", "in/alias.txt");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/only.txt")).unwrap(), b"yes");
    assert_eq!(f.st.fs_view().read_file(f.root.p("in/x/../only.txt")).unwrap(), b"yes");
    denied(f.st.fs_view().read_file(f.root.p("in/other.txt")));
    denied(f.st.fs_view().read_file(f.root.p("in/alias.txt")));
}

#[test]
fn grants_with_different_bases_combine() {
    let mut f = fx(&[("read", "a/**"), ("write", "a/out/**")]);
    f.write("a/out/f", "old");
    let h =
        f.st.fs_view()
            .open(f.root.p("a/out/f"), OpenFlags::READ | OpenFlags::WRITE)
            .unwrap();
    f.st.fs_view().write(borrow(&h), b"new".to_vec()).unwrap();
    f.st.fs_view().close(h);
    assert_eq!(f.read("a/out/f"), "new");
    // A directory link to another place in the read grant, for a read and write open: the
    // write half is denied at the hop.
    f.write("a/in/g", "g");
    f.link("../in", "a/out/up");
    denied(
        f.st.fs_view()
            .open(f.root.p("a/out/up/g"), OpenFlags::READ | OpenFlags::WRITE),
    );
    assert_eq!(f.read("a/in/g"), "g");
}

#[test]
fn a_base_the_guest_can_replace_is_not_trusted() {
    // With write and delete on `out/**` (which matches `out` itself), the guest can replace the
    // directory `out` by a link to `in`, where it may only read. Writing below `out` must
    // then be decided for where it really goes.
    let mut f = fx(&[("read", "**"), ("write", "out/**"), ("delete", "out/**")]);
    f.write("in/victim", "orig");
    f.mkdir("out");
    f.st.fs_view().remove_dir_all(f.root.p("out")).unwrap();
    f.st.fs_view().create_symlink(f.root.p("in"), f.root.p("out")).unwrap();
    let text = denied(f.st.fs_view().write_file(f.root.p("out/victim"), b"pwned".to_vec()));
    assert_eq!(text, format!("filesystem:write {}", f.root.p("in/victim")));
    denied(f.st.fs_view().open(f.root.p("out/victim"), OpenFlags::WRITE));
    assert_eq!(f.read("in/victim"), "orig");
    // Reading through the link is what the read grant allows anyway.
    assert_eq!(f.st.fs_view().read_file(f.root.p("out/victim")).unwrap(), b"orig");
}

#[test]
fn links_in_a_base_the_component_cannot_change_are_followed() {
    // An administrator's link above the grant (`/var/run -> /run`): the grant names the link.
    let mut f = fx(&[("read", "alias/**")]);
    f.write("real/f", "through the alias");
    f.link(&f.root.p("real"), "alias");
    assert_eq!(
        f.st.fs_view().read_file(f.root.p("alias/f")).unwrap(),
        b"through the alias"
    );
    // When the component may write the link's own path, it could have made the link, so the
    // link is resolved and its target decided like any other.
    let mut g = fx(&[("read", "alias/**"), ("write", "alias/**")]);
    g.write("real/f", "x");
    g.link(&g.root.p("real"), "alias");
    let text = denied(g.st.fs_view().read_file(g.root.p("alias/f")));
    assert_eq!(text, format!("filesystem:read {}", g.root.p("real/f")));
}

#[test]
fn home_paths_are_expanded_with_the_policy_home() {
    use crate::manifest::Manifest;
    use crate::orgpolicy::PolicySet;
    use crate::policy::Env;
    use crate::runtime::ComponentPolicy;
    let mut f = fx(&[]);
    let toml = "[component]\nname = \"fs-test\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  \
                { action = \"read\", path = \"~/notes/**\" },\n  { action = \"write\", path = \"~/notes/**\" },\n  \
                { action = \"metadata\", path = \"~/notes/**\" },\n]\n";
    let manifest = Manifest::parse("Component.toml", toml).into_valid().unwrap();
    let env = Env {
        home: Some(f.root.clone()),
    };
    f.st.guard.policy = std::sync::Arc::new(ComponentPolicy::new(
        manifest,
        &PolicySet::default(),
        env,
        Mode::Enforce,
    ));
    f.mkdir("notes");
    f.st.fs_view()
        .write_file("~/notes/a.md".into(), b"note".to_vec())
        .unwrap();
    assert_eq!(f.read("notes/a.md"), "note");
    assert_eq!(f.last().1, "filesystem:write ~/notes/a.md");
    f.st.fs_view()
        .create_symlink("~/notes/a.md".into(), "~/notes/link".into())
        .unwrap();
    assert_eq!(
        fs::read_link(f.root.p("notes/link")).unwrap().to_str(),
        Some(f.root.p("notes/a.md").as_str())
    );
    assert_eq!(f.st.fs_view().read_file("~/notes/link".into()).unwrap(), b"note");
    assert_eq!(
        f.st.fs_view().canonicalize("~/notes/link".into()).unwrap(),
        f.root.p("notes/a.md")
    );
    denied(f.st.fs_view().read_file("~/other".into()));
    denied(f.st.fs_view().read_file(f.root.p("other")));
}

// ---------------------------------------------------------------- bounds of answers and time

/// A tree whose walk answer is large in bytes though small in entries: `levels` nested
/// directories with `name_len`-byte names, each holding `files` files.
/// The tree is made one directory at a time (relative to the one above), since its paths
/// may be longer than `PATH_MAX`.
fn deep_tree(f: &Fx, root: &str, levels: usize, name_len: usize, files: usize) {
    f.mkdir(root);
    let mut dir = cap_std::fs::Dir::open_ambient_dir(f.root.p(root), cap_std::ambient_authority()).unwrap();
    for level in 0..levels {
        let name = format!("{level:03}").repeat(name_len / 3);
        dir.create_dir(&name).unwrap();
        dir = dir.open_dir(&name).unwrap();
        for i in 0..files {
            dir.write(format!("f{i}"), "").unwrap();
        }
    }
}

#[test]
fn answers_are_bounded_in_bytes_by_the_memory_the_instance_has() {
    let mut f = fx(&[("read", "t/**"), ("metadata", "t/**")]);
    // 60 levels of 249-byte names with 4 files each: 300 entries, but about 2.3 MB of paths.
    deep_tree(&f, "t", 60, 249, 4);
    f.st.guard.run_limits.memory_bytes = 1 << 20;
    let over = |r: Result<_, FsError>| match r {
        Err(FsError::LimitExceeded(m)) => m,
        other => panic!("expected limit-exceeded, got {:?}", other.map(|_: Vec<_>| ())),
    };
    let m = over(
        f.st.fs_view()
            .walk_dir(f.root.p("t"), None)
            .map(|v| v.into_iter().map(|_| ()).collect()),
    );
    assert!(m.contains("the most one answer of this instance may hold"), "{m}");
    over(
        f.st.fs_view()
            .find_files(f.root.p("t"), "f*".into(), None)
            .map(|v| v.into_iter().map(|_| ()).collect()),
    );
    // What fits is answered in full.
    assert_eq!(
        f.st.fs_view().walk_dir(f.root.p("t"), Some(3)).unwrap().len(),
        1 + 5 + 5
    );
    // The same tree for an instance with the memory to hold it.
    f.st.guard.run_limits.memory_bytes = 64 << 20;
    assert_eq!(f.st.fs_view().walk_dir(f.root.p("t"), None).unwrap().len(), 60 * 5);

    // A listing: 2,000 names of 250 bytes (500 KB) for an instance with 256 KiB.
    f.mkdir("t/wide");
    for i in 0..2_000 {
        fs::write(f.root.p(&format!("t/wide/{i:0>250}")), "").unwrap();
    }
    f.st.guard.run_limits.memory_bytes = 256 << 10;
    over(
        f.st.fs_view()
            .list_dir(f.root.p("t/wide"))
            .map(|v| v.into_iter().map(|_| ()).collect()),
    );
    f.st.guard.run_limits.memory_bytes = 64 << 20;
    assert_eq!(f.st.fs_view().list_dir(f.root.p("t/wide")).unwrap().len(), 2_000);

    // Reads: no more than the memory can hold, whatever the read limit.
    f.write("t/data", &"x".repeat(300 << 10));
    f.st.guard.run_limits.memory_bytes = 256 << 10;
    let m = over(
        f.st.fs_view()
            .read_file(f.root.p("t/data"))
            .map(|v| v.into_iter().map(|_| ()).collect()),
    );
    assert!(m.contains("more than the instance's memory can still hold"), "{m}");
    let h = f.st.fs_view().open(f.root.p("t/data"), OpenFlags::READ).unwrap();
    over(
        f.st.fs_view()
            .read(borrow(&h), 300 << 10)
            .map(|v| v.into_iter().map(|_| ()).collect()),
    );
    assert_eq!(f.st.fs_view().read(borrow(&h), 200 << 10).unwrap().len(), 200 << 10);
}

#[test]
fn walks_and_removals_stop_at_the_calls_deadline() {
    let mut f = fx(&[("read", "t/**"), ("metadata", "t/**"), ("delete", "t/**")]);
    deep_tree(&f, "t", 3, 3, 3);
    // The call's time is up: nothing long starts.
    f.st.guard.deadline = Some(std::time::Instant::now());
    assert!(matches!(
        f.st.fs_view().walk_dir(f.root.p("t"), None),
        Err(FsError::Timeout)
    ));
    assert!(matches!(f.st.fs_view().dir_size(f.root.p("t")), Err(FsError::Timeout)));
    assert!(matches!(
        f.st.fs_view().find_files(f.root.p("t"), "*".into(), None),
        Err(FsError::Timeout)
    ));
    assert!(matches!(
        f.st.fs_view().remove_dir_all(f.root.p("t")),
        Err(FsError::Timeout)
    ));
    assert!(f.exists("t"));
    f.st.guard.deadline = None;
    assert_eq!(f.st.fs_view().walk_dir(f.root.p("t"), None).unwrap().len(), 12);
    f.st.fs_view().remove_dir_all(f.root.p("t")).unwrap();
    assert!(!f.exists("t"));
}

#[test]
fn copy_from_an_endless_source_stops_at_its_budget() {
    let mut f = fx(&[("read", "/dev/zero"), ("read", "/dev/urandom"), ("write", "out/**")]);
    // The grants above are below the root: grant the devices themselves.
    let toml = format!(
        "[component]\nname = \"fs-test\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  {{ action = \"read\", path = \"/dev/zero\" }},\n  {{ action = \"read\", path = \"/dev/urandom\" }},\n  {{ action = \"write\", path = \"{}/out/**\" }},\n]\n",
        *f.root
    );
    (f.st, f.audit) = state(&toml, Mode::Enforce);
    f.mkdir("out");
    f.st.guard.run_limits.max_read_bytes = 1 << 20;
    for source in ["/dev/zero", "/dev/urandom"] {
        let dest = f.root.p("out/copy");
        match f.st.fs_view().copy(source.into(), dest.clone()) {
            Err(FsError::LimitExceeded(m)) => assert!(m.contains("more than 1048576 bytes"), "{m}"),
            other => panic!("{source}: expected limit-exceeded, got {other:?}"),
        }
        // It wrote no more than its budget.
        assert!(fs::metadata(&dest).unwrap().len() <= 1 << 20);
    }
    // A regular file is copied whole, even above the read limit.
    let (mut g, _) = state(
        &format!(
            "[component]\nname = \"fs-test\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  {{ action = \"read\", path = \"{0}/out/**\" }},\n  {{ action = \"write\", path = \"{0}/out/**\" }},\n]\n",
            *f.root
        ),
        Mode::Enforce,
    );
    g.guard.run_limits.max_read_bytes = 1 << 20;
    f.write("out/big", &"b".repeat(3 << 20));
    assert_eq!(
        g.fs_view().copy(f.root.p("out/big"), f.root.p("out/big2")).unwrap(),
        3 << 20
    );
    assert_eq!(fs::metadata(f.root.p("out/big2")).unwrap().len(), 3 << 20);
}

#[test]
fn copy_from_a_fifo_waits_no_longer_than_the_call() {
    let mut f = fx(&[("read", "in/**"), ("write", "out/**")]);
    f.mkdir("in");
    f.mkdir("out");
    let fifo = f.root.p("in/fifo");
    let c_path = std::ffi::CString::new(fifo.clone()).unwrap();
    // SAFETY: a valid NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    // A writer that holds the FIFO open and has written a little, then writes nothing more.
    // Opened read-write, which on Linux neither waits for a reader nor fails later with a broken
    // pipe when a reader comes and goes: the FIFO has a writer for the whole test.
    let mut writer = fs::OpenOptions::new().read(true).write(true).open(&fifo).unwrap();
    std::io::Write::write_all(&mut writer, b"some").unwrap();
    f.st.guard.deadline = Some(std::time::Instant::now() + std::time::Duration::from_millis(300));
    let result = f.st.fs_view().copy(fifo.clone(), f.root.p("out/copy"));
    assert!(matches!(result, Err(FsError::Timeout)), "{result:?}");
    assert_eq!(f.read("out/copy"), "some");
    drop(writer);
}

#[test]
fn the_default_policy_denies_process_memory_and_environment_for_every_pid() {
    let mut sources = crate::diagnostics::Sources::new();
    let policies = crate::orgpolicy::PolicySet::default_set(&mut sources).unwrap();
    let toml = "[component]\nname = \"proc-reader\"\nversion = \"1.0.0\"\n[permissions]\nfilesystem = [\n  { action = \"read\", path = \"/proc/**\" },\n  { action = \"metadata\", path = \"/proc/**\" },\n]\n";
    let (mut s, audit) = crate::runtime::testing::state_under(toml, &policies, Mode::Enforce);
    let pid = std::process::id();
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    let child = std::process::Command::new("/bin/sleep").arg("30").spawn().unwrap();
    let other = child.id();
    for path in [
        "/proc/self/environ".to_string(),
        "/proc/self/mem".to_string(),
        format!("/proc/{pid}/environ"),
        format!("/proc/{pid}/cmdline"),
        format!("/proc/{other}/environ"),
        format!("/proc/{other}/mem"),
        "/proc/thread-self/environ".to_string(),
        format!("/proc/self/task/{tid}/mem"),
        format!("/proc/{pid}/task/{tid}/environ"),
        "/proc/self/auxv".to_string(),
        "/proc/self/maps".to_string(),
        "/proc/self/./environ".to_string(),
        "/proc/1/../self/environ".to_string(),
    ] {
        let text = denied(s.fs_view().read_file(path.clone()));
        assert!(text.starts_with("filesystem:read /proc/"), "{path}: {text}");
        let last = audit.lines().pop().unwrap();
        assert!(
            last["by"].as_str().unwrap().starts_with("policy builtin:default:"),
            "{path}: {last}"
        );
        assert!(matches!(
            s.fs_view().open(path.clone(), OpenFlags::READ),
            Err(FsError::PermissionDenied(_))
        ));
    }
    // The links in /proc lead out of it, to paths that are decided as themselves.
    for path in [
        "/proc/self/root/etc/hostname",
        "/proc/self/cwd/Cargo.toml",
        "/proc/self/exe",
    ] {
        let text = denied(s.fs_view().read_file(path.to_string()));
        assert!(!text.starts_with("filesystem:read /proc/"), "{path}: {text}");
    }
    // Reading a process's status is not among them.
    let status = s.fs_view().read_file("/proc/self/status".into()).unwrap();
    assert!(String::from_utf8_lossy(&status).contains("Pid:"));
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
}
