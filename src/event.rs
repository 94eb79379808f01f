//! `Event` and `HandleId`: the only things I/O threads send to a loop.

use crate::error::Error;
use crate::sys::Stream as RawSocket;
use std::fmt;
use std::net::IpAddr;

/// Identifies a server or socket within the process.
pub(crate) type HandleId = u64;

/// A message to a loop: an I/O thread's report about one handle, or a task to run on the loop.
pub(crate) enum Event {
    /// Something happened to handle `.0`.
    Io(HandleId, IoEvent),
    /// Run this on the loop thread (`LoopHandle::post`, operations called off the loop).
    Task(Box<dyn FnOnce() + Send>),
}

/// What an I/O thread observed.
pub(crate) enum IoEvent {
    /// The acceptor accepted a connection (blocking mode).
    Accepted(RawSocket),
    /// The connector resolved `host` to an address, or failed to.
    Lookup(Result<IpAddr, Error>, String),
    /// The connector started a connect attempt to this address and port.
    Attempt(IpAddr, u16),
    /// A connect attempt failed (others may follow).
    AttemptFailed(IpAddr, u16, Error),
    /// A connect attempt ran out of time (happy eyeballs); the next address is tried.
    AttemptTimedOut(IpAddr, u16),
    /// The connector connected; the same thread now reads.
    Connected(std::sync::Arc<RawSocket>),
    /// The connector gave up.
    ConnectFailed(Error),
    /// The reader read these bytes (counted against the read credit).
    Data(Vec<u8>),
    /// The reader saw end of stream.
    Eof,
    /// The reader failed.
    ReadFailed(Error),
    /// The writer handed bytes to the kernel (see the write queue's counters).
    Flushed,
    /// The writer sent our FIN after the queue drained.
    Finished,
    /// The writer failed.
    WriteFailed(Error),
}

impl fmt::Debug for IoEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoEvent::Accepted(_) => f.write_str("Accepted"),
            IoEvent::Lookup(r, host) => write!(f, "Lookup({r:?}, {host})"),
            IoEvent::Attempt(ip, port) => write!(f, "Attempt({ip}, {port})"),
            IoEvent::AttemptFailed(ip, port, e) => write!(f, "AttemptFailed({ip}, {port}, {e})"),
            IoEvent::AttemptTimedOut(ip, port) => write!(f, "AttemptTimedOut({ip}, {port})"),
            IoEvent::Connected(_) => f.write_str("Connected"),
            IoEvent::ConnectFailed(e) => write!(f, "ConnectFailed({e})"),
            IoEvent::Data(d) => write!(f, "Data({})", d.len()),
            IoEvent::Eof => f.write_str("Eof"),
            IoEvent::ReadFailed(e) => write!(f, "ReadFailed({e})"),
            IoEvent::Flushed => f.write_str("Flushed"),
            IoEvent::Finished => f.write_str("Finished"),
            IoEvent::WriteFailed(e) => write!(f, "WriteFailed({e})"),
        }
    }
}
