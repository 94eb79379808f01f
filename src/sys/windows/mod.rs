//! Windows: TCP through WinSock with overlapped I/O, local sockets as named pipes, libuv's error table.
#![allow(unsafe_code)] // reason: WinSock and named-pipe calls through windows-sys

mod errors;
mod overlapped;
mod pipe;
mod tcp;

use super::StreamExt;
use pipe::{PipeListener, PipeStream};
use socket2::{SockAddr, SockRef, Socket};
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tcp::{TcpListener, TcpStream};
use windows_sys::Win32::Networking::WinSock::{
    FD_SET, SOCKET, TIMEVAL, WSAEINPROGRESS, WSAEWOULDBLOCK, select,
};

pub(crate) use errors::errno_entry;

/// Node's errno for `ENOTFOUND` (libuv's `UV_EAI_NONAME`).
pub(crate) const EAI_NONAME_ERRNO: i32 = -3008;

/// The OS error numbers the acceptor tells apart: WinSock's where it has them. `EPROTO` has no
/// Windows counterpart and is given a value no Windows call returns.
pub(crate) mod errno {
    use windows_sys::Win32::Foundation as F;
    use windows_sys::Win32::Networking::WinSock as W;

    pub(crate) const EMFILE: i32 = W::WSAEMFILE;
    pub(crate) const ENFILE: i32 = F::ERROR_TOO_MANY_OPEN_FILES as i32;
    pub(crate) const ENOBUFS: i32 = W::WSAENOBUFS;
    pub(crate) const ENOMEM: i32 = F::ERROR_NOT_ENOUGH_MEMORY as i32;
    pub(crate) const EPROTO: i32 = i32::MIN;
    pub(crate) const EPERM: i32 = W::WSAEACCES;
    pub(crate) const ENETDOWN: i32 = W::WSAENETDOWN;
    pub(crate) const EHOSTUNREACH: i32 = W::WSAEHOSTUNREACH;
    pub(crate) const ENETUNREACH: i32 = W::WSAENETUNREACH;
    pub(crate) const EOPNOTSUPP: i32 = W::WSAEOPNOTSUPP;
    pub(crate) const ETIMEDOUT: i32 = W::WSAETIMEDOUT;
}

/// A connected stream: a TCP socket or one end of a named pipe.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Pipe(PipeStream),
}

impl Stream {
    /// Shuts down one or both directions, waking a thread blocked in it (see the module docs of
    /// `pipe` for what it means for a pipe).
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Pipe(p) => p.shutdown(how),
        }
    }

    /// The local address (TCP only).
    pub(crate) fn local_addr(&self) -> io::Result<SockAddr> {
        match self {
            Stream::Tcp(s) => s.socket().local_addr(),
            Stream::Pipe(_) => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// The peer's address (TCP only).
    pub(crate) fn peer_addr(&self) -> io::Result<SockAddr> {
        match self {
            Stream::Tcp(s) => s.socket().peer_addr(),
            Stream::Pipe(_) => Err(io::Error::from(io::ErrorKind::Unsupported)),
        }
    }

    /// `TCP_NODELAY` (nothing for a pipe).
    pub(crate) fn set_tcp_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.socket().set_tcp_nodelay(nodelay),
            Stream::Pipe(_) => Ok(()),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Pipe(p) => p.read(buf),
        }
    }
}

impl StreamExt for Stream {
    fn is_local(&self) -> bool {
        matches!(self, Stream::Pipe(_))
    }

    fn tcp(&self) -> Option<SockRef<'_>> {
        match self {
            Stream::Tcp(s) => Some(SockRef::from(s.socket())),
            Stream::Pipe(_) => None,
        }
    }
}

/// A listening TCP socket or a named-pipe server.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Pipe(PipeListener),
}

impl Listener {
    /// Blocks until a connection arrives; `ERROR_OPERATION_ABORTED` once `wake_acceptor` ran.
    pub(crate) fn accept(&self) -> io::Result<(Stream, ())> {
        match self {
            Listener::Tcp(l) => l.accept().map(|s| (Stream::Tcp(s), ())),
            Listener::Pipe(l) => l.accept().map(|p| (Stream::Pipe(p), ())),
        }
    }
}

/// The path of a socket address: none on Windows (local sockets are pipes, not sockets).
pub(crate) fn socket_path(_addr: &SockAddr) -> Option<String> {
    None
}

/// A connected TCP socket as a [`Stream`].
pub(crate) fn socket_stream(socket: Socket) -> Stream {
    Stream::Tcp(TcpStream::new(socket))
}

/// A listening TCP socket as a [`Listener`].
pub(crate) fn socket_listener(socket: Socket) -> io::Result<Listener> {
    TcpListener::new(socket).map(Listener::Tcp)
}

/// Nothing: on Windows `SO_REUSEADDR` lets a second socket take over a port in use, and libuv
/// leaves it off for TCP.
pub(crate) fn set_reuse_address(_socket: &Socket) -> io::Result<()> {
    Ok(())
}

/// No spare descriptor: Windows has no per-process descriptor limit to shed connections at.
pub(crate) fn open_spare() -> Option<std::fs::File> {
    None
}

/// Sends what the socket takes right now, without blocking (TCP); a pipe always defers to the
/// writer thread (`WouldBlock`): a pipe write that would block cannot be taken back safely.
pub(crate) fn send_now(stream: &Stream, data: &[u8]) -> io::Result<usize> {
    match stream {
        Stream::Tcp(s) => s.send_now(data),
        Stream::Pipe(_) => Err(io::Error::from(io::ErrorKind::WouldBlock)),
    }
}

/// Sends with blocking semantics (an overlapped write waited for; pipes write the first slice).
pub(crate) fn send_vectored_blocking(stream: &Stream, data: &[IoSlice<'_>]) -> io::Result<usize> {
    match stream {
        Stream::Tcp(s) => s.write_vectored(data),
        Stream::Pipe(p) => p.write_vectored(data),
    }
}

/// How often a pending connect looks at its cancel flag.
const CONNECT_POLL: Duration = Duration::from_millis(20);

/// Connects `socket` (left non-blocking), giving up soon after `cancel` is set (`Interrupted`).
pub(crate) fn connect_cancellable(
    socket: &Socket,
    addr: &SockAddr,
    cancel: &AtomicBool,
) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    match socket.connect(addr) {
        Ok(()) => return Ok(()),
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || e.raw_os_error() == Some(WSAEWOULDBLOCK)
                || e.raw_os_error() == Some(WSAEINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let raw = {
        use std::os::windows::io::AsRawSocket;
        socket.as_raw_socket() as SOCKET
    };
    loop {
        if cancel.load(Ordering::Acquire) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let mut writable = one_socket(raw);
        let mut failed = one_socket(raw);
        let timeout = TIMEVAL {
            tv_sec: 0,
            tv_usec: CONNECT_POLL.as_micros() as i32,
        };
        // SAFETY: the sets and the timeout are valid for the call; the first argument is ignored.
        let n = unsafe {
            select(
                0,
                std::ptr::null_mut(),
                &mut writable,
                &mut failed,
                &timeout,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n > 0 {
            return match socket.take_error()? {
                Some(err) => Err(err),
                None if failed.fd_count > 0 => Err(io::Error::from_raw_os_error(
                    windows_sys::Win32::Networking::WinSock::WSAECONNREFUSED,
                )),
                None => Ok(()),
            };
        }
    }
}

fn one_socket(socket: SOCKET) -> FD_SET {
    let mut set = FD_SET {
        fd_count: 1,
        fd_array: [0; 64],
    };
    set.fd_array[0] = socket;
    set
}

/// Connects to the named pipe `path` (`\\?\pipe\name` or `\\.\pipe\name`), waiting while the
/// server's instances are all busy; gives up soon after `cancel` is set (`Interrupted`).
pub(crate) fn connect_local(path: &Path, cancel: &AtomicBool) -> io::Result<Stream> {
    pipe::connect(path, cancel).map(Stream::Pipe)
}

/// Creates the named-pipe server `path`; the backlog has no meaning for pipes.
pub(crate) fn bind_local(path: &Path, _backlog: i32) -> io::Result<Listener> {
    PipeListener::bind(path).map(Listener::Pipe)
}

/// Nothing: a pipe name disappears with its last handle.
pub(crate) fn remove_local_path(_path: &Path) {}

/// Wakes the thread blocked in `accept` on `listener`; the listener accepts no more.
pub(crate) fn wake_acceptor(listener: &Listener) {
    match listener {
        Listener::Tcp(l) => l.wake(),
        Listener::Pipe(l) => l.wake(),
    }
}
