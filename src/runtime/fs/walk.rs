//! Directory listings and recursive walks, bounded: depth first, each directory's entries
//! sorted by name, symbolic links reported and never followed, one open directory per level.
//! Every listing and walk works within [`Bounds`]: the bytes the host may hold for it (the
//! listings it is going through and the answer it is building) and the call's deadline.

use std::ffi::OsString;
use std::io;
use std::time::Instant;

use cap_fs_ext::DirExt as _;
use cap_std::fs::{Dir, FileType};

use super::confine::join;
use super::{FsError, io_error};
use crate::runtime::guard::ANSWER_ENTRY_BYTES;

/// Most entries a listing or walk returns (`list-dir`, `walk-dir`, `find-files`), and most
/// paths `batch-stat` and `batch-exists` accept.
pub const MAX_ENTRIES: usize = 100_000;
/// Most entries one walk visits (`walk-dir`, `find-files`, `dir-size`, counting what it skips).
pub const MAX_VISITS: usize = 1_000_000;
/// Deepest level a walk descends to, or `remove-dir-all` removes from: each level holds an
/// open directory.
pub const MAX_DEPTH: u32 = 256;

/// What a listing or walk may use: bytes held by the host for it (each name listed and each
/// answer entry counts its bytes plus [`ANSWER_ENTRY_BYTES`]) and time (the call's deadline).
/// Beyond either, the operation ends with `limit-exceeded` or `timeout`, never a partial
/// answer.
#[derive(Debug)]
pub(crate) struct Bounds {
    max_bytes: u64,
    bytes_left: u64,
    deadline: Instant,
}

impl Bounds {
    pub(crate) fn new(max_bytes: u64, deadline: Instant) -> Self {
        Bounds {
            max_bytes,
            bytes_left: max_bytes,
            deadline,
        }
    }

    /// Counts `bytes` more held for `path`'s answer.
    pub(crate) fn charge(&mut self, bytes: u64, path: &str) -> Result<(), FsError> {
        match self.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.bytes_left = left;
                Ok(())
            }
            None => Err(FsError::LimitExceeded(format!(
                "{path}: the answer (with the listings held to build it) would pass {} bytes, the most one answer of this instance may hold (the read limit, or what its memory can still hold)",
                self.max_bytes
            ))),
        }
    }

    /// Gives back bytes no longer held.
    fn release(&mut self, bytes: u64) {
        self.bytes_left = self.bytes_left.saturating_add(bytes).min(self.max_bytes);
    }

    /// `timeout` once the call's deadline has passed.
    pub(crate) fn in_time(&self) -> Result<(), FsError> {
        if Instant::now() >= self.deadline {
            return Err(FsError::Timeout);
        }
        Ok(())
    }
}

/// What an entry named `name` counts against [`Bounds`].
pub(crate) fn entry_bytes(name_len: usize) -> u64 {
    name_len as u64 + ANSWER_ENTRY_BYTES
}

/// The entries of `dir` (whose path is `path`), sorted by name, with their types (not
/// following links), and the bytes they were charged; more than `max` entries, or more bytes
/// than `bounds` has left, is `limit-exceeded`.
pub(crate) fn sorted_entries(
    dir: &Dir,
    path: &str,
    max: usize,
    bounds: &mut Bounds,
) -> Result<(Vec<(OsString, FileType)>, u64), FsError> {
    let mut entries = Vec::new();
    let mut charged = 0;
    for entry in dir.entries().map_err(|e| io_error(&e, path))? {
        let entry = entry.map_err(|e| io_error(&e, path))?;
        if entries.len() >= max {
            return Err(FsError::LimitExceeded(format!(
                "{path}: more than {max} entries to go through"
            )));
        }
        if entries.len() % 1024 == 1023 {
            bounds.in_time()?;
        }
        let name = entry.file_name();
        let bytes = entry_bytes(name.len());
        bounds.charge(bytes, path)?;
        charged += bytes;
        let file_type = entry.file_type().map_err(|e| io_error(&e, path))?;
        entries.push((name, file_type));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok((entries, charged))
}

/// One entry met by [`walk`].
pub(crate) struct Visit<'a> {
    /// The directory that holds the entry.
    pub(crate) dir: &'a Dir,
    /// The entry's name in `dir`.
    pub(crate) name: &'a OsString,
    /// The walk root's path joined with the entry's relative path.
    pub(crate) path: String,
    pub(crate) file_type: FileType,
    /// 1 for the root's direct children.
    pub(crate) depth: u32,
}

struct Level {
    dir: Dir,
    entries: std::vec::IntoIter<(OsString, FileType)>,
    path: String,
    depth: u32,
    /// What the listing was charged against the bounds.
    bytes: u64,
}

/// Walks below `root` (whose path is `root_path`) depth first, down to `max_depth` levels
/// (`None`: as deep as [`MAX_DEPTH`]), calling `visit` for each entry before its children.
/// The listings held on the way count against `bounds`, which `visit` may charge too (for the
/// answer it builds).
pub(crate) fn walk(
    root: Dir,
    root_path: &str,
    max_depth: Option<u32>,
    bounds: &mut Bounds,
    mut visit: impl FnMut(Visit<'_>, &mut Bounds) -> Result<(), FsError>,
) -> Result<(), FsError> {
    if max_depth == Some(0) {
        return Ok(());
    }
    let mut budget = MAX_VISITS;
    let (entries, bytes) = sorted_entries(&root, root_path, budget, bounds)?;
    budget -= entries.len();
    let mut stack = vec![Level {
        dir: root,
        entries: entries.into_iter(),
        path: root_path.to_string(),
        depth: 1,
        bytes,
    }];
    while let Some(level) = stack.last_mut() {
        let Some((name, file_type)) = level.entries.next() else {
            let bytes = level.bytes;
            stack.pop();
            bounds.release(bytes);
            continue;
        };
        bounds.in_time()?;
        let path = join(&level.path, &name.to_string_lossy());
        let depth = level.depth;
        visit(
            Visit {
                dir: &level.dir,
                name: &name,
                path: path.clone(),
                file_type,
                depth,
            },
            bounds,
        )?;
        if !file_type.is_dir() || max_depth.is_some_and(|max| depth >= max) {
            continue;
        }
        if depth >= MAX_DEPTH {
            return Err(FsError::LimitExceeded(format!(
                "{path}: deeper than {MAX_DEPTH} levels below {root_path}"
            )));
        }
        let dir = match level.dir.open_dir_nofollow(&name) {
            Ok(dir) => dir,
            // Removed (or replaced by a link) since it was listed: nothing to walk.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ELOOP | libc::ENOTDIR)) => continue,
            Err(e) => return Err(io_error(&e, &path)),
        };
        let (entries, bytes) = sorted_entries(&dir, &path, budget, bounds)?;
        budget -= entries.len();
        stack.push(Level {
            dir,
            entries: entries.into_iter(),
            path,
            depth: depth + 1,
            bytes,
        });
    }
    Ok(())
}

/// Removes the directory `name` in `parent` and everything below it, never following a
/// symbolic link (links are removed, not what they point at), within `bounds` (the names held
/// on the way, and the deadline: a tree too big to remove in time is left partly removed,
/// with `timeout`).
pub(crate) fn remove_tree(parent: &Dir, name: &str, path: &str, bounds: &mut Bounds) -> Result<(), FsError> {
    remove_below(parent, name.as_ref(), path, 1, bounds)?;
    parent.remove_dir(name).map_err(|e| io_error(&e, path))
}

/// Empties the directory `name` of `parent`.
fn remove_below(
    parent: &Dir,
    name: &std::ffi::OsStr,
    path: &str,
    depth: u32,
    bounds: &mut Bounds,
) -> Result<(), FsError> {
    if depth > MAX_DEPTH {
        return Err(FsError::LimitExceeded(format!(
            "{path}: deeper than {MAX_DEPTH} levels"
        )));
    }
    let dir = parent.open_dir_nofollow(name).map_err(|e| io_error(&e, path))?;
    // The names are read first: removing entries while reading the directory may skip some.
    let (entries, bytes) = sorted_entries(&dir, path, MAX_VISITS, bounds)?;
    let result = remove_entries(&dir, path, depth, entries, bounds);
    bounds.release(bytes);
    result
}

fn remove_entries(
    dir: &Dir,
    path: &str,
    depth: u32,
    entries: Vec<(OsString, FileType)>,
    bounds: &mut Bounds,
) -> Result<(), FsError> {
    for (child, file_type) in entries {
        bounds.in_time()?;
        let child_path = join(path, &child.to_string_lossy());
        let removed = if file_type.is_dir() {
            remove_below(dir, &child, &child_path, depth + 1, bounds)?;
            dir.remove_dir(&child)
        } else {
            dir.remove_file(&child)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&e, &child_path)),
        }
    }
    Ok(())
}
