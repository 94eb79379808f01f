//! Ending: `end()`/`end_with()`, half-open sockets (`allow_half_open`), the automatic `end()` after
//! the peer's FIN, writes around FIN, and Node as the peer observing our FIN.
//! (Behaviours 43-49 of node-net-behaviors.md.)

mod util;

use nodenet::{Error, ReadyState, ServerOptions, Socket};
use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;
use util::{EventLog, pair, pair_with, port_of};

/// `code message`, plus errno and syscall when present.
fn describe(error: &Error) -> String {
    let mut out = format!("{} {}", error.code(), error.message());
    if let Some(errno) = error.errno() {
        out.push_str(&format!(" errno={errno}"));
    }
    if let Some(syscall) = error.syscall() {
        out.push_str(&format!(" syscall={syscall}"));
    }
    out
}

fn cb_entry(name: &str, error: Option<&Error>) -> String {
    match error {
        None => format!("{name} ok"),
        Some(e) => format!("{name} {}", describe(e)),
    }
}

/// Logs `data <text>` (per chunk), `end`, `finish`, `error ...` and `close <had_error>`.
fn trace(socket: &Socket, log: &EventLog) {
    let l = log.clone();
    socket.on_data(move |_, chunk| {
        l.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
    });
    trace_no_data(socket, log);
}

/// Like `trace`, without a `data` listener (so the flow is not started).
fn trace_no_data(socket: &Socket, log: &EventLog) {
    let l = log.clone();
    socket.on_end(move |_| l.push("end"));
    let l = log.clone();
    socket.on_finish(move |_| l.push("finish"));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("error {}", describe(e))));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
}

// ----- default allow_half_open = false ----------------------------------------------------------

#[test]
fn default_half_close_receiver_sees_data_end_finish_close_and_initiator_finish_end_close() {
    // Node (c1_halfopen.js, "default: client end()"): receiver 'data', 'end', 'finish',
    // 'close'(false); initiator 'finish', 'end', 'close'(false).
    util::with_deadline(util::LIMIT, || {
        let (client_log, server_log) = (EventLog::new(), EventLog::new());
        let (cl, sl) = (client_log.clone(), server_log.clone());
        pair(move |c, s| {
            trace(&c, &cl);
            trace(&s, &sl);
            c.end_with("bye");
        });
        nodenet::run().unwrap();
        assert_eq!(
            server_log.entries(),
            ["data bye", "end", "finish", "close false"]
        );
        assert_eq!(client_log.entries(), ["finish", "end", "close false"]);
    });
}

#[test]
fn default_half_close_is_write_only_in_the_end_listener_then_ends_automatically() {
    // Node: at 'end' (allowHalfOpen false) readyState is 'writeOnly'; the automatic end() follows
    // ('finish' and 'close' see 'closed').
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            let l2 = l.clone();
            s.on_end(move |s| l2.push(format!("end {:?}", s.ready_state())));
            let l2 = l.clone();
            s.on_finish(move |s| l2.push(format!("finish {:?}", s.ready_state())));
            let l2 = l.clone();
            s.on_close(move |s, h| l2.push(format!("close {h} {:?}", s.ready_state())));
            c.resume();
            c.end();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["end WriteOnly", "finish Closed", "close false Closed"]
        );
    });
}

// ----- allow_half_open = true -------------------------------------------------------------------

#[test]
fn allow_half_open_peer_fin_only_emits_end_and_later_writes_still_arrive() {
    // Node (c1_halfopen.js, "server allowHalfOpen"): server 'data', 'end' (readyState
    // 'writeOnly'), late write cb(null), 'finish' only after its own end(), 'close'(false);
    // client 'finish', 'data' (late data), 'end', 'close'(false).
    util::with_deadline(util::LIMIT, || {
        let (client_log, server_log) = (EventLog::new(), EventLog::new());
        let (cl, sl) = (client_log.clone(), server_log.clone());
        pair_with(
            ServerOptions::default().allow_half_open(true),
            false,
            move |c, s| {
                let sl2 = sl.clone();
                s.on_data(move |_, chunk| {
                    sl2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                let sl2 = sl.clone();
                s.on_end(move |s| {
                    sl2.push(format!("end {:?}", s.ready_state()));
                    let sl3 = sl2.clone();
                    let ok = s.write_with("late-data", move |s, e| {
                        sl3.push(format!("{} {:?}", cb_entry("late cb", e), s.ready_state()))
                    });
                    sl2.push(format!("late write {ok}"));
                });
                let sl2 = sl.clone();
                s.on_finish(move |_| sl2.push("finish"));
                let sl2 = sl.clone();
                s.on_close(move |_, h| sl2.push(format!("close {h}")));

                // The server ends only once the client got the late data: until then it stays open.
                let cl2 = cl.clone();
                let got = Rc::new(RefCell::new(String::new()));
                c.on_data(move |_, chunk| {
                    got.borrow_mut()
                        .push_str(&String::from_utf8_lossy(chunk.bytes()));
                    if *got.borrow() == "late-data" {
                        cl2.push("data late-data");
                        s.end();
                    }
                });
                trace_no_data(&c, &cl);
                c.end_with("bye");
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            server_log.entries(),
            [
                "data bye",
                "end WriteOnly",
                "late write true",
                "late cb ok WriteOnly",
                "finish",
                "close false"
            ]
        );
        assert_eq!(
            client_log.entries(),
            ["finish", "data late-data", "end", "close false"]
        );
    });
}

#[test]
fn client_allow_half_open_keeps_writing_after_the_servers_fin() {
    // Node (c1_halfopen.js, "client allowHalfOpen: server end()"): client 'data', 'end'
    // (readyState 'writeOnly'), write cb(null), 'finish' after its end(), 'close'(false);
    // the server gets the data, then 'end'.
    util::with_deadline(util::LIMIT, || {
        let (client_log, server_log) = (EventLog::new(), EventLog::new());
        let (cl, sl) = (client_log.clone(), server_log.clone());
        pair_with(ServerOptions::default(), true, move |c, s| {
            trace(&s, &sl);
            let cl2 = cl.clone();
            c.on_data(move |_, chunk| {
                cl2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
            });
            let cl2 = cl.clone();
            c.on_end(move |c| {
                cl2.push(format!("end {:?}", c.ready_state()));
                let cl3 = cl2.clone();
                c.write_with("after-fin", move |c, e| {
                    cl3.push(cb_entry("cb", e));
                    c.end();
                });
            });
            let cl2 = cl.clone();
            c.on_finish(move |_| cl2.push("finish"));
            let cl2 = cl.clone();
            c.on_close(move |_, h| cl2.push(format!("close {h}")));
            s.end_with("srv-bye");
        });
        nodenet::run().unwrap();
        assert_eq!(
            client_log.entries(),
            [
                "data srv-bye",
                "end WriteOnly",
                "cb ok",
                "finish",
                "close false"
            ]
        );
        assert_eq!(
            server_log.entries(),
            ["finish", "data after-fin", "end", "close false"]
        );
    });
}

// ----- writes around FIN ------------------------------------------------------------------------

#[test]
fn write_in_the_end_listener_goes_out_before_the_automatic_fin() {
    // Node (c1_halfopen.js): client 'data', 'end', write in 'end' -> true, cb(null), 'finish',
    // 'close'(false); the server gets the data before 'end'.
    util::with_deadline(util::LIMIT, || {
        let (client_log, server_log) = (EventLog::new(), EventLog::new());
        let (cl, sl) = (client_log.clone(), server_log.clone());
        pair(move |c, s| {
            trace(&s, &sl);
            trace(&c, &cl);
            let cl2 = cl.clone();
            c.on_end(move |c| {
                let cl3 = cl2.clone();
                let ok = c.write_with("in-end", move |_, e| cl3.push(cb_entry("cb", e)));
                cl2.push(format!("write {ok}"));
            });
            s.end_with("srv-bye");
        });
        nodenet::run().unwrap();
        assert_eq!(
            client_log.entries(),
            [
                "data srv-bye",
                "end",
                "write true",
                "cb ok",
                "finish",
                "close false"
            ]
        );
        assert_eq!(
            server_log.entries(),
            ["finish", "data in-end", "end", "close false"]
        );
    });
}

#[test]
fn write_after_peer_fin_once_ended_fails_with_epipe_ended_by_the_other_party() {
    // Node (g3_wafin.js): we end() first, then the peer's FIN; a write in 'end' returns false,
    // cb(EPIPE "This socket has been ended by the other party", no errno/syscall), 'error'
    // (same), 'close'(true).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            trace_no_data(&c, &l);
            let l2 = l.clone();
            c.on_end(move |c| {
                let l3 = l2.clone();
                let ok = c.write_with("hello", move |_, e| l3.push(cb_entry("cb", e)));
                l2.push(format!("write {ok}"));
            });
            c.end();
            s.end();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "finish",
                "end",
                "write false",
                "cb EPIPE This socket has been ended by the other party",
                "error EPIPE This socket has been ended by the other party",
                "close true"
            ]
        );
    });
}

#[test]

fn write_after_auto_end_and_close_still_reports_ended_by_the_other_party() {
    // Node: after the peer's FIN ended the socket automatically, a write in 'close' (destroyed)
    // returns false and its cb gets EPIPE "This socket has been ended by the other party";
    // there is no 'error' event.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            c.resume();
            c.on_error(|_, e| panic!("no error event expected, got {e:?}"));
            let l2 = l.clone();
            c.on_close(move |c, h| {
                l2.push(format!("close {h} {}", c.destroyed()));
                let l3 = l2.clone();
                let ok = c.write_with("late", move |_, e| l3.push(cb_entry("cb", e)));
                l2.push(format!("write {ok}"));
            });
            s.end();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "close false true",
                "write false",
                "cb EPIPE This socket has been ended by the other party"
            ]
        );
    });
}

#[test]
fn write_after_both_sides_ended_with_allow_half_open_is_write_after_end() {
    // Node: allowHalfOpen client, peer FIN, then end(); a write returns false with
    // ERR_STREAM_WRITE_AFTER_END (not EPIPE), then 'error', 'close'(true).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair_with(ServerOptions::default(), true, move |c, s| {
            c.resume();
            let l2 = l.clone();
            c.on_end(move |c| {
                l2.push(format!("end {:?}", c.ready_state()));
                c.end();
                let l3 = l2.clone();
                let ok = c.write_with("x", move |_, e| l3.push(cb_entry("cb", e)));
                l2.push(format!("write {ok}"));
            });
            let l2 = l.clone();
            c.on_error(move |_, e| l2.push(format!("error {}", e.code())));
            let l2 = l.clone();
            c.on_close(move |_, h| l2.push(format!("close {h}")));
            s.end_with("srv-bye");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "end WriteOnly",
                "write false",
                "cb ERR_STREAM_WRITE_AFTER_END write after end",
                "error ERR_STREAM_WRITE_AFTER_END",
                "close true"
            ]
        );
    });
}

// ----- end() itself -----------------------------------------------------------------------------

#[test]
fn end_returns_at_once_and_ready_state_is_read_only_synchronously() {
    // Node: end('tail') returns the socket, readyState 'readOnly' at once; 'finish' (readOnly),
    // 'end' (closed), 'close'(false); the peer gets the data then 'end'.
    util::with_deadline(util::LIMIT, || {
        let (log, server_log) = (EventLog::new(), EventLog::new());
        let (l, sl) = (log.clone(), server_log.clone());
        pair(move |c, s| {
            trace(&s, &sl);
            let l2 = l.clone();
            c.on_finish(move |c| l2.push(format!("finish {:?}", c.ready_state())));
            let l2 = l.clone();
            c.on_end(move |c| l2.push(format!("end {:?}", c.ready_state())));
            let l2 = l.clone();
            c.on_close(move |c, h| l2.push(format!("close {h} {:?}", c.ready_state())));
            c.resume();
            let returned: *const Socket = c.end_with("tail");
            l.push(format!(
                "end returned self {} {:?}",
                std::ptr::eq(returned, &c),
                c.ready_state()
            ));
            l.push("after end");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "end returned self true ReadOnly",
                "after end",
                "finish ReadOnly",
                "end Closed",
                "close false Closed"
            ]
        );
        assert_eq!(
            server_log.entries(),
            ["data tail", "end", "finish", "close false"]
        );
    });
}

#[test]
fn end_twice_finishes_once() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            c.resume();
            trace_no_data(&c, &l);
            c.end();
            c.end();
            assert_eq!(c.ready_state(), ReadyState::ReadOnly);
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["finish", "end", "close false"]);
    });
}

#[test]
fn end_while_connecting_stays_opening_and_sends_data_and_fin_after_connect() {
    // Node (b3_order.js): write('early'); end() while connecting: readyState stays 'opening';
    // 'connect' (readyState 'readOnly'), 'finish', 'end', 'close'(false); the peer gets the data
    // then 'end'.
    util::with_deadline(util::LIMIT, || {
        let (log, server_log) = (EventLog::new(), EventLog::new());
        let (l, sl) = (log.clone(), server_log.clone());
        let server = nodenet::create_server(move |s| trace(&s, &sl));
        let srv = server.clone();
        server.on_connection(move |_| {
            srv.close();
        });
        server.listen((0, "127.0.0.1"));
        server.on_listening(move |srv| {
            let c = nodenet::connect((port_of(srv), "127.0.0.1"));
            c.write("early");
            c.end();
            l.push(format!(
                "after end {:?} {}",
                c.ready_state(),
                c.connecting()
            ));
            let l2 = l.clone();
            c.on_connect(move |c| l2.push(format!("connect {:?}", c.ready_state())));
            c.resume();
            trace_no_data(&c, &l);
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "after end Opening true",
                "connect ReadOnly",
                "finish",
                "end",
                "close false"
            ]
        );
        assert_eq!(
            server_log.entries(),
            ["data early", "end", "finish", "close false"]
        );
    });
}

// ----- Node as the peer -------------------------------------------------------------------------

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn node_server_sees_our_data_then_fin_and_its_write_in_end_reaches_us() {
    // A Node server (allowHalfOpen false) collects our data until 'end', writes in its 'end'
    // listener, then ends automatically. Node's own log of this run, with a Node client:
    //   S end abcd writeOnly / S w true / S finish / S close false;
    //   C finish / C data in-end / C end / C close false.
    let script = r#"
        const net = require('net');
        const s = net.createServer(sock => {
          let got = '';
          sock.setEncoding('utf8');
          sock.on('data', d => { got += d; });
          sock.on('end', () => {
            console.log('end ' + got + ' ' + sock.readyState);
            console.log('write ' + sock.write('in-end'));
          });
          sock.on('finish', () => console.log('finish'));
          sock.on('error', e => console.log('error ' + e.code));
          sock.on('close', h => { console.log('close ' + h); s.close(); });
        });
        s.listen(0, '127.0.0.1', () => console.log(s.address().port));
    "#;
    let mut node = util::spawn_node(script, &[]);
    let mut stdout = BufReader::new(node.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let port: u16 = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("node printed {first:?}"));
    let client_log = util::with_deadline(util::LIMIT, move || {
        let log = EventLog::new();
        let c = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        c.on_connect(move |c| {
            c.write("a");
            c.write("bc");
            c.end_with("d");
            l.push(format!("after end {:?}", c.ready_state()));
        });
        trace(&c, &log);
        nodenet::run().unwrap();
        log.entries()
    });
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(node.wait().unwrap().success());
    assert_eq!(
        rest,
        "end abcd writeOnly\nwrite true\nfinish\nclose false\n"
    );
    assert_eq!(
        client_log,
        [
            "after end ReadOnly",
            "finish",
            "data in-end",
            "end",
            "close false"
        ]
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn node_client_that_ends_first_sees_finish_end_close_from_our_server() {
    // A Node client sends 'bye' and ends; our server (allowHalfOpen false) sees data, end,
    // finish, close(false) and the Node client sees finish, end, close(false).
    let script = r#"
        const net = require('net');
        const c = net.connect(+process.argv[1], '127.0.0.1', () => c.end('bye'));
        c.resume();
        for (const e of ['finish', 'end']) c.on(e, () => console.log(e));
        c.on('error', e => console.log('error ' + e.code));
        c.on('close', h => console.log('close ' + h));
    "#;
    let (server_log, output) = util::with_deadline(util::LIMIT, move || {
        let log = EventLog::new();
        let node = Rc::new(RefCell::new(None));
        let l = log.clone();
        let server = nodenet::create_server(move |s| trace(&s, &l));
        let srv = server.clone();
        server.on_connection(move |_| {
            srv.close();
        });
        server.listen((0, "127.0.0.1"));
        let n = node.clone();
        server.on_listening(move |srv| {
            *n.borrow_mut() = Some(util::spawn_node(script, &[port_of(srv).to_string()]));
        });
        nodenet::run().unwrap();
        let child = node.borrow_mut().take().expect("node started");
        (log.entries(), child.wait_with_output().unwrap())
    });
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "finish\nend\nclose false\n",
        "node stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(server_log, ["data bye", "end", "finish", "close false"]);
}
