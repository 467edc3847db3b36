//! Resource limits of an instance: memory, CPU (fuel and a wall-clock deadline), tables and
//! instances, plus the host-side bounds of `host-services` and the extensions.

use wasmtime::{StoreLimits, StoreLimitsBuilder};

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
            instances: 32,
            tables: 32,
            memories: 8,
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
        self
    }

    pub(crate) fn store_limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size(usize::try_from(self.memory_bytes).unwrap_or(usize::MAX))
            .instances(self.instances)
            .tables(self.tables)
            .memories(self.memories)
            .table_elements(self.table_elements)
            .trap_on_grow_failure(true)
            .build()
    }
}
