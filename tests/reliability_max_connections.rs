//! How many concurrent connections one nodenet server process holds on default limits (with
//! RLIMIT_NOFILE raised to its hard limit): the server (an echo `pipe`) runs in a child process,
//! the clients are plain std sockets in this process. Every connection must be served (echoed),
//! nothing may abort, and the server's threads, RSS and memory mappings are reported at 10,000.
//!
//! It needs about 24,000 fds (the target shrinks to fit a lower hard RLIMIT_NOFILE) and 12,000
//! threads, and takes about 10 s in a debug build. See the numbers with
//!
//! ```text
//! cargo test --test reliability_max_connections -- --nocapture
//! ```
//!
//! `NODENET_MAX_CONNECTIONS=n` changes the target (12,000), e.g. to probe past vm.max_map_count
//! (65,530 by default: each thread takes 4 mappings, so the server sheds connections, accepting
//! and closing them at once, from about 16,360 on; this test then fails as not all are echoed).
#![cfg(unix)] // needs rlimits, /proc and re-executed children (Unix)

mod reliability_util;
mod util;

use reliability_util as r;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const TARGET: usize = 12_000;
const MEASURE_AT: usize = 10_000;
const STEP: Duration = Duration::from_secs(30);

fn child() {
    r::raise_nofile();
    let server = nodenet::create_server(|c| {
        c.on_error(|_, e| r::say("socket-error", e.code()));
        c.pipe(&c);
    });
    server
        .listen(
            nodenet::ListenOptions::port(0)
                .host("127.0.0.1")
                .backlog(4096),
        )
        .on_listening(|s| {
            r::say("port", util::port_of(s));
        });
    let s = server.clone();
    r::on_commands(move |cmd| match cmd.as_str() {
        "connections" => r::say("connections", s.connections()),
        "close" => {
            s.close();
        }
        _ => panic!("unknown command {cmd:?}"),
    });
    nodenet::run().expect("run() returns Ok");
    r::say("run-returned", "");
}

struct Stats {
    connections: usize,
    threads: usize,
    rss_kib: u64,
    maps: usize,
}

fn stats(child: &mut r::ChildProc) -> Stats {
    child.send("connections");
    let connections = child.expect("connections", STEP).parse().unwrap();
    let pid = child.pid();
    Stats {
        connections,
        threads: r::threads_of(pid),
        rss_kib: r::rss_kib(pid),
        maps: r::maps_of(pid),
    }
}

#[test]
fn one_process_serves_at_least_ten_thousand_concurrent_connections() {
    const NAME: &str = "one_process_serves_at_least_ten_thousand_concurrent_connections";
    if r::is_child(NAME) {
        return child();
    }
    util::with_deadline(Duration::from_secs(600), || {
        let limit = r::raise_nofile() as usize;
        // Both processes have the same hard limit; keep some fds for everything else.
        let wanted = std::env::var("NODENET_MAX_CONNECTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(TARGET);
        let target = wanted.min(limit.saturating_sub(64));
        let mut child = r::ChildProc::spawn(NAME, &[]);
        let pid = child.pid();
        let port: u16 = child.expect("port", STEP).parse().unwrap();
        let base = stats(&mut child);
        eprintln!(
            "baseline: threads {}, RSS {} KiB, maps {}",
            base.threads, base.rss_kib, base.maps
        );

        let started = Instant::now();
        let mut clients = Vec::with_capacity(target);
        let mut at_measure = None;
        let mut failure = None;
        while clients.len() < target {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(c) => clients.push(c),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if clients.len() == MEASURE_AT.min(target) {
                // Wait until the server has accepted all of them (one reader thread each).
                assert!(
                    r::wait_until(STEP, || r::threads_of(pid) >= base.threads + clients.len()),
                    "the server accepted {} of {}",
                    r::threads_of(pid) - base.threads,
                    clients.len()
                );
                at_measure = Some(stats(&mut child));
            }
        }
        let connected_in = started.elapsed();
        if let Some(e) = &failure {
            eprintln!("connect failed after {} clients: {e}", clients.len());
        }

        // Every connection is served: one byte each way.
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(&[(i % 251) as u8]).unwrap();
        }
        let mut not_echoed = Vec::new();
        for (i, c) in clients.iter_mut().enumerate() {
            match r::read_exact_len(c, 1, STEP) {
                Ok(back) if back == [(i % 251) as u8] => {}
                other => not_echoed.push((i, format!("{other:?}"))),
            }
        }
        if let Some((first, outcome)) = not_echoed.first() {
            eprintln!(
                "{} clients not echoed, the first is #{first}: {outcome}",
                not_echoed.len()
            );
        }
        let end = stats(&mut child);
        eprintln!(
            "connected {} clients in {connected_in:?} (target {target}, RLIMIT_NOFILE {limit})",
            clients.len()
        );
        if let Some(m) = &at_measure {
            eprintln!(
                "at {MEASURE_AT}: server connections {}, threads {}, RSS {} KiB ({} KiB/connection above baseline), maps {}",
                m.connections,
                m.threads,
                m.rss_kib,
                (m.rss_kib - base.rss_kib) / MEASURE_AT as u64,
                m.maps
            );
        }
        eprintln!(
            "at {}: server connections {}, threads {}, RSS {} KiB, maps {}",
            clients.len(),
            end.connections,
            end.threads,
            end.rss_kib,
            end.maps
        );
        assert!(failure.is_none(), "every connect succeeded");
        assert!(not_echoed.is_empty(), "every client is echoed");
        assert_eq!(end.connections, target);

        drop(clients);
        child.send("close");
        child.expect("run-returned", STEP);
        child.finish(STEP);
    });
}
