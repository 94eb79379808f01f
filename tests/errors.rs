//! `nodenet::Error`: fields, Display, traits, io::Error conversion, Node's shapes for the common
//! errors (cross-checked with Node), and errors without a listener making `run()` return them.

mod util;

use nodenet::{ConnectOptions, Error, Server};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use util::{EventLog, LIMIT, port_of, with_deadline};

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

fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `code errno syscall address port | message`, "-" for an absent field.
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

// ----- the type -------------------------------------------------------------------------------

#[test]
fn error_new_carries_code_and_message_and_no_system_fields() {
    let err = Error::new("ERR_SOCKET_CLOSED", "Socket is closed");
    assert_eq!(err.code(), "ERR_SOCKET_CLOSED");
    assert_eq!(err.message(), "Socket is closed");
    assert_eq!(err.to_string(), "Socket is closed");
    assert_eq!(err.errno(), None);
    assert_eq!(err.syscall(), None);
    assert_eq!(err.address(), None);
    assert_eq!(err.port(), None);
    assert_eq!(err.hostname(), None);
    let custom = Error::new("EMYCODE", String::from("something went wrong"));
    assert_eq!(custom.code(), "EMYCODE");
    assert_eq!(custom.to_string(), "something went wrong");
}

#[test]
fn argument_errors_have_invalid_input_kind() {
    for code in [
        "ERR_INVALID_ARG_VALUE",
        "ERR_SOCKET_BAD_PORT",
        "ERR_MISSING_ARGS",
        "ERR_INVALID_IP_ADDRESS",
    ] {
        assert_eq!(
            Error::new(code, "x").kind(),
            io::ErrorKind::InvalidInput,
            "{code}"
        );
    }
}

#[test]
fn error_is_clone_send_sync_static_and_a_std_error() {
    fn assert_traits<T: Clone + Send + Sync + 'static + std::error::Error + std::fmt::Debug>() {}
    assert_traits::<Error>();

    let err = Error::new("ERR_SERVER_NOT_RUNNING", "Server is not running.");
    let copy = err.clone();
    assert_eq!(copy.code(), err.code());
    assert_eq!(copy.to_string(), err.to_string());
    assert!(std::error::Error::source(&err).is_none());
    let debug = format!("{err:?}");
    assert!(debug.contains("ERR_SERVER_NOT_RUNNING"), "{debug}");

    // It moves to other threads and into the usual boxed error.
    let handle = std::thread::spawn(move || copy.code().to_string());
    assert_eq!(handle.join().unwrap(), "ERR_SERVER_NOT_RUNNING");
    let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
    assert_eq!(boxed.to_string(), "Server is not running.");
    assert_eq!(
        boxed.downcast_ref::<Error>().map(|e| e.code()),
        Some("ERR_SERVER_NOT_RUNNING")
    );
}

#[test]
fn io_error_from_error_keeps_kind_message_and_the_error() {
    let err = Error::new("ERR_INVALID_ARG_VALUE", "bad value");
    let io_err = io::Error::from(err.clone());
    assert_eq!(io_err.kind(), err.kind());
    assert_eq!(io_err.to_string(), "bad value");
    let inner = io_err
        .get_ref()
        .and_then(|e| e.downcast_ref::<Error>())
        .expect("the nodenet::Error is kept inside");
    assert_eq!(inner.code(), "ERR_INVALID_ARG_VALUE");
}

#[test]
fn io_error_from_system_errors_keeps_their_kind() {
    with_deadline(LIMIT, || {
        let errors: Arc<Mutex<Vec<Error>>> = Arc::default();
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        let path = util::temp_socket_path("missing");

        let e = errors.clone();
        let (refused, _refused) = refused_port();
        nodenet::connect((refused, "127.0.0.1"))
            .on_error(move |_, err| e.lock().unwrap().push(err.clone()));
        let e = errors.clone();
        Server::new(Default::default())
            .listen((busy_port, "127.0.0.1"))
            .on_error(move |_, err| e.lock().unwrap().push(err.clone()));
        let e = errors.clone();
        nodenet::connect(path.as_path())
            .on_error(move |_, err| e.lock().unwrap().push(err.clone()));
        nodenet::run().unwrap();
        drop(busy);

        let mut kinds: Vec<(String, io::ErrorKind, io::ErrorKind)> = errors
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e.code().to_string(),
                    e.kind(),
                    io::Error::from(e.clone()).kind(),
                )
            })
            .collect();
        kinds.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            kinds,
            [
                (
                    "EADDRINUSE".to_string(),
                    io::ErrorKind::AddrInUse,
                    io::ErrorKind::AddrInUse
                ),
                (
                    "ECONNREFUSED".to_string(),
                    io::ErrorKind::ConnectionRefused,
                    io::ErrorKind::ConnectionRefused
                ),
                (
                    "ENOENT".to_string(),
                    io::ErrorKind::NotFound,
                    io::ErrorKind::NotFound
                ),
            ]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    });
}

// ----- Node's shapes for the common errors ----------------------------------------------------

/// The errors of six everyday mistakes, one line each, in Node (same scenarios as `ours`).
const NODE_COMMON_ERRORS: &str = r#"
const net = require('net');
const opt = (v) => (v === undefined || v === null ? '-' : String(v));
const errLine = (e) => [e.code, opt(e.errno), opt(e.syscall), opt(e.address), opt(e.port)].join(' ') + ' | ' + e.message;
const [refused, busy, missing] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const lines = [];
const out = (name, e) => lines.push(name + ' ' + errLine(e));
process.on('exit', () => process.stdout.write(lines.join('\n') + '\n'));
(async () => {
  await new Promise((r) => { const c = net.connect(refused, '127.0.0.1'); c.on('error', (e) => out('connect', e)); c.on('close', r); });
  await new Promise((r) => { const s = net.createServer(); s.on('error', (e) => { out('listen', e); r(); }); s.listen(busy, '127.0.0.1'); });
  await new Promise((r) => { const c = net.connect(missing); c.on('error', (e) => out('path', e)); c.on('close', r); });
  await new Promise((r) => { const s = net.createServer(); s.close((e) => { out('close', e); r(); }); });
  await new Promise((r) => { const c = net.connect(refused, '127.0.0.1'); c.on('error', () => {}); c.destroy(); c.write('x', (e) => { out('destroyed', e); r(); }); });
  await new Promise((r) => { const c = net.connect(refused, '127.0.0.1'); c.on('error', () => {}); c.end(); c.write('x', (e) => out('ended', e)); c.on('close', r); });
})();
"#;

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn common_error_shapes_match_node() {
    with_deadline(LIMIT, || {
        let (refused, _refused) = refused_port();
        let busy = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        let path = util::temp_socket_path("missing");
        let shown = path.to_str().unwrap().to_string();

        let output = util::spawn_node(
            NODE_COMMON_ERRORS,
            &[refused.to_string(), busy_port.to_string(), shown.clone()],
        )
        .wait_with_output()
        .expect("wait for node");
        assert!(
            output.status.success(),
            "node failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let node: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();

        let found: Arc<Mutex<BTreeMap<&'static str, String>>> = Arc::default();
        let record = |name: &'static str| {
            let found = found.clone();
            move |e: &Error| {
                let previous = found.lock().unwrap().insert(name, err_line(e));
                assert!(previous.is_none(), "{name} reported twice");
            }
        };

        let r = record("connect");
        nodenet::connect((refused, "127.0.0.1")).on_error(move |_, e| r(e));
        let r = record("listen");
        Server::new(Default::default())
            .listen((busy_port, "127.0.0.1"))
            .on_error(move |_, e| r(e));
        let r = record("path");
        nodenet::connect(path.as_path()).on_error(move |_, e| r(e));
        let r = record("close");
        Server::new(Default::default())
            .close_with(move |_, e| r(e.expect("an error for a server that is not running")));
        let r = record("destroyed");
        let c = nodenet::connect((refused, "127.0.0.1"));
        c.on_error(|_, _| {});
        c.destroy();
        c.write_with("x", move |_, e| r(e.expect("write after destroy fails")));
        let r = record("ended");
        let c = nodenet::connect((refused, "127.0.0.1"));
        c.on_error(|_, _| {});
        c.end();
        c.write_with("x", move |_, e| r(e.expect("write after end fails")));
        nodenet::run().unwrap();
        drop(busy);

        let found = found.lock().unwrap();
        let ours: Vec<String> = ["connect", "listen", "path", "close", "destroyed", "ended"]
            .iter()
            .map(|name| format!("{name} {}", opt(found.get(name))))
            .collect();
        assert_eq!(
            ours,
            [
                format!(
                    "connect ECONNREFUSED -111 connect 127.0.0.1 {refused} | connect ECONNREFUSED 127.0.0.1:{refused}"
                ),
                format!(
                    "listen EADDRINUSE -98 listen 127.0.0.1 {busy_port} | listen EADDRINUSE: address already in use 127.0.0.1:{busy_port}"
                ),
                format!("path ENOENT -2 connect {shown} - | connect ENOENT {shown}"),
                "close ERR_SERVER_NOT_RUNNING - - - - | Server is not running.".to_string(),
                "destroyed ERR_STREAM_DESTROYED - - - - | Cannot call write after a stream was destroyed".to_string(),
                "ended ERR_STREAM_WRITE_AFTER_END - - - - | write after end".to_string(),
            ]
        );
        assert_eq!(ours, node);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    });
}

#[test]
fn destroy_with_delivers_the_given_error_then_close_true() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.on_data(|_, _| {});
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect((port_of(server), "127.0.0.1"));
            let l2 = l.clone();
            client.on_connect(move |c| {
                c.destroy_with(Error::new("EMYCODE", "boom"));
                l2.push(format!("destroyed {}", c.destroyed()));
                // A second destroy is ignored: no second error.
                c.destroy_with(Error::new("EOTHER", "ignored"));
            });
            let l2 = l.clone();
            client.on_error(move |_, e| l2.push(format!("error {}", err_line(e))));
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
                "destroyed true",
                "error EMYCODE - - - - | boom",
                "close true"
            ]
        );
    });
}

// ----- errors without a listener -----------------------------------------------------------------

#[test]
fn unhandled_socket_error_makes_run_return_it_and_a_second_run_continues() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|c| {
            c.end_with("hi");
        });
        server.listen(0); // bound synchronously: listening across both runs
        let port = port_of(&server);

        let (refused, _refused) = refused_port();
        let failing = nodenet::connect((refused, "127.0.0.1"));
        // The failing socket's `close` may come in either run (its close phase); it comes once.
        let failing_log = EventLog::new();
        let l = failing_log.clone();
        failing.on_close(move |_, h| l.push(format!("failing close {h}")));

        let err = nodenet::run().expect_err("an error without a listener ends run()");
        assert_eq!(err.code(), "ECONNREFUSED");
        assert_eq!(
            err.to_string(),
            format!("connect ECONNREFUSED 127.0.0.1:{refused}")
        );
        assert!(failing.destroyed(), "the handle is closed");
        assert!(server.listening(), "other handles are untouched");

        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        client.on_data(move |_, chunk| {
            l.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
        });
        let l = log.clone();
        let s = server.clone();
        client.on_close(move |_, h| {
            l.push(format!("client close {h}"));
            s.close();
        });
        nodenet::run().expect("the second run finishes normally");
        assert_eq!(log.entries(), ["data hi", "client close false"]);
        assert_eq!(failing_log.entries(), ["failing close true"]);
    });
}

#[test]
fn unhandled_server_error_makes_run_return_it() {
    with_deadline(LIMIT, || {
        let log = EventLog::new();
        let first = nodenet::create_server(|_| panic!("no connection expected"));
        first.listen((0, "127.0.0.1"));
        let l = log.clone();
        first.on_listening(move |first| {
            let port = port_of(first);
            l.push("first listening");
            let second = nodenet::create_server(|_| panic!("no connection expected"));
            second.listen((port, "127.0.0.1"));
        });
        let err = nodenet::run().expect_err("EADDRINUSE without a listener ends run()");
        assert_eq!(err.code(), "EADDRINUSE");
        assert_eq!(err.syscall(), Some("listen"));
        assert_eq!(err.errno(), Some(util::errno("EADDRINUSE")));
        assert_eq!(log.entries(), ["first listening"]);
        assert!(first.listening());
        let l = log.clone();
        first.on_close(move |_| l.push("first close"));
        first.close();
        nodenet::run().expect("the second run finishes normally");
        assert_eq!(log.entries(), ["first listening", "first close"]);
    });
}

#[test]
fn unhandled_destroy_with_error_is_returned_by_run() {
    with_deadline(LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = nodenet::connect((listener.local_addr().unwrap().port(), "127.0.0.1"));
        client.on_connect(|c| c.destroy_with(Error::new("EMYCODE", "boom")));
        let err = nodenet::run().expect_err("the error has no listener");
        assert_eq!(err.code(), "EMYCODE");
        assert_eq!(err.to_string(), "boom");
        assert!(client.destroyed());
        drop(listener);
    });
}

#[test]
fn errors_with_a_listener_do_not_end_run() {
    with_deadline(LIMIT, || {
        let count = Arc::new(Mutex::new(0));
        let (refused, _refused) = refused_port();
        for _ in 0..3 {
            let c = count.clone();
            nodenet::connect(ConnectOptions::port(refused).host("127.0.0.1"))
                .on_error(move |_, _| *c.lock().unwrap() += 1);
        }
        nodenet::run().expect("every error was handled");
        assert_eq!(*count.lock().unwrap(), 3);
    });
}

/// `fn main() -> Result<(), nodenet::Error>` with `?`.
fn main_like(port: u16) -> Result<(), Error> {
    let client = nodenet::connect((port, "127.0.0.1"));
    client.on_connect(|_| panic!("must not connect"));
    nodenet::run()?;
    Ok(())
}

#[test]
fn question_mark_propagates_an_unhandled_error_from_run() {
    let (port, _refused) = refused_port();
    let err = with_deadline(LIMIT, move || main_like(port)).expect_err("ECONNREFUSED");
    assert_eq!(err.code(), "ECONNREFUSED");
    assert_eq!(err.port(), Some(port));
}
