//! Heavy work off the loop: each line a client sends is a number `n`; a fixed pool of worker
//! threads computes the n-th prime and hands the answer back to the loop with
//! `LoopHandle::post`, which writes it to the client. Meanwhile the loop keeps serving everybody
//! else: a small request is not stuck behind a big one. (In Node this is a `worker_threads` pool
//! answering with `worker.postMessage`.)
//!
//! Run it with `cargo run --release --example worker_offload -- [PORT] [THREADS] [HOST]` (default
//! 8124, one thread per core, 127.0.0.1), type numbers into `nc 127.0.0.1 8124`, or from Node:
//! `node -e "const s = require('net').connect(8124, '127.0.0.1'); s.pipe(process.stdout);
//! s.end('100000\n1\n')"`: `prime(1) = 2` comes back first, then `prime(100000) = 1299709`.
//! Answers come in the order they are ready, each naming its request; the server ends a
//! connection once the client has ended its side and every answer was sent.

use nodenet::{Encoding, LoopHandle, ReadyState, ServerOptions, Socket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests above this are refused (they would keep a worker busy for minutes).
const MAX_N: u64 = 5_000_000;

/// One request for the pool: what to compute and whom to answer.
struct Job {
    n: u64,
    client: Socket,
    /// Requests of this client not answered yet (only touched on the loop thread).
    unanswered: Arc<AtomicUsize>,
}

/// The n-th prime (`n >= 1`), by trial division: deliberately slow work.
fn nth_prime(n: u64) -> u64 {
    let mut found = 0;
    let mut candidate = 1;
    while found < n {
        candidate += 1;
        let is_prime = (2..)
            .take_while(|d| d * d <= candidate)
            .all(|d| candidate % d != 0);
        if is_prime {
            found += 1;
        }
    }
    candidate
}

/// Starts `threads` workers taking jobs from one channel; they post each answer to `loop_handle`.
fn start_pool(threads: usize, loop_handle: LoopHandle) -> crossbeam_channel::Sender<Job> {
    let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
    for i in 0..threads {
        let queue = queue.clone();
        let loop_handle = loop_handle.clone();
        std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || {
                for job in queue {
                    // Socket handles work from any thread: skip clients that have gone.
                    if job.client.destroyed() {
                        continue;
                    }
                    let prime = nth_prime(job.n);
                    // Back to the loop thread: like `parentPort.postMessage(result)` arriving in
                    // the main thread's `worker.on('message')`. `post` takes a `Send` closure.
                    loop_handle.post(move || answer(job, prime));
                }
            })
            .expect("starting a worker thread");
    }
    jobs
}

/// Runs on the loop: writes one answer, and ends the connection after the last one if the client
/// has already ended its side.
fn answer(job: Job, prime: u64) {
    job.client.write(format!("prime({}) = {prime}\n", job.n));
    let left = job.unanswered.fetch_sub(1, Ordering::Relaxed) - 1;
    // `WriteOnly`: the peer ended, we have not (Node's readyState 'writeOnly').
    if left == 0 && job.client.ready_state() == ReadyState::WriteOnly {
        job.client.end();
    }
}

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(8124, |p| p.parse().expect("PORT is a number"));
    let threads = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(2, usize::from),
        |t| t.parse().expect("THREADS is a number"),
    );
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());

    let jobs = start_pool(threads, nodenet::current_loop());

    // Half-open: when a client ends its side after its last request, we can still answer.
    let options = ServerOptions::default().allow_half_open(true);
    let server = nodenet::create_server_with(options, move |client| {
        client.set_encoding(Some(Encoding::Utf8));
        let unanswered = Arc::new(AtomicUsize::new(0));
        let mut pending = String::new();
        let (jobs, count) = (jobs.clone(), unanswered.clone());
        client.on_data(move |client, chunk| {
            pending.push_str(chunk.text().unwrap_or_default());
            while let Some(newline) = pending.find('\n') {
                let line: String = pending.drain(..=newline).collect();
                let line = line.trim();
                match line.parse::<u64>() {
                    Ok(n) if (1..=MAX_N).contains(&n) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let job = Job {
                            n,
                            client: client.clone(),
                            unanswered: count.clone(),
                        };
                        jobs.send(job)
                            .expect("the workers run as long as the process");
                    }
                    _ if line.is_empty() => {}
                    _ => {
                        client.write(format!("ERR expected a number from 1 to {MAX_N}: {line}\n"));
                    }
                }
            }
        });
        client.on_end(move |client| {
            if unanswered.load(Ordering::Relaxed) == 0 {
                client.end();
            }
        });
        client.on_error(|_, err| eprintln!("client error: {err}"));
    });
    server.on_listening(move |server| {
        println!(
            "listening on {} with {threads} worker threads",
            server.address().expect("bound")
        );
    });
    server.listen((port, host.as_str()));
    nodenet::run()
}
