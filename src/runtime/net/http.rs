//! `wasi:http/outgoing-handler` under the guard: wasmtime-wasi-http implements the interface,
//! and [`HttpGuard`] is its embedder hook that sends each request.
//!
//! Before a request leaves, its authority is decided as a network connect (`connect
//! host:port`, the port from the URI or the scheme's: 80 for `http`, 443 for `https`), by the
//! same decision, name-bound rule and audit log as a socket connect; the operation is named
//! `wasi:http/outgoing-handler.handle`. A name's addresses are looked up first, and those a
//! policy rule denies connecting to (a CIDR denial such as cloud metadata) are refused as they
//! are for the airssys network extension: when every address of the name is denied, so is
//! the request. The guest's connect, first-byte and between-bytes timeouts are capped at the
//! instance's call time limit. A denied request is the HTTP error `HTTP-request-denied`.
//!
//! Known limit: wasmtime-wasi-http's sender resolves the name again when it connects, so a DNS
//! answer that changes between the check and the connect (DNS rebinding) is not caught for
//! names; IP literals are decided as themselves.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::guard::split_denied;
use super::wasi::SocketGuard;
use crate::policy::{Host, NetAction, Request, normalize_host};

/// The operation name of a request in the audit log.
pub(crate) const OP: &str = "wasi:http/outgoing-handler.handle";

/// The hook wasmtime-wasi-http sends requests through: the decision first, then its own
/// sender with capped timeouts.
pub(crate) struct HttpGuard {
    sockets: Arc<SocketGuard>,
    cap: Duration,
}

impl HttpGuard {
    pub(crate) fn new(sockets: Arc<SocketGuard>, cap: Duration) -> Self {
        HttpGuard { sockets, cap }
    }

    /// Decides a request's authority (see the module documentation).
    pub(crate) fn decide(&self, uri: &http::Uri) -> Result<(), Error> {
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let port = match (authority.port_u16(), uri.scheme_str()) {
            (Some(port), _) => port,
            (None, Some("http")) => 80,
            (None, _) => 443,
        };
        let written = authority.host().trim_start_matches('[').trim_end_matches(']');
        let (host, name) = match normalize_host(written) {
            Ok(Host::Ip(ip)) => (self.sockets.connect_host(ip, written, port), None),
            Ok(Host::Name(name)) => (name.clone(), Some(name)),
            Err(_) => return Err(Error::HttpRequestUriInvalid),
        };
        let request = Request::Net {
            action: NetAction::Connect,
            host: Some(&host),
            port: Some(port),
        };
        self.sockets
            .decider()
            .authorize(OP, request)
            .map_err(|_| Error::HttpRequestDenied)?;
        match name {
            Some(name) => self.check_addresses(&name, port),
            None => Ok(()),
        }
    }

    /// Refuses a name whose every address a policy rule denies connecting to.
    fn check_addresses(&self, name: &str, port: u16) -> Result<(), Error> {
        let policy = &self.sockets.decider().policy;
        if policy.mode == crate::runtime::Mode::Unguarded {
            return Ok(());
        }
        let deadline = Instant::now() + self.cap;
        let addresses: Vec<IpAddr> = super::sys::lookup(name, deadline).map_err(|_| Error::DestinationNotFound)?;
        let (kept, refused) = split_denied(policy, name, port, &addresses);
        if !kept.is_empty() {
            return Ok(());
        }
        match refused {
            Some((resource, by)) => {
                let decider = self.sockets.decider();
                decider.record(OP, &resource, &by).map_err(|_| Error::HttpRequestDenied)
            }
            None => Err(Error::DestinationNotFound),
        }
    }

    /// The guest's timeouts, each capped at the call time limit.
    fn capped(&self, options: Option<RequestOptions>) -> RequestOptions {
        let cap = |t: Option<Duration>| Some(t.map_or(self.cap, |t| t.min(self.cap)));
        let options = options.unwrap_or_default();
        RequestOptions {
            connect_timeout: cap(options.connect_timeout),
            first_byte_timeout: cap(options.first_byte_timeout),
            between_bytes_timeout: cap(options.between_bytes_timeout),
        }
    }
}

type Sent = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for HttpGuard {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Sent,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Sent), Error>> + Send> {
        // The request body's own completion future; the default sender drives the body itself.
        drop(fut);
        let decision = self.decide(request.uri());
        let options = self.capped(options);
        Box::new(async move {
            decision?;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((response.map(|body| body.boxed_unsync()), Box::new(io) as Sent))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::Duration;

    use http_body_util::BodyExt as _;
    use wasmtime_wasi_http::{Error, WasiHttpHooks as _};

    use super::HttpGuard;
    use crate::runtime::Mode;
    use crate::runtime::net::wasi::SocketGuard;
    use crate::runtime::testing::{self, Captured};

    /// A loopback HTTP server answering every request `200 ok`, counting connections.
    fn server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
        });
        (port, hits)
    }

    fn guard(grants: &str, mode: Mode) -> (HttpGuard, Captured) {
        let manifest =
            format!("[component]\nname = \"fetcher\"\nversion = \"1.0.0\"\n\n[permissions]\nnetwork = [\n{grants}]\n");
        let (guard, captured) = testing::guard(&manifest, mode);
        let sockets = Arc::new(SocketGuard::new(guard.decider()));
        (HttpGuard::new(sockets, Duration::from_secs(5)), captured)
    }

    fn uri(text: &str) -> http::Uri {
        text.parse().unwrap()
    }

    /// Sends a GET of `url` through the hook, as wasmtime-wasi-http does; the status.
    fn get(hook: &mut HttpGuard, url: &str) -> Result<u16, Error> {
        let body = http_body_util::Empty::<bytes::Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        let request = http::Request::get(url).body(body).unwrap();
        let done: super::Sent = Box::new(async { Ok(()) });
        let sent = hook.send_request(request, None, done);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (response, io) = Box::into_pin(sent).await?;
            tokio::spawn(Box::into_pin(io));
            Ok(response.status().as_u16())
        })
    }

    #[test]
    fn a_request_reaches_a_granted_authority_and_no_other() {
        let (granted, granted_hits) = server();
        let (other, other_hits) = server();
        let grant = format!("  {{ action = \"connect\", domain = \"127.0.0.1\", port = {granted} }},\n");
        let (mut hook, captured) = guard(&grant, Mode::Enforce);
        assert_eq!(get(&mut hook, &format!("http://127.0.0.1:{granted}/x")).unwrap(), 200);
        assert_eq!(granted_hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        let denied = get(&mut hook, &format!("http://127.0.0.1:{other}/x"));
        assert!(matches!(denied, Err(Error::HttpRequestDenied)), "{denied:?}");
        assert_eq!(
            other_hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing reached it"
        );
        let lines = captured.lines();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert_eq!(lines[0]["operation"], "wasi:http/outgoing-handler.handle");
        assert_eq!(lines[0]["resource"], format!("network:connect 127.0.0.1:{granted}"));
        assert_eq!(lines[0]["verdict"], "allowed");
        assert_eq!(lines[1]["verdict"], "denied");
    }

    #[test]
    fn the_port_comes_from_the_uri_or_the_scheme() {
        let grants = "  { action = \"connect\", domain = \"api.example.com\", port = 443 },\n  { action = \"connect\", domain = \"10.1.2.3\", port = 80 },\n";
        let (hook, captured) = guard(grants, Mode::Enforce);
        assert!(matches!(hook.decide(&uri("http://10.1.2.3/")), Ok(())));
        assert!(matches!(
            hook.decide(&uri("https://10.1.2.3/")),
            Err(Error::HttpRequestDenied)
        ));
        assert!(matches!(
            hook.decide(&uri("http://10.1.2.3:8080/")),
            Err(Error::HttpRequestDenied)
        ));
        assert!(matches!(
            hook.decide(&uri("http://[::1]/")),
            Err(Error::HttpRequestDenied)
        ));
        assert!(matches!(
            hook.decide(&uri("/relative")),
            Err(Error::HttpRequestUriInvalid)
        ));
        let resources: Vec<String> = captured
            .lines()
            .iter()
            .map(|l| l["resource"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            resources,
            [
                "network:connect 10.1.2.3:80",
                "network:connect 10.1.2.3:443",
                "network:connect 10.1.2.3:8080",
                "network:connect [::1]:80",
            ]
        );
    }

    #[test]
    fn a_literal_a_granted_lookup_returned_is_decided_as_the_name() {
        let grants = "  { action = \"connect\", domain = \"svc.example\", port = 80 },\n";
        let (hook, _) = guard(grants, Mode::Enforce);
        let target = uri("http://192.0.2.9/");
        assert!(matches!(hook.decide(&target), Err(Error::HttpRequestDenied)));
        hook.sockets.remember("svc.example", "192.0.2.9".parse().unwrap());
        assert!(matches!(hook.decide(&target), Ok(())));
    }

    #[test]
    fn timeouts_are_capped_at_the_call_limit() {
        let (hook, _) = guard("", Mode::Enforce);
        let capped = hook.capped(Some(wasmtime_wasi_http::RequestOptions {
            connect_timeout: Some(Duration::from_secs(600)),
            first_byte_timeout: Some(Duration::from_millis(10)),
            between_bytes_timeout: None,
        }));
        assert_eq!(capped.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(capped.first_byte_timeout, Some(Duration::from_millis(10)));
        assert_eq!(capped.between_bytes_timeout, Some(Duration::from_secs(5)));
    }
}
