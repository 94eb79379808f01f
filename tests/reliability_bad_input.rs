//! Bad input gets Node's errors, never a panic: the cases not already covered elsewhere.
//!
//! Already covered (see those files): listen twice without a host (server.rs
//! `listen_twice_reports_err_server_already_listen`), ListenOptions without port or path
//! (server.rs `listen_options_without_port_or_path_is_err_invalid_arg_value`), ConnectOptions
//! without port or path (socket_connect.rs `default_connect_options_are_err_missing_args_then_close_true`),
//! an invalid family (socket_connect.rs `invalid_family_is_err_invalid_arg_value_then_close_true`),
//! an unresolvable host for connect (socket_connect.rs
//! `unresolvable_invalid_tld_is_enotfound_and_matches_node`), unix paths longer than sun_path
//! (local_socket.rs `listening_on_a_path_longer_than_sun_path_is_an_enametoolong_error_event`,
//! `connecting_to_a_path_longer_than_sun_path_is_an_enametoolong_error_event`), write/end/...
//! on a destroyed socket (socket_destroy.rs `operations_on_a_destroyed_socket_do_not_panic`,
//! socket_write.rs `write_after_destroy_fails_with_err_stream_destroyed_and_no_error_event`),
//! connect again after close (socket_connect.rs `a_closed_socket_can_connect_again_later`), and
//! lenient base64/hex decoding for `write_encoded` compared with Node's `Buffer.from`
//! (encoding_codec.rs `encode_matches_node`, `encode_known_answers`; socket_write.rs
//! `write_encoded_sends_what_nodes_buffer_from_makes`).

mod util;

use nodenet::{Error, Server, Socket};
use std::cell::Cell;
use std::rc::Rc;
use util::EventLog;

fn describe(e: &Error) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} | {}",
        e.code(),
        e.errno(),
        e.syscall(),
        e.address(),
        e.port(),
        e.hostname(),
        e
    )
}

// Node: server.listen(0, 'nonexistent.invalid') →
//   'error' {code:'ENOTFOUND', errno:-3008, syscall:'getaddrinfo', hostname:'nonexistent.invalid',
//            message:'getaddrinfo ENOTFOUND nonexistent.invalid'}, no 'listening'.
#[test]
fn listen_on_an_unresolvable_host_is_an_enotfound_getaddrinfo_error_event() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection"));
        let l = log.clone();
        server.on_error(move |s, e| {
            l.push(describe(e));
            assert!(!s.listening());
        });
        server.on_listening(|_| panic!("no listening"));
        server.listen((0, "nonexistent.invalid"));
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "ENOTFOUND Some(-3008) Some(\"getaddrinfo\") None None Some(\"nonexistent.invalid\") \
              | getaddrinfo ENOTFOUND nonexistent.invalid"
            ]
        );
    });
}

// Node: server.listen(0, '192.0.2.1') (TEST-NET-1, not an address of this host) →
//   'error' {code:'EADDRNOTAVAIL', errno:-99, syscall:'listen', address:'192.0.2.1',
//            message:'listen EADDRNOTAVAIL: address not available 192.0.2.1'} (no port: it was 0).
#[test]
fn listen_on_an_address_of_another_host_is_an_eaddrnotavail_error_event() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection"));
        let l = log.clone();
        server.on_error(move |_, e| l.push(describe(e)));
        server.on_listening(|_| panic!("no listening"));
        server.listen((0, "192.0.2.1"));
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                "EADDRNOTAVAIL Some(-99) Some(\"listen\") Some(\"192.0.2.1\") None None \
              | listen EADDRNOTAVAIL: address not available 192.0.2.1"
            ]
        );
    });
}

// Node: s.listen(0); s.listen(0) → the second throws {code:'ERR_SERVER_ALREADY_LISTEN',
// message:'Listen method has been called more than once without closing.'} (here: an `error`
// event, API.md: listen never fails in place); the first listen goes on: one 'listening'.
#[test]

fn listen_twice_reports_nodes_message_and_the_first_listen_goes_on() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection"));
        let l = log.clone();
        server.on_error(move |_, e| l.push(describe(e)));
        let l = log.clone();
        server.on_listening(move |s| {
            l.push(format!("listening {}", s.listening()));
            s.close();
        });
        server.listen(0).listen(0);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "ERR_SERVER_ALREADY_LISTEN None None None None None \
                 | Listen method has been called more than once without closing.",
                "listening true"
            ]
        );
    });
}

// Node v20 (listen with a host looks the host up first, even an IP, and the "already listening"
// check only looks for a bound handle): s.listen(0, '127.0.0.1'); s.listen(0, '127.0.0.1') in one
// tick → no error, one 'listening', bound once:
//   listening 1 34573
//   after 200ms: listening events 1 address {"address":"127.0.0.1","family":"IPv4","port":34573}
#[test]

fn listen_twice_with_a_host_in_one_tick_listens_once_without_error_as_node_does() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection"));
        let l = log.clone();
        server.on_error(move |_, e| l.push(describe(e)));
        let l = log.clone();
        server.on_listening(move |s| {
            l.push("listening");
            let s = s.clone();
            nodenet::set_timeout(std::time::Duration::from_millis(200), move || {
                s.close();
            });
        });
        server.listen((0, "127.0.0.1")).listen((0, "127.0.0.1"));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["listening"]);
    });
}

/// A server that ends every connection at once and closes when `closes` client closes were seen.
fn ending_server(then: impl FnOnce(&Server, u16) + 'static) -> Server {
    let server = nodenet::create_server(|s| {
        s.end();
    });
    server.listen((0, "127.0.0.1"));
    let then = Cell::new(Some(then));
    server.on_listening(move |s| {
        if let Some(then) = then.take() {
            then(s, util::port_of(s))
        }
    });
    server
}

fn trace(c: &Socket, log: &EventLog) {
    for (name, push) in [("connect", 0), ("ready", 1), ("end", 2), ("finish", 3)] {
        let l = log.clone();
        let f = move |_: &Socket| l.push(name);
        match push {
            0 => c.on_connect(f),
            1 => c.on_ready(f),
            2 => c.on_end(f),
            _ => c.on_finish(f),
        };
    }
    let l = log.clone();
    c.on_error(move |_, e| l.push(format!("error {}", e.code())));
    let l = log.clone();
    c.on_close(move |_, had_error| l.push(format!("close {had_error}")));
}

// Node: a connected socket, destroy() then connect() in the same tick → the first connection's
// 'close' false, then the new connection's 'connect' and 'ready':
//   ["connect","ready","close false","connect","ready"] destroyed false
// (here the second `connect` listener also logs `destroyed` and destroys; 'ready' still follows
// 'connect', as Node's afterConnect emits both).
#[test]

fn destroy_then_connect_in_the_same_tick_closes_then_connects_again() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        ending_server(move |server, port| {
            let c = nodenet::connect((port, "127.0.0.1"));
            trace(&c, &l);
            let first = Rc::new(Cell::new(true));
            let server = server.clone();
            let l2 = l.clone();
            c.on_connect(move |c| {
                if first.replace(false) {
                    c.destroy();
                    c.connect((port, "127.0.0.1"));
                } else {
                    l2.push(format!("destroyed {}", c.destroyed()));
                    c.destroy();
                    server.close();
                }
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connect",
                "ready",
                "close false",
                "connect",
                "destroyed false",
                "ready",
                "close false"
            ]
        );
    });
}
