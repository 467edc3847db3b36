//! `wasi:filesystem` and `check` never disagree: for 10,000 generated (manifest, request)
//! pairs, the verdict of the descriptor method called on the host (denied = `access`) equals
//! the static decision: the actions that `check` charges the function (`analyze::wasi`),
//! decided by `Effective::decide` on the path the request names (for `open-at`, the actions
//! its flags ask for; `link-at` is refused by a host rule whatever the grants say).
//!
//! Every path lies below a directory that does not exist, at least two levels down, so an
//! allowed request fails with `no-entry` and has no effect on this machine.

use wasmtime::component::Resource;
use wasmtime_wasi::filesystem::{Descriptor, Dir};
use wasmtime_wasi::p2::FsError as WasiError;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
    DescriptorFlags, HostDescriptor, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, OpenMode};

use super::Described;
use crate::analyze::wasi;
use crate::policy::{Action, FsAction, Request};
use crate::runtime::Mode;
use crate::runtime::testing::{self, Rng};

const ROOT: &str = "nonexistent-airssys-wasi-consistency";
const GRANTS: &[&str] = &["**", "a/**", "a/*", "a/b/f.txt", "*/x.log", "a/b/*.csv", "c/d", "c/**"];
const PATHS: &[&str] = &[
    "a/f.txt",
    "a/b/f.txt",
    "a/b/g.csv",
    "a/b/c/d",
    "b/x.log",
    "c/d",
    "c/../a/f.txt",
    "a/./b//f.txt",
    "A/f.txt",
    "c/d/e",
    "a/b/f.txt/",
    "z/y/x",
];
const ACTIONS: &[(&str, FsAction)] = &[
    ("read", FsAction::Read),
    ("write", FsAction::Write),
    ("delete", FsAction::Delete),
    ("metadata", FsAction::Metadata),
];
const FUNCTIONS: &[&str] = &[
    "open-at",
    "stat-at",
    "readlink-at",
    "metadata-hash-at",
    "create-directory-at",
    "set-times-at",
    "unlink-file-at",
    "remove-directory-at",
    "rename-at",
    "symlink-at",
    "link-at",
];

/// A path of the generated tree, relative to `/` (a WASI path below the `/` descriptor) and
/// absolute (what the guard decides).
fn path(rel: &str) -> (String, String) {
    let relative = format!("{ROOT}/t/{rel}");
    let absolute = format!("/{relative}");
    (relative, absolute)
}

/// Whether the policy allows `action` on `absolute`.
fn allows(state: &crate::runtime::InstanceState, action: FsAction, absolute: &str) -> bool {
    let request = Request::Fs { action, path: absolute };
    state.guard.policy.effective.decide(&request).allowed
}

/// The static decision: every term of the function's charge has an action the policy
/// allows on the path that term concerns.
fn expected(
    state: &crate::runtime::InstanceState,
    function: &str,
    paths: &[String],
    open_actions: &[FsAction],
) -> bool {
    if function == "link-at" {
        return false;
    }
    let charge = wasi::interface("filesystem", "types", Some(&semver::Version::new(0, 2, 0)))
        .unwrap()
        .function(&format!("[method]descriptor.{function}"))
        .unwrap();
    if function == "open-at" {
        // The charge is `read` or `write`: the request asks for the ones its flags need.
        return open_actions.iter().all(|a| allows(state, *a, &paths[0]));
    }
    charge.terms.iter().enumerate().all(|(i, term)| {
        let on = &paths[i.min(paths.len() - 1)];
        term.iter().any(|action| match action {
            Action::Fs(a) => allows(state, *a, on),
            _ => unreachable!("a filesystem function charges filesystem actions"),
        })
    })
}

fn denied(result: Result<(), WasiError>) -> bool {
    match result {
        Ok(()) => false,
        Err(e) => matches!(e.downcast(), Ok(ErrorCode::Access)),
    }
}

#[test]
fn wasi_filesystem_verdicts_equal_the_static_decision_for_10_000_pairs() {
    let mut rng = Rng(0x5eed_2026_1207);
    let mut pairs = 0;
    let mut mismatches = Vec::new();
    let mut verdicts = [0usize; 2];
    while pairs < 10_000 {
        let mut grants = String::new();
        for _ in 0..=(1 + rng.next() % 5) {
            let (name, _) = *rng.pick(ACTIONS);
            grants.push_str(&format!(
                "  {{ action = \"{name}\", path = \"/{ROOT}/t/{}\" }},\n",
                *rng.pick(GRANTS)
            ));
        }
        let toml = format!(
            "[component]\nname = \"consistency\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [\n{grants}]\n"
        );
        let (mut state, _) = testing::state(&toml, Mode::Enforce);
        let root = std::fs::File::open("/").unwrap();
        let rep = {
            let mut view = state.wasi_fs_view();
            let dir = Descriptor::Dir(Dir::new(root, FsPerms::ReadWrite, OpenMode::READ, true));
            let described = Described {
                path: "/".to_string(),
                read: true,
                write: false,
            };
            view.push(dir, described).unwrap().rep()
        };
        for _ in 0..20 {
            let function = *rng.pick(FUNCTIONS);
            let (rel, abs) = path(rng.pick_str(PATHS));
            let (rel2, abs2) = path(rng.pick_str(PATHS));
            let fd = || Resource::<Descriptor>::new_borrow(rep);
            let flags = *rng.pick(&[
                DescriptorFlags::READ,
                DescriptorFlags::WRITE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
                DescriptorFlags::empty(),
            ]);
            let oflags = *rng.pick(&[OpenFlags::empty(), OpenFlags::CREATE, OpenFlags::TRUNCATE]);
            let follow = *rng.pick(&[PathFlags::empty(), PathFlags::SYMLINK_FOLLOW]);
            let mut open_actions = Vec::new();
            if flags.contains(DescriptorFlags::READ) || !flags.contains(DescriptorFlags::WRITE) {
                open_actions.push(FsAction::Read);
            }
            if flags.contains(DescriptorFlags::WRITE) || oflags != OpenFlags::empty() {
                open_actions.push(FsAction::Write);
            }
            let mut view = state.wasi_fs_view();
            let (result, paths) = match function {
                "open-at" => (view.open_at(fd(), follow, rel, oflags, flags).map(|_| ()), vec![abs]),
                "stat-at" => (view.stat_at(fd(), follow, rel).map(|_| ()), vec![abs]),
                "readlink-at" => (view.readlink_at(fd(), rel).map(|_| ()), vec![abs]),
                "metadata-hash-at" => (view.metadata_hash_at(fd(), follow, rel).map(|_| ()), vec![abs]),
                "create-directory-at" => (view.create_directory_at(fd(), rel), vec![abs]),
                "set-times-at" => (
                    view.set_times_at(fd(), follow, rel, NewTimestamp::Now, NewTimestamp::NoChange),
                    vec![abs],
                ),
                "unlink-file-at" => (view.unlink_file_at(fd(), rel), vec![abs]),
                "remove-directory-at" => (view.remove_directory_at(fd(), rel), vec![abs]),
                "rename-at" => (view.rename_at(fd(), rel, fd(), rel2), vec![abs, abs2]),
                // The link `rel2` points at the absolute target `abs`.
                "symlink-at" => (view.symlink_at(fd(), abs.clone(), rel2), vec![abs2, abs]),
                "link-at" => (view.link_at(fd(), follow, rel, fd(), rel2), vec![abs2, abs]),
                other => unreachable!("{other}"),
            };
            let runtime_denied = denied(result);
            let static_allowed = expected(&state, function, &paths, &open_actions);
            verdicts[usize::from(static_allowed)] += 1;
            if runtime_denied == static_allowed {
                mismatches.push(format!(
                    "{function} {paths:?} (flags {flags:?} {oflags:?}) under\n{toml}"
                ));
            }
            pairs += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {}",
        mismatches.len(),
        mismatches[0]
    );
    // Both verdicts are well represented (denied, allowed).
    assert!(verdicts[0] > 2_000 && verdicts[1] > 2_000, "{verdicts:?}");
}

/// The escape attempts of the airssys filesystem tests, made through `wasi:filesystem`: each
/// is `access` and has no effect.
mod escapes {
    use std::path::{Path, PathBuf};

    use wasmtime::component::Resource;
    use wasmtime_wasi::filesystem::Descriptor;
    use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
    use wasmtime_wasi::p2::bindings::sync::filesystem::preopens::Host as _;
    use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
        DescriptorFlags, HostDescriptor, NewTimestamp, OpenFlags, PathFlags,
    };

    use crate::runtime::testing::{self, Captured};
    use crate::runtime::{InstanceState, Mode};

    /// `<tmp>/inside` (granted read, write, delete and metadata below it) holding `f.txt`, and
    /// `<tmp>/outside` holding `secret.txt`.
    struct Tree {
        _tmp: tempfile::TempDir,
        inside: PathBuf,
        outside: PathBuf,
        state: InstanceState,
        audit: Captured,
        fd: u32,
    }

    fn tree() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (inside, outside) = (root.join("inside"), root.join("outside"));
        std::fs::create_dir(&inside).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(inside.join("f.txt"), "inside\n").unwrap();
        std::fs::write(outside.join("secret.txt"), "SECRET\n").unwrap();
        let grants: String = ["read", "write", "delete", "metadata"]
            .iter()
            .map(|a| format!("  {{ action = \"{a}\", path = \"{}/**\" }},\n", inside.display()))
            .collect();
        let toml = format!(
            "[component]\nname = \"escapes\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [\n{grants}]\n"
        );
        let (mut state, audit) = testing::state(&toml, Mode::Enforce);
        let preopens = state.wasi_fs_view().get_directories().unwrap();
        assert_eq!(preopens.len(), 1, "one grant base");
        assert_eq!(
            preopens[0].1,
            inside.display().to_string(),
            "preopened under its own path"
        );
        let fd = preopens[0].0.rep();
        Tree {
            _tmp: tmp,
            inside,
            outside,
            state,
            audit,
            fd,
        }
    }

    impl Tree {
        fn fd(&self) -> Resource<Descriptor> {
            Resource::new_borrow(self.fd)
        }
    }

    fn code<T>(result: Result<T, wasmtime_wasi::p2::FsError>) -> Option<ErrorCode> {
        result.err().map(|e| e.downcast().unwrap())
    }

    fn secret_intact(outside: &Path) {
        assert_eq!(std::fs::read_to_string(outside.join("secret.txt")).unwrap(), "SECRET\n");
    }

    const READ: DescriptorFlags = DescriptorFlags::READ;

    #[test]
    fn escape_dot_dot_leaving_the_grant() {
        let mut t = tree();
        let (fd, rep) = (t.fd(), t.fd);
        let mut view = t.state.wasi_fs_view();
        let r = view.open_at(
            fd,
            PathFlags::empty(),
            "../outside/secret.txt".into(),
            OpenFlags::empty(),
            READ,
        );
        assert_eq!(code(r), Some(ErrorCode::Access));
        // Leaving and coming back in is lexically inside.
        let back = Resource::new_borrow(rep);
        let r = view.open_at(
            back,
            PathFlags::empty(),
            "../inside/f.txt".into(),
            OpenFlags::empty(),
            READ,
        );
        assert!(r.is_ok());
    }

    #[test]
    fn escape_symlink_inside_pointing_outside() {
        let mut t = tree();
        std::os::unix::fs::symlink(t.outside.join("secret.txt"), t.inside.join("abs")).unwrap();
        std::os::unix::fs::symlink("../outside/secret.txt", t.inside.join("rel")).unwrap();
        for (name, follow) in [
            ("abs", PathFlags::SYMLINK_FOLLOW),
            ("rel", PathFlags::SYMLINK_FOLLOW),
            ("rel", PathFlags::empty()),
        ] {
            let fd = t.fd();
            let r = t
                .state
                .wasi_fs_view()
                .open_at(fd, follow, name.into(), OpenFlags::empty(), READ);
            assert_eq!(
                code(r),
                if follow == PathFlags::empty() {
                    Some(ErrorCode::Loop)
                } else {
                    Some(ErrorCode::Access)
                },
                "{name}"
            );
            let fd = t.fd();
            let r = t
                .state
                .wasi_fs_view()
                .stat_at(fd, PathFlags::SYMLINK_FOLLOW, name.into());
            assert_eq!(code(r), Some(ErrorCode::Access), "stat-at through {name}");
        }
        let denied = t.audit.lines().into_iter().filter(|l| l["verdict"] == "denied").count();
        assert!(denied >= 5, "each hop out is decided and audited");
    }

    #[test]
    fn escape_hard_link_to_an_outside_file() {
        let mut t = tree();
        std::fs::hard_link(t.outside.join("secret.txt"), t.inside.join("hard")).unwrap();
        let fd = t.fd();
        let r = t
            .state
            .wasi_fs_view()
            .open_at(fd, PathFlags::empty(), "hard".into(), OpenFlags::empty(), READ);
        assert_eq!(code(r), Some(ErrorCode::Access));
        let fd = t.fd();
        let r = t.state.wasi_fs_view().set_times_at(
            fd,
            PathFlags::empty(),
            "hard".into(),
            NewTimestamp::Now,
            NewTimestamp::Now,
        );
        assert_eq!(code(r), Some(ErrorCode::Access));
        // Making one is refused outright.
        let (a, b) = (t.fd(), t.fd());
        let r = t
            .state
            .wasi_fs_view()
            .link_at(a, PathFlags::empty(), "f.txt".into(), b, "second".into());
        assert_eq!(code(r), Some(ErrorCode::Access));
        assert!(!t.inside.join("second").exists());
        secret_intact(&t.outside);
    }

    #[test]
    fn escape_rename_and_symlink_with_one_end_outside() {
        let mut t = tree();
        let (a, b) = (t.fd(), t.fd());
        let r = t
            .state
            .wasi_fs_view()
            .rename_at(a, "f.txt".into(), b, "../outside/moved".into());
        assert_eq!(code(r), Some(ErrorCode::Access));
        assert!(t.inside.join("f.txt").exists());
        let (a, b) = (t.fd(), t.fd());
        let r = t
            .state
            .wasi_fs_view()
            .rename_at(a, "../outside/secret.txt".into(), b, "stolen".into());
        assert_eq!(code(r), Some(ErrorCode::Access));
        secret_intact(&t.outside);
        let target = t.outside.join("secret.txt").display().to_string();
        for target in [target.as_str(), "../outside/secret.txt"] {
            let fd = t.fd();
            let r = t.state.wasi_fs_view().symlink_at(fd, target.into(), "link".into());
            assert_eq!(code(r), Some(ErrorCode::Access), "{target}");
            assert!(std::fs::symlink_metadata(t.inside.join("link")).is_err());
        }
    }

    #[test]
    fn escape_writes_through_read_only_opening_and_descriptors() {
        let mut t = tree();
        let read_only = format!(
            "[component]\nname = \"escapes\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [{{ action = \"read\", path = \"{}/**\" }}]\n",
            t.inside.display()
        );
        let (mut state, _) = testing::state(&read_only, Mode::Enforce);
        let fd = state.wasi_fs_view().get_directories().unwrap()[0].0.rep();
        let mut view = state.wasi_fs_view();
        // Truncating needs write.
        let r = view.open_at(
            Resource::new_borrow(fd),
            PathFlags::empty(),
            "f.txt".into(),
            OpenFlags::TRUNCATE,
            READ,
        );
        assert_eq!(code(r), Some(ErrorCode::Access));
        let file = view
            .open_at(
                Resource::new_borrow(fd),
                PathFlags::empty(),
                "f.txt".into(),
                OpenFlags::empty(),
                READ,
            )
            .unwrap();
        let r = view.write(Resource::new_borrow(file.rep()), b"overwritten".to_vec(), 0);
        assert_eq!(code(r), Some(ErrorCode::Access));
        let r = view.set_size(Resource::new_borrow(file.rep()), 0);
        assert_eq!(code(r), Some(ErrorCode::Access));
        let r = view.write_via_stream(Resource::new_borrow(file.rep()), 0);
        assert_eq!(code(r), Some(ErrorCode::Access));
        assert_eq!(std::fs::read_to_string(t.inside.join("f.txt")).unwrap(), "inside\n");
        // The descriptor still reads.
        let (bytes, _) = view.read(Resource::new_borrow(file.rep()), 64, 0).unwrap();
        assert_eq!(bytes, b"inside\n");
        let fd = t.fd();
        let r = t
            .state
            .wasi_fs_view()
            .unlink_file_at(fd, "../outside/secret.txt".into());
        assert_eq!(code(r), Some(ErrorCode::Access));
        secret_intact(&t.outside);
    }

    #[test]
    fn escape_trailing_dot_and_slash_on_a_file() {
        let mut t = tree();
        for path in ["f.txt/.", "f.txt/"] {
            let fd = t.fd();
            let r = t
                .state
                .wasi_fs_view()
                .open_at(fd, PathFlags::empty(), path.into(), OpenFlags::empty(), READ);
            assert!(
                matches!(
                    code(r),
                    Some(ErrorCode::NotDirectory | ErrorCode::IsDirectory | ErrorCode::NoEntry)
                ),
                "{path}"
            );
        }
    }
}
