//! Server: listen variants, address, close, connection counting, ref/unref.

mod util;

use nodenet::{Address, Family, ListenOptions};
use std::time::Duration;
use util::{EventLog, port_of, run_test};

#[test]
fn server_and_socket_are_send_and_sync() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<nodenet::Server>();
    is_send_sync::<nodenet::Socket>();
    is_send_sync::<nodenet::Error>();
    is_send_sync::<nodenet::LoopHandle>();
    is_send_sync::<nodenet::Timer>();
}

#[test]
fn listen_without_host_binds_dual_stack_synchronously() {
    run_test(|| {
        let server = nodenet::create_server(|_| {});
        server.listen(0);
        assert!(server.listening(), "bound inside listen()");
        let address = server.address().expect("address valid at once");
        let info = address.inet().unwrap().clone();
        assert_eq!(info.address, "::");
        assert_eq!(info.family, Family::IPv6);
        assert_ne!(info.port, 0);
        server.on_listening(|s| {
            s.close();
        });
    })
    .unwrap();
}

#[test]
fn listen_with_host_binds_after_lookup() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        server.listen((0, "127.0.0.1"));
        assert!(
            !server.listening(),
            "a host makes binding asynchronous, as in Node"
        );
        assert_eq!(server.address(), None);
        let l = log.clone();
        server.on_listening(move |s| {
            let info = s.address().unwrap().inet().unwrap().clone();
            l.push(format!("listening {} {}", info.address, info.family));
            s.close();
        });
        let l = log.clone();
        server.on_close(move |_| l.push("close"));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["listening 127.0.0.1 IPv4", "close"]);
    });
}

#[test]
fn listening_is_emitted_asynchronously_and_close_once() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        let l = log.clone();
        server.listen(ListenOptions::port(0).host("127.0.0.1"));
        server.on_listening(move |s| {
            l.push("listening");
            s.close();
        });
        log.push("after listen");
        let l = log.clone();
        server.on_close(move |_| l.push("close"));
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["after listen", "listening", "close"]);
    });
}

#[test]
fn close_on_a_server_that_is_not_running_emits_close_and_err_server_not_running() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::Server::new(Default::default());
        let l = log.clone();
        server.on_close(move |_| l.push("close"));
        let l = log.clone();
        server.close_with(move |_, err| {
            l.push(format!(
                "cb {}",
                err.map(|e| e.code().to_string()).unwrap_or_default()
            ))
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["close", "cb ERR_SERVER_NOT_RUNNING"]);
    });
}

#[test]
fn close_callback_gets_none_on_a_running_server() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_listening(move |s| {
            let l = l.clone();
            s.close_with(move |_, err| {
                l.push(format!("cb {:?}", err.map(|e| e.code().to_string())))
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["cb None"]);
    });
}

#[test]
fn eaddrinuse_is_an_error_event_with_node_fields() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let first = nodenet::create_server(|_| {});
        first.listen(0);
        let port = port_of(&first);
        let second = nodenet::create_server(|_| panic!("no connection expected"));
        second.listen(port);
        let l = log.clone();
        let first2 = first.clone();
        second.on_error(move |s, err| {
            l.push(format!(
                "{} {:?} {:?} {:?} {:?}",
                err.code(),
                err.errno(),
                err.syscall(),
                err.address(),
                err.port()
            ));
            l.push(err.to_string());
            assert!(!s.listening());
            assert_eq!(s.address(), None);
            first2.close();
        });
        nodenet::run().unwrap();
        assert_eq!(
            util::linux_errnos(log.entries()),
            [
                format!("EADDRINUSE Some(-98) Some(\"listen\") Some(\"::\") Some({port})"),
                format!("listen EADDRINUSE: address already in use :::{port}"),
            ]
        );
    });
}

#[test]
fn listen_twice_reports_err_server_already_listen() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        server.listen(0).listen(0);
        let l = log.clone();
        server.on_error(move |s, err| {
            l.push(err.code().to_string());
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["ERR_SERVER_ALREADY_LISTEN"]);
    });
}

#[test]
fn listen_options_without_port_or_path_is_err_invalid_arg_value() {
    util::with_deadline(util::LIMIT, || {
        let server = nodenet::create_server(|_| {});
        server.listen(ListenOptions::default());
        let err = nodenet::run().expect_err("unhandled error returned by run()");
        assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
    });
}

#[test]
fn unhandled_error_event_is_returned_by_run() {
    util::with_deadline(util::LIMIT, || {
        let first = nodenet::create_server(|_| {});
        first.listen(0);
        let second = nodenet::create_server(|_| {});
        second.listen(port_of(&first));
        let err = nodenet::run().expect_err("EADDRINUSE with no listener");
        assert_eq!(err.code(), "EADDRINUSE");
        first.close();
        nodenet::run().unwrap();
    });
}

#[test]
fn close_stops_accepting_but_keeps_connections_and_emits_close_before_the_last_socket_close() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |socket| {
            l.push("connection");
            let server = socket_server(&socket);
            let port = server.0;
            server.1.close();
            assert!(!server.1.listening());
            let l2 = l.clone();
            socket
                .on_close(move |_, had_error| l2.push(format!("server socket close {had_error}")));
            // A new connection is refused at once; the existing one still works.
            let refused = nodenet::connect((port, "127.0.0.1"));
            let l3 = l.clone();
            refused.on_error(move |_, e| l3.push(format!("second {}", e.code())));
            let l4 = l.clone();
            refused.on_close(move |_, _| {
                l4.push("ending first");
                socket.end_with("still open");
            });
        });
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_close(move |_| l.push("server close"));
        SERVER.with(|slot| *slot.borrow_mut() = Some(server.clone()));
        let l = log.clone();
        server.on_listening(move |s| {
            let client = nodenet::connect((port_of(s), "127.0.0.1"));
            let l = l.clone();
            client.on_data(move |_, chunk| {
                l.push(format!(
                    "client got {}",
                    String::from_utf8_lossy(chunk.bytes())
                ))
            });
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "connection",
                "second ECONNREFUSED",
                "ending first",
                "client got still open",
                "server close",
                "server socket close false"
            ]
        );
    });
}

thread_local! {
    static SERVER: std::cell::RefCell<Option<nodenet::Server>> = const { std::cell::RefCell::new(None) };
}

fn socket_server(_: &nodenet::Socket) -> (u16, nodenet::Server) {
    let server = SERVER
        .with(|slot| slot.borrow().clone())
        .expect("server stored");
    let port = server.address().map(|a| a.port().unwrap()).unwrap_or(0);
    (port, server)
}

#[test]
fn connections_and_get_connections_count_live_sockets() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        server.listen((0, "127.0.0.1"));
        let l = log.clone();
        server.on_connection(move |socket| {
            let server_count = l.clone();
            l.push("conn");
            let _ = socket;
            let _ = server_count;
        });
        let l = log.clone();
        server.on_listening(move |s| {
            let port = port_of(s);
            let c1 = nodenet::connect((port, "127.0.0.1"));
            let c2 = nodenet::connect((port, "127.0.0.1"));
            let s = s.clone();
            let l = l.clone();
            let pending = std::rc::Rc::new(std::cell::Cell::new(2));
            for c in [c1.clone(), c2.clone()] {
                let s = s.clone();
                let l = l.clone();
                let pending = pending.clone();
                let (c1, c2) = (c1.clone(), c2.clone());
                c.on_connect(move |_| {
                    pending.set(pending.get() - 1);
                    if pending.get() == 0 {
                        let s2 = s.clone();
                        let l = l.clone();
                        let (c1, c2) = (c1.clone(), c2.clone());
                        // Give the server's loop turn to accept both (same loop: accepted before our connect events? not guaranteed).
                        nodenet::set_timeout(Duration::from_millis(50), move || {
                            l.push(format!("sync {}", s2.connections()));
                            let l = l.clone();
                            s2.get_connections(move |s, n| {
                                l.push(format!("async {}", n.unwrap()));
                                c1.destroy();
                                c2.destroy();
                                s.close();
                            });
                        });
                    }
                });
            }
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert_eq!(entries.iter().filter(|e| *e == "conn").count(), 2);
        assert!(entries.contains(&"sync 2".to_string()), "{entries:?}");
        assert!(entries.contains(&"async 2".to_string()), "{entries:?}");
    });
}

#[test]
fn unref_server_lets_run_return() {
    util::with_deadline(util::LIMIT, || {
        let server = nodenet::create_server(|_| {});
        server.listen(0).unref();
        nodenet::run().unwrap();
        assert!(
            server.listening(),
            "still listening, just not keeping the loop alive"
        );
        server.ref_();
        let s = server.clone();
        nodenet::set_timeout(Duration::from_millis(10), move || {
            s.close();
        });
        nodenet::run().unwrap();
        assert!(!server.listening());
    });
}

#[test]
fn accepted_socket_of_a_dual_stack_server_sees_mapped_ipv4_addresses() {
    util::with_deadline(util::LIMIT, || {
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |socket| {
            l.push(format!(
                "{:?} {:?} {:?}",
                socket.remote_address(),
                socket.remote_family(),
                socket.local_address()
            ));
            socket.destroy();
        });
        server.listen(0);
        let port = port_of(&server);
        let client = nodenet::connect((port, "127.0.0.1"));
        let l = log.clone();
        let s = server.clone();
        client.on_connect(move |c| {
            l.push(format!("{:?} {:?}", c.remote_address(), c.remote_family()));
        });
        client.on_close(move |_, _| {
            s.close();
        });
        client.on_error(|_, _| {});
        nodenet::run().unwrap();
        let entries = log.entries();
        assert!(
            entries.contains(&"Some(\"127.0.0.1\") Some(IPv4)".to_string()),
            "{entries:?}"
        );
        assert!(
            entries.contains(
                &"Some(\"::ffff:127.0.0.1\") Some(IPv6) Some(\"::ffff:127.0.0.1\")".to_string()
            ),
            "{entries:?}"
        );
    });
}

#[test]
fn address_of_a_path_server_is_the_path() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("addr");
        let server = nodenet::create_server(|_| {});
        server.listen(path.as_path());
        assert_eq!(
            server.address(),
            Some(Address::Path(path.to_string_lossy().into_owned()))
        );
        server.close();
        nodenet::run().unwrap();
        assert!(!path.exists(), "socket file removed on close");
    });
}

/// Connections that arrive while earlier ones are being accepted are all accepted: 8 clients open
/// 40 connections each at once and get one byte echoed on every one.
#[test]
fn bursts_of_concurrent_connections_are_all_accepted() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CLIENTS: usize = 8;
    const EACH: usize = 40;
    let accepted = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let count = accepted.clone();
    run_test(move || {
        let server = nodenet::create_server(move |c| {
            count.fetch_add(1, Ordering::Relaxed);
            c.pipe(&c);
        });
        server.listen((0, "127.0.0.1")).on_listening(move |server| {
            let (port, server, lp) = (port_of(server), server.clone(), nodenet::current_loop());
            let tx = tx.clone();
            std::thread::spawn(move || {
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|_| {
                        std::thread::spawn(move || -> Result<(), String> {
                            let mut streams = Vec::new();
                            for j in 0..EACH {
                                let mut s = std::net::TcpStream::connect(("127.0.0.1", port))
                                    .map_err(|e| format!("connect {j}: {e}"))?;
                                s.set_read_timeout(Some(Duration::from_secs(10)))
                                    .map_err(|e| e.to_string())?;
                                s.write_all(&[j as u8])
                                    .map_err(|e| format!("write {j}: {e}"))?;
                                streams.push(s);
                            }
                            for (j, s) in streams.iter_mut().enumerate() {
                                let mut byte = [0u8];
                                s.read_exact(&mut byte)
                                    .map_err(|e| format!("echo of connection {j}: {e}"))?;
                                if byte[0] != j as u8 {
                                    return Err(format!("connection {j} echoed {}", byte[0]));
                                }
                            }
                            Ok(())
                        })
                    })
                    .collect();
                let results: Vec<_> = clients
                    .into_iter()
                    .map(|c| c.join().expect("client thread"))
                    .collect();
                tx.send(results).expect("send the results");
                lp.post(move || {
                    server.close();
                });
            });
        });
    })
    .unwrap();
    let results = rx.recv().expect("the clients' results");
    let failures: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(accepted.load(Ordering::Relaxed), CLIENTS * EACH);
}
