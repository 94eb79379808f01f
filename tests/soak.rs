//! Soak test (issue 5): minutes of mixed load on one nodenet echo server, then invariants.
//!
//! Ignored by default. Run it with
//!
//! ```text
//! NODENET_SOAK_SECS=600 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! (`NODENET_SOAK_SECS` defaults to 600.) One process holds a nodenet echo server (`c.pipe(&c)`,
//! on its own thread and loop) and plain `std::net` clients on load threads:
//!
//! - bulk: transfers of up to 8 MiB of pseudo-random bytes, written by one thread while another
//!   reads the echo and compares every byte with the regenerated stream;
//! - ping-pong: persistent connections exchanging messages of 1..=2000 bytes, each checked;
//! - churn: connections closed at once, after an empty half-close, or after a short echo;
//! - resets: connections dropped with SO_LINGER 0 (RST) at once, mid-transfer, or when idle.
//!
//! At the end: every byte sent on a connection that ended normally came back identical, and the
//! server read and wrote exactly that many bytes on those connections (none of which saw an
//! error); every connection was accepted and closed; the thread and fd counts are back to their
//! baseline; and RSS, sampled every 10 s, grew by at most 20 MiB after the warm-up (the sample at
//! one minute, or at half the run when shorter).

mod util;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Counters of the clients and of the server.
#[derive(Default)]
struct Stats {
    /// Connections the clients established.
    connections: AtomicU64,
    /// Of those, connections that ended normally (FIN both ways, no reset).
    clean_connections: AtomicU64,
    /// Bytes sent on clean connections; each came back identical (else a failure is logged).
    clean_bytes: AtomicU64,
    bulk_transfers: AtomicU64,
    bulk_bytes: AtomicU64,
    round_trips: AtomicU64,
    churn: AtomicU64,
    resets: AtomicU64,
    failures: Mutex<Vec<String>>,
    /// Server side: accepted sockets, sockets closed without and with an error.
    accepted: AtomicU64,
    server_clean_closes: AtomicU64,
    server_error_closes: AtomicU64,
    /// Server side: bytes read (= written, checked) on sockets that closed without an error.
    server_clean_bytes: AtomicU64,
    /// Server side: `error` events by code.
    server_errors: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn fail(&self, what: String) {
        eprintln!("soak failure: {what}");
        self.failures.lock().unwrap().push(what);
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Deterministic xorshift64* generator; also a reproducible byte stream.
struct Rng {
    state: u64,
    word: [u8; 8],
    used: usize,
}

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng {
            state: seed | 1,
            word: [0; 8],
            used: 8,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// The next bytes of the stream.
    fn fill(&mut self, buf: &mut [u8]) {
        let mut at = 0;
        while at < buf.len() {
            if self.used == 8 {
                self.word = self.next().to_le_bytes();
                self.used = 0;
            }
            let n = (8 - self.used).min(buf.len() - at);
            buf[at..at + n].copy_from_slice(&self.word[self.used..self.used + n]);
            self.used += n;
            at += n;
        }
    }
}

/// The generous bound on every blocking client call; a hang becomes a failure, not a stuck test.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

fn connect(port: u16, stats: &Stats) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Stats::add(&stats.connections, 1);
    Ok(stream)
}

/// Reads until EOF, checking that the bytes are the next ones of `expected`; returns the count.
fn read_echo(stream: &mut TcpStream, expected: &mut Rng) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut want = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(std::io::Error::other(format!("{e} after {total} bytes"))),
        };
        expected.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            let at = buf[..n].iter().zip(&want[..n]).position(|(a, b)| a != b);
            return Err(std::io::Error::other(format!(
                "echo differs at byte {}",
                total + at.unwrap_or(0) as u64
            )));
        }
        total += n as u64;
    }
}

/// Sends `size` bytes of the stream `seed` and half-closes, from a thread of its own.
fn spawn_writer(
    mut stream: TcpStream,
    seed: u64,
    size: usize,
) -> std::thread::JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len());
            rng.fill(&mut buf[..n]);
            stream.write_all(&buf[..n])?;
            left -= n;
        }
        stream.shutdown(Shutdown::Write)
    })
}

/// One bulk transfer: `size` bytes out, the same bytes back, then EOF both ways.
fn bulk_once(port: u16, stats: &Stats, seed: u64, size: usize) -> Result<(), String> {
    let mut stream = connect(port, stats).map_err(|e| format!("connect: {e}"))?;
    let local_port = stream.local_addr().map_or(0, |a| a.port());
    let writer = spawn_writer(stream.try_clone().map_err(|e| e.to_string())?, seed, size);
    let echoed = read_echo(&mut stream, &mut Rng::new(seed));
    let written = writer.join().expect("writer thread");
    written.map_err(|e| format!("write: {e}"))?;
    let echoed = echoed.map_err(|e| format!("read (client port {local_port}): {e}"))?;
    if echoed != size as u64 {
        return Err(format!("sent {size} bytes, {echoed} came back"));
    }
    Stats::add(&stats.clean_connections, 1);
    Stats::add(&stats.clean_bytes, echoed);
    Stats::add(&stats.bulk_bytes, echoed);
    Stats::add(&stats.bulk_transfers, 1);
    Ok(())
}

fn bulk(port: u16, stats: &Stats, stop: &AtomicBool, seed: u64) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let size = match rng.range(0, 9) {
            0 => 0,
            1..=5 => rng.range(1, 256 * 1024),
            _ => rng.range(256 * 1024, 8 << 20),
        };
        if let Err(e) = bulk_once(port, stats, rng.next(), size) {
            stats.fail(format!("bulk of {size} bytes: {e}"));
        }
    }
}

/// A ping-pong connection: up to `rounds` messages, each echoed and checked, then a clean close.
fn ping_pong_once(
    port: u16,
    stats: &Stats,
    stop: &AtomicBool,
    rng: &mut Rng,
    rounds: usize,
) -> Result<(), String> {
    let mut stream = connect(port, stats).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut sent = 0u64;
    let mut msg = vec![0u8; 2000];
    let mut back = vec![0u8; 2000];
    for round in 0..rounds {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let n = rng.range(1, msg.len());
        rng.fill(&mut msg[..n]);
        stream
            .write_all(&msg[..n])
            .map_err(|e| format!("round {round}: write: {e}"))?;
        stream
            .read_exact(&mut back[..n])
            .map_err(|e| format!("round {round}: read: {e}"))?;
        if back[..n] != msg[..n] {
            return Err(format!("round {round}: echo of {n} bytes differs"));
        }
        sent += n as u64;
        Stats::add(&stats.round_trips, 1);
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    match stream.read(&mut back) {
        Ok(0) => {}
        Ok(n) => return Err(format!("{n} unexpected bytes before EOF")),
        Err(e) => return Err(format!("read EOF: {e}")),
    }
    Stats::add(&stats.clean_connections, 1);
    Stats::add(&stats.clean_bytes, sent);
    Ok(())
}

fn ping_pong(port: u16, stats: &Stats, stop: &AtomicBool, seed: u64) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        let rounds = rng.range(1, 2000);
        if let Err(e) = ping_pong_once(port, stats, stop, &mut rng, rounds) {
            stats.fail(format!("ping-pong: {e}"));
        }
    }
}

/// Short connections, every one ending normally.
fn churn_once(port: u16, stats: &Stats, rng: &mut Rng) -> Result<(), String> {
    let mut stream = connect(port, stats).map_err(|e| format!("connect: {e}"))?;
    let mut sent = 0u64;
    match rng.range(0, 2) {
        // Close at once (FIN; nothing unread, so no RST).
        0 => drop(stream),
        // Half-close at once; the server ends too.
        1 => {
            stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("shutdown: {e}"))?;
            let mut rest = Vec::new();
            stream
                .read_to_end(&mut rest)
                .map_err(|e| format!("read: {e}"))?;
            if !rest.is_empty() {
                return Err(format!("{} bytes from an empty connection", rest.len()));
            }
        }
        // A short message, half-close, read the echo to EOF.
        _ => {
            let seed = rng.next();
            let size = rng.range(1, 4096);
            let mut data = vec![0u8; size];
            Rng::new(seed).fill(&mut data);
            stream.write_all(&data).map_err(|e| format!("write: {e}"))?;
            stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("shutdown: {e}"))?;
            let echoed =
                read_echo(&mut stream, &mut Rng::new(seed)).map_err(|e| format!("read: {e}"))?;
            if echoed != size as u64 {
                return Err(format!("sent {size} bytes, {echoed} came back"));
            }
            sent = echoed;
        }
    }
    Stats::add(&stats.clean_connections, 1);
    Stats::add(&stats.clean_bytes, sent);
    Stats::add(&stats.churn, 1);
    Ok(())
}

fn churn(port: u16, stats: &Stats, stop: &AtomicBool, seed: u64) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = churn_once(port, stats, &mut rng) {
            stats.fail(format!("churn: {e}"));
        }
    }
}

/// Connections closed with RST (SO_LINGER 0): at once, mid-transfer, or idle after an echo.
fn reset_once(port: u16, stats: &Stats, rng: &mut Rng) -> Result<(), String> {
    let mut stream = connect(port, stats).map_err(|e| format!("connect: {e}"))?;
    match rng.range(0, 2) {
        0 => {}
        // Mid-transfer: the server is still echoing (its writes may fail with EPIPE).
        1 => {
            let mut data = vec![0u8; rng.range(1, 1 << 20)];
            rng.fill(&mut data);
            // The peer may stop reading; a full socket buffer must not block the reset.
            stream
                .set_nonblocking(true)
                .map_err(|e| format!("nonblocking: {e}"))?;
            let _ = stream.write(&data);
            let _ = stream.read(&mut data);
        }
        // Idle: a full echo, then the reset.
        _ => {
            let mut data = vec![0u8; rng.range(1, 4096)];
            rng.fill(&mut data);
            let mut back = vec![0u8; data.len()];
            stream
                .write_all(&data)
                .and_then(|()| stream.read_exact(&mut back))
                .map_err(|e| format!("echo before reset: {e}"))?;
            if back != data {
                return Err("echo before reset differs".to_string());
            }
        }
    }
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| format!("SO_LINGER: {e}"))?;
    drop(stream);
    Stats::add(&stats.resets, 1);
    Ok(())
}

fn resets(port: u16, stats: &Stats, stop: &AtomicBool, seed: u64) {
    let mut rng = Rng::new(seed);
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = reset_once(port, stats, &mut rng) {
            stats.fail(format!("reset: {e}"));
        }
    }
}

/// The echo server's connection listener: pipe to itself, count errors and bytes at close.
fn on_connection(c: nodenet::Socket, stats: &Arc<Stats>, toggle: bool) {
    Stats::add(&stats.accepted, 1);
    c.pipe(&c);
    if toggle {
        toggle_flow(c.clone());
    }
    let st = stats.clone();
    c.on_error(move |_, e| {
        *st.server_errors
            .lock()
            .unwrap()
            .entry(e.code().to_string())
            .or_default() += 1;
    });
    let st = stats.clone();
    c.on_close(move |s, had_error| {
        if had_error {
            Stats::add(&st.server_error_closes, 1);
            return;
        }
        Stats::add(&st.server_clean_closes, 1);
        let (read, written) = (s.bytes_read(), s.bytes_written());
        if read != written {
            st.fail(format!(
                "server socket closed cleanly after reading {read} and writing {written} bytes"
            ));
        }
        Stats::add(&st.server_clean_bytes, read);
    });
}

/// Pauses and resumes `c` on every turn of the loop until it is destroyed, so that reads keep
/// switching between the loop and the pipe's direct path.
fn toggle_flow(c: nodenet::Socket) {
    if c.destroyed() {
        return;
    }
    c.pause();
    nodenet::set_immediate(move || {
        c.resume();
        nodenet::set_immediate(move || toggle_flow(c));
    });
}

/// The resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn soak_secs() -> u64 {
    std::env::var("NODENET_SOAK_SECS")
        .ok()
        .map(|v| v.parse().expect("NODENET_SOAK_SECS is a number of seconds"))
        .unwrap_or(600)
}

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const RSS_GROWTH_LIMIT_KIB: u64 = 20 * 1024;

/// The tests of this binary count the process's threads and fds: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the echo server on its own thread and loop; returns its port, the server, its loop and
/// the thread.
fn start_echo_server(
    stats: &Arc<Stats>,
    toggle: bool,
) -> (
    u16,
    nodenet::Server,
    nodenet::LoopHandle,
    std::thread::JoinHandle<Result<(), nodenet::Error>>,
) {
    let (tx, rx) = mpsc::channel();
    let st = stats.clone();
    let thread = std::thread::Builder::new()
        .name("soak-server".into())
        .spawn(move || {
            let server = nodenet::create_server(move |c| on_connection(c, &st, toggle));
            server.on_error(|_, e| panic!("server error: {e}"));
            let lp = nodenet::current_loop();
            server.listen((0, "127.0.0.1")).on_listening(move |s| {
                tx.send((util::port_of(s), s.clone(), lp.clone()))
                    .expect("send the port");
            });
            nodenet::run()
        })
        .expect("spawn the server thread");
    let (port, server, server_loop) = rx.recv().expect("the server listens");
    (port, server, server_loop, thread)
}

/// Bulk transfers alone, bounded (4 threads of 60 transfers of 16 KiB to 512 KiB), through an
/// echo server that pauses and resumes each socket on every turn of its loop, so that reads
/// keep switching between the loop and the pipe's direct path: every byte must come back, in
/// order.
#[test]
fn bulk_echo_through_pipe_keeps_byte_order() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    util::with_deadline(Duration::from_secs(120), || {
        let stats = Arc::new(Stats::default());
        let (port, server, server_loop, server_thread) = start_echo_server(&stats, true);
        let workers: Vec<_> = (0..4u64)
            .map(|i| {
                let stats = stats.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng::new(0xb01c_0000 + i);
                    for _ in 0..60 {
                        let size = rng.range(16 * 1024, 512 * 1024);
                        if let Err(e) = bulk_once(port, &stats, rng.next(), size) {
                            stats.fail(format!("bulk of {size} bytes: {e}"));
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("bulk thread");
        }
        server_loop.post(move || {
            server.close();
        });
        server_thread
            .join()
            .expect("server thread")
            .expect("server loop");
        let failures = stats.failures.lock().unwrap().clone();
        assert!(
            failures.is_empty(),
            "{} of 240 transfers failed, first: {:#?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
        assert_eq!(Stats::get(&stats.bulk_transfers), 240);
        assert_eq!(
            Stats::get(&stats.server_clean_bytes),
            Stats::get(&stats.clean_bytes)
        );
    });
}

#[test]
#[ignore = "soak test, minutes long: NODENET_SOAK_SECS=600 cargo test --release --test soak -- --ignored --nocapture"]
fn soak_mixed_load() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let secs = soak_secs();
    let duration = Duration::from_secs(secs);
    util::with_deadline(duration + Duration::from_secs(300), move || soak(duration));
}

fn soak(duration: Duration) {
    let threads_before = util::thread_count();
    let fds_before = util::fd_count();
    let stats = Arc::new(Stats::default());

    let (port, server, server_loop, server_thread) = start_echo_server(&stats, false);

    let stop = Arc::new(AtomicBool::new(false));
    type Load = fn(u16, &Stats, &AtomicBool, u64);
    let loads: [(&str, Load); 6] = [
        ("bulk", bulk),
        ("bulk", bulk),
        ("ping-pong", ping_pong),
        ("ping-pong", ping_pong),
        ("churn", churn),
        ("resets", resets),
    ];
    let workers: Vec<_> = loads
        .iter()
        .enumerate()
        .map(|(i, &(name, load))| {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("soak-{name}"))
                .spawn(move || load(port, &stats, &stop, 0x5eed_0000 + i as u64))
                .expect("spawn a load thread")
        })
        .collect();

    // RSS every 10 s while the load runs.
    let start = Instant::now();
    let mut samples: Vec<(u64, u64)> = vec![(0, rss_kib())];
    while start.elapsed() < duration {
        let left = duration - start.elapsed();
        std::thread::sleep(left.min(SAMPLE_EVERY));
        samples.push((start.elapsed().as_secs(), rss_kib()));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("load thread");
    }
    let load_secs = start.elapsed().as_secs_f64();

    // Every server socket closes; then the server, and its thread returns.
    let all_closed = util::eventually(Duration::from_secs(60), || {
        Stats::get(&stats.server_clean_closes) + Stats::get(&stats.server_error_closes)
            == Stats::get(&stats.accepted)
            && Stats::get(&stats.accepted) == Stats::get(&stats.connections)
    });
    server_loop.post(move || {
        server.close();
    });
    let run_result = server_thread.join().expect("server thread");
    let threads_back = util::eventually(Duration::from_secs(30), || {
        util::thread_count() == threads_before
    });
    let fds_back = util::eventually(Duration::from_secs(30), || util::fd_count() == fds_before);
    samples.push((start.elapsed().as_secs(), rss_kib()));

    // The report.
    let get = Stats::get;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("soak: {load_secs:.0} s of load on 127.0.0.1:{port}");
    println!(
        "  connections {} (clean {}, resets {}), accepted {}, server closes clean {} / error {}",
        get(&stats.connections),
        get(&stats.clean_connections),
        get(&stats.resets),
        get(&stats.accepted),
        get(&stats.server_clean_closes),
        get(&stats.server_error_closes),
    );
    println!(
        "  bulk {} transfers, {:.1} MiB echoed and checked; ping-pong {} round trips; churn {} connections",
        get(&stats.bulk_transfers),
        mib(get(&stats.bulk_bytes) / 1024),
        get(&stats.round_trips),
        get(&stats.churn),
    );
    println!(
        "  bytes on clean connections: clients {} sent and got back, server {} read and wrote",
        get(&stats.clean_bytes),
        get(&stats.server_clean_bytes),
    );
    println!(
        "  server error events by code: {:?}",
        stats.server_errors.lock().unwrap()
    );
    println!(
        "  threads {threads_before} -> {} , fds {fds_before} -> {}",
        util::thread_count(),
        util::fd_count()
    );
    let rss: Vec<String> = samples
        .iter()
        .map(|(t, kib)| format!("{t}s {:.1}", mib(*kib)))
        .collect();
    println!("  RSS MiB: {}", rss.join(", "));

    // The invariants.
    let failures = stats.failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} client failures, first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert!(run_result.is_ok(), "server loop: {run_result:?}");
    assert!(
        all_closed,
        "connections {} accepted {} closed {}+{}",
        get(&stats.connections),
        get(&stats.accepted),
        get(&stats.server_clean_closes),
        get(&stats.server_error_closes)
    );
    assert_eq!(
        get(&stats.server_clean_closes),
        get(&stats.clean_connections),
        "every clean client connection, and only those, closes without error on the server"
    );
    assert_eq!(
        get(&stats.server_clean_bytes),
        get(&stats.clean_bytes),
        "bytes on clean connections: server vs clients"
    );
    assert_eq!(
        get(&stats.server_error_closes),
        get(&stats.resets),
        "every reset, and only those, closes the server's socket with an error"
    );
    let errors = stats.server_errors.lock().unwrap().clone();
    let unexpected: Vec<_> = errors
        .keys()
        .filter(|code| !matches!(code.as_str(), "ECONNRESET" | "EPIPE"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected server errors: {errors:?}"
    );
    assert!(get(&stats.bulk_transfers) > 0 && get(&stats.round_trips) > 0);
    assert!(get(&stats.churn) > 0 && get(&stats.resets) > 0);
    assert!(
        threads_back,
        "threads {threads_before} -> {}",
        util::thread_count()
    );
    assert!(fds_back, "fds {fds_before} -> {}", util::fd_count());

    // RSS after warm-up (one minute, or half the run if shorter) stays flat.
    let warm_up = (duration.as_secs() / 2).min(60);
    let (_, base) = *samples
        .iter()
        .find(|(t, _)| *t >= warm_up)
        .unwrap_or(samples.last().expect("samples"));
    let peak = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up)
        .map(|&(_, kib)| kib)
        .max()
        .unwrap_or(base);
    assert!(
        peak <= base + RSS_GROWTH_LIMIT_KIB,
        "RSS grew from {:.1} MiB at {warm_up} s to {:.1} MiB",
        mib(base),
        mib(peak)
    );
}
