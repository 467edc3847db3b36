//! The filesystem domain as `wasi:filesystem` sees it: descriptors that remember the host path
//! they stand for, preopens derived from the grants, and the view the WASI interfaces
//! (`iface/wasi_filesystem_types.rs`, `iface/wasi_filesystem_preopens.rs`) are implemented on.
//!
//! A WASI guest names files relative to a descriptor. Every descriptor this host hands out
//! (a preopen, or one that `open-at` made) records the absolute, normal path it was opened
//! at; a path below it is joined to that path and then goes through exactly the airssys
//! confinement (`confine.rs`): the guard with the operation's actions, the grant's base, the
//! host's own resolution of symbolic links with every hop authorized again, the hard-link
//! rule, and `..` taken lexically. The descriptor's own directory handle is never used to
//! resolve a path: it only answers questions about itself (`stat`, `get-type`, ...).

use std::hash::{DefaultHasher, Hash, Hasher};

use cap_std::fs::{FileType, FileTypeExt, Metadata, MetadataExt};
use wasmtime::component::{HasData, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtx, WasiFilesystemCtxView};
use wasmtime_wasi::p2::FsError as WasiError;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::p2::bindings::sync::filesystem::types as wt;

use super::{FsError, FsState, FsView};
use crate::runtime::guard::Guard;

/// What the host knows of one descriptor of the guest.
#[derive(Clone, Debug)]
pub(crate) struct Described {
    /// The absolute, normal host path the descriptor was opened at (the guest sees the same).
    pub(crate) path: String,
    /// Opened for reading / for writing (what the guard allowed when it was opened).
    pub(crate) read: bool,
    pub(crate) write: bool,
}

/// The `wasi:filesystem` state of one instance: its descriptors by resource index.
#[derive(Debug, Default)]
pub struct WasiFsState {
    pub(crate) descriptors: foldhash::HashMap<u32, Described>,
}

/// What the `wasi:filesystem` interfaces are implemented on: the guard and the airssys
/// filesystem state (for confinement), the descriptors' paths, wasmtime-wasi's filesystem
/// context (for the operations on a descriptor itself) and the resource table.
pub(crate) struct WasiFsView<'a> {
    pub(crate) guard: &'a Guard,
    pub(crate) fs: &'a mut FsState,
    pub(crate) wasi: &'a mut WasiFsState,
    pub(crate) ctx: &'a mut WasiFilesystemCtx,
    pub(crate) table: &'a mut ResourceTable,
}

/// The `HasData` of the WASI filesystem interfaces: their data is a [`WasiFsView`].
pub(crate) struct HasWasiFs;

impl HasData for HasWasiFs {
    type Data<'a> = WasiFsView<'a>;
}

impl WasiFsView<'_> {
    /// The airssys filesystem view over the same guard, state and table: confinement.
    pub(crate) fn confined(&mut self) -> FsView<'_> {
        FsView {
            guard: self.guard,
            fs: self.fs,
            table: self.table,
        }
    }

    /// wasmtime-wasi's own implementation, for what a descriptor answers about itself.
    pub(crate) fn wasmtime(&mut self) -> WasiFilesystemCtxView<'_> {
        WasiFilesystemCtxView {
            ctx: self.ctx,
            table: self.table,
        }
    }

    /// What the host recorded for `fd`.
    pub(crate) fn described(&self, fd: &Resource<Descriptor>) -> Result<&Described, WasiError> {
        self.wasi
            .descriptors
            .get(&fd.rep())
            .ok_or_else(|| ErrorCode::BadDescriptor.into())
    }

    /// The host path that `path`, relative to `fd`, names: joined to the descriptor's path (and
    /// normalised later, lexically, by confinement). An absolute path is refused, as WASI
    /// requires: it names nothing relative to a descriptor.
    pub(crate) fn below(&self, fd: &Resource<Descriptor>, path: &str) -> Result<String, WasiError> {
        let dir = &self.described(fd)?.path;
        if path.starts_with('/') {
            return Err(ErrorCode::NotPermitted.into());
        }
        if path.is_empty() {
            return Err(ErrorCode::NoEntry.into());
        }
        Ok(super::join(dir, path))
    }

    /// Puts a new descriptor in the table and records what it stands for.
    pub(crate) fn push(
        &mut self,
        descriptor: Descriptor,
        described: Described,
    ) -> Result<Resource<Descriptor>, WasiError> {
        self.confined().check_handle_room(&described.path).map_err(wasi_error)?;
        let fd = self
            .table
            .push(descriptor)
            .map_err(|e| WasiError::trap(wasmtime::Error::from(e)))?;
        self.wasi.descriptors.insert(fd.rep(), described);
        Ok(fd)
    }
}

/// An airssys filesystem error as the WASI error code that says the same.
pub(crate) fn wasi_error(error: FsError) -> WasiError {
    let code = match error {
        FsError::PermissionDenied(_) => ErrorCode::Access,
        FsError::NotFound(_) => ErrorCode::NoEntry,
        FsError::AlreadyExists(_) => ErrorCode::Exist,
        FsError::NotADirectory(_) => ErrorCode::NotDirectory,
        FsError::IsADirectory(_) => ErrorCode::IsDirectory,
        FsError::DirectoryNotEmpty(_) => ErrorCode::NotEmpty,
        FsError::SymlinkLoop(_) => ErrorCode::Loop,
        FsError::InvalidInput(_) => ErrorCode::Invalid,
        FsError::InvalidHandle => ErrorCode::BadDescriptor,
        FsError::Timeout => ErrorCode::WouldBlock,
        FsError::Unsupported(_) => ErrorCode::Unsupported,
        FsError::LimitExceeded(_) => ErrorCode::InsufficientMemory,
        FsError::Io(_) => ErrorCode::Io,
    };
    code.into()
}

/// The WASI type of a file type (not following links).
pub(crate) fn descriptor_type(file_type: FileType) -> wt::DescriptorType {
    if file_type.is_symlink() {
        wt::DescriptorType::SymbolicLink
    } else if file_type.is_dir() {
        wt::DescriptorType::Directory
    } else if file_type.is_file() {
        wt::DescriptorType::RegularFile
    } else if file_type.is_fifo() {
        wt::DescriptorType::Fifo
    } else if file_type.is_socket() {
        wt::DescriptorType::Socket
    } else if file_type.is_block_device() {
        wt::DescriptorType::BlockDevice
    } else if file_type.is_char_device() {
        wt::DescriptorType::CharacterDevice
    } else {
        wt::DescriptorType::Unknown
    }
}

/// The WASI stat of a metadata, as wasmtime-wasi reports it for a descriptor.
pub(crate) fn descriptor_stat(meta: &Metadata) -> wt::DescriptorStat {
    let time = |seconds: i64, nanos: i64| {
        Some(wt::Datetime {
            seconds: u64::try_from(seconds).ok()?,
            nanoseconds: u32::try_from(nanos).ok()?,
        })
    };
    wt::DescriptorStat {
        type_: descriptor_type(meta.file_type()),
        link_count: meta.nlink(),
        size: meta.len(),
        data_access_timestamp: time(meta.atime(), meta.atime_nsec()),
        data_modification_timestamp: time(meta.mtime(), meta.mtime_nsec()),
        status_change_timestamp: time(meta.ctime(), meta.ctime_nsec()),
    }
}

/// The metadata hash of an object, as wasmtime-wasi computes it for a descriptor (so that a
/// guest comparing `metadata-hash` with `metadata-hash-at` sees the same object as the same).
pub(crate) fn metadata_hash(meta: &Metadata) -> wt::MetadataHashValue {
    let mut hasher = DefaultHasher::new();
    (meta.dev(), meta.ino()).hash(&mut hasher);
    let lower = hasher.finish();
    wt::MetadataHashValue {
        lower,
        upper: lower ^ 4_614_256_656_552_045_848_u64,
    }
}

#[cfg(test)]
#[path = "wasi_tests.rs"]
mod tests;
