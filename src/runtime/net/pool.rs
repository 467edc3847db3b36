//! Connection pools: the idle connections a pool holds for reuse, expired and checked for
//! health before they are lent again, and the slots a pool's lent connections take.

use std::time::{Duration, Instant};

use wasmtime::component::Resource;

use super::{Idle, NetError, NetView, Pool};
use crate::policy::Host;
use crate::runtime::resources::{PoolEntry, SocketEntry};

impl NetView<'_> {
    pub(crate) fn pool_id(&self, handle: &Resource<PoolEntry>) -> Result<u64, NetError> {
        let id = self.table.get(handle).map_err(|_| NetError::InvalidHandle)?.id;
        if self.net.pools.contains_key(&id) {
            Ok(id)
        } else {
            Err(NetError::InvalidHandle)
        }
    }

    /// Closes the idle connections of pool `id` that have waited longer than its idle timeout.
    pub(crate) fn expire_idle(&mut self, id: u64) {
        let Some(pool) = self.net.pools.get_mut(&id) else {
            return;
        };
        let Some(timeout) = pool.idle_timeout else { return };
        pool.idle.retain(|idle| idle.since.elapsed() < timeout);
    }

    /// Takes a healthy idle connection to `key` out of pool `id`, closing dead ones on the way.
    pub(crate) fn take_idle(&mut self, id: u64, key: &(Host, u16)) -> Option<SocketEntry> {
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
    pub(crate) fn lend(&mut self, id: u64, entry: SocketEntry) -> Result<Resource<SocketEntry>, NetError> {
        let handle = self.push_socket(entry)?;
        if let Some(pool) = self.net.pools.get_mut(&id) {
            pool.in_use += 1;
        }
        Ok(handle)
    }

    /// Closes a pool and its idle connections (`pool-close` and the resource's drop).
    pub(crate) fn close_pool(&mut self, handle: Resource<PoolEntry>) {
        if let Ok(entry) = self.table.delete(handle) {
            // Dropping the pool closes its idle connections.
            self.net.pools.remove(&entry.id);
        }
    }

    /// A new pool of at most `max_size` connections (the caller has checked that the instance
    /// has room for one more handle).
    pub(crate) fn create_pool(
        &mut self,
        max_size: u32,
        idle_timeout: Option<Duration>,
    ) -> Result<Resource<PoolEntry>, NetError> {
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
                idle_timeout,
                idle: Vec::new(),
                in_use: 0,
            },
        );
        Ok(handle)
    }

    /// Room in pool `id` for one more connection: when it is full, its oldest idle connection
    /// (to another host) is closed; with none idle, `pool-exhausted`.
    pub(crate) fn make_room(&mut self, id: u64) -> Result<(), NetError> {
        let pool = self.net.pools.get_mut(&id).ok_or(NetError::InvalidHandle)?;
        let held = u64::from(pool.in_use) + pool.idle.len() as u64;
        if held >= u64::from(pool.max_size) {
            if pool.idle.is_empty() {
                return Err(NetError::PoolExhausted);
            }
            // The oldest idle connection (to another host) makes room.
            pool.idle.remove(0);
        }
        Ok(())
    }

    /// Keeps a connection the guest gave back to pool `id` for reuse, when it is healthy, its
    /// modes can be reset and the pool has room; otherwise it is closed.
    pub(crate) fn take_back(&mut self, id: u64, entry: SocketEntry) -> Result<(), NetError> {
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
