//! Client connect: call forms, state while connecting, event order, addresses, connect errors
//! (ECONNREFUSED, ENOENT, EADDRINUSE on bind, ENOTFOUND, invalid options), destroy/write/end while
//! connecting, reconnect, unref while connecting; cross-checked against Node where it matters.

mod util;

use nodenet::{
    Address, AddressInfo, ConnectOptions, Error, Family, ReadyState, Server, Socket, SocketOptions,
};
use std::cell::RefCell;
use std::fmt::Display;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, ToSocketAddrs};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use util::{EventLog, LIMIT, port_of, with_deadline};

// ----- helpers --------------------------------------------------------------------------------

/// A port on 127.0.0.1 that refuses connections: held by a bound socket that never listens, so
/// nothing else can take it while the returned socket lives.
fn refused_port() -> (u16, socket2::Socket) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("create a socket");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).expect("bind a probe socket");
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    (port, socket)
}

/// A port on 127.0.0.1 that was free a moment ago (to bind a client to).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener");
    listener.local_addr().unwrap().port()
}

fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `code errno syscall address port | message`, "-" for an absent field (same format as `NODE_TRACE`).
fn err_line(e: &Error) -> String {
    format!(
        "{} {} {} {} {} | {}",
        e.code(),
        opt(e.errno()),
        opt(e.syscall()),
        opt(e.address()),
        opt(e.port()),
        e
    )
}

/// Logs `lookup`, `connect`, `ready`, `error` and `close` in the format of `NODE_TRACE`.
fn trace(socket: &Socket, log: &EventLog) {
    let l = log.clone();
    socket.on_lookup(move |_, result, host| match result {
        Ok((ip, family)) => l.push(format!("lookup {ip} {} {host}", family.number())),
        Err(e) => l.push(format!("lookup {} {host}", e.code())),
    });
    let l = log.clone();
    socket.on_connect(move |s| {
        l.push(format!(
            "connect {} {} {}",
            opt(s.remote_address()),
            opt(s.remote_family()),
            s.ready_state()
        ))
    });
    let l = log.clone();
    socket.on_ready(move |_| l.push("ready"));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("error {}", err_line(e))));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
}

/// JS twin of `trace`/`err_line`: defines `out(line)` and `trace(socket)`.
const NODE_TRACE: &str = r#"
const net = require('net');
const lines = [];
const out = (l) => lines.push(l);
process.on('exit', () => process.stdout.write(lines.join('\n') + '\n'));
const opt = (v) => (v === undefined || v === null ? '-' : String(v));
const errLine = (e) => [e.code, opt(e.errno), opt(e.syscall), opt(e.address), opt(e.port)].join(' ') + ' | ' + e.message;
function trace(c) {
  c.on('lookup', (err, a, f, h) => out(err ? `lookup ${err.code} ${h}` : `lookup ${a} ${f} ${h}`));
  c.on('connect', () => out(`connect ${opt(c.remoteAddress)} ${opt(c.remoteFamily)} ${c.readyState}`));
  c.on('ready', () => out('ready'));
  c.on('error', (e) => out('error ' + errLine(e)));
  c.on('close', (h) => out('close ' + h));
}
"#;

/// Runs `NODE_TRACE` + `script` with `args`, returns its stdout lines (fails on a non-zero exit).
fn node_lines(script: &str, args: &[String]) -> Vec<String> {
    let full = format!("{NODE_TRACE}\n{script}");
    let output = util::spawn_node(&full, args)
        .wait_with_output()
        .expect("wait for node");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A server on `host` port 0 that ends every connection; `start(port)` runs once it listens.
fn ending_server(host: &'static str, start: impl FnOnce(&Server, u16) + 'static) -> Server {
    let server = nodenet::create_server(|c| {
        c.end();
    });
    server.listen((0, host));
    let mut start = Some(start);
    server.on_listening(move |s| {
        if let Some(start) = start.take() {
            start(s, port_of(s));
        }
    });
    server
}

/// The system resolver's answers for `localhost` as `lookup` lines.
fn localhost_lookup_lines() -> Vec<String> {
    ("localhost", 0)
        .to_socket_addrs()
        .expect("localhost resolves")
        .map(|a| {
            let ip = a.ip();
            format!("lookup {ip} {} localhost", Family::of(&ip).number())
        })
        .collect()
}

/// A custom resolver answering `[::1, 127.0.0.1]` for every name and recording its arguments.
fn dual_lookup(
    calls: Arc<Mutex<Vec<(String, u8)>>>,
) -> impl Fn(&str, u8) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static {
    move |host, family| {
        calls.lock().unwrap().push((host.to_string(), family));
        Ok(vec![
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        ])
    }
}

fn not_found_lookup() -> impl Fn(&str, u8) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static {
    |_, _| Err(io::Error::new(io::ErrorKind::NotFound, "no such host"))
}

// ----- connect forms and the success path -----------------------------------------------------

#[test]
fn connect_with_only_a_port_resolves_localhost_then_connect_then_ready() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        // No host: dual-stack, so whichever address localhost resolves to first connects.
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(0);
        let port = port_of(&server);
        let client = nodenet::connect(port);
        trace(&client, &log);
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let lookups = localhost_lookup_lines();
        let mut expected = lookups.clone();
        let first = lookups[0].split(' ').nth(1).unwrap().to_string();
        let family = if first.contains(':') { "IPv6" } else { "IPv4" };
        expected.push(format!("connect {first} {family} open"));
        expected.push("ready".into());
        expected.push("close false".into());
        assert_eq!(log.entries(), expected);
    });
}

#[test]
fn connect_to_ipv4_literal_has_no_lookup_and_reports_addresses_after_connect() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server_remote = Arc::new(Mutex::new(None));
        let seen = server_remote.clone();
        let server = nodenet::create_server(move |c| {
            *seen.lock().unwrap() = c.remote_port();
            c.end();
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let port = port_of(server);
            let client = nodenet::connect((port, "127.0.0.1"));
            // Synchronously after connect(): connecting, pending, opening, no addresses yet.
            assert!(client.connecting());
            assert!(client.pending());
            assert!(!client.destroyed());
            assert_eq!(client.ready_state(), ReadyState::Opening);
            assert_eq!(client.remote_address(), None);
            assert_eq!(client.remote_port(), None);
            assert_eq!(client.remote_family(), None);
            assert_eq!(client.local_address(), None);
            assert_eq!(client.local_port(), None);
            assert_eq!(client.address(), None);
            client.on_lookup(|_, _, _| panic!("no lookup for an IP literal"));
            trace(&client, &l);
            let l2 = l.clone();
            client.on_connect(move |c| {
                assert!(!c.connecting());
                assert!(!c.pending());
                assert_eq!(c.remote_address().as_deref(), Some("127.0.0.1"));
                assert_eq!(c.remote_port(), Some(port));
                assert_eq!(c.remote_family(), Some(Family::IPv4));
                assert_eq!(c.local_address().as_deref(), Some("127.0.0.1"));
                assert_eq!(c.local_family(), Some(Family::IPv4));
                let local_port = c.local_port().expect("local port after connect");
                assert_ne!(local_port, 0);
                assert_eq!(
                    c.address(),
                    Some(Address::Inet(AddressInfo {
                        address: "127.0.0.1".into(),
                        family: Family::IPv4,
                        port: local_port,
                    }))
                );
                l2.push(format!("local port {local_port}"));
            });
            let s = server.clone();
            let l3 = l.clone();
            client.on_close(move |c, _| {
                // Node clears the local endpoint at close (98).
                assert_eq!(c.local_address(), None);
                assert_eq!(c.local_port(), None);
                assert_eq!(c.address(), None);
                assert!(c.pending(), "pending is true again after close (99)");
                assert_eq!(c.ready_state(), ReadyState::Closed);
                l3.push("closed state ok");
                s.close();
            });
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let local_port: u16 = entries[1]
            .strip_prefix("local port ")
            .expect("local port line")
            .parse()
            .unwrap();
        assert_eq!(
            entries,
            [
                "connect 127.0.0.1 IPv4 open".to_string(),
                format!("local port {local_port}"),
                "ready".into(),
                "close false".into(),
                "closed state ok".into(),
            ]
        );
        assert_eq!(
            *server_remote.lock().unwrap(),
            Some(local_port),
            "the server sees our local port as its remote port"
        );
    });
}

#[test]
fn connect_to_ipv6_literal_has_no_lookup_and_reports_ipv6_addresses() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        ending_server("::1", move |server, port| {
            let client = nodenet::connect((port, "::1"));
            assert_eq!(client.ready_state(), ReadyState::Opening);
            client.on_lookup(|_, _, _| panic!("no lookup for an IP literal"));
            trace(&client, &l);
            let l2 = l.clone();
            client.on_connect(move |c| {
                assert_eq!(c.remote_port(), Some(port));
                let local = c.address().expect("address after connect");
                let info = local.inet().expect("an IP endpoint");
                l2.push(format!(
                    "local {} {} {}",
                    info.address,
                    info.family,
                    Some(info.port) == c.local_port()
                ));
            });
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connect ::1 IPv6 open",
                "local ::1 IPv6 true",
                "ready",
                "close false"
            ]
        );
    });
}

#[test]
fn connect_options_with_host_localhost_emit_lookup_with_ip_family_and_host() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(0);
        let port = port_of(&server);
        let client = nodenet::connect(ConnectOptions::port(port).host("localhost"));
        assert!(client.connecting());
        assert_eq!(client.ready_state(), ReadyState::Opening);
        trace(&client, &log);
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let lookups = localhost_lookup_lines();
        assert_eq!(entries[..lookups.len()], lookups[..]);
        assert_eq!(entries[lookups.len()..].len(), 3, "{entries:?}");
        assert!(entries[lookups.len()].starts_with("connect "));
        assert_eq!(entries[lookups.len() + 1..], ["ready", "close false"]);
    });
}

#[test]
fn empty_host_means_localhost() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(0);
        let port = port_of(&server);
        let client = nodenet::connect((port, ""));
        let l = log.clone();
        client.on_lookup(move |_, _, host| l.push(format!("lookup host {host}")));
        let l = log.clone();
        client.on_connect(move |_| l.push("connect"));
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert!(!entries.is_empty() && entries.last().unwrap() == "connect");
        assert!(
            entries[..entries.len() - 1]
                .iter()
                .all(|e| e == "lookup host localhost"),
            "{entries:?}"
        );
        assert_eq!(entries.len() - 1, localhost_lookup_lines().len());
    });
}

#[test]
fn socket_new_then_connect_goes_from_open_to_opening_to_open() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        ending_server("127.0.0.1", move |server, port| {
            let socket = Socket::new(SocketOptions::default());
            // Node quirk (100): an unconnected new Socket is 'open', pending, not connecting.
            assert_eq!(socket.ready_state(), ReadyState::Open);
            assert!(socket.pending());
            assert!(!socket.connecting());
            assert!(!socket.destroyed());
            assert_eq!(socket.remote_address(), None);
            assert_eq!(socket.address(), None);
            let returned = socket.connect(ConnectOptions::port(port).host("127.0.0.1"));
            assert!(returned == &socket, "connect returns the socket");
            assert!(socket.connecting());
            assert!(socket.pending());
            assert_eq!(socket.ready_state(), ReadyState::Opening);
            trace(&socket, &l);
            let s = server.clone();
            socket.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["connect 127.0.0.1 IPv4 open", "ready", "close false"]
        );
    });
}

#[test]
fn create_connection_connects_like_connect() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        ending_server("127.0.0.1", move |server, port| {
            let client = nodenet::create_connection((port, "127.0.0.1"));
            assert!(client.connecting());
            trace(&client, &l);
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["connect 127.0.0.1 IPv4 open", "ready", "close false"]
        );
    });
}

#[test]
fn connect_event_is_emitted_before_ready_and_data_after_both() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.end_with("hi");
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            let l1 = l.clone();
            client.on_ready(move |_| l1.push("ready"));
            let l1 = l.clone();
            client.on_connect(move |_| l1.push("connect"));
            let l1 = l.clone();
            client.on_data(move |_, chunk| {
                l1.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
            });
            let l1 = l.clone();
            client.on_end(move |_| l1.push("end"));
            let l1 = l.clone();
            let s = server.clone();
            client.on_close(move |_, h| {
                l1.push(format!("close {h}"));
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["connect", "ready", "data hi", "end", "close false"]
        );
    });
}

// ----- local (unix) paths ---------------------------------------------------------------------

#[test]
fn path_connect_has_no_lookup_and_no_ip_addresses() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let path = util::temp_socket_path("connect");
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(path.as_path());
        let l = log.clone();
        let p = path.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect(p.as_path());
            assert!(client.connecting());
            assert!(client.pending());
            assert_eq!(client.ready_state(), ReadyState::Opening);
            client.on_lookup(|_, _, _| panic!("no lookup for a path"));
            trace(&client, &l);
            let l2 = l.clone();
            client.on_connect(move |c| {
                l2.push(format!(
                    "addresses {} {} {} {} {:?}",
                    opt(c.remote_port()),
                    opt(c.local_address()),
                    opt(c.local_port()),
                    opt(c.local_family()),
                    c.address()
                ));
            });
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connect - - open",
                "addresses - - - - None",
                "ready",
                "close false"
            ]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    });
}

#[test]
fn path_connect_to_a_missing_path_is_enoent() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let path = util::temp_socket_path("missing");
        let shown = path.to_str().unwrap().to_string();
        let client = nodenet::connect(ConnectOptions::path(&path));
        client.on_lookup(|_, _, _| panic!("no lookup for a path"));
        client.on_connect(|_| panic!("must not connect"));
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!("error ENOENT -2 connect {shown} - | connect ENOENT {shown}"),
                "close true".into()
            ]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "unix sockets: a plain file at the path (pipes have no files)"
)]
fn path_connect_to_a_file_without_listener_is_econnrefused() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let path = util::temp_socket_path("plainfile");
        std::fs::write(&path, b"not a socket").unwrap();
        let shown = path.to_str().unwrap().to_string();
        let client = nodenet::connect(path.clone());
        client.on_connect(|_| panic!("must not connect"));
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                format!("error ECONNREFUSED -111 connect {shown} - | connect ECONNREFUSED {shown}"),
                "close true".into()
            ]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    });
}

// ----- ECONNREFUSED and the Node cross-checks -------------------------------------------------

#[test]
fn econnrefused_has_node_fields_and_is_followed_by_close_true() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let client = nodenet::connect((port, "127.0.0.1"));
        client.on_lookup(|_, _, _| panic!("no lookup for an IP literal"));
        client.on_connect(|_| panic!("must not connect"));
        client.on_ready(|_| panic!("must not be ready"));
        trace(&client, &log);
        let l = log.clone();
        client.on_error(move |c, e| {
            assert_eq!(e.code(), "ECONNREFUSED");
            assert_eq!(e.errno(), Some(util::errno("ECONNREFUSED")));
            assert_eq!(e.syscall(), Some("connect"));
            assert_eq!(e.address(), Some("127.0.0.1"));
            assert_eq!(e.port(), Some(port));
            assert_eq!(e.hostname(), None);
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            assert_eq!(
                e.to_string(),
                format!("connect ECONNREFUSED 127.0.0.1:{port}")
            );
            assert!(c.destroyed());
            assert!(!c.connecting());
            l.push("error checked");
        });
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!(
                    "error ECONNREFUSED -111 connect 127.0.0.1 {port} | connect ECONNREFUSED 127.0.0.1:{port}"
                ),
                "error checked".into(),
                "close true".into()
            ]
        );
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn econnrefused_events_match_node() {
    with_deadline(LIMIT, || {
        let (port, _refused) = refused_port();
        let node = node_lines(
            "const c = net.connect(Number(process.argv[1]), '127.0.0.1'); trace(c);",
            &[port.to_string()],
        );
        let log = EventLog::new();
        let client = nodenet::connect((port, "127.0.0.1"));
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), node);
        assert_eq!(node.len(), 2, "node: {node:?}");
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn econnrefused_after_localhost_lookup_matches_node() {
    with_deadline(LIMIT, || {
        let (port, _refused) = refused_port();
        let node = node_lines(
            "const c = net.connect({port: Number(process.argv[1]), host: 'localhost', family: 4}); trace(c);",
            &[port.to_string()],
        );
        let log = EventLog::new();
        let client = nodenet::connect(ConnectOptions::port(port).host("localhost").family(4));
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                "lookup 127.0.0.1 4 localhost".to_string(),
                format!(
                    "error ECONNREFUSED -111 connect 127.0.0.1 {port} | connect ECONNREFUSED 127.0.0.1:{port}"
                ),
                "close true".into()
            ]
        );
        assert_eq!(log.entries(), node);
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn localhost_event_order_matches_node() {
    with_deadline(LIMIT, || {
        // Same scenario on both sides: a dual-stack server that ends each connection; the client
        // connects to localhost, reads to the end, and the server closes when the client closes.
        let node = node_lines(
            r#"
            const s = net.createServer((c) => c.end());
            s.listen(0, () => {
              const c = net.connect(s.address().port, 'localhost');
              trace(c);
              c.on('data', () => {});
              c.on('end', () => out('end'));
              c.on('close', () => s.close());
            });
            "#,
            &[],
        );
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(0);
        let client = nodenet::connect((port_of(&server), "localhost"));
        trace(&client, &log);
        client.on_data(|_, _| {});
        let l = log.clone();
        client.on_end(move |_| l.push("end"));
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        assert!(node.iter().any(|l| l.starts_with("lookup ")), "{node:?}");
        assert_eq!(log.entries(), node);
    });
}

// ----- family and custom lookup ---------------------------------------------------------------

#[test]
fn family_4_keeps_only_ipv4_results_of_a_custom_lookup() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c2 = calls.clone();
        let l = log.clone();
        ending_server("127.0.0.1", move |server, port| {
            let client = nodenet::connect(
                ConnectOptions::port(port)
                    .host("dual")
                    .family(4)
                    .lookup(dual_lookup(c2)),
            );
            trace(&client, &l);
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup 127.0.0.1 4 dual",
                "connect 127.0.0.1 IPv4 open",
                "ready",
                "close false"
            ]
        );
        assert_eq!(*calls.lock().unwrap(), [("dual".to_string(), 4)]);
    });
}

#[test]
fn family_6_keeps_only_ipv6_results_of_a_custom_lookup() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c2 = calls.clone();
        let l = log.clone();
        ending_server("::1", move |server, port| {
            let client = nodenet::connect(
                ConnectOptions::port(port)
                    .host("dual")
                    .family(6)
                    .lookup(dual_lookup(c2)),
            );
            trace(&client, &l);
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup ::1 6 dual",
                "connect ::1 IPv6 open",
                "ready",
                "close false"
            ]
        );
        assert_eq!(*calls.lock().unwrap(), [("dual".to_string(), 6)]);
    });
}

#[test]
fn without_family_every_address_is_looked_up_and_tried_in_order() {
    // Node v20 (autoSelectFamily): 'lookup' per address, ::1 refused, then 127.0.0.1 connects.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c2 = calls.clone();
        let l = log.clone();
        ending_server("127.0.0.1", move |server, port| {
            let client = nodenet::connect(
                ConnectOptions::port(port)
                    .host("dual")
                    .lookup(dual_lookup(c2)),
            );
            trace(&client, &l);
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup ::1 6 dual",
                "lookup 127.0.0.1 4 dual",
                "connect 127.0.0.1 IPv4 open",
                "ready",
                "close false"
            ]
        );
        assert_eq!(*calls.lock().unwrap(), [("dual".to_string(), 0)]);
    });
}

#[test]
fn custom_lookup_failure_is_enotfound_lookup_then_error_then_close_true() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let client = nodenet::connect(
            ConnectOptions::port(free_port())
                .host("bogus.example")
                .lookup(not_found_lookup()),
        );
        client.on_connect(|_| panic!("must not connect"));
        trace(&client, &log);
        let l = log.clone();
        client.on_error(move |_, e| {
            assert_eq!(e.hostname(), Some("bogus.example"));
            assert_eq!(e.kind(), io::ErrorKind::NotFound);
            l.push("hostname checked");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup ENOTFOUND bogus.example",
                "error ENOTFOUND -3008 getaddrinfo - - | getaddrinfo ENOTFOUND bogus.example",
                "hostname checked",
                "close true"
            ]
        );
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn unresolvable_invalid_tld_is_enotfound_and_matches_node() {
    // RFC 6761: names under .invalid never resolve.
    with_deadline(LIMIT, || {
        let (port, _refused) = refused_port();
        let node = node_lines(
            "const c = net.connect(Number(process.argv[1]), 'nonexistent.invalid'); trace(c);",
            &[port.to_string()],
        );
        let log = EventLog::new();
        let client = nodenet::connect((port, "nonexistent.invalid"));
        client.on_connect(|_| panic!("must not connect"));
        trace(&client, &log);
        let l = log.clone();
        client.on_error(move |_, e| l.push(format!("hostname {}", opt(e.hostname()))));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "lookup ENOTFOUND nonexistent.invalid",
                "error ENOTFOUND -3008 getaddrinfo - - | getaddrinfo ENOTFOUND nonexistent.invalid",
                "hostname nonexistent.invalid",
                "close true"
            ]
        );
        let ours: Vec<String> = log
            .entries()
            .into_iter()
            .filter(|l| !l.starts_with("hostname"))
            .collect();
        assert_eq!(ours, node);
    });
}

// ----- invalid options (Node throws; nodenet reports error + close(true)) ---------------------

fn assert_invalid_options(options: ConnectOptions, expected_error: &str) {
    with_deadline(LIMIT, {
        let expected_error = expected_error.to_string();
        move || {
            let log = EventLog::new();
            let client = nodenet::connect(options);
            client.on_lookup(|_, _, _| panic!("no lookup for invalid options"));
            client.on_connect(|_| panic!("must not connect"));
            trace(&client, &log);
            log.push("after connect");
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                [
                    "after connect".to_string(),
                    format!("error {expected_error}"),
                    "close true".into()
                ]
            );
        }
    });
}

#[test]
fn invalid_family_is_err_invalid_arg_value_then_close_true() {
    assert_invalid_options(
        ConnectOptions::port(free_port())
            .host("127.0.0.1")
            .family(5),
        "ERR_INVALID_ARG_VALUE - - - - | The property 'options.family' must be one of: 0, 4, 6. Received 5",
    );
}

#[test]
fn default_connect_options_are_err_missing_args_then_close_true() {
    assert_invalid_options(
        ConnectOptions::default(),
        "ERR_MISSING_ARGS - - - - | The \"options\" or \"port\" or \"path\" argument must be specified",
    );
}

#[test]
fn bad_local_address_is_err_invalid_ip_address_then_close_true() {
    assert_invalid_options(
        ConnectOptions::port(free_port())
            .host("127.0.0.1")
            .local_address("foo"),
        "ERR_INVALID_IP_ADDRESS - - - - | Invalid IP address: foo",
    );
}

#[test]
fn invalid_options_errors_have_invalid_input_kind() {
    with_deadline(LIMIT, || {
        let kinds = Arc::new(Mutex::new(Vec::new()));
        for options in [
            ConnectOptions::default(),
            ConnectOptions::port(1).family(5),
            ConnectOptions::port(1).local_address("foo"),
        ] {
            let k = kinds.clone();
            nodenet::connect(options).on_error(move |_, e| k.lock().unwrap().push(e.kind()));
        }
        nodenet::run().unwrap();
        assert_eq!(*kinds.lock().unwrap(), [io::ErrorKind::InvalidInput; 3]);
    });
}

// ----- local address / port -------------------------------------------------------------------

#[test]
fn local_address_and_local_port_are_bound_before_connecting() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let local_port = free_port();
        let l = log.clone();
        let server = nodenet::create_server(move |c| {
            l.push(format!(
                "server sees {}:{}",
                opt(c.remote_address()),
                opt(c.remote_port())
            ));
            c.end();
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect(
                ConnectOptions::port(port_of(server))
                    .host("127.0.0.1")
                    .local_address("127.0.0.2")
                    .local_port(local_port),
            );
            let l2 = l.clone();
            client.on_connect(move |c| {
                l2.push(format!(
                    "client local {}:{}",
                    opt(c.local_address()),
                    opt(c.local_port())
                ))
            });
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        let mut entries = log.entries();
        entries.sort();
        assert_eq!(
            entries,
            [
                format!("client local 127.0.0.2:{local_port}"),
                format!("server sees 127.0.0.2:{local_port}"),
            ]
        );
    });
}

#[test]
fn binding_a_local_port_in_use_is_bind_eaddrinuse() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        let l = log.clone();
        ending_server("127.0.0.1", move |server, port| {
            let client = nodenet::connect(
                ConnectOptions::port(port)
                    .host("127.0.0.1")
                    .local_address("127.0.0.1")
                    .local_port(busy_port),
            );
            client.on_connect(|_| panic!("must not connect"));
            trace(&client, &l);
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!(
                    "error EADDRINUSE -98 bind 127.0.0.1 {busy_port} | bind EADDRINUSE 127.0.0.1:{busy_port}"
                ),
                "close true".into()
            ]
        );
        drop(busy);
    });
}

#[test]
fn econnrefused_with_local_address_and_port_has_local_suffix() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let local_port = free_port();
        let client = nodenet::connect(
            ConnectOptions::port(port)
                .host("127.0.0.1")
                .local_address("127.0.0.1")
                .local_port(local_port),
        );
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!(
                    "error ECONNREFUSED -111 connect 127.0.0.1 {port} | connect ECONNREFUSED 127.0.0.1:{port} - Local (127.0.0.1:{local_port})"
                ),
                "close true".into()
            ]
        );
    });
}

#[test]
fn econnrefused_with_only_local_address_has_no_local_suffix() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let client = nodenet::connect(
            ConnectOptions::port(port)
                .host("127.0.0.1")
                .local_address("127.0.0.1"),
        );
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!(
                    "error ECONNREFUSED -111 connect 127.0.0.1 {port} | connect ECONNREFUSED 127.0.0.1:{port}"
                ),
                "close true".into()
            ]
        );
    });
}

#[test]
fn econnrefused_with_only_local_port_has_unspecified_local_suffix() {
    // Node (verified, v20): localPort alone binds 0.0.0.0:LP and the message ends
    // " - Local (0.0.0.0:LP)".
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let local_port = free_port();
        let client = nodenet::connect(
            ConnectOptions::port(port)
                .host("127.0.0.1")
                .local_port(local_port),
        );
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!(
                    "error ECONNREFUSED -111 connect 127.0.0.1 {port} | connect ECONNREFUSED 127.0.0.1:{port} - Local (0.0.0.0:{local_port})"
                ),
                "close true".into()
            ]
        );
    });
}

// ----- destroy / write / end while connecting -------------------------------------------------

#[test]
fn destroy_while_connecting_emits_only_close_false() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        // A listener that never accepts: the kernel completes the handshake anyway.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect((port, "127.0.0.1"));
        client.destroy();
        assert!(client.destroyed());
        assert!(!client.connecting());
        assert!(client.pending());
        assert_eq!(client.ready_state(), ReadyState::Closed);
        client.on_connect(|_| panic!("no connect after destroy"));
        client.on_ready(|_| panic!("no ready after destroy"));
        client.on_error(|_, e| panic!("no error after destroy: {e}"));
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["close false"]);
        drop(listener);
    });
}

#[test]
fn destroy_while_looking_up_emits_only_close_false() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The resolver answers only once the socket has closed.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        let client = nodenet::connect(ConnectOptions::port(port).host("somewhere").lookup(
            move |_, _| {
                let _ = wait.lock().unwrap().recv();
                Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
            },
        ));
        client.destroy();
        client.on_lookup(|_, _, _| panic!("no lookup after destroy"));
        client.on_connect(|_| panic!("no connect after destroy"));
        client.on_error(|_, e| panic!("no error after destroy: {e}"));
        trace(&client, &log);
        client.on_close(move |_, _| {
            let _ = release.send(());
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["close false"]);
        drop(listener);
    });
}

#[test]

fn destroy_after_the_lookup_finished_but_before_it_was_dispatched_emits_no_lookup() {
    // Node checks `if (!self.connecting) return;` before emitting 'lookup': after destroy() only
    // close(false) follows (node: ['close false'] for connect(P, 'localhost'); destroy()).
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect(
            ConnectOptions::port(port)
                .host("somewhere")
                .lookup(|_, _| Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])),
        );
        // The connector starts on the next tick and reports 'lookup' before it connects. A zero
        // timer runs after that tick and before the loop polls for I/O events: once the kernel
        // has the connection, the lookup result waits in the loop's queue, undispatched.
        let accepted = std::rc::Rc::new(std::cell::RefCell::new(None));
        let (slot, c) = (accepted.clone(), client.clone());
        nodenet::set_timeout(std::time::Duration::ZERO, move || {
            *slot.borrow_mut() = Some(listener.accept().expect("the connector connects"));
            c.destroy();
        });
        let l = log.clone();
        client.on_lookup(move |_, r, host| {
            l.push(format!(
                "lookup {} {host}",
                r.map(|(ip, _)| ip.to_string()).unwrap_or_default()
            ))
        });
        client.on_connect(|_| panic!("no connect after destroy"));
        client.on_error(|_, e| panic!("no error after destroy: {e}"));
        let l = log.clone();
        client.on_close(move |_, h| l.push(format!("close {h}")));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["close false"]);
        assert!(accepted.borrow().is_some());
    });
}

#[test]
fn destroy_in_the_lookup_listener_stops_the_connect() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect(
            ConnectOptions::port(port)
                .host("somewhere")
                .lookup(|_, _| Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])),
        );
        let l = log.clone();
        client.on_lookup(move |c, result, _| {
            l.push(format!("lookup {}", result.unwrap().0));
            c.destroy();
            l.push(format!(
                "destroyed {} {} {}",
                c.connecting(),
                c.pending(),
                c.ready_state()
            ));
        });
        client.on_connect(|_| panic!("no connect after destroy"));
        client.on_ready(|_| panic!("no ready after destroy"));
        client.on_error(|_, e| panic!("no error after destroy: {e}"));
        let l = log.clone();
        client.on_close(move |_, h| l.push(format!("close {h}")));
        nodenet::run().unwrap();
        // Node: ["lookup 127.0.0.1","destroyed false true closed","close false"]
        assert_eq!(
            log.entries(),
            [
                "lookup 127.0.0.1",
                "destroyed false true closed",
                "close false"
            ]
        );
        drop(listener);
    });
}

#[test]
fn destroy_while_connecting_fails_queued_write_callbacks_after_close() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect((port, "127.0.0.1"));
        trace(&client, &log);
        let l = log.clone();
        client.write_with("x", move |_, e| {
            l.push(format!("write cb {}", opt(e.map(|e| e.code().to_string()))))
        });
        client.destroy();
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "close false",
                "write cb ERR_SOCKET_CLOSED_BEFORE_CONNECTION"
            ]
        );
        drop(listener);
    });
}

#[test]
fn failed_connect_fails_queued_write_callbacks_after_close() {
    // Node (close listener added before the write): error, close true, then the write callback.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        client.on_error(move |_, e| l.push(format!("error {}", e.code())));
        let l = log.clone();
        client.on_close(move |_, h| l.push(format!("close {h}")));
        let l = log.clone();
        let ok = client.write_with("abc", move |_, e| {
            let e = e.expect("the write fails");
            l.push(format!("write cb {} | {}", e.code(), e));
        });
        assert!(ok, "a small write while connecting returns true");
        assert_eq!(client.bytes_written(), 3);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "error ECONNREFUSED",
                "close true",
                "write cb ERR_SOCKET_CLOSED_BEFORE_CONNECTION | Socket closed before the connection was established"
            ]
        );
    });
}

#[test]

fn failed_connect_write_callback_runs_before_close_listeners_added_after_the_write() {
    // Node's _writeGeneric adds `once('close', cb(ERR_SOCKET_CLOSED_BEFORE_CONNECTION))` at write
    // time, so a close listener added after the write runs after the callback.
    // node: ['error', 'wcb ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'close true']
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let (port, _refused) = refused_port();
        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        client.write_with("abc", move |_, e| {
            l.push(format!("write cb {}", opt(e.map(|e| e.code().to_string()))))
        });
        let l = log.clone();
        client.on_error(move |_, e| l.push(format!("error {}", e.code())));
        let l = log.clone();
        client.on_close(move |_, h| l.push(format!("close {h}")));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "error ECONNREFUSED",
                "write cb ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
                "close true"
            ]
        );
    });
}

#[test]
fn writes_while_connecting_are_queued_counted_at_once_and_sent_after_connect() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let peer = EventLog::new();
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        let l = peer.clone();
        let server = nodenet::create_server(move |c| {
            let r = r.clone();
            c.on_data(move |_, chunk| r.lock().unwrap().extend_from_slice(chunk.bytes()));
            let l = l.clone();
            c.on_end(move |_| l.push("server end"));
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            assert!(client.write("abc"));
            assert_eq!(
                client.bytes_written(),
                3,
                "bytesWritten counts queued bytes (75)"
            );
            assert_eq!(client.buffer_size(), 3);
            assert!(client.write(b"def".to_vec()));
            assert_eq!(client.bytes_written(), 6);
            let l2 = l.clone();
            client.on_connect(move |c| l2.push(format!("connect {}", c.bytes_written())));
            let l2 = l.clone();
            client.on_finish(move |c| {
                l2.push(format!("finish {} {}", c.bytes_written(), c.buffer_size()))
            });
            client.end();
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["connect 6", "finish 6 0"]);
        assert_eq!(peer.entries(), ["server end"]);
        assert_eq!(&received.lock().unwrap()[..], b"abcdef");
    });
}

#[test]
fn write_while_connecting_returns_false_at_the_high_water_mark_and_drains_after_connect() {
    // Node (67): while connecting, write(16383 B) -> true, write(1 B) -> false; 'drain' after connect.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let total = Arc::new(Mutex::new(0usize));
        let t = total.clone();
        let server = nodenet::create_server(move |c| {
            let t = t.clone();
            c.on_data(move |_, chunk| *t.lock().unwrap() += chunk.bytes().len());
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            l.push(format!("write 16383 {}", client.write(vec![b'a'; 16383])));
            l.push(format!("write 1 {}", client.write("b")));
            l.push(format!("bytes written {}", client.bytes_written()));
            let l2 = l.clone();
            client.on_connect(move |_| l2.push("connect"));
            let l2 = l.clone();
            client.on_drain(move |c| {
                l2.push(format!("drain {}", c.buffer_size()));
                c.end();
            });
            let s = server.clone();
            client.on_close(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write 16383 true",
                "write 1 false",
                "bytes written 16384",
                "connect",
                "drain 0"
            ]
        );
        assert_eq!(*total.lock().unwrap(), 16384);
    });
}

#[test]
fn end_while_connecting_sends_data_and_fin_after_connect() {
    // Node (47): readyState stays 'opening'; connect (readOnly), ready, finish, then the peer's
    // FIN: end, close false; the peer gets the data then 'end'. Here the peer (half-open) ends
    // only once our 'finish' ran, so the order does not depend on thread timing.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let peer = EventLog::new();
        // (accepted socket, our 'finish' seen): the peer ends once it has both.
        let state: Rc<RefCell<(Option<Socket>, bool)>> = Default::default();
        let p = peer.clone();
        let st = state.clone();
        let server = nodenet::create_server_with(
            nodenet::ServerOptions::default().allow_half_open(true),
            move |c| {
                st.borrow_mut().0 = Some(c.clone());
                if st.borrow().1 {
                    c.end();
                }
                let p1 = p.clone();
                c.on_data(move |_, chunk| {
                    p1.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                let p1 = p.clone();
                c.on_end(move |_| p1.push("end"));
            },
        );
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            client.end_with("hello");
            l.push(format!(
                "after end {} {} {}",
                client.ready_state(),
                client.bytes_written(),
                client.connecting()
            ));
            let l2 = l.clone();
            client.on_connect(move |c| l2.push(format!("connect {}", c.ready_state())));
            let l2 = l.clone();
            client.on_ready(move |_| l2.push("ready"));
            let l2 = l.clone();
            let st = state.clone();
            client.on_finish(move |_| {
                l2.push("finish");
                st.borrow_mut().1 = true;
                if let Some(accepted) = &st.borrow().0 {
                    accepted.end();
                }
            });
            let l2 = l.clone();
            client.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            let s = server.clone();
            client.on_close(move |_, h| {
                l2.push(format!("close {h}"));
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "after end opening 5 true",
                "connect readOnly",
                "ready",
                "finish",
                "end",
                "close false"
            ]
        );
        assert_eq!(peer.entries(), ["data hello", "end"]);
    });
}

#[test]

fn end_while_connecting_emits_finish_before_the_auto_ending_peers_end() {
    // Node (43, 47): the initiator sees 'finish' then 'end' (the peer auto-ends after our FIN).
    // node: ['connect', 'ready', 'finish', 'end', 'close false'] in 300 of 300 runs.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.on_data(|_, _| {});
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            client.end_with("hello");
            let l2 = l.clone();
            client.on_connect(move |_| l2.push("connect"));
            let l2 = l.clone();
            client.on_ready(move |_| l2.push("ready"));
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            client.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            let s = server.clone();
            client.on_close(move |_, h| {
                l2.push(format!("close {h}"));
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["connect", "ready", "finish", "end", "close false"]
        );
    });
}

#[test]

fn end_while_connecting_emits_finish_before_end_repeatedly() {
    for _ in 0..50 {
        end_while_connecting_emits_finish_before_the_auto_ending_peers_end();
    }
}

// ----- reconnect ------------------------------------------------------------------------------

/// A server that sends "hi" and ends every connection; counts connections.
fn hi_server(connections: Arc<Mutex<usize>>) -> Server {
    let server = nodenet::create_server(move |c| {
        *connections.lock().unwrap() += 1;
        c.end_with("hi");
    });
    server.listen((0, "127.0.0.1"));
    server
}

fn log_round(socket: &Socket, log: &EventLog, round: usize) {
    let l = log.clone();
    socket.on_connect(move |_| l.push(format!("connect {round}")));
    let l = log.clone();
    socket.on_data(move |_, chunk| {
        l.push(format!(
            "data {round} {}",
            String::from_utf8_lossy(chunk.bytes())
        ))
    });
}

#[test]
fn a_closed_socket_can_connect_again_from_its_close_listener() {
    // Node's reconnect pattern: a socket connected again from its own close listener keeps its
    // listeners (as in Node), so the same listeners see both rounds.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let connections = Arc::new(Mutex::new(0));
        let server = hi_server(connections.clone());
        let l = log.clone();
        server.on_listening(move |server| {
            let port = port_of(server);
            let client = nodenet::connect((port, "127.0.0.1"));
            let round = std::rc::Rc::new(std::cell::Cell::new(1));
            let (l1, r1) = (l.clone(), round.clone());
            client.on_connect(move |_| l1.push(format!("connect {}", r1.get())));
            let (l2, r2) = (l.clone(), round.clone());
            client.on_data(move |_, chunk| {
                l2.push(format!(
                    "data {} {}",
                    r2.get(),
                    String::from_utf8_lossy(chunk.bytes())
                ))
            });
            let l = l.clone();
            let server = server.clone();
            client.on_close(move |c, h| {
                if round.get() == 2 {
                    l.push(format!("close 2 {h}"));
                    server.close();
                    return;
                }
                l.push(format!(
                    "close 1 {h} {} {} {} {}",
                    c.destroyed(),
                    c.pending(),
                    c.connecting(),
                    c.ready_state()
                ));
                round.set(2);
                c.connect((port, "127.0.0.1"));
                l.push(format!(
                    "reconnecting {} {} {} {}",
                    c.destroyed(),
                    c.pending(),
                    c.connecting(),
                    c.ready_state()
                ));
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connect 1",
                "data 1 hi",
                "close 1 false true true false closed",
                "reconnecting false true true opening",
                "connect 2",
                "data 2 hi",
                "close 2 false"
            ]
        );
        assert_eq!(*connections.lock().unwrap(), 2);
    });
}

#[test]
fn a_closed_socket_can_connect_again_later() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let connections = Arc::new(Mutex::new(0));
        let server = hi_server(connections.clone());
        let l = log.clone();
        server.on_listening(move |server| {
            let port = port_of(server);
            let client = nodenet::connect((port, "127.0.0.1"));
            log_round(&client, &l, 1);
            let l = l.clone();
            let server = server.clone();
            client.on_close(move |c, _| {
                l.push("close 1");
                let (c, l, server) = (c.clone(), l.clone(), server.clone());
                nodenet::set_immediate(move || {
                    c.connect((port, "127.0.0.1"));
                    log_round(&c, &l, 2);
                    let l = l.clone();
                    c.on_close(move |_, h| {
                        l.push(format!("close 2 {h}"));
                        server.close();
                    });
                });
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connect 1",
                "data 1 hi",
                "close 1",
                "connect 2",
                "data 2 hi",
                "close 2 false"
            ]
        );
        assert_eq!(*connections.lock().unwrap(), 2);
    });
}

#[test]

fn reconnect_resets_bytes_read_and_bytes_written() {
    // Node (new handle): close: bytesRead 2, bytesWritten 3; right after connect() again: 0 and 0;
    // after the second round: bytesRead 2, bytesWritten 2.
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let connections = Arc::new(Mutex::new(0));
        let server = nodenet::create_server({
            let connections = connections.clone();
            move |c| {
                *connections.lock().unwrap() += 1;
                c.on_data(|_, _| {});
                c.end_with("hi");
            }
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let port = port_of(server);
            let client = nodenet::connect((port, "127.0.0.1"));
            client.write("abc");
            client.on_data(|_, _| {});
            let l = l.clone();
            let server = server.clone();
            client.on_close(move |c, _| {
                l.push(format!("close 1 {} {}", c.bytes_read(), c.bytes_written()));
                let (c, l, server) = (c.clone(), l.clone(), server.clone());
                nodenet::set_immediate(move || {
                    c.connect((port, "127.0.0.1"));
                    l.push(format!(
                        "reconnect {} {}",
                        c.bytes_read(),
                        c.bytes_written()
                    ));
                    c.write("de");
                    c.on_data(|_, _| {});
                    let l = l.clone();
                    c.on_close(move |c, _| {
                        l.push(format!("close 2 {} {}", c.bytes_read(), c.bytes_written()));
                        server.close();
                    });
                });
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["close 1 2 3", "reconnect 0 0", "close 2 2 2"]
        );
    });
}

// ----- ref / unref while connecting -----------------------------------------------------------

#[test]

fn unref_while_connecting_still_delivers_connect_before_run_returns() {
    // Node: the pending connect request keeps the loop alive; the unref takes effect after it
    // (node -e "c=net.connect(P,'127.0.0.1'); c.unref(); ..." prints connect, ready, exit).
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect((port, "127.0.0.1"));
        assert!(client.unref() == &client, "unref returns the socket");
        trace(&client, &log);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["connect 127.0.0.1 IPv4 open", "ready"]);
        assert!(!client.destroyed(), "an unref'd socket stays open");
        client.destroy();
        drop(listener);
    });
}

#[test]
fn unref_then_ref_while_connecting_keeps_the_loop_alive_until_close() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        // The server stops listening at its first connection and ends it; from then on only the
        // client (ref'd again) keeps the loop alive until its close.
        let server = nodenet::Server::new(Default::default());
        let s = server.clone();
        server.on_connection(move |c| {
            c.end();
            s.close();
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            client.unref();
            assert!(client.ref_() == &client, "ref_ returns the socket");
            trace(&client, &l);
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["connect 127.0.0.1 IPv4 open", "ready", "close false"]
        );
    });
}

#[test]
fn unref_after_connect_lets_run_return_while_the_socket_is_open() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        client.on_connect(move |c| {
            l.push("connect");
            c.unref();
        });
        client.on_close(|_, _| panic!("the socket stays open"));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["connect"]);
        assert!(!client.destroyed());
        assert_eq!(client.ready_state(), ReadyState::Open);
        client.destroy();
        drop(listener);
    });
}

/// Connecting to the unspecified address (`0.0.0.0`, `::`) reaches this host, as in Node: Linux
/// does it itself, and on Windows (where such a connect fails) nodenet connects to loopback as
/// libuv does. Node v20: `0.0.0.0 connect 127.0.0.1 IPv4`, `:: connect ::1 IPv6`.
#[test]
fn connecting_to_the_unspecified_address_reaches_this_host() {
    let mut lines = with_deadline(LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen(0).on_listening(move |server| {
            let port = port_of(server);
            let left = Rc::new(std::cell::Cell::new(2));
            for host in ["0.0.0.0", "::"] {
                let c = nodenet::connect((port, host));
                let (on_error, l) = (l.clone(), l.clone());
                let (left, server) = (left.clone(), server.clone());
                c.on_connect(move |c| {
                    l.push(format!(
                        "{host} connect {} {}",
                        opt(c.remote_address()),
                        opt(c.remote_family().map(|f| f.to_string()))
                    ));
                    c.destroy();
                    left.set(left.get() - 1);
                    if left.get() == 0 {
                        server.close();
                    }
                });
                c.on_error(move |_, e| on_error.push(format!("{host} error {}", err_line(e))));
            }
        });
        nodenet::run().unwrap();
        log.entries()
    });
    lines.sort();
    assert_eq!(
        lines,
        ["0.0.0.0 connect 127.0.0.1 IPv4", ":: connect ::1 IPv6"]
    );
}
