//! `filesystem`: the 22 operations on files, directories, symbolic links and file handles.

use std::io::{self, Read, Seek, Write};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::fs::{Metadata, MetadataExt, OpenOptions, OpenOptionsExt as _};
use wasmtime::component::Resource;

use super::confine::{How, Located, denied, join, parent_of};
use super::walk::{Bounds, MAX_ENTRIES, sorted_entries};
use super::{Access, FileHandle, io_error};
use crate::policy::{FsAction, Request};
use crate::runtime::bindings::filesystem;
use crate::runtime::bindings::fs_types::{DirEntry, FsError, OpenFlags, SeekFrom};
use crate::runtime::state::{InstanceState, describe_request};

/// Largest chunk read from a handle at a time.
const CHUNK: usize = 64 * 1024;

/// How [`InstanceState::open_file`] opens the object.
#[derive(Clone, Copy, Debug, Default)]
struct Opening {
    read: bool,
    write: bool,
    append: bool,
    create: bool,
    exclusive: bool,
}

impl Opening {
    const READ: Opening = Opening {
        read: true,
        write: false,
        append: false,
        create: false,
        exclusive: false,
    };
}

impl InstanceState {
    /// Opens a located file (never a directory) without following a link and without blocking,
    /// and refuses it when it has more than one hard link (before anything is truncated).
    fn open_file(
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
        let mut options = OpenOptions::new();
        options
            .read(how.read)
            // Creating needs a writable descriptor, and so does truncating later.
            .write(how.write || (how.create && !how.append))
            .append(how.append);
        if how.create && how.exclusive {
            options.create_new(true);
        } else if how.create {
            options.create(true);
        }
        options.follow(FollowSymlinks::No);
        options.custom_flags(libc::O_NONBLOCK);
        let file = loc
            .parent
            .open_with(&loc.name, &options)
            .map_err(|e| io_error(&e, &loc.path))?;
        let meta = file.metadata().map_err(|e| io_error(&e, &loc.path))?;
        if meta.is_dir() {
            return Err(FsError::IsADirectory(loc.path.clone()));
        }
        self.refuse_hard_links(op, action, &loc.path, meta.is_file(), meta.nlink())?;
        Ok((file.into_std(), meta))
    }

    /// The hard-link rule (see the module documentation): refuses an operation on the inode of
    /// a regular file (`is_file`) with more than one link.
    pub(super) fn refuse_hard_links(
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
        Err(denied(self.refuse(op, &resource, &by)))
    }

    /// The handle's entry, after checking that it was opened for `action` (`read` or `write`).
    fn handle_for(
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
        if self.records(permitted) {
            let resource = describe_request(&Request::Fs {
                action,
                path: &entry.path,
            });
            self.authorize_handle(op, &resource, permitted, access.describe())
                .map_err(denied)?;
        }
        self.table.get_mut(handle).map_err(|_| FsError::InvalidHandle)
    }

    /// Room for one more resource in the instance's table.
    fn check_handle_room(&mut self, path: &str) -> Result<(), FsError> {
        let open = self.table.iter_mut().count();
        let max = self.run_limits.max_handles;
        if open >= max {
            return Err(FsError::LimitExceeded(format!(
                "{path}: the instance already has {open} open handles; the limit is {max}"
            )));
        }
        Ok(())
    }

    /// Writes `data` to the located file, creating it; truncates it first unless `append`.
    fn put_file(&mut self, op: &str, path: &str, data: &[u8], append: bool) -> Result<(), FsError> {
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

impl filesystem::Host for InstanceState {
    fn open(&mut self, path: String, flags: OpenFlags) -> Result<Resource<FileHandle>, FsError> {
        const OP: &str = "filesystem.open";
        let read = flags.contains(OpenFlags::READ);
        let writes = flags.intersects(OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::APPEND);
        if !read && !writes {
            return Err(FsError::InvalidInput(format!(
                "{path}: open needs at least one of read, write, create, truncate or append"
            )));
        }
        if flags.contains(OpenFlags::EXCLUSIVE) && !flags.contains(OpenFlags::CREATE) {
            return Err(FsError::InvalidInput(format!("{path}: exclusive needs create")));
        }
        let actions: &[FsAction] = match (read, writes) {
            (true, true) => &[FsAction::Read, FsAction::Write],
            (true, false) => &[FsAction::Read],
            _ => &[FsAction::Write],
        };
        let allowed = self.allow(OP, &path, actions)?;
        self.check_handle_room(&path)?;
        let loc = self.resolve(OP, allowed, How::FOLLOW)?;
        let access = Access {
            read,
            write: flags.contains(OpenFlags::WRITE),
            append: flags.contains(OpenFlags::APPEND),
        };
        let how = Opening {
            read,
            write: access.write || flags.contains(OpenFlags::TRUNCATE),
            append: access.append,
            create: flags.contains(OpenFlags::CREATE),
            exclusive: flags.contains(OpenFlags::EXCLUSIVE),
        };
        let action = if writes { FsAction::Write } else { FsAction::Read };
        let (file, _) = self.open_file(OP, action, &loc, how)?;
        if flags.contains(OpenFlags::TRUNCATE) {
            file.set_len(0).map_err(|e| io_error(&e, &loc.path))?;
        }
        let entry = FileHandle {
            file,
            path: loc.path,
            access,
        };
        self.table
            .push(entry)
            .map_err(|e| FsError::LimitExceeded(format!("{path}: {e}")))
    }

    fn close(&mut self, handle: Resource<FileHandle>) {
        // The guest passed its own handle, so the entry is there; dropping it closes the file.
        let _ = self.table.delete(handle);
    }

    fn read(&mut self, handle: Resource<FileHandle>, len: u64) -> Result<Vec<u8>, FsError> {
        let max = self.answer_budget();
        let entry = self.handle_for("filesystem.read", &handle, FsAction::Read)?;
        if len > max {
            let path = entry.path.clone();
            return Err(FsError::LimitExceeded(format!(
                "{path}: a read of {}",
                self.over_budget(len)
            )));
        }
        let entry = self.table.get_mut(&handle).map_err(|_| FsError::InvalidHandle)?;
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        let mut data = Vec::new();
        let mut chunk = vec![0u8; want.min(CHUNK)];
        while data.len() < want {
            let room = (want - data.len()).min(chunk.len());
            match entry.file.read(&mut chunk[..room]) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A FIFO with nothing more to give for now: return what there is.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !data.is_empty() => break,
                Err(e) => return Err(io_error(&e, &entry.path)),
            }
        }
        Ok(data)
    }

    fn write(&mut self, handle: Resource<FileHandle>, data: Vec<u8>) -> Result<u64, FsError> {
        let entry = self.handle_for("filesystem.write", &handle, FsAction::Write)?;
        entry.file.write_all(&data).map_err(|e| io_error(&e, &entry.path))?;
        Ok(data.len() as u64)
    }

    fn seek(&mut self, handle: Resource<FileHandle>, position: SeekFrom) -> Result<u64, FsError> {
        let entry = self.table.get_mut(&handle).map_err(|_| FsError::InvalidHandle)?;
        let position = match position {
            SeekFrom::Start(offset) => io::SeekFrom::Start(offset),
            SeekFrom::Current(delta) => io::SeekFrom::Current(delta),
            SeekFrom::End(delta) => io::SeekFrom::End(delta),
        };
        entry.file.seek(position).map_err(|e| io_error(&e, &entry.path))
    }

    fn sync(&mut self, handle: Resource<FileHandle>) -> Result<(), FsError> {
        let entry = self.handle_for("filesystem.sync", &handle, FsAction::Write)?;
        entry.file.sync_all().map_err(|e| io_error(&e, &entry.path))
    }

    fn truncate(&mut self, path: String, size: u64) -> Result<(), FsError> {
        const OP: &str = "filesystem.truncate";
        let loc = self.locate(OP, &path, &[FsAction::Write], How::FOLLOW)?;
        let how = Opening {
            write: true,
            ..Opening::default()
        };
        let (file, _) = self.open_file(OP, FsAction::Write, &loc, how)?;
        file.set_len(size).map_err(|e| io_error(&e, &loc.path))
    }

    fn read_file(&mut self, path: String) -> Result<Vec<u8>, FsError> {
        const OP: &str = "filesystem.read-file";
        let loc = self.locate(OP, &path, &[FsAction::Read], How::FOLLOW)?;
        let (file, meta) = self.open_file(OP, FsAction::Read, &loc, Opening::READ)?;
        let max = self.answer_budget();
        let too_big = |size: u64| FsError::LimitExceeded(format!("{}: {}", loc.path, self.over_budget(size)));
        if meta.len() > max {
            return Err(too_big(meta.len()));
        }
        let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // The file may grow while it is read: never more than the limit.
        file.take(max.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| io_error(&e, &loc.path))?;
        if data.len() as u64 > max {
            return Err(too_big(data.len() as u64));
        }
        Ok(data)
    }

    fn write_file(&mut self, path: String, data: Vec<u8>) -> Result<(), FsError> {
        self.put_file("filesystem.write-file", &path, &data, false)
    }

    fn append_file(&mut self, path: String, data: Vec<u8>) -> Result<(), FsError> {
        self.put_file("filesystem.append-file", &path, &data, true)
    }

    fn delete_file(&mut self, path: String) -> Result<(), FsError> {
        let loc = self.locate("filesystem.delete-file", &path, &[FsAction::Delete], How::NO_FOLLOW)?;
        if loc.existing()?.is_dir() {
            return Err(FsError::IsADirectory(loc.path));
        }
        loc.parent.remove_file(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    fn rename(&mut self, src: String, dest: String) -> Result<(), FsError> {
        const OP: &str = "filesystem.rename";
        let from = self.allow(OP, &src, &[FsAction::Delete]);
        let to = self.allow(OP, &dest, &[FsAction::Write]);
        let (from, to) = (from?, to?);
        let from = self.resolve(OP, from, How::NO_FOLLOW)?;
        let to = self.resolve(OP, to, How::NO_FOLLOW)?;
        from.existing()?;
        if from.is_root() || to.is_root() {
            return Err(FsError::InvalidInput(format!("{src} -> {dest}: `/` cannot be renamed")));
        }
        from.parent
            .rename(&from.name, &to.parent, &to.name)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) => io_error(&e, &from.path),
                _ => io_error(&e, &to.path),
            })
    }

    fn copy(&mut self, src: String, dest: String) -> Result<u64, FsError> {
        const OP: &str = "filesystem.copy";
        let from = self.allow(OP, &src, &[FsAction::Read]);
        let to = self.allow(OP, &dest, &[FsAction::Write]);
        let (from, to) = (from?, to?);
        let from = self.resolve(OP, from, How::FOLLOW)?;
        let to = self.resolve(OP, to, How::FOLLOW)?;
        let (mut input, in_meta) = self.open_file(OP, FsAction::Read, &from, Opening::READ)?;
        let how = Opening {
            write: true,
            create: true,
            ..Opening::default()
        };
        let (mut output, out_meta) = self.open_file(OP, FsAction::Write, &to, how)?;
        if in_meta.dev() == out_meta.dev() && in_meta.ino() == out_meta.ino() {
            return Err(FsError::InvalidInput(format!(
                "{} and {} are the same file",
                from.path, to.path
            )));
        }
        output.set_len(0).map_err(|e| io_error(&e, &to.path))?;
        // A source that never ends (`/dev/zero`, a FIFO someone keeps writing) or grows while
        // it is copied stops at the budget: its size when it was opened, and at least the read
        // limit (files in /proc say they are empty). And nothing runs past the call's deadline.
        let budget = in_meta.len().max(self.run_limits.max_read_bytes);
        let deadline = self.call_deadline();
        let copied = bounded_copy(&mut input, &mut output, budget, deadline, (&from.path, &to.path))?;
        // As `cp` does: the copy gets the source's permission bits (never setuid or setgid).
        let mode = in_meta.mode() & 0o1777;
        let perms = std::os::unix::fs::PermissionsExt::from_mode(mode);
        output.set_permissions(perms).map_err(|e| io_error(&e, &to.path))?;
        Ok(copied)
    }

    fn exists(&mut self, path: String) -> Result<bool, FsError> {
        self.exists_at("filesystem.exists", &path)
    }

    fn create_dir(&mut self, path: String) -> Result<(), FsError> {
        let loc = self.locate("filesystem.create-dir", &path, &[FsAction::Write], How::NO_FOLLOW)?;
        if loc.meta.is_some() {
            return Err(FsError::AlreadyExists(loc.path));
        }
        loc.parent.create_dir(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    fn create_dir_all(&mut self, path: String) -> Result<(), FsError> {
        let how = How {
            create_dirs: true,
            ..How::FOLLOW
        };
        let loc = self.locate("filesystem.create-dir-all", &path, &[FsAction::Write], how)?;
        match &loc.meta {
            Some(meta) if meta.is_dir() => Ok(()),
            Some(_) => Err(FsError::AlreadyExists(loc.path)),
            None => match loc.parent.create_dir(&loc.name) {
                Ok(()) => Ok(()),
                // Created meanwhile by someone else: what was asked for is there.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && loc.parent.is_dir(&loc.name) => Ok(()),
                Err(e) => Err(io_error(&e, &loc.path)),
            },
        }
    }

    fn remove_dir(&mut self, path: String) -> Result<(), FsError> {
        let loc = self.locate("filesystem.remove-dir", &path, &[FsAction::Delete], How::NO_FOLLOW)?;
        if !loc.existing()?.is_dir() {
            return Err(FsError::NotADirectory(loc.path));
        }
        if loc.is_root() {
            return Err(FsError::InvalidInput("`/` cannot be removed".to_string()));
        }
        loc.parent.remove_dir(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    fn remove_dir_all(&mut self, path: String) -> Result<(), FsError> {
        let loc = self.locate("filesystem.remove-dir-all", &path, &[FsAction::Delete], How::NO_FOLLOW)?;
        let file_type = loc.existing()?.file_type();
        if loc.is_root() {
            return Err(FsError::InvalidInput("`/` cannot be removed".to_string()));
        }
        if file_type.is_symlink() {
            // The link goes, not what it points at.
            return loc.parent.remove_file(&loc.name).map_err(|e| io_error(&e, &loc.path));
        }
        if !file_type.is_dir() {
            return Err(FsError::NotADirectory(loc.path));
        }
        // Removing holds names, not an answer: the read limit bounds them.
        let mut bounds = Bounds::new(self.run_limits.max_read_bytes, self.call_deadline());
        super::walk::remove_tree(&loc.parent, &loc.name, &loc.path, &mut bounds)
    }

    fn list_dir(&mut self, path: String) -> Result<Vec<DirEntry>, FsError> {
        let loc = self.locate("filesystem.list-dir", &path, &[FsAction::Read], How::FOLLOW)?;
        let dir = loc.open_dir()?;
        let mut bounds = self.answer_bounds();
        let (entries, _) = sorted_entries(&dir, &loc.path, MAX_ENTRIES, &mut bounds)?;
        Ok(entries
            .into_iter()
            .map(|(name, file_type)| DirEntry {
                name: name.to_string_lossy().into_owned(),
                kind: super::kind_of(file_type),
            })
            .collect())
    }

    fn create_symlink(&mut self, target: String, link: String) -> Result<(), FsError> {
        const OP: &str = "filesystem.create-symlink";
        // Where the target points, as a path the guard can decide: relative targets are
        // relative to the link's directory.
        let from_home = target == "~" || target.starts_with("~/");
        let relative = !target.starts_with('/') && !from_home;
        let lexical_dir = self.absolute(&link).ok().map(|l| parent_of(&l).to_string());
        let target_path = match &lexical_dir {
            Some(dir) if relative => normalize_or_raw(&join(dir, &target)),
            _ => target.clone(),
        };
        let link_allowed = self.allow(OP, &link, &[FsAction::Write]);
        let target_allowed = self.allow(OP, &target_path, &[FsAction::Read]);
        let (link_allowed, _) = (link_allowed?, target_allowed?);
        if target.is_empty() {
            return Err(FsError::InvalidInput(format!("{link}: the target is empty")));
        }
        let loc = self.resolve(OP, link_allowed, How::NO_FOLLOW)?;
        // The link's directory was reached through other links: the target is relative to
        // where the link really is, so that is what must be granted.
        let real_dir = parent_of(&loc.path);
        if relative && lexical_dir.as_deref() != Some(real_dir) {
            let real_target = normalize_or_raw(&join(real_dir, &target));
            self.allow(OP, &real_target, &[FsAction::Read])?;
        }
        // `~/` means the home directory here as everywhere in this interface; the link stores
        // the expanded path. Other targets are stored as written.
        let stored = if from_home { self.absolute(&target)? } else { target };
        if loc.meta.is_some() {
            return Err(FsError::AlreadyExists(loc.path));
        }
        if loc.dir_required || loc.is_root() {
            return Err(FsError::InvalidInput(format!(
                "{link}: a symbolic link's own path cannot end in `/`"
            )));
        }
        loc.parent
            .symlink_contents(&stored, &loc.name)
            .map_err(|e| io_error(&e, &loc.path))
    }

    fn read_symlink(&mut self, path: String) -> Result<String, FsError> {
        let loc = self.locate("filesystem.read-symlink", &path, &[FsAction::Metadata], How::NO_FOLLOW)?;
        if !loc.existing()?.file_type().is_symlink() {
            return Err(FsError::InvalidInput(format!("{} is not a symbolic link", loc.path)));
        }
        let target = loc
            .parent
            .read_link_contents(&loc.name)
            .map_err(|e| io_error(&e, &loc.path))?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| FsError::Io(format!("{}: the link's target is not UTF-8", loc.path)))
    }

    fn canonicalize(&mut self, path: String) -> Result<String, FsError> {
        let loc = self.locate("filesystem.canonicalize", &path, &[FsAction::Metadata], How::FOLLOW)?;
        loc.existing()?;
        Ok(loc.path)
    }
}

impl InstanceState {
    /// `exists`, also for `batch-exists`: missing (or under a non-directory) is `false`.
    pub(super) fn exists_at(&mut self, op: &str, path: &str) -> Result<bool, FsError> {
        let allowed = self.allow(op, path, &[FsAction::Metadata])?;
        self.exists_allowed(op, allowed)
    }

    /// `exists` of a path already allowed.
    pub(super) fn exists_allowed(&mut self, op: &str, allowed: super::confine::Allowed<'_>) -> Result<bool, FsError> {
        match self.resolve(op, allowed, How::FOLLOW) {
            Ok(loc) => Ok(loc.meta.is_some()),
            Err(FsError::NotFound(_) | FsError::NotADirectory(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Copies `input` to `output` until the end of `input`, at most `budget` bytes (more is
/// `limit-exceeded`) and until `deadline` (then `timeout`); the destination keeps what was
/// copied by then. Both files may be non-blocking (FIFOs): the copy then waits for them, but
/// not past the deadline.
fn bounded_copy(
    input: &mut std::fs::File,
    output: &mut std::fs::File,
    budget: u64,
    deadline: std::time::Instant,
    (from, to): (&str, &str),
) -> Result<u64, FsError> {
    use rustix::event::PollFlags;
    let mut copied: u64 = 0;
    // Between files the kernel copies (and may share blocks), in steps that let the budget
    // and the deadline be checked; sources it cannot copy that way (devices, FIFOs) go
    // through the host, chunk by chunk.
    loop {
        let step = budget.saturating_add(1).saturating_sub(copied).min(KERNEL_STEP);
        match rustix::fs::copy_file_range(&*input, None, &*output, None, step as usize) {
            Ok(0) => return Ok(copied),
            Ok(n) => {
                copied += n as u64;
                if copied > budget {
                    return Err(over_copy_budget(budget, from, to));
                }
                if std::time::Instant::now() >= deadline {
                    return Err(FsError::Timeout);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for(&*input, PollFlags::IN, deadline).map_err(|e| io_error(&e, from))?;
                continue;
            }
            Err(e) => return Err(io_error(&e, from)),
        };
        if copied + n as u64 > budget {
            return Err(over_copy_budget(budget, from, to));
        }
        let mut data = &chunk[..n];
        while !data.is_empty() {
            match output.write(data) {
                Ok(0) => return Err(io_error(&io::Error::from(io::ErrorKind::WriteZero), to)),
                Ok(written) => data = &data[written..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(&*output, PollFlags::OUT, deadline).map_err(|e| io_error(&e, to))?;
                }
                Err(e) => return Err(io_error(&e, to)),
            }
        }
        copied += n as u64;
        if std::time::Instant::now() >= deadline {
            return Err(FsError::Timeout);
        }
    }
}

/// Bytes the kernel copies in one step of [`bounded_copy`].
const KERNEL_STEP: u64 = 16 << 20;

fn over_copy_budget(budget: u64, from: &str, to: &str) -> FsError {
    FsError::LimitExceeded(format!(
        "{from} -> {to}: the source gives more than {budget} bytes (its size when the copy began, and at least the read limit)"
    ))
}

/// Waits until `file` is ready for `events` (or hung up), or fails with `ETIMEDOUT` once
/// `deadline` has passed.
fn wait_for(file: &std::fs::File, events: rustix::event::PollFlags, deadline: std::time::Instant) -> io::Result<()> {
    use rustix::event::{PollFd, Timespec, poll};
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    if left.is_zero() {
        return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
    }
    let timeout = Timespec::try_from(left).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    let mut fds = [PollFd::new(file, events)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The path normalised lexically when it can be, else as it is (the guard then denies it).
fn normalize_or_raw(path: &str) -> String {
    crate::policy::normalize_path(path).unwrap_or_else(|_| path.to_string())
}
