//! The acceptor thread: blocking `accept` until the server closes.

use crate::event::{HandleId, IoEvent};
use crate::event_loop::LoopRef;
use crate::sys::Listener as RawSocket;
use crate::sys::{self, AcceptFailure};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// First and longest pause after running out of memory, or of fds with no spare to shed with.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Accepts connections and sends them to the loop until `closed` is set (and the listener shut down).
///
/// Errors that concern one connection (aborted, reset, interrupted) are skipped. When the process
/// runs out of file descriptors, the acceptor waits (without spinning) until a connection is
/// pending, tries once more, and if descriptors are still short it sheds the pending connections
/// (libuv's trick): it releases a descriptor kept in reserve, accepts and closes every pending
/// connection (the clients see their connection closed), and takes the reserve back. If even that
/// fails, or memory runs out, it pauses with an increasing back-off that closing the server cuts
/// short. It never exits because of them, and a server keeps serving once descriptors free up.
///
/// With `woken` (a listener shared with servers on other loops, in non-blocking mode), it waits
/// for a pending connection or its own wake-up instead of blocking in `accept`, and goes back to
/// waiting when another loop's acceptor took the connection.
pub(crate) fn run(
    listener: Arc<RawSocket>,
    closed: Arc<AtomicBool>,
    id: HandleId,
    lref: LoopRef,
    woken: Option<sys::WakeReceiver>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut spare = sys::open_spare_fd();
    // Set after an EMFILE once a connection is known to be pending: the next EMFILE sheds.
    let mut shed_next = false;
    // Waits for a pending connection; false when this acceptor must stop.
    let wait = |listener: &RawSocket| match &woken {
        Some(woken) => matches!(sys::wait_readable_or_woken(listener, woken), Ok(true)),
        None => sys::wait_readable(listener, None).is_ok(),
    };
    loop {
        if woken.is_some() && (!wait(&listener) || closed.load(Ordering::Acquire)) {
            break;
        }
        let failure = match listener.accept() {
            Ok((stream, _peer)) => {
                if closed.load(Ordering::Acquire) {
                    break;
                }
                // Some platforms pass the listener's non-blocking mode on to accepted sockets
                // (Linux does not: no system call per connection there).
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                if woken.is_some() && stream.set_nonblocking(false).is_err() {
                    continue;
                }
                backoff = MIN_BACKOFF;
                shed_next = false;
                lref.send(id, IoEvent::Accepted(stream));
                continue;
            }
            // Another loop's acceptor took it.
            Err(e) if woken.is_some() && e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => sys::accept_failure(&e),
        };
        if closed.load(Ordering::Acquire) {
            break;
        }
        match failure {
            AcceptFailure::OutOfFds if !shed_next => {
                // Linux fails accept(2) with EMFILE before looking at the queue: wait for a client
                // (or the shutdown that closing the server makes) instead of spinning, then retry
                // in case descriptors were freed meanwhile.
                if !wait(&listener) {
                    break;
                }
                shed_next = true;
            }
            AcceptFailure::OutOfFds => {
                shed_next = false;
                if spare.is_some() && shed_pending(&listener, &mut spare) {
                    backoff = MIN_BACKOFF;
                } else {
                    pause(&mut backoff, &closed);
                    spare = spare.or_else(sys::open_spare_fd);
                }
            }
            AcceptFailure::OutOfMemory => pause(&mut backoff, &closed),
            AcceptFailure::Transient => {}
            AcceptFailure::Fatal => break,
        }
    }
}

/// Releases the spare descriptor, accepts and closes every pending connection, and takes the spare
/// back. Returns whether the spare was taken back.
fn shed_pending(listener: &RawSocket, spare: &mut Option<std::fs::File>) -> bool {
    drop(spare.take());
    let mut shed = 0usize;
    // Only connections already pending: never block here, or the next client would be shed even
    // if descriptors had been freed in the meantime.
    while let Ok(true) = sys::wait_readable(listener, Some(Duration::ZERO)) {
        match listener.accept() {
            // Closed at once: the client sees its connection closed.
            Ok((connection, _peer)) => {
                drop(connection);
                shed += 1;
            }
            Err(_) => break,
        }
    }
    crate::logging::log_event!(
        warn,
        "out of file descriptors: {shed} pending connection(s) closed unserved"
    );
    *spare = sys::open_spare_fd();
    spare.is_some()
}

/// Sleeps for `backoff` (doubling it up to the maximum), returning early once the server closes.
fn pause(backoff: &mut Duration, closed: &AtomicBool) {
    let until = Instant::now() + *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    while !closed.load(Ordering::Acquire) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(MIN_BACKOFF));
    }
}
