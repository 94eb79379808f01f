//! Local sockets on Windows: named pipes (`\\.\pipe\name`), as libuv implements them under Node.
//!
//! Where pipes cannot do what a unix socket does, these tests pin down what nodenet does instead
//! (libuv's behaviour): there is no half-close, so after `end()` the stream counts as ended once
//! the peer has been silent for 50 ms, and the socket then closes; the peer sees its end only then,
//! and a write after that fails with `EPIPE`. Destroying a pipe is a plain end for the peer (pipes
//! have no reset).
#![cfg(windows)]

mod util;

use nodenet::{Address, ServerOptions, Socket};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::rc::Rc;
use util::{EventLog, LIMIT, with_deadline};

/// A fresh pipe name.
fn pipe_name(name: &str) -> PathBuf {
    util::temp_socket_path(name)
}

fn trace(log: &EventLog, who: &'static str, socket: &Socket) {
    let l = log.clone();
    socket.on_end(move |_| l.push(format!("{who} end")));
    let l = log.clone();
    socket.on_finish(move |_| l.push(format!("{who} finish")));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("{who} error {} {:?}", e.code(), e.syscall())));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("{who} close {had_error}")));
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

#[test]
fn a_pipe_server_reports_its_name_and_accepted_sockets_have_no_inet_addresses() {
    with_deadline(LIMIT, || {
        let path = pipe_name("addr");
        let shown = path.to_string_lossy().into_owned();
        let log = EventLog::new();
        let server = nodenet::create_server({
            let log = log.clone();
            move |accepted| {
                log.push(format!(
                    "accepted remote={:?} local={:?} address={:?}",
                    accepted.remote_address(),
                    accepted.local_address(),
                    accepted.address()
                ));
                accepted.end();
            }
        });
        server.listen(path.as_path());
        assert_eq!(server.address(), Some(Address::Path(shown.clone())));
        let client = nodenet::connect(path.as_path());
        let l = log.clone();
        let s = server.clone();
        client.on_connect(move |c| {
            l.push(format!("client connect remote={:?}", c.remote_address()));
        });
        client.on_close(move |_, _| {
            s.close();
        });
        client.resume();
        nodenet::run().unwrap();
        // `connection` and `connect` come from two threads: either may be first.
        let mut entries = log.entries();
        entries.sort();
        assert_eq!(
            entries,
            [
                "accepted remote=None local=None address=None",
                "client connect remote=None"
            ]
        );
    });
}

#[test]
fn echo_of_several_mib_both_ways_at_once_arrives_intact() {
    with_deadline(LIMIT, || {
        const SIZE: usize = 4 * 1024 * 1024;
        let path = pipe_name("echo");
        let log = EventLog::new();
        let server = nodenet::create_server({
            let log = log.clone();
            move |accepted| {
                trace(&log, "S", &accepted);
                // Echo: the server writes while the client is still writing.
                accepted.pipe(&accepted);
            }
        });
        server.listen(path.as_path());
        let sent = pattern(SIZE, 0x5a);
        let received = Rc::new(RefCell::new(Vec::with_capacity(SIZE)));
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        {
            let received = received.clone();
            client.on_data(move |c, chunk| {
                let mut received = received.borrow_mut();
                received.extend_from_slice(chunk.bytes());
                if received.len() == SIZE {
                    c.end();
                }
            });
        }
        // Several writes, most of them queued behind a pipe that is full both ways.
        for piece in sent.chunks(256 * 1024) {
            client.write(piece.to_vec());
        }
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(received.borrow().len(), SIZE);
        assert!(
            *received.borrow() == sent,
            "the echo differs from what was sent"
        );
        let entries = log.entries();
        let side = |who: &str| -> Vec<String> {
            entries
                .iter()
                .filter(|e| e.starts_with(who))
                .cloned()
                .collect()
        };
        assert_eq!(side("C "), ["C finish", "C end", "C close false"]);
        assert_eq!(side("S "), ["S end", "S finish", "S close false"]);
    });
}

#[test]
fn several_concurrent_clients_are_each_served() {
    with_deadline(LIMIT, || {
        const CLIENTS: usize = 12;
        let path = pipe_name("many");
        let server = nodenet::create_server(|accepted| {
            accepted.on_data(|c, chunk| {
                let text = String::from_utf8_lossy(chunk.bytes()).into_owned();
                c.end_with(format!("echo {text}"));
            });
        });
        server.listen(path.as_path());
        let replies: Rc<RefCell<BTreeSet<String>>> = Rc::default();
        let closed = Rc::new(RefCell::new(0));
        for i in 0..CLIENTS {
            let client = nodenet::connect(path.as_path());
            client.write(format!("client {i:02}"));
            let replies = replies.clone();
            client.on_data(move |_, chunk| {
                replies
                    .borrow_mut()
                    .insert(String::from_utf8_lossy(chunk.bytes()).into_owned());
            });
            let closed = closed.clone();
            let server = server.clone();
            client.on_close(move |_, had_error| {
                assert!(!had_error);
                *closed.borrow_mut() += 1;
                if *closed.borrow() == CLIENTS {
                    server.close();
                }
            });
        }
        nodenet::run().unwrap();
        let expected: BTreeSet<String> = (0..CLIENTS)
            .map(|i| format!("echo client {i:02}"))
            .collect();
        assert_eq!(*replies.borrow(), expected);
    });
}

#[test]
fn server_close_stops_accepting_and_waits_for_connected_clients() {
    with_deadline(LIMIT, || {
        // As with libuv: once closed, no instance waits for clients; while accepted pipes live the
        // name exists with every instance busy, so a new client waits, and fails with ENOENT when
        // the last one closes and the name disappears.
        let path = pipe_name("closing");
        let log = EventLog::new();
        let clients: Rc<RefCell<Vec<Socket>>> = Rc::default();
        let accepted_count = Rc::new(RefCell::new(0));
        let server = nodenet::Server::new(ServerOptions::default());
        server.on_connection({
            let (server, clients, log, path) =
                (server.clone(), clients.clone(), log.clone(), path.clone());
            move |accepted| {
                accepted.on_data(|c, chunk| {
                    c.write(chunk.bytes().to_vec());
                });
                *accepted_count.borrow_mut() += 1;
                if *accepted_count.borrow() < 2 {
                    return;
                }
                // Both accepted: stop listening; a new client is not accepted, the connected
                // ones are still served.
                server.close();
                log.push(format!("listening {}", server.listening()));
                let late = nodenet::connect(path.as_path());
                late.on_connect(|_| panic!("a closed server accepted a client"));
                let l = log.clone();
                late.on_error(move |_, e| {
                    l.push(format!("late error {} {:?} {e}", e.code(), e.errno()));
                });
                let l = log.clone();
                late.on_close(move |_, had_error| l.push(format!("late close {had_error}")));
                for (client, text) in clients.borrow().iter().zip(["one", "two"]) {
                    client.write(text);
                }
            }
        });
        server.listen(path.as_path());
        let l = log.clone();
        server.on_close(move |_| l.push("server close"));
        for name in ["first", "second"] {
            let client = nodenet::connect(path.as_path());
            let l = log.clone();
            client.on_data(move |c, chunk| {
                l.push(format!(
                    "{name} data {}",
                    String::from_utf8_lossy(chunk.bytes())
                ));
                c.destroy();
            });
            let l = log.clone();
            client.on_close(move |_, had_error| l.push(format!("{name} close {had_error}")));
            clients.borrow_mut().push(client);
        }
        nodenet::run().unwrap();
        let shown = path.to_string_lossy().into_owned();
        let entries = log.entries();
        assert_eq!(entries[0], "listening false");
        let position = |entry: &str| {
            entries
                .iter()
                .position(|e| e == entry)
                .unwrap_or_else(|| panic!("no {entry:?} in {entries:?}"))
        };
        let late_error = format!("late error ENOENT Some(-4058) connect ENOENT {shown}");
        for entry in ["first data one", "second data two"] {
            assert!(position(entry) < position("server close"), "{entries:?}");
            assert!(position(entry) < position(&late_error), "{entries:?}");
        }
        assert!(position(&late_error) < position("late close true"));
        assert!(position("first close false") > position("first data one"));
        assert!(position("second close false") > position("second data two"));
        assert_eq!(entries.len(), 8, "{entries:?}");
    });
}

#[test]
fn connecting_to_a_missing_pipe_is_enoent_then_close_true() {
    with_deadline(LIMIT, || {
        let path = pipe_name("missing");
        let shown = path.to_string_lossy().into_owned();
        let log = EventLog::new();
        let client = nodenet::connect(path.as_path());
        let l = log.clone();
        client.on_error(move |_, e| {
            l.push(format!(
                "error {} {:?} {:?} {:?} {:?} | {e}",
                e.code(),
                e.errno(),
                e.syscall(),
                e.address(),
                e.port()
            ))
        });
        let l = log.clone();
        client.on_close(move |_, had_error| l.push(format!("close {had_error}")));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                format!(
                    "error ENOENT Some(-4058) Some(\"connect\") Some({shown:?}) None | connect ENOENT {shown}"
                ),
                "close true".to_string()
            ]
        );
    });
}

#[test]
fn listening_on_a_name_outside_the_pipe_namespace_is_eacces() {
    with_deadline(LIMIT, || {
        // libuv maps CreateNamedPipeW's ERROR_INVALID_NAME / ERROR_PATH_NOT_FOUND to EACCES.
        let path = std::env::temp_dir().join("nodenet-not-a-pipe.sock");
        let shown = path.to_string_lossy().into_owned();
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection expected"));
        let l = log.clone();
        server.on_error(move |s, e| {
            l.push(format!(
                "error {} {:?} {:?} listening={} | {e}",
                e.code(),
                e.errno(),
                e.syscall(),
                s.listening()
            ))
        });
        server.listen(path.as_path());
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [format!(
                "error EACCES Some(-4092) Some(\"listen\") listening=false | listen EACCES: permission denied {shown}"
            )]
        );
    });
}

#[test]
fn end_closes_after_the_peer_is_silent_and_the_peer_sees_data_then_end() {
    with_deadline(LIMIT, || {
        let path = pipe_name("end");
        let log = EventLog::new();
        let server = nodenet::create_server({
            let log = log.clone();
            move |accepted| {
                trace(&log, "S", &accepted);
                let l = log.clone();
                accepted.on_data(move |_, chunk| {
                    l.push(format!("S data {}", String::from_utf8_lossy(chunk.bytes())))
                });
            }
        });
        server.listen(path.as_path());
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        client.resume();
        client.end_with("bye");
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        // The client finishes, ends (its read timed out: libuv's eof timer) and closes; only its
        // close lets the server see the end; the server then ends (allowHalfOpen: false) and closes.
        let client_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("C ")).collect();
        let server_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("S ")).collect();
        assert_eq!(client_side, ["C finish", "C end", "C close false"]);
        assert_eq!(
            server_side,
            ["S data bye", "S end", "S finish", "S close false"]
        );
    });
}

#[test]
fn a_write_after_the_peer_ended_fails_with_epipe_as_pipes_have_no_half_close() {
    with_deadline(LIMIT, || {
        // With unix sockets, an allowHalfOpen server may still answer after the client's end();
        // a pipe end is a close, so the answer fails with EPIPE (as under Node on Windows).
        let path = pipe_name("halfopen");
        let log = EventLog::new();
        let server = nodenet::create_server_with(ServerOptions::default().allow_half_open(true), {
            let log = log.clone();
            move |accepted| {
                trace(&log, "S", &accepted);
                accepted.resume();
                accepted.on_end(|s| {
                    s.write("too late");
                });
            }
        });
        server.listen(path.as_path());
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        let l = log.clone();
        client.on_data(move |_, chunk| {
            l.push(format!("C data {}", String::from_utf8_lossy(chunk.bytes())))
        });
        client.end();
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let client_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("C ")).collect();
        let server_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("S ")).collect();
        assert_eq!(client_side, ["C finish", "C end", "C close false"]);
        assert_eq!(
            server_side,
            ["S end", "S error EPIPE Some(\"write\")", "S close true"]
        );
    });
}

#[test]
fn destroying_one_end_is_a_plain_end_for_the_other() {
    with_deadline(LIMIT, || {
        // Pipes have no reset: unread data or not, the peer of a destroyed end sees an end.
        let path = pipe_name("destroy");
        let log = EventLog::new();
        let server = nodenet::create_server({
            let log = log.clone();
            move |accepted| {
                trace(&log, "S", &accepted);
                let l = log.clone();
                accepted.on_data(move |s, chunk| {
                    l.push(format!("S data {}", String::from_utf8_lossy(chunk.bytes())));
                    s.destroy();
                });
            }
        });
        server.listen(path.as_path());
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        client.write("hello");
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        client.resume();
        nodenet::run().unwrap();
        let entries = log.entries();
        let client_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("C ")).collect();
        let server_side: Vec<&String> = entries.iter().filter(|e| e.starts_with("S ")).collect();
        assert_eq!(server_side, ["S data hello", "S close false"]);
        assert_eq!(client_side, ["C end", "C finish", "C close false"]);
    });
}

#[test]
fn a_closed_pipe_name_can_be_listened_on_again_at_once() {
    with_deadline(LIMIT, || {
        let path = pipe_name("again");
        let log = EventLog::new();
        let first = nodenet::create_server(|_| {});
        first.listen(path.as_path());
        first.close();
        let second = nodenet::create_server(|accepted| {
            accepted.end_with("second");
        });
        let l = log.clone();
        second.on_error(move |_, e| l.push(format!("error {}", e.code())));
        second.listen(path.as_path());
        let client = nodenet::connect(path.as_path());
        let l = log.clone();
        client.on_data(move |_, chunk| {
            l.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
        });
        let l = log.clone();
        client.on_close(move |_, had_error| {
            l.push(format!("close {had_error}"));
            second.close();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["data second", "close false"]);
    });
}
