//! WASI 0.2 for every component the runtime loads: what a guest's standard library needs
//! (stdio, clocks, random, arguments, environment, exit) and the interfaces that carry
//! authority (filesystem, sockets), under the same decisions as the airssys interfaces.
//!
//! Interfaces that carry no authority are wasmtime-wasi's own, linked as they are: `wasi:io`,
//! `wasi:clocks`, `wasi:random`, `wasi:cli` (its environment and arguments are only what the
//! host passes in [`WasiOptions`], never the host's own). `wasi:sockets` is wasmtime-wasi's
//! with airssys's address check (`net/wasi.rs`) and its own `ip-name-lookup`;
//! `wasi:filesystem` is airssys's (`fs/wasi.rs`, `iface/wasi_filesystem_*.rs`). Wasmtime links
//! every 0.2.x version a component imports to these (semver-compatible linking).

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::fs::wasi::WasiFsState;
use super::guard::Guard;
use super::net::wasi::{SocketGuard, WasiNetState};
use super::state::InstanceState;

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

/// The `HasData` of `wasi:io`: the resource table alone.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(state: &mut InstanceState) -> &mut ResourceTable {
    &mut state.table
}

/// Links every WASI 0.2 interface the host serves.
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, io, random, sockets, sync};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

    type T = InstanceState;
    let l = linker;
    io::error::add_to_linker::<T, HasTable>(l, table)?;
    sync::io::poll::add_to_linker::<T, HasTable>(l, table)?;
    sync::io::streams::add_to_linker::<T, HasTable>(l, table)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    random::random::add_to_linker::<T, WasiRandom>(l, |t| t.wasi.ctx.random())?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.wasi.ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.wasi.ctx.random())?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    sockets::tcp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::instance_network::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sockets::network::add_to_linker::<T, WasiSockets>(l, &Default::default(), T::sockets)?;
    sync::sockets::tcp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sync::sockets::udp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    sync::sockets::udp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
    super::iface::add_wasi_to_linker(l)
}
