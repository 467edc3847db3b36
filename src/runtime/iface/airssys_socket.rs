//! `airssys:ext-network/socket`: 20 low-level TCP and UDP socket operations, implemented on
//! [`NetView`]. The guard's network side (name-bound connects, handle checks) and the socket
//! mechanisms are in `runtime/net/`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::net::{RecvFlags, SendFlags};
use socket2::SockAddr;
use wasmtime::component::{Linker, Resource};

use crate::policy::{Host, NetAction, normalize_host};
use crate::runtime::bindings::net_types::{
    AddressFamily, Direction, NetError, SocketAddress, SocketOption, SocketOptionName, SocketProtocol,
};
use crate::runtime::bindings::socket;
use crate::runtime::net::{
    HasNet, MAX_DATAGRAM, MAX_TCP_RECEIVE, NetView, connect_entry, family_name, family_of, host_port, membership,
    net_error, receive_buffer, to_wit, wit_address,
};
use crate::runtime::resources::{Endpoint, Family, SocketEntry, Transport};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    socket::add_to_linker::<InstanceState, HasNet>(linker, InstanceState::net_view)
}

/// `(handle)` requirements, as handle checks name them: the grant needed and what a socket
/// without it is.
const NEED_CONNECT: (&str, &str) = ("connect", "not connected");
const NEED_RECEIVE: (&str, &str) = ("connect|bind", "neither connected nor bound");
const NEED_BIND: (&str, &str) = ("bind", "not bound");
const NEED_LISTEN: (&str, &str) = ("listen", "not listening");

/// Largest socket buffer size accepted (the kernel doubles the value it is given).
const MAX_BUFFER_SIZE: u64 = (i32::MAX / 2) as u64;

fn tcp_only(entry: &SocketEntry) -> Result<(), NetError> {
    if entry.is_tcp() {
        Ok(())
    } else {
        Err(NetError::InvalidHandle)
    }
}

fn udp_only(entry: &SocketEntry) -> Result<(), NetError> {
    if entry.is_tcp() {
        Err(NetError::InvalidHandle)
    } else {
        Ok(())
    }
}

/// An I/O error of rustix as the standard library's.
fn std_error(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

fn buffer_size(n: u64) -> Result<usize, NetError> {
    if n > MAX_BUFFER_SIZE {
        return Err(NetError::InvalidInput(format!(
            "buffer size {n} is larger than {MAX_BUFFER_SIZE}"
        )));
    }
    usize::try_from(n).map_err(|_| NetError::InvalidInput(format!("buffer size {n}")))
}

/// `SO_LINGER` counts whole seconds: milliseconds are rounded up.
fn linger(ms: Option<u64>) -> Result<Option<Duration>, NetError> {
    let Some(ms) = ms else { return Ok(None) };
    let secs = ms.div_ceil(1000);
    if secs > i32::MAX as u64 {
        return Err(NetError::InvalidInput(format!("linger of {ms} ms is too long")));
    }
    Ok(Some(Duration::from_secs(secs)))
}

impl NetView<'_> {
    /// What `receive` is allowed by: the authorized one of the socket's connect and bind, else
    /// whichever it has (to be refused).
    fn receive_end(entry: &SocketEntry) -> (Option<Endpoint>, bool) {
        let peer = entry.peer.as_ref();
        let bound = entry.bound.as_ref();
        let permitted = |e: &&Endpoint| e.auth.permitted;
        let end = peer.filter(permitted).or(bound.filter(permitted)).or(peer).or(bound);
        let accepted = entry.accepted && end.is_some_and(|e| e.action == NetAction::Listen);
        (end.cloned(), accepted)
    }

    /// Multicast operations: a UDP socket with an authorized bind.
    fn multicast_socket(&mut self, op: &str, handle: &Resource<SocketEntry>) -> Result<Family, NetError> {
        let (bound, family) = {
            let entry = self.entry(handle)?;
            udp_only(entry)?;
            (entry.bound.clone(), entry.family)
        };
        self.check_handle(op, bound.as_ref(), false, NEED_BIND)?;
        Ok(family)
    }

    fn membership_change(
        &mut self,
        op: &str,
        handle: Resource<SocketEntry>,
        group: String,
        local_interface: Option<String>,
        join: bool,
    ) -> Result<(), NetError> {
        let family = self.multicast_socket(op, &handle)?;
        let membership = membership(family, &group, local_interface.as_deref())?;
        let entry = self.entry(&handle)?;
        membership.change(entry, join).map_err(|e| entry.error(&e, &group))
    }
}

impl socket::Host for NetView<'_> {
    fn create_socket(
        &mut self,
        family: AddressFamily,
        protocol: SocketProtocol,
    ) -> Result<Resource<SocketEntry>, NetError> {
        self.reserve_handle()?;
        let family = Family::from(family);
        let entry = SocketEntry::open(family, Transport::from(protocol), self.net_cap())
            .map_err(|e| net_error(&e, &format!("{} socket", family_name(family)), false))?;
        self.push_socket(entry)
    }

    fn close_socket(&mut self, handle: Resource<SocketEntry>) {
        drop(self.take_socket(handle));
    }

    fn shutdown(&mut self, handle: Resource<SocketEntry>, how: Direction) -> Result<(), NetError> {
        let entry = self.entry_mut(&handle)?;
        let how = match how {
            Direction::Read => Shutdown::Read,
            Direction::Write => Shutdown::Write,
            Direction::Both => Shutdown::Both,
        };
        entry
            .socket
            .shutdown(how)
            .map_err(|e| entry.error(&e, &entry.label()))?;
        entry.shut_down = true;
        Ok(())
    }

    fn set_option(&mut self, handle: Resource<SocketEntry>, value: SocketOption) -> Result<(), NetError> {
        let entry = self.entry(&handle)?;
        let socket = &entry.socket;
        let result = match value {
            SocketOption::ReuseAddress(on) => socket.set_reuse_address(on),
            SocketOption::ReusePort(on) => socket.set_reuse_port(on),
            SocketOption::Broadcast(on) => {
                udp_only(entry)?;
                socket.set_broadcast(on)
            }
            SocketOption::Keepalive(on) => {
                tcp_only(entry)?;
                socket.set_keepalive(on)
            }
            SocketOption::Nodelay(on) => {
                tcp_only(entry)?;
                socket.set_tcp_nodelay(on)
            }
            SocketOption::ReceiveBufferSize(n) => socket.set_recv_buffer_size(buffer_size(n)?),
            SocketOption::SendBufferSize(n) => socket.set_send_buffer_size(buffer_size(n)?),
            SocketOption::Ttl(ttl) => match entry.family {
                Family::Ipv4 => socket.set_ttl_v4(u32::from(ttl)),
                Family::Ipv6 => socket.set_unicast_hops_v6(u32::from(ttl)),
            },
            SocketOption::Linger(ms) => socket.set_linger(linger(ms)?),
        };
        result.map_err(|e| entry.error(&e, &entry.label()))
    }

    fn get_option(&mut self, handle: Resource<SocketEntry>, name: SocketOptionName) -> Result<SocketOption, NetError> {
        let entry = self.entry(&handle)?;
        let socket = &entry.socket;
        let size = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let result = match name {
            SocketOptionName::ReuseAddress => socket.reuse_address().map(SocketOption::ReuseAddress),
            SocketOptionName::ReusePort => socket.reuse_port().map(SocketOption::ReusePort),
            SocketOptionName::Broadcast => {
                udp_only(entry)?;
                socket.broadcast().map(SocketOption::Broadcast)
            }
            SocketOptionName::Keepalive => {
                tcp_only(entry)?;
                socket.keepalive().map(SocketOption::Keepalive)
            }
            SocketOptionName::Nodelay => {
                tcp_only(entry)?;
                socket.tcp_nodelay().map(SocketOption::Nodelay)
            }
            SocketOptionName::ReceiveBufferSize => socket
                .recv_buffer_size()
                .map(|n| SocketOption::ReceiveBufferSize(size(n))),
            SocketOptionName::SendBufferSize => {
                socket.send_buffer_size().map(|n| SocketOption::SendBufferSize(size(n)))
            }
            SocketOptionName::Ttl => match entry.family {
                Family::Ipv4 => socket.ttl_v4(),
                Family::Ipv6 => socket.unicast_hops_v6(),
            }
            .map(|ttl| SocketOption::Ttl(u8::try_from(ttl).unwrap_or(u8::MAX))),
            SocketOptionName::Linger => socket
                .linger()
                .map(|linger| SocketOption::Linger(linger.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))),
        };
        result.map_err(|e| entry.error(&e, &entry.label()))
    }

    fn set_timeout(
        &mut self,
        handle: Resource<SocketEntry>,
        which: Direction,
        millis: Option<u64>,
    ) -> Result<(), NetError> {
        let timeout = match millis {
            Some(0) => {
                return Err(NetError::InvalidInput(
                    "a timeout of 0 ms: use set-nonblocking for a socket that never waits".into(),
                ));
            }
            other => other.map(Duration::from_millis),
        };
        let cap = self.net_cap();
        let entry = self.entry_mut(&handle)?;
        if matches!(which, Direction::Read | Direction::Both) {
            entry.read_timeout = timeout;
        }
        if matches!(which, Direction::Write | Direction::Both) {
            entry.write_timeout = timeout;
        }
        entry.apply_timeouts(cap).map_err(|e| entry.error(&e, &entry.label()))
    }

    fn set_nonblocking(&mut self, handle: Resource<SocketEntry>, nonblocking: bool) -> Result<(), NetError> {
        let entry = self.entry_mut(&handle)?;
        entry
            .socket
            .set_nonblocking(nonblocking)
            .map_err(|e| entry.error(&e, &entry.label()))?;
        entry.nonblocking = nonblocking;
        Ok(())
    }

    fn local_address(&mut self, handle: Resource<SocketEntry>) -> Result<SocketAddress, NetError> {
        let entry = self.entry(&handle)?;
        let addr = entry.socket.local_addr().map_err(|e| entry.error(&e, &entry.label()))?;
        to_wit(&addr)
    }

    fn peer_address(&mut self, handle: Resource<SocketEntry>) -> Result<SocketAddress, NetError> {
        let entry = self.entry(&handle)?;
        let addr = entry.socket.peer_addr().map_err(|e| entry.error(&e, &entry.label()))?;
        to_wit(&addr)
    }

    fn bind(&mut self, handle: Resource<SocketEntry>, address: SocketAddress) -> Result<(), NetError> {
        let op = "socket.bind";
        let (family, already) = {
            let entry = self.entry(&handle)?;
            (entry.family, entry.bound.is_some())
        };
        let SocketAddress { host, port } = address;
        let auth = self.guard_net(op, NetAction::Bind, Some(&host), Some(port))?;
        let label = host_port(&host, port);
        if already {
            return Err(NetError::InvalidInput(format!("{label}: the socket is bound already")));
        }
        if port == 0 {
            return Err(NetError::InvalidInput(format!("{label}: port 0")));
        }
        let ip = match normalize_host(&host) {
            Ok(Host::Ip(ip)) => ip,
            Ok(Host::Name(name)) if name == "localhost" => match family {
                Family::Ipv4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
                Family::Ipv6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
            },
            Ok(Host::Name(_)) => {
                return Err(NetError::InvalidInput(format!(
                    "{label}: bind takes an IP address or localhost, not a host name"
                )));
            }
            Err(e) => return Err(NetError::InvalidInput(format!("{host:?}: {e}"))),
        };
        if family_of(&ip) != family {
            return Err(NetError::InvalidInput(format!(
                "{label}: not an {} address, as the socket is",
                family_name(family)
            )));
        }
        let entry = self.entry_mut(&handle)?;
        entry
            .socket
            .bind(&SockAddr::from(SocketAddr::new(ip, port)))
            .map_err(|e| entry.error(&e, &label))?;
        entry.bound = Some(Endpoint::new(NetAction::Bind, &host, port, auth));
        Ok(())
    }

    fn listen(&mut self, handle: Resource<SocketEntry>, backlog: u32) -> Result<(), NetError> {
        let op = "socket.listen";
        let bound = {
            let entry = self.entry(&handle)?;
            tcp_only(entry)?;
            entry.bound.clone()
        };
        if !bound.as_ref().is_some_and(|b| b.auth.permitted) {
            self.check_handle(op, bound.as_ref(), false, NEED_BIND)?;
        }
        let (host, port) = bound.map_or((None, None), |b| (Some(b.host), Some(b.port)));
        let auth = self.guard_net(op, NetAction::Listen, host.as_deref(), port)?;
        let entry = self.entry_mut(&handle)?;
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        entry
            .socket
            .listen(backlog)
            .map_err(|e| entry.error(&e, &entry.label()))?;
        let (host, port) = match (host, port) {
            (Some(host), Some(port)) => (host, port),
            // Report-only mode let an unbound socket listen: the system chose its address.
            _ => {
                let local = entry.socket.local_addr().ok().and_then(|a| a.as_socket());
                local.map_or_else(|| (String::new(), 0), |a| (a.ip().to_string(), a.port()))
            }
        };
        entry.listening = Some(Endpoint::new(NetAction::Listen, &host, port, auth));
        Ok(())
    }

    fn accept(&mut self, handle: Resource<SocketEntry>) -> Result<(Resource<SocketEntry>, SocketAddress), NetError> {
        let op = "socket.accept";
        let (listening, family) = {
            let entry = self.entry(&handle)?;
            tcp_only(entry)?;
            (entry.listening.clone(), entry.family)
        };
        self.check_handle(op, listening.as_ref(), false, NEED_LISTEN)?;
        self.reserve_handle()?;
        let cap = self.net_cap();
        let entry = self.entry(&handle)?;
        let (socket, from) = entry.socket.accept().map_err(|e| entry.error(&e, &entry.label()))?;
        let from = from
            .as_socket()
            .ok_or_else(|| NetError::Io("accepted a connection without an IP address".into()))?;
        let mut accepted = SocketEntry::wrap(socket, family, Transport::Tcp, cap)
            .map_err(|e| net_error(&e, &from.to_string(), false))?;
        accepted.accepted = true;
        accepted.peer = listening;
        let handle = self.push_socket(accepted)?;
        Ok((handle, wit_address(from)))
    }

    fn connect(&mut self, handle: Resource<SocketEntry>, address: SocketAddress) -> Result<(), NetError> {
        let op = "socket.connect";
        let (family, timeout) = {
            let entry = self.entry(&handle)?;
            if entry.is_tcp() && entry.socket.peer_addr().is_ok() {
                return Err(NetError::AlreadyConnected);
            }
            (entry.family, entry.write_timeout)
        };
        let (target, end) = self.guard_connect(op, &address.host, address.port)?;
        let cap = self.net_cap();
        let deadline = Instant::now() + timeout.map_or(cap, |t| t.min(cap));
        let addrs = self.target_addresses(op, &target, address.port, Some(family), deadline)?;
        let label = host_port(&address.host, address.port);
        let entry = self.entry_mut(&handle)?;
        // Recorded before the attempt: a connect that goes on in the background can only
        // reach this authorized peer.
        entry.peer = Some(end);
        connect_entry(entry, &addrs, deadline, &label)
    }

    fn send(&mut self, handle: Resource<SocketEntry>, data: Vec<u8>) -> Result<u64, NetError> {
        let op = "socket.send";
        let (peer, accepted) = {
            let entry = self.entry(&handle)?;
            (entry.peer.clone(), entry.accepted)
        };
        self.check_handle(op, peer.as_ref(), accepted, NEED_CONNECT)?;
        let entry = self.entry(&handle)?;
        match rustix::net::send(&entry.socket, &data, SendFlags::NOSIGNAL) {
            Ok(sent) => Ok(u64::try_from(sent).unwrap_or(u64::MAX)),
            // A TCP socket that never connected answers EPIPE, as one whose peer went away does.
            Err(rustix::io::Errno::PIPE) if entry.socket.peer_addr().is_err() => Err(NetError::NotConnected),
            Err(e) => Err(entry.error(&std_error(e), &entry.label())),
        }
    }

    fn receive(&mut self, handle: Resource<SocketEntry>, max_len: u64) -> Result<Vec<u8>, NetError> {
        let op = "socket.receive";
        let (end, accepted, tcp) = {
            let entry = self.entry(&handle)?;
            let (end, accepted) = Self::receive_end(entry);
            (end, accepted, entry.is_tcp())
        };
        self.check_handle(op, end.as_ref(), accepted, NEED_RECEIVE)?;
        let most = if tcp { MAX_TCP_RECEIVE } else { MAX_DATAGRAM };
        let mut buf = receive_buffer(max_len, self.guard.answer_budget(), most)?;
        let entry = self.entry(&handle)?;
        rustix::net::recv(&entry.socket, spare_capacity(&mut buf), RecvFlags::empty())
            .map_err(|e| entry.error(&std_error(e), &entry.label()))?;
        Ok(buf)
    }

    fn send_to(
        &mut self,
        handle: Resource<SocketEntry>,
        data: Vec<u8>,
        address: SocketAddress,
    ) -> Result<u64, NetError> {
        let op = "socket.send-to";
        let family = {
            let entry = self.entry(&handle)?;
            udp_only(entry)?;
            entry.family
        };
        let (target, _) = self.guard_connect(op, &address.host, address.port)?;
        let deadline = Instant::now() + self.net_cap();
        let addrs = self.target_addresses(op, &target, address.port, Some(family), deadline)?;
        let label = host_port(&address.host, address.port);
        let to = addrs
            .first()
            .copied()
            .ok_or_else(|| NetError::AddressNotAvailable(label.clone()))?;
        let entry = self.entry(&handle)?;
        let sent = rustix::net::sendto(&entry.socket, &data, SendFlags::NOSIGNAL, &to)
            .map_err(|e| entry.error(&std_error(e), &label))?;
        Ok(u64::try_from(sent).unwrap_or(u64::MAX))
    }

    fn receive_from(
        &mut self,
        handle: Resource<SocketEntry>,
        max_len: u64,
    ) -> Result<(Vec<u8>, SocketAddress), NetError> {
        let op = "socket.receive-from";
        let bound = {
            let entry = self.entry(&handle)?;
            udp_only(entry)?;
            entry.bound.clone()
        };
        self.check_handle(op, bound.as_ref(), false, NEED_BIND)?;
        let mut buf = receive_buffer(max_len, self.guard.answer_budget(), MAX_DATAGRAM)?;
        let entry = self.entry(&handle)?;
        let (_, _, from) = rustix::net::recvfrom(&entry.socket, spare_capacity(&mut buf), RecvFlags::empty())
            .map_err(|e| entry.error(&std_error(e), &entry.label()))?;
        let from = from
            .and_then(|a| SocketAddr::try_from(a).ok())
            .ok_or_else(|| NetError::Io("a datagram without a sender address".into()))?;
        Ok((buf, wit_address(from)))
    }

    fn join_multicast(
        &mut self,
        handle: Resource<SocketEntry>,
        group: String,
        local_interface: Option<String>,
    ) -> Result<(), NetError> {
        self.membership_change("socket.join-multicast", handle, group, local_interface, true)
    }

    fn leave_multicast(
        &mut self,
        handle: Resource<SocketEntry>,
        group: String,
        local_interface: Option<String>,
    ) -> Result<(), NetError> {
        self.membership_change("socket.leave-multicast", handle, group, local_interface, false)
    }

    fn set_multicast_ttl(&mut self, handle: Resource<SocketEntry>, ttl: u32) -> Result<(), NetError> {
        let family = self.multicast_socket("socket.set-multicast-ttl", &handle)?;
        if ttl > 255 {
            return Err(NetError::InvalidInput(format!("multicast TTL {ttl} is above 255")));
        }
        let entry = self.entry(&handle)?;
        match family {
            Family::Ipv4 => entry.socket.set_multicast_ttl_v4(ttl),
            Family::Ipv6 => entry.socket.set_multicast_hops_v6(ttl),
        }
        .map_err(|e| entry.error(&e, &entry.label()))
    }
}
