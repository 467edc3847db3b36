//! Property tests across the policy core: the compiled decision agrees with a plain linear scan
//! of the grants (each grant's own `matches`), adding a grant never takes a permission away, and
//! a request decides like its normal form. Also the shared input strategies, which draw from
//! small alphabets so that random paths and hosts actually collide with random grants.

use proptest::prelude::*;

use super::path::expand_home;
use super::*;

/// A path of up to six segments from a small alphabet, with `.`, `..` and empty segments thrown
/// in so that normalisation has work to do.
pub(crate) fn messy_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        4 => "[abx]{1,2}",
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
        1 => Just("data".to_owned()),
        1 => Just("u".to_owned()),
    ];
    let root = prop_oneof![4 => Just("/"), 1 => Just("~/"), 1 => Just("/home/")];
    (root, prop::collection::vec(segment, 0..6)).prop_map(|(root, segs)| format!("{root}{}", segs.join("/")))
}

/// A grant pattern over the alphabet of [`messy_path`].
pub(crate) fn pattern() -> impl Strategy<Value = PathPattern> {
    let segment = prop_oneof![
        4 => "[abx]{1,2}",
        2 => Just("*".to_owned()),
        2 => Just("**".to_owned()),
        1 => "[abx]?\\*[abx]{0,2}",
        1 => Just("data".to_owned()),
    ];
    let root = prop_oneof![4 => Just("/"), 1 => Just("~/"), 1 => Just("/home/u/")];
    (root, prop::collection::vec(segment, 0..4))
        .prop_map(|(root, segs)| PathPattern::parse(&format!("{root}{}", segs.join("/"))).expect("strategy is valid"))
}

fn fs_action() -> impl Strategy<Value = FsAction> {
    prop_oneof![Just(FsAction::Read), Just(FsAction::Write)]
}

fn fs_grant() -> impl Strategy<Value = FsGrant> {
    (fs_action(), pattern()).prop_map(|(action, pattern)| FsGrant { action, pattern })
}

const HOSTS: &[&str] = &[
    "a.x.com",
    "x.com",
    "b.a.x.com",
    "API.X.COM.",
    "127.0.0.1",
    "0x7f.1",
    "::ffff:127.0.0.1",
    "y.org",
    "bad host",
    "xn--bcher-kva.ch",
    "bücher.ch",
];
const HOST_PATTERNS: &[&str] = &[
    "a.x.com",
    "*.x.com",
    "x.com",
    "**",
    "127.0.0.1",
    "*.org",
    "*.a.x.com",
    "bücher.ch",
];

fn net_action() -> impl Strategy<Value = NetAction> {
    prop_oneof![
        Just(NetAction::Connect),
        Just(NetAction::Resolve),
        Just(NetAction::Bind)
    ]
}

fn port() -> impl Strategy<Value = Option<u16>> {
    prop::option::of(prop_oneof![Just(80u16), Just(443), Just(8080)])
}

fn net_grant() -> impl Strategy<Value = NetGrant> {
    let host = prop::option::of(prop::sample::select(HOST_PATTERNS));
    (net_action(), host, port()).prop_map(|(action, host, port)| NetGrant {
        action,
        host: host.map(|h| HostPattern::parse(h).expect("strategy is valid")),
        port,
    })
}

const EXES: &[&str] = &[
    "/usr/bin/git",
    "/bin/sh",
    "/usr/bin/../bin/git",
    "git",
    "./sh",
    "~/bin/x",
];
const SIGNALS: &[Signal] = &[Signal::Term, Signal::Kill, Signal::Hup];

fn proc_grant() -> impl Strategy<Value = ProcGrant> {
    prop_oneof![
        prop::sample::select(&EXES[..2]).prop_map(|e| ProcGrant::spawn(e).expect("valid")),
        prop::sample::select(SIGNALS).prop_map(|signal| ProcGrant::Signal { signal }),
    ]
}

fn grant_set() -> impl Strategy<Value = GrantSet> {
    (
        prop::collection::vec(fs_grant(), 0..10),
        prop::collection::vec(net_grant(), 0..6),
        prop::collection::vec(proc_grant(), 0..4),
    )
        .prop_map(|(filesystem, network, process)| GrantSet {
            filesystem,
            network,
            process,
        })
}

/// A request, owning its strings (a `Request` borrows them).
#[derive(Clone, Debug)]
enum OwnedRequest {
    Fs(FsAction, String),
    Net(NetAction, Option<&'static str>, Option<u16>),
    Spawn(&'static str),
    Signal(Signal),
}

impl OwnedRequest {
    fn as_request(&self) -> Request<'_> {
        match self {
            OwnedRequest::Fs(action, path) => Request::Fs { action: *action, path },
            OwnedRequest::Net(action, host, port) => Request::Net {
                action: *action,
                host: *host,
                port: *port,
            },
            OwnedRequest::Spawn(executable) => Request::Spawn { executable },
            OwnedRequest::Signal(signal) => Request::Signal { signal: *signal },
        }
    }
}

fn request() -> impl Strategy<Value = OwnedRequest> {
    prop_oneof![
        4 => (fs_action(), messy_path()).prop_map(|(a, p)| OwnedRequest::Fs(a, p)),
        2 => (net_action(), prop::option::of(prop::sample::select(HOSTS)), port())
            .prop_map(|(a, h, p)| OwnedRequest::Net(a, h, p)),
        1 => prop::sample::select(EXES).prop_map(OwnedRequest::Spawn),
        1 => prop::sample::select(SIGNALS).prop_map(OwnedRequest::Signal),
    ]
}

fn env() -> impl Strategy<Value = Env> {
    prop_oneof![
        Just(Env::default()),
        Just(Env {
            home: Some("/home/u".into())
        })
    ]
}

/// The decision by definition: the first grant, in manifest order, whose own `matches` says
/// yes. The compiled indices must always give the same answer.
fn reference(set: &GrantSet, request: &Request<'_>, env: &Env) -> Decision {
    let home = env.home.as_deref();
    let found = |domain, index: Option<usize>| {
        index.map_or(Decision::DENIED, |index| {
            Decision::allowed_by(GrantRef { domain, index })
        })
    };
    match *request {
        Request::Fs { action, path } => {
            let Ok(normal) = normalize_path(path) else {
                return Decision::DENIED;
            };
            let full = expand_home(normal.into(), home);
            let hit = set.filesystem.iter().position(|g| {
                let pattern = home.map_or(g.pattern.clone(), |h| g.pattern.with_home(h));
                g.action == action && pattern.matches_normal(&full)
            });
            found(Domain::Filesystem, hit)
        }
        Request::Net { action, host, port } => {
            let host = match host.map(normalize_host).transpose() {
                Ok(host) => host,
                Err(_) => return Decision::DENIED,
            };
            let hit = set.network.iter().position(|g| g.matches(action, host.as_ref(), port));
            found(Domain::Network, hit)
        }
        Request::Spawn { executable } => {
            let full = normalize_path(executable).map(|n| expand_home(n.into(), home).into_owned());
            let hit = set.process.iter().position(|g| match (g, &full) {
                (ProcGrant::Spawn { executable }, Ok(full)) => executable == full,
                _ => false,
            });
            found(Domain::Process, hit)
        }
        Request::Signal { signal } => {
            let hit = set.process.iter().position(|g| *g == ProcGrant::Signal { signal });
            found(Domain::Process, hit)
        }
    }
}

proptest! {
    #[test]
    fn compiled_decision_matches_the_definition(set in grant_set(), req in request(), env in env()) {
        let compiled = CompiledGrants::compile(&set, &env);
        let request = req.as_request();
        prop_assert_eq!(compiled.decide(&request), reference(&set, &request, &env));
    }

    #[test]
    fn adding_a_grant_never_denies(
        set in grant_set(),
        extra_fs in fs_grant(),
        extra_net in net_grant(),
        extra_proc in proc_grant(),
        at in any::<prop::sample::Index>(),
        req in request(),
        env in env(),
    ) {
        let before = CompiledGrants::compile(&set, &env).decide(&req.as_request());
        let mut more = set.clone();
        more.filesystem.insert(at.index(more.filesystem.len() + 1), extra_fs);
        more.network.insert(at.index(more.network.len() + 1), extra_net);
        more.process.push(extra_proc);
        let after = CompiledGrants::compile(&more, &env).decide(&req.as_request());
        prop_assert!(!before.allowed || after.allowed);
    }

    #[test]
    fn requests_decide_like_their_normal_form(
        set in grant_set(), action in fs_action(), path in messy_path(), env in env(),
    ) {
        let compiled = CompiledGrants::compile(&set, &env);
        if let Ok(normal) = normalize_path(&path) {
            let raw = compiled.decide(&Request::Fs { action, path: &path });
            let clean = compiled.decide(&Request::Fs { action, path: &normal });
            prop_assert_eq!(raw, clean);
        }
    }

    #[test]
    fn paths_outside_data_never_get_data_grants(
        grants in prop::collection::vec((fs_action(), pattern()), 0..8),
        path in messy_path(),
    ) {
        let filesystem = grants
            .into_iter()
            .filter(|(_, p)| p.as_str() == "/data" || p.as_str().starts_with("/data/"))
            .map(|(action, pattern)| FsGrant { action, pattern })
            .collect();
        let compiled = CompiledGrants::compile(&GrantSet { filesystem, ..GrantSet::default() }, &Env::default());
        let inside = normalize_path(&path).is_ok_and(|n| n == "/data" || n.starts_with("/data/"));
        if !inside {
            let decision = compiled.decide(&Request::Fs { action: FsAction::Read, path: &path });
            prop_assert!(!decision.allowed);
        }
    }

    #[test]
    fn covering_grants_allow_what_they_cover(a in fs_grant(), b in fs_grant(), path in messy_path()) {
        if a.covers(&b) && b.pattern.matches(&path) {
            prop_assert!(a.action == b.action && a.pattern.matches(&path));
        }
    }

    #[test]
    fn covering_net_grants_allow_what_they_cover(
        a in net_grant(), b in net_grant(), req in request(),
    ) {
        if let OwnedRequest::Net(action, host, port) = req {
            let Ok(host) = host.map(normalize_host).transpose() else { return Ok(()) };
            if a.covers(&b) && b.matches(action, host.as_ref(), port) {
                prop_assert!(a.matches(action, host.as_ref(), port));
            }
        }
    }

    #[test]
    fn specialised_patterns_are_covered(
        a in pattern(), fill in prop::collection::vec("[abx]{1,2}", 0..3), path in messy_path(),
    ) {
        // Replace the wildcards of `a` with literals: what is left is covered by `a`.
        let mut fill = fill.into_iter().chain(std::iter::repeat("a".to_owned()));
        let specialised: Vec<String> = a
            .as_str()
            .split('/')
            .map(|s| match s {
                "**" => fill.next().unwrap_or_default(),
                s if s.contains('*') => s.replace('*', &fill.next().unwrap_or_default()),
                s => s.to_owned(),
            })
            .collect();
        if let Ok(b) = PathPattern::parse(&specialised.join("/")) {
            prop_assert!(a.covers(&b), "{} should cover {}", a, b);
            prop_assert!(!b.matches(&path) || a.matches(&path));
        }
    }
}
