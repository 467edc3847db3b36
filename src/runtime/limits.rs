//! Resource limits of an instance: memory, CPU (fuel and a wall-clock deadline), tables and
//! instances, plus the host-side bounds of `host-services` and the extensions.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

use crate::manifest::Limits;

/// The bounds one instance runs under. [`RunLimits::default`] is what a component gets when
/// neither its manifest's `[limits]` nor the command line says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunLimits {
    /// Linear memory of the instance, all memories together, in bytes.
    pub memory_bytes: u64,
    /// Fuel for one export call (roughly one unit per Wasm instruction); `None` for no limit.
    pub fuel: Option<u64>,
    /// Wall-clock time of one export call, in milliseconds.
    pub timeout_ms: u64,
    /// Core instances, tables and memories a component may create.
    pub instances: usize,
    pub tables: usize,
    pub memories: usize,
    /// Elements of any one table.
    pub table_elements: usize,
    /// Longest `sleep-millis`; longer sleeps are cut to this.
    pub max_sleep_ms: u64,
    /// Largest message payload, in bytes.
    pub max_message_bytes: usize,
    /// Requests a component may have waiting for their callback.
    pub max_pending_requests: usize,
    /// Live child processes of one instance.
    pub max_children: usize,
    /// Open resource handles (files, sockets, pools, children) of one instance.
    pub max_handles: usize,
    /// Largest single read, file read or datagram returned to the guest, in bytes.
    pub max_read_bytes: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            memory_bytes: 256 << 20,
            fuel: None,
            timeout_ms: 30_000,
            // Real toolchains' components need more than a hand-written one: componentize-py's
            // has 38 core instances.
            instances: 100,
            tables: 100,
            memories: 16,
            table_elements: 100_000,
            max_sleep_ms: 10_000,
            max_message_bytes: 1 << 20,
            max_pending_requests: 64,
            max_children: 32,
            max_handles: 1024,
            max_read_bytes: 64 << 20,
        }
    }
}

impl RunLimits {
    /// These limits with the manifest's `[limits]` applied over them.
    pub fn with_manifest(mut self, limits: &Limits) -> Self {
        if let Some(memory) = limits.memory {
            self.memory_bytes = memory;
        }
        if let Some(fuel) = limits.fuel {
            self.fuel = Some(fuel);
        }
        if let Some(timeout) = limits.timeout_ms {
            self.timeout_ms = timeout;
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = limits.instances {
            self.instances = count(n);
        }
        if let Some(n) = limits.tables {
            self.tables = count(n);
        }
        if let Some(n) = limits.memories {
            self.memories = count(n);
        }
        self
    }

    pub(crate) fn store_limits(&self) -> Limiter {
        let memory = usize::try_from(self.memory_bytes).unwrap_or(usize::MAX);
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory)
                .instances(self.instances)
                .tables(self.tables)
                .memories(self.memories)
                .table_elements(self.table_elements)
                .trap_on_grow_failure(true)
                .build(),
            memory_limit: memory,
            memory_in_use: 0,
        }
    }

    /// The Wasmtime "hostcall fuel" of a store: how much data the embedder may lift from the
    /// guest in one call (a host operation's arguments, an export's results). It covers the
    /// instance's whole memory in the widest form a value can take on the host (one
    /// `component::Val` per byte, as a host that calls exports dynamically lifts a
    /// `list<u8>`), so that nothing the guest can hold traps on the way ("fuel allocated for
    /// hostcalls exhausted") while what it lifts stays bounded by the memory limit. It is
    /// never below Wasmtime's default.
    pub(crate) fn hostcall_fuel(&self) -> usize {
        const WASMTIME_DEFAULT: usize = 128 << 20;
        usize::try_from(self.memory_bytes)
            .unwrap_or(usize::MAX)
            .saturating_mul(std::mem::size_of::<wasmtime::component::Val>())
            .max(WASMTIME_DEFAULT)
    }
}

/// The store's resource limiter: Wasmtime's [`StoreLimits`], with the memory limit applied to
/// all linear memories together (as documented) and the memory in use counted, so that the
/// host knows how much room an instance has left for an answer.
#[derive(Debug)]
pub(crate) struct Limiter {
    inner: StoreLimits,
    memory_limit: usize,
    /// Bytes of linear memory the instance has, all memories together.
    memory_in_use: usize,
}

impl Limiter {
    /// Bytes of linear memory the instance has now, all memories together.
    pub(crate) fn memory_in_use(&self) -> u64 {
        self.memory_in_use as u64
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory_in_use.saturating_sub(current).saturating_add(desired);
        if total > self.memory_limit {
            // As `StoreLimits` does with `trap_on_grow_failure`: growing past the limit traps.
            wasmtime::bail!("forcing trap when growing memory to {desired} bytes");
        }
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_in_use = total;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
