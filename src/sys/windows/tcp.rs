//! TCP on Windows: a non-blocking socket (so `send_now` never blocks) whose blocking reads and
//! writes are overlapped operations, cancellable from another thread; and a listener whose
//! blocking `accept` is an overlapped `AcceptEx` that `wake_acceptor` cancels.

use super::overlapped::{Direction, Kind, Outcome};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::windows::io::AsRawSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use windows_sys::Win32::Foundation::{ERROR_OPERATION_ABORTED, HANDLE};
use windows_sys::Win32::Networking::WinSock::{
    LPFN_ACCEPTEX, SIO_GET_EXTENSION_FUNCTION_POINTER, SO_UPDATE_ACCEPT_CONTEXT, SOCKADDR_STORAGE,
    SOCKET, SOCKET_ERROR, SOL_SOCKET, WSA_IO_PENDING, WSABUF, WSAECONNABORTED, WSAGetLastError,
    WSAID_ACCEPTEX, WSAIoctl, WSARecv, WSASend, setsockopt,
};

/// How long `wait_readable` blocks in one `select` (it cannot be woken).
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// A connected TCP socket shared by a reader and a writer thread.
pub(crate) struct TcpStream {
    socket: Socket,
    read: Direction,
    write: Direction,
}

impl TcpStream {
    /// Wraps a connected socket (made non-blocking: blocking calls here are overlapped).
    pub(super) fn new(socket: Socket) -> TcpStream {
        // Fails only for a socket that is not one; every later call then reports the error.
        let _ = socket.set_nonblocking(true);
        TcpStream {
            socket,
            read: Direction::new(),
            write: Direction::new(),
        }
    }

    pub(super) fn socket(&self) -> &Socket {
        &self.socket
    }

    fn raw(&self) -> SOCKET {
        self.socket.as_raw_socket() as SOCKET
    }

    /// A blocking read into `buf` (which need not be initialised); `Ok(0)` at end of stream.
    pub(super) fn read(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        let socket = self.raw();
        let wsabuf = WSABUF {
            len: buf.len().min(u32::MAX as usize) as u32,
            buf: buf.as_mut_ptr().cast(),
        };
        // SAFETY: the socket is open while `self` lives; `wsabuf` and the buffer it points to
        // outlive the call, which waits for the operation to finish.
        let outcome = unsafe {
            self.read.run(socket as HANDLE, Kind::Socket, None, |ov| {
                let mut flags = 0u32;
                let rc = WSARecv(
                    socket,
                    &wsabuf,
                    1,
                    std::ptr::null_mut(),
                    &mut flags,
                    ov,
                    None,
                );
                if rc == SOCKET_ERROR {
                    WSAGetLastError() as u32
                } else {
                    0
                }
            })
        };
        match outcome {
            Outcome::Done(result) => result,
            Outcome::TimedOut => unreachable!("no timeout was given"),
        }
    }

    /// A blocking gather write.
    pub(super) fn write_vectored(&self, data: &[IoSlice<'_>]) -> io::Result<usize> {
        let socket = self.raw();
        // IoSlice is ABI-compatible with WSABUF on Windows (std documents it).
        let bufs = data.as_ptr().cast::<WSABUF>();
        let count = data.len().min(u32::MAX as usize) as u32;
        // SAFETY: as in `read`; the slices outlive the call.
        let outcome = unsafe {
            self.write.run(socket as HANDLE, Kind::Socket, None, |ov| {
                let rc = WSASend(socket, bufs, count, std::ptr::null_mut(), 0, ov, None);
                if rc == SOCKET_ERROR {
                    WSAGetLastError() as u32
                } else {
                    0
                }
            })
        };
        match outcome {
            Outcome::Done(result) => result,
            Outcome::TimedOut => unreachable!("no timeout was given"),
        }
    }

    /// A send that never blocks (the socket is non-blocking).
    pub(super) fn send_now(&self, data: &[u8]) -> io::Result<usize> {
        self.socket.send(data)
    }

    /// Aborts the connection: `SO_LINGER` 0 makes the close send an RST; the blocked threads wake.
    pub(super) fn reset(&self) {
        let _ = self.socket.set_linger(Some(std::time::Duration::ZERO));
        let handle = self.raw() as HANDLE;
        self.read.cancel(handle);
        self.write.cancel(handle);
    }

    /// `shutdown(2)`, which also wakes the thread blocked in that direction.
    pub(super) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let result = self.socket.shutdown(how);
        let handle = self.raw() as HANDLE;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read.cancel(handle);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.write.cancel(handle);
        }
        result
    }
}

/// A listening TCP socket whose `accept` can be woken.
///
/// A blocking `accept` is an overlapped `AcceptEx` (as libuv's), which `wake` cancels. It is
/// not a wait on a `WSAEventSelect(FD_ACCEPT)` event: under Wine that event is sometimes not
/// signalled again for a connection that arrives while an earlier one is being accepted, and the
/// connection then waits in the backlog for ever.
pub(crate) struct TcpListener {
    socket: Socket,
    /// The listener's address family, which an accepted socket must be created with.
    domain: Domain,
    /// `AcceptEx` of the listener's provider.
    accept_ex: AcceptExFn,
    /// The `AcceptEx` in flight.
    accepting: Direction,
    stopped: AtomicBool,
    /// `accept` returns `WouldBlock` instead of waiting (a listener shared by several acceptors).
    nonblocking: AtomicBool,
}

impl TcpListener {
    /// Wraps a listening socket (made non-blocking: a blocking `accept` is overlapped).
    pub(super) fn new(socket: Socket) -> io::Result<TcpListener> {
        let domain = socket.local_addr()?.domain();
        socket.set_nonblocking(true)?;
        let accept_ex = accept_ex_of(&socket)?;
        Ok(TcpListener {
            socket,
            domain,
            accept_ex,
            accepting: Direction::new(),
            stopped: AtomicBool::new(false),
            nonblocking: AtomicBool::new(false),
        })
    }

    pub(super) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::SeqCst);
    }

    /// Waits (`select`) until a connection is pending, at most `timeout`; whether one is.
    pub(super) fn wait_readable(&self, timeout: Option<std::time::Duration>) -> io::Result<bool> {
        use windows_sys::Win32::Networking::WinSock::{FD_SET, TIMEVAL, select};
        let raw = self.socket.as_raw_socket() as SOCKET;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return Ok(false);
            }
            // Never block for long: `wake` cannot interrupt select.
            let wait = match deadline {
                Some(deadline) => deadline
                    .saturating_duration_since(std::time::Instant::now())
                    .min(POLL),
                None => POLL,
            };
            let mut readable = FD_SET {
                fd_count: 1,
                fd_array: [0; 64],
            };
            readable.fd_array[0] = raw;
            let tv = TIMEVAL {
                tv_sec: wait.as_secs() as i32,
                tv_usec: wait.subsec_micros() as i32,
            };
            // SAFETY: the set and the timeout are valid for the call; the first argument is ignored.
            let n = unsafe {
                select(
                    0,
                    &mut readable,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    &tv,
                )
            };
            if n == SOCKET_ERROR {
                return Err(io::Error::last_os_error());
            }
            if n > 0 {
                return Ok(true);
            }
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(false);
            }
        }
    }

    /// Blocks until a connection arrives (or `wake` is called: `ERROR_OPERATION_ABORTED`); in
    /// non-blocking mode, `WouldBlock` when none is pending.
    pub(super) fn accept(&self) -> io::Result<TcpStream> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(super::overlapped::aborted());
        }
        if self.nonblocking.load(Ordering::SeqCst) {
            let (socket, _) = self.socket.accept()?;
            return Ok(TcpStream::new(socket));
        }
        let accepted = Socket::new(self.domain, Type::STREAM, Some(Protocol::TCP))?;
        let listener = self.socket.as_raw_socket() as SOCKET;
        let raw = accepted.as_raw_socket() as SOCKET;
        // AcceptEx writes both addresses, each with 16 bytes of slack, and no data (length 0).
        const ADDRESS_ROOM: u32 = (std::mem::size_of::<SOCKADDR_STORAGE>() + 16) as u32;
        let mut addresses = [0u8; 2 * ADDRESS_ROOM as usize];
        // The error AcceptEx started with (0: it started, or completed at once).
        let mut started = 0u32;
        // SAFETY: both sockets are open for the call; the buffer outlives it (the call waits for
        // the operation to finish, or to be cancelled).
        let outcome = unsafe {
            self.accepting
                .run(listener as HANDLE, Kind::Socket, None, |ov| {
                    let mut received = 0u32;
                    let ok = (self.accept_ex)(
                        listener,
                        raw,
                        addresses.as_mut_ptr().cast(),
                        0,
                        ADDRESS_ROOM,
                        ADDRESS_ROOM,
                        &mut received,
                        ov,
                    );
                    let error = if ok == 0 { WSAGetLastError() as u32 } else { 0 };
                    if error != WSA_IO_PENDING as u32 {
                        started = error;
                    }
                    error
                })
        };
        match outcome {
            Outcome::Done(Ok(_)) => {}
            // Woken, or AcceptEx could not even start: the listener's own failure.
            Outcome::Done(Err(e))
                if started != 0 || e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) =>
            {
                return Err(e);
            }
            // The connection failed (reset, aborted, ...), not the listener (libuv ignores these
            // too): the acceptor goes on.
            Outcome::Done(Err(_)) => return Err(io::Error::from_raw_os_error(WSAECONNABORTED)),
            Outcome::TimedOut => unreachable!("no timeout was given"),
        };
        // Gives the accepted socket its addresses and the listener's options (getpeername,
        // shutdown and the rest need it).
        // SAFETY: both sockets are open; the option value is the listener's SOCKET, as documented.
        let rc = unsafe {
            setsockopt(
                raw,
                SOL_SOCKET,
                SO_UPDATE_ACCEPT_CONTEXT,
                (&listener as *const SOCKET).cast(),
                std::mem::size_of::<SOCKET>() as i32,
            )
        };
        if rc == SOCKET_ERROR {
            // About the accepted socket, not the listener.
            return Err(io::Error::from_raw_os_error(WSAECONNABORTED));
        }
        Ok(TcpStream::new(accepted))
    }

    /// Makes the blocked (and every later) `accept` return `ERROR_OPERATION_ABORTED`.
    pub(super) fn wake(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.accepting
            .cancel(self.socket.as_raw_socket() as SOCKET as HANDLE);
    }
}

/// `AcceptEx`, as the listener's provider implements it.
type AcceptExFn = unsafe extern "system" fn(
    SOCKET,
    SOCKET,
    *mut core::ffi::c_void,
    u32,
    u32,
    u32,
    *mut u32,
    *mut windows_sys::Win32::System::IO::OVERLAPPED,
) -> windows_sys::core::BOOL;

/// Looks `AcceptEx` up for `socket` (`SIO_GET_EXTENSION_FUNCTION_POINTER`), as its documentation
/// and libuv do: the `mswsock` export serves only Microsoft's own provider.
fn accept_ex_of(socket: &Socket) -> io::Result<AcceptExFn> {
    let guid = WSAID_ACCEPTEX;
    let mut function: LPFN_ACCEPTEX = None;
    let mut returned = 0u32;
    // SAFETY: the socket is open; the in and out buffers are valid for their sizes; no OVERLAPPED
    // (a synchronous call).
    let rc = unsafe {
        WSAIoctl(
            socket.as_raw_socket() as SOCKET,
            SIO_GET_EXTENSION_FUNCTION_POINTER,
            (&raw const guid).cast(),
            std::mem::size_of_val(&guid) as u32,
            (&raw mut function).cast(),
            std::mem::size_of::<LPFN_ACCEPTEX>() as u32,
            &mut returned,
            std::ptr::null_mut(),
            None,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(io::Error::last_os_error());
    }
    function.ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))
}
