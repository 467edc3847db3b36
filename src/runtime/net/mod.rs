//! The network domain: what the 32 operations of `airssys:ext-network` (`socket`, 20, and
//! `connection`, 12, in `iface/airssys_socket.rs` and `iface/airssys_connection.rs`) do over
//! real TCP and UDP sockets (IPv4 and IPv6, through socket2), the system resolver, and
//! connection pools kept in the host, implemented on [`NetView`].
//!
//! # The guard
//! An operation that reaches the network asks `Guard::authorize` with the arguments of
//! the call before it has any effect, as its `@requires` line says: `bind` and `connect` with
//! the address given, `resolve` with the host given; `connect-host` asks for `resolve(host)` and
//! then `connect(host, port)`, each with its own audit line, before it resolves anything. A
//! denial is the operation's `permission-denied` error.
//!
//! `(handle)` requirements are checked against what the socket was authorized for when it was
//! made, with `Guard::authorize_handle`: `send` needs a socket connected through an
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

mod entry;
mod guard;
mod pool;
mod sys;
#[cfg(test)]
mod tests;
pub(crate) mod wasi;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::SockAddr;
use wasmtime::component::{HasData, Resource, ResourceTable};

pub(crate) use self::entry::{connect_entry, membership, receive_buffer};
pub(crate) use self::guard::Target;
pub(crate) use self::sys::{net_error, reverse};
use super::bindings::net_types::{AddressFamily, NetError, SocketAddress, SocketProtocol};
use super::guard::{Guard, describe_request};
use super::resources::{Auth, Endpoint, Family, Transport};
pub use super::resources::{PoolEntry, SocketEntry};
use crate::policy::{NetAction, Request};

/// Largest TCP read returned by one `receive`.
pub(crate) const MAX_TCP_RECEIVE: u64 = 4 << 20;
/// Largest UDP datagram (IPv4 and IPv6 without jumbograms).
pub(crate) const MAX_DATAGRAM: u64 = 65_536;

impl Endpoint {
    pub(crate) fn new(action: NetAction, host: &str, port: u16, auth: Auth) -> Self {
        Endpoint {
            action,
            host: host.to_string(),
            port,
            auth,
        }
    }

    /// `network:connect localhost:8080`.
    pub(crate) fn resource(&self) -> String {
        describe_request(&Request::Net {
            action: self.action,
            host: Some(&self.host),
            port: Some(self.port),
        })
    }

    /// Why a handle check on this endpoint says what it says.
    pub(crate) fn by(&self, accepted: bool) -> String {
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

/// What the network interfaces (`socket`, `connection`, their `types`) are implemented on: the
/// guard, the instance's network state and its resource table.
pub(crate) struct NetView<'a> {
    pub(crate) guard: &'a Guard,
    pub(crate) net: &'a mut NetState,
    pub(crate) table: &'a mut ResourceTable,
}

/// The `HasData` of the network interfaces: their data is a [`NetView`].
pub(crate) struct HasNet;

impl HasData for HasNet {
    type Data<'a> = NetView<'a>;
}

impl From<AddressFamily> for Family {
    fn from(family: AddressFamily) -> Family {
        match family {
            AddressFamily::Ipv4 => Family::Ipv4,
            AddressFamily::Ipv6 => Family::Ipv6,
        }
    }
}

impl From<Family> for AddressFamily {
    fn from(family: Family) -> AddressFamily {
        match family {
            Family::Ipv4 => AddressFamily::Ipv4,
            Family::Ipv6 => AddressFamily::Ipv6,
        }
    }
}

impl From<SocketProtocol> for Transport {
    fn from(protocol: SocketProtocol) -> Transport {
        match protocol {
            SocketProtocol::Tcp => Transport::Tcp,
            SocketProtocol::Udp => Transport::Udp,
        }
    }
}

impl From<Transport> for SocketProtocol {
    fn from(protocol: Transport) -> SocketProtocol {
        match protocol {
            Transport::Tcp => SocketProtocol::Tcp,
            Transport::Udp => SocketProtocol::Udp,
        }
    }
}

/// `host:port`, with brackets around IPv6 addresses.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub(crate) fn family_of(ip: &IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

pub(crate) fn family_name(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// The guest's view of an OS address: the IP in canonical text and the port.
pub(crate) fn to_wit(addr: &SockAddr) -> Result<SocketAddress, NetError> {
    let addr = addr
        .as_socket()
        .ok_or_else(|| NetError::Io("the socket has no IP address".into()))?;
    Ok(wit_address(addr))
}

pub(crate) fn wit_address(addr: SocketAddr) -> SocketAddress {
    SocketAddress {
        host: addr.ip().to_canonical().to_string(),
        port: addr.port(),
    }
}

impl NetView<'_> {
    /// The longest any blocking network call may wait: the instance's call timeout.
    pub(crate) fn net_cap(&self) -> Duration {
        Duration::from_millis(self.guard.run_limits.timeout_ms.max(1))
    }

    /// The instance's open handles: every resource in its table (files, sockets, pools,
    /// children) and the idle connections that its pools hold.
    pub(crate) fn handles_in_use(&mut self) -> usize {
        let idle: usize = self.net.pools.values().map(|pool| pool.idle.len()).sum();
        self.table.iter_mut().count() + idle
    }

    /// Fails when the instance holds as many handles as it may. (`net-error` has no
    /// `limit-exceeded`; this is `io`, as the system's own `EMFILE` would be.)
    pub(crate) fn reserve_handle(&mut self) -> Result<(), NetError> {
        let (open, max) = (self.handles_in_use(), self.guard.run_limits.max_handles);
        if open >= max {
            return Err(NetError::Io(format!(
                "the instance already has {open} open handles; the limit is {max}"
            )));
        }
        Ok(())
    }

    /// Puts a socket into the table, counting it.
    pub(crate) fn push_socket(&mut self, entry: SocketEntry) -> Result<Resource<SocketEntry>, NetError> {
        self.reserve_handle()?;
        let handle = self
            .table
            .push(entry)
            .map_err(|e| NetError::Io(format!("cannot hold another handle: {e}")))?;
        Ok(handle)
    }

    pub(crate) fn entry(&self, handle: &Resource<SocketEntry>) -> Result<&SocketEntry, NetError> {
        self.table.get(handle).map_err(|_| NetError::InvalidHandle)
    }

    pub(crate) fn entry_mut(&mut self, handle: &Resource<SocketEntry>) -> Result<&mut SocketEntry, NetError> {
        self.table.get_mut(handle).map_err(|_| NetError::InvalidHandle)
    }

    /// Takes a socket out of the table (the caller drops it to close it, or keeps it in a
    /// pool), and gives its pool its slot back.
    pub(crate) fn take_socket(&mut self, handle: Resource<SocketEntry>) -> Option<SocketEntry> {
        let entry = self.table.delete(handle).ok()?;
        if let Some(tag) = &entry.pool
            && let Some(pool) = self.net.pools.get_mut(&tag.id)
        {
            pool.in_use = pool.in_use.saturating_sub(1);
        }
        Some(entry)
    }
}
