//! The one registry of diagnostic codes. Each [`Rule`] has a stable code, a kebab-case name
//! named after the bad pattern (so "allow `unused-grant`" reads naturally), a default
//! severity, a one-line summary and its long documentation. `explain`, `docs/rules.md` and the
//! SARIF rule list are all generated from [`RULES`], so they cannot drift apart.

use super::Severity;

/// A diagnostic code and its documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, e.g. `MAN004`. Never reused for another meaning.
    pub code: &'static str,
    /// Kebab-case name, e.g. `unknown-key`; accepted wherever a code is.
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it does, why it matters, an example and the fix.
    pub doc: &'static str,
}

macro_rules! rules {
    ($( $ident:ident = $code:literal $name:literal $sev:ident $summary:literal $doc:literal; )*) => {
        $( pub static $ident: Rule = Rule {
            code: $code,
            name: $name,
            severity: Severity::$sev,
            summary: $summary,
            doc: $doc,
        }; )*
        /// Every rule, in code order.
        pub static RULES: &[&Rule] = &[ $( &$ident ),* ];
    };
}

rules! {
    MANIFEST_SYNTAX = "MAN001" "manifest-syntax-error" Error "the manifest is not valid TOML"
"The manifest could not be parsed as TOML 1.0. Nothing else in the file can be checked until the
syntax is fixed, so every syntax error the parser recovers from is reported at once.

## Example
```toml
[component
name = \"x\"
```

## How to fix
Correct the TOML at the span shown. Strings need quotes, tables need closing brackets, inline
tables must fit on one line.";

    MANIFEST_NOT_UTF8 = "MAN002" "manifest-not-utf8" Error "the manifest is not UTF-8 text"
"A TOML document must be UTF-8. A manifest that is not (a binary file, a UTF-16 file, a
truncated download) cannot be trusted to say what the component needs.

## How to fix
Save the file as UTF-8, or point `--manifest` at the right file.";

    MANIFEST_TOO_LARGE = "MAN003" "manifest-too-large" Error "the manifest is larger than the 1 MiB limit"
"Manifests are small, human-written files. A manifest above 1 MiB is refused without being
parsed, so that a hostile input cannot make the checker spend unbounded time or memory.

## How to fix
Remove the generated or pasted content; a manifest lists grants, not data.";

    UNKNOWN_KEY = "MAN004" "unknown-key" Error "a key the manifest format does not define"
"Every key of `Component.toml` is known. An unknown key is an error, not silently ignored:
a typo such as `pemissions` or `acton` would otherwise drop a grant or a restriction without
anyone noticing. The diagnostic suggests the closest known key.

## Example
```toml
[permissions]
filesytem = [{ action = \"read\", path = \"/data/**\" }]
```

## How to fix
Use the suggested key, or remove the key.";

    MISSING_FIELD = "MAN005" "missing-field" Error "a required field is missing"
"A table lacks a field the format requires: `[component]` needs `name` and `version`; a
filesystem grant needs `action` and `path`; a network grant needs `action` and, depending on
the action, `domain` and/or `port`; a process grant needs `action` and `executable` or `signal`.

## How to fix
Add the field named in the message.";

    WRONG_TYPE = "MAN006" "wrong-type" Error "a value has the wrong TOML type"
"The value is of a different TOML type than the format expects, for example a port given as a
string or `filesystem` given as a table instead of an array of inline tables.

## Example
```toml
network = [{ action = \"connect\", domain = \"api.example.com\", port = \"443\" }]
```

## How to fix
Write the value with the type named in the message (`port = 443`).";

    INVALID_COMPONENT_NAME = "MAN007" "invalid-component-name" Error "the component name is not a valid name"
"Component names must match `^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`: 3 to 64 characters of lower-case
ASCII letters, digits and hyphens, not starting or ending with a hyphen. Names appear in audit
logs, waivers and messages between components, so they must be unambiguous.

## How to fix
Rename the component, e.g. `My_Component` to `my-component`.";

    INVALID_VERSION = "MAN008" "invalid-version" Error "the component version is not SemVer 2.0.0"
"`version` must be a SemVer 2.0.0 version such as `1.2.3` or `1.0.0-rc.1`, with no `v` prefix.
Policies select components by version range, which needs a well-formed version.

## How to fix
Write `1.2.3`, not `v1.2.3` or `1.2`.";

    DESCRIPTION_TOO_LONG = "MAN009" "description-too-long" Error "the description is longer than 500 characters"
"`description` is shown in reports and listings and is limited to 500 characters.

## How to fix
Shorten the description; link to documentation through `repository` instead.";

    INVALID_REPOSITORY_URL = "MAN010" "invalid-repository-url" Error "the repository is not a valid URL"
"`repository` must be an absolute URL (for example `https://github.com/org/repo`) so that a
reviewer can find the source of the component.

## How to fix
Give the full URL including the scheme.";

    UNKNOWN_ACTION = "MAN011" "unknown-action" Error "a grant names an action its domain does not have"
"Each permission domain has a fixed set of actions: filesystem `read`, `write`, `delete`,
`metadata`; network `connect`, `resolve`, `bind`, `listen`; process `spawn`, `signal`. An unknown
action would grant nothing, which hides the author's intent, so it is an error with a suggestion.

## Example
```toml
filesystem = [{ action = \"wirte\", path = \"/data/out/**\" }]
```

## How to fix
Use one of the listed actions.";

    INVALID_PATH = "MAN012" "invalid-path" Error "a filesystem grant path is not a valid pattern"
"Grant paths are absolute (`/data/in`) or home-relative (`~/cache/**`). The only wildcards are
`*` (within one path segment, never crossing `/`) and `**` (a whole segment: all descendants and
the directory itself). Relative paths, `..`, NUL bytes and other glob syntax (`?`, `[...]`,
`{a,b}`) are refused: a grant must say plainly what it grants.

## Example
```toml
filesystem = [{ action = \"read\", path = \"data/../etc\" }]
```

## How to fix
Write the absolute path the component needs, e.g. `/data/in/**`.";

    INVALID_DOMAIN = "MAN013" "invalid-domain" Error "a network grant domain is not a valid host pattern"
"Network grants name an exact host (a DNS name, compared case-insensitively after IDNA
normalisation, or an IP literal), `*.example.com` (any subdomain, not the apex) or `**` (any
host). Anything else, such as a URL, a host with a port, or a wildcard in the middle, is refused.

## Example
```toml
network = [{ action = \"connect\", domain = \"https://api.example.com\", port = 443 }]
```

## How to fix
Give only the host name: `api.example.com`.";

    INVALID_PORT = "MAN014" "invalid-port" Error "a port is outside 1-65535"
"Ports are integers from 1 to 65535. Port 0 means \"any free port\" to the operating system and
cannot be granted meaningfully.

## How to fix
Grant the port the component really uses.";

    INVALID_EXECUTABLE = "MAN015" "invalid-executable" Error "a spawn grant executable is not an absolute path without wildcards"
"Process grants name one executable by absolute path. Relative names would be resolved through
`PATH` at run time, which an attacker can influence, and wildcards would grant whole directories
of programs (including shells and interpreters). The runtime never does a `PATH` lookup.

## Example
```toml
process = [{ action = \"spawn\", executable = \"git\" }]
```

## How to fix
Write the absolute path: `/usr/bin/git`.";

    UNKNOWN_SIGNAL = "MAN016" "unknown-signal" Error "a signal grant names no POSIX signal"
"Signal grants name a POSIX signal in its canonical form, such as `SIGTERM` or `SIGUSR1`.

## How to fix
Use the canonical name; the diagnostic suggests the closest one.";

    DUPLICATE_GRANT = "MAN017" "duplicate-grant" Warning "the same grant appears more than once"
"Two grants are identical after normalisation (for example `/data/` and `/data`, or
`API.example.com.` and `api.example.com`). The second one grants nothing more and makes the
manifest harder to review.

## How to fix
Remove the duplicate.";

    SHADOWED_GRANT = "MAN018" "shadowed-grant" Warning "a grant is already covered by a broader grant"
"A grant is entirely covered by another grant of the same action, for example `read /data/x`
next to `read /data/**`. It grants nothing more, and a reviewer may believe the narrower grant is
what the component gets while the broader one is in force.

## How to fix
Remove the narrower grant, or narrow the broader one if it is wider than needed.";

    OVERLY_BROAD_GRANT = "MAN019" "overly-broad-grant" Warning "a grant covers far more than one component plausibly needs"
"Grants such as `/**` (the whole filesystem), `~/**` (the whole home directory), `**` (every
host) or `*.com` (a wildcard on a bare top-level domain) defeat least privilege: the component
can reach anything the host can.

## How to fix
Grant the specific directories and hosts the component uses.";

    INVALID_LIMIT = "MAN020" "invalid-limit" Error "a `[limits]` value is not valid"
"`[limits]` sets the runtime bounds of an instance: `memory` (bytes, or a string such as
`\"64 MiB\"`), `fuel` (instructions, a positive integer) and `timeout-ms` (wall time, a positive
integer). Zero, negative or unparsable values are refused.

## How to fix
Give a positive value, e.g. `memory = \"64 MiB\"`.";

    IRRELEVANT_FIELD = "MAN021" "irrelevant-field" Error "a grant field that its action does not use"
"A field is valid in the domain but meaningless for this action, for example a `port` on a
`resolve` grant or `signal` on a `spawn` grant. It is an error because the author evidently
expected it to restrict or grant something, and it does neither.

## How to fix
Remove the field, or change the action.";

    ACKNOWLEDGED_AND_GRANTED = "MAN022" "acknowledged-and-granted" Error "an action is both acknowledged as never granted and granted"
"The `[acknowledged]` table says the component will never be granted an action, and
`[permissions]` grants it. One of the two is wrong, and a reviewer cannot tell which.

## Example
```toml
[permissions]
filesystem = [{ action = \"write\", path = \"/data/out/**\" }]

[acknowledged]
reason = \"the interpreter imports the whole filesystem interface\"
filesystem = [\"write\"]
```

## How to fix
Remove the action from `[acknowledged]`, or remove the grants of it.";

    CATALOGUE_WIT_ERROR = "CAT001" "catalogue-wit-error" Error "the operation catalogue's WIT does not parse or resolve"
"The catalogue (the embedded `wit/` or the directory given with `--catalogue`) must be valid WIT
that wit-parser can resolve: four packages, every `use` and include resolvable.

## How to fix
Fix the WIT at the span shown, or point `--catalogue` at a complete catalogue.";

    MISSING_REQUIREMENT = "CAT002" "missing-requirement" Error "a catalogue operation has no `@requires` line"
"Every catalogue function must carry exactly one machine-readable permission requirement in its
doc comment, such as `/// @requires filesystem:read(path)` or `/// @requires none`. Without it the
engine could not tell what the operation needs, so the catalogue is refused (fail closed).

## How to fix
Add the `@requires` line to the function's doc comment.";

    MALFORMED_REQUIREMENT = "CAT003" "malformed-requirement" Error "a `@requires` line does not follow the grammar"
"The requirement grammar is `none` or terms joined by ` + `, each `domain:action(args)` where
`action` may be `a|b` (either is enough) and each arg is a parameter path (`path`,
`options.executable`) or a quoted literal (`\"SIGKILL\"`). Domains and actions are those of
Component.toml.

## Example
```wit
/// @requires filesystem:reed(path)
read-file: func(path: string) -> result<list<u8>, fs-error>;
```

## How to fix
Correct the line as the message says.";

    REQUIREMENT_UNKNOWN_PARAMETER = "CAT004" "requirement-unknown-parameter" Error "a `@requires` line names a parameter the function does not have"
"A requirement names the argument the permission check reads, so the name must be one of the
function's parameters (and a `.field` path must name a field of that parameter's record type).

## How to fix
Rename the argument in the `@requires` line or in the signature so that they agree.";

    DUPLICATE_REQUIREMENT = "CAT005" "duplicate-requirement" Error "a catalogue operation has more than one `@requires` line"
"Exactly one requirement per operation keeps the meaning unambiguous.

## How to fix
Merge the lines into one with ` + `.";

    INVALID_BINARY = "CMP001" "invalid-binary" Error "the file is not a valid WebAssembly component or module"
"The bytes do not validate as WebAssembly (wasmparser, all proposals enabled), are neither a
binary nor WAT text, or the component's world cannot be decoded. The finding gives the byte offset
where validation failed. Nothing else about the file can be trusted, so nothing else is reported.

## How to fix
Rebuild the component; check the file was not truncated or corrupted in transfer.";

    UNDECLARED_PERMISSION = "CMP002" "undeclared-permission" Error "an imported operation needs a permission the manifest does not grant"
"The component imports an operation whose `@requires` (or, for a WASI import, its mapped
permission) needs a grant of an action that no manifest entry gives. At run time every such call
would be denied; more likely the manifest is missing a grant the author forgot to declare, and a
reviewer approving the manifest would not see what the component can attempt.

## Example
A component imports `airssys:ext-filesystem/filesystem@1.0.0` `write-file`, and the manifest
grants only `read`.

## How to fix
Declare the grant (narrowly), or stop importing the operation.";

    UNUSED_GRANT = "CMP003" "unused-grant" Warning "a grant that no imported operation could use"
"The manifest grants an action that none of the component's imports can exercise (for example
`connect` when the component imports no network operation, or `signal SIGUSR1` when it can only
send `SIGKILL`). Least privilege: every grant is something a reviewer must approve and an
attacker who compromises the component can use, so grants nobody uses should go.

## How to fix
Remove the grant, or ignore this warning with `-A unused-grant` when the manifest is shared by
several builds.";

    RISKY_OPERATION_UNDER_BROAD_GRANT = "CMP004" "risky-operation-under-broad-grant" Warning "a destructive or dangerous operation is enabled by an overly broad grant"
"The component imports an operation that can do serious damage (`remove-dir-all`,
`delete-file`, `spawn-shell`, `set-permissions`, ...) and the grant that enables it is overly
broad (`/**`, `~/**`, `**`, a bare-TLD wildcard). Together they mean the component may, for
example, delete any file the host can.

## How to fix
Narrow the grant to the directory or host the operation really needs.";

    CORE_MODULE = "CMP005" "core-module" Error "the file is a core module, not a component"
"The host runs WebAssembly components. A core module cannot be instantiated by it. Its imports
are still analysed by name, so the other findings remain useful, but function types cannot be
checked.

## How to fix
Turn the module into a component (`wasm-tools component new`, or build for a component target).";

    UNMAPPED_IMPORT = "CMP006" "unmapped-import" Error "an import that cannot be mapped onto a permission"
"A WASI interface or function that the analyzer does not know how to map onto a permission
domain, or an import whose name is not an interface name at all (a URL, a hash, a bare label).
The analyzer fails closed: what it cannot classify it reports.

## How to fix
Remove the import, or map it by importing the corresponding catalogue operation instead.";

    MISSING_MANIFEST = "CMP007" "missing-manifest" Error "no manifest was found for the component"
"`check` looks for the manifest given by `--manifest`, else `<stem>.toml` beside the component,
else `Component.toml` beside it. Without a manifest the component is granted nothing and every
permission it needs is undeclared.

## How to fix
Write a manifest; `airssys-wasm inspect --suggest-manifest COMPONENT` prints a least-privilege one.";

    ACKNOWLEDGED_NEVER_GRANTED = "CMP008" "acknowledged-never-granted" Note "imported operations need an action the manifest acknowledges it never grants"
"The component imports operations that need an action (filesystem `delete`, network `connect`,
...) which its manifest's `[acknowledged]` table says it will never be granted. Toolchains that
embed an interpreter (componentize-py, componentize-js) import whole interfaces whatever the
embedded script does; an acknowledgment records, with its reason, that the author and the
reviewer know this. The operations stay denied at run time: an acknowledgment grants nothing.

This note lists, per acknowledged action, the imported operations that need it, so a reviewer
can see what the acknowledgment covers.

## Example
```toml
[acknowledged]
reason = \"CPython links its whole os module; the app only reads /data\"
filesystem = [\"write\", \"delete\"]
```

## How to fix
Nothing to fix. Remove the action from `[acknowledged]` if the component should be granted it
after all (then grant it narrowly).";

    UNUSED_ACKNOWLEDGMENT = "CMP009" "unused-acknowledgment" Warning "an acknowledged action that no imported operation needs"
"The manifest's `[acknowledged]` table names an action that no operation the component imports
needs (or that a grant already satisfies for every operation). An acknowledgment that matches
nothing is stale, and a stale exception hides the next real one.

## How to fix
Remove the action from `[acknowledged]`.";

    DISALLOWED_KIND = "CMP010" "disallowed-kind" Error "the component is not of a kind the policy or `--kind` allows"
"The kind of a component is decided from its exports: an **airssys component** exports
`airssys:core/component-lifecycle`, a **WASI command** exports `wasi:cli/run`, a **WASI HTTP
handler** exports `wasi:http/incoming-handler`, anything else is a **library**. An organisation
policy (`[components] kinds = [...]`) or `check --kind KIND` can restrict which kinds are
accepted, for example a host that only runs airssys components. When the only kind accepted is
`airssys`, the finding is `WIT005` (the missing lifecycle export) instead.

## How to fix
Build the component for a world of an accepted kind, or accept its kind in the policy.";

    WIT_ERROR = "WIT001" "wit-error" Error "the WIT package does not parse or resolve"
"The WIT given to `airssys-wasm wit` has a syntax or resolution error. The catalogue packages
(`airssys:core`, `airssys:ext-*`) are supplied automatically when the package has no `deps/` copy
of them.

## How to fix
Fix the WIT at the span shown.";

    IMPORT_OUTSIDE_CATALOGUE = "WIT002" "import-outside-catalogue" Error "an import is not an operation of the catalogue"
"The world (of a WIT package, or decoded from a compiled component) imports an interface or
function that the host catalogue does not offer: an unknown package, interface or function, or
a bare function import. The host would refuse to link such a component, and an
unrecognised import cannot be mapped onto a permission, so it fails closed.

## How to fix
Import only the catalogue's interfaces (`airssys-wasm catalogue` lists them).";

    SIGNATURE_MISMATCH = "WIT003" "signature-mismatch" Error "a function's type differs from the catalogue's"
"An imported (or the exported lifecycle) function, in WIT or in a compiled component, has the
catalogue's name but a different type:
other parameters, results, or differently shaped records, variants, enums or flags. The
component would fail to link, or worse, link against an operation with a different meaning.

## How to fix
Use the catalogue's WIT (`airssys-wasm catalogue` or the `wit/` folder) instead of a local copy.";

    INCOMPATIBLE_VERSION = "WIT004" "incompatible-version" Error "an imported package version is not semver-compatible with the catalogue's"
"Interfaces link by semver compatibility, as in Wasmtime's linker: `1.0.1` and `1.2.0` are the
same interface as the catalogue's `1.0.0`; `2.0.0` or `0.9.0` are not, and the component would not
link.

## How to fix
Depend on the catalogue's major version (`@1.x`).";

    MISSING_LIFECYCLE_EXPORT = "WIT005" "missing-lifecycle-export" Error "the world does not export `component-lifecycle`"
"Every airssys component exports `airssys:core/component-lifecycle` so that the host can
initialise it, run it and shut it down. `airssys-wasm wit` reports a world without it. `check`
reports a compiled component without it only when an airssys component is required: by an
organisation policy (`[components] kinds = [\"airssys\"]`) or by `check --kind airssys`; a WASI
command, HTTP handler or library is otherwise checked as what it is.

## How to fix
Add `export airssys:core/component-lifecycle@1.0.0;` or `include airssys:core/component@1.0.0;`.";

    NO_WORLD = "WIT006" "no-world" Error "the WIT package defines no world to check"
"`airssys-wasm wit` checks a component's world; the package has none (or `--world` names one
that does not exist).

## How to fix
Define a world, or name an existing one with `--world`.";

    POLICY_SYNTAX = "POL001" "policy-syntax-error" Error "an organisation policy file is not valid TOML or cannot be read"
"A policy file given with `--policy` (or named by `extends`) could not be parsed as TOML 1.0, is
not UTF-8, is larger than 1 MiB, or could not be read. No rule of a broken policy is applied, and
the run fails: a CI gate must not pass because its policy silently vanished.

## How to fix
Correct the TOML at the span shown, or the path in `--policy` / `extends`.";

    INVALID_POLICY = "POL002" "invalid-policy" Error "a policy file key or value that the policy format does not define"
"Policy files are validated as strictly as manifests: unknown keys (with a \"did you mean\"),
wrong types, unknown actions, invalid path or domain patterns, malformed CIDR ranges, unknown
signals or diagnostic codes, waivers without a reason or an expiry date, and `extends` cycles are
all reported with the span of the offending value. An invalid rule is left out, never guessed.

## Example
```toml
[filesystem]
deny = [{ pth = \"/etc/shadow\" }]
```

## How to fix
Follow the message; `docs/policies.md` lists every key.";

    DENIED_PATH = "POL003" "denied-path" Error "a filesystem grant reaches a path the organisation policy denies"
"The grant's pattern overlaps a `[filesystem] deny` rule of the policy for the same action: some
path matches both. `read /etc/**` overlaps a denial of `/etc/shadow`, and every grant overlaps a
denial of `/**`. At run time the denied paths are refused whatever the manifest says; statically
the grant promises more than the organisation will allow.

## Example
```toml
filesystem = [{ action = \"read\", path = \"/etc/**\" }]   # policy denies /etc/shadow
```

## How to fix
Narrow the grant so that it no longer reaches the denied paths, or obtain a waiver.";

    GRANT_OUTSIDE_ROOTS = "POL004" "grant-outside-roots" Error "a filesystem grant is not contained in the policy's allowed roots"
"The policy sets `[filesystem] roots`, and this grant is not entirely inside any of them (it is
checked with the same pattern inclusion as shadowed grants). At run time requests outside the
roots are refused.

## Example
```toml
filesystem = [{ action = \"write\", path = \"/opt/app/**\" }]   # policy roots: /data/**, /tmp/**
```

## How to fix
Move the data the component uses under one of the roots.";

    DENIED_HOST = "POL005" "denied-host" Error "a network grant reaches a host or address range the policy denies"
"The grant's domain overlaps a `[network] deny` rule: the same host, a subdomain wildcard that
contains it, an IP literal inside a denied CIDR range (cloud metadata `169.254.169.254`,
link-local, loopback), or `**`, which reaches every host. Names are compared after normalisation
(case, trailing dot, IDNA, IP literal forms); a name that only resolves to a denied address is
the runtime's business.

## How to fix
Grant only the hosts the component needs.";

    ANY_HOST_FORBIDDEN = "POL006" "any-host-forbidden" Error "a network grant uses `**` and the policy forbids it"
"The policy sets `allow-any-host = false`: a grant of `**` reaches every host, including internal
services, so it is refused whatever its action.

## How to fix
List the hosts (or `*.example.com` wildcards) the component talks to.";

    PORT_NOT_ALLOWED = "POL007" "port-not-allowed" Error "a network grant names a port outside the policy's allowed ports"
"The policy lists `[network] ports`; a `connect`, `bind` or `listen` grant of any other port is
refused, and so are such requests at run time.

## How to fix
Use one of the allowed ports, or ask for the policy to allow the port.";

    SPAWN_FORBIDDEN = "POL008" "spawn-forbidden" Error "the manifest grants `spawn` and the policy forbids starting processes"
"The policy sets `[process] spawn = false`: no component may start a process.

## How to fix
Remove the spawn grant; do the work inside the component.";

    DENIED_EXECUTABLE = "POL009" "denied-executable" Error "a spawn grant names an executable the policy denies"
"Shells and interpreters (`/bin/sh`, `/usr/bin/python3`, `/usr/bin/env`, ...) run whatever code
they are given, so a grant to spawn one is as broad as a shell. The policy's
`[process] deny-executables` lists such programs. At run time the list also applies to what a
granted script's `#!` line starts: under a policy that denies `/bin/sh`, a `#!/bin/sh` script
is refused.

## How to fix
Spawn the specific program that does the work.";

    SIGNAL_NOT_ALLOWED = "POL010" "signal-not-allowed" Error "a signal grant names a signal outside the policy's allowed signals"
"The policy lists `[process] signals`; a grant of any other signal is refused, and so are such
requests at run time.

## How to fix
Send one of the allowed signals (often `SIGTERM`).";

    FORBIDDEN_OPERATION = "POL011" "forbidden-operation" Error "the component imports a catalogue operation the policy forbids"
"The policy's `[operations] forbid` names catalogue operations (such as
`airssys:ext-process/lifecycle.spawn-shell`) that no component may import, whatever it is
granted. A trailing `*` forbids every operation with that prefix.

## How to fix
Stop importing the operation, or obtain a waiver naming it.";

    MISSING_POLICY_FIELD = "POL012" "missing-policy-field" Error "the manifest lacks a `[component]` field the policy requires"
"The policy's `[manifest] require` lists `[component]` fields (`license`, `description`,
`author`, `repository`, `version`) every manifest must give, so that reviewers and inventories
know what a component is.

## How to fix
Add the field to `[component]`.";

    TOO_MANY_GRANTS = "POL013" "too-many-grants" Error "the manifest has more grants than the policy's maximum"
"The policy's `[manifest] max-grants` bounds the number of grants (all domains together). A
component that needs more is doing too much, or its grants are too narrow to review.

## How to fix
Merge related grants (`/data/in/**` instead of one grant per file) or split the component.";

    EXPIRED_WAIVER = "POL014" "expired-waiver" Warning "a waiver's expiry date has passed"
"A waiver is a dated exception. Once its `expires` date has passed (the waiver is valid up to and
including that day) it no longer waives anything, so the finding it covered is reported again,
and this finding points at the waiver.

## How to fix
Fix the underlying finding and delete the waiver, or renew it with a new date and reason.";

    UNUSED_WAIVER = "POL015" "unused-waiver" Warning "a waiver matched no finding"
"A waiver names a component (and optionally a version range) and a code or operation, and none
of the findings of this run matched it. Stale exceptions hide what the organisation has agreed
to; remove them once the finding is fixed.

## How to fix
Delete the waiver, or correct its component name, version range or code.";
}

/// Finds a rule by code (`MAN004`, case-insensitive) or kebab name (`unknown-key`).
pub fn lookup(name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(name) || r.name == name)
}

/// The message for an unknown code, with the closest known code or name.
pub fn unknown_rule_message(name: &str) -> String {
    let names = RULES.iter().flat_map(|r| [r.code, r.name]);
    match super::did_you_mean(name, names) {
        Some(s) => format!("unknown diagnostic code `{name}` (did you mean `{s}`?)"),
        None => format!("unknown diagnostic code `{name}`; `airssys-wasm explain --list` lists them"),
    }
}

/// Renders the rule reference (`docs/rules.md`).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Diagnostic reference\n\n<!-- Generated from src/diagnostics/registry.rs by \
         `airssys-wasm explain --markdown`; a test fails when this file is stale. -->\n\n\
         | code | name | default | summary |\n|---|---|---|---|\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} |\n",
            r.code,
            r.code.to_ascii_lowercase(),
            r.name,
            r.severity,
            r.summary
        ));
    }
    for r in RULES {
        out.push_str(&format!(
            "\n## {}\n\n`{}` · default severity: **{}**\n\n{}.\n\n{}\n",
            r.code,
            r.name,
            r.severity,
            capitalise(r.summary),
            r.doc
        ));
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert!(seen.insert(r.name), "duplicate name {}", r.name);
            assert!(
                r.code.len() == 6 && r.code[3..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(
                r.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                r.name
            );
            assert!(!r.summary.ends_with('.'), "summary of {} ends with a period", r.code);
            assert!(!r.doc.trim().is_empty(), "{} has no doc", r.code);
        }
    }

    #[test]
    fn lookup_by_code_and_name() {
        assert_eq!(lookup("man004").unwrap().name, "unknown-key");
        assert_eq!(lookup("unknown-key").unwrap().code, "MAN004");
        assert!(lookup("nope").is_none());
        assert!(unknown_rule_message("unknown-kye").contains("unknown-key"));
    }
}
