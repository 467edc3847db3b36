//! The compilation cache: components compiled once and reused from disk on later starts.
//!
//! Loading compiled code trusts its bytes (Wasmtime's `Component::deserialize` is `unsafe`:
//! machine code in the file is run as is). So the cache is used only when it cannot hold
//! anything but what this user's own runs of this tool wrote:
//!
//! - the directory belongs to the user running the tool and nobody else can write it; every
//!   directory above it belongs to the user or to root and nobody else can write it, unless it
//!   is sticky (`/tmp`), so nobody else can replace the cache directory either. A directory that
//!   fails this is not used at all, with a message that names it and the fix.
//! - the directory is opened once, and every entry is read and written relative to that handle
//!   (no path is resolved again), never through a symbolic link;
//! - an entry is a regular file that belongs to the user and nobody else can write, written by
//!   this tool to a temporary file and renamed into place (several processes may fill the cache
//!   at once); it starts with a header that repeats its key, the length of the compiled code that
//!   follows and its CRC-32, and is refused unless all three match (a truncated or altered entry,
//!   or one copied under another component's key). The entry is mapped, not copied, to be checked
//!   and handed to Wasmtime.
//!
//! The key is the SHA-256 digest of the component's bytes, this tool's version and Wasmtime's
//! compatibility hash of the engine's configuration (its version, target and every setting that
//! changes the generated code), so a change of any of them misses the cache instead of loading
//! code built for something else.
//!
//! What the checks do not cover: another process of the same user, or root, can write the cache
//! as it can write the user's own binaries. The checksum detects damage, not such a writer (who
//! could rewrite the checksum with the code, whatever the hash): so it is a CRC-32, which checks
//! a 40 MB entry in a few milliseconds, rather than a cryptographic digest, which took 20.
//!
//! The same directory, with the same checks, keeps **verdicts**: that the static check of a
//! component found nothing, under a key that covers everything the check depends on (see
//! [`CompileCache::knows_clean`]), so that a later start with nothing changed skips it.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::fs::{Dir, MetadataExt as _, OpenOptions, OpenOptionsExt as _};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The first line of every entry (and part of every key, so that entries of another format are
/// never looked at).
const MAGIC: &[u8] = b"airssys-wasm compiled component 2\n";

/// The first line of a verdict.
const VERDICT: &[u8] = b"airssys-wasm clean verdict 1\n";

/// Entries larger than this are refused unread (an 18 MB interpreter compiles to about 60 MB).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// A cache directory that passed the checks, held open.
#[derive(Debug)]
pub struct CompileCache {
    path: PathBuf,
    dir: Dir,
}

/// What the cache did for one compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The compiled component was loaded from the cache.
    Hit,
    /// It was compiled and stored.
    Stored,
    /// It was compiled; an entry under its key was refused, for this reason, and replaced.
    Refused(String),
    /// It was compiled; storing it failed for this reason (the run goes on).
    NotStored(String),
}

impl CompileCache {
    /// The directory the cache lives in unless told otherwise: `AIRSSYS_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/airssys-wasm`, else `$HOME/.cache/airssys-wasm`.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        var("AIRSSYS_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("airssys-wasm")))
            .or_else(|| var("HOME").map(|d| d.join(".cache/airssys-wasm")))
    }

    /// Opens the cache at `path`, creating it (mode 0700) when missing, after the checks of the
    /// module documentation.
    ///
    /// # Errors
    /// A message that names the directory, what is wrong and how to fix it.
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        if !path.is_absolute() {
            return Err(format!(
                "the compilation cache {shown} is not an absolute path; give one (AIRSSYS_CACHE_DIR)"
            ));
        }
        if std::fs::symlink_metadata(path).is_err() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(|e| format!("cannot create the compilation cache {shown}: {e}"))?;
        }
        let real = path
            .canonicalize()
            .map_err(|e| format!("cannot open the compilation cache {shown}: {e}"))?;
        let me = rustix::process::geteuid().as_raw();
        for ancestor in real.ancestors().skip(1) {
            let meta = std::fs::metadata(ancestor)
                .map_err(|e| format!("cannot check {} above the compilation cache: {e}", ancestor.display()))?;
            use std::os::unix::fs::MetadataExt as _;
            let others_write = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
            if (meta.uid() != me && meta.uid() != 0) || others_write {
                return Err(format!(
                    "the compilation cache {shown} is not used: {} above it {}, so someone else could replace the cache; move the cache (AIRSSYS_CACHE_DIR) or run with --no-cache",
                    ancestor.display(),
                    if others_write {
                        "can be written by others and is not sticky"
                    } else {
                        "belongs to another user"
                    }
                ));
            }
        }
        let dir = Dir::open_ambient_dir(&real, cap_std::ambient_authority())
            .map_err(|e| format!("cannot open the compilation cache {shown}: {e}"))?;
        let meta = dir
            .dir_metadata()
            .map_err(|e| format!("cannot check the compilation cache {shown}: {e}"))?;
        if meta.uid() != me {
            return Err(format!(
                "the compilation cache {shown} is not used: it belongs to user {}, not to you (user {me}); remove it or choose another directory (AIRSSYS_CACHE_DIR), or run with --no-cache",
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "the compilation cache {shown} is not used: others can write it (mode {:o}); run `chmod go-w {shown}`, or run with --no-cache",
                meta.mode() & 0o7777
            ));
        }
        Ok(CompileCache { path: real, dir })
    }

    /// The directory, as resolved when it was opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key of `bytes` compiled by `engine`: hex SHA-256.
    pub fn key(engine: &Engine, bytes: &[u8]) -> String {
        Self::key_of(engine, &Digest::of(bytes))
    }

    /// [`Self::key`] of the bytes whose SHA-256 digest is `digest`.
    pub fn key_of(engine: &Engine, digest: &Digest) -> String {
        let mut hasher = ShaHasher(Sha256::new());
        hasher.0.update(MAGIC);
        hasher.0.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.0.update([0]);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.0.update([0]);
        hasher.0.update(digest.0);
        format!("{:x}", hasher.0.finalize())
    }

    fn entry_name(key: &str) -> String {
        format!("{key}.cwasm")
    }

    /// The compiled component stored under `key`, if there is an acceptable entry: `Ok(None)`
    /// when there is none, `Err` with the reason it was refused.
    pub fn load(&self, engine: &Engine, key: &str) -> Result<Option<Component>, String> {
        let name = Self::entry_name(key);
        let Some((file, len)) = self.open_entry(&name, MAX_ENTRY_BYTES)? else {
            return Ok(None);
        };
        let mapped = Mapped::of(&file, len).map_err(|e| format!("{name}: {e}"))?;
        let code = check_entry(mapped.bytes(), key).map_err(|why| format!("{name} {why}"))?;
        // SAFETY: `code` is what `Component::serialize` produced in a run of this tool for this
        // key (this component, this tool's version, this engine's configuration): the entry is a
        // regular file of this user that nobody else can write, in a directory only this user
        // can write (checked in `open`, and here), and its length and checksum match the ones
        // written with it. Wasmtime checks its own header and compatibility again before
        // loading, and copies the code out of the mapping.
        let component = unsafe { Component::deserialize(engine, code) }
            .map_err(|e| format!("{name} was refused by Wasmtime: {e}"))?;
        Ok(Some(component))
    }

    /// The entry `name`, opened if it is acceptable: a regular file (not a link) of this user
    /// that nobody else can write, of at most `max` bytes; with its length. `Ok(None)` when
    /// there is none.
    fn open_entry(&self, name: &str, max: u64) -> Result<Option<(cap_std::fs::File, u64)>, String> {
        let mut options = OpenOptions::new();
        options
            .read(true)
            .follow(FollowSymlinks::No)
            .custom_flags(libc::O_NONBLOCK);
        let file = match self.dir.open_with(name, &options) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{name} cannot be opened ({e}): a link or unreadable")),
        };
        let meta = file.metadata().map_err(|e| format!("{name}: {e}"))?;
        let me = rustix::process::geteuid().as_raw();
        if !meta.is_file() {
            return Err(format!("{name} is not a regular file"));
        }
        if meta.uid() != me || meta.mode() & 0o022 != 0 {
            return Err(format!(
                "{name} belongs to user {} with mode {:o}: not written by you alone",
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
        if meta.len() > max {
            return Err(format!("{name} is {} bytes, over the limit of {max}", meta.len()));
        }
        Ok(Some((file, meta.len())))
    }

    /// [`Self::open_entry`], read whole.
    fn read_entry(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
        let Some((mut file, len)) = self.open_entry(name, max)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(len as usize);
        (&mut file)
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Some(bytes))
    }

    /// Writes the entry `name` from `parts`: to a temporary file (mode 0600), then renamed into
    /// place, so that a reader never sees half an entry.
    fn write_entry(&self, name: &str, parts: &[&[u8]]) -> Result<(), String> {
        let tmp = format!(".{name}.{}.{}.tmp", std::process::id(), unique());
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(FollowSymlinks::No)
            .mode(0o600);
        let written = (|| {
            let mut file = self.dir.open_with(&tmp, &options)?;
            for part in parts {
                file.write_all(part)?;
            }
            file.sync_all()?;
            self.dir.rename(&tmp, &self.dir, name)
        })();
        written.map_err(|e| {
            let _ = self.dir.remove_file(&tmp);
            format!("cannot write {}: {e}", self.path.join(name).display())
        })
    }

    /// The key of a static check: hex SHA-256 of `inputs`, each one length-prefixed, after this
    /// tool's version. The caller names everything the check depends on.
    pub fn verdict_key(inputs: &[&[u8]]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(VERDICT);
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        for input in inputs {
            hasher.update((input.len() as u64).to_le_bytes());
            hasher.update(input);
        }
        format!("{:x}", hasher.finalize())
    }

    /// Whether a clean verdict is stored under `key` ([`Self::remember_clean`]). An entry that
    /// is missing, damaged or not written by this user alone is no verdict: the check runs.
    pub fn knows_clean(&self, key: &str) -> bool {
        let name = format!("{key}.verdict");
        matches!(self.read_entry(&name, 256), Ok(Some(bytes)) if bytes.strip_prefix(VERDICT) == Some(format!("{key}\n").as_bytes()))
    }

    /// Stores that the static check found nothing under `key`.
    ///
    /// # Errors
    /// The reason it could not be written.
    pub fn remember_clean(&self, key: &str) -> Result<(), String> {
        self.write_entry(&format!("{key}.verdict"), &[VERDICT, format!("{key}\n").as_bytes()])
    }

    /// Stores `component` under `key`: written to a temporary file (mode 0600) and renamed into
    /// place, so that a reader never sees half an entry.
    ///
    /// # Errors
    /// The reason it could not be written.
    pub fn store(&self, key: &str, component: &Component) -> Result<(), String> {
        let code = component.serialize().map_err(|e| format!("cannot serialise: {e}"))?;
        let header = format!("{key}\n{} {:08x}\n", code.len(), crc32fast::hash(&code));
        self.write_entry(&Self::entry_name(key), &[MAGIC, header.as_bytes(), &code])
    }

    /// [`Self::load`], or compile and [`Self::store`].
    ///
    /// # Errors
    /// The bytes are not a component Wasmtime can compile.
    pub fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        self.compile_digested(engine, bytes, &Digest::of(bytes))
    }

    /// [`Self::compile`] of `bytes` whose SHA-256 digest the caller has already: `digest`.
    ///
    /// # Errors
    /// The bytes are not a component Wasmtime can compile.
    pub fn compile_digested(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &Digest,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let key = Self::key_of(engine, digest);
        let refused = match self.load(engine, &key) {
            Ok(Some(component)) => return Ok((component, CacheOutcome::Hit)),
            Ok(None) => None,
            Err(why) => Some(why),
        };
        let component = Component::new(engine, bytes)?;
        let outcome = match (self.store(&key, &component), refused) {
            (Err(why), _) => CacheOutcome::NotStored(why),
            (Ok(()), Some(why)) => CacheOutcome::Refused(why),
            (Ok(()), None) => CacheOutcome::Stored,
        };
        Ok((component, outcome))
    }
}

/// The compiled code of an entry, after its header: `MAGIC`, the key, the code's length and
/// CRC-32.
fn check_entry<'a>(bytes: &'a [u8], key: &str) -> Result<&'a [u8], Cow<'static, str>> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("is not an entry of this cache")?;
    let mut lines = rest.splitn(3, |b| *b == b'\n');
    let (Some(stored_key), Some(sum), Some(code)) = (lines.next(), lines.next(), lines.next()) else {
        return Err("is truncated".into());
    };
    if stored_key != key.as_bytes() {
        return Err("was written for another component or configuration".into());
    }
    let expected = format!("{} {:08x}", code.len(), crc32fast::hash(code));
    if sum != expected.as_bytes() {
        return Err("does not match its length and checksum: it is truncated or was altered".into());
    }
    Ok(code)
}

/// A file mapped read-only, unmapped when dropped.
struct Mapped {
    at: *mut std::ffi::c_void,
    len: usize,
}

impl Mapped {
    /// Maps the first `len` bytes of `file` (which the caller has checked); an empty file maps
    /// to no bytes.
    fn of(file: &cap_std::fs::File, len: u64) -> std::io::Result<Mapped> {
        let len = usize::try_from(len).map_err(|_| std::io::Error::other("too large to map"))?;
        if len == 0 {
            return Ok(Mapped {
                at: std::ptr::null_mut(),
                len,
            });
        }
        // SAFETY: a fresh private read-only mapping of a file this process opened, of the
        // length its metadata gave; no other memory is affected.
        let at = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
                file,
                0,
            )
        }?;
        Ok(Mapped { at, len })
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `at` maps `len` readable bytes until `self` is dropped. The entry is a file
        // only this user can write; if it were truncated meanwhile, reading past its end would
        // fault, as with any mapped file (the same holds for Wasmtime's own mapped files).
        unsafe { std::slice::from_raw_parts(self.at.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the mapping made in `of`, not used after this.
            let _ = unsafe { rustix::mm::munmap(self.at, self.len) };
        }
    }
}

/// A number no other temporary file of this process uses.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Feeds what a `Hash` writes into SHA-256.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    const COMPONENT: &str = r#"(component (core module (func (export "f"))) (core instance (instantiate 0)))"#;

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        found.sort();
        found
    }

    #[test]
    fn a_second_compilation_is_loaded_from_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let cache = CompileCache::open(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let engine = engine();
        let bytes = wat::parse_str(COMPONENT).unwrap();
        let (_, first) = cache.compile(&engine, &bytes).unwrap();
        assert_eq!(first, CacheOutcome::Stored);
        let (_, second) = cache.compile(&engine, &bytes).unwrap();
        assert_eq!(second, CacheOutcome::Hit);
        let files = entries(&dir);
        assert_eq!(files.len(), 1, "one entry, no temporary file left: {files:?}");
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(std::fs::metadata(&files[0]).unwrap().mode() & 0o777, 0o600);
        // Another configuration is another key.
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).consume_fuel(true);
        let fuel = Engine::new(&config).unwrap();
        assert_ne!(CompileCache::key(&engine, &bytes), CompileCache::key(&fuel, &bytes));
        assert_eq!(cache.compile(&fuel, &bytes).unwrap().1, CacheOutcome::Stored);
    }

    /// What damages an entry.
    type Spoil = Box<dyn Fn()>;

    /// Every way an entry can be damaged or misplaced is refused, then replaced by a good one.
    /// A verdict is known only under its own key, as this tool wrote it, in a file of this user
    /// alone; anything else is no verdict (the check runs again).
    #[test]
    fn verdicts_are_known_only_as_written() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let cache = CompileCache::open(&dir).unwrap();
        let key = CompileCache::verdict_key(&[b"component", b"manifest"]);
        let other = CompileCache::verdict_key(&[b"component", b"manifest, changed"]);
        assert_ne!(key, other, "every input is in the key");
        assert_ne!(
            CompileCache::verdict_key(&[b"ab", b"c"]),
            CompileCache::verdict_key(&[b"a", b"bc"]),
            "inputs are delimited"
        );
        assert!(!cache.knows_clean(&key));
        cache.remember_clean(&key).unwrap();
        assert!(cache.knows_clean(&key));
        assert!(!cache.knows_clean(&other));
        let entry = dir.join(format!("{key}.verdict"));
        let good = std::fs::read(&entry).unwrap();
        let spoils: Vec<(&str, Spoil)> = vec![
            ("another key's verdict", {
                let (dir, entry, other) = (dir.clone(), entry.clone(), other.clone());
                Box::new(move || {
                    std::fs::copy(dir.join(format!("{other}.verdict")), &entry).unwrap();
                })
            }),
            ("truncated", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || std::fs::write(&entry, &good[..good.len() - 2]).unwrap())
            }),
            ("writable by others", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || {
                    std::fs::write(&entry, &good).unwrap();
                    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
                })
            }),
            ("a link to a good verdict", {
                let (dir, entry, good) = (dir.clone(), entry.clone(), good.clone());
                Box::new(move || {
                    std::fs::write(dir.join("elsewhere"), &good).unwrap();
                    std::fs::remove_file(&entry).unwrap();
                    std::os::unix::fs::symlink(dir.join("elsewhere"), &entry).unwrap();
                })
            }),
        ];
        cache.remember_clean(&other).unwrap();
        for (what, spoil) in spoils {
            spoil();
            assert!(!cache.knows_clean(&key), "{what}");
            let _ = std::fs::remove_file(&entry);
            cache.remember_clean(&key).unwrap();
            assert!(cache.knows_clean(&key), "{what}: written again");
        }
    }

    #[test]
    fn damaged_or_misplaced_entries_are_refused_and_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let cache = CompileCache::open(&dir).unwrap();
        let engine = engine();
        let bytes = wat::parse_str(COMPONENT).unwrap();
        let other = wat::parse_str(r#"(component (core module (func (export "g"))))"#).unwrap();
        cache.compile(&engine, &bytes).unwrap();
        cache.compile(&engine, &other).unwrap();
        let entry = dir.join(format!("{}.cwasm", CompileCache::key(&engine, &bytes)));
        let other_entry = dir.join(format!("{}.cwasm", CompileCache::key(&engine, &other)));
        let good = std::fs::read(&entry).unwrap();
        let damage: Vec<(&str, Spoil)> = vec![
            ("altered", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || {
                    let mut bad = good.clone();
                    let last = bad.len() - 1;
                    bad[last] ^= 0xff;
                    std::fs::write(&entry, bad).unwrap();
                })
            }),
            ("truncated", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || std::fs::write(&entry, &good[..good.len() / 2]).unwrap())
            }),
            ("truncated in the header", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || std::fs::write(&entry, &good[..MAGIC.len() + 10]).unwrap())
            }),
            ("another component's entry", {
                let (entry, other_entry) = (entry.clone(), other_entry.clone());
                Box::new(move || {
                    std::fs::copy(&other_entry, &entry).unwrap();
                })
            }),
            ("not an entry", {
                let entry = entry.clone();
                Box::new(move || std::fs::write(&entry, b"\x7fELF").unwrap())
            }),
            ("a link to a good entry", {
                let (entry, good, dir) = (entry.clone(), good.clone(), dir.clone());
                Box::new(move || {
                    std::fs::write(dir.join("elsewhere"), &good).unwrap();
                    std::fs::remove_file(&entry).unwrap();
                    std::os::unix::fs::symlink(dir.join("elsewhere"), &entry).unwrap();
                })
            }),
            ("writable by others", {
                let (entry, good) = (entry.clone(), good.clone());
                Box::new(move || {
                    std::fs::write(&entry, &good).unwrap();
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
                })
            }),
        ];
        for (what, spoil) in damage {
            spoil();
            let (_, outcome) = cache.compile(&engine, &bytes).unwrap();
            assert!(matches!(outcome, CacheOutcome::Refused(_)), "{what}: {outcome:?}");
            assert_eq!(
                cache.compile(&engine, &bytes).unwrap().1,
                CacheOutcome::Hit,
                "{what}: replaced"
            );
        }
    }

    #[test]
    fn a_directory_others_can_write_or_that_is_not_ours_is_not_used() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = CompileCache::open(&dir).unwrap_err();
        assert!(
            error.contains("others can write it") && error.contains("chmod go-w"),
            "{error}"
        );

        // A parent others can write (and not sticky): the cache could be replaced.
        let parent = tmp.path().join("open");
        std::fs::create_dir(&parent).unwrap();
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = CompileCache::open(&parent.join("cache")).unwrap_err();
        assert!(error.contains("can be written by others and is not sticky"), "{error}");
        // Sticky, as /tmp: fine.
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(CompileCache::open(&parent.join("cache")).is_ok());

        // Another user's directory (the tests may run as root, who can make one).
        if rustix::process::geteuid().is_root() {
            let theirs = tmp.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
            let error = CompileCache::open(&theirs).unwrap_err();
            assert!(error.contains("belongs to user 65534"), "{error}");
        }

        assert!(
            CompileCache::open(Path::new("relative/cache"))
                .unwrap_err()
                .contains("not an absolute path")
        );
    }
}
