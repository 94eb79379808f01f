//! The reader thread: blocking reads, limited by a credit of unconsumed bytes (the read side's backpressure).

use crate::error::Error;
use crate::event::{HandleId, IoEvent};
use crate::event_loop::LoopRef;
use crate::sys::Stream as RawSocket;
use parking_lot::Mutex;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, Thread};

/// The first read buffer; it doubles after every read that fills it, up to `MAX_READ`.
const FIRST_READ: usize = 8 * 1024;
/// Node reads at most 64 KiB at a time.
pub(crate) const MAX_READ: usize = 64 * 1024;

/// Takes reads straight from the reader thread, bypassing the loop (a `pipe` with nothing else
/// listening: see `Socket::forward_piped`).
pub(crate) trait Forwarder: Send + Sync {
    /// Sends `data` on and returns true (leaving `data` either sent, or emptied because its
    /// bytes were moved to a queue); false when it must go through the loop after all.
    fn forward(&self, data: &mut Vec<u8>) -> bool;
}

/// What the loop and the reader share: the read credit and the on/off switches.
pub(crate) struct ReadGate {
    /// Bytes read and not yet consumed by the loop (delivered to `data` listeners).
    pending: AtomicUsize,
    /// Reading was started (not paused at connect, or resumed since).
    reading: AtomicBool,
    /// The socket is destroyed: stop.
    closed: AtomicBool,
    /// The reader reads only while `pending` is below this (Node's readable high-water mark).
    limit: usize,
    thread: Mutex<Option<Thread>>,
    /// Reads may go to `forwarder` instead of the loop (set while a lone pipe is the only consumer).
    forwarding: AtomicBool,
    forwarder: Box<dyn Forwarder>,
}

impl std::fmt::Debug for ReadGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadGate")
            .field("pending", &self.pending)
            .field("reading", &self.reading)
            .field("closed", &self.closed)
            .field("limit", &self.limit)
            .field("forwarding", &self.forwarding)
            .finish_non_exhaustive()
    }
}

impl ReadGate {
    pub(crate) fn new(limit: usize, forwarder: Box<dyn Forwarder>) -> ReadGate {
        ReadGate {
            pending: AtomicUsize::new(0),
            reading: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            limit,
            thread: Mutex::new(None),
            forwarding: AtomicBool::new(false),
            forwarder,
        }
    }

    /// Lets reads bypass the loop through the forwarder (or stops it).
    pub(crate) fn set_forwarding(&self, on: bool) {
        self.forwarding.store(on, Ordering::Release);
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.lock().as_ref() {
            thread.unpark();
        }
    }

    /// Lets the reader read (from now on, credit permitting).
    pub(crate) fn start(&self) {
        if !self.reading.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Whether reading was started (not paused at connect, or resumed since).
    pub(crate) fn started(&self) -> bool {
        self.reading.load(Ordering::Acquire)
    }

    /// Whether the reader is reading (or may read): started, not closed, and below the credit limit.
    pub(crate) fn reading(&self) -> bool {
        self.reading.load(Ordering::Acquire)
            && !self.closed()
            && self.pending.load(Ordering::Acquire) < self.limit
    }

    /// The loop consumed `n` bytes: give the credit back, waking the reader if it was waiting for it.
    pub(crate) fn release(&self, n: usize) {
        let before = self.pending.fetch_sub(n, Ordering::AcqRel);
        if before >= self.limit && before - n < self.limit {
            self.wake();
        }
    }

    /// Stops the reader for good (it is also woken out of a blocking read by the caller's shutdown).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake();
    }

    /// Whether the socket was closed.
    pub(crate) fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Bytes read and not yet consumed.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Blocks until reading is allowed; false when the socket closed.
    fn wait_for_credit(&self) -> bool {
        loop {
            if self.closed() {
                return false;
            }
            if self.reading.load(Ordering::Acquire)
                && self.pending.load(Ordering::Acquire) < self.limit
            {
                return true;
            }
            thread::park();
        }
    }
}

/// Reads until end of stream, an error, or close; reports each read to the loop.
pub(crate) fn run(stream: Arc<RawSocket>, gate: Arc<ReadGate>, id: HandleId, lref: LoopRef) {
    *gate.thread.lock() = Some(thread::current());
    let mut size = FIRST_READ;
    let mut buf = Vec::with_capacity(size);
    while gate.wait_for_credit() {
        match crate::sys::read_into(&stream, &mut buf) {
            Ok(0) => {
                if !gate.closed() {
                    lref.send(id, IoEvent::Eof);
                }
                break;
            }
            Ok(n) => {
                if gate.closed() {
                    break;
                }
                if gate.forwarding.load(Ordering::Acquire) && gate.forwarder.forward(&mut buf) {
                    // Sent at once (the buffer is reused) or moved to a queue (a new one).
                    if n == size && size < MAX_READ {
                        size *= 2;
                    }
                    if buf.capacity() < size {
                        buf = Vec::with_capacity(size);
                    }
                    buf.clear();
                    continue;
                }
                // A read that filled at least half the buffer is handed on as it is (and the
                // next read gets a fresh buffer, larger if this one was filled); a small one is
                // copied out so that the buffer is reused.
                let data = if n * 2 >= buf.capacity() {
                    if n == size && size < MAX_READ {
                        size *= 2;
                    }
                    std::mem::replace(&mut buf, Vec::with_capacity(size))
                } else {
                    let small = buf.clone();
                    buf.clear();
                    small
                };
                gate.pending.fetch_add(data.len(), Ordering::AcqRel);
                lref.send(id, IoEvent::Data(data));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if !gate.closed() {
                    lref.send(id, IoEvent::ReadFailed(Error::from_io(&e, "read")));
                }
                break;
            }
        }
    }
    *gate.thread.lock() = None;
}
