//! Unit tests of the network host: every operation against loopback servers that the tests
//! start themselves (TCP echo on 127.0.0.1 and ::1, UDP echo), allowed with real traffic and
//! denied with nothing sent, with the audit lines checked.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::thread;

use wasmtime::component::Resource;

use super::{PoolEntry, SocketEntry};
use crate::diagnostics::Sources;
use crate::orgpolicy::PolicySet;
use crate::runtime::bindings::connection::Host as _;
use crate::runtime::bindings::net_types::{
    AddressFamily, Direction, NetError, SocketAddress, SocketOption, SocketOptionName, SocketProtocol,
};
use crate::runtime::bindings::socket::Host as _;
use crate::runtime::testing::{Captured, free_tcp_port, free_udp_port, state, state_under, tcp_echo, udp_echo};
use crate::runtime::{InstanceState, Mode};

// ---------------------------------------------------------------------------------------------
// Manifests

fn manifest(grants: &[String]) -> String {
    format!(
        "[component]\nname = \"net-test\"\nversion = \"1.0.0\"\n\n[permissions]\nnetwork = [\n{}\n]\n",
        grants.join(",\n")
    )
}

fn connect(host: &str, port: u16) -> String {
    format!("{{ action = \"connect\", domain = \"{host}\", port = {port} }}")
}

fn resolve(host: &str) -> String {
    format!("{{ action = \"resolve\", domain = \"{host}\" }}")
}

fn bind(host: &str, port: u16) -> String {
    format!("{{ action = \"bind\", domain = \"{host}\", port = {port} }}")
}

fn listen(host: &str, port: u16) -> String {
    format!("{{ action = \"listen\", domain = \"{host}\", port = {port} }}")
}

fn enforce(grants: &[String]) -> (InstanceState, Captured) {
    state(&manifest(grants), Mode::Enforce)
}

/// A state whose organisation policy is `policy` (TOML).
fn with_policy(grants: &[String], policy: &str) -> (InstanceState, Captured) {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("test-policy", policy)]).unwrap();
    state_under(&manifest(grants), &set, Mode::Enforce)
}

// ---------------------------------------------------------------------------------------------
// Audit lines

/// (operation, resource, verdict) of every line, repeats in a row shown once (a TCP receive
/// may take more than one call).
fn lines(captured: &Captured) -> Vec<(String, String, String)> {
    let mut all: Vec<_> = captured
        .lines()
        .iter()
        .map(|l| {
            let field = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (field("operation"), field("resource"), field("verdict"))
        })
        .collect();
    all.dedup();
    all
}

fn line(op: &str, resource: &str, verdict: &str) -> (String, String, String) {
    (op.into(), resource.into(), verdict.into())
}

/// The `by` field of line `i`.
fn by(captured: &Captured, i: usize) -> String {
    captured.lines()[i]["by"].as_str().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// Calling the host

fn b(handle: &Resource<SocketEntry>) -> Resource<SocketEntry> {
    Resource::new_borrow(handle.rep())
}

fn own(handle: &Resource<SocketEntry>) -> Resource<SocketEntry> {
    Resource::new_own(handle.rep())
}

fn bp(handle: &Resource<PoolEntry>) -> Resource<PoolEntry> {
    Resource::new_borrow(handle.rep())
}

/// A socket address as a comparable pair.
fn sa(a: &SocketAddress) -> (String, u16) {
    (a.host.clone(), a.port)
}

/// Values of generated types (which do not implement `PartialEq`) compared through `Debug`.
fn dbg(value: impl std::fmt::Debug) -> String {
    format!("{value:?}")
}

fn addr(host: &str, port: u16) -> SocketAddress {
    SocketAddress {
        host: host.into(),
        port,
    }
}

fn tcp4(s: &mut InstanceState) -> Resource<SocketEntry> {
    s.net_view()
        .create_socket(AddressFamily::Ipv4, SocketProtocol::Tcp)
        .unwrap()
}

fn tcp6(s: &mut InstanceState) -> Resource<SocketEntry> {
    s.net_view()
        .create_socket(AddressFamily::Ipv6, SocketProtocol::Tcp)
        .unwrap()
}

fn udp4(s: &mut InstanceState) -> Resource<SocketEntry> {
    s.net_view()
        .create_socket(AddressFamily::Ipv4, SocketProtocol::Udp)
        .unwrap()
}

fn udp6(s: &mut InstanceState) -> Resource<SocketEntry> {
    s.net_view()
        .create_socket(AddressFamily::Ipv6, SocketProtocol::Udp)
        .unwrap()
}

/// Receives until `len` bytes have come (TCP may split them).
fn receive_exactly(s: &mut InstanceState, h: &Resource<SocketEntry>, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        let chunk = s.net_view().receive(b(h), 65_536).unwrap();
        assert!(!chunk.is_empty(), "the peer closed early");
        got.extend(chunk);
    }
    got
}

fn denied_with(result: Result<impl std::fmt::Debug, NetError>) -> String {
    match result {
        Err(NetError::PermissionDenied(text)) => text,
        other => panic!("expected permission-denied, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// TCP

fn tcp_round_trip(ip: &str, family: AddressFamily) {
    let server = tcp_echo(ip);
    let port = server.port();
    let (mut s, audit) = enforce(&[connect(ip, port)]);
    let h = s.net_view().create_socket(family, SocketProtocol::Tcp).unwrap();
    assert!(!s.net_view().is_connected(b(&h)));
    s.net_view().connect(b(&h), addr(ip, port)).unwrap();
    let client = server.next_connection();
    assert!(s.net_view().is_connected(b(&h)));
    assert!(matches!(
        s.net_view().connect(b(&h), addr(ip, port)),
        Err(NetError::AlreadyConnected)
    ));

    let local = s.net_view().local_address(b(&h)).unwrap();
    assert_eq!((local.host.as_str(), local.port), (ip, client.port()));
    let peer = s.net_view().peer_address(b(&h)).unwrap();
    assert_eq!((peer.host.as_str(), peer.port), (ip, port));
    let info = s.net_view().connection_info(b(&h)).unwrap();
    assert_eq!(sa(&info.local), sa(&local));
    assert_eq!(sa(&info.peer), sa(&peer));
    assert_eq!(info.protocol, SocketProtocol::Tcp);
    assert_eq!(info.family, family);
    s.net_view().set_nodelay(b(&h), true).unwrap();
    s.net_view().set_keepalive(b(&h), true).unwrap();
    assert!(matches!(
        s.net_view().get_option(b(&h), SocketOptionName::Nodelay),
        Ok(SocketOption::Nodelay(true))
    ));
    assert!(matches!(
        s.net_view().get_option(b(&h), SocketOptionName::Keepalive),
        Ok(SocketOption::Keepalive(true))
    ));

    assert_eq!(s.net_view().send(b(&h), b"hello".to_vec()).unwrap(), 5);
    assert_eq!(receive_exactly(&mut s, &h, 5), b"hello");
    // The echo server closes when our write side is shut: the stream ends.
    s.net_view().shutdown(b(&h), Direction::Write).unwrap();
    server.wait_closed(client);
    assert_eq!(s.net_view().receive(b(&h), 100).unwrap(), Vec::<u8>::new());
    assert!(!s.net_view().is_connected(b(&h)));
    s.net_view().close_socket(own(&h));
    assert!(matches!(s.net_view().peer_address(b(&h)), Err(NetError::InvalidHandle)));
    assert_eq!(s.net_view().handles_in_use(), 0);

    let target = if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    };
    let resource = format!("network:connect {target}");
    assert_eq!(
        lines(&audit),
        vec![
            line("socket.connect", &resource, "allowed"),
            line("socket.send", &resource, "allowed"),
            line("socket.receive", &resource, "allowed"),
        ]
    );
    assert!(by(&audit, 0).starts_with("grant network #1"), "{}", by(&audit, 0));
    assert!(
        by(&audit, 1).starts_with("socket connected under grant network #1"),
        "{}",
        by(&audit, 1)
    );
}

#[test]
fn tcp_round_trip_over_ipv4() {
    tcp_round_trip("127.0.0.1", AddressFamily::Ipv4);
}

#[test]
fn tcp_round_trip_over_ipv6() {
    tcp_round_trip("::1", AddressFamily::Ipv6);
}

#[test]
fn denied_connect_makes_no_connection_and_its_socket_cannot_send() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[connect("127.0.0.1", port + 1)]);
    let h = tcp4(&mut s);
    let text = denied_with(s.net_view().connect(b(&h), addr("127.0.0.1", port)));
    assert_eq!(text, format!("network:connect 127.0.0.1:{port}"));
    assert_eq!(
        denied_with(s.net_view().send(b(&h), b"leak".to_vec())),
        "network:connect (socket not connected)"
    );
    denied_with(s.net_view().receive(b(&h), 10));
    server.assert_no_connection();
    assert_eq!(
        lines(&audit),
        vec![
            line("socket.connect", &format!("network:connect 127.0.0.1:{port}"), "denied"),
            line("socket.send", "network:connect (socket not connected)", "denied"),
            line(
                "socket.receive",
                "network:connect|bind (socket neither connected nor bound)",
                "denied"
            ),
        ]
    );
    assert_eq!(by(&audit, 0), "no grant");
    assert_eq!(by(&audit, 1), "the socket has no authorized connect");
}

#[test]
fn refused_and_unconnected_errors() {
    let port = free_tcp_port("127.0.0.1");
    let (mut s, _) = enforce(&[connect("127.0.0.1", port)]);
    let h = tcp4(&mut s);
    assert!(matches!(s.net_view().peer_address(b(&h)), Err(NetError::NotConnected)));
    assert!(matches!(
        s.net_view().connection_info(b(&h)),
        Err(NetError::NotConnected)
    ));
    assert!(matches!(
        s.net_view().shutdown(b(&h), Direction::Both),
        Err(NetError::NotConnected)
    ));
    assert!(matches!(
        s.net_view().connect(b(&h), addr("127.0.0.1", port)),
        Err(NetError::ConnectionRefused)
    ));
    // The connect was authorized, so send gets to the system, which says what is wrong.
    assert!(matches!(
        s.net_view().send(b(&h), b"x".to_vec()),
        Err(NetError::NotConnected)
    ));
}

#[test]
fn bad_addresses_are_refused_before_anything_happens() {
    let (mut s, audit) = enforce(&[connect("**", 80)]);
    let h = tcp4(&mut s);
    denied_with(s.net_view().connect(b(&h), addr("127.0.0.1", 0)));
    denied_with(s.net_view().connect(b(&h), addr("bad host", 80)));
    assert_eq!(
        lines(&audit)[1],
        line("socket.connect", "network:connect bad host:80", "denied")
    );
    // Allowed, but an IPv4 address does not fit an IPv6 socket.
    let v6 = tcp6(&mut s);
    assert!(matches!(
        s.net_view().connect(b(&v6), addr("127.0.0.1", 80)),
        Err(NetError::InvalidInput(text)) if text.contains("IPv6")
    ));
}

// ---------------------------------------------------------------------------------------------
// Name-bound connects

#[test]
fn literals_reach_an_address_only_after_a_granted_resolve_returned_it() {
    let server = tcp_echo("127.0.0.1");
    let other = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[resolve("localhost"), connect("localhost", port)]);
    let forms = ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "::ffff:127.0.0.1"];
    for form in forms {
        let h = tcp4(&mut s);
        let text = denied_with(s.net_view().connect(b(&h), addr(form, port)));
        assert!(text.starts_with("network:connect "), "{text}");
    }
    server.assert_no_connection();

    assert_eq!(s.net_view().resolve("localhost".into()).unwrap(), "127.0.0.1");
    for form in forms {
        let h = tcp4(&mut s);
        s.net_view().connect(b(&h), addr(form, port)).unwrap();
        server.next_connection();
        s.net_view().send(b(&h), b"ok".to_vec()).unwrap();
        assert_eq!(receive_exactly(&mut s, &h, 2), b"ok");
    }
    // The name's grant decides: another port of the same address stays closed.
    let h = tcp4(&mut s);
    denied_with(s.net_view().connect(b(&h), addr("127.0.0.1", other.port())));
    other.assert_no_connection();

    let all = lines(&audit);
    let n = forms.len();
    for (i, form) in forms.iter().enumerate() {
        let shown = if form.contains(':') {
            format!("[{form}]:{port}")
        } else {
            format!("{form}:{port}")
        };
        assert_eq!(
            all[i],
            line("socket.connect", &format!("network:connect {shown}"), "denied")
        );
    }
    assert_eq!(
        all[n],
        line("connection.resolve", "network:resolve localhost", "allowed")
    );
    let by_name = format!("network:connect localhost:{port}");
    let connects: Vec<_> = all[n + 1..].iter().filter(|l| l.0 == "socket.connect").collect();
    assert_eq!(connects.len(), n + 1);
    assert!(
        connects[..n]
            .iter()
            .all(|l| **l == line("socket.connect", &by_name, "allowed"))
    );
    assert!(
        captured_by(&audit)
            .iter()
            .zip(audit.lines())
            .filter(|(_, l)| l["verdict"] == "allowed" && l["operation"] == "socket.connect")
            .all(|(by, _)| by.starts_with("grant network #2"))
    );
    assert_eq!(
        all.last().unwrap(),
        &line(
            "socket.connect",
            &format!("network:connect 127.0.0.1:{}", other.port()),
            "denied"
        )
    );
}

#[test]
fn a_name_given_to_connect_is_authorized_as_a_name_and_resolved_by_the_host() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[connect("localhost", port)]);
    let h = tcp4(&mut s);
    s.net_view().connect(b(&h), addr("LocalHost.", port)).unwrap();
    server.next_connection();
    s.net_view().send(b(&h), b"name".to_vec()).unwrap();
    assert_eq!(receive_exactly(&mut s, &h, 4), b"name");
    // The host's own lookup is no granted resolve: the address stays unreachable by literal.
    let h2 = tcp4(&mut s);
    denied_with(s.net_view().connect(b(&h2), addr("127.0.0.1", port)));
    server.assert_no_connection();
    // `localhost` has no IPv6 address here (the hosts file gives 127.0.0.1 only) or has one.
    let v6 = tcp6(&mut s);
    match s.net_view().connect(b(&v6), addr("localhost", port)) {
        Err(NetError::AddressNotAvailable(text)) => assert!(text.contains("IPv6"), "{text}"),
        Err(NetError::ConnectionRefused) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        lines(&audit)[0],
        line(
            "socket.connect",
            &format!("network:connect LocalHost.:{port}"),
            "allowed"
        )
    );
}

#[test]
fn a_policy_rule_on_an_address_holds_whatever_name_leads_there() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let policy = "[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }]\n";
    let (mut s, audit) = with_policy(&[resolve("localhost"), connect("localhost", port)], policy);
    // Resolving is not connecting: allowed.
    assert_eq!(s.net_view().resolve("localhost".into()).unwrap(), "127.0.0.1");
    let h = tcp4(&mut s);
    let text = denied_with(s.net_view().connect(b(&h), addr("127.0.0.1", port)));
    assert_eq!(text, format!("network:connect 127.0.0.1:{port}"));
    let h = tcp4(&mut s);
    let text = denied_with(s.net_view().connect(b(&h), addr("localhost", port)));
    assert_eq!(text, format!("network:connect 127.0.0.1:{port}"));
    denied_with(s.net_view().connect_host("localhost".into(), port, None));
    let pool = s.net_view().pool_create(2, None).unwrap();
    denied_with(s.net_view().pool_acquire(bp(&pool), "localhost".into(), port));
    server.assert_no_connection();
    let all = captured_by(&audit);
    assert!(all[1].starts_with("policy test-policy:"), "{all:?}");
    assert!(all[3].starts_with("policy test-policy:") && all[3].ends_with("(an address of localhost)"));
    let verdicts: Vec<_> = lines(&audit).into_iter().map(|l| l.2).collect();
    assert_eq!(
        verdicts,
        [
            "allowed", "denied", "allowed", "denied", "allowed", "allowed", "denied", "allowed", "denied"
        ]
    );
}

fn captured_by(audit: &Captured) -> Vec<String> {
    audit
        .lines()
        .iter()
        .map(|l| l["by"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn cloud_metadata_is_an_ungranted_literal() {
    let (mut s, audit) = enforce(&[connect("localhost", 80), resolve("localhost")]);
    let h = tcp4(&mut s);
    assert_eq!(
        denied_with(s.net_view().connect(b(&h), addr("169.254.169.254", 80))),
        "network:connect 169.254.169.254:80"
    );
    assert_eq!(lines(&audit).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Report-only mode

#[test]
fn report_only_lets_denied_requests_through_and_says_so() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = state(&manifest(&[resolve("nothing.example")]), Mode::ReportOnly);
    let h = tcp4(&mut s);
    s.net_view().connect(b(&h), addr("127.0.0.1", port)).unwrap();
    server.next_connection();
    s.net_view().send(b(&h), b"hi".to_vec()).unwrap();
    assert_eq!(receive_exactly(&mut s, &h, 2), b"hi");
    let resource = format!("network:connect 127.0.0.1:{port}");
    assert_eq!(
        lines(&audit),
        vec![
            line("socket.connect", &resource, "would-deny"),
            line("socket.send", &resource, "would-deny"),
            line("socket.receive", &resource, "would-deny"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// UDP

fn udp_round_trip(ip: &str, family: AddressFamily) {
    let server = udp_echo(ip);
    let port = server.port();
    let local = free_udp_port(ip);
    let (mut s, audit) = enforce(&[connect(ip, port), bind(ip, local)]);
    let h = s.net_view().create_socket(family, SocketProtocol::Udp).unwrap();
    s.net_view().bind(b(&h), addr(ip, local)).unwrap();
    assert_eq!(sa(&s.net_view().local_address(b(&h)).unwrap()), (ip.to_string(), local));
    assert_eq!(
        s.net_view().send_to(b(&h), b"ping".to_vec(), addr(ip, port)).unwrap(),
        4
    );
    let (from, data) = server.next_datagram();
    assert_eq!((from.port(), data.as_slice()), (local, &b"ping"[..]));
    let (data, sender) = s.net_view().receive_from(b(&h), 100).unwrap();
    assert_eq!((data.as_slice(), sa(&sender)), (&b"ping"[..], (ip.to_string(), port)));

    // A connected UDP socket: send and receive.
    s.net_view().connect(b(&h), addr(ip, port)).unwrap();
    assert!(s.net_view().is_connected(b(&h)));
    assert_eq!(
        s.net_view().connection_info(b(&h)).unwrap().protocol,
        SocketProtocol::Udp
    );
    s.net_view().send(b(&h), b"pong".to_vec()).unwrap();
    assert_eq!(server.next_datagram().1, b"pong");
    assert_eq!(s.net_view().receive(b(&h), 100).unwrap(), b"pong");
    // A datagram larger than max-len is cut.
    s.net_view().send(b(&h), b"0123456789".to_vec()).unwrap();
    assert_eq!(s.net_view().receive(b(&h), 3).unwrap(), b"012");

    let at = |host: &str, p: u16| {
        if host.contains(':') {
            format!("[{host}]:{p}")
        } else {
            format!("{host}:{p}")
        }
    };
    assert_eq!(
        lines(&audit)[..4],
        [
            line("socket.bind", &format!("network:bind {}", at(ip, local)), "allowed"),
            line(
                "socket.send-to",
                &format!("network:connect {}", at(ip, port)),
                "allowed"
            ),
            line(
                "socket.receive-from",
                &format!("network:bind {}", at(ip, local)),
                "allowed"
            ),
            line(
                "socket.connect",
                &format!("network:connect {}", at(ip, port)),
                "allowed"
            ),
        ]
    );
}

#[test]
fn udp_round_trip_over_ipv4() {
    udp_round_trip("127.0.0.1", AddressFamily::Ipv4);
}

#[test]
fn udp_round_trip_over_ipv6() {
    udp_round_trip("::1", AddressFamily::Ipv6);
}

#[test]
fn udp_denials_send_nothing() {
    let server = udp_echo("127.0.0.1");
    let port = server.port();
    let local = free_udp_port("127.0.0.1");
    let (mut s, audit) = enforce(&[connect("127.0.0.1", port + 1)]);
    let h = udp4(&mut s);
    denied_with(s.net_view().send_to(b(&h), b"leak".to_vec(), addr("127.0.0.1", port)));
    denied_with(s.net_view().send_to(b(&h), b"leak".to_vec(), addr("2130706433", port)));
    denied_with(s.net_view().bind(b(&h), addr("127.0.0.1", local)));
    denied_with(s.net_view().receive_from(b(&h), 10));
    denied_with(s.net_view().connect(b(&h), addr("127.0.0.1", port)));
    denied_with(s.net_view().send(b(&h), b"leak".to_vec()));
    server.assert_no_datagram();
    // The denied bind left the port free.
    UdpSocket::bind(("127.0.0.1", local)).unwrap();
    assert!(lines(&audit).iter().all(|l| l.2 == "denied"));
    assert_eq!(
        lines(&audit)[3],
        line("socket.receive-from", "network:bind (socket not bound)", "denied")
    );
}

#[test]
fn datagram_operations_need_a_udp_socket_and_stream_ones_a_tcp_socket() {
    let (mut s, audit) = enforce(&[connect("**", 9)]);
    let t = tcp4(&mut s);
    let u = udp4(&mut s);
    assert!(matches!(
        s.net_view().send_to(b(&t), vec![1], addr("127.0.0.1", 9)),
        Err(NetError::InvalidHandle)
    ));
    assert!(matches!(
        s.net_view().receive_from(b(&t), 1),
        Err(NetError::InvalidHandle)
    ));
    assert!(matches!(s.net_view().listen(b(&u), 1), Err(NetError::InvalidHandle)));
    assert!(matches!(s.net_view().accept(b(&u)), Err(NetError::InvalidHandle)));
    assert!(matches!(
        s.net_view().set_keepalive(b(&u), true),
        Err(NetError::InvalidHandle)
    ));
    assert!(matches!(
        s.net_view().set_nodelay(b(&u), true),
        Err(NetError::InvalidHandle)
    ));
    assert!(matches!(
        s.net_view().join_multicast(b(&t), "239.1.2.3".into(), None),
        Err(NetError::InvalidHandle)
    ));
    assert!(lines(&audit).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Listening

#[test]
fn bind_listen_accept_serve() {
    let port = free_tcp_port("127.0.0.1");
    let (mut s, audit) = enforce(&[bind("127.0.0.1", port), listen("127.0.0.1", port)]);
    let l = tcp4(&mut s);
    s.net_view()
        .set_option(b(&l), SocketOption::ReuseAddress(true))
        .unwrap();
    s.net_view().bind(b(&l), addr("127.0.0.1", port)).unwrap();
    s.net_view().listen(b(&l), 8).unwrap();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"request").unwrap();
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).unwrap();
        (stream.local_addr().unwrap(), reply)
    });
    let (conn, from) = s.net_view().accept(b(&l)).unwrap();
    assert_eq!(receive_exactly(&mut s, &conn, 7), b"request");
    s.net_view().send(b(&conn), b"reply".to_vec()).unwrap();
    let (client_addr, reply) = client.join().unwrap();
    assert_eq!(&reply, b"reply");
    assert_eq!(sa(&from), ("127.0.0.1".to_string(), client_addr.port()));
    assert_eq!(sa(&s.net_view().peer_address(b(&conn)).unwrap()), sa(&from));
    assert_eq!(s.net_view().handles_in_use(), 2);

    let bound = format!("127.0.0.1:{port}");
    assert_eq!(
        lines(&audit),
        vec![
            line("socket.bind", &format!("network:bind {bound}"), "allowed"),
            line("socket.listen", &format!("network:listen {bound}"), "allowed"),
            line("socket.accept", &format!("network:listen {bound}"), "allowed"),
            line("socket.receive", &format!("network:listen {bound}"), "allowed"),
            line("socket.send", &format!("network:listen {bound}"), "allowed"),
        ]
    );
    assert!(by(&audit, 2).starts_with("socket listening under grant network #2"));
    assert!(by(&audit, 4).starts_with("socket accepted on a listener under grant network #2"));
}

#[test]
fn listen_needs_an_authorized_bind_and_a_listen_grant() {
    let port = free_tcp_port("127.0.0.1");
    let other = free_tcp_port("127.0.0.1");
    let (mut s, audit) = enforce(&[bind("127.0.0.1", port), listen("127.0.0.1", other)]);
    // Bound, but no listen grant for this port.
    let l = tcp4(&mut s);
    s.net_view().bind(b(&l), addr("127.0.0.1", port)).unwrap();
    assert_eq!(
        denied_with(s.net_view().listen(b(&l), 8)),
        format!("network:listen 127.0.0.1:{port}")
    );
    denied_with(s.net_view().accept(b(&l)));
    // Nobody listens there.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    // Never bound (the denied bind left it so): listen is refused before the system would
    // pick a port for it.
    let l2 = tcp4(&mut s);
    denied_with(s.net_view().bind(b(&l2), addr("127.0.0.1", other)));
    assert_eq!(
        denied_with(s.net_view().listen(b(&l2), 8)),
        "network:bind (socket not bound)"
    );
    assert!(TcpStream::connect(("127.0.0.1", other)).is_err());
    assert!(matches!(s.net_view().local_address(b(&l2)), Ok(a) if a.port == 0));
    let verdicts: Vec<_> = lines(&audit).into_iter().map(|l| (l.0, l.2)).collect();
    assert_eq!(
        verdicts,
        [
            ("socket.bind", "allowed"),
            ("socket.listen", "denied"),
            ("socket.accept", "denied"),
            ("socket.bind", "denied"),
            ("socket.listen", "denied"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[test]
fn bind_takes_addresses_and_localhost_but_sends_no_dns_query() {
    let port = free_tcp_port("127.0.0.1");
    let (mut s, _) = enforce(&[format!("{{ action = \"bind\", port = {port} }}")]);
    let h = tcp4(&mut s);
    assert!(matches!(
        s.net_view().bind(b(&h), addr("example.com", port)),
        Err(NetError::InvalidInput(text)) if text.contains("not a host name")
    ));
    s.net_view().bind(b(&h), addr("localhost", port)).unwrap();
    assert_eq!(
        sa(&s.net_view().local_address(b(&h)).unwrap()),
        ("127.0.0.1".to_string(), port)
    );
    assert!(matches!(
        s.net_view().bind(b(&h), addr("127.0.0.1", port)),
        Err(NetError::InvalidInput(_))
    ));
    // The port is taken now.
    let again = tcp4(&mut s);
    assert!(matches!(
        s.net_view().bind(b(&again), addr("127.0.0.1", port)),
        Err(NetError::AlreadyExists(text)) if text == format!("127.0.0.1:{port}")
    ));
    // An address this machine does not have.
    let away = tcp4(&mut s);
    assert!(matches!(
        s.net_view().bind(b(&away), addr("192.0.2.77", port)),
        Err(NetError::AddressNotAvailable(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Options, timeouts, blocking mode

#[test]
fn every_option_can_be_set_and_read() {
    let (mut s, audit) = enforce(&[]);
    for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
        let t = s.net_view().create_socket(family, SocketProtocol::Tcp).unwrap();
        let u = s.net_view().create_socket(family, SocketProtocol::Udp).unwrap();
        let get = |s: &mut InstanceState, h: &Resource<SocketEntry>, n| s.net_view().get_option(b(h), n).unwrap();
        for on in [true, false] {
            s.net_view().set_option(b(&t), SocketOption::ReuseAddress(on)).unwrap();
            assert_eq!(
                dbg(get(&mut s, &t, SocketOptionName::ReuseAddress)),
                dbg(SocketOption::ReuseAddress(on))
            );
            s.net_view().set_option(b(&t), SocketOption::ReusePort(on)).unwrap();
            assert_eq!(
                dbg(get(&mut s, &t, SocketOptionName::ReusePort)),
                dbg(SocketOption::ReusePort(on))
            );
            s.net_view().set_option(b(&t), SocketOption::Keepalive(on)).unwrap();
            assert_eq!(
                dbg(get(&mut s, &t, SocketOptionName::Keepalive)),
                dbg(SocketOption::Keepalive(on))
            );
            s.net_view().set_option(b(&t), SocketOption::Nodelay(on)).unwrap();
            assert_eq!(
                dbg(get(&mut s, &t, SocketOptionName::Nodelay)),
                dbg(SocketOption::Nodelay(on))
            );
            s.net_view().set_option(b(&u), SocketOption::Broadcast(on)).unwrap();
            assert_eq!(
                dbg(get(&mut s, &u, SocketOptionName::Broadcast)),
                dbg(SocketOption::Broadcast(on))
            );
        }
        s.net_view()
            .set_option(b(&t), SocketOption::ReceiveBufferSize(65_536))
            .unwrap();
        assert!(matches!(
            get(&mut s, &t, SocketOptionName::ReceiveBufferSize),
            SocketOption::ReceiveBufferSize(n) if n >= 65_536
        ));
        s.net_view()
            .set_option(b(&t), SocketOption::SendBufferSize(65_536))
            .unwrap();
        assert!(matches!(
            get(&mut s, &t, SocketOptionName::SendBufferSize),
            SocketOption::SendBufferSize(n) if n >= 65_536
        ));
        s.net_view().set_option(b(&t), SocketOption::Ttl(42)).unwrap();
        assert_eq!(dbg(get(&mut s, &t, SocketOptionName::Ttl)), dbg(SocketOption::Ttl(42)));
        s.net_view()
            .set_option(b(&t), SocketOption::Linger(Some(1500)))
            .unwrap();
        assert_eq!(
            dbg(get(&mut s, &t, SocketOptionName::Linger)),
            dbg(SocketOption::Linger(Some(2000)))
        );
        s.net_view().set_option(b(&t), SocketOption::Linger(None)).unwrap();
        assert_eq!(
            dbg(get(&mut s, &t, SocketOptionName::Linger)),
            dbg(SocketOption::Linger(None))
        );

        // Options of the other protocol.
        for (h, opt) in [
            (&t, SocketOption::Broadcast(true)),
            (&u, SocketOption::Keepalive(true)),
            (&u, SocketOption::Nodelay(true)),
        ] {
            assert!(matches!(
                s.net_view().set_option(b(h), opt),
                Err(NetError::InvalidHandle)
            ));
        }
        assert!(matches!(
            s.net_view().get_option(b(&u), SocketOptionName::Nodelay),
            Err(NetError::InvalidHandle)
        ));
        assert!(matches!(
            s.net_view()
                .set_option(b(&t), SocketOption::ReceiveBufferSize(u64::MAX)),
            Err(NetError::InvalidInput(_))
        ));
        if family == AddressFamily::Ipv4 {
            assert!(matches!(
                s.net_view().set_option(b(&t), SocketOption::Ttl(0)),
                Err(NetError::InvalidInput(_))
            ));
        }
    }
    assert!(lines(&audit).is_empty(), "options need no grant");
}

#[test]
fn timeouts_and_non_blocking_mode() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let listen_port = free_tcp_port("127.0.0.1");
    let (mut s, _) = enforce(&[
        connect("127.0.0.1", port),
        bind("127.0.0.1", listen_port),
        listen("127.0.0.1", listen_port),
    ]);
    let h = tcp4(&mut s);
    s.net_view().connect(b(&h), addr("127.0.0.1", port)).unwrap();
    // The echo server sends nothing unasked: a receive waits for its timeout.
    s.net_view().set_timeout(b(&h), Direction::Read, Some(50)).unwrap();
    assert!(matches!(s.net_view().receive(b(&h), 10), Err(NetError::Timeout)));
    s.net_view().set_nonblocking(b(&h), true).unwrap();
    assert!(matches!(s.net_view().receive(b(&h), 10), Err(NetError::WouldBlock)));
    s.net_view().set_nonblocking(b(&h), false).unwrap();
    s.net_view().set_timeout(b(&h), Direction::Both, None).unwrap();
    assert!(matches!(
        s.net_view().set_timeout(b(&h), Direction::Write, Some(0)),
        Err(NetError::InvalidInput(_))
    ));
    // A non-blocking listener with nobody waiting.
    let l = tcp4(&mut s);
    s.net_view().bind(b(&l), addr("127.0.0.1", listen_port)).unwrap();
    s.net_view().listen(b(&l), 1).unwrap();
    s.net_view().set_nonblocking(b(&l), true).unwrap();
    assert!(matches!(s.net_view().accept(b(&l)), Err(NetError::WouldBlock)));
    // A non-blocking socket still connects (the handshake is waited for).
    let n = tcp4(&mut s);
    s.net_view().set_nonblocking(b(&n), true).unwrap();
    s.net_view().connect(b(&n), addr("127.0.0.1", port)).unwrap();
    s.net_view().send(b(&n), b"nb".to_vec()).unwrap();
    server.next_connection();
    server.next_connection();
}

#[test]
fn reads_are_bounded_by_the_instance_limit() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, _) = enforce(&[connect("127.0.0.1", port)]);
    s.guard.run_limits.max_read_bytes = 4;
    let h = tcp4(&mut s);
    s.net_view().connect(b(&h), addr("127.0.0.1", port)).unwrap();
    s.net_view().send(b(&h), b"hello world".to_vec()).unwrap();
    let mut got = Vec::new();
    while got.len() < 11 {
        let chunk = s.net_view().receive(b(&h), u64::MAX).unwrap();
        assert!(!chunk.is_empty() && chunk.len() <= 4, "{chunk:?}");
        got.extend(chunk);
    }
    assert_eq!(got, b"hello world");
    assert!(matches!(s.net_view().receive(b(&h), 0), Err(NetError::InvalidInput(_))));
}

#[test]
fn handles_are_counted_against_the_limit() {
    let (mut s, _) = enforce(&[]);
    s.guard.run_limits.max_handles = 2;
    let a = tcp4(&mut s);
    let pool = s.net_view().pool_create(1, None).unwrap();
    assert!(matches!(
        s.net_view().create_socket(AddressFamily::Ipv4, SocketProtocol::Udp),
        Err(NetError::Io(_))
    ));
    assert!(matches!(s.net_view().pool_create(1, None), Err(NetError::Io(_))));
    // Dropping a handle (as the guest's drop does) frees its place.
    crate::runtime::bindings::net_types::HostSocket::drop(&mut s.net_view(), own(&a)).unwrap();
    let c = udp6(&mut s);
    crate::runtime::bindings::net_types::HostPool::drop(&mut s.net_view(), Resource::new_own(pool.rep())).unwrap();
    let _ = s.net_view().pool_create(3, None).unwrap();
    assert_eq!(s.net_view().handles_in_use(), 2);
    s.net_view().close_socket(own(&c));
    assert_eq!(s.net_view().handles_in_use(), 1);
}

// ---------------------------------------------------------------------------------------------
// Multicast

#[test]
fn multicast_membership_on_loopback() {
    let group = "239.255.42.7";
    let port = free_udp_port("127.0.0.1");
    let (mut s, audit) = enforce(&[bind(group, port)]);
    let h = udp4(&mut s);
    // Unbound: refused.
    denied_with(
        s.net_view()
            .join_multicast(b(&h), group.into(), Some("127.0.0.1".into())),
    );
    denied_with(s.net_view().set_multicast_ttl(b(&h), 1));
    denied_with(s.net_view().leave_multicast(b(&h), group.into(), None));
    s.net_view()
        .set_option(b(&h), SocketOption::ReuseAddress(true))
        .unwrap();
    s.net_view().bind(b(&h), addr(group, port)).unwrap();
    s.net_view()
        .join_multicast(b(&h), group.into(), Some("127.0.0.1".into()))
        .unwrap();
    s.net_view().set_multicast_ttl(b(&h), 1).unwrap();
    assert!(matches!(
        s.net_view().set_multicast_ttl(b(&h), 256),
        Err(NetError::InvalidInput(_))
    ));
    assert!(matches!(
        s.net_view().join_multicast(b(&h), "127.0.0.1".into(), None),
        Err(NetError::InvalidInput(text)) if text.contains("not a multicast")
    ));
    assert!(matches!(
        s.net_view().join_multicast(b(&h), "ff02::1".into(), None),
        Err(NetError::InvalidInput(_))
    ));

    // A datagram to the group, sent on the loopback interface, arrives.
    let sender = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    let to: SocketAddr = format!("{group}:{port}").parse().unwrap();
    sender.send_to(b"to the group", &to.into()).unwrap();
    let (data, _) = s.net_view().receive_from(b(&h), 100).unwrap();
    assert_eq!(data, b"to the group");
    s.net_view()
        .leave_multicast(b(&h), group.into(), Some("127.0.0.1".into()))
        .unwrap();
    assert!(matches!(
        s.net_view()
            .leave_multicast(b(&h), group.into(), Some("127.0.0.1".into())),
        Err(NetError::AddressNotAvailable(_))
    ));
    let ops: Vec<_> = lines(&audit).into_iter().map(|l| (l.0, l.2)).collect();
    assert_eq!(ops[0], ("socket.join-multicast".to_string(), "denied".to_string()));
    assert_eq!(ops[1], ("socket.set-multicast-ttl".to_string(), "denied".to_string()));
    assert_eq!(ops[2], ("socket.leave-multicast".to_string(), "denied".to_string()));
    assert_eq!(ops[3], ("socket.bind".to_string(), "allowed".to_string()));
    assert_eq!(ops[4], ("socket.join-multicast".to_string(), "allowed".to_string()));
}

#[test]
fn ipv6_multicast_on_the_loopback_interface() {
    let port = free_udp_port("::1");
    let (mut s, _) = enforce(&[bind("::1", port)]);
    let h = udp6(&mut s);
    s.net_view().bind(b(&h), addr("::1", port)).unwrap();
    s.net_view()
        .join_multicast(b(&h), "ff02::1:7".into(), Some("::1".into()))
        .unwrap();
    s.net_view().set_multicast_ttl(b(&h), 2).unwrap();
    s.net_view()
        .leave_multicast(b(&h), "ff02::1:7".into(), Some("::1".into()))
        .unwrap();
    assert!(matches!(
        s.net_view()
            .join_multicast(b(&h), "ff02::1:7".into(), Some("2001:db8::99".into())),
        Err(NetError::AddressNotAvailable(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Resolution

#[test]
fn resolve_resolve_all_and_reverse_lookup() {
    let (mut s, audit) = enforce(&[resolve("localhost"), resolve("127.0.0.1")]);
    assert_eq!(s.net_view().resolve("localhost".into()).unwrap(), "127.0.0.1");
    let all = s.net_view().resolve_all("LOCALHOST.".into()).unwrap();
    assert!(all.contains(&"127.0.0.1".to_string()), "{all:?}");
    let name = s.net_view().reverse_lookup("127.0.0.1".into()).unwrap();
    assert!(!name.is_empty());
    assert_eq!(
        denied_with(s.net_view().resolve("example.com".into())),
        "network:resolve example.com"
    );
    denied_with(s.net_view().resolve_all("example.com".into()));
    denied_with(s.net_view().reverse_lookup("::1".into()));
    denied_with(s.net_view().resolve("a b".into()));
    assert_eq!(
        lines(&audit),
        vec![
            line("connection.resolve", "network:resolve localhost", "allowed"),
            line("connection.resolve-all", "network:resolve LOCALHOST.", "allowed"),
            line("connection.reverse-lookup", "network:resolve 127.0.0.1", "allowed"),
            line("connection.resolve", "network:resolve example.com", "denied"),
            line("connection.resolve-all", "network:resolve example.com", "denied"),
            line("connection.reverse-lookup", "network:resolve ::1", "denied"),
            line("connection.resolve", "network:resolve a b", "denied"),
        ]
    );
    let (mut s, _) = enforce(&[resolve("**")]);
    assert!(matches!(
        s.net_view().reverse_lookup("localhost".into()),
        Err(NetError::InvalidInput(_))
    ));
    assert_eq!(s.net_view().resolve("0x7f.1".into()).unwrap(), "127.0.0.1");
    // Resolving a literal is no resolve of a name: nothing to remember.
    assert!(s.net.resolved.is_empty());
}

#[test]
fn remembered_addresses_are_bounded() {
    let (mut s, _) = enforce(&[]);
    assert!(s.net.resolved.is_empty());
    for i in 0..(super::MAX_RESOLVED as u32 + 10) {
        s.net_view()
            .remember("many.example", &[std::net::IpAddr::from(i.to_be_bytes())]);
    }
    for i in 0..(super::MAX_NAMES_PER_ADDRESS + 5) {
        s.net_view()
            .remember(&format!("n{i}.example"), &[std::net::IpAddr::from([0, 0, 0, 0])]);
    }
    assert_eq!(s.net.resolved.len(), super::MAX_RESOLVED);
    assert_eq!(
        s.net.resolved[&std::net::IpAddr::from([0, 0, 0, 0])].len(),
        super::MAX_NAMES_PER_ADDRESS
    );
}

#[test]
fn connect_host_asks_for_both_grants_first() {
    let server = tcp_echo("127.0.0.1");
    let closed = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[resolve("localhost"), connect("localhost", port)]);
    let h = s
        .net_view()
        .connect_host("localhost".into(), port, Some(5_000))
        .unwrap();
    server.next_connection();
    s.net_view().send(b(&h), b"by name".to_vec()).unwrap();
    assert_eq!(receive_exactly(&mut s, &h, 7), b"by name");
    // The granted resolve inside connect-host makes the address reachable by literal.
    let lit = tcp4(&mut s);
    s.net_view().connect(b(&lit), addr("127.0.0.1", port)).unwrap();
    server.next_connection();
    // No connect grant for this port: the resolve part is allowed, the connect part is not.
    denied_with(s.net_view().connect_host("localhost".into(), closed.port(), None));
    closed.assert_no_connection();
    assert!(matches!(
        s.net_view().connect_host("localhost".into(), port, Some(0)),
        Err(NetError::InvalidInput(_))
    ));
    let all = lines(&audit);
    assert_eq!(
        all[..5],
        [
            line("connection.connect-host", "network:resolve localhost", "allowed"),
            line(
                "connection.connect-host",
                &format!("network:connect localhost:{port}"),
                "allowed"
            ),
            line("socket.send", &format!("network:connect localhost:{port}"), "allowed"),
            line(
                "socket.receive",
                &format!("network:connect localhost:{port}"),
                "allowed"
            ),
            line(
                "socket.connect",
                &format!("network:connect localhost:{port}"),
                "allowed"
            ),
        ]
    );
    assert_eq!(
        all[5..7],
        [
            line("connection.connect-host", "network:resolve localhost", "allowed"),
            line(
                "connection.connect-host",
                &format!("network:connect localhost:{}", closed.port()),
                "denied"
            ),
        ]
    );

    // Without the resolve grant nothing else is asked.
    let (mut s, audit) = enforce(&[connect("localhost", port)]);
    denied_with(s.net_view().connect_host("localhost".into(), port, None));
    assert_eq!(
        lines(&audit),
        vec![line("connection.connect-host", "network:resolve localhost", "denied")]
    );
    server.assert_no_connection();
}

// ---------------------------------------------------------------------------------------------
// Pools

#[test]
fn pools_reuse_idle_connections_and_stay_within_their_size() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[connect("127.0.0.1", port)]);
    let pool = s.net_view().pool_create(1, None).unwrap();
    let a = s.net_view().pool_acquire(bp(&pool), "127.0.0.1".into(), port).unwrap();
    let first = server.next_connection();
    s.net_view().send(b(&a), b"pooled".to_vec()).unwrap();
    assert_eq!(receive_exactly(&mut s, &a, 6), b"pooled");
    assert!(matches!(
        s.net_view().pool_acquire(bp(&pool), "127.0.0.1".into(), port),
        Err(NetError::PoolExhausted)
    ));
    s.net_view().pool_release(bp(&pool), own(&a)).unwrap();
    assert_eq!(s.net_view().handles_in_use(), 2, "the pool and its idle connection");
    // The same connection again, not a new one.
    let again = s.net_view().pool_acquire(bp(&pool), "127.0.0.1".into(), port).unwrap();
    assert_eq!(s.net_view().local_address(b(&again)).unwrap().port, first.port());
    s.net_view().send(b(&again), b"again".to_vec()).unwrap();
    assert_eq!(receive_exactly(&mut s, &again, 5), b"again");
    server.assert_no_connection();
    s.net_view().pool_release(bp(&pool), own(&again)).unwrap();
    // Closing the pool closes its idle connection.
    s.net_view().pool_close(Resource::new_own(pool.rep()));
    server.wait_closed(first);
    assert_eq!(s.net_view().handles_in_use(), 0);
    let resource = format!("network:connect 127.0.0.1:{port}");
    let acquires: Vec<_> = audit
        .lines()
        .into_iter()
        .filter(|l| l["operation"] == "connection.pool-acquire")
        .collect();
    assert_eq!(acquires.len(), 3);
    assert!(
        acquires
            .iter()
            .all(|l| l["resource"] == resource.as_str() && l["verdict"] == "allowed")
    );
}

#[test]
fn pool_release_takes_only_its_own_connections() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, _) = enforce(&[connect("127.0.0.1", port)]);
    let pool = s.net_view().pool_create(4, None).unwrap();
    let other = s.net_view().pool_create(4, None).unwrap();
    let plain = tcp4(&mut s);
    assert!(matches!(
        s.net_view().pool_release(bp(&pool), own(&plain)),
        Err(NetError::InvalidHandle)
    ));
    let c = s.net_view().pool_acquire(bp(&other), "127.0.0.1".into(), port).unwrap();
    server.next_connection();
    assert!(matches!(
        s.net_view().pool_release(bp(&pool), own(&c)),
        Err(NetError::InvalidHandle)
    ));
    // Both were given away, and closed.
    assert!(matches!(s.net_view().peer_address(b(&c)), Err(NetError::InvalidHandle)));
    assert_eq!(s.net_view().handles_in_use(), 2);
    assert!(matches!(
        s.net_view().pool_create(0, None),
        Err(NetError::InvalidInput(_))
    ));
}

#[test]
fn pools_close_expired_and_evict_idle_connections() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, _) = enforce(&[connect("127.0.0.1", port), connect("localhost", port)]);
    // Idle timeout 0: nothing idle survives until the next use.
    let pool = s.net_view().pool_create(2, Some(0)).unwrap();
    let a = s.net_view().pool_acquire(bp(&pool), "127.0.0.1".into(), port).unwrap();
    let first = server.next_connection();
    s.net_view().pool_release(bp(&pool), own(&a)).unwrap();
    let b2 = s.net_view().pool_acquire(bp(&pool), "127.0.0.1".into(), port).unwrap();
    server.wait_closed(first);
    let second = server.next_connection();
    assert_ne!(first, second);
    s.net_view().close_socket(own(&b2));
    server.wait_closed(second);

    // At its size, a pool closes an idle connection to another host to make room.
    let small = s.net_view().pool_create(1, None).unwrap();
    let x = s.net_view().pool_acquire(bp(&small), "127.0.0.1".into(), port).unwrap();
    let x_addr = server.next_connection();
    s.net_view().pool_release(bp(&small), own(&x)).unwrap();
    let y = s.net_view().pool_acquire(bp(&small), "localhost".into(), port).unwrap();
    server.wait_closed(x_addr);
    server.next_connection();
    // A connection whose peer went away is not reused.
    s.net_view().shutdown(b(&y), Direction::Both).unwrap();
    s.net_view().pool_release(bp(&small), own(&y)).unwrap();
    let _z = s.net_view().pool_acquire(bp(&small), "localhost".into(), port).unwrap();
    server.next_connection();
}

#[test]
fn pool_acquire_to_an_ungranted_host_opens_nothing() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let (mut s, audit) = enforce(&[connect("localhost", port)]);
    let pool = s.net_view().pool_create(2, None).unwrap();
    for host in [
        "127.0.0.1",
        "2130706433",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "other.example",
    ] {
        let text = denied_with(s.net_view().pool_acquire(bp(&pool), host.into(), port));
        assert!(text.starts_with("network:connect "), "{text}");
    }
    server.assert_no_connection();
    assert!(
        lines(&audit)
            .iter()
            .all(|l| l.0 == "connection.pool-acquire" && l.2 == "denied")
    );
}
