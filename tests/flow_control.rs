//! Read-side flow control: `pause`/`resume`, the read high-water mark, `pause_on_connect`, `end`
//! without a consumer, and the write side's `drain` against a peer that never reads.
//!
//! Node v20 reads at most 64 KiB at a time and stops reading once `readableLength ≥ 16 KiB`, so a
//! paused socket never holds more than 16 KiB + 64 KiB of unread bytes (items 41, 42, 84–87 of
//! node-net-behaviors.md).

mod util;

use nodenet::{ServerOptions, Socket};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use util::{EventLog, port_of};

/// Node's default readable high-water mark.
const HWM: usize = 16 * 1024;
/// Node's largest single read.
const MAX_READ: usize = 64 * 1024;
/// The most a socket may hold unread: it reads while below the high-water mark, one read at a time.
const READ_BOUND: usize = HWM + MAX_READ;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `then` on the loop once `cond` holds, checking every millisecond (bounded by the test deadline).
fn poll_until(cond: impl Fn() -> bool + 'static, then: impl FnOnce() + 'static) {
    if cond() {
        then();
    } else {
        nodenet::set_timeout(ms(1), move || poll_until(cond, then));
    }
}

/// A pseudo-random byte pattern with a prime period, stored twice so that any window of up to
/// `PERIOD` bytes starting at `offset % PERIOD` is one slice. Lost, duplicated or reordered bytes
/// change what is seen at a given offset.
struct Pattern(Vec<u8>);

const PERIOD: usize = 65_537;

impl Pattern {
    fn new() -> Pattern {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut once = Vec::with_capacity(PERIOD);
        for _ in 0..PERIOD {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            once.push((x >> 24) as u8);
        }
        let mut twice = once.clone();
        twice.extend_from_slice(&once);
        Pattern(twice)
    }

    /// The `len` pattern bytes at stream offset `offset` (`len <= PERIOD`).
    fn at(&self, offset: u64, len: usize) -> &[u8] {
        let start = (offset % PERIOD as u64) as usize;
        &self.0[start..start + len]
    }

    /// `total` bytes of the stream from offset 0.
    fn stream(&self, total: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            let n = (total - out.len()).min(PERIOD);
            out.extend_from_slice(self.at(out.len() as u64, n));
        }
        out
    }
}

/// A listening server on 127.0.0.1; `then` runs with its port once it listens.
fn listen(server: &nodenet::Server, then: impl FnOnce(u16) + 'static) {
    let then = RefCell::new(Some(then));
    server.listen((0, "127.0.0.1")).on_listening(move |s| {
        if let Some(then) = then.borrow_mut().take() {
            then(port_of(s));
        }
    });
}

#[test]
fn pause_stops_data_and_reading_stops_at_high_water_mark_then_resume_delivers_everything() {
    util::with_deadline(util::LIMIT, || {
        const TOTAL: usize = 1 << 20;
        let log = EventLog::new();
        let pattern = Rc::new(Pattern::new());
        let payload = pattern.stream(TOTAL);
        let server = nodenet::create_server(move |sock| {
            sock.end_with(payload.clone());
        });
        let (l, srv) = (log.clone(), server.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            let delivered = Rc::new(Cell::new(0u64));
            let paused = Rc::new(Cell::new(false));
            let (d, p, l2) = (delivered.clone(), paused.clone(), l.clone());
            client.on_data(move |s, chunk| {
                assert!(!p.get(), "data emitted while paused");
                let bytes = chunk.bytes();
                assert_eq!(
                    bytes,
                    pattern.at(d.get(), bytes.len()),
                    "bytes at {}",
                    d.get()
                );
                d.set(d.get() + bytes.len() as u64);
                if d.get() == bytes.len() as u64 {
                    // First chunk: pause and watch the reader stop.
                    s.pause();
                    p.set(true);
                    l2.push("paused");
                    let (s, d, p, l3) = (s.clone(), d.clone(), p.clone(), l2.clone());
                    let s2 = s.clone();
                    poll_until(
                        move || s2.readable_length() >= HWM,
                        move || {
                            nodenet::set_timeout(ms(100), move || {
                                let (read, buffered) = (s.bytes_read(), s.readable_length());
                                assert!(
                                    buffered <= READ_BOUND,
                                    "a paused socket buffered {buffered} bytes (> {READ_BOUND})"
                                );
                                assert_eq!(
                                    read,
                                    d.get() + buffered as u64,
                                    "bytes_read = delivered + readable_length"
                                );
                                l3.push("resume");
                                p.set(false);
                                s.resume();
                            });
                        },
                    );
                }
            });
            let (d, l2) = (delivered.clone(), l.clone());
            client.on_end(move |s| {
                l2.push(format!("end {}", d.get()));
                assert_eq!(s.bytes_read(), TOTAL as u64);
            });
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("finish"));
            let (l2, srv) = (l.clone(), srv.clone());
            client.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                srv.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            ["paused", "resume", "end 1048576", "finish", "close false"]
        );
    });
}

#[test]
fn socket_without_data_listener_reads_only_up_to_high_water_mark_and_withholds_end() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |sock| {
            // No data listener: the socket buffers until the high-water mark and stops reading.
            let l2 = l.clone();
            sock.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            sock.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            sock.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                close_test_server();
            });
            let (s, s2, l2) = (sock.clone(), sock.clone(), l.clone());
            poll_until(
                move || s2.readable_length() >= HWM,
                move || {
                    nodenet::set_timeout(ms(100), move || {
                        let (read, buffered) = (s.bytes_read(), s.readable_length());
                        assert!(
                            buffered <= READ_BOUND,
                            "buffered {buffered} bytes without a consumer (> {READ_BOUND})"
                        );
                        assert_eq!(read, buffered as u64, "nothing consumed yet");
                        l2.push("before resume");
                        s.resume();
                    });
                },
            );
        });
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_connect(|c| {
                c.end_with(vec![7u8; 1 << 20]);
            });
            client.resume();
        });
        let srv = server.clone();
        SERVER.with(|s| *s.borrow_mut() = Some(srv));
        nodenet::run().unwrap();
        // Node: ["before resume rl 65536 br 65536","end","finish","close false"]
        assert_eq!(
            log.entries(),
            ["before resume", "end", "finish", "close false"]
        );
    });
}

#[test]
fn end_is_withheld_while_unread_data_is_buffered() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |sock| {
            // No consumer: "hello" and the FIN are read, but `end` waits for the buffer to drain.
            let l2 = l.clone();
            sock.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            sock.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            sock.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                close_test_server();
            });
            let (s, s2, l2) = (sock.clone(), sock.clone(), l.clone());
            poll_until(
                move || s2.readable_length() >= 5,
                move || {
                    nodenet::set_timeout(ms(200), move || {
                        l2.push(format!(
                            "before resume {} {:?}",
                            s.readable_length(),
                            s.ready_state()
                        ));
                        s.resume();
                    });
                },
            );
        });
        SERVER.with(|s| *s.borrow_mut() = Some(server.clone()));
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_connect(|c| {
                c.end_with("hello");
            });
            client.resume();
        });
        nodenet::run().unwrap();
        // Node: ["before resume 5 open","end","finish","close false"]
        assert_eq!(
            log.entries(),
            ["before resume 5 Open", "end", "finish", "close false"]
        );
    });
}

thread_local! {
    /// The server of the running test, for listeners that close it.
    static SERVER: RefCell<Option<nodenet::Server>> = const { RefCell::new(None) };
}

/// Closes the server registered in `SERVER` (once).
fn close_test_server() {
    if let Some(server) = SERVER.with(|s| s.borrow_mut().take()) {
        server.close();
    }
}

#[test]
fn pause_on_connect_reads_nothing_until_resume_even_with_data_listener() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server_with(
            ServerOptions::default().pause_on_connect(true),
            move |sock| {
                l.push(format!("connection {}", sock.bytes_read()));
                let l2 = l.clone();
                sock.on_data(move |_, chunk| {
                    l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())))
                });
                let l2 = l.clone();
                sock.on_end(move |_| l2.push("end"));
                let l2 = l.clone();
                sock.on_finish(move |_| l2.push("finish"));
                let l2 = l.clone();
                sock.on_close(move |_, had_error| {
                    l2.push(format!("close {had_error}"));
                    close_test_server();
                });
                let l2 = l.clone();
                nodenet::set_timeout(ms(200), move || {
                    l2.push(format!(
                        "before resume {} {}",
                        sock.bytes_read(),
                        sock.readable_length()
                    ));
                    sock.resume();
                });
            },
        );
        SERVER.with(|s| *s.borrow_mut() = Some(server.clone()));
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_connect(|c| {
                c.end_with("hello");
            });
            client.resume();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connection 0",
                "before resume 0 0",
                "data hello",
                "end",
                "finish",
                "close false"
            ]
        );
    });
}

#[test]
fn pause_before_connect_reads_nothing_until_resume() {
    util::with_deadline(util::LIMIT, || {
        const TOTAL: usize = 1 << 20;
        let log = EventLog::new();
        let server = nodenet::create_server(move |sock| {
            sock.end_with(vec![1u8; TOTAL]);
        });
        let (l, srv) = (log.clone(), server.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.pause();
            let got = Rc::new(Cell::new(0usize));
            let g = got.clone();
            client.on_data(move |_, chunk| g.set(g.get() + chunk.bytes().len()));
            let l2 = l.clone();
            client.on_connect(move |s| {
                l2.push("connect");
                let (s, l3) = (s.clone(), l2.clone());
                nodenet::set_timeout(ms(200), move || {
                    l3.push(format!(
                        "before resume {} {}",
                        s.bytes_read(),
                        s.readable_length()
                    ));
                    s.resume();
                });
            });
            let l2 = l.clone();
            client.on_end(move |_| l2.push(format!("end {}", got.get())));
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("finish"));
            let (l2, srv) = (l.clone(), srv.clone());
            client.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                srv.close();
            });
        });
        nodenet::run().unwrap();
        // Node: ["connect","before resume bytesRead 0 rl 0","end 1048576","finish","close false"]
        assert_eq!(
            log.entries(),
            [
                "connect",
                "before resume 0 0",
                "end 1048576",
                "finish",
                "close false"
            ]
        );
    });
}

#[test]
fn end_is_emitted_without_data_listener_when_nothing_was_buffered() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|sock| {
            sock.end();
        });
        let (l, srv) = (log.clone(), server.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            let l2 = l.clone();
            client.on_connect(move |_| l2.push("connect"));
            let l2 = l.clone();
            client.on_end(move |s| l2.push(format!("end {}", s.bytes_read())));
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("finish"));
            let (l2, srv) = (l.clone(), srv.clone());
            client.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                srv.close();
            });
        });
        nodenet::run().unwrap();
        // Node: ["connect","end","finish","close false"], bytesRead 0
        assert_eq!(log.entries(), ["connect", "end 0", "finish", "close false"]);
    });
}

#[test]
fn end_is_emitted_while_paused_when_the_buffer_is_empty() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let accepted: Rc<RefCell<Option<Socket>>> = Rc::default();
        let a = accepted.clone();
        let server = nodenet::create_server(move |sock| {
            sock.write("hi");
            *a.borrow_mut() = Some(sock);
        });
        let (l, srv) = (log.clone(), server.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            let l2 = l.clone();
            client.on_data(move |s, chunk| {
                l2.push(format!("data {}", String::from_utf8_lossy(chunk.bytes())));
                s.pause();
                // Everything is consumed; now the peer ends while we are paused.
                accepted.borrow().as_ref().expect("accepted").end();
            });
            let l2 = l.clone();
            client.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("finish"));
            let (l2, srv) = (l.clone(), srv.clone());
            client.on_close(move |_, had_error| {
                l2.push(format!("close {had_error}"));
                srv.close();
            });
        });
        nodenet::run().unwrap();
        // Node: ["data hi","end","finish","close false"] (isPaused() still true)
        assert_eq!(log.entries(), ["data hi", "end", "finish", "close false"]);
    });
}

/// Issue requirement (a): a fast writer and a slow reader. The reader's unread bytes stay bounded
/// (the reader thread stops at the high-water mark, so TCP slows the writer down) and every byte
/// arrives, in order.
#[test]
fn slow_data_listener_keeps_read_buffer_bounded_and_loses_nothing() {
    util::with_deadline(Duration::from_secs(120), || {
        const TOTAL: u64 = 256 << 20;
        const CHUNK: usize = 64 << 10;
        let log = EventLog::new();
        let pattern = Rc::new(Pattern::new());
        let max_buffered = Rc::new(Cell::new(0usize));
        let max_unconsumed = Rc::new(Cell::new(0u64));
        let chunks = Rc::new(Cell::new(0u64));
        let checksum = Rc::new(Cell::new(Adler::new()));
        let (l, p, mb, mu, n, ck) = (
            log.clone(),
            pattern.clone(),
            max_buffered.clone(),
            max_unconsumed.clone(),
            chunks.clone(),
            checksum.clone(),
        );
        let server = nodenet::create_server(move |sock| {
            let delivered = Rc::new(Cell::new(0u64));
            let (d, p, mb, mu, n, ck) = (
                delivered.clone(),
                p.clone(),
                mb.clone(),
                mu.clone(),
                n.clone(),
                ck.clone(),
            );
            sock.on_data(move |s, chunk| {
                std::thread::sleep(ms(1));
                let bytes = chunk.bytes();
                assert_eq!(bytes, p.at(d.get(), bytes.len()), "bytes at {}", d.get());
                let mut sum = ck.get();
                sum.update(bytes);
                ck.set(sum);
                d.set(d.get() + bytes.len() as u64);
                n.set(n.get() + 1);
                let buffered = s.readable_length();
                mb.set(mb.get().max(buffered));
                mu.set(mu.get().max(s.bytes_read().saturating_sub(d.get())));
                assert!(
                    buffered <= READ_BOUND,
                    "{buffered} unread bytes buffered (> {READ_BOUND})"
                );
            });
            let l2 = l.clone();
            sock.on_end(move |_| l2.push(format!("server end {}", delivered.get())));
            let l2 = l.clone();
            sock.on_close(move |_, had_error| {
                l2.push(format!("server close {had_error}"));
                close_test_server();
            });
        });
        SERVER.with(|s| *s.borrow_mut() = Some(server.clone()));
        let (l, p) = (log.clone(), pattern.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            let sent = Rc::new(Cell::new(0u64));
            let sent_sum = Rc::new(Cell::new(Adler::new()));
            let pump = {
                let (sent, sent_sum) = (sent.clone(), sent_sum.clone());
                Rc::new(move |s: &Socket| {
                    while sent.get() < TOTAL {
                        let len = CHUNK.min((TOTAL - sent.get()) as usize);
                        let bytes = p.at(sent.get(), len).to_vec();
                        let mut sum = sent_sum.get();
                        sum.update(&bytes);
                        sent_sum.set(sum);
                        sent.set(sent.get() + len as u64);
                        if !s.write(bytes) {
                            return;
                        }
                    }
                    s.end();
                })
            };
            let pump2 = pump.clone();
            client.on_connect(move |s| pump2(s));
            client.on_drain(move |s| pump(s));
            let l2 = l.clone();
            client.on_finish(move |_| l2.push("client finish"));
            let l2 = l.clone();
            client.on_end(move |_| l2.push("client end"));
            let l2 = l.clone();
            client.on_close(move |_, had_error| {
                l2.push(format!("client close {had_error}"));
                l2.push(format!("client checksum {:08x}", sent_sum.get().value()));
            });
        });
        let started = std::time::Instant::now();
        nodenet::run().unwrap();
        let elapsed = started.elapsed();
        eprintln!(
            "256 MiB through a 1 ms/chunk listener: {} chunks, max readable_length {} B, \
             max bytes_read - delivered {} B, {:.1} s",
            chunks.get(),
            max_buffered.get(),
            max_unconsumed.get(),
            elapsed.as_secs_f64()
        );
        let entries = log.entries();
        let client_sum = entries
            .iter()
            .find_map(|e| e.strip_prefix("client checksum "))
            .expect("client closed")
            .to_string();
        assert_eq!(client_sum, format!("{:08x}", checksum.get().value()));
        // The two sockets' events interleave as their I/O threads race; each side's order is fixed.
        let side = |prefix: &str| -> Vec<String> {
            entries
                .iter()
                .filter(|e| e.starts_with(prefix) && !e.starts_with("client checksum"))
                .cloned()
                .collect()
        };
        assert_eq!(
            side("server"),
            ["server end 268435456", "server close false"]
        );
        assert_eq!(
            side("client"),
            ["client finish", "client end", "client close false"]
        );
        // The client's FIN is sent before the server can see the end of the stream.
        assert_eq!(entries[0], "client finish");
        assert!(max_buffered.get() <= READ_BOUND);
        assert!(max_unconsumed.get() <= READ_BOUND as u64);
    });
}

/// Adler-32, for comparing what was sent with what was received.
#[derive(Clone, Copy)]
struct Adler(u32, u32);

impl Adler {
    fn new() -> Adler {
        Adler(1, 0)
    }

    fn update(&mut self, bytes: &[u8]) {
        const MOD: u32 = 65_521;
        for block in bytes.chunks(5552) {
            for &b in block {
                self.0 += u32::from(b);
                self.1 += self.0;
            }
            self.0 %= MOD;
            self.1 %= MOD;
        }
    }

    fn value(self) -> u32 {
        (self.1 << 16) | self.0
    }
}

/// Issue requirement (b): a peer that never reads (`pause_on_connect`, never resumed) makes
/// `write()` return false, and `drain` never fires.
#[test]
fn write_returns_false_and_drain_never_fires_when_the_peer_never_resumes() {
    util::with_deadline(util::LIMIT, || {
        const CHUNK: usize = 64 << 10;
        const CAP: usize = 64 << 20;
        let log = EventLog::new();
        let accepted: Rc<RefCell<Option<Socket>>> = Rc::default();
        let (a, l) = (accepted.clone(), log.clone());
        let server = nodenet::create_server_with(
            ServerOptions::default().pause_on_connect(true),
            move |sock| {
                let l2 = l.clone();
                sock.on_data(|_, _| panic!("a never-resumed socket emitted data"));
                sock.on_close(move |s, had_error| {
                    l2.push(format!("server close {had_error} read {}", s.bytes_read()))
                });
                *a.borrow_mut() = Some(sock);
            },
        );
        let (l, srv) = (log.clone(), server.clone());
        listen(&server, move |port| {
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_drain(|_| panic!("drain fired although the peer never read"));
            let l2 = l.clone();
            client.on_close(move |_, had_error| l2.push(format!("client close {had_error}")));
            let (l2, srv) = (l.clone(), srv.clone());
            client.on_connect(move |s| {
                let block = vec![0x5au8; CHUNK];
                let mut written = 0usize;
                let mut ok = true;
                while ok && written < CAP {
                    ok = s.write(&block[..]);
                    written += CHUNK;
                }
                assert!(
                    !ok,
                    "write() still true after {written} bytes to a paused peer"
                );
                eprintln!("write() returned false after {written} bytes");
                l2.push("write false");
                let (s, l3, a, srv) = (s.clone(), l2.clone(), accepted.clone(), srv.clone());
                nodenet::set_timeout(ms(300), move || {
                    let queued = s.buffer_size();
                    assert!(queued > 0, "queue empty although the peer never read");
                    let peer = a.borrow_mut().take().expect("accepted");
                    assert_eq!(peer.bytes_read(), 0, "a never-resumed socket read");
                    l3.push("no drain after 300 ms");
                    s.destroy();
                    peer.destroy();
                    srv.close();
                });
            });
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert_eq!(entries[..2], ["write false", "no drain after 300 ms"]);
        let mut closes = entries[2..].to_vec();
        closes.sort();
        assert_eq!(closes, ["client close false", "server close false read 0"]);
    });
}
