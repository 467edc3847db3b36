//! From a guest path to an opened directory and a name in it: the guard, the base directory
//! of the grant, and the host's own resolution of symbolic links (see the module above).

use std::borrow::Cow;
use std::io;
use std::ops::Deref;
use std::sync::Arc;

use cap_fs_ext::DirExt as _;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata};

use super::FsView;
use super::ops::Opening;
use super::{FsError, io_error};
use crate::policy::{Domain, FsAction, GrantRef, PathPattern, Request, normalize_cow, normalize_path};
use crate::runtime::guard::{ComponentPolicy, Denied};

/// Symbolic links followed while resolving one path, as Linux's `MAXSYMLINKS`.
pub(crate) const MAX_SYMLINK_HOPS: usize = 40;

/// The name that stands for the parent directory itself (only for `/`).
const ITSELF: &str = ".";

/// A path the guard allowed, with the grant that allowed each action (`None` when report-only
/// or unguarded mode let it through without one).
#[derive(Debug)]
pub(crate) struct Allowed<'a> {
    raw: &'a str,
    grants: Vec<(FsAction, Option<GrantRef>)>,
}

/// Whether resolution follows a symbolic link in the final name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Final {
    Follow,
    NoFollow,
}

/// Start directories kept open for the instance's lifetime, like preopened directories.
/// Every directory opened through it is a walk's start or above one, which by construction
/// (see [`Base::start`]) no grant lets the component write, create or replace; keeping it open
/// saves an `open` and a `close` on every operation.
#[derive(Debug, Default)]
pub(crate) struct StartDirs(foldhash::HashMap<String, Arc<Dir>>);

/// Start directories kept at most (a component has a start per filesystem grant, or `/`).
const MAX_START_DIRS: usize = 64;

impl StartDirs {
    /// The start directory `path`, opened once (see [`open_base`]).
    fn open(&mut self, path: &str, create: bool) -> Result<DirRef, FsError> {
        if let Some(dir) = self.0.get(path) {
            return Ok(DirRef::Shared(Arc::clone(dir)));
        }
        let dir = Arc::new(open_base(path, create)?);
        if self.0.len() >= MAX_START_DIRS {
            self.0.clear();
        }
        self.0.insert(path.to_string(), Arc::clone(&dir));
        Ok(DirRef::Shared(dir))
    }
}

/// A directory a resolution holds: a start directory shared with [`StartDirs`], or one opened
/// below it for this operation.
#[derive(Debug)]
pub(crate) enum DirRef {
    Shared(Arc<Dir>),
    Owned(Dir),
}

impl std::os::fd::AsFd for DirRef {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        (**self).as_fd()
    }
}

impl Deref for DirRef {
    type Target = Dir;

    fn deref(&self) -> &Dir {
        match self {
            DirRef::Shared(dir) => dir,
            DirRef::Owned(dir) => dir,
        }
    }
}

/// A resolved path: the directory that holds the object, opened without following links, and
/// the object's name in it.
#[derive(Debug)]
pub(crate) struct Located {
    /// The directory holding the object.
    pub(crate) parent: DirRef,
    /// The object's name in `parent` (`.` when the object is `/` itself).
    pub(crate) name: String,
    /// The absolute, normal path of the object, symbolic links before it resolved.
    pub(crate) path: String,
    /// The object's own metadata (not following a link); `None` when nothing is there.
    pub(crate) meta: Option<Metadata>,
    /// The guest's path (or the last link's target) ended in `/`, `/.` or `/..`.
    pub(crate) dir_required: bool,
    /// The object itself, when [`How::open`] asked for it and it opened (see there).
    pub(crate) opened: Opened,
}

/// A file that resolution opened as its final step ([`How::open`]), for the caller to take.
#[derive(Default)]
pub(crate) struct Opened(std::cell::Cell<Option<cap_std::fs::File>>);

impl Opened {
    /// The opened file, once.
    pub(crate) fn take(&self) -> Option<cap_std::fs::File> {
        self.0.take()
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opened")
    }
}

impl Located {
    /// The metadata, or `not-found`.
    pub(crate) fn existing(&self) -> Result<&Metadata, FsError> {
        self.meta.as_ref().ok_or_else(|| FsError::NotFound(self.path.clone()))
    }

    /// Whether the object is `/` itself (which has no parent to act in).
    pub(crate) fn is_root(&self) -> bool {
        self.name == ITSELF
    }

    /// Refuses to treat a path that names a directory (a trailing `/`) as a file.
    pub(crate) fn file_path(&self) -> Result<(), FsError> {
        if self.dir_required {
            return Err(FsError::IsADirectory(format!(
                "{} (the path ends in `/`, so it names a directory)",
                self.path
            )));
        }
        Ok(())
    }

    /// Opens the object, which must be a directory, without following a link.
    pub(crate) fn open_dir(&self) -> Result<Dir, FsError> {
        if !self.existing()?.is_dir() {
            return Err(FsError::NotADirectory(self.path.clone()));
        }
        let dir = if self.is_root() {
            self.parent.try_clone()
        } else {
            self.parent.open_dir_nofollow(&self.name)
        };
        dir.map_err(|e| io_error(&e, &self.path))
    }
}

/// A denial as the operation's error.
pub(crate) fn denied(denial: Denied) -> FsError {
    FsError::PermissionDenied(denial.0)
}

/// `dir/name`, for absolute directory paths (`/` included).
pub(crate) fn join(dir: &str, name: &str) -> String {
    let mut joined = String::with_capacity(dir.len() + 1 + name.len());
    joined.push_str(dir);
    if !dir.ends_with('/') {
        joined.push('/');
    }
    joined.push_str(name);
    joined
}

/// The directory part of an absolute normal path (`/` for `/x` and for `/`).
pub(crate) fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Whether `path` names a directory by its spelling: it ends in `/`, `/.` or `/..` (or is
/// `.`/`..` alone, for link targets).
fn names_directory(path: &str) -> bool {
    let last = path
        .as_bytes()
        .iter()
        .rposition(|b| *b == b'/')
        .map_or(path, |slash| &path[slash + 1..]);
    path.len() > 1 && matches!(last, "" | "." | "..") || matches!(path, "." | "..")
}

/// Whether `path` is `base` or below it (both absolute and normal).
fn is_within(path: &str, base: &str) -> bool {
    base == "/" || path == base || path.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'))
}

/// Opens a base directory the manifest named, following what links it has (it is trusted as
/// written). With `create`, a missing base is created first.
fn open_base(path: &str, create: bool) -> Result<Dir, FsError> {
    match Dir::open_ambient_dir(path, ambient_authority()) {
        Ok(dir) => Ok(dir),
        Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
            Dir::create_ambient_dir_all(path, ambient_authority()).map_err(|e| io_error(&e, path))?;
            Dir::open_ambient_dir(path, ambient_authority()).map_err(|e| io_error(&e, path))
        }
        Err(e) => Err(io_error(&e, path)),
    }
}

/// Opens `names` below `dir` in one system call that refuses every symbolic link and any
/// escape; `None` when that fails for any reason (a link on the way, a missing directory, an
/// old kernel), and the caller walks name by name to find out.
#[cfg(target_os = "linux")]
fn open_beneath(dir: &Dir, names: &[&str]) -> Option<Dir> {
    use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let fd = openat2(dir, names.join("/"), flags, Mode::empty(), resolve).ok()?;
    Some(Dir::from_std_file(std::fs::File::from(fd)))
}

#[cfg(not(target_os = "linux"))]
fn open_beneath(_dir: &Dir, _names: &[&str]) -> Option<Dir> {
    None
}

/// How [`FsView::resolve`] treats what it meets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct How {
    /// Follow a link in the final name.
    pub(crate) last: Final,
    /// Create missing directories on the way (`create-dir-all`).
    pub(crate) create_dirs: bool,
    /// Open the final name this way (without following a link) instead of first reading its
    /// metadata: one system call fewer for the operations that open what they resolve. A
    /// final link (`ELOOP`), a directory opened for writing, or any other error falls back to
    /// the usual step, which reads the metadata and follows or refuses the link; a name that is
    /// not there (and is not to be created) resolves as absent.
    pub(crate) open: Option<Opening>,
}

impl How {
    pub(crate) const FOLLOW: How = How {
        last: Final::Follow,
        create_dirs: false,
        open: None,
    };
    pub(crate) const NO_FOLLOW: How = How {
        last: Final::NoFollow,
        create_dirs: false,
        open: None,
    };
}

/// What one pass of the walk found.
enum Step {
    Done(Box<Located>),
    /// A symbolic link: resolution restarts from this path (and whether the link's target
    /// names a directory by its spelling); the link's own path.
    Hop(String, bool, String),
}

impl FsView<'_> {
    /// The guard for `raw` with each of `actions`, one audit line each; all are asked even
    /// after a denial, so that the log shows the whole request.
    pub(crate) fn allow<'a>(&mut self, op: &str, raw: &'a str, actions: &[FsAction]) -> Result<Allowed<'a>, FsError> {
        let mut grants = Vec::with_capacity(actions.len());
        let mut denial = None;
        for &action in actions {
            match self.guard.authorize(op, Request::Fs { action, path: raw }) {
                Ok(grant) => grants.push((action, grant)),
                Err(d) => {
                    denial.get_or_insert(d);
                }
            }
        }
        match denial {
            Some(d) => Err(denied(d)),
            None => Ok(Allowed { raw, grants }),
        }
    }

    /// [`Self::allow`] then [`Self::resolve`].
    pub(crate) fn locate(&mut self, op: &str, raw: &str, actions: &[FsAction], how: How) -> Result<Located, FsError> {
        let allowed = self.allow(op, raw, actions)?;
        self.resolve(op, allowed, how)
    }

    /// What the policy says about paths, computed on the instance's first filesystem call.
    fn policy_paths(&mut self) -> &PolicyPaths {
        let policy = &self.guard.policy;
        self.fs.paths.get_or_insert_with(|| PolicyPaths::of(policy))
    }

    /// The base directories of the filesystem grants (see the module documentation), sorted
    /// and without repeats: what a WASI guest gets as preopened directories.
    pub(crate) fn grant_bases(&mut self) -> Vec<String> {
        let mut bases: Vec<String> = self
            .policy_paths()
            .bases
            .iter()
            .flatten()
            .map(|base| base.dir.clone())
            .collect();
        bases.sort();
        bases.dedup();
        bases
    }

    /// `raw` normalised, with `~` expanded: an absolute path (borrowed when `raw` is one).
    pub(crate) fn absolute<'r>(&mut self, raw: &'r str) -> Result<Cow<'r, str>, FsError> {
        let normal = normalize_cow(raw).map_err(|e| FsError::InvalidInput(format!("{}: {e}", raw.escape_debug())))?;
        let Some(rest) = normal.strip_prefix('~') else {
            return Ok(normal);
        };
        let home = self
            .policy_paths()
            .home
            .clone()
            .ok_or_else(|| FsError::InvalidInput(format!("{raw}: the host does not know the home directory")))?;
        Ok(Cow::Owned(match (home.as_str(), rest) {
            (_, "") => home,
            ("/", rest) => rest.to_string(),
            (home, rest) => format!("{home}{rest}"),
        }))
    }

    /// Resolves an allowed path to its parent directory and final name (see the module
    /// documentation): inside the base of the grant, one name at a time, each symbolic link
    /// read and its target authorized again with the same actions.
    pub(crate) fn resolve(&mut self, op: &str, allowed: Allowed<'_>, how: How) -> Result<Located, FsError> {
        let raw = allowed.raw;
        let mut grants = allowed.grants;
        let mut path = self.absolute(raw)?;
        let mut dir_required = names_directory(raw);
        let mut hops = 0;
        loop {
            let step = {
                let policy = &self.guard.policy;
                let fs = &mut self.fs;
                let paths = fs.paths.get_or_insert_with(|| PolicyPaths::of(policy));
                walk(paths, &mut fs.starts, &path, &grants, how, dir_required)?
            };
            let (next, names_dir, link) = match step {
                Step::Done(located) => return Ok(*located),
                Step::Hop(next, names_dir, link) => (next, names_dir, link),
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(FsError::SymlinkLoop(format!(
                    "{raw}: more than {MAX_SYMLINK_HOPS} symbolic links"
                )));
            }
            dir_required |= names_dir;
            // Authorize the link's target with every action of the request (each line marked
            // with the link).
            let mut next_grants = Vec::with_capacity(grants.len());
            let mut denial = None;
            for &(action, _) in &grants {
                match self.guard.authorize_hop(op, Request::Fs { action, path: &next }, &link) {
                    Ok(grant) => next_grants.push((action, grant)),
                    Err(d) => {
                        denial.get_or_insert(d);
                    }
                }
            }
            if let Some(d) = denial {
                return Err(denied(d));
            }
            grants = next_grants;
            path = Cow::Owned(next);
        }
    }
}

/// One pass from the start of `path`'s base down to its final name.
fn walk(
    paths: &PolicyPaths,
    starts: &mut StartDirs,
    path: &str,
    grants: &[(FsAction, Option<GrantRef>)],
    how: How,
    dir_required: bool,
) -> Result<Step, FsError> {
    let base = paths.start_for(grants, path);
    let below = path.strip_prefix(base).unwrap_or("").trim_matches('/');
    // The directory the walk starts in, its path, the directories below it and the final name.
    let (mut dir, mut here, dirs, last): (_, Cow<'_, str>, Vec<&str>, &str) = if below.is_empty() {
        if base == "/" {
            let dir = starts.open("/", false)?;
            let meta = dir.dir_metadata().map_err(|e| io_error(&e, "/"))?;
            return Ok(Step::Done(Box::new(Located {
                parent: dir,
                name: ITSELF.to_string(),
                path: "/".to_string(),
                meta: Some(meta),
                dir_required,
                opened: Opened::default(),
            })));
        }
        // The base itself: act on it from its parent.
        let parent = parent_of(base);
        let name = base.rsplit('/').next().unwrap_or_default();
        (
            starts.open(parent, how.create_dirs)?,
            Cow::Borrowed(parent),
            Vec::new(),
            name,
        )
    } else {
        let (dirs, last) = match below.rsplit_once('/') {
            Some((dirs, last)) => (dirs.split('/').filter(|s| !s.is_empty()).collect(), last),
            None => (Vec::new(), below),
        };
        (starts.open(base, how.create_dirs)?, Cow::Borrowed(base), dirs, last)
    };
    if last.is_empty() {
        return Err(FsError::Io(format!("{path}: nothing to resolve")));
    }
    let mut i = 0;
    if dirs.len() > 1
        && let Some(opened) = open_beneath(&dir, &dirs)
    {
        dir = DirRef::Owned(opened);
        for name in &dirs {
            here = Cow::Owned(join(&here, name));
        }
        i = dirs.len();
    }
    let mut created = None;
    while let Some(name) = dirs.get(i) {
        let child = join(&here, name);
        match dir.open_dir_nofollow(name) {
            Ok(next) => {
                dir = DirRef::Owned(next);
                here = Cow::Owned(child);
                i += 1;
            }
            Err(open_error) => match dir.symlink_metadata(name) {
                Ok(m) if m.file_type().is_symlink() => {
                    let tail: Vec<&str> = dirs[i + 1..].iter().chain([&last]).copied().collect();
                    return hop(&dir, name, &here, &tail);
                }
                Ok(m) if !m.is_dir() => return Err(FsError::NotADirectory(child)),
                Ok(_) => return Err(io_error(&open_error, &child)),
                Err(e) if how.create_dirs && e.kind() == io::ErrorKind::NotFound && created != Some(i) => {
                    created = Some(i);
                    match dir.create_dir(name) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(io_error(&e, &child)),
                    }
                    // Open what was just created on the next turn.
                }
                Err(e) => return Err(io_error(&e, &child)),
            },
        }
    }
    let full = join(&here, last);
    if let (Some(opening), false) = (how.open, dir_required) {
        match opening.open_name(&dir, last) {
            Ok(file) => {
                let meta = file.metadata().map_err(|e| io_error(&e, &full))?;
                return Ok(Step::Done(Box::new(Located {
                    parent: dir,
                    name: last.to_string(),
                    path: full,
                    meta: Some(meta),
                    dir_required,
                    opened: Opened(std::cell::Cell::new(Some(file))),
                })));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !opening.create => {
                return Ok(Step::Done(Box::new(Located {
                    parent: dir,
                    name: last.to_string(),
                    path: full,
                    meta: None,
                    dir_required,
                    opened: Opened::default(),
                })));
            }
            // A link, a directory opened for writing, ...: the usual step below.
            Err(_) => {}
        }
    }
    let meta = match dir.symlink_metadata(last) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(&e, &full)),
    };
    let follow = how.last == Final::Follow || dir_required;
    if follow && meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        return hop(&dir, last, &here, &[]);
    }
    if dir_required && meta.as_ref().is_some_and(|m| !m.is_dir()) {
        return Err(FsError::NotADirectory(full));
    }
    Ok(Step::Done(Box::new(Located {
        parent: dir,
        name: last.to_string(),
        path: full,
        meta,
        dir_required,
        opened: Opened::default(),
    })))
}

/// Reads the link `name` in `dir` (whose path is `here`) and returns where the walk goes on:
/// the target joined lexically to `here`, followed by the names `tail` that came after the
/// link (none when the link is the final name).
fn hop(dir: &Dir, name: &str, here: &str, tail: &[&str]) -> Result<Step, FsError> {
    let link = join(here, name);
    let target = dir.read_link_contents(name).map_err(|e| io_error(&e, &link))?;
    let target = target
        .to_str()
        .ok_or_else(|| FsError::Io(format!("{link}: the link's target is not UTF-8")))?;
    let mut joined = if target.starts_with('/') {
        target.to_string()
    } else {
        join(here, target)
    };
    for next in tail {
        joined.push('/');
        joined.push_str(next);
    }
    let names_dir = tail.is_empty() && names_directory(target);
    let next = normalize_path(&joined).map_err(|e| FsError::Io(format!("{link}: {e}")))?;
    Ok(Step::Hop(next, names_dir, link))
}

/// What a policy says about paths, for resolution: the home directory and, for each
/// filesystem grant (by manifest index), its base directory and where walks to it start.
#[derive(Debug)]
pub(crate) struct PolicyPaths {
    home: Option<String>,
    bases: Vec<Option<Base>>,
}

/// The base directory of a grant, and the directory a walk to it starts from.
#[derive(Clone, Debug)]
struct Base {
    /// The literal directory prefix of the grant's pattern.
    dir: String,
    /// The deepest ancestor of `dir` (or `dir` itself) that the component can neither create
    /// nor replace: no grant allows writing it or any directory above it. It is opened as the
    /// operating system resolves it (symbolic links an administrator put there are followed);
    /// everything below it is resolved by the host. Otherwise a component allowed to write
    /// `out/**` could replace `out` itself by a link to a directory it may only read, and the
    /// base of its write grant would then be that directory.
    start: String,
}

impl PolicyPaths {
    fn of(policy: &ComponentPolicy) -> Self {
        // As the decision does: a home that is not absolute is no home.
        let home = policy
            .env
            .home
            .as_deref()
            .and_then(|h| normalize_path(h).ok())
            .filter(|h| h.starts_with('/'));
        let writable = |path: &str| {
            let request = Request::Fs {
                action: FsAction::Write,
                path,
            };
            policy.effective.decide(&request).allowed
        };
        let bases = policy
            .manifest
            .filesystem
            .iter()
            .map(|entry| {
                let dir = base_of(&entry.grant.pattern, home.as_deref())?;
                let start = trusted_start(&dir, writable);
                Some(Base { dir, start })
            })
            .collect();
        PolicyPaths { home, bases }
    }

    /// Where the walk to `path` starts: from the deepest base among the grants that contains
    /// `path`, its trusted start; `/` when no base does.
    fn start_for(&self, grants: &[(FsAction, Option<GrantRef>)], path: &str) -> &str {
        grants
            .iter()
            .filter_map(|(_, grant)| {
                let grant = (*grant)?;
                if grant.domain != Domain::Filesystem {
                    return None;
                }
                self.bases.get(grant.index)?.as_ref()
            })
            .filter(|base| is_within(path, &base.dir))
            .max_by_key(|base| base.dir.len())
            .map_or("/", |base| base.start.as_str())
    }
}

/// The parent of the shortest prefix of `dir` that `writable` says the component may write
/// (`/` for `/`), or `dir` itself when it may write none.
fn trusted_start(dir: &str, writable: impl Fn(&str) -> bool) -> String {
    if writable("/") {
        return "/".to_string();
    }
    let mut prefix = String::new();
    for name in dir.split('/').filter(|n| !n.is_empty()) {
        let parent = if prefix.is_empty() {
            "/".to_string()
        } else {
            prefix.clone()
        };
        prefix.push('/');
        prefix.push_str(name);
        if writable(&prefix) {
            return parent;
        }
    }
    dir.to_string()
}

/// The base directory of a filesystem grant: the literal directories its pattern starts with
/// (the parent, for a pattern without wildcards), `~` expanded; `None` for a `~` pattern when
/// the home is not known.
fn base_of(pattern: &PathPattern, home: Option<&str>) -> Option<String> {
    let pattern = if pattern.is_home_relative() {
        pattern.with_home(home?)
    } else {
        pattern.clone()
    };
    let mut names: Vec<&str> = pattern.literal_prefix().collect();
    if pattern.is_literal() {
        names.pop();
    }
    Some(format!("/{}", names.join("/")))
}
