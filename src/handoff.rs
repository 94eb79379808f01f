//! Handing sockets to other processes over a unix socket (`SCM_RIGHTS`), as Node's
//! `subprocess.send(message, socket)` does for its cluster.
//!
//! - A connection: [`Socket::send_handle`](crate::Socket::send_handle) on one side (accept with
//!   [`ServerOptions::pause_on_connect`](crate::ServerOptions::pause_on_connect) so that nothing
//!   is read before the hand-off), [`receive`] and
//!   [`SocketOptions::fd`](crate::SocketOptions::fd) on the other.
//! - A listening socket: [`send_listener`] with any bound listener (a `std::net::TcpListener`,
//!   say), [`receive`] and [`ListenOptions::fd`](crate::ListenOptions::fd) on the other side;
//!   both processes may then accept from it.
//!
//! # Examples
//!
//! ```
//! use std::os::fd::IntoRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! // Two ends of a channel (between two processes in real use).
//! let (here, there) = UnixStream::pair().unwrap();
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! nodenet::handoff::send_listener(&here, &listener).unwrap();
//! drop(listener);
//!
//! let fd = nodenet::handoff::receive(&there).unwrap();
//! let server = nodenet::create_server(|socket| { socket.end(); });
//! server.listen(nodenet::ListenOptions::fd(fd.into_raw_fd()));
//! server.on_listening(|server| { server.close(); });
//! nodenet::run().unwrap();
//! ```

use crate::error::Error;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Sends a listening (or any) socket over `channel`; this process keeps its own copy, which it
/// may close.
///
/// # Errors
///
/// The OS error of `sendmsg` (e.g. `EPIPE` when the other end is gone).
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
///
/// let (here, there) = UnixStream::pair().unwrap(); // to a child process in real use
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// nodenet::handoff::send_listener(&here, &listener).unwrap();
/// let received = nodenet::handoff::receive(&there).unwrap(); // the same listening socket
/// # drop(received);
/// ```
pub fn send_listener(channel: &UnixStream, listener: &impl AsFd) -> Result<(), Error> {
    crate::sys::send_fd(channel, listener.as_fd()).map_err(|e| Error::from_io(&e, "sendmsg"))
}

/// Waits for a socket sent over `channel` (by [`send_listener`] or
/// [`Socket::send_handle`](crate::Socket::send_handle)) and returns it.
///
/// # Errors
///
/// The OS error of `recvmsg`; `EOF` when the channel closed first; `EINVAL`-like
/// (`ErrorKind::InvalidData`) when a message came without a descriptor.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
///
/// let (here, there) = UnixStream::pair().unwrap();
/// drop(here); // the sender went away without sending anything
/// assert!(nodenet::handoff::receive(&there).is_err());
/// ```
pub fn receive(channel: &UnixStream) -> Result<OwnedFd, Error> {
    crate::sys::recv_fd(channel).map_err(|e| Error::from_io(&e, "recvmsg"))
}
