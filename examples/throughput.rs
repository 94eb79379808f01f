//! A load generator for any echo server: opens `--connections` connections; each one writes
//! `--bytes` bytes in `--size` writes (respecting backpressure: it waits for `drain` when `write`
//! returns false) while reading the echo back, checks every byte that comes back, and ends once
//! all of it has. Then it prints the throughput. On a wrong, missing or extra byte it stops and
//! exits with status 1, saying where.
//!
//! `cargo run --release --example throughput -- HOST:PORT|PORT|PATH [--connections N] [--bytes N]
//! [--size N] [--skip N]`; sizes take a K, M or G suffix (powers of 1024). `--skip N` ignores the
//! first N bytes of each connection, for servers that greet: against
//! `cargo run --release --example echo_server` use `--skip 7` (its `hello\r\n`). Against Node:
//! `node -e "require('net').createServer((c) => c.pipe(c)).listen(8125)"`, then
//! `cargo run --release --example throughput -- 127.0.0.1:8125 --connections 4 --bytes 256M`.

use nodenet::{ConnectOptions, Socket};
use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

/// The data pattern repeats every `PERIOD` bytes (a prime, so it does not line up with write
/// sizes); each connection starts at a different phase, so crossed streams are caught too.
const PERIOD: usize = 251;

struct Settings {
    target: ConnectOptions,
    connections: usize,
    bytes: u64,
    size: usize,
    skip: u64,
}

fn usage(problem: &str) -> ! {
    eprintln!("throughput: {problem}");
    eprintln!(
        "usage: throughput HOST:PORT|PORT|PATH [--connections N] [--bytes N] [--size N] [--skip N]"
    );
    std::process::exit(2);
}

/// "64K", "16M", "1G", "1000".
fn parse_size(text: &str) -> u64 {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => usage(&format!("bad size {text}")),
    };
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| usage(&format!("bad size {text}")));
    n << shift
}

fn parse_args() -> Settings {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| usage("no target"));
    let target = if target.contains('/') {
        ConnectOptions::path(&target)
    } else if let Some((host, port)) = target.rsplit_once(':') {
        let port = port.parse().unwrap_or_else(|_| usage("bad port"));
        ConnectOptions::port(port).host(host.trim_start_matches('[').trim_end_matches(']'))
    } else {
        let port = target.parse().unwrap_or_else(|_| usage("bad port"));
        ConnectOptions::port(port).host("127.0.0.1")
    };
    let mut settings = Settings {
        target,
        connections: 1,
        bytes: 64 << 20,
        size: 64 << 10,
        skip: 0,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--connections" => {
                settings.connections = value
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad count {value}")));
            }
            "--bytes" => settings.bytes = parse_size(&value),
            "--size" => settings.size = parse_size(&value) as usize,
            "--skip" => settings.skip = parse_size(&value),
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    if settings.connections == 0 || settings.bytes == 0 || settings.size == 0 {
        usage("--connections, --bytes and --size must be at least 1");
    }
    settings
}

/// What the whole run shares (on the loop thread only, hence `Rc<RefCell<_>>`).
struct Run {
    sockets: Vec<Socket>,
    /// Connections that got every byte back.
    done: usize,
    finished_at: Option<Instant>,
    /// The first problem; once set, every connection is destroyed.
    failure: Option<String>,
}

impl Run {
    fn fail(&mut self, problem: String) {
        if self.failure.is_none() {
            self.failure = Some(problem);
            for socket in &self.sockets {
                socket.destroy();
            }
        }
    }
}

/// One connection's progress.
struct Conn {
    index: usize,
    sent: u64,
    received: u64,
    skip_left: u64,
}

/// Writes until `write` returns false (then `drain` calls us again) or everything is sent.
fn send_more(socket: &Socket, conn: &RefCell<Conn>, block: &[u8], settings: &Settings) {
    let mut conn = conn.borrow_mut();
    while conn.sent < settings.bytes {
        let len = (settings.bytes - conn.sent).min(settings.size as u64) as usize;
        let start = phase(conn.index, conn.sent);
        conn.sent += len as u64;
        if !socket.write(&block[start..start + len]) {
            return; // socket.once('drain', sendMore)
        }
    }
}

/// Where in the pattern block byte `offset` of connection `index` starts.
fn phase(index: usize, offset: u64) -> usize {
    ((offset + index as u64 * 31) % PERIOD as u64) as usize
}

/// Checks received bytes against what was sent; returns a description of the first mismatch.
fn check(conn: &mut Conn, mut data: &[u8], block: &[u8], total: u64) -> Result<(), String> {
    let skip = conn.skip_left.min(data.len() as u64) as usize;
    conn.skip_left -= skip as u64;
    data = &data[skip..];
    if conn.received + data.len() as u64 > total {
        return Err(format!(
            "connection {} received more than the {total} bytes it sent",
            conn.index
        ));
    }
    while !data.is_empty() {
        let start = phase(conn.index, conn.received);
        let len = data.len().min(block.len() - PERIOD);
        let expected = &block[start..start + len];
        if data[..len] != *expected {
            let i = (0..len)
                .find(|&i| data[i] != expected[i])
                .expect("slices differ");
            return Err(format!(
                "mismatch on connection {} at byte {}: expected {:#04x}, got {:#04x}",
                conn.index,
                conn.received + i as u64,
                expected[i],
                data[i]
            ));
        }
        conn.received += len as u64;
        data = &data[len..];
    }
    Ok(())
}

fn main() -> ExitCode {
    let settings = Rc::new(parse_args());
    // The pattern, long enough to slice one write (or one check) from any phase.
    let block: Rc<[u8]> = (0..settings.size.max(64 * 1024) + PERIOD)
        .map(|i| (i % PERIOD) as u8)
        .collect();
    let run = Rc::new(RefCell::new(Run {
        sockets: Vec::new(),
        done: 0,
        finished_at: None,
        failure: None,
    }));

    let started = Instant::now();
    for index in 0..settings.connections {
        let socket = nodenet::connect(settings.target.clone());
        run.borrow_mut().sockets.push(socket.clone());
        let conn = Rc::new(RefCell::new(Conn {
            index,
            sent: 0,
            received: 0,
            skip_left: settings.skip,
        }));

        let (c, b, s) = (conn.clone(), block.clone(), settings.clone());
        socket.on_connect(move |socket| {
            socket.set_no_delay(true);
            send_more(socket, &c, &b, &s);
        });
        let (c, b, s) = (conn.clone(), block.clone(), settings.clone());
        socket.on_drain(move |socket| send_more(socket, &c, &b, &s));

        let (c, b, s, r) = (conn.clone(), block.clone(), settings.clone(), run.clone());
        socket.on_data(move |socket, chunk| {
            let mut conn = c.borrow_mut();
            if let Err(problem) = check(&mut conn, chunk.bytes(), &b, s.bytes) {
                r.borrow_mut().fail(problem);
            } else if conn.received == s.bytes {
                socket.end(); // all back: say goodbye; extra bytes would still be caught
                let mut run = r.borrow_mut();
                run.done += 1;
                if run.done == s.connections {
                    run.finished_at = Some(Instant::now());
                }
            }
        });
        let (c, s, r) = (conn.clone(), settings.clone(), run.clone());
        socket.on_end(move |_| {
            let conn = c.borrow();
            if conn.received < s.bytes {
                r.borrow_mut().fail(format!(
                    "connection {} was ended by the server after {} of {} bytes",
                    conn.index, conn.received, s.bytes
                ));
            }
        });
        let r = run.clone();
        socket.on_error(move |_, err| {
            r.borrow_mut()
                .fail(format!("connection {index}: {err} ({})", err.code()));
        });
    }

    if let Err(err) = nodenet::run() {
        eprintln!("throughput: {err}");
        return ExitCode::FAILURE;
    }
    let run = run.borrow();
    if let Some(problem) = &run.failure {
        eprintln!("throughput: {problem}");
        return ExitCode::FAILURE;
    }
    let seconds = run
        .finished_at
        .expect("every connection finished")
        .duration_since(started)
        .as_secs_f64();
    let total = settings.bytes * settings.connections as u64;
    println!(
        "{} connection(s) x {} bytes echoed and checked in {seconds:.3} s: {:.1} MB/s each way",
        settings.connections,
        settings.bytes,
        total as f64 / seconds / 1e6
    );
    ExitCode::SUCCESS
}
