//! The writer thread: drains the write queue with blocking (vectored) writes, then sends FIN if asked.

use crate::error::Error;
use crate::event::{HandleId, IoEvent};
use crate::event_loop::LoopRef;
use crate::sys::Stream as RawSocket;
use crate::write_queue::{Chunk, WriteShared};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::Arc;

/// At most this many bytes go into one vectored write.
const BATCH_BYTES: usize = 256 * 1024;
/// At most this many chunks go into one vectored write.
const BATCH_CHUNKS: usize = 64;

/// Writes queued bytes until the socket closes or FIN is sent.
pub(crate) fn run(stream: Arc<RawSocket>, shared: Arc<WriteShared>, id: HandleId, lref: LoopRef) {
    let mut batch: Vec<Chunk> = Vec::new();
    loop {
        {
            let mut queue = shared.lock();
            loop {
                if queue.closed {
                    return;
                }
                if !queue.chunks.is_empty() {
                    queue.take_batch(BATCH_BYTES, &mut batch);
                    break;
                }
                if queue.ending && !queue.fin_sent && queue.in_flight == 0 {
                    queue.fin_sent = true;
                    drop(queue);
                    // A failed shutdown (ENOTCONN after a reset) still finishes, as in Node.
                    let _ = stream.shutdown(Shutdown::Write);
                    lref.send(id, IoEvent::Finished);
                    return;
                }
                shared.wait(&mut queue);
            }
        }
        let (sent, result) = write_all(&stream, &mut batch);
        let mut queue = shared.lock();
        queue.in_flight -= sent;
        queue.flushed += sent as u64;
        if let Err(e) = result {
            // Bytes the writer held but could not send are no longer buffered.
            let unsent: usize = batch.iter().map(|c| c.data.len() - c.offset).sum();
            queue.in_flight -= unsent;
            queue.failed = true;
            let closed = queue.closed;
            drop(queue);
            shared.notify_room();
            if !closed {
                lref.send(id, IoEvent::WriteFailed(Error::from_io(&e, "write")));
            }
            return;
        }
        let due = queue.complete_requests();
        let notify = due || queue.chunks.is_empty();
        drop(queue);
        shared.notify_room();
        batch.clear();
        if notify {
            lref.send(id, IoEvent::Flushed);
        }
    }
}

/// Writes every chunk of `batch`; returns the bytes sent, and the error that stopped it.
/// On error, `batch` keeps what was not sent.
fn write_all(stream: &RawSocket, batch: &mut Vec<Chunk>) -> (usize, io::Result<()>) {
    let mut sent_total = 0;
    let mut first = 0;
    while first < batch.len() {
        // On the stack: no allocation per system call.
        let mut slices = [IoSlice::new(&[]); BATCH_CHUNKS];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(&batch[first..]) {
            *slot = IoSlice::new(chunk.remaining());
            count += 1;
        }
        let result = crate::sys::send_vectored_blocking(stream, &slices[..count]);
        match result {
            Ok(0) => {
                batch.drain(..first);
                return (sent_total, Err(io::Error::from(io::ErrorKind::WriteZero)));
            }
            Ok(mut n) => {
                sent_total += n;
                while n > 0 {
                    let chunk = &mut batch[first];
                    let left = chunk.data.len() - chunk.offset;
                    if n >= left {
                        n -= left;
                        chunk.offset = chunk.data.len();
                        first += 1;
                    } else {
                        chunk.offset += n;
                        n = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                batch.drain(..first);
                return (sent_total, Err(e));
            }
        }
    }
    (sent_total, Ok(()))
}
