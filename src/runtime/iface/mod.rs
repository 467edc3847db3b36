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

use wasmtime::component::Linker;

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

/// Links the WASI interfaces that airssys implements itself (`wasi:filesystem`,
/// `wasi:sockets/ip-name-lookup`); `runtime/wasi.rs` links the rest from wasmtime-wasi.
pub(crate) fn add_wasi_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wasi_filesystem_types::add_to_linker(linker)?;
    wasi_filesystem_preopens::add_to_linker(linker)?;
    wasi_sockets_ip_name_lookup::add_to_linker(linker)
}
