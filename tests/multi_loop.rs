//! Servers on several loops sharing one listening socket (`ListenOptions::exclusive(false)`),
//! Node's cluster without processes.

mod util;

use nodenet::ListenOptions;
use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

/// Servers on several loops, and the threads running them.
struct Loops {
    addresses: Vec<nodenet::Address>,
    servers: Vec<nodenet::Server>,
    counts: Vec<Arc<AtomicUsize>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Loop 0 listens on port 0 on 127.0.0.1 with sharing on, the others join its port.
fn start_on_any_port(loops: usize) -> Loops {
    let mut all = start(0, 1, || {
        ListenOptions::port(0).host("127.0.0.1").exclusive(false)
    });
    let port = port_of(&all.addresses[0]);
    let rest = start(1, loops - 1, move || {
        ListenOptions::port(port).host("127.0.0.1").exclusive(false)
    });
    all.addresses.extend(rest.addresses);
    all.servers.extend(rest.servers);
    all.counts.extend(rest.counts);
    all.threads.extend(rest.threads);
    all
}

/// Starts loops numbered `first..first + loops`, each on its own thread with a server that
/// listens with `options()`, answers its loop number and counts its connections.
fn start(
    first: usize,
    loops: usize,
    options: impl Fn() -> ListenOptions + Send + Sync + 'static,
) -> Loops {
    let options = Arc::new(options);
    let (tx, rx) = mpsc::channel();
    let mut counts = Vec::new();
    let mut threads = Vec::new();
    for n in first..first + loops {
        let (tx, options) = (tx.clone(), Arc::clone(&options));
        let count = Arc::new(AtomicUsize::new(0));
        counts.push(Arc::clone(&count));
        threads.push(std::thread::spawn(move || {
            let server = nodenet::create_server(move |c| {
                count.fetch_add(1, Ordering::SeqCst);
                c.write(format!("{n}"));
                c.end();
            });
            server.listen(options());
            let tx2 = tx.clone();
            server.on_listening(move |s| {
                let _ = tx2.send((n, Ok((s.clone(), s.address().unwrap()))));
            });
            server.on_error(move |_, e| {
                let _ = tx.send((n, Err(e.clone())));
            });
            nodenet::run().unwrap();
        }));
    }
    let mut started: Vec<_> = (0..loops)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("listening"))
        .collect();
    started.sort_by_key(|(n, _)| *n);
    let (servers, addresses) = started
        .into_iter()
        .map(|(n, r)| r.unwrap_or_else(|e| panic!("loop {n}: {e}")))
        .unzip();
    Loops {
        addresses,
        servers,
        counts,
        threads,
    }
}

impl Loops {
    fn stop(self) {
        for server in &self.servers {
            server.close();
        }
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

fn who_answers(port: u16) -> usize {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    answer.parse().unwrap()
}

fn port_of(address: &nodenet::Address) -> u16 {
    match address {
        nodenet::Address::Inet(info) => info.port,
        other => panic!("not TCP: {other:?}"),
    }
}

#[test]
fn four_loops_share_one_port_and_all_take_connections() {
    util::with_deadline(util::LIMIT, || {
        let loops = start_on_any_port(4);
        let port = port_of(&loops.addresses[0]);
        assert!(
            loops.addresses.iter().all(|a| port_of(a) == port),
            "one port for all: {:?}",
            loops.addresses
        );
        let mut answered = [0usize; 4];
        for _ in 0..400 {
            answered[who_answers(port)] += 1;
        }
        let counted: Vec<usize> = loops
            .counts
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect();
        eprintln!("connections per loop: {answered:?}");
        assert_eq!(counted, answered, "each loop counted what it answered");
        assert_eq!(answered.iter().sum::<usize>(), 400);
        assert!(
            answered.iter().all(|&n| n > 0),
            "every loop took connections: {answered:?}"
        );
        loops.stop();
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the socket closed with the last server"
        );
    });
}

#[test]
fn closing_one_sharing_server_leaves_the_others_serving() {
    util::with_deadline(util::LIMIT, || {
        let loops = start_on_any_port(2);
        let port = port_of(&loops.addresses[0]);
        loops.servers[0].close();
        // The closed server's acceptor has stopped: every connection now goes to loop 1.
        for _ in 0..50 {
            assert_eq!(who_answers(port), 1);
        }
        loops.stop();
    });
}

#[test]
fn without_exclusive_false_a_second_server_on_the_port_is_eaddrinuse() {
    util::with_deadline(util::LIMIT, || {
        let first = start(0, 1, || {
            ListenOptions::port(0).host("127.0.0.1").exclusive(false)
        });
        let port = port_of(&first.addresses[0]);
        for exclusive in [None, Some(true)] {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let server = nodenet::create_server(|_| panic!("no connection"));
                let options = ListenOptions::port(port).host("127.0.0.1");
                server.listen(match exclusive {
                    Some(e) => options.exclusive(e),
                    None => options,
                });
                server.on_error(move |_, e| tx.send(e.code().to_string()).unwrap());
                nodenet::run().unwrap();
            });
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(10)).unwrap(),
                "EADDRINUSE",
                "exclusive {exclusive:?}"
            );
        }
        first.stop();
    });
}

#[test]
#[cfg(unix)] // unix socket files
fn loops_share_a_local_socket_path_and_the_file_goes_with_the_last() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("shared");
        let p = path.clone();
        let loops = start(0, 2, move || ListenOptions::path(&p).exclusive(false));
        let mut answered = [0usize; 2];
        for _ in 0..200 {
            let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
            let mut answer = String::new();
            c.read_to_string(&mut answer).unwrap();
            answered[answer.parse::<usize>().unwrap()] += 1;
        }
        assert!(answered.iter().all(|&n| n > 0), "{answered:?}");
        loops.servers[0].close();
        assert!(path.exists(), "still in use by loop 1");
        loops.stop();
        assert!(!path.exists(), "removed with the last server");
    });
}

#[test]
fn sharing_servers_start_together_without_eaddrinuse() {
    util::with_deadline(util::LIMIT, || {
        // Four loops listening on a fixed (just freed) port at the same moment.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let barrier = Arc::new(Barrier::new(4));
        let loops = start(0, 4, move || {
            barrier.wait();
            ListenOptions::port(port).host("127.0.0.1").exclusive(false)
        });
        assert!(loops.addresses.iter().all(|a| port_of(a) == port));
        let answer = who_answers(port);
        assert!(answer < 4, "answered by loop {answer}");
        loops.stop();
    });
}

#[test]
fn servers_on_port_0_do_not_share_with_each_other() {
    util::with_deadline(util::LIMIT, || {
        let a = start(0, 1, || {
            ListenOptions::port(0).host("127.0.0.1").exclusive(false)
        });
        let b = start(1, 1, || {
            ListenOptions::port(0).host("127.0.0.1").exclusive(false)
        });
        assert_ne!(port_of(&a.addresses[0]), port_of(&b.addresses[0]));
        a.stop();
        b.stop();
    });
}
