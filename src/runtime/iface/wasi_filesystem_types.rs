//! `wasi:filesystem/types`: descriptors, implemented on [`WasiFsView`].
//!
//! Every function that names a path below a descriptor is decided per path by the guard and
//! done through the airssys confinement (`fs/confine.rs`, `fs/actions.rs`), with the actions
//! that `check` charges the same function (`analyze/wasi.rs`):
//!
//! | function | actions |
//! |---|---|
//! | `open-at` | `read` when opened for reading, `write` when for writing, creating or truncating |
//! | `stat-at`, `readlink-at` | `metadata` |
//! | `metadata-hash-at` | `read`, or `metadata` when only that is granted |
//! | `create-directory-at`, `set-times-at` | `write` |
//! | `unlink-file-at`, `remove-directory-at` | `delete` |
//! | `rename-at` | `delete` (old) and `write` (new) |
//! | `symlink-at` | `write` (the link) and `read` (where it points) |
//! | `link-at` | `write` (new) and `read` (old), then refused: a host rule, as hard links are |
//!
//! On a descriptor itself: `read-directory` is `read` on its path, `set-size` and `set-times`
//! are `write` (under the hard-link rule); reading and writing (`read`, `write`, the streams)
//! are checked against what the descriptor was opened for and audited like an airssys file
//! handle. What a descriptor answers about itself (`stat`, `get-type`, `get-flags`,
//! `metadata-hash`, `is-same-object`, `advise`, `sync`) is not decided, as `check` does not
//! charge it; wasmtime-wasi's implementation answers.

use rustix::fs::{Timespec, Timestamps};
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, Dir, File};
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
    self as wt, Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, DirectoryEntryStream,
    Filesize, MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::bindings::sync::io::streams;
use wasmtime_wasi::p2::{FsError as WasiError, FsResult};
use wasmtime_wasi::{FsPerms, OpenMode};

use crate::policy::{FsAction, Request};
use crate::runtime::fs::wasi::{Described, HasWasiFs, WasiFsView, descriptor_stat, metadata_hash, wasi_error};
use crate::runtime::fs::{Bounds, How, MAX_ENTRIES, OMIT, Opening, denied, sorted_entries};
use crate::runtime::guard::describe_request;
use crate::runtime::state::InstanceState;

/// The audit name of a descriptor method: its WASI name.
macro_rules! op {
    ($method:literal) => {
        concat!("wasi:filesystem/types.[method]descriptor.", $method)
    };
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wt::add_to_linker::<InstanceState, HasWasiFs>(linker, InstanceState::wasi_fs_view)
}

fn how(flags: PathFlags) -> How {
    if flags.contains(PathFlags::SYMLINK_FOLLOW) {
        How::FOLLOW
    } else {
        How::NO_FOLLOW
    }
}

/// A WASI time to set as `utimensat` takes it.
fn time_spec(time: &NewTimestamp) -> Result<Timespec, WasiError> {
    Ok(match time {
        NewTimestamp::NoChange => OMIT,
        NewTimestamp::Now => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        NewTimestamp::Timestamp(t) => {
            if t.nanoseconds >= 1_000_000_000 {
                return Err(ErrorCode::Invalid.into());
            }
            Timespec {
                tv_sec: i64::try_from(t.seconds).map_err(|_| WasiError::from(ErrorCode::Overflow))?,
                tv_nsec: t.nanoseconds.into(),
            }
        }
    })
}

impl WasiFsView<'_> {
    /// Checks a read or write through `fd` against what it was opened for (audited as an
    /// airssys handle is).
    fn through(&mut self, op: &str, fd: &Resource<Descriptor>, action: FsAction) -> FsResult<()> {
        let described = self.described(fd)?;
        let permitted = match action {
            FsAction::Read => described.read,
            _ => described.write,
        };
        if self.guard.records(permitted) {
            let resource = describe_request(&Request::Fs {
                action,
                path: &described.path,
            });
            let by = match (described.read, described.write) {
                (true, true) => "descriptor opened for reading and writing",
                (true, false) => "descriptor opened for reading",
                (false, true) => "descriptor opened for writing",
                (false, false) => "descriptor opened for neither reading nor writing",
            };
            self.guard
                .authorize_handle(op, &resource, permitted, by)
                .map_err(|d| wasi_error(denied(d)))?;
        }
        Ok(())
    }

    /// Decides `action` on the descriptor's own path.
    fn decide_own(&mut self, op: &str, fd: &Resource<Descriptor>, action: FsAction) -> FsResult<String> {
        let path = self.described(fd)?.path.clone();
        self.confined().allow(op, &path, &[action]).map_err(wasi_error)?;
        Ok(path)
    }

    /// The hard-link rule for a metadata change through `fd`.
    fn refuse_linked(&mut self, op: &str, fd: &Resource<Descriptor>, path: &str) -> FsResult<()> {
        let stat = wt::HostDescriptor::stat(&mut self.wasmtime(), Resource::new_borrow(fd.rep()))?;
        let is_file = stat.type_ == DescriptorType::RegularFile;
        self.confined()
            .refuse_hard_links(op, FsAction::Write, path, is_file, stat.link_count)
            .map_err(wasi_error)
    }
}

impl wt::Host for WasiFsView<'_> {
    fn convert_error_code(&mut self, err: WasiError) -> wasmtime::Result<wt::ErrorCode> {
        wt::Host::convert_error_code(&mut self.wasmtime(), err)
    }

    fn filesystem_error_code(&mut self, err: Resource<streams::Error>) -> wasmtime::Result<Option<wt::ErrorCode>> {
        wt::Host::filesystem_error_code(&mut self.wasmtime(), err)
    }
}

impl wt::HostDescriptor for WasiFsView<'_> {
    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<streams::InputStream>> {
        self.through(op!("read-via-stream"), &fd, FsAction::Read)?;
        wt::HostDescriptor::read_via_stream(&mut self.wasmtime(), fd, offset)
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<streams::OutputStream>> {
        self.through(op!("write-via-stream"), &fd, FsAction::Write)?;
        wt::HostDescriptor::write_via_stream(&mut self.wasmtime(), fd, offset)
    }

    fn append_via_stream(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<streams::OutputStream>> {
        self.through(op!("append-via-stream"), &fd, FsAction::Write)?;
        wt::HostDescriptor::append_via_stream(&mut self.wasmtime(), fd)
    }

    fn advise(&mut self, fd: Resource<Descriptor>, offset: Filesize, len: Filesize, advice: Advice) -> FsResult<()> {
        wt::HostDescriptor::advise(&mut self.wasmtime(), fd, offset, len, advice)
    }

    fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        wt::HostDescriptor::sync_data(&mut self.wasmtime(), fd)
    }

    fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        wt::HostDescriptor::get_flags(&mut self.wasmtime(), fd)
    }

    fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorType> {
        wt::HostDescriptor::get_type(&mut self.wasmtime(), fd)
    }

    fn set_size(&mut self, fd: Resource<Descriptor>, size: Filesize) -> FsResult<()> {
        const OP: &str = op!("set-size");
        let path = self.decide_own(OP, &fd, FsAction::Write)?;
        self.refuse_linked(OP, &fd, &path)?;
        wt::HostDescriptor::set_size(&mut self.wasmtime(), fd, size)
    }

    fn set_times(&mut self, fd: Resource<Descriptor>, atim: NewTimestamp, mtim: NewTimestamp) -> FsResult<()> {
        const OP: &str = op!("set-times");
        let path = self.decide_own(OP, &fd, FsAction::Write)?;
        self.refuse_linked(OP, &fd, &path)?;
        wt::HostDescriptor::set_times(&mut self.wasmtime(), fd, atim, mtim)
    }

    fn read(&mut self, fd: Resource<Descriptor>, len: Filesize, offset: Filesize) -> FsResult<(Vec<u8>, bool)> {
        self.through(op!("read"), &fd, FsAction::Read)?;
        wt::HostDescriptor::read(&mut self.wasmtime(), fd, len, offset)
    }

    fn write(&mut self, fd: Resource<Descriptor>, buf: Vec<u8>, offset: Filesize) -> FsResult<Filesize> {
        self.through(op!("write"), &fd, FsAction::Write)?;
        wt::HostDescriptor::write(&mut self.wasmtime(), fd, buf, offset)
    }

    fn read_directory(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<DirectoryEntryStream>> {
        const OP: &str = op!("read-directory");
        let path = self.decide_own(OP, &fd, FsAction::Read)?;
        // wasmtime-wasi reads the whole directory at once: it is bounded here first, in
        // entries and bytes, as an airssys listing is (the directory is read twice).
        let Descriptor::Dir(dir) = self
            .table
            .get(&fd)
            .map_err(|_| WasiError::from(ErrorCode::BadDescriptor))?
        else {
            return Err(ErrorCode::NotDirectory.into());
        };
        let file = dir.dir.try_clone().map_err(|e| WasiError::from(ErrorCode::from(e)))?;
        let dir = cap_std::fs::Dir::from_std_file(file);
        let mut bounds = Bounds::new(self.guard.answer_budget(), self.guard.call_deadline());
        sorted_entries(&dir, &path, MAX_ENTRIES, &mut bounds).map_err(wasi_error)?;
        wt::HostDescriptor::read_directory(&mut self.wasmtime(), fd)
    }

    fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        wt::HostDescriptor::sync(&mut self.wasmtime(), fd)
    }

    fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let path = self.below(&fd, &path)?;
        self.confined()
            .create_dir_as(op!("create-directory-at"), &path)
            .map_err(wasi_error)
    }

    fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        wt::HostDescriptor::stat(&mut self.wasmtime(), fd)
    }

    fn stat_at(&mut self, fd: Resource<Descriptor>, path_flags: PathFlags, path: String) -> FsResult<DescriptorStat> {
        const OP: &str = op!("stat-at");
        let path = self.below(&fd, &path)?;
        let mut fs = self.confined();
        let allowed = fs.allow(OP, &path, &[FsAction::Metadata]).map_err(wasi_error)?;
        let meta = fs.metadata_as(OP, allowed, how(path_flags)).map_err(wasi_error)?;
        Ok(descriptor_stat(&meta))
    }

    fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        atim: NewTimestamp,
        mtim: NewTimestamp,
    ) -> FsResult<()> {
        const OP: &str = op!("set-times-at");
        let path = self.below(&fd, &path)?;
        let mut fs = self.confined();
        let allowed = fs.allow(OP, &path, &[FsAction::Write]).map_err(wasi_error)?;
        let times = Timestamps {
            last_access: time_spec(&atim)?,
            last_modification: time_spec(&mtim)?,
        };
        fs.set_times_as(OP, allowed, how(path_flags), |_| Ok(times))
            .map_err(wasi_error)
    }

    fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        _old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        const OP: &str = op!("link-at");
        let old = self.below(&fd, &old_path)?;
        let new = self.below(&new_descriptor, &new_path)?;
        let mut fs = self.confined();
        let to = fs.allow(OP, &new, &[FsAction::Write]);
        let from = fs.allow(OP, &old, &[FsAction::Read]);
        to.and(from).map_err(wasi_error)?;
        // A hard link is a second name of a file that the hard-link rule then keeps out of
        // reach of every operation: making one is refused outright.
        let resource = describe_request(&Request::Fs {
            action: FsAction::Write,
            path: &new,
        });
        let by = format!("host rule: hard links are not made ({new} would be another name of {old})");
        Err(wasi_error(denied(self.guard.refuse(OP, &resource, &by))))
    }

    fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        oflags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        const OP: &str = op!("open-at");
        let path = self.below(&fd, &path)?;
        if flags.intersects(
            DescriptorFlags::FILE_INTEGRITY_SYNC
                | DescriptorFlags::DATA_INTEGRITY_SYNC
                | DescriptorFlags::REQUESTED_WRITE_SYNC,
        ) {
            return Err(ErrorCode::Unsupported.into());
        }
        let directory = oflags.contains(OpenFlags::DIRECTORY);
        let create = oflags.contains(OpenFlags::CREATE);
        let truncate = oflags.contains(OpenFlags::TRUNCATE);
        if directory && (create || truncate || oflags.contains(OpenFlags::EXCLUSIVE)) {
            return Err(ErrorCode::Invalid.into());
        }
        // As wasmtime-wasi opens: for writing when asked to write, create or truncate; for
        // reading when asked to read, or when not asked to write.
        let write = flags.contains(DescriptorFlags::WRITE) || create || truncate;
        let read = flags.contains(DescriptorFlags::READ) || !flags.contains(DescriptorFlags::WRITE);
        let actions: &[FsAction] = match (read, write) {
            (true, true) => &[FsAction::Read, FsAction::Write],
            (true, false) => &[FsAction::Read],
            (false, _) => &[FsAction::Write],
        };
        let mut mode = OpenMode::empty();
        mode.set(OpenMode::READ, read);
        mode.set(OpenMode::WRITE, write);
        let opening = Opening {
            read,
            write,
            append: false,
            create,
            exclusive: oflags.contains(OpenFlags::EXCLUSIVE),
        };
        let resolution = How {
            // A directory is opened below, as one.
            open: (!directory).then_some(opening),
            ..how(path_flags)
        };
        let mut fs = self.confined();
        let loc = fs.locate(OP, &path, actions, resolution).map_err(wasi_error)?;
        let descriptor = match &loc.meta {
            Some(meta) if meta.is_dir() => {
                if flags.contains(DescriptorFlags::WRITE) || create && oflags.contains(OpenFlags::EXCLUSIVE) {
                    return Err(if create {
                        ErrorCode::Exist
                    } else {
                        ErrorCode::IsDirectory
                    }
                    .into());
                }
                let dir = loc.open_dir().map_err(wasi_error)?;
                Descriptor::Dir(Dir::new(dir.into_std_file(), FsPerms::ReadWrite, mode, true))
            }
            Some(_) if directory => return Err(ErrorCode::NotDirectory.into()),
            None if directory => return Err(ErrorCode::NoEntry.into()),
            _ => {
                let action = if write { FsAction::Write } else { FsAction::Read };
                let (file, _) = fs.open_file(OP, action, &loc, opening).map_err(wasi_error)?;
                if truncate {
                    file.set_len(0).map_err(|e| WasiError::from(ErrorCode::from(e)))?;
                }
                Descriptor::File(File::new(file, FsPerms::ReadWrite, mode, true))
            }
        };
        let described = Described {
            path: loc.path,
            read,
            write,
        };
        self.push(descriptor, described)
    }

    fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        let path = self.below(&fd, &path)?;
        self.confined()
            .read_symlink_as(op!("readlink-at"), &path)
            .map_err(wasi_error)
    }

    fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let path = self.below(&fd, &path)?;
        self.confined()
            .remove_dir_as(op!("remove-directory-at"), &path)
            .map_err(wasi_error)
    }

    fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let old = self.below(&fd, &old_path)?;
        let new = self.below(&new_fd, &new_path)?;
        self.confined()
            .rename_as(op!("rename-at"), &old, &new)
            .map_err(wasi_error)
    }

    fn symlink_at(&mut self, fd: Resource<Descriptor>, src_path: String, dest_path: String) -> FsResult<()> {
        let link = self.below(&fd, &dest_path)?;
        self.confined()
            .create_symlink_as(op!("symlink-at"), &src_path, &link)
            .map_err(wasi_error)
    }

    fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let path = self.below(&fd, &path)?;
        self.confined()
            .delete_file_as(op!("unlink-file-at"), &path)
            .map_err(wasi_error)
    }

    fn is_same_object(&mut self, a: Resource<Descriptor>, b: Resource<Descriptor>) -> wasmtime::Result<bool> {
        wt::HostDescriptor::is_same_object(&mut self.wasmtime(), a, b)
    }

    fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<MetadataHashValue> {
        wt::HostDescriptor::metadata_hash(&mut self.wasmtime(), fd)
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        const OP: &str = op!("metadata-hash-at");
        let path = self.below(&fd, &path)?;
        // Known to whoever may read the object or read its metadata: `read` is asked when the
        // policy grants it, else `metadata` (one audit line either way).
        let readable = self.guard.policy.effective.decide(&Request::Fs {
            action: FsAction::Read,
            path: &path,
        });
        let action = if readable.allowed {
            FsAction::Read
        } else {
            FsAction::Metadata
        };
        let mut fs = self.confined();
        let allowed = fs.allow(OP, &path, &[action]).map_err(wasi_error)?;
        let meta = fs.metadata_as(OP, allowed, how(path_flags)).map_err(wasi_error)?;
        Ok(metadata_hash(&meta))
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.wasi.descriptors.remove(&fd.rep());
        wt::HostDescriptor::drop(&mut self.wasmtime(), fd)
    }
}

impl wt::HostDirectoryEntryStream for WasiFsView<'_> {
    fn read_directory_entry(&mut self, stream: Resource<DirectoryEntryStream>) -> FsResult<Option<DirectoryEntry>> {
        wt::HostDirectoryEntryStream::read_directory_entry(&mut self.wasmtime(), stream)
    }

    fn drop(&mut self, stream: Resource<DirectoryEntryStream>) -> wasmtime::Result<()> {
        wt::HostDirectoryEntryStream::drop(&mut self.wasmtime(), stream)
    }
}
