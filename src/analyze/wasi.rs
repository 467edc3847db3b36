//! WASI mapped onto the manifest's permission domains, by **authority**: what a function lets a
//! component reach, not the mere fact that it is imported.
//!
//! Two tables:
//! - [`interface`]: every interface of WASI 0.2 (any 0.2.x version), as components import them,
//!   with what each function is charged. Interfaces imported only for their types or resources
//!   (`wasi:io/error`, `wasi:cli/terminal-input`, ...) are recognised like any other.
//! - [`preview1`]: every function of WASI preview1 (`wasi_snapshot_preview1`), as core modules
//!   import them, directly or through the preview1 adapter.
//!
//! The model (written down in docs/check.md, "WASI: charged by authority"):
//! - a component reaches files only through a descriptor, and a descriptor comes only from
//!   `wasi:filesystem/preopens.get-directories` (or from another descriptor). The functions that
//!   act on descriptors are [`Gate::Preopens`]: charged only when that source is reachable;
//! - it reaches sockets only through `wasi:sockets/instance-network` (names through
//!   `ip-name-lookup`, which also takes the network): [`Gate::Network`];
//! - it reaches HTTP only through `wasi:http/outgoing-handler.handle`: a network `connect`.
//!
//! Operations on an **open** file or stream (read, write, seek, sync, advise, stat of the
//! descriptor itself) are decided when the descriptor is opened: `open-at` (`path_open`) is
//! charged `read|write`, and at run time the open's flags decide. What can act on a preopened
//! directory without any open (listing it, changing its times) or names a path (`*-at`) is
//! charged its own action. Anything not in these tables is unmapped: the analyzer fails closed.

use crate::policy::{Action, FsAction, NetAction};

/// What must be reachable for a function's charge to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    /// Charged whenever the function is reachable.
    Always,
    /// Acts on a descriptor: charged only when `wasi:filesystem/preopens.get-directories` is
    /// reachable too (no other import yields a descriptor).
    Preopens,
    /// Acts on a socket or a name lookup with the network: charged only when
    /// `wasi:sockets/instance-network.instance-network` is reachable too.
    Network,
}

/// What a function is charged: a list of terms (all needed), each a list of alternative
/// actions (any one enough statically); empty when it needs no grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub terms: &'static [&'static [Action]],
    pub gate: Gate,
}

impl Charge {
    pub const NONE: Charge = Charge {
        terms: &[],
        gate: Gate::Always,
    };

    pub fn is_none(&self) -> bool {
        self.terms.is_empty()
    }
}

/// A recognised WASI 0.2 interface.
#[derive(Debug)]
pub struct Interface {
    /// `package/interface`, e.g. `filesystem/types`.
    pub key: &'static str,
    /// Every function of the interface with its charge. Resource destructors
    /// (`[resource-drop]...`) are not listed: they never need a grant.
    functions: &'static [(&'static str, Charge)],
}

impl Interface {
    /// The charge of a function of this interface (its name as imported, lower case);
    /// `None` when the interface has no such function.
    pub fn function(&self, name: &str) -> Option<Charge> {
        if name.starts_with("[resource-drop]") {
            return Some(Charge::NONE);
        }
        self.functions.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    /// Every function name the interface defines (for tests and documentation).
    pub fn function_names(&self) -> impl Iterator<Item = &'static str> {
        self.functions.iter().map(|(n, _)| *n)
    }
}

/// Where descriptors and networks come from: (interface key, function, the gate it opens).
pub const SOURCES: &[(&str, &str, Gate)] = &[
    ("filesystem/preopens", "get-directories", Gate::Preopens),
    ("sockets/instance-network", "instance-network", Gate::Network),
];

/// Why an import of the `wasi` namespace is not mapped, or the interface.
///
/// `version` must be 0.2.x: the interfaces of 0.2 are stable and semver-compatible, so any
/// patch version links (as in Wasmtime). Other versions, and interfaces outside 0.2's
/// `io`, `clocks`, `random`, `cli`, `filesystem`, `sockets` and `http`, are unmapped.
pub fn interface(package: &str, iface: &str, version: Option<&semver::Version>) -> Result<&'static Interface, String> {
    match version {
        Some(v) if v.major == 0 && v.minor == 2 => {}
        Some(v) => {
            return Err(format!(
                "WASI {v} is not supported: the analyzer maps WASI 0.2.x, whose interfaces it knows"
            ));
        }
        None => {
            return Err("a WASI import without a version cannot be mapped; WASI 0.2 interfaces carry `@0.2.x`".into());
        }
    }
    let key = format!("{package}/{iface}");
    INTERFACES
        .iter()
        .find(|i| i.key == key)
        .ok_or_else(|| format!("`wasi:{key}` is not an interface of WASI 0.2"))
}

/// The core-module names under which WASI preview1 is imported.
pub const PREVIEW1_MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

/// The charge of a WASI preview1 function; `None` when preview1 has no such function.
///
/// Preview1 has no preopen import: preopened directories are simply file descriptors 3, 4, ...,
/// so every function that acts on a directory descriptor is charged whenever imported.
pub fn preview1(name: &str) -> Option<Charge> {
    PREVIEW1.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Every preview1 function name (for tests and documentation).
pub fn preview1_names() -> impl Iterator<Item = &'static str> {
    PREVIEW1.iter().map(|(n, _)| *n)
}

const READ: Action = Action::Fs(FsAction::Read);
const WRITE: Action = Action::Fs(FsAction::Write);
const DELETE: Action = Action::Fs(FsAction::Delete);
const META: Action = Action::Fs(FsAction::Metadata);
const CONNECT: Action = Action::Net(NetAction::Connect);
const RESOLVE: Action = Action::Net(NetAction::Resolve);
const BIND: Action = Action::Net(NetAction::Bind);
const LISTEN: Action = Action::Net(NetAction::Listen);

const fn fs(terms: &'static [&'static [Action]]) -> Charge {
    Charge {
        terms,
        gate: Gate::Preopens,
    }
}

const fn net(terms: &'static [&'static [Action]]) -> Charge {
    Charge {
        terms,
        gate: Gate::Network,
    }
}

const fn always(terms: &'static [&'static [Action]]) -> Charge {
    Charge {
        terms,
        gate: Gate::Always,
    }
}

const N: Charge = Charge::NONE;

// Filesystem charges, shared by WASI 0.2 and preview1.
const OPEN: &[&[Action]] = &[&[READ, WRITE]];
const LIST: &[&[Action]] = &[&[READ]];
const CHANGE: &[&[Action]] = &[&[WRITE]];
const REMOVE: &[&[Action]] = &[&[DELETE]];
const INSPECT: &[&[Action]] = &[&[META]];
/// An identity hash of a file (device and inode): known to anyone who may read it or read its
/// metadata.
const IDENTITY: &[&[Action]] = &[&[READ, META]];
/// As the catalogue's `rename`: delete(src) + write(dest).
const MOVE: &[&[Action]] = &[&[DELETE], &[WRITE]];
/// As the catalogue's `create-symlink`: write(link) + read(target); a hard link likewise.
const LINK: &[&[Action]] = &[&[WRITE], &[READ]];

macro_rules! interfaces {
    ($($key:literal => [$($f:literal: $c:expr),* $(,)?]),* $(,)?) => {
        const INTERFACES: &[Interface] = &[$(Interface { key: $key, functions: &[$(($f, $c)),*] }),*];
    };
}

interfaces! {
    "io/error" => ["[method]error.to-debug-string": N],
    "io/poll" => ["[method]pollable.ready": N, "[method]pollable.block": N, "poll": N],
    "io/streams" => [
        "[method]input-stream.read": N, "[method]input-stream.blocking-read": N,
        "[method]input-stream.skip": N, "[method]input-stream.blocking-skip": N,
        "[method]input-stream.subscribe": N, "[method]output-stream.check-write": N,
        "[method]output-stream.write": N, "[method]output-stream.blocking-write-and-flush": N,
        "[method]output-stream.flush": N, "[method]output-stream.blocking-flush": N,
        "[method]output-stream.subscribe": N, "[method]output-stream.write-zeroes": N,
        "[method]output-stream.blocking-write-zeroes-and-flush": N,
        "[method]output-stream.splice": N, "[method]output-stream.blocking-splice": N,
    ],
    "clocks/monotonic-clock" => ["now": N, "resolution": N, "subscribe-instant": N, "subscribe-duration": N],
    "clocks/wall-clock" => ["now": N, "resolution": N],
    "clocks/timezone" => ["display": N, "utc-offset": N],
    "random/random" => ["get-random-bytes": N, "get-random-u64": N],
    "random/insecure" => ["get-insecure-random-bytes": N, "get-insecure-random-u64": N],
    "random/insecure-seed" => ["insecure-seed": N],
    // The environment and arguments are what the operator passes (`run --env`, `-- ARGS`).
    "cli/environment" => ["get-environment": N, "get-arguments": N, "initial-cwd": N],
    "cli/exit" => ["exit": N, "exit-with-code": N],
    "cli/run" => ["run": N],
    "cli/stdin" => ["get-stdin": N],
    "cli/stdout" => ["get-stdout": N],
    "cli/stderr" => ["get-stderr": N],
    "cli/terminal-input" => [],
    "cli/terminal-output" => [],
    "cli/terminal-stdin" => ["get-terminal-stdin": N],
    "cli/terminal-stdout" => ["get-terminal-stdout": N],
    "cli/terminal-stderr" => ["get-terminal-stderr": N],
    "filesystem/preopens" => ["get-directories": N],
    "filesystem/types" => [
        // Decided when the descriptor was opened (or preopened); `stat` and `metadata-hash`
        // describe the descriptor already held.
        "[method]descriptor.read-via-stream": N,
        "[method]descriptor.write-via-stream": N,
        "[method]descriptor.append-via-stream": N,
        "[method]descriptor.read": N,
        "[method]descriptor.write": N,
        "[method]descriptor.advise": N,
        "[method]descriptor.sync": N,
        "[method]descriptor.sync-data": N,
        "[method]descriptor.get-flags": N,
        "[method]descriptor.get-type": N,
        "[method]descriptor.stat": N,
        "[method]descriptor.metadata-hash": N,
        "[method]descriptor.is-same-object": N,
        "[method]directory-entry-stream.read-directory-entry": N,
        "filesystem-error-code": N,
        // Act on a preopened directory without any open, or change a file.
        "[method]descriptor.read-directory": fs(LIST),
        "[method]descriptor.set-times": fs(CHANGE),
        "[method]descriptor.set-size": fs(CHANGE),
        // Name a path below a descriptor.
        "[method]descriptor.open-at": fs(OPEN),
        "[method]descriptor.create-directory-at": fs(CHANGE),
        "[method]descriptor.set-times-at": fs(CHANGE),
        "[method]descriptor.stat-at": fs(INSPECT),
        "[method]descriptor.readlink-at": fs(INSPECT),
        "[method]descriptor.metadata-hash-at": fs(IDENTITY),
        "[method]descriptor.link-at": fs(LINK),
        "[method]descriptor.symlink-at": fs(LINK),
        "[method]descriptor.rename-at": fs(MOVE),
        "[method]descriptor.unlink-file-at": fs(REMOVE),
        "[method]descriptor.remove-directory-at": fs(REMOVE),
    ],
    "sockets/network" => ["network-error-code": N],
    "sockets/instance-network" => ["instance-network": N],
    "sockets/ip-name-lookup" => [
        "resolve-addresses": net(&[&[RESOLVE]]),
        "[method]resolve-address-stream.resolve-next-address": N,
        "[method]resolve-address-stream.subscribe": N,
    ],
    "sockets/tcp-create-socket" => ["create-tcp-socket": N],
    "sockets/udp-create-socket" => ["create-udp-socket": N],
    "sockets/tcp" => [
        "[method]tcp-socket.start-bind": net(&[&[BIND]]),
        "[method]tcp-socket.finish-bind": net(&[&[BIND]]),
        "[method]tcp-socket.start-connect": net(&[&[CONNECT]]),
        "[method]tcp-socket.finish-connect": net(&[&[CONNECT]]),
        "[method]tcp-socket.start-listen": net(&[&[LISTEN]]),
        "[method]tcp-socket.finish-listen": net(&[&[LISTEN]]),
        "[method]tcp-socket.accept": net(&[&[LISTEN]]),
        "[method]tcp-socket.local-address": N, "[method]tcp-socket.remote-address": N,
        "[method]tcp-socket.is-listening": N, "[method]tcp-socket.address-family": N,
        "[method]tcp-socket.set-listen-backlog-size": N,
        "[method]tcp-socket.keep-alive-enabled": N, "[method]tcp-socket.set-keep-alive-enabled": N,
        "[method]tcp-socket.keep-alive-idle-time": N, "[method]tcp-socket.set-keep-alive-idle-time": N,
        "[method]tcp-socket.keep-alive-interval": N, "[method]tcp-socket.set-keep-alive-interval": N,
        "[method]tcp-socket.keep-alive-count": N, "[method]tcp-socket.set-keep-alive-count": N,
        "[method]tcp-socket.hop-limit": N, "[method]tcp-socket.set-hop-limit": N,
        "[method]tcp-socket.receive-buffer-size": N, "[method]tcp-socket.set-receive-buffer-size": N,
        "[method]tcp-socket.send-buffer-size": N, "[method]tcp-socket.set-send-buffer-size": N,
        "[method]tcp-socket.subscribe": N, "[method]tcp-socket.shutdown": N,
    ],
    "sockets/udp" => [
        "[method]udp-socket.start-bind": net(&[&[BIND]]),
        "[method]udp-socket.finish-bind": net(&[&[BIND]]),
        // `stream(remote)` fixes the peer (a connect) or receives from anyone on the bound port.
        "[method]udp-socket.stream": net(&[&[CONNECT, BIND]]),
        "[method]outgoing-datagram-stream.send": net(&[&[CONNECT]]),
        "[method]incoming-datagram-stream.receive": net(&[&[BIND]]),
        "[method]udp-socket.local-address": N, "[method]udp-socket.remote-address": N,
        "[method]udp-socket.address-family": N,
        "[method]udp-socket.unicast-hop-limit": N, "[method]udp-socket.set-unicast-hop-limit": N,
        "[method]udp-socket.receive-buffer-size": N, "[method]udp-socket.set-receive-buffer-size": N,
        "[method]udp-socket.send-buffer-size": N, "[method]udp-socket.set-send-buffer-size": N,
        "[method]udp-socket.subscribe": N, "[method]incoming-datagram-stream.subscribe": N,
        "[method]outgoing-datagram-stream.check-send": N, "[method]outgoing-datagram-stream.subscribe": N,
    ],
    "http/outgoing-handler" => ["handle": always(&[&[CONNECT]])],
    // Calling another component's handler carries no authority of its own.
    "http/incoming-handler" => ["handle": N],
    "http/types" => [
        "[constructor]fields": N, "[static]fields.from-list": N, "[method]fields.get": N,
        "[method]fields.has": N, "[method]fields.set": N, "[method]fields.delete": N,
        "[method]fields.append": N, "[method]fields.entries": N, "[method]fields.clone": N,
        "[method]incoming-request.method": N, "[method]incoming-request.path-with-query": N,
        "[method]incoming-request.scheme": N, "[method]incoming-request.authority": N,
        "[method]incoming-request.headers": N, "[method]incoming-request.consume": N,
        "[constructor]outgoing-request": N, "[method]outgoing-request.body": N,
        "[method]outgoing-request.method": N, "[method]outgoing-request.set-method": N,
        "[method]outgoing-request.path-with-query": N, "[method]outgoing-request.set-path-with-query": N,
        "[method]outgoing-request.scheme": N, "[method]outgoing-request.set-scheme": N,
        "[method]outgoing-request.authority": N, "[method]outgoing-request.set-authority": N,
        "[method]outgoing-request.headers": N,
        "[constructor]request-options": N,
        "[method]request-options.connect-timeout": N, "[method]request-options.set-connect-timeout": N,
        "[method]request-options.first-byte-timeout": N, "[method]request-options.set-first-byte-timeout": N,
        "[method]request-options.between-bytes-timeout": N, "[method]request-options.set-between-bytes-timeout": N,
        "[method]response-outparam.send-informational": N, "[static]response-outparam.set": N,
        "[method]incoming-response.status": N, "[method]incoming-response.headers": N,
        "[method]incoming-response.consume": N, "[method]incoming-body.stream": N,
        "[static]incoming-body.finish": N, "[method]future-trailers.subscribe": N,
        "[method]future-trailers.get": N, "[constructor]outgoing-response": N,
        "[method]outgoing-response.status-code": N, "[method]outgoing-response.set-status-code": N,
        "[method]outgoing-response.headers": N, "[method]outgoing-response.body": N,
        "[method]outgoing-body.write": N, "[static]outgoing-body.finish": N,
        "[method]future-incoming-response.subscribe": N, "[method]future-incoming-response.get": N,
        "http-error-code": N,
    ],
}

/// WASI preview1, by the WASI 0.2 functions each one stands for (as the preview1 adapter
/// implements it), under the same model.
const PREVIEW1: &[(&str, Charge)] = &[
    ("args_get", N),
    ("args_sizes_get", N),
    ("environ_get", N),
    ("environ_sizes_get", N),
    ("clock_res_get", N),
    ("clock_time_get", N),
    ("random_get", N),
    ("poll_oneoff", N),
    ("proc_exit", N),
    ("proc_raise", N),
    ("sched_yield", N),
    // Open-file operations: decided when the file was opened with `path_open`.
    ("fd_read", N),
    ("fd_pread", N),
    ("fd_write", N),
    ("fd_pwrite", N),
    ("fd_seek", N),
    ("fd_tell", N),
    ("fd_close", N),
    ("fd_renumber", N),
    ("fd_sync", N),
    ("fd_datasync", N),
    ("fd_advise", N),
    ("fd_allocate", N),
    ("fd_fdstat_get", N),
    ("fd_fdstat_set_flags", N),
    ("fd_fdstat_set_rights", N),
    ("fd_filestat_get", N),
    ("fd_prestat_get", N),
    ("fd_prestat_dir_name", N),
    // On a preopened directory (fd 3, 4, ...) without any open, or changing a file.
    ("fd_readdir", always(LIST)),
    ("fd_filestat_set_times", always(CHANGE)),
    ("fd_filestat_set_size", always(CHANGE)),
    // Paths below a directory descriptor.
    ("path_open", always(OPEN)),
    ("path_create_directory", always(CHANGE)),
    ("path_filestat_get", always(INSPECT)),
    ("path_filestat_set_times", always(CHANGE)),
    ("path_readlink", always(INSPECT)),
    ("path_link", always(LINK)),
    ("path_symlink", always(LINK)),
    ("path_rename", always(MOVE)),
    ("path_unlink_file", always(REMOVE)),
    ("path_remove_directory", always(REMOVE)),
    // A socket is accepted from a preopened listening socket; the rest act on accepted ones.
    ("sock_accept", always(&[&[LISTEN]])),
    ("sock_recv", N),
    ("sock_send", N),
    ("sock_shutdown", N),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    fn charge(pkg: &str, iface: &str, f: &str) -> Option<Charge> {
        interface(pkg, iface, Some(&v("0.2.3"))).unwrap().function(f)
    }

    #[test]
    fn every_0_2_patch_version_is_recognised_and_nothing_else() {
        for ver in ["0.2.0", "0.2.6", "0.2.12", "0.2.99"] {
            assert!(interface("io", "error", Some(&v(ver))).is_ok(), "{ver}");
        }
        for ver in ["0.3.0", "0.1.0", "1.0.0"] {
            assert!(interface("io", "error", Some(&v(ver))).is_err(), "{ver}");
        }
        assert!(interface("io", "error", None).is_err());
        assert!(interface("keyvalue", "store", Some(&v("0.2.0"))).is_err());
        assert!(interface("filesystem", "frobnicate", Some(&v("0.2.0"))).is_err());
    }

    #[test]
    fn charged_by_authority() {
        let fs = |f: &str| charge("filesystem", "types", f).unwrap();
        assert_eq!(fs("[method]descriptor.unlink-file-at").terms, REMOVE);
        assert_eq!(fs("[method]descriptor.unlink-file-at").gate, Gate::Preopens);
        assert_eq!(fs("[method]descriptor.open-at").terms, OPEN);
        assert!(fs("[method]descriptor.write-via-stream").is_none());
        assert!(fs("[method]descriptor.stat").is_none());
        assert_eq!(fs("[method]descriptor.read-directory").terms, LIST);
        assert_eq!(fs("[method]descriptor.set-times").terms, CHANGE);
        assert!(charge("filesystem", "types", "[method]descriptor.frobnicate").is_none());
        assert!(fs("[resource-drop]descriptor").is_none());
        let http = charge("http", "outgoing-handler", "handle").unwrap();
        assert_eq!((http.terms, http.gate), (&[&[CONNECT][..]][..], Gate::Always));
        let lookup = charge("sockets", "ip-name-lookup", "resolve-addresses").unwrap();
        assert_eq!((lookup.terms, lookup.gate), (&[&[RESOLVE][..]][..], Gate::Network));
        assert!(charge("clocks", "wall-clock", "now").unwrap().is_none());
        assert!(charge("cli", "terminal-input", "[resource-drop]terminal-input").is_some());
    }

    #[test]
    fn preview1_table() {
        assert_eq!(preview1("path_unlink_file").unwrap().terms, REMOVE);
        assert_eq!(preview1("path_open").unwrap().terms, OPEN);
        assert!(preview1("fd_write").unwrap().is_none());
        assert_eq!(preview1("fd_filestat_set_times").unwrap().terms, CHANGE);
        assert_eq!(preview1("fd_readdir").unwrap().terms[0], &[READ]);
        assert!(preview1("path_frobnicate").is_none());
        assert_eq!(preview1_names().count(), 46);
    }
}
