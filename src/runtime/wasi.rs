//! WASI 0.2 for every component the runtime loads: what a guest's standard library needs
//! (stdio, clocks, random, arguments, environment, exit) and the interfaces that carry
//! authority (filesystem, sockets), under the same decisions as the airssys interfaces.
//!
//! Interfaces that carry no authority are wasmtime-wasi's own, linked as they are: `wasi:io`,
//! `wasi:clocks`, `wasi:random`, `wasi:cli` (its environment and arguments are only what the
//! host passes in [`WasiOptions`], never the host's own). `wasi:sockets` is wasmtime-wasi's
//! with airssys's address check (`net/wasi.rs`) and its own `ip-name-lookup`;
//! `wasi:filesystem` is airssys's (`fs/wasi.rs`, `iface/wasi_filesystem_*.rs`). Wasmtime links
//! every 0.2.x version a component imports to these (semver-compatible linking); the linking is
//! `iface::add_wasi_to_linker`.

use std::sync::Arc;

use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::fs::wasi::WasiFsState;
use super::guard::Guard;
use super::net::wasi::{SocketGuard, WasiNetState};

/// What a WASI guest is given by its host besides what its grants decide.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasiOptions {
    /// The arguments, `argv[0]` (the program's name) first.
    pub args: Vec<String>,
    /// The environment: only these variables (the host's own are never passed).
    pub env: Vec<(String, String)>,
    /// Pass the host's standard input, output and error through (otherwise stdin is empty
    /// and output is discarded).
    pub inherit_stdio: bool,
}

/// The WASI state of one instance.
pub(crate) struct WasiState {
    /// wasmtime-wasi's context: stdio, clocks, random, arguments, environment, sockets.
    pub(crate) ctx: WasiCtx,
    pub(crate) fs: WasiFsState,
    pub(crate) net: WasiNetState,
    pub(crate) sockets: Arc<SocketGuard>,
}

impl WasiState {
    pub(crate) fn new(guard: &Guard, options: &WasiOptions) -> Self {
        let sockets = Arc::new(SocketGuard::new(guard.decider()));
        let check = Arc::clone(&sockets);
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(&options.args)
            .envs(&options.env)
            .allow_blocking_current_thread(true)
            .allow_tcp(true)
            .allow_udp(true)
            .allow_ip_name_lookup(true)
            .socket_addr_check(move |addr, usage| {
                let allowed = check.check(addr, usage);
                Box::pin(async move { allowed })
            });
        if options.inherit_stdio {
            builder.inherit_stdio();
        }
        WasiState {
            ctx: builder.build(),
            fs: WasiFsState::default(),
            net: WasiNetState::default(),
            sockets,
        }
    }
}
