//! The acceptor thread: blocking `accept` until the server closes.

use crate::event::{HandleId, IoEvent};
use crate::event_loop::LoopRef;
use crate::sys::{Listener, errno};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Longest pause after running out of file descriptors or memory.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Accepts connections and sends them to the loop until `closed` is set (and the listener shut down).
///
/// Errors that concern one connection (aborted, reset, interrupted) are skipped. When the process
/// runs out of file descriptors, the acceptor sheds connections instead of spinning or leaving them
/// to time out in the backlog (libuv's trick): it releases a spare descriptor it keeps for this,
/// accepts one connection and closes it at once (the client sees its connection closed), takes the
/// spare back, and goes on. If even that fails, or memory runs out, it pauses with an increasing
/// back-off. It never exits because of them, and a server keeps serving once descriptors free up.
pub(crate) fn run(listener: Arc<Listener>, closed: Arc<AtomicBool>, id: HandleId, lref: LoopRef) {
    let mut backoff = Duration::from_millis(10);
    let mut spare = crate::sys::open_spare();
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                if closed.load(Ordering::Acquire) {
                    break;
                }
                backoff = Duration::from_millis(10);
                lref.send(id, IoEvent::Accepted(stream));
            }
            Err(e) => {
                if closed.load(Ordering::Acquire) {
                    break;
                }
                match e.raw_os_error() {
                    Some(errno::EMFILE | errno::ENFILE) if spare.is_some() => {
                        drop(spare.take());
                        let shed = listener.accept();
                        spare = crate::sys::open_spare();
                        if shed.is_err() || spare.is_none() {
                            std::thread::sleep(backoff);
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                        // The shed connection (if any) is closed here, when `shed` is dropped.
                    }
                    Some(errno::EMFILE | errno::ENFILE | errno::ENOBUFS | errno::ENOMEM) => {
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        if spare.is_none() {
                            spare = crate::sys::open_spare();
                        }
                    }
                    _ if is_transient(&e) => {}
                    _ => {
                        // The listener itself is broken (e.g. EBADF, EINVAL after an outside shutdown).
                        break;
                    }
                }
            }
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::WouldBlock
    ) || matches!(
        e.raw_os_error(),
        Some(
            errno::EPROTO
                | errno::EPERM
                | errno::ENETDOWN
                | errno::EHOSTUNREACH
                | errno::ENETUNREACH
                | errno::EOPNOTSUPP
                | errno::ETIMEDOUT
        )
    )
}
