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
            SocketAddrUse::UdpSend => ("wasi:sockets/udp.[method]outgoing-datagram-stream.send", NetAction::Connect),
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
