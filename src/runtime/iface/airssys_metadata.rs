//! `airssys:ext-filesystem/metadata`: the 14 operations that inspect, search and change
//! metadata, implemented on [`FsView`] over the mechanisms of `runtime/fs/`.

use std::io;

use crate::policy::{FsAction, Request};
use crate::runtime::bindings::fs_types::{FileStat, FsError, WalkEntry};
use crate::runtime::bindings::metadata;
use rustix::fs::Timestamps;

use crate::runtime::fs::{
    FORBIDDEN_MODE_BITS, FsView, HasFs, How, Located, MAX_ENTRIES, MAX_GLOB_BYTES, OMIT, denied, entry_bytes,
    file_stat, io_error, kind_of, millis, time_spec, walk,
};
use crate::runtime::guard::describe_request;
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut wasmtime::component::Linker<InstanceState>) -> wasmtime::Result<()> {
    metadata::add_to_linker::<InstanceState, HasFs>(linker, InstanceState::fs_view)
}

impl metadata::Host for FsView<'_> {
    fn stat(&mut self, path: String) -> Result<FileStat, FsError> {
        let loc = self.stat_at("metadata.stat", &path, How::FOLLOW)?;
        loc.existing().map(file_stat)
    }

    fn symlink_stat(&mut self, path: String) -> Result<FileStat, FsError> {
        let loc = self.stat_at("metadata.symlink-stat", &path, How::NO_FOLLOW)?;
        loc.existing().map(file_stat)
    }

    fn file_size(&mut self, path: String) -> Result<u64, FsError> {
        let loc = self.stat_at("metadata.file-size", &path, How::FOLLOW)?;
        let meta = loc.existing()?;
        if meta.is_dir() {
            return Err(FsError::IsADirectory(loc.path));
        }
        Ok(meta.len())
    }

    fn is_file(&mut self, path: String) -> Result<bool, FsError> {
        self.test_at("metadata.is-file", &path, How::FOLLOW, |m| m.is_file())
    }

    fn is_dir(&mut self, path: String) -> Result<bool, FsError> {
        self.test_at("metadata.is-dir", &path, How::FOLLOW, |m| m.is_dir())
    }

    fn is_symlink(&mut self, path: String) -> Result<bool, FsError> {
        self.test_at("metadata.is-symlink", &path, How::NO_FOLLOW, |m| {
            m.file_type().is_symlink()
        })
    }

    fn modified_time(&mut self, path: String) -> Result<u64, FsError> {
        let loc = self.stat_at("metadata.modified-time", &path, How::FOLLOW)?;
        let modified = loc.existing()?.modified().map_err(|e| io_error(&e, &loc.path))?;
        Ok(millis(modified.into_std()))
    }

    fn batch_stat(&mut self, paths: Vec<String>) -> Result<Vec<Result<FileStat, FsError>>, FsError> {
        const OP: &str = "metadata.batch-stat";
        let allowed = self.allow_batch(OP, &paths)?;
        let mut stats = Vec::with_capacity(allowed.len());
        let mut bounds = self.answer_bounds();
        for one in allowed {
            bounds.in_time()?;
            let stat = self
                .resolve(OP, one, How::FOLLOW)
                .and_then(|loc| loc.existing().map(file_stat));
            let message = match &stat {
                Err(e) => format!("{e:?}").len(),
                Ok(_) => 0,
            };
            bounds.charge(entry_bytes(message), "batch-stat")?;
            stats.push(stat);
        }
        Ok(stats)
    }

    fn batch_exists(&mut self, paths: Vec<String>) -> Result<Vec<bool>, FsError> {
        const OP: &str = "metadata.batch-exists";
        let allowed = self.allow_batch(OP, &paths)?;
        let mut found = Vec::with_capacity(allowed.len());
        let deadline = self.guard.call_deadline();
        for one in allowed {
            if std::time::Instant::now() >= deadline {
                return Err(FsError::Timeout);
            }
            found.push(self.exists_allowed(OP, one)?);
        }
        Ok(found)
    }

    fn dir_size(&mut self, path: String) -> Result<u64, FsError> {
        let (dir, shown) = self.walk_root("metadata.dir-size", &path, FsAction::Metadata)?;
        let mut total: u64 = 0;
        let mut bounds = self.answer_bounds();
        walk(dir, &shown, None, &mut bounds, |visit, _| {
            if visit.file_type.is_file() {
                match visit.dir.symlink_metadata(visit.name) {
                    Ok(meta) => total = total.saturating_add(meta.len()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&e, &visit.path)),
                }
            }
            Ok(())
        })?;
        Ok(total)
    }

    fn set_permissions(&mut self, path: String, mode: u32) -> Result<(), FsError> {
        const OP: &str = "metadata.set-permissions";
        let allowed = self.allow(OP, &path, &[FsAction::Write])?;
        if mode > 0o7777 {
            return Err(FsError::InvalidInput(format!(
                "{path}: mode {mode:#o} has bits beyond 0o7777"
            )));
        }
        if mode & FORBIDDEN_MODE_BITS != 0 {
            let resource = describe_request(&Request::Fs {
                action: FsAction::Write,
                path: &path,
            });
            let by = format!("host rule: mode {mode:#o} sets setuid or setgid, which components may never set");
            return Err(denied(self.guard.refuse(OP, &resource, &by)));
        }
        let loc = self.resolve(OP, allowed, How::FOLLOW)?;
        loc.existing()?;
        let inode = self.inode_to_change(OP, &loc)?;
        let mode = rustix::fs::Mode::from_raw_mode(mode);
        inode
            .change(
                &loc,
                |path| rustix::fs::chmod(path, mode),
                |fd| rustix::fs::fchmod(fd, mode),
            )
            .map_err(|e| io_error(&e, &loc.path))
    }

    fn set_times(&mut self, path: String, accessed: Option<u64>, modified: Option<u64>) -> Result<(), FsError> {
        const OP: &str = "metadata.set-times";
        let allowed = self.allow(OP, &path, &[FsAction::Write])?;
        let times = |loc: &Located| -> Result<Timestamps, FsError> {
            Ok(Timestamps {
                last_access: accessed.map(|ms| time_spec(ms, &loc.path)).transpose()?.unwrap_or(OMIT),
                last_modification: modified.map(|ms| time_spec(ms, &loc.path)).transpose()?.unwrap_or(OMIT),
            })
        };
        self.set_times_as(OP, allowed, How::FOLLOW, times)
    }

    fn walk_dir(&mut self, root: String, max_depth: Option<u32>) -> Result<Vec<WalkEntry>, FsError> {
        let (dir, shown) = self.walk_root("metadata.walk-dir", &root, FsAction::Read)?;
        let mut entries = Vec::new();
        let mut bounds = self.answer_bounds();
        walk(dir, &shown, max_depth, &mut bounds, |visit, bounds| {
            if entries.len() >= MAX_ENTRIES {
                return Err(FsError::LimitExceeded(format!(
                    "{shown}: more than {MAX_ENTRIES} entries"
                )));
            }
            bounds.charge(entry_bytes(visit.path.len()), &shown)?;
            entries.push(WalkEntry {
                path: visit.path,
                kind: kind_of(visit.file_type),
                depth: visit.depth,
            });
            Ok(())
        })?;
        Ok(entries)
    }

    fn find_files(&mut self, root: String, pattern: String, max_depth: Option<u32>) -> Result<Vec<String>, FsError> {
        const OP: &str = "metadata.find-files";
        let allowed = self.allow(OP, &root, &[FsAction::Read])?;
        if pattern.len() > MAX_GLOB_BYTES {
            return Err(FsError::LimitExceeded(format!(
                "the pattern has {} bytes; the limit is {MAX_GLOB_BYTES}",
                pattern.len()
            )));
        }
        let glob = globset::GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| FsError::InvalidInput(format!("pattern {pattern:?}: {e}")))?
            .compile_matcher();
        let loc = self.resolve(OP, allowed, How::FOLLOW)?;
        let dir = loc.open_dir()?;
        let shown = crate::policy::normalize_path(&root).unwrap_or(loc.path);
        let mut found = Vec::new();
        let mut bounds = self.answer_bounds();
        walk(dir, &shown, max_depth, &mut bounds, |visit, bounds| {
            if glob.is_match(visit.name) {
                if found.len() >= MAX_ENTRIES {
                    return Err(FsError::LimitExceeded(format!(
                        "{shown}: more than {MAX_ENTRIES} matches"
                    )));
                }
                bounds.charge(entry_bytes(visit.path.len()), &shown)?;
                found.push(visit.path);
            }
            Ok(())
        })?;
        Ok(found)
    }
}
