//! When no thread can be started (RLIMIT_NPROC reached), nothing aborts: the connection, write,
//! connect or listen that needed the thread fails, and the server keeps serving the others and
//! serves new connections once threads can be started again.
//!
//! The server runs in a child process (this test binary re-executed). Root ignores RLIMIT_NPROC,
//! so a child running as root first becomes `nobody`; it then sets its soft RLIMIT_NPROC to 0
//! (every `clone` fails with EAGAIN) and later back to the hard limit.
#![cfg(unix)] // needs RLIMIT_NPROC and re-executed children (Unix)

mod reliability_util;
mod util;

use reliability_util as r;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(15);

fn describe(e: &nodenet::Error) -> String {
    format!("{} {:?} {:?} | {}", e.code(), e.errno(), e.syscall(), e)
}

fn child() {
    r::say("dropped-root", r::drop_root());
    let server = nodenet::create_server(|c| {
        r::say("connection", "");
        c.on_error(|_, e| r::say("socket-error", describe(e)));
        c.on_close(|_, had_error| r::say("socket-close", had_error));
        c.pipe(&c);
    });
    server.on_error(|_, e| r::say("server-error", describe(e)));
    server.listen((0, "127.0.0.1")).on_listening(|s| {
        r::say("port", util::port_of(s));
    });
    let main = server.clone();
    r::on_commands(move |cmd| {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        match words[..] {
            ["limit"] => {
                r::set_nproc(0);
                r::say("limited", "");
            }
            ["unlimit"] => {
                r::restore_nproc();
                r::say("unlimited", "");
            }
            ["ping"] => r::say("pong", ""),
            ["connect", port] => {
                let port: u16 = port.parse().unwrap();
                let c = nodenet::connect((port, "127.0.0.1"));
                c.on_connect(|_| r::say("client-connect", ""));
                c.on_error(|_, e| r::say("client-error", describe(e)));
                c.on_close(|_, had_error| r::say("client-close", had_error));
            }
            ["listen", host] => {
                let s = nodenet::Server::new(Default::default());
                s.on_listening(|s| {
                    r::say("second-listening", "");
                    s.close();
                });
                s.on_error(|_, e| r::say("second-error", describe(e)));
                s.listen((0, host));
            }
            ["close"] => {
                main.close();
            }
            _ => panic!("unknown command {cmd:?}"),
        }
    });
    nodenet::run().expect("run() returns Ok");
    r::say("run-returned", "");
}

#[test]
fn when_threads_cannot_be_started_the_operation_fails_and_the_server_keeps_serving() {
    const NAME: &str =
        "when_threads_cannot_be_started_the_operation_fails_and_the_server_keeps_serving";
    if r::is_child(NAME) {
        return child();
    }
    util::with_deadline(Duration::from_secs(90), || {
        let mut child = r::ChildProc::spawn(NAME, &[]);
        let dropped_root = child.expect("dropped-root", STEP);
        let port: u16 = child.expect("port", STEP).parse().unwrap();

        let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
        child.expect("connection", STEP);
        assert_eq!(r::echo(&mut a, b"a1", STEP).unwrap(), b"a1");

        child.send("limit");
        child.expect("limited", STEP);
        let threads_limited = r::threads_of(child.pid());

        // A new connection needs a reader thread: it is accepted and closed at once (the client
        // sees EOF); no `connection`, no `error` anywhere; the acceptor carries on.
        let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(r::first_read(&mut b, STEP), "eof", "a shed connection");
        child.send("ping");
        child.expect("pong", STEP);

        // The existing connection is still served (small writes go out without a writer thread).
        assert_eq!(r::echo(&mut a, b"a2", STEP).unwrap(), b"a2");

        // A write that would block needs a writer thread: that socket fails with EAGAIN (syscall
        // write) and closes; the process lives on.
        let mut a_writer = a.try_clone().unwrap();
        let flood = std::thread::spawn(move || {
            let chunk = vec![7u8; 1 << 20];
            for _ in 0..64 {
                a_writer.write_all(&chunk)?;
            }
            Ok::<(), std::io::Error>(())
        });
        assert_eq!(
            child.expect("socket-error", STEP),
            "EAGAIN Some(-11) Some(\"write\") | write EAGAIN"
        );
        assert_eq!(child.expect("socket-close", STEP), "true");
        let flood = flood.join().unwrap();
        assert!(
            flood.is_err(),
            "the flood stops: the server closed the socket"
        );

        // A client connect needs a thread: EAGAIN, syscall connect, then close(true).
        child.send(&format!("connect {port}"));
        assert_eq!(
            child.expect("client-error", STEP),
            "EAGAIN Some(-11) Some(\"connect\") | connect EAGAIN"
        );
        assert_eq!(child.expect("client-close", STEP), "true");

        // listen needs an acceptor thread: an error event (syscall listen), no `listening`.
        child.send("listen 127.0.0.1");
        assert_eq!(
            child.expect("second-error", STEP),
            "EAGAIN Some(-11) Some(\"listen\") | listen EAGAIN"
        );
        // listen on a host name needs a resolver thread: an error event (syscall getaddrinfo).
        child.send("listen localhost");
        assert_eq!(
            child.expect("second-error", STEP),
            "EAGAIN Some(-11) Some(\"getaddrinfo\") | getaddrinfo EAGAIN"
        );
        assert_eq!(
            r::threads_of(child.pid()),
            threads_limited - 1,
            "only the failed socket's reader exited"
        );

        // Threads available again: a new client is served.
        child.send("unlimit");
        child.expect("unlimited", STEP);
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        child.expect("connection", STEP);
        assert_eq!(r::echo(&mut c, b"c1", STEP).unwrap(), b"c1");

        drop((a, b, c));
        child.send("close");
        let mut closes = 0;
        loop {
            let (key, value) = child.next(STEP);
            match key.as_str() {
                "socket-close" => {
                    assert_eq!(value, "false");
                    closes += 1;
                }
                "run-returned" => break,
                other => panic!("unexpected report {other} {value}"),
            }
        }
        assert_eq!(closes, 1, "only C was still open");
        child.finish(STEP);
        eprintln!("thread limit: child dropped root: {dropped_root}");
    });
}
