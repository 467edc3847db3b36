//! Directory listings and recursive walks, bounded: depth first, each directory's entries
//! sorted by name, symbolic links reported and never followed, one open directory per level.

use std::ffi::OsString;
use std::io;

use cap_fs_ext::DirExt as _;
use cap_std::fs::{Dir, FileType};

use super::confine::join;
use super::{FsError, io_error};

/// Most entries a listing or walk returns (`list-dir`, `walk-dir`, `find-files`), and most
/// paths `batch-stat` and `batch-exists` accept.
pub const MAX_ENTRIES: usize = 100_000;
/// Most entries one walk visits (`walk-dir`, `find-files`, `dir-size`, counting what it skips).
pub const MAX_VISITS: usize = 1_000_000;
/// Deepest level a walk descends to, or `remove-dir-all` removes from: each level holds an
/// open directory.
pub const MAX_DEPTH: u32 = 256;

/// The entries of `dir` (whose path is `path`), sorted by name, with their types (not
/// following links); more than `max` is `limit-exceeded`.
pub(super) fn sorted_entries(dir: &Dir, path: &str, max: usize) -> Result<Vec<(OsString, FileType)>, FsError> {
    let mut entries = Vec::new();
    for entry in dir.entries().map_err(|e| io_error(&e, path))? {
        let entry = entry.map_err(|e| io_error(&e, path))?;
        if entries.len() >= max {
            return Err(FsError::LimitExceeded(format!(
                "{path}: more than {max} entries to go through"
            )));
        }
        let file_type = entry.file_type().map_err(|e| io_error(&e, path))?;
        entries.push((entry.file_name(), file_type));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// One entry met by [`walk`].
pub(super) struct Visit<'a> {
    /// The directory that holds the entry.
    pub(super) dir: &'a Dir,
    /// The entry's name in `dir`.
    pub(super) name: &'a OsString,
    /// The walk root's path joined with the entry's relative path.
    pub(super) path: String,
    pub(super) file_type: FileType,
    /// 1 for the root's direct children.
    pub(super) depth: u32,
}

struct Level {
    dir: Dir,
    entries: std::vec::IntoIter<(OsString, FileType)>,
    path: String,
    depth: u32,
}

/// Walks below `root` (whose path is `root_path`) depth first, down to `max_depth` levels
/// (`None`: as deep as [`MAX_DEPTH`]), calling `visit` for each entry before its children.
pub(super) fn walk(
    root: Dir,
    root_path: &str,
    max_depth: Option<u32>,
    mut visit: impl FnMut(Visit<'_>) -> Result<(), FsError>,
) -> Result<(), FsError> {
    if max_depth == Some(0) {
        return Ok(());
    }
    let mut budget = MAX_VISITS;
    let entries = sorted_entries(&root, root_path, budget)?;
    budget -= entries.len();
    let mut stack = vec![Level {
        dir: root,
        entries: entries.into_iter(),
        path: root_path.to_string(),
        depth: 1,
    }];
    while let Some(level) = stack.last_mut() {
        let Some((name, file_type)) = level.entries.next() else {
            stack.pop();
            continue;
        };
        let path = join(&level.path, &name.to_string_lossy());
        let depth = level.depth;
        visit(Visit {
            dir: &level.dir,
            name: &name,
            path: path.clone(),
            file_type,
            depth,
        })?;
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
        let entries = sorted_entries(&dir, &path, budget)?;
        budget -= entries.len();
        stack.push(Level {
            dir,
            entries: entries.into_iter(),
            path,
            depth: depth + 1,
        });
    }
    Ok(())
}

/// Removes the directory `name` in `parent` and everything below it, never following a
/// symbolic link (links are removed, not what they point at).
pub(super) fn remove_tree(parent: &Dir, name: &str, path: &str) -> Result<(), FsError> {
    remove_below(parent, name.as_ref(), path, 1)?;
    parent.remove_dir(name).map_err(|e| io_error(&e, path))
}

/// Empties the directory `name` of `parent`.
fn remove_below(parent: &Dir, name: &std::ffi::OsStr, path: &str, depth: u32) -> Result<(), FsError> {
    if depth > MAX_DEPTH {
        return Err(FsError::LimitExceeded(format!(
            "{path}: deeper than {MAX_DEPTH} levels"
        )));
    }
    let dir = parent.open_dir_nofollow(name).map_err(|e| io_error(&e, path))?;
    // The names are read first: removing entries while reading the directory may skip some.
    let entries = sorted_entries(&dir, path, MAX_VISITS)?;
    for (child, file_type) in entries {
        let child_path = join(path, &child.to_string_lossy());
        let removed = if file_type.is_dir() {
            remove_below(&dir, &child, &child_path, depth + 1)?;
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
