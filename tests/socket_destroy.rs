//! destroy / destroy_with / RST on close with unread data / operations on destroyed sockets
//! (node-net-behaviors.md H 78-83, K 102).

mod util;

use nodenet::{Error, ReadyState, Server, ServerOptions, Socket, SocketOptions};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use util::{EventLog, port_of};

/// Connects a client to a fresh 127.0.0.1 server and calls `ready(client, accepted)` once the client
/// saw `connect` and the server saw `connection`. The server is closed at its `connection` (it keeps
/// the connection), so `run()` returns once both sockets closed.
fn pair(options: ServerOptions, ready: impl FnOnce(Socket, Socket) + 'static) {
    util::pair_with(options, false, ready);
}

/// Logs `tag event` for every event of `socket` (data as text, errors with all fields).
fn trace(log: &EventLog, tag: &'static str, socket: &Socket) {
    let l = log.clone();
    socket.on_data(move |_, chunk| {
        l.push(format!(
            "{tag} data {}",
            String::from_utf8_lossy(chunk.bytes())
        ))
    });
    let l = log.clone();
    socket.on_end(move |_| l.push(format!("{tag} end")));
    let l = log.clone();
    socket.on_finish(move |_| l.push(format!("{tag} finish")));
    let l = log.clone();
    socket.on_timeout(move |_| l.push(format!("{tag} timeout")));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("{tag} error {}", describe(e))));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("{tag} close {had_error}")));
}

fn describe(e: &Error) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?}",
        e.code(),
        e.errno(),
        e.syscall(),
        e.address(),
        e.port(),
        e.to_string()
    )
}

/// The entries of `log` that start with `tag ` (events of one socket, in order).
fn of(log: &EventLog, tag: &str) -> Vec<String> {
    let prefix = format!("{tag} ");
    log.entries()
        .into_iter()
        .filter(|e| e.starts_with(&prefix))
        .collect()
}

#[test]
fn destroy_is_synchronous_and_emits_only_close_false_while_the_peer_ends_normally() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.destroy();
            l.push(format!(
                "sync destroyed={} state={}",
                client.destroyed(),
                client.ready_state()
            ));
            assert_eq!(client.ready_state(), ReadyState::Closed);
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "sync"), ["sync destroyed=true state=closed"]);
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(of(&log, "S"), ["S end", "S finish", "S close false"]);
    });
}

#[test]
fn destroy_with_emits_error_then_close_true_and_later_destroys_are_ignored() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.destroy_with(Error::new("EBOOM", "boom"));
            l.push(format!(
                "sync destroyed={} state={}",
                client.destroyed(),
                client.ready_state()
            ));
            client.destroy_with(Error::new("ESECOND", "second"));
            client.destroy();
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "sync"), ["sync destroyed=true state=closed"]);
        assert_eq!(
            of(&log, "C"),
            ["C error EBOOM None None None None \"boom\"", "C close true"]
        );
        assert_eq!(of(&log, "S"), ["S end", "S finish", "S close false"]);
    });
}

#[test]
fn destroy_twice_then_destroy_with_emits_one_close_false_and_no_error() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.destroy();
            client.destroy();
            client.destroy_with(Error::new("ESECOND", "second"));
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(of(&log, "S"), ["S end", "S finish", "S close false"]);
    });
}

#[test]
fn end_with_data_then_destroy_still_delivers_the_data_and_emits_only_close_false() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            client.end_with("data");
            client.destroy();
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(
            of(&log, "S"),
            ["S data data", "S end", "S finish", "S close false"]
        );
    });
}

#[test]
fn server_destroying_an_accepted_socket_gives_the_client_end_finish_close_false() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            let l = l.clone();
            accepted.write_with("hi", move |s, err| {
                assert!(err.is_none(), "{err:?}");
                s.destroy();
                l.push(format!(
                    "sync destroyed={} state={}",
                    s.destroyed(),
                    s.ready_state()
                ));
            });
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "sync"), ["sync destroyed=true state=closed"]);
        assert_eq!(of(&log, "S"), ["S close false"]);
        assert_eq!(
            of(&log, "C"),
            ["C data hi", "C end", "C finish", "C close false"]
        );
    });
}

/// Waits until the kernel holds at least `bytes` unread bytes for the socket `local_port <-> remote_port`.
fn wait_for_unread(local_port: u16, remote_port: u16, bytes: usize) {
    assert!(
        util::eventually(Duration::from_secs(5), || {
            util::tcp_rx_queue(local_port, remote_port).is_some_and(|n| n >= bytes)
        }),
        "{bytes} bytes never reached the receive queue of 127.0.0.1:{local_port}"
    );
}

#[test]
fn destroying_with_unread_data_in_the_kernel_sends_rst_and_the_peer_gets_econnreset() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        // pause_on_connect: the server never reads, so the client's bytes stay in its kernel buffer.
        let options = ServerOptions::default().pause_on_connect(true);
        pair(options, move |client, accepted| {
            trace(&l, "C", &client);
            let l2 = l.clone();
            accepted.on_close(move |_, had_error| l2.push(format!("S close {had_error}")));
            let server_port = client.remote_port().unwrap();
            let client_port = client.local_port().unwrap();
            client.write_with(vec![7u8; 1000], move |_, err| {
                assert!(err.is_none(), "{err:?}");
                wait_for_unread(server_port, client_port, 1000);
                assert_eq!(accepted.bytes_read(), 0, "the server read nothing");
                accepted.destroy();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "S"), ["S close false"]);
        assert_eq!(
            util::linux_errnos(of(&log, "C")),
            [
                "C error ECONNRESET Some(-104) Some(\"read\") None None \"read ECONNRESET\"",
                "C close true"
            ]
        );
    });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Wine closes a socket with unread data with a FIN, not a reset as Linux and Windows do"
)]
fn a_client_paused_before_connect_that_destroys_with_unread_data_resets_the_server_side() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let client_slot: Rc<RefCell<Option<Socket>>> = Rc::default();
        let server = Server::new(ServerOptions::default());
        server.on_connection({
            let log = log.clone();
            let server = server.clone();
            let client_slot = client_slot.clone();
            move |accepted| {
                server.close();
                trace(&log, "S", &accepted);
                let server_port = accepted.local_port().unwrap();
                let client_port = accepted.remote_port().unwrap();
                let client_slot = client_slot.clone();
                accepted.write_with(vec![1u8; 1000], move |_, err| {
                    assert!(err.is_none(), "{err:?}");
                    wait_for_unread(client_port, server_port, 1000);
                    let client = client_slot.borrow().clone().expect("client");
                    assert_eq!(
                        client.bytes_read(),
                        0,
                        "paused before connect: nothing read"
                    );
                    client.destroy();
                });
            }
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |s| {
            let client = Socket::new(SocketOptions::default());
            client.pause();
            client.connect((port_of(s), "127.0.0.1"));
            let l2 = l.clone();
            client.on_close(move |_, had_error| l2.push(format!("C close {had_error}")));
            *client_slot.borrow_mut() = Some(client);
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C close false"]);
        assert_eq!(
            util::linux_errnos(of(&log, "S")),
            [
                "S error ECONNRESET Some(-104) Some(\"read\") None None \"read ECONNRESET\"",
                "S close true"
            ]
        );
    });
}

#[test]
fn destroying_a_socket_that_never_connected_emits_close() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let socket = Socket::new(SocketOptions::default());
        trace(&log, "U", &socket);
        socket.destroy();
        assert!(socket.destroyed());
        assert_eq!(socket.ready_state(), ReadyState::Closed);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["U close false"]);
    });
}

#[test]

fn destroy_with_on_a_socket_that_never_connected_emits_error_then_close_without_had_error() {
    // Node: `new net.Socket().destroy(err)` emits 'error' then 'close' with NO argument (falsy),
    // because the socket never had a handle (item 82's quirk); false is the Rust equivalent.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let socket = Socket::new(SocketOptions::default());
        trace(&log, "U", &socket);
        socket.destroy_with(Error::new("EBOOM", "boom"));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "U error EBOOM None None None None \"boom\"",
                "U close false"
            ]
        );
    });
}

#[test]
fn destroy_from_another_thread_closes_the_socket_on_its_loop() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            trace(&l, "C", &client);
            trace(&l, "S", &accepted);
            let loop_thread = std::thread::current().id();
            let l2 = l.clone();
            client.on_close(move |_, _| {
                assert_eq!(std::thread::current().id(), loop_thread);
                l2.push("C close on loop thread");
            });
            std::thread::spawn(move || client.destroy());
        });
        nodenet::run().unwrap();
        assert_eq!(of(&log, "C"), ["C close false", "C close on loop thread"]);
        assert_eq!(of(&log, "S"), ["S end", "S finish", "S close false"]);
    });
}

/// Every operation of item 102 (and a few more) on a destroyed socket: no panic, Node's results.
fn poke_destroyed(socket: &Socket, log: &EventLog, tag: &'static str) {
    assert!(socket.destroyed());
    socket.set_no_delay(true);
    socket.set_keep_alive(true, Duration::from_secs(1));
    assert_eq!(socket.buffer_size(), 0);
    socket.pause();
    socket.resume();
    assert_eq!(socket.address(), None, "Node: {{}}");
    assert_eq!(socket.local_address(), None);
    assert_eq!(socket.local_port(), None);
    let _ = socket.remote_address();
    let _ = socket.remote_port();
    let _ = socket.remote_family();
    socket.set_timeout(Duration::from_millis(1));
    socket.set_encoding(Some(nodenet::Encoding::Utf8));
    socket.end();
    socket.end_with("late");
    assert!(
        !socket.write("x"),
        "write on a destroyed socket returns false"
    );
    let l = log.clone();
    assert!(!socket.write_with("x", move |_, err| {
        let err = err.expect("an error");
        l.push(format!("{tag} write cb {} {}", err.code(), err));
    }));
    socket.unref();
    socket.ref_();
    socket.destroy();
    assert_eq!(socket.ready_state(), ReadyState::Closed);
}

#[test]
fn operations_on_a_destroyed_socket_do_not_panic() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        // A socket that never connected.
        let fresh = Socket::new(SocketOptions::default());
        let l = log.clone();
        fresh.on_error(move |_, e| l.push(format!("U error {}", e.code())));
        fresh.destroy();
        poke_destroyed(&fresh, &log, "U");
        // A connected socket, after destroy and again after its close event.
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            let l2 = l.clone();
            client.on_error(move |_, e| l2.push(format!("C error {}", e.code())));
            let l2 = l.clone();
            client.on_close(move |c, _| {
                l2.push("C close");
                poke_destroyed(c, &l2, "C-after-close");
            });
            accepted.resume();
            client.destroy();
            poke_destroyed(&client, &l, "C");
        });
        nodenet::run().unwrap();
        let destroyed = "ERR_STREAM_DESTROYED Cannot call write after a stream was destroyed";
        // The order of `C write cb` and `C close` is checked by
        // `close_after_destroy_comes_after_the_callbacks_and_immediates_queued_with_it`.
        let mut entries = log.entries();
        entries.sort();
        assert_eq!(
            entries,
            [
                "C close".to_string(),
                format!("C write cb {destroyed}"),
                format!("C-after-close write cb {destroyed}"),
                format!("U write cb {destroyed}"),
            ]
        );
    });
}

#[test]
fn close_after_destroy_comes_after_the_callbacks_and_immediates_queued_with_it() {
    // Node: destroy() closes the handle; 'close' is emitted from the loop's close phase, after the
    // write callback (nextTick) and after an immediate queued in the same listener:
    // `write cb ERR_STREAM_DESTROYED`, `immediate`, `close false`.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(ServerOptions::default(), move |client, accepted| {
            accepted.resume();
            let l2 = l.clone();
            client.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
            client.destroy();
            let l2 = l.clone();
            client.write_with("x", move |_, err| {
                l2.push(format!("write cb {}", err.expect("an error").code()))
            });
            let l2 = l.clone();
            nodenet::set_immediate(move || l2.push("immediate"));
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["write cb ERR_STREAM_DESTROYED", "immediate", "close false"]
        );
    });
}
