//! The echo server from Node's `net` documentation: greets each client with `hello\r\n`, then
//! echoes everything back (`socket.pipe(socket)`).
//!
//! Run it with `cargo run --example echo_server -- [PORT|PATH] [HOST]` (default 8124, on every
//! interface unless HOST is given) and try it with `nc 127.0.0.1 8124`, or
//! `cargo run --example echo_client`. Ctrl-C closes the server gracefully.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "8124".to_string());
    let host = args.next();
    let server = nodenet::create_server(|c| {
        println!("client connected");
        c.on_end(|_| println!("client disconnected"));
        c.write("hello\r\n");
        c.pipe(&c);
    });
    server.on_error(|_, err| eprintln!("server error: {err}"));
    match (target.parse::<u16>(), &host) {
        (Ok(port), Some(host)) => server.listen((port, host.as_str())),
        (Ok(port), None) => server.listen(port),
        (Err(_), _) => server.listen(target.as_str()),
    };
    server.on_listening(|server| {
        println!("server bound");
        println!("listening on {}", server.address().expect("bound"));
    });

    // Ctrl-C: stop accepting and let the loop finish once the last client has gone.
    let loop_handle = nodenet::current_loop();
    let stopping = Arc::new(AtomicBool::new(false));
    let for_handler = server.clone();
    ctrlc::set_handler(move || {
        if !stopping.swap(true, Ordering::SeqCst) {
            let server = for_handler.clone();
            loop_handle.post(move || {
                println!("closing server");
                server.close();
            });
        }
    })
    .expect("installing the Ctrl-C handler");
    server.on_close(|_| println!("server closed"));
    nodenet::run()
}
