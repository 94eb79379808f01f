//! The example gallery (`examples/*.rs`), each run as a child process against real clients for a
//! short exchange whose every byte is checked.
//!
//! `cargo test` builds every example into `target/<profile>/examples/`; these tests run those
//! binaries and fail (never skip) when one is missing or older than its source, e.g. after
//! `cargo test --test examples` alone: run `cargo build --examples` then.
//!
//! Servers are started on port 0 (bound to 127.0.0.1) or a path in a temp dir, and print
//! `listening on ADDRESS` once bound. Every blocking step is bounded (socket timeouts, timed waits
//! for the child's output and exit), and a child is killed when its guard drops, also on panic, so
//! no test can hang and no process outlives its test.
#![cfg(unix)]

mod util;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// The longest any single step may take (a line to arrive, a process to exit).
const STEP: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Running an example.

/// The binary of example `name`, next to this test's: `target/<profile>/deps/examples-HASH` ->
/// `target/<profile>/examples/NAME`.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir.join("examples").join(name);
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    let built = built.unwrap_or_else(|_| {
        panic!(
            "example binary {} is missing: `cargo test` builds it, or run `cargo build --examples`",
            binary.display()
        )
    });
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.rs"));
    let written = std::fs::metadata(&source)
        .and_then(|m| m.modified())
        .expect("the example's source");
    assert!(
        built >= written,
        "example binary {} is older than {}: run `cargo build --examples`",
        binary.display(),
        source.display()
    );
    binary
}

/// The lines of one output stream of a child, read by a thread so the child never blocks on a
/// full pipe.
struct Lines {
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn new(stream: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx
                            .send(String::from_utf8_lossy(&line).into_owned())
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// The next line (with its newline), or None at end of stream.
    fn next(&mut self, what: &str) -> Option<String> {
        match self.rx.recv_timeout(STEP) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no {what} line within {STEP:?}; so far: {:?}", self.seen)
            }
        }
    }

    /// Skips lines until one satisfies `wanted` (newline removed) and returns it.
    fn wait_for(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match self.next(what) {
                Some(line) if wanted(line.trim_end_matches('\n')) => {
                    return line.trim_end_matches('\n').to_string();
                }
                Some(_) => {}
                None => panic!("stream ended before {what}; it printed {:?}", self.seen),
            }
        }
    }

    /// Everything up to the end of the stream, as one string (the lines already read excluded).
    fn rest(&mut self, what: &str) -> String {
        let mut all = String::new();
        while let Some(line) = self.next(what) {
            all.push_str(&line);
        }
        all
    }
}

/// A running example; killed when dropped.
struct Example {
    name: String,
    child: Child,
    stdout: Lines,
    stderr: Lines,
}

impl Example {
    fn start(name: &str, args: &[&str]) -> Example {
        let mut child = Command::new(example_binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting example {name}: {e}"));
        let stdout = Lines::new(child.stdout.take().expect("piped stdout"));
        let stderr = Lines::new(child.stderr.take().expect("piped stderr"));
        Example {
            name: name.to_string(),
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for the `listening on ADDRESS` line and returns ADDRESS.
    fn listening(&mut self) -> String {
        let what = format!("{}'s `listening on`", self.name);
        let line = self
            .stdout
            .wait_for(&what, |l| l.starts_with("listening on "));
        line["listening on ".len()..].to_string()
    }

    /// Waits for `listening on 127.0.0.1:PORT ...` and returns PORT.
    fn port(&mut self) -> u16 {
        let address = self.listening();
        let address = address.split(' ').next().expect("an address");
        let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
        assert_eq!(host, "127.0.0.1", "{} binds loopback only", self.name);
        port.parse().expect("a port number")
    }

    /// The next stdout line, without its newline.
    fn line(&mut self) -> String {
        let what = format!("{} stdout", self.name);
        match self.stdout.next(&what) {
            Some(line) => line.trim_end_matches('\n').to_string(),
            None => panic!("{} exited; stderr: {:?}", self.name, self.stderr.seen),
        }
    }

    /// Waits for a stderr line satisfying `wanted`.
    fn stderr_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let what = format!("{} stderr", self.name);
        self.stderr.wait_for(&what, wanted)
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -INT {}", self.child.id());
    }

    /// Waits for the process to exit (its stdout closes first); returns its status and the rest
    /// of its stdout and stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        let what = format!("{} stdout", self.name);
        let stdout = self.stdout.rest(&what);
        let what = format!("{} stderr", self.name);
        let stderr = self.stderr.rest(&what);
        // Both pipes closed: the process has exited (or is exiting).
        let status = self.child.wait().expect("waiting for the example");
        (status, stdout, stderr)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Clients.

/// A loopback TCP or unix-socket client with timeouts on every read and write.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn tcp(port: u16) -> Stream {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connecting to the example");
        s.set_read_timeout(Some(STEP)).unwrap();
        s.set_write_timeout(Some(STEP)).unwrap();
        Stream::Tcp(s)
    }

    fn unix(path: &Path) -> Stream {
        let s = UnixStream::connect(path).expect("connecting to the example");
        s.set_read_timeout(Some(STEP)).unwrap();
        s.set_write_timeout(Some(STEP)).unwrap();
        Stream::Unix(s)
    }

    fn try_clone(&self) -> Stream {
        match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone().unwrap()),
            Stream::Unix(s) => Stream::Unix(s.try_clone().unwrap()),
        }
    }

    fn shutdown_write(&self) {
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write).unwrap(),
            Stream::Unix(s) => s.shutdown(Shutdown::Write).unwrap(),
        }
    }

    fn set_nonblocking(&self, on: bool) {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on).unwrap(),
            Stream::Unix(s) => s.set_nonblocking(on).unwrap(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A client of a line protocol.
struct LineClient {
    reader: BufReader<Stream>,
    writer: Stream,
}

impl LineClient {
    fn new(stream: Stream) -> LineClient {
        LineClient {
            writer: stream.try_clone(),
            reader: BufReader::new(stream),
        }
    }

    fn tcp(port: u16) -> LineClient {
        LineClient::new(Stream::tcp(port))
    }

    fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer.write_all(bytes.as_ref()).expect("sending");
    }

    /// The next line, without its newline; panics at end of stream or after STEP.
    #[track_caller]
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .expect("reading a line");
        assert!(n > 0, "end of stream while waiting for a line");
        assert_eq!(
            line.pop(),
            Some(b'\n'),
            "a line ends with a newline: {line:?}"
        );
        String::from_utf8(line).expect("utf-8")
    }

    #[track_caller]
    fn expect(&mut self, expected: &str) {
        assert_eq!(self.line(), expected);
    }

    /// The server ends the connection with nothing more to say.
    fn expect_end(&mut self) {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("reading to the end");
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "nothing after the last line"
        );
    }

    fn end(&mut self) {
        self.writer.shutdown_write();
    }
}

/// Writes `data` then ends our side, while reading everything back until the server ends.
fn round_trip(stream: Stream, data: Vec<u8>) -> Vec<u8> {
    let mut writer = stream.try_clone();
    let sender = std::thread::spawn(move || {
        writer.write_all(&data).expect("writing");
        writer.shutdown_write();
    });
    let mut back = Vec::new();
    let mut reader = stream;
    reader.read_to_end(&mut back).expect("reading the echo");
    sender.join().expect("writer thread");
    back
}

/// `len` bytes that are not periodic in any small period.
fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A port where connections are refused: bound, never listening, held by the returned socket.
fn refused_port() -> (u16, socket2::Socket) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    let port = socket
        .local_addr()
        .unwrap()
        .as_socket()
        .expect("an IP address")
        .port();
    (port, socket)
}

/// A std::net echo server on 127.0.0.1:0 that echoes every connection until EOF, then ends its
/// side; `corrupt_at` flips the byte at that offset of every connection's echo.
fn std_echo_server(corrupt_at: Option<usize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(STEP)).unwrap();
                stream.set_write_timeout(Some(STEP)).unwrap();
                let mut buf = vec![0; 64 * 1024];
                let mut offset = 0;
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if let Some(at) = corrupt_at
                        && (offset..offset + n).contains(&at)
                    {
                        buf[at - offset] ^= 0xff;
                    }
                    offset += n;
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
                let _ = stream.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

fn assert_refused(port: u16) {
    let err = TcpStream::connect(("127.0.0.1", port)).expect_err("the server no longer accepts");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

// ---------------------------------------------------------------------------------------------
// echo_server and echo_client

#[test]
fn echo_server_greets_echoes_and_closes_on_ctrl_c() {
    let mut server = Example::start("echo_server", &["0", "127.0.0.1"]);
    assert_eq!(server.line(), "server bound");
    let port = server.port();

    let mut client = Example::start("echo_client", &[&port.to_string(), "127.0.0.1"]);
    let (status, stdout, stderr) = {
        let first = client.line();
        assert_eq!(first, "connected to server!");
        client.finish()
    };
    assert!(status.success(), "echo_client: {status}, stderr {stderr:?}");
    // It prints what comes back until the server ends: the greeting, then its own echoed line.
    assert_eq!(stdout, "hello\r\nworld!\r\ndisconnected from server\n");
    assert_eq!(stderr, "");
    assert_eq!(server.line(), "client connected");
    assert_eq!(server.line(), "client disconnected");

    // A raw client: the greeting, then an exact echo of a larger payload.
    let data = payload(300_000, 1);
    let back = round_trip(Stream::tcp(port), data.clone());
    assert_eq!(back.len(), 7 + data.len());
    assert_eq!(&back[..7], b"hello\r\n");
    assert!(back[7..] == data[..], "the echo differs from what was sent");
    assert_eq!(server.line(), "client connected");
    assert_eq!(server.line(), "client disconnected");

    server.interrupt();
    let (status, stdout, stderr) = server.finish();
    assert!(status.success(), "echo_server: {status}, stderr {stderr:?}");
    assert_eq!(stdout, "closing server\nserver closed\n");
    assert_eq!(stderr, "");
}

#[test]
fn echo_server_and_client_over_a_unix_socket() {
    let path = util::temp_socket_path("echo");
    let path_arg = path.to_str().expect("utf-8 temp path");
    let mut server = Example::start("echo_server", &[path_arg]);
    assert_eq!(server.line(), "server bound");
    assert_eq!(server.listening(), path_arg);

    let client = Example::start("echo_client", &[path_arg]);
    let (status, stdout, stderr) = client.finish();
    assert!(status.success(), "echo_client: {status}, stderr {stderr:?}");
    assert_eq!(
        stdout,
        "connected to server!\nhello\r\nworld!\r\ndisconnected from server\n"
    );
    assert_eq!(server.line(), "client connected");
    assert_eq!(server.line(), "client disconnected");

    server.interrupt();
    let (status, stdout, _) = server.finish();
    assert!(status.success(), "echo_server: {status}");
    assert_eq!(stdout, "closing server\nserver closed\n");
    assert!(!path.exists(), "the socket file is removed on close");
    let _ = std::fs::remove_dir_all(path.parent().expect("a temp dir"));
}

// ---------------------------------------------------------------------------------------------
// unix_echo

#[test]
fn unix_echo_recovers_a_stale_socket_file_and_refuses_a_taken_one() {
    let path = util::temp_socket_path("unix-echo");
    let path_arg = path.to_str().expect("utf-8 temp path");
    // A crashed server's leftover: the file exists, nobody accepts on it.
    drop(UnixListener::bind(&path).expect("binding the stale socket"));
    assert!(path.exists());

    let mut server = Example::start("unix_echo", &[path_arg]);
    assert_eq!(server.listening(), path_arg);
    assert_eq!(
        server.stderr_line(|_| true),
        format!("removing stale socket file {path_arg}")
    );

    let data = payload(200_000, 2);
    let back = round_trip(Stream::unix(&path), data.clone());
    assert!(
        back == data,
        "unix echo differs ({} bytes back)",
        back.len()
    );

    // The throughput client over the same path, with a few connections at once.
    let load = Example::start(
        "throughput",
        &[
            path_arg,
            "--connections",
            "3",
            "--bytes",
            "256K",
            "--size",
            "8K",
        ],
    );
    let (status, stdout, stderr) = load.finish();
    assert!(status.success(), "throughput: {status}, stderr {stderr:?}");
    assert!(
        stdout.starts_with("3 connection(s) x 262144 bytes echoed and checked in "),
        "{stdout:?}"
    );

    // A second server on a path in use says so and exits with status 1; the first carries on.
    let second = Example::start("unix_echo", &[path_arg]);
    let (status, stdout, stderr) = second.finish();
    assert_eq!(
        status.code(),
        Some(1),
        "stdout {stdout:?} stderr {stderr:?}"
    );
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("{path_arg} is in use by a running server\n")
    );
    let back = round_trip(Stream::unix(&path), b"still here\n".to_vec());
    assert_eq!(back, b"still here\n");

    drop(server); // killed: the socket file stays behind, as after a crash
    let _ = std::fs::remove_dir_all(path.parent().expect("a temp dir"));
}

// ---------------------------------------------------------------------------------------------
// chat

#[test]
fn chat_broadcasts_lines_between_nicknamed_clients() {
    let mut server = Example::start("chat", &["0"]);
    let port = server.port();

    let mut alice = LineClient::tcp(port);
    alice.expect("nickname?");
    alice.send("alice\n");
    alice.expect("welcome, alice! nobody else is here yet");

    let mut bob = LineClient::tcp(port);
    bob.expect("nickname?");
    bob.send("alice\n");
    bob.expect("alice is taken, try again:");
    bob.send("b o b\n");
    bob.expect("a nickname is one word, try again:");
    bob.send("bob\r\n");
    bob.expect("welcome, bob! online: alice");
    alice.expect("* bob joined");

    let mut carol = LineClient::tcp(port);
    carol.expect("nickname?");
    carol.send("carol\n");
    carol.expect("welcome, carol! online: alice, bob");
    alice.expect("* carol joined");
    bob.expect("* carol joined");

    // A line in two writes, split inside the two-byte "é": set_encoding keeps the character whole.
    bob.send(b"hi \xc3");
    bob.send(b"\xa9t\xc3\xa9 all\n");
    alice.expect("bob: hi été all");
    carol.expect("bob: hi été all");
    // Two lines in one write. Bob's next line is Alice's: he did not get his own message back.
    alice.send("one\ntwo\n");
    bob.expect("alice: one");
    bob.expect("alice: two");
    carol.expect("alice: one");
    carol.expect("alice: two");
    carol.send("yo\n");
    bob.expect("carol: yo");
    alice.expect("carol: yo");

    drop(bob);
    alice.expect("* bob left");
    carol.expect("* bob left");
    carol.end();
    carol.expect_end();
    alice.expect("* carol left");
}

// ---------------------------------------------------------------------------------------------
// line_protocol

#[test]
fn line_protocol_answers_split_and_batched_commands() {
    let mut server = Example::start("line_protocol", &["0"]);
    let port = server.port();

    let mut client = LineClient::tcp(port);
    // Several commands in one write.
    client.send("SET a 1\nSET b two words\nGET a\n");
    client.expect("OK");
    client.expect("OK");
    client.expect("VALUE 1");
    // One command in pieces.
    client.send("GE");
    client.send("T b");
    client.send("\n");
    client.expect("VALUE two words");
    for (command, reply) in [
        ("GET missing", "NOT_FOUND"),
        ("DEL a", "OK"),
        ("DEL a", "NOT_FOUND"),
        ("GET a", "NOT_FOUND"),
        ("FOO bar", "ERR unknown command 'FOO'"),
        ("GET", "ERR usage: GET key"),
        ("DEL x y", "ERR usage: DEL key"),
        ("SET k", "ERR usage: SET key value"),
        ("get b\r", "VALUE two words"),
        ("SET café crème brûlée", "OK"),
        ("GET café", "VALUE crème brûlée"),
    ] {
        client.send(format!("{command}\n"));
        assert_eq!(client.line(), reply, "reply to {command:?}");
    }

    // Another client shares the store; its last command has no newline before it ends.
    let mut other = LineClient::tcp(port);
    other.send("GET café\nGET b");
    other.end();
    other.expect("VALUE crème brûlée");
    other.expect("VALUE two words");
    other.expect_end();

    // QUIT ends the connection; what follows it is ignored.
    client.send("\nQUIT\nGET b\n");
    client.expect("BYE");
    client.expect_end();
    assert_eq!(server.stderr.seen, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// tcp_proxy

#[test]
fn tcp_proxy_relays_mebibytes_both_ways_with_half_close() {
    let target = std_echo_server(None);
    let mut proxy = Example::start("tcp_proxy", &["0", &format!("127.0.0.1:{target}")]);
    let port = proxy.port();

    // Two clients at once, 3 MiB each: every byte comes back, then EOF (the half-close travelled
    // client -> proxy -> target and back).
    let transfers: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                let data = payload(3 << 20, 10 + i);
                let back = round_trip(Stream::tcp(port), data.clone());
                assert_eq!(back.len(), data.len(), "client {i}: byte count");
                assert!(back == data, "client {i}: the bytes differ");
            })
        })
        .collect();
    for transfer in transfers {
        transfer.join().expect("a client failed");
    }
    assert_eq!(proxy.stderr.seen, Vec::<String>::new());
}

#[test]
fn tcp_proxy_closes_the_client_when_the_target_refuses() {
    let (target, _held) = refused_port();
    let mut proxy = Example::start("tcp_proxy", &["0", &format!("127.0.0.1:{target}")]);
    let port = proxy.port();

    for _ in 0..2 {
        let mut client = Stream::tcp(port);
        let local_port = match &client {
            Stream::Tcp(s) => s.local_addr().unwrap().port(),
            Stream::Unix(_) => unreachable!(),
        };
        client.write_all(b"hello?").expect("the proxy accepted us");
        // The proxy destroys our side once the upstream connection fails: EOF, or a reset when
        // it had our bytes unread.
        let mut rest = Vec::new();
        match client.read_to_end(&mut rest) {
            Ok(_) => assert_eq!(rest, b""),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        }
        let line = proxy.stderr_line(|_| true);
        assert_eq!(
            line,
            format!("upstream for 127.0.0.1:{local_port}: connect ECONNREFUSED 127.0.0.1:{target}")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// worker_offload

/// The first `count` primes, by a sieve (independent of the example's trial division).
fn primes(count: usize) -> Vec<u64> {
    let limit = 10_000;
    let mut composite = vec![false; limit];
    let mut found = Vec::new();
    for n in 2..limit {
        if !composite[n] {
            found.push(n as u64);
            for m in (n * n..limit).step_by(n) {
                composite[m] = true;
            }
        }
    }
    assert!(found.len() >= count);
    found.truncate(count);
    found
}

#[test]
fn worker_offload_answers_from_the_pool_while_a_long_job_runs() {
    let mut server = Example::start("worker_offload", &["0", "2"]);
    let port = server.port();
    assert_eq!(
        server
            .stdout
            .seen
            .last()
            .map(|l| l.ends_with(" with 2 worker threads\n")),
        Some(true)
    );

    // A job that keeps one of the two workers busy for far longer than this test.
    let mut busy = LineClient::tcp(port);
    busy.send("5000000\n");

    let primes = primes(1000);
    let clients: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let mut client = LineClient::tcp(port);
                let requests = [1, 2, 10 + i, 100, 1000 - i];
                let mut text = String::new();
                for n in requests {
                    text.push_str(&format!("{n}\n"));
                }
                text.push_str("abc\n0\n");
                client.send(text);
                client.end(); // half-close: the answers still come, then the server ends
                let mut lines: Vec<String> =
                    (0..requests.len() + 2).map(|_| client.line()).collect();
                client.expect_end();
                lines.sort();
                (requests, lines)
            })
        })
        .collect();
    for client in clients {
        let (requests, lines) = client.join().expect("a client failed");
        let mut expected: Vec<String> = requests
            .iter()
            .map(|&n| format!("prime({n}) = {}", primes[n - 1]))
            .collect();
        expected.push("ERR expected a number from 1 to 5000000: abc".to_string());
        expected.push("ERR expected a number from 1 to 5000000: 0".to_string());
        expected.sort();
        assert_eq!(lines, expected);
    }

    // The long job is still running: its client has received nothing.
    busy.reader.get_ref().set_nonblocking(true);
    let mut byte = [0u8; 1];
    let err = busy.reader.read(&mut byte).expect_err("no answer yet");
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert_eq!(server.stderr.seen, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// graceful_shutdown

#[test]
fn graceful_shutdown_refuses_new_connections_and_lets_open_ones_finish() {
    let mut server = Example::start("graceful_shutdown", &["0", "30"]);
    let port = server.port();

    let mut client = LineClient::tcp(port);
    client.send("before\n");
    client.expect("before");

    server.interrupt();
    assert_eq!(server.line(), "shutting down: waiting for 1 connection(s)");
    client.expect("server shutting down");
    assert_refused(port);

    // The open connection is still served until it ends; then the process exits on its own.
    client.send("after\n");
    client.expect("after");
    client.end();
    client.expect_end();
    let (status, stdout, stderr) = server.finish();
    assert!(
        status.success(),
        "graceful_shutdown: {status}, stderr {stderr:?}"
    );
    assert_eq!(stdout, "server closed\n");
    assert_eq!(stderr, "");
}

#[test]
fn graceful_shutdown_second_ctrl_c_disconnects_everybody() {
    let mut server = Example::start("graceful_shutdown", &["0", "30"]);
    let port = server.port();
    let mut clients: Vec<LineClient> = (0..2).map(|_| LineClient::tcp(port)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(format!("{i}\n"));
        client.expect(&i.to_string());
    }

    server.interrupt();
    assert_eq!(server.line(), "shutting down: waiting for 2 connection(s)");
    for client in &mut clients {
        client.expect("server shutting down");
    }
    server.interrupt();
    assert_eq!(server.line(), "second Ctrl-C: disconnecting everybody");
    for client in &mut clients {
        client.expect_end();
    }
    let (status, stdout, stderr) = server.finish();
    assert!(
        status.success(),
        "graceful_shutdown: {status}, stderr {stderr:?}"
    );
    assert_eq!(stdout, "server closed\n");
    assert_eq!(stderr, "");
}

// ---------------------------------------------------------------------------------------------
// throughput

#[test]
fn throughput_checks_every_byte_against_the_echo_server() {
    let mut server = Example::start("echo_server", &["0", "127.0.0.1"]);
    let port = server.port();
    let load = Example::start(
        "throughput",
        &[
            &format!("127.0.0.1:{port}"),
            "--connections",
            "3",
            "--bytes",
            "1M",
            "--size",
            "10000",
            "--skip",
            "7", // echo_server's "hello\r\n"
        ],
    );
    let (status, stdout, stderr) = load.finish();
    assert!(status.success(), "throughput: {status}, stderr {stderr:?}");
    assert!(
        stdout.starts_with("3 connection(s) x 1048576 bytes echoed and checked in ")
            && stdout.ends_with(" MB/s each way\n"),
        "{stdout:?}"
    );
    assert_eq!(stderr, "");
}

#[test]
fn throughput_reports_the_first_wrong_byte() {
    // Byte 1000 of the echo is flipped; the pattern byte there is 1000 % 251 = 247 = 0xf7.
    let port = std_echo_server(Some(1000));
    let load = Example::start(
        "throughput",
        &[&port.to_string(), "--bytes", "64K", "--size", "4K"],
    );
    let (status, stdout, stderr) = load.finish();
    assert_eq!(status.code(), Some(1), "stdout {stdout:?}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "throughput: mismatch on connection 0 at byte 1000: expected 0xf7, got 0x08\n"
    );
}

#[test]
fn throughput_reports_a_server_that_ends_early() {
    // A server that reads a little, answers nothing and ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 16];
            stream.set_read_timeout(Some(STEP)).unwrap();
            let _ = stream.read_exact(&mut buf);
            let _ = stream.shutdown(Shutdown::Write);
            // Keep reading so that our close does not reset the client's writes.
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
        }
    });
    let load = Example::start(
        "throughput",
        &[&format!("127.0.0.1:{port}"), "--bytes", "1M"],
    );
    let (status, _, stderr) = load.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "throughput: connection 0 was ended by the server after 0 of 1048576 bytes\n"
    );
}

#[test]
fn multi_loop_spreads_connections_over_loops_sharing_one_port() {
    let mut server = Example::start("multi_loop", &["0", "3"]);
    let mut ports = Vec::new();
    for id in 0..3 {
        let line = server.line();
        let prefix = format!("loop {id} listening on 127.0.0.1:");
        let port = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line:?} starts with {prefix:?}"));
        ports.push(port.parse::<u16>().expect("a port"));
    }
    assert!(ports.iter().all(|&p| p == ports[0]), "one port: {ports:?}");
    let mut seen = [0usize; 3];
    for _ in 0..60 {
        let mut client = LineClient::tcp(ports[0]);
        let greeting = client.line();
        let id: usize = greeting
            .strip_prefix("loop ")
            .and_then(|n| n.trim_end_matches('\r').parse().ok())
            .unwrap_or_else(|| panic!("greeting {greeting:?}"));
        seen[id] += 1;
        client.send("ping\n");
        assert_eq!(client.line(), "ping");
    }
    assert!(
        seen.iter().filter(|&&n| n > 0).count() >= 2,
        "connections went to more than one loop: {seen:?}"
    );
    server.interrupt();
    let (status, stdout, stderr) = server.finish();
    assert!(status.success(), "multi_loop: {status}, stderr {stderr:?}");
    assert_eq!(stdout, "all loops closed\n");
    assert_eq!(stderr, "");
}
