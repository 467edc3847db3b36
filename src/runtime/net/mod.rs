//! The network extension host: the 32 operations of `airssys:ext-network` (`socket`, 20, and
//! `connection`, 12) over real TCP and UDP sockets (IPv4 and IPv6, through socket2), the system
//! resolver, and connection pools kept in the host.
//!
//! # The guard
//! An operation that reaches the network asks `InstanceState::authorize` with the arguments of
//! the call before it has any effect, as its `@requires` line says: `bind` and `connect` with
//! the address given, `resolve` with the host given; `connect-host` asks for `resolve(host)` and
//! then `connect(host, port)`, each with its own audit line, before it resolves anything. A
//! denial is the operation's `permission-denied` error.
//!
//! `(handle)` requirements are checked against what the socket was authorized for when it was
//! made, with `InstanceState::authorize_handle`: `send` needs a socket connected through an
//! authorized connect (or accepted on an authorized listener), `receive` a connected or bound
//! one, `receive-from` and the multicast operations an authorized bind, `listen` an authorized
//! bind plus a `listen` grant for the bound host and port, `accept` an authorized listen. A
//! socket whose connect or bind was denied never got that authorization.
//!
//! # Name-bound addresses
//! A grant for a name does not reach an address just because that name resolves to it: a
//! connect (`socket.connect`, `send-to`, `pool-acquire`, `connect-host`) to an IP literal is
//! allowed when the literal itself is granted, or when a granted resolve in this instance
//! returned that address; the guard is then asked with the name (and the port), so the grant
//! that decides is the name's. Addresses are compared in canonical form
//! ([`crate::policy::normalize_host`]): `2130706433`, `0x7f000001` and `::ffff:127.0.0.1` are
//! `127.0.0.1`, and reach it only as `127.0.0.1` would. A policy rule that denies an address
//! (`169.254.0.0/16`) holds whatever name led there: it is also checked against every address
//! a name resolves to before the host connects to it. The unspecified addresses (`0.0.0.0`,
//! `::`) reach loopback: the decision treats them as the loopback address of their family too
//! ([`crate::policy::unspecified_reaches`]), so a denial of loopback denies them and a grant of
//! loopback allows a connect to them. A DNS name given to `connect` or
//! `send-to` is authorized as a name, then resolved by the host. `bind` takes an IP literal or
//! `localhost` (the loopback address of the socket's family, without a lookup), so that a bind
//! never sends a DNS query.
//!
//! # Handles
//! Sockets and pools are entries of the instance's resource table; with every other resource of
//! the instance and the idle connections that pools hold, they count against
//! [`super::RunLimits::max_handles`] (beyond it: `io`, as `net-error` has no `limit-exceeded`).
//! A socket
//! remembers its family, protocol, blocking mode and timeouts, and what its bind, listen and
//! connect were authorized for. IPv6 sockets are IPv6-only (`IPV6_V6ONLY`): IPv4 addresses,
//! IPv4-mapped ones included, need an IPv4 socket.
//!
//! # Defaults and bounds
//! - No blocking call waits longer than the instance's call timeout
//!   ([`super::RunLimits::timeout_ms`], 30 s by default): `set-timeout` with `none` means "no
//!   limit of its own", and longer timeouts are cut to it. A blocking call that runs out of time
//!   returns `timeout`; a non-blocking socket returns `would-block` instead.
//! - `socket.connect` waits for the TCP handshake in either mode, at most the socket's write
//!   timeout; `connect-host` at most its `timeout-ms`; `pool-acquire` at most the call timeout.
//!   Name lookups share the deadline of their operation (`resolve`, `resolve-all` and
//!   `reverse-lookup`: the call timeout).
//! - `receive` and `receive-from` return at most the instance's answer budget (the read limit,
//!   and no more than its memory can still hold), 4 MiB
//!   (TCP) or 64 KiB (UDP, the largest datagram) per call, however large `max-len` is.
//! - `SO_LINGER` counts whole seconds: `linger(some(ms))` is rounded up to a second.
//! - A pool closes idle connections older than its idle timeout whenever it is used
//!   (`pool-acquire`, `pool-release`), and all of them when it is closed or dropped. A
//!   connection is kept for reuse only when it is healthy: not shut down, no unread data, peer
//!   still there.

mod conn;
mod guard;
mod sock;
mod sys;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use wasmtime::component::{HasSelf, Linker, Resource};

use super::bindings::net_types::{self, AddressFamily, NetError, SocketAddress, SocketProtocol};
use super::bindings::{connection, socket};
use super::state::{InstanceState, describe_request};
use crate::policy::{Host, NetAction, Request};

/// Largest TCP read returned by one `receive`.
const MAX_TCP_RECEIVE: u64 = 4 << 20;
/// Largest UDP datagram (IPv4 and IPv6 without jumbograms).
const MAX_DATAGRAM: u64 = 65_536;

/// What the guard said about the request that made a socket what it is (bound, listening,
/// connected).
#[derive(Clone, Debug)]
struct Auth {
    /// The guard allowed it. False only when report-only mode let a denied request through.
    permitted: bool,
    /// The grant that allowed it, as audit lines write it.
    grant: Option<String>,
}

/// What a socket is bound to, listens on or is connected to, with the authorization it got.
#[derive(Clone, Debug)]
struct Endpoint {
    /// `Bind`, `Listen`, or `Connect`; an accepted socket carries its listener's `Listen`.
    action: NetAction,
    /// The host as the authorized request named it (the guest's text, or the name that a
    /// name-bound literal was authorized through).
    host: String,
    port: u16,
    auth: Auth,
}

impl Endpoint {
    fn new(action: NetAction, host: &str, port: u16, auth: Auth) -> Self {
        Endpoint {
            action,
            host: host.to_string(),
            port,
            auth,
        }
    }

    /// `network:connect localhost:8080`.
    fn resource(&self) -> String {
        describe_request(&Request::Net {
            action: self.action,
            host: Some(&self.host),
            port: Some(self.port),
        })
    }

    /// Why a handle check on this endpoint says what it says.
    fn by(&self, accepted: bool) -> String {
        let verb = match (self.action, accepted) {
            (NetAction::Listen, true) => "accepted on a listener",
            (NetAction::Listen, false) => "listening",
            (NetAction::Bind, _) => "bound",
            (NetAction::Connect | NetAction::Resolve, _) => "connected",
        };
        match (&self.auth.grant, self.auth.permitted) {
            (Some(grant), true) => format!("socket {verb} under {grant}"),
            (None, true) => format!("socket {verb} without a guard"),
            (_, false) => format!("socket {verb} without authorization"),
        }
    }
}

/// Which pool a socket came from, and the host and port it was acquired for.
#[derive(Clone, Debug)]
struct PoolTag {
    id: u64,
    key: (Host, u16),
}

/// A socket of the `socket` resource: the OS socket and what the host knows about it.
#[derive(Debug)]
pub struct SocketEntry {
    socket: Socket,
    family: AddressFamily,
    protocol: SocketProtocol,
    /// Set by a successful `bind`.
    bound: Option<Endpoint>,
    /// Set by a successful `listen`.
    listening: Option<Endpoint>,
    /// Set when a connect to it was authorized (before the attempt), or by `accept`.
    peer: Option<Endpoint>,
    /// The socket came from `accept`: `peer` is its listener.
    accepted: bool,
    nonblocking: bool,
    /// The timeouts the guest asked for (`None`: only the instance's call timeout).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// `shutdown` was called: a pool does not take it back.
    shut_down: bool,
    pool: Option<PoolTag>,
}

impl SocketEntry {
    /// A fresh socket of `family` and `protocol` with the default timeouts (`cap`).
    fn open(family: AddressFamily, protocol: SocketProtocol, cap: Duration) -> io::Result<Self> {
        let domain = match family {
            AddressFamily::Ipv4 => Domain::IPV4,
            AddressFamily::Ipv6 => Domain::IPV6,
        };
        let (kind, proto) = match protocol {
            SocketProtocol::Tcp => (Type::STREAM, Protocol::TCP),
            SocketProtocol::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let socket = Socket::new(domain, kind, Some(proto))?;
        if family == AddressFamily::Ipv6 {
            socket.set_only_v6(true)?;
        }
        Self::wrap(socket, family, protocol, cap)
    }

    /// An entry for an OS socket that exists already (accepted), in blocking mode.
    fn wrap(socket: Socket, family: AddressFamily, protocol: SocketProtocol, cap: Duration) -> io::Result<Self> {
        let entry = SocketEntry {
            socket,
            family,
            protocol,
            bound: None,
            listening: None,
            peer: None,
            accepted: false,
            nonblocking: false,
            read_timeout: None,
            write_timeout: None,
            shut_down: false,
            pool: None,
        };
        entry.socket.set_nonblocking(false)?;
        entry.apply_timeouts(cap)?;
        Ok(entry)
    }

    /// Sets the OS timeouts: the guest's, cut to `cap`, or `cap`.
    fn apply_timeouts(&self, cap: Duration) -> io::Result<()> {
        let read = self.read_timeout.map_or(cap, |t| t.min(cap));
        let write = self.write_timeout.map_or(cap, |t| t.min(cap));
        self.socket.set_read_timeout(Some(read))?;
        self.socket.set_write_timeout(Some(write))
    }

    fn is_tcp(&self) -> bool {
        self.protocol == SocketProtocol::Tcp
    }

    /// The error for `e` in an operation about `target`.
    fn error(&self, e: &io::Error, target: &str) -> NetError {
        sys::net_error(e, target, self.nonblocking)
    }

    /// What error messages name this socket by: its peer, else its bound address.
    fn label(&self) -> String {
        let end = self.peer.as_ref().or(self.bound.as_ref());
        end.map_or_else(|| "socket".to_string(), |e| host_port(&e.host, e.port))
    }

    /// Whether a connected TCP socket is still usable: the peer has not closed or reset it, and
    /// (for `strict`, when a pool takes it back) nothing unread is waiting in it.
    fn alive(&self, strict: bool) -> bool {
        let mut byte = [0u8; 1];
        let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
        match rustix::net::recv(&self.socket, &mut byte[..], flags) {
            Ok((0, _)) => false,
            Ok(_) => !strict,
            Err(e) => e == rustix::io::Errno::AGAIN,
        }
    }
}

/// A connection pool of the `pool` resource; its connections are kept in [`NetState`].
#[derive(Debug)]
pub struct PoolEntry {
    id: u64,
}

/// A pool's connections: the idle ones it holds, and how many it has lent out.
#[derive(Debug)]
struct Pool {
    max_size: u32,
    idle_timeout: Option<Duration>,
    /// Oldest first.
    idle: Vec<Idle>,
    in_use: u32,
}

#[derive(Debug)]
struct Idle {
    entry: SocketEntry,
    since: Instant,
}

/// Most distinct addresses remembered from granted resolves. Beyond it new addresses are not
/// remembered, and a connect to them by literal is decided by the literal alone (fail closed).
const MAX_RESOLVED: usize = 4096;
/// Most names remembered for one address.
const MAX_NAMES_PER_ADDRESS: usize = 16;

/// The network state of one instance.
#[derive(Debug, Default)]
pub struct NetState {
    /// Address (canonical) → the names whose granted resolve returned it, in order.
    resolved: HashMap<IpAddr, Vec<String>>,
    pools: HashMap<u64, Pool>,
    next_pool: u64,
}

/// Links `socket`, `connection` and their `types` (the `socket` and `pool` resources).
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    net_types::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |s| s)?;
    socket::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |s| s)?;
    connection::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |s| s)
}

impl net_types::Host for InstanceState {}

impl net_types::HostSocket for InstanceState {
    fn drop(&mut self, rep: Resource<SocketEntry>) -> wasmtime::Result<()> {
        drop(self.take_socket(rep));
        Ok(())
    }
}

impl net_types::HostPool for InstanceState {
    fn drop(&mut self, rep: Resource<PoolEntry>) -> wasmtime::Result<()> {
        self.close_pool(rep);
        Ok(())
    }
}

/// `host:port`, with brackets around IPv6 addresses.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn family_of(ip: &IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Ipv4,
        IpAddr::V6(_) => AddressFamily::Ipv6,
    }
}

fn family_name(family: AddressFamily) -> &'static str {
    match family {
        AddressFamily::Ipv4 => "IPv4",
        AddressFamily::Ipv6 => "IPv6",
    }
}

/// The guest's view of an OS address: the IP in canonical text and the port.
fn to_wit(addr: &SockAddr) -> Result<SocketAddress, NetError> {
    let addr = addr
        .as_socket()
        .ok_or_else(|| NetError::Io("the socket has no IP address".into()))?;
    Ok(wit_address(addr))
}

fn wit_address(addr: SocketAddr) -> SocketAddress {
    SocketAddress {
        host: addr.ip().to_canonical().to_string(),
        port: addr.port(),
    }
}

impl InstanceState {
    /// The longest any blocking network call may wait: the instance's call timeout.
    fn net_cap(&self) -> Duration {
        Duration::from_millis(self.run_limits.timeout_ms.max(1))
    }

    /// The instance's open handles: every resource in its table (files, sockets, pools,
    /// children) and the idle connections that its pools hold.
    pub(super) fn handles_in_use(&mut self) -> usize {
        let idle: usize = self.net.pools.values().map(|pool| pool.idle.len()).sum();
        self.table.iter_mut().count() + idle
    }

    /// Fails when the instance holds as many handles as it may. (`net-error` has no
    /// `limit-exceeded`; this is `io`, as the system's own `EMFILE` would be.)
    fn reserve_handle(&mut self) -> Result<(), NetError> {
        let (open, max) = (self.handles_in_use(), self.run_limits.max_handles);
        if open >= max {
            return Err(NetError::Io(format!(
                "the instance already has {open} open handles; the limit is {max}"
            )));
        }
        Ok(())
    }

    /// Puts a socket into the table, counting it.
    fn push_socket(&mut self, entry: SocketEntry) -> Result<Resource<SocketEntry>, NetError> {
        self.reserve_handle()?;
        let handle = self
            .table
            .push(entry)
            .map_err(|e| NetError::Io(format!("cannot hold another handle: {e}")))?;
        Ok(handle)
    }

    fn entry(&self, handle: &Resource<SocketEntry>) -> Result<&SocketEntry, NetError> {
        self.table.get(handle).map_err(|_| NetError::InvalidHandle)
    }

    fn entry_mut(&mut self, handle: &Resource<SocketEntry>) -> Result<&mut SocketEntry, NetError> {
        self.table.get_mut(handle).map_err(|_| NetError::InvalidHandle)
    }

    /// Takes a socket out of the table (the caller drops it to close it, or keeps it in a
    /// pool), and gives its pool its slot back.
    fn take_socket(&mut self, handle: Resource<SocketEntry>) -> Option<SocketEntry> {
        let entry = self.table.delete(handle).ok()?;
        if let Some(tag) = &entry.pool
            && let Some(pool) = self.net.pools.get_mut(&tag.id)
        {
            pool.in_use = pool.in_use.saturating_sub(1);
        }
        Some(entry)
    }
}
