//! Metadata changes through the inode that was checked: an `O_PATH` descriptor of the located
//! object, the hard-link rule applied to it, and the times to set.

use std::io;
use std::os::fd::AsRawFd as _;
use std::time::{Duration, UNIX_EPOCH};

use super::confine::Located;
use super::{FsError, FsView, io_error};
use crate::policy::FsAction;

/// The located object itself, opened as an `O_PATH` descriptor without following a link, and
/// its metadata as that descriptor sees it: a metadata change made through it
/// ([`Inode::change`]) reaches exactly the inode that was checked.
pub(crate) struct Inode {
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
    pub(crate) fn change(
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

impl FsView<'_> {
    /// Opens the located object for a metadata change, refusing (the hard-link rule) a
    /// regular file with more than one link.
    pub(crate) fn inode_to_change(&mut self, op: &str, loc: &Located) -> Result<Inode, FsError> {
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
pub(crate) const OMIT: rustix::fs::Timespec = rustix::fs::Timespec {
    tv_sec: 0,
    tv_nsec: rustix::fs::UTIME_OMIT,
};

/// A WIT time (milliseconds since the epoch) as a time to set.
pub(crate) fn time_spec(ms: u64, path: &str) -> Result<rustix::fs::Timespec, FsError> {
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
