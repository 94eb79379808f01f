//! Idle timeouts (node-net-behaviors.md J 90-95, F 64) and the loop's timers: `set_timeout`,
//! `Timer::clear`/`unref`/`ref_`, `set_immediate`, `LoopHandle::post`.

mod util;

use nodenet::{ConnectOptions, ReadyState, Server, ServerOptions, Socket, SocketOptions};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use util::{EventLog, port_of};

const MS: Duration = Duration::from_millis(1);

/// Connects a client to a fresh 127.0.0.1 server and calls `ready(client, accepted)` once the client
/// saw `connect` and the server saw `connection`. The server is closed at its `connection` (it keeps
/// the connection), so `run()` returns once both sockets closed.
fn pair(options: ServerOptions, ready: impl FnOnce(Socket, Socket) + 'static) {
    util::pair_with(options, false, ready);
}

/// Calls `f` every `period` (on the loop) while it returns true.
fn every(period: Duration, f: impl FnMut() -> bool + 'static) {
    fn schedule(period: Duration, f: Rc<RefCell<dyn FnMut() -> bool>>) {
        nodenet::set_timeout(period, move || {
            if (f.borrow_mut())() {
                schedule(period, f);
            }
        });
    }
    schedule(period, Rc::new(RefCell::new(f)));
}

fn close_logger(log: &EventLog, tag: &'static str) -> impl FnMut(&Socket, bool) + 'static {
    let log = log.clone();
    move |_, had_error| log.push(format!("{tag} close {had_error}"))
}

// ----- idle timeout ---------------------------------------------------------------------------

#[test]
fn idle_timeout_fires_once_and_does_not_close_the_socket() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            client.on_close(close_logger(&l, "C"));
            let armed = Instant::now();
            let count = Rc::new(Cell::new(0));
            let l = l.clone();
            client.set_timeout(50 * MS).on_timeout(move |c| {
                count.set(count.get() + 1);
                assert!(armed.elapsed() >= 50 * MS, "fired before the idle time");
                l.push(format!(
                    "timeout state={} destroyed={}",
                    c.ready_state(),
                    c.destroyed()
                ));
                assert_eq!(c.ready_state(), ReadyState::Open);
                // Stay idle for 5 more timeouts: it must not fire again.
                let (c, l, count) = (c.clone(), l.clone(), count.clone());
                nodenet::set_timeout(250 * MS, move || {
                    l.push(format!("timeouts after a long idle: {}", count.get()));
                    c.destroy();
                });
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "timeout state=open destroyed=false",
                "timeouts after a long idle: 1",
                "C close false"
            ]
        );
    });
}

#[test]
fn a_read_after_the_timeout_rearms_it() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            client.on_close(close_logger(&l, "C"));
            let last_read = Rc::new(Cell::new(Instant::now()));
            let (l2, last) = (l.clone(), last_read.clone());
            client.on_data(move |_, chunk| {
                last.set(Instant::now());
                l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())));
            });
            let count = Rc::new(Cell::new(0));
            let l = l.clone();
            client.set_timeout(50 * MS).on_timeout(move |c| {
                count.set(count.get() + 1);
                l.push(format!("timeout {}", count.get()));
                if count.get() == 1 {
                    accepted.write("x");
                } else {
                    assert!(last_read.get().elapsed() >= 50 * MS);
                    c.destroy();
                }
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["timeout 1", "data x", "timeout 2", "C close false"]
        );
    });
}

#[test]
fn a_write_after_the_timeout_rearms_it() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            let l2 = l.clone();
            accepted.on_data(move |_, chunk| {
                l2.push(format!(
                    "server data {}",
                    String::from_utf8_lossy(chunk.bytes())
                ))
            });
            client.on_close(close_logger(&l, "C"));
            let wrote = Rc::new(Cell::new(Instant::now()));
            let count = Rc::new(Cell::new(0));
            let l = l.clone();
            client.set_timeout(50 * MS).on_timeout(move |c| {
                count.set(count.get() + 1);
                l.push(format!("timeout {}", count.get()));
                if count.get() == 1 {
                    wrote.set(Instant::now());
                    c.write("y");
                } else {
                    assert!(wrote.get().elapsed() >= 50 * MS);
                    c.destroy();
                }
            });
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let client: Vec<_> = entries
            .iter()
            .filter(|e| !e.starts_with("server"))
            .collect();
        assert_eq!(client, ["timeout 1", "timeout 2", "C close false"]);
        assert!(
            entries.contains(&"server data y".to_string()),
            "{entries:?}"
        );
    });
}

#[test]
fn reads_every_third_of_the_timeout_keep_it_from_firing() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            client.on_close(close_logger(&l, "C"));
            let received = Rc::new(Cell::new(0usize));
            let r = received.clone();
            client.on_data(move |_, chunk| r.set(r.get() + chunk.bytes().len()));
            let l = l.clone();
            client.set_timeout(150 * MS).on_timeout(move |c| {
                l.push(format!("timeout after {} bytes", received.get()));
                c.destroy();
            });
            let sent = Rc::new(Cell::new(0));
            every(50 * MS, move || {
                accepted.write("z");
                sent.set(sent.get() + 1);
                sent.get() < 8
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["timeout after 8 bytes", "C close false"]);
    });
}

#[test]
fn our_writes_every_third_of_the_timeout_keep_it_from_firing() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            client.on_close(close_logger(&l, "C"));
            let sent = Rc::new(Cell::new(0));
            let l = l.clone();
            let s = sent.clone();
            client.set_timeout(150 * MS).on_timeout(move |c| {
                l.push(format!("timeout after {} writes", s.get()));
                c.destroy();
            });
            every(50 * MS, move || {
                client.write("w");
                sent.set(sent.get() + 1);
                sent.get() < 8
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["timeout after 8 writes", "C close false"]);
    });
}

#[test]
fn set_timeout_zero_disables_the_idle_timer() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            client.on_close(close_logger(&l, "C"));
            let l2 = l.clone();
            client.on_timeout(move |c| {
                l2.push("timeout");
                c.destroy();
            });
            client.set_timeout(50 * MS);
            client.set_timeout(Duration::ZERO);
            let l = l.clone();
            nodenet::set_timeout(250 * MS, move || {
                l.push("quiet for 5 timeouts");
                // Enabled again, it fires.
                client.set_timeout(50 * MS);
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["quiet for 5 timeouts", "timeout", "C close false"]
        );
    });
}

#[test]
fn destroy_in_the_timeout_listener_closes_with_false_and_the_peer_ends() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            let l2 = l.clone();
            accepted.on_end(move |_| l2.push("S end"));
            let l2 = l.clone();
            accepted.on_finish(move |_| l2.push("S finish"));
            accepted.on_close(close_logger(&l, "S"));
            let l2 = l.clone();
            client.on_error(move |_, e| l2.push(format!("C error {}", e.code())));
            client.on_close(close_logger(&l, "C"));
            let l = l.clone();
            client.set_timeout(50 * MS).on_timeout(move |c| {
                l.push("C timeout");
                c.destroy();
            });
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let client: Vec<_> = entries.iter().filter(|e| e.starts_with("C ")).collect();
        let server: Vec<_> = entries.iter().filter(|e| e.starts_with("S ")).collect();
        assert_eq!(client, ["C timeout", "C close false"]);
        assert_eq!(server, ["S end", "S finish", "S close false"]);
    });
}

/// A 127.0.0.1 listener whose accept queue is full (backlog 0, one connection queued, never
/// accepted): a further connect stays in SYN_SENT.
fn full_listener() -> (socket2::Socket, std::net::TcpStream, u16) {
    use socket2::{Domain, Socket as RawSocket, Type};
    let listener = RawSocket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&addr.into()).unwrap();
    listener.listen(0).unwrap();
    let port = listener.local_addr().unwrap().as_socket().unwrap().port();
    let filler = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    (listener, filler, port)
}

fn connect_time_counts(connect: impl FnOnce(u16) -> Socket) -> Vec<String> {
    let (_listener, _filler, port) = full_listener();
    let log = EventLog::new();
    let started = Instant::now();
    let client = connect(port);
    let l = log.clone();
    client.on_connect(move |_| l.push("connect"));
    let l = log.clone();
    client.on_error(move |_, e| l.push(format!("error {}", e.code())));
    client.on_close(close_logger(&log, "C"));
    let l = log.clone();
    client.on_timeout(move |c| {
        assert!(started.elapsed() >= 100 * MS);
        l.push(format!(
            "timeout connecting={} state={}",
            c.connecting(),
            c.ready_state()
        ));
        c.destroy();
    });
    nodenet::run().unwrap();
    log.entries()
}

#[test]
fn a_timeout_set_before_connect_counts_connect_time() {
    util::with_deadline(util::LIMIT, || {
        let entries = connect_time_counts(|port| {
            let client = Socket::new(SocketOptions::default());
            client.set_timeout(100 * MS);
            client.connect((port, "127.0.0.1"));
            client
        });
        assert_eq!(
            entries,
            ["timeout connecting=true state=opening", "C close false"]
        );
    });
}

#[test]
fn the_connect_timeout_option_runs_the_idle_timer_during_connect() {
    util::with_deadline(util::LIMIT, || {
        let entries = connect_time_counts(|port| {
            nodenet::connect(
                ConnectOptions::port(port)
                    .host("127.0.0.1")
                    .timeout(100 * MS),
            )
        });
        assert_eq!(
            entries,
            ["timeout connecting=true state=opening", "C close false"]
        );
    });
}

/// If the expected timeout never comes, destroys `socket` after `after` so the test fails fast.
fn give_up(socket: &Socket, log: &EventLog, after: Duration) {
    let (socket, log) = (socket.clone(), log.clone());
    nodenet::set_timeout(after, move || {
        if !socket.destroyed() {
            log.push("gave up waiting");
            socket.destroy();
        }
    })
    .unref();
}

#[test]

fn a_timeout_that_fired_while_connecting_is_rearmed_by_the_connect() {
    // Node (hang2.py): timeout 1 while connecting; the accept queue frees up, the SYN retry
    // connects (~1 s), and the idle timer fires again 100 ms after 'connect'.
    util::with_deadline(util::LIMIT, || {
        let (listener, filler, port) = full_listener();
        let mut slot = Some((listener, filler));
        let log = EventLog::new();
        let client = Socket::new(SocketOptions::default());
        client.set_timeout(100 * MS);
        client.connect((port, "127.0.0.1"));
        let l = log.clone();
        client.on_connect(move |_| l.push("connect"));
        client.on_close(close_logger(&log, "C"));
        let count = Rc::new(Cell::new(0));
        let l = log.clone();
        client.on_timeout(move |c| {
            count.set(count.get() + 1);
            l.push(format!(
                "timeout {} connecting={} state={}",
                count.get(),
                c.connecting(),
                c.ready_state()
            ));
            if let Some((listener, filler)) = slot.take() {
                // Make room in the accept queue: the next SYN retry completes the connect.
                let (accepted, _) = listener.accept().unwrap();
                drop((accepted, filler));
                std::mem::forget(listener); // keep listening until the process exits
                give_up(c, &l, Duration::from_secs(8));
            } else {
                c.destroy();
            }
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "timeout 1 connecting=true state=opening",
                "connect",
                "timeout 2 connecting=false state=open",
                "C close false"
            ]
        );
    });
}

#[test]

fn a_timeout_that_fired_is_rearmed_by_the_peers_end() {
    // Node (eof.js): with allowHalfOpen, the peer's FIN after a timeout is a read: it re-arms the
    // idle timer, which fires again in 'writeOnly' state.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let accepted_slot: Rc<RefCell<Option<Socket>>> = Rc::default();
        let server = Server::new(ServerOptions::default());
        server.on_connection({
            let server = server.clone();
            let slot = accepted_slot.clone();
            move |accepted| {
                server.close();
                accepted.resume();
                *slot.borrow_mut() = Some(accepted);
            }
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |s| {
            let client = nodenet::connect(
                ConnectOptions::port(port_of(s))
                    .host("127.0.0.1")
                    .allow_half_open(true),
            );
            client.resume();
            client.on_close(close_logger(&l, "C"));
            let l2 = l.clone();
            client.on_end(move |c| l2.push(format!("end state={}", c.ready_state())));
            let count = Rc::new(Cell::new(0));
            let l = l.clone();
            let slot = accepted_slot.clone();
            client.set_timeout(100 * MS).on_timeout(move |c| {
                count.set(count.get() + 1);
                l.push(format!("timeout {} state={}", count.get(), c.ready_state()));
                if count.get() == 1 {
                    let accepted = slot.borrow().clone().expect("accepted by now");
                    accepted.end();
                    give_up(c, &l, Duration::from_secs(3));
                } else {
                    c.destroy();
                }
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "timeout 1 state=open",
                "end state=writeOnly",
                "timeout 2 state=writeOnly",
                "C close false"
            ]
        );
    });
}

#[test]
fn an_idle_timer_does_not_keep_run_alive_after_the_socket_closes() {
    // A timeout far beyond the test's deadline: if the timer held the loop, the test would hang.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            client.on_close(close_logger(&l, "C"));
            client.set_timeout(Duration::from_secs(600));
            client.destroy();
        });
        nodenet::run().unwrap();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            client.on_close(close_logger(&l, "C2"));
            client.set_timeout(Duration::from_secs(600));
            accepted.set_timeout(Duration::from_secs(600));
            client.end();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["C close false", "C2 close false"]);
    });
}

#[test]
fn an_idle_timer_does_not_keep_run_alive_for_an_unrefd_socket() {
    util::with_deadline(util::LIMIT, || {
        let sockets: Rc<RefCell<Vec<Socket>>> = Rc::default();
        let s = sockets.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            client.set_timeout(Duration::from_secs(600));
            accepted.set_timeout(Duration::from_secs(600));
            client.unref();
            accepted.unref();
            s.borrow_mut().extend([client, accepted]);
        });
        nodenet::run().unwrap();
        let log = EventLog::new();
        for socket in sockets.borrow().iter() {
            assert!(!socket.destroyed(), "run() returned with the sockets open");
            socket.on_close(close_logger(&log, "closed"));
            socket.destroy();
        }
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["closed close false", "closed close false"]);
    });
}

#[test]
fn timeout_fires_with_writes_pending_when_the_peer_never_reads() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let options = ServerOptions::default().pause_on_connect(true);
        pair(options, move |client, accepted| {
            let l2 = l.clone();
            client.on_close(move |_, had_error| {
                l2.push(format!("C close {had_error}"));
                accepted.destroy();
            });
            for _ in 0..256 {
                client.write(vec![0u8; 64 * 1024]);
            }
            let armed = Instant::now();
            let l = l.clone();
            client.set_timeout(100 * MS).on_timeout(move |c| {
                assert!(armed.elapsed() >= 100 * MS);
                l.push(format!(
                    "timeout pending={} state={}",
                    c.buffer_size() > 0,
                    c.ready_state()
                ));
                c.destroy();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["timeout pending=true state=open", "C close false"]
        );
    });
}

#[test]

fn a_timeout_that_fired_with_pending_writes_is_rearmed_by_write_progress() {
    // Node (f2_timeout_write.js): the timeout fires while the peer does not read; once the peer
    // reads, write completions re-arm the timer, and it fires again after the queue drained.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let options = ServerOptions::default().pause_on_connect(true);
        pair(options, move |client, accepted| {
            let l2 = l.clone();
            let reader = accepted.clone();
            client.on_close(move |_, had_error| {
                l2.push(format!("C close {had_error}"));
                reader.destroy();
            });
            let l2 = l.clone();
            client.on_drain(move |_| l2.push("drain"));
            for _ in 0..256 {
                client.write(vec![0u8; 64 * 1024]);
            }
            let count = Rc::new(Cell::new(0));
            let l = l.clone();
            client.set_timeout(100 * MS).on_timeout(move |c| {
                count.set(count.get() + 1);
                l.push(format!(
                    "timeout {} pending={}",
                    count.get(),
                    c.buffer_size() > 0
                ));
                if count.get() == 1 {
                    accepted.resume();
                    give_up(c, &l, Duration::from_secs(5));
                } else {
                    c.destroy();
                }
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "timeout 1 pending=true",
                "drain",
                "timeout 2 pending=false",
                "C close false"
            ]
        );
    });
}

#[test]
fn timeout_is_suppressed_while_pending_writes_make_progress_to_a_slow_reader() {
    // Node (pw.js, 16 MiB to a reader taking ~1 MiB every 40 ms, timeout 150 ms): 'drain' and no
    // 'timeout' while the queue drains.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let options = ServerOptions::default().pause_on_connect(true);
        pair(options, move |client, accepted| {
            let got = Rc::new(Cell::new(0usize));
            let g = got.clone();
            accepted.on_data(move |s, chunk| {
                let before = g.get();
                g.set(before + chunk.bytes().len());
                if g.get() >> 20 != before >> 20 {
                    s.pause();
                }
            });
            let reader = accepted.clone();
            every(40 * MS, move || {
                reader.resume();
                !reader.destroyed()
            });
            client.on_close(close_logger(&l, "C"));
            let l2 = l.clone();
            let t0 = Instant::now();
            client.on_drain(move |_| {
                eprintln!("DRAIN at {:?}", t0.elapsed());
                l2.push("drain")
            });
            let mut ok = true;
            for _ in 0..256 {
                ok = client.write(vec![0u8; 64 * 1024]);
            }
            assert!(!ok);
            let l = l.clone();
            client.set_timeout(150 * MS).on_timeout(move |c| {
                l.push(format!("timeout pending={}", c.buffer_size()));
                c.destroy();
            });
        });
        nodenet::run().unwrap();
        // The drain takes ~500 ms here, so without the suppression the timer would fire first. After
        // the drain the client is idle (the server never writes): the timeout then fires.
        assert_eq!(
            log.entries(),
            ["drain", "timeout pending=0", "C close false"]
        );
    });
}

// ----- loop timers ----------------------------------------------------------------------------

#[test]
fn timers_run_in_deadline_order_and_equal_delays_in_creation_order() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        for (delay, name) in [(30, "c"), (10, "a"), (10, "b"), (0, "z"), (30, "d")] {
            let l = log.clone();
            nodenet::set_timeout(delay * MS, move || l.push(name));
        }
        let started = Instant::now();
        nodenet::run().unwrap();
        assert!(started.elapsed() >= 30 * MS);
        assert_eq!(log.entries(), ["z", "a", "b", "c", "d"]);
    });
}

#[test]
fn clear_prevents_the_callback_and_is_idempotent() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let cleared = nodenet::set_timeout(10 * MS, move || l.push("cleared ran"));
        cleared.clear();
        cleared.clear();
        // Cleared by an earlier timer.
        let l = log.clone();
        let later = nodenet::set_timeout(40 * MS, move || l.push("later ran"));
        let l = log.clone();
        let fired = nodenet::set_timeout(5 * MS, move || {
            l.push("first");
            later.clear();
        });
        nodenet::run().unwrap();
        fired.clear(); // after it ran: nothing happens
        assert_eq!(log.entries(), ["first"]);
    });
}

#[test]
fn clear_from_another_thread_lets_run_return() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let timer = nodenet::set_timeout(Duration::from_secs(600), move || l.push("ran"));
        std::thread::spawn(move || timer.clear());
        nodenet::run().unwrap();
        assert!(log.entries().is_empty());
    });
}

#[test]
fn an_unrefd_timer_does_not_keep_run_alive_and_ref_restores_it() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let idle = nodenet::set_timeout(Duration::from_secs(600), move || l.push("never"));
        idle.unref();
        nodenet::run().unwrap();
        assert!(log.entries().is_empty());

        let l = log.clone();
        let back = nodenet::set_timeout(20 * MS, move || l.push("ref'd again"));
        back.unref();
        back.ref_();
        // An unref'd timer still fires while something else keeps the loop alive.
        let l = log.clone();
        nodenet::set_timeout(5 * MS, move || l.push("unref'd fires")).unref();
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["unref'd fires", "ref'd again"]);
        idle.clear();
    });
}

#[test]
fn set_immediate_runs_after_pending_ticks() {
    // Node: a path server's 'listening' is a nextTick: it runs before an immediate queued earlier.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        nodenet::set_immediate(move || l.push("immediate"));
        let path = util::temp_socket_path("imm");
        let server = nodenet::create_server(|_| {});
        let l = log.clone();
        server.listen(path.as_path()).on_listening(move |s| {
            l.push("listening");
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["listening", "immediate"]);
    });
}

#[test]

fn an_immediate_queued_in_an_io_listener_runs_before_a_zero_timer() {
    // Node (poll phase, then check phase, then timers): in 'connection' and 'connect' listeners,
    // setImmediate runs before setTimeout(0).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            let l2 = l.clone();
            nodenet::set_timeout(Duration::ZERO, move || l2.push("timeout0"));
            let l2 = l.clone();
            nodenet::set_immediate(move || {
                l2.push("immediate");
                client.destroy();
                accepted.destroy();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["immediate", "timeout0"]);
    });
}

#[test]
fn an_immediate_queued_in_a_timer_runs_before_a_zero_timer_queued_with_it() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        nodenet::set_timeout(5 * MS, move || {
            let l2 = l.clone();
            nodenet::set_timeout(Duration::ZERO, move || l2.push("timeout0"));
            let l2 = l.clone();
            nodenet::set_immediate(move || l2.push("immediate"));
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["immediate", "timeout0"]);
    });
}

#[test]
fn immediates_queued_by_an_immediate_run_after_those_already_queued() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        nodenet::set_immediate(move || {
            l.push("A");
            let l = l.clone();
            nodenet::set_immediate(move || l.push("C"));
        });
        let l = log.clone();
        nodenet::set_immediate(move || l.push("B"));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["A", "B", "C"]);
    });
}

#[test]
fn loop_handle_post_runs_closures_on_the_loop_thread_in_order() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let keep_alive = nodenet::set_timeout(Duration::from_secs(600), || {});
        let handle = nodenet::current_loop();
        let loop_thread = std::thread::current().id();
        let worker = std::thread::spawn(move || {
            assert_ne!(std::thread::current().id(), loop_thread);
            for i in 0..3 {
                handle.post(move || {
                    assert_eq!(std::thread::current().id(), loop_thread);
                    LOG.with(|log| log.borrow_mut().push(format!("post {i}")));
                });
            }
            handle.post(move || keep_alive.clear());
        });
        let l = log.clone();
        LOG.with(|log| log.borrow_mut().clear());
        nodenet::run().unwrap();
        worker.join().unwrap();
        LOG.with(|posted| {
            for entry in posted.borrow().iter() {
                l.push(entry.clone());
            }
        });
        assert_eq!(log.entries(), ["post 0", "post 1", "post 2"]);
    });
}

thread_local! {
    /// Where posted closures (which are `Send` and cannot capture an `EventLog`) record themselves.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}
