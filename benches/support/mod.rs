//! What the bench binaries share: the best of several timed runs, and the catalogue operations
//! their generated components import.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// The shortest of `runs` runs of `f`.
pub fn best<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Catalogue operations (`interface.function`) that generated components import.
pub const OPS: &[&str] = &[
    "filesystem.read-file",
    "filesystem.write-file",
    "filesystem.list-dir",
    "filesystem.open",
    "filesystem.read",
    "filesystem.close",
    "metadata.stat",
    "metadata.walk-dir",
    "connection.resolve",
    "connection.connect-host",
    "socket.send",
    "socket.receive",
    "lifecycle.spawn",
    "lifecycle.wait",
    "signals.send-term",
    "host-services.log",
];
