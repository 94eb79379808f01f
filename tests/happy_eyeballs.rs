//! Connection attempts and happy eyeballs (`auto_select_family`), against Node v20.20's traces.
//!
//! Each expected trace was produced by Node with the same lookup answers (a custom `lookup`
//! answering asynchronously, as a real resolver does) on loopback; `P` stands for the port.
//! Node: `net.connect({port, host: 'x.test', autoSelectFamily: true, lookup})` with
//! `connectionAttempt`, `connectionAttemptFailed`, `connectionAttemptTimeout`, `lookup`,
//! `connect`, `ready`, `error` and `close` traced.

mod util;

use nodenet::{ConnectOptions, Error, Family, Socket};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;
use util::EventLog;

const V6: &str = "::1";
const V4: &str = "127.0.0.1";

fn fam(f: Family) -> u8 {
    match f {
        Family::IPv4 => 4,
        Family::IPv6 => 6,
    }
}

fn trace(c: &Socket, log: &EventLog, port: u16) {
    let p = port.to_string();
    let hide = move |s: &str| s.replace(&p, "P");
    let (l, h) = (log.clone(), hide.clone());
    c.on_lookup(move |_, result, _| match result {
        Ok((ip, family)) => l.push(format!("lookup {ip} {}", fam(family))),
        Err(e) => l.push(format!("lookup error {}", h(e.message()))),
    });
    let l = log.clone();
    c.on_connection_attempt(move |_, ip, _, family| {
        l.push(format!("attempt {ip} {}", fam(family)))
    });
    let (l, h) = (log.clone(), hide.clone());
    c.on_connection_attempt_failed(move |_, ip, _, family, e| {
        l.push(format!(
            "failed {ip} {} {} {:?} {}",
            fam(family),
            e.code(),
            e.syscall(),
            h(e.message())
        ))
    });
    let l = log.clone();
    c.on_connection_attempt_timeout(move |_, ip, _, family| {
        l.push(format!("timeout {ip} {}", fam(family)))
    });
    let l = log.clone();
    c.on_connect(move |c| {
        l.push(format!(
            "connect {}",
            c.remote_address().unwrap_or_default()
        ));
        c.destroy();
    });
    let l = log.clone();
    c.on_ready(move |_| l.push("ready"));
    let (l, h) = (log.clone(), hide);
    c.on_error(move |_, e: &Error| {
        let errors: Vec<String> = e.errors().iter().map(|x| h(x.message())).collect();
        l.push(format!(
            "error {} \"{}\" {:?}",
            e.code(),
            h(e.message()),
            errors
        ))
    });
    let l = log.clone();
    c.on_close(move |_, had_error| l.push(format!("close {had_error}")));
}

/// Connects to `x.test:port`, which "resolves" to `answers`, and returns the trace.
fn attempt(
    answers: &[&str],
    port: u16,
    options: impl FnOnce(ConnectOptions) -> ConnectOptions,
) -> Vec<String> {
    let answers: Vec<IpAddr> = answers.iter().map(|a| a.parse().unwrap()).collect();
    let log = EventLog::new();
    let options = options(
        ConnectOptions::port(port)
            .host("x.test")
            .lookup(move |_, family| {
                Ok(answers
                    .iter()
                    .copied()
                    .filter(|ip| family == 0 || (family == 4) == ip.is_ipv4())
                    .collect())
            }),
    );
    let c = nodenet::connect(options);
    trace(&c, &log, port);
    nodenet::run().unwrap();
    log.entries()
}

/// A server on `host` that ends every connection, on its own thread; returns its port.
fn echo_server_on(host: &str) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind((host, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            drop(stream);
        }
    });
    (port, handle)
}

/// A port that nothing listens on (on both loopback addresses).
fn closed_port() -> u16 {
    let listener = TcpListener::bind((V4, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let both_free = TcpListener::bind((V6, port)).is_ok();
    drop(listener);
    if both_free { port } else { closed_port() }
}

#[test]
fn ipv6_refused_then_ipv4_connects() {
    util::with_deadline(util::LIMIT, || {
        let (port, server) = echo_server_on(V4);
        assert_eq!(
            attempt(&[V6, V4], port, |o| o),
            [
                "lookup ::1 6",
                "lookup 127.0.0.1 4",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "attempt 127.0.0.1 4",
                "connect 127.0.0.1",
                "ready",
                "close false"
            ]
        );
        server.join().unwrap();
    });
}

#[test]
fn the_first_address_connects_and_no_other_is_tried() {
    util::with_deadline(util::LIMIT, || {
        let (port, server) = echo_server_on(V6);
        assert_eq!(
            attempt(&[V6, V4], port, |o| o),
            [
                "lookup ::1 6",
                "lookup 127.0.0.1 4",
                "attempt ::1 6",
                "connect ::1",
                "ready",
                "close false"
            ]
        );
        server.join().unwrap();
    });
}

#[test]
fn every_attempt_refused_is_one_aggregate_error() {
    util::with_deadline(util::LIMIT, || {
        let port = closed_port();
        assert_eq!(
            attempt(&[V6, V4], port, |o| o),
            [
                "lookup ::1 6",
                "lookup 127.0.0.1 4",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "attempt 127.0.0.1 4",
                "failed 127.0.0.1 4 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED 127.0.0.1:P",
                "error ECONNREFUSED \"\" [\"connect ECONNREFUSED ::1:P\", \"connect ECONNREFUSED 127.0.0.1:P\"]",
                "close true"
            ]
        );
    });
}

#[test]
fn a_single_answer_fails_with_a_plain_error() {
    util::with_deadline(util::LIMIT, || {
        let port = closed_port();
        assert_eq!(
            attempt(&[V4], port, |o| o),
            [
                "lookup 127.0.0.1 4",
                "attempt 127.0.0.1 4",
                "failed 127.0.0.1 4 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED 127.0.0.1:P",
                "error ECONNREFUSED \"connect ECONNREFUSED 127.0.0.1:P\" []",
                "close true"
            ]
        );
    });
}

#[test]
fn duplicate_answers_are_tried_once_each_family_alternating() {
    util::with_deadline(util::LIMIT, || {
        let (port, server) = echo_server_on(V4);
        assert_eq!(
            attempt(&[V6, V6, V4, V4], port, |o| o),
            [
                "lookup ::1 6",
                "lookup ::1 6",
                "lookup 127.0.0.1 4",
                "lookup 127.0.0.1 4",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "attempt 127.0.0.1 4",
                "connect 127.0.0.1",
                "ready",
                "close false"
            ]
        );
        server.join().unwrap();
        let port = closed_port();
        assert_eq!(
            attempt(&[V4, V4, V6], port, |o| o),
            [
                "lookup 127.0.0.1 4",
                "lookup 127.0.0.1 4",
                "lookup ::1 6",
                "attempt 127.0.0.1 4",
                "failed 127.0.0.1 4 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED 127.0.0.1:P",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "error ECONNREFUSED \"\" [\"connect ECONNREFUSED 127.0.0.1:P\", \"connect ECONNREFUSED ::1:P\"]",
                "close true"
            ]
        );
    });
}

/// A listener on 127.0.0.1 whose accept queue is full: further SYNs are dropped, so a connect
/// to it neither succeeds nor fails until the attempt times out.
fn stalled_listener() -> (socket2::Socket, Vec<socket2::Socket>, u16) {
    use socket2::{Domain, Socket as RawSocket, Type};
    let listener = RawSocket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.as_socket().unwrap().port();
    let fillers = (0..3)
        .map(|_| {
            let c = RawSocket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            c.set_nonblocking(true).unwrap();
            let _ = c.connect(&addr);
            c
        })
        .collect();
    (listener, fillers, port)
}

// Node (a Python listener with a full backlog on 127.0.0.1:P, a Node server on [::1]:P,
// autoSelectFamilyAttemptTimeout 100):
//   ["lookup 127.0.0.1","lookup ::1","attempt 127.0.0.1 4","timeout 127.0.0.1 4","attempt ::1 6","connect ::1"]
#[test]
fn an_attempt_that_hangs_times_out_and_the_next_address_connects() {
    util::with_deadline(util::LIMIT, || {
        let (_stalled, _fillers, port) = stalled_listener();
        let v6 = std::net::TcpListener::bind((V6, port)).expect("[::1]:P free");
        let server = std::thread::spawn(move || drop(v6.accept()));
        let started = std::time::Instant::now();
        let trace = attempt(&[V4, V6], port, |o| {
            o.auto_select_family_attempt_timeout(Duration::from_millis(100))
        });
        assert_eq!(
            trace,
            [
                "lookup 127.0.0.1 4",
                "lookup ::1 6",
                "attempt 127.0.0.1 4",
                "timeout 127.0.0.1 4",
                "attempt ::1 6",
                "connect ::1",
                "ready",
                "close false"
            ]
        );
        assert!(started.elapsed() >= Duration::from_millis(100));
        server.join().unwrap();
    });
}

// Node, an IP host (no lookup), autoSelectFamily either way:
//   ["attempt 127.0.0.1 1 4","attemptFailed 127.0.0.1 4 ECONNREFUSED","error ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1","close true"]
#[test]
fn an_ip_host_makes_one_attempt_without_lookup() {
    util::with_deadline(util::LIMIT, || {
        let port = closed_port();
        for auto in [true, false] {
            let log = EventLog::new();
            let c = nodenet::connect(ConnectOptions::port(port).host(V4).auto_select_family(auto));
            trace(&c, &log, port);
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                [
                    "attempt 127.0.0.1 4",
                    "failed 127.0.0.1 4 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED 127.0.0.1:P",
                    "error ECONNREFUSED \"connect ECONNREFUSED 127.0.0.1:P\" []",
                    "close true"
                ]
            );
        }
    });
}

// Node, autoSelectFamily false, lookup answering ::1 first (dns.lookup without `all`):
//   ["lookup ::1 6","attempt ::1 6","failed ::1 ECONNREFUSED","error ECONNREFUSED connect ECONNREFUSED ::1:P","close true"]
#[test]
fn without_auto_select_family_only_the_first_answer_is_tried() {
    util::with_deadline(util::LIMIT, || {
        let (port, server) = echo_server_on(V4);
        assert_eq!(
            attempt(&[V6, V4], port, |o| o.auto_select_family(false)),
            [
                "lookup ::1 6",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "error ECONNREFUSED \"connect ECONNREFUSED ::1:P\" []",
                "close true"
            ]
        );
        // The server thread still waits for its one connection.
        drop(std::net::TcpStream::connect((V4, port)));
        server.join().unwrap();
        // With a family, the answers are filtered and only the first is tried, as in Node.
        let (port, server) = echo_server_on(V4);
        assert_eq!(
            attempt(&[V6, V4], port, |o| o.family(4)),
            [
                "lookup 127.0.0.1 4",
                "attempt 127.0.0.1 4",
                "connect 127.0.0.1",
                "ready",
                "close false"
            ]
        );
        server.join().unwrap();
    });
}

// Node (same stalled 127.0.0.1:P; nothing on the second address): the timed-out attempt counts as
// ETIMEDOUT in the aggregate error, whose code is the first error's:
//   [..., "timeout 127.0.0.1 4", "attempt ... 6", "failed ...", "error ETIMEDOUT  2"]
#[test]
fn a_timed_out_attempt_counts_as_etimedout_in_the_aggregate_error() {
    util::with_deadline(util::LIMIT, || {
        let (_stalled, _fillers, port) = stalled_listener();
        let trace = attempt(&[V4, V6], port, |o| {
            o.auto_select_family_attempt_timeout(Duration::from_millis(50))
        });
        assert_eq!(
            trace,
            [
                "lookup 127.0.0.1 4",
                "lookup ::1 6",
                "attempt 127.0.0.1 4",
                "timeout 127.0.0.1 4",
                "attempt ::1 6",
                "failed ::1 6 ECONNREFUSED Some(\"connect\") connect ECONNREFUSED ::1:P",
                "error ETIMEDOUT \"\" [\"connect ETIMEDOUT 127.0.0.1:P\", \"connect ECONNREFUSED ::1:P\"]",
                "close true"
            ]
        );
    });
}

// Node passes a custom lookup's own error on to `lookup` and `error` (here an OS error code).
#[test]
fn a_custom_lookups_own_error_is_reported_as_it_is() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let c = nodenet::connect(
            ConnectOptions::port(80)
                .host("x.test")
                // EACCES: errno 13 on Linux, ERROR_ACCESS_DENIED (5) on Windows.
                .lookup(|_, _| {
                    Err(std::io::Error::from_raw_os_error(if cfg!(windows) {
                        5
                    } else {
                        13
                    }))
                }),
        );
        let l = log.clone();
        c.on_lookup(move |_, result, host| {
            l.push(format!(
                "lookup {:?} {host}",
                result.err().map(|e| e.code().to_string())
            ))
        });
        let l = log.clone();
        c.on_error(move |_, e| l.push(format!("error {} {:?}", e.code(), e.syscall())));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup Some(\"EACCES\") x.test",
                "error EACCES Some(\"getaddrinfo\")"
            ]
        );
    });
}
