//! An echo server on a unix domain socket, with the usual recipe for the socket file that a crashed
//! server leaves behind: on `EADDRINUSE`, try to connect to the path; if nobody answers, the file is
//! stale, so remove it and listen again; if a server answers, report it and exit with status 1.
//!
//! Run it with `cargo run --example unix_echo -- /tmp/echo.sock` and try it with
//! `nc -U /tmp/echo.sock`, or from Node:
//! `node -e "const s = require('net').connect('/tmp/echo.sock'); s.pipe(process.stdout); s.end('hi\n')"`.
//! Stop it with Ctrl-C (which leaves the file behind) and start it again: it recovers the path.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

fn main() -> Result<ExitCode, nodenet::Error> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/nodenet-echo.sock".to_string()),
    );

    // const server = net.createServer((c) => c.pipe(c));
    let server = nodenet::create_server(|c| {
        c.pipe(&c);
        // A client that vanishes with unread data resets the connection: not worth a crash.
        c.on_error(|_, err| eprintln!("client error: {err}"));
    });

    let shown = path.clone();
    server.on_listening(move |_| println!("listening on {}", shown.display()));

    // Set when we give up; the loop then ends because the server is not listening.
    let failed = Rc::new(Cell::new(false));
    let failed_here = failed.clone();
    let target = path.clone();
    server.on_error(move |server, err| {
        if err.code() != "EADDRINUSE" {
            eprintln!("server error: {err}");
            failed_here.set(true);
            return;
        }
        // Someone owns the path, or it is a stale file: ask it.
        // const probe = net.connect(path);
        let probe = nodenet::connect(target.as_path());
        let path = target.clone();
        let failed = failed_here.clone();
        probe.on_connect(move |probe| {
            eprintln!("{} is in use by a running server", path.display());
            failed.set(true);
            probe.destroy();
        });
        let path = target.clone();
        let server = server.clone();
        let failed = failed_here.clone();
        probe.on_error(move |_, err| {
            // ECONNREFUSED: a socket file with nobody behind it. ENOENT: it vanished meanwhile.
            if matches!(err.code(), "ECONNREFUSED" | "ENOENT") {
                eprintln!("removing stale socket file {}", path.display());
                let _ = std::fs::remove_file(&path); // fs.unlinkSync(path)
                server.listen(path.as_path());
            } else {
                eprintln!("probing {}: {err}", path.display());
                failed.set(true);
            }
        });
    });

    server.listen(path.as_path());
    nodenet::run()?;
    Ok(if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
