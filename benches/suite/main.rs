//! nodenet's benchmark suite (issue 4): echo servers side by side, each in its own process, driven
//! by one load generator that checks every byte, round-robin over several rounds.
//!
//! ```text
//! cargo bench --bench suite                     # full run (~10-15 minutes on 2 cores)
//! cargo bench --bench suite -- --quick          # small sizes, 1 s runs, 1 round (~1-2 minutes)
//! cargo bench --bench suite -- --only bulk,pingpong --servers nodenet-pipe,tokio --rounds 5
//! ```
//!
//! Options: `--quick`, `--only LIST` (bulk, bulk-unix, pingpong, pingpong-unix, connrate, idle,
//! or exact scenario names), `--servers LIST` (std-threads, the baseline, is always included),
//! `--rounds N`, `--seconds S` (pingpong and connrate), `--bulk-mib N`, `--idle-conns N`,
//! `--nodelay` (servers set TCP_NODELAY; the client always does).
//!
//! Results go to `target/bench-results/results.md` (also printed), `ratios.svg` and `raw.csv`.
//! The suite binary also runs the servers: `--serve IMPL --listen tcp|PATH [--nodelay]`.

mod load;
mod report;
mod servers;

use load::Target;
use report::{MetricDef, Report, Sample, ScenarioInfo};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BASELINE: &str = "std-threads";
/// Every server, in the order of the report (node is dropped when `node` is not installed).
const SERVERS: [&str; 6] = [
    "std-threads",
    "nodenet-pipe",
    "nodenet-data",
    "std-threads2",
    "node",
    "tokio",
];
/// Servers run only when named with `--servers`: nodenet's two echo servers on 2 and 4 loops
/// (threads) sharing one listening socket (`ListenOptions::exclusive(false)`).
const EXTRA_SERVERS: [&str; 4] = [
    "nodenet-pipe-2loops",
    "nodenet-pipe-4loops",
    "nodenet-data-2loops",
    "nodenet-data-4loops",
];

static BULK: [MetricDef; 2] = [
    MetricDef {
        name: "MB/s",
        higher_is_better: true,
    },
    MetricDef {
        name: "server CPU s/GB",
        higher_is_better: false,
    },
];
static PINGPONG: [MetricDef; 5] = [
    MetricDef {
        name: "round trips/s",
        higher_is_better: true,
    },
    MetricDef {
        name: "p50 µs",
        higher_is_better: false,
    },
    MetricDef {
        name: "p99 µs",
        higher_is_better: false,
    },
    MetricDef {
        name: "p99.9 µs",
        higher_is_better: false,
    },
    MetricDef {
        name: "server CPU µs/rt",
        higher_is_better: false,
    },
];
static CONNRATE: [MetricDef; 2] = [
    MetricDef {
        name: "conn/s",
        higher_is_better: true,
    },
    MetricDef {
        name: "server CPU µs/conn",
        higher_is_better: false,
    },
];
static IDLE: [MetricDef; 6] = [
    MetricDef {
        name: "open s",
        higher_is_better: false,
    },
    MetricDef {
        name: "echo again s",
        higher_is_better: false,
    },
    MetricDef {
        name: "RSS MiB",
        higher_is_better: false,
    },
    MetricDef {
        name: "RSS KiB/conn",
        higher_is_better: false,
    },
    MetricDef {
        name: "threads",
        higher_is_better: false,
    },
    MetricDef {
        name: "fds",
        higher_is_better: false,
    },
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Tcp,
    Unix,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Bulk(Transport),
    PingPong(Transport, usize),
    ConnRate,
    Idle,
}

struct Scenario {
    name: &'static str,
    group: &'static str,
    kind: Kind,
}

const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "bulk-tcp",
        group: "bulk",
        kind: Kind::Bulk(Transport::Tcp),
    },
    Scenario {
        name: "bulk-unix",
        group: "bulk-unix",
        kind: Kind::Bulk(Transport::Unix),
    },
    Scenario {
        name: "pingpong-tcp-1",
        group: "pingpong",
        kind: Kind::PingPong(Transport::Tcp, 1),
    },
    Scenario {
        name: "pingpong-tcp-64",
        group: "pingpong",
        kind: Kind::PingPong(Transport::Tcp, 64),
    },
    Scenario {
        name: "pingpong-unix-1",
        group: "pingpong-unix",
        kind: Kind::PingPong(Transport::Unix, 1),
    },
    Scenario {
        name: "pingpong-unix-64",
        group: "pingpong-unix",
        kind: Kind::PingPong(Transport::Unix, 64),
    },
    Scenario {
        name: "connrate-tcp",
        group: "connrate",
        kind: Kind::ConnRate,
    },
    Scenario {
        name: "idle-tcp",
        group: "idle",
        kind: Kind::Idle,
    },
];

struct Options {
    quick: bool,
    scenarios: Vec<usize>,
    servers: Vec<&'static str>,
    rounds: usize,
    bulk_bytes: u64,
    seconds: f64,
    warmup: Duration,
    idle_conns: usize,
    nodelay: bool,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let quick = args.iter().any(|a| a == "--quick");
    let value = |flag: &str| -> Option<String> {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).cloned().unwrap_or_default())
    };
    let number = |flag: &str| -> Result<Option<f64>, String> {
        value(flag)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| *x > 0.0)
                    .ok_or(format!("{flag} needs a positive number, got {v:?}"))
            })
            .transpose()
    };
    let scenarios = match value("--only") {
        None => (0..SCENARIOS.len()).collect(),
        Some(list) => {
            let mut picked = Vec::new();
            for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                let found: Vec<usize> = (0..SCENARIOS.len())
                    .filter(|&i| SCENARIOS[i].group == word || SCENARIOS[i].name == word)
                    .collect();
                if found.is_empty() {
                    return Err(format!(
                        "unknown scenario {word:?}: use bulk, bulk-unix, pingpong, pingpong-unix, \
                         connrate, idle, or one of {}",
                        SCENARIOS.map(|s| s.name).join(", ")
                    ));
                }
                picked.extend(found);
            }
            picked.sort_unstable();
            picked.dedup();
            picked
        }
    };
    let servers = match value("--servers") {
        None => SERVERS.to_vec(),
        Some(list) => {
            let mut picked = vec![BASELINE];
            for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                match SERVERS.iter().chain(&EXTRA_SERVERS).find(|s| **s == word) {
                    Some(s) if !picked.contains(s) => picked.push(s),
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "unknown server {word:?}: one of {}, {}",
                            SERVERS.join(", "),
                            EXTRA_SERVERS.join(", ")
                        ));
                    }
                }
            }
            SERVERS
                .iter()
                .chain(&EXTRA_SERVERS)
                .copied()
                .filter(|s| picked.contains(s))
                .collect()
        }
    };
    let rounds = number("--rounds")?.map_or(if quick { 1 } else { 3 }, |r| r as usize);
    let bulk_mib = number("--bulk-mib")?.unwrap_or(if quick { 128.0 } else { 1024.0 });
    let seconds = number("--seconds")?.unwrap_or(if quick { 1.0 } else { 5.0 });
    let idle_conns =
        number("--idle-conns")?.map_or(if quick { 2000 } else { 10_000 }, |n| n as usize);
    Ok(Options {
        quick,
        scenarios,
        servers,
        rounds: rounds.max(1),
        bulk_bytes: (bulk_mib * 1024.0 * 1024.0) as u64,
        seconds,
        warmup: Duration::from_millis(if quick { 100 } else { 250 }),
        idle_conns,
        nodelay: args.iter().any(|a| a == "--nodelay"),
    })
}

fn scenario_info(sc: &Scenario, o: &Options) -> ScenarioInfo {
    let description = match sc.kind {
        Kind::Bulk(t) => format!(
            "{} over {}: 4 connections echo {} MiB in total in 64 KiB writes, reading \
             concurrently; MB/s = 10^6 bytes echoed per second; server CPU = user + system time \
             of the server process (all threads) per GB echoed.",
            sc.name,
            transport_name(t),
            o.bulk_bytes >> 20
        ),
        Kind::PingPong(t, n) => format!(
            "{n} connection{} over {}, one 64-byte request outstanding per connection, {} s \
             measured after {} ms of warm-up; one epoll client thread. Server CPU: user + \
             system time of the server process per round trip (warm-up included).",
            if n == 1 { "" } else { "s" },
            transport_name(t),
            o.seconds,
            o.warmup.as_millis()
        ),
        Kind::ConnRate => format!(
            "4 client threads each loop: connect, 16-byte echo, close; {} s. Server CPU: user + \
             system time of the server process per connection.",
            o.seconds
        ),
        Kind::Idle => format!(
            "Open {} TCP connections one after the other, one 16-byte echo each (open s), hold \
             them all, echo again on each (echo again s), then read the server's VmRSS, Threads \
             and open fds from /proc. RSS KiB/conn = (RSS held − RSS before) / connections.",
            o.idle_conns
        ),
    };
    ScenarioInfo {
        name: sc.name,
        description,
        metrics: match sc.kind {
            Kind::Bulk(_) => &BULK,
            Kind::PingPong(..) => &PINGPONG,
            Kind::ConnRate => &CONNRATE,
            Kind::Idle => &IDLE,
        },
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP (127.0.0.1)",
        Transport::Unix => "a unix socket",
    }
}

/// A running server process.
struct Running {
    child: Child,
    target: Target,
    stderr_path: PathBuf,
}

impl Running {
    /// Kills the server and reports whether it had exited on its own (and why).
    fn stop(mut self) -> Option<String> {
        let exited = match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "server exited ({status}){}",
                stderr_tail(&self.stderr_path)
            )),
            _ => None,
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Target::Unix(path) = &self.target {
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_file(&self.stderr_path);
        exited
    }
}

fn stderr_tail(path: &Path) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(300)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    let s = s.trim().replace('\n', " / ");
    if s.is_empty() {
        s
    } else {
        format!(": stderr: …{s}")
    }
}

fn start_server(
    server: &str,
    transport: Transport,
    dir: &Path,
    tag: &str,
    nodelay: bool,
) -> Result<Running, String> {
    let sock = dir.join(format!("{tag}.sock"));
    let listen = match transport {
        Transport::Tcp => "tcp".to_string(),
        Transport::Unix => sock.to_string_lossy().into_owned(),
    };
    let mut cmd = if server == "node" {
        let mut c = Command::new("node");
        c.arg(node_script()).arg(&listen);
        if nodelay {
            c.arg("nodelay");
        }
        c
    } else {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut c = Command::new(exe);
        c.args(["--serve", server, "--listen", &listen]);
        if nodelay {
            c.arg("--nodelay");
        }
        c
    };
    let stderr_path = dir.join(format!("{tag}.stderr"));
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| format!("stderr file: {e}"))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawning {server}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        // Keep the pipe open until the server exits.
        for _ in lines {}
    });
    let line = match rx.recv_timeout(Duration::from_secs(15)) {
        Ok(Some(Ok(line))) => line,
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{server} did not report its address{}",
                stderr_tail(&stderr_path)
            ));
        }
    };
    let target = match transport {
        Transport::Tcp => Target::Tcp(
            line.trim()
                .parse()
                .map_err(|_| format!("{server} printed {line:?}, not a port"))?,
        ),
        Transport::Unix => Target::Unix(sock),
    };
    Ok(Running {
        child,
        target,
        stderr_path,
    })
}

fn node_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/node_echo.js")
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Raises the soft limit on open files to the hard limit (children inherit it).
#[allow(unsafe_code)] // reason: getrlimit/setrlimit have no safe std wrapper
fn raise_nofile_limit() -> Result<u64, String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit that does not exceed the hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(format!(
                "setrlimit({}): {}; soft limit stays {}",
                lim.rlim_max,
                std::io::Error::last_os_error(),
                lim.rlim_cur
            ));
        }
        lim = raised;
    }
    Ok(lim.rlim_cur)
}

fn measure(kind: Kind, server: &Running, o: &Options) -> Result<Vec<f64>, String> {
    let secs = Duration::from_secs_f64(o.seconds);
    let pid = server.child.id();
    let cpu = || load::cpu_seconds(pid).map_err(|e| format!("/proc/{pid}/stat: {e}"));
    let cpu_before = cpu()?;
    match kind {
        Kind::Bulk(_) => {
            let rate = load::bulk(&server.target, o.bulk_bytes, 4)?;
            let used = cpu()? - cpu_before;
            Ok(vec![rate, used / (o.bulk_bytes as f64 / 1e9)])
        }
        Kind::PingPong(_, n) => {
            let p = load::pingpong(&server.target, n, o.warmup, secs)?;
            let used = cpu()? - cpu_before;
            Ok(vec![
                p.rate,
                p.p50,
                p.p99,
                p.p999,
                used * 1e6 / p.total as f64,
            ])
        }
        Kind::ConnRate => {
            let (rate, count) = load::connrate(&server.target, 4, secs)?;
            let used = cpu()? - cpu_before;
            Ok(vec![rate, used * 1e6 / count.max(1) as f64])
        }
        Kind::Idle => {
            let i = load::idle(&server.target, o.idle_conns, server.child.id())?;
            let per_conn = (i.held.rss_kib as f64 - i.before.rss_kib as f64) / o.idle_conns as f64;
            Ok(vec![
                i.open_secs,
                i.echo_secs,
                i.held.rss_kib as f64 / 1024.0,
                per_conn,
                i.held.threads as f64,
                i.held.fds as f64,
            ])
        }
    }
}

fn brief(kind: Kind, values: &[f64]) -> String {
    use report::num;
    match kind {
        Kind::Bulk(_) => format!(
            "{} MB/s, server CPU {} s/GB",
            num(values[0]),
            num(values[1])
        ),
        Kind::PingPong(..) => format!(
            "{} rt/s, p50 {} µs, p99 {} µs, p99.9 {} µs, server CPU {} µs/rt",
            num(values[0]),
            num(values[1]),
            num(values[2]),
            num(values[3]),
            num(values[4])
        ),
        Kind::ConnRate => format!(
            "{} conn/s, server CPU {} µs/conn",
            num(values[0]),
            num(values[1])
        ),
        Kind::Idle => format!(
            "open {} s, echo {} s, RSS {} MiB ({} KiB/conn), {} threads, {} fds",
            num(values[0]),
            num(values[1]),
            num(values[2]),
            num(values[3]),
            values[4],
            values[5]
        ),
    }
}

fn machine_notes(o: &Options, node: &Option<String>) -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into());
    let commit = command_output(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    )
    .unwrap_or_else(|| "?".into());
    let dirty = command_output(
        "git",
        &[
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "status",
            "--porcelain",
            "--",
            "src",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        args.push("(defaults)".into());
    }
    vec![
        format!(
            "Machine: {cpu}, {cores} cores, {mem_gib:.0} GiB, Linux {}; {rustc}; node {}.",
            kernel.trim(),
            node.as_deref().unwrap_or("absent")
        ),
        format!(
            "nodenet at commit {commit}{}; run on {date}.",
            if dirty {
                " with uncommitted changes in src/"
            } else {
                ""
            }
        ),
        format!(
            "Command: `cargo bench --bench suite -- {}`; {} round{}, round-robin (server order \
             rotated each round), a fresh server process per measurement; servers {} TCP_NODELAY \
             (the client always sets it).",
            args.join(" "),
            o.rounds,
            if o.rounds == 1 { "" } else { "s" },
            if o.nodelay { "set" } else { "do not set" }
        ),
    ]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn results_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("bench-results");
    }
    // target/release/deps/suite-HASH
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|t| t.file_name().is_some_and(|n| n == "target"))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench-results")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        if let Err(e) = servers::serve(&args) {
            eprintln!("{e}");
            std::process::exit(2);
        }
        return;
    }
    if !args.iter().any(|a| a == "--bench" || a == "--run") {
        // `cargo test --benches` runs bench targets without `--bench`: do nothing there.
        println!("nodenet benchmark suite: run it with `cargo bench --bench suite` (skipped)");
        return;
    }
    let o = match parse_options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut notes = Vec::new();
    match raise_nofile_limit() {
        Ok(limit) if (limit as usize) < o.idle_conns + 200 => notes.push(format!(
            "RLIMIT_NOFILE is {limit}: too low for {} idle connections",
            o.idle_conns
        )),
        Ok(_) => {}
        Err(e) => notes.push(format!("could not raise RLIMIT_NOFILE: {e}")),
    }
    let node = command_output("node", &["--version"]);
    let mut servers = o.servers.clone();
    match &node {
        None => {
            servers.retain(|s| *s != "node");
            notes.push("`node` is not installed: the node server was skipped.".into());
        }
        Some(v) if !v.starts_with("v20.") => {
            notes.push(format!("node is {v}, not v20"));
        }
        Some(_) => {}
    }
    let baseline = servers.iter().position(|s| *s == BASELINE).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("nodenet-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("creating {}: {e}", dir.display());
        std::process::exit(1);
    }
    let infos: Vec<ScenarioInfo> = SCENARIOS.iter().map(|s| scenario_info(s, &o)).collect();
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "running {} scenario(s) × {} server(s) × {} round(s){}",
        o.scenarios.len(),
        servers.len(),
        o.rounds,
        if o.quick { " (quick)" } else { "" }
    );

    let load_before = loadavg();
    let started = Instant::now();
    let mut samples = Vec::new();
    for &sc in &o.scenarios {
        let scenario = &SCENARIOS[sc];
        let transport = match scenario.kind {
            Kind::Bulk(t) | Kind::PingPong(t, _) => t,
            Kind::ConnRate | Kind::Idle => Transport::Tcp,
        };
        for round in 0..o.rounds {
            for k in 0..servers.len() {
                let sv = (k + round) % servers.len();
                let name = servers[sv];
                let tag = format!("{}-{}-{}", name, scenario.name, round);
                let values = start_server(name, transport, &dir, &tag, o.nodelay).and_then(|run| {
                    let result = measure(scenario.kind, &run, &o);
                    match (run.stop(), result) {
                        (Some(exit), Ok(_)) => Err(exit),
                        (Some(exit), Err(e)) => Err(format!("{e} ({exit})")),
                        (None, result) => result,
                    }
                });
                match &values {
                    Ok(v) => eprintln!(
                        "[{:>5.0}s] {} round {}/{} {:<13} {}",
                        started.elapsed().as_secs_f64(),
                        scenario.name,
                        round + 1,
                        o.rounds,
                        name,
                        brief(scenario.kind, v)
                    ),
                    Err(e) => eprintln!(
                        "[{:>5.0}s] {} round {}/{} {:<13} FAILED: {e}",
                        started.elapsed().as_secs_f64(),
                        scenario.name,
                        round + 1,
                        o.rounds,
                        name
                    ),
                }
                samples.push(Sample {
                    scenario: sc,
                    server: sv,
                    round,
                    values,
                });
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let mut title_notes = machine_notes(&o, &node);
    title_notes.push(format!(
        "Total run time {:.0} s; load average (1, 5, 15 min) before: {load_before}, after: {} \
         (other work on the machine adds noise: compare ratios, not absolute figures).",
        started.elapsed().as_secs_f64(),
        loadavg()
    ));
    let index = |name: &str| SCENARIOS.iter().position(|s| s.name == name).unwrap();
    let headline = [
        (index("bulk-tcp"), 0),
        (index("bulk-tcp"), 1),
        (index("bulk-unix"), 0),
        (index("pingpong-tcp-1"), 1),
        (index("pingpong-tcp-1"), 0),
        (index("pingpong-tcp-1"), 4),
        (index("pingpong-tcp-64"), 0),
        (index("pingpong-tcp-64"), 2),
        (index("pingpong-tcp-64"), 4),
        (index("pingpong-unix-1"), 1),
        (index("pingpong-unix-64"), 0),
        (index("connrate-tcp"), 0),
        (index("connrate-tcp"), 1),
        (index("idle-tcp"), 0),
        (index("idle-tcp"), 3),
    ];
    let headline: Vec<(usize, usize)> = headline
        .into_iter()
        .filter(|(sc, _)| o.scenarios.contains(sc))
        .collect();
    let targets = [
        report::Target {
            label: "bulk-tcp MB/s ≥ 0.9×",
            scenario: index("bulk-tcp"),
            metric: 0,
            bound: 0.9,
            at_least: true,
        },
        report::Target {
            label: "pingpong-tcp-1 p50 ≤ 1.3×",
            scenario: index("pingpong-tcp-1"),
            metric: 1,
            bound: 1.3,
            at_least: false,
        },
        report::Target {
            label: "pingpong-tcp-64 round trips/s ≥ 1.0×",
            scenario: index("pingpong-tcp-64"),
            metric: 0,
            bound: 1.0,
            at_least: true,
        },
        report::Target {
            label: "connrate-tcp conn/s ≥ 0.9×",
            scenario: index("connrate-tcp"),
            metric: 0,
            bound: 0.9,
            at_least: true,
        },
        report::Target {
            label: "idle-tcp: all connections held, RSS KiB/conn ≤ 1.2×",
            scenario: index("idle-tcp"),
            metric: 3,
            bound: 1.2,
            at_least: false,
        },
    ];
    let targets: Vec<report::Target> = targets
        .into_iter()
        .filter(|t| o.scenarios.contains(&t.scenario))
        .collect();
    let report = Report {
        title_notes,
        scenarios: &infos,
        servers: &servers,
        baseline,
        rounds: o.rounds,
        samples: &samples,
        notes,
    };
    let md = report.markdown(&headline, &targets);
    let svg = report.svg(&headline);
    let mut csv = String::from("scenario,server,round,metric,value\n");
    for s in &samples {
        let info = &infos[s.scenario];
        match &s.values {
            Ok(v) => {
                for (m, x) in info.metrics.iter().zip(v) {
                    csv.push_str(&format!(
                        "{},{},{},{},{x}\n",
                        info.name,
                        servers[s.server],
                        s.round + 1,
                        m.name
                    ));
                }
            }
            Err(e) => csv.push_str(&format!(
                "{},{},{},error,\"{}\"\n",
                info.name,
                servers[s.server],
                s.round + 1,
                e.replace('"', "'")
            )),
        }
    }
    println!("\n{md}");
    let out = results_dir();
    let written = std::fs::create_dir_all(&out)
        .and_then(|_| std::fs::write(out.join("results.md"), &md))
        .and_then(|_| std::fs::write(out.join("ratios.svg"), &svg))
        .and_then(|_| std::fs::write(out.join("raw.csv"), &csv));
    match written {
        Ok(()) => eprintln!(
            "wrote {0}/results.md, {0}/ratios.svg and {0}/raw.csv",
            out.display()
        ),
        Err(e) => eprintln!("writing results to {}: {e}", out.display()),
    }
}
