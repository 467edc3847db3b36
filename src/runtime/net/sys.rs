//! What the network host asks of the operating system besides sockets: name lookups through the
//! system resolver (forward with `getaddrinfo`, reverse with `getnameinfo`) bounded by a deadline,
//! the interface that carries an IPv6 address (for multicast), and the mapping of I/O errors
//! onto `net-error`.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use super::super::bindings::net_types::NetError;

/// Lookups that may be in progress at once in the whole process. A lookup runs on a thread of
/// its own so that the calling operation can give up at its deadline; a thread whose caller
/// gave up finishes within the resolver's own timeouts (`/etc/resolv.conf`), and this bound
/// keeps a guest that asks for slow names in a loop from piling such threads up.
const MAX_LOOKUPS_IN_FLIGHT: usize = 32;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Releases one in-flight slot when the lookup thread ends, however it ends.
struct Slot;

impl Drop for Slot {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `work` on a thread of its own and waits for it until `deadline`: `timeout` after it.
fn with_deadline<T: Send + 'static>(
    what: &str,
    deadline: Instant,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetError> {
    if IN_FLIGHT.fetch_add(1, Ordering::AcqRel) >= MAX_LOOKUPS_IN_FLIGHT {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
        return Err(NetError::Io(format!(
            "{what}: too many name lookups in progress (at most {MAX_LOOKUPS_IN_FLIGHT})"
        )));
    }
    let slot = Slot;
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("airssys-net-lookup".into())
        .spawn(move || {
            let _slot = slot;
            // The receiver is gone when the caller gave up; the answer is then dropped.
            let _ = tx.send(work());
        });
    if let Err(e) = spawned {
        // The closure (and the slot in it) was dropped with the failed spawn.
        return Err(NetError::Io(format!("{what}: cannot start the lookup: {e}")));
    }
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(answer) => Ok(answer),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(NetError::Timeout),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(NetError::Io(format!("{what}: the lookup failed"))),
    }
}

/// The addresses of the DNS name `name` (already normalised, never an IP literal), in the
/// resolver's order without repeats, IPv4-mapped IPv6 addresses written as IPv4.
pub(crate) fn lookup(name: &str, deadline: Instant) -> Result<Vec<IpAddr>, NetError> {
    let owned = name.to_string();
    let answer = with_deadline(name, deadline, move || {
        (owned.as_str(), 0u16)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip().to_canonical()).collect::<Vec<_>>())
    })?;
    let found = answer.map_err(|e| NetError::NotFound(format!("{name}: {e}")))?;
    let mut unique: Vec<IpAddr> = Vec::with_capacity(found.len());
    for ip in found {
        if !unique.contains(&ip) {
            unique.push(ip);
        }
    }
    if unique.is_empty() {
        return Err(NetError::NotFound(format!("{name}: no address")));
    }
    Ok(unique)
}

/// The name that `ip` maps back to (`getnameinfo` with `NI_NAMEREQD`).
pub(crate) fn reverse(ip: IpAddr, deadline: Instant) -> Result<String, NetError> {
    let text = ip.to_string();
    match with_deadline(&text, deadline, move || name_info(ip))? {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(NetError::NotFound(format!("{text}: no name"))),
        Err(e) => Err(NetError::NotFound(format!("{text}: {e}"))),
    }
}

fn name_info(ip: IpAddr) -> io::Result<Option<String>> {
    let addr = socket2::SockAddr::from(SocketAddr::new(ip, 0));
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: `addr` is a valid socket address of `addr.len()` bytes; `host` is writable for
    // its whole length, which is what we pass; no service name is asked for (null, 0).
    let rc = unsafe {
        libc::getnameinfo(
            addr.as_ptr().cast::<libc::sockaddr>(),
            addr.len(),
            host.as_mut_ptr(),
            libc::NI_MAXHOST,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    match rc {
        0 => {
            // `getnameinfo` writes a NUL-terminated name into the buffer.
            let bytes: Vec<u8> = host.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        libc::EAI_NONAME => Ok(None),
        libc::EAI_SYSTEM => Err(io::Error::last_os_error()),
        code => Err(io::Error::other(format!("getnameinfo error {code}"))),
    }
}

/// The index of the network interface that has the IPv6 address `ip`, if any.
pub(crate) fn interface_with(ip: Ipv6Addr) -> io::Result<Option<u32>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: on success `getifaddrs` stores the head of a list that stays valid until the
    // `freeifaddrs` below; on failure it stores nothing that needs freeing.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = None;
    let mut node = list;
    while !node.is_null() {
        // SAFETY: `node` is a node of the list returned above, which is not freed yet.
        let entry = unsafe { &*node };
        let addr = entry.ifa_addr;
        // SAFETY: a non-null `ifa_addr` points to a socket address whose family field says what
        // it is; an `AF_INET6` one is a `sockaddr_in6`.
        let matches = !addr.is_null()
            && i32::from(unsafe { (*addr).sa_family }) == libc::AF_INET6
            && Ipv6Addr::from(unsafe { (*addr.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr }) == ip;
        if matches {
            // SAFETY: `ifa_name` is the interface's NUL-terminated name.
            let index = unsafe { libc::if_nametoindex(entry.ifa_name) };
            if index != 0 {
                found = Some(index);
                break;
            }
        }
        node = entry.ifa_next;
    }
    // SAFETY: `list` came from `getifaddrs` and is freed exactly once; nothing refers to it now.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// Maps an I/O error of an operation on `target` (`host:port`, an address, or what the
/// operation was about) to the `net-error` that fits. `nonblocking` tells a would-block on a
/// non-blocking socket from a timeout of a blocking one (both are `EAGAIN`).
pub(crate) fn net_error(e: &io::Error, target: &str, nonblocking: bool) -> NetError {
    use io::ErrorKind as K;
    match e.raw_os_error() {
        Some(libc::EISCONN) => return NetError::AlreadyConnected,
        Some(libc::EALREADY | libc::EINPROGRESS) => return NetError::WouldBlock,
        Some(libc::EMSGSIZE) => return NetError::InvalidInput(format!("{target}: message too long for one datagram")),
        Some(libc::EDESTADDRREQ) => return NetError::NotConnected,
        Some(libc::EAFNOSUPPORT) => return NetError::InvalidInput(format!("{target}: wrong address family")),
        _ => {}
    }
    match e.kind() {
        K::ConnectionRefused => NetError::ConnectionRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetError::ConnectionReset,
        K::NotConnected => NetError::NotConnected,
        K::AddrInUse => NetError::AlreadyExists(target.to_string()),
        K::AddrNotAvailable => NetError::AddressNotAvailable(target.to_string()),
        K::TimedOut => NetError::Timeout,
        K::WouldBlock if nonblocking => NetError::WouldBlock,
        // A blocking socket answers `EAGAIN` when its receive or send timeout expires.
        K::WouldBlock => NetError::Timeout,
        K::InvalidInput => NetError::InvalidInput(format!("{target}: {e}")),
        K::Unsupported => NetError::Unsupported(format!("{target}: {e}")),
        _ => NetError::Io(format!("{target}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(20)
    }

    #[test]
    fn localhost_resolves_through_the_hosts_file() {
        let addrs = lookup("localhost", soon()).unwrap();
        assert!(addrs.iter().all(|ip| ip.is_loopback()), "{addrs:?}");
    }

    #[test]
    fn loopback_maps_back_to_a_name() {
        let name = reverse(IpAddr::from([127, 0, 0, 1]), soon()).unwrap();
        assert!(!name.is_empty());
    }

    #[test]
    fn loopback_v6_has_an_interface() {
        assert!(interface_with(Ipv6Addr::LOCALHOST).unwrap().is_some());
        assert_eq!(interface_with("2001:db8::77".parse().unwrap()).unwrap(), None);
    }

    #[test]
    fn errors_map_to_variants() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(matches!(net_error(&refused, "h:1", false), NetError::ConnectionRefused));
        let again = io::Error::from_raw_os_error(libc::EAGAIN);
        assert!(matches!(net_error(&again, "h:1", true), NetError::WouldBlock));
        assert!(matches!(net_error(&again, "h:1", false), NetError::Timeout));
        let in_use = io::Error::from_raw_os_error(libc::EADDRINUSE);
        assert!(matches!(net_error(&in_use, "h:1", false), NetError::AlreadyExists(t) if t == "h:1"));
        let connected = io::Error::from_raw_os_error(libc::EISCONN);
        assert!(matches!(
            net_error(&connected, "h:1", false),
            NetError::AlreadyConnected
        ));
    }
}
