//! The entries behind the guest's resource handles: what the instance's resource table holds
//! for a `file-handle`, a `socket`, a `pool` and a `child`, and what `bindings.rs` maps the
//! catalogue's resources onto (bindgen's `with:`).
//!
//! This module is a leaf: it imports nothing else from the runtime, so that the bindings, the
//! domain modules (`fs`, `net`, `process`) and the interface files can all name these types
//! without depending on each other. It holds only the data; what an entry does (opening,
//! reading, signalling, closing) is implemented by its domain module, which alone sets and
//! reads its fields.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use rustix::process::Pid;
use socket2::Socket;

use crate::policy::{Host, NetAction};

// ---------------------------------------------------------------------------------------------
// Filesystem

/// An open file of the guest: the entry behind a `file-handle`. Dropping it closes the file.
#[derive(Debug)]
pub struct FileHandle {
    pub(crate) file: std::fs::File,
    /// The path it was opened at, after symbolic links (for audit lines and messages).
    pub(crate) path: String,
    pub(crate) access: Access,
}

/// What a handle was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) append: bool,
}

impl Access {
    /// For the `by` field of handle checks: `handle opened read-only`, ...
    pub(crate) fn describe(self) -> &'static str {
        match (self.read, self.write || self.append) {
            (true, true) => "handle opened for reading and writing",
            (true, false) => "handle opened read-only",
            (false, true) => "handle opened write-only",
            (false, false) => "handle opened for neither reading nor writing",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Network

/// The address family of a socket (the WIT `address-family`, as the host keeps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

/// The transport protocol of a socket (the WIT `socket-protocol`, as the host keeps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

/// What the guard said about the request that made a socket what it is (bound, listening,
/// connected).
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    /// The guard allowed it. False only when report-only mode let a denied request through.
    pub(crate) permitted: bool,
    /// The grant that allowed it, as audit lines write it.
    pub(crate) grant: Option<String>,
}

/// What a socket is bound to, listens on or is connected to, with the authorization it got.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    /// `Bind`, `Listen`, or `Connect`; an accepted socket carries its listener's `Listen`.
    pub(crate) action: NetAction,
    /// The host as the authorized request named it (the guest's text, or the name that a
    /// name-bound literal was authorized through).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) auth: Auth,
}

/// Which pool a socket came from, and the host and port it was acquired for.
#[derive(Clone, Debug)]
pub(crate) struct PoolTag {
    pub(crate) id: u64,
    pub(crate) key: (Host, u16),
}

/// A socket of the `socket` resource: the OS socket and what the host knows about it.
#[derive(Debug)]
pub struct SocketEntry {
    pub(crate) socket: Socket,
    pub(crate) family: Family,
    pub(crate) protocol: Transport,
    /// Set by a successful `bind`.
    pub(crate) bound: Option<Endpoint>,
    /// Set by a successful `listen`.
    pub(crate) listening: Option<Endpoint>,
    /// Set when a connect to it was authorized (before the attempt), or by `accept`.
    pub(crate) peer: Option<Endpoint>,
    /// The socket came from `accept`: `peer` is its listener.
    pub(crate) accepted: bool,
    pub(crate) nonblocking: bool,
    /// The timeouts the guest asked for (`None`: only the instance's call timeout).
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    /// `shutdown` was called: a pool does not take it back.
    pub(crate) shut_down: bool,
    pub(crate) pool: Option<PoolTag>,
}

/// A connection pool of the `pool` resource; its connections are kept in the instance's
/// network state.
#[derive(Debug)]
pub struct PoolEntry {
    pub(crate) id: u64,
}

// ---------------------------------------------------------------------------------------------
// Processes

/// How a child ended, with the resources the kernel reported when it was reaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exit {
    /// The exit code, when it exited normally.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, if one did.
    pub(crate) signal: Option<i32>,
    pub(crate) user_ms: u64,
    pub(crate) system_ms: u64,
    pub(crate) max_rss_kib: u64,
    /// When the host saw it end (an upper bound of its exit time).
    pub(crate) at: Instant,
}

/// One of the child's standard streams, as the host's end sees it.
#[derive(Debug)]
pub(crate) enum Pipe {
    /// Not piped (null or inherited): the guest cannot use it.
    NotPiped,
    /// The host's end of the pipe (non-blocking).
    Open(OwnedFd),
    /// stdin: closed by the guest; stdout/stderr: end of file was read.
    Done,
}

/// A child process spawned by one component instance: what the `child` resource handle of the
/// guest stands for. Dropping the entry of a child that is still running kills it (with what it
/// started in its process group) and reaps it, unless it was spawned detached, in which case a
/// small host thread reaps it once it ends (see `process/child.rs`).
#[derive(Debug)]
pub struct ChildEntry {
    pub(crate) pid: Pid,
    pub(crate) pidfd: OwnedFd,
    pub(crate) executable: String,
    pub(crate) args: Vec<String>,
    pub(crate) started_at_ms: u64,
    pub(crate) started: Instant,
    pub(crate) detached: bool,
    /// The process group last seen (the child's own pid at spawn).
    pub(crate) pgid: u32,
    pub(crate) stdin: Pipe,
    pub(crate) stdout: Pipe,
    pub(crate) stderr: Pipe,
    pub(crate) exit: Option<Exit>,
    /// The instance's count of spawned processes not yet reaped; this entry holds one of them
    /// until it records the exit.
    pub(crate) live: Arc<AtomicUsize>,
}
