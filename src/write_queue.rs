//! The per-socket write queue shared with the writer thread: `buffer_size`, progress counters, FIN.

use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;

/// Bytes waiting for the writer; the front chunk may be partly sent (`offset`).
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) data: Vec<u8>,
    pub(crate) offset: usize,
}

impl Chunk {
    pub(crate) fn remaining(&self) -> &[u8] {
        &self.data[self.offset..]
    }
}

/// The queue proper. All counters are in bytes.
#[derive(Debug)]
pub(crate) struct WriteQueue {
    pub(crate) chunks: VecDeque<Chunk>,
    /// Bytes in `chunks` not yet taken by the writer.
    pub(crate) queued: usize,
    /// Bytes the writer has taken and not yet reported as sent.
    pub(crate) in_flight: usize,
    /// Every byte ever accepted by `write()` (Node's `bytesWritten`).
    pub(crate) accepted: u64,
    /// Every byte handed to the kernel.
    pub(crate) flushed: u64,
    /// End of the current write request, as Node groups writes: a write made while nothing is in
    /// flight is one request; the writes queued behind it become the next request when it completes.
    pub(crate) request_end: u64,
    /// End of the last completed request: write callbacks up to here may run.
    pub(crate) completed: u64,
    /// Completed request ends that write callbacks wait for, oldest first (the loop takes them).
    pub(crate) completions: VecDeque<u64>,
    /// The earliest `done_at` of a waiting write callback (`u64::MAX`: none).
    pub(crate) notify_at: u64,
    /// `end()` was called: send FIN once everything is flushed.
    pub(crate) ending: bool,
    /// FIN was sent (by the writer, or inline by the loop).
    pub(crate) fin_sent: bool,
    /// The socket is destroyed: the writer stops.
    pub(crate) closed: bool,
    /// The writer hit an error (reported to the loop as `WriteFailed`): nothing more is sent, and
    /// no FIN either, until the loop destroys the socket with that error.
    pub(crate) failed: bool,
    /// The socket is connected: bytes may be sent.
    pub(crate) connected: bool,
    /// A writer thread exists for this socket.
    pub(crate) writer_started: bool,
    /// A `write()` returned false: emit `drain` when the queue empties.
    pub(crate) need_drain: bool,
}

impl Default for WriteQueue {
    fn default() -> Self {
        WriteQueue {
            chunks: VecDeque::new(),
            queued: 0,
            in_flight: 0,
            accepted: 0,
            flushed: 0,
            request_end: 0,
            completed: 0,
            completions: VecDeque::new(),
            notify_at: u64::MAX,
            ending: false,
            fin_sent: false,
            closed: false,
            failed: false,
            connected: false,
            writer_started: false,
            need_drain: false,
        }
    }
}

impl WriteQueue {
    /// Node's `writableLength`: the bytes of every write whose request has not completed, in
    /// full (a write the kernel took in part still counts whole until its request completes),
    /// plus the writes queued behind it.
    pub(crate) fn buffered(&self) -> usize {
        let unfinished = self.accepted.saturating_sub(self.completed) as usize;
        unfinished.max(self.queued + self.in_flight)
    }

    /// Nothing queued or in flight: the loop may send inline without reordering bytes.
    pub(crate) fn idle(&self) -> bool {
        self.queued == 0 && self.in_flight == 0 && !self.failed
    }

    /// Appends bytes for the writer.
    pub(crate) fn push(&mut self, data: Vec<u8>, offset: usize) {
        let len = data.len() - offset;
        if len == 0 {
            return;
        }
        self.queued += len;
        self.chunks.push_back(Chunk { data, offset });
    }

    /// Takes chunks for one vectored write, up to about `limit` bytes (at least one chunk).
    pub(crate) fn take_batch(&mut self, limit: usize, out: &mut Vec<Chunk>) {
        let mut total = 0;
        while let Some(chunk) = self.chunks.front() {
            let len = chunk.data.len() - chunk.offset;
            if !out.is_empty() && total + len > limit {
                break;
            }
            total += len;
            out.push(self.chunks.pop_front().expect("front exists"));
        }
        self.queued -= total;
        self.in_flight += total;
    }

    /// Starts a request for everything accepted so far, if none is in flight.
    pub(crate) fn start_request(&mut self) {
        if self.request_end <= self.completed && self.accepted > self.completed {
            self.request_end = self.accepted;
        }
    }

    /// Completes the requests `flushed` has reached; each completion starts the next request with
    /// the writes queued by then. Returns whether a waiting callback became due.
    pub(crate) fn complete_requests(&mut self) -> bool {
        let mut due = false;
        while self.flushed >= self.request_end && self.completed < self.request_end {
            self.completed = self.request_end;
            if self.notify_at <= self.completed {
                self.completions.push_back(self.completed);
                due = true;
            }
            if self.accepted > self.request_end {
                self.request_end = self.accepted;
            }
        }
        due
    }
}

/// The queue and the condition variable the writer sleeps on.
#[derive(Debug, Default)]
pub(crate) struct WriteShared {
    queue: Mutex<WriteQueue>,
    wake: Condvar,
    /// Signalled when bytes left the queue, or it closed or failed: for a forwarding reader
    /// thread waiting for room (see `Socket::forward_piped`).
    room: Condvar,
}

impl WriteShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, WriteQueue> {
        self.queue.lock()
    }

    /// Wakes the writer (new bytes, `end()`, or close).
    pub(crate) fn notify(&self) {
        self.wake.notify_one();
    }

    /// Sleeps until notified.
    pub(crate) fn wait(&self, guard: &mut MutexGuard<'_, WriteQueue>) {
        self.wake.wait(guard);
    }

    /// Wakes threads waiting for room in the queue.
    pub(crate) fn notify_room(&self) {
        self.room.notify_all();
    }

    /// Sleeps until there may be room in the queue, at most `timeout`.
    pub(crate) fn wait_for_room(
        &self,
        guard: &mut MutexGuard<'_, WriteQueue>,
        timeout: std::time::Duration,
    ) {
        self.room.wait_for(guard, timeout);
    }
}
