//! The network host through a real guest (the proxy component): TCP and UDP traffic with
//! loopback servers that the tests start, the same operations denied, the audit lines, and the
//! network part of the escape suite. Every escape test asserts the denial and that the test's
//! server saw no connection or datagram (a probe sent afterwards is the first thing it sees).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;

use airssys_wasm::diagnostics::Sources;
use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::runtime::Mode;
use wasmtime::component::Val;

use crate::guest::{NET, Proxy, bytes, err_case, field, is_denied, lines, ok, s, unbytes};
use crate::support::{free_tcp_port, free_udp_port, tcp_echo, udp_echo};

// ---------------------------------------------------------------- manifests and values

fn manifest(grants: &[String]) -> String {
    format!(
        "[component]\nname = \"net-guest\"\nversion = \"1.0.0\"\n[permissions]\nnetwork = [\n{}\n]\n",
        grants.join(",\n")
    )
}

fn grant(action: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("  {{ action = \"{action}\", domain = \"{host}\", port = {port} }}"),
        None => format!("  {{ action = \"{action}\", domain = \"{host}\" }}"),
    }
}

fn addr(host: &str, port: u16) -> Val {
    Val::Record(vec![("host".into(), s(host)), ("port".into(), Val::U16(port))])
}

fn some(v: Val) -> Val {
    Val::Option(Some(Box::new(v)))
}

fn socket(p: &mut Proxy, family: &str, protocol: &str) -> Val {
    ok(p.call(
        "socket.create-socket",
        &[Val::Enum(family.into()), Val::Enum(protocol.into())],
    ))
}

/// Receives until `len` bytes have come.
fn receive_exactly(p: &mut Proxy, h: &Val, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        let chunk = unbytes(&ok(p.call("socket.receive", &[h.clone(), Val::U64(65_536)])));
        assert!(!chunk.is_empty(), "the peer closed early");
        got.extend(chunk);
    }
    got
}

/// Asserts a permission-denied result whose last audit line denies `resource` for `op`.
#[track_caller]
fn assert_denied(p: &Proxy, r: &Val, op: &str, resource: &str) {
    assert!(is_denied(r), "expected permission-denied, got {r:?}");
    let last = p.audit().pop().expect("an audit line");
    assert_eq!(
        (
            last["operation"].as_str(),
            last["resource"].as_str(),
            last["verdict"].as_str()
        ),
        (Some(op), Some(resource), Some("denied")),
        "{last}"
    );
}

// ---------------------------------------------------------------- allowed and denied

#[test]
fn a_guest_talks_tcp_and_udp_over_loopback() {
    let tcp = tcp_echo("127.0.0.1");
    let tcp6 = tcp_echo("::1");
    let udp = udp_echo("127.0.0.1");
    let local = free_udp_port("127.0.0.1");
    let listen_port = free_tcp_port("127.0.0.1");
    let mut p = Proxy::of(
        NET,
        &manifest(&[
            grant("connect", "127.0.0.1", Some(tcp.port())),
            grant("connect", "::1", Some(tcp6.port())),
            grant("connect", "127.0.0.1", Some(udp.port())),
            grant("bind", "127.0.0.1", Some(local)),
            grant("resolve", "localhost", None),
            grant("connect", "localhost", Some(tcp.port())),
            grant("bind", "127.0.0.1", Some(listen_port)),
            grant("listen", "127.0.0.1", Some(listen_port)),
        ]),
    );

    // TCP over IPv4: connect, options, traffic, details, shutdown, close.
    let h = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.connect", &[h.clone(), addr("127.0.0.1", tcp.port())]));
    let client = tcp.next_connection();
    assert_eq!(
        p.call("connection.is-connected", std::slice::from_ref(&h)),
        Val::Bool(true)
    );
    ok(p.call("connection.set-nodelay", &[h.clone(), Val::Bool(true)]));
    ok(p.call("connection.set-keepalive", &[h.clone(), Val::Bool(true)]));
    ok(p.call(
        "socket.set-option",
        &[h.clone(), Val::Variant("ttl".into(), Some(Box::new(Val::U8(33))))],
    ));
    assert_eq!(
        ok(p.call("socket.get-option", &[h.clone(), Val::Enum("ttl".into())])),
        Val::Variant("ttl".into(), Some(Box::new(Val::U8(33))))
    );
    ok(p.call(
        "socket.set-timeout",
        &[h.clone(), Val::Enum("both".into()), some(Val::U64(10_000))],
    ));
    assert_eq!(ok(p.call("socket.send", &[h.clone(), bytes(b"over tcp")])), Val::U64(8));
    assert_eq!(receive_exactly(&mut p, &h, 8), b"over tcp");
    let info = ok(p.call("connection.connection-info", std::slice::from_ref(&h)));
    assert_eq!(field(&info, "peer"), &addr("127.0.0.1", tcp.port()));
    assert_eq!(field(&info, "local"), &addr("127.0.0.1", client.port()));
    assert_eq!(field(&info, "protocol"), &Val::Enum("tcp".into()));
    assert_eq!(
        ok(p.call("socket.local-address", std::slice::from_ref(&h))),
        addr("127.0.0.1", client.port())
    );
    assert_eq!(
        ok(p.call("socket.peer-address", std::slice::from_ref(&h))),
        addr("127.0.0.1", tcp.port())
    );
    ok(p.call("socket.set-nonblocking", &[h.clone(), Val::Bool(true)]));
    assert_eq!(
        err_case(&p.call("socket.receive", &[h.clone(), Val::U64(10)])),
        Some("would-block")
    );
    ok(p.call("socket.shutdown", &[h.clone(), Val::Enum("both".into())]));
    p.call("socket.close-socket", &[h]);

    // TCP over IPv6.
    let h6 = socket(&mut p, "ipv6", "tcp");
    ok(p.call("socket.connect", &[h6.clone(), addr("::1", tcp6.port())]));
    tcp6.next_connection();
    ok(p.call("socket.send", &[h6.clone(), bytes(b"v6")]));
    assert_eq!(receive_exactly(&mut p, &h6, 2), b"v6");

    // UDP: bind, send-to, receive-from; then a connected UDP socket.
    let u = socket(&mut p, "ipv4", "udp");
    ok(p.call("socket.bind", &[u.clone(), addr("127.0.0.1", local)]));
    assert_eq!(
        ok(p.call(
            "socket.send-to",
            &[u.clone(), bytes(b"datagram"), addr("127.0.0.1", udp.port())]
        )),
        Val::U64(8)
    );
    let (from, data) = udp.next_datagram();
    assert_eq!((from.port(), data.as_slice()), (local, &b"datagram"[..]));
    let got = ok(p.call("socket.receive-from", &[u.clone(), Val::U64(100)]));
    assert_eq!(got, Val::Tuple(vec![bytes(b"datagram"), addr("127.0.0.1", udp.port())]));
    ok(p.call("socket.connect", &[u.clone(), addr("127.0.0.1", udp.port())]));
    ok(p.call("socket.send", &[u.clone(), bytes(b"again")]));
    assert_eq!(udp.next_datagram().1, b"again");
    assert_eq!(
        unbytes(&ok(p.call("socket.receive", &[u.clone(), Val::U64(100)]))),
        b"again"
    );

    // Names: resolve, then the address is reachable by literal through the name's grant.
    assert_eq!(ok(p.call("connection.resolve", &[s("localhost")])), s("127.0.0.1"));
    let all = ok(p.call("connection.resolve-all", &[s("localhost")]));
    assert!(
        matches!(&all, Val::List(items) if items.contains(&s("127.0.0.1"))),
        "{all:?}"
    );
    let c = ok(p.call(
        "connection.connect-host",
        &[s("localhost"), Val::U16(tcp.port()), some(Val::U64(5_000))],
    ));
    tcp.next_connection();
    ok(p.call("socket.send", &[c.clone(), bytes(b"by name")]));
    assert_eq!(receive_exactly(&mut p, &c, 7), b"by name");

    // A pool: acquire, release, acquire the same connection again, close.
    let pool = ok(p.call("connection.pool-create", &[Val::U32(2), some(Val::U64(60_000))]));
    let pc = ok(p.call(
        "connection.pool-acquire",
        &[pool.clone(), s("127.0.0.1"), Val::U16(tcp.port())],
    ));
    let pooled = tcp.next_connection();
    ok(p.call("connection.pool-release", &[pool.clone(), pc]));
    let pc = ok(p.call(
        "connection.pool-acquire",
        &[pool.clone(), s("127.0.0.1"), Val::U16(tcp.port())],
    ));
    assert_eq!(
        ok(p.call("socket.local-address", std::slice::from_ref(&pc))),
        addr("127.0.0.1", pooled.port())
    );
    ok(p.call("socket.send", &[pc.clone(), bytes(b"pooled")]));
    assert_eq!(receive_exactly(&mut p, &pc, 6), b"pooled");
    ok(p.call("connection.pool-release", &[pool.clone(), pc]));
    p.call("connection.pool-close", &[pool]);
    tcp.assert_no_connection();

    // A server: bind, listen, accept a connection from a test thread, serve it.
    let l = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.bind", &[l.clone(), addr("127.0.0.1", listen_port)]));
    ok(p.call("socket.listen", &[l.clone(), Val::U32(4)]));
    let peer = thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", listen_port)).unwrap();
        stream.write_all(b"hello server").unwrap();
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).unwrap();
        (stream.local_addr().unwrap(), reply)
    });
    let Val::Tuple(accepted) = ok(p.call("socket.accept", std::slice::from_ref(&l))) else {
        panic!("accept returns a tuple")
    };
    let conn = accepted[0].clone();
    assert_eq!(receive_exactly(&mut p, &conn, 12), b"hello server");
    ok(p.call("socket.send", &[conn.clone(), bytes(b"hello")]));
    let (peer_addr, reply) = peer.join().unwrap();
    assert_eq!(&reply, b"hello");
    assert_eq!(accepted[1], addr("127.0.0.1", peer_addr.port()));

    let all = lines(&p);
    assert!(all.iter().all(|l| l.2 == "allowed"), "{all:?}");
    let has = |op: &str, resource: String| {
        assert!(
            all.iter().any(|l| l.0 == op && l.1 == resource),
            "no {op} line for {resource}: {all:?}"
        );
    };
    has("socket.connect", format!("network:connect 127.0.0.1:{}", tcp.port()));
    has("socket.connect", format!("network:connect [::1]:{}", tcp6.port()));
    has("socket.send", format!("network:connect 127.0.0.1:{}", tcp.port()));
    has("socket.bind", format!("network:bind 127.0.0.1:{local}"));
    has("socket.send-to", format!("network:connect 127.0.0.1:{}", udp.port()));
    has("socket.receive-from", format!("network:bind 127.0.0.1:{local}"));
    has("connection.resolve", "network:resolve localhost".into());
    has("connection.connect-host", "network:resolve localhost".into());
    has(
        "connection.connect-host",
        format!("network:connect localhost:{}", tcp.port()),
    );
    has(
        "connection.pool-acquire",
        format!("network:connect 127.0.0.1:{}", tcp.port()),
    );
    has("socket.listen", format!("network:listen 127.0.0.1:{listen_port}"));
    has("socket.accept", format!("network:listen 127.0.0.1:{listen_port}"));
}

#[test]
fn the_same_operations_without_grants_are_denied_and_reach_nobody() {
    let tcp = tcp_echo("127.0.0.1");
    let udp = udp_echo("127.0.0.1");
    let local = free_udp_port("127.0.0.1");
    let listen_port = free_tcp_port("127.0.0.1");
    // Grants for other ports and names only.
    let mut p = Proxy::of(
        NET,
        &manifest(&[
            grant("connect", "127.0.0.1", Some(1)),
            grant("resolve", "example.org", None),
            grant("bind", "127.0.0.1", Some(1)),
        ]),
    );
    let tp = tcp.port();
    let up = udp.port();

    let h = socket(&mut p, "ipv4", "tcp");
    let r = p.call("socket.connect", &[h.clone(), addr("127.0.0.1", tp)]);
    assert_denied(&p, &r, "socket.connect", &format!("network:connect 127.0.0.1:{tp}"));
    let r = p.call("socket.send", &[h.clone(), bytes(b"leak")]);
    assert_denied(&p, &r, "socket.send", "network:connect (socket not connected)");
    let r = p.call("socket.receive", &[h.clone(), Val::U64(10)]);
    assert!(is_denied(&r));
    assert_eq!(
        p.call("connection.is-connected", std::slice::from_ref(&h)),
        Val::Bool(false)
    );

    let u = socket(&mut p, "ipv4", "udp");
    let r = p.call("socket.send-to", &[u.clone(), bytes(b"leak"), addr("127.0.0.1", up)]);
    assert_denied(&p, &r, "socket.send-to", &format!("network:connect 127.0.0.1:{up}"));
    let r = p.call("socket.bind", &[u.clone(), addr("127.0.0.1", local)]);
    assert_denied(&p, &r, "socket.bind", &format!("network:bind 127.0.0.1:{local}"));
    let r = p.call("socket.receive-from", &[u.clone(), Val::U64(10)]);
    assert_denied(&p, &r, "socket.receive-from", "network:bind (socket not bound)");
    let r = p.call(
        "socket.join-multicast",
        &[u.clone(), s("239.255.0.9"), Val::Option(None)],
    );
    assert_denied(&p, &r, "socket.join-multicast", "network:bind (socket not bound)");
    let r = p.call("socket.set-multicast-ttl", &[u.clone(), Val::U32(1)]);
    assert!(is_denied(&r));

    let r = p.call("connection.resolve", &[s("localhost")]);
    assert_denied(&p, &r, "connection.resolve", "network:resolve localhost");
    let r = p.call("connection.resolve-all", &[s("localhost")]);
    assert_denied(&p, &r, "connection.resolve-all", "network:resolve localhost");
    let r = p.call("connection.reverse-lookup", &[s("127.0.0.1")]);
    assert_denied(&p, &r, "connection.reverse-lookup", "network:resolve 127.0.0.1");
    let r = p.call(
        "connection.connect-host",
        &[s("localhost"), Val::U16(tp), Val::Option(None)],
    );
    assert_denied(&p, &r, "connection.connect-host", "network:resolve localhost");
    let pool = ok(p.call("connection.pool-create", &[Val::U32(1), Val::Option(None)]));
    let r = p.call("connection.pool-acquire", &[pool, s("127.0.0.1"), Val::U16(tp)]);
    assert_denied(
        &p,
        &r,
        "connection.pool-acquire",
        &format!("network:connect 127.0.0.1:{tp}"),
    );

    let l = socket(&mut p, "ipv4", "tcp");
    let r = p.call("socket.bind", &[l.clone(), addr("127.0.0.1", listen_port)]);
    assert!(is_denied(&r));
    let r = p.call("socket.listen", &[l.clone(), Val::U32(4)]);
    assert_denied(&p, &r, "socket.listen", "network:bind (socket not bound)");
    let r = p.call("socket.accept", &[l]);
    assert_denied(&p, &r, "socket.accept", "network:listen (socket not listening)");

    tcp.assert_no_connection();
    udp.assert_no_datagram();
    assert!(
        TcpStream::connect(("127.0.0.1", listen_port)).is_err(),
        "nobody listens"
    );
    UdpSocket::bind(("127.0.0.1", local)).expect("the denied bind left the port free");
    assert!(lines(&p).iter().all(|l| l.2 == "denied"));
}

#[test]
fn report_only_mode_lets_the_guest_through_and_logs_would_deny() {
    let tcp = tcp_echo("127.0.0.1");
    let mut p = Proxy::of_with(NET, &manifest(&[]), Mode::ReportOnly, &PolicySet::default());
    let h = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.connect", &[h.clone(), addr("127.0.0.1", tcp.port())]));
    tcp.next_connection();
    ok(p.call("socket.send", &[h.clone(), bytes(b"seen")]));
    assert_eq!(receive_exactly(&mut p, &h, 4), b"seen");
    let all = lines(&p);
    assert!(all.iter().all(|l| l.2 == "would-deny"), "{all:?}");
    assert_eq!(all[0].1, format!("network:connect 127.0.0.1:{}", tcp.port()));
}

// ---------------------------------------------------------------- the escape suite

/// A guest granted `localhost` (connect on the server's port, and resolve when `resolve`).
fn localhost_guest(server_port: u16, resolve: bool) -> Proxy {
    let mut grants = vec![grant("connect", "localhost", Some(server_port))];
    if resolve {
        grants.push(grant("resolve", "localhost", None));
    }
    Proxy::of(NET, &manifest(&grants))
}

/// Connects a fresh socket of `family` to `host`:`port` and asserts the denial.
#[track_caller]
fn assert_connect_denied(p: &mut Proxy, family: &str, host: &str, port: u16) {
    let h = socket(p, family, "tcp");
    let r = p.call("socket.connect", &[h.clone(), addr(host, port)]);
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    assert_denied(p, &r, "socket.connect", &format!("network:connect {shown}"));
    assert_eq!(err_case(&p.call("socket.peer-address", &[h])), Some("not-connected"));
}

#[test]
fn escape_connect_to_an_ip_literal_nobody_granted() {
    let server = tcp_echo("127.0.0.1");
    let mut p = localhost_guest(server.port(), false);
    assert_connect_denied(&mut p, "ipv4", "127.0.0.1", server.port());
    // The name itself is granted, and reaches the same server.
    let h = socket(&mut p, "ipv4", "tcp");
    server.assert_no_connection();
    ok(p.call("socket.connect", &[h, addr("localhost", server.port())]));
    server.next_connection();
    // The host's own lookup for that connect is no granted resolve: the literal stays denied.
    assert_connect_denied(&mut p, "ipv4", "127.0.0.1", server.port());
    server.assert_no_connection();
}

#[test]
fn escape_decimal_form_of_a_granted_names_address_never_resolved() {
    let server = tcp_echo("127.0.0.1");
    let mut p = localhost_guest(server.port(), true);
    assert_connect_denied(&mut p, "ipv4", "2130706433", server.port());
    server.assert_no_connection();
}

#[test]
fn escape_hex_form_of_a_granted_names_address_never_resolved() {
    let server = tcp_echo("127.0.0.1");
    let mut p = localhost_guest(server.port(), true);
    assert_connect_denied(&mut p, "ipv4", "0x7f000001", server.port());
    assert_connect_denied(&mut p, "ipv4", "0x7f.1", server.port());
    assert_connect_denied(&mut p, "ipv4", "0177.0.0.1", server.port());
    server.assert_no_connection();
}

#[test]
fn escape_ipv4_mapped_ipv6_form_of_a_granted_names_address_never_resolved() {
    let server = tcp_echo("127.0.0.1");
    let mut p = localhost_guest(server.port(), true);
    assert_connect_denied(&mut p, "ipv4", "::ffff:127.0.0.1", server.port());
    assert_connect_denied(&mut p, "ipv6", "::ffff:127.0.0.1", server.port());
    assert_connect_denied(&mut p, "ipv6", "::ffff:7f00:1", server.port());
    server.assert_no_connection();
    // After a granted resolve returned 127.0.0.1, every form of it is that address.
    assert_eq!(ok(p.call("connection.resolve", &[s("localhost")])), s("127.0.0.1"));
    let h = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.connect", &[h, addr("::ffff:127.0.0.1", server.port())]));
    server.next_connection();
    let last = p.audit().pop().unwrap();
    assert_eq!(last["resource"], format!("network:connect localhost:{}", server.port()));
}

#[test]
fn escape_cloud_metadata_address() {
    let mut p = localhost_guest(80, true);
    assert_connect_denied(&mut p, "ipv4", "169.254.169.254", 80);
    let pool = ok(p.call("connection.pool-create", &[Val::U32(1), Val::Option(None)]));
    let r = p.call("connection.pool-acquire", &[pool, s("169.254.169.254"), Val::U16(80)]);
    assert_denied(&p, &r, "connection.pool-acquire", "network:connect 169.254.169.254:80");
    // Granted in the manifest, the organisation's default policy still denies it.
    let mut sources = Sources::new();
    let policies = PolicySet::default_set(&mut sources).unwrap();
    let mut p = Proxy::of_with(
        NET,
        &manifest(&[grant("connect", "169.254.169.254", Some(80))]),
        Mode::Enforce,
        &policies,
    );
    let h = socket(&mut p, "ipv4", "tcp");
    let r = p.call("socket.connect", &[h, addr("169.254.169.254", 80)]);
    assert_denied(&p, &r, "socket.connect", "network:connect 169.254.169.254:80");
    let by = p.audit().pop().unwrap()["by"].as_str().unwrap().to_string();
    assert!(by.starts_with("policy "), "{by}");
}

#[test]
fn escape_resolve_of_an_ungranted_name() {
    let server = tcp_echo("127.0.0.1");
    // Connect is granted for the name, resolve is not.
    let mut p = localhost_guest(server.port(), false);
    let r = p.call("connection.resolve", &[s("localhost")]);
    assert_denied(&p, &r, "connection.resolve", "network:resolve localhost");
    let r = p.call("connection.resolve-all", &[s("LOCALHOST.")]);
    assert_denied(&p, &r, "connection.resolve-all", "network:resolve LOCALHOST.");
    let r = p.call(
        "connection.connect-host",
        &[s("localhost"), Val::U16(server.port()), Val::Option(None)],
    );
    assert_denied(&p, &r, "connection.connect-host", "network:resolve localhost");
    // Nothing was learnt: the literal is still out of reach.
    assert_connect_denied(&mut p, "ipv4", "127.0.0.1", server.port());
    server.assert_no_connection();
}

#[test]
fn escape_send_to_an_ungranted_address() {
    let server = udp_echo("127.0.0.1");
    let port = server.port();
    let mut p = Proxy::of(
        NET,
        &manifest(&[
            grant("connect", "localhost", Some(port)),
            grant("connect", "127.0.0.1", Some(port + 1)),
        ]),
    );
    let u = socket(&mut p, "ipv4", "udp");
    for host in ["127.0.0.1", "2130706433", "::ffff:127.0.0.1"] {
        let r = p.call("socket.send-to", &[u.clone(), bytes(b"exfil"), addr(host, port)]);
        let shown = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        assert_denied(&p, &r, "socket.send-to", &format!("network:connect {shown}"));
    }
    server.assert_no_datagram();
}

#[test]
fn escape_bind_and_listen_on_an_ungranted_port() {
    let granted = free_tcp_port("127.0.0.1");
    let other = free_tcp_port("127.0.0.1");
    let mut p = Proxy::of(
        NET,
        &manifest(&[
            grant("bind", "127.0.0.1", Some(granted)),
            grant("listen", "127.0.0.1", Some(granted)),
        ]),
    );
    // Bind on another port.
    let a = socket(&mut p, "ipv4", "tcp");
    let r = p.call("socket.bind", &[a.clone(), addr("127.0.0.1", other)]);
    assert_denied(&p, &r, "socket.bind", &format!("network:bind 127.0.0.1:{other}"));
    let r = p.call("socket.bind", &[a.clone(), addr("0.0.0.0", granted)]);
    assert_denied(&p, &r, "socket.bind", &format!("network:bind 0.0.0.0:{granted}"));
    // Listen on a socket never bound (the system would pick a port for it).
    let r = p.call("socket.listen", &[a, Val::U32(4)]);
    assert_denied(&p, &r, "socket.listen", "network:bind (socket not bound)");
    assert!(TcpStream::connect(("127.0.0.1", other)).is_err(), "nobody listens");
    TcpListener::bind(("127.0.0.1", other)).expect("the denied bind left the port free");

    // Bound where allowed, but listening needs its own grant on that port.
    let bind_only = free_tcp_port("127.0.0.1");
    let mut p = Proxy::of(NET, &manifest(&[grant("bind", "127.0.0.1", Some(bind_only))]));
    let b = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.bind", &[b.clone(), addr("127.0.0.1", bind_only)]));
    let r = p.call("socket.listen", &[b.clone(), Val::U32(4)]);
    assert_denied(
        &p,
        &r,
        "socket.listen",
        &format!("network:listen 127.0.0.1:{bind_only}"),
    );
    assert!(TcpStream::connect(("127.0.0.1", bind_only)).is_err(), "nobody listens");
    let r = p.call("socket.accept", &[b]);
    assert_denied(&p, &r, "socket.accept", "network:listen (socket not listening)");
}

#[test]
fn escape_pool_acquire_to_an_ungranted_host() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let mut p = localhost_guest(port, false);
    let pool = ok(p.call("connection.pool-create", &[Val::U32(4), Val::Option(None)]));
    for host in ["127.0.0.1", "2130706433", "::ffff:127.0.0.1", "elsewhere.example"] {
        let r = p.call("connection.pool-acquire", &[pool.clone(), s(host), Val::U16(port)]);
        let shown = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        assert_denied(&p, &r, "connection.pool-acquire", &format!("network:connect {shown}"));
    }
    // Another port of the granted name.
    let r = p.call("connection.pool-acquire", &[pool, s("localhost"), Val::U16(port + 1)]);
    assert!(is_denied(&r));
    server.assert_no_connection();
}

#[test]
fn escape_send_on_a_socket_whose_connect_was_denied() {
    let tcp = tcp_echo("127.0.0.1");
    let udp = udp_echo("127.0.0.1");
    let mut p = Proxy::of(NET, &manifest(&[grant("connect", "127.0.0.1", Some(1))]));
    let t = socket(&mut p, "ipv4", "tcp");
    assert!(is_denied(
        &p.call("socket.connect", &[t.clone(), addr("127.0.0.1", tcp.port())])
    ));
    let r = p.call("socket.send", &[t.clone(), bytes(b"after denial")]);
    assert_denied(&p, &r, "socket.send", "network:connect (socket not connected)");
    let u = socket(&mut p, "ipv4", "udp");
    assert!(is_denied(
        &p.call("socket.connect", &[u.clone(), addr("127.0.0.1", udp.port())])
    ));
    let r = p.call("socket.send", &[u, bytes(b"after denial")]);
    assert_denied(&p, &r, "socket.send", "network:connect (socket not connected)");
    let last = p.audit().pop().unwrap();
    assert_eq!(last["by"], "the socket has no authorized connect");
    tcp.assert_no_connection();
    udp.assert_no_datagram();
}

#[test]
fn escape_connect_host_to_an_ungranted_port_after_an_allowed_resolve() {
    let server = tcp_echo("127.0.0.1");
    let mut p = localhost_guest(1, true);
    let r = p.call(
        "connection.connect-host",
        &[s("localhost"), Val::U16(server.port()), Val::Option(None)],
    );
    assert_denied(
        &p,
        &r,
        "connection.connect-host",
        &format!("network:connect localhost:{}", server.port()),
    );
    let all = lines(&p);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0],
        (
            "connection.connect-host".to_string(),
            "network:resolve localhost".to_string(),
            "allowed".to_string()
        )
    );
    server.assert_no_connection();
}

#[test]
fn escape_a_policy_denied_address_stays_denied_through_a_granted_name() {
    let server = tcp_echo("127.0.0.1");
    let port = server.port();
    let mut sources = Sources::new();
    let policies = PolicySet::from_texts(
        &mut sources,
        &[("no-loopback", "[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }]\n")],
    )
    .unwrap();
    let mut p = Proxy::of_with(
        NET,
        &manifest(&[
            grant("connect", "localhost", Some(port)),
            grant("resolve", "localhost", None),
        ]),
        Mode::Enforce,
        &policies,
    );
    assert_eq!(ok(p.call("connection.resolve", &[s("localhost")])), s("127.0.0.1"));
    assert_connect_denied(&mut p, "ipv4", "127.0.0.1", port);
    let h = socket(&mut p, "ipv4", "tcp");
    let r = p.call("socket.connect", &[h, addr("localhost", port)]);
    assert_denied(&p, &r, "socket.connect", &format!("network:connect 127.0.0.1:{port}"));
    let r = p.call(
        "connection.connect-host",
        &[s("localhost"), Val::U16(port), Val::Option(None)],
    );
    assert!(is_denied(&r));
    server.assert_no_connection();
}

/// A policy that denies loopback (both families), as `builtin:strict` does.
fn no_loopback() -> PolicySet {
    let mut sources = Sources::new();
    PolicySet::from_texts(
        &mut sources,
        &[(
            "no-loopback",
            "[network]\ndeny = [{ cidr = \"127.0.0.0/8\" }, { cidr = \"::1/128\" }]\n",
        )],
    )
    .unwrap()
}

#[test]
fn escape_unspecified_addresses_are_the_loopback_they_reach() {
    let server = tcp_echo("127.0.0.1");
    let udp = udp_echo("127.0.0.1");
    let server6 = tcp_echo("::1");
    let (port, udp_port, port6) = (server.port(), udp.port(), server6.port());
    // Granted as written, but the policy denies loopback: every spelling of the unspecified
    // address is denied as the loopback address it reaches, for connect and send-to.
    let mut p = Proxy::of_with(
        NET,
        &manifest(&[
            grant("connect", "0.0.0.0", Some(port)),
            grant("connect", "0.0.0.0", Some(udp_port)),
            grant("connect", "::", Some(port6)),
        ]),
        Mode::Enforce,
        &no_loopback(),
    );
    for host in ["0.0.0.0", "0", "0x0", "::ffff:0.0.0.0"] {
        let h = socket(&mut p, "ipv4", "tcp");
        let r = p.call("socket.connect", &[h, addr(host, port)]);
        assert!(is_denied(&r), "{host}: {r:?}");
        let by = p.audit().pop().unwrap()["by"].as_str().unwrap().to_string();
        assert!(by.starts_with("policy no-loopback:"), "{host}: {by}");
    }
    let h = socket(&mut p, "ipv6", "tcp");
    assert!(is_denied(&p.call("socket.connect", &[h, addr("::", port6)])));
    let u = socket(&mut p, "ipv4", "udp");
    let r = p.call("socket.send-to", &[u, bytes(b"leak"), addr("0.0.0.0", udp_port)]);
    assert!(is_denied(&r), "{r:?}");
    server.assert_no_connection();
    server6.assert_no_connection();
    udp.assert_no_datagram();

    // Without a policy, a grant of the loopback address is what allows the unspecified one
    // (the connection really reaches the loopback server), and nothing else does.
    let mut p = Proxy::of(
        NET,
        &manifest(&[
            grant("connect", "127.0.0.1", Some(port)),
            grant("connect", "::1", Some(port6)),
        ]),
    );
    let h = socket(&mut p, "ipv4", "tcp");
    ok(p.call("socket.connect", &[h, addr("0.0.0.0", port)]));
    assert_eq!(server.next_connection().ip().to_string(), "127.0.0.1");
    let h = socket(&mut p, "ipv6", "tcp");
    ok(p.call("socket.connect", &[h, addr("::", port6)]));
    assert!(server6.next_connection().ip().is_loopback());
    let last = p.audit().pop().unwrap();
    assert_eq!(last["by"], format!("grant network #2 connect `[::1]:{port6}`"));
    // A grant of another address does not reach loopback through `0.0.0.0`.
    let mut p = Proxy::of(NET, &manifest(&[grant("connect", "192.0.2.1", Some(port))]));
    assert_connect_denied(&mut p, "ipv4", "0.0.0.0", port);
    server.assert_no_connection();
}
