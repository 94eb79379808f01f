//! Running out of file descriptors (EMFILE): as Node (libuv's spare-fd trick), connections that
//! arrive while the server has no descriptor left are accepted and closed at once (the client sees
//! EOF), with no `error` event; the accept loop neither exits nor spins, and it serves again once
//! descriptors are free. The server runs in a child process (this test binary re-executed) with a
//! low RLIMIT_NOFILE; the clients are plain std sockets in the parent.
//!
//! Node v20, same echo server (`c.pipe(c)`) under `prlimit --nofile=40 node server.js`, 60 Python
//! clients connecting one after the other, each sending "x" and reading with a 0.5 s timeout:
//! 20 echoed, then `eof` (or `ConnectionResetError` for a client whose "x" arrived before the
//! close) for the other 40, no 'error' event on the server, 0.17 s of CPU in 4 s.
#![cfg(unix)] // needs RLIMIT_NOFILE and re-executed children (Unix)

mod reliability_util;
mod util;

use reliability_util as r;
use std::net::TcpStream;
use std::time::Duration;

/// The child's RLIMIT_NOFILE.
const NOFILE: u64 = 48;
/// Clients connected while the server has no descriptor left.
const EXTRA: usize = 6;
/// Served clients closed to free descriptors.
const FREED: usize = 3;
/// How long the parent waits for any one step (a hang fails the test instead of blocking CI).
const STEP: Duration = Duration::from_secs(15);

/// The child: an echo server (`pipe`) that logs socket errors, with a low fd limit; it closes
/// the server on the parent's "close" command and exits when `run()` returns.
fn child_server() {
    r::set_nofile(NOFILE);
    let server = nodenet::create_server(|c| {
        c.on_error(|_, e| {
            r::say(
                "socket-error",
                format!("{} {:?} {:?}", e.code(), e.errno(), e.syscall()),
            )
        });
        c.pipe(&c);
    });
    server.on_error(|_, e| r::say("server-error", format!("{} {:?}", e.code(), e.syscall())));
    server.listen((0, "127.0.0.1")).on_listening(|s| {
        r::say("port", util::port_of(s));
    });
    let s = server.clone();
    r::on_commands(move |cmd| {
        if cmd == "close" {
            s.close();
        }
    });
    nodenet::run().expect("run() returns Ok");
    r::say("run-returned", "");
}

/// Connects `n` clients and checks that each is echoed.
fn connect_echoed(port: u16, n: usize, tag: &str) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let msg = format!("{tag}-{i}");
            let back = r::echo(&mut c, msg.as_bytes(), STEP).expect("echo");
            assert_eq!(back, msg.as_bytes(), "client {tag}-{i} echoed");
            c
        })
        .collect()
}

/// Connects clients one at a time until the server sheds one (EOF instead of the echo); returns
/// the served clients.
fn fill(port: u16) -> Vec<TcpStream> {
    let mut served = Vec::new();
    for i in 0..NOFILE {
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let msg = format!("served-{i}");
        std::io::Write::write_all(&mut c, msg.as_bytes()).unwrap();
        // A shed client that had sent data may see a reset instead of EOF (as with Node).
        let back = match r::read_exact_len(&mut c, msg.len(), STEP) {
            Ok(back) => back,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Vec::new(),
            Err(e) => panic!("client {i}: {e}"),
        };
        if back.is_empty() {
            return served;
        }
        assert_eq!(back, msg.as_bytes(), "client {i} echoed");
        served.push(c);
    }
    panic!("the server never ran out of fds (RLIMIT_NOFILE {NOFILE})");
}

#[test]

fn out_of_fds_new_connections_are_shed_without_spinning_and_served_again_once_fds_free_up() {
    const NAME: &str =
        "out_of_fds_new_connections_are_shed_without_spinning_and_served_again_once_fds_free_up";
    if r::is_child(NAME) {
        return child_server();
    }
    util::with_deadline(Duration::from_secs(90), || {
        let mut child = r::ChildProc::spawn(NAME, &[]);
        let pid = child.pid();
        let port: u16 = child.expect("port", STEP).parse().unwrap();

        // Fill every descriptor the server has left (the last client tried is shed).
        let mut served = fill(port);
        let fds_full = r::fds_of(pid);
        eprintln!(
            "EMFILE: {} clients served with RLIMIT_NOFILE {NOFILE}; server fds {fds_full}",
            served.len()
        );

        // More clients: each is accepted and closed at once, none waits in the accept queue.
        for i in 0..EXTRA {
            let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            assert_eq!(
                r::first_read(&mut c, STEP),
                "eof",
                "extra client {i} is shed"
            );
        }
        assert_eq!(
            r::accept_queue(port),
            Some(0),
            "nothing waits in the backlog"
        );

        // Saturated: the acceptor must not spin. CPU time of the whole server process over 1 s.
        let cpu_before = r::cpu_time(pid);
        std::thread::sleep(Duration::from_secs(1));
        let cpu = r::cpu_time(pid) - cpu_before;
        eprintln!(
            "EMFILE: server CPU over 1 s while out of fds: {cpu:?}; fds {}, threads {}",
            r::fds_of(pid),
            r::threads_of(pid),
        );
        assert!(
            cpu < Duration::from_millis(300),
            "the server spins while out of fds: {cpu:?} of CPU in 1 s"
        );
        assert_eq!(r::fds_of(pid), fds_full, "no fd leaked by shedding");

        // The served clients are still served.
        for (i, c) in served.iter_mut().enumerate() {
            let msg = format!("again-{i}");
            assert_eq!(r::echo(c, msg.as_bytes(), STEP).unwrap(), msg.as_bytes());
        }

        // Free descriptors (wait until the server closed those sockets): the next client is served.
        drop(served.drain(..FREED).collect::<Vec<_>>());
        assert!(
            r::wait_until(STEP, || r::fds_of(pid) == fds_full - FREED),
            "the server closed the freed clients' sockets: fds {}",
            r::fds_of(pid)
        );
        let fresh = connect_echoed(port, FREED, "fresh");

        // Tear down: every client closes, the server closes, run() returns, the child exits 0.
        drop(fresh);
        drop(served);
        child.send("close");
        child.expect("run-returned", STEP);
        child.finish(STEP);
    });
}

// The properties that hold whatever the acceptor does with connections it cannot take (shed them
// as Node does, or leave them in the backlog): it neither exits nor spins, the connections it
// holds are still served, and once descriptors are free a new client is served.
#[test]
fn out_of_fds_the_acceptor_neither_spins_nor_exits_and_serves_again_once_fds_free_up() {
    const NAME: &str =
        "out_of_fds_the_acceptor_neither_spins_nor_exits_and_serves_again_once_fds_free_up";
    if r::is_child(NAME) {
        return child_server();
    }
    util::with_deadline(Duration::from_secs(90), || {
        let mut child = r::ChildProc::spawn(NAME, &[]);
        let pid = child.pid();
        let port: u16 = child.expect("port", STEP).parse().unwrap();
        let mut served = fill(port);
        // Clients the server has no fd for (shed, or left in the backlog).
        let extra: Vec<TcpStream> = (0..EXTRA)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
            .collect();
        let cpu_before = r::cpu_time(pid);
        std::thread::sleep(Duration::from_secs(1));
        let cpu = r::cpu_time(pid) - cpu_before;
        eprintln!(
            "EMFILE: server CPU over 1 s while out of fds: {cpu:?}; fds {}, threads {}, accept queue {:?}",
            r::fds_of(pid),
            r::threads_of(pid),
            r::accept_queue(port)
        );
        assert!(
            cpu < Duration::from_millis(300),
            "the server spins while out of fds: {cpu:?} of CPU in 1 s"
        );
        for (i, c) in served.iter_mut().enumerate() {
            let msg = format!("again-{i}");
            assert_eq!(r::echo(c, msg.as_bytes(), STEP).unwrap(), msg.as_bytes());
        }
        let fds_full = r::fds_of(pid);
        drop(extra);
        drop(served.drain(..EXTRA + FREED).collect::<Vec<_>>());
        // A client that comes before the server has closed the freed sockets is shed.
        assert!(
            r::wait_until(STEP, || r::fds_of(pid) <= fds_full - EXTRA - FREED),
            "the server closed the freed clients' sockets: fds {}",
            r::fds_of(pid)
        );
        let fresh = connect_echoed(port, FREED, "fresh");
        drop(fresh);
        drop(served);
        child.send("close");
        child.expect("run-returned", STEP);
        child.finish(STEP);
    });
}
