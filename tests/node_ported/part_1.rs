//! Ported Node tests, part 1 (files a–l).
//!
//! Every expected event order below was checked against Node v20 with an equivalent script
//! (same operations, same log strings). Where Node throws synchronously, nodenet reports the same
//! error as an `error` event (by design, see CHANGELOG), and the port asserts that event.

use crate::util::{self, EventLog, port_of};
use nodenet::{ConnectOptions, Encoding, Server, Socket, SocketOptions};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// A shared counter for `common.mustCall`-style checks, asserted after `run()`.
fn counter() -> Rc<Cell<usize>> {
    Rc::new(Cell::new(0))
}

fn bump(c: &Rc<Cell<usize>>) {
    c.set(c.get() + 1);
}

/// The error fields Node sets, as one comparable string.
fn describe(err: &nodenet::Error) -> String {
    format!(
        "code={} errno={:?} syscall={:?} address={:?} port={:?} message={}",
        err.code(),
        err.errno(),
        err.syscall(),
        err.address(),
        err.port(),
        err
    )
}

mod after_close {
    // Ported from nodejs/node test/parallel/net/after-close.js (test-net-after-close.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    /// Runs Node's scenario; `inspect` runs in the client's `close` listener (after the calls that
    /// must not panic) and its text is logged.
    fn closed_client_scenario(inspect: fn(&Socket) -> String) -> Vec<String> {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |s| {
            l.push("server connection");
            s.end();
        });
        server.listen(0);
        let l = log.clone();
        server.on_listening(move |server| {
            let c = nodenet::create_connection(port_of(server));
            let l = l.clone();
            let server = server.clone();
            c.on_close(move |c, had_error| {
                l.push(format!("client close {had_error}"));
                // Calling functions / reading properties of a closed socket must not panic.
                c.set_no_delay(true);
                c.set_keep_alive(false, Duration::ZERO);
                let _ = c.buffer_size();
                c.pause();
                c.resume();
                let _ = (c.address(), c.remote_address(), c.remote_port());
                l.push(inspect(c));
                server.close();
            });
        });
        nodenet::run().unwrap();
        log.entries()
    }

    #[test]
    fn calls_on_a_closed_socket_do_not_panic() {
        util::with_deadline(util::LIMIT, || {
            let entries = closed_client_scenario(|c| {
                format!("address={:?} state={:?}", c.address(), c.ready_state())
            });
            // Node: c.address() is {} (no handle), readyState 'closed'.
            assert_eq!(
                entries,
                [
                    "server connection",
                    "client close false",
                    "address=None state=Closed"
                ]
            );
        });
    }

    #[test]
    fn remote_address_and_port_are_gone_after_close_when_never_read() {
        util::with_deadline(util::LIMIT, || {
            let entries = closed_client_scenario(|c| {
                format!("remote={:?}:{:?}", c.remote_address(), c.remote_port())
            });
            // Node v20 prints `undefined undefined` here: the values are only cached if they were
            // read while the handle existed, and this client never read them.
            assert_eq!(
                entries,
                [
                    "server connection",
                    "client close false",
                    "remote=None:None"
                ]
            );
        });
    }
}

mod allow_half_open {
    // Ported from nodejs/node test/parallel/net/allow-half-open.js (test-net-allow-half-open.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn peer_end_is_not_a_destroy_before_the_automatic_shutdown() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let connections = counter();
            let n = connections.clone();
            let server = nodenet::create_server(move |socket| {
                bump(&n);
                socket.end_with(vec![0u8; 1024]);
            });
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let socket = nodenet::connect(port_of(server));
                socket.resume();
                let (l2, server) = (l.clone(), server.clone());
                socket.on_end(move |socket| {
                    l2.push(format!("end destroyed={}", socket.destroyed()));
                    let (l3, socket, server) = (l2.clone(), socket.clone(), server.clone());
                    // Node's test checks in process.nextTick; nodenet has no public nextTick, so
                    // this checks in setImmediate, whose order Node v20 gives as asserted below.
                    nodenet::set_immediate(move || {
                        l3.push(format!("immediate destroyed={}", socket.destroyed()));
                        server.close();
                    });
                });
                let l2 = l.clone();
                socket.on_finish(move |s| l2.push(format!("finish destroyed={}", s.destroyed())));
                let l2 = l.clone();
                socket.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
            });
            nodenet::run().unwrap();
            assert_eq!(connections.get(), 1);
            assert_eq!(
                log.entries(),
                [
                    "end destroyed=false",
                    "finish destroyed=false",
                    "immediate destroyed=true",
                    "close false"
                ]
            );
        });
    }

    #[test]
    fn local_end_then_peer_end_closes_after_both_halves() {
        // The server side never reads the client's "asd": in Node v20 it stays open ('readOnly',
        // 3 bytes unread, never destroyed) yet the process exits, because after EOF its handle is
        // neither reading nor writing. nodenet counts it as a ref'd open socket, so run() hangs.
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let connections = counter();
            let n = connections.clone();
            let server = nodenet::create_server(move |socket| {
                bump(&n);
                socket.end_with(vec![0u8; 1024]);
            });
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let socket = nodenet::connect(port_of(server));
                socket.resume();
                let l2 = l.clone();
                socket.on_end(move |s| l2.push(format!("end destroyed={}", s.destroyed())));
                socket.end_with("asd");
                let l2 = l.clone();
                socket.on_finish(move |s| l2.push(format!("finish destroyed={}", s.destroyed())));
                let (l2, server) = (l.clone(), server.clone());
                socket.on_close(move |_, had_error| {
                    l2.push(format!("close {had_error}"));
                    server.close();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(connections.get(), 1);
            // Our FIN ('finish') and the peer's FIN ('end') race; Node v20 shows finish first, but
            // neither order is guaranteed. What is: neither destroys the socket, close comes last.
            let mut entries = log.entries();
            assert_eq!(entries.pop().as_deref(), Some("close false"));
            entries.sort();
            assert_eq!(entries, ["end destroyed=false", "finish destroyed=false"]);
        });
    }

    /// The same scenario with a server side that reads, so that both sockets close and run()
    /// returns in nodenet too (not in Node's test: it checks the client side only).
    #[test]
    fn local_end_then_peer_end_with_a_reading_peer() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server_closed = counter();
            let server = nodenet::create_server(move |socket| {
                socket.resume();
                socket.end_with(vec![0u8; 1024]);
            });
            server.listen(0);
            let (l, sc) = (log.clone(), server_closed.clone());
            server.on_close(move |_| bump(&sc));
            server.on_listening(move |server| {
                let socket = nodenet::connect(port_of(server));
                socket.resume();
                let l2 = l.clone();
                socket.on_end(move |s| l2.push(format!("end destroyed={}", s.destroyed())));
                socket.end_with("asd");
                let l2 = l.clone();
                socket.on_finish(move |s| l2.push(format!("finish destroyed={}", s.destroyed())));
                let (l2, server) = (l.clone(), server.clone());
                socket.on_close(move |_, had_error| {
                    l2.push(format!("close {had_error}"));
                    server.close();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(server_closed.get(), 1);
            let mut entries = log.entries();
            assert_eq!(entries.pop().as_deref(), Some("close false"));
            entries.sort();
            assert_eq!(entries, ["end destroyed=false", "finish destroyed=false"]);
        });
    }
}

mod better_error_messages_listen_path {
    // Ported from nodejs/node test/parallel/net/better-error-messages-listen-path.js (test-net-better-error-messages-listen-path.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    #[cfg_attr(windows, ignore = "unix socket paths (pipe names have no directories)")]
    fn listen_on_a_path_in_a_missing_directory_reports_the_path() {
        util::with_deadline(util::LIMIT, || {
            // Node's test uses '/blah/fadfa'; a missing directory under the temp dir is the same case.
            let dir = util::temp_socket_path("unused");
            let fp = dir.parent().unwrap().join("no-such-dir").join("fadfa");
            let fp_text = fp.to_string_lossy().into_owned();
            let log = EventLog::new();
            let server = nodenet::create_server(|_| panic!("connection listener must not run"));
            server.listen(&fp);
            server.on_listening(|_| panic!("listening must not be emitted"));
            let l = log.clone();
            server.on_error(move |server, e| {
                l.push(describe(e));
                l.push(format!("listening={}", server.listening()));
            });
            nodenet::run().unwrap();
            let _ = std::fs::remove_dir_all(dir.parent().unwrap());
            // libuv reports ENOENT from bind(2) on a pipe as EACCES; Node's port is -1 (None here).
            assert_eq!(
                log.entries(),
                [
                    format!(
                        "code=EACCES errno=Some(-13) syscall=Some(\"listen\") address=Some({fp_text:?}) port=None message=listen EACCES: permission denied {fp_text}"
                    ),
                    "listening=false".to_string()
                ]
            );
        });
    }
}

mod better_error_messages_listen {
    // Ported from nodejs/node test/parallel/net/better-error-messages-listen.js (test-net-better-error-messages-listen.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn listen_on_a_non_local_address_reports_address_port_and_syscall() {
        util::with_deadline(util::LIMIT, || {
            // Node uses 1.1.1.1; 192.0.2.1 (TEST-NET-1) is never local either. bind(2) fails
            // locally with EADDRNOTAVAIL: no packet is ever sent.
            let log = EventLog::new();
            let server = nodenet::create_server(|_| panic!("connection listener must not run"));
            server.listen((1, "192.0.2.1"));
            server.on_listening(|_| panic!("listening must not be emitted"));
            let l = log.clone();
            server.on_error(move |_, e| l.push(describe(e)));
            nodenet::run().unwrap();
            assert_eq!(
                util::linux_errnos(log.entries()),
                [
                    "code=EADDRNOTAVAIL errno=Some(-99) syscall=Some(\"listen\") address=Some(\"192.0.2.1\") port=Some(1) message=listen EADDRNOTAVAIL: address not available 192.0.2.1:1"
                ]
            );
        });
    }
}

mod better_error_messages_path {
    // Ported from nodejs/node test/parallel/net/better-error-messages-path.js (test-net-better-error-messages-path.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn connect_to_a_missing_path_reports_enoent_with_the_path() {
        util::with_deadline(util::LIMIT, || {
            let fp = util::temp_socket_path("fadagagsdfgsdf");
            let fp_text = fp.to_string_lossy().into_owned();
            let log = EventLog::new();
            let c = nodenet::connect(&fp);
            c.on_connect(|_| panic!("connect must not be emitted"));
            let l = log.clone();
            c.on_error(move |_, e| l.push(describe(e)));
            let l = log.clone();
            c.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            nodenet::run().unwrap();
            let _ = std::fs::remove_dir_all(fp.parent().unwrap());
            assert_eq!(
                util::linux_errnos(log.entries()),
                [
                    format!(
                        "code=ENOENT errno=Some(-2) syscall=Some(\"connect\") address=Some({fp_text:?}) port=None message=connect ENOENT {fp_text}"
                    ),
                    "close true".to_string()
                ]
            );
        });
    }
}

mod better_error_messages_port_hostname {
    // Ported from nodejs/node test/parallel/net/better-error-messages-port-hostname.js (test-net-better-error-messages-port-hostname.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn failed_lookup_error_has_hostname_and_no_port() {
        util::with_deadline(util::LIMIT, || {
            let lookups = Arc::new(AtomicUsize::new(0));
            let seen = Arc::clone(&lookups);
            let log = EventLog::new();
            // Port 0, as in Node: the host name is invalid anyway (the lookup mock fails).
            let c = nodenet::create_connection(
                ConnectOptions::port(0)
                    .host("something.invalid")
                    .lookup(move |_, _| {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Err(std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "getaddrinfo ENOTFOUND",
                        ))
                    }),
            );
            c.on_connect(|_| panic!("connect must not be emitted"));
            let l = log.clone();
            c.on_error(move |_, e| {
                l.push(format!(
                    "code={} syscall={:?} hostname={:?} port={:?} address={:?} message={}",
                    e.code(),
                    e.syscall(),
                    e.hostname(),
                    e.port(),
                    e.address(),
                    e
                ))
            });
            nodenet::run().unwrap();
            assert_eq!(lookups.load(Ordering::SeqCst), 1);
            assert_eq!(
                log.entries(),
                [
                    "code=ENOTFOUND syscall=Some(\"getaddrinfo\") hostname=Some(\"something.invalid\") port=None address=None message=getaddrinfo ENOTFOUND something.invalid"
                ]
            );
        });
    }
}

mod binary {
    // Ported from nodejs/node test/parallel/net/binary.js (test-net-binary.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn latin1_round_trip_of_every_byte_value() {
        util::with_deadline(util::LIMIT, || {
            let binary_string: String = (0..=255u8).rev().map(char::from).collect();
            assert_eq!(binary_string.chars().count(), 256);

            let echo_server = nodenet::create_server(|connection| {
                connection.set_encoding(Some(Encoding::Latin1));
                connection.on_data(|connection, chunk| {
                    connection.write_encoded(chunk.text().unwrap(), Encoding::Latin1);
                });
                connection.on_end(|connection| {
                    connection.end();
                });
            });
            echo_server.listen(0);

            let recv = Rc::new(RefCell::new(String::new()));
            let r = Rc::clone(&recv);
            echo_server.on_listening(move |echo_server| {
                let j = Rc::new(Cell::new(0u32));
                let c = nodenet::create_connection(ConnectOptions::port(port_of(echo_server)));
                c.set_encoding(Some(Encoding::Latin1));
                let r = Rc::clone(&r);
                c.on_data(move |c, chunk| {
                    let text = chunk.text().unwrap();
                    let n = j.get() + text.chars().count() as u32;
                    while j.get() < n && j.get() < 256 {
                        let ch = char::from(j.get() as u8).to_string();
                        c.write_encoded(&ch, Encoding::Latin1);
                        j.set(j.get() + 1);
                    }
                    if j.get() == 256 {
                        c.end();
                    }
                    r.borrow_mut().push_str(text);
                });
                let binary_string = binary_string.clone();
                c.on_connect(move |c| {
                    c.write_encoded(&binary_string, Encoding::Latin1);
                });
                let echo_server = echo_server.clone();
                c.on_close(move |_, _| {
                    echo_server.close();
                });
            });
            nodenet::run().unwrap();

            let recv: Vec<char> = recv.borrow().chars().collect();
            assert_eq!(recv.len(), 2 * 256);
            let first: String = recv[..256].iter().rev().collect();
            let second: String = recv[256..].iter().collect();
            assert_eq!(first, second);
        });
    }
}

mod bind_twice {
    // Ported from nodejs/node test/parallel/net/bind-twice.js (test-net-bind-twice.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn second_listen_on_the_same_port_emits_eaddrinuse() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server1 = nodenet::create_server(|_| panic!("server1 gets no connection"));
            server1.listen((0, "127.0.0.1"));
            let l = log.clone();
            server1.on_listening(move |server1| {
                let port = port_of(server1);
                let server2 = nodenet::create_server(|_| panic!("server2 gets no connection"));
                server2.listen((port, "127.0.0.1"));
                server2.on_listening(|_| panic!("server2 must not listen"));
                let (l, server1) = (l.clone(), server1.clone());
                server2.on_error(move |server2, e| {
                    l.push(describe(e).replace(&port.to_string(), "P"));
                    l.push(format!("listening={}", server2.listening()));
                    server1.close();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(
                util::linux_errnos(log.entries()),
                [
                    "code=EADDRINUSE errno=Some(-98) syscall=Some(\"listen\") address=Some(\"127.0.0.1\") port=Some(P) message=listen EADDRINUSE: address already in use 127.0.0.1:P",
                    "listening=false"
                ]
            );
        });
    }
}

mod buffersize {
    // Ported from nodejs/node test/parallel/net/buffersize.js (test-net-buffersize.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn buffer_size_counts_queued_bytes_and_is_zero_at_finish() {
        util::with_deadline(util::LIMIT, || {
            let client_log = EventLog::new();
            let server_log = EventLog::new();
            let sl = server_log.clone();
            let server = Server::new(Default::default());
            let s = server.clone();
            server.on_connection(move |socket| {
                socket.resume();
                let (sl, s) = (sl.clone(), s.clone());
                socket.on_end(move |_| {
                    sl.push("server end");
                    s.close();
                });
            });
            server.listen(0);
            let l = client_log.clone();
            server.on_listening(move |server| {
                let client = nodenet::connect(port_of(server));
                let l2 = l.clone();
                client
                    .on_finish(move |c| l2.push(format!("finish bufferSize={}", c.buffer_size())));
                let l2 = l.clone();
                client.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
                for _ in 1..10 {
                    client.write("a");
                    l.push(format!("bufferSize={}", client.buffer_size()));
                }
                client.end();
            });
            nodenet::run().unwrap();
            assert_eq!(
                client_log.entries(),
                [
                    "bufferSize=1",
                    "bufferSize=2",
                    "bufferSize=3",
                    "bufferSize=4",
                    "bufferSize=5",
                    "bufferSize=6",
                    "bufferSize=7",
                    "bufferSize=8",
                    "bufferSize=9",
                    "finish bufferSize=0",
                    "close false"
                ]
            );
            assert_eq!(server_log.entries(), ["server end"]);
        });
    }
}

mod bytes_read {
    // Ported from nodejs/node test/parallel/net/bytes-read.js (test-net-bytes-read.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn bytes_read_rises_with_each_chunk_and_survives_close() {
        util::with_deadline(util::LIMIT, || {
            const BIG: usize = 1024 * 1024;
            let log = EventLog::new();
            let handled = counter();
            let h = handled.clone();
            let server = Server::new(Default::default());
            let s = server.clone();
            server.on_connection(move |socket| {
                bump(&h);
                socket.end_with(vec![0u8; BIG]);
                s.close();
            });
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let socket = nodenet::connect(port_of(server));
                let l = l.clone();
                socket.on_connect(move |socket| {
                    let prev = Rc::new(Cell::new(0u64));
                    let data_events = counter();
                    let (p, d, l2) = (prev.clone(), data_events.clone(), l.clone());
                    socket.on_data(move |socket, _| {
                        bump(&d);
                        if socket.bytes_read() <= p.get() {
                            l2.push(format!("bytes_read did not rise: {}", socket.bytes_read()));
                        }
                        p.set(socket.bytes_read());
                    });
                    let (p, l2) = (prev.clone(), l.clone());
                    socket.on_end(move |socket| {
                        l2.push(format!("end {} {}", socket.bytes_read(), p.get()));
                    });
                    let (p, l2) = (prev.clone(), l.clone());
                    socket.on_close(move |socket, had_error| {
                        assert!(data_events.get() >= 1, "data must be emitted");
                        l2.push(format!(
                            "close {had_error} {} {}",
                            socket.bytes_read(),
                            p.get()
                        ));
                    });
                    socket.end();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(handled.get(), 1);
            assert_eq!(
                log.entries(),
                [
                    format!("end {BIG} {BIG}"),
                    format!("close false {BIG} {BIG}")
                ]
            );
        });
    }
}

mod bytes_stats {
    // Ported from nodejs/node test/parallel/net/bytes-stats.js (test-net-bytes-stats.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn byte_counters_per_connection_across_a_reconnect() {
        util::with_deadline(util::LIMIT, || {
            let client_log = EventLog::new();
            let server_log = EventLog::new();
            let bytes_read = Rc::new(Cell::new(0u64));
            let bytes_written = Rc::new(Cell::new(0u64));
            let count = counter();

            let (sl, br) = (server_log.clone(), bytes_read.clone());
            let tcp = nodenet::create_server(move |s| {
                s.resume();
                let (sl, br) = (sl.clone(), br.clone());
                s.on_end(move |s| {
                    br.set(br.get() + s.bytes_read());
                    sl.push(format!("server end {}", s.bytes_read()));
                });
            });
            tcp.listen(0);
            let l = client_log.clone();
            let bw_total = bytes_written.clone();
            tcp.on_listening(move |tcp| {
                let socket = nodenet::create_connection(port_of(tcp));
                let (l2, c) = (l.clone(), count.clone());
                socket.on_connect(move |socket| {
                    bump(&c);
                    l2.push(format!("connect {}", c.get()));
                    let l3 = l2.clone();
                    socket.write_with("foo", move |socket, err| {
                        assert!(err.is_none());
                        l3.push("write cb");
                        socket.end_with("bar");
                    });
                });
                let (l2, bw) = (l.clone(), bw_total.clone());
                socket.on_finish(move |socket| {
                    bw.set(bw.get() + socket.bytes_written());
                    l2.push(format!("finish {}", socket.bytes_written()));
                });
                let (l2, c, tcp) = (l.clone(), count.clone(), tcp.clone());
                socket.on_close(move |socket, had_error| {
                    l2.push(format!("close {had_error}"));
                    if c.get() < 2 {
                        socket.connect(port_of(&tcp));
                    } else {
                        tcp.close();
                    }
                });
            });
            nodenet::run().unwrap();
            assert_eq!(
                client_log.entries(),
                [
                    "connect 1",
                    "write cb",
                    "finish 6",
                    "close false",
                    "connect 2",
                    "write cb",
                    "finish 6",
                    "close false"
                ]
            );
            assert_eq!(server_log.entries(), ["server end 6", "server end 6"]);
            assert_eq!(bytes_read.get(), 12);
            assert_eq!(bytes_written.get(), 12);
        });
    }
}

mod bytes_written_large {
    // Ported from nodejs/node test/parallel/net/bytes-written-large.js (test-net-bytes-written-large.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    const N: usize = 10_000_000;

    /// The server writes with `write_all` (which must leave `bytes_written` at `expected` at once,
    /// however much the kernel took synchronously); the client reads everything.
    fn scenario(write_all: fn(&Socket), expected: u64) {
        let server_log = EventLog::new();
        let client_log = EventLog::new();
        let sl = server_log.clone();
        let server = nodenet::create_server(move |socket| {
            let sl2 = sl.clone();
            // Node passes a callback to end(); it runs at 'finish'.
            socket.on_finish(move |s| sl2.push(format!("finish {}", s.bytes_written())));
            write_all(&socket);
            sl.push(format!("after end {}", socket.bytes_written()));
        });
        server.listen(0);
        let cl = client_log.clone();
        server.on_listening(move |server| {
            let client = nodenet::connect(port_of(server));
            client.resume();
            let (cl, server) = (cl.clone(), server.clone());
            client.on_close(move |c, had_error| {
                cl.push(format!("client close {had_error} {}", c.bytes_read()));
                server.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            server_log.entries(),
            [
                format!("after end {expected}"),
                format!("finish {expected}")
            ]
        );
        assert_eq!(
            client_log.entries(),
            [format!("client close false {expected}")]
        );
    }

    #[test]
    fn bytes_written_counts_a_large_buffer_at_once() {
        util::with_deadline(util::LIMIT, || {
            scenario(
                |socket| {
                    socket.end_with(vec![0u8; N]);
                },
                N as u64,
            );
        });
    }

    #[test]
    fn bytes_written_counts_a_large_string_at_once() {
        util::with_deadline(util::LIMIT, || {
            scenario(
                |socket| {
                    socket.end_with("a".repeat(N));
                },
                N as u64,
            );
        });
    }

    /// Node's third variant corks the socket to get one writev; nodenet has no cork(), so the two
    /// writes go out one after the other. The counters must be the same.
    #[test]
    fn bytes_written_counts_mixed_large_writes() {
        util::with_deadline(util::LIMIT, || {
            scenario(
                |socket| {
                    socket.write("a".repeat(N));
                    assert_eq!(socket.bytes_written(), N as u64);
                    socket.write(vec![0u8; N]);
                    assert_eq!(socket.bytes_written(), 2 * N as u64);
                    socket.end_with("");
                },
                2 * N as u64,
            );
        });
    }
}

mod can_reset_timeout {
    // Ported from nodejs/node test/parallel/net/can-reset-timeout.js (test-net-can-reset-timeout.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn a_write_in_the_timeout_listener_resets_the_idle_timer() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let connections = counter();
            let (l, n) = (log.clone(), connections.clone());
            let server = nodenet::create_server(move |stream| {
                bump(&n);
                stream.set_timeout(Duration::from_millis(100));
                stream.resume();
                let (l2, fired) = (l.clone(), Rc::new(Cell::new(false)));
                // Node's once('timeout').
                stream.on_timeout(move |stream| {
                    if !fired.replace(true) {
                        l2.push("server timeout");
                        // Try to reset the timeout.
                        stream.write("WHAT.");
                    }
                });
                let l2 = l.clone();
                stream.on_end(move |stream| {
                    l2.push("server end");
                    stream.end();
                });
            });
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let c = nodenet::create_connection(port_of(server));
                let l2 = l.clone();
                c.on_data(move |c, chunk| {
                    l2.push(format!(
                        "client data {}",
                        String::from_utf8_lossy(chunk.bytes())
                    ));
                    c.end();
                });
                let (l2, server) = (l.clone(), server.clone());
                c.on_end(move |_| {
                    l2.push("client end");
                    server.close();
                });
                let l2 = l.clone();
                c.on_close(move |_, had_error| l2.push(format!("client close {had_error}")));
            });
            nodenet::run().unwrap();
            assert_eq!(connections.get(), 1);
            assert_eq!(
                log.entries(),
                [
                    "server timeout",
                    "client data WHAT.",
                    "server end",
                    "client end",
                    "client close false"
                ]
            );
        });
    }
}

mod client_bind_twice {
    // Ported from nodejs/node test/parallel/net/client-bind-twice.js (test-net-client-bind-twice.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn connect_from_a_local_port_in_use_emits_bind_eaddrinuse() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server1 = nodenet::create_server(|_| panic!("server1 gets no connection"));
            let l = log.clone();
            server1
                .listen((0, "127.0.0.1"))
                .on_listening(move |server1| {
                    let server2 = nodenet::create_server(|_| panic!("server2 gets no connection"));
                    let (l, server1) = (l.clone(), server1.clone());
                    server2
                        .listen((0, "127.0.0.1"))
                        .on_listening(move |server2| {
                            let p2 = port_of(server2);
                            let client = nodenet::connect(
                                ConnectOptions::port(port_of(&server1))
                                    .host("127.0.0.1")
                                    .local_address("127.0.0.1")
                                    .local_port(p2),
                            );
                            client.on_connect(|_| panic!("connect must not be emitted"));
                            let (l2, server1, server2) =
                                (l.clone(), server1.clone(), server2.clone());
                            client.on_error(move |_, err| {
                                l2.push(describe(err).replace(&p2.to_string(), "P2"));
                                server1.close();
                                server2.close();
                            });
                            let l2 = l.clone();
                            client.on_close(move |_, had_error| {
                                l2.push(format!("close {had_error}"))
                            });
                        });
                });
            nodenet::run().unwrap();
            assert_eq!(
                util::linux_errnos(log.entries()),
                [
                    "code=EADDRINUSE errno=Some(-98) syscall=Some(\"bind\") address=Some(\"127.0.0.1\") port=Some(P2) message=bind EADDRINUSE 127.0.0.1:P2",
                    "close true"
                ]
            );
        });
    }
}

mod connect_after_destroy {
    // Ported from nodejs/node test/parallel/net/connect-after-destroy.js (test-net-connect-after-destroy.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn destroy_while_resolving_emits_only_close() {
        util::with_deadline(util::LIMIT, || {
            // Node resolves google.com; a name that needs resolving on this machine is localhost.
            // Nothing listens on port 1: an attempt that slipped through would fail loudly.
            let log = EventLog::new();
            let c = nodenet::create_connection((1, "localhost"));
            let l = log.clone();
            c.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            let l = log.clone();
            c.on_error(move |_, e| l.push(format!("error {}", e.code())));
            c.on_connect(|_| panic!("connect must not be emitted"));
            let l = log.clone();
            c.on_lookup(move |_, _, _| l.push("lookup"));
            c.destroy();
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["close false"]);
        });
    }
}

/// Node's connect-buffer.js and connect-buffer2.js (identical on main): writes and end() while
/// connecting are queued and counted once.
fn connect_buffer_scenario(write_owned: bool) {
    let server_log = EventLog::new();
    let client_log = EventLog::new();
    let connections = counter();
    let tcp = Server::new(Default::default());
    let (sl, n, t) = (server_log.clone(), connections.clone(), tcp.clone());
    tcp.on_connection(move |s| {
        bump(&n);
        t.close();
        let buf = Rc::new(std::cell::RefCell::new(String::new()));
        s.set_encoding(Some(Encoding::Utf8));
        let b = Rc::clone(&buf);
        s.on_data(move |_, d| b.borrow_mut().push_str(d.text().unwrap()));
        let sl = sl.clone();
        s.on_end(move |s| {
            sl.push(format!("server end {}", buf.borrow()));
            s.end();
        });
    });
    tcp.listen(0);
    let l = client_log.clone();
    tcp.on_listening(move |tcp| {
        // Node's test sets highWaterMark: 0 (so write() returns false); nodenet sockets have the
        // default 16 KiB, for which Node v20 returns true: that is asserted below.
        let socket = Socket::new(SocketOptions::default());
        let connected = Rc::new(Cell::new(false));
        l.push(format!("pending={}", socket.pending()));
        socket.connect(port_of(tcp));
        let (l2, c) = (l.clone(), connected.clone());
        socket.on_connect(move |_| {
            c.set(true);
            l2.push("connect");
        });
        l.push(format!(
            "pending={} connecting={} readyState={:?}",
            socket.pending(),
            socket.connecting(),
            socket.ready_state()
        ));
        // A multi-byte character: bytes_written counts bytes, not characters.
        let a = "L'État, c'est ";
        let b = "moi";
        let (l2, c) = (l.clone(), connected.clone());
        let callback = move |s: &Socket, er: Option<&nodenet::Error>| {
            l2.push(format!(
                "write cb {:?} connected={} bytesWritten={} pending={}",
                er.map(|e| e.code().to_string()),
                c.get(),
                s.bytes_written(),
                s.pending()
            ));
        };
        let r = if write_owned {
            socket.write_with(a.to_string(), callback)
        } else {
            socket.write_with(a, callback)
        };
        let l2 = l.clone();
        socket.on_close(move |s, had_error| {
            l2.push(format!("close {had_error} pending={}", s.pending()))
        });
        l.push(format!("bytesWritten={} r={r}", socket.bytes_written()));
        socket.end_with(b);
        l.push(format!("readyState={:?}", socket.ready_state()));
    });
    nodenet::run().unwrap();
    assert_eq!(connections.get(), 1);
    assert_eq!(
        client_log.entries(),
        [
            "pending=true",
            "pending=true connecting=true readyState=Opening",
            "bytesWritten=15 r=true",
            "readyState=Opening",
            "connect",
            "write cb None connected=true bytesWritten=18 pending=false",
            "close false pending=true"
        ]
    );
    assert_eq!(server_log.entries(), ["server end L'État, c'est moi"]);
}

mod connect_buffer {
    // Ported from nodejs/node test/parallel/net/connect-buffer.js (test-net-connect-buffer.js in v20). MIT licence, Copyright Node.js contributors.

    #[test]
    fn writes_while_connecting_are_queued_and_counted_once() {
        crate::util::with_deadline(crate::util::LIMIT, || super::connect_buffer_scenario(false));
    }
}

mod connect_buffer2 {
    // Ported from nodejs/node test/parallel/net/connect-buffer2.js (test-net-connect-buffer2.js in v20). MIT licence, Copyright Node.js contributors.

    /// The same scenario as connect-buffer.js, writing an owned String (moved into the queue).
    #[test]
    fn owned_writes_while_connecting_are_queued_and_counted_once() {
        crate::util::with_deadline(crate::util::LIMIT, || super::connect_buffer_scenario(true));
    }
}

mod connect_call_socket_connect {
    // Ported from nodejs/node test/parallel/net/connect-call-socket-connect.js (test-net-connect-call-socket-connect.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    /// Node's test also checks that net.connect goes through Socket.prototype.connect
    /// (monkey-patching, JS-only); the connection scenario is ported.
    #[test]
    fn connect_with_options_connects_then_ends() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let port = port_of(server);
                let client = nodenet::connect(ConnectOptions::port(port));
                let l2 = l.clone();
                client.on_connect(move |client| {
                    l2.push("connect");
                    client.end();
                });
                let (l2, server) = (l.clone(), server.clone());
                client.on_end(move |_| {
                    l2.push("end");
                    server.close();
                });
                let l2 = l.clone();
                client.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
            });
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["connect", "end", "close false"]);
        });
    }
}

mod connect_destroy {
    // Ported from nodejs/node test/parallel/net/connect-destroy.js (test-net-connect-destroy.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn destroying_a_fresh_socket_emits_close_once() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let socket = Socket::new(SocketOptions::default());
            let l = log.clone();
            // Node emits 'close' with no argument for a socket that never had a handle.
            socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            socket.destroy();
            log.push(format!(
                "sync destroyed={} state={:?}",
                socket.destroyed(),
                socket.ready_state()
            ));
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                ["sync destroyed=true state=Closed", "close false"]
            );
        });
    }
}

mod connect_immediate_destroy {
    // Ported from nodejs/node test/parallel/net/connect-immediate-destroy.js (test-net-connect-immediate-destroy.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn destroy_right_after_connect_emits_no_connect_and_no_error() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            server.listen(0);
            // Without a host, listen() binds synchronously: the port is known at once.
            let port = port_of(&server);
            let socket = nodenet::connect((port, "127.0.0.1"));
            socket.on_connect(|_| panic!("connect must not be emitted"));
            socket.on_error(|_, e| panic!("error must not be emitted: {e}"));
            let l = log.clone();
            socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            let l = log.clone();
            server.on_close(move |_| l.push("server close"));
            server.close();
            socket.destroy();
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["server close", "close false"]);
        });
    }
}

mod connect_immediate_finish {
    // Ported from nodejs/node test/parallel/net/connect-immediate-finish.js (test-net-connect-immediate-finish.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn end_while_connecting_then_lookup_failure_emits_the_lookup_error() {
        util::with_deadline(util::LIMIT, || {
            let lookups = Arc::new(AtomicUsize::new(0));
            let seen = Arc::clone(&lookups);
            let log = EventLog::new();
            let client = nodenet::connect(
                ConnectOptions::port(80) // the port does not matter: the host name is invalid
                    .host("something.invalid")
                    .lookup(move |_, _| {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "mock"))
                    }),
            );
            client.on_connect(|_| panic!("connect must not be emitted"));
            let l = log.clone();
            client.on_error(move |_, e| {
                l.push(format!(
                    "error code={} syscall={:?} hostname={:?} port={:?} message={}",
                    e.code(),
                    e.syscall(),
                    e.hostname(),
                    e.port(),
                    e
                ))
            });
            let l = log.clone();
            client.on_finish(move |_| l.push("finish"));
            let l = log.clone();
            client.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            client.end();
            log.push(format!("readyState={:?}", client.ready_state()));
            nodenet::run().unwrap();
            assert_eq!(lookups.load(Ordering::SeqCst), 1);
            assert_eq!(
                log.entries(),
                [
                    "readyState=Opening",
                    "error code=ENOTFOUND syscall=Some(\"getaddrinfo\") hostname=Some(\"something.invalid\") port=None message=getaddrinfo ENOTFOUND something.invalid",
                    "close true"
                ]
            );
        });
    }
}

mod connect_no_arg {
    // Ported from nodejs/node test/parallel/net/connect-no-arg.js (test-net-connect-no-arg.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    /// Node throws ERR_MISSING_ARGS synchronously; nodenet reports it as an `error` event (by
    /// design), followed by `close(true)`. `connect()` and `connect({})` are the same options here.
    fn missing_args(socket: Socket) -> Vec<String> {
        let log = EventLog::new();
        socket.on_connect(|_| panic!("connect must not be emitted"));
        let l = log.clone();
        socket.on_error(move |_, e| l.push(format!("error {} {}", e.code(), e)));
        let l = log.clone();
        socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
        nodenet::run().unwrap();
        log.entries()
    }

    const EXPECTED: [&str; 2] = [
        "error ERR_MISSING_ARGS The \"options\" or \"port\" or \"path\" argument must be specified",
        "close true",
    ];

    #[test]
    fn net_connect_without_port_or_path_reports_err_missing_args() {
        util::with_deadline(util::LIMIT, || {
            let entries = missing_args(nodenet::connect(ConnectOptions::default()));
            assert_eq!(entries, EXPECTED);
        });
    }

    #[test]
    fn socket_connect_without_port_or_path_reports_err_missing_args() {
        util::with_deadline(util::LIMIT, || {
            let socket = Socket::new(SocketOptions::default());
            socket.connect(ConnectOptions::default());
            let entries = missing_args(socket);
            assert_eq!(entries, EXPECTED);
        });
    }
}

mod connect_options_allowhalfopen {
    // Ported from nodejs/node test/parallel/net/connect-options-allowhalfopen.js (test-net-connect-options-allowhalfopen.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    const CLIENT_VARIANTS: usize = 6;

    #[test]
    fn half_open_clients_stay_writable_after_the_server_ends() {
        util::with_deadline(util::LIMIT, || {
            let host = "127.0.0.1";
            let server_connections = counter();
            let server_data = counter();
            let server_received_fin = counter();
            let server_closed = counter();
            let client_logs: Vec<EventLog> =
                (0..=CLIENT_VARIANTS).map(|_| EventLog::new()).collect();

            let server = Server::new(nodenet::ServerOptions::default().allow_half_open(true));
            let (sc, sd, sf, s) = (
                server_connections.clone(),
                server_data.clone(),
                server_received_fin.clone(),
                server.clone(),
            );
            server.on_connection(move |socket| {
                bump(&sc);
                socket.resume();
                let sd = sd.clone();
                socket.on_data(move |_, _| bump(&sd));
                let (sf, s) = (sf.clone(), s.clone());
                // 'end' on each socket must not be emitted twice (counted below).
                socket.on_end(move |_| {
                    bump(&sf);
                    if sf.get() < CLIENT_VARIANTS {
                        return;
                    }
                    let s = s.clone();
                    nodenet::set_timeout(Duration::from_millis(50), move || {
                        s.close();
                    });
                });
                socket.end();
            });
            let c = server_closed.clone();
            server.on_close(move |_| bump(&c));

            let logs = client_logs.clone();
            server.listen((0, host)).on_listening(move |server| {
                let port = port_of(server);
                let opts = || ConnectOptions::port(port).host(host).allow_half_open(true);
                let half_open = || SocketOptions::default().allow_half_open(true);
                // The six ways Node creates the client (with a connect callback, or a listener
                // added afterwards, which are the same thing here).
                let clients = [
                    nodenet::connect(opts()),
                    nodenet::connect(opts()),
                    nodenet::create_connection(opts()),
                    nodenet::create_connection(opts()),
                    Socket::new(half_open()).connect(opts()).clone(),
                    Socket::new(half_open()).connect(opts()).clone(),
                ];
                for (i, client) in clients.into_iter().enumerate() {
                    let index = i + 1;
                    let log = logs[index].clone();
                    client.on_connect(move |client| {
                        log.push("connect");
                        client.resume();
                        let l = log.clone();
                        client.on_end(move |client| {
                            l.push("end");
                            let (l, client) = (l.clone(), client.clone());
                            nodenet::set_timeout(Duration::from_millis(50), move || {
                                // When allowHalfOpen is true, the client must still be writable
                                // after the server ended, but not readable.
                                let state = client.ready_state();
                                let wrote = client.write(index.to_string());
                                l.push(format!("state={state:?} write={wrote}"));
                                client.end();
                            });
                        });
                        let l = log.clone();
                        client.on_close(move |_, had_error| l.push(format!("close {had_error}")));
                    });
                }
            });
            nodenet::run().unwrap();
            assert_eq!(server_connections.get(), CLIENT_VARIANTS);
            assert_eq!(server_data.get(), CLIENT_VARIANTS);
            assert_eq!(server_received_fin.get(), CLIENT_VARIANTS);
            assert_eq!(server_closed.get(), 1);
            for log in &client_logs[1..] {
                assert_eq!(
                    log.entries(),
                    [
                        "connect",
                        "end",
                        "state=WriteOnly write=true",
                        "close false"
                    ]
                );
            }
        });
    }
}

mod connect_options_ipv6 {
    // Ported from nodejs/node test/parallel/net/connect-options-ipv6.js (test-net-connect-options-ipv6.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn family_6_is_passed_to_the_custom_lookup_and_honoured() {
        util::with_deadline(util::LIMIT, || {
            let host_addr_ipv6 = "::1";
            let lookups = Arc::new(AtomicUsize::new(0));
            let log = EventLog::new();
            let server_ends = counter();
            let se = server_ends.clone();
            let server = nodenet::create_server_with(
                nodenet::ServerOptions::default().allow_half_open(true),
                move |socket| {
                    socket.resume();
                    let se = se.clone();
                    socket.on_end(move |_| bump(&se));
                    socket.end();
                },
            );
            let (l, seen) = (log.clone(), Arc::clone(&lookups));
            server
                .listen((0, host_addr_ipv6))
                .on_listening(move |server| {
                    let seen = Arc::clone(&seen);
                    let client = nodenet::connect(
                        ConnectOptions::port(port_of(server))
                            .host("dummy")
                            .family(6)
                            .allow_half_open(true)
                            .lookup(move |addr, family| {
                                seen.fetch_add(1, Ordering::SeqCst);
                                assert_eq!(addr, "dummy");
                                assert_eq!(family, 6);
                                Ok(vec!["::1".parse().unwrap()])
                            }),
                    );
                    let l2 = l.clone();
                    client.on_lookup(move |_, result, host| {
                        let (ip, family) = result.expect("lookup succeeds");
                        l2.push(format!("lookup {ip} {family} {host}"));
                    });
                    let (l2, server) = (l.clone(), server.clone());
                    client.on_connect(move |client| {
                        l2.push("connect");
                        client.resume();
                        let l3 = l2.clone();
                        client.on_end(move |client| {
                            l3.push("end");
                            let (l4, client) = (l3.clone(), client.clone());
                            // Wait for a later loop turn and check the socket is still writable.
                            nodenet::set_timeout(Duration::from_millis(10), move || {
                                l4.push(format!("state={:?}", client.ready_state()));
                                client.end();
                            });
                        });
                        let (l3, server) = (l2.clone(), server.clone());
                        client.on_close(move |_, had_error| {
                            l3.push(format!("close {had_error}"));
                            server.close();
                        });
                    });
                });
            nodenet::run().unwrap();
            assert_eq!(lookups.load(Ordering::SeqCst), 1);
            assert_eq!(server_ends.get(), 1);
            // Node's lookup here is synchronous, so its 'lookup' event fires inside connect();
            // with a listener added before, it is ('::1', 6, 'dummy').
            assert_eq!(
                log.entries(),
                [
                    "lookup ::1 IPv6 dummy",
                    "connect",
                    "end",
                    "state=WriteOnly",
                    "close false"
                ]
            );
        });
    }
}

mod connect_options_path {
    // Ported from nodejs/node test/parallel/net/connect-options-path.js (test-net-connect-options-path.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::path::PathBuf;

    const CLIENT_VARIANTS: usize = 12;

    #[test]
    fn every_way_to_connect_to_a_path_connects() {
        util::with_deadline(util::LIMIT, || {
            let server_path = util::temp_socket_path("net-connect-options-path-server");
            let connections = counter();
            let closes = counter();
            let n = connections.clone();
            let server = nodenet::create_server(move |socket| {
                bump(&n);
                socket.end_with("ok");
            });
            let (c, p) = (closes.clone(), server_path.clone());
            server.listen(&server_path).on_listening(move |server| {
                let path_text = p.to_string_lossy().into_owned();
                let targets: Vec<Box<dyn Fn() -> ConnectOptions>> = vec![
                    Box::new({
                        let p = p.clone();
                        move || ConnectOptions::from(p.as_path())
                    }),
                    Box::new({
                        let p = p.clone();
                        move || ConnectOptions::from(PathBuf::from(&p))
                    }),
                    Box::new({
                        let t = path_text.clone();
                        move || ConnectOptions::from(t.as_str())
                    }),
                    Box::new({
                        let p = p.clone();
                        move || ConnectOptions::path(&p)
                    }),
                ];
                let creators: [fn(ConnectOptions) -> Socket; 3] =
                    [nodenet::connect, nodenet::create_connection, |o| {
                        let s = Socket::new(SocketOptions::default());
                        s.connect(o);
                        s
                    }];
                for target in &targets {
                    for create in creators {
                        let client = create(target());
                        client.resume();
                        let (c, server) = (c.clone(), server.clone());
                        client.on_connect(move |client| {
                            client.end();
                            let (c, server) = (c.clone(), server.clone());
                            client.on_close(move |_, _| {
                                bump(&c);
                                if c.get() == CLIENT_VARIANTS {
                                    server.close();
                                }
                            });
                        });
                    }
                }
            });
            nodenet::run().unwrap();
            let _ = std::fs::remove_dir_all(server_path.parent().unwrap());
            assert_eq!(connections.get(), CLIENT_VARIANTS);
            assert_eq!(closes.get(), CLIENT_VARIANTS);
        });
    }
}

mod connect_options_port {
    // Ported from nodejs/node test/parallel/net/connect-options-port.js (test-net-connect-options-port.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    fn creators() -> [fn(ConnectOptions) -> Socket; 3] {
        [nodenet::connect, nodenet::create_connection, |o| {
            let s = Socket::new(SocketOptions::default());
            s.connect(o);
            s
        }]
    }

    /// Node also checks that bad port values (booleans, strings, NaN, -1, 65536, ...) and bad
    /// hints throw: a u16 cannot hold them, so those parts are JavaScript-only. The valid
    /// combinations of port and host are ported, then connecting to port 0 must fail.
    #[test]
    fn valid_port_and_host_combinations_connect_then_port_0_fails() {
        util::with_deadline(util::LIMIT, || {
            let targets: [fn(u16) -> ConnectOptions; 4] = [
                |p| ConnectOptions::from(p),
                |p| ConnectOptions::from((p, "localhost")),
                |p| ConnectOptions::port(p).family(4),
                |p| ConnectOptions::port(p).host("localhost").family(4),
            ];
            let expected_connections = targets.len() * creators().len();
            let server_connected = counter();
            let client_connects = counter();
            let errors = EventLog::new();

            let server = Server::new(Default::default());
            let (sc, s) = (server_connected.clone(), server.clone());
            server.on_connection(move |socket| {
                socket.end_with("ok");
                bump(&sc);
                if sc.get() == expected_connections {
                    s.close();
                }
            });
            let cc = client_connects.clone();
            server.listen((0, "127.0.0.1")).on_listening(move |server| {
                let port = port_of(server);
                for target in targets {
                    for create in creators() {
                        let client = create(target(port));
                        let cc = cc.clone();
                        client.on_connect(move |_| bump(&cc));
                        client.resume();
                    }
                }
            });
            // Try connecting to port 0 once the server is closed.
            let e = errors.clone();
            server.on_close(move |_| {
                let fail_targets: [fn() -> ConnectOptions; 3] = [
                    || ConnectOptions::port(0).family(4),
                    || ConnectOptions::port(0).family(4),
                    || ConnectOptions::port(0).host("localhost").family(4),
                ];
                for target in fail_targets {
                    for create in creators() {
                        let client = create(target());
                        client.on_connect(|_| panic!("connect to port 0 must fail"));
                        let e = e.clone();
                        client.on_error(move |_, err| e.push(err.to_string()));
                        client.resume();
                    }
                }
            });
            nodenet::run().unwrap();
            assert_eq!(server_connected.get(), expected_connections);
            assert_eq!(client_connects.get(), expected_connections);
            // Node: String(err) matches /^Error: connect E\w+.+$/; here it is exactly this.
            assert_eq!(errors.entries(), vec!["connect ECONNREFUSED 127.0.0.1"; 9]);
        });
    }
}

mod connect_paused_connection {
    // Ported from nodejs/node test/parallel/net/connect-paused-connection.js (test-net-connect-paused-connection.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn a_socket_paused_before_connect_does_not_keep_the_loop_alive() {
        util::with_deadline(util::LIMIT, || {
            let server = nodenet::create_server(|conn| {
                conn.unref();
            });
            server
                .listen(0)
                .on_listening(|server| {
                    nodenet::connect((port_of(server), "localhost")).pause();
                    nodenet::set_timeout(Duration::from_millis(1000), || {
                        panic!("expected run() to return")
                    })
                    .unref();
                })
                .unref();
            nodenet::run().unwrap();
        });
    }
}

mod dns_custom_lookup {
    // Ported from nodejs/node test/parallel/net/dns-custom-lookup.js (test-net-dns-custom-lookup.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    fn check(family: u8, log: EventLog, then: Option<Box<dyn FnOnce()>>) {
        let address = if family == 4 { "127.0.0.1" } else { "::1" };
        let then = Rc::new(Cell::new(then));
        let server = Server::new(Default::default());
        let s = server.clone();
        server.on_connection(move |client| {
            client.end();
            s.close();
            if let Some(then) = then.take() {
                then();
            }
        });
        server.listen((0, address)).on_listening(move |server| {
            let client = nodenet::connect(
                ConnectOptions::port(port_of(server))
                    .host("localhost")
                    .family(family)
                    .lookup(move |_, _| Ok(vec![address.parse().unwrap()])),
            );
            let l = log.clone();
            client.on_lookup(move |_, result, host| match result {
                Ok((ip, ip_family)) => l.push(format!("lookup {ip} {} {host}", ip_family.number())),
                Err(e) => l.push(format!("lookup error {e}")),
            });
            let l = log.clone();
            client.on_connect(move |_| l.push("connect"));
            let l = log.clone();
            client.on_close(move |_, had_error| l.push(format!("close {had_error}")));
        });
    }

    /// Node's test also feeds an `undefined` address to check ERR_INVALID_IP_ADDRESS; a Rust
    /// lookup returns `IpAddr`s, so that case cannot be written.
    #[test]
    fn custom_lookup_results_are_reported_and_used_for_both_families() {
        util::with_deadline(util::LIMIT, || {
            let log4 = EventLog::new();
            let log6 = EventLog::new();
            let l6 = log6.clone();
            check(4, log4.clone(), Some(Box::new(move || check(6, l6, None))));
            nodenet::run().unwrap();
            assert_eq!(
                log4.entries(),
                ["lookup 127.0.0.1 4 localhost", "connect", "close false"]
            );
            assert_eq!(
                log6.entries(),
                ["lookup ::1 6 localhost", "connect", "close false"]
            );
        });
    }
}

mod dns_error {
    // Ported from nodejs/node test/parallel/net/dns-error.js (test-net-dns-error.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn an_unresolvable_host_emits_lookup_error_then_error_then_close() {
        util::with_deadline(util::LIMIT, || {
            // A 64-character label cannot be put in a DNS query: the resolver fails locally.
            let host = "*".repeat(64);
            let log = EventLog::new();
            let socket = nodenet::connect((42, host.as_str()));
            socket.on_connect(|_| panic!("connect must not be emitted"));
            let l = log.clone();
            socket.on_error(move |_, e| {
                l.push(format!(
                    "error {} {:?} {:?} {:?}",
                    e.code(),
                    e.errno(),
                    e.syscall(),
                    e.hostname()
                ))
            });
            let l = log.clone();
            socket.on_lookup(move |_, result, host| match result {
                Ok(ok) => l.push(format!("lookup ok {ok:?}")),
                Err(e) => l.push(format!("lookup {} {host}", e.code())),
            });
            let l = log.clone();
            socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            nodenet::run().unwrap();
            // Node accepts ENOTFOUND or EAI_FAIL; v20 on this machine gives ENOTFOUND, -3008.
            assert_eq!(
                log.entries(),
                [
                    format!("lookup ENOTFOUND {host}"),
                    format!("error ENOTFOUND Some(-3008) Some(\"getaddrinfo\") Some({host:?})"),
                    "close true".to_string()
                ]
            );
        });
    }
}

mod dns_lookup_skip {
    // Ported from nodejs/node test/parallel/net/dns-lookup-skip.js (test-net-dns-lookup-skip.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    fn check(address: &'static str) -> Rc<Cell<usize>> {
        let closes = counter();
        let server = Server::new(Default::default());
        let s = server.clone();
        server.on_connection(move |client| {
            client.end();
            s.close();
        });
        let c = closes.clone();
        server.listen((0, address)).on_listening(move |server| {
            let client = nodenet::connect((port_of(server), address));
            client.on_lookup(|_, _, _| panic!("an IP literal must not be looked up"));
            let c = c.clone();
            client.on_close(move |_, _| bump(&c));
        });
        closes
    }

    #[test]
    fn ip_literals_are_not_looked_up() {
        util::with_deadline(util::LIMIT, || {
            let v4 = check("127.0.0.1");
            let v6 = check("::1");
            nodenet::run().unwrap();
            assert_eq!((v4.get(), v6.get()), (1, 1));
        });
    }
}

mod dns_lookup {
    // Ported from nodejs/node test/parallel/net/dns-lookup.js (test-net-dns-lookup.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn a_host_name_is_looked_up_with_the_host_reported() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            let s = server.clone();
            server.on_connection(move |client| {
                client.end();
                s.close();
            });
            let l = log.clone();
            server.listen(0).on_listening(move |server| {
                let l = l.clone();
                nodenet::connect((port_of(server), "localhost")).on_lookup(
                    move |_, result, host| match result {
                        Ok((ip, family)) => {
                            l.push(format!("lookup {ip} {} {host}", family.number()))
                        }
                        Err(e) => l.push(format!("lookup error {e}")),
                    },
                );
            });
            nodenet::run().unwrap();
            let entries = log.entries();
            assert!(!entries.is_empty(), "lookup must be emitted at least once");
            for entry in entries {
                assert!(
                    entry == "lookup 127.0.0.1 4 localhost" || entry == "lookup ::1 6 localhost",
                    "{entry}"
                );
            }
        });
    }
}

mod during_close {
    // Ported from nodejs/node test/parallel/net/during-close.js (test-net-during-close.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn remote_fields_of_a_connecting_socket_are_absent() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = nodenet::create_server(|socket| {
                socket.end();
            });
            let l = log.clone();
            server.listen(0).on_listening(move |server| {
                let client = nodenet::create_connection(port_of(server));
                server.close();
                // The server's connection event has not fired, the client is still connecting:
                // reading these must not panic.
                l.push(format!(
                    "{:?} {:?} {:?}",
                    client.remote_address(),
                    client.remote_family(),
                    client.remote_port()
                ));
                // Node exits the process here; the port ends the client instead.
                client.destroy();
            });
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["None None None"]);
        });
    }
}

mod eaddrinuse {
    // Ported from nodejs/node test/parallel/net/eaddrinuse.js (test-net-eaddrinuse.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn listening_twice_on_a_port_emits_eaddrinuse() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server1 = nodenet::create_server(|_| {});
            let server2 = nodenet::create_server(|_| {});
            let l = log.clone();
            server1.listen(0).on_listening(move |server1| {
                let port = port_of(server1);
                let (l, s1) = (l.clone(), server1.clone());
                server2.on_error(move |_, error| {
                    assert!(error.to_string().contains("EADDRINUSE"));
                    l.push(error.to_string().replace(&port.to_string(), "P"));
                    s1.close();
                });
                server2.listen(port);
            });
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                ["listen EADDRINUSE: address already in use :::P"]
            );
        });
    }
}

mod end_destroyed {
    // Ported from nodejs/node test/parallel/net/end-destroyed.js (test-net-end-destroyed.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn the_socket_is_not_destroyed_when_end_is_emitted() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            let connections = counter();
            let n = connections.clone();
            server.on_connection(move |_| bump(&n));
            let l = log.clone();
            server.listen(0).on_listening(move |server| {
                let socket = nodenet::create_connection(ConnectOptions::port(port_of(server)));
                let (l2, server) = (l.clone(), server.clone());
                socket.on_connect(move |socket| {
                    let (l3, server) = (l2.clone(), server.clone());
                    socket.on_end(move |socket| {
                        l3.push(format!("end destroyed={}", socket.destroyed()));
                        server.close();
                    });
                    socket.end();
                });
                let l2 = l.clone();
                socket.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
            });
            nodenet::run().unwrap();
            assert_eq!(connections.get(), 1);
            assert_eq!(log.entries(), ["end destroyed=false", "close false"]);
        });
    }
}

mod end_without_connect {
    // Ported from nodejs/node test/parallel/net/end-without-connect.js (test-net-end-without-connect.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    /// On Node's main branch end()'s callback runs; Node v20 (the reference) runs neither the
    /// callback nor any event, and the process exits: the socket just stops being writable.
    #[test]
    fn end_on_a_never_connected_socket_only_stops_writing() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let sock = Socket::new(SocketOptions::default());
            let l = log.clone();
            sock.on_finish(move |_| l.push("finish"));
            let l = log.clone();
            sock.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            sock.on_error(|_, e| panic!("no error expected: {e}"));
            sock.end();
            log.push(format!(
                "sync state={:?} destroyed={} pending={}",
                sock.ready_state(),
                sock.destroyed(),
                sock.pending()
            ));
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                ["sync state=ReadOnly destroyed=false pending=true"]
            );
        });
    }
}

mod error_twice {
    // Ported from nodejs/node test/parallel/net/error-twice.js (test-net-error-twice.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn a_write_to_a_destroyed_peer_emits_one_error() {
        util::with_deadline(util::LIMIT, || {
            let buf = vec![0x62u8; 10 * 1024 * 1024];
            let errs = EventLog::new();
            let server_closes = counter();
            let client_socket: Rc<RefCell<Option<Socket>>> = Rc::default();
            let server_socket: Rc<RefCell<Option<Socket>>> = Rc::default();
            let ready = {
                let (c, s) = (client_socket.clone(), server_socket.clone());
                Rc::new(move || {
                    if let (Some(client), Some(server)) = (&*c.borrow(), &*s.borrow()) {
                        client.destroy();
                        server.write(buf.clone());
                    }
                })
            };

            let server = Server::new(Default::default());
            let (e, sc, ss, rd, srv) = (
                errs.clone(),
                server_closes.clone(),
                server_socket.clone(),
                ready.clone(),
                server.clone(),
            );
            server.on_connection(move |conn| {
                let e = e.clone();
                conn.on_error(move |_, err| e.push(err.code().to_string()));
                let (sc, srv) = (sc.clone(), srv.clone());
                conn.on_close(move |_, _| {
                    bump(&sc);
                    srv.unref();
                });
                *ss.borrow_mut() = Some(conn);
                rd();
            });
            let (cs, rd) = (client_socket.clone(), ready.clone());
            server.listen(0).on_listening(move |server| {
                let client = nodenet::connect(ConnectOptions::port(port_of(server)));
                let (cs, rd) = (cs.clone(), rd.clone());
                client.on_connect(move |client| {
                    *cs.borrow_mut() = Some(client.clone());
                    rd();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(server_closes.get(), 1);
            let errs = errs.entries();
            assert_eq!(errs.len(), 1, "{errs:?}");
            // Node v20 here: EPIPE (syscall write); ECONNRESET is the other possible outcome.
            assert!(errs[0] == "EPIPE" || errs[0] == "ECONNRESET", "{errs:?}");
        });
    }

    /// The cause of the intermittent ENOTCONN above, made deterministic (not in Node's file): a
    /// socket that is not reading gets a reset from its peer, then ends. Node v20 ignores the
    /// shutdown failure ('finish'), and reports the reset only when it reads.
    #[test]
    #[cfg_attr(
        windows,
        ignore = "Wine closes a socket with unread data with a FIN, not a reset as Linux and Windows do"
    )]
    fn end_after_an_unnoticed_peer_reset_finishes_and_the_reset_comes_from_read() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let y_cell: Rc<RefCell<Option<Socket>>> = Rc::default();
            let server = Server::new(nodenet::ServerOptions::default().pause_on_connect(true));
            let (l, yc, srv) = (log.clone(), y_cell.clone(), server.clone());
            server.on_connection(move |x| {
                let l2 = l.clone();
                x.on_finish(move |x| {
                    l2.push("x finish");
                    x.resume();
                });
                let l2 = l.clone();
                x.on_error(move |_, e| l2.push(format!("x error {} {:?}", e.code(), e.syscall())));
                let (l2, srv) = (l.clone(), srv.clone());
                x.on_close(move |_, had_error| {
                    l2.push(format!("x close {had_error}"));
                    srv.close();
                });
                let x_ports = (x.local_port().unwrap(), x.remote_port().unwrap());
                let (l2, yc) = (l.clone(), yc.clone());
                x.write_with("hello", move |x, err| {
                    assert!(err.is_none());
                    let y = yc.borrow_mut().take().expect("client exists");
                    let (l3, x) = (l2.clone(), x.clone());
                    y.on_close(move |_, _| {
                        // Wait until the kernel has taken x's connection down (the reset
                        // arrived); x is paused, so nodenet has not read it.
                        assert!(util::eventually(util::LIMIT, || {
                            util::tcp_rx_queue(x_ports.0, x_ports.1).is_none()
                        }));
                        l3.push("x end() called");
                        x.end();
                    });
                    // "hello" is unread in y's receive buffer: closing y sends a reset.
                    y.destroy();
                });
            });
            let yc = y_cell.clone();
            server.listen((0, "127.0.0.1")).on_listening(move |server| {
                let y = nodenet::connect((port_of(server), "127.0.0.1"));
                y.pause();
                *yc.borrow_mut() = Some(y);
            });
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                [
                    "x end() called",
                    "x finish",
                    "x error ECONNRESET Some(\"read\")",
                    "x close true"
                ]
            );
        });
    }
}

mod isip {
    // Ported from nodejs/node test/parallel/net/isip.js (test-net-isip.js in v20). MIT licence, Copyright Node.js contributors.
    use nodenet::{is_ip, is_ipv4, is_ipv6};

    #[test]
    fn is_ip_classifies_addresses() {
        assert_eq!(is_ip("127.0.0.1"), 4);
        assert_eq!(is_ip("x127.0.0.1"), 0);
        assert_eq!(is_ip("example.com"), 0);
        assert_eq!(is_ip("0000:0000:0000:0000:0000:0000:0000:0000"), 6);
        assert_eq!(is_ip("0000:0000:0000:0000:0000:0000:0000:0000::0000"), 0);
        assert_eq!(is_ip("1050:0:0:0:5:600:300c:326b"), 6);
        assert_eq!(is_ip("2001:252:0:1::2008:6"), 6);
        assert_eq!(is_ip("2001:dead:beef:1::2008:6"), 6);
        assert_eq!(is_ip("2001::"), 6);
        assert_eq!(is_ip("2001:dead::"), 6);
        assert_eq!(is_ip("2001:dead:beef::"), 6);
        assert_eq!(is_ip("2001:dead:beef:1::"), 6);
        assert_eq!(is_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 6);
        assert_eq!(is_ip(":2001:252:0:1::2008:6:"), 0);
        assert_eq!(is_ip(":2001:252:0:1::2008:6"), 0);
        assert_eq!(is_ip("2001:252:0:1::2008:6:"), 0);
        assert_eq!(is_ip("2001:252::1::2008:6"), 0);
        assert_eq!(is_ip("::2001:252:1:2008:6"), 6);
        assert_eq!(is_ip("::2001:252:1:1.1.1.1"), 6);
        assert_eq!(is_ip("::2001:252:1:255.255.255.255"), 6);
        assert_eq!(is_ip("::2001:252:1:255.255.255.255.76"), 0);
        assert_eq!(is_ip("fe80::2008%eth0"), 6);
        assert_eq!(is_ip("fe80::2008%eth0.0"), 6);
        assert_eq!(is_ip("fe80::2008%eth0@1"), 0);
        assert_eq!(is_ip("::anything"), 0);
        assert_eq!(is_ip("::1"), 6);
        assert_eq!(is_ip("::"), 6);
        assert_eq!(is_ip("0000:0000:0000:0000:0000:0000:12345:0000"), 0);
        assert_eq!(is_ip("0"), 0);
        assert_eq!(is_ip(""), 0);
        // Node coerces non-strings with String(): undefined, null, 123, true, {} and objects
        // with a toString() become these strings.
        for coerced in ["undefined", "null", "123", "true", "[object Object]", "bla"] {
            assert_eq!(is_ip(coerced), 0, "{coerced}");
        }
        assert_eq!(is_ip("::2001:252:1:255.255.255.255"), 6);
    }

    #[test]
    fn is_ipv4_accepts_only_ipv4() {
        assert!(is_ipv4("127.0.0.1"));
        assert!(!is_ipv4("example.com"));
        assert!(!is_ipv4("2001:252:0:1::2008:6"));
        assert!(!is_ipv4(""));
        for coerced in ["undefined", "null", "123", "true", "[object Object]", "bla"] {
            assert!(!is_ipv4(coerced), "{coerced}");
        }
        assert!(!is_ipv4("::2001:252:1:255.255.255.255"));
    }

    #[test]
    fn is_ipv6_accepts_only_ipv6() {
        assert!(!is_ipv6("127.0.0.1"));
        assert!(!is_ipv6("example.com"));
        assert!(is_ipv6("2001:252:0:1::2008:6"));
        assert!(!is_ipv6(""));
        for coerced in ["undefined", "null", "123", "true", "[object Object]", "bla"] {
            assert!(!is_ipv6(coerced), "{coerced}");
        }
        assert!(is_ipv6("::2001:252:1:255.255.255.255"));
    }
}

mod isipv4 {
    // Ported from nodejs/node test/parallel/net/isipv4.js (test-net-isipv4.js in v20). MIT licence, Copyright Node.js contributors.

    const V4: &[&str] = &[
        "0.0.0.0",
        "8.8.8.8",
        "127.0.0.1",
        "100.100.100.100",
        "192.168.0.1",
        "18.101.25.153",
        "123.23.34.2",
        "172.26.168.134",
        "212.58.241.131",
        "128.0.0.0",
        "23.71.254.72",
        "223.255.255.255",
        "192.0.2.235",
        "99.198.122.146",
        "46.51.197.88",
        "173.194.34.134",
    ];

    const V4_NOT: &[&str] = &[
        ".100.100.100.100",
        "100..100.100.100.",
        "100.100.100.100.",
        "999.999.999.999",
        "256.256.256.256",
        "256.100.100.100.100",
        "123.123.123",
        "http://123.123.123",
        "1000.2.3.4",
        "999.2.3.4",
        "0000000192.168.0.200",
        "192.168.0.2000000000",
    ];

    #[test]
    fn valid_and_invalid_ipv4_strings() {
        for ip in V4 {
            assert!(nodenet::is_ipv4(ip), "{ip} is IPv4");
        }
        for ip in V4_NOT {
            assert!(!nodenet::is_ipv4(ip), "{ip} is not IPv4");
        }
    }
}

mod isipv6 {
    // Ported from nodejs/node test/parallel/net/isipv6.js (test-net-isipv6.js in v20). MIT licence, Copyright Node.js contributors.

    const V6: &[&str] = &[
        "::",
        "1::",
        "::1",
        "1::8",
        "1::7:8",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6::8",
        "1:2:3:4:5:6:7::",
        "1:2:3:4:5::7:8",
        "1:2:3:4:5::8",
        "1:2:3::8",
        "1::4:5:6:7:8",
        "1::6:7:8",
        "1::3:4:5:6:7:8",
        "1:2:3:4::6:7:8",
        "1:2::4:5:6:7:8",
        "::2:3:4:5:6:7:8",
        "1:2::8",
        "2001:0000:1234:0000:0000:C1C0:ABCD:0876",
        "3ffe:0b00:0000:0000:0001:0000:0000:000a",
        "FF02:0000:0000:0000:0000:0000:0000:0001",
        "0000:0000:0000:0000:0000:0000:0000:0001",
        "0000:0000:0000:0000:0000:0000:0000:0000",
        "::ffff:192.168.1.26",
        "2::10",
        "ff02::1",
        "fe80::",
        "2002::",
        "2001:db8::",
        "2001:0db8:1234::",
        "::ffff:0:0",
        "::ffff:192.168.1.1",
        "1:2:3:4::8",
        "1::2:3:4:5:6:7",
        "1::2:3:4:5:6",
        "1::2:3:4:5",
        "1::2:3:4",
        "1::2:3",
        "::2:3:4:5:6:7",
        "::2:3:4:5:6",
        "::2:3:4:5",
        "::2:3:4",
        "::2:3",
        "::8",
        "1:2:3:4:5:6::",
        "1:2:3:4:5::",
        "1:2:3:4::",
        "1:2:3::",
        "1:2::",
        "1:2:3:4::7:8",
        "1:2:3::7:8",
        "1:2::7:8",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5::1.2.3.4",
        "1:2:3:4::1.2.3.4",
        "1:2:3::1.2.3.4",
        "1:2::1.2.3.4",
        "1::1.2.3.4",
        "1:2:3:4::5:1.2.3.4",
        "1:2:3::5:1.2.3.4",
        "1:2::5:1.2.3.4",
        "1::5:1.2.3.4",
        "1::5:11.22.33.44",
        "fe80::217:f2ff:254.7.237.98",
        "fe80::217:f2ff:fe07:ed62",
        "2001:DB8:0:0:8:800:200C:417A",
        "FF01:0:0:0:0:0:0:101",
        "0:0:0:0:0:0:0:1",
        "0:0:0:0:0:0:0:0",
        "2001:DB8::8:800:200C:417A",
        "FF01::101",
        "0:0:0:0:0:0:13.1.68.3",
        "0:0:0:0:0:FFFF:129.144.52.38",
        "::13.1.68.3",
        "::FFFF:129.144.52.38",
        "fe80:0000:0000:0000:0204:61ff:fe9d:f156",
        "fe80:0:0:0:204:61ff:fe9d:f156",
        "fe80::204:61ff:fe9d:f156",
        "fe80:0:0:0:204:61ff:254.157.241.86",
        "fe80::204:61ff:254.157.241.86",
        "fe80::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "2001:db8:85a3:0:0:8a2e:370:7334",
        "2001:db8:85a3::8a2e:370:7334",
        "2001:0db8:0000:0000:0000:0000:1428:57ab",
        "2001:0db8:0000:0000:0000::1428:57ab",
        "2001:0db8:0:0:0:0:1428:57ab",
        "2001:0db8:0:0::1428:57ab",
        "2001:0db8::1428:57ab",
        "2001:db8::1428:57ab",
        "::ffff:12.34.56.78",
        "::ffff:0c22:384e",
        "2001:0db8:1234:0000:0000:0000:0000:0000",
        "2001:0db8:1234:ffff:ffff:ffff:ffff:ffff",
        "2001:db8:a::123",
        "::ffff:192.0.2.128",
        "::ffff:c000:280",
        "a:b:c:d:e:f:f1:f2",
        "a:b:c::d:e:f:f1",
        "a:b:c::d:e:f",
        "a:b:c::d:e",
        "a:b:c::d",
        "::a",
        "::a:b:c",
        "::a:b:c:d:e:f:f1",
        "a::",
        "a:b:c::",
        "a:b:c:d:e:f:f1::",
        "a:bb:ccc:dddd:000e:00f:0f::",
        "0:a:0:a:0:0:0:a",
        "0:a:0:0:a:0:0:a",
        "2001:db8:1:1:1:1:0:0",
        "2001:db8:1:1:1:0:0:0",
        "2001:db8:1:1:0:0:0:0",
        "2001:db8:1:0:0:0:0:0",
        "2001:db8:0:0:0:0:0:0",
        "2001:0:0:0:0:0:0:0",
        "A:BB:CCC:DDDD:000E:00F:0F::",
        "0:0:0:0:0:0:0:a",
        "0:0:0:0:a:0:0:0",
        "0:0:0:a:0:0:0:0",
        "a:0:0:a:0:0:a:a",
        "a:0:0:a:0:0:0:a",
        "a:0:0:0:a:0:0:a",
        "a:0:0:0:a:0:0:0",
        "a:0:0:0:0:0:0:0",
        "fe80::7:8%eth0",
        "fe80::7:8%1",
    ];

    const V6_NOT: &[&str] = &[
        "",
        "1:",
        ":1",
        "11:36:12",
        "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
        "2001:0000:1234:0000:00001:C1C0:ABCD:0876",
        "2001:0000:1234: 0000:0000:C1C0:ABCD:0876",
        "2001:1:1:1:1:1:255Z255X255Y255",
        "3ffe:0b00:0000:0001:0000:0000:000a",
        "FF02:0000:0000:0000:0000:0000:0000:0000:0001",
        "3ffe:b00::1::a",
        "::1111:2222:3333:4444:5555:6666::",
        "1:2:3::4:5::7:8",
        "12345::6:7:8",
        "1::5:400.2.3.4",
        "1::5:260.2.3.4",
        "1::5:256.2.3.4",
        "1::5:1.256.3.4",
        "1::5:1.2.256.4",
        "1::5:1.2.3.256",
        "1::5:300.2.3.4",
        "1::5:1.300.3.4",
        "1::5:1.2.300.4",
        "1::5:1.2.3.300",
        "1::5:900.2.3.4",
        "1::5:1.900.3.4",
        "1::5:1.2.900.4",
        "1::5:1.2.3.900",
        "1::5:300.300.300.300",
        "1::5:3000.30.30.30",
        "1::400.2.3.4",
        "1::260.2.3.4",
        "1::256.2.3.4",
        "1::1.256.3.4",
        "1::1.2.256.4",
        "1::1.2.3.256",
        "1::300.2.3.4",
        "1::1.300.3.4",
        "1::1.2.300.4",
        "1::1.2.3.300",
        "1::900.2.3.4",
        "1::1.900.3.4",
        "1::1.2.900.4",
        "1::1.2.3.900",
        "1::300.300.300.300",
        "1::3000.30.30.30",
        "::400.2.3.4",
        "::260.2.3.4",
        "::256.2.3.4",
        "::1.256.3.4",
        "::1.2.256.4",
        "::1.2.3.256",
        "::300.2.3.4",
        "::1.300.3.4",
        "::1.2.300.4",
        "::1.2.3.300",
        "::900.2.3.4",
        "::1.900.3.4",
        "::1.2.900.4",
        "::1.2.3.900",
        "::300.300.300.300",
        "::3000.30.30.30",
        "2001:DB8:0:0:8:800:200C:417A:221",
        "FF01::101::2",
        "1111:2222:3333:4444::5555:",
        "1111:2222:3333::5555:",
        "1111:2222::5555:",
        "1111::5555:",
        "::5555:",
        ":::",
        "1111:",
        ":",
        ":1111:2222:3333:4444::5555",
        ":1111:2222:3333::5555",
        ":1111:2222::5555",
        ":1111::5555",
        ":::5555",
        "1.2.3.4:1111:2222:3333:4444::5555",
        "1.2.3.4:1111:2222:3333::5555",
        "1.2.3.4:1111:2222::5555",
        "1.2.3.4:1111::5555",
        "1.2.3.4::5555",
        "1.2.3.4::",
        "fe80:0000:0000:0000:0204:61ff:254.157.241.086",
        "123",
        "ldkfj",
        "2001::FFD3::57ab",
        "2001:db8:85a3::8a2e:37023:7334",
        "2001:db8:85a3::8a2e:370k:7334",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "1:::3:4:5",
        "1:2:3::4:5:6:7:8:9",
        "::ffff:2.3.4",
        "::ffff:257.1.2.3",
        "::ffff:12345678901234567890.1.26",
        "2001:0000:1234:0000:0000:C1C0:ABCD:0876 0",
        "02001:0000:1234:0000:0000:C1C0:ABCD:0876",
    ];

    #[test]
    fn valid_and_invalid_ipv6_strings() {
        for ip in V6 {
            assert!(nodenet::is_ipv6(ip), "{ip} is IPv6");
        }
        for ip in V6_NOT {
            assert!(!nodenet::is_ipv6(ip), "{ip} is not IPv6");
        }
    }
}

mod keepalive {
    // Ported from nodejs/node test/parallel/net/keepalive.js (test-net-keepalive.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn keep_alive_probes_do_not_disturb_open_connections() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let client_connection: Rc<RefCell<Option<Socket>>> = Rc::default();
            let echo_server = Server::new(Default::default());
            let (l, cc, es) = (log.clone(), client_connection.clone(), echo_server.clone());
            echo_server.on_connection(move |connection| {
                let (l, cc, es, server_connection) =
                    (l.clone(), cc.clone(), es.clone(), connection.clone());
                nodenet::set_timeout(Duration::from_millis(100), move || {
                    // Make sure both connections are still open.
                    let client = cc.borrow().clone().expect("client exists");
                    l.push(format!(
                        "server {:?} client {:?}",
                        server_connection.ready_state(),
                        client.ready_state()
                    ));
                    server_connection.end();
                    client.end();
                    es.close();
                });
                connection.set_timeout(Duration::ZERO);
                // Send a keepalive packet after 50 ms.
                connection.set_keep_alive(true, Duration::from_millis(50));
                connection.on_end(|connection| {
                    connection.end();
                });
            });
            echo_server.listen(0);
            let cc = client_connection.clone();
            echo_server.on_listening(move |echo_server| {
                let client = nodenet::create_connection(port_of(echo_server));
                client.set_timeout(Duration::ZERO);
                *cc.borrow_mut() = Some(client);
            });
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["server Open client Open"]);
        });
    }
}

mod large_string {
    // Ported from nodejs/node test/parallel/net/large-string.js (test-net-large-string.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn a_large_multibyte_string_arrives_whole() {
        util::with_deadline(util::LIMIT, || {
            const K_POOL_SIZE: usize = 40 * 1024;
            let data = "あ".repeat(K_POOL_SIZE);
            let log = EventLog::new();
            let connections = counter();
            let (l, n) = (log.clone(), connections.clone());
            let server = nodenet::create_server(move |socket| {
                bump(&n);
                let received_size = Rc::new(Cell::new(0usize));
                socket.set_encoding(Some(Encoding::Utf8));
                let r = received_size.clone();
                socket.on_data(move |_, chunk| {
                    r.set(r.get() + chunk.text().unwrap().chars().count())
                });
                let l = l.clone();
                socket.on_end(move |socket| {
                    l.push(format!("server end received={}", received_size.get()));
                    socket.end();
                });
            });
            server.listen(0);
            let l = log.clone();
            server.on_listening(move |server| {
                let client = nodenet::create_connection(port_of(server));
                let (l, server) = (l.clone(), server.clone());
                client.on_end(move |_| {
                    l.push("client end");
                    server.close();
                });
                client.write_encoded(&data, Encoding::Utf8);
                client.end();
            });
            nodenet::run().unwrap();
            assert_eq!(connections.get(), 1);
            assert_eq!(
                log.entries(),
                [
                    format!("server end received={K_POOL_SIZE}"),
                    "client end".to_string()
                ]
            );
        });
    }
}

/// Node's listen-close-server.js and listen-close-server-callback-is-not-function.js: close()
/// right after listen() means no 'listening', no 'error', and one 'close'.
fn listen_then_close_at_once() -> Vec<String> {
    let log = EventLog::new();
    let server = nodenet::create_server(|_| panic!("no connection expected"));
    server.listen(0);
    server.on_listening(|_| panic!("listening must not be emitted"));
    server.on_error(|_, e| panic!("no error expected: {e}"));
    let l = log.clone();
    server.on_close(move |_| l.push("close"));
    server.close();
    nodenet::run().unwrap();
    log.entries()
}

mod listen_close_server_callback_is_not_function {
    // Ported from nodejs/node test/parallel/net/listen-close-server-callback-is-not-function.js (test-net-listen-close-server-callback-is-not-function.js in v20). MIT licence, Copyright Node.js contributors.

    /// Node passes a non-function to close(), which is ignored; Rust's types rule that out, so
    /// this is close() without a callback: 'close' is still emitted once.
    #[test]
    fn close_without_a_callback_right_after_listen_emits_close() {
        crate::util::with_deadline(crate::util::LIMIT, || {
            assert_eq!(super::listen_then_close_at_once(), ["close"]);
        });
    }
}

mod listen_close_server {
    // Ported from nodejs/node test/parallel/net/listen-close-server.js (test-net-listen-close-server.js in v20). MIT licence, Copyright Node.js contributors.

    #[test]
    fn close_right_after_listen_emits_no_listening_and_no_error() {
        crate::util::with_deadline(crate::util::LIMIT, || {
            assert_eq!(super::listen_then_close_at_once(), ["close"]);
        });
    }
}

mod listen_error {
    // Ported from nodejs/node test/parallel/net/listen-error.js (test-net-listen-error.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn listen_on_a_non_local_address_emits_error() {
        util::with_deadline(util::LIMIT, || {
            // Node uses 1.1.1.1 (EACCES or EADDRNOTAVAIL); 192.0.2.1 is never local either, and
            // bind(2) fails locally: no packet is sent. As root, Node v20 gives EADDRNOTAVAIL.
            let log = EventLog::new();
            let server = nodenet::create_server(|_| {});
            server.listen((1, "192.0.2.1"));
            server.on_listening(|_| panic!("listening must not be emitted"));
            let l = log.clone();
            server.on_error(move |_, e| l.push(e.code().to_string()));
            nodenet::run().unwrap();
            assert_eq!(log.entries(), ["EADDRNOTAVAIL"]);
        });
    }
}

#[cfg(unix)] // file descriptors and unix socket files
mod listen_fd0 {
    // Ported from nodejs/node test/parallel/net/listen-fd0.js (test-net-listen-fd0.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;
    use nodenet::ListenOptions;
    use std::os::fd::AsRawFd;

    #[test]
    fn listen_on_a_non_socket_fd_emits_an_async_error() {
        util::with_deadline(util::LIMIT, || {
            // Node listens on fd 0 (stdin). A test runner's stdin may be anything (or closed, and
            // then reused by another test's socket), so a /dev/null fd stands in for it.
            let dev_null = std::fs::File::open("/dev/null").unwrap();
            let log = EventLog::new();
            let server = nodenet::create_server(|_| panic!("no connection expected"));
            server.listen(ListenOptions::fd(dev_null.as_raw_fd()));
            log.push("after listen"); // the error is asynchronous, not a panic in listen()
            server.on_listening(|_| panic!("listening must not be emitted"));
            let l = log.clone();
            server.on_error(move |_, e| l.push(describe(e)));
            nodenet::run().unwrap();
            drop(dev_null);
            // Node accepts EINVAL or ENOTSOCK; v20 here: EINVAL, syscall listen, address null.
            assert_eq!(
                log.entries(),
                [
                    "after listen",
                    "code=EINVAL errno=Some(-22) syscall=Some(\"listen\") address=None port=None message=listen EINVAL: invalid argument"
                ]
            );
        });
    }
}

mod listening {
    // Ported from nodejs/node test/parallel/net/listening.js (test-net-listening.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn listening_is_true_between_listen_and_close() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            log.push(format!("before listen {}", server.listening()));
            let l = log.clone();
            server.listen(0).on_listening(move |server| {
                l.push(format!("listening {}", server.listening()));
                let l = l.clone();
                server.close_with(move |server, err| {
                    assert!(err.is_none());
                    l.push(format!("close cb {}", server.listening()));
                });
            });
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                ["before listen false", "listening true", "close cb false"]
            );
        });
    }
}

mod local_address_port {
    // Ported from nodejs/node test/parallel/net/local-address-port.js (test-net-local-address-port.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    #[test]
    fn accepted_socket_reports_the_servers_local_address_port_and_family() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let server = Server::new(Default::default());
            let (l, s) = (log.clone(), server.clone());
            server.on_connection(move |socket| {
                let info = s.address().unwrap().inet().unwrap().clone();
                l.push(format!(
                    "local {:?} port_matches={} family_matches={}",
                    socket.local_address(),
                    socket.local_port() == Some(info.port),
                    socket.local_family() == Some(info.family)
                ));
                let (l, s) = (l.clone(), s.clone());
                socket.on_end(move |_| {
                    l.push("server end");
                    s.close();
                });
                socket.resume();
            });
            server.listen((0, "127.0.0.1")).on_listening(|server| {
                let client = nodenet::create_connection((port_of(server), "127.0.0.1"));
                client.on_connect(|client| {
                    client.end();
                });
            });
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                [
                    "local Some(\"127.0.0.1\") port_matches=true family_matches=true",
                    "server end"
                ]
            );
        });
    }
}

mod localerror {
    // Ported from nodejs/node test/parallel/net/localerror.js (test-net-localerror.js in v20). MIT licence, Copyright Node.js contributors.
    use super::*;

    /// Node throws ERR_INVALID_IP_ADDRESS synchronously; nodenet reports it as an `error` event
    /// (by design). Node's second case (`localPort: 'foobar'`, ERR_INVALID_ARG_TYPE) cannot be
    /// written with a u16.
    #[test]
    fn an_invalid_local_address_reports_err_invalid_ip_address() {
        util::with_deadline(util::LIMIT, || {
            let log = EventLog::new();
            let socket = nodenet::connect(
                ConnectOptions::port(0)
                    .host("localhost")
                    .local_address("foobar"),
            );
            socket.on_connect(|_| panic!("connect must not be emitted"));
            socket.on_lookup(|_, _, _| panic!("nothing is looked up"));
            let l = log.clone();
            socket.on_error(move |_, e| l.push(format!("error {} {}", e.code(), e)));
            let l = log.clone();
            socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
            nodenet::run().unwrap();
            assert_eq!(
                log.entries(),
                [
                    "error ERR_INVALID_IP_ADDRESS Invalid IP address: foobar",
                    "close true"
                ]
            );
        });
    }
}

// Not ported:
// access-byteswritten.js: JS-only (the bytesWritten getter on prototypes of net/tls/tty classes).
// autoselectfamily.js: not yet: planned (autoSelectFamily, happy eyeballs, connectionAttempt* events).
// autoselectfamily-attempt-timeout-cli-option.js: not yet: planned (autoSelectFamily; also a Node CLI flag).
// autoselectfamily-attempt-timeout-default-value.js: not yet: planned (autoSelectFamilyAttemptTimeout default).
// autoselectfamily-commandline-option.js: not yet: planned (autoSelectFamily; also a Node CLI flag).
// autoselectfamily-default.js: not yet: planned (autoSelectFamily default and setDefaultAutoSelectFamily).
// autoselectfamily-ipv4first.js: not yet: planned (autoSelectFamily with --dns-result-order=ipv4first).
// child-process-connect-reset.js: child_process (a killed child's socket).
// connect-abort-controller.js: AbortSignal, which nodenet lacks.
// connect-keepalive.js: not yet: planned (keepAlive/keepAliveInitialDelay connect options; checks via a patched _handle).
// connect-memleak.js: needs the JS garbage collector (--expose-gc, onGC); nodenet has no once-style connect callback.
// connect-nodelay.js: not yet: planned (noDelay connect option; checks via a patched _handle).
// connect-options-fd.js: nodenet lacks connect({ fd }) (wrapping an existing fd), and the test uses internal pipe_wrap bindings.
// connect-options-invalid.js: JS-only argument validation (objectMode options).
// connect-reset.js: not yet: planned (resetAndDestroy).
// connect-reset-after-destroy.js: not yet: planned (resetAndDestroy).
// connect-reset-before-connected.js: not yet: planned (resetAndDestroy).
// connect-reset-until-connected.js: not yet: planned (resetAndDestroy).
// deprecated-setsimultaneousaccepts.js: JS-only deprecation warning of a Windows-only API.
// end-close.js: internal bindings (a fake handle with streamBaseState/UV_EOF).
// listen-after-destroying-stdin.js: process.stdin, which has no nodenet counterpart.
// listen-exclusive-random-ports.js: cluster.
// listen-handle-in-cluster-1.js: cluster.
// listen-handle-in-cluster-2.js: cluster.
// listen-invalid-port.js: JS-only argument validation (ports beyond u16) and the internal _connectionKey.
// listen-ipv6only.js: not yet: planned (ipv6Only listen option).
// listen-twice.js: cluster (listen twice in a worker).
