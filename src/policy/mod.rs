//! The policy decision: the one place that says whether a request is granted. Manifest grants
//! are parsed into typed values ([`GrantSet`]), compiled once ([`CompiledGrants`]), and every
//! request, whether static analysis imagines it or a running guest makes it, is decided by
//! [`CompiledGrants::decide`]. This module does no I/O, never prints and never panics: paths
//! and hosts are normalised lexically, symbolic links and DNS are the runtime's business.
//!
//! ```
//! use airssys_wasm::policy::{
//!     CompiledGrants, Env, FsAction, FsGrant, GrantSet, PathPattern, Request,
//! };
//!
//! let grants = GrantSet {
//!     filesystem: vec![FsGrant {
//!         action: FsAction::Read,
//!         pattern: PathPattern::parse("/data/**").unwrap(),
//!     }],
//!     ..GrantSet::default()
//! };
//! let compiled = CompiledGrants::compile(&grants, &Env::default());
//! let ok = compiled.decide(&Request::Fs { action: FsAction::Read, path: "/data/a/b.csv" });
//! assert!(ok.allowed);
//! let escape = compiled.decide(&Request::Fs { action: FsAction::Read, path: "/data/../etc" });
//! assert!(!escape.allowed);
//! ```
//!
//! Submodules: `action` (the vocabulary), `path`, `host` and `signal` (values and patterns),
//! `grant` (the grants and when one covers another), `decide` (the compiled decision) with its
//! indices `fs_index` and `net_index`, and `error`.

mod action;
mod decide;
mod error;
mod fs_index;
mod grant;
mod net_host;
mod net_index;
mod path;
mod signal;

#[cfg(test)]
mod proptests;

pub use action::{Action, Domain, FsAction, NetAction, ProcAction};
pub use decide::{CompiledGrants, Decision, Env, Request};
pub use error::{HostError, PathError, PatternError, PatternErrorKind};
pub use grant::{FsGrant, GrantRef, GrantSet, NetGrant, ProcGrant};
pub use net_host::{Host, HostPattern, normalize_host, unspecified_reaches};
pub use path::{PathPattern, normalize_path};
pub(crate) use path::{Root, normalize_cow};
pub use signal::Signal;

/// The hash map of the compiled indices: foldhash is several times faster than SipHash on the
/// short keys looked up here (path segments, host names), and its per-map random seed keeps
/// lookups with guest-chosen keys from being steered into collisions.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// "No grant" in the compiled indices, which store grant indices as `u32` so that taking the
/// minimum of several candidates needs no `Option`.
const NONE: u32 = u32::MAX;
