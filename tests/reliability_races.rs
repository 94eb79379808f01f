//! Races: destroy/end/write/close from other threads while the loop dispatches, `end()` racing the
//! peer's FIN, and server `close()` racing connections that are being accepted. Each test runs
//! alone in a child process (this binary re-executed) so that it can check that the process's
//! threads and fds are back to their baseline afterwards.
#![cfg(unix)] // needs the reliability harness (tests/reliability_util: prctl, rlimits, /proc)

mod reliability_util;
mod util;

use nodenet::Socket;
use reliability_util as r;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Read;
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Checks (after `run()` returned) that threads and fds of this process are back to `before`.
fn assert_baseline(before: (usize, usize)) {
    let (threads, fds) = before;
    assert!(
        util::eventually(Duration::from_secs(10), || util::thread_count() == threads),
        "threads: before {threads}, after {}",
        util::thread_count()
    );
    assert!(
        util::eventually(Duration::from_secs(10), || util::fd_count() == fds),
        "fds: before {fds}, after {}",
        util::fd_count()
    );
}

fn baseline() -> (usize, usize) {
    (util::thread_count(), util::fd_count())
}

/// A tiny deterministic PRNG (xorshift) so that runs differ by seed, not by luck.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Per-socket event log: checks that a socket emits `close` exactly once, last, and `error` at
/// most once, before it.
#[derive(Clone, Default)]
struct Ledger(Rc<RefCell<HashMap<String, Vec<String>>>>);

impl Ledger {
    fn watch(&self, name: String, socket: &Socket) {
        self.0.borrow_mut().insert(name.clone(), Vec::new());
        for event in ["end", "finish"] {
            let (ledger, name) = (self.clone(), name.clone());
            let push = move |_: &Socket| ledger.push(&name, event.to_string());
            if event == "end" {
                socket.on_end(push);
            } else {
                socket.on_finish(push);
            }
        }
        let (ledger, n) = (self.clone(), name.clone());
        socket.on_error(move |_, e| ledger.push(&n, format!("error {}", e.code())));
        let (ledger, n) = (self.clone(), name);
        socket.on_close(move |_, had_error| ledger.push(&n, format!("close {had_error}")));
    }

    fn push(&self, name: &str, event: String) {
        self.0
            .borrow_mut()
            .get_mut(name)
            .expect("watched")
            .push(event);
    }

    fn errors(&self) -> Vec<String> {
        let map = self.0.borrow();
        map.values()
            .flatten()
            .filter(|e| e.starts_with("error"))
            .cloned()
            .collect()
    }

    fn check(&self) -> usize {
        let map = self.0.borrow();
        for (name, events) in map.iter() {
            let closes: Vec<_> = events.iter().filter(|e| e.starts_with("close")).collect();
            assert_eq!(closes.len(), 1, "{name}: one close: {events:?}");
            assert!(
                events.last().unwrap().starts_with("close"),
                "{name}: close comes last: {events:?}"
            );
            let errors = events.iter().filter(|e| e.starts_with("error")).count();
            assert!(errors <= 1, "{name}: at most one error: {events:?}");
            if errors == 1 {
                assert_eq!(
                    events.last().unwrap(),
                    "close true",
                    "{name}: an error closes with had_error: {events:?}"
                );
            }
            for once in ["end", "finish"] {
                assert!(
                    events.iter().filter(|e| *e == once).count() <= 1,
                    "{name}: {once} at most once: {events:?}"
                );
            }
        }
        map.len()
    }
}

const HAMMER_ROUNDS: u64 = 12;
const HAMMER_CLIENTS: usize = 4;

/// One round: an echo server and clients pumping data; worker threads hammer the sockets and the
/// server with write/end/destroy/close while the loop dispatches; then every socket is destroyed.
/// Returns the error codes seen.
fn hammer_round(seed: u64) -> Vec<String> {
    let ledger = Ledger::default();
    let accepted: Arc<Mutex<Vec<Socket>>> = Arc::default();
    let server = {
        let (ledger, accepted) = (ledger.clone(), accepted.clone());
        let n = Cell::new(0);
        nodenet::create_server(move |s| {
            n.set(n.get() + 1);
            ledger.watch(format!("accepted-{}", n.get()), &s);
            s.pipe(&s);
            accepted.lock().unwrap().push(s);
        })
    };
    server.listen((0, "127.0.0.1"));
    let (ledger2, accepted2) = (ledger.clone(), accepted.clone());
    server.on_listening(move |s| {
        let port = util::port_of(s);
        let mut clients = Vec::new();
        for i in 0..HAMMER_CLIENTS {
            let c = nodenet::connect((port, "127.0.0.1"));
            ledger2.watch(format!("client-{i}"), &c);
            fn pump(c: &Socket) {
                while c.write(vec![b'p'; 16 * 1024]) {}
            }
            c.on_drain(pump);
            c.on_connect(pump);
            c.on_data(|_, _| {});
            clients.push(c);
        }
        let clients_for_ready = clients.clone();
        let (server, accepted) = (s.clone(), accepted2.clone());
        // The workers start once every client is connected and accepted (data flows by then).
        let start = Rc::new(RefCell::new(Some(move || {
            let mut handles = Vec::new();
            for w in 0..3u64 {
                let clients = clients.clone();
                let accepted = accepted.clone();
                let server = server.clone();
                handles.push(std::thread::spawn(move || {
                    let mut rng = Rng(seed * 7919 + w * 104_729 + 1);
                    for _ in 0..200 {
                        let pool: Vec<Socket> = clients
                            .iter()
                            .cloned()
                            .chain(accepted.lock().unwrap().iter().cloned())
                            .collect();
                        let s = &pool[rng.below(pool.len() as u64) as usize];
                        match rng.below(10) {
                            0 => s.destroy(),
                            1 => {
                                s.end();
                            }
                            2 => {
                                server.close();
                            }
                            _ => {
                                s.write(vec![b'w'; rng.below(4096) as usize + 1]);
                            }
                        }
                        if rng.below(4) == 0 {
                            std::thread::yield_now();
                        }
                    }
                }));
            }
            // A last worker waits for the others, then closes everything on the loop. A ref'd
            // timer holds the loop open meanwhile: a cross-thread destroy or close can let run()
            // return before its `close` is emitted (see the ignored tests below), which this test
            // does not try to catch.
            let (clients, accepted, server) = (clients.clone(), accepted.clone(), server.clone());
            let keep_open = nodenet::set_timeout(Duration::from_secs(3600), || {});
            let lp = nodenet::current_loop();
            std::thread::spawn(move || {
                for h in handles {
                    h.join().expect("worker");
                }
                lp.post(move || {
                    server.close();
                    for s in clients.iter().chain(accepted.lock().unwrap().iter()) {
                        s.destroy();
                    }
                    keep_open.clear();
                });
            });
        })));
        let ready = Rc::new(Cell::new(0));
        let go = Rc::new(move || {
            ready.set(ready.get() + 1);
            if ready.get() == 2 * HAMMER_CLIENTS
                && let Some(start) = start.borrow_mut().take()
            {
                start();
            }
        });
        for c in &clients_for_ready {
            let go = go.clone();
            c.on_connect(move |_| go());
        }
        s.on_connection(move |_| go());
    });
    nodenet::run().expect("run() returns Ok: every error had a listener");
    let sockets = ledger.check();
    assert_eq!(
        sockets,
        2 * HAMMER_CLIENTS,
        "every connection was accepted once"
    );
    assert!(!server.listening());
    accepted.lock().unwrap().clear();
    ledger.errors()
}

#[test]
fn destroy_end_write_and_close_from_other_threads_while_data_flows_end_cleanly() {
    const NAME: &str =
        "destroy_end_write_and_close_from_other_threads_while_data_flows_end_cleanly";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let before = baseline();
            let mut errors: HashMap<String, usize> = HashMap::new();
            for seed in 1..=HAMMER_ROUNDS {
                for e in hammer_round(seed) {
                    *errors.entry(e).or_default() += 1;
                }
            }
            eprintln!("hammer: error events over {HAMMER_ROUNDS} rounds: {errors:?}");
            // Writes after end() from a worker, and resets from peers destroyed with data in
            // flight; never an internal error.
            for code in errors.keys() {
                assert!(
                    [
                        "error ERR_STREAM_WRITE_AFTER_END",
                        "error EPIPE",
                        "error ECONNRESET"
                    ]
                    .contains(&code.as_str()),
                    "unexpected error event {code}"
                );
            }
            assert_baseline(before);
        });
    });
}

const FIN_ROUNDS: usize = 200;

type PairLog = Rc<RefCell<HashMap<(u16, &'static str), Vec<String>>>>;

/// Records `data`, `end`, `finish`, `error` and `close` of one side of pair `key`.
fn record(s: &Socket, log: &PairLog, key: (u16, &'static str)) {
    log.borrow_mut().insert(key, Vec::new());
    let push = {
        let log = log.clone();
        move |e: String| log.borrow_mut().get_mut(&key).expect("recorded").push(e)
    };
    let p = push.clone();
    s.on_data(move |_, chunk| p(format!("data {}", String::from_utf8_lossy(chunk.bytes()))));
    let p = push.clone();
    s.on_end(move |_| p("end".into()));
    let p = push.clone();
    s.on_finish(move |_| p("finish".into()));
    let p = push.clone();
    s.on_error(move |_, e| p(format!("error {} | {e}", e.code())));
    s.on_close(move |_, had_error| push(format!("close {had_error}")));
}

// Node (both sides call end(data) in the same turn, default allowHalfOpen false): each side
// emits 'data', then 'end' and 'finish' in either order (whichever FIN the kernel saw first), then
// 'close' false; never 'error'. Here half of the clients end from their `connect` listener (the
// same turn, as in Node) and half from a worker thread started there, racing the server's FIN.
#[test]
fn end_racing_the_peers_fin_finishes_and_ends_both_sides_without_errors() {
    const NAME: &str = "end_racing_the_peers_fin_finishes_and_ends_both_sides_without_errors";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let before = baseline();
            let log: PairLog = Rc::default();
            let server = {
                let log = log.clone();
                nodenet::create_server(move |s| {
                    let key = (s.remote_port().expect("remote port"), "server");
                    record(&s, &log, key);
                    s.end_with("from server");
                })
            };
            server.listen((0, "127.0.0.1"));
            let closed = Rc::new(Cell::new(0));
            let log2 = log.clone();
            let threaded: Rc<RefCell<Vec<u16>>> = Rc::default();
            let threaded2 = threaded.clone();
            server.on_listening(move |s| {
                let port = util::port_of(s);
                let s = s.clone();
                for round in 0..FIN_ROUNDS {
                    let c = nodenet::connect((port, "127.0.0.1"));
                    let (log, threaded) = (log2.clone(), threaded2.clone());
                    c.on_connect(move |c| {
                        let key = (c.local_port().expect("local port"), "client");
                        record(c, &log, key);
                        if round % 2 == 0 {
                            c.end_with("from client");
                        } else {
                            threaded.borrow_mut().push(key.0);
                            let c = c.clone();
                            std::thread::spawn(move || {
                                c.end_with("from client");
                            });
                        }
                    });
                    let (closed, s) = (closed.clone(), s.clone());
                    c.on_close(move |_, _| {
                        closed.set(closed.get() + 1);
                        if closed.get() == FIN_ROUNDS {
                            s.close();
                        }
                    });
                }
            });
            nodenet::run().unwrap();
            let log = log.borrow();
            assert_eq!(log.len(), 2 * FIN_ROUNDS);
            let mut shapes: HashMap<String, usize> = HashMap::new();
            let normal = |peer: &str| {
                vec![
                    "close false".to_string(),
                    format!("data from {peer}"),
                    "end".to_string(),
                    "finish".to_string(),
                ]
            };
            for ((port, side), events) in log.iter() {
                let peer = if *side == "server" {
                    "client"
                } else {
                    "server"
                };
                let other = log.get(&(*port, peer)).expect("both sides recorded");
                let mut sorted = events.clone();
                sorted.sort();
                *shapes.entry(format!("{side} {events:?}")).or_default() += 1;
                let late = threaded.borrow().contains(port)
                    && !log[&(*port, "server")].contains(&"data from client".to_string());
                if !late {
                    assert_eq!(
                        sorted,
                        normal(peer),
                        "{side} of pair {port}: {events:?}; the other side: {other:?}"
                    );
                    assert_eq!(events.last().unwrap(), "close false");
                    let data = events.iter().position(|e| e.starts_with("data")).unwrap();
                    let end = events.iter().position(|e| e == "end").unwrap();
                    assert!(data < end, "{side}: data before end: {events:?}");
                } else if *side == "server" {
                    // The worker's end_with came after the client had ended by itself (the
                    // server's FIN arrived first): the server sees only the FIN.
                    assert_eq!(events, &["finish", "end", "close false"], "{other:?}");
                } else {
                    // ... and the client either had closed already (the late write is ignored,
                    // as in Node when the socket is destroyed) or failed it with Node's EPIPE.
                    let quiet = ["data from server", "end", "finish", "close false"];
                    let epipe = [
                        "data from server",
                        "end",
                        "error EPIPE | This socket has been ended by the other party",
                        "close true",
                    ];
                    assert!(
                        events == &quiet || events == &epipe,
                        "client of pair {port}: {events:?}; server: {other:?}"
                    );
                }
            }
            eprintln!("end racing FIN, orders seen: {shapes:#?}");
            drop(log);
            assert_baseline(before);
        });
    });
}

const CLOSE_ROUNDS: u64 = 30;

/// What a client of the close race saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Seen {
    /// Connected, got "hi" then EOF: accepted and served.
    Served,
    /// Connected, then EOF or a reset without data: in the backlog when the server closed, or
    /// accepted by the acceptor thread after `close()`. Rarely the server's kernel forgets a
    /// connection without a reset (the handshake's last ACK reached the listener as it was
    /// closing; Node's close(2) of the listener has the same race): the client's write then
    /// draws the reset.
    Dropped,
    /// The connect was refused: the server had closed.
    Refused,
}

fn close_race_round(seed: u64) -> HashMap<Seen, usize> {
    let connections = Rc::new(Cell::new(0u64));
    let closes = Rc::new(Cell::new(0u64));
    let close_events = Rc::new(Cell::new(0u64));
    let close_after = Rng(seed * 31 + 7).below(40) + 1;
    let server = nodenet::create_server({
        let (connections, closes) = (connections.clone(), closes.clone());
        move |s| {
            connections.set(connections.get() + 1);
            let closes = closes.clone();
            s.on_close(move |_, _| closes.set(closes.get() + 1));
            s.on_error(|_, _| {});
            // Served and closed at once (not waiting for the client's FIN: the client classifies
            // its connections only once the server side is done).
            s.write("hi");
            s.destroy();
        }
    });
    {
        let (connections, close_events) = (connections.clone(), close_events.clone());
        let server_handle = server.clone();
        server.on_connection(move |_| {
            if connections.get() == close_after {
                // Close while the client keeps connecting: some connections are accepted by the
                // acceptor thread but not yet dispatched, some wait in the backlog.
                let close_events = close_events.clone();
                server_handle.close_with(move |server, e| {
                    assert!(e.is_none(), "the server was running");
                    close_events.set(close_events.get() + 1);
                    // As in Node, `close` comes once every connection is destroyed, on the tick
                    // after the last destroy (before that socket's own `close`).
                    assert_eq!(server.connections(), 0);
                });
            }
        });
    }
    server.listen((0, "127.0.0.1"));
    let results: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let done_rx = Arc::new(Mutex::new(Some(done_rx)));
    let client: Rc<RefCell<Option<std::thread::JoinHandle<()>>>> = Rc::default();
    {
        let (results, client) = (results.clone(), client.clone());
        server.on_listening(move |s| {
            let port = util::port_of(s);
            let results = results.clone();
            let done_rx = done_rx.lock().unwrap().take().expect("listening once");
            *client.borrow_mut() = Some(std::thread::spawn(move || {
                let mut streams = Vec::new();
                loop {
                    match TcpStream::connect(("127.0.0.1", port)) {
                        Ok(c) => streams.push(c),
                        Err(e) => {
                            // Refused once the listener is gone; a SYN that reaches it while it
                            // is being shut down is answered with a reset.
                            assert!(
                                matches!(
                                    e.kind(),
                                    std::io::ErrorKind::ConnectionRefused
                                        | std::io::ErrorKind::ConnectionReset
                                ),
                                "{e}"
                            );
                            results.lock().unwrap().push(Seen::Refused);
                            break;
                        }
                    }
                }
                // Classify once the server side is done (run() returned).
                done_rx.recv().expect("the round ends");
                for mut c in streams {
                    // A byte to the server: a connection the server's kernel forgot (see
                    // `Seen::Dropped`) answers with a reset instead of waiting forever.
                    let _ = std::io::Write::write_all(&mut c, b"?");
                    // The server's fds close when their reader threads exit, possibly just after
                    // run() returned: wait for the end (bounded).
                    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut got = Vec::new();
                    let seen = match c.read_to_end(&mut got) {
                        _ if got == b"hi" => Seen::Served,
                        Ok(_) if got.is_empty() => Seen::Dropped,
                        Err(e)
                            if got.is_empty()
                                && e.kind() == std::io::ErrorKind::ConnectionReset =>
                        {
                            Seen::Dropped
                        }
                        other => panic!("unexpected: {other:?} {got:?}"),
                    };
                    results.lock().unwrap().push(seen);
                }
            }));
        });
    }
    nodenet::run().unwrap();
    done_tx.send(()).unwrap();
    client
        .borrow_mut()
        .take()
        .expect("client ran")
        .join()
        .expect("client thread");
    assert_eq!(close_events.get(), 1, "one close event");
    assert_eq!(closes.get(), connections.get());
    let mut counts = HashMap::new();
    for seen in results.lock().unwrap().iter() {
        *counts.entry(*seen).or_default() += 1;
    }
    assert_eq!(
        counts.get(&Seen::Served).copied().unwrap_or(0) as u64,
        connections.get(),
        "every connection event served its client, and only those clients were served"
    );
    assert_eq!(counts.get(&Seen::Refused), Some(&1));
    counts
}

#[test]
fn server_close_racing_connections_being_accepted_serves_or_drops_each_and_closes_once() {
    const NAME: &str =
        "server_close_racing_connections_being_accepted_serves_or_drops_each_and_closes_once";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let before = baseline();
            let mut total: HashMap<Seen, usize> = HashMap::new();
            for seed in 1..=CLOSE_ROUNDS {
                for (k, v) in close_race_round(seed) {
                    *total.entry(k).or_default() += v;
                }
            }
            eprintln!("close racing accept, clients over {CLOSE_ROUNDS} rounds: {total:?}");
            assert_baseline(before);
        });
    });
}

const CROSS_THREAD_ROUNDS: usize = 300;

/// One pair (client and accepted socket, the server closed once it accepted); `act` runs on a new
/// thread with both sockets and the server once both sides are connected.
fn pair_then(act: impl FnOnce(Socket, Socket) + Send + Clone + 'static, log: &util::EventLog) {
    let server = nodenet::create_server(|_| {});
    server.listen((0, "127.0.0.1"));
    let l = log.clone();
    server.on_close(move |_| l.push("server close"));
    let accepted: Rc<RefCell<Option<Socket>>> = Rc::default();
    let client: Rc<RefCell<Option<Socket>>> = Rc::default();
    let fire = {
        let (accepted, client) = (accepted.clone(), client.clone());
        move || {
            let both = match (&*accepted.borrow(), &*client.borrow()) {
                (Some(a), Some(c)) => Some((c.clone(), a.clone())),
                _ => None,
            };
            if let Some((c, a)) = both {
                let act = act.clone();
                std::thread::spawn(move || act(c, a));
            }
        }
    };
    let fire = Rc::new(fire);
    {
        let (l, fire, server2) = (log.clone(), fire.clone(), server.clone());
        server.on_connection(move |s| {
            server2.close();
            let l2 = l.clone();
            s.on_close(move |_, e| l2.push(format!("accepted close {e}")));
            *accepted.borrow_mut() = Some(s);
            fire();
        });
    }
    let l = log.clone();
    server.on_listening(move |s| {
        let c = nodenet::connect((util::port_of(s), "127.0.0.1"));
        let l2 = l.clone();
        c.on_close(move |_, e| l2.push(format!("client close {e}")));
        let (client, fire) = (client.clone(), fire.clone());
        c.on_connect(move |c| {
            *client.borrow_mut() = Some(c.clone());
            fire();
        });
    });
}

// Node has one thread; the contract here (API.md) is that operations may be called from any
// thread and that `close` always follows a destroy (node-net-behaviors.md 78). So a destroy from
// another thread must keep `run()` going until its `close` was emitted.
#[test]

fn destroy_from_another_thread_always_emits_close_before_run_returns() {
    const NAME: &str = "destroy_from_another_thread_always_emits_close_before_run_returns";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let before = baseline();
            for round in 0..CROSS_THREAD_ROUNDS {
                let log = util::EventLog::new();
                pair_then(
                    |c, a| {
                        c.destroy();
                        a.destroy();
                    },
                    &log,
                );
                nodenet::run().unwrap();
                let mut entries = log.entries();
                entries.sort();
                assert_eq!(
                    entries,
                    ["accepted close false", "client close false", "server close"],
                    "round {round}"
                );
            }
            assert_baseline(before);
        });
    });
}

// The same for a server closed from another thread: its `close` event must not be lost.
#[test]

fn server_close_from_another_thread_always_emits_close_before_run_returns() {
    const NAME: &str = "server_close_from_another_thread_always_emits_close_before_run_returns";
    r::isolated(NAME, Duration::from_secs(120), || {
        util::with_deadline(Duration::from_secs(100), || {
            let before = baseline();
            for round in 0..CROSS_THREAD_ROUNDS {
                let log = util::EventLog::new();
                let server = nodenet::create_server(|_| panic!("no connection"));
                server.listen((0, "127.0.0.1"));
                let l = log.clone();
                server.on_close(move |_| l.push("server close"));
                server.on_listening(|s| {
                    let s = s.clone();
                    std::thread::spawn(move || {
                        s.close();
                    });
                });
                nodenet::run().unwrap();
                assert_eq!(log.entries(), ["server close"], "round {round}");
            }
            assert_baseline(before);
        });
    });
}
