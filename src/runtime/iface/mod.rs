//! The host's interfaces: one file per WIT interface, named after it, each with the `Host`
//! implementation of that interface on its domain's view and the `add_to_linker` that links it
//! with the getter making that view (`InstanceState::fs_view`, ...).
//!
//! Naming: `<namespace>_<interface>` for airssys's interfaces, whose names are unique across
//! its packages (`airssys:ext-filesystem/metadata` is `airssys_metadata.rs`), and
//! `<namespace>_<package>_<interface>` where they are not, that is for each package's `types`
//! (`airssys:ext-network/types` is `airssys_network_types.rs`) and for WASI
//! (`wasi:filesystem/types` is `wasi_filesystem_types.rs`, `wasi:sockets/ip-name-lookup` is
//! `wasi_sockets_ip_name_lookup.rs`). Dashes become underscores.
//!
//! An interface file holds what the interface itself decides (its arguments, the requests it
//! authorizes, its answers); what several interfaces share (confinement, walks, socket
//! mechanisms, spawning, the guard's network side) lives in the domain modules `fs`, `net`,
//! `process` and `services`, which never import this module.

use wasmtime::component::{HasData, Linker, ResourceTable};

use super::state::InstanceState;

mod airssys_connection;
mod airssys_core_types;
mod airssys_filesystem;
mod airssys_filesystem_types;
mod airssys_host_services;
mod airssys_lifecycle;
mod airssys_metadata;
mod airssys_network_types;
mod airssys_process_types;
mod airssys_signals;
mod airssys_socket;
mod wasi_filesystem_preopens;
mod wasi_io;
pub(crate) use wasi_io::IoView;
mod wasi_filesystem_types;
mod wasi_sockets_ip_name_lookup;

/// Links every interface of the catalogue (`host-services` and the three extensions, 108
/// operations) to its implementation.
pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    airssys_host_services::add_to_linker(linker)?;
    airssys_core_types::add_to_linker(linker)?;
    airssys_filesystem::add_to_linker(linker)?;
    airssys_metadata::add_to_linker(linker)?;
    airssys_filesystem_types::add_to_linker(linker)?;
    airssys_network_types::add_to_linker(linker)?;
    airssys_socket::add_to_linker(linker)?;
    airssys_connection::add_to_linker(linker)?;
    airssys_lifecycle::add_to_linker(linker)?;
    airssys_signals::add_to_linker(linker)?;
    airssys_process_types::add_to_linker(linker)
}

/// The `HasData` of `wasi:io`: the resource table alone.
struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(state: &mut InstanceState) -> &mut ResourceTable {
    &mut state.table
}

/// Links every WASI 0.2 interface the host serves: wasmtime-wasi's own where an interface
/// carries no authority (and its sockets, which ask airssys's address check), airssys's
/// `wasi:filesystem` and `ip-name-lookup`.
pub(crate) fn add_wasi_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, io, random, sockets, sync};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

    type T = InstanceState;
    let l = linker;
    io::error::add_to_linker::<T, HasTable>(l, table)?;
    // `poll` and `streams` bounded by the call's deadline (`wasi_io.rs`).
    wasi_io::add_to_linker(l)?;
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
    wasi_filesystem_types::add_to_linker(l)?;
    wasi_filesystem_preopens::add_to_linker(l)?;
    wasi_sockets_ip_name_lookup::add_to_linker(l)?;
    // `wasi:http/types` and `outgoing-handler`: wasmtime-wasi-http's, sending through
    // airssys's hook (`net/http.rs`), which decides each request's authority.
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(l)
}
