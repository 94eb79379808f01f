//! The echo servers under test. The suite binary runs one of them in a child process when started
//! with `--serve IMPL --listen tcp|PATH [--nodelay]`; it prints the TCP port (on 127.0.0.1) or the
//! unix socket path on stdout once it accepts connections, then serves until it is killed.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;

/// One read or write buffer of the std and tokio servers (Node and nodenet read at most 64 KiB too).
const BUF: usize = 64 * 1024;
/// Messages in flight between the reader and the writer thread of `std-threads2`.
const CHANNEL_CAPACITY: usize = 16;

/// Where a server listens.
enum Listen {
    /// 127.0.0.1, port 0.
    Tcp,
    /// A unix socket at this path.
    Unix(String),
}

/// Runs the server named `imp` (never returns unless it fails).
pub(crate) fn serve(args: &[String]) -> Result<(), String> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let imp = value("--serve").ok_or("--serve needs an implementation name")?;
    let listen = match value("--listen").as_deref() {
        None | Some("tcp") => Listen::Tcp,
        Some(path) => Listen::Unix(path.to_string()),
    };
    let nodelay = args.iter().any(|a| a == "--nodelay");
    match imp.as_str() {
        "nodenet-pipe" => nodenet_server(listen, nodelay, true),
        "nodenet-pipe-2loops" => nodenet_loops(listen, nodelay, true, 2),
        "nodenet-pipe-4loops" => nodenet_loops(listen, nodelay, true, 4),
        "nodenet-data-2loops" => nodenet_loops(listen, nodelay, false, 2),
        "nodenet-data-4loops" => nodenet_loops(listen, nodelay, false, 4),
        "nodenet-data" => nodenet_server(listen, nodelay, false),
        "std-threads" => std_server(listen, nodelay, false),
        "std-threads2" => std_server(listen, nodelay, true),
        "tokio" => tokio_server(listen, nodelay),
        other => Err(format!("unknown server implementation {other:?}")),
    }
}

fn ready(what: impl std::fmt::Display) {
    println!("{what}");
    let _ = io::stdout().flush();
}

// ---------------------------------------------------------------------------------------------
// nodenet

/// An echo server: `c.pipe(&c)`, or a `data` listener that writes each chunk back.
fn nodenet_echo(nodelay: bool, pipe: bool) -> nodenet::Server {
    let server = nodenet::create_server(move |c| {
        // A reset from a client must not end the server (Node's echo would crash without it too).
        c.on_error(|_, _| {});
        if nodelay {
            c.set_no_delay(true);
        }
        if pipe {
            c.pipe(&c);
        } else {
            c.on_data(|s, chunk| {
                s.write(chunk.bytes());
            });
        }
    });
    server.on_error(|_, err| {
        eprintln!("nodenet server error: {err}");
        std::process::exit(2);
    });
    server
}

fn nodenet_server(listen: Listen, nodelay: bool, pipe: bool) -> Result<(), String> {
    let server = nodenet_echo(nodelay, pipe);
    match &listen {
        Listen::Tcp => {
            server.listen((0, "127.0.0.1"));
        }
        Listen::Unix(path) => {
            server.listen(path.as_str());
        }
    }
    let path = match listen {
        Listen::Tcp => None,
        Listen::Unix(path) => Some(path),
    };
    server.on_listening(move |s| match &path {
        Some(path) => ready(path),
        None => ready(s.address().and_then(|a| a.port()).unwrap_or(0)),
    });
    nodenet::run().map_err(|e| format!("nodenet::run: {e}"))
}

/// `loops` threads, each with its own loop and an echo server (`c.pipe(&c)`, or a `data`
/// listener), sharing one listening socket (`exclusive(false)`): the first binds, the others
/// join its port or path.
fn nodenet_loops(listen: Listen, nodelay: bool, pipe: bool, loops: usize) -> Result<(), String> {
    let start = |listen: nodenet::ListenOptions| {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let server = nodenet_echo(nodelay, pipe);
            server.listen(listen);
            server.on_listening(move |s| {
                let _ = tx.send(s.address());
            });
            let _ = nodenet::run();
        });
        (thread, rx.recv().ok().flatten())
    };
    let shared = |l: nodenet::ListenOptions| l.exclusive(false);
    let first = match &listen {
        Listen::Tcp => shared(nodenet::ListenOptions::port(0).host("127.0.0.1")),
        Listen::Unix(path) => shared(nodenet::ListenOptions::path(path)),
    };
    let (first_thread, address) = start(first);
    let port = address.as_ref().and_then(|a| a.port()).unwrap_or(0);
    let mut threads = vec![first_thread];
    for _ in 1..loops {
        let options = match &listen {
            Listen::Tcp => shared(nodenet::ListenOptions::port(port).host("127.0.0.1")),
            Listen::Unix(path) => shared(nodenet::ListenOptions::path(path)),
        };
        threads.push(start(options).0);
    }
    match &listen {
        Listen::Tcp => ready(port),
        Listen::Unix(path) => ready(path),
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// std::net, one thread (std-threads) or two threads (std-threads2) per connection

trait Conn: Read + Write + Send + Sized + 'static {
    fn dup(&self) -> io::Result<Self>;
    fn shut_write(&self);
}

impl Conn for TcpStream {
    fn dup(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Conn for UnixStream {
    fn dup(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shut_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

fn std_server(listen: Listen, nodelay: bool, two_threads: bool) -> Result<(), String> {
    fn handle<C: Conn>(conn: C, two_threads: bool) {
        if two_threads {
            spawn_two(conn);
        } else {
            // Plain `thread::spawn`: default stack, and a panic (e.g. out of threads) ends the server.
            thread::spawn(move || echo_blocking(conn));
        }
    }
    match listen {
        Listen::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
            ready(listener.local_addr().map_err(|e| e.to_string())?.port());
            for conn in listener.incoming() {
                match conn {
                    Ok(conn) => {
                        if nodelay {
                            let _ = conn.set_nodelay(true);
                        }
                        handle(conn, two_threads);
                    }
                    Err(e) => eprintln!("accept: {e}"),
                }
            }
        }
        Listen::Unix(path) => {
            let listener = UnixListener::bind(&path).map_err(|e| format!("bind {path}: {e}"))?;
            ready(&path);
            for conn in listener.incoming() {
                match conn {
                    Ok(conn) => handle(conn, two_threads),
                    Err(e) => eprintln!("accept: {e}"),
                }
            }
        }
    }
    Ok(())
}

fn echo_blocking<C: Conn>(mut conn: C) {
    let mut buf = vec![0u8; BUF];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
    conn.shut_write();
}

fn spawn_two<C: Conn>(mut reader: C) {
    let mut writer = match reader.dup() {
        Ok(writer) => writer,
        Err(e) => {
            eprintln!("try_clone: {e}");
            return;
        }
    };
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(CHANNEL_CAPACITY);
    thread::spawn(move || {
        for chunk in rx {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
        writer.shut_write();
    });
    thread::spawn(move || {
        let mut buf = vec![0u8; BUF];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// tokio, multi-thread runtime (one worker per core)

fn tokio_server(listen: Listen, nodelay: bool) -> Result<(), String> {
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
        let mut buf = vec![0u8; BUF];
        loop {
            match s.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
        let _ = s.shutdown().await;
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async move {
        match listen {
            Listen::Tcp => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| format!("bind: {e}"))?;
                ready(listener.local_addr().map_err(|e| e.to_string())?.port());
                loop {
                    match listener.accept().await {
                        Ok((conn, _)) => {
                            if nodelay {
                                let _ = conn.set_nodelay(true);
                            }
                            tokio::spawn(echo(conn));
                        }
                        Err(e) => eprintln!("accept: {e}"),
                    }
                }
            }
            Listen::Unix(path) => {
                let listener = tokio::net::UnixListener::bind(&path)
                    .map_err(|e| format!("bind {path}: {e}"))?;
                ready(&path);
                loop {
                    match listener.accept().await {
                        Ok((conn, _)) => {
                            tokio::spawn(echo(conn));
                        }
                        Err(e) => eprintln!("accept: {e}"),
                    }
                }
            }
        }
    })
}
