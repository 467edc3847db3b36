//! The rules of the manifest format (`MAN…`) with their documentation, and the constructors of
//! the findings `parse.rs` and `grants.rs` report. The shape findings (unknown key, missing
//! field, wrong type) are built by the shared TOML reader (`toml_doc.rs`) under the rules
//! [`FORMAT`] names.

use std::fmt::Display;
use std::ops::Range;

use super::{MAX_MANIFEST_BYTES, MAX_NESTING};
use crate::diagnostics::{Diagnostic, Severity, SourceId, did_you_mean, rules};
use crate::policy::{Action, PatternError, ProcAction, Signal};
use crate::toml_doc::Format;

rules! {
    /// The manifest could not be parsed as TOML 1.0. Nothing else in the file can be checked until the
    /// syntax is fixed, so every syntax error the parser recovers from is reported at once.
    ///
    /// ## Example
    /// ```toml
    /// [component
    /// name = "x"
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "1.0.0"
    /// ```
    ///
    /// ## How to fix
    /// Correct the TOML at the span shown. Strings need quotes, tables need closing brackets, inline
    /// tables must fit on one line.
    MANIFEST_SYNTAX = "MAN001" "manifest-syntax-error" Error "the manifest is not valid TOML";

    /// A TOML document must be UTF-8. A manifest that is not (a binary file, a UTF-16 file, a
    /// truncated download) cannot be trusted to say what the component needs.
    ///
    /// ## Example
    /// A manifest saved as UTF-16 by an editor: it starts with the bytes `FF FE` and every
    /// other byte is `00`.
    ///
    /// ## Fixed
    /// The same manifest saved as UTF-8 (`iconv -f UTF-16 -t UTF-8`).
    ///
    /// ## How to fix
    /// Save the file as UTF-8, or point `--manifest` at the right file.
    MANIFEST_NOT_UTF8 = "MAN002" "manifest-not-utf8" Error "the manifest is not UTF-8 text";

    /// Manifests are small, human-written files. A manifest above 1 MiB is refused without being
    /// parsed, so that a hostile input cannot make the checker spend unbounded time or memory.
    ///
    /// ## Example
    /// A `Component.toml` of 5 MB, with a data set pasted into `[config]`.
    ///
    /// ## Fixed
    /// The manifest keeps its grants and settings; the data set is a file the component reads
    /// through a grant (`{ action = "read", path = "/data/set.csv" }`).
    ///
    /// ## How to fix
    /// Remove the generated or pasted content; a manifest lists grants, not data.
    MANIFEST_TOO_LARGE = "MAN003" "manifest-too-large" Error "the manifest is larger than the 1 MiB limit";

    /// Every key of `Component.toml` is known. An unknown key is an error, not silently ignored:
    /// a typo such as `pemissions` or `acton` would otherwise drop a grant or a restriction without
    /// anyone noticing. The diagnostic suggests the closest known key.
    ///
    /// ## Example
    /// ```toml
    /// [permissions]
    /// filesytem = [{ action = "read", path = "/data/**" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [permissions]
    /// filesystem = [{ action = "read", path = "/data/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Use the suggested key, or remove the key.
    UNKNOWN_KEY = "MAN004" "unknown-key" Error "a key the manifest format does not define";

    /// A table lacks a field the format requires: `[component]` needs `name` and `version`; a
    /// filesystem grant needs `action` and `path`; a network grant needs `action` and, depending on
    /// the action, `domain` and/or `port`; a process grant needs `action` and `executable` or `signal`.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "read" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/in/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Add the field named in the message.
    MISSING_FIELD = "MAN005" "missing-field" Error "a required field is missing";

    /// The value is of a different TOML type than the format expects, for example a port given as a
    /// string or `filesystem` given as a table instead of an array of inline tables.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "connect", domain = "api.example.com", port = "443" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## How to fix
    /// Write the value with the type named in the message (`port = 443`).
    WRONG_TYPE = "MAN006" "wrong-type" Error "a value has the wrong TOML type";

    /// Component names must match `^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`: 3 to 64 characters of lower-case
    /// ASCII letters, digits and hyphens, not starting or ending with a hyphen. Names appear in audit
    /// logs, waivers and messages between components, so they must be unambiguous.
    ///
    /// ## Example
    /// ```toml
    /// [component]
    /// name = "My_Component"
    /// version = "1.0.0"
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [component]
    /// name = "my-component"
    /// version = "1.0.0"
    /// ```
    ///
    /// ## How to fix
    /// Rename the component, e.g. `My_Component` to `my-component`.
    INVALID_COMPONENT_NAME = "MAN007" "invalid-component-name" Error "the component name is not a valid name";

    /// `version` must be a SemVer 2.0.0 version such as `1.2.3` or `1.0.0-rc.1`, with no `v` prefix.
    /// Policies select components by version range, which needs a well-formed version.
    ///
    /// ## Example
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "v1.2"
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "1.2.0"
    /// ```
    ///
    /// ## How to fix
    /// Write `1.2.3`, not `v1.2.3` or `1.2`.
    INVALID_VERSION = "MAN008" "invalid-version" Error "the component version is not SemVer 2.0.0";

    /// `description` is shown in reports and listings and is limited to 500 characters.
    ///
    /// ## Example
    /// A `description` of 700 characters: the whole usage guide pasted into the manifest.
    ///
    /// ## Fixed
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "1.0.0"
    /// description = "Exports the daily reports as CSV"
    /// repository = "https://github.com/example/exporter"
    /// ```
    ///
    /// ## How to fix
    /// Shorten the description; link to documentation through `repository` instead.
    DESCRIPTION_TOO_LONG = "MAN009" "description-too-long" Error "the description is longer than 500 characters";

    /// `repository` must be an absolute URL (for example `https://github.com/org/repo`) so that a
    /// reviewer can find the source of the component.
    ///
    /// ## Example
    /// ```toml
    /// repository = "github.com/example/exporter"
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// repository = "https://github.com/example/exporter"
    /// ```
    ///
    /// ## How to fix
    /// Give the full URL including the scheme.
    INVALID_REPOSITORY_URL = "MAN010" "invalid-repository-url" Error "the repository is not a valid URL";

    /// Each permission domain has a fixed set of actions: filesystem `read`, `write`, `delete`,
    /// `metadata`; network `connect`, `resolve`, `bind`, `listen`; process `spawn`, `signal`. An unknown
    /// action would grant nothing, which hides the author's intent, so it is an error with a suggestion.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "wirte", path = "/data/out/**" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "write", path = "/data/out/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Use one of the listed actions.
    UNKNOWN_ACTION = "MAN011" "unknown-action" Error "a grant names an action its domain does not have";

    /// Grant paths are absolute (`/data/in`) or home-relative (`~/cache/**`). The only wildcards are
    /// `*` (within one path segment, never crossing `/`) and `**` (a whole segment: all descendants and
    /// the directory itself). Relative paths, `..`, NUL bytes and other glob syntax (`?`, `[...]`,
    /// `{a,b}`) are refused: a grant must say plainly what it grants.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "read", path = "data/../etc" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/in/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Write the absolute path the component needs, e.g. `/data/in/**`.
    INVALID_PATH = "MAN012" "invalid-path" Error "a filesystem grant path is not a valid pattern";

    /// Network grants name an exact host (a DNS name, compared case-insensitively after IDNA
    /// normalisation, or an IP literal), `*.example.com` (any subdomain, not the apex) or `**` (any
    /// host). Anything else, such as a URL, a host with a port, or a wildcard in the middle, is refused.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "connect", domain = "https://api.example.com", port = 443 }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## How to fix
    /// Give only the host name: `api.example.com`.
    INVALID_DOMAIN = "MAN013" "invalid-domain" Error "a network grant domain is not a valid host pattern";

    /// Ports are integers from 1 to 65535. Port 0 means "any free port" to the operating system and
    /// cannot be granted meaningfully.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "bind", port = 0 }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "bind", port = 8080 }]
    /// ```
    ///
    /// ## How to fix
    /// Grant the port the component really uses.
    INVALID_PORT = "MAN014" "invalid-port" Error "a port is outside 1-65535";

    /// Process grants name one executable by absolute path. Relative names would be resolved through
    /// `PATH` at run time, which an attacker can influence, and wildcards would grant whole directories
    /// of programs (including shells and interpreters). The runtime never does a `PATH` lookup.
    ///
    /// ## Example
    /// ```toml
    /// process = [{ action = "spawn", executable = "git" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// process = [{ action = "spawn", executable = "/usr/bin/git" }]
    /// ```
    ///
    /// ## How to fix
    /// Write the absolute path: `/usr/bin/git`.
    INVALID_EXECUTABLE = "MAN015" "invalid-executable" Error "a spawn grant executable is not an absolute path without wildcards";

    /// Signal grants name a POSIX signal in its canonical form, such as `SIGTERM` or `SIGUSR1`.
    ///
    /// ## Example
    /// ```toml
    /// process = [{ action = "signal", signal = "TERMINATE" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// process = [{ action = "signal", signal = "SIGTERM" }]
    /// ```
    ///
    /// ## How to fix
    /// Use the canonical name; the diagnostic suggests the closest one.
    UNKNOWN_SIGNAL = "MAN016" "unknown-signal" Error "a signal grant names no POSIX signal";

    /// Two grants are identical after normalisation (for example `/data/` and `/data`, or
    /// `API.example.com.` and `api.example.com`). The second one grants nothing more and makes the
    /// manifest harder to review.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [
    ///   { action = "read", path = "/data/in" },
    ///   { action = "read", path = "/data/in/" },
    /// ]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/in" }]
    /// ```
    ///
    /// ## How to fix
    /// Remove the duplicate.
    DUPLICATE_GRANT = "MAN017" "duplicate-grant" Warning "the same grant appears more than once";

    /// A grant is entirely covered by another grant of the same action, for example `read /data/x`
    /// next to `read /data/**`. It grants nothing more, and a reviewer may believe the narrower grant is
    /// what the component gets while the broader one is in force.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [
    ///   { action = "read", path = "/data/**" },
    ///   { action = "read", path = "/data/x" },
    /// ]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/x" }]
    /// ```
    ///
    /// ## How to fix
    /// Remove the narrower grant, or narrow the broader one if it is wider than needed.
    SHADOWED_GRANT = "MAN018" "shadowed-grant" Warning "a grant is already covered by a broader grant";

    /// Grants such as `/**` (the whole filesystem), `~/**` (the whole home directory), `**` (every
    /// host) or `*.com` (a wildcard on a bare top-level domain) defeat least privilege: the component
    /// can reach anything the host can.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "read", path = "/**" }]
    /// network = [{ action = "connect", domain = "**", port = 443 }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/in/**" }]
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## How to fix
    /// Grant the specific directories and hosts the component uses.
    OVERLY_BROAD_GRANT = "MAN019" "overly-broad-grant" Warning "a grant covers far more than one component plausibly needs";

    /// `[limits]` sets the runtime bounds of an instance: `memory` (bytes, or a string such as
    /// `"64 MiB"`), `fuel` (instructions, a positive integer), `timeout-ms` (wall time, a positive
    /// integer) and `instances`, `tables`, `memories` (how many of each the component may create,
    /// positive integers). Zero, negative or unparsable values are refused.
    ///
    /// ## Example
    /// ```toml
    /// [limits]
    /// memory = "lots"
    /// timeout-ms = 0
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [limits]
    /// memory = "64 MiB"
    /// timeout-ms = 5000
    /// ```
    ///
    /// ## How to fix
    /// Give a positive value, e.g. `memory = "64 MiB"`.
    INVALID_LIMIT = "MAN020" "invalid-limit" Error "a `[limits]` value is not valid";

    /// A field is valid in the domain but meaningless for this action, for example a `port` on a
    /// `resolve` grant or `signal` on a `spawn` grant. It is an error because the author evidently
    /// expected it to restrict or grant something, and it does neither.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "resolve", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "resolve", domain = "api.example.com" }]
    /// ```
    ///
    /// ## How to fix
    /// Remove the field, or change the action.
    IRRELEVANT_FIELD = "MAN021" "irrelevant-field" Error "a grant field that its action does not use";

    /// The `[acknowledged]` table says the component will never be granted an action, and
    /// `[permissions]` grants it. One of the two is wrong, and a reviewer cannot tell which.
    ///
    /// ## Example
    /// ```toml
    /// [permissions]
    /// filesystem = [{ action = "write", path = "/data/out/**" }]
    ///
    /// [acknowledged]
    /// reason = "the interpreter imports the whole filesystem interface"
    /// filesystem = ["write"]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [permissions]
    /// filesystem = [{ action = "write", path = "/data/out/**" }]
    ///
    /// [acknowledged]
    /// reason = "the interpreter imports the whole filesystem interface"
    /// filesystem = ["delete"]
    /// ```
    ///
    /// ## How to fix
    /// Remove the action from `[acknowledged]`, or remove the grants of it.
    ACKNOWLEDGED_AND_GRANTED = "MAN022" "acknowledged-and-granted" Error "an action is both acknowledged as never granted and granted";
}

/// How a manifest is read: its bound, and the rules of its syntax and shape findings.
pub(super) static FORMAT: Format = Format {
    what: "a manifest",
    max_nesting: MAX_NESTING,
    syntax: &MANIFEST_SYNTAX,
    too_deep: &MANIFEST_TOO_LARGE,
    unknown_key: &UNKNOWN_KEY,
    missing_field: &MISSING_FIELD,
    wrong_type: &WRONG_TYPE,
    placeholder: "...",
};

/// Adds `help` when there is one.
fn maybe_help(d: Diagnostic, help: Option<String>) -> Diagnostic {
    match help {
        Some(h) => d.help(h),
        None => d,
    }
}

pub(super) fn not_utf8(source: SourceId, at: usize) -> Diagnostic {
    Diagnostic::new(&MANIFEST_NOT_UTF8, "the manifest is not valid UTF-8")
        .at(source, at..at + 1, "first invalid byte")
        .help("save the manifest as UTF-8 text")
}

pub(super) fn too_large(source: SourceId, size: u64) -> Diagnostic {
    Diagnostic::new(
        &MANIFEST_TOO_LARGE,
        format!("the manifest is {size} bytes, over the limit of {MAX_MANIFEST_BYTES}"),
    )
    .at(source, 0..0, "")
    .help("a manifest lists grants; remove generated or pasted content")
}

pub(super) fn missing_component_table(source: SourceId) -> Diagnostic {
    Diagnostic::new(&MISSING_FIELD, "missing table `[component]`")
        .at(source, 0..0, "expected `[component]` with `name` and `version`")
        .help("add `[component]` with `name = \"...\"` and `version = \"1.0.0\"`")
}

/// `name` breaks the naming rule; `fixed` is the name it suggests.
pub(super) fn invalid_component_name(source: SourceId, span: Range<usize>, name: &str, fixed: &str) -> Diagnostic {
    Diagnostic::new(
        &INVALID_COMPONENT_NAME,
        format!("`{name}` is not a valid component name"),
    )
    .at(source, span, "invalid name")
    .help(format!(
        "use 3-64 lower-case letters, digits and hyphens, e.g. `{fixed}`"
    ))
}

pub(super) fn invalid_version(source: SourceId, span: Range<usize>, v: &str, e: &semver::Error) -> Diagnostic {
    let help = match v.strip_prefix(['v', 'V']).map(semver::Version::parse) {
        Some(Ok(_)) => format!("drop the `v` prefix: `{}`", &v[1..]),
        _ => "write a SemVer 2.0.0 version such as `1.2.3`".into(),
    };
    Diagnostic::new(&INVALID_VERSION, format!("`{v}` is not a SemVer version: {e}"))
        .at(source, span, "invalid version")
        .help(help)
}

/// A description of `n` characters, over the limit of 500.
pub(super) fn description_too_long(source: SourceId, span: Range<usize>, n: usize) -> Diagnostic {
    Diagnostic::new(
        &DESCRIPTION_TOO_LONG,
        format!("the description is {n} characters long, over the limit of 500"),
    )
    .at(source, span, "too long")
    .help("shorten it; link to documentation through `repository`")
}

/// `repository` is a URL without a host (`mailto:x`).
pub(super) fn repository_without_host(source: SourceId, span: Range<usize>, u: &str) -> Diagnostic {
    Diagnostic::new(&INVALID_REPOSITORY_URL, format!("`{u}` is not a repository URL"))
        .at(source, span, "no host")
        .help("give the full URL, e.g. `https://github.com/org/repo`")
}

pub(super) fn invalid_repository_url(source: SourceId, span: Range<usize>, u: &str, e: &url::ParseError) -> Diagnostic {
    Diagnostic::new(&INVALID_REPOSITORY_URL, format!("`{u}` is not a valid URL: {e}"))
        .at(source, span, "invalid URL")
        .help("give the full URL, e.g. `https://github.com/org/repo`")
}

/// The help for an unknown action `name` of `domain`: its actions, and the closest one.
pub(crate) fn unknown_action_help(domain: &str, name: &str, known: &[&str]) -> String {
    let help = format!(
        "{domain} actions are {}",
        known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    );
    match did_you_mean(name, known.iter().copied()) {
        Some(g) => format!("did you mean `{g}`? {help}"),
        None => help,
    }
}

/// A grant's `action` that its domain does not have.
pub(super) fn unknown_action(
    source: SourceId,
    span: Range<usize>,
    domain: &str,
    name: &str,
    known: &[&str],
) -> Diagnostic {
    Diagnostic::new(&UNKNOWN_ACTION, format!("unknown {domain} action `{name}`"))
        .at(source, span, "unknown action")
        .help(unknown_action_help(domain, name, known))
}

/// An entry of `[acknowledged]` that names no action of its domain (shown escaped: it may be
/// any string).
pub(super) fn unknown_acknowledged_action(
    source: SourceId,
    span: Range<usize>,
    domain: &str,
    name: &str,
    known: &[&str],
) -> Diagnostic {
    Diagnostic::new(
        &UNKNOWN_ACTION,
        format!("unknown {domain} action `{}`", name.escape_debug()),
    )
    .at(source, span, "unknown action")
    .help(unknown_action_help(domain, name, known))
}

pub(super) fn invalid_path(source: SourceId, span: Range<usize>, path: &str, e: &PatternError) -> Diagnostic {
    let d = Diagnostic::new(
        &INVALID_PATH,
        format!("`{}` is not a valid path pattern: {e}", path.escape_debug()),
    )
    .at(source, span, "invalid path");
    maybe_help(d, e.help())
}

pub(super) fn invalid_domain(source: SourceId, span: Range<usize>, domain: &str, e: &PatternError) -> Diagnostic {
    let d = Diagnostic::new(
        &INVALID_DOMAIN,
        format!("`{domain}` is not a valid domain pattern: {e}"),
    )
    .at(source, span, "invalid domain");
    maybe_help(d, e.help())
}

/// `port` on a grant whose action takes none (`resolve`).
pub(super) fn irrelevant_port(source: SourceId, span: Range<usize>, action: &str) -> Diagnostic {
    Diagnostic::new(&IRRELEVANT_FIELD, format!("`port` has no effect on a `{action}` grant"))
        .at(source, span, "not used by this action")
        .help("remove `port`: a resolve grant covers name lookups on any port")
}

pub(super) fn invalid_port(source: SourceId, span: Range<usize>, n: i128) -> Diagnostic {
    Diagnostic::new(&INVALID_PORT, format!("port {n} is outside 1-65535"))
        .at(source, span, "invalid port")
        .help("grant the port the component really uses, from 1 to 65535")
}

/// A process grant's `unused` field, which its action does not take (it takes `used`).
pub(super) fn irrelevant_process_field(
    source: SourceId,
    span: Range<usize>,
    action: ProcAction,
    unused: &str,
    used: &str,
) -> Diagnostic {
    let action = action.as_str();
    Diagnostic::new(
        &IRRELEVANT_FIELD,
        format!("`{unused}` has no effect on a `{action}` grant"),
    )
    .at(source, span, "not used by this action")
    .help(format!("a `{action}` grant takes `{used}`; remove `{unused}`"))
}

pub(super) fn invalid_executable(source: SourceId, span: Range<usize>, e: &PatternError) -> Diagnostic {
    let help = e
        .help()
        .unwrap_or_else(|| "name one program by its absolute path, e.g. `/usr/bin/git`".into());
    Diagnostic::new(&INVALID_EXECUTABLE, e.to_string())
        .at(source, span, "invalid executable")
        .help(help)
}

/// `value` is no POSIX signal name; the help guesses one (`term` → `SIGTERM`).
pub(super) fn unknown_signal(source: SourceId, span: Range<usize>, value: &str) -> Diagnostic {
    let names = Signal::ALL.iter().map(|s| s.as_str());
    let guess = did_you_mean(value, names).map(str::to_string).or_else(|| {
        Signal::parse(&format!("SIG{}", value.to_ascii_uppercase()))
            .ok()
            .map(|s| s.as_str().to_string())
    });
    let help = guess.map_or("use a POSIX signal name such as `SIGTERM`".into(), |g| {
        format!("did you mean `{g}`?")
    });
    Diagnostic::new(&UNKNOWN_SIGNAL, format!("`{value}` is not a POSIX signal name"))
        .at(source, span, "unknown signal")
        .help(help)
}

/// `[limits] memory` given as a string that is not a size.
pub(super) fn invalid_memory_size(source: SourceId, span: Range<usize>, s: &str) -> Diagnostic {
    Diagnostic::new(&INVALID_LIMIT, format!("`{s}` is not a memory size"))
        .at(source, span, "invalid size")
        .help("write bytes as an integer or a string such as \"64 MiB\" (units B, KiB, MiB, GiB)")
}

/// A `[limits]` value `n` of `key` that is zero or negative.
pub(super) fn limit_not_positive(source: SourceId, span: Range<usize>, key: &str, n: i128) -> Diagnostic {
    Diagnostic::new(&INVALID_LIMIT, format!("`{key}` must be positive, found {n}"))
        .at(source, span, "not positive")
        .help(format!("give `{key}` a positive value"))
}

pub(super) fn empty_acknowledgment_reason(source: SourceId, span: Range<usize>) -> Diagnostic {
    Diagnostic::new(&MISSING_FIELD, "`[acknowledged]` has an empty `reason`")
        .at(source, span, "empty")
        .help("say why the component imports operations it will never be granted")
}

/// `name` of `domain` acknowledged again at `span`, first at `first`.
pub(super) fn acknowledged_twice(
    source: SourceId,
    span: Range<usize>,
    first: Range<usize>,
    domain: &str,
    name: &str,
) -> Diagnostic {
    Diagnostic::new(&DUPLICATE_GRANT, format!("{domain} `{name}` is acknowledged twice"))
        .at(source, span, "again")
        .also(source, first, "first here")
        .help("remove the repeated entry")
}

/// A note: the filesystem grants from the one at `span` on were compared for shadowing only in
/// part (too many wildcard patterns to compare them all within the budget).
pub(super) fn shadowing_checked_in_part(source: SourceId, span: Range<usize>) -> Diagnostic {
    let mut d = Diagnostic::new(
        &SHADOWED_GRANT,
        "the filesystem grants were checked for shadowing only in part: too many \
         wildcard patterns to compare them all",
    )
    .at(source, span, "checked only in part from here")
    .help("use fewer patterns with wildcards inside names (`*.csv`, `/a/**/b`)");
    d.severity = Severity::Note;
    d
}

/// `action` acknowledged at `acknowledged` and given by `grant` (shown as `text`) at `granted`.
pub(super) fn acknowledged_and_granted(
    source: SourceId,
    acknowledged: Range<usize>,
    granted: Range<usize>,
    action: Action,
    grant: &str,
) -> Diagnostic {
    Diagnostic::new(
        &ACKNOWLEDGED_AND_GRANTED,
        format!(
            "{} `{}` is acknowledged as never granted, and grant {grant} gives it",
            action.domain().as_str(),
            action.as_str()
        ),
    )
    .at(source, acknowledged, "acknowledged as never granted")
    .also(source, granted, "granted here")
    .help("remove the action from `[acknowledged]`, or remove the grants of it")
}

/// `grant` at `span` is overly broad, `why` says how.
pub(super) fn overly_broad(source: SourceId, span: Range<usize>, grant: &dyn Display, why: &str) -> Diagnostic {
    Diagnostic::new(&OVERLY_BROAD_GRANT, format!("{grant} is overly broad"))
        .at(source, span, why)
        .help("grant only the directories or hosts the component uses")
}

pub(super) fn duplicate_grant(
    source: SourceId,
    span: Range<usize>,
    first: Range<usize>,
    grant: &dyn Display,
) -> Diagnostic {
    Diagnostic::new(&DUPLICATE_GRANT, format!("{grant} is granted twice"))
        .at(source, span, "duplicate")
        .also(source, first, "first granted here")
        .help("remove the duplicate")
}

/// `grant` at `span` grants nothing more than `broader` at `broader_span`.
pub(super) fn shadowed_grant(
    source: SourceId,
    span: Range<usize>,
    grant: &dyn Display,
    broader_span: Range<usize>,
    broader: &dyn Display,
) -> Diagnostic {
    Diagnostic::new(&SHADOWED_GRANT, format!("{grant} is already covered by {broader}"))
        .at(source, span, "grants nothing more")
        .also(source, broader_span, "the broader grant")
        .help("remove the narrower grant, or narrow the broader one")
}
