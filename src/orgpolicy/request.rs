//! The request grammar of `explain-request`: `<action> <resource>`, e.g. `write /data/x.csv`,
//! `connect api.example.com:443`, `connect [::1]:8080`, `bind 8080`, `resolve example.com`,
//! `spawn /usr/bin/git`, `signal SIGTERM`. Parsing only splits and types the words; the decision
//! core normalises the path or host, exactly as it does for a guest's request.

use std::fmt;

use crate::policy::{Action, FsAction, Host, NetAction, Request, Signal, normalize_host, normalize_path};

/// A request that owns its text (the decision core's [`Request`] borrows).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OwnedRequest {
    Fs {
        action: FsAction,
        path: String,
    },
    Net {
        action: NetAction,
        host: Option<String>,
        port: Option<u16>,
    },
    Spawn {
        executable: String,
    },
    Signal {
        signal: Signal,
    },
}

/// A request line that does not follow the grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// The request as given.
    pub request: String,
    pub message: String,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request `{}`: {}", self.request, self.message)
    }
}

impl std::error::Error for RequestError {}

/// Parses one request (see the module documentation).
///
/// # Errors
/// An unknown action, a missing or extra word, a port that is not 1-65535, an unbracketed
/// IPv6 address with a port, or an unknown signal.
pub fn parse_request(line: &str) -> Result<OwnedRequest, RequestError> {
    let err = |message: String| RequestError {
        request: line.to_string(),
        message,
    };
    let mut words = line.split_whitespace();
    let (Some(action), Some(resource), None) = (words.next(), words.next(), words.next()) else {
        return Err(err(
            "expected `<action> <resource>`, e.g. `read /data/x.csv` or `connect example.com:443`".into(),
        ));
    };
    let Some(action) = Action::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == action.to_ascii_lowercase())
    else {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        return Err(err(format!(
            "unknown action `{action}`; actions are {}",
            names.join(", ")
        )));
    };
    match action {
        Action::Fs(action) => Ok(OwnedRequest::Fs {
            action,
            path: resource.to_string(),
        }),
        Action::Net(NetAction::Connect) => {
            let (host, port) = host_port(resource).map_err(err)?;
            Ok(OwnedRequest::Net {
                action: NetAction::Connect,
                host: Some(host),
                port: Some(port),
            })
        }
        Action::Net(NetAction::Resolve) => Ok(OwnedRequest::Net {
            action: NetAction::Resolve,
            host: Some(unbracket(resource).to_string()),
            port: None,
        }),
        Action::Net(action) => {
            let (host, port) = match parse_port(resource) {
                Ok(p) => (None, p),
                Err(_) => host_port(resource).map(|(h, p)| (Some(h), p)).map_err(err)?,
            };
            Ok(OwnedRequest::Net {
                action,
                host,
                port: Some(port),
            })
        }
        Action::Proc(crate::policy::ProcAction::Spawn) => Ok(OwnedRequest::Spawn {
            executable: resource.to_string(),
        }),
        Action::Proc(crate::policy::ProcAction::Signal) => {
            let signal = Signal::parse(resource)
                .or_else(|_| Signal::parse(&format!("SIG{resource}")))
                .map_err(|e| err(e.to_string()))?;
            Ok(OwnedRequest::Signal { signal })
        }
    }
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("`{s}` is not a port from 1 to 65535")),
    }
}

/// `host:port` or `[v6]:port`.
fn host_port(s: &str) -> Result<(String, u16), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest
            .split_once("]:")
            .ok_or_else(|| format!("`{s}`: write an IPv6 address with a port as `[addr]:port`"))?;
        return Ok((host.to_string(), parse_port(port)?));
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("`{s}` has no port; write `host:port`"))?;
    if host.contains(':') {
        return Err(format!("`{s}`: write an IPv6 address with a port as `[addr]:port`"));
    }
    Ok((host.to_string(), parse_port(port)?))
}

impl From<&Request<'_>> for OwnedRequest {
    fn from(request: &Request<'_>) -> Self {
        match *request {
            Request::Fs { action, path } => OwnedRequest::Fs {
                action,
                path: path.to_string(),
            },
            Request::Net { action, host, port } => OwnedRequest::Net {
                action,
                host: host.map(str::to_string),
                port,
            },
            Request::Spawn { executable } => OwnedRequest::Spawn {
                executable: executable.to_string(),
            },
            Request::Signal { signal } => OwnedRequest::Signal { signal },
        }
    }
}

impl OwnedRequest {
    /// The borrowed form the decision core takes.
    pub fn as_request(&self) -> Request<'_> {
        match self {
            OwnedRequest::Fs { action, path } => Request::Fs { action: *action, path },
            OwnedRequest::Net { action, host, port } => Request::Net {
                action: *action,
                host: host.as_deref(),
                port: *port,
            },
            OwnedRequest::Spawn { executable } => Request::Spawn { executable },
            OwnedRequest::Signal { signal } => Request::Signal { signal: *signal },
        }
    }

    /// The request as the decision core sees it after normalisation (`write /data/x`,
    /// `connect 127.0.0.1:80`); a resource that does not normalise is shown with the reason.
    pub fn normalized(&self) -> String {
        match self {
            OwnedRequest::Fs { action, path } => format!("{} {}", action.as_str(), path_form(path)),
            OwnedRequest::Net { action, host, port } => {
                let host = host.as_deref().map(|h| match normalize_host(h) {
                    Ok(Host::Ip(std::net::IpAddr::V6(ip))) if port.is_some() => format!("[{ip}]"),
                    Ok(h) => h.to_string(),
                    Err(e) => format!("{h} (invalid host: {e})"),
                });
                let target = match (host, port) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h,
                    (None, Some(p)) => p.to_string(),
                    (None, None) => String::new(),
                };
                format!("{} {target}", action.as_str())
            }
            OwnedRequest::Spawn { executable } => format!("spawn {}", path_form(executable)),
            OwnedRequest::Signal { signal } => format!("signal {signal}"),
        }
    }
}

fn path_form(path: &str) -> String {
    match normalize_path(path) {
        Ok(p) => p,
        Err(e) => format!("{} (invalid path: {e})", path.escape_debug()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert!(matches!(
            parse_request("write /data/x").unwrap(),
            OwnedRequest::Fs { .. }
        ));
        let c = parse_request("connect [::1]:8080").unwrap();
        assert_eq!(c.normalized(), "connect [::1]:8080");
        assert_eq!(parse_request("bind 8080").unwrap().normalized(), "bind 8080");
        assert_eq!(
            parse_request("connect API.Example.COM.:443").unwrap().normalized(),
            "connect api.example.com:443"
        );
        assert_eq!(parse_request("signal TERM").unwrap().normalized(), "signal SIGTERM");
        assert!(parse_request("connect ::1:80").is_err());
        assert!(parse_request("connect example.com").is_err());
        assert!(parse_request("fly /x").is_err());
        assert!(parse_request("read").is_err());
        assert!(parse_request("connect a.com:0").is_err());
    }
}
