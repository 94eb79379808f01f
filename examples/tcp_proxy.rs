//! A TCP proxy: each client connection gets its own connection to the target, and the two are
//! joined with `pipe` in both directions (`client.pipe(upstream).pipe(client)`).
//!
//! - Backpressure is kept both ways: a pipe pauses its source while the destination has 16 KiB
//!   queued, so a slow reader on one side slows the writer on the other instead of filling memory.
//!   Bytes a client sends while the upstream connection is still being made are queued in the
//!   same way.
//! - Half-closes are forwarded (both sockets allow half-open connections), so request/response
//!   protocols where the client ends its side first keep working.
//! - An error on either side (a refused upstream, a reset) destroys the other side.
//!
//! Run it with `cargo run --example tcp_proxy -- LISTEN_PORT TARGET_HOST:TARGET_PORT [HOST]`
//! (listening on 127.0.0.1 unless HOST is given). For example, in front of the echo server:
//! `cargo run --example echo_server`, then `cargo run --example tcp_proxy -- 9000 127.0.0.1:8124`
//! and `nc 127.0.0.1 9000`.

use nodenet::{ConnectOptions, ServerOptions};

fn usage() -> ! {
    eprintln!("usage: tcp_proxy LISTEN_PORT TARGET_HOST:TARGET_PORT [HOST]");
    std::process::exit(2);
}

fn main() -> Result<(), nodenet::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage();
    }
    let listen_port: u16 = args[0].parse().unwrap_or_else(|_| usage());
    let (target_host, target_port) = match args[1].rsplit_once(':') {
        // "[::1]:80" -> "::1"
        Some((host, port)) => (
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port.parse::<u16>().unwrap_or_else(|_| usage()),
        ),
        None => usage(),
    };
    let listen_host = args.get(2).map_or("127.0.0.1", String::as_str);

    // net.createServer({ allowHalfOpen: true }, (client) => { ... })
    let options = ServerOptions::default().allow_half_open(true);
    let server = nodenet::create_server_with(options, move |client| {
        // const upstream = net.connect({ port, host, allowHalfOpen: true });
        let upstream = nodenet::connect(
            ConnectOptions::port(target_port)
                .host(target_host.clone())
                .allow_half_open(true),
        );
        // Writes to a socket that is still connecting are queued, so piping right away is fine.
        client.pipe(&upstream).pipe(&client);

        // client.on('error', (err) => upstream.destroy()), and the other way round.
        let peer = format!(
            "{}:{}",
            client.remote_address().unwrap_or_default(),
            client.remote_port().unwrap_or_default()
        );
        let other = upstream.clone();
        let who = peer.clone();
        client.on_error(move |_, err| {
            eprintln!("client {who}: {err}");
            other.destroy();
        });
        let other = client.clone();
        upstream.on_error(move |_, err| {
            eprintln!("upstream for {peer}: {err}");
            other.destroy();
        });
    });
    server.on_listening(|server| {
        println!("listening on {}", server.address().expect("bound"));
    });
    server.listen((listen_port, listen_host));
    nodenet::run()
}
