//! The rules of organisation policies (`POL…`) with their documentation, and the constructors
//! of the findings: the policy file's own problems (`parse.rs`, `mod.rs`) and the grants and
//! imports that break a policy rule (`check.rs`).

use std::ops::Range;

use super::{MAX_NESTING, MAX_POLICY_BYTES, RuleRef, Waiver, WaiverTarget};
use crate::analyze::ImportedFunction;
use crate::diagnostics::{Diagnostic, Rule, SourceId, did_you_mean, registry, rules};
use crate::manifest::Manifest;
use crate::policy::PatternError;
use crate::toml_doc::Format;

rules! {
    /// A policy file given with `--policy` (or named by `extends`) could not be parsed as TOML 1.0, is
    /// not UTF-8, is larger than 1 MiB, or could not be read. No rule of a broken policy is applied, and
    /// the run fails: a CI gate must not pass because its policy silently vanished.
    ///
    /// ## Example
    /// ```toml
    /// [filesystem]
    /// deny = [{ path = "/etc/shadow" }
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [filesystem]
    /// deny = [{ path = "/etc/shadow" }]
    /// ```
    ///
    /// ## How to fix
    /// Correct the TOML at the span shown, or the path in `--policy` / `extends`.
    POLICY_SYNTAX = "POL001" "policy-syntax-error" Error "an organisation policy file is not valid TOML or cannot be read";

    /// Policy files are validated as strictly as manifests: unknown keys (with a "did you mean"),
    /// wrong types, unknown actions, invalid path or domain patterns, malformed CIDR ranges, unknown
    /// signals or diagnostic codes, waivers without a reason or an expiry date, and `extends` cycles are
    /// all reported with the span of the offending value. An invalid rule is left out, never guessed.
    ///
    /// ## Example
    /// ```toml
    /// [filesystem]
    /// deny = [{ pth = "/etc/shadow" }]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [filesystem]
    /// deny = [{ path = "/etc/shadow" }]
    /// ```
    ///
    /// ## How to fix
    /// Follow the message; `docs/policies.md` lists every key.
    INVALID_POLICY = "POL002" "invalid-policy" Error "a policy file key or value that the policy format does not define";

    /// The grant's pattern overlaps a `[filesystem] deny` rule of the policy for the same action: some
    /// path matches both. `read /etc/**` overlaps a denial of `/etc/shadow`, and every grant overlaps a
    /// denial of `/**`. At run time the denied paths are refused whatever the manifest says; statically
    /// the grant promises more than the organisation will allow.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "read", path = "/etc/**" }]   # policy denies /etc/shadow
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/etc/app/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Narrow the grant so that it no longer reaches the denied paths, or obtain a waiver.
    DENIED_PATH = "POL003" "denied-path" Error "a filesystem grant reaches a path the organisation policy denies";

    /// The policy sets `[filesystem] roots`, and this grant is not entirely inside any of them (it is
    /// checked with the same pattern inclusion as shadowed grants). At run time requests outside the
    /// roots are refused.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [{ action = "write", path = "/opt/app/**" }]   # policy roots: /data/**, /tmp/**
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "write", path = "/data/app/**" }]
    /// ```
    ///
    /// ## How to fix
    /// Move the data the component uses under one of the roots.
    GRANT_OUTSIDE_ROOTS = "POL004" "grant-outside-roots" Error "a filesystem grant is not contained in the policy's allowed roots";

    /// The grant's domain overlaps a `[network] deny` rule: the same host, a subdomain wildcard that
    /// contains it, an IP literal inside a denied CIDR range (cloud metadata `169.254.169.254`,
    /// link-local, loopback), or `**`, which reaches every host. Names are compared after normalisation
    /// (case, trailing dot, IDNA, IP literal forms); a name that only resolves to a denied address is
    /// the runtime's business.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "connect", domain = "169.254.169.254", port = 80 }]   # policy denies 169.254.0.0/16
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## How to fix
    /// Grant only the hosts the component needs.
    DENIED_HOST = "POL005" "denied-host" Error "a network grant reaches a host or address range the policy denies";

    /// The policy sets `allow-any-host = false`: a grant of `**` reaches every host, including internal
    /// services, so it is refused whatever its action.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "connect", domain = "**", port = 443 }]   # policy: allow-any-host = false
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [
    ///   { action = "connect", domain = "api.example.com", port = 443 },
    ///   { action = "connect", domain = "*.cdn.example.com", port = 443 },
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// List the hosts (or `*.example.com` wildcards) the component talks to.
    ANY_HOST_FORBIDDEN = "POL006" "any-host-forbidden" Error "a network grant uses `**` and the policy forbids it";

    /// The policy lists `[network] ports`; a `connect`, `bind` or `listen` grant of any other port is
    /// refused, and so are such requests at run time.
    ///
    /// ## Example
    /// ```toml
    /// network = [{ action = "connect", domain = "db.example.com", port = 5432 }]   # policy ports: 443
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// network = [{ action = "connect", domain = "api.example.com", port = 443 }]
    /// ```
    ///
    /// ## How to fix
    /// Use one of the allowed ports, or ask for the policy to allow the port.
    PORT_NOT_ALLOWED = "POL007" "port-not-allowed" Error "a network grant names a port outside the policy's allowed ports";

    /// The policy sets `[process] spawn = false`: no component may start a process.
    ///
    /// ## Example
    /// ```toml
    /// process = [{ action = "spawn", executable = "/usr/bin/convert" }]   # policy: spawn = false
    /// ```
    ///
    /// ## Fixed
    /// No `process` grant: the component converts the image itself (a WebAssembly image library).
    ///
    /// ## How to fix
    /// Remove the spawn grant; do the work inside the component.
    SPAWN_FORBIDDEN = "POL008" "spawn-forbidden" Error "the manifest grants `spawn` and the policy forbids starting processes";

    /// Shells and interpreters (`/bin/sh`, `/usr/bin/python3`, `/usr/bin/env`, ...) run whatever code
    /// they are given, so a grant to spawn one is as broad as a shell. The policy's
    /// `[process] deny-executables` lists such programs. At run time the list also applies to what a
    /// granted script's `#!` line starts: under a policy that denies `/bin/sh`, a `#!/bin/sh` script
    /// is refused.
    ///
    /// ## Example
    /// ```toml
    /// process = [{ action = "spawn", executable = "/bin/sh" }]   # policy denies /bin/sh
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// process = [{ action = "spawn", executable = "/usr/bin/git" }]
    /// ```
    ///
    /// ## How to fix
    /// Spawn the specific program that does the work.
    DENIED_EXECUTABLE = "POL009" "denied-executable" Error "a spawn grant names an executable the policy denies";

    /// The policy lists `[process] signals`; a grant of any other signal is refused, and so are such
    /// requests at run time.
    ///
    /// ## Example
    /// ```toml
    /// process = [{ action = "signal", signal = "SIGKILL" }]   # policy signals: SIGTERM
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// process = [{ action = "signal", signal = "SIGTERM" }]
    /// ```
    ///
    /// ## How to fix
    /// Send one of the allowed signals (often `SIGTERM`).
    SIGNAL_NOT_ALLOWED = "POL010" "signal-not-allowed" Error "a signal grant names a signal outside the policy's allowed signals";

    /// The policy's `[operations] forbid` names catalogue operations (such as
    /// `airssys:ext-process/lifecycle.spawn-shell`) that no component may import, whatever it is
    /// granted. A trailing `*` forbids every operation with that prefix.
    ///
    /// ## Example
    /// A component importing `airssys:ext-process/lifecycle.spawn-shell` under a policy with
    ///
    /// ```toml
    /// [operations]
    /// forbid = ["airssys:ext-process/lifecycle.spawn-shell"]
    /// ```
    ///
    /// ## Fixed
    /// The component imports `spawn` and runs the one program it needs:
    ///
    /// ```toml
    /// process = [{ action = "spawn", executable = "/usr/bin/git" }]
    /// ```
    ///
    /// ## How to fix
    /// Stop importing the operation, or obtain a waiver naming it.
    FORBIDDEN_OPERATION = "POL011" "forbidden-operation" Error "the component imports a catalogue operation the policy forbids";

    /// The policy's `[manifest] require` lists `[component]` fields (`license`, `description`,
    /// `author`, `repository`, `version`) every manifest must give, so that reviewers and inventories
    /// know what a component is.
    ///
    /// ## Example
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "1.0.0"   # policy requires license
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// [component]
    /// name = "exporter"
    /// version = "1.0.0"
    /// license = "Apache-2.0"
    /// ```
    ///
    /// ## How to fix
    /// Add the field to `[component]`.
    MISSING_POLICY_FIELD = "POL012" "missing-policy-field" Error "the manifest lacks a `[component]` field the policy requires";

    /// The policy's `[manifest] max-grants` bounds the number of grants (all domains together). A
    /// component that needs more is doing too much, or its grants are too narrow to review.
    ///
    /// ## Example
    /// ```toml
    /// filesystem = [   # policy: max-grants = 8
    ///   { action = "read", path = "/data/in/a.csv" },
    ///   { action = "read", path = "/data/in/b.csv" },
    ///   # ... 10 more files of /data/in
    /// ]
    /// ```
    ///
    /// ## Fixed
    /// ```toml
    /// filesystem = [{ action = "read", path = "/data/in/*.csv" }]
    /// ```
    ///
    /// ## How to fix
    /// Merge related grants (`/data/in/**` instead of one grant per file) or split the component.
    TOO_MANY_GRANTS = "POL013" "too-many-grants" Error "the manifest has more grants than the policy's maximum";

    /// A waiver is a dated exception. Once its `expires` date has passed (the waiver is valid up to and
    /// including that day) it no longer waives anything, so the finding it covered is reported again,
    /// and this finding points at the waiver.
    ///
    /// ## Example
    /// ```toml
    /// [[waiver]]
    /// component = "legacy-exporter"
    /// code = "POL006"
    /// reason = "customer hosts until the 2.0 allow-list (TICKET-1234)"
    /// expires = 2025-12-31   # today is 2026-01-10
    /// ```
    ///
    /// ## Fixed
    /// The finding fixed and the waiver deleted, or the waiver renewed with a new reason:
    ///
    /// ```toml
    /// [[waiver]]
    /// component = "legacy-exporter"
    /// code = "POL006"
    /// reason = "allow-list delayed to 2.1 (TICKET-1290)"
    /// expires = 2026-06-30
    /// ```
    ///
    /// ## How to fix
    /// Fix the underlying finding and delete the waiver, or renew it with a new date and reason.
    EXPIRED_WAIVER = "POL014" "expired-waiver" Warning "a waiver's expiry date has passed";

    /// A waiver names a component (and optionally a version range) and a code or operation, the run
    /// checked that component, and none of its findings matched the waiver. Stale exceptions hide
    /// what the organisation has agreed to; remove them once the finding is fixed.
    ///
    /// A waiver for a component that the run did not check at all (a shared policy names the
    /// components of other pipelines too) is reported with this code as a note, not a warning:
    /// the run cannot tell whether it is stale, but a misspelt component name is still shown.
    ///
    /// ## Example
    /// ```toml
    /// [[waiver]]
    /// component = "exporter"
    /// code = "POL006"   # exporter no longer grants `**`
    /// reason = "customer hosts"
    /// expires = 2026-12-31
    /// ```
    ///
    /// ## Fixed
    /// The `[[waiver]]` table deleted.
    ///
    /// ## How to fix
    /// Delete the waiver, or correct its component name, version range or code.
    UNUSED_WAIVER = "POL015" "unused-waiver" Warning "a waiver matched no finding";
}

/// How a policy is read: its bound, and the rule of its syntax findings and of every other
/// problem of the file.
pub(super) static FORMAT: Format = Format {
    what: "a policy",
    max_nesting: MAX_NESTING,
    syntax: &POLICY_SYNTAX,
    too_deep: &INVALID_POLICY,
    unknown_key: &INVALID_POLICY,
    missing_field: &INVALID_POLICY,
    wrong_type: &INVALID_POLICY,
    placeholder: "\"...\"",
};

// The policy file's own problems.

pub(super) fn not_utf8(source: SourceId, at: usize) -> Diagnostic {
    Diagnostic::new(&POLICY_SYNTAX, "the policy is not valid UTF-8")
        .at(source, at..at + 1, "first invalid byte")
        .help("save the policy as UTF-8 text")
}

pub(super) fn too_large(source: SourceId, size: u64) -> Diagnostic {
    Diagnostic::new(
        &POLICY_SYNTAX,
        format!("the policy is {size} bytes, over the limit of {MAX_POLICY_BYTES}"),
    )
    .at(source, 0..0, "")
    .help("a policy lists rules; split or trim it")
}

/// Policy `name` could not be read (`why`); `from` is the `extends` entry that names it.
pub(super) fn unreadable(name: &str, why: &str, from: Option<(SourceId, Range<usize>)>) -> Diagnostic {
    let d = Diagnostic::new(&POLICY_SYNTAX, format!("cannot read policy `{name}`: {why}"))
        .help("check the path; `extends` is relative to the policy file that names it");
    at_from(d, from, "named here")
}

/// `d` at the `extends` entry it is about, when there is one (a `--policy` argument has none).
fn at_from(d: Diagnostic, from: Option<(SourceId, Range<usize>)>, label: &str) -> Diagnostic {
    match from {
        Some((source, span)) => d.at(source, span, label),
        None => d,
    }
}

/// `name` starts with `builtin:` but names no built-in policy.
pub(super) fn unknown_builtin(name: &str, from: Option<(SourceId, Range<usize>)>) -> Diagnostic {
    let d = Diagnostic::new(&POLICY_SYNTAX, format!("there is no built-in policy `{name}`"))
        .help("the built-in policies are `builtin:default` and `builtin:strict`");
    at_from(d, from, "named here")
}

/// Policy `name` extends itself through `from`.
pub(super) fn extends_cycle(name: &str, from: Option<(SourceId, Range<usize>)>) -> Diagnostic {
    let d = Diagnostic::new(&INVALID_POLICY, format!("`extends` cycle: `{name}` extends itself"))
        .help("remove one `extends` entry of the cycle");
    at_from(d, from, "this brings the cycle back")
}

/// An `invalid-policy` finding: every problem of a policy file's content is one.
fn invalid(source: SourceId, span: Range<usize>, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(&INVALID_POLICY, message)
        .at(source, span, label)
        .help(help)
}

/// A key of `[levels]` that is neither a code nor `warnings`.
pub(super) fn unknown_level_code(source: SourceId, span: Range<usize>, code: &str) -> Diagnostic {
    invalid(
        source,
        span,
        registry::unknown_rule_message(code),
        "unknown code",
        "`airssys-wasm explain --list` lists the codes; `warnings` sets every warning",
    )
}

/// A `[levels]` value that is not `allow`, `warn` or `deny`.
pub(super) fn unknown_level(source: SourceId, span: Range<usize>, level: &str) -> Diagnostic {
    let help = did_you_mean(level, ["allow", "warn", "deny"])
        .map_or("levels are `allow`, `warn` and `deny`".into(), |g| {
            format!("did you mean `{g}`?")
        });
    invalid(source, span, format!("unknown level `{level}`"), "unknown level", &help)
}

pub(super) fn domain_and_cidr(source: SourceId, span: Range<usize>) -> Diagnostic {
    invalid(
        source,
        span,
        "a network denial takes `domain` or `cidr`, not both".into(),
        "second target",
        "write two denials",
    )
}

pub(super) fn invalid_domain(source: SourceId, span: Range<usize>, domain: &str, e: &PatternError) -> Diagnostic {
    let help = e
        .help()
        .unwrap_or_else(|| "give a host, `*.example.com` or `**`".into());
    invalid(
        source,
        span,
        format!("`{domain}` is not a valid domain pattern: {e}"),
        "invalid domain",
        &help,
    )
}

pub(super) fn invalid_cidr(source: SourceId, span: Range<usize>, cidr: &str) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{cidr}` is not a CIDR range"),
        "invalid CIDR",
        "write an address and prefix length, e.g. `169.254.0.0/16` or `fe80::/10`",
    )
}

pub(super) fn invalid_port(source: SourceId, span: Range<usize>, n: i128) -> Diagnostic {
    invalid(
        source,
        span,
        format!("port {n} is outside 1-65535"),
        "invalid port",
        "ports are 1 to 65535",
    )
}

pub(super) fn invalid_port_range(source: SourceId, span: Range<usize>, range: &str) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{range}` is not a port range"),
        "invalid range",
        "write `\"first-last\"` with ports from 1 to 65535, first <= last",
    )
}

pub(super) fn invalid_executable(source: SourceId, span: Range<usize>, e: &PatternError) -> Diagnostic {
    let help = e
        .help()
        .unwrap_or_else(|| "name a program by absolute path, e.g. `/bin/sh`".into());
    invalid(source, span, e.to_string(), "invalid executable", &help)
}

pub(super) fn unknown_signal(source: SourceId, span: Range<usize>, signal: &str, e: &PatternError) -> Diagnostic {
    let help = e
        .help()
        .unwrap_or_else(|| "use a POSIX signal name such as `SIGTERM`".into());
    invalid(
        source,
        span,
        format!("`{signal}` is not a POSIX signal name"),
        "unknown signal",
        &help,
    )
}

/// "did you mean" the closest of `known`, else `what` and the whole list.
fn suggest(value: &str, known: &[&str], what: &str) -> String {
    did_you_mean(value, known.iter().copied()).map_or_else(
        || format!("{what}: {}", quoted(known)),
        |g| format!("did you mean `{g}`?"),
    )
}

/// An `[upgrade] allow-gains` entry that is not a permission (`domain:action`).
pub(super) fn unknown_gain(source: SourceId, span: Range<usize>, gain: &str, known: &[&str]) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{gain}` is not a permission (`domain:action`)"),
        "unknown permission",
        &suggest(gain, known, "permissions"),
    )
}

/// An entry of `[manifest] require` that is not one of `known`.
pub(super) fn unknown_requirable_field(
    source: SourceId,
    span: Range<usize>,
    field: &str,
    known: &[&str],
) -> Diagnostic {
    let help = suggest(field, known, "fields that can be required");
    invalid(
        source,
        span,
        format!("`{field}` is not a `[component]` field a policy can require"),
        "unknown field",
        &help,
    )
}

pub(super) fn negative_max_grants(source: SourceId, span: Range<usize>, n: i128) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`max-grants` must not be negative, found {n}"),
        "negative",
        "give 0 or more",
    )
}

/// An entry of `[components] kinds` that is not one of `known`.
pub(super) fn unknown_kind(source: SourceId, span: Range<usize>, kind: &str, known: &[&str]) -> Diagnostic {
    let help = did_you_mean(kind, known.iter().copied()).map_or_else(
        || format!("kinds: {}", quoted(known)),
        |g| format!("did you mean `{g}`? kinds: {}", quoted(known)),
    );
    invalid(
        source,
        span,
        format!("`{}` is not a kind of component", kind.escape_debug()),
        "unknown kind",
        &help,
    )
}

pub(super) fn invalid_version_range(
    source: SourceId,
    span: Range<usize>,
    range: &str,
    e: &semver::Error,
) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{range}` is not a version range: {e}"),
        "invalid range",
        "write a Cargo-style range such as `>=1.2, <2`",
    )
}

pub(super) fn empty_waiver_reason(source: SourceId, span: Range<usize>) -> Diagnostic {
    invalid(
        source,
        span,
        "a waiver's reason is empty".into(),
        "empty",
        "say why the exception is acceptable",
    )
}

pub(super) fn code_and_operation(source: SourceId, span: Range<usize>) -> Diagnostic {
    invalid(
        source,
        span,
        "a waiver names a `code` or an `operation`, not both".into(),
        "second target",
        "write two waivers",
    )
}

/// A waiver's `code` names `rule`, which is not among the `waivable` codes.
pub(super) fn not_waivable(source: SourceId, span: Range<usize>, rule: &Rule, waivable: &[&str]) -> Diagnostic {
    let help = format!(
        "waivers may name these codes ({}); use `[levels]` for other codes",
        waivable.join(", ")
    );
    invalid(
        source,
        span,
        format!("`{}` ({}) is not a policy rule a waiver can name", rule.code, rule.name),
        "not waivable",
        &help,
    )
}

/// A waiver's `code` that names no rule.
pub(super) fn unknown_waiver_code(source: SourceId, span: Range<usize>, code: &str) -> Diagnostic {
    invalid(
        source,
        span,
        registry::unknown_rule_message(code),
        "unknown code",
        "`airssys-wasm explain --list` lists the codes",
    )
}

/// An `expires` date-time `dt` that is not a plain date.
pub(super) fn not_a_date(source: SourceId, span: Range<usize>, dt: &dyn std::fmt::Display) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{dt}` is not a plain date"),
        "not a date",
        "write a local date such as `2026-06-30`, without a time",
    )
}

pub(super) fn not_an_operation(source: SourceId, span: Range<usize>, op: &str) -> Diagnostic {
    invalid(
        source,
        span,
        format!("`{op}` is not a catalogue operation name"),
        "not an operation",
        "write `package/interface.function`, e.g. `airssys:ext-process/lifecycle.spawn-shell`; a trailing `*` matches a prefix",
    )
}

/// A denial's action `name` that `domain` does not have.
pub(super) fn unknown_action(
    source: SourceId,
    span: Range<usize>,
    domain: &str,
    name: &str,
    known: &[&str],
) -> Diagnostic {
    let help = crate::manifest::rules::unknown_action_help(domain, name, known);
    invalid(
        source,
        span,
        format!("unknown {domain} action `{name}`"),
        "unknown action",
        &help,
    )
}

pub(super) fn invalid_path(source: SourceId, span: Range<usize>, path: &str, e: &PatternError) -> Diagnostic {
    let help = e
        .help()
        .unwrap_or_else(|| "write an absolute path or pattern, e.g. `/etc/**`".into());
    invalid(
        source,
        span,
        format!("`{}` is not a valid path pattern: {e}", path.escape_debug()),
        "invalid path",
        &help,
    )
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

// What breaks a policy rule: a finding at the manifest value (or the import) with the rule as
// a secondary label.

/// A finding about the manifest value at `span` and the policy rule `at` that forbids it.
fn at_rule(
    rule: &'static Rule,
    message: String,
    m: &Manifest,
    span: Range<usize>,
    label: &str,
    at: &RuleRef,
) -> Diagnostic {
    Diagnostic::new(rule, message).at(m.source, span, label).also(
        at.source,
        at.span.clone(),
        format!("forbidden by this rule of {}", at.file),
    )
}

/// The grant `grant` (shown as `action pattern`) at `span` reaches `denied`, denied by `at`.
pub(super) fn denied_path(m: &Manifest, span: Range<usize>, grant: &str, denied: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &DENIED_PATH,
        format!("`{grant}` reaches `{denied}`, which {} denies", at.file),
        m,
        span,
        "granted here",
        at,
    )
    .help(format!(
        "narrow the grant so that it excludes `{denied}`; at run time those paths are refused"
    ))
}

/// `pattern` at `span` is outside the `roots` (listed as `list`) of `at`.
pub(super) fn grant_outside_roots(
    m: &Manifest,
    span: Range<usize>,
    pattern: &str,
    list: &str,
    at: &RuleRef,
) -> Diagnostic {
    at_rule(
        &GRANT_OUTSIDE_ROOTS,
        format!("`{pattern}` is not inside the allowed roots of {}", at.file),
        m,
        span,
        "outside the roots",
        at,
    )
    .help(format!("grants must stay within {list}"))
}

/// `action` of `what` (a host or "any host") reaches `denied`, denied by `at`.
pub(super) fn denied_host(
    m: &Manifest,
    span: Range<usize>,
    action: &str,
    what: &str,
    denied: &str,
    at: &RuleRef,
) -> Diagnostic {
    at_rule(
        &DENIED_HOST,
        format!("`{action}` of {what} reaches `{denied}`, which {} denies", at.file),
        m,
        span,
        "granted here",
        at,
    )
    .help("grant only the hosts the component needs; at run time the denied hosts are refused")
}

pub(super) fn any_host_forbidden(m: &Manifest, span: Range<usize>, action: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &ANY_HOST_FORBIDDEN,
        format!("`{action}` of `**` is forbidden by {}", at.file),
        m,
        span,
        "every host",
        at,
    )
    .help("list the hosts (or `*.example.com` wildcards) the component talks to")
}

pub(super) fn port_not_allowed(m: &Manifest, span: Range<usize>, port: u16, at: &RuleRef) -> Diagnostic {
    at_rule(
        &PORT_NOT_ALLOWED,
        format!("port {port} is not among the ports {} allows", at.file),
        m,
        span,
        "this port",
        at,
    )
    .help(format!("allowed: {}", at.text))
}

pub(super) fn spawn_forbidden(m: &Manifest, span: Range<usize>, executable: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &SPAWN_FORBIDDEN,
        format!(
            "spawning `{executable}` is forbidden: {} allows no process spawning",
            at.file
        ),
        m,
        span,
        "spawn granted here",
        at,
    )
    .help("remove the spawn grant; do the work inside the component")
}

pub(super) fn denied_executable(m: &Manifest, span: Range<usize>, executable: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &DENIED_EXECUTABLE,
        format!("`{executable}` is an executable {} denies", at.file),
        m,
        span,
        "denied executable",
        at,
    )
    .help("spawn the specific program that does the work, not a shell or interpreter")
}

pub(super) fn signal_not_allowed(m: &Manifest, span: Range<usize>, signal: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &SIGNAL_NOT_ALLOWED,
        format!("`{signal}` is not among the signals {} allows", at.file),
        m,
        span,
        "this signal",
        at,
    )
    .help(format!("allowed: {}", at.text))
}

/// `[component]` lacks `field`, which `at` requires.
pub(super) fn missing_policy_field(m: &Manifest, field: &str, at: &RuleRef) -> Diagnostic {
    at_rule(
        &MISSING_POLICY_FIELD,
        format!("`[component]` has no `{field}`, which {} requires", at.file),
        m,
        0..0,
        "in this manifest",
        at,
    )
    .help(format!("add `{field} = \"...\"` to `[component]`"))
}

/// The manifest has `n` grants (at `span`), over the `max` of `at`.
pub(super) fn too_many_grants(m: &Manifest, span: Range<usize>, n: usize, max: usize, at: &RuleRef) -> Diagnostic {
    at_rule(
        &TOO_MANY_GRANTS,
        format!(
            "the manifest has {n} grants, over the maximum of {max} set by {}",
            at.file
        ),
        m,
        span,
        "these grants",
        at,
    )
    .help("merge related grants or split the component")
}

/// The import `f` of `binary` is the catalogue `operation`, which `at` forbids.
pub(super) fn forbidden_operation(binary: SourceId, f: &ImportedFunction, operation: &str, at: &RuleRef) -> Diagnostic {
    Diagnostic::new(
        &FORBIDDEN_OPERATION,
        format!("the component imports `{operation}`, which {} forbids", at.file),
    )
    .at(binary, f.span.clone(), format!("imports `{}`", f.function))
    .also(
        at.source,
        at.span.clone(),
        format!("forbidden by this rule of {}", at.file),
    )
    .help("stop importing the operation, or obtain a waiver naming it")
}

pub(super) fn expired_waiver(w: &Waiver) -> Diagnostic {
    let at = &w.at;
    Diagnostic::new(
        &EXPIRED_WAIVER,
        format!("the waiver for `{}` expired on {}", w.component, w.expires),
    )
    .at(at.source, at.span.clone(), "expired waiver")
    .help("fix the finding and delete the waiver, or renew it with a new date and reason")
    .note(format!("reason given: {}", w.reason))
}

pub(super) fn unused_waiver(w: &Waiver) -> Diagnostic {
    let at = &w.at;
    Diagnostic::new(
        &UNUSED_WAIVER,
        format!(
            "the waiver for `{}` ({}) matched no finding",
            w.component,
            target_name(&w.target)
        ),
    )
    .at(at.source, at.span.clone(), "matched nothing")
    .help("delete the waiver, or correct its component, version or code")
}

/// A waiver for a component that this run did not check: not stale as far as the run can
/// tell (a shared policy names components of other runs), so a note, not a warning, and still
/// shown so that a misspelt component name does not go unnoticed.
pub(super) fn waiver_out_of_sight(w: &Waiver) -> Diagnostic {
    let at = &w.at;
    let version = w.version.as_ref().map(|v| format!(" {v}")).unwrap_or_default();
    let mut d = Diagnostic::new(
        &UNUSED_WAIVER,
        format!(
            "the waiver for `{}`{version} ({}) applies to no component this run checked",
            w.component,
            target_name(&w.target)
        ),
    )
    .at(at.source, at.span.clone(), "for a component not checked here")
    .help("nothing to do if that component is checked elsewhere; otherwise correct its component name or version");
    d.severity = crate::diagnostics::Severity::Note;
    d
}

fn target_name(t: &WaiverTarget) -> String {
    match t {
        WaiverTarget::Code(rule) => format!("code {} `{}`", rule.code, rule.name),
        WaiverTarget::Operation(op) => format!("operation `{op}`"),
    }
}
