//! The platform layer. Every platform provides the same names:
//!
//! - `Stream`: a connected stream (TCP, unix socket, named pipe). `&Stream` is `io::Read` (a
//!   blocking read; `Ok(0)` is end of stream), and it has socket2's `shutdown`, `local_addr`,
//!   `peer_addr` and `set_tcp_nodelay`, plus [`StreamExt`]. `shutdown(Read)` also wakes a thread
//!   blocked in a read, and `shutdown(Write)` one blocked in `send_vectored_blocking`;
//! - `Listener`: a listening socket or pipe server, with `accept() -> io::Result<(Stream, _)>`
//!   (blocking);
//! - `socket_stream(socket2::Socket) -> Stream` and `socket_listener(socket2::Socket) -> io::Result<Listener>`:
//!   wrap a connected or listening TCP socket;
//! - `errno_entry(raw) -> Option<ErrnoEntry>`: Node's code, errno and libuv description for an OS error number;
//! - `EAI_NONAME_ERRNO`: Node's errno for `ENOTFOUND`;
//! - `accept_failure(&io::Error) -> AcceptFailure`: what a failed `accept` means for the acceptor;
//!   `open_spare_fd()`: the descriptor kept in reserve for shedding at `EMFILE`;
//! - `wait_readable(&Listener, timeout)`, `wake_pair()`, `WakeSender`, `WakeReceiver` and
//!   `wait_readable_or_woken(&Listener, &WakeReceiver)`: waiting for connections on a listener
//!   shared by several loops' acceptors (non-blocking `accept`);
//! - `read_into(&Stream, &mut Vec<u8>)`: a blocking read into a buffer's spare capacity;
//! - `was_reset(&Stream)`, `reset_connection(&Stream)`, `connection_reset_error()`,
//!   `timed_out_error()`, `set_reuse_port(&socket2::Socket)`;
//! - Unix only: `adopt_socket_fd`, `send_fd`, `recv_fd` (fd passing);
//! - `send_now(&Stream, &[u8]) -> io::Result<usize>`: a send that never blocks and never raises SIGPIPE;
//! - `send_vectored_blocking(&Stream, &[IoSlice]) -> io::Result<usize>`: a blocking send;
//! - `connect_cancellable(&socket2::Socket, &SockAddr, &AtomicBool, deadline) -> io::Result<()>`: a
//!   blocking TCP connect that gives up (with `ErrorKind::Interrupted`) soon after the flag is set,
//!   or (`ErrorKind::TimedOut`) at the deadline;
//! - `set_reuse_address(&socket2::Socket)`: `SO_REUSEADDR` where it means what Node means by it;
//! - `connect_local(path, &AtomicBool) -> io::Result<Stream>`, `bind_local(path, backlog) -> io::Result<Listener>`
//!   and `remove_local_path(path)`: local sockets (unix sockets, Windows named pipes);
//! - `wake_acceptor(&Listener)`: wakes the thread blocked in `accept`;
//!
//! TCP itself comes from socket2 and std.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(unix, windows)))]
compile_error!("nodenet supports Unix and Windows");

/// One row of the errno table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrnoEntry {
    pub(crate) code: &'static str,
    pub(crate) errno: i32,
    pub(crate) description: &'static str,
}

/// What shared code asks of a [`Stream`] beyond socket2's methods.
pub(crate) trait StreamExt {
    /// Whether this is a local stream (unix socket or named pipe), not TCP.
    fn is_local(&self) -> bool;
    /// The TCP socket, for socket options; `None` for local streams.
    fn tcp(&self) -> Option<socket2::SockRef<'_>>;
}

/// What a failed `accept` means for the acceptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AcceptFailure {
    /// The process or system is out of file descriptors (`EMFILE`, `ENFILE`).
    OutOfFds,
    /// The kernel is short of memory or buffers (`ENOBUFS`, `ENOMEM`).
    OutOfMemory,
    /// The failure concerns one connection only (aborted, reset, interrupted, ...).
    Transient,
    /// The listener itself is broken (`EBADF`, `EINVAL` after an outside shutdown, ...).
    Fatal,
}
