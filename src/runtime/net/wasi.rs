//! The network domain as `wasi:sockets` sees it.
//!
//! wasmtime-wasi implements the sockets and asks its embedder about every address before it is
//! used (its "socket address check"); [`SocketGuard`] is that check for airssys, with the same
//! decisions, name-bound rule and audit lines as `airssys:ext-network`:
//!
//! | use of an address | decision |
//! |---|---|
//! | TCP or UDP bind | `bind` host:port, except the wildcard address with port 0 (see below) |
//! | TCP listen | `listen` host:port on the socket's local address |
//! | TCP connect, UDP send (and UDP `stream` with a remote) | `connect` host:port |
//! | TCP accept, UDP receive | not decided: covered by `listen` and `bind` |
//!
//! A connect to an IP literal is decided as the name a granted `resolve-addresses` of this
//! instance returned it for (the name-bound rule of `net/guard.rs`); the policies' CIDR
//! denials apply to the literal whatever name it came from. The wildcard address with port 0
//! is what the operating system binds implicitly before a client connects or sends: it gives
//! the component an ephemeral port and nothing else, and wasmtime-wasi asks about it on every
//! first connect, so it is not decided.
//!
//! `wasi:sockets/ip-name-lookup` is implemented on [`WasiNetView`]
//! (`iface/wasi_sockets_ip_name_lookup.rs`): `resolve` on the name, then wasmtime-wasi's lookup.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtx, WasiSocketsCtxView};

use super::guard::{connect_host_for, remember};
use crate::policy::{NetAction, Request};
use crate::runtime::guard::Decider;

/// The socket address check of one instance: the guard's decisions, shareable with
/// wasmtime-wasi's sockets, and the names that granted lookups returned each address for.
#[derive(Debug)]
pub(crate) struct SocketGuard {
    decider: Decider,
    resolved: Mutex<HashMap<IpAddr, Vec<String>>>,
}

impl SocketGuard {
    pub(crate) fn new(decider: Decider) -> Self {
        SocketGuard {
            decider,
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Whether wasmtime-wasi may use `addr` for `usage` (see the module documentation).
    pub(crate) fn check(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let (ip, port) = (addr.ip(), addr.port());
        let (op, action) = match usage {
            SocketAddrUse::TcpBind => ("wasi:sockets/tcp.[method]tcp-socket.start-bind", NetAction::Bind),
            SocketAddrUse::UdpBind => ("wasi:sockets/udp.[method]udp-socket.start-bind", NetAction::Bind),
            SocketAddrUse::TcpListen => ("wasi:sockets/tcp.[method]tcp-socket.start-listen", NetAction::Listen),
            SocketAddrUse::TcpConnect => ("wasi:sockets/tcp.[method]tcp-socket.start-connect", NetAction::Connect),
            SocketAddrUse::UdpSend => (
                "wasi:sockets/udp.[method]outgoing-datagram-stream.send",
                NetAction::Connect,
            ),
            SocketAddrUse::TcpAccept | SocketAddrUse::UdpReceive => return true,
        };
        if action == NetAction::Bind && ip.is_unspecified() && port == 0 {
            return true;
        }
        let literal = ip.to_string();
        let host = if action == NetAction::Connect {
            let resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
            connect_host_for(&self.decider.policy, &resolved, ip, &literal, port)
        } else {
            literal
        };
        let request = Request::Net {
            action,
            host: Some(&host),
            port: Some(port),
        };
        self.decider.authorize(op, request).is_ok()
    }

    /// Remembers that a granted lookup of `name` returned `ip`.
    pub(crate) fn remember(&self, name: &str, ip: IpAddr) {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        remember(&mut resolved, name, &[ip]);
    }

    pub(crate) fn decider(&self) -> &Decider {
        &self.decider
    }
}

/// The `wasi:sockets` state of one instance besides wasmtime-wasi's: the name each granted
/// lookup stream resolves (by resource index), so that its addresses are remembered.
#[derive(Debug, Default)]
pub struct WasiNetState {
    pub(crate) lookups: HashMap<u32, String>,
}

/// What `wasi:sockets/ip-name-lookup` is implemented on.
pub(crate) struct WasiNetView<'a> {
    pub(crate) sockets: &'a SocketGuard,
    pub(crate) state: &'a mut WasiNetState,
    pub(crate) ctx: &'a mut WasiSocketsCtx,
    pub(crate) table: &'a mut ResourceTable,
}

/// The `HasData` of `wasi:sockets/ip-name-lookup`.
pub(crate) struct HasWasiNet;

impl HasData for HasWasiNet {
    type Data<'a> = WasiNetView<'a>;
}

impl WasiNetView<'_> {
    /// wasmtime-wasi's own implementation.
    pub(crate) fn wasmtime(&mut self) -> WasiSocketsCtxView<'_> {
        WasiSocketsCtxView {
            ctx: self.ctx,
            table: self.table,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use wasmtime_wasi::sockets::SocketAddrUse as Use;

    use super::SocketGuard;
    use crate::runtime::Mode;
    use crate::runtime::testing::{self, Captured};

    const MANIFEST: &str = r#"[component]
name = "client"
version = "1.0.0"

[permissions]
network = [
  { action = "connect", domain = "127.0.0.1", port = 8080 },
  { action = "bind", domain = "127.0.0.1", port = 9000 },
  { action = "listen", domain = "127.0.0.1", port = 9000 },
  { action = "resolve", domain = "svc.example" },
  { action = "connect", domain = "svc.example", port = 443 },
]
"#;

    fn sockets(mode: Mode) -> (SocketGuard, Captured) {
        let (guard, captured) = testing::guard(MANIFEST, mode);
        (SocketGuard::new(guard.decider()), captured)
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn each_use_of_an_address_is_decided_as_its_action() {
        let (s, captured) = sockets(Mode::Enforce);
        assert!(s.check(addr("127.0.0.1:8080"), Use::TcpConnect));
        assert!(s.check(addr("127.0.0.1:8080"), Use::UdpSend));
        assert!(!s.check(addr("127.0.0.1:8081"), Use::TcpConnect));
        assert!(!s.check(addr("10.0.0.1:8080"), Use::TcpConnect));
        assert!(s.check(addr("127.0.0.1:9000"), Use::TcpBind));
        assert!(s.check(addr("127.0.0.1:9000"), Use::UdpBind));
        assert!(
            !s.check(addr("0.0.0.0:9000"), Use::TcpBind),
            "the wildcard is not the granted host"
        );
        assert!(s.check(addr("127.0.0.1:9000"), Use::TcpListen));
        assert!(!s.check(addr("127.0.0.1:9001"), Use::TcpListen));
        assert!(
            !s.check(addr("127.0.0.1:8080"), Use::TcpListen),
            "connect does not grant listen"
        );
        let lines = captured.lines();
        assert_eq!(lines.len(), 10, "one audit line per decision: {lines:#?}");
        assert_eq!(
            lines[0]["operation"],
            "wasi:sockets/tcp.[method]tcp-socket.start-connect"
        );
        assert_eq!(lines[0]["verdict"], "allowed");
        assert_eq!(
            lines[1]["operation"],
            "wasi:sockets/udp.[method]outgoing-datagram-stream.send"
        );
        assert_eq!(lines[2]["verdict"], "denied");
        assert_eq!(lines[5]["operation"], "wasi:sockets/udp.[method]udp-socket.start-bind");
        assert_eq!(
            lines[7]["operation"],
            "wasi:sockets/tcp.[method]tcp-socket.start-listen"
        );
    }

    #[test]
    fn implicit_binds_accepts_and_receives_are_not_decided() {
        let (s, captured) = sockets(Mode::Enforce);
        // What the operating system binds before a client's first connect or send.
        assert!(s.check(addr("0.0.0.0:0"), Use::TcpBind));
        assert!(s.check(addr("[::]:0"), Use::UdpBind));
        // Covered by the listen and bind decisions.
        assert!(s.check(addr("203.0.113.9:5555"), Use::TcpAccept));
        assert!(s.check(addr("203.0.113.9:5555"), Use::UdpReceive));
        assert!(captured.lines().is_empty());
        // A port on the wildcard address is a real bind, and decided.
        assert!(!s.check(addr("[::]:9000"), Use::UdpBind));
        assert_eq!(captured.lines().len(), 1);
    }

    #[test]
    fn a_literal_that_a_granted_lookup_returned_is_decided_as_the_name() {
        let (s, captured) = sockets(Mode::Enforce);
        let ip = addr("192.0.2.7:443");
        assert!(
            !s.check(ip, Use::TcpConnect),
            "before any lookup the literal is ungranted"
        );
        s.remember("svc.example", ip.ip());
        assert!(s.check(ip, Use::TcpConnect));
        assert!(
            !s.check(addr("192.0.2.7:80"), Use::TcpConnect),
            "the name's grant names port 443"
        );
        let lines = captured.lines();
        assert_eq!(lines[0]["resource"], "network:connect 192.0.2.7:443");
        assert_eq!(lines[1]["resource"], "network:connect svc.example:443");
        assert_eq!(lines[1]["verdict"], "allowed");
    }

    #[test]
    fn report_only_lets_everything_through_and_logs_it() {
        let (s, captured) = sockets(Mode::ReportOnly);
        assert!(s.check(addr("10.0.0.1:22"), Use::TcpConnect));
        assert_eq!(captured.lines()[0]["verdict"], "would-deny");
    }
}
