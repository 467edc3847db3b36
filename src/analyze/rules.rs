//! The rules of the component analysis (`CMP…`) with their documentation, and the
//! constructors of the findings `check`, `classify` and the permission check report.

use std::ops::Range;

use crate::diagnostics::{Diagnostic, SourceId, rules};

rules! {
    /// The bytes do not validate as WebAssembly (wasmparser, all proposals enabled), are neither a
    /// binary nor WAT text, or the component's world cannot be decoded. The finding gives the byte offset
    /// where validation failed. Nothing else about the file can be trusted, so nothing else is reported.
    ///
    /// ## Example
    /// A download cut short: `exporter.wasm` ends in the middle of its code section
    /// (`unexpected end-of-file` at the byte offset shown).
    ///
    /// ## Fixed
    /// The complete file, rebuilt or downloaded again (its size and digest match the build's).
    ///
    /// ## How to fix
    /// Rebuild the component; check the file was not truncated or corrupted in transfer.
    INVALID_BINARY = "CMP001" "invalid-binary" Error "the file is not a valid WebAssembly component or module";

    /// The component imports an operation whose `@requires` (or, for a WASI import, its mapped
    /// permission) needs a grant of an action that no manifest entry gives. At run time every such call
    /// would be denied; more likely the manifest is missing a grant the author forgot to declare, and a
    /// reviewer approving the manifest would not see what the component can attempt.
    ///
    /// ## Example
    /// A component imports `airssys:ext-filesystem/filesystem@1.0.0` `write-file`, and the manifest
    /// grants only `read`.
    ///
    /// ## Fixed
    /// The manifest grants the `write` the import needs, narrowly:
    ///
    /// ```toml
    /// filesystem = [
    ///   { action = "read", path = "/data/in/**" },
    ///   { action = "write", path = "/data/out/**" },
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Declare the grant (narrowly), or stop importing the operation.
    UNDECLARED_PERMISSION = "CMP002" "undeclared-permission" Error "an imported operation needs a permission the manifest does not grant";

    /// The manifest grants an action that none of the component's imports can exercise (for example
    /// `connect` when the component imports no network operation, or `signal SIGUSR1` when it can only
    /// send `SIGKILL`). Least privilege: every grant is something a reviewer must approve and an
    /// attacker who compromises the component can use, so grants nobody uses should go.
    ///
    /// ## Example
    /// A component that imports only filesystem operations, with this manifest:
    ///
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/**" }]
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Remove the grant, or ignore this warning with `-A unused-grant` when the manifest is shared by
    /// several builds.
    UNUSED_GRANT = "CMP003" "unused-grant" Warning "a grant that no imported operation could use";

    /// The component imports an operation that can do serious damage (`remove-dir-all`,
    /// `delete-file`, `spawn-shell`, `set-permissions`, ...) and the grant that enables it is overly
    /// broad (`/**`, `~/**`, `**`, a bare-TLD wildcard). Together they mean the component may, for
    /// example, delete any file the host can.
    ///
    /// ## Example
    /// A component that imports `remove-dir-all`, with this manifest:
    ///
    /// ```toml
    /// filesystem = [{ action = "delete", path = "/**" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "delete", path = "/var/cache/exporter/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Narrow the grant to the directory or host the operation really needs.
    RISKY_OPERATION_UNDER_BROAD_GRANT = "CMP004" "risky-operation-under-broad-grant" Warning "a destructive or dangerous operation is enabled by an overly broad grant";

    /// The host runs WebAssembly components. A core module cannot be instantiated by it. Its imports
    /// are still analysed by name, so the other findings remain useful, but function types cannot be
    /// checked.
    ///
    /// ## Example
    /// ```wat
    /// (module
    ///   (import "airssys:ext-filesystem/filesystem@1.0.0" "read-file" (func (param i32 i32 i32)))
    /// )
    /// ```
    ///
    /// ## Fixed
    /// The same code wrapped into a component (`wasm-tools component new module.wasm -o
    /// component.wasm`, or a build for `wasm32-wasip2`).
    ///
    /// ## How to fix
    /// Turn the module into a component (`wasm-tools component new`, or build for a component target).
    CORE_MODULE = "CMP005" "core-module" Error "the file is a core module, not a component";

    /// A WASI interface or function that the analyzer does not know how to map onto a permission
    /// domain, or an import whose name is not an interface name at all (a URL, a hash, a bare label).
    /// The analyzer fails closed: what it cannot classify it reports.
    ///
    /// ## Example
    /// ```wat
    /// (component
    ///   (import "https://example.com/plugin" (func))
    /// )
    /// ```
    ///
    /// ## Fixed
    /// ```wat
    /// (component
    ///   (import "airssys:core/host-services@1.0.0" (instance
    ///     (export "log" (func (param "level" u8) (param "message" string)))
    ///   ))
    /// )
    /// ```
    ///
    /// (or any catalogue operation or mapped WASI interface that does the job)
    ///
    /// ## How to fix
    /// Remove the import, or map it by importing the corresponding catalogue operation instead.
    UNMAPPED_IMPORT = "CMP006" "unmapped-import" Error "an import that cannot be mapped onto a permission";

    /// `check` looks for the manifest given by `--manifest`, else `<stem>.toml` beside the component,
    /// else `Component.toml` beside it. Without a manifest the component is granted nothing and every
    /// permission it needs is undeclared.
    ///
    /// ## Example
    /// `components/exporter.wasm` with no `components/exporter.toml`, no
    /// `components/Component.toml` and no `--manifest`.
    ///
    /// ## Fixed
    /// `components/exporter.toml` beside it, started from
    /// `airssys-wasm inspect --suggest-manifest components/exporter.wasm` and narrowed by hand.
    ///
    /// ## How to fix
    /// Write a manifest; `airssys-wasm inspect --suggest-manifest COMPONENT` prints a least-privilege one.
    MISSING_MANIFEST = "CMP007" "missing-manifest" Error "no manifest was found for the component";

    /// The component imports operations that need an action (filesystem `delete`, network `connect`,
    /// ...) which its manifest's `[acknowledged]` table says it will never be granted. Toolchains that
    /// embed an interpreter (componentize-py, componentize-js) import whole interfaces whatever the
    /// embedded script does; an acknowledgment records, with its reason, that the author and the
    /// reviewer know this. The operations stay denied at run time: an acknowledgment grants nothing.
    ///
    /// This note lists, per acknowledged action, the imported operations that need it, so a reviewer
    /// can see what the acknowledgment covers.
    ///
    /// ## Example
    /// ```toml
    /// [acknowledged]
    /// reason = "CPython links its whole os module; the app only reads /data"
    /// filesystem = ["write", "delete"]
    /// ```
    ///
    /// ## Fixed
    /// Nothing to change when the acknowledgment is right; if the component should write after all:
    ///
    /// ```toml
    /// [permissions]
    /// filesystem = [{ action = "write", path = "/data/out/**" }]
    ///
    /// [acknowledged]
    /// reason = "CPython links its whole os module; the app only reads and writes /data"
    /// filesystem = ["delete"]
    /// ```
    ///
    /// ## How to fix
    /// Nothing to fix. Remove the action from `[acknowledged]` if the component should be granted it
    /// after all (then grant it narrowly).
    ACKNOWLEDGED_NEVER_GRANTED = "CMP008" "acknowledged-never-granted" Note "imported operations need an action the manifest acknowledges it never grants";

    /// The manifest's `[acknowledged]` table names an action that no operation the component imports
    /// needs (or that a grant already satisfies for every operation). An acknowledgment that matches
    /// nothing is stale, and a stale exception hides the next real one.
    ///
    /// ## Example
    /// A component that imports no network operation, with this manifest:
    ///
    /// ```toml
    /// [acknowledged]
    /// reason = "the runtime library imports sockets"
    /// network = ["connect"]
    /// ```
    ///
    /// ## Fixed
    /// The `[acknowledged]` table without `network` (or without the table at all).
    ///
    /// ## How to fix
    /// Remove the action from `[acknowledged]`.
    UNUSED_ACKNOWLEDGMENT = "CMP009" "unused-acknowledgment" Warning "an acknowledged action that no imported operation needs";

    /// The kind of a component is decided from its exports: an **airssys component** exports
    /// `airssys:core/component-lifecycle`, a **WASI command** exports `wasi:cli/run`, a **WASI HTTP
    /// handler** exports `wasi:http/incoming-handler`, anything else is a **library**. An organisation
    /// policy (`[components] kinds = [...]`) or `check --kind KIND` can restrict which kinds are
    /// accepted, for example a host that only runs airssys components. When the only kind accepted is
    /// `airssys`, the finding is `WIT005` (the missing lifecycle export) instead.
    ///
    /// ## Example
    /// `check --kind airssys components/` finds `tool.wasm`, a WASI command (it exports
    /// `wasi:cli/run`).
    ///
    /// ## Fixed
    /// `tool.wasm` rebuilt for the `airssys:core/component` world, or the check accepting it:
    /// `check --kind airssys --kind wasi-command components/`.
    ///
    /// ## How to fix
    /// Build the component for a world of an accepted kind, or accept its kind in the policy.
    DISALLOWED_KIND = "CMP010" "disallowed-kind" Error "the component is not of a kind the policy or `--kind` allows";

    /// A line of a `check --from-list` file cannot be checked: the component it names does not
    /// exist or is not a regular file, the manifest it names does not exist, the line has more
    /// than three tab-separated fields or a malformed digest, is not UTF-8, or repeats a
    /// component listed on an earlier line; or the digest a line gives for its component is not
    /// the file's (reported with the component's findings: the component is still checked).
    /// The other lines are still checked, so one bad line of a registry's listing does not stop
    /// the audit, but the batch fails: what a line named was not checked as listed.
    ///
    /// ## Example
    /// ```text
    /// components/uploader.wasm	components/uploader.toml	sha256:9f86
    /// components/exporter.wasm		sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08	latest
    /// components/missing.wasm
    /// ```
    ///
    /// ## Fixed
    /// ```text
    /// components/uploader.wasm	components/uploader.toml	sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
    /// components/exporter.wasm		sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    /// ```
    ///
    /// ## How to fix
    /// List one component per line (a path, relative to the current directory, or absolute),
    /// optionally followed by a tab and its manifest's path (empty: found beside it), optionally
    /// followed by a tab and its digest (`sha256:` and 64 hexadecimal digits); remove lines for
    /// components that are gone, and list digests of the files as they are.
    UNUSABLE_LIST_LINE = "CMP011" "unusable-list-line" Error "a line of a `--from-list` file cannot be checked as written";
}

/// Line `span` of a `--from-list` file cannot be checked: `why`.
pub(crate) fn unusable_list_line(list: SourceId, span: Range<usize>, why: &str, help: &str) -> Diagnostic {
    Diagnostic::new(&UNUSABLE_LIST_LINE, why.to_string())
        .at(list, span, "this line")
        .help(help.to_string())
}

/// The component listed at `span` has the digest `actual`, not the `said` its line gives.
pub(crate) fn listed_digest_mismatch(list: SourceId, span: Range<usize>, said: &str, actual: &str) -> Diagnostic {
    Diagnostic::new(
        &UNUSABLE_LIST_LINE,
        format!("the component's digest is {actual}, but its line says {said}"),
    )
    .at(list, span, "this line")
    .help("list the digest of the file as it is now (the component was checked as it is, in the shard its listed digest chose)")
}

/// The bytes are not a valid component or module: `message` from the validator, at `offset`.
pub(crate) fn invalid_binary(binary: SourceId, offset: usize, message: &str) -> Diagnostic {
    Diagnostic::new(&INVALID_BINARY, message.to_string())
        .at(binary, offset..offset + 1, "here")
        .help("rebuild the component; check the file was not truncated or corrupted")
}

pub(crate) fn core_module(binary: SourceId) -> Diagnostic {
    Diagnostic::new(&CORE_MODULE, "this is a core WebAssembly module, not a component")
        .at(binary, 0..4, "core module")
        .help("turn it into a component (`wasm-tools component new`); its imports were analysed by name only")
}

/// No manifest for component `name`, whose imports need `needs` grants.
pub(crate) fn missing_manifest(binary: SourceId, name: &str, needs: usize) -> Diagnostic {
    Diagnostic::new(&MISSING_MANIFEST, format!("no manifest found for {name}"))
        .at(binary, 0..0, "this component")
        .help(format!("write Component.toml (or <stem>.toml) beside it, or pass --manifest; `airssys-wasm inspect --suggest-manifest {name}` prints a least-privilege one"))
        .note(format!("{needs} imported operation(s) need a grant"))
}

/// `function` of `import` (at `span`) cannot be charged to any permission; `why` says why.
pub(crate) fn unmapped_import(
    binary: SourceId,
    span: Range<usize>,
    import: &str,
    function: &str,
    why: &str,
) -> Diagnostic {
    Diagnostic::new(
        &UNMAPPED_IMPORT,
        format!("`{function}` of `{import}` cannot be mapped onto a permission: {why}"),
    )
    .at(binary, span, "unmapped")
    .help("the analyzer fails closed on imports it cannot classify; remove the import or use a catalogue operation")
}

/// Where the manifest could give a missing grant: the array or table of its domain, or
/// nowhere (no `[permissions]`).
pub(crate) type GrantPlace = Option<(SourceId, Range<usize>)>;

/// The import `function` (at `import`, `label` naming how it is imported, `through` the
/// adapter path if any) needs `what`, which no grant gives; `help` shows a grant that would.
pub(crate) fn undeclared_permission(
    import: (SourceId, Range<usize>),
    label: String,
    function: &str,
    what: &str,
    through: &str,
    help: String,
    manifest: GrantPlace,
) -> Diagnostic {
    let d = Diagnostic::new(
        &UNDECLARED_PERMISSION,
        format!("`{function}` needs {what}, which no grant in the manifest gives{through}"),
    )
    .at(import.0, import.1, label)
    .help(help);
    match manifest {
        Some((source, span)) => d.also(source, span, format!("no grant here gives {what}")),
        None => d.note("the manifest has no [permissions] table"),
    }
}

/// `grant` (at `span` of the manifest) is used by no import of `binary`.
pub(crate) fn unused_grant(manifest: SourceId, span: Range<usize>, grant: &str, binary: SourceId) -> Diagnostic {
    Diagnostic::new(
        &UNUSED_GRANT,
        format!("grant {grant} is not used by any imported operation"),
    )
    .at(manifest, span, "unused")
    .also(binary, 0..0, "the component checked against this manifest")
    .help("remove it: every grant is something a reviewer approves and an attacker can use")
}

/// The risky import `function` (imported as `import`, at `at`) is enabled by the broad
/// `grant` (at `grant_at` in the manifest); `why` says what is broad about it.
pub(crate) fn risky_operation(
    at: (SourceId, Range<usize>),
    function: &str,
    import: &str,
    grant_at: (SourceId, Range<usize>),
    grant: &str,
    why: &str,
) -> Diagnostic {
    Diagnostic::new(
        &RISKY_OPERATION_UNDER_BROAD_GRANT,
        format!("`{function}` is enabled by {grant}: {why}"),
    )
    .at(at.0, at.1, format!("imported as `{import}`"))
    .also(grant_at.0, grant_at.1, "the broad grant")
    .help("narrow the grant to what the operation really needs")
}

/// The acknowledged action `what` (at `span` of the manifest) is needed by no import.
pub(crate) fn unused_acknowledgment(
    manifest: SourceId,
    span: Range<usize>,
    what: &str,
    binary: SourceId,
) -> Diagnostic {
    Diagnostic::new(
        &UNUSED_ACKNOWLEDGMENT,
        format!("{what} is acknowledged as never granted, but no imported operation needs it"),
    )
    .at(manifest, span, "acknowledges nothing")
    .also(binary, 0..0, "the component checked against this manifest")
    .help("remove it from `[acknowledged]`")
}

/// The acknowledged action `what` (at `span`) covers the imported operations `ops`.
pub(crate) fn acknowledged_never_granted(
    manifest: SourceId,
    span: Range<usize>,
    what: &str,
    ops: &[String],
    reason: &str,
    binary: SourceId,
) -> Diagnostic {
    let n = ops.len();
    let mut d = Diagnostic::new(
        &ACKNOWLEDGED_NEVER_GRANTED,
        format!(
            "{what} is acknowledged as never granted: {n} imported operation{} need{} it and will be denied when called",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        ),
    )
    .at(manifest, span, "acknowledged as never granted")
    .also(binary, 0..0, "the component checked against this manifest")
    .help("nothing to do: an acknowledgment grants nothing; grant the action narrowly instead if the component needs it")
    .note(format!("reason: {reason}"));
    for op in ops {
        d = d.note(format!("needs it: {op}"));
    }
    d
}

/// The component is `described` (`kind`), and `who` accepts only `accepts`; `note` says what
/// it exports.
pub(crate) fn disallowed_kind(
    binary: SourceId,
    described: &str,
    kind: &str,
    who: &str,
    accepts: &str,
    note: &str,
) -> Diagnostic {
    Diagnostic::new(
        &DISALLOWED_KIND,
        format!("the component is {described} (`{kind}`); {who} {accepts}"),
    )
    .at(binary, 0..0, format!("a `{kind}` component"))
    .note(note)
    .help("build the component for a world of an accepted kind, or accept its kind")
}
