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
//! - `errno::{EMFILE, ENFILE, ...}`: the OS error numbers the acceptor tells apart;
//! - `send_now(&Stream, &[u8]) -> io::Result<usize>`: a send that never blocks and never raises SIGPIPE;
//! - `send_vectored_blocking(&Stream, &[IoSlice]) -> io::Result<usize>`: a blocking send;
//! - `connect_cancellable(&socket2::Socket, &SockAddr, &AtomicBool) -> io::Result<()>`: a blocking
//!   TCP connect that gives up (with `ErrorKind::Interrupted`) soon after the flag is set;
//! - `set_reuse_address(&socket2::Socket)`: `SO_REUSEADDR` where it means what Node means by it;
//! - `connect_local(path, &AtomicBool) -> io::Result<Stream>`, `bind_local(path, backlog) -> io::Result<Listener>`
//!   and `remove_local_path(path)`: local sockets (unix sockets, Windows named pipes);
//! - `wake_acceptor(&Listener)`: wakes the thread blocked in `accept`;
//! - `open_spare() -> Option<File>`: the acceptor's spare descriptor for shedding at `EMFILE`.
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
