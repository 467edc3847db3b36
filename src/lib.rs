//! airssys-wasm decides what a WebAssembly component may touch.
//!
//! It reads the WIT operation [`catalogue`], a component's [`manifest`] (`Component.toml`) and,
//! for the analyzer, the compiled component, and answers with [`diagnostics`]. The permission
//! decision itself lives in [`policy`], a pure module that static checks and the runtime share.
//!
//! ```
//! use airssys_wasm::manifest::Manifest;
//! use airssys_wasm::policy::{FsAction, Request};
//!
//! let toml = r#"
//! [component]
//! name = "csv-export"
//! version = "1.0.0"
//!
//! [permissions]
//! filesystem = [{ action = "write", path = "/data/out/**" }]
//! "#;
//! let manifest = Manifest::parse("Component.toml", toml).into_valid().unwrap();
//! let grants = manifest.compile(&Default::default());
//! let write = |path| Request::Fs { action: FsAction::Write, path };
//! assert!(grants.decide(&write("/data/out/report.csv")).allowed);
//! assert!(!grants.decide(&write("/data/out/../secrets")).allowed);
//! ```

pub mod analyze;
pub mod bounded;
pub mod cache;
pub mod catalogue;
pub mod check;
pub mod component;
pub mod diagnostics;
pub mod diff;
pub mod digest;
pub mod error;
pub mod guard;
pub mod inspect;
pub mod learn;
pub mod list;
pub mod manifest;
pub mod orgpolicy;
pub mod policy;
pub mod report;
pub mod review;
#[cfg(feature = "runtime")]
pub mod runtime;
mod toml_doc;
pub mod wit_world;

pub use error::{Error, ErrorKind, Result};
