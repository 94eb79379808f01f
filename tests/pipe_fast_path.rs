//! `pipe` when it is a socket's only consumer: the reader thread writes straight to the
//! destination. These check that it behaves as the loop path (and Node's pipe) does: every
//! byte in order, bounded queues, a destroyed destination pausing the source, and a `data`
//! listener added after `pipe` still seeing every byte.

mod util;

use nodenet::Socket;
use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A slow echo on a std thread: small reads with pauses, so that the proxy has to hold back.
fn slow_echo() -> u16 {
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = upstream.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = upstream.accept().unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            if s.write_all(&buf[..n]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    });
    port
}

/// Runs a nodenet proxy to `upstream` on its own loop thread; `on_pair` sees each (client,
/// target) pair. Returns the port and a way to stop it (which returns what `report` gives).
fn proxy<R: Send + 'static>(
    upstream: u16,
    on_pair: impl Fn(&Socket, &Socket) + 'static + Send,
    report: impl FnOnce() -> R + Send + 'static,
) -> (u16, impl FnOnce() -> R) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let server = nodenet::create_server(move |client| {
            let target = nodenet::connect((upstream, "127.0.0.1"));
            client.pipe(&target);
            target.pipe(&client);
            client.on_error(|_, _| {});
            target.on_error(|_, _| {});
            on_pair(&client, &target);
        });
        server.listen((0, "127.0.0.1"));
        let handle = nodenet::current_loop();
        let s = server.clone();
        server.on_listening(move |_| {
            tx.send((util::port_of(&s), handle.clone(), s.clone()))
                .unwrap();
        });
        nodenet::run().unwrap();
        report()
    });
    let (port, handle, server) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let stop = move || {
        handle.post(move || {
            server.close();
        });
        thread.join().unwrap()
    };
    (port, stop)
}

#[test]
fn a_proxy_relays_every_byte_in_order_with_bounded_queues() {
    util::with_deadline(util::LIMIT, || {
        thread_local! {
            static MAX_QUEUED: RefCell<usize> = const { RefCell::new(0) };
        }
        let (port, stop) = proxy(
            slow_echo(),
            |client, target| {
                for socket in [client.clone(), target.clone()] {
                    let s = socket.clone();
                    socket.on_drain(move |_| {
                        let queued = s.buffer_size();
                        MAX_QUEUED.with(|m| m.replace_with(|max| (*max).max(queued)));
                    });
                }
                let (c, t) = (client.clone(), target.clone());
                client.on_close(move |_, _| t.destroy());
                target.on_close(move |_, _| c.destroy());
            },
            || MAX_QUEUED.with(|m| *m.borrow()),
        );
        let total = 4 << 20;
        let data = pattern(total);
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut reader = c.try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let back = std::thread::spawn(move || {
            let mut got = vec![0u8; total];
            reader.read_exact(&mut got).unwrap();
            got
        });
        c.write_all(&data).unwrap();
        let got = back.join().unwrap();
        assert!(got == data, "the bytes came back changed");
        drop(c);
        let max_queued = stop();
        // `write` refuses past 16 KiB; one more read (64 KiB) may be in hand when it does.
        assert!(
            max_queued <= 16 * 1024 + 64 * 1024,
            "queued {max_queued} bytes at a drain"
        );
    });
}

#[test]
fn a_destroyed_destination_leaves_the_source_paused() {
    util::with_deadline(util::LIMIT, || {
        let log = util::EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |s| {
            // A destination that is destroyed at once: the pipe must pause `s`.
            let sink = nodenet::Socket::new(nodenet::SocketOptions::default());
            sink.destroy();
            let (source, l2) = (s.clone(), l.clone());
            nodenet::set_timeout(Duration::from_millis(300), move || {
                let before = source.bytes_read();
                let (source, l2) = (source.clone(), l2.clone());
                nodenet::set_timeout(Duration::from_millis(300), move || {
                    l2.push(format!("reading stopped {}", source.bytes_read() == before));
                    source.destroy();
                });
            });
            s.pipe(&sink);
        });
        server.listen((0, "127.0.0.1"));
        let (tx, rx) = mpsc::channel();
        server.on_listening(move |s| {
            let port = util::port_of(s);
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                c.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
                let chunk = vec![1u8; 64 * 1024];
                let mut sent = 0usize;
                // Writes stop going through once the paused server stops reading.
                while sent < 64 << 20 {
                    match c.write(&chunk) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                tx.send(sent).unwrap();
            });
        });
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        nodenet::run().unwrap();
        let sent = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(log.entries(), ["reading stopped true"]);
        assert!(
            sent < 16 << 20,
            "the peer could send {sent} bytes: the source kept reading"
        );
    });
}

#[test]
fn a_data_listener_added_after_pipe_sees_every_byte() {
    util::with_deadline(util::LIMIT, || {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s2 = seen.clone();
        let server = nodenet::create_server(move |c| {
            c.pipe(&c);
            let s3 = s2.clone();
            c.on_data(move |_, chunk| s3.borrow_mut().extend_from_slice(chunk.bytes()));
        });
        server.listen((0, "127.0.0.1"));
        let data = pattern(1 << 20);
        let expected = data.clone();
        let (tx, rx) = mpsc::channel();
        server.on_listening(move |s| {
            let port = util::port_of(s);
            let (data, tx) = (data.clone(), tx.clone());
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut r = c.try_clone().unwrap();
                let back = std::thread::spawn(move || {
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).unwrap();
                    got
                });
                c.write_all(&data).unwrap();
                c.shutdown(std::net::Shutdown::Write).unwrap();
                tx.send(back.join().unwrap()).unwrap();
            });
        });
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        nodenet::run().unwrap();
        let echoed = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(echoed == expected, "the echo differs");
        assert!(*seen.borrow() == expected, "the data listener missed bytes");
    });
}
