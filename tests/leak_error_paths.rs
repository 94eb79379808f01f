//! No thread or file descriptor survives the less happy paths: servers that listen and close,
//! refused connections, sockets destroyed while their writer thread is blocked in a full send
//! and their peer has unread data (RST), and unix-socket connections.
//!
//! This binary has exactly one test: /proc/self counts are only meaningful when no other test
//! runs in the same process at the same time.

mod util;

use nodenet::{ServerOptions, Socket};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use util::{EventLog, fd_count, port_of, thread_count};

const SERVERS: usize = 100;
const REFUSED: usize = 200;
const STUCK: usize = 20;
/// Written by each stuck client, whatever `write()` returns: well beyond what the kernel buffers
/// for a peer that never reads (about 4 MiB here), so the rest stays queued behind a blocked writer.
const STUCK_BYTES: usize = 10 << 20;
const UNIX: usize = 100;

/// Phase 1: servers that listen and close again, one after the other.
fn listen_and_close(n: usize, log: EventLog, next: Rc<dyn Fn()>) {
    if n == SERVERS {
        log.push(format!("{SERVERS} servers closed"));
        next();
        return;
    }
    let server = nodenet::create_server(|_| panic!("no connection expected"));
    server.listen((0, "127.0.0.1")).on_listening(|s| {
        s.close();
    });
    server.on_close(move |_| listen_and_close(n + 1, log.clone(), next.clone()));
}

/// Phase 2: connections refused by a port nobody listens on.
fn refused(port: u16, log: EventLog, next: Rc<dyn Fn()>) {
    let left = Rc::new(Cell::new(REFUSED));
    for _ in 0..REFUSED {
        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        client.on_error(move |_, e| {
            if e.code() != "ECONNREFUSED" {
                l.push(format!("unexpected error {e}"));
            }
        });
        let (left, l, next) = (left.clone(), log.clone(), next.clone());
        client.on_close(move |_, had_error| {
            assert!(had_error);
            left.set(left.get() - 1);
            if left.get() == 0 {
                l.push(format!("{REFUSED} refused"));
                next();
            }
        });
    }
}

/// Phase 3: clients whose writes pile up against a paused peer, then both ends are destroyed.
fn stuck(log: EventLog, next: Rc<dyn Fn()>) {
    let accepted: Rc<RefCell<Vec<Socket>>> = Rc::default();
    let clients: Rc<RefCell<Vec<Socket>>> = Rc::default();
    let closes = Rc::new(Cell::new(0usize));
    let a = accepted.clone();
    let server = nodenet::create_server_with(
        ServerOptions::default().pause_on_connect(true),
        move |sock| {
            sock.on_error(|_, _| {});
            a.borrow_mut().push(sock);
        },
    );
    let srv = server.clone();
    server.listen((0, "127.0.0.1")).on_listening(move |s| {
        let port = port_of(s);
        let full = Rc::new(Cell::new(0usize));
        for _ in 0..STUCK {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_error(|_, _| {});
            let (full, accepted, all_clients, srv, closes, log, next) = (
                full.clone(),
                accepted.clone(),
                clients.clone(),
                srv.clone(),
                closes.clone(),
                log.clone(),
                next.clone(),
            );
            client.on_connect(move |c| {
                let block = vec![1u8; 256 << 10];
                for _ in 0..STUCK_BYTES / block.len() {
                    c.write(&block[..]);
                }
                full.set(full.get() + 1);
                if full.get() < STUCK {
                    return;
                }
                // Every client has a blocked writer; let the accepts catch up, then destroy all.
                let (accepted, clients, srv) = (accepted.clone(), all_clients.clone(), srv.clone());
                let (closes, log, next) = (closes.clone(), log.clone(), next.clone());
                let count = accepted.clone();
                wait_then(
                    move || count.borrow().len() == STUCK,
                    move || {
                        for sock in accepted.borrow_mut().drain(..) {
                            sock.destroy();
                        }
                        for c in clients.borrow_mut().drain(..) {
                            assert!(c.buffer_size() > 0, "the writer should be stuck");
                            let (closes, log, next) = (closes.clone(), log.clone(), next.clone());
                            c.on_close(move |_, _| {
                                closes.set(closes.get() + 1);
                                if closes.get() == STUCK {
                                    log.push(format!("{STUCK} stuck destroyed"));
                                    next();
                                }
                            });
                            c.destroy();
                        }
                        srv.close();
                    },
                );
            });
            clients.borrow_mut().push(client);
        }
    });
}

/// Phase 4: echo over unix sockets.
fn unix(log: EventLog, next: Rc<dyn Fn()>) {
    let path = util::temp_socket_path("leak");
    let server = nodenet::create_server(|sock| {
        sock.pipe(&sock);
    });
    let done = Rc::new(Cell::new(0usize));
    let srv = server.clone();
    server.listen(path.as_path()).on_listening(move |_| {
        for _ in 0..UNIX {
            let client = nodenet::connect(path.as_path());
            client.end_with("x");
            let got = Rc::new(RefCell::new(Vec::new()));
            let g = got.clone();
            client.on_data(move |_, chunk| g.borrow_mut().extend_from_slice(chunk.bytes()));
            let (done, srv, log, next) = (done.clone(), srv.clone(), log.clone(), next.clone());
            client.on_close(move |_, had_error| {
                assert!(!had_error);
                assert_eq!(&got.borrow()[..], b"x");
                done.set(done.get() + 1);
                if done.get() == UNIX {
                    log.push(format!("{UNIX} unix echoes"));
                    srv.close();
                    next();
                }
            });
        }
    });
}

/// Runs `then` on the loop once `cond` holds (checked every millisecond).
fn wait_then(cond: impl Fn() -> bool + 'static, then: impl FnOnce() + 'static) {
    if cond() {
        then();
    } else {
        nodenet::set_timeout(Duration::from_millis(1), move || wait_then(cond, then));
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "counts /proc/self/fd (under Wine: Wine's own descriptors too), and its local-socket echo relies on half-close, which pipes lack"
)]
fn servers_refused_connects_destroyed_writers_and_unix_sockets_leave_nothing_behind() {
    let threads_before = thread_count();
    let fds_before = fd_count();
    let peak = util::with_deadline(Duration::from_secs(60), || {
        let log = EventLog::new();
        let peak = Rc::new(Cell::new((0usize, 0usize)));
        let sample = {
            let peak = peak.clone();
            move || {
                let (t, f) = peak.get();
                peak.set((t.max(thread_count()), f.max(fd_count())));
            }
        };
        // A port that nobody listens on: bind, note, close.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_port = probe.local_addr().unwrap().port();
        drop(probe);

        let (l, s) = (log.clone(), sample.clone());
        let phase4: Rc<dyn Fn()> = Rc::new(move || {
            s();
            unix(l.clone(), Rc::new(|| {}))
        });
        let (l, s) = (log.clone(), sample.clone());
        let phase3: Rc<dyn Fn()> = Rc::new(move || {
            s();
            stuck(l.clone(), phase4.clone())
        });
        let (l, s) = (log.clone(), sample.clone());
        let phase2: Rc<dyn Fn()> = Rc::new(move || {
            s();
            refused(dead_port, l.clone(), phase3.clone())
        });
        listen_and_close(0, log.clone(), phase2);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "100 servers closed",
                "200 refused",
                "20 stuck destroyed",
                "100 unix echoes"
            ]
        );
        peak.get()
    });
    let settled = util::eventually(Duration::from_secs(10), || {
        thread_count() <= threads_before && fd_count() <= fds_before
    });
    let (threads_after, fds_after) = (thread_count(), fd_count());
    eprintln!(
        "threads: before {threads_before}, peak {}, after {threads_after}; \
         fds: before {fds_before}, peak {}, after {fds_after}",
        peak.0, peak.1
    );
    assert!(
        settled,
        "leak: threads {threads_before} -> {threads_after}, fds {fds_before} -> {fds_after}"
    );
    assert_eq!(threads_after, threads_before);
    assert_eq!(fds_after, fds_before);
}
