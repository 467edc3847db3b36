//! Runtime mode: a Wasmtime host that implements the catalogue's operations and enforces, on
//! every call, the same decision that the static check uses.
//!
//! - [`Runtime`] owns the engine (with epoch interruption and fuel) and a linker with every
//!   catalogued interface; [`Runtime::store`] makes the store of one instance, with its
//!   [`RunLimits`] and its guard.
//! - [`Host`] loads components that export `component-lifecycle`, calls their exports, and
//!   carries messages between them (`host-services`).
//! - Each host operation asks `InstanceState::authorize` before it has any effect; a denial
//!   becomes the operation's `permission-denied` error (never a trap) and an audit line.
//!
//! The extension hosts live in [`fs`], [`net`] and [`process`]; `host-services` in
//! [`services`].

mod audit;
pub mod bindings;
pub mod fs;
mod host;
mod limits;
pub mod net;
pub mod process;
pub mod services;
mod state;

pub use audit::{AuditLog, Mode, Record, Verdict, now_rfc3339};
pub use host::{CallError, Fault, Host, Runtime, RuntimeConfig};
pub use limits::RunLimits;
pub use state::{ComponentPolicy, Denied, InstanceState, describe_request};
