//! One echo server on every core: Node's cluster, without processes. Each of N threads runs its
//! own event loop with its own server, and the servers share one listening socket
//! (`ListenOptions::exclusive(false)`), so each connection goes to one of the loops.
//!
//! Run it with `cargo run --release --example multi_loop -- [PORT] [LOOPS]` (default 8124 and
//! one loop per CPU), then connect a few times with `nc 127.0.0.1 8124`: the greeting says which
//! loop took the connection. Ctrl-C closes every server and the program exits.
//!
//! The JavaScript equivalent needs the cluster module and a process per worker:
//!
//! ```js
//! if (cluster.isPrimary) for (let i = 0; i < n; i++) cluster.fork();
//! else net.createServer((c) => { c.write(`loop ${id}\r\n`); c.pipe(c); }).listen(8124);
//! ```

use std::sync::mpsc;

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(8124, |p| p.parse().expect("PORT is a number"));
    let loops: usize = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |n| n.parse().expect("LOOPS is a number"),
    );

    // Each loop reports its server (to close it on Ctrl-C), its loop handle (to reach it from
    // the Ctrl-C thread) and its port. Loop 0 binds first (port 0 picks a free port); the others
    // join the same port, which is how servers meet: same port and host, exclusive(false).
    let (tx, rx) = mpsc::channel();
    let start = |id: usize, port: u16| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let server = nodenet::create_server(move |c| {
                c.write(format!("loop {id}\r\n"));
                c.on_error(|_, err| eprintln!("client error: {err}"));
                c.pipe(&c);
            });
            server.listen(
                nodenet::ListenOptions::port(port)
                    .host("127.0.0.1")
                    .exclusive(false),
            );
            server.on_error(|_, err| eprintln!("server error: {err}"));
            let handle = nodenet::current_loop();
            server.on_listening(move |s| {
                let address = s.address().expect("bound");
                println!("loop {id} listening on {address}");
                let port = address.port().expect("a TCP port");
                tx.send((s.clone(), handle.clone(), port))
                    .expect("the main thread waits");
            });
            if let Err(err) = nodenet::run() {
                eprintln!("loop {id}: {err}");
            }
        })
    };
    let mut threads = vec![start(0, port)];
    let mut servers = vec![rx.recv().expect("loop 0 listens")];
    let port = servers[0].2;
    for id in 1..loops {
        threads.push(start(id, port));
        servers.push(rx.recv().expect("the loop listens"));
    }

    // Ctrl-C: close each server on its own loop; each loop ends when its last client is gone.
    ctrlc::set_handler(move || {
        for (server, loop_handle, _) in &servers {
            let server = server.clone();
            loop_handle.post(move || {
                server.close();
            });
        }
    })
    .expect("installing the Ctrl-C handler");

    for thread in threads {
        thread.join().expect("a loop thread panicked");
    }
    println!("all loops closed");
}
