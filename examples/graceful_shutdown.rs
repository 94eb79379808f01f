//! Graceful shutdown on Ctrl-C: stop accepting (new connections are refused), tell the connected
//! clients, let them finish, and exit with status 0 once the last one has gone. A second Ctrl-C,
//! or the end of the grace period, disconnects whoever is left.
//!
//! The server echoes what it receives. Run it with
//! `cargo run --example graceful_shutdown -- [PORT] [GRACE_SECONDS] [HOST]` (default 8124, 30 s,
//! 127.0.0.1), connect with `nc 127.0.0.1 8124`, then press Ctrl-C in the server's terminal: nc
//! sees `server shutting down`, can still talk, and the server exits as soon as nc quits.
//!
//! In Node: `process.on('SIGINT', () => { server.close(); ... })`. Here the Ctrl-C handler runs on
//! a thread of the ctrlc crate, so it posts a closure to the loop with `LoopHandle::post`, and
//! whatever that closure uses must be `Send`: the client list is an `Arc<Mutex<_>>`.

use nodenet::Socket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Clients = Arc<Mutex<Vec<Socket>>>;

/// Disconnects every client still there.
fn destroy_all(clients: &Clients) {
    let left: Vec<Socket> = clients.lock().expect("not poisoned").clone();
    for client in left {
        client.destroy();
    }
}

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(8124, |p| p.parse().expect("PORT is a number"));
    let grace = Duration::from_secs(
        args.next()
            .map_or(30, |s| s.parse().expect("GRACE_SECONDS")),
    );
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());

    let clients = Clients::default();
    let registry = clients.clone();
    let server = nodenet::create_server(move |client| {
        client.pipe(&client);
        registry.lock().expect("not poisoned").push(client.clone());
        let registry = registry.clone();
        client.on_close(move |client, _had_error| {
            registry
                .lock()
                .expect("not poisoned")
                .retain(|c| c != client);
        });
        client.on_error(|_, err| eprintln!("client error: {err}"));
    });
    server.on_listening(|server| {
        println!("listening on {}", server.address().expect("bound"));
    });
    // 'close' comes once the server stopped accepting and its last connection has closed.
    server.on_close(|_| println!("server closed"));
    server.listen((port, host.as_str()));

    // process.on('SIGINT', ...): runs on the ctrlc crate's thread, so hand the work to the loop.
    let loop_handle = nodenet::current_loop();
    let presses = AtomicUsize::new(0);
    let server_for_signal = server.clone();
    ctrlc::set_handler(move || {
        let server = server_for_signal.clone();
        let clients = clients.clone();
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            loop_handle.post(move || {
                server.close(); // refuses new connections from now on
                let open = clients.lock().expect("not poisoned").clone();
                println!("shutting down: waiting for {} connection(s)", open.len());
                for client in &open {
                    client.write("server shutting down\n");
                }
                // A timer that does not keep the loop alive by itself (Node: timer.unref()).
                nodenet::set_timeout(grace, move || {
                    println!("grace period over");
                    destroy_all(&clients);
                })
                .unref();
            });
        } else {
            loop_handle.post(move || {
                println!("second Ctrl-C: disconnecting everybody");
                destroy_all(&clients);
            });
        }
    })
    .expect("installing the Ctrl-C handler");

    nodenet::run()
}
