//! Standard WASI imports mapped onto the manifest's permission domains, so that ordinary WASI
//! components are audited the same way as airssys ones: a `wasi:http/outgoing-handler` import
//! is a network `connect`, `unlink-file-at` is a filesystem `delete`, and so on.
//!
//! The table is per function. Interfaces that need no grant (clocks, random, I/O streams, the
//! CLI's stdio) map every function to `none`; an interface or function not in the table is
//! unmapped and reported (fail closed).

use crate::catalogue::{Requirement, Term};
use crate::policy::{Action, FsAction, NetAction};

/// What a WASI function needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WasiMapping {
    Needs(Requirement),
    Unmapped,
}

/// Interfaces whose every function is baseline (no grant).
const BASELINE: &[&str] = &[
    "cli/environment",
    "cli/exit",
    "cli/stdin",
    "cli/stdout",
    "cli/stderr",
    "cli/terminal-input",
    "cli/terminal-output",
    "cli/terminal-stdin",
    "cli/terminal-stdout",
    "cli/terminal-stderr",
    "clocks/monotonic-clock",
    "clocks/wall-clock",
    "clocks/timezone",
    "io/error",
    "io/poll",
    "io/streams",
    "random/random",
    "random/insecure",
    "random/insecure-seed",
    "filesystem/preopens",
    "sockets/network",
    "sockets/instance-network",
    "sockets/tcp-create-socket",
    "sockets/udp-create-socket",
    "http/types",
];

/// Maps `wasi:<interface>` function `func` (the function's name in the world, e.g.
/// `[method]descriptor.read`); `None` when the package is not `wasi`.
pub fn map(namespace: &str, package: &str, interface: &str, func: &str) -> Option<WasiMapping> {
    if namespace != "wasi" {
        return None;
    }
    let key = format!("{package}/{interface}");
    if BASELINE.contains(&key.as_str()) || func.starts_with("[resource-drop]") {
        return Some(needs(&[]));
    }
    let method = func.rsplit('.').next().unwrap_or(func);
    let actions: Option<&[Action]> = match key.as_str() {
        "filesystem/types" => filesystem(method),
        "sockets/tcp" => tcp(method),
        "sockets/udp" => udp(method),
        "sockets/ip-name-lookup" => match method {
            "resolve-addresses" => Some(&[Action::Net(NetAction::Resolve)]),
            "resolve-next-address" | "subscribe" => Some(&[]),
            _ => None,
        },
        "http/outgoing-handler" => match method {
            "handle" => Some(&[Action::Net(NetAction::Connect)]),
            _ => None,
        },
        _ => None,
    };
    Some(actions.map_or(WasiMapping::Unmapped, needs))
}

/// A requirement of one term whose alternatives are `actions` (empty: none). WASI arguments
/// are handles and descriptors, unknown statically, so the terms carry no arguments.
fn needs(actions: &[Action]) -> WasiMapping {
    if actions.is_empty() {
        return WasiMapping::Needs(Requirement { terms: Vec::new() });
    }
    let domain = actions[0].domain();
    WasiMapping::Needs(Requirement {
        terms: vec![Term {
            domain,
            actions: actions.to_vec(),
            args: Vec::new(),
        }],
    })
}

const READ: &[Action] = &[Action::Fs(FsAction::Read)];
const WRITE: &[Action] = &[Action::Fs(FsAction::Write)];
const DELETE: &[Action] = &[Action::Fs(FsAction::Delete)];
const META: &[Action] = &[Action::Fs(FsAction::Metadata)];
const READ_OR_WRITE: &[Action] = &[Action::Fs(FsAction::Read), Action::Fs(FsAction::Write)];

fn filesystem(method: &str) -> Option<&'static [Action]> {
    Some(match method {
        "read" | "read-via-stream" | "read-directory" | "read-directory-entry" => READ,
        "write"
        | "write-via-stream"
        | "append-via-stream"
        | "set-size"
        | "set-times"
        | "set-times-at"
        | "create-directory-at"
        | "link-at"
        | "symlink-at"
        | "sync"
        | "sync-data" => WRITE,
        "rename-at" => WRITE,
        "open-at" => READ_OR_WRITE,
        "unlink-file-at" | "remove-directory-at" => DELETE,
        "stat" | "stat-at" | "metadata-hash" | "metadata-hash-at" | "get-type" | "get-flags" | "readlink-at"
        | "is-same-object" => META,
        "advise" | "filesystem-error-code" => &[],
        _ => return None,
    })
}

fn tcp(method: &str) -> Option<&'static [Action]> {
    Some(match method {
        "start-connect" | "finish-connect" => &[Action::Net(NetAction::Connect)],
        "start-bind" | "finish-bind" => &[Action::Net(NetAction::Bind)],
        "start-listen" | "finish-listen" | "accept" => &[Action::Net(NetAction::Listen)],
        "local-address"
        | "remote-address"
        | "is-listening"
        | "address-family"
        | "set-listen-backlog-size"
        | "keep-alive-enabled"
        | "set-keep-alive-enabled"
        | "keep-alive-idle-time"
        | "set-keep-alive-idle-time"
        | "keep-alive-interval"
        | "set-keep-alive-interval"
        | "keep-alive-count"
        | "set-keep-alive-count"
        | "hop-limit"
        | "set-hop-limit"
        | "receive-buffer-size"
        | "set-receive-buffer-size"
        | "send-buffer-size"
        | "set-send-buffer-size"
        | "subscribe"
        | "shutdown" => &[],
        _ => return None,
    })
}

fn udp(method: &str) -> Option<&'static [Action]> {
    Some(match method {
        "start-bind" | "finish-bind" => &[Action::Net(NetAction::Bind)],
        "stream" => &[Action::Net(NetAction::Connect), Action::Net(NetAction::Bind)],
        "send" => &[Action::Net(NetAction::Connect)],
        "receive" => &[Action::Net(NetAction::Bind)],
        "local-address"
        | "remote-address"
        | "address-family"
        | "unicast-hop-limit"
        | "set-unicast-hop-limit"
        | "receive-buffer-size"
        | "set-receive-buffer-size"
        | "send-buffer-size"
        | "set-send-buffer-size"
        | "subscribe"
        | "check-send" => &[],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_usual_suspects() {
        let req = |ns, p, i, f| match map(ns, p, i, f) {
            Some(WasiMapping::Needs(r)) => r.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(req("wasi", "http", "outgoing-handler", "handle"), "network:connect()");
        assert_eq!(
            req("wasi", "filesystem", "types", "[method]descriptor.unlink-file-at"),
            "filesystem:delete()"
        );
        assert_eq!(
            req("wasi", "filesystem", "types", "[method]descriptor.open-at"),
            "filesystem:read|write()"
        );
        assert_eq!(req("wasi", "clocks", "wall-clock", "now"), "none");
        assert_eq!(
            req("wasi", "sockets", "ip-name-lookup", "resolve-addresses"),
            "network:resolve()"
        );
        assert_eq!(
            map("wasi", "filesystem", "types", "[method]descriptor.frobnicate"),
            Some(WasiMapping::Unmapped)
        );
        assert_eq!(map("wasi", "keyvalue", "store", "get"), Some(WasiMapping::Unmapped));
        assert_eq!(map("airssys", "core", "host-services", "log"), None);
    }
}
