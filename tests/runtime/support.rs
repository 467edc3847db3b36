//! Test support shared by the runtime's unit tests (`src/runtime/`, which include this file
//! through `#[path]` from `runtime::testing`) and its integration tests (`tests/runtime/`): an
//! audit log kept in memory, loopback echo servers that report what reached them, and the
//! consistency tests' deterministic generator. Only the
//! standard library and `serde_json`, so the file compiles in both crates.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long a test waits for its own servers (never reached when things work).
pub const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Audit lines

/// An audit log written to memory, which tests read back.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The audit lines written so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The audit lines (JSON) of a log file; none when it does not exist.
pub fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Servers

/// A TCP echo server on `ip`: reports each connection it accepts (the peer's address) and each
/// one that the peer closed.
pub struct TcpServer {
    addr: SocketAddr,
    accepted: Receiver<SocketAddr>,
    closed: Receiver<SocketAddr>,
}

pub fn tcp_echo(ip: &str) -> TcpServer {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted) = mpsc::channel();
    let (closed_tx, closed) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(peer) = stream.peer_addr() else { continue };
            if accepted_tx.send(peer).is_err() {
                return;
            }
            let closed_tx = closed_tx.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = closed_tx.send(peer);
            });
        }
    });
    TcpServer { addr, accepted, closed }
}

impl TcpServer {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next connection the server accepted.
    pub fn next_connection(&self) -> SocketAddr {
        self.accepted.recv_timeout(WAIT).expect("the server saw no connection")
    }

    /// Waits until the connection from `peer` has been closed (other closings, such as those
    /// of probes, are passed over).
    pub fn wait_closed(&self, peer: SocketAddr) {
        while self.closed.recv_timeout(WAIT).expect("the connection was not closed") != peer {}
    }

    /// Nobody connected so far: a probe connection made now is the first the server accepts.
    #[track_caller]
    pub fn assert_no_connection(&self) {
        let probe = TcpStream::connect(self.addr).unwrap();
        assert_eq!(
            self.next_connection(),
            probe.local_addr().unwrap(),
            "the server saw a connection before the probe"
        );
    }
}

/// A UDP echo server on `ip`: reports each datagram (sender, data) and sends it back.
pub struct UdpServer {
    addr: SocketAddr,
    seen: Receiver<(SocketAddr, Vec<u8>)>,
}

pub fn udp_echo(ip: &str) -> UdpServer {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    let addr = socket.local_addr().unwrap();
    let (tx, seen) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if tx.send((from, buf[..n].to_vec())).is_err() {
                return;
            }
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    UdpServer { addr, seen }
}

impl UdpServer {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next datagram the server received: (sender, data).
    pub fn next_datagram(&self) -> (SocketAddr, Vec<u8>) {
        self.seen.recv_timeout(WAIT).expect("the server saw no datagram")
    }

    /// Nothing arrived so far: a probe datagram sent now is the first the server sees.
    #[track_caller]
    pub fn assert_no_datagram(&self) {
        let probe = UdpSocket::bind((self.addr.ip(), 0)).unwrap();
        probe.send_to(b"probe", self.addr).unwrap();
        let (from, data) = self.next_datagram();
        assert_eq!(
            (from, data.as_slice()),
            (probe.local_addr().unwrap(), &b"probe"[..]),
            "the server saw a datagram before the probe"
        );
    }
}

/// A TCP port on `ip` that nothing listens on right now.
pub fn free_tcp_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().port()
}

/// A UDP port on `ip` that nothing is bound to right now.
pub fn free_udp_port(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0)).unwrap().local_addr().unwrap().port()
}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible case.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    pub fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[(self.next() % items.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
