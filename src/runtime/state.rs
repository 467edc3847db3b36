//! The store data of one instance ([`InstanceState`]) and the narrow views its interfaces are
//! implemented on.
//!
//! `InstanceState` holds the [`Guard`], the resource table and one state per domain. Each
//! interface is linked with a getter that splits it into the view of its domain (the guard,
//! shared; that domain's state and the resource table, mutable), as Wasmtime's `HasData`
//! mechanism expects: [`InstanceState::fs_view`], [`InstanceState::net_view`],
//! [`InstanceState::process_view`], [`InstanceState::services_view`]. A host operation sees
//! only what its view holds.
//!
//! [`arm`] renews a store's time and fuel before each export call.

use std::sync::Weak;
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::ResourceTable;

use super::fs::wasi::WasiFsView;
use super::fs::{FsState, FsView};
use super::guard::{ComponentPolicy, Guard};
use super::net::wasi::WasiNetView;
use super::net::{NetState, NetView};
use super::process::{ProcState, ProcessView};
use super::services::{Components, LogSink, ServicesState, ServicesView};
use super::wasi::{WasiOptions, WasiState};

/// How often the engine's epoch advances: the granularity of the wall-clock deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The data of one instance's store.
pub struct InstanceState {
    /// The policy, audit log, limits and deadline every operation answers to.
    pub(crate) guard: Guard,
    /// The guest's handles (files, sockets, pools, children), shared by every interface.
    pub(crate) table: ResourceTable,
    pub(crate) fs: FsState,
    pub(crate) net: NetState,
    pub(crate) process: ProcState,
    pub(crate) services: ServicesState,
    /// WASI: wasmtime-wasi's context and what the host's own WASI interfaces keep.
    pub(crate) wasi: WasiState,
}

impl std::fmt::Debug for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceState")
            .field("component", &self.name())
            .finish_non_exhaustive()
    }
}

impl InstanceState {
    /// The state of a new instance whose operations answer to `guard`. `hub` is the host's set
    /// of components, for `host-services` messaging (`None`: the instance runs alone).
    pub(crate) fn new(guard: Guard, hub: Option<Weak<dyn Components>>, log: LogSink, wasi: &WasiOptions) -> Self {
        let wasi = WasiState::new(&guard, wasi);
        InstanceState {
            guard,
            table: ResourceTable::new(),
            fs: FsState::default(),
            net: NetState::default(),
            process: ProcState::default(),
            services: ServicesState::new(hub, log),
            wasi,
        }
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        self.guard.name()
    }

    /// The component's policy.
    pub fn policy(&self) -> &ComponentPolicy {
        self.guard.policy()
    }

    /// The view of the filesystem interfaces (`filesystem`, `metadata`, their `types`).
    pub(crate) fn fs_view(&mut self) -> FsView<'_> {
        FsView {
            guard: &self.guard,
            fs: &mut self.fs,
            table: &mut self.table,
        }
    }

    /// The view of the network interfaces (`socket`, `connection`, their `types`).
    pub(crate) fn net_view(&mut self) -> NetView<'_> {
        NetView {
            guard: &self.guard,
            net: &mut self.net,
            table: &mut self.table,
        }
    }

    /// The view of the process interfaces (`lifecycle`, `signals`, their `types`).
    pub(crate) fn process_view(&mut self) -> ProcessView<'_> {
        ProcessView {
            guard: &self.guard,
            process: &mut self.process,
            table: &mut self.table,
        }
    }

    /// The view of `wasi:filesystem` (`types`, `preopens`).
    pub(crate) fn wasi_fs_view(&mut self) -> WasiFsView<'_> {
        WasiFsView {
            guard: &self.guard,
            fs: &mut self.fs,
            wasi: &mut self.wasi.fs,
            ctx: self.wasi.ctx.filesystem(),
            table: &mut self.table,
        }
    }

    /// The view of `wasi:io/poll` and `wasi:io/streams`: the table, and the guard for the
    /// call's deadline.
    pub(crate) fn io_view(&mut self) -> crate::runtime::iface::IoView<'_> {
        crate::runtime::iface::IoView {
            guard: &self.guard,
            table: &mut self.table,
        }
    }

    /// The view of `wasi:sockets/ip-name-lookup`.
    pub(crate) fn wasi_net_view(&mut self) -> WasiNetView<'_> {
        WasiNetView {
            sockets: &self.wasi.sockets,
            state: &mut self.wasi.net,
            ctx: self.wasi.ctx.sockets(),
            table: &mut self.table,
        }
    }

    /// The view of `host-services` and the core `types`.
    pub(crate) fn services_view(&mut self) -> ServicesView<'_> {
        ServicesView {
            guard: &self.guard,
            services: &self.services,
        }
    }
}

/// Gives the next call of `store` its full budget: `timeout_ms` of wall-clock time and, when
/// a fuel limit is set, that much fuel.
pub(crate) fn arm(store: &mut Store<InstanceState>) {
    let limits = store.data().guard.run_limits;
    set_deadline(store, limits.timeout_ms);
    // Fails only when fuel metering is off, in which case there is nothing to set.
    let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
}

/// The call's wall-clock deadline, `ms` from now: for the engine (epoch ticks) and for the
/// host operations the call makes, which stop by then too.
pub(crate) fn set_deadline(store: &mut Store<InstanceState>, ms: u64) {
    store.set_epoch_deadline(ticks(ms));
    let now = Instant::now();
    store.data_mut().guard.deadline = Some(now.checked_add(Duration::from_millis(ms)).unwrap_or(now));
}

/// Epoch ticks that cover `ms` milliseconds (at least one whole tick more, never zero).
fn ticks(ms: u64) -> u64 {
    ms.div_ceil(EPOCH_TICK.as_millis() as u64).max(1) + 1
}

/// wasmtime-wasi's view of an instance: its context and the instance's resource table (the
/// interfaces linked from wasmtime-wasi as they are).
impl wasmtime_wasi::WasiView for InstanceState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi.ctx,
            table: &mut self.table,
        }
    }
}

/// wasmtime-wasi-http's view of an instance: its HTTP context, the hook that decides each
/// request (`net/http.rs`), and the resource table.
impl wasmtime_wasi_http::WasiHttpView for InstanceState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            hooks: &mut self.wasi.http_hooks,
            table: &mut self.table,
            ctx: &mut self.wasi.http,
        }
    }
}
