//! The `connection` interface: name resolution, TCP connections by host name, connection
//! details, and connection pools.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use wasmtime::component::Resource;

use super::super::bindings::connection;
use super::super::bindings::net_types::ConnectionDetails;
use super::guard::Target;
use super::sock::connect_entry;
use super::{
    Idle, InstanceState, NetError, Pool, PoolEntry, PoolTag, SocketEntry, SocketProtocol, family_of, host_port, sys,
    to_wit,
};
use crate::policy::{Host, NetAction, normalize_host};

impl InstanceState {
    /// `resolve(host)` through the guard, then the lookup; the addresses of a name are
    /// remembered when a grant allowed the resolve (see the module documentation).
    fn resolve_guarded(&mut self, op: &str, host: &str) -> Result<Vec<IpAddr>, NetError> {
        let auth = self.guard_net(op, NetAction::Resolve, Some(host), None)?;
        match normalize_host(host) {
            Ok(Host::Ip(ip)) => Ok(vec![ip]),
            Ok(Host::Name(name)) => {
                let addrs = sys::lookup(&name, Instant::now() + self.net_cap())?;
                if auth.grant.is_some() {
                    self.remember(&name, &addrs);
                }
                Ok(addrs)
            }
            Err(e) => Err(NetError::InvalidInput(format!("{host:?}: {e}"))),
        }
    }

    /// A new TCP connection to the first of `addrs` that answers by `deadline`.
    fn connect_new(&self, addrs: &[SocketAddr], deadline: Instant, label: &str) -> Result<SocketEntry, NetError> {
        let cap = self.net_cap();
        let mut last = NetError::Timeout;
        for addr in addrs {
            let entry = SocketEntry::open(family_of(&addr.ip()), SocketProtocol::Tcp, cap)
                .map_err(|e| sys::net_error(&e, label, false))?;
            match connect_entry(&entry, std::slice::from_ref(addr), deadline, label) {
                Ok(()) => return Ok(entry),
                Err(NetError::Timeout) => return Err(NetError::Timeout),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn pool_id(&self, handle: &Resource<PoolEntry>) -> Result<u64, NetError> {
        let id = self.table.get(handle).map_err(|_| NetError::InvalidHandle)?.id;
        if self.net.pools.contains_key(&id) {
            Ok(id)
        } else {
            Err(NetError::InvalidHandle)
        }
    }

    /// Closes the idle connections of pool `id` that have waited longer than its idle timeout.
    fn expire_idle(&mut self, id: u64) {
        let Some(pool) = self.net.pools.get_mut(&id) else {
            return;
        };
        let Some(timeout) = pool.idle_timeout else { return };
        pool.idle.retain(|idle| idle.since.elapsed() < timeout);
    }

    /// Takes a healthy idle connection to `key` out of pool `id`, closing dead ones on the way.
    fn take_idle(&mut self, id: u64, key: &(Host, u16)) -> Option<SocketEntry> {
        loop {
            let pool = self.net.pools.get_mut(&id)?;
            let at = pool
                .idle
                .iter()
                .position(|idle| idle.entry.pool.as_ref().is_some_and(|tag| tag.key == *key))?;
            let idle = pool.idle.remove(at);
            if idle.entry.alive(true) {
                return Some(idle.entry);
            }
        }
    }

    /// Hands a connection of pool `id` to the guest.
    fn lend(&mut self, id: u64, entry: SocketEntry) -> Result<Resource<SocketEntry>, NetError> {
        let handle = self.push_socket(entry)?;
        if let Some(pool) = self.net.pools.get_mut(&id) {
            pool.in_use += 1;
        }
        Ok(handle)
    }

    /// Closes a pool and its idle connections (`pool-close` and the resource's drop).
    pub(super) fn close_pool(&mut self, handle: Resource<PoolEntry>) {
        if let Ok(entry) = self.table.delete(handle) {
            // Dropping the pool closes its idle connections.
            self.net.pools.remove(&entry.id);
        }
    }
}

impl connection::Host for InstanceState {
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
            Ok(Host::Ip(ip)) => sys::reverse(ip, Instant::now() + self.net_cap()),
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
            protocol: entry.protocol,
            family: entry.family,
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
        let id = self.net.next_pool;
        let handle = self
            .table
            .push(PoolEntry { id })
            .map_err(|e| NetError::Io(format!("cannot hold another handle: {e}")))?;
        self.net.next_pool += 1;
        self.net.pools.insert(
            id,
            Pool {
                max_size,
                idle_timeout: idle_timeout_ms.map(Duration::from_millis),
                idle: Vec::new(),
                in_use: 0,
            },
        );
        Ok(handle)
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
        let pool = self.net.pools.get_mut(&id).ok_or(NetError::InvalidHandle)?;
        let held = u64::from(pool.in_use) + pool.idle.len() as u64;
        if held >= u64::from(pool.max_size) {
            if pool.idle.is_empty() {
                return Err(NetError::PoolExhausted);
            }
            // The oldest idle connection (to another host) makes room.
            pool.idle.remove(0);
        }
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
        let healthy = !entry.shut_down && entry.socket.peer_addr().is_ok() && entry.alive(true);
        let mut entry = entry;
        entry.nonblocking = false;
        entry.read_timeout = None;
        entry.write_timeout = None;
        let reset = entry.socket.set_nonblocking(false).is_ok() && entry.apply_timeouts(self.net_cap()).is_ok();
        let Some(pool) = self.net.pools.get_mut(&id) else {
            return Err(NetError::InvalidHandle);
        };
        let room = u64::from(pool.in_use) + (pool.idle.len() as u64) < u64::from(pool.max_size);
        if healthy && reset && room {
            pool.idle.push(Idle {
                entry,
                since: Instant::now(),
            });
        }
        Ok(())
    }
}
