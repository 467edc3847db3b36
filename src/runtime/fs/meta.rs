//! `metadata`: the 14 operations that inspect, search and change metadata.

use std::io;
use std::os::fd::AsRawFd as _;
use std::time::{Duration, UNIX_EPOCH};

use super::confine::{How, Located};
use super::walk::{MAX_ENTRIES, entry_bytes, walk};
use super::{FsError, file_stat, io_error, kind_of, millis};
use crate::policy::{FsAction, Request};
use crate::runtime::bindings::fs_types::{FileStat, WalkEntry};
use crate::runtime::bindings::metadata;
use crate::runtime::state::{InstanceState, describe_request};

/// Longest `find-files` glob, in bytes.
const MAX_GLOB_BYTES: usize = 1024;

/// Permission bits a component may never set: setuid and setgid.
const FORBIDDEN_MODE_BITS: u32 = 0o6000;

impl InstanceState {
    /// The metadata of an existing `path`, following a final link or not.
    fn stat_at(&mut self, op: &str, path: &str, how: How) -> Result<Located, FsError> {
        let loc = self.locate(op, path, &[FsAction::Metadata], how)?;
        loc.existing()?;
        Ok(loc)
    }

    /// Whether `path` exists and its metadata satisfies `test` (following links unless `how`
    /// says otherwise); missing is `false`.
    fn test_at(
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
    fn allow_batch<'a>(&mut self, op: &str, paths: &'a [String]) -> Result<Vec<super::confine::Allowed<'a>>, FsError> {
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
    fn walk_root(&mut self, op: &str, root: &str, action: FsAction) -> Result<(cap_std::fs::Dir, String), FsError> {
        let loc = self.locate(op, root, &[action], How::FOLLOW)?;
        let dir = loc.open_dir()?;
        let shown = crate::policy::normalize_path(root).unwrap_or(loc.path);
        Ok((dir, shown))
    }
}

/// The located object itself, opened as an `O_PATH` descriptor without following a link, and
/// its metadata as that descriptor sees it: a metadata change made through it
/// ([`Inode::change`]) reaches exactly the inode that was checked.
struct Inode {
    fd: rustix::fd::OwnedFd,
    stat: rustix::fs::Stat,
}

impl Inode {
    fn open(loc: &Located) -> io::Result<Inode> {
        use rustix::fs::{FileType, Mode, OFlags, fstat, openat};
        let fd = openat(
            &loc.parent,
            loc.name.as_str(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let stat = fstat(&fd)?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
            // Replaced by a link since it was resolved: do not touch it.
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        Ok(Inode { fd, stat })
    }

    fn is_file(&self) -> bool {
        rustix::fs::FileType::from_raw_mode(self.stat.st_mode) == rustix::fs::FileType::RegularFile
    }

    /// Applies `by_path` to `/proc/self/fd/<fd>` (which reaches exactly this inode), or, where
    /// `/proc` is not mounted, `by_fd` to a read-only descriptor of the object.
    fn change(
        &self,
        loc: &Located,
        by_path: impl FnOnce(&str) -> rustix::io::Result<()>,
        by_fd: impl FnOnce(&rustix::fd::OwnedFd) -> rustix::io::Result<()>,
    ) -> io::Result<()> {
        use rustix::fs::{Mode, OFlags, openat};
        match by_path(&format!("/proc/self/fd/{}", self.fd.as_raw_fd())) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::NOENT => {
                let file = openat(
                    &loc.parent,
                    loc.name.as_str(),
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                Ok(by_fd(&file)?)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl InstanceState {
    /// Opens the located object for a metadata change, refusing (the hard-link rule) a
    /// regular file with more than one link.
    fn inode_to_change(&mut self, op: &str, loc: &Located) -> Result<Inode, FsError> {
        let inode = Inode::open(loc).map_err(|e| io_error(&e, &loc.path))?;
        #[allow(
            clippy::useless_conversion,
            reason = "`nlink_t` is narrower than 64 bits on some targets"
        )]
        let links = u64::from(inode.stat.st_nlink);
        self.refuse_hard_links(op, FsAction::Write, &loc.path, inode.is_file(), links)?;
        Ok(inode)
    }
}

/// A time that `utimensat` leaves as it is.
const OMIT: rustix::fs::Timespec = rustix::fs::Timespec {
    tv_sec: 0,
    tv_nsec: rustix::fs::UTIME_OMIT,
};

/// A WIT time (milliseconds since the epoch) as a time to set.
fn time_spec(ms: u64, path: &str) -> Result<rustix::fs::Timespec, FsError> {
    let out_of_range = || FsError::InvalidInput(format!("{path}: time {ms} is out of range"));
    let tv_sec = i64::try_from(ms / 1000).map_err(|_| out_of_range())?;
    // `UNIX_EPOCH + ms` must be a time the host can hold, as before.
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .ok_or_else(out_of_range)?;
    Ok(rustix::fs::Timespec {
        tv_sec,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    })
}

impl metadata::Host for InstanceState {
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
        let deadline = self.call_deadline();
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
            return Err(super::confine::denied(self.refuse(OP, &resource, &by)));
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
        let loc = self.locate(OP, &path, &[FsAction::Write], How::FOLLOW)?;
        loc.existing()?;
        let accessed = accessed.map(|ms| time_spec(ms, &loc.path)).transpose()?;
        let modified = modified.map(|ms| time_spec(ms, &loc.path)).transpose()?;
        if accessed.is_none() && modified.is_none() {
            return Ok(());
        }
        // Through the inode that was checked (the final name is not a link: it was resolved,
        // and one swapped in meanwhile is refused).
        let inode = self.inode_to_change(OP, &loc)?;
        let times = rustix::fs::Timestamps {
            last_access: accessed.unwrap_or(OMIT),
            last_modification: modified.unwrap_or(OMIT),
        };
        inode
            .change(
                &loc,
                |path| rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::empty()),
                |fd| rustix::fs::futimens(fd, &times),
            )
            .map_err(|e| io_error(&e, &loc.path))
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
