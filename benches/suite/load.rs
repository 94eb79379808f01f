//! The load generator. It talks only to 127.0.0.1 or to a unix socket in a temp dir, checks every
//! byte it gets back, and every loop is bounded by a count or a deadline.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Longest wait for any single read or write before a run is declared stuck.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Bytes per write in `bulk` (and the read buffer size).
const CHUNK: usize = 64 * 1024;
/// The verification pattern repeats every this many bytes.
const TABLE_LEN: usize = 1 << 20;
/// Payload of one ping-pong request.
const PING: usize = 64;
/// Payload of one connect-echo-close or idle echo.
const SMALL: usize = 16;

/// Where the server under test listens.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// 127.0.0.1 and this port.
    Tcp(u16),
    /// A unix socket.
    Unix(PathBuf),
}

/// A blocking client stream.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn connect(target: &Target) -> io::Result<Stream> {
        let stream = match target {
            Target::Tcp(port) => {
                let s = TcpStream::connect(("127.0.0.1", *port))?;
                // The client never delays its own segments; the server's setting is what is measured.
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Target::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
        };
        stream.set_timeouts(Some(IO_TIMEOUT))?;
        Ok(stream)
    }

    fn set_timeouts(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            Stream::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
        }
    }

    fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// A non-blocking `mio` stream for the event-driven client.
    fn into_mio(self) -> io::Result<MioStream> {
        self.set_timeouts(None)?;
        Ok(match self {
            Stream::Tcp(s) => {
                s.set_nonblocking(true)?;
                MioStream::Tcp(mio::net::TcpStream::from_std(s))
            }
            Stream::Unix(s) => {
                s.set_nonblocking(true)?;
                MioStream::Unix(mio::net::UnixStream::from_std(s))
            }
        })
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum MioStream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl MioStream {
    fn register(&mut self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        match self {
            MioStream::Tcp(s) => registry.register(s, token, mio::Interest::READABLE),
            MioStream::Unix(s) => registry.register(s, token, mio::Interest::READABLE),
        }
    }
}

impl Read for MioStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MioStream::Tcp(s) => s.read(buf),
            MioStream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for MioStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MioStream::Tcp(s) => s.write(buf),
            MioStream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn err(what: &str, e: io::Error) -> String {
    format!("{what}: {e}")
}

// ---------------------------------------------------------------------------------------------
// bulk

/// The verification pattern: pseudo-random bytes, with the first `CHUNK` bytes repeated at the end
/// so that any window of up to `CHUNK` bytes starting below `TABLE_LEN` is one contiguous slice.
fn pattern() -> Vec<u8> {
    let mut table = Vec::with_capacity(TABLE_LEN + CHUNK);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while table.len() < TABLE_LEN {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        table.extend_from_slice(&x.to_le_bytes());
    }
    table.truncate(TABLE_LEN);
    let head = table[..CHUNK].to_vec();
    table.extend_from_slice(&head);
    table
}

/// `bulk`: `conns` connections each write `total / conns` bytes in 64 KiB writes while reading the
/// echo concurrently and comparing it byte for byte. Returns MB/s (10^6 bytes per second) of echoed
/// payload, from the first write to the last byte (and EOF) read back.
pub(crate) fn bulk(target: &Target, total: u64, conns: usize) -> Result<f64, String> {
    let per_conn = total / conns as u64;
    let table = pattern();
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        streams.push(Stream::connect(target).map_err(|e| err("connect", e))?);
    }
    let barrier = Barrier::new(2 * conns + 1);
    let (start, results) = thread::scope(|scope| {
        let mut readers = Vec::new();
        let mut writers = Vec::new();
        for (k, stream) in streams.into_iter().enumerate() {
            // Each connection starts at its own place in the pattern, so crossed streams are caught.
            let offset = (k * 263_167) % TABLE_LEN;
            let (table, barrier) = (&table, &barrier);
            let mut reader = stream;
            let writer = reader.try_clone();
            writers.push(scope.spawn(move || -> Result<(), String> {
                let mut writer = writer.map_err(|e| err("try_clone", e))?;
                barrier.wait();
                let mut pos: u64 = 0;
                while pos < per_conn {
                    let start = (pos as usize + offset) % TABLE_LEN;
                    let len = CHUNK.min((per_conn - pos) as usize);
                    writer
                        .write_all(&table[start..start + len])
                        .map_err(|e| err("write", e))?;
                    pos += len as u64;
                }
                writer.shutdown_write().map_err(|e| err("shutdown", e))
            }));
            readers.push(scope.spawn(move || -> Result<Instant, String> {
                let mut buf = vec![0u8; CHUNK];
                barrier.wait();
                let mut pos: u64 = 0;
                loop {
                    let n = match reader.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(format!("read after {pos} bytes: {e}")),
                    };
                    if n == 0 {
                        break;
                    }
                    let start = (pos as usize + offset) % TABLE_LEN;
                    if buf[..n] != table[start..start + n] {
                        return Err(format!("wrong bytes echoed at offset {pos}"));
                    }
                    pos += n as u64;
                    if pos > per_conn {
                        return Err(format!("{pos} bytes echoed, {per_conn} sent"));
                    }
                }
                if pos != per_conn {
                    return Err(format!("EOF after {pos} of {per_conn} bytes"));
                }
                Ok(Instant::now())
            }));
        }
        barrier.wait();
        let start = Instant::now();
        let mut results = Vec::new();
        for w in writers {
            results.push(w.join().expect("bulk writer panicked").map(|_| None));
        }
        for r in readers {
            results.push(r.join().expect("bulk reader panicked").map(Some));
        }
        (start, results)
    });
    let mut end = start;
    for r in results {
        if let Some(t) = r? {
            end = end.max(t);
        }
    }
    let secs = (end - start).as_secs_f64();
    Ok((per_conn * conns as u64) as f64 / secs / 1e6)
}

// ---------------------------------------------------------------------------------------------
// pingpong

/// Results of a ping-pong run.
pub(crate) struct PingPong {
    /// Round trips per second, all connections together.
    pub(crate) rate: f64,
    /// Every round trip, warm-up included (for CPU per round trip).
    pub(crate) total: u64,
    /// Latency percentiles in microseconds: p50, p99, p99.9.
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
}

struct PingConn {
    stream: MioStream,
    request: [u8; PING],
    got: [u8; PING],
    filled: usize,
    seq: u64,
    sent_at: Instant,
    done: bool,
}

impl PingConn {
    fn next_request(&mut self, id: usize) {
        self.seq += 1;
        self.request[..8].copy_from_slice(&(id as u64).to_le_bytes());
        self.request[8..16].copy_from_slice(&self.seq.to_le_bytes());
        for (j, b) in self.request[16..].iter_mut().enumerate() {
            *b = (self.seq as usize).wrapping_mul(31).wrapping_add(j * 7) as u8;
        }
    }

    /// Sends the request (64 bytes into an empty socket buffer: a short write is not expected, but
    /// handled by retrying until the deadline).
    fn send(&mut self, now: Instant) -> Result<(), String> {
        let deadline = now + IO_TIMEOUT;
        let mut sent = 0;
        while sent < PING {
            match self.stream.write(&self.request[sent..]) {
                Ok(0) => return Err("write returned 0".into()),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err("write blocked too long".into());
                    }
                    thread::yield_now();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(err("write", e)),
            }
        }
        self.sent_at = now;
        Ok(())
    }
}

/// `pingpong`: `conns` connections, each with one 64-byte request outstanding at a time, driven by
/// one client thread with epoll (mio). Round trips that start after `warmup` and end within
/// `duration` after it are counted and their latency recorded.
pub(crate) fn pingpong(
    target: &Target,
    conns: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<PingPong, String> {
    let mut poll = mio::Poll::new().map_err(|e| err("epoll", e))?;
    let mut events = mio::Events::with_capacity(1024);
    let mut list = Vec::with_capacity(conns);
    for i in 0..conns {
        let mut stream = Stream::connect(target)
            .and_then(Stream::into_mio)
            .map_err(|e| err("connect", e))?;
        stream
            .register(poll.registry(), mio::Token(i))
            .map_err(|e| err("register", e))?;
        list.push(PingConn {
            stream,
            request: [0; PING],
            got: [0; PING],
            filled: 0,
            seq: 0,
            sent_at: Instant::now(),
            done: false,
        });
    }
    let t0 = Instant::now();
    let from = t0 + warmup;
    let until = from + duration;
    let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
    for (i, c) in list.iter_mut().enumerate() {
        c.next_request(i);
        c.send(Instant::now())?;
    }
    let mut active = conns;
    let mut total: u64 = 0;
    let mut last_progress = Instant::now();
    while active > 0 {
        poll.poll(&mut events, Some(Duration::from_millis(500)))
            .map_err(|e| err("epoll_wait", e))?;
        if events.is_empty() && last_progress.elapsed() > IO_TIMEOUT {
            return Err(format!("no reply for {IO_TIMEOUT:?}"));
        }
        for event in events.iter() {
            let i = event.token().0;
            let c = &mut list[i];
            // Edge-triggered: read until the socket is empty.
            while !c.done {
                match c.stream.read(&mut c.got[c.filled..]) {
                    Ok(0) => return Err(format!("EOF on connection {i}")),
                    Ok(n) => {
                        c.filled += n;
                        if c.filled < PING {
                            continue;
                        }
                        if c.got != c.request {
                            return Err(format!("wrong reply on connection {i}"));
                        }
                        let now = Instant::now();
                        last_progress = now;
                        total += 1;
                        if c.sent_at >= from && now <= until {
                            let ns = (now - c.sent_at).as_nanos();
                            latencies.push(ns.min(u32::MAX as u128) as u32);
                        }
                        c.filled = 0;
                        if now < until {
                            c.next_request(i);
                            c.send(now)?;
                        } else {
                            c.done = true;
                            active -= 1;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(err("read", e)),
                }
            }
        }
        if Instant::now() > until + IO_TIMEOUT {
            return Err("connections did not finish".into());
        }
    }
    if latencies.is_empty() {
        return Err("no round trip completed".into());
    }
    let rate = latencies.len() as f64 / duration.as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let idx = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[idx] as f64 / 1e3
    };
    Ok(PingPong {
        rate,
        total,
        p50: pct(0.50),
        p99: pct(0.99),
        p999: pct(0.999),
    })
}

// ---------------------------------------------------------------------------------------------
// connrate

/// `connrate`: `threads` client threads each loop connect, 16-byte echo (checked), close, for
/// `duration`. Returns connections per second and the number of connections.
pub(crate) fn connrate(
    target: &Target,
    threads: usize,
    duration: Duration,
) -> Result<(f64, u64), String> {
    let start = Instant::now();
    let until = start + duration;
    let counts: Vec<Result<u64, String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> Result<u64, String> {
                    let mut count: u64 = 0;
                    let mut msg = [0u8; SMALL];
                    let mut got = [0u8; SMALL];
                    while Instant::now() < until {
                        msg[..8].copy_from_slice(&(t as u64).to_le_bytes());
                        msg[8..].copy_from_slice(&count.to_le_bytes());
                        let mut s = Stream::connect(target)
                            .map_err(|e| format!("connect #{count}: {e}"))?;
                        s.write_all(&msg).map_err(|e| err("write", e))?;
                        s.read_exact(&mut got)
                            .map_err(|e| format!("read #{count}: {e}"))?;
                        if got != msg {
                            return Err("wrong echo".into());
                        }
                        drop(s);
                        count += 1;
                    }
                    Ok(count)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("connrate thread panicked"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    Ok((total as f64 / secs, total))
}

// ---------------------------------------------------------------------------------------------
// idle

/// What a process uses, from /proc.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProcStats {
    pub(crate) rss_kib: u64,
    pub(crate) threads: u64,
    pub(crate) fds: u64,
}

/// VmRSS, Threads and the number of open fds of process `pid`.
pub(crate) fn proc_stats(pid: u32) -> io::Result<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
    Ok(ProcStats {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        fds,
    })
}

/// CPU time (user + system, all threads) that process `pid` has used so far, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("bad /proc/pid/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15.
    Ok((ticks(11) + ticks(12)) as f64 / clock_ticks_per_second())
}

#[allow(unsafe_code)] // reason: sysconf has no safe std wrapper
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// Results of an idle run.
pub(crate) struct Idle {
    /// Seconds to open all connections, one checked echo each.
    pub(crate) open_secs: f64,
    /// Seconds for the second echo over every held connection.
    pub(crate) echo_secs: f64,
    /// The server before the first connection.
    pub(crate) before: ProcStats,
    /// The server while all connections are held (after the second echo).
    pub(crate) held: ProcStats,
}

/// `idle`: open `n` connections one after the other, one 16-byte echo each, hold them all, echo
/// once more on each, sample the server process `pid`, then close them.
pub(crate) fn idle(target: &Target, n: usize, pid: u32) -> Result<Idle, String> {
    let before = proc_stats(pid).map_err(|e| err("/proc", e))?;
    let mut held = Vec::with_capacity(n);
    let msg = |i: usize, round: u8| {
        let mut m = [round; SMALL];
        m[..8].copy_from_slice(&(i as u64).to_le_bytes());
        m
    };
    let mut got = [0u8; SMALL];
    let start = Instant::now();
    for i in 0..n {
        let mut s = Stream::connect(target)
            .map_err(|e| format!("connect failed with {i} connections open: {e}"))?;
        let m = msg(i, 1);
        s.write_all(&m)
            .and_then(|_| s.read_exact(&mut got))
            .map_err(|e| format!("echo failed with {i} connections open: {e}"))?;
        if got != m {
            return Err(format!("wrong echo on connection {i}"));
        }
        held.push(s);
    }
    let open_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for (i, s) in held.iter_mut().enumerate() {
        let m = msg(i, 2);
        s.write_all(&m)
            .and_then(|_| s.read_exact(&mut got))
            .map_err(|e| format!("second echo failed on connection {i} of {n}: {e}"))?;
        if got != m {
            return Err(format!("wrong second echo on connection {i}"));
        }
    }
    let echo_secs = start.elapsed().as_secs_f64();
    let held_stats = proc_stats(pid).map_err(|e| err("/proc", e))?;
    drop(held);
    Ok(Idle {
        open_secs,
        echo_secs,
        before,
        held: held_stats,
    })
}
