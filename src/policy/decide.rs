//! The decision: a request against grants compiled once. Static analysis and the runtime both
//! ask [`CompiledGrants::decide`], so they cannot disagree. A request is normalised first; one
//! that cannot be (a relative path, a host that is not a host) is denied without a reason, and
//! the answer names the lowest-index matching grant so that audit logs are deterministic.

use std::borrow::Cow;

use super::action::{Action, Domain, FsAction, NetAction, ProcAction};
use super::fs_index::{FsIndex, FsIndexBuilder};
use super::grant::{GrantRef, GrantSet, ProcGrant, normalize_executable};
use super::net_host::{HostView, normal_view, normalize_host, unspecified_reaches};
use super::net_index::NetIndex;
use super::path::{expand_home, normalize_cow, normalize_path};
use super::signal::Signal;
use super::{Map, NONE};

/// Something a component asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request<'a> {
    /// A filesystem operation on a path as the guest wrote it.
    Fs {
        /// The operation.
        action: FsAction,
        /// The path, absolute or `~/`; normalised before matching.
        path: &'a str,
    },
    /// A network operation.
    Net {
        /// The operation.
        action: NetAction,
        /// The host name or IP literal, when the operation has one.
        host: Option<&'a str>,
        /// The port, when the operation has one.
        port: Option<u16>,
    },
    /// Starting a process.
    Spawn {
        /// The executable path, which must be absolute; there is no PATH lookup.
        executable: &'a str,
    },
    /// Sending a signal.
    Signal {
        /// The signal.
        signal: Signal,
    },
}

impl Request<'_> {
    /// The action the request needs a grant for.
    pub fn action(&self) -> Action {
        match self {
            Request::Fs { action, .. } => Action::Fs(*action),
            Request::Net { action, .. } => Action::Net(*action),
            Request::Spawn { .. } => Action::Proc(ProcAction::Spawn),
            Request::Signal { .. } => Action::Proc(ProcAction::Signal),
        }
    }
}

/// The verdict on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The grant that allows it: the lowest index among all matching grants. `None` when denied.
    pub because: Option<GrantRef>,
}

impl Decision {
    /// The verdict when no grant matches.
    pub const DENIED: Decision = Decision {
        allowed: false,
        because: None,
    };

    /// Allowed because of `grant`.
    pub fn allowed_by(grant: GrantRef) -> Self {
        Decision {
            allowed: true,
            because: Some(grant),
        }
    }

    fn from_slot(domain: Domain, slot: u32) -> Self {
        if slot == NONE {
            return Decision::DENIED;
        }
        Decision::allowed_by(GrantRef {
            domain,
            index: slot as usize,
        })
    }
}

/// What the decision needs to know about the machine it decides for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// The home directory that `~/` stands for. When it is `None` (or not an absolute path),
    /// `~/` grants only match requests that are literally written under `~/`.
    pub home: Option<String>,
}

/// A [`GrantSet`] compiled for fast decisions: build it once per component, then share it
/// (it is `Send + Sync`) between every host call.
#[derive(Clone, Debug)]
pub struct CompiledGrants {
    home: Option<String>,
    fs: FsIndex,
    net: NetIndex,
    spawn: Map<Box<str>, u32>,
    /// Lowest signal grant per signal, indexed by `Signal as usize`.
    signals: [u32; Signal::ALL.len()],
    /// Lowest grant per action, indexed by [`Action::ordinal`].
    first: [u32; Action::ALL.len()],
}

impl CompiledGrants {
    /// Compiles the grants. Grants that do not normalise (only possible when built by hand,
    /// not through the parsers) are left out, so they allow nothing.
    pub fn compile(grants: &GrantSet, env: &Env) -> Self {
        let home = env.home.as_deref().and_then(|h| normalize_path(h).ok());
        let home = home.filter(|h| h.starts_with('/'));
        let mut compiled = CompiledGrants {
            fs: compile_fs(grants, home.as_deref()),
            net: NetIndex::default(),
            spawn: Map::default(),
            signals: [NONE; Signal::ALL.len()],
            first: [NONE; Action::ALL.len()],
            home,
        };
        compiled.compile_net(grants);
        compiled.compile_proc(grants);
        compiled.compile_first(grants);
        compiled
    }

    fn compile_net(&mut self, grants: &GrantSet) {
        for (index, grant) in indexed(&grants.network) {
            self.net.add(index, grant);
        }
    }

    fn compile_proc(&mut self, grants: &GrantSet) {
        for (index, grant) in indexed(&grants.process) {
            match grant {
                ProcGrant::Spawn { executable } => {
                    let Ok(exe) = normalize_executable(executable) else {
                        continue;
                    };
                    let slot = self.spawn.entry(exe.into()).or_insert(NONE);
                    *slot = (*slot).min(index);
                }
                ProcGrant::Signal { signal } => {
                    let slot = &mut self.signals[*signal as usize];
                    *slot = (*slot).min(index);
                }
            }
        }
    }

    fn compile_first(&mut self, grants: &GrantSet) {
        for (grant, action) in grants.actions() {
            let Ok(index) = u32::try_from(grant.index) else {
                continue;
            };
            let slot = &mut self.first[action.ordinal()];
            *slot = (*slot).min(index);
        }
    }

    /// Decides a request: allowed, and by which grant, or denied.
    #[must_use = "a decision that is not acted on guards nothing"]
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        let (domain, slot) = match *request {
            Request::Fs { action, path } => (Domain::Filesystem, self.decide_fs(action, path)),
            Request::Net { action, host, port } => (Domain::Network, self.decide_net(action, host, port)),
            Request::Spawn { executable } => (Domain::Process, self.decide_spawn(executable)),
            Request::Signal { signal } => (Domain::Process, self.signals[signal as usize]),
        };
        Decision::from_slot(domain, slot)
    }

    fn decide_fs(&self, action: FsAction, path: &str) -> u32 {
        // The index checks normality as it walks, so the usual request is read once.
        if self.home.is_some() && path.starts_with('~') {
            return self.decide_fs_slow(action, path);
        }
        self.fs
            .lookup(action, path)
            .unwrap_or_else(|_| self.decide_fs_slow(action, path))
    }

    /// A path to normalise or to expand with the home directory first.
    #[cold]
    fn decide_fs_slow(&self, action: FsAction, path: &str) -> u32 {
        let Ok(normal) = normalize_cow(path) else {
            return NONE;
        };
        let full = expand_home(normal, self.home.as_deref());
        // A normal path is never refused; if it were, denying is the safe answer.
        self.fs.lookup(action, &full).unwrap_or(NONE)
    }

    fn decide_net(&self, action: NetAction, host: Option<&str>, port: Option<u16>) -> u32 {
        match host {
            None => self.net.lookup(action, None, port),
            Some(raw) => match normal_view(raw) {
                Some(view) => self.lookup_host(action, view, port),
                None => self.decide_unusual_host(action, raw, port),
            },
        }
    }

    /// A host that needs the full normalisation: upper case, IDNA, a trailing dot, odd IP forms.
    #[cold]
    fn decide_unusual_host(&self, action: NetAction, raw: &str, port: Option<u16>) -> u32 {
        match normalize_host(raw) {
            Ok(host) => self.lookup_host(action, HostView::from(&host), port),
            Err(_) => NONE,
        }
    }

    /// A normal host; a connect to an unspecified address (`0.0.0.0`, `::`) is also decided
    /// as the loopback address it reaches ([`unspecified_reaches`]).
    fn lookup_host(&self, action: NetAction, view: HostView<'_>, port: Option<u16>) -> u32 {
        let slot = self.net.lookup(action, Some(view), port);
        match view {
            HostView::Ip(ip) if action == NetAction::Connect => match unspecified_reaches(ip) {
                Some(loopback) => slot.min(self.net.lookup(action, Some(HostView::Ip(loopback)), port)),
                None => slot,
            },
            _ => slot,
        }
    }

    /// Only an absolute executable can match; a relative one would go through PATH lookup,
    /// which the grant did not name.
    fn decide_spawn(&self, executable: &str) -> u32 {
        let Ok(normal) = normalize_cow(executable) else {
            return NONE;
        };
        let full = expand_home(normal, self.home.as_deref());
        if !full.starts_with('/') {
            return NONE;
        }
        self.spawn.get(&*full).copied().unwrap_or(NONE)
    }

    /// The lowest-index grant of `action`, if the manifest has one: for static checks, which
    /// know an import needs an action but not which paths or hosts it will touch.
    pub fn any_grant(&self, action: Action) -> Option<GrantRef> {
        let slot = self.first[action.ordinal()];
        let domain = action.domain();
        (slot != NONE).then_some(GrantRef {
            domain,
            index: slot as usize,
        })
    }
}

/// `~` patterns become absolute when the home is known; otherwise they stay under `~`.
fn compile_fs(grants: &GrantSet, home: Option<&str>) -> FsIndex {
    let mut builder = FsIndexBuilder::new();
    for (index, grant) in indexed(&grants.filesystem) {
        let pattern = match home {
            Some(home) => Cow::Owned(grant.pattern.with_home(home)),
            None => Cow::Borrowed(&grant.pattern),
        };
        builder.add(index, grant.action, &pattern);
    }
    builder.build()
}

/// The grants with their indices as `u32`; a grant past `u32::MAX - 1` cannot be represented
/// and is skipped (fail closed), though no manifest gets anywhere near that.
fn indexed<T>(grants: &[T]) -> impl Iterator<Item = (u32, &T)> {
    grants.iter().enumerate().map_while(|(i, g)| {
        let index = u32::try_from(i).ok().filter(|&i| i != NONE)?;
        Some((index, g))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::grant::testing::{fs, net};

    fn read(path: &str) -> Request<'_> {
        Request::Fs {
            action: FsAction::Read,
            path,
        }
    }

    fn by(domain: Domain, index: usize) -> Decision {
        Decision::allowed_by(GrantRef { domain, index })
    }

    fn sample() -> GrantSet {
        GrantSet {
            filesystem: vec![
                fs(FsAction::Read, "/data/**"),
                fs(FsAction::Write, "/data/out/*"),
                fs(FsAction::Read, "~/notes/*.md"),
                fs(FsAction::Read, "/data/x"),
            ],
            network: vec![
                net(NetAction::Connect, Some("api.example.com"), Some(443)),
                net(NetAction::Resolve, Some("*.example.com"), None),
            ],
            process: vec![
                ProcGrant::spawn("/usr/bin/git").unwrap(),
                ProcGrant::Signal { signal: Signal::Term },
            ],
        }
    }

    #[test]
    fn filesystem_decisions() {
        let c = CompiledGrants::compile(&sample(), &Env::default());
        let fs = |i| by(Domain::Filesystem, i);
        assert_eq!(c.decide(&read("/data/x")), fs(0));
        assert_eq!(c.decide(&read("/data")), fs(0));
        assert_eq!(c.decide(&read("/data/../etc/passwd")), Decision::DENIED);
        assert_eq!(c.decide(&read("/etc/../data/a")), fs(0));
        assert_eq!(c.decide(&read("data/x")), Decision::DENIED);
        assert_eq!(c.decide(&read("/data/x\0")), Decision::DENIED);
        assert_eq!(c.decide(&read("")), Decision::DENIED);
        let write = |path| Request::Fs {
            action: FsAction::Write,
            path,
        };
        assert_eq!(c.decide(&write("/data/out/a")), fs(1));
        assert_eq!(c.decide(&write("/data/out/a/b")), Decision::DENIED);
        assert_eq!(c.decide(&write("/data/out")), Decision::DENIED);
        assert_eq!(c.decide(&write("/data/x")), Decision::DENIED);
    }

    #[test]
    fn home_grants_with_and_without_a_home() {
        let unknown = CompiledGrants::compile(&sample(), &Env::default());
        assert!(unknown.decide(&read("~/notes/a.md")).allowed);
        assert!(!unknown.decide(&read("/home/u/notes/a.md")).allowed);
        assert!(!unknown.decide(&read("~/../notes/a.md")).allowed);
        let env = Env {
            home: Some("/home/u/".into()),
        };
        let known = CompiledGrants::compile(&sample(), &env);
        assert!(known.decide(&read("/home/u/notes/a.md")).allowed);
        assert!(known.decide(&read("~/notes/a.md")).allowed);
        assert!(!known.decide(&read("/home/u/notes/a.txt")).allowed);
        let relative_home = Env {
            home: Some("home/u".into()),
        };
        let ignored = CompiledGrants::compile(&sample(), &relative_home);
        assert!(ignored.decide(&read("~/notes/a.md")).allowed);
        assert!(!ignored.decide(&read("/home/u/notes/a.md")).allowed);
    }

    #[test]
    fn network_decisions() {
        let c = CompiledGrants::compile(&sample(), &Env::default());
        let connect = |host, port| Request::Net {
            action: NetAction::Connect,
            host,
            port,
        };
        let resolve = |host| Request::Net {
            action: NetAction::Resolve,
            host,
            port: None,
        };
        assert_eq!(
            c.decide(&connect(Some("api.example.com"), Some(443))),
            by(Domain::Network, 0)
        );
        assert_eq!(
            c.decide(&connect(Some("API.Example.COM."), Some(443))),
            by(Domain::Network, 0)
        );
        assert_eq!(c.decide(&connect(Some("api.example.com"), Some(80))), Decision::DENIED);
        assert_eq!(c.decide(&connect(Some("bad host"), Some(443))), Decision::DENIED);
        assert_eq!(c.decide(&resolve(Some("a.example.com"))), by(Domain::Network, 1));
        assert_eq!(c.decide(&resolve(Some("example.com"))), Decision::DENIED);
        assert_eq!(c.decide(&resolve(None)), Decision::DENIED);
    }

    #[test]
    fn process_decisions() {
        let c = CompiledGrants::compile(&sample(), &Env::default());
        let spawn = |executable| Request::Spawn { executable };
        assert_eq!(c.decide(&spawn("/usr/bin/git")), by(Domain::Process, 0));
        assert_eq!(c.decide(&spawn("/usr/local/../bin/git")), by(Domain::Process, 0));
        assert_eq!(c.decide(&spawn("git")), Decision::DENIED);
        assert_eq!(c.decide(&spawn("./git")), Decision::DENIED);
        assert_eq!(c.decide(&spawn("/usr/bin/git2")), Decision::DENIED);
        let signal = |signal| Request::Signal { signal };
        assert_eq!(c.decide(&signal(Signal::Term)), by(Domain::Process, 1));
        assert_eq!(c.decide(&signal(Signal::Kill)), Decision::DENIED);
    }

    #[test]
    fn hand_built_spawn_grants_are_normalised() {
        let set = GrantSet {
            process: vec![
                ProcGrant::Spawn {
                    executable: "/usr//bin/./sh".into(),
                },
                ProcGrant::Spawn {
                    executable: "sh".into(),
                },
            ],
            ..GrantSet::default()
        };
        let c = CompiledGrants::compile(&set, &Env::default());
        assert_eq!(
            c.decide(&Request::Spawn {
                executable: "/usr/bin/sh"
            }),
            by(Domain::Process, 0)
        );
        assert!(!c.decide(&Request::Spawn { executable: "sh" }).allowed);
    }

    #[test]
    fn any_grant_is_the_lowest_of_the_action() {
        let c = CompiledGrants::compile(&sample(), &Env::default());
        let first = |a: Action| c.any_grant(a).map(|g| (g.domain, g.index));
        assert_eq!(first(FsAction::Read.into()), Some((Domain::Filesystem, 0)));
        assert_eq!(first(FsAction::Write.into()), Some((Domain::Filesystem, 1)));
        assert_eq!(first(FsAction::Delete.into()), None);
        assert_eq!(first(NetAction::Resolve.into()), Some((Domain::Network, 1)));
        assert_eq!(first(ProcAction::Signal.into()), Some((Domain::Process, 1)));
        assert_eq!(first(NetAction::Bind.into()), None);
    }

    #[test]
    fn empty_grants_deny_everything() {
        let c = CompiledGrants::compile(&GrantSet::default(), &Env::default());
        assert_eq!(c.decide(&read("/")), Decision::DENIED);
        assert_eq!(c.decide(&Request::Signal { signal: Signal::Hup }), Decision::DENIED);
        assert_eq!(c.any_grant(FsAction::Read.into()), None);
    }

    #[test]
    fn compiled_grants_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledGrants>();
    }
}
