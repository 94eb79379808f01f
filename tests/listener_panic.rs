//! A panicking listener: the panic leaves `run()` after every handle of the loop was closed, and a
//! second `run()` starts clean. (One test in this binary: it counts the process's threads and fds.)

mod util;

use std::time::Duration;

#[test]
#[cfg_attr(
    windows,
    ignore = "counts /proc/self/fd, which under Wine includes descriptors Wine opens itself"
)]
fn panic_in_a_listener_closes_every_handle_and_propagates_out_of_run() {
    util::with_deadline(util::LIMIT, || {
        let threads_before = util::thread_count();
        let fds_before = util::fd_count();

        let server = nodenet::create_server(|socket| {
            socket.on_data(|_, _| panic!("listener panics on purpose"));
        });
        server.listen((0, "127.0.0.1"));
        server.on_listening(|s| {
            let client = nodenet::connect((util::port_of(s), "127.0.0.1"));
            client.write("boom");
        });
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(nodenet::run));
        let panic = outcome.expect_err("the listener's panic leaves run()");
        assert_eq!(
            panic.downcast_ref::<&str>(),
            Some(&"listener panics on purpose")
        );
        assert!(!server.listening(), "the server was closed");

        // Every I/O thread exits and every fd closes.
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

        // A second run() starts clean and works.
        let log = util::EventLog::new();
        let l = log.clone();
        nodenet::set_timeout(Duration::from_millis(1), move || l.push("timer"));
        nodenet::run().expect("a clean second run");
        assert_eq!(log.entries(), ["timer"]);
    });
}
