//! The echo server from Node's `net` documentation: greets each client with `hello\r\n`, then
//! echoes everything back (`socket.pipe(socket)`).
//!
//! Run it with `cargo run --example echo_server -- [PORT|PATH]` (default 8124) and try it with
//! `nc 127.0.0.1 8124`, or `cargo run --example echo_client`. Ctrl-C closes the server gracefully.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn main() -> Result<(), nodenet::Error> {
    let target = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "8124".to_string());
    let server = nodenet::create_server(|c| {
        println!("client connected");
        c.on_end(|_| println!("client disconnected"));
        c.write("hello\r\n");
        c.pipe(&c);
    });
    server.on_error(|_, err| eprintln!("server error: {err}"));
    match target.parse::<u16>() {
        Ok(port) => server.listen(port),
        Err(_) => server.listen(target.as_str()),
    };
    server.on_listening(|_| println!("server bound"));

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
