//! A listener of one socket panics while other connections of the same loop are mid-transfer:
//! the panic leaves `run()` after every handle of the loop was closed (the server, the
//! transferring sockets on both sides, their reader and writer threads), and a second `run()`
//! starts clean. (One test in this binary: it counts the process's threads and fds.)

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

const CLIENTS: usize = 3;
const PANIC_AFTER: usize = 256 * 1024;

#[test]
#[cfg_attr(
    windows,
    ignore = "counts /proc/self/fd, which under Wine includes descriptors Wine opens itself"
)]
fn a_panic_in_one_sockets_listener_mid_transfer_closes_every_handle_and_leaves_run() {
    util::with_deadline(util::LIMIT, || {
        let threads_before = util::thread_count();
        let fds_before = util::fd_count();

        let server = nodenet::create_server(|c| {
            c.pipe(&c);
        });
        server.listen((0, "127.0.0.1"));
        let clients: Rc<RefCell<Vec<nodenet::Socket>>> = Rc::default();
        let received: Rc<Vec<Cell<usize>>> = Rc::new((0..CLIENTS).map(|_| Cell::new(0)).collect());
        {
            let (clients, received) = (clients.clone(), received.clone());
            server.on_listening(move |s| {
                let port = util::port_of(s);
                for i in 0..CLIENTS {
                    let c = nodenet::connect((port, "127.0.0.1"));
                    // An endless stream (write until full, more at `drain`): the transfer is
                    // always under way when the panic comes.
                    fn pump(c: &nodenet::Socket, byte: u8) {
                        while c.write(vec![byte; 64 * 1024]) {}
                    }
                    c.on_drain(move |c| pump(c, i as u8));
                    pump(&c, i as u8);
                    let (received, port) = (received.clone(), port);
                    let triggered = Rc::new(Cell::new(false));
                    c.on_data(move |_, chunk| {
                        let got = &received[i];
                        got.set(got.get() + chunk.bytes().len());
                        let all_flowing = received.iter().all(|r| r.get() >= PANIC_AFTER);
                        if all_flowing && !triggered.replace(true) && i == 0 {
                            // Every transfer is under way: a second kind of socket connects, and
                            // its `connect` listener panics.
                            let victim = nodenet::connect((port, "127.0.0.1"));
                            victim.on_connect(|_| panic!("connect listener panics on purpose"));
                        }
                    });
                    clients.borrow_mut().push(c);
                }
            });
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(nodenet::run));
        let panic = outcome.expect_err("the listener's panic leaves run()");
        assert_eq!(
            panic.downcast_ref::<&str>(),
            Some(&"connect listener panics on purpose")
        );
        // Every transfer was under way.
        for (i, r) in received.iter().enumerate() {
            assert!(r.get() >= PANIC_AFTER, "client {i} received {}", r.get());
        }
        assert!(!server.listening(), "the server was closed");
        for c in clients.borrow().iter() {
            assert!(c.destroyed(), "the transferring clients were closed");
        }
        clients.borrow_mut().clear();

        assert!(
            util::eventually(Duration::from_secs(5), || util::thread_count()
                == threads_before),
            "threads: before {threads_before}, after {}",
            util::thread_count()
        );
        assert!(
            util::eventually(Duration::from_secs(5), || util::fd_count() == fds_before),
            "fds: before {fds_before}, after {}",
            util::fd_count()
        );

        // A second run() starts clean and works: an echo round trip.
        let log = util::EventLog::new();
        let server = nodenet::create_server(|c| {
            c.pipe(&c);
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |s| {
            let c = nodenet::connect((util::port_of(s), "127.0.0.1"));
            c.write("again");
            let (l, s) = (l.clone(), s.clone());
            c.on_data(move |c, chunk| {
                l.push(String::from_utf8_lossy(chunk.bytes()).into_owned());
                c.destroy();
                s.close();
            });
        });
        nodenet::run().expect("a clean second run");
        assert_eq!(log.entries(), ["again"]);
    });
}
