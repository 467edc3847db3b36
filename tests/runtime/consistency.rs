//! The runtime and the static decision never disagree: for 1,200 generated (manifest, request)
//! pairs, the verdict of the operation performed through a guest (denied = the operation's
//! `permission-denied` error, and the audit line says so) equals `explain-request`'s verdict
//! (`Effective::decide`, what `check` uses).
//!
//! Requests are chosen so that an allowed one has no effect on this machine: paths live under
//! a directory that does not exist, executables do not exist, connections go to closed
//! loopback ports, names resolve through /etc/hosts only.

use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::policy::{Env, FsAction, NetAction, Request};
use wasmtime::component::Val;

use crate::guest::{Proxy, is_denied, manifest, s};
use crate::support::Rng;

const ROOT: &str = "/nonexistent-airssys-consistency";
const FS_GRANTS: &[&str] = &[
    "/a/**",
    "/a/*",
    "/a/b/f.txt",
    "/*/x.log",
    "/a/b/*.csv",
    "/c",
    "/c/**",
    "/**",
];
const FS_PATHS: &[&str] = &[
    "/a",
    "/a/f.txt",
    "/a/b/f.txt",
    "/a/b/g.csv",
    "/a/b/c/d",
    "/b/x.log",
    "/c",
    "/c/../a/f.txt",
    "/a/./b//f.txt",
    "/a/../../etc/passwd",
    "/A/f.txt",
    "/c/d/e",
    "/a/b/f.txt/",
    "/x.log",
    "relative/path",
    "/a/b/\0f.txt",
];
const FS_ACTIONS: &[FsAction] = &[FsAction::Read, FsAction::Write, FsAction::Delete, FsAction::Metadata];
const HOSTS: &[&str] = &["127.0.0.1", "::1", "localhost", "2130706433", "0x7f000001", "127.0.0.2"];
const DOMAINS: &[&str] = &["127.0.0.1", "::1", "localhost", "**", "*.example.com", "127.0.0.2"];
/// Closed loopback ports (nothing listens on them in a test sandbox).
const PORTS: &[u16] = &[1, 9, 47_001];
const EXECUTABLES: &[&str] = &[
    "/nonexistent-airssys/bin/tool",
    "/nonexistent-airssys/bin/other",
    "tool",
    "/nonexistent-airssys/bin/../bin/tool",
];
const SIGNALS: &[&str] = &["SIGCONT", "SIGWINCH", "SIGURG", "SIGCHLD"];

fn fs_action(a: FsAction) -> &'static str {
    match a {
        FsAction::Read => "read",
        FsAction::Write => "write",
        FsAction::Delete => "delete",
        FsAction::Metadata => "metadata",
    }
}

/// A random manifest: some grants of each domain, plus a spawn grant for /bin/sleep (the child
/// that signal requests go to). Also returns requests written after its grants (a path inside
/// a granted pattern, a granted host and port, ...), so that allowed requests are as common as
/// denied ones; whether each is really allowed is still for the decision to say.
fn manifest_text(rng: &mut Rng) -> (String, Vec<Case>) {
    let mut hints = Vec::new();
    let mut fs = Vec::new();
    for _ in 0..rng.next() % 5 {
        let action = *rng.pick(FS_ACTIONS);
        let pattern = rng.pick(FS_GRANTS);
        fs.push(format!(
            "{{ action = \"{}\", path = \"{ROOT}{pattern}\" }}",
            fs_action(action)
        ));
        let inside = pattern.replace("**", "b/f.txt").replace('*', "f");
        hints.push(Case::Fs(action, format!("{ROOT}{inside}")));
    }
    let mut net = Vec::new();
    for _ in 0..rng.next() % 5 {
        let domain = rng.pick_str(DOMAINS);
        let port = *rng.pick(PORTS);
        // Names that would need DNS are asked as a loopback literal instead.
        let host = if domain.contains('*') { "127.0.0.1" } else { domain };
        net.push(match rng.next() % 3 {
            0 => {
                hints.push(Case::Connect(host, port));
                format!("{{ action = \"connect\", domain = \"{domain}\", port = {port} }}")
            }
            1 => {
                hints.push(Case::Resolve(host));
                format!("{{ action = \"resolve\", domain = \"{domain}\" }}")
            }
            _ => {
                hints.push(Case::Bind(port));
                format!("{{ action = \"bind\", port = {port} }}")
            }
        });
    }
    let mut process = vec!["{ action = \"spawn\", executable = \"/bin/sleep\" }".to_string()];
    if rng.chance(50) {
        let executable = rng.pick_str(&EXECUTABLES[..2]);
        hints.push(Case::Spawn(executable));
        process.push(format!("{{ action = \"spawn\", executable = \"{executable}\" }}"));
    }
    for _ in 0..rng.next() % 3 {
        let signal = rng.pick_str(SIGNALS);
        hints.push(Case::Signal(signal));
        process.push(format!("{{ action = \"signal\", signal = \"{signal}\" }}"));
    }
    let list = |v: &[String]| format!("[{}]", v.join(", "));
    let text = format!(
        "[component]\nname = \"consistency\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = {}\nnetwork = {}\nprocess = {}\n",
        list(&fs),
        list(&net),
        list(&process)
    );
    (text, hints)
}

/// One request: what the static decision is asked, and the call that makes the runtime ask it.
#[derive(Clone, Debug)]
enum Case {
    Fs(FsAction, String),
    Connect(&'static str, u16),
    Resolve(&'static str),
    Bind(u16),
    Spawn(&'static str),
    Signal(&'static str),
}

/// Half the time a request written after a grant, otherwise any request.
fn case(rng: &mut Rng, hints: &[Case]) -> Case {
    if !hints.is_empty() && rng.chance(50) {
        return rng.pick(hints).clone();
    }
    match rng.next() % 10 {
        0..=3 => Case::Fs(*rng.pick(FS_ACTIONS), format!("{ROOT}{}", rng.pick(FS_PATHS))),
        4 | 5 => Case::Connect(rng.pick_str(HOSTS), *rng.pick(PORTS)),
        6 => Case::Resolve(rng.pick_str(&["localhost", "127.0.0.1", "::1"])),
        7 => Case::Bind(*rng.pick(PORTS)),
        8 => Case::Spawn(rng.pick_str(EXECUTABLES)),
        _ => Case::Signal(rng.pick_str(SIGNALS)),
    }
}

fn request(case: &Case) -> Request<'_> {
    match case {
        Case::Fs(action, path) => Request::Fs { action: *action, path },
        Case::Connect(host, port) => Request::Net {
            action: NetAction::Connect,
            host: Some(host),
            port: Some(*port),
        },
        Case::Resolve(host) => Request::Net {
            action: NetAction::Resolve,
            host: Some(host),
            port: None,
        },
        Case::Bind(port) => Request::Net {
            action: NetAction::Bind,
            host: None,
            port: Some(*port),
        },
        Case::Spawn(executable) => Request::Spawn { executable },
        Case::Signal(name) => Request::Signal {
            signal: airssys_wasm::policy::Signal::parse(name).unwrap(),
        },
    }
}

fn spawn_options(executable: &str, args: &[&str]) -> Val {
    let null = Val::Enum("null".into());
    Val::Record(vec![
        ("executable".into(), s(executable)),
        ("args".into(), Val::List(args.iter().map(|a| s(a)).collect())),
        ("env".into(), Val::List(Vec::new())),
        ("cwd".into(), Val::Option(None)),
        ("stdin".into(), null.clone()),
        ("stdout".into(), null.clone()),
        ("stderr".into(), null),
    ])
}

/// Performs the request through the guest; true when it was denied.
fn runtime_denies(p: &mut Proxy, case: &Case, child: &Val) -> bool {
    let result = match case {
        Case::Fs(FsAction::Read, path) => p.call("filesystem.read-file", &[s(path)]),
        Case::Fs(FsAction::Write, path) => p.call("metadata.set-permissions", &[s(path), Val::U32(0o644)]),
        Case::Fs(FsAction::Delete, path) => p.call("filesystem.delete-file", &[s(path)]),
        Case::Fs(FsAction::Metadata, path) => p.call("metadata.stat", &[s(path)]),
        Case::Connect(host, port) => {
            let family = if host.contains(':') { "ipv6" } else { "ipv4" };
            let socket = crate::guest::ok(p.call(
                "socket.create-socket",
                &[Val::Enum(family.into()), Val::Enum("tcp".into())],
            ));
            let address = Val::Record(vec![("host".into(), s(host)), ("port".into(), Val::U16(*port))]);
            p.call("socket.connect", &[socket, address])
        }
        Case::Resolve(host) => p.call("connection.resolve", &[s(host)]),
        Case::Bind(port) => {
            let socket = crate::guest::ok(p.call(
                "socket.create-socket",
                &[Val::Enum("ipv4".into()), Val::Enum("tcp".into())],
            ));
            let address = Val::Record(vec![("host".into(), s("127.0.0.1")), ("port".into(), Val::U16(*port))]);
            p.call("socket.bind", &[socket, address])
        }
        Case::Spawn(executable) => p.call("lifecycle.spawn", &[spawn_options(executable, &[])]),
        Case::Signal(name) => p.call(
            "signals.send-signal",
            &[child.clone(), Val::Enum(name.to_ascii_lowercase())],
        ),
    };
    is_denied(&result)
}

#[test]
fn runtime_and_static_verdicts_agree_on_1200_pairs() {
    let mut rng = Rng(0x5eed_a1b2_c3d4_e5f6);
    let policies = PolicySet::default();
    let mut pairs = 0;
    let mut denied = 0;
    for _ in 0..120 {
        let (text, hints) = manifest_text(&mut rng);
        let effective = policies.effective(&manifest(&text), &Env::default());
        let mut p = Proxy::new(&text);
        let mut resolver = Proxy::new(&text);
        let child = crate::guest::ok(p.call("lifecycle.spawn", &[spawn_options("/bin/sleep", &["30"])]));
        assert!(matches!(child, Val::Resource(_)), "{child:?}");
        for _ in 0..10 {
            let case = case(&mut rng, &hints);
            let expected = !effective.decide(&request(&case)).allowed;
            // A granted resolve binds the addresses it returns to the name in that instance (a
            // runtime-only allowance), so resolves run in an instance of their own.
            let p = if matches!(case, Case::Resolve(_)) {
                &mut resolver
            } else {
                &mut p
            };
            let before = p.audit().len();
            let got = runtime_denies(p, &case, &child);
            assert_eq!(
                got,
                expected,
                "runtime denied={got}, static denied={expected} for {:?} under\n{text}\naudit: {:#?}",
                airssys_wasm::runtime::describe_request(&request(&case)),
                &p.audit()[before..]
            );
            if expected {
                let lines = p.audit();
                assert!(
                    lines[before..].iter().any(|l| l["verdict"] == "denied"),
                    "a denial has its audit line: {:#?}",
                    &lines[before..]
                );
                denied += 1;
            }
            pairs += 1;
        }
    }
    assert_eq!(pairs, 1200);
    // Both outcomes are well represented.
    assert!((300..=900).contains(&denied), "{denied} of {pairs} denied");
}
