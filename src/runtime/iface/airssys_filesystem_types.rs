//! `airssys:ext-filesystem/types`: the filesystem's records and errors, and the `file-handle`
//! resource (a [`FileHandle`] in the resource table), implemented on [`FsView`].

use wasmtime::component::{Linker, Resource};

use crate::runtime::bindings::fs_types;
use crate::runtime::fs::{FileHandle, FsView, HasFs};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    fs_types::add_to_linker::<InstanceState, HasFs>(linker, InstanceState::fs_view)
}

impl fs_types::Host for FsView<'_> {}

impl fs_types::HostFileHandle for FsView<'_> {
    /// Dropping a handle closes its file.
    fn drop(&mut self, handle: Resource<FileHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
