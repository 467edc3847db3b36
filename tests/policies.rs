//! Organisation policies: every rule kind in violation and in compliance (snapshots of the
//! rendered findings), waivers with an injected date, composition and precedence, the policy
//! file's own diagnostics, and the property that a policy only takes away.

mod common;

use std::path::PathBuf;

use airssys_wasm::analyze::{ImportedFunction, Mapping};
use airssys_wasm::diagnostics::{Diagnostic, Level, Levels, Severity, Sources, registry};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};
use airssys_wasm::policy::{FsAction, NetAction, Request, Signal};
use proptest::prelude::*;

const TODAY: Date = Date {
    year: 2025,
    month: 6,
    day: 15,
};

fn manifest_text(permissions: &str) -> String {
    format!("[component]\nname = \"reporter\"\nversion = \"1.4.0\"\n\n[permissions]\n{permissions}")
}

/// Policy findings for a manifest (and optional imports), rendered with the codes first.
fn run(policy: &str, permissions: &str, imports: &[&str]) -> (Vec<&'static str>, String) {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).expect("a valid policy");
    let m = Manifest::parse_in(&mut sources, "Component.toml", &manifest_text(permissions))
        .into_valid()
        .expect("a valid manifest");
    let binary = sources.add_binary("app.wasm");
    let functions = imported(imports);
    let mut d = if imports.is_empty() {
        set.check_manifest(&m, TODAY)
    } else {
        set.check_imports(&m, &functions, binary, TODAY)
    };
    airssys_wasm::diagnostics::sort(&mut d, &sources);
    (common::codes(&d), common::render(&d, &sources))
}

fn imported(ops: &[&str]) -> Vec<ImportedFunction> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let (iface, function) = op.rsplit_once('.').unwrap();
            ImportedFunction::new(
                format!("{iface}@1.0.0"),
                function,
                i * 10..i * 10 + 8,
                Mapping::Catalogue {
                    operation: op.to_string(),
                },
                None,
            )
        })
        .collect()
}

/// (name, policy, manifest permissions, imports, expected codes).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (
        "fs-deny-violation",
        "[filesystem]\ndeny = [{ path = \"/etc/shadow\" }]\n",
        "filesystem = [{ action = \"read\", path = \"/etc/**\" }]\n",
        &[],
        &["POL003"],
    ),
    (
        "fs-deny-compliance",
        "[filesystem]\ndeny = [{ path = \"/etc/shadow\" }]\n",
        "filesystem = [{ action = \"read\", path = \"/etc/hosts\" }]\n",
        &[],
        &[],
    ),
    (
        "fs-deny-other-action",
        "[filesystem]\ndeny = [{ path = \"/proc/**\", actions = [\"write\"] }]\n",
        "filesystem = [{ action = \"read\", path = \"/proc/self/status\" }]\n",
        &[],
        &[],
    ),
    (
        "fs-deny-everything",
        "[filesystem]\ndeny = [{ path = \"/**\", actions = [\"delete\"] }]\n",
        "filesystem = [{ action = \"delete\", path = \"/data/tmp/*\" }]\n",
        &[],
        &["POL003"],
    ),
    (
        "fs-roots-violation",
        "[filesystem]\nroots = [\"/data/**\", \"/tmp/**\"]\n",
        "filesystem = [{ action = \"write\", path = \"/opt/app/**\" }]\n",
        &[],
        &["POL004"],
    ),
    (
        "fs-roots-compliance",
        "[filesystem]\nroots = [\"/data/**\", \"/tmp/**\"]\n",
        "filesystem = [{ action = \"write\", path = \"/data/out/*.csv\" }]\n",
        &[],
        &[],
    ),
    (
        "net-cidr-violation",
        "[network]\ndeny = [{ cidr = \"169.254.0.0/16\" }]\n",
        "network = [{ action = \"connect\", domain = \"169.254.169.254\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-cidr-ip-literal-forms",
        "[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }]\n",
        "network = [{ action = \"connect\", domain = \"0x7f.1\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-cidr-unspecified-v4-reaches-loopback",
        "[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }]\n",
        "network = [{ action = \"connect\", domain = \"0.0.0.0\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-cidr-unspecified-v6-reaches-loopback",
        "[network]\ndeny = [{ cidr = \"::1/128\" }]\n",
        "network = [{ action = \"connect\", domain = \"::\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-cidr-compliance",
        "[network]\ndeny = [{ cidr = \"169.254.0.0/16\" }]\n",
        "network = [{ action = \"connect\", domain = \"api.example.com\", port = 443 }]\n",
        &[],
        &[],
    ),
    (
        "net-domain-violation",
        "[network]\ndeny = [{ domain = \"*.internal\" }]\n",
        "network = [{ action = \"connect\", domain = \"Metadata.Google.Internal.\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-any-host-reaches-denied",
        "[network]\ndeny = [{ domain = \"metadata.google.internal\" }]\n",
        "network = [{ action = \"connect\", domain = \"**\", port = 80 }]\n",
        &[],
        &["POL005"],
    ),
    (
        "net-any-host-forbidden",
        "[network]\nallow-any-host = false\n",
        "network = [{ action = \"resolve\", domain = \"**\" }]\n",
        &[],
        &["POL006"],
    ),
    (
        "net-any-host-compliance",
        "[network]\nallow-any-host = false\n",
        "network = [{ action = \"resolve\", domain = \"*.example.com\" }]\n",
        &[],
        &[],
    ),
    (
        "net-port-violation",
        "[network]\nports = [443, \"8000-8999\"]\n",
        "network = [{ action = \"connect\", domain = \"api.example.com\", port = 22 }]\n",
        &[],
        &["POL007"],
    ),
    (
        "net-port-compliance",
        "[network]\nports = [443, \"8000-8999\"]\n",
        "network = [{ action = \"listen\", port = 8080 }]\n",
        &[],
        &[],
    ),
    (
        "proc-spawn-violation",
        "[process]\nspawn = false\n",
        "process = [{ action = \"spawn\", executable = \"/usr/bin/git\" }]\n",
        &[],
        &["POL008"],
    ),
    (
        "proc-spawn-compliance",
        "[process]\nspawn = false\n",
        "process = [{ action = \"signal\", signal = \"SIGTERM\" }]\n",
        &[],
        &[],
    ),
    (
        "proc-executable-violation",
        "[process]\ndeny-executables = [\"/bin/sh\", \"/usr/bin/python3\"]\n",
        "process = [{ action = \"spawn\", executable = \"/bin/./sh\" }]\n",
        &[],
        &["POL009"],
    ),
    (
        "proc-executable-compliance",
        "[process]\ndeny-executables = [\"/bin/sh\"]\n",
        "process = [{ action = \"spawn\", executable = \"/usr/bin/git\" }]\n",
        &[],
        &[],
    ),
    (
        "proc-signal-violation",
        "[process]\nsignals = [\"SIGTERM\"]\n",
        "process = [{ action = \"signal\", signal = \"SIGKILL\" }]\n",
        &[],
        &["POL010"],
    ),
    (
        "proc-signal-compliance",
        "[process]\nsignals = [\"SIGTERM\"]\n",
        "process = [{ action = \"signal\", signal = \"SIGTERM\" }]\n",
        &[],
        &[],
    ),
    (
        "operation-violation",
        "[operations]\nforbid = [\"airssys:ext-process/lifecycle.spawn-shell\"]\n",
        "",
        &["airssys:ext-process/lifecycle.spawn-shell"],
        &["POL011"],
    ),
    (
        "operation-prefix-violation",
        "[operations]\nforbid = [\"airssys:ext-process/*\"]\n",
        "",
        &["airssys:ext-process/lifecycle.spawn"],
        &["POL011"],
    ),
    (
        "operation-compliance",
        "[operations]\nforbid = [\"airssys:ext-process/lifecycle.spawn-shell\"]\n",
        "",
        &["airssys:ext-filesystem/filesystem.read-file"],
        &[],
    ),
    (
        "hygiene-require-violation",
        "[manifest]\nrequire = [\"license\", \"description\"]\n",
        "",
        &[],
        &["POL012"],
    ),
    (
        "hygiene-max-grants-violation",
        "[manifest]\nmax-grants = 1\n",
        "filesystem = [\n  { action = \"read\", path = \"/data/a\" },\n  { action = \"read\", path = \"/data/b\" },\n]\n",
        &[],
        &["POL013"],
    ),
    (
        "hygiene-compliance",
        "[manifest]\nrequire = [\"version\"]\nmax-grants = 2\n",
        "filesystem = [{ action = \"read\", path = \"/data/a\" }]\n",
        &[],
        &[],
    ),
];

#[test]
fn every_rule_kind_in_violation_and_compliance() {
    for (name, policy, permissions, imports, want) in CASES {
        let (codes, rendered) = run(policy, permissions, imports);
        assert_eq!(&codes, want, "{name}:\n{rendered}");
        let snapshot = format!("policy:\n{policy}\nmanifest [permissions]:\n{permissions}\nfindings:\n{rendered}");
        common::with_snapshots(|| insta::assert_snapshot!(*name, snapshot));
    }
}

const WAIVED: &str = "[filesystem]\ndeny = [{ path = \"/etc/shadow\" }]\n";
const ETC: &str = "filesystem = [{ action = \"read\", path = \"/etc/**\" }]\n";

fn waiver(extra: &str, expires: &str) -> String {
    format!(
        "{WAIVED}\n[[waiver]]\ncomponent = \"reporter\"\n{extra}reason = \"reads /etc/hosts; fix tracked in OPS-12\"\nexpires = {expires}\n"
    )
}

fn run_owned(policy: &str, permissions: &str, today: Date) -> (Vec<&'static str>, String) {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).expect("a valid policy");
    let m = Manifest::parse_in(&mut sources, "Component.toml", &manifest_text(permissions))
        .into_valid()
        .unwrap();
    let mut d = set.check_manifest(&m, today);
    airssys_wasm::diagnostics::sort(&mut d, &sources);
    (common::codes(&d), common::render(&d, &sources))
}

#[test]
fn waivers_active_expired_unused() {
    let active = waiver("code = \"POL003\"\n", "2025-06-15");
    let (codes, out) = run_owned(&active, ETC, TODAY);
    assert!(codes.is_empty(), "valid through its expiry day:\n{out}");

    let (codes, out) = run_owned(&active, ETC, Date::new(2025, 6, 16).unwrap());
    assert_eq!(codes, ["POL003", "POL014"], "expired: the finding is back");
    common::with_snapshots(|| insta::assert_snapshot!("waiver-expired", out));

    let (codes, out) = run_owned(
        &active,
        "filesystem = [{ action = \"read\", path = \"/data/**\" }]\n",
        TODAY,
    );
    assert_eq!(codes, ["POL015"]);
    common::with_snapshots(|| insta::assert_snapshot!("waiver-unused", out));

    let ranged = waiver("version = \">=2\"\ncode = \"POL003\"\n", "2030-01-01");
    assert_eq!(
        run_owned(&ranged, ETC, TODAY).0,
        ["POL003", "POL015"],
        "version range excludes 1.4.0"
    );

    let other_code = waiver("code = \"POL004\"\n", "2030-01-01");
    assert_eq!(
        run_owned(&other_code, ETC, TODAY).0,
        ["POL003", "POL015"],
        "a waiver waives only what it names"
    );
}

#[test]
fn operation_waiver() {
    let policy = "[operations]\nforbid = [\"airssys:ext-process/*\"]\n\n[[waiver]]\ncomponent = \"reporter\"\noperation = \"airssys:ext-process/lifecycle.spawn\"\nreason = \"build helper\"\nexpires = 2030-01-01\n";
    let (codes, out) = run(
        policy,
        "",
        &[
            "airssys:ext-process/lifecycle.spawn",
            "airssys:ext-process/lifecycle.spawn-shell",
        ],
    );
    assert_eq!(codes, ["POL011"], "{out}");
    assert!(out.contains("spawn-shell"), "{out}");
}

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policies")).join(path)
}

#[test]
fn extends_composes_and_the_stricter_rule_wins() {
    let mut sources = Sources::new();
    let set = PolicySet::load(&mut sources, &[fixture("extends/team.toml")]).unwrap();
    assert_eq!(set.policies.len(), 2, "base then team");
    let levels = set.levels();
    assert_eq!(levels, [("CMP003", Level::Deny)], "deny beats warn for the same code");
    let m = Manifest::parse_in(
        &mut sources,
        "Component.toml",
        &std::fs::read_to_string(fixture("Component.toml")).unwrap(),
    )
    .into_valid()
    .unwrap();
    let mut d = set.check_manifest(&m, TODAY);
    airssys_wasm::diagnostics::sort(&mut d, &sources);
    // SIGTERM passes both signal lists; port 8443 fails the team's ports.
    assert_eq!(common::codes(&d), ["POL007"], "{}", common::render(&d, &sources));
    let e = set.effective(&m, &Default::default());
    let signal = |signal| Request::Signal { signal };
    assert!(e.decide(&signal(Signal::parse("SIGTERM").unwrap())).allowed);
    assert!(
        !e.decide(&signal(Signal::parse("SIGINT").unwrap())).allowed,
        "base allows SIGINT, team does not: both must"
    );
}

#[test]
fn repeated_policies_all_apply() {
    let mut sources = Sources::new();
    let a = "[filesystem]\ndeny = [{ path = \"/data/secret/**\" }]\n[levels]\nunused-grant = \"allow\"\n";
    let b = "[filesystem]\nroots = [\"/data/**\"]\n[levels]\nunused-grant = \"warn\"\n";
    let set = PolicySet::from_texts(&mut sources, &[("a.toml", a), ("b.toml", b)]).unwrap();
    assert_eq!(set.levels(), [("CMP003", Level::Warn)]);
    let m = Manifest::parse_in(
        &mut sources,
        "Component.toml",
        &manifest_text(
            "filesystem = [{ action = \"read\", path = \"/data/**\" }, { action = \"read\", path = \"/srv/x\" }]\n",
        ),
    )
    .into_valid()
    .unwrap();
    assert_eq!(common::codes(&set.check_manifest(&m, TODAY)), ["POL003", "POL004"]);
}

#[test]
fn command_line_levels_win_over_policy_levels() {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(
        &mut sources,
        &[("a.toml", "[levels]\nPOL003 = \"warn\"\nwarnings = \"deny\"\n")],
    )
    .unwrap();
    let mut levels = Levels::default();
    set.apply_levels(&mut levels);
    let rule = registry::lookup("POL003").unwrap();
    assert_eq!(levels.apply(rule, Severity::Error), Some(Severity::Warning));
    levels.set("POL003", Level::Allow).unwrap();
    assert_eq!(levels.apply(rule, Severity::Error), None);
}

#[test]
fn extends_cycle_is_an_error_with_a_span() {
    let mut sources = Sources::new();
    let e = PolicySet::load(&mut sources, &[fixture("cycle/a.toml")]).unwrap_err();
    assert_eq!(common::codes(&e.diagnostics), ["POL002"]);
    assert!(e.diagnostics[0].primary.is_some());
    let out = common::render(&e.diagnostics, &sources).replace(env!("CARGO_MANIFEST_DIR"), "<root>");
    common::with_snapshots(|| insta::assert_snapshot!("extends-cycle", out));
}

#[test]
fn shipped_policies_parse() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    for f in [
        "default.toml",
        "strict.toml",
        "examples/ci-gate.toml",
        "examples/plugin-marketplace.toml",
    ] {
        let mut sources = Sources::new();
        if let Err(e) = PolicySet::load(&mut sources, &[root.join(f)]) {
            panic!("{f}:\n{}", common::render(&e.diagnostics, &sources));
        }
    }
    let mut sources = Sources::new();
    let set = PolicySet::default_set(&mut sources).unwrap();
    assert!(!set.policies[0].fs_deny.is_empty());
}

#[test]
fn the_csv_export_example_passes_the_default_policy() {
    let mut sources = Sources::new();
    let set = PolicySet::default_set(&mut sources).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/csv-export/Component.toml"
    ))
    .unwrap();
    let m = Manifest::parse_in(&mut sources, "Component.toml", &text)
        .into_valid()
        .unwrap();
    let d = set.check_manifest(&m, TODAY);
    assert!(d.is_empty(), "{}", common::render(&d, &sources));
}

#[test]
fn invalid_policy_files_are_reported_with_spans() {
    let bad = r#"extnds = ["x"]
[levels]
unused-grnt = "deny"
MAN004 = "forbid"

[filesystem]
deny = [{ pth = "/etc/shadow" }, { path = "etc/x" }, { path = "/x", actions = ["wirte"] }]

[network]
deny = [{ cidr = "10.0.0.0/33" }, { domain = "https://x.com" }, {}]
ports = [0, "9-3"]
allow-any-host = "no"

[process]
signals = ["SIGTREM"]
deny-executables = ["sh"]

[operations]
forbid = ["spawn-shell"]

[manifest]
require = ["licence"]
max-grants = -1

[[waiver]]
component = "x"
code = "MAN004"
expires = "2025-01-01"
"#;
    let mut sources = Sources::new();
    let e = PolicySet::from_texts(&mut sources, &[("bad.toml", bad)]).unwrap_err();
    assert!(
        e.diagnostics
            .iter()
            .all(|d| d.primary.is_some() && d.rule.code == "POL002")
    );
    let mut d: Vec<Diagnostic> = e.diagnostics;
    airssys_wasm::diagnostics::sort(&mut d, &sources);
    let out = common::render(&d, &sources);
    for want in [
        "did you mean `extends`",
        "did you mean `unused-grant`",
        "did you mean `path`",
        "did you mean `write`",
        "did you mean `SIGTERM`",
        "did you mean `license`",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    common::with_snapshots(|| insta::assert_snapshot!("invalid-policy", out));

    let mut sources = Sources::new();
    let e = PolicySet::from_texts(&mut sources, &[("broken.toml", "[filesystem\n")]).unwrap_err();
    assert_eq!(common::codes(&e.diagnostics), ["POL001"]);
}

#[test]
fn runtime_denials_subtract_from_grants() {
    let mut sources = Sources::new();
    let policy = "[filesystem]\ndeny = [{ path = \"/data/secret/**\" }]\n[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }]\nports = [443, 80]\n";
    let set = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).unwrap();
    let m = Manifest::parse_in(
        &mut sources,
        "Component.toml",
        &manifest_text("filesystem = [{ action = \"read\", path = \"/data/**\" }]\nnetwork = [{ action = \"connect\", domain = \"**\", port = 80 }]\n"),
    )
    .into_valid()
    .unwrap();
    let e = set.effective(&m, &Default::default());
    let read = |path| Request::Fs {
        action: FsAction::Read,
        path,
    };
    let connect = |host| Request::Net {
        action: NetAction::Connect,
        host: Some(host),
        port: Some(80),
    };
    assert!(e.decide(&read("/data/a")).allowed);
    let d = e.decide(&read("/data/x/../secret/key"));
    assert!(!d.allowed && d.grant.is_some() && d.denied_by.is_some());
    assert!(e.decide(&connect("example.com")).allowed);
    for trick in [
        "127.0.0.1",
        "0x7f.1",
        "2130706433",
        "::ffff:127.0.0.1",
        "[::ffff:7f00:1]",
        // The unspecified address reaches loopback.
        "0.0.0.0",
        "0",
        "[::ffff:0.0.0.0]",
    ] {
        assert!(!e.decide(&connect(trick)).allowed, "{trick}");
    }
    assert!(!e.decide(&read("/etc/passwd")).allowed, "never more than the grants");
}

/// `builtin:strict` denies loopback, and with it every spelling of the unspecified addresses
/// that reach it, in both families (its `0.0.0.0/32` and `::/128` rules name them too).
#[test]
fn strict_denies_the_unspecified_addresses() {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("org.toml", "extends = [\"builtin:strict\"]\n")]).unwrap();
    let m = Manifest::parse_in(
        &mut sources,
        "Component.toml",
        &manifest_text("network = [{ action = \"connect\", domain = \"0.0.0.0\", port = 443 }, { action = \"connect\", domain = \"::\", port = 443 }]\n"),
    )
    .into_valid()
    .unwrap();
    let e = set.effective(&m, &Default::default());
    for host in ["0.0.0.0", "0", "::", "[::]", "0:0::0", "::ffff:0.0.0.0"] {
        let request = Request::Net {
            action: NetAction::Connect,
            host: Some(host),
            port: Some(443),
        };
        let d = e.decide(&request);
        assert!(d.grant.is_some(), "{host}: granted by the manifest");
        let rule = d.denied_by.unwrap_or_else(|| panic!("{host} is not denied"));
        assert!(rule.to_string().starts_with("builtin:strict:"), "{host}: {rule}");
    }
    let strict = airssys_wasm::orgpolicy::builtin("builtin:strict").unwrap();
    assert!(strict.contains("{ cidr = \"::/128\" }"), "{strict}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For random manifests, policies and requests: a policy never turns a denial into an
    /// allow.
    #[test]
    fn a_policy_only_takes_away(
        grants in prop::collection::vec((0usize..4, 0usize..PATHS.len()), 0..5),
        net in prop::collection::vec((0usize..HOSTS.len(), 0usize..PORTS.len()), 0..4),
        denials in prop::collection::vec((0usize..4, 0usize..PATHS.len()), 0..4),
        cidrs in prop::collection::vec(0usize..CIDRS.len(), 0..3),
        roots in prop::option::of(prop::collection::vec(0usize..PATHS.len(), 1..3)),
        ports in prop::option::of(prop::collection::vec(0usize..PORTS.len(), 1..3)),
        fs_requests in prop::collection::vec((0usize..4, 0usize..REQ_PATHS.len()), 1..8),
        net_requests in prop::collection::vec((0usize..REQ_HOSTS.len(), 0usize..PORTS.len()), 1..8),
    ) {
        let actions = ["read", "write", "delete", "metadata"];
        let fs: Vec<String> = grants.iter().map(|(a, p)| format!("{{ action = \"{}\", path = \"{}\" }}", actions[*a], PATHS[*p])).collect();
        let nets: Vec<String> = net.iter().map(|(h, p)| format!("{{ action = \"connect\", domain = \"{}\", port = {} }}", HOSTS[*h], PORTS[*p])).collect();
        let manifest = manifest_text(&format!("filesystem = [{}]\nnetwork = [{}]\n", fs.join(", "), nets.join(", ")));
        let mut policy = String::from("[filesystem]\ndeny = [");
        for (a, p) in &denials {
            policy.push_str(&format!("{{ path = \"{}\", actions = [\"{}\"] }},", PATHS[*p], actions[*a]));
        }
        policy.push_str("]\n");
        if let Some(r) = &roots {
            let list: Vec<String> = r.iter().map(|p| format!("\"{}\"", PATHS[*p])).collect();
            policy.push_str(&format!("roots = [{}]\n", list.join(", ")));
        }
        policy.push_str("[network]\ndeny = [");
        for c in &cidrs {
            policy.push_str(&format!("{{ cidr = \"{}\" }},", CIDRS[*c]));
        }
        policy.push_str("]\n");
        if let Some(p) = &ports {
            let list: Vec<String> = p.iter().map(|i| PORTS[*i].to_string()).collect();
            policy.push_str(&format!("ports = [{}]\n", list.join(", ")));
        }
        let mut sources = Sources::new();
        let set = PolicySet::from_texts(&mut sources, &[("p.toml", &policy)]).unwrap();
        let m = Manifest::parse_in(&mut sources, "Component.toml", &manifest).manifest.unwrap();
        let without = m.compile(&Default::default());
        let with = set.effective(&m, &Default::default());
        let fs_actions = [FsAction::Read, FsAction::Write, FsAction::Delete, FsAction::Metadata];
        for (a, p) in &fs_requests {
            let r = Request::Fs { action: fs_actions[*a], path: REQ_PATHS[*p] };
            let d = with.decide(&r);
            prop_assert!(!d.allowed || without.decide(&r).allowed, "{r:?}");
            prop_assert_eq!(d.allowed, without.decide(&r).allowed && d.denied_by.is_none());
        }
        for (h, p) in &net_requests {
            let r = Request::Net { action: NetAction::Connect, host: Some(REQ_HOSTS[*h]), port: Some(PORTS[*p]) };
            let d = with.decide(&r);
            prop_assert!(!d.allowed || without.decide(&r).allowed, "{r:?}");
        }
    }
}

const PATHS: &[&str] = &[
    "/**",
    "/data/**",
    "/data/out/*",
    "/etc/shadow",
    "/data/*.csv",
    "/tmp/**",
    "/etc/**",
];
const REQ_PATHS: &[&str] = &[
    "/data/a.csv",
    "/data/out/x",
    "/data/out/../../etc/shadow",
    "/etc/shadow",
    "/tmp/x/y",
    "/data",
    "relative",
    "/etc/./hosts",
];
const HOSTS: &[&str] = &["**", "api.example.com", "*.example.com", "127.0.0.1", "169.254.169.254"];
const REQ_HOSTS: &[&str] = &[
    "API.example.com.",
    "x.example.com",
    "0x7f.1",
    "169.254.169.254",
    "[::1]",
    "example.org",
    "0.0.0.0",
    "[::]",
];
const CIDRS: &[&str] = &["127.0.0.0/8", "169.254.0.0/16", "::1/128", "0.0.0.0/0"];
const PORTS: &[u16] = &[80, 443, 8080];

/// Hostile nesting in a policy is refused before the recursive TOML structures are built.
#[test]
fn deeply_nested_policy_is_refused() {
    for depth in [33usize, 100_000] {
        let text = format!(
            "[manifest]\nrequire = {}\"x\"{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let mut sources = Sources::new();
        let err = PolicySet::from_texts(&mut sources, &[("deep.toml", &text)]).expect_err("too deep");
        let codes: Vec<&str> = err.diagnostics.iter().map(|d| d.rule.code).collect();
        assert_eq!(codes, ["POL002"], "depth {depth}");
        assert!(
            err.diagnostics[0].message.contains("nested"),
            "{}",
            err.diagnostics[0].message
        );
    }
}
