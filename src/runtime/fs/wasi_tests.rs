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
use crate::runtime::testing;

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

/// A small deterministic generator (xorshift64*), so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

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
            let (name, _) = rng.pick(ACTIONS);
            grants.push_str(&format!(
                "  {{ action = \"{name}\", path = \"/{ROOT}/t/{}\" }},\n",
                rng.pick(GRANTS)
            ));
        }
        let toml = format!("[component]\nname = \"consistency\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [\n{grants}]\n");
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
            let function = rng.pick(FUNCTIONS);
            let (rel, abs) = path(rng.pick(PATHS));
            let (rel2, abs2) = path(rng.pick(PATHS));
            let fd = || Resource::<Descriptor>::new_borrow(rep);
            let flags = rng.pick(&[
                DescriptorFlags::READ,
                DescriptorFlags::WRITE,
                DescriptorFlags::READ | DescriptorFlags::WRITE,
                DescriptorFlags::empty(),
            ]);
            let oflags = rng.pick(&[OpenFlags::empty(), OpenFlags::CREATE, OpenFlags::TRUNCATE]);
            let follow = rng.pick(&[PathFlags::empty(), PathFlags::SYMLINK_FOLLOW]);
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
                mismatches.push(format!("{function} {paths:?} (flags {flags:?} {oflags:?}) under\n{toml}"));
            }
            pairs += 1;
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches, first: {}", mismatches.len(), mismatches[0]);
    // Both verdicts are well represented (denied, allowed).
    assert!(verdicts[0] > 2_000 && verdicts[1] > 2_000, "{verdicts:?}");
}
