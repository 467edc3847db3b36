//! `airssys:ext-filesystem/filesystem`: the 22 operations on files, directories, symbolic links
//! and file handles, implemented on [`FsView`]. Each authorizes its path (through
//! confinement, `fs/confine.rs`) before it acts; the mechanisms are in `runtime/fs/`.

use std::io::{self, Read, Seek, Write};

use cap_std::fs::MetadataExt;
use wasmtime::component::{Linker, Resource};

use crate::policy::FsAction;
use crate::runtime::bindings::filesystem;
use crate::runtime::bindings::fs_types::{DirEntry, FsError, OpenFlags, SeekFrom};
use crate::runtime::fs::{
    Bounds, CHUNK, FileHandle, FsView, HasFs, How, MAX_ENTRIES, Opening, bounded_copy, io_error, kind_of, remove_tree,
    sorted_entries,
};
use crate::runtime::resources::Access;
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    filesystem::add_to_linker::<InstanceState, HasFs>(linker, InstanceState::fs_view)
}

impl filesystem::Host for FsView<'_> {
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
        let resolution = How {
            open: Some(how),
            ..How::FOLLOW
        };
        let loc = self.resolve(OP, allowed, resolution)?;
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
        let max = self.guard.answer_budget();
        let entry = self.handle_for("filesystem.read", &handle, FsAction::Read)?;
        if len > max {
            let path = entry.path.clone();
            return Err(FsError::LimitExceeded(format!(
                "{path}: a read of {}",
                self.guard.over_budget(len)
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
        let max = self.guard.answer_budget();
        let too_big = |size: u64| FsError::LimitExceeded(format!("{}: {}", loc.path, self.guard.over_budget(size)));
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
        self.delete_file_as("filesystem.delete-file", &path)
    }

    fn rename(&mut self, src: String, dest: String) -> Result<(), FsError> {
        self.rename_as("filesystem.rename", &src, &dest)
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
        let budget = in_meta.len().max(self.guard.run_limits.max_read_bytes);
        let deadline = self.guard.call_deadline();
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
        self.create_dir_as("filesystem.create-dir", &path)
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
        self.remove_dir_as("filesystem.remove-dir", &path)
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
        let mut bounds = Bounds::new(self.guard.run_limits.max_read_bytes, self.guard.call_deadline());
        remove_tree(&loc.parent, &loc.name, &loc.path, &mut bounds)
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
                kind: kind_of(file_type),
            })
            .collect())
    }

    fn create_symlink(&mut self, target: String, link: String) -> Result<(), FsError> {
        self.create_symlink_as("filesystem.create-symlink", &target, &link)
    }

    fn read_symlink(&mut self, path: String) -> Result<String, FsError> {
        self.read_symlink_as("filesystem.read-symlink", &path)
    }

    fn canonicalize(&mut self, path: String) -> Result<String, FsError> {
        let loc = self.locate("filesystem.canonicalize", &path, &[FsAction::Metadata], How::FOLLOW)?;
        loc.existing()?;
        Ok(loc.path)
    }
}
