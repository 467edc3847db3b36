//! Organisation policies: every rule kind in violation and in compliance (snapshots of the
//! rendered findings), waivers with an injected date, composition and precedence, the policy
//! file's own diagnostics, and the property that a policy only takes away.

mod common;

use std::path::PathBuf;

use airssys_wasm::diagnostics::{Diagnostic, Level, Levels, Severity, Sources, registry};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};
use airssys_wasm::policy::{FsAction, NetAction, Request, Signal};
use common::fixtures::{TODAY, manifest_text, policy_cases, run_policy};
use proptest::prelude::*;

/// Every case file of tests/fixtures/policies/cases: a policy, a manifest's permissions (and
/// the imports), in violation of one rule kind or in compliance with it.
#[test]
fn every_rule_kind_in_violation_and_compliance() {
    let cases = policy_cases();
    assert!(cases.len() >= 29, "{} cases", cases.len());
    for case in cases {
        let (codes, rendered) = case.run();
        assert_eq!(codes, case.expect, "{}:\n{rendered}", case.name);
        let (policy, permissions) = (&case.policy, &case.permissions);
        let snapshot = format!("policy:\n{policy}\nmanifest [permissions]:\n{permissions}\nfindings:\n{rendered}");
        common::with_snapshots(|| insta::assert_snapshot!(case.name.as_str(), snapshot));
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
    run_policy(policy, permissions, &[], today)
}

#[test]
fn waivers_active_expired_unused() {
    let active = waiver("code = \"POL003\"\n", "2025-06-15");
    let (codes, out) = run_owned(&active, ETC, TODAY);
    assert!(codes.is_empty(), "valid through its expiry day:\n{out}");
    assert!(
        out.contains("waived: POL003 denied-path at Component.toml:6: ")
            && out
                .contains("(reason: reads /etc/hosts; fix tracked in OPS-12; waiver at org.toml:4, until 2025-06-15)"),
        "the waived finding is shown with its waiver:\n{out}"
    );

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
    let (codes, out) = run_policy(
        policy,
        "",
        &[
            "airssys:ext-process/lifecycle.spawn",
            "airssys:ext-process/lifecycle.spawn-shell",
        ],
        TODAY,
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
    let bad = std::fs::read_to_string(fixture("invalid/bad.toml")).unwrap();
    let mut sources = Sources::new();
    let e = PolicySet::from_texts(&mut sources, &[("bad.toml", &bad)]).unwrap_err();
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
    let broken = std::fs::read_to_string(fixture("invalid/broken.toml")).unwrap();
    let e = PolicySet::from_texts(&mut sources, &[("broken.toml", &broken)]).unwrap_err();
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

/// A waiver for a component the run did not check is not known to be stale: a note (which
/// `warnings = "deny"` leaves alone), still pointing at the waiver.
#[test]
fn a_waiver_for_another_component_is_a_note() {
    let other = waiver("code = \"POL003\"\n", "2025-06-15").replace("\"reporter\"", "\"exporter\"");
    let mut sources = airssys_wasm::diagnostics::Sources::new();
    let set = airssys_wasm::orgpolicy::PolicySet::from_texts(&mut sources, &[("org.toml", &other)]).unwrap();
    let m = airssys_wasm::manifest::Manifest::parse_in(
        &mut sources,
        "Component.toml",
        &common::fixtures::manifest_text(ETC),
    )
    .into_valid()
    .unwrap();
    let found = set.check_manifest(&m, TODAY);
    let unused: Vec<_> = found.iter().filter(|d| d.rule.code == "POL015").collect();
    assert_eq!(unused.len(), 1, "{}", common::render(&found, &sources));
    assert_eq!(unused[0].severity, airssys_wasm::diagnostics::Severity::Note);
    assert!(unused[0].message.contains("applies to no component this run checked"));
    assert!(
        found.iter().any(|d| d.rule.code == "POL003" && d.waived.is_none()),
        "not waived for `reporter`"
    );
}
