//! Helpers for the reliability tests: scenarios run in a child process (a re-execution of the
//! test binary itself, selected by an env var), /proc readings of a process, resource limits.
#![allow(dead_code)] // reason: each test binary uses a different subset
#![allow(unreachable_pub)] // reason: a test helper module, not an API
#![allow(unsafe_code)] // reason: setrlimit/setuid/sysconf through libc

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The env var that makes a test binary run one test's child side.
pub const CHILD_ENV: &str = "NODENET_RELIABILITY_CHILD";

/// Prefix of the lines a child reports to its parent on stdout.
const TAG: &str = "@@ ";

/// Whether this process is the child started for test `name`. In the child, it also arranges
/// for the child to be killed when the parent dies (so a parent that fails cannot leak it).
pub fn is_child(name: &str) -> bool {
    let child = std::env::var(CHILD_ENV).as_deref() == Ok(name);
    if child {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes no pointers.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    child
}

/// Child side: reports `key value` to the parent (one line on stdout).
pub fn say(key: &str, value: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{TAG}{key} {value}");
    let _ = out.flush();
}

/// Child side: the parent's commands (lines on stdin), read on a thread started now.
pub fn commands() -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("child-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .expect("spawn stdin reader");
    rx
}

/// Child side: runs `handle` on the calling thread's loop for every command line (posted through
/// `LoopHandle::post`, so it may use the loop's handles). The stdin thread is started now.
pub fn on_commands(handle: impl Fn(String) + Send + Sync + 'static) {
    let lp = nodenet::current_loop();
    let handle = Arc::new(handle);
    std::thread::Builder::new()
        .name("child-commands".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let handle = Arc::clone(&handle);
                lp.post(move || handle(line));
            }
        })
        .expect("spawn command reader");
}

/// The `(key, value)` of a report line (the test harness may print before it on the same line).
fn report_of(line: &str) -> Option<(String, String)> {
    let report = &line[line.find(TAG)? + TAG.len()..];
    let (key, value) = report.split_once(' ').unwrap_or((report, ""));
    Some((key.to_string(), value.to_string()))
}

/// Parent side: a child process running one test's child side.
pub struct ChildProc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Every stdout line seen so far (for failure messages).
    seen: Vec<String>,
}

impl ChildProc {
    /// Re-executes this test binary to run test `name` with `CHILD_ENV=name` (and `env`).
    pub fn spawn(name: &str, env: &[(&str, &str)]) -> ChildProc {
        let exe = std::env::current_exe().expect("current_exe");
        let mut cmd = Command::new(exe);
        cmd.args([
            name,
            "--exact",
            "--nocapture",
            "--include-ignored",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("re-execute the test binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        ChildProc {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn explain(&self) -> String {
        format!(
            "child stdout:\n{}\nchild stderr:\n{}",
            self.seen.join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits (up to `limit`) for the child's next report; returns `(key, value)`.
    pub fn next(&mut self, limit: Duration) -> (String, String) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(report) = report_of(&line) {
                        return report;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no report from the child within {limit:?}\n{}",
                        self.explain()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    panic!("the child exited early\n{}", self.explain())
                }
            }
        }
    }

    /// Waits for the report `key` (failing on any other report first); returns its value.
    pub fn expect(&mut self, key: &str, limit: Duration) -> String {
        let (k, v) = self.next(limit);
        assert_eq!(
            k,
            key,
            "expected report {key:?}, got {k:?} {v:?}\n{}",
            self.explain()
        );
        v
    }

    /// Sends a command line to the child.
    pub fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("write to the child");
        stdin.flush().expect("flush to the child");
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Closes the child's stdin, waits (up to `limit`) for it to exit, and asserts it succeeded.
    /// Returns the reports it made after the last one read.
    pub fn finish(mut self, limit: Duration) -> Vec<(String, String)> {
        drop(self.stdin.take());
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the child did not exit within {limit:?}\n{}",
                    self.explain()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut reports = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line.clone());
            if let Some(report) = report_of(&line) {
                reports.push(report);
            }
        }
        assert!(
            status.success(),
            "the child failed: {status}\n{}",
            self.explain()
        );
        reports
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `body` alone in a child process (so that counts of threads and fds in /proc/self see
/// only this scenario) and fails if the child fails. `name` must be the calling test's name.
pub fn isolated(name: &str, limit: Duration, body: impl FnOnce()) {
    if is_child(name) {
        body();
        say("isolated-done", name);
    } else {
        let mut child = ChildProc::spawn(name, &[]);
        child.expect("isolated-done", limit);
        let stderr = child.stderr();
        child.finish(Duration::from_secs(10));
        // The child's own notes (eprintln), visible with --nocapture.
        eprint!("{stderr}");
    }
}

// ----- /proc ----------------------------------------------------------------------------------

fn proc_path(pid: u32, what: &str) -> String {
    format!("/proc/{pid}/{what}")
}

/// Threads of process `pid`.
pub fn threads_of(pid: u32) -> usize {
    std::fs::read_dir(proc_path(pid, "task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Open fds of process `pid` (of another process: exact; of this one: includes the directory's).
pub fn fds_of(pid: u32) -> usize {
    std::fs::read_dir(proc_path(pid, "fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Lines of /proc/pid/maps (memory mappings).
pub fn maps_of(pid: u32) -> usize {
    std::fs::read_to_string(proc_path(pid, "maps"))
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

/// A field of /proc/pid/status in KiB (e.g. "VmRSS").
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(proc_path(pid, "status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Resident memory of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// CPU time (user + system) used by process `pid` so far.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(proc_path(pid, "stat")).expect("read /proc/pid/stat");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros((utime + stime) * 1_000_000 / ticks)
}

/// This process's id.
pub fn my_pid() -> u32 {
    std::process::id()
}

/// Open fds of this process (not counting the one used to list them).
pub fn my_fds() -> usize {
    fds_of(my_pid()).saturating_sub(1)
}

/// Free fd numbers of this process below `limit` (RLIMIT_NOFILE bounds fd numbers, and fds
/// inherited above it, e.g. from a CI runner, do not count against it).
pub fn my_free_fds_below(limit: u64) -> usize {
    let used = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|fd| *fd < limit)
        .count();
    // The directory listing's own fd is one of them.
    limit as usize - (used - 1)
}

// ----- resource limits ------------------------------------------------------------------------

fn getrlimit(resource: libc::__rlimit_resource_t) -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to write to.
    let rc = unsafe { libc::getrlimit(resource, &mut lim) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    (lim.rlim_cur, lim.rlim_max)
}

fn set_soft(resource: libc::__rlimit_resource_t, soft: u64) {
    let (_, hard) = getrlimit(resource);
    let lim = libc::rlimit {
        rlim_cur: soft.min(hard),
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit.
    let rc = unsafe { libc::setrlimit(resource, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Sets this process's soft RLIMIT_NOFILE (clamped to the hard limit).
pub fn set_nofile(soft: u64) {
    set_soft(libc::RLIMIT_NOFILE, soft);
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the new limit.
pub fn raise_nofile() -> u64 {
    let (_, hard) = getrlimit(libc::RLIMIT_NOFILE);
    set_soft(libc::RLIMIT_NOFILE, hard);
    hard
}

/// Sets this process's soft RLIMIT_NPROC (threads of its real user; root is exempt).
pub fn set_nproc(soft: u64) {
    set_soft(libc::RLIMIT_NPROC, soft);
}

/// Restores the soft RLIMIT_NPROC to the hard limit.
pub fn restore_nproc() {
    let (_, hard) = getrlimit(libc::RLIMIT_NPROC);
    set_soft(libc::RLIMIT_NPROC, hard);
}

/// When running as root (which RLIMIT_NPROC does not bind), becomes `nobody` (65534) so that
/// it does. Returns whether the process changed its user. Irreversible: for child processes.
pub fn drop_root() -> bool {
    // SAFETY: plain syscalls without pointers.
    unsafe {
        if libc::geteuid() != 0 {
            return false;
        }
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
        assert_eq!(libc::setgid(65534), 0, "setgid");
        assert_eq!(libc::setuid(65534), 0, "setuid");
    }
    true
}

// ----- plain std clients ----------------------------------------------------------------------

/// Sends `msg` and reads it back (blocking, with `limit` as a read timeout); returns what came back.
pub fn echo(stream: &mut TcpStream, msg: &[u8], limit: Duration) -> std::io::Result<Vec<u8>> {
    stream.write_all(msg)?;
    read_exact_len(stream, msg.len(), limit)
}

/// Reads `len` bytes (or until EOF) with `limit` as the read timeout.
pub fn read_exact_len(
    stream: &mut TcpStream,
    len: usize,
    limit: Duration,
) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(limit))?;
    let mut got = Vec::new();
    let mut buf = vec![0u8; len.max(1)];
    while got.len() < len {
        let n = stream.read(&mut buf[..len - got.len()])?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

/// What a blocking read on `stream` sees first: "data", "eof", "reset", "timeout" or another error.
pub fn first_read(stream: &mut TcpStream, limit: Duration) -> String {
    stream.set_read_timeout(Some(limit)).expect("set timeout");
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => "eof".to_string(),
        Ok(n) => format!("data {}", String::from_utf8_lossy(&buf[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => "reset".to_string(),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            "timeout".to_string()
        }
        Err(e) => format!("error {e}"),
    }
}

/// Closes `stream` with an RST (SO_LINGER 0).
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

/// The accept-queue length of the IPv4 listening socket on `port` (rx_queue of a LISTEN entry in
/// /proc/net/tcp), or None if there is no such listener.
pub fn accept_queue(port: u16) -> Option<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port_of = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
        // State 0A is LISTEN.
        if fields.len() > 4 && port_of(fields[1]) == Some(port) && fields[3] == "0A" {
            usize::from_str_radix(fields[4].rsplit(':').next()?, 16).ok()
        } else {
            None
        }
    })
}

/// Waits (up to `limit`) until `check` holds; returns whether it did.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    check()
}
