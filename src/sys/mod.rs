//! The platform layer. Every platform provides the same names:
//!
//! - `errno_entry(raw) -> Option<ErrnoEntry>`: Node's code, errno and libuv description for an OS error number;
//! - `EAI_NONAME_ERRNO`: Node's errno for `ENOTFOUND`;
//! - `send_now(&Socket, &[u8]) -> io::Result<usize>`: a send that never blocks and never raises SIGPIPE;
//! - `connect_cancellable(&Socket, &SockAddr, &AtomicBool) -> io::Result<()>`: a blocking connect that gives up
//!   (with `ErrorKind::Interrupted`) soon after the flag is set;
//! - `local_path_addr(path) -> io::Result<SockAddr>` and `remove_local_path(path)`: local (unix) socket paths.
//!
//! TCP itself comes from socket2 and std and is not wrapped here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
compile_error!("nodenet supports Unix platforms for now (Windows named pipes are planned)");

/// One row of the errno table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrnoEntry {
    pub(crate) code: &'static str,
    pub(crate) errno: i32,
    pub(crate) description: &'static str,
}
