//! Fuzz target `policy`: see [`targets::policy`].
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(init: targets::init(), |data: &[u8]| targets::policy(data));
