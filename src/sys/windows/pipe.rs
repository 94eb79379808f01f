//! Named pipes: Node's local sockets on Windows (`\\?\pipe\name`, `\\.\pipe\name`), as libuv
//! implements them (`src/win/pipe.c`): byte-mode duplex pipes with 64 KiB buffers, a server that
//! keeps several instances waiting for clients, clients that wait while every instance is busy.
//!
//! Pipes have no half-close: the peer sees the end of the stream only when our handle closes.
//! As libuv does, after our `end()` a read that sees no data for 50 ms counts as the end of the
//! stream (libuv's `eof_timeout`), which lets the socket close (Node's stream semantics) and the
//! peer see its end. `ERROR_BROKEN_PIPE` and `ERROR_PIPE_NOT_CONNECTED` from a read are the end of
//! the stream; writing after the peer closed fails with `ERROR_NO_DATA` (`EPIPE`).

use super::overlapped::{self, Direction, Event, Kind, Outcome};
use parking_lot::Mutex;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use windows_sys::Wdk::Storage::FileSystem::{
    FILE_PIPE_LOCAL_INFORMATION, FilePipeLocalInformation, NtQueryInformationFile,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_BROKEN_PIPE, ERROR_INVALID_NAME, ERROR_IO_PENDING,
    ERROR_NO_DATA, ERROR_OPERATION_ABORTED, ERROR_PATH_NOT_FOUND, ERROR_PIPE_BUSY,
    ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED, ERROR_SEM_TIMEOUT, GENERIC_READ, GENERIC_WRITE,
    GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0,
};
use windows_sys::Win32::Networking::WinSock::{WSAEACCES, WSAEADDRINUSE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING,
    PIPE_ACCESS_DUPLEX, ReadFile, WRITE_DAC, WriteFile,
};
use windows_sys::Win32::System::IO::{
    CancelIoEx, GetOverlappedResult, IO_STATUS_BLOCK, OVERLAPPED,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT, WaitNamedPipeW,
};
use windows_sys::Win32::System::Threading::{INFINITE, WaitForMultipleObjects};

/// Each direction's pipe buffer (libuv's size).
const BUFFER_SIZE: u32 = 64 * 1024;
/// Pipe instances a server keeps waiting for clients (libuv's default).
const PENDING_INSTANCES: usize = 4;
/// After our `end()`, this long without data from the peer counts as its end (libuv's `eof_timeout`).
const EOF_TIMEOUT: Duration = Duration::from_millis(50);
/// How long a client waits for a busy server to free an instance (libuv's `WaitNamedPipeW` timeout).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting client looks at its cancel flag.
const BUSY_POLL: Duration = Duration::from_millis(20);

/// A pipe name as a NUL-terminated UTF-16 string.
fn wide_name(path: &Path) -> io::Result<Vec<u16>> {
    let mut name: Vec<u16> = path.as_os_str().encode_wide().collect();
    if name.contains(&0) {
        return Err(io::Error::from_raw_os_error(ERROR_INVALID_NAME as i32));
    }
    name.push(0);
    Ok(name)
}

/// An owned pipe handle.
struct Handle(HANDLE);

// SAFETY: pipe handles may be used from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: we own the handle; no operation is in flight on it (their owners are gone).
        unsafe { CloseHandle(self.0) };
    }
}

/// One connected end of a pipe (either side), shared by a reader and a writer thread.
pub(crate) struct PipeStream {
    read: Direction,
    write: Direction,
    /// Our `end()` went out: reads time out into end of stream (see the module doc).
    ended: AtomicBool,
    /// Declared last: closed after everything else.
    handle: Handle,
}

impl PipeStream {
    fn new(handle: HANDLE) -> PipeStream {
        PipeStream {
            read: Direction::new(),
            write: Direction::new(),
            ended: AtomicBool::new(false),
            handle: Handle(handle),
        }
    }

    /// A blocking read into `buf` (which need not be initialised); `Ok(0)` at end of stream.
    pub(super) fn read(&self, buf: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        let handle = self.handle.0;
        let len = buf.len().min(u32::MAX as usize) as u32;
        let ptr = buf.as_mut_ptr().cast::<u8>();
        loop {
            let ended = self.ended.load(Ordering::SeqCst);
            let timeout = ended.then_some(EOF_TIMEOUT);
            // SAFETY: the handle is open while `self` lives; the buffer outlives the call, which
            // waits for the operation to finish.
            let outcome = unsafe {
                self.read.run(handle, Kind::File, timeout, |ov| {
                    if ReadFile(handle, ptr, len, std::ptr::null_mut(), ov) == 0 {
                        GetLastError()
                    } else {
                        0
                    }
                })
            };
            match outcome {
                // libuv starts its eof timer once the peer has read all we wrote (it flushes
                // first): until then, silence does not count.
                Outcome::TimedOut if !self.peer_read_everything() => continue,
                Outcome::TimedOut => return Ok(0),
                Outcome::Done(Ok(n)) => return Ok(n),
                Outcome::Done(Err(e)) => match e.raw_os_error().map(|c| c as u32) {
                    Some(ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED) => return Ok(0),
                    // Interrupted by our `end()` (not cancelled): read again, with the timeout.
                    Some(ERROR_OPERATION_ABORTED) if !self.read.cancelled() => continue,
                    _ => return Err(e),
                },
            }
        }
    }

    /// Whether the peer has read everything we wrote (our outbound buffer is empty); true when
    /// it cannot be told: when the query fails, and under Wine, which always reports no write
    /// quota available (on Windows that means a full buffer, which the peer has not read).
    fn peer_read_everything(&self) -> bool {
        // SAFETY: all-zero is a valid value of these plain C structs.
        let mut info: FILE_PIPE_LOCAL_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut status_block: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is open; `info` and `status_block` are valid for writes of their sizes.
        let status = unsafe {
            NtQueryInformationFile(
                self.handle.0,
                &mut status_block,
                (&raw mut info).cast(),
                std::mem::size_of::<FILE_PIPE_LOCAL_INFORMATION>() as u32,
                FilePipeLocalInformation,
            )
        };
        status != 0
            || (info.WriteQuotaAvailable == 0 && super::running_under_wine())
            || info.WriteQuotaAvailable >= info.OutboundQuota
    }

    /// A blocking write of the first non-empty slice (pipes have no gather write).
    pub(super) fn write_vectored(&self, data: &[IoSlice<'_>]) -> io::Result<usize> {
        let Some(first) = data.iter().find(|s| !s.is_empty()) else {
            return Ok(0);
        };
        let handle = self.handle.0;
        let len = first.len().min(u32::MAX as usize) as u32;
        let ptr = first.as_ptr();
        // SAFETY: as in `read`; the slice outlives the call.
        let outcome = unsafe {
            self.write.run(handle, Kind::File, None, |ov| {
                if WriteFile(handle, ptr, len, std::ptr::null_mut(), ov) == 0 {
                    GetLastError()
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

    /// Pipes have no half-close. `Write` is our `end()` (reads then time out into end of stream,
    /// as in libuv) and wakes a blocked writer; `Read` wakes a blocked reader for good.
    pub(super) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let handle = self.handle.0;
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.ended.store(true, Ordering::SeqCst);
            self.write.cancel(handle);
            // A read in flight goes on with the end-of-stream timeout.
            self.read.interrupt(handle);
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read.cancel(handle);
        }
        Ok(())
    }
}

/// Opens the client end of the pipe `path`, waiting (cancellably) while every instance is busy,
/// as libuv's `uv_pipe_connect` does.
pub(super) fn connect(path: &Path, cancel: &AtomicBool) -> io::Result<PipeStream> {
    let name = wide_name(path)?;
    let started = Instant::now();
    loop {
        // SAFETY: `name` is NUL-terminated; the other arguments are plain flags.
        let handle = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED,
                std::ptr::null_mut(),
            )
        };
        if handle != INVALID_HANDLE_VALUE {
            return Ok(PipeStream::new(handle));
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(ERROR_PIPE_BUSY as i32) {
            return Err(error);
        }
        // Every instance is busy: wait for the server to offer one.
        loop {
            if cancel.load(Ordering::Acquire) {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            if started.elapsed() >= BUSY_TIMEOUT {
                return Err(io::Error::from_raw_os_error(ERROR_SEM_TIMEOUT as i32));
            }
            // SAFETY: `name` is NUL-terminated.
            if unsafe { WaitNamedPipeW(name.as_ptr(), BUSY_POLL.as_millis() as u32) } != 0 {
                break;
            }
            // Any failure but the timeout (the pipe went away, or Wine's ERROR_HANDLES_CLOSED
            // when the last instance closes): open again, which gives the definitive answer
            // (ENOENT for a pipe that is gone). Not at once, lest a wait that keeps failing spins.
            if io::Error::last_os_error().raw_os_error() != Some(ERROR_SEM_TIMEOUT as i32) {
                std::thread::sleep(Duration::from_millis(1));
                break;
            }
        }
    }
}

/// The `CreateNamedPipeW` open mode of a server's instance: only the first one claims the name
/// (`FILE_FLAG_FIRST_PIPE_INSTANCE`), so a second server on the same name fails.
fn open_mode(first: bool) -> u32 {
    let mut mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | WRITE_DAC;
    if first {
        mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    mode
}

/// The error `listen` reports when the first instance cannot be created, as `uv_pipe_bind` maps it:
/// a name in use (`ERROR_ACCESS_DENIED` under `FILE_FLAG_FIRST_PIPE_INSTANCE`) is `EADDRINUSE`,
/// a name that is not a pipe name is `EACCES`.
fn bind_error(raw: u32) -> io::Error {
    let mapped = match raw {
        ERROR_ACCESS_DENIED => WSAEADDRINUSE as u32,
        ERROR_PATH_NOT_FOUND | ERROR_INVALID_NAME => WSAEACCES as u32,
        other => other,
    };
    io::Error::from_raw_os_error(mapped as i32)
}

fn create_instance(name: &[u16], first: bool) -> io::Result<HANDLE> {
    // SAFETY: `name` is NUL-terminated; the other arguments are plain values.
    let handle = unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            open_mode(first),
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
            PIPE_UNLIMITED_INSTANCES,
            BUFFER_SIZE,
            BUFFER_SIZE,
            0,
            std::ptr::null(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        Err(io::Error::last_os_error())
    } else {
        Ok(handle)
    }
}

/// A server instance waiting for a client.
struct Instance {
    handle: HANDLE,
    /// Written by the kernel while `ConnectNamedPipe` is in flight: only used through raw pointers.
    overlapped: Box<std::cell::UnsafeCell<OVERLAPPED>>,
    /// Signalled when `ConnectNamedPipe` completes.
    event: Event,
    /// `ConnectNamedPipe` is in flight.
    pending: bool,
}

impl Instance {
    fn new(handle: HANDLE) -> io::Result<Instance> {
        let event = match Event::new() {
            Ok(event) => event,
            Err(e) => {
                // SAFETY: we own the new instance and nothing else uses it.
                unsafe { CloseHandle(handle) };
                return Err(e);
            }
        };
        Ok(Instance {
            handle,
            // SAFETY: all-zero is the documented initial state of an OVERLAPPED.
            overlapped: Box::new(std::cell::UnsafeCell::new(unsafe { std::mem::zeroed() })),
            event,
            pending: false,
        })
    }

    /// Starts waiting for a client; `Ok(true)` when one is connected already.
    fn start(&mut self) -> io::Result<bool> {
        debug_assert!(!self.pending);
        let ov = self.overlapped.get();
        // SAFETY: the OVERLAPPED is not in use (no operation pending); zeroing it is its initial
        // state.
        unsafe {
            ov.write(std::mem::zeroed());
            (*ov).hEvent = self.event.raw();
        }
        self.event.reset();
        // SAFETY: the handle is ours; the OVERLAPPED is boxed (stable) and outlives the operation
        // (`Drop` cancels and waits for it).
        let ok = unsafe { ConnectNamedPipe(self.handle, ov) };
        if ok != 0 {
            return Ok(true);
        }
        // SAFETY: reads this thread's last error.
        match unsafe { GetLastError() } {
            ERROR_PIPE_CONNECTED => Ok(true),
            ERROR_IO_PENDING => {
                self.pending = true;
                Ok(false)
            }
            other => Err(io::Error::from_raw_os_error(other as i32)),
        }
    }

    /// Collects the result of the `ConnectNamedPipe` that signalled the event.
    fn finish(&mut self) -> io::Result<()> {
        let mut transferred = 0u32;
        // SAFETY: the operation was started on this handle with this OVERLAPPED; it completed.
        let ok =
            unsafe { GetOverlappedResult(self.handle, self.overlapped.get(), &mut transferred, 1) };
        self.pending = false;
        if ok != 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Hands the connected instance over as a stream.
    fn into_stream(mut self) -> PipeStream {
        debug_assert!(!self.pending);
        let handle = std::mem::replace(&mut self.handle, INVALID_HANDLE_VALUE);
        PipeStream::new(handle)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.handle == INVALID_HANDLE_VALUE {
            return;
        }
        if self.pending {
            let mut transferred = 0u32;
            // SAFETY: cancel the pending connect, and wait until the kernel is done with the
            // OVERLAPPED before it is freed.
            unsafe {
                CancelIoEx(self.handle, self.overlapped.get());
                GetOverlappedResult(self.handle, self.overlapped.get(), &mut transferred, 1);
            }
        }
        // SAFETY: we own the handle.
        unsafe { CloseHandle(self.handle) };
    }
}

/// A pipe server: `PENDING_INSTANCES` instances wait for clients at any time.
pub(crate) struct PipeListener {
    name: Vec<u16>,
    instances: Mutex<Vec<Instance>>,
    stop: Event,
    stopped: AtomicBool,
}

// SAFETY: the instances (raw handles and their OVERLAPPEDs) are only touched under the mutex.
unsafe impl Send for PipeListener {}
// SAFETY: as above.
unsafe impl Sync for PipeListener {}

impl PipeListener {
    /// Creates the first instance of the pipe `path`, claiming the name (`listen`).
    pub(super) fn bind(path: &Path) -> io::Result<PipeListener> {
        let name = wide_name(path).map_err(|_| bind_error(ERROR_INVALID_NAME))?;
        let first = create_instance(&name, true).map_err(|e| {
            bind_error(
                e.raw_os_error()
                    .map(|c| c as u32)
                    .unwrap_or(ERROR_INVALID_NAME),
            )
        })?;
        let first = Instance::new(first)?;
        Ok(PipeListener {
            name,
            instances: Mutex::new(vec![first]),
            stop: Event::new()?,
            stopped: AtomicBool::new(false),
        })
    }

    /// Blocks until a client connects (or `wake` is called: `ERROR_OPERATION_ABORTED`).
    pub(super) fn accept(&self) -> io::Result<PipeStream> {
        let mut instances = self.instances.lock();
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return Err(overlapped::aborted());
            }
            // Keep PENDING_INSTANCES instances waiting, so that clients find one while we hand
            // a connection over, and are told "busy" (and wait), never "not found".
            while instances.len() < PENDING_INSTANCES {
                match create_instance(&self.name, false).and_then(Instance::new) {
                    Ok(instance) => instances.push(instance),
                    Err(e) if instances.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            let mut index = 0;
            while index < instances.len() {
                if instances[index].pending {
                    index += 1;
                    continue;
                }
                match instances[index].start() {
                    Ok(true) => return Ok(instances.swap_remove(index).into_stream()),
                    Ok(false) => index += 1,
                    // The client came and went (ERROR_NO_DATA), or the instance broke: replace it.
                    Err(_) => drop(instances.swap_remove(index)),
                }
            }
            // Every instance failed (clients that came and went): make new ones first.
            if instances.is_empty() {
                continue;
            }
            let mut events: Vec<HANDLE> = instances.iter().map(|i| i.event.raw()).collect();
            events.push(self.stop.raw());
            // SAFETY: every handle in `events` is a valid event owned by `self`.
            let waited = unsafe {
                WaitForMultipleObjects(events.len() as u32, events.as_ptr(), 0, INFINITE)
            };
            let index = waited.wrapping_sub(WAIT_OBJECT_0) as usize;
            if index == instances.len() {
                continue; // stopped
            }
            if index > instances.len() {
                return Err(io::Error::last_os_error());
            }
            match instances[index].finish() {
                Ok(()) => return Ok(instances.swap_remove(index).into_stream()),
                Err(e) if e.raw_os_error() == Some(ERROR_NO_DATA as i32) => {
                    drop(instances.swap_remove(index));
                }
                Err(_) => drop(instances.swap_remove(index)),
            }
        }
    }

    /// Makes the blocked (and every later) `accept` return `ERROR_OPERATION_ABORTED`.
    pub(super) fn wake(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.set();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_instance_claims_the_name() {
        assert_ne!(open_mode(true) & FILE_FLAG_FIRST_PIPE_INSTANCE, 0);
        assert_eq!(open_mode(false) & FILE_FLAG_FIRST_PIPE_INSTANCE, 0);
        for first in [true, false] {
            assert_ne!(open_mode(first) & FILE_FLAG_OVERLAPPED, 0);
            assert_eq!(open_mode(first) & PIPE_ACCESS_DUPLEX, PIPE_ACCESS_DUPLEX);
        }
    }

    #[test]
    fn a_name_in_use_is_eaddrinuse_and_a_bad_name_eacces() {
        let code = |raw: u32| {
            let e = bind_error(raw);
            super::super::errno_entry(e.raw_os_error().unwrap())
                .unwrap()
                .code
        };
        assert_eq!(code(ERROR_ACCESS_DENIED), "EADDRINUSE");
        assert_eq!(code(ERROR_PATH_NOT_FOUND), "EACCES");
        assert_eq!(code(ERROR_INVALID_NAME), "EACCES");
        assert_eq!(code(ERROR_PIPE_BUSY), "EBUSY");
    }

    #[test]
    fn a_second_server_on_a_name_fails_where_the_os_enforces_it() {
        // Windows refuses the second first-instance with ERROR_ACCESS_DENIED (EADDRINUSE); Wine
        // ignores FILE_FLAG_FIRST_PIPE_INSTANCE and lets it through.
        let path = format!(r"\\.\pipe\nodenet-unit-{}", std::process::id());
        let first = PipeListener::bind(Path::new(&path)).expect("first server");
        match PipeListener::bind(Path::new(&path)) {
            Err(e) => assert_eq!(e.raw_os_error(), Some(WSAEADDRINUSE)),
            Ok(_) => assert!(
                super::super::running_under_wine(),
                "Windows allowed two servers on one name"
            ),
        }
        drop(first);
    }
}
