//! Runtime mode: a Wasmtime host that implements the catalogue's operations and enforces, on
//! every call, the same decision that the static check uses. (Built with the `runtime` cargo
//! feature, on by default.)
//!
//! - [`Runtime`] owns the engine (with epoch interruption and fuel) and a linker with every
//!   catalogued interface; [`Runtime::store`] makes the store of one instance, with its
//!   [`RunLimits`] and its guard.
//! - [`Host`] loads components that export `component-lifecycle`, calls their exports, and
//!   carries messages between them (`host-services`).
//! - Each host operation asks the guard (`Guard::authorize`) before it has any effect; a
//!   denial becomes the operation's `permission-denied` error (never a trap) and an audit line.
//!
//! # Layout
//!
//! The way wasmtime-wasi is organised: one file per WIT interface, each implemented on a
//! narrow view of the instance, over domain modules that hold the mechanisms.
//!
//! - Leaves (import nothing else from the runtime): [`resources`] (the entries behind the
//!   guest's handles: `FileHandle`, `SocketEntry`, `PoolEntry`, `ChildEntry`), `audit.rs`,
//!   `limits.rs`. [`bindings`] is generated over the project's `wit/` and maps the catalogue's
//!   resources onto [`resources`].
//! - The guard (`guard.rs`): `ComponentPolicy`, `Guard` (policy, audit log, limits, memory in
//!   use, the call's deadline) with `authorize`, `authorize_handle`, `refuse`, `records`,
//!   `time_left`, `call_deadline`, `answer_budget`; `describe_request`.
//! - Domains, each with its state, its view and the mechanisms its interfaces share:
//!   [`fs`] (confinement below a grant's base with symbolic links re-authorised per hop,
//!   bounded walks, copies, inode changes), [`net`] (sockets, the network side of the guard
//!   with name-bound connects, lookups, pools), [`process`] (spawning through the spawner
//!   thread, children, signals), [`services`] (the log sink, the other components, queued
//!   requests).
//! - `state.rs`: [`InstanceState`], the store data, and the getters that split it into views
//!   (`fs_view`, `net_view`, `process_view`, `services_view`).
//! - `iface/`: one file per WIT interface, named after it, with the `Host` implementation on
//!   its view and its `add_to_linker` (see `iface/mod.rs` for the naming rule). WASI
//!   interfaces sit beside the airssys ones.
//! - `fault.rs` ([`CallError`], [`Fault`]), `hub.rs` (the components of one host and request
//!   delivery), `host.rs` ([`Runtime`], [`Host`], the linker).
//!
//! Imports go one way, so the module graph is acyclic: leaves → guard → domains → state →
//! interfaces → hub → host.

mod audit;
pub mod bindings;
pub mod cache;
mod fault;
pub mod fs;
mod guard;
mod host;
mod hub;
mod iface;
mod limits;
pub mod net;
pub mod process;
pub mod resources;
pub mod services;
mod state;
#[cfg(test)]
mod testing;
mod wasi;

pub use audit::{
    AuditLog, Collector, Counts, End, FORMAT, Mode, Observed, Observer, Phase, PolicyInForce, Record, Start, Trail,
    Verdict, new_run_id, now_rfc3339,
};
pub use cache::{CacheOutcome, CompileCache};
pub use fault::{CallError, Fault};
pub use guard::{ComponentPolicy, Denied, describe_request};
pub use host::{Host, Runtime, RuntimeConfig};
pub use hub::Exit;
pub use limits::RunLimits;
pub use state::InstanceState;
pub use wasi::WasiOptions;
