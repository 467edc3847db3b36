//! The compiled form of the network grants: per action, hash maps from exact names, exact
//! addresses and wildcard suffixes to the grants that name them, each split by port. A request
//! costs one lookup for its exact host plus one per parent domain (`a.b.example.com` tries
//! `b.example.com`, `example.com`, `com`), so the number of grants does not matter.

use std::net::IpAddr;

use super::action::NetAction;
use super::grant::NetGrant;
use super::net_host::{Host, HostPattern, HostView};
use super::{Map, NONE};

/// The grants for one host (or host wildcard), by port.
#[derive(Clone, Debug)]
struct Ports {
    /// Lowest index among grants without a port.
    any: u32,
    /// Lowest index per granted port, sorted by port for binary search.
    by_port: Vec<(u16, u32)>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            any: NONE,
            by_port: Vec::new(),
        }
    }
}

impl Ports {
    fn add(&mut self, port: Option<u16>, index: u32) {
        let Some(port) = port else {
            self.any = self.any.min(index);
            return;
        };
        match self.by_port.binary_search_by_key(&port, |&(p, _)| p) {
            Ok(at) => self.by_port[at].1 = self.by_port[at].1.min(index),
            Err(at) => self.by_port.insert(at, (port, index)),
        }
    }

    /// A request without a port only matches grants without one.
    fn lookup(&self, port: Option<u16>) -> u32 {
        let exact = port.and_then(|p| self.by_port.binary_search_by_key(&p, |&(q, _)| q).ok());
        self.any.min(exact.map_or(NONE, |at| self.by_port[at].1))
    }
}

/// The grants of one network action.
#[derive(Clone, Debug, Default)]
struct Table {
    names: Map<Box<str>, Ports>,
    ips: Map<IpAddr, Ports>,
    /// `*.suffix` grants by suffix.
    suffixes: Map<Box<str>, Ports>,
    /// Which suffix lengths (0..=255) occur in `suffixes`: a request's parent domains of other
    /// lengths are skipped without hashing them.
    suffix_lengths: [u64; 4],
    /// `**` grants.
    any_host: Ports,
    /// Grants without a host: they match requests with any host or none.
    no_host: Ports,
}

impl Table {
    fn add(&mut self, host: Option<&HostPattern>, port: Option<u16>, index: u32) {
        let ports = match host {
            None => &mut self.no_host,
            Some(HostPattern::Any) => &mut self.any_host,
            Some(HostPattern::Exact(Host::Name(n))) => self.names.entry(n.as_str().into()).or_default(),
            Some(HostPattern::Exact(Host::Ip(ip))) => self.ips.entry(*ip).or_default(),
            Some(HostPattern::Subdomains(s)) => {
                let len = s.len().min(255);
                self.suffix_lengths[len / 64] |= 1 << (len % 64);
                self.suffixes.entry(s.as_str().into()).or_default()
            }
        };
        ports.add(port, index);
    }

    fn lookup(&self, host: Option<HostView<'_>>, port: Option<u16>) -> u32 {
        let best = self.no_host.lookup(port);
        let Some(host) = host else {
            return best;
        };
        let best = best.min(self.any_host.lookup(port));
        match host {
            HostView::Ip(ip) => best.min(self.ips.get(&ip).map_or(NONE, |p| p.lookup(port))),
            HostView::Name(name) => best.min(self.lookup_name(name, port)),
        }
    }

    fn lookup_name(&self, name: &str, port: Option<u16>) -> u32 {
        let mut best = self.names.get(name).map_or(NONE, |p| p.lookup(port));
        if self.suffixes.is_empty() {
            return best;
        }
        // Every strict parent domain: the text after each dot.
        for (dot, _) in name.match_indices('.') {
            let suffix = &name[dot + 1..];
            let len = suffix.len().min(255);
            if self.suffix_lengths[len / 64] & (1 << (len % 64)) == 0 {
                continue;
            }
            if let Some(ports) = self.suffixes.get(suffix) {
                best = best.min(ports.lookup(port));
            }
        }
        best
    }
}

/// Network grants of one manifest, compiled.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetIndex {
    tables: [Table; 4],
}

impl NetIndex {
    /// Adds grant `index`. A host pattern that does not normalise (only possible when built by
    /// hand) drops the grant: fail closed.
    pub(crate) fn add(&mut self, index: u32, grant: &NetGrant) {
        let host = match &grant.host {
            None => None,
            Some(pattern) => match pattern.renormalized() {
                Some(p) => Some(p),
                None => return,
            },
        };
        let table = &mut self.tables[grant.action as usize];
        table.add(host.as_ref(), grant.effective_port(), index);
    }

    /// The lowest index of a grant of `action` matching the request, or [`NONE`].
    pub(crate) fn lookup(&self, action: NetAction, host: Option<HostView<'_>>, port: Option<u16>) -> u32 {
        // Resolving has no port; resolve grants were indexed without one.
        let port = port.filter(|_| action != NetAction::Resolve);
        self.tables[action as usize].lookup(host, port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::net_host::normalize_host;

    fn index(grants: &[(NetAction, Option<&str>, Option<u16>)]) -> NetIndex {
        let mut idx = NetIndex::default();
        for (i, (action, host, port)) in grants.iter().enumerate() {
            let host = host.map(|h| HostPattern::parse(h).unwrap());
            idx.add(
                i as u32,
                &NetGrant {
                    action: *action,
                    host,
                    port: *port,
                },
            );
        }
        idx
    }

    fn look(idx: &NetIndex, action: NetAction, host: Option<&str>, port: Option<u16>) -> u32 {
        let host = host.map(|h| normalize_host(h).unwrap());
        idx.lookup(action, host.as_ref().map(HostView::from), port)
    }

    #[test]
    fn hosts_ports_and_wildcards() {
        use NetAction::*;
        let idx = index(&[
            (Connect, Some("api.x.com"), Some(443)),
            (Connect, Some("*.x.com"), Some(443)),
            (Connect, Some("10.0.0.1"), None),
            (Bind, None, Some(8080)),
            (Resolve, Some("x.com"), Some(53)),
            (Connect, Some("**"), Some(80)),
        ]);
        assert_eq!(look(&idx, Connect, Some("API.x.com."), Some(443)), 0);
        assert_eq!(look(&idx, Connect, Some("b.a.x.com"), Some(443)), 1);
        assert_eq!(look(&idx, Connect, Some("x.com"), Some(443)), NONE);
        assert_eq!(look(&idx, Connect, Some("api.x.com"), Some(8443)), NONE);
        assert_eq!(look(&idx, Connect, Some("api.x.com"), None), NONE);
        assert_eq!(look(&idx, Connect, Some("0xa.1"), Some(1)), 2);
        assert_eq!(look(&idx, Connect, Some("::ffff:10.0.0.1"), None), 2);
        assert_eq!(look(&idx, Bind, None, Some(8080)), 3);
        assert_eq!(look(&idx, Bind, Some("127.0.0.1"), Some(8080)), 3);
        assert_eq!(look(&idx, Bind, None, Some(8081)), NONE);
        assert_eq!(look(&idx, Resolve, Some("x.com"), None), 4);
        assert_eq!(look(&idx, Resolve, Some("x.com"), Some(1)), 4);
        assert_eq!(look(&idx, Resolve, Some("a.x.com"), None), NONE);
        assert_eq!(look(&idx, Connect, Some("evil.org"), Some(80)), 5);
        assert_eq!(look(&idx, Connect, Some("1.2.3.4"), Some(80)), 5);
        assert_eq!(look(&idx, Connect, None, Some(80)), NONE);
        assert_eq!(look(&idx, Listen, Some("x.com"), Some(80)), NONE);
    }

    #[test]
    fn hand_built_patterns_are_renormalised_or_dropped() {
        use NetAction::*;
        let mut idx = NetIndex::default();
        let upper = HostPattern::Exact(Host::Name("API.X.COM".into()));
        idx.add(
            0,
            &NetGrant {
                action: Connect,
                host: Some(upper),
                port: None,
            },
        );
        let broken = HostPattern::Subdomains("a..b".into());
        idx.add(
            1,
            &NetGrant {
                action: Connect,
                host: Some(broken),
                port: None,
            },
        );
        assert_eq!(look(&idx, Connect, Some("api.x.com"), None), 0);
        assert!(idx.tables[Connect as usize].suffixes.is_empty());
    }
}
