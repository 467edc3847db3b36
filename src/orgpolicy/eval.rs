//! The compiled denials of a [`PolicySet`] and the effective decision: (manifest grants) minus
//! (policy denials). The runtime and `explain-request` ask [`Effective::decide`]; the static
//! checks ask the overlap questions below of the same rules, so both halves read one model.
//!
//! Overlap semantics (static): a grant breaks a denial when some request could match both —
//! the patterns intersect. Inclusion (`covers`) is used only for `roots`, where a grant must be
//! entirely inside a root.

use super::{NetTarget, PolicySet, PortRange, RuleRef};
use crate::policy::{
    CompiledGrants, Env, FsAction, GrantRef, Host, HostPattern, NetAction, PathPattern, Request, Signal,
    normalize_host, normalize_path, unspecified_reaches,
};

/// Every request-level rule of a policy set, ready to match requests.
#[derive(Clone, Debug, Default)]
pub struct CompiledDenials {
    fs: Vec<(Vec<FsAction>, PathPattern, RuleRef)>,
    roots: Vec<(Vec<PathPattern>, RuleRef)>,
    net: Vec<(Vec<NetAction>, NetTarget, RuleRef)>,
    ports: Vec<(Vec<PortRange>, RuleRef)>,
    spawn: Option<RuleRef>,
    executables: Vec<(String, RuleRef)>,
    signals: Vec<(Vec<Signal>, RuleRef)>,
}

impl CompiledDenials {
    /// Collects the rules of every policy of the set. Rules that only concern the shape of a
    /// manifest (`allow-any-host`, `[manifest]`, `[operations]`) have no request-level meaning.
    /// `~/` patterns are expanded with `env.home` when it is known, as grants are.
    pub fn compile(set: &PolicySet, env: &Env) -> Self {
        let mut c = CompiledDenials::default();
        for p in &set.policies {
            c.fs.extend(
                p.fs_deny
                    .iter()
                    .map(|d| (d.actions.clone(), expand_home(&d.pattern, env), d.at.clone())),
            );
            c.roots.extend(
                p.fs_roots
                    .iter()
                    .map(|(roots, at)| (roots.iter().map(|r| expand_home(r, env)).collect(), at.clone())),
            );
            c.net.extend(
                p.net_deny
                    .iter()
                    .map(|d| (d.actions.clone(), d.target.clone(), d.at.clone())),
            );
            c.ports.extend(p.ports.clone());
            if c.spawn.is_none() {
                c.spawn.clone_from(&p.forbid_spawn);
            }
            c.executables.extend(p.deny_executables.iter().cloned());
            c.signals.extend(p.signals.clone());
        }
        c
    }

    /// The first rule that denies the request, if any. A request that cannot be normalised is
    /// not denied here: no grant can allow it either.
    pub fn denied_by(&self, request: &Request<'_>) -> Option<&RuleRef> {
        match *request {
            Request::Fs { action, path } => self.fs_denial(action, path),
            Request::Net { action, host, port } => self.net_denial(action, host, port),
            Request::Spawn { executable } => self.spawn.as_ref().or_else(|| {
                let normal = normalize_path(executable).ok()?;
                self.executables.iter().find(|(e, _)| *e == normal).map(|(_, r)| r)
            }),
            Request::Signal { signal } => self
                .signals
                .iter()
                .find(|(allowed, _)| !allowed.contains(&signal))
                .map(|(_, r)| r),
        }
    }

    fn fs_denial(&self, action: FsAction, path: &str) -> Option<&RuleRef> {
        if self.fs.is_empty() && self.roots.is_empty() {
            return None;
        }
        // Borrowed when the path is already normal, as it is on the runtime's hot path.
        let normal = crate::policy::normalize_cow(path).ok()?;
        let denied = self
            .fs
            .iter()
            .find(|(actions, pattern, _)| actions.contains(&action) && pattern.matches(&normal))
            .map(|(_, _, r)| r);
        denied.or_else(|| {
            self.roots
                .iter()
                .find(|(roots, _)| !roots.iter().any(|root| root.matches(&normal)))
                .map(|(_, r)| r)
        })
    }

    fn net_denial(&self, action: NetAction, host: Option<&str>, port: Option<u16>) -> Option<&RuleRef> {
        let host = match host {
            Some(h) => Some(normalize_host(h).ok()?),
            None => None,
        };
        // An unspecified address is also the loopback address it reaches: a rule about either
        // denies it.
        let reached = match &host {
            Some(Host::Ip(ip)) => unspecified_reaches(*ip).map(Host::Ip),
            _ => None,
        };
        let denied = self
            .net
            .iter()
            .find(|(actions, target, _)| {
                actions.contains(&action)
                    && (target_matches(target, host.as_ref())
                        || reached.as_ref().is_some_and(|r| target_matches(target, Some(r))))
            })
            .map(|(_, _, r)| r);
        denied.or_else(|| {
            let port = port.filter(|_| action != NetAction::Resolve)?;
            self.ports
                .iter()
                .find(|(ranges, _)| !port_allowed(ranges, port))
                .map(|(_, r)| r)
        })
    }
}

/// Whether a requested (normalised) host is a target of a denial; a request without a host
/// (`bind` on every interface) is matched only by `**`.
fn target_matches(target: &NetTarget, host: Option<&Host>) -> bool {
    match (target, host) {
        (NetTarget::Host(p), Some(h)) => p.matches(h),
        (NetTarget::Host(p), None) => *p == HostPattern::Any,
        (NetTarget::Cidr(net), Some(Host::Ip(ip))) => net.contains(ip),
        (NetTarget::Cidr(_), _) => false,
    }
}

pub(super) fn port_allowed(ranges: &[PortRange], port: u16) -> bool {
    ranges.iter().any(|r| (r.first..=r.last).contains(&port))
}

/// Whether a grant's host (`None`: any host) can reach a denial's target. A name cannot be
/// known to resolve into a CIDR range statically, so names overlap only host targets.
pub(super) fn host_overlaps(grant: Option<&HostPattern>, target: &NetTarget) -> bool {
    let Some(grant) = grant else { return true };
    // A grant of an unspecified address reaches the loopback address too.
    if let HostPattern::Exact(Host::Ip(ip)) = grant
        && let Some(loopback) = unspecified_reaches(*ip)
        && host_overlaps(Some(&HostPattern::Exact(Host::Ip(loopback))), target)
    {
        return true;
    }
    match (grant, target) {
        (HostPattern::Any, _) => true,
        (HostPattern::Exact(Host::Ip(ip)), NetTarget::Cidr(net)) => net.contains(ip),
        (_, NetTarget::Cidr(_)) => false,
        (g, NetTarget::Host(d)) => host_patterns_overlap(g, d),
    }
}

fn host_patterns_overlap(a: &HostPattern, b: &HostPattern) -> bool {
    match (a, b) {
        (HostPattern::Any, _) | (_, HostPattern::Any) => true,
        (HostPattern::Exact(x), HostPattern::Exact(y)) => x == y,
        (HostPattern::Exact(h), s @ HostPattern::Subdomains(_))
        | (s @ HostPattern::Subdomains(_), HostPattern::Exact(h)) => s.matches(h),
        (HostPattern::Subdomains(x), HostPattern::Subdomains(y)) => x == y || is_below(x, y) || is_below(y, x),
    }
}

fn is_below(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() && name.ends_with(suffix) && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

/// The usual places of a home directory, which is what `~/` stands for when a home-relative
/// pattern is compared with an absolute one statically (the home of the host that will run the
/// component is not known then).
const HOMES: &[&[&str]] = &[&["home", "*"], &["root"], &["Users", "*"]];

/// Whether some path matches both patterns. A `~/` pattern compared with an absolute one is
/// read as each of `/home/*/...`, `/root/...` and `/Users/*/...`.
pub(super) fn paths_overlap(a: &PathPattern, b: &PathPattern) -> bool {
    let (ra, sa) = segments(a);
    let (rb, sb) = segments(b);
    if ra == rb {
        return seq_overlap(&sa, &sb);
    }
    let (home, abs) = if ra { (sa, sb) } else { (sb, sa) };
    HOMES
        .iter()
        .any(|prefix| seq_overlap(&with_prefix(prefix, &home), &abs))
}

fn with_prefix(prefix: &[&str], segs: &[String]) -> Vec<String> {
    prefix
        .iter()
        .map(|s| s.to_string())
        .chain(segs.iter().cloned())
        .collect()
}

/// Whether `root` contains every path `grant` matches (the decision core's inclusion test). A
/// `~/` grant is inside an absolute root when every usual home reading of it is; an absolute
/// grant is never inside a `~/` root.
pub(super) fn path_within(root: &PathPattern, grant: &PathPattern) -> bool {
    if root.is_home_relative() == grant.is_home_relative() {
        return root.covers(grant);
    }
    if !grant.is_home_relative() {
        return false;
    }
    let (_, segs) = segments(grant);
    HOMES.iter().all(|prefix| {
        let text = format!("/{}", with_prefix(prefix, &segs).join("/"));
        PathPattern::parse(&text).is_ok_and(|g| root.covers(&g))
    })
}

/// A `~/` pattern with the home directory put in, when the home is known.
fn expand_home(p: &PathPattern, env: &Env) -> PathPattern {
    let Some(home) = env.home.as_deref().filter(|h| h.starts_with('/')) else {
        return p.clone();
    };
    if !p.is_home_relative() {
        return p.clone();
    }
    let rest = p.as_str().trim_start_matches('~');
    PathPattern::parse(&format!("{}/{rest}", home.trim_end_matches('/'))).unwrap_or_else(|_| p.clone())
}

/// (home-relative, segments) of a normalised pattern.
fn segments(p: &PathPattern) -> (bool, Vec<String>) {
    let text = p.as_str();
    let home = text.starts_with('~');
    let rest = text.trim_start_matches('~');
    (
        home,
        rest.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
    )
}

/// Intersection of two segment sequences where `**` stands for any number of segments.
fn seq_overlap(a: &[String], b: &[String]) -> bool {
    let mut memo = vec![vec![None; b.len() + 1]; a.len() + 1];
    seq_go(a, b, 0, 0, &mut memo)
}

fn seq_go(a: &[String], b: &[String], i: usize, j: usize, memo: &mut Vec<Vec<Option<bool>>>) -> bool {
    if let Some(v) = memo[i][j] {
        return v;
    }
    let v = match (a.get(i).map(String::as_str), b.get(j).map(String::as_str)) {
        (None, None) => true,
        (Some("**"), _) => seq_go(a, b, i + 1, j, memo) || (j < b.len() && seq_go(a, b, i, j + 1, memo)),
        (_, Some("**")) => seq_go(a, b, i, j + 1, memo) || (i < a.len() && seq_go(a, b, i + 1, j, memo)),
        (Some(x), Some(y)) => segment_overlap(x, y) && seq_go(a, b, i + 1, j + 1, memo),
        _ => false,
    };
    memo[i][j] = Some(v);
    v
}

/// Whether some file name matches both segment globs (`*` within a name). With a `*` on both
/// sides it is enough that the literal prefixes and suffixes agree: the stars absorb the rest.
fn segment_overlap(x: &str, y: &str) -> bool {
    match (x.contains('*'), y.contains('*')) {
        (false, false) => x == y,
        (true, false) => glob_match(x, y),
        (false, true) => glob_match(y, x),
        (true, true) => {
            let (px, sx) = ends(x);
            let (py, sy) = ends(y);
            (px.starts_with(py) || py.starts_with(px)) && (sx.ends_with(sy) || sy.ends_with(sx))
        }
    }
}

fn ends(glob: &str) -> (&str, &str) {
    let first = glob.find('*').unwrap_or(glob.len());
    let last = glob.rfind('*').map_or(glob.len(), |i| i + 1);
    (&glob[..first], &glob[last..])
}

/// `*`-only glob against a literal name.
fn glob_match(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The effective permission of one component: its compiled grants minus the policy denials.
#[derive(Clone, Debug)]
pub struct Effective {
    pub grants: CompiledGrants,
    pub denials: CompiledDenials,
}

/// The verdict on a request, with both reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveDecision {
    /// A grant allows the request and no policy rule denies it.
    pub allowed: bool,
    /// The manifest grant that allows it (whatever the policy says).
    pub grant: Option<GrantRef>,
    /// The policy rule that denies it (whatever the manifest says).
    pub denied_by: Option<RuleRef>,
}

impl Effective {
    /// Compiles a manifest's grants and a policy set's denials.
    pub fn new(manifest: &crate::manifest::Manifest, set: &PolicySet, env: &Env) -> Self {
        Effective {
            grants: manifest.compile(env),
            denials: CompiledDenials::compile(set, env),
        }
    }

    /// Allowed only when the grants allow the request and no policy rule denies it.
    pub fn decide(&self, request: &Request<'_>) -> EffectiveDecision {
        let grant = self.grants.decide(request);
        let denied_by = self.denials.denied_by(request).cloned();
        EffectiveDecision {
            allowed: grant.allowed && denied_by.is_none(),
            grant: grant.because,
            denied_by,
        }
    }
}

impl PolicySet {
    /// The effective permission of `manifest` under this set (see [`Effective`]).
    pub fn effective(&self, manifest: &crate::manifest::Manifest, env: &Env) -> Effective {
        Effective::new(manifest, self, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathPattern {
        PathPattern::parse(s).unwrap()
    }

    #[test]
    fn path_overlap_cases() {
        assert!(paths_overlap(&p("/etc/**"), &p("/etc/shadow")));
        assert!(paths_overlap(&p("/data/**"), &p("/**")));
        assert!(
            paths_overlap(&p("/etc"), &p("/etc/**")),
            "`/etc/**` includes /etc itself"
        );
        assert!(!paths_overlap(&p("/data/**"), &p("/etc/**")));
        assert!(paths_overlap(&p("/data/*.csv"), &p("/data/x*")));
        assert!(!paths_overlap(&p("/data/*.csv"), &p("/data/*.txt")));
        assert!(paths_overlap(&p("/a/**/b"), &p("/a/x/**")));
        assert!(!paths_overlap(&p("/a/*"), &p("/a/b/c")));
        assert!(paths_overlap(&p("~/.ssh/**"), &p("/**")));
        assert!(paths_overlap(&p("~/x"), &p("/home/u/x")));
        assert!(paths_overlap(&p("/root/**"), &p("~/.ssh/id_rsa")));
        assert!(!paths_overlap(&p("/data/in/**"), &p("~/.ssh/**")));
        assert!(!paths_overlap(&p("~/x"), &p("~/y")));
    }

    #[test]
    fn globs() {
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXc"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn within_roots() {
        assert!(path_within(&p("/data/**"), &p("/data/out/*.csv")));
        assert!(!path_within(&p("/data/**"), &p("/etc/x")));
        assert!(path_within(&p("/**"), &p("~/x")));
        assert!(!path_within(&p("/home/**"), &p("~/x")), "`/root` is a home too");
        assert!(!path_within(&p("/data/**"), &p("~/x")));
    }
}
