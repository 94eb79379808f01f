//! The blocking I/O threads: acceptor, connector (which then reads), reader, writer.
//!
//! They hold a stream, a `HandleId`, a `LoopRef` to report to, and (reader, writer) the shared gate or queue.
//! They never touch `Server` or `Socket`.

pub(crate) mod acceptor;
pub(crate) mod connector;
pub(crate) mod reader;
pub(crate) mod writer;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Default stack size of nodenet's I/O threads.
const DEFAULT_STACK_SIZE: usize = 128 * 1024;
/// Threads that may run name resolution (getaddrinfo, user lookups) get more.
const RESOLVER_STACK_SIZE: usize = 256 * 1024;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);

/// Sets the stack size of I/O threads started from now on (clamped to 64 KiB ..= 8 MiB).
///
/// The default is 128 KiB; threads that resolve host names get at least 256 KiB. The setting is
/// process-wide. A custom [`ConnectOptions::lookup`](crate::ConnectOptions::lookup) runs on such
/// a thread: raise the size if it needs a deep stack.
///
/// # Examples
///
/// ```
/// nodenet::set_thread_stack_size(512 * 1024);
/// ```
pub fn set_thread_stack_size(bytes: usize) {
    STACK_SIZE.store(bytes.clamp(64 * 1024, 8 * 1024 * 1024), Ordering::Relaxed);
}

/// Spawns a named I/O thread.
pub(crate) fn spawn(
    name: String,
    resolves: bool,
    f: impl FnOnce() + Send + 'static,
) -> io::Result<thread::JoinHandle<()>> {
    let mut stack = STACK_SIZE.load(Ordering::Relaxed);
    if resolves {
        stack = stack.max(RESOLVER_STACK_SIZE);
    }
    thread::Builder::new().name(name).stack_size(stack).spawn(f)
}
