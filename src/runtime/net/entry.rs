//! What a socket entry does: a fresh or accepted socket with the host's timeouts, connecting
//! by a deadline, a new TCP connection to one of several addresses, receive buffers within the
//! answer budget, multicast memberships, and the health check pools rely on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{NetError, NetView, family_name, family_of, host_port, sys};
use crate::policy::{Host, normalize_host};
use crate::runtime::resources::{Family, SocketEntry, Transport};

impl SocketEntry {
    /// A fresh socket of `family` and `protocol` with the default timeouts (`cap`).
    pub(crate) fn open(family: Family, protocol: Transport, cap: Duration) -> io::Result<Self> {
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let (kind, proto) = match protocol {
            Transport::Tcp => (Type::STREAM, Protocol::TCP),
            Transport::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let socket = Socket::new(domain, kind, Some(proto))?;
        if family == Family::Ipv6 {
            socket.set_only_v6(true)?;
        }
        Self::wrap(socket, family, protocol, cap)
    }

    /// An entry for an OS socket that exists already (accepted), in blocking mode.
    pub(crate) fn wrap(socket: Socket, family: Family, protocol: Transport, cap: Duration) -> io::Result<Self> {
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
    pub(crate) fn apply_timeouts(&self, cap: Duration) -> io::Result<()> {
        let read = self.read_timeout.map_or(cap, |t| t.min(cap));
        let write = self.write_timeout.map_or(cap, |t| t.min(cap));
        self.socket.set_read_timeout(Some(read))?;
        self.socket.set_write_timeout(Some(write))
    }

    pub(crate) fn is_tcp(&self) -> bool {
        self.protocol == Transport::Tcp
    }

    /// The error for `e` in an operation about `target`.
    pub(crate) fn error(&self, e: &io::Error, target: &str) -> NetError {
        sys::net_error(e, target, self.nonblocking)
    }

    /// What error messages name this socket by: its peer, else its bound address.
    pub(crate) fn label(&self) -> String {
        let end = self.peer.as_ref().or(self.bound.as_ref());
        end.map_or_else(|| "socket".to_string(), |e| host_port(&e.host, e.port))
    }

    /// Whether a connected TCP socket is still usable: the peer has not closed or reset it, and
    /// (for `strict`, when a pool takes it back) nothing unread is waiting in it.
    pub(crate) fn alive(&self, strict: bool) -> bool {
        let mut byte = [0u8; 1];
        let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
        match rustix::net::recv(&self.socket, &mut byte[..], flags) {
            Ok((0, _)) => false,
            Ok(_) => !strict,
            Err(e) => e == rustix::io::Errno::AGAIN,
        }
    }
}

/// A receive buffer for at most `max_len` bytes, within the instance's bound and `protocol_max`.
pub(crate) fn receive_buffer(max_len: u64, max_read: u64, protocol_max: u64) -> Result<Vec<u8>, NetError> {
    if max_len == 0 {
        return Err(NetError::InvalidInput("max-len must be at least 1".into()));
    }
    let limit = max_len.min(max_read).min(protocol_max).max(1);
    let limit = usize::try_from(limit).map_err(|_| NetError::InvalidInput(format!("max-len {max_len}")))?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(limit)
        .map_err(|_| NetError::InvalidInput(format!("cannot hold {limit} bytes")))?;
    Ok(buf)
}

/// A group and interface for the multicast operations.
pub(crate) enum Membership {
    V4 { group: Ipv4Addr, interface: Ipv4Addr },
    V6 { group: Ipv6Addr, interface: u32 },
}

/// Parses `group` (an IP literal of a multicast address of `family`) and `interface` (the
/// address of a local interface, `none` for the default one).
pub(crate) fn membership(family: Family, group: &str, interface: Option<&str>) -> Result<Membership, NetError> {
    let ip = |text: &str| match normalize_host(text) {
        Ok(Host::Ip(ip)) if family_of(&ip) == family => Ok(ip),
        Ok(Host::Ip(ip)) => Err(NetError::InvalidInput(format!(
            "{ip} is not an {} address, as the socket is",
            family_name(family)
        ))),
        _ => Err(NetError::InvalidInput(format!("{text:?} is not an IP address"))),
    };
    let group_ip = ip(group)?;
    if !group_ip.is_multicast() {
        return Err(NetError::InvalidInput(format!("{group_ip} is not a multicast address")));
    }
    let interface_ip = interface.map(ip).transpose()?;
    match (group_ip, interface_ip) {
        (IpAddr::V4(group), None) => Ok(Membership::V4 {
            group,
            interface: Ipv4Addr::UNSPECIFIED,
        }),
        (IpAddr::V4(group), Some(IpAddr::V4(interface))) => Ok(Membership::V4 { group, interface }),
        (IpAddr::V6(group), None) => Ok(Membership::V6 { group, interface: 0 }),
        (IpAddr::V6(group), Some(IpAddr::V6(address))) => {
            let index = sys::interface_with(address)
                .map_err(|e| NetError::Io(format!("{address}: {e}")))?
                .ok_or_else(|| NetError::AddressNotAvailable(format!("no interface has the address {address}")))?;
            Ok(Membership::V6 {
                group,
                interface: index,
            })
        }
        // `ip` checked that both have the socket's family.
        (_, Some(other)) => Err(NetError::InvalidInput(format!("{other} is not of the group's family"))),
    }
}

/// Connects `entry` to the first of `addrs` that answers by `deadline` (TCP: the handshake,
/// whatever the socket's blocking mode; UDP: sets the default peer).
pub(crate) fn connect_entry(
    entry: &SocketEntry,
    addrs: &[SocketAddr],
    deadline: Instant,
    label: &str,
) -> Result<(), NetError> {
    let mut last = NetError::Timeout;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(NetError::Timeout);
        }
        let to = SockAddr::from(*addr);
        let result = if entry.is_tcp() {
            let result = entry.socket.connect_timeout(&to, left);
            // `connect_timeout` leaves the socket blocking.
            if entry.nonblocking {
                entry.socket.set_nonblocking(true).map_err(|e| entry.error(&e, label))?;
            }
            result
        } else {
            entry.socket.connect(&to)
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                last = entry.error(&e, label);
                if matches!(
                    last,
                    NetError::Timeout | NetError::AlreadyConnected | NetError::WouldBlock
                ) {
                    break;
                }
            }
        }
    }
    Err(last)
}

impl NetView<'_> {
    /// A new TCP connection to the first of `addrs` that answers by `deadline`.
    pub(crate) fn connect_new(
        &self,
        addrs: &[SocketAddr],
        deadline: Instant,
        label: &str,
    ) -> Result<SocketEntry, NetError> {
        let cap = self.net_cap();
        let mut last = NetError::Timeout;
        for addr in addrs {
            let entry = SocketEntry::open(family_of(&addr.ip()), Transport::Tcp, cap)
                .map_err(|e| sys::net_error(&e, label, false))?;
            match connect_entry(&entry, std::slice::from_ref(addr), deadline, label) {
                Ok(()) => return Ok(entry),
                Err(NetError::Timeout) => return Err(NetError::Timeout),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Membership {
    /// Joins (`join`) or leaves the group on `entry`'s socket.
    pub(crate) fn change(self, entry: &SocketEntry, join: bool) -> io::Result<()> {
        match (self, join) {
            (Membership::V4 { group, interface }, true) => entry.socket.join_multicast_v4(&group, &interface),
            (Membership::V4 { group, interface }, false) => entry.socket.leave_multicast_v4(&group, &interface),
            (Membership::V6 { group, interface }, true) => entry.socket.join_multicast_v6(&group, interface),
            (Membership::V6 { group, interface }, false) => entry.socket.leave_multicast_v6(&group, interface),
        }
    }
}
