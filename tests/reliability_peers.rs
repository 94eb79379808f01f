//! Hostile and broken peers against a nodenet server: resets mid-stream, a peer that never reads,
//! one that sends a byte a second, one that half-closes and vanishes, and 5,000 connect/close
//! cycles. The peers are plain std sockets on their own threads. Expected event orders are Node
//! v20's, from the Node scripts quoted above each test (same server logic, a Python peer).
#![cfg(unix)] // needs the reliability harness (tests/reliability_util: prctl, rlimits, /proc)

mod reliability_util;
mod util;

use nodenet::{Server, ServerOptions, Socket};
use reliability_util as r;
use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use util::EventLog;

const STEP: Duration = Duration::from_secs(15);

fn describe(e: &nodenet::Error) -> String {
    format!(
        "error {} {:?} {:?} | {}",
        e.code(),
        e.errno(),
        e.syscall(),
        e
    )
}

/// Logs `end`, `finish`, `timeout`, `error` and `close` of `socket` (not `data`).
fn trace(socket: &Socket, log: &EventLog) {
    let l = log.clone();
    socket.on_end(move |_| l.push("end"));
    let l = log.clone();
    socket.on_finish(move |_| l.push("finish"));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(describe(e)));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
}

/// A server on 127.0.0.1 that hands its first connection to `on_socket` (and then stops
/// listening), with a peer running `peer(port)` on its own thread. Returns the peer's thread.
fn serve_one(
    options: ServerOptions,
    on_socket: impl FnOnce(Socket) + 'static,
    peer: impl FnOnce(u16) + Send + 'static,
) -> Rc<RefCell<Option<JoinHandle<()>>>> {
    let handle = Rc::new(RefCell::new(None));
    let server = Server::new(options);
    let on_socket = RefCell::new(Some(on_socket));
    server.on_connection(move |socket| {
        let f = on_socket.borrow_mut().take().expect("one connection");
        f(socket);
    });
    server.on_connection({
        let server = server.clone();
        move |_| {
            server.close();
        }
    });
    server.listen((0, "127.0.0.1"));
    let h = handle.clone();
    let peer = RefCell::new(Some(peer));
    server.on_listening(move |s| {
        let port = util::port_of(s);
        let peer = peer.borrow_mut().take().expect("listening once");
        *h.borrow_mut() = Some(std::thread::spawn(move || peer(port)));
    });
    handle
}

fn join(peer: &Rc<RefCell<Option<JoinHandle<()>>>>) {
    let handle = peer.borrow_mut().take().expect("the peer ran");
    handle.join().expect("the peer thread succeeded");
}

// Node (server reading, client resets mid-stream): ["error ECONNRESET -104 read | read
// ECONNRESET", "close true"], no 'end' (node-net-behaviors.md 80).
#[test]
fn a_peer_resetting_mid_stream_while_the_server_reads_gives_econnreset_on_read() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let (tx, rx) = mpsc::channel::<()>();
        let l = log.clone();
        let peer = serve_one(
            ServerOptions::default(),
            move |s| {
                trace(&s, &l);
                let got = Cell::new(0usize);
                let mut tx = Some(tx);
                s.on_data(move |_, chunk| {
                    got.set(got.get() + chunk.bytes().len());
                    if got.get() >= 64 * 1024
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(());
                    }
                });
            },
            move |port| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let piece = vec![1u8; 16 * 1024];
                // Keep sending until the server has read 64 KiB, then reset mid-stream.
                while rx.try_recv().is_err() {
                    c.write_all(&piece).unwrap();
                }
                c.write_all(&piece).unwrap();
                r::reset(c);
            },
        );
        nodenet::run().unwrap();
        join(&peer);
        assert_eq!(
            log.entries(),
            [
                "error ECONNRESET Some(-104) Some(\"read\") | read ECONNRESET",
                "close true"
            ]
        );
    });
}

// Node (server writing 64 MiB with write/drain and reading, client reads 1 MiB then resets;
// 12 runs, all the same):
//   ["error ECONNRESET -104 write | write ECONNRESET","close true"]
#[test]

fn a_peer_resetting_while_the_server_writes_gives_one_econnreset_then_close_true() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let peer = serve_one(
            ServerOptions::default(),
            move |s| {
                trace(&s, &l);
                s.on_data(|_, _| {});
                let sent = Rc::new(Cell::new(0usize));
                fn pump(s: &Socket, sent: &Rc<Cell<usize>>) {
                    let chunk = vec![7u8; 64 * 1024];
                    while sent.get() < 64 << 20 {
                        sent.set(sent.get() + chunk.len());
                        if !s.write(&chunk[..]) {
                            return;
                        }
                    }
                    s.end();
                }
                let again = sent.clone();
                s.on_drain(move |s| pump(s, &again));
                pump(&s, &sent);
            },
            move |port| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let got = r::read_exact_len(&mut c, 1 << 20, STEP).unwrap();
                assert_eq!(got.len(), 1 << 20);
                r::reset(c);
            },
        );
        nodenet::run().unwrap();
        join(&peer);
        assert_eq!(
            log.entries(),
            [
                "error ECONNRESET Some(-104) Some(\"write\") | write ECONNRESET",
                "close true"
            ]
        );
    });
}

// Node (allowHalfOpen server that writes 'x' every 20 ms after the peer's FIN; the peer sent
// "hello", shut down its write side and closed; 8 runs, all the same):
//   ["data hello","end","cb1 null","cb2 EPIPE","error EPIPE -32 write | write EPIPE","close true"]
// Here the second write waits until the peer's RST has closed the server's socket in the kernel
// (it leaves /proc/net/tcp) instead of a fixed 20 ms.
#[test]
fn a_peer_that_half_closes_and_vanishes_makes_the_next_write_fail_with_epipe() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let peer = serve_one(
            ServerOptions::default().allow_half_open(true),
            move |s| {
                trace(&s, &l);
                let l2 = l.clone();
                s.on_data(move |_, chunk| {
                    l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                let l2 = l.clone();
                s.on_end(move |s| {
                    let (local, remote) = (s.local_port().unwrap(), s.remote_port().unwrap());
                    let l3 = l2.clone();
                    s.write_with("x", move |s, e| {
                        l3.push(format!("cb1 {:?}", e.map(|e| e.code().to_string())));
                        let s = s.clone();
                        let l4 = l3.clone();
                        wait_then(
                            move || util::tcp_rx_queue(local, remote).is_none(),
                            move || {
                                s.write_with("x", move |_, e| {
                                    l4.push(format!("cb2 {:?}", e.map(|e| e.code().to_string())))
                                });
                            },
                        );
                    });
                });
            },
            move |port| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(b"hello").unwrap();
                c.shutdown(std::net::Shutdown::Write).unwrap();
                drop(c);
            },
        );
        nodenet::run().unwrap();
        join(&peer);
        assert_eq!(
            log.entries(),
            [
                "data hello",
                "end",
                "cb1 None",
                "cb2 Some(\"EPIPE\")",
                "error EPIPE Some(-32) Some(\"write\") | write EPIPE",
                "close true"
            ]
        );
    });
}

/// Polls `cond` on the loop (every 2 ms) and runs `then` once it holds.
fn wait_then(cond: impl Fn() -> bool + 'static, then: impl FnOnce() + 'static) {
    if cond() {
        then();
    } else {
        nodenet::set_timeout(Duration::from_millis(2), move || wait_then(cond, then));
    }
}

// Node (default server; the peer sent "hello", shut down its write side and closed; 8 runs):
//   ["data hello","end","finish","close false"]
#[test]
fn a_peer_that_half_closes_and_vanishes_gets_a_clean_close_from_a_default_server() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let peer = serve_one(
            ServerOptions::default(),
            move |s| {
                let l2 = l.clone();
                s.on_data(move |_, chunk| {
                    l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                trace(&s, &l);
            },
            move |port| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.write_all(b"hello").unwrap();
                c.shutdown(std::net::Shutdown::Write).unwrap();
                drop(c);
            },
        );
        nodenet::run().unwrap();
        join(&peer);
        assert_eq!(
            log.entries(),
            ["data hello", "end", "finish", "close false"]
        );
    });
}

// Node (setTimeout(300) on the server socket, destroy at the second 'timeout'; the peer sends one
// byte a second):
//   ["data a","timeout","data b","timeout","close false"]
#[test]
fn a_peer_sending_one_byte_a_second_trips_the_idle_timeout_between_bytes() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let peer = serve_one(
            ServerOptions::default(),
            move |s| {
                s.set_timeout(Duration::from_millis(300));
                let l2 = l.clone();
                s.on_data(move |_, chunk| {
                    l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                let timeouts = Cell::new(0);
                let l2 = l.clone();
                s.on_timeout(move |s| {
                    l2.push("timeout");
                    timeouts.set(timeouts.get() + 1);
                    if timeouts.get() == 2 {
                        s.destroy();
                    }
                });
                trace(&s, &l);
            },
            move |port| {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                for b in b"abcdef" {
                    if c.write_all(&[*b]).is_err() {
                        break;
                    }
                    // The scenario itself: one byte a second (not a wait for an event).
                    std::thread::sleep(Duration::from_secs(1));
                }
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["data a", "timeout", "data b", "timeout", "close false"]
        );
        join(&peer);
    });
}

/// The largest `buffer_size()`, the largest `readable_length()`, and the connection.
type Samples = (
    Rc<Cell<usize>>,
    Rc<Cell<usize>>,
    Rc<RefCell<Option<Socket>>>,
);

/// The never-reading peer's server (child process): an echo `pipe` that records the largest
/// `buffer_size()` and `readable_length()` it ever sees (at each `data` and every millisecond).
fn never_reads_child() {
    let max_buffer = Rc::new(Cell::new(0usize));
    let max_readable = Rc::new(Cell::new(0usize));
    let socket: Rc<RefCell<Option<Socket>>> = Rc::default();
    let server = nodenet::create_server({
        let (mb, mr, slot) = (max_buffer.clone(), max_readable.clone(), socket.clone());
        move |c| {
            c.on_error(|_, e| r::say("socket-error", e.code()));
            c.on_close(|_, had_error| r::say("socket-close", had_error));
            let (mb, mr) = (mb.clone(), mr.clone());
            c.on_data(move |s, _| {
                mb.set(mb.get().max(s.buffer_size()));
                mr.set(mr.get().max(s.readable_length()));
            });
            c.pipe(&c);
            *slot.borrow_mut() = Some(c);
        }
    });
    server.listen((0, "127.0.0.1")).on_listening(|s| {
        r::say("rss-kib", r::rss_kib(r::my_pid()));
        r::say("port", util::port_of(s));
    });
    fn sample(mb: Rc<Cell<usize>>, mr: Rc<Cell<usize>>, slot: Rc<RefCell<Option<Socket>>>) {
        let live = match &*slot.borrow() {
            Some(s) => {
                mb.set(mb.get().max(s.buffer_size()));
                mr.set(mr.get().max(s.readable_length()));
                !s.destroyed()
            }
            None => true,
        };
        if live {
            nodenet::set_timeout(Duration::from_millis(1), move || sample(mb, mr, slot)).unref();
        }
    }
    sample(max_buffer.clone(), max_readable.clone(), socket.clone());
    let rx = r::commands();
    // Commands are handled on the loop by a timer that polls the channel, so that the handler
    // can read the `Rc` state above.
    fn poll(rx: Rc<mpsc::Receiver<String>>, server: Server, state: Samples) {
        while let Ok(cmd) = rx.try_recv() {
            match cmd.as_str() {
                "report" => {
                    let (mb, mr, slot) = &state;
                    let s = slot.borrow().clone().expect("connected");
                    r::say(
                        "report",
                        format!(
                            "max_buffer_size {} max_readable_length {} bytes_read {} bytes_written {} rss_kib {} hwm_kib {}",
                            mb.get(),
                            mr.get(),
                            s.bytes_read(),
                            s.bytes_written(),
                            r::rss_kib(r::my_pid()),
                            r::status_kib(r::my_pid(), "VmHWM"),
                        ),
                    );
                }
                "close" => {
                    server.close();
                    return;
                }
                other => panic!("unknown command {other:?}"),
            }
        }
        {
            nodenet::set_timeout(Duration::from_millis(2), move || poll(rx, server, state)).unref();
        }
    }
    poll(
        Rc::new(rx),
        server.clone(),
        (max_buffer, max_readable, socket),
    );
    nodenet::run().expect("run() returns Ok");
    r::say("run-returned", "");
}

#[test]
fn a_peer_that_never_reads_keeps_the_echo_servers_buffers_at_the_high_water_mark() {
    const NAME: &str =
        "a_peer_that_never_reads_keeps_the_echo_servers_buffers_at_the_high_water_mark";
    if r::is_child(NAME) {
        return never_reads_child();
    }
    util::with_deadline(Duration::from_secs(60), || {
        let mut child = r::ChildProc::spawn(NAME, &[]);
        let rss_before: u64 = child.expect("rss-kib", STEP).parse().unwrap();
        let port: u16 = child.expect("port", STEP).parse().unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_nonblocking(true).unwrap();
        // Send up to 64 MiB and never read: the echo fills every buffer on the way back, then
        // the server stops reading and the kernel stops us. We stop once nothing moved for 1 s.
        let total = 64usize << 20;
        let piece = vec![b'z'; 64 * 1024];
        let mut sent = 0usize;
        let mut idle = 0;
        while sent < total && idle < 200 {
            match c.write(&piece[..piece.len().min(total - sent)]) {
                Ok(n) => {
                    sent += n;
                    idle = 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    idle += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
        child.send("report");
        let report = child.expect("report", STEP);
        eprintln!(
            "never-reading peer: sent {sent} bytes before stalling; server {report}; RSS at start {rss_before} KiB"
        );
        let field = |name: &str| -> u64 {
            let words: Vec<&str> = report.split_whitespace().collect();
            let i = words.iter().position(|w| *w == name).expect(name);
            words[i + 1].parse().unwrap()
        };
        assert!(sent < total, "the peer was stopped by flow control");
        let bound = (16 + 64) * 1024; // the high-water mark plus one read
        assert!(
            field("max_buffer_size") <= bound,
            "write queue bounded: {report}"
        );
        assert!(
            field("max_readable_length") <= bound,
            "read side bounded: {report}"
        );
        assert!(
            field("hwm_kib") < rss_before + 16 * 1024,
            "server memory does not follow the {sent} bytes sent: {report}"
        );
        drop(c);
        assert_eq!(
            child.expect("socket-error", STEP),
            "ECONNRESET",
            "closing with unread data resets"
        );
        assert_eq!(child.expect("socket-close", STEP), "true");
        child.send("close");
        child.expect("run-returned", STEP);
        child.finish(STEP);
    });
}

/// Cycles of the connect/close loop: how each cycle ends.
#[derive(Clone, Copy)]
enum Cycle {
    Close,
    WriteThenClose,
    Reset,
}

fn cycle(i: usize) -> Cycle {
    match i % 3 {
        0 => Cycle::Close,
        1 => Cycle::WriteThenClose,
        _ => Cycle::Reset,
    }
}

const CYCLES: usize = 5_000;

#[test]
fn connect_and_close_five_thousand_times_leaves_threads_and_fds_at_the_baseline() {
    const NAME: &str =
        "connect_and_close_five_thousand_times_leaves_threads_and_fds_at_the_baseline";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let threads_before = util::thread_count();
            let fds_before = util::fd_count();
            let log = EventLog::new();
            let connections = Rc::new(Cell::new(0usize));
            let server = {
                let (log, connections) = (log.clone(), connections.clone());
                nodenet::create_server(move |s| {
                    connections.set(connections.get() + 1);
                    let l = log.clone();
                    s.on_data(move |_, _| l.push("data"));
                    let l = log.clone();
                    s.on_end(move |_| l.push("end"));
                    let l = log.clone();
                    s.on_error(move |_, e| l.push(describe(e)));
                    let l = log.clone();
                    s.on_close(move |_, had_error| l.push(format!("close {had_error}")));
                })
            };
            server.listen((0, "127.0.0.1"));
            let peer_done = Arc::new(AtomicBool::new(false));
            let done = peer_done.clone();
            server.on_listening(move |s| {
                let port = util::port_of(s);
                let done = done.clone();
                std::thread::spawn(move || {
                    for i in 0..CYCLES {
                        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                        match cycle(i) {
                            Cycle::Close => drop(c),
                            Cycle::WriteThenClose => {
                                c.write_all(b"x").unwrap();
                                drop(c);
                            }
                            Cycle::Reset => r::reset(c),
                        }
                    }
                    done.store(true, Ordering::Release);
                });
            });
            // Close the server once every connection has been accepted and has closed.
            let (s, accepted) = (server.clone(), connections.clone());
            wait_then(
                move || {
                    peer_done.load(Ordering::Acquire)
                        && accepted.get() == CYCLES
                        && s.connections() == 0
                },
                {
                    let s = server.clone();
                    move || {
                        s.close();
                    }
                },
            );
            nodenet::run().unwrap();
            // Every connection was accepted (the kernel queues even those closed before accept).
            assert_eq!(connections.get(), CYCLES);
            let per = |k: usize| (0..CYCLES).filter(|i| i % 3 == k).count();
            let (closes, writes, resets) = (per(0), per(1), per(2));
            assert_eq!(log.count("data"), writes);
            assert_eq!(log.count("end"), closes + writes);
            assert_eq!(
                log.count("error ECONNRESET Some(-104) Some(\"read\") | read ECONNRESET"),
                resets
            );
            assert_eq!(log.count("close false"), closes + writes);
            assert_eq!(log.count("close true"), resets);
            assert_eq!(log.entries().len(), writes + 2 * CYCLES);
            assert!(
                util::eventually(Duration::from_secs(10), || util::thread_count()
                    == threads_before),
                "threads: before {threads_before}, after {}",
                util::thread_count()
            );
            assert!(
                util::eventually(Duration::from_secs(10), || util::fd_count() == fds_before),
                "fds: before {fds_before}, after {}",
                util::fd_count()
            );
        });
    });
}
