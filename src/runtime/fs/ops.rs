//! Steps that several filesystem operations share: opening a located file (with the
//! hard-link rule), a handle checked against what it was opened for, room in the resource
//! table, writing a whole file, existence and metadata tests, batches, and the directory a
//! walk starts from.

use std::io::Write;

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::fs::{Metadata, MetadataExt, OpenOptions, OpenOptionsExt as _};
use wasmtime::component::Resource;

use super::confine::{Allowed, How, Located, denied};
use super::walk::MAX_ENTRIES;
use super::{FileHandle, FsView, io_error};
use crate::policy::{FsAction, Request};
use crate::runtime::bindings::fs_types::FsError;
use crate::runtime::guard::describe_request;

/// Largest chunk read from a handle at a time.
pub(crate) const CHUNK: usize = 64 * 1024;

/// How [`FsView::open_file`] opens the object.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Opening {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) append: bool,
    pub(crate) create: bool,
    pub(crate) exclusive: bool,
}

impl Opening {
    /// The options of an opening: never following a final link, never blocking.
    pub(crate) fn options(&self) -> OpenOptions {
        let mut options = OpenOptions::new();
        options
            .read(self.read)
            // Creating needs a writable descriptor, and so does truncating later.
            .write(self.write || (self.create && !self.append))
            .append(self.append);
        if self.create && self.exclusive {
            options.create_new(true);
        } else if self.create {
            options.create(true);
        }
        options.follow(FollowSymlinks::No);
        options.custom_flags(libc::O_NONBLOCK);
        options
    }

    /// Opens `name`, one name in `dir` (neither `.`, `..` nor a path), with these options: a
    /// single `openat` that cannot leave `dir` (one name, and a final link is refused with
    /// `ELOOP`). Anything else goes through cap-std's `open_with`, which resolves paths.
    pub(crate) fn open_name(&self, dir: &cap_std::fs::Dir, name: &str) -> std::io::Result<cap_std::fs::File> {
        let one_name = !matches!(name, "" | "." | "..") && !name.contains('/');
        let write = self.write || self.append || self.create;
        if !one_name || !(self.read || write) {
            return dir.open_with(name, &self.options());
        }
        use rustix::fs::{Mode, OFlags};
        let mut flags = OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK;
        flags |= match (self.read, write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if self.append {
            flags |= OFlags::APPEND;
        }
        if self.create {
            flags |= OFlags::CREATE;
            if self.exclusive {
                flags |= OFlags::EXCL;
            }
        }
        let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o666))?;
        Ok(cap_std::fs::File::from_std(std::fs::File::from(fd)))
    }

    pub(crate) const READ: Opening = Opening {
        read: true,
        write: false,
        append: false,
        create: false,
        exclusive: false,
    };
}

impl FsView<'_> {
    /// Opens a located file (never a directory) without following a link and without blocking,
    /// and refuses it when it has more than one hard link (before anything is truncated).
    pub(crate) fn open_file(
        &mut self,
        op: &str,
        action: FsAction,
        loc: &Located,
        how: Opening,
    ) -> Result<(std::fs::File, Metadata), FsError> {
        loc.file_path()?;
        if loc.is_root() {
            return Err(FsError::IsADirectory(loc.path.clone()));
        }
        // Opened by resolution already when the caller asked (`How::open`, the same options),
        // with the opened file's own metadata.
        let (file, meta) = match (loc.opened.take(), &loc.meta) {
            (Some(file), Some(meta)) => (file, meta.clone()),
            (opened, _) => {
                let file = match opened {
                    Some(file) => file,
                    None => loc
                        .parent
                        .open_with(&loc.name, &how.options())
                        .map_err(|e| io_error(&e, &loc.path))?,
                };
                let meta = file.metadata().map_err(|e| io_error(&e, &loc.path))?;
                (file, meta)
            }
        };
        if meta.is_dir() {
            return Err(FsError::IsADirectory(loc.path.clone()));
        }
        self.refuse_hard_links(op, action, &loc.path, meta.is_file(), meta.nlink())?;
        Ok((file.into_std(), meta))
    }

    /// The hard-link rule (see the module documentation): refuses an operation on the inode of
    /// a regular file (`is_file`) with more than one link.
    pub(crate) fn refuse_hard_links(
        &mut self,
        op: &str,
        action: FsAction,
        path: &str,
        is_file: bool,
        links: u64,
    ) -> Result<(), FsError> {
        if !is_file || links <= 1 {
            return Ok(());
        }
        let resource = describe_request(&Request::Fs { action, path });
        let by =
            format!("host rule: {path} has {links} hard links, and another name of the file may be outside the grants");
        Err(denied(self.guard.refuse(op, &resource, &by)))
    }

    /// The handle's entry, after checking that it was opened for `action` (`read` or `write`).
    pub(crate) fn handle_for(
        &mut self,
        op: &str,
        handle: &Resource<FileHandle>,
        action: FsAction,
    ) -> Result<&mut FileHandle, FsError> {
        let entry = self.table.get(handle).map_err(|_| FsError::InvalidHandle)?;
        let access = entry.access;
        let permitted = match action {
            FsAction::Read => access.read,
            _ => access.write || access.append,
        };
        if self.guard.records(permitted) {
            let resource = describe_request(&Request::Fs {
                action,
                path: &entry.path,
            });
            self.guard
                .authorize_handle(op, &resource, permitted, access.describe())
                .map_err(denied)?;
        }
        self.table.get_mut(handle).map_err(|_| FsError::InvalidHandle)
    }

    /// Room for one more resource in the instance's table.
    pub(crate) fn check_handle_room(&mut self, path: &str) -> Result<(), FsError> {
        let open = self.table.iter_mut().count();
        let max = self.guard.run_limits.max_handles;
        if open >= max {
            return Err(FsError::LimitExceeded(format!(
                "{path}: the instance already has {open} open handles; the limit is {max}"
            )));
        }
        Ok(())
    }

    /// Writes `data` to the located file, creating it; truncates it first unless `append`.
    pub(crate) fn put_file(&mut self, op: &str, path: &str, data: &[u8], append: bool) -> Result<(), FsError> {
        let loc = self.locate(op, path, &[FsAction::Write], How::FOLLOW)?;
        let how = Opening {
            write: !append,
            append,
            create: true,
            ..Opening::default()
        };
        let (mut file, _) = self.open_file(op, FsAction::Write, &loc, how)?;
        if !append {
            file.set_len(0).map_err(|e| io_error(&e, &loc.path))?;
        }
        file.write_all(data).map_err(|e| io_error(&e, &loc.path))
    }
}

impl FsView<'_> {
    /// `exists`, also for `batch-exists`: missing (or under a non-directory) is `false`.
    pub(crate) fn exists_at(&mut self, op: &str, path: &str) -> Result<bool, FsError> {
        let allowed = self.allow(op, path, &[FsAction::Metadata])?;
        self.exists_allowed(op, allowed)
    }

    /// `exists` of a path already allowed.
    pub(crate) fn exists_allowed(&mut self, op: &str, allowed: Allowed<'_>) -> Result<bool, FsError> {
        match self.resolve(op, allowed, How::FOLLOW) {
            Ok(loc) => Ok(loc.meta.is_some()),
            Err(FsError::NotFound(_) | FsError::NotADirectory(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Longest `find-files` glob, in bytes.
pub(crate) const MAX_GLOB_BYTES: usize = 1024;

/// Permission bits a component may never set: setuid and setgid.
pub(crate) const FORBIDDEN_MODE_BITS: u32 = 0o6000;

impl FsView<'_> {
    /// The metadata of an existing `path`, following a final link or not.
    pub(crate) fn stat_at(&mut self, op: &str, path: &str, how: How) -> Result<Located, FsError> {
        let loc = self.locate(op, path, &[FsAction::Metadata], how)?;
        loc.existing()?;
        Ok(loc)
    }

    /// Whether `path` exists and its metadata satisfies `test` (following links unless `how`
    /// says otherwise); missing is `false`.
    pub(crate) fn test_at(
        &mut self,
        op: &str,
        path: &str,
        how: How,
        test: impl FnOnce(&cap_std::fs::Metadata) -> bool,
    ) -> Result<bool, FsError> {
        match self.locate(op, path, &[FsAction::Metadata], how) {
            Ok(loc) => Ok(loc.meta.as_ref().is_some_and(test)),
            Err(FsError::NotFound(_) | FsError::NotADirectory(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Authorizes every path of a batch, each with its own audit line, before any is touched;
    /// one denial denies the batch.
    pub(crate) fn allow_batch<'a>(&mut self, op: &str, paths: &'a [String]) -> Result<Vec<Allowed<'a>>, FsError> {
        if paths.len() > MAX_ENTRIES {
            return Err(FsError::LimitExceeded(format!(
                "{} paths; the limit is {MAX_ENTRIES}",
                paths.len()
            )));
        }
        let mut allowed = Vec::with_capacity(paths.len());
        let mut denial = None;
        for path in paths {
            match self.allow(op, path, &[FsAction::Metadata]) {
                Ok(a) => allowed.push(a),
                Err(e) => {
                    denial.get_or_insert(e);
                }
            }
        }
        match denial {
            Some(e) => Err(e),
            None => Ok(allowed),
        }
    }

    /// The directory to walk for `walk-dir`, `find-files` and `dir-size`, and the path its
    /// entries are named under (the guest's root, normalised).
    pub(crate) fn walk_root(
        &mut self,
        op: &str,
        root: &str,
        action: FsAction,
    ) -> Result<(cap_std::fs::Dir, String), FsError> {
        let loc = self.locate(op, root, &[action], How::FOLLOW)?;
        let dir = loc.open_dir()?;
        let shown = crate::policy::normalize_path(root).unwrap_or(loc.path);
        Ok((dir, shown))
    }
}

/// The path normalised lexically when it can be, else as it is (the guard then denies it).
pub(crate) fn normalize_or_raw(path: &str) -> String {
    crate::policy::normalize_path(path).unwrap_or_else(|_| path.to_string())
}
