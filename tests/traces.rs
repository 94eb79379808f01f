//! Differential event traces: the same scenario written twice, in JavaScript (Node v20's `net`,
//! `tests/traces/<scenario>.js`) and in Rust (nodenet), each recording every event with its
//! arguments as `<emitter>:<event>[:<args>]`; the two traces must be equal.
//!
//! Emitters: `server` (and `server2`, ...), `conn` (accepted sockets), `client` (and `client2`).
//! Entries: `connect`, `ready`, `data:<len>`, `end`, `finish`, `drain`, `timeout`,
//! `error:<code>:<syscall or ->`, `close:<had_error>`, `lookup:<address>:<family>` or
//! `lookup:err:<code>`, `listening`, `connection`, `close` (servers), `cb:<null|code>` (write
//! callbacks), `closecb:<null|code>` (server close callbacks), `write:<returned>` (write results).
//!
//! The only normalisation is the kernel's chunking: consecutive `data:<len>` entries of one emitter
//! (no other entry of that emitter in between) are merged into one `data:<total>`. Ports never
//! appear in a trace.
//!
//! Each side runs the whole scenario (server and clients) in one program: one node process, one
//! nodenet loop, so a trace holds the real interleaving. Where the order between two emitters is
//! decided by the kernel or by thread scheduling (nodenet's acceptor, connector and reader threads
//! report independently), the scenario compares groups of emitters whose relative order is
//! defined instead:
//! - `Compare::Full` (whole trace, in order): scenarios with a single emitter or only servers, or
//!   where one side starts after the other finished: destroy_while_connecting, econnrefused,
//!   enotfound_lookup, enoent_unix_path, server_close_idle, server_close_not_running,
//!   listen_eaddrinuse, listen_again_after_eaddrinuse, unref_server.
//! - `SIDES` (server + accepted sockets as one group, the client as another): every scenario with
//!   a connection (the client's `connect` and the server's `connection` race in nodenet, and what
//!   one side sees of the other's actions depends on when the kernel delivers it).
//! - max_connections_one: groups server + conn, client, client2 (the two clients race).
#![cfg(unix)] // needs Node as a child process (a Linux `node` cannot be started from Wine)

mod util;

use nodenet::{ConnectOptions, Error, Server, ServerOptions, Socket};
use std::cell::{Cell, RefCell};
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};
use util::{EventLog, port_of};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// How the two traces are compared.
enum Compare {
    /// The whole trace, in order: every cross-emitter order in it is causally defined.
    Full,
    /// Each group of emitters separately (order defined within a group, not across groups).
    Groups(&'static [&'static [&'static str]]),
}

/// The socket events `trace` hooks by default (as `SOCKET_EVENTS` in lib.js).
const SOCKET_EVENTS: &[&str] = &[
    "lookup", "connect", "ready", "data", "end", "finish", "drain", "timeout", "error", "close",
];

fn script(scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("traces")
        .join(format!("{scenario}.js"))
}

/// Runs `node tests/traces/<scenario>.js args...` and returns its trace (one entry per line).
fn node_trace(scenario: &str, args: &[String]) -> Vec<String> {
    let mut child = Command::new(util::node_binary())
        .arg(script(scenario))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need Node.js (v20) as `node` on PATH, or NODE=/path/to/node");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if start.elapsed() > util::LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node {scenario}.js did not finish within {:?}", util::LIMIT);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = out.join().expect("stdout reader");
    let err = err.join().expect("stderr reader");
    assert!(
        status.success(),
        "node {scenario}.js failed ({status}):\n{err}\ntrace so far:\n{out}"
    );
    out.lines().map(str::to_string).collect()
}

/// Merges consecutive `data:<len>` entries of one emitter (nothing else of that emitter between).
fn coalesce_data(trace: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last_of: std::collections::HashMap<String, usize> = Default::default();
    for entry in trace {
        let emitter = entry.split(':').next().unwrap_or("").to_string();
        let len = entry
            .strip_prefix(&format!("{emitter}:data:"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(len) = len
            && let Some(&i) = last_of.get(&emitter)
            && let Some(prev) = out[i]
                .strip_prefix(&format!("{emitter}:data:"))
                .and_then(|n| n.parse::<usize>().ok())
        {
            out[i] = format!("{emitter}:data:{}", prev + len);
            continue;
        }
        last_of.insert(emitter, out.len());
        out.push(entry.clone());
    }
    out
}

fn emitter_of(entry: &str) -> &str {
    entry.split(':').next().unwrap_or("")
}

fn subsequence(trace: &[String], emitters: &[&str]) -> Vec<String> {
    trace
        .iter()
        .filter(|e| emitters.contains(&emitter_of(e)))
        .cloned()
        .collect()
}

fn emitters(trace: &[String]) -> Vec<String> {
    let mut names: Vec<String> = trace.iter().map(|e| emitter_of(e).to_string()).collect();
    names.sort();
    names.dedup();
    names
}

fn show(trace: &[String]) -> String {
    trace.join("\n  ")
}

/// Runs the scenario in Node and in nodenet (on a fresh loop, under the usual deadline) and
/// asserts the traces are equal as `compare` says.
fn check(
    scenario: &str,
    args: Vec<String>,
    compare: Compare,
    body: impl FnOnce(&EventLog) + Send + 'static,
) {
    let node = std::thread::scope(|scope| {
        let node = scope.spawn(|| node_trace(scenario, &args));
        let rust = util::with_deadline(util::LIMIT, move || {
            let log = EventLog::new();
            body(&log);
            let result = nodenet::run();
            (result.map_err(|e| e.to_string()), log.entries())
        });
        (node.join().expect("node runner"), rust)
    });
    let (node, (result, rust)) = node;
    let node = coalesce_data(&node);
    let rust = coalesce_data(&rust);
    let both = format!(
        "scenario {scenario}\nnode:\n  {}\nnodenet:\n  {}\n",
        show(&node),
        show(&rust)
    );
    assert!(result.is_ok(), "nodenet run() failed: {result:?}\n{both}");
    if std::env::var("TRACES_SHOW").is_ok() {
        eprintln!("{both}");
    }
    let compare = if std::env::var("TRACES_FULL").is_ok() {
        Compare::Full
    } else {
        compare
    };
    match compare {
        Compare::Full => assert_eq!(node, rust, "traces differ\n{both}"),
        Compare::Groups(groups) => {
            assert_eq!(emitters(&node), emitters(&rust), "emitters differ\n{both}");
            let mut covered: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
            covered.sort();
            assert_eq!(
                emitters(&node),
                covered,
                "the groups must cover every emitter\n{both}"
            );
            for group in groups {
                assert_eq!(
                    subsequence(&node, group),
                    subsequence(&rust, group),
                    "events of {group:?} differ\n{both}"
                );
            }
        }
    }
}

fn err_str(error: &Error) -> String {
    format!("{}:{}", error.code(), error.syscall().unwrap_or("-"))
}

/// Hooks every socket event of `socket` into `log` as `<name>:<event>...` (lib.js's `trace`).
fn trace(log: &EventLog, name: &str, socket: &Socket) -> Socket {
    trace_only(log, name, socket, SOCKET_EVENTS)
}

/// Hooks the listed socket events only.
fn trace_only(log: &EventLog, name: &str, socket: &Socket, events: &[&str]) -> Socket {
    for &event in events {
        let (log, name) = (log.clone(), name.to_string());
        match event {
            "lookup" => {
                socket.on_lookup(move |_, result, _host| match result {
                    Ok((ip, family)) => {
                        let family = match family {
                            nodenet::Family::IPv4 => 4,
                            nodenet::Family::IPv6 => 6,
                        };
                        log.push(format!("{name}:lookup:{ip}:{family}"));
                    }
                    Err(e) => log.push(format!("{name}:lookup:err:{}", e.code())),
                });
            }
            "connect" => {
                socket.on_connect(move |_| log.push(format!("{name}:connect")));
            }
            "ready" => {
                socket.on_ready(move |_| log.push(format!("{name}:ready")));
            }
            "data" => {
                socket.on_data(move |_, chunk| {
                    log.push(format!("{name}:data:{}", chunk.bytes().len()))
                });
            }
            "end" => {
                socket.on_end(move |_| log.push(format!("{name}:end")));
            }
            "finish" => {
                socket.on_finish(move |_| log.push(format!("{name}:finish")));
            }
            "drain" => {
                socket.on_drain(move |_| log.push(format!("{name}:drain")));
            }
            "timeout" => {
                socket.on_timeout(move |_| log.push(format!("{name}:timeout")));
            }
            "error" => {
                socket.on_error(move |_, e| log.push(format!("{name}:error:{}", err_str(e))));
            }
            "close" => {
                socket.on_close(move |_, had_error| log.push(format!("{name}:close:{had_error}")));
            }
            other => panic!("unknown socket event {other}"),
        }
    }
    socket.clone()
}

/// Hooks every server event (`listening`, `connection`, `close`, `error`).
fn trace_server(log: &EventLog, name: &str, server: &Server) -> Server {
    let (l, n) = (log.clone(), name.to_string());
    server.on_listening(move |_| l.push(format!("{n}:listening")));
    let (l, n) = (log.clone(), name.to_string());
    server.on_connection(move |_| l.push(format!("{n}:connection")));
    let (l, n) = (log.clone(), name.to_string());
    server.on_close(move |_| l.push(format!("{n}:close")));
    let (l, n) = (log.clone(), name.to_string());
    server.on_error(move |_, e| l.push(format!("{n}:error:{}", err_str(e))));
    server.clone()
}

/// A write callback recording `<name>:cb:<null|code>` (lib.js's `cb(name)`).
fn cb(log: &EventLog, name: &str) -> impl FnOnce(&Socket, Option<&Error>) + 'static {
    let (log, name) = (log.clone(), name.to_string());
    move |_, error| log.push(format!("{name}:cb:{}", error.map_or("null", |e| e.code())))
}

/// A server close callback recording `<name>:closecb:<null|code>`.
fn close_cb(log: &EventLog, name: &str) -> impl FnOnce(&Server, Option<&Error>) + 'static {
    let (log, name) = (log.clone(), name.to_string());
    move |_, error| {
        log.push(format!(
            "{name}:closecb:{}",
            error.map_or("null", |e| e.code())
        ))
    }
}

/// A traced server listening on 127.0.0.1:0.
fn traced_server(log: &EventLog, options: ServerOptions) -> Server {
    let server = trace_server(log, "server", &Server::new(options));
    server.listen((0, "127.0.0.1"));
    server
}

/// A traced client connecting to 127.0.0.1:`port`.
fn traced_client(log: &EventLog, name: &str, options: ConnectOptions) -> Socket {
    let client = nodenet::connect(options);
    trace(log, name, &client)
}

fn local(port: u16) -> ConnectOptions {
    ConnectOptions::port(port).host("127.0.0.1")
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Server-side emitters, then the client: the order within each side is causal (the side's own
/// actions, and the bytes/FINs the other side sent, in order), but the interleaving of the two
/// sides is left to the kernel and, in nodenet, to independent I/O threads (the acceptor reports
/// `connection` and the connector reports `connect` on their own schedules).
const SIDES: Compare = Compare::Groups(&[&["server", "conn"], &["client"]]);

type Slot = Rc<RefCell<Option<Socket>>>;

fn slot() -> Slot {
    Rc::new(RefCell::new(None))
}

fn get(slot: &Slot) -> Socket {
    slot.borrow().clone().expect("socket set")
}

/// Removes the temp dir `util::temp_socket_path` made for `path`.
fn remove_temp_dir(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn echo_round_trip() {
    check("echo_round_trip", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            let l2 = l.clone();
            conn.on_data(move |c, d| {
                c.write_with(d.bytes().to_vec(), cb(&l2, "conn"));
            });
            srv.close_with(close_cb(&l, "server"));
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let l2 = l.clone();
            client.on_connect(move |c| {
                c.write_with("hello", cb(&l2, "client"));
            });
            client.on_data(|c, _| {
                c.end();
            });
        });
    });
}

#[test]
fn client_end_first_default_half_close() {
    check("client_end_first", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| {
                c.end();
            });
        });
    });
}

#[test]
fn server_allow_half_open_writes_after_peer_end() {
    check("server_allow_half_open", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default().allow_half_open(true));
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
            let l = l.clone();
            conn.on_end(move |c| {
                c.write_with("bye", cb(&l, "conn"));
                c.end();
            });
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| {
                c.end_with("hi");
            });
        });
    });
}

#[test]
fn client_allow_half_open_writes_after_peer_end() {
    check("client_allow_half_open", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
            conn.end();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)).allow_half_open(true));
            let l = l.clone();
            client.on_end(move |c| {
                c.write_with("late", cb(&l, "client"));
                c.end();
            });
        });
    });
}

#[test]
fn server_destroys_accepted_socket() {
    check("server_destroys_accepted", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
            conn.destroy();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            traced_client(&l, "client", local(port_of(srv)));
        });
    });
}

// Compare: full (only the client is traced).
#[test]
fn destroy_while_connecting_emits_only_close() {
    check("destroy_while_connecting", vec![], Compare::Full, |log| {
        let server = nodenet::create_server(|conn| conn.destroy());
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.destroy();
            let srv = srv.clone();
            client.on_close(move |_, _| {
                srv.close();
            });
        });
    });
}

#[test]
fn destroy_with_error_emits_error_then_close_true() {
    check("destroy_with_error", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| c.destroy_with(Error::new("EBOOM", "boom")));
        });
    });
}

#[test]
fn write_after_end_fails_with_err_stream_write_after_end() {
    check("write_after_end", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let l = l.clone();
            client.on_connect(move |c| {
                c.end();
                let ok = c.write_with("x", cb(&l, "client"));
                l.push(format!("client:write:{ok}"));
            });
        });
    });
}

#[test]
fn write_after_destroy_fails_with_err_stream_destroyed() {
    check("write_after_destroy", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let l = l.clone();
            client.on_connect(move |c| {
                c.destroy();
                let ok = c.write_with("x", cb(&l, "client"));
                l.push(format!("client:write:{ok}"));
            });
        });
    });
}

// Compare: full (the client starts after the server's close callback).
#[test]
fn connect_to_closed_port_is_econnrefused() {
    check("econnrefused", vec![], Compare::Full, |log| {
        let server = traced_server(log, ServerOptions::default());
        let l = log.clone();
        server.on_listening(move |srv| {
            let port = port_of(srv);
            let l = l.clone();
            srv.close_with(move |_, _| {
                traced_client(&l, "client", local(port));
            });
        });
    });
}

// Compare: full (one emitter).
#[test]
fn failing_lookup_is_enotfound() {
    check("enotfound_lookup", vec![], Compare::Full, |log| {
        traced_client(
            log,
            "client",
            ConnectOptions::port(80)
                .host("nodenet-trace.invalid")
                .lookup(|host, _| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("getaddrinfo ENOTFOUND {host}"),
                    ))
                }),
        );
    });
}

#[test]
fn custom_lookup_result_is_reported_then_connects() {
    check("lookup_custom_success", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let options = ConnectOptions::port(port_of(srv))
                .host("nodenet-trace.test")
                .lookup(|_, _| Ok(vec![IpAddr::from([127, 0, 0, 1])]));
            let client = traced_client(&l, "client", options);
            client.on_connect(|c| {
                c.end();
            });
        });
    });
}

// Compare: full (one emitter).
#[test]
fn connect_to_missing_unix_path_is_enoent() {
    let missing = util::temp_socket_path("missing");
    let shown = missing.to_string_lossy().into_owned();
    let path = missing.clone();
    check("enoent_unix_path", vec![shown], Compare::Full, move |log| {
        traced_client(log, "client", ConnectOptions::path(&path));
    });
    remove_temp_dir(&missing);
}

// Compare: full (one emitter).
#[test]
fn server_close_without_connections_emits_close_then_callback() {
    check("server_close_idle", vec![], Compare::Full, |log| {
        let server = traced_server(log, ServerOptions::default());
        let l = log.clone();
        server.on_listening(move |srv| {
            srv.close_with(close_cb(&l, "server"));
        });
    });
}

#[test]
fn server_close_waits_for_live_connection_and_precedes_its_close() {
    check("server_close_live_connection", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close_with(close_cb(&l, "server"));
            conn.end();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            traced_client(&l, "client", local(port_of(srv)));
        });
    });
}

// Compare: full (servers only, all on the loop).
#[test]

fn close_when_not_running_emits_close_and_err_server_not_running() {
    check("server_close_not_running", vec![], Compare::Full, |log| {
        let idle = trace_server(log, "server2", &Server::new(ServerOptions::default()));
        idle.close_with(close_cb(log, "server2"));
        let server = traced_server(log, ServerOptions::default());
        let l = log.clone();
        server.on_listening(move |srv| {
            srv.close_with(close_cb(&l, "server"));
            srv.close_with(close_cb(&l, "server"));
        });
    });
}

// Compare: full (servers only).
#[test]
fn listen_on_used_port_is_eaddrinuse() {
    check("listen_eaddrinuse", vec![], Compare::Full, |log| {
        let server = traced_server(log, ServerOptions::default());
        let l = log.clone();
        server.on_listening(move |srv| {
            let second = trace_server(&l, "server2", &Server::new(ServerOptions::default()));
            second.listen((port_of(srv), "127.0.0.1"));
            let srv = srv.clone();
            second.on_error(move |_, _| {
                srv.close();
            });
        });
    });
}

// Compare: full (servers only).
#[test]
fn listen_again_after_eaddrinuse_succeeds() {
    check(
        "listen_again_after_eaddrinuse",
        vec![],
        Compare::Full,
        |log| {
            let server = traced_server(log, ServerOptions::default());
            let l = log.clone();
            server.on_listening(move |srv| {
                let second = trace_server(&l, "server2", &Server::new(ServerOptions::default()));
                second.listen((port_of(srv), "127.0.0.1"));
                let retried = Rc::new(Cell::new(false));
                second.on_error(move |s, _| {
                    if !retried.replace(true) {
                        s.listen((0, "127.0.0.1"));
                    }
                });
                let (l, srv) = (l.clone(), srv.clone());
                second.on_listening(move |s| {
                    s.close_with(close_cb(&l, "server2"));
                    srv.close_with(close_cb(&l, "server"));
                });
            });
        },
    );
}

/// A one-shot action on the connected pair (client, accepted socket).
type Start = Rc<RefCell<Option<Box<dyn FnOnce(Socket, Socket)>>>>;

fn start(f: impl FnOnce(Socket, Socket) + 'static) -> Start {
    Rc::new(RefCell::new(Some(Box::new(f))))
}

/// Calls `f(client, conn)` on the next turn of the loop once the client is connected and the
/// server accepted (whichever came last), as `start()` + `setImmediate` in the JS scenarios.
fn when_both(client: &Slot, conn: &Slot, f: &Start) {
    let (Some(c), Some(s)) = (client.borrow().clone(), conn.borrow().clone()) else {
        return;
    };
    if c.connecting() {
        return;
    }
    let f = f.clone();
    nodenet::set_immediate(move || {
        if let Some(f) = f.borrow_mut().take() {
            f(c, s);
        }
    });
}

const CHUNK: usize = 4 * 1024 * 1024;

#[test]

fn drain_precedes_callbacks_of_writes_completed_together() {
    check("drain_vs_write_callbacks", vec![], SIDES, |log| {
        let (client_slot, conn_slot) = (slot(), slot());
        let l = log.clone();
        let start = start(move |client, conn| {
            for _ in 0..3 {
                let ok = client.write_with(vec![0u8; CHUNK], cb(&l, "client"));
                l.push(format!("client:write:{ok}"));
            }
            conn.resume();
        });
        let server = traced_server(log, ServerOptions::default().pause_on_connect(true));
        let (l, srv) = (log.clone(), server.clone());
        let (cs, ss, st) = (client_slot.clone(), conn_slot.clone(), start.clone());
        server.on_connection(move |conn| {
            *ss.borrow_mut() = Some(trace(&l, "conn", &conn));
            srv.close();
            let total = Cell::new(0usize);
            conn.on_data(move |c, d| {
                total.set(total.get() + d.bytes().len());
                if total.get() == 3 * CHUNK {
                    c.end();
                }
            });
            when_both(&cs, &ss, &st);
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            *client_slot.borrow_mut() = Some(client.clone());
            let (cs, ss, st) = (client_slot.clone(), conn_slot.clone(), start.clone());
            client.on_connect(move |_| when_both(&cs, &ss, &st));
        });
    });
}

#[test]
fn destroy_with_pending_writes_settles_their_callbacks() {
    check("destroy_with_pending_writes", vec![], SIDES, |log| {
        let (client_slot, conn_slot) = (slot(), slot());
        let l = log.clone();
        let start = start(move |client, _conn| {
            for _ in 0..3 {
                let ok = client.write_with(vec![0u8; CHUNK], cb(&l, "client"));
                l.push(format!("client:write:{ok}"));
            }
            client.destroy();
        });
        let server = traced_server(log, ServerOptions::default().pause_on_connect(true));
        let (l, srv) = (log.clone(), server.clone());
        let (cs, ss, st) = (client_slot.clone(), conn_slot.clone(), start.clone());
        server.on_connection(move |conn| {
            *ss.borrow_mut() = Some(trace_only(
                &l,
                "conn",
                &conn,
                &["end", "finish", "error", "close"],
            ));
            srv.close();
            when_both(&cs, &ss, &st);
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            *client_slot.borrow_mut() = Some(client.clone());
            let (cs, ss, st) = (client_slot.clone(), conn_slot.clone(), start.clone());
            client.on_connect(move |_| when_both(&cs, &ss, &st));
            let ss = conn_slot.clone();
            client.on_close(move |_, _| get(&ss).destroy());
        });
    });
}

#[test]
fn idle_timeout_fires_once_then_destroy_closes() {
    check("timeout_then_destroy", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| {
                c.set_timeout(Duration::from_millis(50));
            });
            client.on_timeout(|c| c.destroy());
        });
    });
}

#[test]
fn pause_on_connect_delivers_nothing_until_resume() {
    check("pause_on_connect_resume", vec![], SIDES, |log| {
        let conn_slot = slot();
        let finished = Rc::new(Cell::new(false));
        let maybe_resume = {
            let (ss, finished) = (conn_slot.clone(), finished.clone());
            move || {
                if finished.get()
                    && let Some(conn) = ss.borrow().clone()
                {
                    conn.resume();
                }
            }
        };
        let server = traced_server(log, ServerOptions::default().pause_on_connect(true));
        let (l, srv, ss, mr) = (
            log.clone(),
            server.clone(),
            conn_slot.clone(),
            maybe_resume.clone(),
        );
        server.on_connection(move |conn| {
            *ss.borrow_mut() = Some(trace(&l, "conn", &conn));
            srv.close();
            mr();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| {
                c.end_with("hello");
            });
            let (finished, mr) = (finished.clone(), maybe_resume.clone());
            client.on_finish(move |_| {
                finished.set(true);
                mr();
            });
        });
    });
}

#[test]
fn end_while_connecting_sends_fin_after_connect() {
    check("end_while_connecting", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.end();
        });
    });
}

#[test]

fn write_while_connecting_then_end_is_queued() {
    check("write_while_connecting", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let ok = client.write_with("abc", cb(&l, "client"));
            l.push(format!("client:write:{ok}"));
            client.end();
        });
    });
}

#[test]
fn destroy_with_unread_data_resets_peer_econnreset() {
    check("rst_unread_data", vec![], SIDES, |log| {
        let conn_slot = slot();
        let written = Rc::new(Cell::new(false));
        let maybe_destroy = {
            let (ss, written) = (conn_slot.clone(), written.clone());
            move || {
                if written.get()
                    && let Some(conn) = ss.borrow().clone()
                {
                    conn.destroy();
                }
            }
        };
        let server = traced_server(log, ServerOptions::default().pause_on_connect(true));
        let (l, srv, ss, md) = (
            log.clone(),
            server.clone(),
            conn_slot.clone(),
            maybe_destroy.clone(),
        );
        server.on_connection(move |conn| {
            *ss.borrow_mut() = Some(trace_only(
                &l,
                "conn",
                &conn,
                &["end", "finish", "error", "close"],
            ));
            srv.close();
            md();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let (l, written, md) = (l.clone(), written.clone(), maybe_destroy.clone());
            client.on_connect(move |c| {
                let (l, written, md) = (l.clone(), written.clone(), md.clone());
                c.write_with("unread", move |s, e| {
                    cb(&l, "client")(s, e);
                    written.set(true);
                    md();
                });
            });
        });
    });
}

#[test]
fn end_inside_end_listener_with_allow_half_open() {
    check("end_in_end_listener_half_open", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default().allow_half_open(true));
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
            conn.on_end(|c| {
                c.end_with("bye");
            });
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            client.on_connect(|c| {
                c.end_with("x");
            });
        });
    });
}

// Compare: groups server+conn, client, client2 (the two clients connect on their own schedules).
#[test]
fn max_connections_one_accepts_then_closes_the_second_client() {
    const GROUPS: Compare = Compare::Groups(&[&["server", "conn"], &["client"], &["client2"]]);
    check("max_connections_one", vec![], GROUPS, |log| {
        let first = slot();
        let server = traced_server(log, ServerOptions::default());
        server.set_max_connections(Some(1));
        let (l, f, srv) = (log.clone(), first.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            let second = traced_client(&l, "client2", local(port_of(&srv)));
            let (f, srv) = (f.clone(), srv.clone());
            second.on_close(move |_, _| {
                srv.close();
                get(&f).end();
            });
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            *first.borrow_mut() = Some(traced_client(&l, "client", local(port_of(srv))));
        });
    });
}

#[test]
fn unix_socket_echo_round_trip() {
    let node_path = util::temp_socket_path("node-echo");
    let rust_path = util::temp_socket_path("echo");
    let shown = node_path.to_string_lossy().into_owned();
    let path = rust_path.clone();
    check("unix_socket_echo", vec![shown], SIDES, move |log| {
        let server = trace_server(log, "server", &Server::new(ServerOptions::default()));
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            let l2 = l.clone();
            conn.on_data(move |c, d| {
                c.write_with(d.bytes().to_vec(), cb(&l2, "conn"));
            });
            srv.close();
        });
        server.listen(path.as_path());
        let l = log.clone();
        server.on_listening(move |_| {
            let client = traced_client(&l, "client", ConnectOptions::path(&path));
            let l2 = l.clone();
            client.on_connect(move |c| {
                c.write_with("ping", cb(&l2, "client"));
            });
            client.on_data(|c, _| {
                c.end();
            });
        });
    });
    remove_temp_dir(&node_path);
    remove_temp_dir(&rust_path);
}

#[test]
fn write_after_peer_fin_and_auto_end_is_epipe() {
    check("write_after_peer_fin", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.close();
            conn.end();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let l = l.clone();
            client.on_finish(move |c| {
                let ok = c.write_with("late", cb(&l, "client"));
                l.push(format!("client:write:{ok}"));
            });
        });
    });
}

#[test]
fn pipe_to_itself_echoes_and_ends() {
    check("pipe_echo", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            conn.pipe(&conn);
            srv.close();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            let client = traced_client(&l, "client", local(port_of(srv)));
            let l = l.clone();
            client.on_connect(move |c| {
                c.write_with("hello", cb(&l, "client"));
                c.end();
            });
        });
    });
}

// Compare: full (one emitter).
#[test]
fn unref_server_still_emits_listening() {
    check("unref_server", vec![], Compare::Full, |log| {
        let server = trace_server(log, "server", &Server::new(ServerOptions::default()));
        server.unref();
        server.listen((0, "127.0.0.1"));
    });
}

fn log_connections(log: &EventLog) -> impl FnOnce(&Server, Result<usize, Error>) + 'static {
    let log = log.clone();
    move |_, result| match result {
        Ok(n) => log.push(format!("server:getconn:{n}")),
        Err(e) => log.push(format!("server:getconn:{}", e.code())),
    }
}

#[test]
fn get_connections_counts_asynchronously() {
    check("get_connections", vec![], SIDES, |log| {
        let server = traced_server(log, ServerOptions::default());
        let (l, srv) = (log.clone(), server.clone());
        server.on_connection(move |conn| {
            trace(&l, "conn", &conn);
            srv.get_connections(log_connections(&l));
            let l2 = l.clone();
            srv.close_with(move |s, _| s.get_connections(log_connections(&l2)));
            let (l2, srv2) = (l.clone(), srv.clone());
            conn.on_close(move |_, _| srv2.get_connections(log_connections(&l2)));
            conn.end();
        });
        let l = log.clone();
        server.on_listening(move |srv| {
            traced_client(&l, "client", local(port_of(srv)));
        });
    });
}
