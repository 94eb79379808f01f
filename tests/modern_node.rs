//! Newer Node features (node-net-behaviors.md section 2): `resetAndDestroy()` (81), `'ready'`,
//! `'finish'`, `maxConnections` and `'drop'` (34-37), `createServer({highWaterMark, noDelay,
//! keepAlive, keepAliveInitialDelay})` (40, 66, 96), `listen({ipv6Only, reusePort})` (8).
//!
//! Every expectation was first observed with Node v20.20.2 on 127.0.0.1 port 0; the Node output
//! is quoted above each test (the Rust traces use the same line format, so the assertions read
//! as Node's output). The probe named in a quote (`drop.js dual`, ...) is
//! `tests/node/modern/probes/<name>.js`: run it with `node` to see the quoted output again (ports
//! and timings vary). Some tests run Node itself as the peer (`tests/node/modern/peer.js`;
//! `probes/dropctl.js` and `probes/resetctl.js` run it against Node as a control).
//! `reusePort` is post-v20 (v22.12): there the expectation is Node's documentation.
//! Tests marked `#[ignore = "divergence: ..."]` assert Node's behaviour where nodenet differs;
//! run them with `cargo test --test modern_node -- --ignored`.
#![cfg(unix)] // reads TCP options through /proc/self/fd and libc, and uses Node as a child process

mod util;

use nodenet::{
    DropInfo, Error, Family, ListenOptions, ReadyState, Server, ServerOptions, Socket,
    SocketOptions,
};
use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;
use util::{EventLog, port_of};

// ----- helpers ----------------------------------------------------------------------------------

/// Connects a client to a fresh 127.0.0.1 server made with `options` and calls
/// `ready(client, accepted)` (on the next turn) once the client saw `connect` and the server saw
/// `connection`.
/// The server closes at its first connection, so `run()` returns once both sockets closed.
fn pair(options: ServerOptions, ready: impl FnOnce(Socket, Socket) + 'static) {
    // On a later turn: after the client's `connect` (and `ready`) emission is over.
    util::pair_with(options, false, |client, accepted| {
        nodenet::set_immediate(move || ready(client, accepted));
    });
}

/// Logs `tag event` for every event of `socket` except `data` (so the socket's flow is left
/// alone), in the format of the Node scripts: `error CODE SYSCALL ERRNO "message"`.
fn trace_quiet(log: &EventLog, tag: &'static str, socket: &Socket) {
    let l = log.clone();
    socket.on_connect(move |_| l.push(format!("{tag} connect")));
    let l = log.clone();
    socket.on_ready(move |_| l.push(format!("{tag} ready")));
    let l = log.clone();
    socket.on_end(move |_| l.push(format!("{tag} end")));
    let l = log.clone();
    socket.on_finish(move |_| l.push(format!("{tag} finish")));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("{tag} error {}", describe(e))));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("{tag} close {had_error}")));
}

/// [`trace_quiet`] plus `data TEXT` (which starts the flow).
fn trace(log: &EventLog, tag: &'static str, socket: &Socket) {
    let l = log.clone();
    socket.on_data(move |_, chunk| {
        l.push(format!(
            "{tag} data {}",
            String::from_utf8_lossy(chunk.bytes())
        ))
    });
    trace_quiet(log, tag, socket);
}

/// An error as Node's scripts print it: `CODE SYSCALL ERRNO "message"` (`undefined` if absent).
fn describe(e: &Error) -> String {
    format!(
        "{} {} {} {:?}",
        e.code(),
        e.syscall().unwrap_or("undefined"),
        e.errno().map_or("undefined".to_string(), |n| n.to_string()),
        e.to_string()
    )
}

/// The entries of `log` that start with `tag ` (the events of one socket, in order).
fn of(log: &EventLog, tag: &str) -> Vec<String> {
    let prefix = format!("{tag} ");
    log.entries()
        .into_iter()
        .filter(|e| e.starts_with(&prefix))
        .collect()
}

/// How long to wait for a Node peer (its own watchdog fires at 15 s).
const PEER_LIMIT: Duration = Duration::from_secs(20);

/// A running `node tests/node/modern/peer.js ROLE [ARG]`, its stdout lines arriving on a channel.
struct NodePeer {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
}

impl NodePeer {
    fn spawn(args: &[&str]) -> NodePeer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/modern/peer.js");
        let mut child = Command::new(util::node_binary())
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("these tests need Node.js (v20) as `node` on PATH, or NODE=/path/to/node");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let (etx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            let _ = etx.send(text);
        });
        NodePeer {
            child,
            lines,
            stderr,
        }
    }

    /// The port a `server-trace` peer printed first.
    fn port(&mut self) -> u16 {
        let line = self.lines.recv_timeout(PEER_LIMIT).unwrap_or_else(|_| {
            let _ = self.child.kill();
            panic!("node did not print its port")
        });
        line.strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected `PORT n`, got {line:?}"))
    }

    /// Waits for the peer to exit and returns the rest of its output; panics if it failed.
    fn finish(mut self) -> Vec<String> {
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for node") {
                break status;
            }
            if start.elapsed() > PEER_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("node did not exit within {PEER_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            out.push(line);
        }
        let err = self.stderr.recv_timeout(PEER_LIMIT).unwrap_or_default();
        assert!(status.success(), "node failed ({status}): {out:?} {err}");
        out
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- resetAndDestroy (81) ---------------------------------------------------------------------

// Node (reset.js client: the client resets 50 ms after 'connect'; sync = destroyed and
// readyState right after the call):
//   C connect / C ready / sync true closed
//   S error ECONNRESET read -104 "read ECONNRESET" / S close [true]
//   C close [false]
#[test]
fn reset_and_destroy_on_a_client_emits_only_close_false_and_the_peer_gets_econnreset() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.reset_and_destroy();
            l.push(format!(
                "sync {} {}",
                client.destroyed(),
                client.ready_state()
            ));
            assert_eq!(client.ready_state(), ReadyState::Closed);
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "sync"), ["sync true closed"]);
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(
            of(&log, "S"),
            [
                "S error ECONNRESET read -104 \"read ECONNRESET\"",
                "S close true"
            ]
        );
    });
}

// Node (reset.js accepted: the accepted socket resets 50 ms after 'connection'):
//   C connect / C ready / C error ECONNRESET read -104 "read ECONNRESET" / C close [true]
//   S close [false]
#[test]
fn reset_and_destroy_on_an_accepted_socket_emits_only_close_false_and_the_client_gets_econnreset() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            accepted.reset_and_destroy();
        });
        nodenet::run().unwrap();
        assert_eq!(
            of(&log, "C"),
            [
                "C error ECONNRESET read -104 \"read ECONNRESET\"",
                "C close true"
            ]
        );
        assert_eq!(of(&log, "S"), ["S close false"]);
    });
}

// Node (reset.js unread: pauseOnConnect server; the client writes "hello", which stays unread
// in the accepted socket's kernel queue; then the accepted socket resets):
//   C connect / C ready / C error ECONNRESET read -104 "read ECONNRESET" / C close [true]
//   S close [false]
#[test]
fn reset_and_destroy_with_unread_data_emits_only_close_false_and_the_client_gets_econnreset() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(
            ServerOptions::default().pause_on_connect(true),
            move |client, accepted| {
                trace(&l, "C", &client);
                trace_quiet(&l, "S", &accepted);
                client.write("hello");
                let (local, remote) =
                    (accepted.local_port().unwrap(), client.local_port().unwrap());
                assert!(
                    util::eventually(Duration::from_secs(5), || util::tcp_rx_queue(local, remote)
                        == Some(5)),
                    "the 5 bytes reach the accepted socket's kernel queue"
                );
                assert_eq!(accepted.bytes_read(), 0, "paused at connect: nothing read");
                accepted.reset_and_destroy();
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            of(&log, "C"),
            [
                "C error ECONNRESET read -104 \"read ECONNRESET\"",
                "C close true"
            ]
        );
        assert_eq!(of(&log, "S"), ["S close false"]);
    });
}

// Node (reset2.js inflight: in 'connect', the client writes 8 MiB, then resets at once):
//   C connect / C write false / C sync true / C ready / C wcb null / C close [false]
// (here the write and the reset come after 'connect' and 'ready', which are not traced)
// (the in-flight write's callback gets null, as with destroy(): item 74). The peer then holds
// the bytes that reached it, followed by the reset; what it reports depends on when it reads
// (see reset_and_destroy_peer_with_buffered_data_*), so only the resetting side is checked here.
#[test]
fn reset_and_destroy_with_writes_in_flight_completes_the_in_flight_write_and_emits_close_false() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(
            ServerOptions::default().pause_on_connect(true),
            move |client, accepted| {
                trace(&l, "C", &client);
                let l2 = l.clone();
                let ok = client.write_with(vec![7u8; 8 << 20], move |_, e| {
                    l2.push(format!("C wcb {}", e.map_or("null".into(), describe)))
                });
                l.push(format!("C write {ok}"));
                client.reset_and_destroy();
                l.push(format!("C sync {}", client.destroyed()));
                accepted.destroy();
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            of(&log, "C"),
            [
                "C write false",
                "C sync true",
                "C wcb null",
                "C close false"
            ]
        );
    });
}

// Node (reset3.js 3: a pauseOnConnect server holds "aaa" unread when the client's reset
// arrives, then resumes after the client's 'close'):
//   C connect / C wcb null / C close [false]
//   S data 3 / S end / S finish / S close [false]
// With 100000 bytes: S data 65536 / S data 34464 / S end / S finish / S close [false].
// libuv reads the queued bytes and, seeing POLLHUP after a partial read, reports EOF
// (uv__stream_io): Node's peer ends normally when data precedes the RST in its receive queue.
#[test]
#[ignore = "divergence: a socket holding data then an RST reports ECONNRESET after the data; Node (libuv) reports 'end' (libuv's POLLHUP-after-partial-read rule depends on its epoll snapshot, which a blocking reader thread cannot reproduce without breaking the mid-stream reset case)"]
fn reset_and_destroy_peer_with_buffered_data_reads_it_then_ends_like_node() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(
            ServerOptions::default().pause_on_connect(true),
            move |client, accepted| {
                trace(&l, "C", &client);
                trace_quiet(&l, "S", &accepted);
                let l2 = l.clone();
                let (local, remote) =
                    (accepted.local_port().unwrap(), client.local_port().unwrap());
                client.write_with("aaa", move |client, e| {
                    l2.push(format!("C wcb {}", e.map_or("null".into(), describe)));
                    assert!(
                        util::eventually(Duration::from_secs(5), || util::tcp_rx_queue(
                            local, remote
                        ) == Some(3)),
                        "the 3 bytes reach the accepted socket's kernel queue"
                    );
                    client.reset_and_destroy();
                });
                let l2 = l.clone();
                client.on_close(move |_, _| {
                    let l3 = l2.clone();
                    accepted.on_data(move |_, chunk| {
                        l3.push(format!("S data {}", chunk.bytes().len()))
                    });
                    accepted.resume();
                });
            },
        );
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C wcb null", "C close false"]);
        assert_eq!(
            of(&log, "S"),
            ["S data 3", "S end", "S finish", "S close false"]
        );
    });
}

// Node (reset2.js connecting: connect() then resetAndDestroy() at once; sync = destroyed,
// readyState, connecting):
//   sync false opening true
//   C connect / C ready / C close [false]
//   S error ECONNRESET read -104 "read ECONNRESET" / S close [true]
#[test]
fn reset_and_destroy_while_connecting_emits_connect_and_ready_then_resets() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = Server::new(ServerOptions::default());
        let (l, s) = (log.clone(), server.clone());
        server.on_connection(move |socket| {
            s.close();
            trace(&l, "S", &socket);
            socket.on_ready(|_| panic!("accepted sockets never emit ready"));
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            trace(&l, "C", &client);
            client.reset_and_destroy();
            l.push(format!(
                "sync {} {} {}",
                client.destroyed(),
                client.ready_state(),
                client.connecting()
            ));
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "sync"), ["sync false opening true"]);
        assert_eq!(of(&log, "C"), ["C connect", "C ready", "C close false"]);
        assert_eq!(
            of(&log, "S"),
            [
                "S error ECONNRESET read -104 \"read ECONNRESET\"",
                "S close true"
            ]
        );
    });
}

// Node (reset2.js connecting-write: write('abc', cb) while connecting, then resetAndDestroy():
// the queued write goes out at 'connect', before the reset):
//   C connect / C wcb null / C ready / C close [false]
#[test]
fn reset_and_destroy_while_connecting_sends_the_queued_write_first() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = Server::new(ServerOptions::default());
        let s = server.clone();
        server.on_connection(move |socket| {
            s.close();
            socket.on_error(|_, _| {}).resume();
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            trace(&l, "C", &client);
            let l2 = l.clone();
            client.write_with("abc", move |_, e| {
                l2.push(format!("C wcb {}", e.map_or("null".into(), describe)))
            });
            client.reset_and_destroy();
        });
        nodenet::run().unwrap();
        assert_eq!(
            of(&log, "C"),
            ["C connect", "C wcb null", "C ready", "C close false"]
        );
    });
}

// Node (reset.js fresh: new net.Socket(), never connected, then resetAndDestroy()):
//   sync true closed
//   C error ERR_SOCKET_CLOSED undefined undefined "Socket is closed"
//   C close []
// 'close' has no argument (the socket never had a handle, item 82); nodenet passes false.
#[test]
fn reset_and_destroy_on_a_never_connected_socket_emits_err_socket_closed_then_close() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let socket = Socket::new(SocketOptions::default());
        trace(&log, "C", &socket);
        socket.reset_and_destroy();
        log.push(format!(
            "sync {} {}",
            socket.destroyed(),
            socket.ready_state()
        ));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "sync true closed",
                "C error ERR_SOCKET_CLOSED undefined undefined \"Socket is closed\"",
                "C close false"
            ]
        );
    });
}

// Node (reset.js afterdestroy: destroy() then resetAndDestroy() in 'connect'; reset.js
// afterclose: resetAndDestroy() inside 'close'; both print):
//   C connect / C ready / C close [false]          (no error, nothing else)
//   S end / S finish / S close [false]             (the peer saw a FIN: destroy() came first)
#[test]
fn reset_and_destroy_after_destroy_or_close_does_nothing() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.destroy();
            client.reset_and_destroy();
            client.on_close(|client, _| {
                client.reset_and_destroy();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(of(&log, "S"), ["S end", "S finish", "S close false"]);
    });
}

// Node (reset.js unix: resetAndDestroy() in 'connect', then write('x') and end()):
//   C connect
//   throw TypeError ERR_INVALID_HANDLE_TYPE "This handle type cannot be sent"
//   after false open                              (destroyed, readyState: left as it was)
//   C ready / C finish / S got x / S end / S finish / S close [false] / C end / C close [false]
// Node throws; nodenet emits the same error as an `error` event (no close follows) and leaves
// the socket usable.
#[test]
fn reset_and_destroy_on_a_local_socket_emits_err_invalid_handle_type_and_leaves_it_usable() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("reset");
        let log = EventLog::new();
        let server = nodenet::create_server({
            let l = log.clone();
            move |socket| trace(&l, "S", &socket)
        });
        server.listen(path.as_path());
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        let l = log.clone();
        let client = nodenet::connect(path.as_path());
        trace(&l, "C", &client);
        client.on_connect(move |client| {
            client.reset_and_destroy();
            l.push(format!(
                "after {} {}",
                client.destroyed(),
                client.ready_state()
            ));
            client.write("x");
            client.end();
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "after"), ["after false open"]);
        assert_eq!(
            of(&log, "C"),
            [
                "C connect",
                "C ready",
                "C error ERR_INVALID_HANDLE_TYPE undefined undefined \"This handle type cannot be sent\"",
                "C finish",
                "C end",
                "C close false"
            ]
        );
        assert_eq!(
            of(&log, "S"),
            ["S data x", "S end", "S finish", "S close false"]
        );
    });
}

// Node peer (peer.js server-trace; our client resets when the server's "hi" arrived; the same
// against a resetting Node client, resetctl.js server):
//   S connection / S error ECONNRESET read -104 "read ECONNRESET" / S close true
#[test]
fn node_server_sees_econnreset_when_a_nodenet_client_resets() {
    util::with_deadline(util::LIMIT, || {
        let mut peer = NodePeer::spawn(&["server-trace"]);
        let port = peer.port();
        let log = EventLog::new();
        let client = nodenet::connect((port, "127.0.0.1"));
        trace(&log, "C", &client);
        client.on_data(|client, _| {
            client.reset_and_destroy();
        });
        nodenet::run().unwrap();
        assert_eq!(
            of(&log, "C"),
            ["C connect", "C ready", "C data hi", "C close false"]
        );
        assert_eq!(
            peer.finish(),
            [
                "S connection",
                "S error ECONNRESET read -104 \"read ECONNRESET\"",
                "S close true"
            ]
        );
    });
}

// Node peer (peer.js client-trace writes "x" at 'connect'; our accepted socket resets when the
// "x" arrived; the same against a resetting Node server, resetctl.js client):
//   C connect / C ready / C error ECONNRESET read -104 "read ECONNRESET" / C close true
#[test]
fn node_client_sees_econnreset_when_a_nodenet_accepted_socket_resets() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server({
            let l = log.clone();
            move |socket| {
                trace(&l, "S", &socket);
                socket.on_data(|socket, _| {
                    socket.reset_and_destroy();
                });
            }
        });
        server.listen((0, "127.0.0.1"));
        let peer = Rc::new(RefCell::new(None));
        let p = peer.clone();
        server.on_listening(move |server| {
            let port = port_of(server).to_string();
            *p.borrow_mut() = Some(NodePeer::spawn(&["client-trace", &port]));
        });
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "S"), ["S data x", "S close false"]);
        let peer = peer.borrow_mut().take().expect("node started");
        assert_eq!(
            peer.finish(),
            [
                "C connect",
                "C ready",
                "C error ECONNRESET read -104 \"read ECONNRESET\"",
                "C close true"
            ]
        );
    });
}

// ----- 'ready' and 'finish' ---------------------------------------------------------------------

// Node (ready.js: nextTick and setImmediate queued in 'connect'; the server writes "hi" at
// 'connection'):
//   C connect / C ready / nextTick / immediate / C data hi
// ('ready' is emitted right after the 'connect' listeners, before anything queued in them), and
// the accepted socket emits neither 'connect' nor 'ready' (item 39). See also
// reset_and_destroy_while_connecting_*: 'ready' follows 'connect' even when a 'connect'
// listener destroyed the socket.
#[test]
fn ready_follows_connect_in_the_same_turn_on_clients_and_never_fires_on_accepted_sockets() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = Server::new(ServerOptions::default());
        let s = server.clone();
        server.on_connection(move |socket| {
            s.close();
            socket.on_connect(|_| panic!("accepted sockets never emit connect"));
            socket.on_ready(|_| panic!("accepted sockets never emit ready"));
            socket.write("hi");
            socket.end();
            socket.resume();
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            trace(&l, "C", &client);
            let l2 = l.clone();
            client.on_connect(move |_| {
                let l3 = l2.clone();
                nodenet::set_immediate(move || l3.push("C immediate"));
            });
        });
        nodenet::run().unwrap();
        let events = of(&log, "C");
        // The immediate runs after 'ready'; the server's "hi" may come before or after it (it may
        // already wait in the same poll batch as the connect, in Node too), never between.
        let at = |e: &str| events.iter().position(|x| x == e).expect(e);
        assert!(at("C immediate") > at("C ready"), "{events:?}");
        let without: Vec<&String> = events.iter().filter(|e| *e != "C immediate").collect();
        assert_eq!(
            without,
            [
                "C connect",
                "C ready",
                "C data hi",
                "C end",
                "C finish",
                "C close false"
            ]
        );
    });
}

/// Runs one half-close flow: the client (`allowHalfOpen` = `client_half_open`) and the accepted
/// socket (server option `server_half_open`) both traced; `client_ends` says who calls
/// `end("hi")`/`end("bye")` first; a half-open side ends from its `end` listener. Returns the log.
fn half_close_flow(client_ends: bool, server_half_open: bool, client_half_open: bool) -> EventLog {
    let log = EventLog::new();
    let server = Server::new(ServerOptions::default().allow_half_open(server_half_open));
    let s = server.clone();
    let l = log.clone();
    server.on_connection(move |socket| {
        s.close();
        trace(&l, "S", &socket);
        socket.on_ready(|_| panic!("accepted sockets never emit ready"));
        if server_half_open {
            let l2 = l.clone();
            socket.on_end(move |socket| {
                l2.push("S (end handler) -> end()");
                socket.end();
            });
        }
        if !client_ends {
            socket.end_with("bye");
        }
    });
    server.listen((0, "127.0.0.1"));
    let l = log.clone();
    server.on_listening(move |server| {
        let client = Socket::new(SocketOptions::default().allow_half_open(client_half_open));
        client.connect((port_of(server), "127.0.0.1"));
        trace(&l, "C", &client);
        if client_ends {
            client.on_connect(|client| {
                client.end_with("hi");
            });
        }
        if client_half_open {
            let l2 = l.clone();
            client.on_end(move |client| {
                l2.push("C (end handler) -> end()");
                client.end();
            });
        }
    });
    nodenet::run().unwrap();
    log
}

// Node (finish.js client 0 0: both default, the client calls end('hi') at 'connect'):
//   C connect / C ready / C finish / C end / C close [false]
//   S data hi / S end / S finish / S close [false]
#[test]
fn finish_when_the_client_ends_first() {
    util::with_deadline(util::LIMIT, || {
        let log = half_close_flow(true, false, false);
        assert_eq!(
            of(&log, "C"),
            ["C connect", "C ready", "C finish", "C end", "C close false"]
        );
        assert_eq!(
            of(&log, "S"),
            ["S data hi", "S end", "S finish", "S close false"]
        );
    });
}

// Node (finish.js server 0 0: the accepted socket calls end('bye') at 'connection'):
//   C connect / C ready / C data bye / C end / C finish / C close [false]
//   S finish / S end / S close [false]
#[test]
fn finish_when_the_server_ends_first() {
    util::with_deadline(util::LIMIT, || {
        let log = half_close_flow(false, false, false);
        assert_eq!(
            of(&log, "C"),
            [
                "C connect",
                "C ready",
                "C data bye",
                "C end",
                "C finish",
                "C close false"
            ]
        );
        assert_eq!(of(&log, "S"), ["S finish", "S end", "S close false"]);
    });
}

// Node (finish.js client 1 0: allowHalfOpen server; the client ends first; the accepted socket
// ends from its 'end' handler):
//   C connect / C ready / C finish / C end / C close [false]
//   S data hi / S end / S (end handler) -> end() / S finish / S close [false]
#[test]
fn finish_on_a_half_open_server_comes_after_its_own_end_call() {
    util::with_deadline(util::LIMIT, || {
        let log = half_close_flow(true, true, false);
        assert_eq!(
            of(&log, "C"),
            ["C connect", "C ready", "C finish", "C end", "C close false"]
        );
        assert_eq!(
            of(&log, "S"),
            [
                "S data hi",
                "S end",
                "S (end handler) -> end()",
                "S finish",
                "S close false"
            ]
        );
    });
}

// Node (finish.js server 0 1: allowHalfOpen client; the server ends first):
//   C connect / C ready / C data bye / C end / C (end handler) -> end() / C finish /
//   C close [false]
//   S finish / S end / S close [false]
#[test]
fn finish_on_a_half_open_client_comes_after_its_own_end_call() {
    util::with_deadline(util::LIMIT, || {
        let log = half_close_flow(false, false, true);
        assert_eq!(
            of(&log, "C"),
            [
                "C connect",
                "C ready",
                "C data bye",
                "C end",
                "C (end handler) -> end()",
                "C finish",
                "C close false"
            ]
        );
        assert_eq!(of(&log, "S"), ["S finish", "S end", "S close false"]);
    });
}

// Node (finish.js client 1 1: both allowHalfOpen; the client ends first; its later end() in the
// 'end' handler is a no-op, no second 'finish'):
//   C connect / C ready / C finish / C end / C (end handler) -> end() / C close [false]
//   S data hi / S end / S (end handler) -> end() / S finish / S close [false]
#[test]
fn finish_when_both_sides_are_half_open() {
    util::with_deadline(util::LIMIT, || {
        let log = half_close_flow(true, true, true);
        assert_eq!(
            of(&log, "C"),
            [
                "C connect",
                "C ready",
                "C finish",
                "C end",
                "C (end handler) -> end()",
                "C close false"
            ]
        );
        assert_eq!(
            of(&log, "S"),
            [
                "S data hi",
                "S end",
                "S (end handler) -> end()",
                "S finish",
                "S close false"
            ]
        );
    });
}

// ----- maxConnections and 'drop' (34-37) --------------------------------------------------------

/// What one `drop` scenario saw.
#[derive(Default)]
struct DropRun {
    /// Every `drop` event's info.
    drops: Vec<DropInfo>,
    /// The remote port of every `connection`.
    connections: Vec<u16>,
    /// The server's port (0 for a local socket).
    server_port: u16,
    /// The first client's local port (0 for a local socket).
    first_port: u16,
    /// The second client's local port (0 for a local socket).
    second_port: u16,
    /// The third client's local port: connected after the first accepted socket's destroy().
    third_port: u16,
    /// `server.connections()` right before and right after the first socket's destroy().
    counts: Vec<usize>,
}

/// `set_max_connections(Some(1))`: client 1 connects and is held; client 2 (traced as `C2`)
/// connects once client 1 is accepted and is dropped; once client 2 closed, the first accepted
/// socket is destroyed and client 3 connects (accepted: the slot was freed).
fn drop_scenario(listen: ListenOptions, log: &EventLog) -> DropRun {
    let run = Rc::new(RefCell::new(DropRun::default()));
    let server = Server::new(ServerOptions::default());
    server.set_max_connections(Some(1));
    assert_eq!(server.max_connections(), Some(1));
    let r = run.clone();
    server.on_drop(move |_, info| r.borrow_mut().drops.push(info.clone()));
    let first: Rc<RefCell<Option<Socket>>> = Rc::default();
    let (r, f, l) = (run.clone(), first.clone(), log.clone());
    server.on_connection(move |socket| {
        r.borrow_mut()
            .connections
            .push(socket.remote_port().unwrap_or(0));
        socket.resume();
        if r.borrow().connections.len() == 1 {
            *f.borrow_mut() = Some(socket.clone());
            socket.write("welcome");
        } else {
            l.push("third accepted");
            socket.end();
        }
    });
    let target = move |server: &Server| -> nodenet::ConnectOptions {
        match server.address().expect("listening") {
            nodenet::Address::Path(p) => nodenet::ConnectOptions::path(p),
            a => nodenet::ConnectOptions::port(a.port().unwrap()).host("127.0.0.1"),
        }
    };
    let (r, l) = (run.clone(), log.clone());
    server.on_listening(move |server| {
        r.borrow_mut().server_port = server.address().and_then(|a| a.port()).unwrap_or(0);
        let client1 = nodenet::connect(target(server));
        client1.resume();
        let r1 = r.clone();
        client1.on_connect(move |c| {
            r1.borrow_mut().first_port = c.local_port().unwrap_or(0);
        });
        let (server, r, l, first) = (server.clone(), r.clone(), l.clone(), first.clone());
        // Client 1's "welcome" proves the server holds it: only then does client 2 connect.
        client1.on_data(move |_, _| {
            let client2 = nodenet::connect(target(&server));
            trace(&l, "C2", &client2);
            let r2 = r.clone();
            client2.on_connect(move |c| {
                r2.borrow_mut().second_port = c.local_port().unwrap_or(0);
            });
            let (server, r, l, first) = (server.clone(), r.clone(), l.clone(), first.clone());
            client2.on_close(move |_, _| {
                let accepted = first.borrow_mut().take().expect("first accepted");
                r.borrow_mut().counts.push(server.connections());
                accepted.destroy();
                // The slot is free at destroy(), before the socket's 'close' (item 37).
                r.borrow_mut().counts.push(server.connections());
                let client3 = nodenet::connect(target(&server));
                client3.resume();
                let r3 = r.clone();
                client3.on_connect(move |c| {
                    r3.borrow_mut().third_port = c.local_port().unwrap_or(0);
                });
                let (server, l) = (server.clone(), l.clone());
                client3.on_close(move |_, _| {
                    l.push("third closed");
                    server.close();
                });
            });
        });
    });
    server.listen(listen);
    nodenet::run().unwrap();
    run.take()
}

/// The events of the dropped client: Node's rejected client is accepted, then sees a FIN.
const DROPPED_CLIENT: [&str; 5] = [
    "C2 connect",
    "C2 ready",
    "C2 end",
    "C2 finish",
    "C2 close false",
];

// Node (drop.js dual: listen(0), maxConnections 1; client 2 connects to 127.0.0.1 once client 1
// is held; then the first accepted socket is destroyed and client 3 connects):
//   server {"address":"::","family":"IPv6","port":41827}
//   drop {"localAddress":"::ffff:127.0.0.1","localPort":41827,"localFamily":"IPv6",
//         "remoteAddress":"::ffff:127.0.0.1","remotePort":53668,"remoteFamily":"IPv6"}
//   C2 connect / C2 local 127.0.0.1 53668 / C2 ready / C2 end / C2 finish / C2 close [false]
//   connection (client 3)                        (no 'connection' for client 2)
// and server._connections is 0 right after the first socket's destroy() (item 37).
#[test]
fn drop_on_a_dual_stack_server_reports_ipv4_mapped_addresses_and_the_slot_frees_at_destroy() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let run = drop_scenario(ListenOptions::port(0), &log);
        assert_ne!(run.second_port, 0);
        assert_eq!(
            run.drops,
            [DropInfo {
                local_address: "::ffff:127.0.0.1".into(),
                local_port: run.server_port,
                local_family: Family::IPv6,
                remote_address: "::ffff:127.0.0.1".into(),
                remote_port: run.second_port,
                remote_family: Family::IPv6,
            }]
        );
        assert_eq!(run.connections, [run.first_port, run.third_port]);
        assert_eq!(run.counts, [1, 0]);
        assert_eq!(of(&log, "C2"), DROPPED_CLIENT);
        assert_eq!(of(&log, "third"), ["third accepted", "third closed"]);
    });
}

// Node (drop.js v4: listen(0, '127.0.0.1'), maxConnections 1):
//   drop {"localAddress":"127.0.0.1","localPort":37687,"localFamily":"IPv4",
//         "remoteAddress":"127.0.0.1","remotePort":59282,"remoteFamily":"IPv4"}
//   C2 connect / C2 local 127.0.0.1 59282 / C2 ready / C2 end / C2 finish / C2 close [false]
//   connection (client 3)
#[test]
fn drop_on_an_ipv4_server_reports_ipv4_addresses() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let run = drop_scenario(ListenOptions::port(0).host("127.0.0.1"), &log);
        assert_eq!(
            run.drops,
            [DropInfo {
                local_address: "127.0.0.1".into(),
                local_port: run.server_port,
                local_family: Family::IPv4,
                remote_address: "127.0.0.1".into(),
                remote_port: run.second_port,
                remote_family: Family::IPv4,
            }]
        );
        assert_eq!(run.connections, [run.first_port, run.third_port]);
        assert_eq!(run.counts, [1, 0]);
        assert_eq!(of(&log, "C2"), DROPPED_CLIENT);
    });
}

// Node (drop.js unix: a local-socket server with maxConnections 1):
//   drop undefined
//   C2 connect / C2 ready / C2 end / C2 finish / C2 close [false]
// nodenet has no `undefined`: its documented stand-in is empty addresses, ports 0, IPv4.
#[test]
fn drop_on_a_local_socket_server_reports_empty_addresses() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("drop");
        let log = EventLog::new();
        let run = drop_scenario(ListenOptions::path(&path), &log);
        assert_eq!(
            run.drops,
            [DropInfo {
                local_address: String::new(),
                local_port: 0,
                local_family: Family::IPv4,
                remote_address: String::new(),
                remote_port: 0,
                remote_family: Family::IPv4,
            }]
        );
        assert_eq!(run.connections, [0, 0]);
        assert_eq!(run.counts, [1, 0]);
        assert_eq!(of(&log, "C2"), DROPPED_CLIENT);
        assert_eq!(of(&log, "third"), ["third accepted", "third closed"]);
    });
}

// Node v21.0.0+ (PR #48276): maxConnections = 0 drops every connection. Node v20 treats 0 as
// "no limit" (a falsy check; drop.js zero: both connections accepted, no 'drop'); nodenet
// follows current Node (`Some(0)` drops all, `None` is no limit), as documented in
// `Server::set_max_connections`.
#[test]
fn max_connections_zero_drops_every_connection() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("every connection is dropped"));
        server.set_max_connections(Some(0));
        let (l, dropped) = (log.clone(), Rc::new(Cell::new(0)));
        server.on_drop(move |server, info| {
            l.push(format!("drop {}", info.remote_address));
            dropped.set(dropped.get() + 1);
            if dropped.get() == 2 {
                server.close();
            }
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            for tag in ["C1", "C2"] {
                let client = nodenet::connect((port_of(server), "127.0.0.1"));
                trace(&l, tag, &client);
            }
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "drop"), ["drop 127.0.0.1", "drop 127.0.0.1"]);
        for tag in ["C1", "C2"] {
            let expected: Vec<String> = DROPPED_CLIENT
                .iter()
                .map(|e| e.replace("C2", tag))
                .collect();
            assert_eq!(of(&log, tag), expected);
        }
    });
}

// Node peer (peer.js drop-client against our maxConnections-1 server; A is held and gets
// "welcome", B is dropped, then A ends); against a Node server (dropctl.js) it prints:
//   A data welcome / B connect / B ready / B end / B finish / B close false / A finish / A end /
//   A close false
#[test]
fn node_client_over_the_limit_sees_connect_then_end_not_a_refusal() {
    util::with_deadline(util::LIMIT, || {
        let server = Server::new(ServerOptions::default());
        server.set_max_connections(Some(1));
        let drops = Rc::new(Cell::new(0));
        let d = drops.clone();
        server.on_drop(move |server, _| {
            d.set(d.get() + 1);
            server.close();
        });
        server.on_connection(|socket| {
            socket.write("welcome");
            socket.resume();
        });
        server.listen((0, "127.0.0.1"));
        let peer = Rc::new(RefCell::new(None));
        let p = peer.clone();
        server.on_listening(move |server| {
            let port = port_of(server).to_string();
            *p.borrow_mut() = Some(NodePeer::spawn(&["drop-client", &port]));
        });
        nodenet::run().unwrap();
        assert_eq!(drops.get(), 1);
        let peer = peer.borrow_mut().take().expect("node started");
        assert_eq!(
            peer.finish(),
            [
                "A data welcome",
                "B connect",
                "B ready",
                "B end",
                "B finish",
                "B close false",
                "A finish",
                "A end",
                "A close false"
            ]
        );
    });
}

// ----- createServer({highWaterMark}) (40, 66, 67) ----------------------------------------------

/// Runs `body(accepted)` in the `connection` listener of a server made with `options`; the
/// client never reads (paused before it connected). Both sockets are destroyed after `body`.
fn with_non_reading_peer(options: ServerOptions, body: impl FnOnce(&Socket) + 'static) {
    let server = Server::new(options);
    let client_slot: Rc<RefCell<Option<Socket>>> = Rc::default();
    let (s, c) = (server.clone(), client_slot.clone());
    let body = RefCell::new(Some(body));
    server.on_connection(move |socket| {
        s.close();
        let f = body.borrow_mut().take().expect("one connection");
        f(&socket);
        socket.destroy();
        if let Some(client) = c.borrow_mut().take() {
            client.destroy();
        }
    });
    server.listen((0, "127.0.0.1"));
    server.on_listening(move |server| {
        let client = nodenet::connect((port_of(server), "127.0.0.1"));
        client.pause(); // before 'connect': nothing is read at all (item 86)
        client.on_error(|_, _| {});
        *client_slot.borrow_mut() = Some(client);
    });
    nodenet::run().unwrap();
}

/// Writes 1000-byte chunks until one is (at least partly) queued: the kernel is full.
fn fill_kernel(socket: &Socket) -> bool {
    for _ in 0..200_000 {
        let ok = socket.write(vec![0u8; 1000]);
        if socket.buffer_size() > 0 {
            return ok;
        }
    }
    panic!("the kernel never filled up");
}

/// After [`fill_kernel`], writes 100-byte chunks until `write()` returns false; returns every
/// `write() buffer_size()` pair.
fn write_until_false(options: ServerOptions) -> Vec<(bool, usize)> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    with_non_reading_peer(options, move |socket| {
        let ok = fill_kernel(socket);
        out.borrow_mut().push((ok, socket.buffer_size()));
        while out.borrow().last().unwrap().0 {
            let ok = socket.write(vec![0u8; 100]);
            out.borrow_mut().push((ok, socket.buffer_size()));
            assert!(out.borrow().len() < 1000, "write() never returned false");
        }
    });
    seen.take()
}

// Node (hwm3.js: the client never reads; 1000-byte writes until one is queued, then 100-byte
// writes until write() returns false; [write(), writableLength] from the first queued write):
//   createServer({highWaterMark: 1024}): [[true,1000],[false,1100]]
//   createServer():                      [[true,1000],[true,1100],...,[true,16300],[false,16400]]
// write() returns false exactly when writableLength reaches the high-water mark (item 67). The
// exact lengths differ here (see the ignored test below), so the rule is what is checked.
#[test]
fn high_water_mark_sets_when_write_on_an_accepted_socket_returns_false() {
    util::with_deadline(util::LIMIT, || {
        for (options, hwm) in [
            (ServerOptions::default().high_water_mark(1024), 1024),
            (ServerOptions::default(), 16384),
        ] {
            let seen = write_until_false(options);
            let (last, before) = seen.split_last().unwrap();
            assert!(
                before.iter().all(|&(ok, len)| ok && len < hwm),
                "write() returns true below {hwm} bytes: {seen:?}"
            );
            assert!(
                !last.0 && (hwm..hwm + 100).contains(&last.1),
                "write() returns false once {hwm} bytes are queued: {seen:?}"
            );
        }
    });
}

// Node (hwm2.js 1024: the kernel filled with 1000-byte writes; the first write it did not take
// in full, then two 100-byte writes):
//   first queued write: true 1000
//   write 100 more: false 1100
//   write 100 more: false 1200
// writableLength counts a write in progress in full, even when the kernel took part of it
// (item 69); the first queued write is usually taken in part, so its full 1000 bytes count.
#[test]

fn high_water_mark_counts_a_partly_sent_write_in_full_like_node() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        with_non_reading_peer(
            ServerOptions::default().high_water_mark(1024),
            move |socket| {
                let ok = fill_kernel(socket);
                l.push(format!("first queued write: {ok} {}", socket.buffer_size()));
                for _ in 0..2 {
                    let ok = socket.write(vec![0u8; 100]);
                    l.push(format!("write 100 more: {ok} {}", socket.buffer_size()));
                }
            },
        );
        assert_eq!(
            log.entries(),
            [
                "first queued write: true 1000",
                "write 100 more: false 1100",
                "write 100 more: false 1200"
            ]
        );
    });
}

/// Calls `check` every millisecond on the loop (so the loop keeps dispatching) until it
/// returns true.
fn poll_on_loop(mut check: impl FnMut() -> bool + 'static) {
    if !check() {
        nodenet::set_timeout(Duration::from_millis(1), move || poll_on_loop(check));
    }
}

/// With a server made with `options`, the accepted socket has no `data` listener while the
/// client writes 4 MiB; once the socket read at least `at_least` bytes ahead and its kernel queue
/// holds 64 KiB or more (it is no longer being read), returns how much it had read ahead
/// (`readable_length()`, equal to `bytes_read()` as in Node).
fn read_ahead(options: ServerOptions, at_least: usize) -> usize {
    let result = Rc::new(Cell::new(0));
    let server = Server::new(options);
    let (s, r) = (server.clone(), result.clone());
    server.on_connection(move |socket| {
        s.close();
        let (local, remote) = (socket.local_port().unwrap(), socket.remote_port().unwrap());
        let r = r.clone();
        poll_on_loop(move || {
            let ahead = socket.readable_length();
            let stopped = ahead >= at_least
                && socket.bytes_read() == ahead as u64
                && util::tcp_rx_queue(local, remote).is_some_and(|q| q >= 65536);
            if stopped {
                r.set(ahead);
                socket.destroy();
            }
            stopped
        });
    });
    server.listen((0, "127.0.0.1"));
    server.on_listening(move |server| {
        let client = nodenet::connect((port_of(server), "127.0.0.1"));
        client.on_error(|_, _| {});
        client.write(vec![1u8; 4 << 20]);
        client.resume();
    });
    nodenet::run().unwrap();
    result.get()
}

// Node (hwmread.js: no 'data' listener on the accepted socket, the client writes 4 MiB; once
// bytesRead stopped growing):
//   createServer({highWaterMark: 262144}): bytesRead 326629 readableLength 326629
//   createServer():                         bytesRead 65536 readableLength 65536
// The socket reads while readableLength < HWM, at most 64 KiB a read: it stops between HWM and
// HWM + 64 KiB (the exact figure depends on how the kernel splits the reads).
#[test]
fn high_water_mark_sets_how_far_an_accepted_socket_reads_ahead() {
    util::with_deadline(util::LIMIT, || {
        let hwm = 256 * 1024;
        let ahead = read_ahead(ServerOptions::default().high_water_mark(hwm), hwm);
        assert!(
            (hwm..hwm + 65536).contains(&ahead),
            "read ahead {ahead} bytes with a {hwm}-byte high-water mark"
        );
        let ahead = read_ahead(ServerOptions::default(), 16384);
        assert!(
            (16384..16384 + 65536).contains(&ahead),
            "read ahead {ahead} bytes with the default high-water mark"
        );
    });
}

// ----- createServer({noDelay, keepAlive, keepAliveInitialDelay}) (96) ---------------------------

/// One row of /proc/net/tcp for the IPv4 socket `127.0.0.1:local` <-> `:remote`: the active
/// timer (0 none, 1 retransmit, 2 keepalive, ...), its remaining time in clock ticks (1/100 s)
/// and the socket's inode.
fn tcp_row(local: u16, remote: u16) -> Option<(u8, u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
        if f.len() > 9 && port(f[1]) == Some(local) && port(f[2]) == Some(remote) {
            let (timer, when) = f[5].split_once(':')?;
            Some((
                u8::from_str_radix(timer, 16).ok()?,
                u64::from_str_radix(when, 16).ok()?,
                f[9].parse().ok()?,
            ))
        } else {
            None
        }
    })
}

/// The TCP options of this process's socket `127.0.0.1:local` <-> `:remote`, read with
/// getsockopt on its descriptor (found through its inode in /proc/self/fd).
#[derive(Debug, PartialEq)]
struct TcpOptions {
    nodelay: bool,
    keepalive: bool,
    keepidle_secs: u64,
    keepintvl_secs: u64,
    keepcnt: u32,
}

fn tcp_options(local: u16, remote: u16) -> TcpOptions {
    use std::os::fd::RawFd;
    let (_, _, inode) = tcp_row(local, remote).expect("socket listed in /proc/net/tcp");
    let target = format!("socket:[{inode}]");
    let fd: RawFd = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
        .find(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy() == target.as_str())
        })
        .and_then(|e| e.file_name().to_str()?.parse().ok())
        .expect("the socket's descriptor");
    read_tcp_options(fd)
}

#[allow(unsafe_code)] // reason: getsockopt on a descriptor nodenet owns (no API exposes it)
fn read_tcp_options(fd: std::os::fd::RawFd) -> TcpOptions {
    // SAFETY: `fd` is an open socket of this process, held by a live nodenet socket for the whole
    // call (the caller's listener runs on the loop thread, which alone could close it).
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let sock = socket2::SockRef::from(&borrowed);
    TcpOptions {
        nodelay: sock.tcp_nodelay().expect("TCP_NODELAY"),
        keepalive: sock.keepalive().expect("SO_KEEPALIVE"),
        keepidle_secs: sock.tcp_keepalive_time().expect("TCP_KEEPIDLE").as_secs(),
        keepintvl_secs: sock
            .tcp_keepalive_interval()
            .expect("TCP_KEEPINTVL")
            .as_secs(),
        keepcnt: sock.tcp_keepalive_retries().expect("TCP_KEEPCNT"),
    }
}

/// A /proc/sys/net/ipv4 value.
fn sysctl(name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .expect("sysctl")
        .trim()
        .parse()
        .expect("a number")
}

/// Calls `check(local_port, remote_port)` in the `connection` listener of a server made with
/// `options` (the accepted socket is the IPv4 socket `127.0.0.1:local` <-> `:remote`).
fn at_connection(options: ServerOptions, check: impl FnOnce(u16, u16) + 'static) {
    let server = Server::new(options);
    let s = server.clone();
    let check = RefCell::new(Some(check));
    server.on_connection(move |socket| {
        s.close();
        let f = check.borrow_mut().take().expect("one connection");
        f(socket.local_port().unwrap(), socket.remote_port().unwrap());
        socket.end();
        socket.resume();
    });
    server.listen((0, "127.0.0.1"));
    server.on_listening(|server| {
        nodenet::connect((port_of(server), "127.0.0.1")).resume();
    });
    nodenet::run().unwrap();
}

// Node (ka.js '{}', and strace: no socket option set on the accepted socket):
//   ss -tnoi: 127.0.0.1:35235 127.0.0.1:52218          (no timer)
//   /proc/net/tcp: 0100007F:89A3 0100007F:CBFA 01 ... 00:00000000
#[test]
fn accepted_sockets_have_no_keepalive_timer_and_nagle_on_by_default() {
    util::with_deadline(util::LIMIT, || {
        at_connection(ServerOptions::default(), |local, remote| {
            let (timer, _, _) = tcp_row(local, remote).unwrap();
            assert_eq!(timer, 0, "no timer armed on an idle socket");
            let options = tcp_options(local, remote);
            assert!(!options.nodelay, "Nagle stays on");
            assert!(!options.keepalive, "no keep-alive");
        });
    });
}

// Node (ka.js '{"noDelay":true}'; strace on the accepted socket):
//   setsockopt(21, SOL_TCP, TCP_NODELAY, [1], 4) = 0
// (TCP_NODELAY is not shown by ss or /proc: read back with getsockopt.)
#[test]
fn no_delay_sets_tcp_nodelay_on_accepted_sockets() {
    util::with_deadline(util::LIMIT, || {
        at_connection(ServerOptions::default().no_delay(true), |local, remote| {
            assert!(tcp_options(local, remote).nodelay);
        });
    });
}

// Node (ka.js '{"keepAlive":true,"keepAliveInitialDelay":5999}', before 'connection'):
//   ss -tnoi: ... timer:(keepalive,4.984ms,0)        (ss prints the seconds as "ms")
//   /proc/net/tcp: 0100007F:8B5B 0100007F:B1C4 01 ... 02:000001F0   (timer 2 = keepalive,
//                                                                  0x1F0 = 4.96 s left)
//   strace: SO_KEEPALIVE 1, TCP_KEEPIDLE 5 (5999 ms rounds down), TCP_KEEPINTVL 1, TCP_KEEPCNT 10
// and with 5000: timer:(keepalive,4.936ms,0), /proc 02:000001EA.
#[test]
fn keep_alive_with_an_initial_delay_arms_the_keepalive_timer_in_whole_seconds() {
    util::with_deadline(util::LIMIT, || {
        let options = ServerOptions::default()
            .keep_alive(true)
            .keep_alive_initial_delay(Duration::from_millis(5999));
        at_connection(options, |local, remote| {
            let (timer, when, _) = tcp_row(local, remote).unwrap();
            assert_eq!(timer, 2, "the keepalive timer is armed");
            assert!(
                (300..=500).contains(&when),
                "5999 ms is 5 s: the first probe is at most 5 s away, got {when} ticks"
            );
            let options = tcp_options(local, remote);
            assert!(options.keepalive);
            assert_eq!(options.keepidle_secs, 5);
        });
    });
}

// Node (strace of the same run): libuv (uv__tcp_keepalive, v1.46) also sets TCP_KEEPINTVL 1 and
// TCP_KEEPCNT 10 whenever the delay is at least 1 s:
//   setsockopt(21, SOL_TCP, TCP_KEEPIDLE, [5], 4) = 0
//   setsockopt(21, SOL_TCP, TCP_KEEPINTVL, [1], 4) = 0
//   setsockopt(21, SOL_TCP, TCP_KEEPCNT, [10], 4) = 0
// so a dead peer is detected 5 + 10 x 1 s after the last packet.
#[test]

fn keep_alive_with_an_initial_delay_probes_every_second_ten_times_like_libuv() {
    util::with_deadline(util::LIMIT, || {
        let options = ServerOptions::default()
            .keep_alive(true)
            .keep_alive_initial_delay(Duration::from_secs(5));
        at_connection(options, |local, remote| {
            let options = tcp_options(local, remote);
            assert_eq!((options.keepintvl_secs, options.keepcnt), (1, 10));
        });
    });
}

// Node (ka.js '{"keepAlive":true}'): the OS default idle time (tcp_keepalive_time, 7200 s here):
//   ss -tnoi: ... timer:(keepalive,119min,0)
//   /proc/net/tcp: ... 02:000AFC7C                   (0xAFC7C ticks = 7199.96 s)
//   strace: SO_KEEPALIVE 1; TCP_KEEPIDLE 0 -> EINVAL (ignored): interval and count stay the
//   OS defaults
#[test]
fn keep_alive_without_a_delay_uses_the_os_default_idle_time() {
    util::with_deadline(util::LIMIT, || {
        at_connection(
            ServerOptions::default().keep_alive(true),
            |local, remote| {
                let (timer, when, _) = tcp_row(local, remote).unwrap();
                assert_eq!(timer, 2, "the keepalive timer is armed");
                let idle = sysctl("tcp_keepalive_time");
                assert!(
                    when > (idle - 2) * 100 && when <= idle * 100,
                    "the first probe is tcp_keepalive_time ({idle} s) away, got {when} ticks"
                );
                let options = tcp_options(local, remote);
                assert!(options.keepalive);
                assert_eq!(
                    (
                        options.keepidle_secs,
                        options.keepintvl_secs,
                        options.keepcnt as u64
                    ),
                    (
                        idle,
                        sysctl("tcp_keepalive_intvl"),
                        sysctl("tcp_keepalive_probes")
                    )
                );
            },
        );
    });
}

// ----- listen({ipv6Only}) and reusePort (8) ----------------------------------------------------

/// Whether this machine has an IPv6 loopback (`::1`); prints why a test is skipped if not.
fn have_ipv6_loopback() -> bool {
    let ok = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !ok {
        println!("skipped: no IPv6 loopback (::1) on this machine");
    }
    ok
}

/// Listens with `options`, then connects to 127.0.0.1 and, after that settled, to ::1. Logs
/// `C <host> connect <remote address> <family>` or `C <host> error ...` for the clients and
/// `S conn from <remote address> <family> local <local address>` for the server; `{port}` in the
/// log stands for the server's port.
fn dual_stack_probe(options: ListenOptions) -> Vec<String> {
    let log = EventLog::new();
    let server = Server::new(ServerOptions::default());
    let l = log.clone();
    server.on_connection(move |socket| {
        l.push(format!(
            "S conn from {} {} local {}",
            socket.remote_address().unwrap_or_default(),
            socket.remote_family().map_or("?".into(), |f| f.to_string()),
            socket.local_address().unwrap_or_default()
        ));
        socket.resume().end();
    });
    let port = Rc::new(Cell::new(0));
    let (l, p) = (log.clone(), port.clone());
    server.on_listening(move |server| {
        p.set(port_of(server));
        let hosts = Rc::new(RefCell::new(vec!["::1", "127.0.0.1"]));
        try_next(server.clone(), port_of(server), hosts, l.clone());
    });
    server.listen(options);
    nodenet::run().unwrap();
    let port = port.get().to_string();
    log.entries()
        .into_iter()
        .map(|e| e.replace(&port, "{port}"))
        .collect()
}

/// Connects to the next host of `hosts` (popped from the end), logs the outcome, then goes on;
/// closes `server` when none is left.
fn try_next(server: Server, port: u16, hosts: Rc<RefCell<Vec<&'static str>>>, log: EventLog) {
    let Some(host) = hosts.borrow_mut().pop() else {
        server.close();
        return;
    };
    let client = nodenet::connect((port, host));
    let l = log.clone();
    client.on_connect(move |c| {
        l.push(format!(
            "C {host} connect {} {}",
            c.remote_address().unwrap_or_default(),
            c.remote_family().map_or("?".into(), |f| f.to_string())
        ));
        c.end();
    });
    let l = log.clone();
    client.on_error(move |_, e| l.push(format!("C {host} error {}", describe(e))));
    client.resume();
    client.on_close(move |_, _| try_next(server.clone(), port, hosts.clone(), log.clone()));
}

// Node (v6.js: listen({port: 0, host: '::', ipv6Only: true})):
//   {"address":"::","family":"IPv6","port":38535}
//   127.0.0.1 error ECONNREFUSED connect -111 connect ECONNREFUSED 127.0.0.1:38535
//   conn from ::1 IPv6 local ::1
//   ::1 connect ::1 IPv6
#[test]
fn ipv6_only_on_the_unspecified_ipv6_address_refuses_ipv4_clients() {
    util::with_deadline(util::LIMIT, || {
        if !have_ipv6_loopback() {
            return;
        }
        let log = dual_stack_probe(ListenOptions::port(0).host("::").ipv6_only(true));
        assert_eq!(
            side_of(&log, 'C'),
            [
                "C 127.0.0.1 error ECONNREFUSED connect -111 \"connect ECONNREFUSED 127.0.0.1:{port}\"",
                "C ::1 connect ::1 IPv6"
            ]
        );
        assert_eq!(side_of(&log, 'S'), ["S conn from ::1 IPv6 local ::1"]);
    });
}

/// The entries of `log` that start with `tag`.
fn side_of(log: &[String], tag: char) -> Vec<&str> {
    log.iter()
        .filter(|e| e.starts_with(tag))
        .map(String::as_str)
        .collect()
}

/// What a dual-stack server sees (both clients connect; IPv4 ones as IPv4-mapped addresses).
const DUAL_STACK_CLIENTS: [&str; 2] = [
    "C 127.0.0.1 connect 127.0.0.1 IPv4",
    "C ::1 connect ::1 IPv6",
];
const DUAL_STACK_SERVER: [&str; 2] = [
    "S conn from ::ffff:127.0.0.1 IPv6 local ::ffff:127.0.0.1",
    "S conn from ::1 IPv6 local ::1",
];

// Node (v6.js: listen({port: 0, host: '::'}) and listen({port: 0})):
//   {"address":"::","family":"IPv6","port":35859}
//   conn from ::ffff:127.0.0.1 IPv6 local ::ffff:127.0.0.1 / 127.0.0.1 connect 127.0.0.1 IPv4
//   conn from ::1 IPv6 local ::1 / ::1 connect ::1 IPv6
#[test]
fn without_ipv6_only_the_unspecified_ipv6_address_takes_ipv4_and_ipv6_clients() {
    util::with_deadline(util::LIMIT, || {
        if !have_ipv6_loopback() {
            return;
        }
        for options in [ListenOptions::port(0).host("::"), ListenOptions::port(0)] {
            let log = dual_stack_probe(options);
            assert_eq!(side_of(&log, 'C'), DUAL_STACK_CLIENTS);
            assert_eq!(side_of(&log, 'S'), DUAL_STACK_SERVER);
        }
    });
}

// Node (v6.js: listen({port: 0, ipv6Only: true}), no host): the flag is ignored and the server
// stays dual-stack. v20's listen() passes `flags` (ipv6Only) only on the host path
// (lookupAndListen); the no-host path calls listenInCluster(this, null, port, 4, backlog,
// undefined, exclusive) without them:
//   {"address":"::","family":"IPv6","port":36695}
//   conn from ::ffff:127.0.0.1 IPv6 local ::ffff:127.0.0.1 / 127.0.0.1 connect 127.0.0.1 IPv4
//   conn from ::1 IPv6 local ::1 / ::1 connect ::1 IPv6
#[test]

fn ipv6_only_without_a_host_is_ignored_like_node() {
    util::with_deadline(util::LIMIT, || {
        if !have_ipv6_loopback() {
            return;
        }
        let log = dual_stack_probe(ListenOptions::port(0).ipv6_only(true));
        assert_eq!(side_of(&log, 'C'), DUAL_STACK_CLIENTS);
        assert_eq!(side_of(&log, 'S'), DUAL_STACK_SERVER);
    });
}

/// Listens `first` (port 0) then `second` on the first one's port; returns the second's listen
/// error as `error ... address port` (with `{port}` for the port), or `listening`.
fn listen_twice(first: ListenOptions, second: impl Fn(u16) -> ListenOptions + 'static) -> String {
    let outcome = Rc::new(RefCell::new(String::new()));
    let a = Server::new(ServerOptions::default());
    let o = outcome.clone();
    a.on_listening(move |a| {
        let port = port_of(a);
        let b = Server::new(ServerOptions::default());
        let (o1, o2, a1, a2) = (o.clone(), o.clone(), a.clone(), a.clone());
        b.on_error(move |_, e| {
            *o1.borrow_mut() = format!("error {} {:?} {:?}", describe(e), e.address(), e.port())
                .replace(&port.to_string(), "{port}");
            a1.close();
        });
        b.on_listening(move |b| {
            *o2.borrow_mut() = "listening".into();
            b.close();
            a2.close();
        });
        b.listen(second(port));
    });
    a.listen(first);
    nodenet::run().unwrap();
    outcome.take()
}

// Node (v6.js: a second server on the first one's port; v20 has no reusePort and ignores it):
//   listen(0, '127.0.0.1'):  b error EADDRINUSE -98 listen 127.0.0.1 33755
//                            "listen EADDRINUSE: address already in use 127.0.0.1:33755"
//   listen(0):               b error EADDRINUSE -98 listen :: 41769
//                            "listen EADDRINUSE: address already in use :::41769"
#[test]
fn a_second_server_on_the_same_port_gets_eaddrinuse_without_reuse_port() {
    util::with_deadline(util::LIMIT, || {
        assert_eq!(
            listen_twice(ListenOptions::port(0).host("127.0.0.1"), |port| {
                ListenOptions::port(port).host("127.0.0.1")
            }),
            "error EADDRINUSE listen -98 \"listen EADDRINUSE: address already in use 127.0.0.1:{port}\" Some(\"127.0.0.1\") Some({port})"
        );
        assert_eq!(
            listen_twice(ListenOptions::port(0), ListenOptions::port),
            "error EADDRINUSE listen -98 \"listen EADDRINUSE: address already in use :::{port}\" Some(\"::\") Some({port})"
        );
        // SO_REUSEPORT on one of the two is not enough: both must set it.
        assert_eq!(
            listen_twice(
                ListenOptions::port(0).host("127.0.0.1").reuse_port(true),
                |port| ListenOptions::port(port).host("127.0.0.1")
            ),
            "error EADDRINUSE listen -98 \"listen EADDRINUSE: address already in use 127.0.0.1:{port}\" Some(\"127.0.0.1\") Some({port})"
        );
    });
}

// reusePort is post-v20 (v22.12 / v23.1: SO_REUSEPORT), so Node v20 cannot show it; the
// expectation is the documented one ("allows multiple sockets on the same host to bind to the
// same port; incoming connections are distributed by the operating system"). With 64 clients
// (64 distinct source ports hashed by the kernel), each server gets some.
#[test]
fn reuse_port_lets_two_servers_listen_on_one_port_and_both_get_connections() {
    util::with_deadline(util::LIMIT, || {
        const CLIENTS: usize = 64;
        let counts = Rc::new(RefCell::new([0usize; 2]));
        let servers: Vec<Server> = (0..2)
            .map(|i| {
                let server = Server::new(ServerOptions::default());
                let c = counts.clone();
                server.on_connection(move |socket| {
                    c.borrow_mut()[i] += 1;
                    socket.resume().end();
                });
                server
            })
            .collect();
        let closed = Rc::new(Cell::new(0));
        let (b, c, all) = (servers[1].clone(), closed.clone(), servers.clone());
        servers[0].on_listening(move |a| {
            let port = port_of(a);
            let (c, all) = (c.clone(), all.clone());
            b.on_listening(move |_| {
                for _ in 0..CLIENTS {
                    let client = nodenet::connect((port, "127.0.0.1"));
                    client.resume();
                    let (c, all) = (c.clone(), all.clone());
                    client.on_close(move |_, had_error| {
                        assert!(!had_error);
                        c.set(c.get() + 1);
                        if c.get() == CLIENTS {
                            for server in &all {
                                server.close();
                            }
                        }
                    });
                }
            });
            b.on_error(|_, e| panic!("the second server must listen: {e}"));
            b.listen(ListenOptions::port(port).host("127.0.0.1").reuse_port(true));
        });
        servers[0].listen(ListenOptions::port(0).host("127.0.0.1").reuse_port(true));
        nodenet::run().unwrap();
        let counts = *counts.borrow();
        assert_eq!(counts[0] + counts[1], CLIENTS, "every client served once");
        assert!(
            counts[0] > 0 && counts[1] > 0,
            "the kernel spreads connections over both servers: {counts:?}"
        );
    });
}
