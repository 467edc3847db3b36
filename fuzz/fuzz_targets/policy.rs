//! Fuzz target `policy`: see [`targets::policy`].
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::policy(data));
