//! The client from Node's `net` documentation: connects, says `world!\r\n`, prints what comes back
//! and ends after the first reply.
//!
//! Start `cargo run --example echo_server` first, then
//! `cargo run --example echo_client -- [PORT|PATH] [HOST]` (HOST defaults to `localhost`).

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "8124".to_string());
    let host = args.next();
    let client = match (target.parse::<u16>(), &host) {
        (Ok(port), Some(host)) => nodenet::connect((port, host.as_str())),
        (Ok(port), None) => nodenet::connect(port),
        (Err(_), _) => nodenet::connect(target.as_str()),
    };
    client.on_connect(|client| {
        println!("connected to server!");
        client.write("world!\r\n");
    });
    client.on_data(|client, chunk| {
        print!("{}", String::from_utf8_lossy(chunk.bytes()));
        client.end();
    });
    client.on_end(|_| println!("disconnected from server"));
    nodenet::run()
}
