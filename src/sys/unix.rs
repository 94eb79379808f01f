//! Unix: errno table, non-blocking send, cancellable connect, unix socket paths.
#![allow(unsafe_code)] // reason: poll(2) and send(2) flags are not exposed by socket2/std

use super::{AcceptFailure, ErrnoEntry, StreamExt};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A connected stream: TCP or unix socket, both plain sockets here.
pub(crate) type Stream = Socket;
/// A listening socket.
pub(crate) type Listener = Socket;

impl StreamExt for Socket {
    fn is_local(&self) -> bool {
        self.local_addr().map(|a| a.is_unix()).unwrap_or(false)
    }

    fn tcp(&self) -> Option<SockRef<'_>> {
        Some(SockRef::from(self))
    }
}

/// The path of a unix socket address.
pub(crate) fn socket_path(addr: &SockAddr) -> Option<String> {
    addr.as_pathname().map(|p| p.to_string_lossy().into_owned())
}

/// A connected socket as a [`Stream`].
#[inline]
pub(crate) fn socket_stream(socket: Socket) -> Stream {
    socket
}

/// A listening socket (TCP, or an adopted unix socket) as a [`Listener`].
#[inline]
pub(crate) fn socket_listener(socket: Socket) -> io::Result<Listener> {
    Ok(socket)
}

/// Sets `SO_REUSEADDR` on a TCP socket about to listen (as libuv does on Unix: rebinding a port
/// in TIME_WAIT).
pub(crate) fn set_reuse_address(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_address(true)
}

/// Node's errno for `ENOTFOUND` (libuv's `UV_EAI_NONAME`).
pub(crate) const EAI_NONAME_ERRNO: i32 = -3008;

macro_rules! errno_table {
    ($raw:expr; $($name:ident => $desc:expr),* $(,)?) => {
        match $raw {
            $(libc::$name => Some(ErrnoEntry { code: stringify!($name), errno: -libc::$name, description: $desc }),)*
            _ => None,
        }
    };
}

/// Node's code, errno and libuv description for an OS error number.
pub(crate) fn errno_entry(raw: i32) -> Option<ErrnoEntry> {
    errno_table! { raw;
        E2BIG => "argument list too long",
        EACCES => "permission denied",
        EADDRINUSE => "address already in use",
        EADDRNOTAVAIL => "address not available",
        EAFNOSUPPORT => "address family not supported",
        EAGAIN => "resource temporarily unavailable",
        EALREADY => "connection already in progress",
        EBADF => "bad file descriptor",
        EBUSY => "resource busy or locked",
        ECANCELED => "operation canceled",
        ECONNABORTED => "software caused connection abort",
        ECONNREFUSED => "connection refused",
        ECONNRESET => "connection reset by peer",
        EEXIST => "file already exists",
        EFAULT => "bad address in system call argument",
        EHOSTUNREACH => "host is unreachable",
        EINTR => "interrupted system call",
        EINVAL => "invalid argument",
        EIO => "i/o error",
        EISCONN => "socket is already connected",
        EISDIR => "illegal operation on a directory",
        ELOOP => "too many symbolic links encountered",
        EMFILE => "too many open files",
        EMSGSIZE => "message too long",
        ENAMETOOLONG => "name too long",
        ENETDOWN => "network is down",
        ENETUNREACH => "network is unreachable",
        ENFILE => "file table overflow",
        ENOBUFS => "no buffer space available",
        ENOENT => "no such file or directory",
        ENOMEM => "not enough memory",
        ENOSPC => "no space left on device",
        ENOTCONN => "socket is not connected",
        ENOTDIR => "not a directory",
        ENOTSOCK => "socket operation on non-socket",
        ENOTSUP => "operation not supported on socket",
        EPERM => "operation not permitted",
        EPIPE => "broken pipe",
        EPROTO => "protocol error",
        EPROTONOSUPPORT => "protocol not supported",
        EPROTOTYPE => "protocol wrong type for socket",
        EROFS => "read-only file system",
        ESHUTDOWN => "cannot send after transport endpoint shutdown",
        ETIMEDOUT => "connection timed out",
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

/// Sends what the kernel takes right now, without blocking and without SIGPIPE.
pub(crate) fn send_now(socket: &Socket, data: &[u8]) -> io::Result<usize> {
    loop {
        match socket.send_with_flags(data, SEND_FLAGS) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Sends vectored with blocking semantics, without SIGPIPE.
pub(crate) fn send_vectored_blocking(
    socket: &Socket,
    data: &[std::io::IoSlice<'_>],
) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = 0;
    socket.send_vectored_with_flags(data, flags)
}

/// How often a pending connect looks at its cancel flag.
const CONNECT_POLL: Duration = Duration::from_millis(20);

/// Connects `socket` (blocking mode on return), giving up soon after `cancel` is set (with
/// `ErrorKind::Interrupted`) or once `deadline` has passed (with `ErrorKind::TimedOut` and no OS
/// error code).
pub(crate) fn connect_cancellable(
    socket: &Socket,
    addr: &SockAddr,
    cancel: &AtomicBool,
    deadline: Option<std::time::Instant>,
) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    let started = match socket.connect(addr) {
        Ok(()) => Ok(()),
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.kind() == io::ErrorKind::WouldBlock =>
        {
            wait_writable(socket, cancel, deadline)
        }
        Err(e) => Err(e),
    };
    started?;
    socket.set_nonblocking(false)?;
    Ok(())
}

fn wait_writable(
    socket: &Socket,
    cancel: &AtomicBool,
    deadline: Option<std::time::Instant>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
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
        let mut pfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid, initialised pollfd for the duration of the call, and we pass a count of 1.
        let n = unsafe { libc::poll(&mut pfd, 1, wait.as_millis().max(1) as libc::c_int) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n > 0 {
            return match socket.take_error()? {
                Some(err) => Err(err),
                None => Ok(()),
            };
        }
    }
}

/// Waits until `socket` is readable (for a listener: a connection is pending, or it was shut
/// down), at most `timeout` (`None`: no limit). Returns whether it became readable.
pub(crate) fn wait_readable(socket: &Socket, timeout: Option<Duration>) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let millis = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int);
    loop {
        let mut pfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid, initialised pollfd for the duration of the call, and we pass a count of 1.
        let n = unsafe { libc::poll(&mut pfd, 1, millis) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Classifies an `accept` error.
pub(crate) fn accept_failure(e: &io::Error) -> AcceptFailure {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE) => AcceptFailure::OutOfFds,
        Some(libc::ENOBUFS | libc::ENOMEM) => AcceptFailure::OutOfMemory,
        Some(
            libc::EPROTO
            | libc::EPERM
            | libc::ENETDOWN
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::EOPNOTSUPP
            | libc::ETIMEDOUT,
        ) => AcceptFailure::Transient,
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

/// A descriptor kept in reserve, released to shed connections when the process runs out of fds.
pub(crate) fn open_spare_fd() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

/// The socket address of a local (unix) socket path; abstract names start with a NUL byte (Linux).
///
/// A path that does not fit `sun_path` fails with `ENAMETOOLONG`.
pub(crate) fn local_path_addr(path: &Path) -> io::Result<SockAddr> {
    SockAddr::unix(path).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidInput {
            io::Error::from_raw_os_error(libc::ENAMETOOLONG)
        } else {
            e
        }
    })
}

/// Connects to the unix socket at `path`, giving up soon after `cancel` is set (`Interrupted`).
pub(crate) fn connect_local(path: &Path, cancel: &AtomicBool) -> io::Result<Stream> {
    let addr = local_path_addr(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    connect_cancellable(&socket, &addr, cancel, None)?;
    Ok(socket)
}

/// Binds and listens on a unix socket path; an existing file is never removed (`EADDRINUSE`).
pub(crate) fn bind_local(path: &Path, backlog: i32) -> io::Result<Listener> {
    let addr = local_path_addr(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&addr).map_err(|e| {
        // libuv reports a missing directory as EACCES (uv_pipe_bind), and so does Node.
        if e.kind() == io::ErrorKind::NotFound {
            missing_directory_error()
        } else {
            e
        }
    })?;
    if let Err(e) = socket.listen(backlog) {
        remove_local_path(path);
        return Err(e);
    }
    Ok(socket)
}

/// Removes the socket file of a local server that we created (abstract names have none).
pub(crate) fn remove_local_path(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    if !path.as_os_str().as_bytes().starts_with(b"\0") {
        let _ = std::fs::remove_file(path);
    }
}

/// Wakes a thread blocked in `accept` on `listener` and makes the kernel refuse new connections.
///
/// On Linux, `shutdown(2)` on a listening socket does both; elsewhere a connection to ourselves
/// wakes the acceptor, which then sees its stop flag.
pub(crate) fn wake_acceptor(listener: &Socket) {
    let _ = listener.shutdown(std::net::Shutdown::Both);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    if let Ok(addr) = listener.local_addr() {
        if let Ok(wake) = Socket::new(addr.domain(), socket2::Type::STREAM, None) {
            let _ = wake.connect_timeout(&addr, Duration::from_millis(100));
        }
    }
}

/// Takes ownership of a socket file descriptor (Node's `listen({ fd })`).
///
/// Fails with `EINVAL` when `fd` is not an open socket, as Node does; the fd is then left alone.
pub(crate) fn adopt_socket_fd(fd: std::os::fd::RawFd) -> io::Result<Socket> {
    use std::os::fd::FromRawFd;
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `kind` and `len` are valid for writes of the sizes given; an invalid fd only yields an error.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut len,
        )
    };
    if rc != 0 || kind != libc::SOCK_STREAM {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `fd` is an open stream socket (checked above); the caller hands its ownership to us.
    Ok(unsafe { Socket::from_raw_fd(fd) })
}

/// The error libuv (and so Node) reports for binding a local socket in a missing directory.
pub(crate) fn missing_directory_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EACCES)
}

/// The error a connection reset by the peer gives (`ECONNRESET`).
pub(crate) fn connection_reset_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ECONNRESET)
}

/// Whether a TCP connection was reset: the kernel has moved it to `CLOSE` (Linux's `TCP_INFO`)
/// while we still hold it. False for other sockets and where this cannot be known.
pub(crate) fn was_reset(socket: &Socket) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        const TCP_CLOSE: u8 = 7;
        // SAFETY: an all-zero tcp_info is a valid value of this plain C struct.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: `info` and `len` are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&raw mut info).cast(),
                &mut len,
            )
        };
        rc == 0 && len > 0 && info.tcpi_state == TCP_CLOSE
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = socket;
        false
    }
}

/// Aborts a TCP connection: the peer gets an RST (`ECONNRESET`), and threads blocked in a read
/// or a send on it wake up with an error. Used by `reset_and_destroy`.
///
/// `SO_LINGER` 0 makes the final close send the RST; disconnecting (`connect` with `AF_UNSPEC`)
/// sends it at once, without waiting for the reader and writer threads to let go of the fd.
pub(crate) fn reset_connection(socket: &Socket) {
    use std::os::fd::AsRawFd;
    let _ = socket.set_linger(Some(Duration::ZERO));
    // SAFETY: an all-zero sockaddr is a valid value of this plain C struct.
    let mut addr: libc::sockaddr = unsafe { std::mem::zeroed() };
    addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    // SAFETY: `addr` is a valid sockaddr of the length given; failure only returns an error.
    let _ = unsafe {
        libc::connect(
            socket.as_raw_fd(),
            &raw const addr,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
}

/// Sets `SO_REUSEPORT` on a listener.
pub(crate) fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    #[cfg(not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin")))]
    {
        socket.set_reuse_port(true)
    }
    #[cfg(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))]
    {
        let _ = socket;
        Err(io::Error::from_raw_os_error(libc::ENOPROTOOPT))
    }
}

/// Reads into the spare capacity of `buf` (which must be empty), without zeroing it first; the
/// bytes read become its contents.
pub(crate) fn read_into(socket: &Socket, buf: &mut Vec<u8>) -> io::Result<usize> {
    debug_assert!(buf.is_empty());
    let n = socket.recv(buf.spare_capacity_mut())?;
    // SAFETY: `recv` initialised the first `n` bytes of the spare capacity (n <= capacity).
    unsafe { buf.set_len(n) };
    Ok(n)
}

/// The error of a connect attempt that ran out of time (`ETIMEDOUT`).
pub(crate) fn timed_out_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ETIMEDOUT)
}

/// Wakes one thread waiting in [`wait_readable_or_woken`] (an acceptor on a listener that other
/// loops share, which cannot be woken by shutting the listener down).
#[derive(Debug)]
pub(crate) struct WakeSender(std::os::unix::net::UnixStream);

/// The waiting side of a [`WakeSender`].
#[derive(Debug)]
pub(crate) struct WakeReceiver(std::os::unix::net::UnixStream);

/// A connected sender and receiver.
pub(crate) fn wake_pair() -> io::Result<(WakeSender, WakeReceiver)> {
    let (tx, rx) = std::os::unix::net::UnixStream::pair()?;
    tx.set_nonblocking(true)?;
    Ok((WakeSender(tx), WakeReceiver(rx)))
}

impl WakeSender {
    /// Wakes the receiver (now, or as soon as it next waits).
    pub(crate) fn wake(&self) {
        use std::io::Write;
        let _ = (&self.0).write(&[1]);
    }
}

/// Waits until `socket` is readable (`Ok(true)`) or `wake` was woken (`Ok(false)`).
pub(crate) fn wait_readable_or_woken(socket: &Socket, wake: &WakeReceiver) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two initialised pollfds for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if fds[1].revents != 0 {
            return Ok(false);
        }
        if fds[0].revents != 0 {
            return Ok(true);
        }
    }
}

/// A one-byte message with room for one descriptor (`SCM_RIGHTS`), for `sendmsg`/`recvmsg`.
struct FdMessage {
    byte: [u8; 1],
    iov: libc::iovec,
    /// u64 words: the control buffer must be aligned for `cmsghdr`.
    control: Vec<u64>,
    msg: libc::msghdr,
}

impl FdMessage {
    const FD_LEN: u32 = std::mem::size_of::<libc::c_int>() as u32;

    /// A message on the heap (its pointers refer to its own fields, which must not move).
    fn new() -> Box<FdMessage> {
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(Self::FD_LEN) } as usize;
        let mut m = Box::new(FdMessage {
            byte: [0],
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 1,
            },
            control: vec![0u64; space.div_ceil(8)],
            // SAFETY: an all-zero msghdr is a valid value of this plain C struct.
            msg: unsafe { std::mem::zeroed() },
        });
        m.iov.iov_base = m.byte.as_mut_ptr().cast();
        m.msg.msg_iov = &raw mut m.iov;
        m.msg.msg_iovlen = 1;
        m.msg.msg_control = m.control.as_mut_ptr().cast();
        m.msg.msg_controllen = space as _;
        m
    }
}

/// Runs `call` until it is not interrupted.
fn retry(mut call: impl FnMut() -> isize) -> io::Result<isize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Sends `fd` over a unix stream socket (`SCM_RIGHTS`), with one data byte.
pub(crate) fn send_fd(
    channel: &std::os::unix::net::UnixStream,
    fd: std::os::fd::BorrowedFd<'_>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let m = FdMessage::new();
    // SAFETY: the control buffer holds one header with one descriptor (CMSG_SPACE), so
    // CMSG_FIRSTHDR is non-null and CMSG_DATA points inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const m.msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(FdMessage::FD_LEN) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = 0;
    // SAFETY: `m.msg` and every buffer it points to are valid for the call.
    retry(|| unsafe { libc::sendmsg(channel.as_raw_fd(), &raw const m.msg, flags) }).map(|_| ())
}

/// Receives a descriptor sent with [`send_fd`] (blocking until one comes).
pub(crate) fn recv_fd(
    channel: &std::os::unix::net::UnixStream,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut m = FdMessage::new();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = libc::MSG_CMSG_CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = 0;
    // SAFETY: `m.msg` and every buffer it points to are valid for the call.
    let n = retry(|| unsafe { libc::recvmsg(channel.as_raw_fd(), &raw mut m.msg, flags) })?;
    if n == 0 {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    // SAFETY: `m.msg` was filled in by recvmsg; the CMSG macros walk its control buffer, and a
    // SCM_RIGHTS header of CMSG_LEN(n * FD_LEN) bytes carries n descriptors that are now ours
    // (n >= 1, checked; they lie within the control buffer the kernel filled).
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const m.msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
            || ((*cmsg).cmsg_len as usize) < libc::CMSG_LEN(FdMessage::FD_LEN) as usize
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no descriptor came with the message",
            ));
        }
        // A peer may have sent more than one (the buffer has room for two on 64-bit Linux):
        // they are ours too, and closed; only the first is handed on.
        let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
        let count =
            ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / FdMessage::FD_LEN as usize;
        let fds: Vec<std::os::fd::OwnedFd> = (0..count)
            .map(|i| std::os::fd::OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))))
            .collect();
        let first = fds.into_iter().next().expect("at least one descriptor");
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            // No MSG_CMSG_CLOEXEC here: keep it from leaking into programs we exec.
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&first),
                libc::F_SETFD,
                libc::FD_CLOEXEC,
            );
        }
        Ok(first)
    }
}
