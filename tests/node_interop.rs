//! Node.js as the peer: every scenario runs nodenet against a Node v20 process over loopback
//! TCP (127.0.0.1 / ::1) or a unix socket, in both directions.
//!
//! A scenario script `tests/node/<scenario>.js <role> <port-or-path>` is the Node end. When it
//! serves, it listens on port 0 and prints `{"port":N}` (or `{"path":...}`) as its first stdout
//! line. It always prints ONE final JSON line with what it saw and exits non-zero if one of its
//! own assertions failed. The Rust side asserts on that line and on its own report (an event
//! log plus a few fields).
//!
//! Controls: `tests/node/controls/<scenario>.js` is a Node implementation of nodenet's side.
//! Each `control_*` test runs the scenario Node-against-Node and applies the SAME checks as the
//! nodenet test, so a wrong expectation (in a scenario script or here) shows up there first.
//!
//! Node is required: without it these tests fail (they never skip). Tests marked
//! `#[ignore = "divergence: ..."]` assert Node's behaviour where nodenet differs; run them with
//! `cargo test --test node_interop -- --ignored`.
//!
//! If a Node script fails, the loop is torn down (every tracked server and socket closed) so the
//! test reports Node's output and our side's report at once instead of hanging.
#![cfg(unix)] // needs Node as a child process (a Linux `node` cannot be started from Wine)

mod util;

use nodenet::{Address, Encoding, Error, ReadyState, Server, ServerOptions, Socket, SocketOptions};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{EventLog, with_deadline};

/// Deadline of one test (the Node scripts have their own watchdogs of 15–25 s).
const LIMIT: Duration = Duration::from_secs(40);
/// How long to wait for a Node process to print its address, or to exit.
const PEER_LIMIT: Duration = Duration::from_secs(30);
/// Bytes of the bulk echo scenario (as in bulk_echo.js).
const BULK_TOTAL: usize = 32 * 1024 * 1024;
const BULK_CHUNK: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// A tiny JSON reader (the Node scripts print JSON; no serde here).

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

static NULL: Json = Json::Null;

impl Json {
    fn parse(text: &str) -> Json {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing characters in JSON: {text}");
        v
    }

    /// The member `key` of an object (`Null` when absent).
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or(&NULL),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn at(&self, i: usize) -> &Json {
        &self.arr()[i]
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn num(&self) -> f64 {
        match self {
            Json::Num(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }

    fn u64(&self) -> u64 {
        let n = self.num();
        assert!(n >= 0.0 && n.fract() == 0.0, "not a count: {n}");
        n as u64
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            other => panic!("not an array: {other:?}"),
        }
    }

    /// An array of strings.
    fn strs(&self) -> Vec<String> {
        self.arr().iter().map(|v| v.str().to_string()).collect()
    }

    fn obj(members: Vec<(&str, Json)>) -> Json {
        Json::Obj(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn s(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    fn n(value: impl Into<f64>) -> Json {
        Json::Num(value.into())
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s.get(self.i),
            Some(&c),
            "JSON: expected {:?}",
            c as char
        );
        self.i += 1;
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s.get(self.i).copied() {
            Some(b'{') => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    self.ws();
                    let k = self.string();
                    self.eat(b':');
                    let v = self.value();
                    m.insert(k, v);
                    self.ws();
                    self.i += 1;
                    match self.s[self.i - 1] {
                        b',' => continue,
                        b'}' => return Json::Obj(m),
                        c => panic!("JSON: unexpected {:?} in object", c as char),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    self.i += 1;
                    match self.s[self.i - 1] {
                        b',' => continue,
                        b']' => return Json::Arr(a),
                        c => panic!("JSON: unexpected {:?} in array", c as char),
                    }
                }
            }
            Some(b'"') => Json::Str(self.string()),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(
                    t.parse()
                        .unwrap_or_else(|_| panic!("JSON: bad number {t:?}")),
                )
            }
            None => panic!("JSON: unexpected end"),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(
            self.s[self.i..].starts_with(w.as_bytes()),
            "JSON: bad literal"
        );
        self.i += w.len();
        v
    }

    fn hex4(&mut self) -> u32 {
        let t = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(t, 16).expect("JSON: bad \\u escape")
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).expect("JSON: UTF-8"),
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hi = self.hex4();
                            let code = if (0xd800..0xdc00).contains(&hi)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4();
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        other => other as char,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
    }
}

#[test]
fn json_reader_reads_what_node_prints() {
    let v = Json::parse(
        r#"{"a":[1,-104,"x\n\u00e9\ud83d\ude00"],"b":{"c":true,"d":null},"e":"€","f":33554432}"#,
    );
    assert_eq!(v.get("a").at(1).num(), -104.0);
    assert_eq!(v.get("a").at(2).str(), "x\né😀");
    assert_eq!(v.get("b").get("c"), &Json::Bool(true));
    assert_eq!(v.get("b").get("d"), &Json::Null);
    assert_eq!(v.get("e").str(), "€");
    assert_eq!(v.get("f").u64(), 33554432);
    assert_eq!(v.get("missing"), &Json::Null);
}

// ---------------------------------------------------------------------------------------------
// Node processes.

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("node")
}

struct PeerOutput {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: String,
}

/// A running `node tests/node/<script> args...`; killed when dropped.
struct Peer {
    label: String,
    child: Arc<Mutex<Child>>,
    lines: Receiver<String>,
    done: Receiver<PeerOutput>,
}

impl Peer {
    /// Starts a Node script. With `tear_down_on_failure`, a failing Node process makes the
    /// current nodenet loop close every tracked server and socket, so `run()` returns and the
    /// test reports Node's failure instead of hanging until its deadline.
    fn spawn(script: &str, args: &[&str], tear_down_on_failure: bool) -> Peer {
        let label = format!("node tests/node/{script} {}", args.join(" "));
        let mut child = Command::new(util::node_binary())
            .arg(node_dir().join(script))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the Node interop tests need Node.js v20 as `node` on PATH (or NODE=/path/to/node); \
                     could not start `{}`: {e}",
                    util::node_binary()
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let child = Arc::new(Mutex::new(child));
        let (line_tx, lines) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let lp = tear_down_on_failure.then(nodenet::current_loop);
        let watched = Arc::clone(&child);
        let name = label.clone();
        std::thread::spawn(move || {
            let err = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            });
            let mut all = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = line_tx.send(line.clone());
                all.push(line);
            }
            let stderr = err.join().unwrap_or_default();
            let status = loop {
                if let Some(status) = watched.lock().unwrap().try_wait().expect("try_wait") {
                    break status;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            if !status.success() {
                eprintln!(
                    "[{name}] exited with {status}\nstdout:\n{}\nstderr:\n{stderr}",
                    all.join("\n")
                );
                if let Some(lp) = lp {
                    lp.post(tear_down);
                }
            }
            let _ = done_tx.send(PeerOutput {
                status,
                stdout: all,
                stderr,
            });
        });
        Peer {
            label,
            child,
            lines,
            done,
        }
    }

    /// The first stdout line: where a serving script listens (`{"port":N}` or `{"path":...}`).
    fn address_line(&self) -> Json {
        match self.lines.recv_timeout(PEER_LIMIT) {
            Ok(line) => Json::parse(&line),
            Err(_) => panic!("`{}` printed no address line", self.label),
        }
    }

    /// The port or path the serving script printed, as the argument for the other side.
    fn address_arg(&self) -> String {
        let line = self.address_line();
        match line.get("port") {
            Json::Num(n) => format!("{n}"),
            _ => line.get("path").str().to_string(),
        }
    }

    /// Waits for the script to exit; asserts it succeeded; returns its final JSON line.
    fn finish(self) -> Json {
        self.finish_or_explain()
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// Like `finish`, but returns why the script failed instead of panicking.
    fn finish_or_explain(self) -> Result<Json, String> {
        let out = match self.done.recv_timeout(PEER_LIMIT) {
            Ok(out) => out,
            Err(_) => {
                let _ = self.child.lock().unwrap().kill();
                return Err(format!(
                    "`{}` did not exit within {PEER_LIMIT:?}",
                    self.label
                ));
            }
        };
        if !out.status.success() {
            return Err(format!(
                "`{}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
                self.label,
                out.status,
                out.stdout.join("\n"),
                out.stderr
            ));
        }
        let Some(last) = out.stdout.last() else {
            return Err(format!("`{}` printed nothing", self.label));
        };
        let report = Json::parse(last);
        if report.get("failures") != &Json::Arr(vec![]) {
            return Err(format!("`{}` reported failures: {last}", self.label));
        }
        Ok(report)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock()
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

thread_local! {
    static TRACKED_SERVERS: RefCell<Vec<Server>> = const { RefCell::new(Vec::new()) };
    static TRACKED_SOCKETS: RefCell<Vec<Socket>> = const { RefCell::new(Vec::new()) };
}

fn track_server(server: &Server) {
    TRACKED_SERVERS.with(|t| t.borrow_mut().push(server.clone()));
}

fn track_socket(socket: &Socket) {
    TRACKED_SOCKETS.with(|t| t.borrow_mut().push(socket.clone()));
}

/// Runs on the loop when a Node peer failed: closes everything so that `run()` returns.
fn tear_down() {
    for s in TRACKED_SERVERS.with(|t| t.borrow_mut().split_off(0)) {
        if s.listening() {
            s.close();
        }
    }
    for s in TRACKED_SOCKETS.with(|t| t.borrow_mut().split_off(0)) {
        s.destroy();
    }
}

/// Starts the Node client `<scenario>.js <role> <port-or-path>` once `server` listens.
fn node_client_for(server: &Server, scenario: &str, role: &str) -> Rc<RefCell<Option<Peer>>> {
    track_server(server);
    let slot = Rc::new(RefCell::new(None));
    let s = slot.clone();
    let script = format!("{scenario}.js");
    let role = role.to_string();
    server.on_listening(move |server| {
        let arg = match server.address().expect("listening server has an address") {
            Address::Inet(info) => info.port.to_string(),
            Address::Path(path) => path,
        };
        *s.borrow_mut() = Some(Peer::spawn(&script, &[&role, &arg], true));
    });
    slot
}

/// Runs the loop, then waits for the Node peer; returns (our report, Node's report).
fn run_with(peer: Rc<RefCell<Option<Peer>>>, local: &Local) -> (Json, Json) {
    let result = nodenet::run();
    // Normally a no-op (all closed); if run() returned early, this lets Node see it at once.
    tear_down();
    let peer = peer.borrow_mut().take().expect("the Node peer was started");
    let report = peer
        .finish_or_explain()
        .unwrap_or_else(|why| panic!("{why}\nour side: {:?}\nrun(): {result:?}", local.report()));
    result.expect("nodenet::run() failed");
    (local.report(), report)
}

/// Runs a nodenet client scenario against the Node server `<scenario>.js <role> <server_arg>`:
/// `client(arg)` sets up nodenet's side given the printed port or path.
fn against_node_server(
    scenario: &'static str,
    role: &'static str,
    server_arg: String,
    client: impl FnOnce(&Local, String) + Send + 'static,
) -> (Json, Json) {
    with_deadline(LIMIT, move || {
        let local = Local::default();
        let peer = Peer::spawn(&format!("{scenario}.js"), &[role, &server_arg], true);
        client(&local, peer.address_arg());
        run_with(Rc::new(RefCell::new(Some(peer))), &local)
    })
}

/// Who listens in a Node-against-Node control run.
enum Pairing {
    /// The scenario script serves (started with this argument); the control connects.
    ScenarioServes(String),
    /// The control serves (started with this argument); the scenario connects.
    ControlServes(String),
    /// Both run on their own with this argument (error shapes).
    Independent(String),
}

/// Runs `<scenario>.js <role>` against `controls/<scenario>.js <role>`; returns (control's
/// report, scenario's report), the same pair a nodenet test produces.
fn control(scenario: &'static str, role: &'static str, pairing: Pairing) -> (Json, Json) {
    with_deadline(LIMIT, move || {
        let scn = format!("{scenario}.js");
        let ctl = format!("controls/{scenario}.js");
        let (control, scenario) = match pairing {
            Pairing::ScenarioServes(arg) => {
                let s = Peer::spawn(&scn, &[role, &arg], false);
                let c = Peer::spawn(&ctl, &[role, &s.address_arg()], false);
                (c, s)
            }
            Pairing::ControlServes(arg) => {
                let c = Peer::spawn(&ctl, &[role, &arg], false);
                let s = Peer::spawn(&scn, &[role, &c.address_arg()], false);
                (c, s)
            }
            Pairing::Independent(arg) => (
                Peer::spawn(&ctl, &[role, &arg], false),
                Peer::spawn(&scn, &[role, &arg], false),
            ),
        };
        let s = scenario.finish();
        (control.finish(), s)
    })
}

// ---------------------------------------------------------------------------------------------
// Our side's report: an event log plus named fields, shaped like a control's JSON line.

#[derive(Clone, Default)]
struct Local {
    log: EventLog,
    fields: Rc<RefCell<BTreeMap<String, Json>>>,
}

impl Local {
    fn push(&self, entry: impl Into<String>) {
        self.log.push(entry);
    }

    fn set(&self, key: &str, value: Json) {
        self.fields.borrow_mut().insert(key.to_string(), value);
    }

    fn report(&self) -> Json {
        let mut m = self.fields.borrow().clone();
        m.insert(
            "events".into(),
            Json::Arr(self.log.entries().into_iter().map(Json::Str).collect()),
        );
        Json::Obj(m)
    }
}

fn events(report: &Json) -> Vec<String> {
    report.get("events").strs()
}

/// An error's Node-defined fields, as errShape() in interop_common.js gives them.
fn error_shape(e: &Error) -> Json {
    let mut m = BTreeMap::new();
    m.insert("code".to_string(), Json::s(e.code()));
    if let Some(errno) = e.errno() {
        m.insert("errno".into(), Json::n(errno));
    }
    if let Some(syscall) = e.syscall() {
        m.insert("syscall".into(), Json::s(syscall));
    }
    if let Some(address) = e.address() {
        m.insert("address".into(), Json::s(address));
    }
    if let Some(port) = e.port() {
        m.insert("port".into(), Json::n(port));
    }
    m.insert("message".into(), Json::s(e.to_string()));
    Json::Obj(m)
}

// ---------------------------------------------------------------------------------------------
// Data helpers.

/// 64-bit FNV-1a (the same function as Fnv64 in interop_common.js).
#[derive(Clone, Copy)]
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

fn fnv64(bytes: &[u8]) -> String {
    let mut f = Fnv64::new();
    f.update(bytes);
    f.hex()
}

#[test]
fn fnv64_matches_the_reference_values() {
    assert_eq!(fnv64(b""), "cbf29ce484222325");
    assert_eq!(fnv64(b"a"), "af63dc4c8601ec8c");
    assert_eq!(fnv64(b"foobar"), "85944171f73967e8");
}

/// Pseudo-random bytes (xorshift64*).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Calls `then` once the kernel holds unread bytes for this IPv4 socket (polled: no event exists).
fn when_unread_data(socket: Socket, then: impl FnOnce(&Socket) + 'static) {
    let local = socket.local_port().expect("local port");
    let remote = socket.remote_port().expect("remote port");
    if util::tcp_rx_queue(local, remote).is_some_and(|n| n > 0) {
        then(&socket);
    } else {
        nodenet::set_timeout(Duration::from_millis(2), move || {
            when_unread_data(socket, then)
        });
    }
}

/// Calls `then` once `cond` holds, polling every millisecond (for states that have no event).
fn when(cond: impl Fn() -> bool + 'static, then: impl FnOnce() + 'static) {
    if cond() {
        then();
    } else {
        nodenet::set_timeout(Duration::from_millis(1), move || when(cond, then));
    }
}

/// Writes '+' whenever `bytes_read()` grew, until the socket is destroyed: the sender then sends
/// one byte per read (a read that decodes to nothing has no event, hence the polling).
fn ack_every_read(socket: Socket, acked: u64) {
    if socket.destroyed() {
        return;
    }
    let mut acked = acked;
    let read = socket.bytes_read();
    if read > acked {
        acked = read;
        if matches!(
            socket.ready_state(),
            ReadyState::Open | ReadyState::WriteOnly
        ) {
            socket.write("+");
        }
    }
    nodenet::set_timeout(Duration::from_millis(1), move || {
        ack_every_read(socket, acked)
    });
}

/// The encodings of the four connections of encoding.js (ENCODING_CASES).
const ENCODING_CASES: [Encoding; 4] = [
    Encoding::Utf8,
    Encoding::Hex,
    Encoding::Base64,
    Encoding::Utf8,
];

/// Receives connection `i` of the encoding scenario, as controls/encoding.js does.
fn receive_encoded(local: &Local, socket: &Socket, i: usize, done: impl FnOnce() + 'static) {
    let encoding = ENCODING_CASES[i];
    socket.set_no_delay(true);
    socket.set_encoding(Some(encoding));
    let l = local.clone();
    socket.on_data(move |_, chunk| {
        let text = chunk.text().expect("an encoding is set: text");
        l.push(format!("{i} {} {text}", encoding.name()));
    });
    let l = local.clone();
    socket.on_end(move |_| l.push(format!("{i} end")));
    let l = local.clone();
    let mut done = Some(done);
    socket.on_close(move |_, had_error| {
        l.push(format!("{i} close:{had_error}"));
        if let Some(done) = done.take() {
            done();
        }
    });
    ack_every_read(socket.clone(), 0);
}

// ---------------------------------------------------------------------------------------------
// 1. Bulk echo integrity (32 MiB, both sides respecting drain).

/// nodenet echo server for Node's 32 MiB client: by hand (write() false -> pause, drain ->
/// resume), or with `pipe()`.
fn bulk_echo_nodenet_server(use_pipe: bool) -> (Json, Json) {
    with_deadline(LIMIT, move || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            l.push("connection");
            let received = Rc::new(Cell::new(0u64));
            let fnv = Rc::new(Cell::new(Fnv64::new()));
            let (r, f) = (received.clone(), fnv.clone());
            s.on_data(move |s, chunk| {
                r.set(r.get() + chunk.bytes().len() as u64);
                let mut h = f.get();
                h.update(chunk.bytes());
                f.set(h);
                if !use_pipe && !s.write(chunk.bytes()) {
                    s.pause();
                }
            });
            if use_pipe {
                s.pipe(&s);
            } else {
                s.on_drain(|s| {
                    s.resume();
                });
            }
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            s.on_error(move |_, e| l2.push(format!("error:{}", e.code())));
            let l2 = l.clone();
            let srv = srv.clone();
            s.on_close(move |s, had_error| {
                l2.push(format!("close:{had_error}"));
                l2.set("received", Json::n(received.get() as f64));
                l2.set("recvFnv", Json::s(fnv.get().hex()));
                l2.set("bytesRead", Json::n(s.bytes_read() as f64));
                l2.set("bytesWritten", Json::n(s.bytes_written() as f64));
                srv.close();
            });
        });
        server.listen((0, "127.0.0.1"));
        let role = if use_pipe { "client_pipe" } else { "client" };
        let peer = node_client_for(&server, "bulk_echo", role);
        run_with(peer, &local)
    })
}

fn check_bulk_echo_client(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["connection", "end", "finish", "close:false"],
        "echo server"
    );
    assert_eq!(local.get("received").u64(), BULK_TOTAL as u64);
    assert_eq!(
        local.get("recvFnv"),
        node.get("sentFnv"),
        "what the server got"
    );
    assert_eq!(
        local.get("bytesRead").u64(),
        BULK_TOTAL as u64,
        "bytes_read()"
    );
    assert_eq!(
        local.get("bytesWritten").u64(),
        BULK_TOTAL as u64,
        "bytes_written()"
    );
    assert_eq!(
        events(node),
        ["connect", "finish", "end", "close:false"],
        "Node client"
    );
    assert_eq!(node.get("received").u64(), BULK_TOTAL as u64);
    assert_eq!(
        node.get("recvFnv"),
        node.get("sentFnv"),
        "echo intact (fnv)"
    );
    assert_eq!(
        node.get("recvSha"),
        node.get("sentSha"),
        "echo intact (sha256)"
    );
    assert!(node.get("falseWrites").u64() >= 1, "Node hit backpressure");
    assert_eq!(node.get("drains"), node.get("falseWrites"));
}

#[test]
fn bulk_echo_32mib_from_node_client_through_nodenet_server_is_intact() {
    let (local, node) = bulk_echo_nodenet_server(false);
    check_bulk_echo_client(&local, &node);
}

#[test]
fn bulk_echo_32mib_from_node_client_through_nodenet_pipe_is_intact() {
    let (local, node) = bulk_echo_nodenet_server(true);
    check_bulk_echo_client(&local, &node);
}

#[test]
fn control_bulk_echo_client_pipe() {
    let (local, node) = control(
        "bulk_echo",
        "client_pipe",
        Pairing::ControlServes("0".into()),
    );
    check_bulk_echo_client(&local, &node);
}

#[test]
fn control_bulk_echo_client() {
    let (local, node) = control("bulk_echo", "client", Pairing::ControlServes("0".into()));
    check_bulk_echo_client(&local, &node);
}

struct Pump {
    data: Vec<u8>,
    offset: Cell<usize>,
    false_writes: Cell<u64>,
    drains: Cell<u64>,
}

fn pump(s: &Socket, p: &Pump) {
    while p.offset.get() < p.data.len() {
        let start = p.offset.get();
        let end = (start + BULK_CHUNK).min(p.data.len());
        p.offset.set(end);
        if !s.write(&p.data[start..end]) {
            p.false_writes.set(p.false_writes.get() + 1);
            return;
        }
    }
    s.end();
}

/// nodenet client sending 32 MiB to Node's echo server, respecting drain, hashing the echo.
fn bulk_echo_nodenet_client() -> (Json, Json) {
    against_node_server("bulk_echo", "server", "0".into(), |local, port| {
        let port: u16 = port.parse().unwrap();
        let p = Rc::new(Pump {
            data: random_bytes(BULK_TOTAL, 0x5eed_1234_abcd_0001),
            offset: Cell::new(0),
            false_writes: Cell::new(0),
            drains: Cell::new(0),
        });
        local.set("sent", Json::n(BULK_TOTAL as f64));
        local.set("sentFnv", Json::s(fnv64(&p.data)));
        let s = nodenet::connect((port, "127.0.0.1"));
        track_socket(&s);
        let (l, p2) = (local.clone(), p.clone());
        s.on_connect(move |s| {
            l.push("connect");
            pump(s, &p2);
        });
        let p2 = p.clone();
        s.on_drain(move |s| {
            p2.drains.set(p2.drains.get() + 1);
            pump(s, &p2);
        });
        let received = Rc::new(Cell::new(0u64));
        let fnv = Rc::new(Cell::new(Fnv64::new()));
        let (r, f) = (received.clone(), fnv.clone());
        s.on_data(move |_, chunk| {
            r.set(r.get() + chunk.bytes().len() as u64);
            let mut h = f.get();
            h.update(chunk.bytes());
            f.set(h);
        });
        let l = local.clone();
        s.on_end(move |_| l.push("end"));
        let l = local.clone();
        s.on_finish(move |_| l.push("finish"));
        let l = local.clone();
        s.on_error(move |_, e| l.push(format!("error:{}", e.code())));
        let l = local.clone();
        s.on_close(move |s, had_error| {
            l.push(format!("close:{had_error}"));
            l.set("received", Json::n(received.get() as f64));
            l.set("recvFnv", Json::s(fnv.get().hex()));
            l.set("bytesRead", Json::n(s.bytes_read() as f64));
            l.set("bytesWritten", Json::n(s.bytes_written() as f64));
            l.set("offset", Json::n(p.offset.get() as f64));
            l.set("falseWrites", Json::n(p.false_writes.get() as f64));
            l.set("drains", Json::n(p.drains.get() as f64));
        });
    })
}

fn check_bulk_echo_server(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["connect", "finish", "end", "close:false"],
        "client"
    );
    assert_eq!(local.get("sent").u64(), BULK_TOTAL as u64);
    assert_eq!(local.get("received").u64(), BULK_TOTAL as u64);
    assert_eq!(local.get("recvFnv"), local.get("sentFnv"), "echo intact");
    assert_eq!(
        local.get("bytesRead").u64(),
        BULK_TOTAL as u64,
        "bytes_read()"
    );
    assert_eq!(
        local.get("bytesWritten").u64(),
        BULK_TOTAL as u64,
        "bytes_written()"
    );
    assert!(
        local.get("falseWrites").u64() >= 1,
        "client hit backpressure"
    );
    assert_eq!(local.get("drains"), local.get("falseWrites"));
    assert_eq!(
        events(node),
        ["connection", "end", "finish", "close:false"],
        "Node echo server"
    );
    assert_eq!(node.get("received").u64(), BULK_TOTAL as u64);
    assert_eq!(node.get("recvFnv"), local.get("sentFnv"), "what Node got");
}

#[test]
fn bulk_echo_32mib_from_nodenet_client_through_node_server_is_intact() {
    let (local, node) = bulk_echo_nodenet_client();
    check_bulk_echo_server(&local, &node);
}

#[test]
fn control_bulk_echo_server() {
    let (local, node) = control("bulk_echo", "server", Pairing::ScenarioServes("0".into()));
    check_bulk_echo_server(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 2. Half-close with and without allow_half_open.

/// Records data (logged at 'end' with the readyState), end, finish, error and close.
fn record_half_close(local: &Local, s: &Socket) -> Rc<RefCell<String>> {
    let text = Rc::new(RefCell::new(String::new()));
    let t = text.clone();
    s.on_data(move |_, chunk| {
        t.borrow_mut()
            .push_str(&String::from_utf8_lossy(chunk.bytes()))
    });
    let (l, t) = (local.clone(), text.clone());
    s.on_end(move |s| {
        l.push(format!("data:{}", t.borrow()));
        l.push(format!("end:{}", s.ready_state()));
    });
    let l = local.clone();
    s.on_finish(move |_| l.push("finish"));
    let l = local.clone();
    s.on_error(move |_, e| l.push(format!("error:{}", e.code())));
    let l = local.clone();
    s.on_close(move |_, had_error| l.push(format!("close:{had_error}")));
    text
}

fn half_close_nodenet_server(role: &'static str, allow_half_open: bool) -> (Json, Json) {
    with_deadline(LIMIT, move || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default().allow_half_open(allow_half_open));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            record_half_close(&l, &s);
            let l2 = l.clone();
            s.on_end(move |s| {
                if allow_half_open {
                    let s = s.clone();
                    nodenet::set_timeout(Duration::from_millis(30), move || {
                        s.end_with("late");
                    });
                } else {
                    l2.push(format!("write-in-end:{}", s.write("bye")));
                }
            });
            let srv = srv.clone();
            s.on_close(move |_, _| {
                srv.close();
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "half_close", role);
        run_with(peer, &local)
    })
}

fn check_half_close_client(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "data:hello",
            "end:writeOnly",
            "write-in-end:true",
            "finish",
            "close:false"
        ]
    );
    assert_eq!(
        events(node),
        [
            "connect",
            "finish:readOnly",
            "data:bye",
            "end",
            "close:false"
        ]
    );
}

#[test]
fn half_close_default_server_answers_in_end_then_sends_fin_automatically() {
    let (local, node) = half_close_nodenet_server("client", false);
    check_half_close_client(&local, &node);
}

#[test]
fn control_half_close_client() {
    let (local, node) = control("half_close", "client", Pairing::ControlServes("0".into()));
    check_half_close_client(&local, &node);
}

fn check_half_close_client_ho(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["data:hello", "end:writeOnly", "finish", "close:false"]
    );
    assert_eq!(
        events(node),
        [
            "connect",
            "finish:readOnly",
            "data:late",
            "end",
            "close:false"
        ]
    );
}

#[test]
fn half_open_server_keeps_writing_after_node_client_fin() {
    let (local, node) = half_close_nodenet_server("client_ho", true);
    check_half_close_client_ho(&local, &node);
}

#[test]
fn control_half_close_client_ho() {
    let (local, node) = control(
        "half_close",
        "client_ho",
        Pairing::ControlServes("0".into()),
    );
    check_half_close_client_ho(&local, &node);
}

fn check_half_close_server_ho(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "connect",
            "data:hi",
            "end:writeOnly",
            "finish",
            "close:false"
        ]
    );
    assert_eq!(
        events(node),
        [
            "connection",
            "finish:readOnly",
            "data:late",
            "end",
            "close:false"
        ]
    );
}

#[test]
fn half_open_client_keeps_writing_after_node_server_fin() {
    let (local, node) =
        against_node_server("half_close", "server_ho", "0".into(), |local, port| {
            let s = Socket::new(SocketOptions::default().allow_half_open(true));
            track_socket(&s);
            let l = local.clone();
            s.on_connect(move |_| l.push("connect"));
            record_half_close(local, &s);
            s.on_end(|s| {
                let s = s.clone();
                nodenet::set_timeout(Duration::from_millis(30), move || {
                    s.end_with("late");
                });
            });
            s.connect((port.parse::<u16>().unwrap(), "127.0.0.1"));
        });
    check_half_close_server_ho(&local, &node);
}

#[test]
fn control_half_close_server_ho() {
    let (local, node) = control(
        "half_close",
        "server_ho",
        Pairing::ScenarioServes("0".into()),
    );
    check_half_close_server_ho(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 3. server.close() with a live connection.

fn check_server_close(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "connection",
            "listening:false",
            "data:still-alive",
            "end",
            "finish",
            "server-close",
            "close-cb:none",
            "close:false"
        ]
    );
    assert_eq!(
        events(node),
        [
            "connect",
            "data:closed\n",
            "second-error:ECONNREFUSED",
            "second-close:true",
            "data:still-alive",
            "finish",
            "end",
            "close:false"
        ]
    );
    assert_eq!(node.get("refused").get("code").str(), "ECONNREFUSED");
}

#[test]
fn server_close_refuses_new_node_clients_but_keeps_the_live_one() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        server.on_close(move |_| l.push("server-close"));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            l.push("connection");
            let l2 = l.clone();
            srv.close_with(move |_, err| {
                l2.push(format!(
                    "close-cb:{}",
                    err.map_or("none".to_string(), |e| e.code().to_string())
                ))
            });
            l.push(format!("listening:{}", srv.listening()));
            s.write("closed\n");
            let l2 = l.clone();
            s.on_data(move |s, chunk| {
                l2.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes())));
                s.write(chunk.bytes());
            });
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            s.on_close(move |_, had_error| l2.push(format!("close:{had_error}")));
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "server_close", "client");
        run_with(peer, &local)
    });
    check_server_close(&local, &node);
}

#[test]
fn control_server_close() {
    let (local, node) = control("server_close", "client", Pairing::ControlServes("0".into()));
    check_server_close(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 4. max_connections: the excess client sees connect then end, not a refusal.

fn check_max_connections(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["connection:1", "data:bye", "end", "finish", "close:false"]
    );
    assert_eq!(
        node.get("a").strs(),
        ["connect", "data:welcome", "finish", "end", "close:false"]
    );
    assert_eq!(
        node.get("b").strs(),
        ["connect", "end", "finish", "close:false"]
    );
}

#[test]
fn max_connections_excess_node_client_sees_connect_then_end() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        server.set_max_connections(Some(1));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            l.push(format!("connection:{}", srv.connections()));
            s.write("welcome");
            let l2 = l.clone();
            s.on_data(move |_, chunk| {
                l2.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes())))
            });
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            let srv = srv.clone();
            s.on_close(move |_, had_error| {
                l2.push(format!("close:{had_error}"));
                srv.close();
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "max_connections", "client");
        run_with(peer, &local)
    });
    check_max_connections(&local, &node);
}

#[test]
fn control_max_connections() {
    let (local, node) = control(
        "max_connections",
        "client",
        Pairing::ControlServes("0".into()),
    );
    check_max_connections(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 5. Backpressure of a paused reader, seen by the Node writer.

/// D's listeners: count the bytes, log end/finish/error/close.
fn record_paused_data_socket(local: &Local, d: &Socket, on_close: impl FnOnce() + 'static) {
    let received = Rc::new(Cell::new(0u64));
    let r = received.clone();
    d.on_data(move |_, chunk| r.set(r.get() + chunk.bytes().len() as u64));
    let l = local.clone();
    d.on_end(move |_| l.push("end"));
    let l = local.clone();
    d.on_finish(move |_| l.push("finish"));
    let l = local.clone();
    d.on_error(move |_, e| l.push(format!("error:{}", e.code())));
    let l = local.clone();
    let mut on_close = Some(on_close);
    d.on_close(move |_, had_error| {
        l.push(format!("close:{had_error}"));
        l.set("received", Json::n(received.get() as f64));
        if let Some(f) = on_close.take() {
            f();
        }
    });
}

fn check_pause(local: &Json, node: &Json, role: &str) {
    if role == "client" {
        assert_eq!(
            events(local),
            [
                "connection",
                "signal bytes_read=0",
                "end",
                "finish",
                "close:false"
            ]
        );
        assert_eq!(
            node.get("c").strs(),
            ["connect", "end", "finish", "close:false"]
        );
    } else {
        assert_eq!(
            events(local),
            [
                "connect",
                "resume bytes_read=0",
                "end",
                "finish",
                "close:false"
            ]
        );
        assert_eq!(
            node.get("c").strs(),
            ["connection", "finish", "end", "close:false"]
        );
    }
    let first = if role == "client" {
        "connect"
    } else {
        "connection"
    };
    assert_eq!(
        node.get("d").strs(),
        [
            first,
            "write-false",
            "window-over",
            "drain",
            "finish",
            "end",
            "close:false"
        ],
        "Node's writer: write() false, no drain while paused, drain after resume"
    );
    assert!(node.get("written").u64() > 0);
    assert_eq!(
        local.get("received"),
        node.get("written"),
        "every byte arrived after resume"
    );
}

#[test]
fn pause_on_connect_holds_node_writer_until_resume() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default().pause_on_connect(true));
        let data: Rc<RefCell<Option<Socket>>> = Rc::default();
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            let first = data.borrow().clone();
            match first {
                None => {
                    l.push("connection");
                    let srv = srv.clone();
                    record_paused_data_socket(&l, &s, move || {
                        srv.close();
                    });
                    *data.borrow_mut() = Some(s);
                }
                Some(d) => {
                    l.push(format!("signal bytes_read={}", d.bytes_read()));
                    d.resume();
                    s.destroy();
                }
            }
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "pause", "client");
        run_with(peer, &local)
    });
    check_pause(&local, &node, "client");
}

#[test]
fn control_pause_client() {
    let (local, node) = control("pause", "client", Pairing::ControlServes("0".into()));
    check_pause(&local, &node, "client");
}

#[test]
fn paused_before_connect_holds_node_server_writer_until_resume() {
    let (local, node) = against_node_server("pause", "server", "0".into(), |local, port| {
        let port: u16 = port.parse().unwrap();
        let d = Socket::new(SocketOptions::default());
        track_socket(&d);
        d.pause();
        d.connect((port, "127.0.0.1"));
        record_paused_data_socket(local, &d, || {});
        let l = local.clone();
        d.on_connect(move |d| {
            l.push("connect");
            let c = nodenet::connect((port, "127.0.0.1"));
            track_socket(&c);
            let (l, d) = (l.clone(), d.clone());
            c.on_data(move |_, chunk| {
                if chunk.bytes() == b"resume" {
                    l.push(format!("resume bytes_read={}", d.bytes_read()));
                    d.resume();
                }
            });
        });
    });
    check_pause(&local, &node, "server");
}

#[test]
fn control_pause_server() {
    let (local, node) = control("pause", "server", Pairing::ScenarioServes("0".into()));
    check_pause(&local, &node, "server");
}

// ---------------------------------------------------------------------------------------------
// 6. FIN versus RST.

fn check_reset(local: &Json, node: &Json, role: &str) {
    if role == "client" {
        assert_eq!(
            events(local),
            [
                "1 destroy",
                "1 close:false",
                "2 destroy with unread data",
                "2 close:false"
            ]
        );
    } else {
        assert_eq!(
            events(local),
            [
                "1 connect",
                "1 close:false",
                "2 connect",
                "2 destroy with unread data",
                "2 close:false"
            ]
        );
    }
    let first = if role == "client" {
        "connect"
    } else {
        "connection"
    };
    assert_eq!(
        node.get("fin").strs(),
        [first, "end", "finish", "close:false"],
        "destroy() with nothing unread sends FIN"
    );
    assert_eq!(
        node.get("rst").strs(),
        [first, "error:ECONNRESET", "close:true"],
        "destroy() with unread data sends RST"
    );
    assert_eq!(
        node.get("error"),
        &Json::obj(vec![
            ("code", Json::s("ECONNRESET")),
            ("errno", Json::n(-104)),
            ("syscall", Json::s("read")),
            ("message", Json::s("read ECONNRESET")),
        ])
    );
}

#[test]
fn destroy_with_unread_data_resets_node_client_but_plain_destroy_ends_it() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default().pause_on_connect(true));
        let n = Rc::new(Cell::new(0));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            n.set(n.get() + 1);
            let k = n.get();
            let l2 = l.clone();
            s.on_error(move |_, e| l2.push(format!("{k} error:{}", e.code())));
            let l2 = l.clone();
            let srv = srv.clone();
            s.on_close(move |_, had_error| {
                l2.push(format!("{k} close:{had_error}"));
                if k == 2 {
                    srv.close();
                }
            });
            if k == 1 {
                l.push("1 destroy");
                s.destroy();
            } else {
                let l2 = l.clone();
                when_unread_data(s, move |s| {
                    l2.push("2 destroy with unread data");
                    s.destroy();
                });
            }
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "reset", "client");
        run_with(peer, &local)
    });
    check_reset(&local, &node, "client");
}

#[test]
fn control_reset_client() {
    let (local, node) = control("reset", "client", Pairing::ControlServes("0".into()));
    check_reset(&local, &node, "client");
}

#[test]
fn destroy_with_unread_data_resets_node_server_but_plain_destroy_ends_it() {
    let (local, node) = against_node_server("reset", "server", "0".into(), |local, port| {
        let port: u16 = port.parse().unwrap();
        let s1 = nodenet::connect((port, "127.0.0.1"));
        track_socket(&s1);
        let l = local.clone();
        s1.on_connect(move |s| {
            l.push("1 connect");
            s.destroy();
        });
        let l = local.clone();
        s1.on_close(move |_, had_error| {
            l.push(format!("1 close:{had_error}"));
            let s2 = Socket::new(SocketOptions::default());
            track_socket(&s2);
            s2.pause();
            s2.connect((port, "127.0.0.1"));
            let l2 = l.clone();
            s2.on_connect(move |s| {
                l2.push("2 connect");
                let l3 = l2.clone();
                when_unread_data(s.clone(), move |s| {
                    l3.push("2 destroy with unread data");
                    s.destroy();
                });
            });
            let l2 = l.clone();
            s2.on_error(move |_, e| l2.push(format!("2 error:{}", e.code())));
            let l2 = l.clone();
            s2.on_close(move |_, had_error| l2.push(format!("2 close:{had_error}")));
        });
    });
    check_reset(&local, &node, "server");
}

#[test]
fn control_reset_server() {
    let (local, node) = control("reset", "server", Pairing::ScenarioServes("0".into()));
    check_reset(&local, &node, "server");
}

// ---------------------------------------------------------------------------------------------
// 7. Idle timeouts reset by reads and by writes.

const IDLE: Duration = Duration::from_millis(100);
const IDLE_COUNT: u32 = 12;
const IDLE_EVERY: Duration = Duration::from_millis(30);

fn check_idle_timeout(local: &Json, node: &Json, role: &str) {
    if role == "client" {
        assert_eq!(
            events(local),
            ["timeout bytes=12", "finish", "end", "close:false"],
            "Node's reads every 30 ms kept the 100 ms timeout from firing"
        );
        assert_eq!(
            events(node),
            ["connect", "end after 12", "finish", "close:false"]
        );
    } else {
        assert_eq!(
            events(local),
            [
                "connect",
                "timeout writes=12",
                "finish",
                "end",
                "close:false"
            ],
            "our writes every 30 ms kept the 100 ms timeout from firing"
        );
        assert_eq!(
            events(node),
            ["connection", "end after 12", "finish", "close:false"]
        );
        assert_eq!(node.get("bytes").u64(), 12);
    }
}

#[test]
fn idle_timeout_is_reset_by_node_client_writes_then_fires_once() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            s.set_timeout(IDLE);
            let n = Rc::new(Cell::new(0usize));
            let n2 = n.clone();
            s.on_data(move |_, chunk| n2.set(n2.get() + chunk.bytes().len()));
            let l2 = l.clone();
            s.on_timeout(move |s| {
                l2.push(format!("timeout bytes={}", n.get()));
                s.end();
            });
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            let srv = srv.clone();
            s.on_close(move |_, had_error| {
                l2.push(format!("close:{had_error}"));
                srv.close();
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "idle_timeout", "client");
        run_with(peer, &local)
    });
    check_idle_timeout(&local, &node, "client");
}

#[test]
fn control_idle_timeout_client() {
    let (local, node) = control("idle_timeout", "client", Pairing::ControlServes("0".into()));
    check_idle_timeout(&local, &node, "client");
}

fn write_every(s: Socket, writes: Rc<Cell<u32>>) {
    nodenet::set_timeout(IDLE_EVERY, move || {
        s.write(".");
        writes.set(writes.get() + 1);
        if writes.get() < IDLE_COUNT {
            write_every(s, writes);
        }
    });
}

#[test]
fn idle_timeout_is_reset_by_our_writes_to_node_server_then_fires_once() {
    let (local, node) = against_node_server("idle_timeout", "server", "0".into(), |local, port| {
        let s = nodenet::connect((port.parse::<u16>().unwrap(), "127.0.0.1"));
        track_socket(&s);
        s.set_no_delay(true);
        let writes = Rc::new(Cell::new(0u32));
        let (l, w) = (local.clone(), writes.clone());
        s.on_connect(move |s| {
            l.push("connect");
            s.set_timeout(IDLE);
            write_every(s.clone(), w.clone());
        });
        let l = local.clone();
        s.on_timeout(move |s| {
            l.push(format!("timeout writes={}", writes.get()));
            s.end();
        });
        let l = local.clone();
        s.on_end(move |_| l.push("end"));
        let l = local.clone();
        s.on_finish(move |_| l.push("finish"));
        let l = local.clone();
        s.on_close(move |_, had_error| l.push(format!("close:{had_error}")));
    });
    check_idle_timeout(&local, &node, "server");
}

#[test]
fn control_idle_timeout_server() {
    let (local, node) = control(
        "idle_timeout",
        "server",
        Pairing::ScenarioServes("0".into()),
    );
    check_idle_timeout(&local, &node, "server");
}

// ---------------------------------------------------------------------------------------------
// 8. Decoding across chunk boundaries, one byte per read.

fn check_encoding(local: &Json, node: &Json, role: &str) {
    let expected: [&[&str]; 4] = [
        &["utf8 a", "utf8 €", "utf8 b", "utf8 😀", "utf8 c"],
        &[
            "hex 61", "hex e2", "hex 82", "hex ac", "hex 62", "hex f0", "hex 9f", "hex 98",
            "hex 80", "hex 63",
        ],
        &["base64 YeKC", "base64 rGLw", "base64 n5iA", "base64 Yw=="],
        &["utf8 x", "utf8 \u{fffd}"],
    ];
    let all = events(local);
    for (i, chunks) in expected.iter().enumerate() {
        let prefix = format!("{i} ");
        let mine: Vec<String> = all
            .iter()
            .filter(|e| e.starts_with(&prefix))
            .cloned()
            .collect();
        let mut want: Vec<String> = chunks.iter().map(|c| format!("{i} {c}")).collect();
        want.push(format!("{i} end"));
        want.push(format!("{i} close:false"));
        assert_eq!(mine, want, "connection {i}");
    }
    assert_eq!(all.len(), 29, "no other events: {all:?}");
    let first = if role == "client" {
        "connect"
    } else {
        "connection"
    };
    let conns = node.get("conns").arr();
    assert_eq!(conns.len(), 4);
    for (c, acks) in conns.iter().zip([10, 10, 10, 3]) {
        assert_eq!(c.get("acks").u64(), acks, "one read per byte");
        assert_eq!(
            events(c),
            [first, "finish", "end", "close:false"],
            "Node's side"
        );
    }
}

#[test]
fn decoding_node_client_bytes_one_per_read_never_splits_characters() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let n = Rc::new(Cell::new(0usize));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            let i = n.get();
            n.set(i + 1);
            let srv = srv.clone();
            receive_encoded(&l, &s, i, move || {
                if i == ENCODING_CASES.len() - 1 {
                    srv.close();
                }
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "encoding", "client");
        run_with(peer, &local)
    });
    check_encoding(&local, &node, "client");
}

#[test]
fn control_encoding_client() {
    let (local, node) = control("encoding", "client", Pairing::ControlServes("0".into()));
    check_encoding(&local, &node, "client");
}

fn connect_encoded(local: Local, port: u16, i: usize) {
    if i == ENCODING_CASES.len() {
        return;
    }
    let s = nodenet::connect((port, "127.0.0.1"));
    track_socket(&s);
    let l = local.clone();
    receive_encoded(&local, &s, i, move || connect_encoded(l, port, i + 1));
}

#[test]
fn decoding_node_server_bytes_one_per_read_never_splits_characters() {
    let (local, node) = against_node_server("encoding", "server", "0".into(), |local, port| {
        connect_encoded(local.clone(), port.parse().unwrap(), 0);
    });
    check_encoding(&local, &node, "server");
}

#[test]
fn control_encoding_server() {
    let (local, node) = control("encoding", "server", Pairing::ScenarioServes("0".into()));
    check_encoding(&local, &node, "server");
}

// ---------------------------------------------------------------------------------------------
// 9. Dual stack.

fn log_addresses(local: &Local, s: &Socket) {
    local.push(format!(
        "remote {} {} {}",
        s.remote_address().unwrap_or_default(),
        s.remote_family().map(|f| f.to_string()).unwrap_or_default(),
        s.remote_port().unwrap_or_default()
    ));
    local.push(format!(
        "local {} {} {}",
        s.local_address().unwrap_or_default(),
        s.local_family().map(|f| f.to_string()).unwrap_or_default(),
        s.local_port().unwrap_or_default()
    ));
}

fn check_dual_stack_client(local: &Json, node: &Json) {
    let c = node.get("conns").arr();
    assert_eq!(c.len(), 2);
    let port = |v: &Json| v.u64();
    assert_eq!(
        events(local),
        [
            "listening :: IPv6".to_string(),
            format!(
                "remote ::ffff:127.0.0.1 IPv6 {}",
                port(c[0].get("localPort"))
            ),
            format!(
                "local ::ffff:127.0.0.1 IPv6 {}",
                port(c[0].get("remotePort"))
            ),
            format!("remote ::1 IPv6 {}", port(c[1].get("localPort"))),
            format!("local ::1 IPv6 {}", port(c[1].get("remotePort"))),
        ]
    );
    assert_eq!(c[0].get("remoteAddress").str(), "127.0.0.1");
    assert_eq!(c[0].get("remoteFamily").str(), "IPv4");
    assert_eq!(c[1].get("remoteAddress").str(), "::1");
}

#[test]
fn dual_stack_server_sees_node_ipv4_client_as_mapped_and_ipv6_client_as_is() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        server.on_listening(move |s| {
            let info = s.address().unwrap().inet().unwrap().clone();
            l.push(format!("listening {} {}", info.address, info.family));
        });
        let n = Rc::new(Cell::new(0));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            n.set(n.get() + 1);
            let k = n.get();
            log_addresses(&l, &s);
            s.resume();
            let srv = srv.clone();
            s.on_close(move |_, _| {
                if k == 2 {
                    srv.close();
                }
            });
        });
        server.listen(0);
        let peer = node_client_for(&server, "dual_stack", "client");
        run_with(peer, &local)
    });
    check_dual_stack_client(&local, &node);
}

#[test]
fn control_dual_stack_client() {
    let (local, node) = control("dual_stack", "client", Pairing::ControlServes("0".into()));
    check_dual_stack_client(&local, &node);
}

fn check_dual_stack_server(local: &Json, node: &Json) {
    let c = node.get("conns").arr();
    assert_eq!(c.len(), 2);
    let port = |v: &Json| v.u64();
    assert_eq!(
        events(local),
        [
            format!("remote 127.0.0.1 IPv4 {}", port(c[0].get("localPort"))),
            format!("local 127.0.0.1 IPv4 {}", port(c[0].get("remotePort"))),
            format!("remote ::1 IPv6 {}", port(c[1].get("localPort"))),
            format!("local ::1 IPv6 {}", port(c[1].get("remotePort"))),
        ]
    );
    assert_eq!(c[0].get("remoteAddress").str(), "::ffff:127.0.0.1");
    assert_eq!(c[1].get("remoteAddress").str(), "::1");
}

fn connect_dual(local: Local, port: u16, hosts: &'static [&'static str]) {
    let Some((host, rest)) = hosts.split_first() else {
        return;
    };
    let s = nodenet::connect((port, *host));
    track_socket(&s);
    let l = local.clone();
    s.on_connect(move |s| {
        log_addresses(&l, s);
        s.end();
    });
    s.resume();
    s.on_close(move |_, _| connect_dual(local.clone(), port, rest));
}

#[test]
fn client_reaches_node_dual_stack_server_over_ipv4_and_ipv6() {
    let (local, node) = against_node_server("dual_stack", "server", "0".into(), |local, port| {
        connect_dual(local.clone(), port.parse().unwrap(), &["127.0.0.1", "::1"]);
    });
    check_dual_stack_server(&local, &node);
}

#[test]
fn control_dual_stack_server() {
    let (local, node) = control("dual_stack", "server", Pairing::ScenarioServes("0".into()));
    check_dual_stack_server(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 10. Unix sockets.

fn check_unix_client(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "listening path",
            "connection remote=undefined",
            "data:ping",
            "end",
            "finish",
            "close:false"
        ]
    );
    assert_eq!(
        local.get("existsAfterClose"),
        &Json::Bool(false),
        "close() removes the socket file"
    );
    assert_eq!(
        events(node),
        [
            "connect remote=undefined local=undefined",
            "data:ping",
            "finish",
            "end",
            "close:false"
        ]
    );
}

#[test]
fn unix_server_echoes_node_client_and_removes_its_file_on_close() {
    let path = util::temp_socket_path("node-client");
    let (local, node) = with_deadline(LIMIT, move || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let (l, p) = (local.clone(), path.clone());
        server.on_listening(move |s| match s.address() {
            Some(Address::Path(a)) if Path::new(&a) == p => l.push("listening path"),
            other => l.push(format!("listening {other:?}")),
        });
        let l = local.clone();
        let srv = server.clone();
        let file = path.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            l.push(format!(
                "connection remote={}",
                s.remote_address().unwrap_or_else(|| "undefined".into())
            ));
            let l2 = l.clone();
            s.on_data(move |s, chunk| {
                l2.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes())));
                s.write(chunk.bytes());
            });
            let l2 = l.clone();
            s.on_end(move |_| l2.push("end"));
            let l2 = l.clone();
            s.on_finish(move |_| l2.push("finish"));
            let l2 = l.clone();
            let srv = srv.clone();
            let p = file.clone();
            s.on_close(move |_, had_error| {
                l2.push(format!("close:{had_error}"));
                let (l3, p) = (l2.clone(), p.clone());
                srv.close_with(move |_, _| l3.set("existsAfterClose", Json::Bool(p.exists())));
            });
        });
        server.listen(path.clone());
        let peer = node_client_for(&server, "unix", "client");
        run_with(peer, &local)
    });
    check_unix_client(&local, &node);
}

#[test]
fn control_unix_client() {
    let path = util::temp_socket_path("ctl-client");
    let (local, node) = control(
        "unix",
        "client",
        Pairing::ControlServes(path.to_string_lossy().into_owned()),
    );
    check_unix_client(&local, &node);
}

fn check_unix_server(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "connect remote=undefined",
            "data:ping",
            "finish",
            "end",
            "close:false"
        ]
    );
    assert_eq!(
        events(node),
        [
            "connection remote=undefined address={}",
            "data:ping",
            "end",
            "finish",
            "close:false"
        ]
    );
    assert_eq!(node.get("existsAfterClose"), &Json::Bool(false));
}

#[test]
fn unix_client_talks_to_node_unix_server() {
    let path = util::temp_socket_path("node-server");
    let arg = path.to_string_lossy().into_owned();
    let (local, node) = against_node_server("unix", "server", arg, |local, path| {
        let s = nodenet::connect(path.as_str());
        track_socket(&s);
        let l = local.clone();
        s.on_connect(move |s| {
            l.push(format!(
                "connect remote={}",
                s.remote_address().unwrap_or_else(|| "undefined".into())
            ));
            s.write("ping");
        });
        let l = local.clone();
        s.on_data(move |s, chunk| {
            l.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes())));
            s.end();
        });
        let l = local.clone();
        s.on_end(move |_| l.push("end"));
        let l = local.clone();
        s.on_finish(move |_| l.push("finish"));
        let l = local.clone();
        s.on_error(move |_, e| l.push(format!("error:{}", e.code())));
        let l = local.clone();
        s.on_close(move |_, had_error| l.push(format!("close:{had_error}")));
    });
    check_unix_server(&local, &node);
}

#[test]
fn control_unix_server() {
    let path = util::temp_socket_path("ctl-server");
    let (local, node) = control(
        "unix",
        "server",
        Pairing::ScenarioServes(path.to_string_lossy().into_owned()),
    );
    check_unix_server(&local, &node);
}

/// A socket file left behind by a listener that is gone.
fn stale_socket_file(name: &str) -> PathBuf {
    let path = util::temp_socket_path(name);
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind the stale socket"));
    assert!(path.exists(), "std leaves the socket file behind");
    path
}

/// Node reports `port: -1` for a path; nodenet's `port()` is an `Option<u16>` and gives None.
fn without_path_port(shape: &Json) -> Json {
    let Json::Obj(mut m) = shape.clone() else {
        panic!("not an error shape: {shape:?}")
    };
    if m.get("port") == Some(&Json::n(-1)) {
        m.remove("port");
    }
    Json::Obj(m)
}

fn check_unix_stale(local: &Json, node: &Json, path: &Path) {
    let p = path.to_string_lossy();
    assert_eq!(events(local), ["error:EADDRINUSE"]);
    assert_eq!(events(node), ["error:EADDRINUSE"]);
    assert_eq!(
        node.get("error").get("port").num(),
        -1.0,
        "Node's port for a path"
    );
    let expected = Json::obj(vec![
        ("code", Json::s("EADDRINUSE")),
        ("errno", Json::n(-98)),
        ("syscall", Json::s("listen")),
        ("address", Json::s(p.clone())),
        (
            "message",
            Json::s(format!("listen EADDRINUSE: address already in use {p}")),
        ),
    ]);
    assert_eq!(without_path_port(node.get("error")), expected, "Node");
    assert_eq!(without_path_port(local.get("error")), expected, "ours");
    assert_eq!(local.get("existsAfterError"), &Json::Bool(true));
    assert_eq!(node.get("existsAfterError"), &Json::Bool(true));
}

#[test]
fn listen_on_stale_unix_file_fails_with_eaddrinuse_like_node() {
    let path = stale_socket_file("stale-listen");
    let arg = path.to_string_lossy().into_owned();
    let p = path.clone();
    let (local, node) = with_deadline(LIMIT, move || {
        let local = Local::default();
        let node = Peer::spawn("unix.js", &["stale", &arg], true);
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        server.on_listening(move |_| l.push("listening"));
        let (l, file) = (local.clone(), p.clone());
        server.on_error(move |s, e| {
            l.push(format!("error:{}", e.code()));
            l.set("error", error_shape(e));
            l.set("existsAfterError", Json::Bool(file.exists()));
            if s.listening() {
                s.close();
            }
        });
        server.listen(p.clone());
        let result = nodenet::run();
        tear_down();
        let node = node.finish();
        result.expect("run");
        (local.report(), node)
    });
    check_unix_stale(&local, &node, &path);
}

#[test]
fn control_unix_stale() {
    let path = stale_socket_file("ctl-stale");
    let (local, node) = control(
        "unix",
        "stale",
        Pairing::Independent(path.to_string_lossy().into_owned()),
    );
    check_unix_stale(&local, &node, &path);
}

// ---------------------------------------------------------------------------------------------
// 11. Error shapes of refused connects.

/// Connects to each target in turn, recording the error shapes, as controls/errors.js does.
fn connect_failing(local: Local, targets: Vec<nodenet::ConnectOptions>) {
    let mut targets = targets;
    if targets.is_empty() {
        return;
    }
    let target = targets.remove(0);
    let s = nodenet::connect(target);
    track_socket(&s);
    let l = local.clone();
    s.on_connect(move |_| l.push("connect"));
    let l = local.clone();
    s.on_error(move |_, e| {
        l.push("error");
        let mut errors = match l.fields.borrow().get("errors") {
            Some(Json::Arr(a)) => a.clone(),
            _ => Vec::new(),
        };
        errors.push(error_shape(e));
        l.set("errors", Json::Arr(errors));
    });
    s.on_close(move |_, had_error| {
        local.push(format!("close:{had_error}"));
        connect_failing(local.clone(), targets.clone());
    });
}

fn check_errors(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["error", "close:true", "error", "close:true"]
    );
    assert_eq!(events(node), ["error", "close:true", "error", "close:true"]);
    assert_eq!(
        local.get("errors"),
        node.get("errors"),
        "same code, errno, syscall, address, port and message as Node"
    );
}

/// A port nothing listens on (bound then released) on 127.0.0.1.
fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn econnrefused_has_the_same_shape_as_in_node() {
    let port = refused_port();
    let (local, node) = with_deadline(LIMIT, move || {
        let local = Local::default();
        let node = Peer::spawn("errors.js", &["refused", &port.to_string()], true);
        connect_failing(
            local.clone(),
            vec![(port, "127.0.0.1").into(), (port, "::1").into()],
        );
        let result = nodenet::run();
        tear_down();
        let node = node.finish();
        result.expect("run");
        (local.report(), node)
    });
    check_errors(&local, &node);
    assert_eq!(
        node.get("errors").at(0).get("message").str(),
        format!("connect ECONNREFUSED 127.0.0.1:{port}")
    );
}

#[test]
fn control_errors_refused() {
    let port = refused_port();
    let (local, node) = control("errors", "refused", Pairing::Independent(port.to_string()));
    check_errors(&local, &node);
}

fn paths_dir() -> PathBuf {
    let stale = stale_socket_file("stale");
    stale.parent().unwrap().to_path_buf()
}

#[test]
fn unix_connect_errors_have_the_same_shape_as_in_node() {
    let dir = paths_dir();
    let (local, node) = with_deadline(LIMIT, move || {
        let local = Local::default();
        let node = Peer::spawn("errors.js", &["paths", &dir.to_string_lossy()], true);
        connect_failing(
            local.clone(),
            vec![
                dir.join("missing.sock").into(),
                dir.join("stale.sock").into(),
            ],
        );
        let result = nodenet::run();
        tear_down();
        let node = node.finish();
        result.expect("run");
        (local.report(), node)
    });
    check_errors(&local, &node);
    assert_eq!(node.get("errors").at(0).get("code").str(), "ENOENT");
}

#[test]
fn control_errors_paths() {
    let dir = paths_dir();
    let (local, node) = control(
        "errors",
        "paths",
        Pairing::Independent(dir.to_string_lossy().into_owned()),
    );
    check_errors(&local, &node);
}

#[test]
fn node_v20_is_installed() {
    let out = Command::new(util::node_binary())
        .arg("--version")
        .output()
        .expect(
            "the Node interop tests need Node.js v20 as `node` on PATH (or NODE=/path/to/node)",
        );
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.starts_with("v20."),
        "Node v20 expected, got {version}"
    );
}

// ---------------------------------------------------------------------------------------------
// 12. Client write/end edge cases against a Node server.

/// The client side of client_lifecycle.js, as controls/client_lifecycle.js does it.
fn client_lifecycle(local: &Local, port: u16, role: &str) {
    let s = nodenet::connect((port, "127.0.0.1"));
    track_socket(&s);
    let l = local.clone();
    s.on_connect(move |_| l.push("connect"));
    let l = local.clone();
    s.on_data(move |_, chunk| l.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes()))));
    let l = local.clone();
    s.on_end(move |_| l.push("end"));
    let l = local.clone();
    s.on_error(move |_, e| {
        l.push(format!("error:{}", e.code()));
        l.set("error", error_shape(e));
    });
    let l = local.clone();
    s.on_close(move |_, had_error| l.push(format!("close:{had_error}")));
    if role == "end_while_connecting" {
        let l = local.clone();
        s.on_finish(move |_| l.push("finish"));
        s.write("early");
        s.end();
        local.push(format!("after-end:{}", s.ready_state()));
    } else {
        let l = local.clone();
        s.on_finish(move |s| {
            l.push("finish");
            let l2 = l.clone();
            let ok = s.write_with("late", move |_, err| {
                l2.push(format!(
                    "write-cb:{}",
                    err.map_or("null".to_string(), |e| e.code().to_string())
                ));
                l2.set("writeError", err.map_or(Json::Null, error_shape));
            });
            l.push(format!("write:{ok}"));
        });
    }
}

fn check_end_while_connecting(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "after-end:opening",
            "connect",
            "finish",
            "end",
            "close:false"
        ]
    );
    assert_eq!(
        events(node),
        ["connection", "data:early", "end", "finish", "close:false"]
    );
}

#[test]
fn end_while_connecting_delivers_data_then_fin_to_node_server() {
    let (local, node) = against_node_server(
        "client_lifecycle",
        "end_while_connecting",
        "0".into(),
        |local, port| client_lifecycle(local, port.parse().unwrap(), "end_while_connecting"),
    );
    check_end_while_connecting(&local, &node);
}

#[test]
fn control_client_lifecycle_end_while_connecting() {
    let (local, node) = control(
        "client_lifecycle",
        "end_while_connecting",
        Pairing::ScenarioServes("0".into()),
    );
    check_end_while_connecting(&local, &node);
}

fn check_write_after_fin(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "connect",
            "data:bye",
            "end",
            "finish",
            "write:false",
            "write-cb:EPIPE",
            "error:EPIPE",
            "close:true"
        ]
    );
    let epipe = Json::obj(vec![
        ("code", Json::s("EPIPE")),
        (
            "message",
            Json::s("This socket has been ended by the other party"),
        ),
    ]);
    assert_eq!(local.get("writeError"), &epipe, "write callback error");
    assert_eq!(local.get("error"), &epipe, "'error' event");
    assert_eq!(
        events(node),
        ["connection", "finish", "end", "close:false"],
        "Node receives nothing after our FIN"
    );
}

#[test]
fn write_after_node_server_fin_and_our_auto_end_fails_with_epipe() {
    let (local, node) = against_node_server(
        "client_lifecycle",
        "write_after_fin",
        "0".into(),
        |local, port| client_lifecycle(local, port.parse().unwrap(), "write_after_fin"),
    );
    check_write_after_fin(&local, &node);
}

#[test]
fn control_client_lifecycle_write_after_fin() {
    let (local, node) = control(
        "client_lifecycle",
        "write_after_fin",
        Pairing::ScenarioServes("0".into()),
    );
    check_write_after_fin(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 13. Node resets (resetAndDestroy) while we read.

fn check_peer_reset(local: &Json, node: &Json, role: &str) {
    if role == "client" {
        assert_eq!(
            events(local),
            ["connection", "error:ECONNRESET", "close:true"]
        );
        assert_eq!(events(node), ["connect", "data:hello", "close:false"]);
    } else {
        assert_eq!(events(local), ["connect", "error:ECONNRESET", "close:true"]);
        assert_eq!(events(node), ["connection", "data:hi", "close:false"]);
    }
    assert_eq!(
        local.get("error"),
        &Json::obj(vec![
            ("code", Json::s("ECONNRESET")),
            ("errno", Json::n(-104)),
            ("syscall", Json::s("read")),
            ("message", Json::s("read ECONNRESET")),
        ])
    );
}

fn record_peer_reset(local: &Local, s: &Socket) {
    let l = local.clone();
    s.on_data(move |_, chunk| l.push(format!("data:{}", String::from_utf8_lossy(chunk.bytes()))));
    let l = local.clone();
    s.on_end(move |_| l.push("end"));
    let l = local.clone();
    s.on_error(move |_, e| {
        l.push(format!("error:{}", e.code()));
        l.set("error", error_shape(e));
    });
    let l = local.clone();
    s.on_close(move |_, had_error| l.push(format!("close:{had_error}")));
}

#[test]
fn node_client_reset_gives_econnreset_on_read() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            l.push("connection");
            s.write("hello");
            record_peer_reset(&l, &s);
            let srv = srv.clone();
            s.on_close(move |_, _| {
                srv.close();
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "peer_reset", "client");
        run_with(peer, &local)
    });
    check_peer_reset(&local, &node, "client");
}

#[test]
fn control_peer_reset_client() {
    let (local, node) = control("peer_reset", "client", Pairing::ControlServes("0".into()));
    check_peer_reset(&local, &node, "client");
}

#[test]
fn node_server_reset_gives_econnreset_on_read() {
    let (local, node) = against_node_server("peer_reset", "server", "0".into(), |local, port| {
        let s = nodenet::connect((port.parse::<u16>().unwrap(), "127.0.0.1"));
        track_socket(&s);
        let l = local.clone();
        s.on_connect(move |s| {
            l.push("connect");
            s.write("hi");
        });
        record_peer_reset(local, &s);
    });
    check_peer_reset(&local, &node, "server");
}

#[test]
fn control_peer_reset_server() {
    let (local, node) = control("peer_reset", "server", Pairing::ScenarioServes("0".into()));
    check_peer_reset(&local, &node, "server");
}

// ---------------------------------------------------------------------------------------------
// 14. Many concurrent Node clients on a pipe() echo server.

const MANY: usize = 50;

fn check_many_clients(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            format!("connections {MANY}"),
            format!("ends {MANY}"),
            format!("closes {MANY}")
        ]
    );
    assert_eq!(node.get("connected").u64(), MANY as u64);
    assert_eq!(node.get("echoed").u64(), MANY as u64);
    assert_eq!(node.get("closed").u64(), MANY as u64);
}

#[test]
fn fifty_concurrent_node_clients_are_echoed_by_pipe() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let counts = Rc::new(Cell::new((0usize, 0usize, 0usize)));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            let (c, e, x) = counts.get();
            counts.set((c + 1, e, x));
            s.pipe(&s);
            let k = counts.clone();
            s.on_end(move |_| {
                let (c, e, x) = k.get();
                k.set((c, e + 1, x));
            });
            let (k, l, srv) = (counts.clone(), l.clone(), srv.clone());
            s.on_close(move |_, had_error| {
                let (c, e, x) = k.get();
                let x = x + if had_error { 1000 } else { 1 };
                k.set((c, e, x));
                if x == MANY {
                    l.push(format!("connections {c}"));
                    l.push(format!("ends {e}"));
                    l.push(format!("closes {x}"));
                    srv.close();
                }
            });
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "many_clients", "client");
        run_with(peer, &local)
    });
    check_many_clients(&local, &node);
}

#[test]
fn control_many_clients() {
    let (local, node) = control("many_clients", "client", Pairing::ControlServes("0".into()));
    check_many_clients(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 15. A socket nobody reads: buffers to its high-water mark, stops reading, no early 'end'.

const NO_READER_TOTAL: u64 = 1024 * 1024;

fn check_no_reader(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        [
            "connection",
            "signal ended=false buffered=true",
            "end",
            "finish",
            "close:false"
        ],
        "no 'end' while unread data is buffered"
    );
    assert_eq!(
        local.get("stoppedReading"),
        &Json::Bool(true),
        "stopped reading at the high-water mark"
    );
    assert_eq!(local.get("received").u64(), NO_READER_TOTAL);
    assert_eq!(
        node.get("d").strs(),
        ["connect", "finish", "end", "close:false"]
    );
    assert_eq!(
        node.get("c").strs(),
        ["connect", "end", "finish", "close:false"]
    );
}

#[test]
fn unread_socket_holds_end_until_resumed_with_node_client() {
    let (local, node) = with_deadline(LIMIT, || {
        let local = Local::default();
        let server = Server::new(ServerOptions::default());
        let data: Rc<RefCell<Option<Socket>>> = Rc::default();
        let ended = Rc::new(Cell::new(false));
        let l = local.clone();
        let srv = server.clone();
        server.on_connection(move |s| {
            track_socket(&s);
            let first = data.borrow().clone();
            match first {
                None => {
                    l.push("connection");
                    let (l2, e) = (l.clone(), ended.clone());
                    s.on_end(move |_| {
                        e.set(true);
                        l2.push("end");
                    });
                    let l2 = l.clone();
                    s.on_finish(move |_| l2.push("finish"));
                    let (l2, srv) = (l.clone(), srv.clone());
                    s.on_close(move |_, had_error| {
                        l2.push(format!("close:{had_error}"));
                        srv.close();
                    });
                    *data.borrow_mut() = Some(s);
                }
                Some(d) => {
                    // D's first read may still be on its way to the loop: wait for it.
                    let (l, ended) = (l.clone(), ended.clone());
                    when(
                        {
                            let d = d.clone();
                            move || d.readable_length() > 0
                        },
                        move || {
                            l.push(format!(
                                "signal ended={} buffered={}",
                                ended.get(),
                                d.readable_length() > 0
                            ));
                            l.set(
                                "stoppedReading",
                                Json::Bool(d.bytes_read() < NO_READER_TOTAL),
                            );
                            let (l2, n) = (l.clone(), Rc::new(Cell::new(0u64)));
                            l2.set("received", Json::n(0));
                            d.on_data(move |_, chunk| {
                                n.set(n.get() + chunk.bytes().len() as u64);
                                l2.set("received", Json::n(n.get() as f64));
                            });
                            d.resume();
                            s.destroy();
                        },
                    );
                }
            }
        });
        server.listen((0, "127.0.0.1"));
        let peer = node_client_for(&server, "no_reader", "client");
        run_with(peer, &local)
    });
    check_no_reader(&local, &node);
}

#[test]
fn control_no_reader() {
    let (local, node) = control("no_reader", "client", Pairing::ControlServes("0".into()));
    check_no_reader(&local, &node);
}

// ---------------------------------------------------------------------------------------------
// 16. Receiving a bulk stream while an unref'd periodic timer keeps the loop busy.

/// An unref'd 1 ms timer that keeps the loop busy for 0.5 ms each time (a periodic stats job, say):
/// it must neither keep `run()` going nor let it stop while a socket is still receiving.
fn busy_unrefd_ticker() {
    nodenet::set_timeout(Duration::from_millis(1), || {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_micros(500) {
            std::hint::spin_loop();
        }
        busy_unrefd_ticker();
    })
    .unref();
}

fn check_bulk_source(local: &Json, node: &Json) {
    assert_eq!(
        events(local),
        ["connect", "end", "finish", "close:false"],
        "run() kept going until the socket closed"
    );
    assert_eq!(local.get("received").u64(), BULK_TOTAL as u64);
    assert_eq!(local.get("recvFnv"), node.get("sentFnv"));
    assert_eq!(events(node), ["connection", "finish", "end", "close:false"]);
}

#[test]
fn receiving_32mib_from_node_runs_until_close_despite_a_busy_unrefd_timer() {
    let (local, node) = against_node_server("bulk_echo", "source", "0".into(), |local, port| {
        busy_unrefd_ticker();
        let s = nodenet::connect((port.parse::<u16>().unwrap(), "127.0.0.1"));
        track_socket(&s);
        let l = local.clone();
        s.on_connect(move |_| l.push("connect"));
        let received = Rc::new(Cell::new(0u64));
        let fnv = Rc::new(Cell::new(Fnv64::new()));
        let (r, f) = (received.clone(), fnv.clone());
        s.on_data(move |_, chunk| {
            r.set(r.get() + chunk.bytes().len() as u64);
            let mut h = f.get();
            h.update(chunk.bytes());
            f.set(h);
        });
        let l = local.clone();
        s.on_end(move |_| l.push("end"));
        let l = local.clone();
        s.on_finish(move |_| l.push("finish"));
        let l = local.clone();
        s.on_error(move |_, e| l.push(format!("error:{}", e.code())));
        let l = local.clone();
        s.on_close(move |_, had_error| {
            l.push(format!("close:{had_error}"));
            l.set("received", Json::n(received.get() as f64));
            l.set("recvFnv", Json::s(fnv.get().hex()));
        });
    });
    check_bulk_source(&local, &node);
}

#[test]
fn control_bulk_source() {
    let (local, node) = control("bulk_echo", "source", Pairing::ScenarioServes("0".into()));
    check_bulk_source(&local, &node);
}
