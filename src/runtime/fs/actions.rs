//! Path operations that both filesystem hosts perform, `airssys:ext-filesystem` and
//! `wasi:filesystem`: each takes the operation's name for its audit lines, so that one
//! mechanism serves both interfaces under the same confinement and the same host rules.

use cap_std::fs::Metadata;
use rustix::fs::Timestamps;

use super::confine::{Allowed, How, Located};
use super::inode::OMIT;
use super::ops::normalize_or_raw;
use super::{FsError, FsView, io_error, join, parent_of};
use crate::policy::FsAction;

impl FsView<'_> {
    /// Removes a file or a symbolic link (not following it): `delete` on the path.
    pub(crate) fn delete_file_as(&mut self, op: &str, path: &str) -> Result<(), FsError> {
        let loc = self.locate(op, path, &[FsAction::Delete], How::NO_FOLLOW)?;
        if loc.existing()?.is_dir() {
            return Err(FsError::IsADirectory(loc.path));
        }
        loc.parent.remove_file(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    /// Moves `src` to `dest`: `delete` on the source and `write` on the destination, both
    /// asked before either is touched.
    pub(crate) fn rename_as(&mut self, op: &str, src: &str, dest: &str) -> Result<(), FsError> {
        let from = self.allow(op, src, &[FsAction::Delete]);
        let to = self.allow(op, dest, &[FsAction::Write]);
        let (from, to) = (from?, to?);
        let from = self.resolve(op, from, How::NO_FOLLOW)?;
        let to = self.resolve(op, to, How::NO_FOLLOW)?;
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

    /// Creates one directory: `write` on its path.
    pub(crate) fn create_dir_as(&mut self, op: &str, path: &str) -> Result<(), FsError> {
        let loc = self.locate(op, path, &[FsAction::Write], How::NO_FOLLOW)?;
        if loc.meta.is_some() {
            return Err(FsError::AlreadyExists(loc.path));
        }
        loc.parent.create_dir(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    /// Removes an empty directory: `delete` on its path.
    pub(crate) fn remove_dir_as(&mut self, op: &str, path: &str) -> Result<(), FsError> {
        let loc = self.locate(op, path, &[FsAction::Delete], How::NO_FOLLOW)?;
        if !loc.existing()?.is_dir() {
            return Err(FsError::NotADirectory(loc.path));
        }
        if loc.is_root() {
            return Err(FsError::InvalidInput("`/` cannot be removed".to_string()));
        }
        loc.parent.remove_dir(&loc.name).map_err(|e| io_error(&e, &loc.path))
    }

    /// Creates the symbolic link `link` pointing at `target`: `write` on the link and `read` on
    /// where the target points, decided as the link will be read (a relative target relative
    /// to the directory the link really lands in; `~/` expanded and stored expanded).
    pub(crate) fn create_symlink_as(&mut self, op: &str, target: &str, link: &str) -> Result<(), FsError> {
        let from_home = target == "~" || target.starts_with("~/");
        let relative = !target.starts_with('/') && !from_home;
        let lexical_dir = self.absolute(link).ok().map(|l| parent_of(l.as_ref()).to_string());
        let target_path = match &lexical_dir {
            Some(dir) if relative => normalize_or_raw(&join(dir, target)),
            _ => target.to_string(),
        };
        let link_allowed = self.allow(op, link, &[FsAction::Write]);
        let target_allowed = self.allow(op, &target_path, &[FsAction::Read]);
        let (link_allowed, _) = (link_allowed?, target_allowed?);
        if target.is_empty() {
            return Err(FsError::InvalidInput(format!("{link}: the target is empty")));
        }
        let loc = self.resolve(op, link_allowed, How::NO_FOLLOW)?;
        // The link's directory was reached through other links: the target is relative to
        // where the link really is, so that is what must be granted.
        let real_dir = parent_of(&loc.path);
        if relative && lexical_dir.as_deref() != Some(real_dir) {
            let real_target = normalize_or_raw(&join(real_dir, target));
            self.allow(op, &real_target, &[FsAction::Read])?;
        }
        let stored = if from_home {
            self.absolute(target)?.into_owned()
        } else {
            target.to_string()
        };
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

    /// The target of a symbolic link, as stored: `metadata` on the link's path.
    pub(crate) fn read_symlink_as(&mut self, op: &str, path: &str) -> Result<String, FsError> {
        let loc = self.locate(op, path, &[FsAction::Metadata], How::NO_FOLLOW)?;
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

    /// The metadata of an allowed path (`how` says whether a final link is followed).
    pub(crate) fn metadata_as(&mut self, op: &str, allowed: Allowed<'_>, how: How) -> Result<Metadata, FsError> {
        let loc = self.resolve(op, allowed, how)?;
        loc.existing()?;
        Ok(loc.meta.expect("existing() checked that the object is there"))
    }

    /// Sets the access and modification times of an allowed path (already authorized for
    /// `write`) through the inode that was checked, under the hard-link rule. `times` computes
    /// them once the path is located (for its error messages); both omitted is a no-op.
    pub(crate) fn set_times_as(
        &mut self,
        op: &str,
        allowed: Allowed<'_>,
        how: How,
        times: impl FnOnce(&Located) -> Result<Timestamps, FsError>,
    ) -> Result<(), FsError> {
        let loc = self.resolve(op, allowed, how)?;
        loc.existing()?;
        let times = times(&loc)?;
        let omitted = |t: &rustix::fs::Timespec| t.tv_nsec == OMIT.tv_nsec;
        if omitted(&times.last_access) && omitted(&times.last_modification) {
            return Ok(());
        }
        // Through the inode that was checked (the final name is not a link when it was
        // followed, and one swapped in meanwhile is refused).
        let inode = self.inode_to_change(op, &loc)?;
        inode
            .change(
                &loc,
                |path| rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::empty()),
                |fd| rustix::fs::futimens(fd, &times),
            )
            .map_err(|e| io_error(&e, &loc.path))
    }
}
