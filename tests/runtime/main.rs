//! Runtime tests: guests run in the Wasmtime host with enforcement. One test binary (one link
//! of Wasmtime) holds every runtime module.

#[path = "../common/mod.rs"]
mod common;
mod guest;
mod support;

mod audit;
mod cli_run;
mod consistency;
mod example;
mod host;
mod learn;
mod lifecycle;
mod services;
mod wasi;

mod fs;
mod net;
mod process;
