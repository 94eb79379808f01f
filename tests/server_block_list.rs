//! `ServerOptions::block_list`: a blocked peer is accepted and closed at once, with no
//! `connection` or `drop` event (Node's `onconnection` with `blockList`); the client sees
//! `connect`, `end`, then `close false`.

mod util;

use nodenet::{BlockList, Server, ServerOptions};
use std::cell::Cell;
use std::rc::Rc;
use util::EventLog;

/// A server with `list` that logs its connections and greets them; `host` None: dual stack.
fn server(list: &BlockList, host: Option<&str>, log: &EventLog) -> Server {
    let l = log.clone();
    let server = nodenet::create_server_with(
        ServerOptions::default().block_list(list.clone()),
        move |s| {
            l.push("connection");
            s.end_with("welcome");
        },
    );
    server.on_drop(|_, _| panic!("no drop event for a blocked peer"));
    match host {
        Some(host) => server.listen((0, host)),
        None => server.listen(0),
    };
    server
}

/// Connects `count` clients one after the other (each after the previous closed), logging what
/// each sees, then closes the server.
fn clients(server: &Server, count: usize, log: &EventLog) {
    fn next(port: u16, left: Rc<Cell<usize>>, server: Server, log: EventLog) {
        let n = left.get();
        if n == 0 {
            server.close();
            return;
        }
        left.set(n - 1);
        let c = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        c.on_connect(move |_| l.push("client connect"));
        let l = log.clone();
        c.on_data(move |_, chunk| {
            l.push(format!(
                "client data {}",
                String::from_utf8_lossy(chunk.bytes())
            ))
        });
        let l = log.clone();
        c.on_end(move |_| l.push("client end"));
        c.on_close(move |_, had_error| {
            log.push(format!("client close {had_error}"));
            next(port, left.clone(), server.clone(), log.clone());
        });
    }
    let log = log.clone();
    server.on_listening(move |s| {
        next(
            util::port_of(s),
            Rc::new(Cell::new(count)),
            s.clone(),
            log.clone(),
        )
    });
}

const BLOCKED: [&str; 3] = ["client connect", "client end", "client close false"];
const SERVED: [&str; 4] = [
    "client connect",
    "client data welcome",
    "client end",
    "client close false",
];

#[test]
fn a_blocked_address_is_closed_without_any_server_event() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let list = BlockList::new();
        list.add_address("127.0.0.1").unwrap();
        let s = server(&list, Some("127.0.0.1"), &log);
        clients(&s, 1, &log);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), BLOCKED);
    });
}

#[test]
fn an_ipv4_rule_blocks_the_mapped_peer_of_a_dual_stack_server() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let list = BlockList::new();
        list.add_subnet("127.0.0.0", 8).unwrap();
        let s = server(&list, None, &log);
        clients(&s, 1, &log);
        nodenet::run().unwrap();
        assert_eq!(log.entries(), BLOCKED);
    });
}

#[test]
fn rules_added_later_apply_to_later_connections_and_others_are_served() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let list = BlockList::new();
        list.add_address("10.0.0.1").unwrap();
        let s = server(&list, Some("127.0.0.1"), &log);
        let l = list.clone();
        s.on_connection(move |_| {
            l.add_range("127.0.0.1", "127.0.0.2").unwrap();
        });
        clients(&s, 2, &log);
        nodenet::run().unwrap();
        // The server's `connection` and the client's `connect` race (two I/O threads): look at
        // them apart.
        let mut entries = log.entries();
        assert_eq!(
            entries.iter().filter(|e| *e == "connection").count(),
            1,
            "{entries:?}"
        );
        entries.retain(|e| e != "connection");
        let expected: Vec<&str> = SERVED.iter().chain(BLOCKED.iter()).copied().collect();
        assert_eq!(entries, expected);
    });
}
