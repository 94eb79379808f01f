//! Helpers shared by the integration tests: deadlines, event logs, temp paths, Node peers, /proc counts.
#![allow(dead_code)] // reason: each test binary uses a different subset
#![allow(unreachable_pub)] // reason: a test helper module, not an API

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `body` on a fresh thread (with its own loop) and fails the test if it takes longer than `limit`.
pub fn with_deadline<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = tx.send(result);
        })
        .expect("spawn test thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => {
            let _ = worker.join();
            value
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("test did not finish within {limit:?} (hung loop?)"),
    }
}

/// The usual limit for a test.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Runs `body` then `nodenet::run()` under the usual deadline; returns `run()`'s result.
pub fn run_test(body: impl FnOnce() + Send + 'static) -> Result<(), nodenet::Error> {
    with_deadline(LIMIT, move || {
        body();
        nodenet::run()
    })
}

/// An ordered log of events, shared by listeners on one loop.
#[derive(Clone, Default)]
pub struct EventLog(Rc<RefCell<Vec<String>>>);

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }
    pub fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    pub fn contains(&self, entry: &str) -> bool {
        self.0.borrow().iter().any(|e| e == entry)
    }
    pub fn count(&self, entry: &str) -> usize {
        self.0.borrow().iter().filter(|e| *e == entry).count()
    }
}

/// The port of a listening TCP server.
pub fn port_of(server: &nodenet::Server) -> u16 {
    server
        .address()
        .and_then(|a| a.port())
        .expect("server listens on TCP")
}

/// Listens on 127.0.0.1 with `options`, connects a client (half-open if `client_half_open`) and
/// calls `ready(client, accepted)` once the client saw `connect` and the server `connection`.
/// The server closes at its first connection (and keeps it), so `run()` returns once both
/// sockets closed.
pub fn pair_with(
    options: nodenet::ServerOptions,
    client_half_open: bool,
    ready: impl FnOnce(nodenet::Socket, nodenet::Socket) + 'static,
) {
    type Sides = Rc<RefCell<(Option<nodenet::Socket>, Option<nodenet::Socket>)>>;
    type Ready = Rc<RefCell<Option<Box<dyn FnOnce(nodenet::Socket, nodenet::Socket)>>>>;
    fn fire_when_both(ready: &Ready, sides: &Sides) {
        let both = match &*sides.borrow() {
            (Some(c), Some(s)) => Some((c.clone(), s.clone())),
            _ => None,
        };
        if let Some((client, accepted)) = both {
            let f = ready
                .borrow_mut()
                .take()
                .expect("both sides are ready once");
            f(client, accepted);
        }
    }
    let ready: Ready = Rc::new(RefCell::new(Some(Box::new(ready))));
    let sides: Sides = Rc::default();
    let server = nodenet::Server::new(options);
    let (r, s, srv) = (ready.clone(), sides.clone(), server.clone());
    server.on_connection(move |socket| {
        srv.close();
        s.borrow_mut().1 = Some(socket);
        fire_when_both(&r, &s);
    });
    server.listen((0, "127.0.0.1"));
    server.on_listening(move |srv| {
        let client = nodenet::connect(
            nodenet::ConnectOptions::port(port_of(srv))
                .host("127.0.0.1")
                .allow_half_open(client_half_open),
        );
        let (r, s) = (ready.clone(), sides.clone());
        client.on_connect(move |c| {
            s.borrow_mut().0 = Some(c.clone());
            fire_when_both(&r, &s);
        });
    });
}

/// [`pair_with`] with the default server options and a client that is not half-open.
pub fn pair(ready: impl FnOnce(nodenet::Socket, nodenet::Socket) + 'static) {
    pair_with(nodenet::ServerOptions::default(), false, ready);
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, short path for a unix socket in a fresh temp directory (removed by the OS; tests clean up).
///
/// On Windows, local sockets are named pipes: a fresh name under `\\.\pipe\` instead (nothing is
/// created; removing its "parent directory" fails harmlessly).
pub fn temp_socket_path(name: &str) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    if cfg!(windows) {
        let id = std::process::id();
        return PathBuf::from(format!(r"\\.\pipe\nodenet-{id}-{n}\{name}.sock"));
    }
    let dir = std::env::temp_dir().join(format!("nodenet-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join(format!("{name}.sock"))
}

/// The `node` binary (override with NODE=...). Tests that need Node fail, never skip, without it.
pub fn node_binary() -> String {
    std::env::var("NODE").unwrap_or_else(|_| "node".to_string())
}

/// Starts `node -e script args...` with piped stdout.
pub fn spawn_node(script: &str, args: &[String]) -> Child {
    Command::new(node_binary())
        .arg("-e")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need Node.js (v18+) as `node` on PATH, or NODE=/path/to/node")
}

/// Number of threads of this process.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Number of open file descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits (up to `limit`) until `check` holds; returns whether it did.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    check()
}

/// A listener that must never run.
pub fn never(what: &'static str) -> impl Fn() {
    move || panic!("{what} should not be called")
}

/// Bytes in the kernel receive queue of the IPv4 TCP socket `127.0.0.1:local_port` <-> `:remote_port`
/// (from /proc/net/tcp), or None if no such socket is listed.
pub fn tcp_rx_queue(local_port: u16, remote_port: u16) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
        if fields.len() > 4
            && port(fields[1]) == Some(local_port)
            && port(fields[2]) == Some(remote_port)
        {
            usize::from_str_radix(fields[4].rsplit(':').next()?, 16).ok()
        } else {
            None
        }
    })
}

/// libuv's errno table for the codes the tests meet: (code, Linux errno, Windows errno).
const ERRNOS: &[(&str, i32, i32)] = &[
    ("EACCES", -13, -4092),
    ("EADDRINUSE", -98, -4091),
    ("EADDRNOTAVAIL", -99, -4090),
    ("ECONNREFUSED", -111, -4078),
    ("ECONNRESET", -104, -4077),
    ("EINVAL", -22, -4071),
    ("ENOENT", -2, -4058),
    ("EPIPE", -32, -4047),
    ("ETIMEDOUT", -110, -4039),
];

/// `text` with this platform's errno numbers replaced by Linux's, so that expected strings
/// written from Node on Linux apply everywhere (the identity on Linux).
pub fn linux_errno_text(text: &str) -> String {
    if !cfg!(windows) {
        return text.to_string();
    }
    let mut out = text.to_string();
    for (_, linux, windows) in ERRNOS {
        out = out.replace(&windows.to_string(), &linux.to_string());
    }
    out
}

/// [`linux_errno_text`] for every entry of an event log.
pub fn linux_errnos(entries: Vec<String>) -> Vec<String> {
    entries.iter().map(|e| linux_errno_text(e)).collect()
}

/// Node's errno for the error `code` on this platform: the negated errno on Linux, libuv's own
/// numbers on Windows (`include/uv/errno.h`).
pub fn errno(code: &str) -> i32 {
    let (_, linux, windows) = ERRNOS
        .iter()
        .find(|(name, ..)| *name == code)
        .unwrap_or_else(|| panic!("util::errno: add {code}"));
    if cfg!(windows) { *windows } else { *linux }
}

/// Runs `node tests/node/<script>` with `input` on stdin and returns its stdout lines; panics
/// (after killing node) if it fails or takes longer than `LIMIT`.
pub fn node_oracle(script: &str, input: &str) -> Vec<String> {
    use std::io::{Read, Write};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node")
        .join(script);
    let mut child = Command::new(node_binary())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need Node.js (v18+) as `node` on PATH, or NODE=/path/to/node");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((out, err));
    });
    let Ok((out, err)) = rx.recv_timeout(LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("node {script} did not answer within {LIMIT:?}");
    };
    let _ = writer.join();
    let status = child.wait().expect("wait for node");
    assert!(status.success(), "node {script} failed ({status}): {err}");
    out.lines().map(str::to_owned).collect()
}

/// Deterministic splitmix64 generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`, of `n`'s integer type.
    pub fn below<N: TryInto<u64> + TryFrom<u64>>(&mut self, n: N) -> N {
        let n: u64 = n.try_into().ok().expect("a bound that fits in a u64");
        N::try_from(self.next() % n)
            .ok()
            .expect("a number below the bound fits its type")
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A string as `JSON.stringify` writes it.
pub fn json(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
