//! The filesystem domain: what the 36 operations of `airssys:ext-filesystem` (`filesystem` and
//! `metadata`, in `iface/airssys_filesystem.rs` and `iface/airssys_metadata.rs`) and the
//! `file-handle` resource do on the real filesystem, implemented on [`FsView`].
//!
//! # How confinement works
//!
//! A path goes through four steps before anything happens to it (`confine.rs`):
//!
//! 1. **The guard.** The path, exactly as the guest wrote it, is authorized with the action of
//!    the operation's `@requires` line (`Guard::authorize`, one audit line per
//!    action). Operations with two parts (`rename`: delete(src) + write(dest); `copy`;
//!    `create-symlink`) authorize both before touching either. A denial is the operation's
//!    `permission-denied` error, and nothing else happens.
//! 2. **The base directory.** The path is normalised lexically (as the decision did) and `~` is
//!    expanded with the policy's home. The grant that allowed it names a *base*: the literal
//!    directory prefix of its pattern (`/data` for `/data/**`, `/data/*.csv` or `/data/x`).
//!    When several grants allowed the request (open for read and write), the deepest base is
//!    used; when report-only mode let an ungranted request through, the base is `/`. The base
//!    is opened as a [`cap_std::fs::Dir`] the way the operating system resolves it, so that an
//!    administrator's links (`/var/run -> /run`, a symlinked `/home`) keep working, but only
//!    the part of it that the component cannot change: if some grant lets the component write
//!    the base or a directory above it (`write /data/out/**` matches `/data/out` itself, which
//!    the component could replace by a link), opening starts at the parent of the highest such
//!    directory, and the rest is resolved as in step 3.
//! 3. **Symbolic links, resolved by the host.** Below that start, every directory is opened one
//!    name at a time without following symbolic links (`O_NOFOLLOW`, or one `openat2` with
//!    `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH` when the path has none). A symbolic link met on
//!    the way (or as the final name, for operations that follow it) is read, its target joined
//!    lexically to the link's directory, and the resulting path is authorized again with the
//!    same actions (an audit line per hop) before the walk restarts from that path's base.
//!    So a link inside a grant that points at an ungranted path (absolute, `../..`, a target
//!    ending in `/`, or a sibling inside the same base) is denied, one that points at another
//!    granted path works, and more than 40 hops is `symlink-loop`. Below the start, the kernel
//!    never follows a link the host has not authorized. (An operation on the base directory
//!    itself, such as removing `/data` under `/data/**`, acts from the base's parent.)
//! 4. **The final step** is done relative to the opened parent directory, again without
//!    following links (`open` with `O_NOFOLLOW`, `unlinkat`, `renameat`, `mkdirat`, ...), so
//!    a link swapped in after the check fails instead of being followed. Operations documented
//!    as not following symbolic links (`symlink-stat`, `is-symlink`, `read-symlink`,
//!    `delete-file`, `remove-dir-all`, walks) act on the link itself.
//!
//! `create-symlink` decides its target as the link will be read: a relative target relative to
//! the directory the link really lands in, `~/` expanded (and stored expanded).
//! `create-dir-all` creates missing directories on the way, a missing base included.
//!
//! Lexical normalisation decides what `..` means: `/data/link/..` is `/data`, whatever `link`
//! points at. A guest path ending in `/`, `/.` or `/..` names a directory, as it does for the
//! kernel: a final symbolic link is then followed, and a non-directory there is
//! `not-a-directory`.
//!
//! # Host rules (refused in every mode, audited as `denied`)
//!
//! - **Hard links.** No operation on the file itself reaches a regular file with more than one
//!   link: its contents are never read or written (`open`, `read-file`, `write-file`,
//!   `append-file`, `truncate`, `copy` on either side) and its metadata never changed
//!   (`set-permissions`, `set-times`): another name of the same file may be outside every
//!   grant, and a grant on one name must not give access to the other. The check is made on the
//!   descriptor the operation then acts through (the opened file before any truncation; an
//!   `O_PATH` descriptor of the inode for a metadata change). Reading metadata (`stat`) is
//!   allowed: it is how a component sees the link count.
//! - **Setuid and setgid.** `set-permissions` never sets `0o4000` or `0o2000`.
//!
//! # Handles and limits
//!
//! A `file-handle` lives in the instance's resource table, remembers its path and what it was
//! opened for, and counts against [`super::RunLimits::max_handles`] (every resource of the
//! instance together); `read`, `write` and `sync` check the handle's access mode with
//! `Guard::authorize_handle`. `open` never blocks (FIFOs are opened non-blocking).
//! Every answer is bounded in bytes by the instance's answer budget
//! (`Guard::answer_budget`: [`super::RunLimits::max_read_bytes`], and no more than the
//! instance's memory can still grow to hold), counting for listings each entry's name or path
//! plus a fixed size, and for walks the listings they hold on the way; listings and walks are
//! also bounded by [`MAX_ENTRIES`] entries returned, [`MAX_VISITS`] entries visited and
//! [`MAX_DEPTH`] levels. Beyond a bound the answer is `limit-exceeded`, never a partial list.
//! Operations that work in a loop (walks, batches, `remove-dir-all`, `copy`) stop at the call's
//! deadline with `timeout`; `copy` also stops after its size budget (the source's size when it
//! began, at least the read limit), so an endless source cannot fill the disk.
//! Times are milliseconds since the Unix epoch (earlier times read as 0); `created` is `none`
//! when the filesystem does not record it. Names that are not UTF-8 are listed lossily.

mod actions;
mod confine;
mod copy;
mod inode;
mod ops;
#[cfg(test)]
mod tests;
mod walk;
pub(crate) mod wasi;

use std::io;
use std::time::UNIX_EPOCH;

use cap_std::fs::{FileType, FileTypeExt, Metadata, MetadataExt};
use wasmtime::component::{HasData, ResourceTable};

pub(crate) use self::confine::{How, Located, denied, join, parent_of};
pub(crate) use self::copy::bounded_copy;
pub(crate) use self::inode::{OMIT, time_spec};
pub(crate) use self::ops::{CHUNK, FORBIDDEN_MODE_BITS, MAX_GLOB_BYTES, Opening};
pub(crate) use self::walk::{Bounds, entry_bytes, remove_tree, sorted_entries, walk};
pub use self::walk::{MAX_DEPTH, MAX_ENTRIES, MAX_VISITS};
use super::bindings::fs_types::{FileKind, FileStat, FsError};
use super::guard::Guard;
pub use super::resources::FileHandle;

/// Filesystem state of one instance: the home directory and the base directory of each grant,
/// computed from the policy on the first filesystem call. Open files are entries of the
/// instance's resource table.
#[derive(Debug, Default)]
pub struct FsState {
    paths: Option<confine::PolicyPaths>,
    /// Start directories opened once (see `confine::StartDirs`).
    starts: confine::StartDirs,
}

/// What the filesystem interfaces (`filesystem`, `metadata`, their `types`) are implemented
/// on: the guard, the instance's filesystem state and its resource table.
pub(crate) struct FsView<'a> {
    pub(crate) guard: &'a Guard,
    pub(crate) fs: &'a mut FsState,
    pub(crate) table: &'a mut ResourceTable,
}

/// The `HasData` of the filesystem interfaces: their data is an [`FsView`].
pub(crate) struct HasFs;

impl HasData for HasFs {
    type Data<'a> = FsView<'a>;
}

impl FsView<'_> {
    /// The bounds of a listing or walk whose answer goes to the guest: the answer budget
    /// (read limit and memory room) and the call's deadline.
    pub(crate) fn answer_bounds(&self) -> Bounds {
        Bounds::new(self.guard.answer_budget(), self.guard.call_deadline())
    }
}

/// Maps an operating-system error on `path` to the `fs-error` that fits.
pub(crate) fn io_error(error: &io::Error, path: &str) -> FsError {
    let path = path.to_string();
    match error.raw_os_error() {
        Some(libc::ENOENT) => FsError::NotFound(path),
        Some(libc::EEXIST) => FsError::AlreadyExists(path),
        Some(libc::ENOTDIR) => FsError::NotADirectory(path),
        Some(libc::EISDIR) => FsError::IsADirectory(path),
        Some(libc::ENOTEMPTY) => FsError::DirectoryNotEmpty(path),
        Some(libc::ELOOP) => FsError::SymlinkLoop(path),
        Some(libc::EINVAL | libc::ENAMETOOLONG) => FsError::InvalidInput(format!("{path}: {error}")),
        Some(libc::EFBIG | libc::ENOSPC | libc::EDQUOT | libc::EMFILE | libc::ENFILE) => {
            FsError::LimitExceeded(format!("{path}: {error}"))
        }
        Some(libc::ETIMEDOUT) => FsError::Timeout,
        _ => match error.kind() {
            io::ErrorKind::NotFound => FsError::NotFound(path),
            io::ErrorKind::AlreadyExists => FsError::AlreadyExists(path),
            _ => FsError::Io(format!("{path}: {error}")),
        },
    }
}

/// The WIT kind of a file type (not following symbolic links).
pub(crate) fn kind_of(file_type: FileType) -> FileKind {
    if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::File
    } else if file_type.is_fifo() {
        FileKind::Fifo
    } else if file_type.is_socket() {
        FileKind::Socket
    } else if file_type.is_block_device() {
        FileKind::BlockDevice
    } else if file_type.is_char_device() {
        FileKind::CharDevice
    } else {
        FileKind::Unknown
    }
}

/// Milliseconds since the Unix epoch; times before it read as 0.
pub(crate) fn millis(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The WIT record of a metadata.
pub(crate) fn file_stat(meta: &Metadata) -> FileStat {
    let time = |t: io::Result<cap_std::time::SystemTime>| t.ok().map(|t| millis(t.into_std()));
    FileStat {
        size: meta.len(),
        kind: kind_of(meta.file_type()),
        mode: meta.mode() & 0o7777,
        nlink: meta.nlink(),
        accessed: time(meta.accessed()).unwrap_or(0),
        modified: time(meta.modified()).unwrap_or(0),
        created: time(meta.created()),
    }
}
