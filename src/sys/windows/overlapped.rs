//! One direction (read or write) of overlapped I/O on a handle, run as a blocking call on the
//! calling thread, and cancellable from any other thread.
//!
//! A pipe or socket is shared by its reader and writer threads: each direction has its own
//! `OVERLAPPED` (so both can be in flight at once, full duplex), and each thread waits on an event
//! of its own (a thread-local one). `cancel` makes the operation in flight, and every later one,
//! fail with `ERROR_OPERATION_ABORTED`.

use parking_lot::Mutex;
use std::cell::{Cell, UnsafeCell};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_IO_INCOMPLETE, ERROR_IO_PENDING, ERROR_OPERATION_ABORTED, HANDLE,
    WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Networking::WinSock::{WSA_IO_PENDING, WSAGetOverlappedResult};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};
use windows_sys::Win32::System::Threading::{
    CreateEventW, INFINITE, ResetEvent, WaitForSingleObject,
};

/// How an operation's result is read: sockets report WinSock codes (`WSAECONNRESET`), files and
/// pipes Win32 codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Socket,
}

/// What a blocking operation ended with.
pub(super) enum Outcome {
    /// Completed: bytes transferred, or the error.
    Done(io::Result<usize>),
    /// The wait timed out with the operation still in flight (it was cancelled; nothing was
    /// transferred).
    TimedOut,
}

/// One direction of I/O on a handle.
pub(super) struct Direction {
    overlapped: Box<UnsafeCell<OVERLAPPED>>,
    /// Serialises operations in this direction (one reader thread, one writer thread).
    busy: Mutex<()>,
    cancelled: AtomicBool,
    /// `interrupt` was called: the operation in flight (or the next one) is cancelled once.
    kicked: AtomicBool,
}

// SAFETY: the OVERLAPPED is written only by the thread holding `busy` (and by the kernel while an
// operation is in flight, which that thread waits for before releasing `busy`); other threads only
// pass its address to CancelIoEx, which does not dereference it.
unsafe impl Send for Direction {}
// SAFETY: as above.
unsafe impl Sync for Direction {}

impl Direction {
    pub(super) fn new() -> Direction {
        Direction {
            // SAFETY: OVERLAPPED is a plain C struct for which all-zero is the documented initial state.
            overlapped: Box::new(UnsafeCell::new(unsafe { std::mem::zeroed() })),
            busy: Mutex::new(()),
            cancelled: AtomicBool::new(false),
            kicked: AtomicBool::new(false),
        }
    }

    /// Whether `cancel` was called.
    pub(super) fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Cancels the operation in flight (if any) and makes every later one fail at once.
    pub(super) fn cancel(&self, handle: HANDLE) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.cancel_in_flight(handle);
    }

    /// Cancels the operation in flight, or the next one if none is: it fails with
    /// `ERROR_OPERATION_ABORTED`, and later ones are not affected.
    pub(super) fn interrupt(&self, handle: HANDLE) {
        self.kicked.store(true, Ordering::SeqCst);
        self.cancel_in_flight(handle);
    }

    fn cancel_in_flight(&self, handle: HANDLE) {
        // SAFETY: `handle` is open (the caller owns it); the OVERLAPPED pointer only identifies
        // the operation and is never dereferenced by CancelIoEx. ERROR_NOT_FOUND (nothing in
        // flight) is fine.
        unsafe { CancelIoEx(handle, self.overlapped.get()) };
    }

    /// Starts an operation with `start` (given the OVERLAPPED to use; it returns the OS error, or
    /// 0 when the call succeeded or is pending) and blocks until it completes, or until `timeout`
    /// (then it is cancelled and `TimedOut` returned if it transferred nothing).
    ///
    /// # Safety
    ///
    /// `handle` must stay open for the call; `start` must start at most one overlapped operation
    /// on `handle` with the given OVERLAPPED, whose buffers stay valid until this returns.
    pub(super) unsafe fn run(
        &self,
        handle: HANDLE,
        kind: Kind,
        timeout: Option<Duration>,
        start: impl FnOnce(*mut OVERLAPPED) -> u32,
    ) -> Outcome {
        let _busy = self.busy.lock();
        if self.cancelled() {
            return Outcome::Done(Err(aborted()));
        }
        let event = match thread_event() {
            Ok(event) => event,
            Err(e) => return Outcome::Done(Err(e)),
        };
        let ov = self.overlapped.get();
        // SAFETY: no operation is in flight on this OVERLAPPED (we hold `busy`, and every
        // operation started below is waited for); the event is this thread's own.
        unsafe {
            ov.write(std::mem::zeroed());
            (*ov).hEvent = event;
            ResetEvent(event);
        }
        let error = start(ov);
        if error != 0 && error != ERROR_IO_PENDING && error != WSA_IO_PENDING as u32 {
            return Outcome::Done(Err(io::Error::from_raw_os_error(error as i32)));
        }
        // A `cancel` or `interrupt` that ran before the operation started could not reach it.
        if self.cancelled() || self.kicked.swap(false, Ordering::SeqCst) {
            self.cancel_in_flight(handle);
        }
        let mut timed_out = false;
        if let Some(timeout) = timeout {
            let millis = timeout.as_millis().min(u128::from(INFINITE - 1)) as u32;
            // SAFETY: `event` is a valid event handle owned by this thread.
            let waited = unsafe { WaitForSingleObject(event, millis) };
            if waited == WAIT_TIMEOUT {
                timed_out = true;
                self.cancel_in_flight(handle);
            } else {
                debug_assert_eq!(waited, WAIT_OBJECT_0);
            }
        }
        // SAFETY: `ov` is the OVERLAPPED of the operation started above; waiting (TRUE) returns
        // only once the kernel is done with it and with the buffers.
        let result = unsafe { finish(handle, kind, ov) };
        if !timed_out
            && matches!(&result, Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32))
        {
            // An `interrupt` that cancelled this operation is used up: it must not cancel the
            // next one too.
            self.kicked.store(false, Ordering::SeqCst);
        }
        match result {
            Err(e) if timed_out && e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => {
                if self.cancelled() {
                    Outcome::Done(Err(e))
                } else {
                    Outcome::TimedOut
                }
            }
            other => Outcome::Done(other),
        }
    }
}

/// Waits for the operation on `ov` and returns its byte count or error.
///
/// # Safety
///
/// `ov` must be the OVERLAPPED of an operation started on `handle`.
unsafe fn finish(handle: HANDLE, kind: Kind, ov: *mut OVERLAPPED) -> io::Result<usize> {
    let mut transferred = 0u32;
    loop {
        // SAFETY: per this function's contract; `transferred` and `flags` are valid for writes.
        let ok = unsafe {
            match kind {
                Kind::File => GetOverlappedResult(handle, ov, &mut transferred, 1),
                Kind::Socket => {
                    let mut flags = 0u32;
                    WSAGetOverlappedResult(handle as usize, ov, &mut transferred, 1, &mut flags)
                }
            }
        };
        if ok != 0 {
            return Ok(transferred as usize);
        }
        let e = io::Error::last_os_error();
        // Not expected with a wait, but never report an operation as done while it is not.
        if e.raw_os_error() == Some(ERROR_IO_INCOMPLETE as i32) {
            continue;
        }
        return Err(e);
    }
}

/// The error of a cancelled operation.
pub(super) fn aborted() -> io::Error {
    io::Error::from_raw_os_error(ERROR_OPERATION_ABORTED as i32)
}

/// This thread's event for overlapped operations (manual reset), created on first use.
fn thread_event() -> io::Result<HANDLE> {
    struct Event(Cell<HANDLE>);
    impl Drop for Event {
        fn drop(&mut self) {
            let handle = self.0.get();
            if !handle.is_null() {
                // SAFETY: the event was created by this thread and is no longer used.
                unsafe { CloseHandle(handle) };
            }
        }
    }
    thread_local! {
        static EVENT: Event = const { Event(Cell::new(std::ptr::null_mut())) };
    }
    EVENT.with(|event| {
        if event.0.get().is_null() {
            // SAFETY: plain event creation (manual reset, initially unsignalled, unnamed).
            let handle = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
            if handle.is_null() {
                return Err(io::Error::last_os_error());
            }
            event.0.set(handle);
        }
        Ok(event.0.get())
    })
}

/// An owned event handle (manual reset).
#[derive(Debug)]
pub(super) struct Event(HANDLE);

// SAFETY: event handles may be used from any thread.
unsafe impl Send for Event {}
// SAFETY: as above.
unsafe impl Sync for Event {}

impl Event {
    pub(super) fn new() -> io::Result<Event> {
        // SAFETY: plain event creation (manual reset, initially unsignalled, unnamed).
        let handle = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        if handle.is_null() {
            Err(io::Error::last_os_error())
        } else {
            Ok(Event(handle))
        }
    }

    pub(super) fn raw(&self) -> HANDLE {
        self.0
    }

    pub(super) fn set(&self) {
        // SAFETY: the handle is a valid event for our lifetime.
        unsafe { windows_sys::Win32::System::Threading::SetEvent(self.0) };
    }

    pub(super) fn reset(&self) {
        // SAFETY: the handle is a valid event for our lifetime.
        unsafe { ResetEvent(self.0) };
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the handle.
        unsafe { CloseHandle(self.0) };
    }
}
