//! Grants as the manifest states them, after parsing: one typed value per entry of the
//! `filesystem`, `network` and `process` arrays, kept in manifest order so that an index names
//! the entry ([`GrantRef`]). Each grant knows what it matches on its own and when it covers
//! another grant; the compiled index in `compile.rs` answers the same questions faster.

use super::action::{Action, Domain, FsAction, NetAction, ProcAction};
use super::error::{PatternError, PatternErrorKind};
use super::net_host::{Host, HostPattern};
use super::path::{PathPattern, normalize_path};
use super::signal::Signal;

/// Which manifest entry: the index into the manifest's array for that domain
/// (`[[permissions.filesystem]]` and so on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantRef {
    /// The array.
    pub domain: Domain,
    /// The position in the array, from zero.
    pub index: usize,
}

/// `{ action, path }` of a filesystem grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FsGrant {
    /// What may be done.
    pub action: FsAction,
    /// Where.
    pub pattern: PathPattern,
}

impl FsGrant {
    /// Whether this grant alone allows every request that `other` allows.
    pub fn covers(&self, other: &FsGrant) -> bool {
        self.action == other.action && self.pattern.covers(&other.pattern)
    }
}

/// `{ action, domain, port }` of a network grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NetGrant {
    /// What may be done.
    pub action: NetAction,
    /// With which host; `None` allows any host (and requests without one).
    pub host: Option<HostPattern>,
    /// On which port; `None` allows any port. Ignored for `resolve`.
    pub port: Option<u16>,
}

impl NetGrant {
    /// The port that matching compares: resolving a name has nothing to do with ports.
    pub(crate) fn effective_port(&self) -> Option<u16> {
        self.port.filter(|_| self.action != NetAction::Resolve)
    }

    /// Whether a request with a normalised host matches this grant.
    pub fn matches(&self, action: NetAction, host: Option<&Host>, port: Option<u16>) -> bool {
        let host_ok = match (&self.host, host) {
            (None, _) => true,
            (Some(pattern), Some(host)) => pattern.matches(host),
            (Some(_), None) => false,
        };
        let port_ok = match self.effective_port() {
            None => true,
            Some(p) => action == NetAction::Resolve || port == Some(p),
        };
        self.action == action && host_ok && port_ok
    }

    /// Whether this grant alone allows every request that `other` allows.
    pub fn covers(&self, other: &NetGrant) -> bool {
        let host_ok = match (&self.host, &other.host) {
            (None, _) => true,
            (Some(a), Some(b)) => a.covers(b),
            (Some(_), None) => false,
        };
        let port_ok = match (self.effective_port(), other.effective_port()) {
            (None, _) => true,
            (Some(a), b) => Some(a) == b,
        };
        self.action == other.action && host_ok && port_ok
    }
}

/// One entry of the `process` array.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProcGrant {
    /// `{ action = "spawn", executable }`.
    Spawn {
        /// The normalised absolute path of the executable; build it with
        /// [`ProcGrant::spawn`] so that it is.
        executable: String,
    },
    /// `{ action = "signal", signal }`.
    Signal {
        /// The signal that may be sent.
        signal: Signal,
    },
}

impl ProcGrant {
    /// A spawn grant for a validated, normalised executable path.
    ///
    /// # Errors
    /// A wildcard (`*`, `?`, `[`, `{`), a path that is not absolute (`~/` included: there is no
    /// PATH or home lookup), `..`, NUL or an empty path.
    pub fn spawn(executable: &str) -> Result<ProcGrant, PatternError> {
        normalize_executable(executable).map(|executable| ProcGrant::Spawn { executable })
    }

    /// The action this grant allows.
    pub fn action(&self) -> ProcAction {
        match self {
            ProcGrant::Spawn { .. } => ProcAction::Spawn,
            ProcGrant::Signal { .. } => ProcAction::Signal,
        }
    }

    /// Whether this grant alone allows every request that `other` allows (process grants name
    /// one thing each, so only an equal grant does).
    pub fn covers(&self, other: &ProcGrant) -> bool {
        self == other
    }
}

/// Checks and normalises the executable of a spawn grant.
pub(crate) fn normalize_executable(input: &str) -> Result<String, PatternError> {
    if input.contains(['*', '?', '[', '{']) {
        return Err(PatternErrorKind::WildcardExecutable { input: input.into() }.into());
    }
    let not_absolute = || PatternErrorKind::ExecutableNotAbsolute { input: input.into() }.into();
    let normal = normalize_path(input).map_err(|e| match e.kind() {
        PatternErrorKind::RelativePath { .. } | PatternErrorKind::ClimbsAboveHome { .. } => not_absolute(),
        _ => e,
    })?;
    if normal.starts_with('~') {
        return Err(not_absolute());
    }
    if input.split('/').any(|s| s == "..") {
        let suggestion = Some(normal);
        return Err(PatternErrorKind::ParentInPattern {
            input: input.into(),
            suggestion,
        }
        .into());
    }
    Ok(normal)
}

/// How grants read in messages: ``read `/data/**` ``, ``connect `api.example.com:443` ``
/// (IPv6 hosts in brackets: ``connect `[::1]:80` ``), ``bind port 8080``, ``spawn `/usr/bin/git` ``.
impl std::fmt::Display for FsGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.action.as_str(), self.pattern)
    }
}

impl std::fmt::Display for NetGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = self.action.as_str();
        let host = self.host.as_ref().map(|h| match h {
            HostPattern::Exact(Host::Ip(std::net::IpAddr::V6(ip))) if self.port.is_some() => format!("[{ip}]"),
            other => other.to_string(),
        });
        match (host, self.port) {
            (Some(h), Some(p)) => write!(f, "{action} `{h}:{p}`"),
            (Some(h), None) => write!(f, "{action} `{h}`"),
            (None, Some(p)) => write!(f, "{action} port {p}"),
            (None, None) => f.write_str(action),
        }
    }
}

impl std::fmt::Display for ProcGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcGrant::Spawn { executable } => write!(f, "spawn `{executable}`"),
            ProcGrant::Signal { signal } => write!(f, "signal `{}`", signal.as_str()),
        }
    }
}

/// Every grant of one manifest, per domain, in manifest order: index `i` of a vector is the
/// grant that [`GrantRef`] `{ domain, index: i }` names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantSet {
    /// `[[permissions.filesystem]]`
    pub filesystem: Vec<FsGrant>,
    /// `[[permissions.network]]`
    pub network: Vec<NetGrant>,
    /// `[[permissions.process]]`
    pub process: Vec<ProcGrant>,
}

impl GrantSet {
    /// The actions of all grants with their references, in domain then manifest order.
    pub fn actions(&self) -> impl Iterator<Item = (GrantRef, Action)> + '_ {
        let at = |domain, index| GrantRef { domain, index };
        let fs = self.filesystem.iter().enumerate();
        let net = self.network.iter().enumerate();
        let proc = self.process.iter().enumerate();
        fs.map(move |(i, g)| (at(Domain::Filesystem, i), Action::Fs(g.action)))
            .chain(net.map(move |(i, g)| (at(Domain::Network, i), Action::Net(g.action))))
            .chain(proc.map(move |(i, g)| (at(Domain::Process, i), Action::Proc(g.action()))))
    }
}

/// Grant builders for the tests of the decision core (`grant`, `decide`).
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// A filesystem grant; `p` must parse.
    pub(in crate::policy) fn fs(action: FsAction, p: &str) -> FsGrant {
        FsGrant {
            action,
            pattern: PathPattern::parse(p).unwrap(),
        }
    }

    /// A network grant; `host` must parse.
    pub(in crate::policy) fn net(action: NetAction, host: Option<&str>, port: Option<u16>) -> NetGrant {
        NetGrant {
            action,
            host: host.map(|h| HostPattern::parse(h).unwrap()),
            port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{fs, net};
    use super::*;
    use crate::policy::net_host::normalize_host;

    #[test]
    fn spawn_grants_are_absolute_and_literal() {
        assert_eq!(
            ProcGrant::spawn("/usr/bin//git/").unwrap(),
            ProcGrant::Spawn {
                executable: "/usr/bin/git".into()
            }
        );
        let kind = |s: &str| ProcGrant::spawn(s).unwrap_err().into_kind();
        assert!(matches!(
            kind("/usr/bin/*"),
            PatternErrorKind::WildcardExecutable { .. }
        ));
        assert!(matches!(
            kind("/usr/bin/py?"),
            PatternErrorKind::WildcardExecutable { .. }
        ));
        assert!(matches!(kind("git"), PatternErrorKind::ExecutableNotAbsolute { .. }));
        assert!(matches!(kind("./git"), PatternErrorKind::ExecutableNotAbsolute { .. }));
        assert!(matches!(
            kind("~/bin/git"),
            PatternErrorKind::ExecutableNotAbsolute { .. }
        ));
        assert!(matches!(
            kind("/usr/../bin/sh"),
            PatternErrorKind::ParentInPattern { .. }
        ));
        assert!(matches!(kind(""), PatternErrorKind::EmptyPath));
        assert!(matches!(kind("/bin/\0sh"), PatternErrorKind::NulByte { .. }));
    }

    #[test]
    fn fs_covers_compares_actions() {
        assert!(fs(FsAction::Read, "/data/**").covers(&fs(FsAction::Read, "/data/x")));
        assert!(!fs(FsAction::Write, "/data/**").covers(&fs(FsAction::Read, "/data/x")));
    }

    #[test]
    fn net_covers_compares_hosts_and_ports() {
        use NetAction::*;
        let g = net(Connect, Some("*.x.com"), Some(443));
        assert!(g.covers(&net(Connect, Some("a.x.com"), Some(443))));
        assert!(!g.covers(&net(Connect, Some("a.x.com"), Some(80))));
        assert!(!g.covers(&net(Connect, Some("a.x.com"), None)));
        assert!(!g.covers(&net(Resolve, Some("a.x.com"), Some(443))));
        assert!(net(Connect, None, None).covers(&g));
        assert!(!net(Bind, Some("127.0.0.1"), Some(80)).covers(&net(Bind, None, Some(80))));
        assert!(net(Resolve, Some("x.com"), Some(1)).covers(&net(Resolve, Some("x.com"), None)));
    }

    #[test]
    fn net_matches() {
        use NetAction::*;
        let h = normalize_host("a.x.com").unwrap();
        let g = net(Connect, Some("*.x.com"), Some(443));
        assert!(g.matches(Connect, Some(&h), Some(443)));
        assert!(!g.matches(Connect, Some(&h), None));
        assert!(!g.matches(Connect, None, Some(443)));
        assert!(!g.matches(Bind, Some(&h), Some(443)));
        let r = net(Resolve, Some("a.x.com"), Some(53));
        assert!(r.matches(Resolve, Some(&h), None));
        assert!(r.matches(Resolve, Some(&h), Some(1)));
        let b = net(Bind, None, Some(8080));
        assert!(b.matches(Bind, None, Some(8080)));
        assert!(b.matches(Bind, Some(&h), Some(8080)));
    }

    #[test]
    fn proc_covers_only_equal() {
        let term = ProcGrant::Signal { signal: Signal::Term };
        assert!(term.covers(&term.clone()));
        assert!(!term.covers(&ProcGrant::Signal { signal: Signal::Kill }));
        assert_eq!(term.action(), ProcAction::Signal);
    }

    #[test]
    fn actions_are_listed_in_order() {
        let set = GrantSet {
            filesystem: vec![fs(FsAction::Read, "/a")],
            network: vec![net(NetAction::Listen, None, Some(1))],
            process: vec![ProcGrant::Signal { signal: Signal::Hup }],
        };
        let actions: Vec<_> = set.actions().map(|(r, a)| (r.domain, r.index, a)).collect();
        assert_eq!(
            actions,
            [
                (Domain::Filesystem, 0, Action::Fs(FsAction::Read)),
                (Domain::Network, 0, Action::Net(NetAction::Listen)),
                (Domain::Process, 0, Action::Proc(ProcAction::Signal)),
            ]
        );
    }
}
