//! `wasi:filesystem/preopens`: the directories a WASI guest starts with, derived from the
//! manifest's grants.
//!
//! Each filesystem grant's base directory (the literal directories its pattern starts with:
//! `/srv/data` for `/srv/data/**`, `~` expanded) is preopened under its own absolute path, so
//! that a guest's `fopen("/srv/data/x")` finds it as written. A base that does not exist (or is
//! not a directory) when the guest asks is left out. In report-only and unguarded modes `/` is
//! preopened as well, so that what a component would do outside its grants is seen (and
//! logged) rather than failing in the guest's own library first. A preopen confers nothing by
//! itself: every path below it is decided (`wasi_filesystem_types.rs`).

use cap_std::ambient_authority;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, Dir};
use wasmtime_wasi::p2::bindings::sync::filesystem::preopens;
use wasmtime_wasi::{FsPerms, OpenMode};

use crate::runtime::audit::Mode;
use crate::runtime::fs::wasi::{Described, HasWasiFs, WasiFsView};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    preopens::add_to_linker::<InstanceState, HasWasiFs>(linker, InstanceState::wasi_fs_view)
}

impl WasiFsView<'_> {
    /// The directories to preopen, deepest last (see the module documentation).
    pub(crate) fn preopen_paths(&mut self) -> Vec<String> {
        let mut paths = self.confined().grant_bases();
        if self.guard.policy.mode != Mode::Enforce && !paths.iter().any(|p| p == "/") {
            paths.insert(0, "/".to_string());
        }
        paths
    }
}

impl preopens::Host for WasiFsView<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let mut out = Vec::new();
        for path in self.preopen_paths() {
            let Ok(dir) = cap_std::fs::Dir::open_ambient_dir(&path, ambient_authority()) else {
                continue;
            };
            let descriptor = Descriptor::Dir(Dir::new(dir.into_std_file(), FsPerms::ReadWrite, OpenMode::READ, true));
            let described = Described {
                path: path.clone(),
                read: true,
                write: false,
            };
            match self.push(descriptor, described) {
                Ok(fd) => out.push((fd, path)),
                // No room for more handles: the guest gets the preopens that fit.
                Err(_) => break,
            }
        }
        Ok(out)
    }
}
