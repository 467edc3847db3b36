//! The network side of the guard: requests with the call's arguments, name-bound connects to IP
//! literals, the policy check on the addresses a name resolves to, and handle checks.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use super::{MAX_NAMES_PER_ADDRESS, MAX_RESOLVED, NetError, NetView, family_name, family_of, host_port, sys};
use crate::policy::{Host, NetAction, Request, normalize_host};
use crate::runtime::audit::Mode;
use crate::runtime::guard::{ComponentPolicy, Denied, describe_request};
use crate::runtime::resources::{Auth, Endpoint, Family};

/// Where a connect goes, once authorized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// An IP literal (canonical).
    Ip(IpAddr),
    /// A DNS name (normalised), for the host to resolve.
    Name(String),
}

impl Target {
    /// The pool key of this target.
    pub(crate) fn host(&self) -> Host {
        match self {
            Target::Ip(ip) => Host::Ip(*ip),
            Target::Name(name) => Host::Name(name.clone()),
        }
    }
}

/// A denial as the operation's error.
pub(crate) fn denied(d: Denied) -> NetError {
    NetError::PermissionDenied(d.0)
}

fn net_request(action: NetAction, host: Option<&str>, port: Option<u16>) -> Request<'_> {
    Request::Net { action, host, port }
}

impl NetView<'_> {
    /// Asks the guard for `network:<action> host:port` on behalf of `op`.
    pub(crate) fn guard_net(
        &mut self,
        op: &str,
        action: NetAction,
        host: Option<&str>,
        port: Option<u16>,
    ) -> Result<Auth, NetError> {
        let grant = self
            .guard
            .authorize(op, net_request(action, host, port))
            .map_err(denied)?;
        Ok(Auth {
            permitted: grant.is_some() || self.guard.policy.mode == Mode::Unguarded,
            grant: grant.map(|g| self.guard.policy.describe_grant(g)),
        })
    }

    /// Authorizes a connect to `host`:`port` (see the module documentation: a literal is
    /// decided as itself or through a name that resolved to it in this instance). Returns where
    /// to connect and what authorized it; the endpoint to record names the host the guard was
    /// asked about.
    pub(crate) fn guard_connect(&mut self, op: &str, host: &str, port: u16) -> Result<(Target, Endpoint), NetError> {
        let normal = normalize_host(host);
        let asked = match &normal {
            Ok(Host::Ip(ip)) => self.connect_host_for(*ip, host, port),
            _ => host.to_string(),
        };
        let auth = self.guard_net(op, NetAction::Connect, Some(&asked), Some(port))?;
        let target = match normal {
            Ok(Host::Ip(ip)) => Target::Ip(ip),
            Ok(Host::Name(name)) => Target::Name(name),
            Err(e) => return Err(NetError::InvalidInput(format!("{:?}: {e}", host))),
        };
        if port == 0 {
            return Err(NetError::InvalidInput(format!("{}: port 0", host_port(host, port))));
        }
        Ok((target, Endpoint::new(NetAction::Connect, &asked, port, auth)))
    }

    /// The host to ask the guard about for a connect to the literal `ip` (see
    /// [`connect_host_for`]).
    fn connect_host_for(&self, ip: IpAddr, literal: &str, port: u16) -> String {
        connect_host_for(&self.guard.policy, &self.net.resolved, ip, literal, port)
    }

    /// Remembers that a granted resolve of `name` returned `addrs`.
    pub(crate) fn remember(&mut self, name: &str, addrs: &[IpAddr]) {
        remember(&mut self.net.resolved, name, addrs);
    }

    /// The socket addresses to try for an authorized `target`: the literal, or what the name
    /// resolves to (by `deadline`), of `family` when given, minus addresses that a policy rule
    /// denies connecting to.
    pub(crate) fn target_addresses(
        &mut self,
        op: &str,
        target: &Target,
        port: u16,
        family: Option<Family>,
        deadline: Instant,
    ) -> Result<Vec<SocketAddr>, NetError> {
        let ips = match target {
            Target::Ip(ip) => {
                if let Some(family) = family
                    && family_of(ip) != family
                {
                    return Err(NetError::InvalidInput(format!(
                        "{ip} is not an {} address, as the socket is",
                        family_name(family)
                    )));
                }
                vec![*ip]
            }
            Target::Name(name) => {
                let all = sys::lookup(name, deadline)?;
                let fitting: Vec<IpAddr> = all
                    .into_iter()
                    .filter(|ip| family.is_none_or(|f| family_of(ip) == f))
                    .collect();
                if fitting.is_empty() {
                    let which = family.map_or_else(String::new, |f| format!(" {}", family_name(f)));
                    return Err(NetError::AddressNotAvailable(format!("{name} has no{which} address")));
                }
                self.policy_filter(op, name, port, fitting)?
            }
        };
        Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }

    /// Drops the addresses of `name` that a policy rule denies connecting to; when that leaves
    /// none, the refusal is recorded (and, in report-only mode, they are used after all).
    fn policy_filter(&mut self, op: &str, name: &str, port: u16, ips: Vec<IpAddr>) -> Result<Vec<IpAddr>, NetError> {
        if self.guard.policy.mode == Mode::Unguarded {
            return Ok(ips);
        }
        let (kept, refused) = split_denied(&self.guard.policy, name, port, &ips);
        match refused {
            Some((resource, by)) if kept.is_empty() => {
                self.guard.authorize_handle(op, &resource, false, &by).map_err(denied)?;
                Ok(ips)
            }
            _ => Ok(kept),
        }
    }

    /// Checks a `(handle)` requirement: `end` is what the socket was authorized for (`None`:
    /// it never was), `need` names the requirement for the audit line (`connect`, `bind`, ...)
    /// and `missing` what the socket then is (`not connected`).
    pub(crate) fn check_handle(
        &mut self,
        op: &str,
        end: Option<&Endpoint>,
        accepted: bool,
        (need, missing): (&str, &str),
    ) -> Result<(), NetError> {
        match end {
            Some(end) => {
                let (resource, by) = (end.resource(), end.by(accepted));
                self.guard.authorize_handle(op, &resource, end.auth.permitted, &by)
            }
            None => self.guard.authorize_handle(
                op,
                &format!("network:{need} (socket {missing})"),
                false,
                &format!("the socket has no authorized {need}"),
            ),
        }
        .map_err(denied)
    }

    /// `resolve(host)` through the guard, then the lookup; the addresses of a name are
    /// remembered when a grant allowed the resolve (see the module documentation).
    pub(crate) fn resolve_guarded(&mut self, op: &str, host: &str) -> Result<Vec<IpAddr>, NetError> {
        let auth = self.guard_net(op, NetAction::Resolve, Some(host), None)?;
        match normalize_host(host) {
            Ok(Host::Ip(ip)) => Ok(vec![ip]),
            Ok(Host::Name(name)) => {
                let addrs = sys::lookup(&name, Instant::now() + self.net_cap())?;
                if auth.grant.is_some() {
                    self.remember(&name, &addrs);
                }
                Ok(addrs)
            }
            Err(e) => Err(NetError::InvalidInput(format!("{host:?}: {e}"))),
        }
    }
}

/// The host to ask the guard about for a connect to the literal `ip` (written `literal`), given
/// the names that granted resolves returned it for (`resolved`): the literal when it is granted
/// itself, or when a policy rule denies that address (no name gets around it), else the first
/// such name whose connect is granted, else the literal (which is then denied).
pub(crate) fn connect_host_for(
    policy: &ComponentPolicy,
    resolved: &HashMap<IpAddr, Vec<String>>,
    ip: IpAddr,
    literal: &str,
    port: u16,
) -> String {
    if policy.mode == Mode::Unguarded {
        return literal.to_string();
    }
    let effective = &policy.effective;
    let as_literal = net_request(NetAction::Connect, Some(literal), Some(port));
    if effective.decide(&as_literal).allowed || effective.denials.denied_by(&as_literal).is_some() {
        return literal.to_string();
    }
    resolved
        .get(&ip)
        .and_then(|names| {
            names.iter().find(|name| {
                effective
                    .decide(&net_request(NetAction::Connect, Some(name), Some(port)))
                    .allowed
            })
        })
        .cloned()
        .unwrap_or_else(|| literal.to_string())
}

/// Records in `resolved` that a granted resolve of `name` returned `addrs` (bounded: at most
/// `MAX_RESOLVED` addresses, `MAX_NAMES_PER_ADDRESS` names each).
pub(crate) fn remember(resolved: &mut HashMap<IpAddr, Vec<String>>, name: &str, addrs: &[IpAddr]) {
    for ip in addrs {
        if !resolved.contains_key(ip) && resolved.len() >= MAX_RESOLVED {
            continue;
        }
        let names = resolved.entry(*ip).or_default();
        if names.len() < MAX_NAMES_PER_ADDRESS && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
}

/// The addresses of `name` that no policy rule denies connecting to on `port`, and the first
/// refusal (its resource and rule, for the audit line) when a rule denies one.
pub(crate) fn split_denied(
    policy: &ComponentPolicy,
    name: &str,
    port: u16,
    ips: &[IpAddr],
) -> (Vec<IpAddr>, Option<(String, String)>) {
    let mut refused = None;
    let mut kept = Vec::with_capacity(ips.len());
    for ip in ips {
        let text = ip.to_string();
        let request = net_request(NetAction::Connect, Some(&text), Some(port));
        match policy.effective.denials.denied_by(&request) {
            Some(rule) => {
                refused.get_or_insert_with(|| {
                    (
                        describe_request(&request),
                        format!("policy {rule} (an address of {name})"),
                    )
                });
            }
            None => kept.push(*ip),
        }
    }
    (kept, refused)
}
