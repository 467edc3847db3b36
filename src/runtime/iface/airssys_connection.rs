//! `airssys:ext-network/connection`: name resolution, TCP connections by host name, connection
//! details, and connection pools, implemented on [`NetView`] over `runtime/net/`.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, Resource};

use crate::policy::{Host, NetAction, normalize_host};
use crate::runtime::bindings::connection;
use crate::runtime::bindings::net_types::{ConnectionDetails, NetError};
use crate::runtime::net::{HasNet, NetView, Target, host_port, reverse, to_wit};
use crate::runtime::resources::{PoolEntry, PoolTag, SocketEntry};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    connection::add_to_linker::<InstanceState, HasNet>(linker, InstanceState::net_view)
}

impl connection::Host for NetView<'_> {
    fn resolve(&mut self, host: String) -> Result<String, NetError> {
        let addrs = self.resolve_guarded("connection.resolve", &host)?;
        addrs
            .first()
            .map(IpAddr::to_string)
            .ok_or_else(|| NetError::NotFound(format!("{host}: no address")))
    }

    fn resolve_all(&mut self, host: String) -> Result<Vec<String>, NetError> {
        let addrs = self.resolve_guarded("connection.resolve-all", &host)?;
        Ok(addrs.iter().map(IpAddr::to_string).collect())
    }

    fn reverse_lookup(&mut self, address: String) -> Result<String, NetError> {
        self.guard_net("connection.reverse-lookup", NetAction::Resolve, Some(&address), None)?;
        match normalize_host(&address) {
            Ok(Host::Ip(ip)) => reverse(ip, Instant::now() + self.net_cap()),
            _ => Err(NetError::InvalidInput(format!("{address:?} is not an IP address"))),
        }
    }

    fn connect_host(
        &mut self,
        host: String,
        port: u16,
        timeout_ms: Option<u64>,
    ) -> Result<Resource<SocketEntry>, NetError> {
        let op = "connection.connect-host";
        let resolve = self.guard_net(op, NetAction::Resolve, Some(&host), None)?;
        let (target, end) = self.guard_connect(op, &host, port)?;
        let cap = self.net_cap();
        let wait = match timeout_ms {
            Some(0) => return Err(NetError::InvalidInput("timeout-ms must be at least 1".into())),
            Some(ms) => Duration::from_millis(ms).min(cap),
            None => cap,
        };
        let deadline = Instant::now() + wait;
        let addrs = self.target_addresses(op, &target, port, None, deadline)?;
        if let Target::Name(name) = &target
            && resolve.grant.is_some()
        {
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            self.remember(name, &ips);
        }
        self.reserve_handle()?;
        let mut entry = self.connect_new(&addrs, deadline, &host_port(&host, port))?;
        entry.peer = Some(end);
        self.push_socket(entry)
    }

    fn is_connected(&mut self, handle: Resource<SocketEntry>) -> bool {
        let Ok(entry) = self.entry(&handle) else { return false };
        if entry.socket.peer_addr().is_err() {
            return false;
        }
        !entry.is_tcp() || entry.alive(false)
    }

    fn connection_info(&mut self, handle: Resource<SocketEntry>) -> Result<ConnectionDetails, NetError> {
        let entry = self.entry(&handle)?;
        let peer = entry.socket.peer_addr().map_err(|e| entry.error(&e, &entry.label()))?;
        let local = entry.socket.local_addr().map_err(|e| entry.error(&e, &entry.label()))?;
        Ok(ConnectionDetails {
            local: to_wit(&local)?,
            peer: to_wit(&peer)?,
            protocol: entry.protocol.into(),
            family: entry.family.into(),
        })
    }

    fn set_keepalive(&mut self, handle: Resource<SocketEntry>, enabled: bool) -> Result<(), NetError> {
        let entry = self.entry(&handle)?;
        if !entry.is_tcp() {
            return Err(NetError::InvalidHandle);
        }
        entry
            .socket
            .set_keepalive(enabled)
            .map_err(|e| entry.error(&e, &entry.label()))
    }

    fn set_nodelay(&mut self, handle: Resource<SocketEntry>, enabled: bool) -> Result<(), NetError> {
        let entry = self.entry(&handle)?;
        if !entry.is_tcp() {
            return Err(NetError::InvalidHandle);
        }
        entry
            .socket
            .set_tcp_nodelay(enabled)
            .map_err(|e| entry.error(&e, &entry.label()))
    }

    fn pool_create(&mut self, max_size: u32, idle_timeout_ms: Option<u64>) -> Result<Resource<PoolEntry>, NetError> {
        if max_size == 0 {
            return Err(NetError::InvalidInput("max-size must be at least 1".into()));
        }
        self.reserve_handle()?;
        self.create_pool(max_size, idle_timeout_ms.map(Duration::from_millis))
    }

    fn pool_close(&mut self, handle: Resource<PoolEntry>) {
        self.close_pool(handle);
    }

    fn pool_acquire(
        &mut self,
        handle: Resource<PoolEntry>,
        host: String,
        port: u16,
    ) -> Result<Resource<SocketEntry>, NetError> {
        let op = "connection.pool-acquire";
        let id = self.pool_id(&handle)?;
        let (target, end) = self.guard_connect(op, &host, port)?;
        let key = (target.host(), port);
        self.expire_idle(id);
        if let Some(mut entry) = self.take_idle(id, &key) {
            entry.peer = Some(end);
            return self.lend(id, entry);
        }
        self.make_room(id)?;
        let deadline = Instant::now() + self.net_cap();
        let addrs = self.target_addresses(op, &target, port, None, deadline)?;
        self.reserve_handle()?;
        let mut entry = self.connect_new(&addrs, deadline, &host_port(&host, port))?;
        entry.peer = Some(end);
        entry.pool = Some(PoolTag { id, key });
        self.lend(id, entry)
    }

    fn pool_release(&mut self, handle: Resource<PoolEntry>, connection: Resource<SocketEntry>) -> Result<(), NetError> {
        let id = self.pool_id(&handle);
        // The guest gave the connection away: whatever happens, it leaves the table (and is
        // closed when the pool does not keep it).
        let entry = self.take_socket(connection).ok_or(NetError::InvalidHandle)?;
        let id = id?;
        if entry.pool.as_ref().map(|tag| tag.id) != Some(id) {
            return Err(NetError::InvalidHandle);
        }
        self.expire_idle(id);
        self.take_back(id, entry)
    }
}
