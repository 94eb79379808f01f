//! Windows: TCP through WinSock with overlapped I/O, local sockets as named pipes, libuv's error table.
#![allow(unsafe_code)] // reason: WinSock and named-pipe calls through windows-sys

mod errors;
mod overlapped;
mod pipe;
mod tcp;

use super::{AcceptFailure, StreamExt};
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

    /// Nothing: a TCP stream here is always non-blocking (its blocking calls are overlapped), and
    /// a pipe's mode is fixed.
    pub(crate) fn set_nonblocking(&self, _nonblocking: bool) -> io::Result<()> {
        Ok(())
    }

    /// `TCP_NODELAY` (nothing for a pipe).
    pub(crate) fn set_tcp_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.socket().set_tcp_nodelay(nodelay),
            Stream::Pipe(_) => Ok(()),
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Tcp(s) => f.debug_tuple("Tcp").field(s.socket()).finish(),
            Stream::Pipe(_) => f.write_str("Pipe"),
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listener::Tcp(_) => f.write_str("TcpListener"),
            Listener::Pipe(_) => f.write_str("PipeListener"),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the reads below only ever write initialised bytes into the buffer.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
        self.read_uninit(buf)
    }
}

impl Stream {
    /// A blocking read into `buf` (which need not be initialised); `Ok(0)` at end of stream.
    fn read_uninit(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
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
    /// Non-blocking mode: `accept` returns `WouldBlock` instead of waiting (a listener shared by
    /// several acceptors). Pipe servers cannot be shared.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => {
                l.set_nonblocking(nonblocking);
                Ok(())
            }
            Listener::Pipe(_) => Err(io::Error::from_raw_os_error(
                windows_sys::Win32::Foundation::ERROR_NOT_SUPPORTED as i32,
            )),
        }
    }

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
pub(crate) fn open_spare_fd() -> Option<std::fs::File> {
    None
}

/// Classifies an `accept` error (WinSock's codes; pipes report Win32 ones).
pub(crate) fn accept_failure(e: &io::Error) -> AcceptFailure {
    use windows_sys::Win32::Foundation as F;
    use windows_sys::Win32::Networking::WinSock as W;
    match e.raw_os_error() {
        Some(W::WSAEMFILE) => AcceptFailure::OutOfFds,
        Some(W::WSAENOBUFS) => AcceptFailure::OutOfMemory,
        Some(c) if c == F::ERROR_NOT_ENOUGH_MEMORY as i32 || c == F::ERROR_OUTOFMEMORY as i32 => {
            AcceptFailure::OutOfMemory
        }
        Some(
            W::WSAECONNRESET
            | W::WSAECONNABORTED
            | W::WSAEINTR
            | W::WSAEWOULDBLOCK
            | W::WSAENETDOWN
            | W::WSAEHOSTUNREACH
            | W::WSAENETUNREACH
            | W::WSAETIMEDOUT,
        ) => AcceptFailure::Transient,
        // A pipe client that came and went.
        Some(c) if c == F::ERROR_NO_DATA as i32 || c == F::ERROR_PIPE_NOT_CONNECTED as i32 => {
            AcceptFailure::Transient
        }
        _ if matches!(
            e.kind(),
            io::ErrorKind::Interrupted
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::WouldBlock
        ) =>
        {
            AcceptFailure::Transient
        }
        _ => AcceptFailure::Fatal,
    }
}

/// Waits until a connection is pending on `listener` (or it was woken), at most `timeout`.
/// Returns whether one is. A pipe server waits in `accept` itself: always `true`.
pub(crate) fn wait_readable(listener: &Listener, timeout: Option<Duration>) -> io::Result<bool> {
    match listener {
        Listener::Tcp(l) => l.wait_readable(timeout),
        Listener::Pipe(_) => Ok(true),
    }
}

/// Wakes one acceptor waiting in [`wait_readable_or_woken`].
#[derive(Debug)]
pub(crate) struct WakeSender(std::sync::Arc<AtomicBool>);

/// The waiting side of a [`WakeSender`].
#[derive(Debug)]
pub(crate) struct WakeReceiver(std::sync::Arc<AtomicBool>);

/// A connected sender and receiver.
pub(crate) fn wake_pair() -> io::Result<(WakeSender, WakeReceiver)> {
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    Ok((WakeSender(flag.clone()), WakeReceiver(flag)))
}

impl WakeSender {
    /// Wakes the receiver (within `SHARED_POLL`).
    pub(crate) fn wake(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// How often an acceptor on a shared listener looks at its wake flag.
const SHARED_POLL: Duration = Duration::from_millis(20);

/// Waits until a connection is pending on `listener` (`Ok(true)`) or `wake` was woken
/// (`Ok(false)`). A shared pipe server is not supported (`bind_local` never shares).
pub(crate) fn wait_readable_or_woken(listener: &Listener, wake: &WakeReceiver) -> io::Result<bool> {
    loop {
        if wake.0.load(Ordering::Acquire) {
            return Ok(false);
        }
        if wait_readable(listener, Some(SHARED_POLL))? {
            return Ok(true);
        }
    }
}

/// A blocking read into the spare capacity of `buf` (which must be empty); the bytes read become
/// its contents.
pub(crate) fn read_into(stream: &Stream, buf: &mut Vec<u8>) -> io::Result<usize> {
    debug_assert!(buf.is_empty());
    let n = stream.read_uninit(buf.spare_capacity_mut())?;
    // SAFETY: the read initialised the first `n` bytes of the spare capacity (n <= capacity).
    unsafe { buf.set_len(n) };
    Ok(n)
}

/// Whether a TCP connection was reset while we hold it: not known on Windows.
pub(crate) fn was_reset(_stream: &Stream) -> bool {
    false
}

/// Aborts a connection: for TCP the peer gets an RST (`SO_LINGER` 0 makes the close send it) and
/// the threads blocked on it wake up; a pipe has no reset, the peer sees an end.
pub(crate) fn reset_connection(stream: &Stream) {
    match stream {
        Stream::Tcp(s) => s.reset(),
        Stream::Pipe(p) => {
            let _ = p.shutdown(Shutdown::Both);
        }
    }
}

/// The error a connection reset by the peer gives (`ECONNRESET`).
pub(crate) fn connection_reset_error() -> io::Error {
    io::Error::from_raw_os_error(windows_sys::Win32::Networking::WinSock::WSAECONNRESET)
}

/// The error of a connect attempt that ran out of time (`ETIMEDOUT`).
pub(crate) fn timed_out_error() -> io::Error {
    io::Error::from_raw_os_error(windows_sys::Win32::Networking::WinSock::WSAETIMEDOUT)
}

/// `SO_REUSEPORT` does not exist on Windows (libuv: `ENOTSUP`).
pub(crate) fn set_reuse_port(_socket: &Socket) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(
        windows_sys::Win32::Foundation::ERROR_NOT_SUPPORTED as i32,
    ))
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

/// Connects `socket` (left non-blocking), giving up soon after `cancel` is set (`Interrupted`),
/// or once `deadline` has passed (`TimedOut`, with no OS error code).
pub(crate) fn connect_cancellable(
    socket: &Socket,
    addr: &SockAddr,
    cancel: &AtomicBool,
    deadline: Option<std::time::Instant>,
) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    let addr = &loopback_if_unspecified(addr);
    if addr.as_socket().is_some_and(|a| a.ip().is_loopback()) {
        fail_fast_on_loopback(socket);
    }
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
        let mut wait = CONNECT_POLL;
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            wait = wait.min(left);
        }
        let mut writable = one_socket(raw);
        let mut failed = one_socket(raw);
        let timeout = TIMEVAL {
            tv_sec: 0,
            tv_usec: wait.as_micros().max(1) as i32,
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

/// `0.0.0.0` and `::` as a destination mean this host on Linux, but fail on Windows
/// (`WSAEADDRNOTAVAIL`): libuv connects to loopback instead (`uv__convert_to_localhost_if_unspecified`).
fn loopback_if_unspecified(addr: &SockAddr) -> SockAddr {
    match addr.as_socket() {
        Some(std::net::SocketAddr::V4(a)) if a.ip().is_unspecified() => SockAddr::from(
            std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, a.port()),
        ),
        Some(std::net::SocketAddr::V6(a)) if a.ip().is_unspecified() => {
            SockAddr::from(std::net::SocketAddrV6::new(
                std::net::Ipv6Addr::LOCALHOST,
                a.port(),
                a.flowinfo(),
                a.scope_id(),
            ))
        }
        _ => addr.clone(),
    }
}

/// Makes a refused connection to this host fail at once: Windows otherwise resends the SYN after
/// the peer's RST for about 2 s (as libuv does; Windows 10 1709 and later, a failure is ignored).
fn fail_fast_on_loopback(socket: &Socket) {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        SIO_TCP_INITIAL_RTO, TCP_INITIAL_RTO_PARAMETERS, WSAIoctl,
    };
    /// `TCP_INITIAL_RTO_UNSPECIFIED_RTT` and `TCP_INITIAL_RTO_NO_SYN_RETRANSMISSIONS` (a `UCHAR`
    /// in mstcpip.h).
    const PARAMETERS: TCP_INITIAL_RTO_PARAMETERS = TCP_INITIAL_RTO_PARAMETERS {
        Rtt: 0xffff,
        MaxSynRetransmissions: 0xfe,
    };
    let parameters = PARAMETERS;
    let mut returned = 0u32;
    // SAFETY: the socket is open; the input is a valid TCP_INITIAL_RTO_PARAMETERS; no output, no
    // OVERLAPPED (a synchronous call).
    unsafe {
        WSAIoctl(
            socket.as_raw_socket() as SOCKET,
            SIO_TCP_INITIAL_RTO,
            (&raw const parameters).cast(),
            std::mem::size_of::<TCP_INITIAL_RTO_PARAMETERS>() as u32,
            std::ptr::null_mut(),
            0,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
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

/// Whether this process runs under Wine (which exports `wine_get_version` from ntdll), where a
/// few calls report differently from Windows.
pub(super) fn running_under_wine() -> bool {
    static UNDER_WINE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *UNDER_WINE.get_or_init(|| {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let ntdll: Vec<u16> = "ntdll.dll\0".encode_utf16().collect();
        // SAFETY: ntdll is always loaded; both names are NUL-terminated.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    })
}
