//! The write path: `write()`'s return value, `buffer_size`, `drain`, write callbacks, writes after
//! `end()`/`destroy()`, destroy with pending writes, byte counters, EPIPE, call forms and encodings.
//! (Behaviours 66-77 of node-net-behaviors.md.)

mod util;

use nodenet::{Encoding, Error, Server, ServerOptions, Socket};
use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;
use util::{EventLog, pair, pair_with, port_of};

/// Stops listening once the first connection is accepted (so `run()` returns when it closes).
fn close_after_first_connection(server: &Server) {
    let srv = server.clone();
    server.on_connection(move |_| {
        srv.close();
    });
}

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

/// Deterministic pseudo-random bytes (xorshift64*).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Collects every byte `socket` receives into the returned buffer.
fn collect(socket: &Socket) -> Rc<RefCell<Vec<u8>>> {
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    socket.on_data(move |_, chunk| g.borrow_mut().extend_from_slice(chunk.bytes()));
    got
}

fn log_close(socket: &Socket, log: &EventLog, prefix: &'static str) {
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("{prefix}close {had_error}")));
}

// ----- return value, buffer_size, drain -------------------------------------------------------

#[test]
fn write_returns_true_when_the_kernel_takes_the_bytes_at_once() {
    // Node: connected to a reading peer, write(16384) -> true, writableLength 0;
    // write(100000) -> true, writableLength 0, bytesWritten 116384; no 'drain'.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let received = Rc::new(RefCell::new(Vec::new()));
        let (l, rec) = (log.clone(), received.clone());
        pair(move |c, s| {
            let got = collect(&s);
            let r = rec.clone();
            s.on_end(move |_| *r.borrow_mut() = got.borrow().clone());
            let ok = c.write(vec![1u8; 16384]);
            l.push(format!("write 16384 {ok} {}", c.buffer_size()));
            let ok = c.write(vec![2u8; 100_000]);
            l.push(format!(
                "write 100000 {ok} {} {}",
                c.buffer_size(),
                c.bytes_written()
            ));
            let l2 = l.clone();
            c.on_drain(move |_| l2.push("drain"));
            log_close(&c, &l, "");
            c.end();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write 16384 true 0",
                "write 100000 true 0 116384",
                "close false"
            ]
        );
        let received = received.borrow();
        assert_eq!(received.len(), 116_384);
        assert!(received[..16384].iter().all(|&b| b == 1));
        assert!(received[16384..].iter().all(|&b| b == 2));
    });
}

#[test]
fn write_while_connecting_returns_false_once_16_kib_are_queued() {
    // Node v20 (this exact script, listeners added after the writes): write(16383) -> true,
    // write(1) -> false, write(1) -> false; then 'drain' (writableLength 0) and cb1 from inside the
    // first write's own 'connect' listener (added by write()), 'connect', then cb2, cb3 on the next
    // tick, 'finish' once every callback ran.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(|s| {
            s.resume();
        });
        close_after_first_connection(&server);
        server.listen((0, "127.0.0.1"));
        server.on_listening(move |srv| {
            let c = nodenet::connect((port_of(srv), "127.0.0.1"));
            let sizes = [16383usize, 1, 1];
            for (i, size) in sizes.into_iter().enumerate() {
                let l2 = l.clone();
                let ok = c.write_with(vec![0u8; size], move |_, e| {
                    l2.push(cb_entry(&format!("cb{}", i + 1), e))
                });
                l.push(format!(
                    "w{} {ok} {} {}",
                    i + 1,
                    c.buffer_size(),
                    c.bytes_written()
                ));
            }
            let l2 = l.clone();
            c.on_connect(move |_| l2.push("connect"));
            let l2 = l.clone();
            c.on_drain(move |s| {
                l2.push(format!("drain {}", s.buffer_size()));
                s.end();
            });
            let l2 = l.clone();
            c.on_finish(move |_| l2.push("finish"));
            log_close(&c, &l, "");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "w1 true 16383 16383",
                "w2 false 16384 16384",
                "w3 false 16385 16385",
                "drain 0",
                "cb1 ok",
                "connect",
                "cb2 ok",
                "cb3 ok",
                "finish",
                "close false"
            ]
        );
    });
}

#[test]
fn drain_fires_once_when_the_queue_empties_before_that_steps_write_callbacks() {
    // Node (e1_write.js): fill a non-reading peer until write() returns false; an extra
    // write('x', cb) returns false; when the peer reads, 'drain' (writableLength 0) comes
    // before the extra write's callback.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server_log = EventLog::new();
        let totals = Rc::new(RefCell::new((0u64, 0u64)));
        let (l, sl, t) = (log.clone(), server_log.clone(), totals.clone());
        pair_with(
            ServerOptions::default().pause_on_connect(true),
            false,
            move |c, s| {
                let chunk = vec![7u8; 65536];
                let mut writes = 0;
                while c.write(&chunk[..]) {
                    writes += 1;
                    assert!(writes < 10_000, "write() never returned false");
                }
                assert!(
                    c.buffer_size() >= 16384,
                    "false means at least 16 KiB queued, got {}",
                    c.buffer_size()
                );
                let before = c.buffer_size();
                let l2 = l.clone();
                let ok = c.write_with(b"x", move |_, e| l2.push(cb_entry("cb x", e)));
                l.push(format!("extra write {ok}"));
                assert_eq!(
                    c.buffer_size(),
                    before + 1,
                    "buffer_size counts queued bytes"
                );
                let l2 = l.clone();
                c.on_drain(move |s| {
                    l2.push(format!("drain {}", s.buffer_size()));
                    s.end();
                });
                let l2 = l.clone();
                c.on_finish(move |_| l2.push("finish"));
                log_close(&c, &l, "");

                let received = Rc::new(RefCell::new(0u64));
                let r = received.clone();
                s.on_data(move |_, chunk| *r.borrow_mut() += chunk.bytes().len() as u64);
                let (sl2, t2) = (sl.clone(), t.clone());
                let client = c.clone();
                s.on_end(move |_| {
                    sl2.push("end");
                    *t2.borrow_mut() = (*received.borrow(), client.bytes_written());
                });
                log_close(&s, &sl, "");
                s.resume();
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "extra write false",
                "drain 0",
                "cb x ok",
                "finish",
                "close false"
            ]
        );
        assert_eq!(server_log.entries(), ["end", "close false"]);
        let (received, written) = *totals.borrow();
        assert_eq!(received, written, "every byte written arrived");
    });
}

// ----- write callbacks --------------------------------------------------------------------------

#[test]
fn write_callback_runs_on_the_loop_after_write_returns() {
    // Node: write('hello', cb) -> true; code after write() runs first; write('', cb) -> true
    // and calls back too; both callbacks get null, in order.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let received = Rc::new(RefCell::new(Vec::new()));
        let (l, rec) = (log.clone(), received.clone());
        pair(move |c, s| {
            let got = collect(&s);
            let r = rec.clone();
            s.on_end(move |_| *r.borrow_mut() = got.borrow().clone());
            let l2 = l.clone();
            let ok = c.write_with("hello", move |_, e| l2.push(cb_entry("cb", e)));
            l.push(format!("write {ok}"));
            l.push("after write");
            let l2 = l.clone();
            let ok = c.write_with("", move |_, e| l2.push(cb_entry("cb empty", e)));
            l.push(format!("write empty {ok}"));
            let l2 = l.clone();
            nodenet::set_immediate(move || l2.push("immediate"));
            c.end();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write true",
                "after write",
                "write empty true",
                "cb ok",
                "cb empty ok",
                "immediate"
            ]
        );
        assert_eq!(&received.borrow()[..], b"hello");
    });
}

// ----- write after end / destroy ----------------------------------------------------------------

#[test]
fn write_after_end_fails_with_err_stream_write_after_end_then_error_then_close() {
    // Node (g1_destroy.js): end(); write('x', cb) -> false, readyState 'closed'; then
    // cb(ERR_STREAM_WRITE_AFTER_END "write after end"), 'error' (same), 'close'(true); no 'finish'.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            let l2 = l.clone();
            c.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            c.on_error(move |_, e| l2.push(format!("error {}", describe(e))));
            log_close(&c, &l, "");
            c.end();
            let l2 = l.clone();
            let ok = c.write_with("x", move |_, e| l2.push(cb_entry("cb", e)));
            l.push(format!("write {ok} {:?}", c.ready_state()));
            l.push("after write");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write false Closed",
                "after write",
                "cb ERR_STREAM_WRITE_AFTER_END write after end",
                "error ERR_STREAM_WRITE_AFTER_END write after end",
                "close true"
            ]
        );
    });
}

#[test]
fn write_after_end_without_callback_still_emits_error_and_close_true() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            let l2 = l.clone();
            c.on_error(move |_, e| l2.push(format!("error {}", e.code())));
            log_close(&c, &l, "");
            c.end();
            l.push(format!("write {}", c.write("x")));
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write false",
                "error ERR_STREAM_WRITE_AFTER_END",
                "close true"
            ]
        );
    });
}

#[test]

fn write_after_destroy_fails_with_err_stream_destroyed_and_no_error_event() {
    // Node (g1_destroy.js): destroy(); write('x', cb) -> false, readyState 'closed';
    // cb(ERR_STREAM_DESTROYED "Cannot call write after a stream was destroyed"); no 'error';
    // then 'close'(false).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            c.on_error(|_, e| panic!("no error event expected, got {e:?}"));
            log_close(&c, &l, "");
            c.destroy();
            let l2 = l.clone();
            let ok = c.write_with("x", move |_, e| l2.push(cb_entry("cb", e)));
            l.push(format!("write {ok} {:?}", c.ready_state()));
            l.push("after write");
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write false Closed",
                "after write",
                "cb ERR_STREAM_DESTROYED Cannot call write after a stream was destroyed",
                "close false"
            ]
        );
    });
}

#[test]

fn write_after_end_then_destroy_reports_write_after_end_without_error_event() {
    // Node: end(); destroy(); write('x', cb) -> false; cb(ERR_STREAM_WRITE_AFTER_END "write after
    // end") (Writable checks `ending` before `destroyed`); no 'error'; 'close'(false).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair(move |c, s| {
            s.resume();
            c.on_error(|_, e| panic!("no error event expected, got {e:?}"));
            log_close(&c, &l, "");
            c.end();
            c.destroy();
            let l2 = l.clone();
            let ok = c.write_with("x", move |_, e| l2.push(cb_entry("cb", e)));
            l.push(format!("write {ok}"));
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "write false",
                "cb ERR_STREAM_WRITE_AFTER_END write after end",
                "close false"
            ]
        );
    });
}

#[test]

fn destroy_with_pending_writes_completes_the_in_flight_write_and_fails_queued_ones() {
    // Node (z_inline.js, and synchronously): write(20 MB, cb1) -> false; write(10 B, cb2) -> false;
    // destroy(): cb1(null) (it was handed to the OS), cb2(ERR_STREAM_DESTROYED), no 'error',
    // 'close'(false).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair_with(
            ServerOptions::default().pause_on_connect(true),
            false,
            move |c, s| {
                c.on_error(|_, e| panic!("no error event expected, got {e:?}"));
                log_close(&c, &l, "");
                // The paused peer never reads, so it would never see our close.
                c.on_close(move |_, _| s.destroy());
                let l2 = l.clone();
                let ok = c.write_with(vec![0u8; 20_000_000], move |_, e| {
                    l2.push(cb_entry("cb1", e))
                });
                l.push(format!("w1 {ok}"));
                let l2 = l.clone();
                let ok = c.write_with(vec![0u8; 10], move |_, e| l2.push(cb_entry("cb2", e)));
                l.push(format!("w2 {ok}"));
                c.destroy();
            },
        );
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "w1 false",
                "w2 false",
                "cb1 ok",
                "cb2 ERR_STREAM_DESTROYED Cannot call write after a stream was destroyed",
                "close false"
            ]
        );
    });
}

// ----- byte counters ----------------------------------------------------------------------------

#[test]
fn bytes_written_counts_queued_bytes_and_both_counters_survive_close() {
    // Node: write('abc') while connecting -> bytesWritten 3 before anything is sent;
    // bytesRead counts what arrived; both keep their values after 'close'.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |s| {
            s.end_with("hello world");
            s.resume();
            let l2 = l.clone();
            s.on_close(move |s, _| {
                l2.push(format!(
                    "server close read={} written={}",
                    s.bytes_read(),
                    s.bytes_written()
                ))
            });
        });
        close_after_first_connection(&server);
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |srv| {
            let c = nodenet::connect((port_of(srv), "127.0.0.1"));
            c.write("abc");
            l.push(format!(
                "connecting written={} buffered={} read={}",
                c.bytes_written(),
                c.buffer_size(),
                c.bytes_read()
            ));
            c.resume();
            let l2 = l.clone();
            c.on_close(move |s, _| {
                l2.push(format!(
                    "client close read={} written={}",
                    s.bytes_read(),
                    s.bytes_written()
                ));
                let s = s.clone();
                let l3 = l2.clone();
                nodenet::set_immediate(move || {
                    l3.push(format!(
                        "after close read={} written={}",
                        s.bytes_read(),
                        s.bytes_written()
                    ))
                });
            });
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert_eq!(entries[0], "connecting written=3 buffered=3 read=0");
        let mut rest = entries[1..].to_vec();
        rest.sort();
        assert_eq!(
            rest,
            [
                "after close read=11 written=3",
                "client close read=11 written=3",
                "server close read=3 written=11"
            ]
        );
    });
}

#[test]

fn bytes_written_after_destroy_drops_the_discarded_queued_writes() {
    // Node: write(20 MB) (in flight) + write(10 B) (queued), destroy(): bytesWritten is
    // 20000010 right after destroy() and 20000000 at 'close' (the queued write was discarded).
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair_with(
            ServerOptions::default().pause_on_connect(true),
            false,
            move |c, s| {
                c.write(vec![0u8; 20_000_000]);
                c.write(vec![0u8; 10]);
                c.destroy();
                l.push(format!("after destroy {}", c.bytes_written()));
                let l2 = l.clone();
                c.on_close(move |c, _| {
                    l2.push(format!("close {}", c.bytes_written()));
                    s.destroy();
                });
            },
        );
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["after destroy 20000010", "close 20000000"]);
    });
}

// ----- EPIPE ------------------------------------------------------------------------------------

fn write_until_error(socket: &Socket, log: EventLog, i: usize) {
    assert!(i < 100, "writes to a closed peer kept succeeding");
    let l = log.clone();
    let ok = socket.write_with(vec![0u8; 1000], move |s, e| {
        l.push(cb_entry(&format!("cb {i}"), e));
        if e.is_none() {
            write_until_error(s, l.clone(), i + 1);
        }
    });
    log.push(format!("write {i} {ok}"));
}

#[test]
fn write_to_a_fully_closed_peer_fails_with_epipe_then_error_then_close_true() {
    // Node (g2_reset.js): allowHalfOpen client, the server destroys its side; after 'end' the
    // first write succeeds (cb null), a later one returns false with cb(EPIPE errno -32 syscall
    // 'write' "write EPIPE"), then 'error' (same), 'close'(true). Native Linux may say ECONNRESET.
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        pair_with(ServerOptions::default(), true, move |c, s| {
            let l2 = l.clone();
            c.on_end(move |c| {
                l2.push(format!("end {:?}", c.ready_state()));
                write_until_error(c, l2.clone(), 0);
            });
            let l2 = l.clone();
            c.on_error(move |_, e| l2.push(format!("error {}", describe(e))));
            log_close(&c, &l, "");
            c.resume();
            s.destroy();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        let failed = entries
            .iter()
            .position(|e| e.starts_with("write ") && e.ends_with(" false"))
            .unwrap_or_else(|| panic!("no failing write: {entries:?}"));
        let k = (failed - 1) / 2;
        assert!(
            k >= 1,
            "the first write after the FIN reaches the kernel: {entries:?}"
        );
        let error = entries
            .get(failed + 1)
            .and_then(|e| e.strip_prefix(&format!("cb {k} ")))
            .unwrap_or_else(|| panic!("no callback error: {entries:?}"))
            .to_string();
        let error = util::linux_errno_text(&error);
        assert!(
            error == "EPIPE write EPIPE errno=-32 syscall=write"
                || error == "ECONNRESET write ECONNRESET errno=-104 syscall=write",
            "unexpected write error {error:?}"
        );
        let mut expected = vec!["end WriteOnly".to_string()];
        for i in 0..k {
            expected.push(format!("write {i} true"));
            expected.push(format!("cb {i} ok"));
        }
        expected.push(format!("write {k} false"));
        expected.push(format!("cb {k} {error}"));
        expected.push(format!("error {error}"));
        expected.push("close true".to_string());
        assert_eq!(util::linux_errnos(entries), expected);
    });
}

// ----- call forms and encodings -----------------------------------------------------------------

#[test]
fn write_accepts_bytes_str_vec_slice_chunk_and_string() {
    util::with_deadline(util::LIMIT, || {
        let received = Rc::new(RefCell::new(Vec::new()));
        let rec = received.clone();
        pair(move |c, s| {
            let got = collect(&s);
            s.on_end(move |_| *rec.borrow_mut() = got.borrow().clone());
            let vec = b"[vec-slice]".to_vec();
            assert!(c.write(b"[bytes]"));
            assert!(c.write("[str]"));
            assert!(c.write(&vec[..]));
            assert!(c.write(vec));
            assert!(c.write(String::from("[string]")));
            let borrowed = String::from("[&string]");
            assert!(c.write(&borrowed));
            assert!(c.write(b"[array]".to_owned()));
            c.on_data(|c, chunk| {
                assert!(c.write(chunk.bytes()));
                c.end();
            });
            s.write("[chunk]");
        });
        nodenet::run().unwrap();
        assert_eq!(
            String::from_utf8(received.borrow().clone()).unwrap(),
            "[bytes][str][vec-slice][vec-slice][string][&string][array][chunk]"
        );
    });
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn write_encoded_sends_what_nodes_buffer_from_makes() {
    let cases: Vec<(Encoding, &str)> = vec![
        (Encoding::Utf8, "héllo wörld € 😀"),
        (Encoding::Utf16le, "héllo € 😀"),
        (Encoding::Latin1, "héllo € ÿ"),
        (Encoding::Latin1, "😀"),
        (Encoding::Ascii, "héllo € 😀 \u{7f}"),
        (Encoding::Base64, "aGVsbG8gd29ybGQ="),
        (Encoding::Base64, "aGVsbG8gd29ybGQ"),
        (Encoding::Base64, "aGVs bG8=\n"),
        (Encoding::Base64, "aGVsbG8_-w"),
        (Encoding::Base64, "@@@aGk=aGk="),
        (Encoding::Base64, "a"),
        (Encoding::Base64Url, "aGVsbG8_-w"),
        (Encoding::Base64Url, "aGVsbG8gd29ybGQ="),
        (Encoding::Hex, "ff00AbCd"),
        (Encoding::Hex, "abc"),
        (Encoding::Hex, "12zz34"),
        (Encoding::Hex, "zz"),
        (Encoding::Hex, ""),
    ];
    // Node's answer: Buffer.from(text, encoding), one hex line per case.
    let json = format!(
        "[{}]",
        cases
            .iter()
            .map(|(e, s)| format!("[{},{}]", json_string(e.name()), json_string(s)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let script = "for (const [e, s] of JSON.parse(process.argv[1])) \
                  console.log(Buffer.from(s, e).toString('hex'));";
    let mut node = util::spawn_node(script, &[json]);
    let mut out = String::new();
    node.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(node.wait().unwrap().success(), "node failed");
    let expected: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(expected.len(), cases.len(), "node printed {out:?}");

    let sent_cases: Vec<(Encoding, String)> =
        cases.iter().map(|(e, s)| (*e, s.to_string())).collect();
    let received = util::with_deadline(util::LIMIT, move || {
        let received = Rc::new(RefCell::new(Vec::new()));
        let rec = received.clone();
        pair(move |c, s| {
            let got = collect(&s);
            s.on_end(move |_| *rec.borrow_mut() = got.borrow().clone());
            for (encoding, text) in &sent_cases {
                assert!(c.write_encoded(text, *encoding));
            }
            c.end();
        });
        nodenet::run().unwrap();
        received.take()
    });
    let mut at = 0;
    for ((encoding, text), want) in cases.iter().zip(&expected) {
        let len = want.len() / 2;
        let got = received.get(at..at + len).map(hex).unwrap_or_default();
        assert_eq!(&got, want, "write_encoded({text:?}, {encoding:?})");
        at += len;
    }
    assert_eq!(at, received.len(), "no extra bytes");
}

// ----- Node as the peer -------------------------------------------------------------------------

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn node_client_echoes_5_mib_through_a_self_piped_socket_intact() {
    // A Node client sends 5 MiB of random bytes with end(data) to a nodenet echo server
    // (`socket.pipe(&socket)`) and compares what comes back.
    let script = r#"
        const net = require('net'), crypto = require('crypto');
        const data = crypto.randomBytes(5 * 1024 * 1024);
        const chunks = [];
        const c = net.connect(+process.argv[1], '127.0.0.1', () => c.end(data));
        c.on('data', d => chunks.push(d));
        c.on('end', () => {
          const got = Buffer.concat(chunks);
          console.log(got.equals(data) ? 'equal' : 'MISMATCH', got.length);
        });
        c.on('error', e => console.log('error', e.code));
        c.on('close', h => console.log('close', h));
    "#;
    let (server_log, node) = util::with_deadline(util::LIMIT, move || {
        let log = EventLog::new();
        let node = Rc::new(RefCell::new(None));
        let l = log.clone();
        let server = nodenet::create_server(move |s| {
            s.pipe(&s);
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            log_close(&s, &l, "");
        });
        server.listen((0, "127.0.0.1"));
        let n = node.clone();
        server.on_listening(move |srv| {
            let port = port_of(srv).to_string();
            *n.borrow_mut() = Some(util::spawn_node(script, &[port]));
        });
        let srv = server.clone();
        server.on_connection(move |_| {
            srv.close();
        });
        nodenet::run().unwrap();
        let child = node.borrow_mut().take().expect("node started");
        let output = child.wait_with_output().unwrap();
        (log.entries(), output)
    });
    assert_eq!(
        String::from_utf8_lossy(&node.stdout),
        "equal 5242880\nclose false\n",
        "node stderr: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    assert_eq!(server_log, ["end", "finish", "close false"]);
}

#[test]
fn self_pipe_echoes_4_mib_of_random_bytes_intact() {
    util::with_deadline(util::LIMIT, || {
        let data = random_bytes(4 * 1024 * 1024, 0x5eed);
        let received = Rc::new(RefCell::new(Vec::new()));
        let log = EventLog::new();
        let server = nodenet::create_server(|s| {
            s.pipe(&s);
        });
        close_after_first_connection(&server);
        server.listen((0, "127.0.0.1"));
        let (rec, l, payload) = (received.clone(), log.clone(), data.clone());
        server.on_listening(move |srv| {
            let c = nodenet::connect((port_of(srv), "127.0.0.1"));
            let got = collect(&c);
            let (r, l2) = (rec.clone(), l.clone());
            c.on_end(move |_| {
                l2.push("end");
                *r.borrow_mut() = got.borrow().clone();
            });
            log_close(&c, &l, "");
            c.end_with(payload.clone());
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["end", "close false"]);
        let received = received.borrow();
        assert_eq!(received.len(), data.len());
        assert!(*received == data, "echoed bytes differ");
    });
}

#[test]
fn pipe_between_two_sockets_ends_the_destination_when_the_source_ends() {
    // Two connections to one server; the first accepted socket is piped into the second.
    util::with_deadline(util::LIMIT, || {
        let data = random_bytes(1024 * 1024, 42);
        let received = Rc::new(RefCell::new(Vec::new()));
        let log = EventLog::new();
        let accepted: Rc<RefCell<Vec<Socket>>> = Rc::default();
        let server = Server::new(ServerOptions::default());
        let clients: Rc<RefCell<Vec<Socket>>> = Rc::default();
        let (acc, cl, l, payload) = (accepted.clone(), clients.clone(), log.clone(), data.clone());
        let (rec, srv) = (received.clone(), server.clone());
        server.on_connection(move |s| {
            acc.borrow_mut().push(s.clone());
            let port = port_of(&srv);
            if acc.borrow().len() == 1 {
                // The second client connects only now, so accept order is known.
                let c2 = nodenet::connect((port, "127.0.0.1"));
                let got = collect(&c2);
                let (r, l2) = (rec.clone(), l.clone());
                c2.on_end(move |_| {
                    l2.push("c2 end");
                    *r.borrow_mut() = got.borrow().clone();
                });
                log_close(&c2, &l, "c2 ");
                cl.borrow_mut().push(c2);
            } else {
                srv.close();
                let (s1, s2) = (acc.borrow()[0].clone(), acc.borrow()[1].clone());
                let l2 = l.clone();
                s2.on_finish(move |_| l2.push("s2 finish"));
                let returned = s1.pipe(&s2);
                assert!(returned == s2, "pipe returns the destination");
                cl.borrow()[0].end_with(payload.clone());
            }
        });
        server.listen((0, "127.0.0.1"));
        let cl = clients.clone();
        server.on_listening(move |srv| {
            let c1 = nodenet::connect((port_of(srv), "127.0.0.1"));
            c1.resume();
            cl.borrow_mut().insert(0, c1);
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert_eq!(entries, ["s2 finish", "c2 end", "c2 close false"]);
        assert!(*received.borrow() == data, "piped bytes differ");
    });
}
