//! The catalogue WIT compiled into the binary, so the installed tool works anywhere.
//! A test checks that this list equals the files under `wit/`.

/// `(path relative to wit/, contents)` of every catalogue file.
pub const FILES: &[(&str, &str)] = &[
    ("core/capabilities.wit", include_str!("../../wit/core/capabilities.wit")),
    (
        "core/component-lifecycle.wit",
        include_str!("../../wit/core/component-lifecycle.wit"),
    ),
    (
        "core/host-services.wit",
        include_str!("../../wit/core/host-services.wit"),
    ),
    ("core/types.wit", include_str!("../../wit/core/types.wit")),
    ("core/worlds.wit", include_str!("../../wit/core/worlds.wit")),
    (
        "ext-filesystem/filesystem.wit",
        include_str!("../../wit/ext-filesystem/filesystem.wit"),
    ),
    (
        "ext-filesystem/metadata.wit",
        include_str!("../../wit/ext-filesystem/metadata.wit"),
    ),
    (
        "ext-filesystem/types.wit",
        include_str!("../../wit/ext-filesystem/types.wit"),
    ),
    (
        "ext-network/connection.wit",
        include_str!("../../wit/ext-network/connection.wit"),
    ),
    (
        "ext-network/socket.wit",
        include_str!("../../wit/ext-network/socket.wit"),
    ),
    ("ext-network/types.wit", include_str!("../../wit/ext-network/types.wit")),
    (
        "ext-process/lifecycle.wit",
        include_str!("../../wit/ext-process/lifecycle.wit"),
    ),
    (
        "ext-process/signals.wit",
        include_str!("../../wit/ext-process/signals.wit"),
    ),
    ("ext-process/types.wit", include_str!("../../wit/ext-process/types.wit")),
];
