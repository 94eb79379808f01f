//! `Socket`: Node's `net.Socket` on blocking I/O threads, with events delivered on its loop.

use crate::address::{Address, AddressInfo, Family, ReadyState};
use crate::emitter::Listeners;
use crate::encoding::{Chunk, Decoder, Encoding};
use crate::error::Error;
use crate::event::{HandleId, IoEvent};
use crate::event_loop::{Dispatch, LoopRef, next_handle_id, with_loop};
use crate::io_threads::connector::{ConnectJob, Destination};
use crate::io_threads::reader::{Forwarder, ReadGate};
use crate::io_threads::{self, connector, reader, writer};
use crate::options::{ConnectOptions, ConnectTarget, ServerOptions, SocketOptions};
use crate::server::Server;
use crate::sys::{Stream as RawSocket, StreamExt};
use crate::timers;
use crate::write_data::WriteData;
use crate::write_queue::{WriteQueue, WriteShared};
use parking_lot::{Mutex, MutexGuard};
use socket2::TcpKeepalive;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Node v20's default high-water mark, for both directions.
pub(crate) const DEFAULT_HIGH_WATER_MARK: usize = 16 * 1024;

type WriteCallback = Box<dyn FnOnce(&Socket, Option<&Error>)>;

/// A read gate whose reader forwards to the socket `me`'s lone pipe when it can.
fn new_gate(me: &Weak<Core>, high_water_mark: usize) -> Arc<ReadGate> {
    Arc::new(ReadGate::new(
        high_water_mark,
        Box::new(PipeForwarder(me.clone())),
    ))
}

/// The reader thread's way to a socket's `forward_piped` (weak: the socket owns the gate).
struct PipeForwarder(Weak<Core>);

impl Forwarder for PipeForwarder {
    fn forward(&self, data: &mut Vec<u8>) -> bool {
        match self.0.upgrade() {
            Some(core) => Socket { core }.forward_piped(data),
            None => false,
        }
    }
}

/// A read buffer written to a pipe destination: if the kernel takes every byte at once, the
/// buffer stays with the reader for its next read; only bytes that must wait are moved out.
struct ReusedBuffer<'a>(&'a mut Vec<u8>);

impl WriteData for ReusedBuffer<'_> {
    fn as_bytes(&self) -> &[u8] {
        self.0
    }

    fn into_vec(self) -> Vec<u8> {
        std::mem::take(self.0)
    }
}

/// A write callback waiting for its bytes to reach the kernel.
struct PendingWrite {
    /// The callback runs once `flushed` reaches this byte count.
    done_at: u64,
    callback: Rc<RefCell<Option<WriteCallback>>>,
    /// Made while connecting: a `close` listener added with it fails it if the connect never
    /// completes (Node's `once('close')` in `_writeGeneric`), in that listener's order.
    while_connecting: bool,
    /// The connection (see `State::generation`) the write was made on.
    generation: u64,
}

/// What `teardown` hands to the rest of a destroy.
struct TornDown {
    /// The server whose connection count goes down.
    server: Option<Server>,
    /// Bytes sent or being sent when the socket was destroyed.
    sent_or_in_flight: u64,
    never_connected: bool,
    /// False for a socket that never had a handle (Node then emits `close` with no argument).
    had_handle: bool,
    generation: u64,
}

impl PendingWrite {
    fn take(&self) -> Option<WriteCallback> {
        self.callback.borrow_mut().take()
    }
}
type LookupListener = dyn FnMut(&Socket, Result<(IpAddr, Family), &Error>, &str);
type SimpleListener = dyn FnMut(&Socket);
type AttemptListener = dyn FnMut(&Socket, &str, u16, Family);
type AttemptFailedListener = dyn FnMut(&Socket, &str, u16, Family, &Error);
type DataListener = dyn FnMut(&Socket, &Chunk);
type ErrorListener = dyn FnMut(&Socket, &Error);
type CloseListener = dyn FnMut(&Socket, bool);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// `Socket::new`, never connected.
    Fresh,
    Connecting,
    Open,
    /// Destroyed (may connect again).
    Closed,
}

struct State {
    phase: Phase,
    /// Counts reconnections after a destroy, so that the close of the old connection leaves the
    /// new one alone.
    generation: u64,
    stream: Option<Arc<RawSocket>>,
    is_local: bool,
    gate: Arc<ReadGate>,
    write: Arc<WriteShared>,
    cancel: Arc<AtomicBool>,
    allow_half_open: bool,
    /// Node's `readableFlowing`: None until a consumer appears.
    flowing: Option<bool>,
    eof: bool,
    end_emitted: bool,
    end_called: bool,
    finished: bool,
    destroyed: bool,
    connected_once: bool,
    high_water_mark: usize,
    refd: bool,
    /// Bytes the loop received from the reader (Node's `bytesRead`).
    bytes_read: u64,
    /// The first write made while connecting had a callback: an internal `connect` listener sends
    /// it (Node dispatches that write from a `once('connect')` listener added by `write()`).
    first_write_on_connect: bool,
    /// FIN went out while write callbacks were still to run: `finish` waits for them (Node's
    /// `pendingcb`).
    finish_deferred: bool,
    /// The remote address was read while connected, so it stays readable after close (as v20 caches it).
    remote_cached: bool,
    attached: bool,
    no_delay: Option<bool>,
    keep_alive: Option<(bool, Duration)>,
    timeout: Duration,
    timer: Option<u64>,
    timeout_fired: bool,
    /// `reset_and_destroy()`: the destroy sends an RST instead of closing gracefully.
    reset: bool,
    /// `send_handle()`: another process owns the connection now; the destroy only closes our fd.
    handed_off: bool,
    last_activity: Instant,
    last_progress: u64,
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
    server: Option<Server>,
    /// Pipe destinations; shared so that delivering a chunk clones a pointer, not the list.
    pipes: Arc<Vec<Socket>>,
    /// The lone pipe destination that the reader thread writes to directly (see `forward_piped`).
    fast_pipe: Option<Weak<Core>>,
    drain_waiters: Vec<Socket>,
}

struct Core {
    id: HandleId,
    lref: LoopRef,
    state: Mutex<State>,
}

/// A TCP or local (unix) socket with Node's `net.Socket` events and semantics.
///
/// `Socket` is a cheap handle (`Clone + Send + Sync`, `==` compares identity). Its operations may be
/// called from any thread; its listeners are registered and run on the loop of the thread that
/// created it.
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| {
///     socket.end_with("hello\n");
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::connect((port, "127.0.0.1"));
///     client.set_encoding(Some(nodenet::Encoding::Utf8));
///     let server = server.clone();
///     client.on_data(|_, chunk| assert_eq!(chunk.text(), Some("hello\n")));
///     client.on_close(move |_, had_error| {
///         assert!(!had_error);
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Clone)]
pub struct Socket {
    core: Arc<Core>,
}

/// Loop-side state of a socket: listeners, unconsumed reads, the decoder, write callbacks.
#[derive(Default)]
pub(crate) struct SocketLocal {
    lookup: Listeners<LookupListener>,
    attempt: Listeners<AttemptListener>,
    attempt_failed: Listeners<AttemptFailedListener>,
    attempt_timeout: Listeners<AttemptListener>,
    connect: Listeners<SimpleListener>,
    ready: Listeners<SimpleListener>,
    data: Listeners<DataListener>,
    end: Listeners<SimpleListener>,
    finish: Listeners<SimpleListener>,
    timeout: Listeners<SimpleListener>,
    drain: Listeners<SimpleListener>,
    error: Listeners<ErrorListener>,
    close: Listeners<CloseListener>,
    buffer: RefCell<VecDeque<Vec<u8>>>,
    decoder: RefCell<Option<Decoder>>,
    write_callbacks: RefCell<VecDeque<PendingWrite>>,
}

impl SocketLocal {
    fn clear(&self) {
        self.lookup.clear();
        self.attempt.clear();
        self.attempt_failed.clear();
        self.attempt_timeout.clear();
        self.connect.clear();
        self.ready.clear();
        self.data.clear();
        self.end.clear();
        self.finish.clear();
        self.timeout.clear();
        self.drain.clear();
        self.error.clear();
        self.close.clear();
    }
}

fn new_write_shared() -> Arc<WriteShared> {
    Arc::new(WriteShared::default())
}

impl Socket {
    /// Creates an unconnected socket (Node's `new net.Socket(options)`); call [`Socket::connect`] next.
    ///
    /// The socket belongs to the calling thread's loop. Until it connects it is
    /// [`pending`](Socket::pending), its [`ready_state`](Socket::ready_state) is `Open` (Node's
    /// value) and it does not keep `run()` going. Adding listeners before `connect` is the
    /// usual way to see every event.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Socket, SocketOptions};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("hi\n");
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = Socket::new(SocketOptions::default());
    ///     assert!(client.pending());
    ///     client.on_connect(|client| assert!(!client.pending()));
    ///     client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"hi\n"));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    ///     client.connect((port, "127.0.0.1"));
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn new(options: SocketOptions) -> Socket {
        #[cfg(unix)]
        if let Some(fd) = options.fd {
            return Socket::adopt_fd(fd, options.allow_half_open);
        }
        let lref = with_loop(|lp| lp.loop_ref());
        Socket::build(lref, options.allow_half_open, Phase::Fresh)
    }

    /// `Socket::new` with an fd: an open socket around it, or one that reports why it cannot be.
    #[cfg(unix)]
    fn adopt_fd(fd: std::os::fd::RawFd, allow_half_open: bool) -> Socket {
        let options = ServerOptions::default().allow_half_open(allow_half_open);
        let adopted = crate::sys::adopt_socket_fd(fd)
            .map_err(|_| {
                Error::new(
                    "ERR_INVALID_FD_TYPE",
                    "Unsupported fd type: not a stream socket",
                )
            })
            .and_then(|stream| {
                // The fd may come from an event loop that made it non-blocking; our reader and
                // writer threads block.
                stream
                    .set_nonblocking(false)
                    .map_err(|e| Error::from_io(&e, "open"))?;
                Socket::from_stream(stream, None, &options).ok_or_else(|| {
                    Error::from_io(&io::Error::from(io::ErrorKind::OutOfMemory), "open")
                })
            });
        match adopted {
            Ok(socket) => socket,
            Err(error) => {
                let lref = with_loop(|lp| lp.loop_ref());
                let socket = Socket::build(lref, allow_half_open, Phase::Fresh);
                socket.attach();
                socket.destroy_with(error);
                socket
            }
        }
    }

    /// Sends this connection to another process over `channel` (a unix socket, `SCM_RIGHTS`),
    /// then lets go of it here: the connection itself stays open, now owned by the process that
    /// takes it with [`handoff::receive`](crate::handoff::receive) and
    /// [`SocketOptions::fd`]. This socket emits `close(false)`.
    ///
    /// Nothing may have been read here, so that no byte is lost: accept with
    /// [`ServerOptions::pause_on_connect`] (or connect and hand off before resuming), and write
    /// nothing that is still queued.
    ///
    /// # Errors
    ///
    /// `ERR_INVALID_STATE` when the socket is not connected, was destroyed, has started reading
    /// or has writes pending; the OS error (syscall `sendmsg`) when sending fails. The socket is
    /// left as it was in both cases.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::IntoRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use nodenet::{ServerOptions, Socket, SocketOptions};
    ///
    /// let (here, there) = UnixStream::pair().unwrap(); // to another process in real use
    /// let options = ServerOptions::default().pause_on_connect(true); // read nothing here
    /// let server = nodenet::create_server_with(options, move |socket| {
    ///     socket.send_handle(&here).unwrap();
    ///     // The receiving side (the same process here, for the example):
    ///     let fd = nodenet::handoff::receive(&there).unwrap();
    ///     let adopted = Socket::new(SocketOptions::default().fd(fd.into_raw_fd()));
    ///     adopted.end_with("served by the receiver\n");
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"served by the receiver\n"));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    #[cfg(unix)]
    pub fn send_handle(&self, channel: &std::os::unix::net::UnixStream) -> Result<(), Error> {
        use std::os::fd::AsFd;
        let stream = {
            let st = self.lock();
            let idle = {
                let queue = st.write.lock();
                queue.idle() && queue.chunks.is_empty() && !queue.ending
            };
            match &st.stream {
                Some(stream)
                    if st.phase == Phase::Open
                        && !st.destroyed
                        && !st.gate.started()
                        && st.gate.pending() == 0
                        && idle =>
                {
                    Arc::clone(stream)
                }
                _ => {
                    return Err(Error::new(
                        "ERR_INVALID_STATE",
                        "Invalid state: only a connected socket that has read nothing and has no \
                         pending writes can be handed off",
                    ));
                }
            }
        };
        crate::sys::send_fd(channel, stream.as_fd()).map_err(|e| Error::from_io(&e, "sendmsg"))?;
        self.lock().handed_off = true;
        self.destroy_inner(None);
        Ok(())
    }

    fn build(lref: LoopRef, allow_half_open: bool, phase: Phase) -> Socket {
        let core = Arc::new_cyclic(|me: &Weak<Core>| Core {
            id: next_handle_id(),
            lref,
            state: Mutex::new(Socket::initial_state(
                allow_half_open,
                phase,
                new_gate(me, DEFAULT_HIGH_WATER_MARK),
            )),
        });
        Socket { core }
    }

    fn initial_state(allow_half_open: bool, phase: Phase, gate: Arc<ReadGate>) -> State {
        State {
            phase,
            generation: 0,
            stream: None,
            is_local: false,
            gate,
            write: new_write_shared(),
            cancel: Arc::new(AtomicBool::new(false)),
            allow_half_open,
            flowing: None,
            eof: false,
            end_emitted: false,
            end_called: false,
            finished: false,
            destroyed: false,
            connected_once: false,
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            refd: true,
            bytes_read: 0,
            first_write_on_connect: false,
            finish_deferred: false,
            remote_cached: false,
            attached: false,
            no_delay: None,
            keep_alive: None,
            timeout: Duration::ZERO,
            timer: None,
            timeout_fired: false,
            reset: false,
            handed_off: false,
            last_activity: Instant::now(),
            last_progress: 0,
            remote: None,
            local: None,
            server: None,
            pipes: Arc::new(Vec::new()),
            fast_pipe: None,
            drain_waiters: Vec::new(),
        }
    }

    /// A socket for a connection the server's acceptor accepted (on the loop thread), with its
    /// reader thread started; `None` when no thread could be started (the connection is closed).
    pub(crate) fn accepted(
        stream: RawSocket,
        server: &Server,
        options: &ServerOptions,
    ) -> Option<Socket> {
        Socket::from_stream(stream, Some(server), options)
    }

    /// An open socket around a connected stream (accepted, or adopted with an fd), with its
    /// reader thread started; `None` when no thread could be started (the stream is closed).
    fn from_stream(
        stream: RawSocket,
        server: Option<&Server>,
        options: &ServerOptions,
    ) -> Option<Socket> {
        let lref = with_loop(|lp| lp.loop_ref());
        let socket = Socket::build(lref, options.allow_half_open, Phase::Open);
        let stream = Arc::new(stream);
        let gate;
        {
            let mut st = socket.lock();
            if let Some(high_water_mark) = options.high_water_mark {
                st.high_water_mark = high_water_mark;
                st.gate = new_gate(&Arc::downgrade(&socket.core), high_water_mark);
            }
            st.is_local = stream.is_local();
            if !st.is_local {
                // As Node's onconnection: only turned on, and remembered like the setters.
                if options.no_delay {
                    st.no_delay = Some(true);
                    let _ = stream.set_tcp_nodelay(true);
                }
                if options.keep_alive {
                    let delay = options.keep_alive_initial_delay;
                    st.keep_alive = Some((true, delay));
                    apply_keep_alive(&stream, true, delay);
                }
            }
            st.remote = stream.peer_addr().ok().and_then(|a| a.as_socket());
            st.local = stream.local_addr().ok().and_then(|a| a.as_socket());
            st.stream = Some(Arc::clone(&stream));
            st.server = server.cloned();
            st.connected_once = true;
            if options.pause_on_connect {
                st.flowing = Some(false);
            } else {
                st.gate.start();
            }
            st.write.lock().connected = true;
            gate = Arc::clone(&st.gate);
        }
        // The reader's first events reach the loop only after this listener returns, by which
        // time the socket is registered.
        let (id, lref) = (socket.core.id, socket.core.lref.clone());
        let spawned = io_threads::spawn(format!("nodenet-read-{id}"), false, move || {
            reader::run(stream, gate, id, lref)
        });
        if spawned.is_err() {
            let mut st = socket.lock();
            st.destroyed = true;
            st.server = None;
            st.stream = None;
            return None;
        }
        socket.attach();
        Some(socket)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.core.state.lock()
    }

    fn local(&self) -> Rc<SocketLocal> {
        self.core
            .lref
            .assert_current("registering a socket listener");
        self.local_state()
    }

    /// The loop-side state, created on first use; a closed socket gets a throwaway one, so that
    /// listeners added after `close` are dropped instead of accumulating in the loop.
    fn local_state(&self) -> Rc<SocketLocal> {
        let closed = {
            let st = self.lock();
            st.destroyed && !st.attached
        };
        if closed {
            return self
                .existing_local()
                .unwrap_or_else(|| Rc::new(SocketLocal::default()));
        }
        with_loop(|lp| lp.local::<SocketLocal>(self.core.id))
    }

    fn existing_local(&self) -> Option<Rc<SocketLocal>> {
        with_loop(|lp| lp.existing_local::<SocketLocal>(self.core.id))
    }

    /// Runs `f` on the loop thread as a next tick (or through the channel from another thread).
    fn tick(&self, f: impl FnOnce(&Socket) + Send + 'static) {
        let socket = self.clone();
        self.core.lref.schedule(move || f(&socket));
    }

    /// Runs `f` on the loop thread, now if we are on it.
    fn on_loop(&self, f: impl FnOnce(&Socket) + Send + 'static) {
        let socket = self.clone();
        self.core.lref.run_on_loop(move || f(&socket));
    }

    /// Registers with the loop and takes a ref (on the loop thread, in order with I/O events).
    fn attach(&self) {
        self.on_loop(|s| {
            let mut st = s.lock();
            if !st.attached {
                st.attached = true;
                let handle: Rc<dyn Dispatch> = Rc::new(s.clone());
                with_loop(|lp| lp.register(s.core.id, handle));
            }
        });
    }

    /// Records read or write activity for the idle timer, re-arming it if it already fired.
    fn touch(&self, st: &mut State) {
        st.last_activity = Instant::now();
        if std::mem::take(&mut st.timeout_fired) {
            self.tick(|s| s.arm_timer());
        }
    }

    // ----- connecting -----------------------------------------------------------------------

    /// Connects to a port (and host) or a local path (Node's `socket.connect`).
    ///
    /// `target` is a port (on `localhost`), a `(port, host)` pair, a local socket path, or a
    /// [`ConnectOptions`]. Events: `lookup` (once per address, for host names),
    /// `connectionAttempt`, then `connect` and `ready`; or `error` and `close(true)`. The connect
    /// starts on the next turn of the loop, so listeners added right after this call see every
    /// event. Writes and `end()` made while connecting are queued and done once connected.
    ///
    /// A socket that has closed may connect again (its listeners are kept only if it reconnects
    /// from its `close` listener, as in Node). Calling `connect` on a socket that is connecting or
    /// connected does nothing (Node v20 fails the socket with `EISCONN` instead).
    ///
    /// # Errors
    ///
    /// As `error` events: `ERR_MISSING_ARGS` (neither port nor path), `ERR_INVALID_ARG_VALUE` (bad
    /// family), `ERR_INVALID_IP_ADDRESS` (bad local address), `ENOTFOUND` (syscall `getaddrinfo`),
    /// `ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`, ... (syscall `connect`), `EADDRINUSE` (syscall `bind`),
    /// `EAGAIN` when no thread can be started. When happy eyeballs tried several addresses and
    /// all failed, Node's aggregate error (see [`Error::errors`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Socket, SocketOptions};
    ///
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = Socket::new(SocketOptions::default());
    /// client.connect((port, "127.0.0.1")); // nothing listens there
    /// assert!(client.connecting());
    /// client.on_error(move |_, err| {
    ///     assert_eq!(err.to_string(), format!("connect ECONNREFUSED 127.0.0.1:{port}"));
    /// });
    /// client.on_close(|_, had_error| assert!(had_error));
    /// nodenet::run().unwrap();
    /// ```
    pub fn connect(&self, target: impl Into<ConnectOptions>) -> &Self {
        let options = target.into();
        let invalid = options.validate().err();
        let job = {
            let mut st = self.lock();
            if matches!(st.phase, Phase::Connecting | Phase::Open) && !st.destroyed {
                return self;
            }
            if st.phase == Phase::Closed {
                self.reset_for_reconnect(&mut st);
            }
            st.phase = Phase::Connecting;
            if let Some(allow) = options.allow_half_open {
                st.allow_half_open = allow;
            }
            if let Some(timeout) = options.timeout {
                st.timeout = timeout;
            }
            st.last_activity = Instant::now();
            st.is_local = matches!(options.target, ConnectTarget::Path(_));
            let destination = match (&options.target, &invalid) {
                (_, Some(_)) | (ConnectTarget::Missing, _) => None,
                (ConnectTarget::Path(path), None) => Some(Destination::Path(path.clone())),
                (ConnectTarget::Port(port), None) => Some(Destination::Tcp {
                    host: options.host.clone(),
                    port: *port,
                    family: options.family,
                    lookup: options.lookup.clone(),
                    local_address: options.local_address.as_ref().and_then(|a| a.parse().ok()),
                    local_port: options.local_port,
                    auto_select_family: options.auto_select_family,
                    attempt_timeout: options.attempt_timeout,
                }),
            };
            destination.map(|destination| ConnectJob {
                id: self.core.id,
                lref: self.core.lref.clone(),
                destination,
                gate: Arc::clone(&st.gate),
                cancel: Arc::clone(&st.cancel),
            })
        };
        self.attach();
        if options.timeout.is_some() {
            self.on_loop(|s| s.arm_timer());
        }
        match job {
            // As in Node, the connect starts on the next tick: code right after `connect()` (or
            // the rest of the current listener) runs first.
            Some(job) => self.tick(move |s| s.start_connector(job)),
            None => {
                let error = invalid.unwrap_or_else(|| {
                    Error::new(
                        "ERR_MISSING_ARGS",
                        "The \"options\" or \"port\" or \"path\" argument must be specified",
                    )
                });
                self.destroy_inner(Some(error));
            }
        }
        self
    }

    fn start_connector(&self, job: ConnectJob) {
        if self.lock().destroyed || job.cancel.load(Ordering::Acquire) {
            return;
        }
        let resolves = matches!(&job.destination, Destination::Tcp { host, .. } if crate::ip::is_ip(host) == 0);
        let name = format!("nodenet-read-{}", self.core.id);
        if let Err(e) = io_threads::spawn(name, resolves, move || connector::run(job)) {
            self.destroy_inner(Some(Error::from_io(&e, "connect")));
        }
    }

    fn reset_for_reconnect(&self, st: &mut State) {
        st.generation += 1;
        st.gate = new_gate(&Arc::downgrade(&self.core), st.high_water_mark);
        st.fast_pipe = None;
        st.write = new_write_shared();
        st.cancel = Arc::new(AtomicBool::new(false));
        // `flowing` survives, as in Node's `_undestroy`: a data listener keeps receiving.
        st.bytes_read = 0;
        st.first_write_on_connect = false;
        st.remote_cached = false;
        st.eof = false;
        st.end_emitted = false;
        st.end_called = false;
        st.finished = false;
        st.destroyed = false;
        st.attached = false;
        st.remote = None;
        st.local = None;
        st.timeout_fired = false;
    }

    fn handle_connected(&self, stream: Arc<RawSocket>) {
        let (start_reading, ending) = {
            let mut st = self.lock();
            if st.destroyed || st.phase != Phase::Connecting {
                return;
            }
            st.phase = Phase::Open;
            st.connected_once = true;
            st.remote = stream.peer_addr().ok().and_then(|a| a.as_socket());
            st.local = stream.local_addr().ok().and_then(|a| a.as_socket());
            if !st.is_local {
                if let Some(no_delay) = st.no_delay {
                    let _ = stream.set_tcp_nodelay(no_delay);
                }
                if let Some((enable, delay)) = st.keep_alive {
                    apply_keep_alive(&stream, enable, delay);
                }
            }
            st.stream = Some(stream);
            self.touch(&mut st);
            let first_write_on_connect = st.first_write_on_connect;
            let mut queue = st.write.lock();
            queue.connected = true;
            if !first_write_on_connect {
                queue.start_request();
            }
            let ending = queue.ending;
            drop(queue);
            (st.flowing != Some(false), ending)
        };
        crate::logging::log_event!(
            debug,
            "socket {} connected to {}:{}",
            self.core.id,
            self.remote_address().unwrap_or_default(),
            self.remote_port().unwrap_or_default()
        );
        self.emit_simple(|l| &l.connect);
        self.emit_simple(|l| &l.ready);
        if start_reading {
            self.lock().gate.start();
        }
        let pending = {
            let st = self.lock();
            let queue = st.write.lock();
            !queue.chunks.is_empty()
        };
        if pending {
            self.ensure_writer();
        } else if ending {
            self.finish_if_idle();
        }
    }

    /// Sends the first write made while connecting, from inside the `connect` emission (Node sends
    /// it from a `once('connect')` listener that `write()` added). When the kernel takes it whole,
    /// the writes queued behind it go out at once too (Node's clearBuffer); then, as Node's
    /// afterWrite does, `drain` (if that emptied the queue) and the first write's callback run right
    /// here, and the later writes' callbacks on the next tick.
    fn send_first_write(&self, first_end: u64) {
        let (shared, stream) = {
            let st = self.lock();
            if st.destroyed || st.phase != Phase::Open {
                return;
            }
            (Arc::clone(&st.write), st.stream.clone())
        };
        let Some(stream) = stream else { return };
        let mut queue = shared.lock();
        if queue.closed || queue.request_end > queue.completed {
            return;
        }
        queue.request_end = first_end;
        if let Err(e) = send_queued_now(&stream, &mut queue, first_end) {
            drop(queue);
            self.destroy_inner(Some(self.attribute_reset(Error::from_io(&e, "write"))));
            return;
        }
        queue.complete_requests();
        if queue.completed < first_end {
            return; // the rest goes through the writer thread, started after `connect`
        }
        let accepted = queue.accepted;
        if let Err(e) = send_queued_now(&stream, &mut queue, accepted) {
            drop(queue);
            self.destroy_inner(Some(self.attribute_reset(Error::from_io(&e, "write"))));
            return;
        }
        queue.complete_requests();
        let completions: Vec<u64> = queue.completions.drain(..).collect();
        let drained = queue.need_drain && queue.buffered() == 0;
        if drained {
            queue.need_drain = false;
        }
        drop(queue);
        if drained {
            let waiters = std::mem::take(&mut self.lock().drain_waiters);
            self.emit_simple(|l| &l.drain);
            for source in waiters {
                source.resume();
            }
        }
        let mut completions = completions.into_iter();
        if let Some(first) = completions.next() {
            self.run_write_callbacks(&shared, first);
        }
        for done in completions {
            let shared = Arc::clone(&shared);
            self.tick(move |s| s.run_write_callbacks(&shared, done));
        }
    }

    // ----- reading ----------------------------------------------------------------------------

    fn handle_data(&self, bytes: Vec<u8>) {
        let flowing = {
            let mut st = self.lock();
            if st.destroyed {
                return;
            }
            st.bytes_read += bytes.len() as u64;
            self.touch(&mut st);
            st.flowing == Some(true)
        };
        let local = with_loop(|lp| lp.local::<SocketLocal>(self.core.id));
        if flowing && local.buffer.borrow().is_empty() {
            self.deliver(&local, bytes);
        } else {
            local.buffer.borrow_mut().push_back(bytes);
        }
    }

    /// Hands one read to the `data` listeners and the pipes, and gives its credit back.
    fn deliver(&self, local: &SocketLocal, bytes: Vec<u8>) {
        let (gate, pipes) = {
            let st = self.lock();
            (Arc::clone(&st.gate), Arc::clone(&st.pipes))
        };
        // The credit goes back only once the chunk went to the pipes: with none outstanding, the
        // reader thread may forward its next read straight to a pipe destination, which must
        // come after this one.
        let len = bytes.len();
        let text = local.decoder.borrow_mut().as_mut().map(|d| d.write(&bytes));
        if text.as_deref() == Some("") {
            gate.release(len);
            return;
        }
        let chunk = Chunk::new(bytes, text);
        local.data.emit(|f| f(self, &chunk));
        self.forward(&pipes, chunk);
        gate.release(len);
    }

    /// Writes a delivered chunk to every pipe destination (moving the buffer into the last one).
    fn forward(&self, pipes: &[Socket], chunk: Chunk) {
        if let Some((last, others)) = pipes.split_last() {
            let bytes = chunk.into_forwarded();
            for destination in others {
                self.pipe_write(destination, &bytes[..]);
            }
            self.pipe_write(last, bytes);
        }
    }

    fn pipe_write(&self, destination: &Socket, bytes: impl WriteData) {
        if !destination.write(bytes) {
            self.pipe_paused_by(destination);
        }
    }

    /// Delivers buffered reads while flowing; then `end` if the peer ended.
    fn flush_buffer(&self) {
        let Some(local) = self.existing_local() else {
            self.maybe_emit_end(None);
            return;
        };
        loop {
            let flowing = {
                let st = self.lock();
                st.flowing == Some(true) && !st.destroyed
            };
            if !flowing {
                return;
            }
            let next = local.buffer.borrow_mut().pop_front();
            match next {
                Some(bytes) => self.deliver(&local, bytes),
                None => break,
            }
        }
        self.maybe_emit_end(Some(&local));
    }

    fn handle_eof(&self) {
        {
            let mut st = self.lock();
            if st.destroyed {
                return;
            }
            st.eof = true;
            self.touch(&mut st);
            // The writer thread sent our FIN and the peer answered before the writer's report
            // arrived: our side is finished, as Node would have seen first.
            let fin_sent = st.write.lock().fin_sent;
            if fin_sent && !st.finished {
                drop(st);
                self.handle_finished();
            }
        }
        let local = self.existing_local();
        self.maybe_emit_end(local.as_deref());
    }

    /// Whether writes are under way (or the writer failed): a reset then belongs to the write side.
    fn writing(st: &State) -> bool {
        let queue = st.write.lock();
        queue.failed || queue.in_flight > 0 || !queue.chunks.is_empty()
    }

    /// A peer's reset wakes the reader and the writer thread at once; the kernel gives the
    /// `ECONNRESET` to whichever asks first, and the other sees end-of-stream (reader) or `EPIPE`
    /// (writer). Node, with one thread, reports `write ECONNRESET` when writes are pending and
    /// `read ECONNRESET` otherwise; this puts the reset on the side Node would.
    fn attribute_reset(&self, error: Error) -> Error {
        let st = self.lock();
        let reset = match error.syscall() {
            Some("read") => error.code() == "ECONNRESET" && Self::writing(&st),
            Some("write") => {
                error.code() == "EPIPE"
                    && !st.eof
                    && st.stream.as_deref().is_some_and(crate::sys::was_reset)
            }
            _ => false,
        };
        if reset {
            Error::from_io(&crate::sys::connection_reset_error(), "write")
        } else {
            error
        }
    }

    /// End-of-stream from the reader after the writer took the reset's `ECONNRESET` (see
    /// `attribute_reset`): the writer's error reports it, and no `end` comes.
    fn reset_reported_by_writer(&self) -> bool {
        let st = self.lock();
        !st.destroyed
            && Self::writing(&st)
            && st.stream.as_deref().is_some_and(crate::sys::was_reset)
    }

    fn maybe_emit_end(&self, local: Option<&SocketLocal>) {
        {
            let mut st = self.lock();
            if !st.eof || st.end_emitted || st.destroyed {
                return;
            }
            if local.is_some_and(|l| !l.buffer.borrow().is_empty()) {
                return;
            }
            st.end_emitted = true;
        }
        let (pipes, allow_half_open) = {
            let st = self.lock();
            (Arc::clone(&st.pipes), st.allow_half_open)
        };
        if let Some(local) = local {
            let rest = local.decoder.borrow_mut().as_mut().map(|d| d.end());
            if let Some(rest) = rest.filter(|r| !r.is_empty()) {
                let chunk = Chunk::new(Vec::new(), Some(rest));
                local.data.emit(|f| f(self, &chunk));
                self.forward(&pipes, chunk);
            }
            local.end.emit(|f| f(self));
        }
        for destination in pipes.iter() {
            destination.end();
        }
        if !allow_half_open {
            self.tick(|s| {
                s.end();
            });
        }
        self.maybe_destroy();
    }

    /// Both halves are done: destroy, as Node's autoDestroy does.
    fn maybe_destroy(&self) {
        let done = {
            let st = self.lock();
            st.end_emitted && st.finished && !st.destroyed
        };
        if done {
            self.destroy_inner(None);
        }
    }

    // ----- writing ----------------------------------------------------------------------------

    /// Queues bytes for sending; returns false when at least the high-water mark (16 KiB) is still
    /// buffered afterwards, so the caller should wait for `drain` (Node's rule).
    ///
    /// Bytes the kernel takes at once do not count. After `end()` or `destroy()` it returns false
    /// (see [`Socket::write_with`] for the errors). Owned `Vec<u8>`/`String` are queued without a copy.
    ///
    /// It never blocks: what the kernel does not take at once is queued (unbounded, as in Node)
    /// and sent by the socket's writer thread, in order. Writes made while connecting are sent
    /// once connected. Respecting the return value (waiting for `drain`) keeps the queue small.
    ///
    /// # Errors
    ///
    /// Failures are not returned: they destroy the socket, with an `error` event (then
    /// `close(true)`) carrying `ERR_STREAM_WRITE_AFTER_END` after `end()`, `EPIPE` after the peer
    /// ended an auto-ended socket, or the system error (`EPIPE`, `ECONNRESET`, syscall `write`).
    /// After `destroy()`, the bytes are dropped without an event.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     let sent = std::rc::Rc::new(std::cell::Cell::new(0));
    ///     let pump = move |client: &nodenet::Socket| {
    ///         while sent.get() < 64 {
    ///             sent.set(sent.get() + 1);
    ///             if !client.write(vec![b'x'; 16 * 1024]) {
    ///                 return; // 16 KiB or more queued: continue on `drain`
    ///             }
    ///         }
    ///         client.end();
    ///     };
    ///     client.on_connect(pump.clone()).on_drain(pump).resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn write(&self, data: impl WriteData) -> bool {
        self.write_inner(data, None)
    }

    /// Like [`Socket::write`], with a callback that runs on the loop once the bytes reached the kernel
    /// (`None`), or failed (`Some(error)`).
    ///
    /// # Errors
    ///
    /// The callback gets `ERR_STREAM_WRITE_AFTER_END` after `end()` (also emitted as `error`, then
    /// `close(true)`), `EPIPE` "This socket has been ended by the other party" after the peer ended an
    /// auto-ended socket, `ERR_STREAM_DESTROYED` after `destroy()` (no `error` event),
    /// `ERR_SOCKET_CLOSED_BEFORE_CONNECTION` when the socket closed while connecting, or the write's
    /// system error (`EPIPE`, `ECONNRESET`, syscall `write`).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (the callback is not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.write_with("ping\n", |client, err| {
    ///         assert!(err.is_none()); // handed to the kernel
    ///         client.end();
    ///         client.write_with("too late", |_, err| {
    ///             assert_eq!(err.unwrap().code(), "ERR_STREAM_WRITE_AFTER_END");
    ///         });
    ///     });
    ///     client.on_error(|_, err| assert_eq!(err.code(), "ERR_STREAM_WRITE_AFTER_END"));
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn write_with(
        &self,
        data: impl WriteData,
        callback: impl FnOnce(&Socket, Option<&Error>) + 'static,
    ) -> bool {
        self.core.lref.assert_current("Socket::write_with");
        self.write_inner(data, Some(Box::new(callback)))
    }

    /// Encodes `data` with `encoding` (Node's lenient rules for base64 and hex) and writes it.
    ///
    /// Node's `socket.write(string, encoding)`; see [`Encoding::encode`]. Returns what
    /// [`Socket::write`] returns.
    ///
    /// # Errors
    ///
    /// As [`Socket::write`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.write_encoded("68656c6c6f0a", nodenet::Encoding::Hex); // "hello\n"
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn write_encoded(&self, data: &str, encoding: Encoding) -> bool {
        self.write(encoding.encode(data))
    }

    fn callback_later(&self, callback: WriteCallback, error: Option<Error>) {
        with_loop(|lp| {
            let socket = self.clone();
            lp.next_tick(Box::new(move || callback(&socket, error.as_ref())))
        });
    }

    /// A write after `end()`: fails the callback and destroys the socket, as Node does.
    fn refuse_after_end(&self, callback: Option<WriteCallback>) -> bool {
        // Node checks "ended" before "destroyed": after end(), even a destroyed socket reports
        // write-after-end (or, once the peer ended an auto-ended socket, EPIPE).
        let error = {
            let st = self.lock();
            if st.end_emitted && !st.allow_half_open {
                Error::ended_by_peer()
            } else {
                Error::write_after_end()
            }
        };
        if let Some(callback) = callback {
            self.callback_later(callback, Some(error.clone()));
        }
        self.destroy_inner(Some(error));
        false
    }

    fn write_inner(&self, data: impl WriteData, callback: Option<WriteCallback>) -> bool {
        let mut st = self.lock();
        if st.end_called {
            drop(st);
            return self.refuse_after_end(callback);
        }
        if st.destroyed {
            drop(st);
            if let Some(callback) = callback {
                self.callback_later(callback, Some(Error::stream_destroyed("write")));
            }
            return false;
        }
        let high_water_mark = st.high_water_mark;
        let stream = st.stream.clone();
        let shared = Arc::clone(&st.write);
        let generation = st.generation;
        self.touch(&mut st);
        drop(st);

        let bytes = data.as_bytes();
        let len = bytes.len();
        let mut queue = shared.lock();
        // Looked at again under the queue lock: a pipe's reader thread writes concurrently with
        // the loop, which may have connected the socket or ended it since the checks above.
        if queue.ending {
            drop(queue);
            return self.refuse_after_end(callback);
        }
        let connected = queue.connected;
        queue.accepted += len as u64;
        let mut sent = 0;
        if connected
            && queue.idle()
            && !queue.fin_sent
            && !queue.closed
            && len > 0
            && let Some(stream) = &stream
        {
            match crate::sys::send_now(stream, bytes) {
                Ok(n) => sent = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    drop(queue);
                    let error = self.attribute_reset(Error::from_io(&e, "write"));
                    if let Some(callback) = callback {
                        self.callback_later(callback, Some(error.clone()));
                    }
                    self.destroy_inner(Some(error));
                    return false;
                }
            }
        }
        if connected {
            queue.start_request();
        }
        queue.flushed += sent as u64;
        queue.complete_requests();
        let needs_writer = sent < len && connected;
        if sent < len {
            queue.push(data.into_vec(), sent);
        }
        let ok = queue.buffered() < high_water_mark;
        if !ok {
            queue.need_drain = true;
        }
        let done_at = queue.accepted;
        let completed = queue.completed;
        let first_while_connecting = !connected && queue.accepted == len as u64;
        if let Some(callback) = callback {
            if completed >= done_at {
                drop(queue);
                self.callback_later(callback, None);
            } else {
                queue.notify_at = queue.notify_at.min(done_at);
                drop(queue);
                let local = with_loop(|lp| lp.local::<SocketLocal>(self.core.id));
                let callback = Rc::new(RefCell::new(Some(callback)));
                let while_connecting = !connected;
                if first_while_connecting && self.lock().phase == Phase::Connecting {
                    self.lock().first_write_on_connect = true;
                    let mut armed = true;
                    local.connect.add(Box::new(move |socket| {
                        if std::mem::take(&mut armed) {
                            socket.send_first_write(done_at);
                        }
                    }));
                }
                if while_connecting {
                    let on_close = Rc::clone(&callback);
                    local.close.add(Box::new(move |socket, _| {
                        if let Some(callback) = on_close.borrow_mut().take() {
                            callback(socket, Some(&Error::closed_before_connection()));
                        }
                    }));
                }
                local.write_callbacks.borrow_mut().push_back(PendingWrite {
                    done_at,
                    callback,
                    while_connecting,
                    generation,
                });
            }
        } else {
            drop(queue);
        }
        if needs_writer {
            self.ensure_writer();
        }
        ok
    }

    /// Makes sure a writer thread drains the queue (started on the first write that would block).
    fn ensure_writer(&self) {
        let (shared, stream) = {
            let st = self.lock();
            (Arc::clone(&st.write), st.stream.clone())
        };
        let Some(stream) = stream else { return };
        {
            let mut queue = shared.lock();
            if queue.writer_started || queue.closed {
                drop(queue);
                shared.notify();
                return;
            }
            queue.writer_started = true;
        }
        let (id, lref) = (self.core.id, self.core.lref.clone());
        let spawned = io_threads::spawn(format!("nodenet-write-{id}"), false, move || {
            writer::run(stream, shared, id, lref)
        });
        if let Err(e) = spawned {
            self.destroy_inner(Some(Error::from_io(&e, "write")));
        }
    }

    fn handle_flushed(&self) {
        let (shared, completions, waiters_ready) = {
            let mut st = self.lock();
            if st.destroyed {
                return;
            }
            self.touch(&mut st);
            let shared = Arc::clone(&st.write);
            let mut queue = shared.lock();
            let completions: Vec<u64> = queue.completions.drain(..).collect();
            let drained = queue.need_drain && queue.buffered() == 0;
            if drained {
                queue.need_drain = false;
            }
            drop(queue);
            let waiters = drained.then(|| std::mem::take(&mut st.drain_waiters));
            (shared, completions, waiters)
        };
        // Node's afterWrite: `drain` (once the queue is empty) comes before the callbacks of the
        // request that emptied it; callbacks of earlier requests come before `drain`.
        let (last, earlier) = match completions.split_last() {
            Some((last, earlier)) => (Some(*last), earlier),
            None => (None, &[][..]),
        };
        for &done in earlier {
            self.run_write_callbacks(&shared, done);
        }
        if let Some(waiters) = waiters_ready {
            self.emit_simple(|l| &l.drain);
            for source in waiters {
                source.resume();
            }
        }
        if let Some(done) = last {
            self.run_write_callbacks(&shared, done);
        }
        self.finish_if_idle();
    }

    /// Runs the write callbacks of writes that ended at or before `done` (a completed request).
    fn run_write_callbacks(&self, shared: &WriteShared, done: u64) {
        let Some(local) = self.existing_local() else {
            return;
        };
        loop {
            let ready = {
                let mut callbacks = local.write_callbacks.borrow_mut();
                match callbacks.front() {
                    Some(pending) if pending.done_at <= done => callbacks.pop_front(),
                    _ => None,
                }
            };
            match ready {
                Some(pending) => {
                    if let Some(callback) = pending.take() {
                        callback(self, None);
                    }
                }
                None => break,
            }
        }
        let next = local.write_callbacks.borrow().front().map(|p| p.done_at);
        if next.is_none() && std::mem::take(&mut self.lock().finish_deferred) {
            self.handle_finished();
        }
        let mut queue = shared.lock();
        queue.notify_at = next.unwrap_or(u64::MAX);
        // A request that completed before this callback was waiting for it is due already.
        if queue.completed >= queue.notify_at {
            let completed = queue.completed;
            queue.completions.push_back(completed);
            queue.notify_at = u64::MAX;
            drop(queue);
            self.tick(|s| s.handle_flushed());
        }
    }

    // ----- ending -----------------------------------------------------------------------------

    /// Half-closes the socket: sends FIN after the queued bytes (Node's `socket.end()`).
    ///
    /// `finish` follows once FIN is sent; the socket closes when the peer has ended too.
    ///
    /// The socket can still read: `data` and `end` come as the peer sends them. Called while
    /// connecting, FIN goes out after `connect`. Calling it again, or on a destroyed socket,
    /// does nothing; a later `write` fails with `ERR_STREAM_WRITE_AFTER_END`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(|client| {
    ///         client.write("last request\n");
    ///         client.end();
    ///         assert_eq!(client.ready_state(), nodenet::ReadyState::ReadOnly);
    ///     });
    ///     client.on_finish(|_| println!("our FIN is sent"));
    ///     client.on_end(|_| println!("the peer ended too"));
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn end(&self) -> &Self {
        {
            let mut st = self.lock();
            if st.destroyed || st.end_called {
                return self;
            }
            st.end_called = true;
            st.write.lock().ending = true;
        }
        self.finish_if_idle();
        self
    }

    /// Writes `data`, then ends (Node's `socket.end(data)`).
    ///
    /// # Errors
    ///
    /// As [`Socket::write`] (after an earlier `end()`, `ERR_STREAM_WRITE_AFTER_END`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("bye\n");
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn end_with(&self, data: impl WriteData) -> &Self {
        self.write(data);
        self.end()
    }

    /// Sends FIN now if `end()` was called and nothing is left to send; otherwise wakes the writer.
    fn finish_if_idle(&self) {
        let (shared, stream) = {
            let st = self.lock();
            if st.phase != Phase::Open || st.destroyed {
                return;
            }
            (Arc::clone(&st.write), st.stream.clone())
        };
        let Some(stream) = stream else { return };
        let mut queue = shared.lock();
        if !queue.ending || queue.fin_sent || queue.failed {
            return;
        }
        if queue.idle() {
            queue.fin_sent = true;
            drop(queue);
            // Like Node (whose `_final` ignores ENOTCONN), a failed shutdown still finishes the
            // writable side; a reset the peer sent is reported by the next read instead.
            let _ = stream.shutdown(Shutdown::Write);
            self.tick(|s| s.handle_finished());
        } else {
            drop(queue);
            self.ensure_writer();
        }
    }

    fn handle_finished(&self) {
        let callbacks_pending = self
            .existing_local()
            .is_some_and(|l| !l.write_callbacks.borrow().is_empty());
        {
            let mut st = self.lock();
            if st.destroyed || st.finished {
                return;
            }
            if callbacks_pending {
                st.finish_deferred = true;
                return;
            }
            st.finished = true;
        }
        self.emit_simple(|l| &l.finish);
        self.maybe_destroy();
    }

    // ----- destroying -------------------------------------------------------------------------

    /// Closes the socket at once (Node's `socket.destroy()`): only `close(false)` follows.
    ///
    /// Unread data in the kernel makes the peer see a reset, as with Node.
    ///
    /// Queued writes are dropped (their callbacks get `ERR_STREAM_DESTROYED`; the write already
    /// handed to the OS completes). No `end`, `finish` or `error` follows. The I/O threads stop
    /// and the descriptor is closed; calling it again does nothing. [`Socket::destroyed`] is true
    /// at once, and `close(false)` comes on the loop.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(|client| {
    ///         client.destroy();
    ///         assert!(client.destroyed());
    ///     });
    ///     client.on_close(|_, had_error| assert!(!had_error));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn destroy(&self) {
        self.destroy_inner(None);
    }

    /// Closes a TCP connection with an RST instead of a FIN (Node's `socket.resetAndDestroy()`,
    /// `SO_LINGER` 0): the peer gets `ECONNRESET` (syscall `read`), this socket only `close(false)`.
    ///
    /// While connecting, the reset waits for `connect` (which is emitted). A socket that never
    /// connected is destroyed with `ERR_SOCKET_CLOSED`; a destroyed socket is left alone.
    ///
    /// # Errors
    ///
    /// As `error` events: `ERR_SOCKET_CLOSED` ("Socket is closed") on a socket that never
    /// connected (then `close`). On a local (unix) socket, `ERR_INVALID_HANDLE_TYPE`, and the
    /// socket is left as it is (Node throws).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.on_data(|socket, _| {
    ///         socket.reset_and_destroy(); // a request we refuse: no polite FIN
    ///     });
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.write("request");
    ///     client.on_error(|_, err| {
    ///         assert_eq!(err.code(), "ECONNRESET");
    ///         assert_eq!(err.syscall(), Some("read"));
    ///     });
    ///     let server = server.clone();
    ///     client.resume().on_close(move |_, had_error| {
    ///         assert!(had_error);
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn reset_and_destroy(&self) -> &Self {
        let (phase, destroyed, is_local) = {
            let st = self.lock();
            (st.phase, st.destroyed, st.is_local)
        };
        if destroyed {
            return self;
        }
        match phase {
            Phase::Fresh | Phase::Closed => {
                self.destroy_with(Error::new("ERR_SOCKET_CLOSED", "Socket is closed"));
            }
            _ if is_local => self.tick(|s| {
                let error =
                    Error::new("ERR_INVALID_HANDLE_TYPE", "This handle type cannot be sent");
                s.emit_error(s.existing_local().as_deref(), error);
            }),
            Phase::Connecting => self.on_loop(|s| {
                let mut armed = true;
                s.local().connect.add(Box::new(move |socket| {
                    if std::mem::take(&mut armed) {
                        socket.reset_now();
                    }
                }));
            }),
            Phase::Open => self.reset_now(),
        }
        self
    }

    fn reset_now(&self) {
        {
            let mut st = self.lock();
            if st.destroyed {
                return;
            }
            st.reset = true;
        }
        self.destroy_inner(None);
    }

    /// Closes the socket at once with an error: `error` then `close(true)` follow.
    ///
    /// As [`Socket::destroy`], with `error` emitted first (on the loop, never inside this call).
    /// Without an `error` listener, `run()` returns it. A socket that never had a connection gets
    /// `close(false)` (Node emits `close` without an argument). On a destroyed socket it does
    /// nothing (no second `error`).
    ///
    /// # Errors
    ///
    /// `error` is emitted with the given error.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(|client| {
    ///         client.destroy_with(nodenet::Error::new("ERR_PROTOCOL", "unexpected greeting"));
    ///     });
    ///     client.on_error(|_, err| assert_eq!(err.code(), "ERR_PROTOCOL"));
    ///     client.on_close(|_, had_error| assert!(had_error));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn destroy_with(&self, error: Error) {
        self.destroy_inner(Some(error));
    }

    fn destroy_inner(&self, error: Option<Error>) {
        let _hold = self.core.lref.hold();
        let Some(mut torn) = self.teardown() else {
            return;
        };
        if let Some(server) = torn.server.take() {
            server.connection_closed();
        }
        self.tick(move |s| s.finish_destroy(error, torn));
    }

    /// Marks the socket destroyed and releases its OS resources: the reader and writer threads are
    /// woken and exit, the fd closes when the last of them lets go of it. Returns `None` if the
    /// socket was already destroyed.
    fn teardown(&self) -> Option<TornDown> {
        let mut st = self.lock();
        if st.destroyed {
            return None;
        }
        st.destroyed = true;
        st.fast_pipe = None;
        st.gate.set_forwarding(false);
        let never_connected = !st.connected_once;
        let had_handle = st.phase != Phase::Fresh;
        st.phase = Phase::Closed;
        st.gate.close();
        st.cancel.store(true, Ordering::Release);
        let mut queue = st.write.lock();
        queue.closed = true;
        let in_flight = queue.request_end.max(queue.flushed);
        queue.chunks.clear();
        queue.queued = 0;
        let writer_busy = queue.in_flight > 0;
        drop(queue);
        st.write.notify();
        st.write.notify_room();
        if let Some(stream) = st.stream.take() {
            if std::mem::take(&mut st.handed_off) {
                // No shutdown: it would end the connection for its new owner too. The reader
                // thread, which never read, exits when the gate closes.
            } else {
                if std::mem::take(&mut st.reset) {
                    crate::sys::reset_connection(&stream);
                } else if writer_busy {
                    let _ = stream.shutdown(Shutdown::Write);
                }
                let _ = stream.shutdown(Shutdown::Read);
            }
        }
        st.local = None;
        if !st.remote_cached {
            st.remote = None;
        }
        Some(TornDown {
            server: st.server.take(),
            sent_or_in_flight: in_flight,
            never_connected,
            had_handle,
            generation: st.generation,
        })
    }

    fn finish_destroy(&self, error: Option<Error>, torn: TornDown) {
        let TornDown {
            sent_or_in_flight,
            never_connected,
            had_handle,
            generation,
            ..
        } = torn;
        // Connected again since (destroy() then connect() in one tick): the timer, write queue
        // and registration belong to the new connection.
        let (timer, reconnected) = {
            let mut st = self.lock();
            if st.generation == generation {
                // Queued writes that were never dispatched are dropped and no longer count as written.
                st.write.lock().accepted = sent_or_in_flight;
                // A pipe's reader thread may be waiting for room in this queue.
                st.write.notify_room();
                (st.timer.take(), false)
            } else {
                (None, true)
            }
        };
        if let Some(timer) = timer {
            timers::remove_timer(timer);
        }
        let local = self.existing_local();
        let mut before_connect = Vec::new();
        if let Some(local) = &local {
            let callbacks: Vec<_> = {
                let mut all = local.write_callbacks.borrow_mut();
                let (old, new): (Vec<_>, Vec<_>) =
                    all.drain(..).partition(|p| p.generation == generation);
                *all = new.into();
                old
            };
            for pending in callbacks {
                if never_connected && pending.while_connecting {
                    continue; // its `close` listener reports it
                }
                let Some(callback) = pending.take() else {
                    continue;
                };
                if never_connected {
                    before_connect.push(callback);
                } else if pending.done_at <= sent_or_in_flight {
                    callback(self, None);
                } else {
                    callback(self, Some(&Error::stream_destroyed("write")));
                }
            }
            if !reconnected {
                local.buffer.borrow_mut().clear();
            }
        }
        // Node quirk: a socket that never had a handle emits `close` without an argument (falsy).
        let had_error = error.is_some() && had_handle;
        if let Some(error) = error {
            self.emit_error(local.as_deref(), error);
        }
        // `close` comes in the loop's close phase, after the ticks and immediates queued so far.
        let socket = self.clone();
        with_loop(|lp| {
            lp.on_close_phase(Box::new(move || {
                socket.emit_close(local, had_error, before_connect, generation)
            }))
        });
    }

    fn emit_close(
        &self,
        local: Option<Rc<SocketLocal>>,
        had_error: bool,
        before_connect: Vec<WriteCallback>,
        generation: u64,
    ) {
        crate::logging::log_event!(
            debug,
            "socket {} closed (had_error {had_error})",
            self.core.id
        );
        // Detach first, so that a listener may connect the socket again (it then gets a fresh
        // registration and fresh listener lists). A socket connected again since its destroy
        // keeps the new connection's registration.
        let detach = {
            let mut st = self.lock();
            let detach = st.generation == generation;
            if detach {
                st.pipes = Arc::new(Vec::new());
                st.drain_waiters.clear();
                st.attached = false;
            }
            detach
        };
        if detach {
            with_loop(|lp| lp.unregister_handle(self.core.id));
        }
        if let Some(local) = &local {
            local.close.emit(|f| f(self, had_error));
        }
        for callback in before_connect {
            callback(self, Some(&Error::closed_before_connection()));
        }
        // Connected again from a close listener: the listeners stay, as in Node. Otherwise they
        // are dropped, so that a listener capturing its own socket does not leak.
        let reconnected = !detach || self.lock().attached;
        if !reconnected {
            with_loop(|lp| lp.remove_local(self.core.id));
            if let Some(local) = &local {
                local.clear();
            }
        }
    }

    fn emit_error(&self, local: Option<&SocketLocal>, error: Error) {
        crate::logging::log_event!(
            debug,
            "socket {}: error {}: {error}",
            self.core.id,
            error.code()
        );
        match local {
            Some(local) if !local.error.is_empty() => local.error.emit(|f| f(self, &error)),
            _ => with_loop(|lp| lp.report_unhandled(error)),
        }
    }

    // ----- flow control -----------------------------------------------------------------------

    /// Stops `data` events (Node's `socket.pause()`); reading stops once the high-water mark is buffered.
    ///
    /// What is read meanwhile is kept, in order, for [`Socket::resume`]; once about 16 KiB (the
    /// high-water mark, plus one read) are waiting, the reader thread stops reading and TCP flow
    /// control slows the peer down. `end` waits for the buffered data to be consumed. Paused
    /// before `connect`, nothing at all is read until `resume`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pause(); // a slow consumer...
    ///     let socket = socket.clone();
    ///     nodenet::set_timeout(std::time::Duration::from_millis(5), move || {
    ///         socket.resume().end(); // ...catches up later
    ///     });
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn pause(&self) -> &Self {
        self.lock().flowing = Some(false);
        self
    }

    /// Restarts `data` events and reading (Node's `socket.resume()`).
    ///
    /// Data kept while paused is delivered first (on the loop, never inside this call). A socket
    /// with no `data` listener still flows: its data is read and dropped, which lets `end` come.
    /// On a destroyed socket it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.write("hello\n");
    ///     client.end();
    ///     client.resume(); // read and drop the echo, so that `end` (and `close`) can come
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn resume(&self) -> &Self {
        {
            let mut st = self.lock();
            if st.destroyed {
                return self;
            }
            st.flowing = Some(true);
            if st.phase == Phase::Open {
                st.gate.start();
            }
        }
        self.tick(|s| s.flush_buffer());
        self
    }

    /// Sends everything read from this socket to `destination`, pausing while `destination` is full
    /// and ending it when this socket ends (Node's `readable.pipe`). Returns `destination`.
    ///
    /// `socket.pipe(&socket)` makes an echo.
    ///
    /// Several destinations may be piped to; each gets every chunk. With an encoding set, the
    /// decoded text is written, as Node does. Errors are not forwarded: an `error` on either side
    /// leaves the other open (a destroyed destination only pauses this socket, as in Node);
    /// destroy the other side from an `error` or `close` listener, as the `tcp_proxy` example does.
    ///
    /// # Examples
    ///
    /// ```
    /// // A proxy: each client is joined to its own upstream connection (here an echo server).
    /// let upstream = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// upstream.listen((0, "127.0.0.1")).on_listening(|upstream| {
    ///     let target = upstream.address().unwrap().port().unwrap();
    ///     // Both sides half-open, so that each direction ends on its own.
    ///     let options = nodenet::ServerOptions::default().allow_half_open(true);
    ///     let proxy = nodenet::create_server_with(options, move |client| {
    ///         let upstream = nodenet::ConnectOptions::port(target)
    ///             .host("127.0.0.1")
    ///             .allow_half_open(true);
    ///         let server_side = nodenet::connect(upstream);
    ///         client.pipe(&server_side).pipe(&client);
    ///     });
    ///     let upstream = upstream.clone();
    ///     proxy.listen((0, "127.0.0.1")).on_listening(move |proxy| {
    ///         let port = proxy.address().unwrap().port().unwrap();
    ///         let client = nodenet::connect((port, "127.0.0.1"));
    ///         client.end_with("through the proxy\n");
    ///         client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"through the proxy\n"));
    ///         let (proxy, upstream) = (proxy.clone(), upstream.clone());
    ///         client.on_close(move |_, _| {
    ///             proxy.close();
    ///             upstream.close();
    ///         });
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn pipe(&self, destination: &Socket) -> Socket {
        Arc::make_mut(&mut self.lock().pipes).push(destination.clone());
        self.on_loop(|s| s.update_fast_pipe());
        self.resume();
        destination.clone()
    }

    /// Lets the reader thread write reads straight to the destination while a single pipe is the
    /// only consumer (no `data` listener, no encoding): the bytes skip the loop, the events are
    /// the same (`drain` on the destination, `end` at end of stream). Anything else turns it off.
    fn update_fast_pipe(&self) {
        let local = self.existing_local();
        let alone = local
            .as_deref()
            .is_none_or(|l| l.data.is_empty() && l.decoder.borrow().is_none());
        let mut st = self.lock();
        st.fast_pipe = match st.pipes.as_slice() {
            [destination] if alone && !st.destroyed => Some(Arc::downgrade(&destination.core)),
            _ => None,
        };
        st.gate.set_forwarding(st.fast_pipe.is_some());
    }

    /// A read from the reader thread, sent straight to the lone pipe destination (see
    /// `update_fast_pipe`). Gives the bytes back when they must go through the loop: paused,
    /// earlier reads still on their way to the loop, or the pipe is gone.
    fn forward_piped(&self, data: &mut Vec<u8>) -> bool {
        let (destination, gate) = {
            let mut st = self.lock();
            let destination = match &st.fast_pipe {
                Some(weak) if !st.destroyed && st.flowing == Some(true) => weak.upgrade(),
                _ => None,
            };
            let Some(core) = destination else {
                return false;
            };
            if st.gate.pending() != 0 {
                return false;
            }
            st.bytes_read += data.len() as u64;
            self.touch(&mut st);
            (Socket { core }, Arc::clone(&st.gate))
        };
        if destination.write(ReusedBuffer(data)) {
            return true;
        }
        // The destination is full: as the pipe would pause this socket until `drain`, stop
        // reading until it has room again (or this socket or the destination closes).
        let (shared, high_water_mark) = {
            let st = destination.lock();
            (Arc::clone(&st.write), st.high_water_mark)
        };
        let mut queue = shared.lock();
        while queue.buffered() >= high_water_mark
            && !queue.closed
            && !queue.failed
            && !gate.closed()
        {
            shared.wait_for_room(&mut queue, Duration::from_millis(50));
        }
        let gone = queue.closed || queue.failed;
        drop(queue);
        if gone {
            // The destination was destroyed: as with Node's pipe, this socket stays paused
            // until a `drain` that will not come (its data stays unread, the peer is slowed).
            self.pipe_paused_by(&destination);
        }
        true
    }

    /// Pauses this socket until `destination` drains (what a pipe does when `write` refuses).
    fn pipe_paused_by(&self, destination: &Socket) {
        self.pause();
        let mut st = destination.lock();
        if !st.drain_waiters.iter().any(|s| s == self) {
            st.drain_waiters.push(self.clone());
        }
    }

    /// Decodes `data` into text with `encoding` (`None` turns it off); see [`Chunk::text`].
    ///
    /// UTF-8 characters split across reads are never broken.
    ///
    /// Node's `socket.setEncoding`. [`Chunk::bytes`] still gives the raw bytes. May be called
    /// from any thread (it takes effect on the loop).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.set_encoding(Some(nodenet::Encoding::Utf8));
    ///     client.on_data(|_, chunk| assert_eq!(chunk.text(), Some("h\u{e9}")));
    ///     client.end_with("h\u{e9}");
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn set_encoding(&self, encoding: Option<Encoding>) -> &Self {
        self.on_loop(move |s| {
            *s.local_state().decoder.borrow_mut() = encoding.map(Decoder::new);
            s.update_fast_pipe();
        });
        self
    }

    // ----- timeouts ---------------------------------------------------------------------------

    /// Emits `timeout` once after `idle` without reads or writes; `Duration::ZERO` disables it.
    ///
    /// The socket is not closed: call `destroy()` or `end()` in the listener, as in Node.
    ///
    /// Every read and write restarts the timer, and `timeout` comes again after new activity; a
    /// write that is still making progress (a slow peer) does not count as idle. The timer does
    /// not keep `run()` going. Node's `setTimeout(ms, callback)` is this plus
    /// [`Socket::on_timeout`]. On a destroyed socket it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.set_timeout(std::time::Duration::from_millis(20));
    ///     client.on_timeout(|client| {
    ///         client.destroy(); // the server never says anything
    ///     });
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn set_timeout(&self, idle: Duration) -> &Self {
        {
            let mut st = self.lock();
            if st.destroyed {
                return self;
            }
            st.timeout = idle;
            st.timeout_fired = false;
            st.last_activity = Instant::now();
        }
        self.on_loop(|s| s.arm_timer());
        self
    }

    /// (Re)starts the idle timer (loop thread).
    fn arm_timer(&self) {
        let (old, due) = {
            let mut st = self.lock();
            let old = st.timer.take();
            let due = if st.destroyed || st.timeout.is_zero() {
                None
            } else {
                Some((st.last_activity + st.timeout).saturating_duration_since(Instant::now()))
            };
            (old, due)
        };
        if let Some(old) = old {
            timers::remove_timer(old);
        }
        if let Some(due) = due {
            let socket = self.clone();
            let id = timers::add_timer(due, false, Box::new(move || socket.on_timer()));
            self.lock().timer = Some(id);
        }
    }

    fn on_timer(&self) {
        let fire = {
            let mut st = self.lock();
            st.timer = None;
            if st.destroyed || st.timeout.is_zero() {
                return;
            }
            let idle_for = st.last_activity.elapsed();
            let queue = st.write.lock();
            let progressing = queue.buffered() > 0 && queue.flushed != st.last_progress;
            let flushed = queue.flushed;
            drop(queue);
            if idle_for < st.timeout {
                false
            } else if progressing {
                st.last_progress = flushed;
                st.last_activity = Instant::now();
                false
            } else {
                st.timeout_fired = true;
                true
            }
        };
        if fire {
            self.emit_simple(|l| &l.timeout);
        } else {
            self.arm_timer();
        }
    }

    // ----- options ----------------------------------------------------------------------------

    /// Turns Nagle's algorithm off (`true`) or on; applied at connect if called before.
    ///
    /// Node's `socket.setNoDelay(noDelay)` (whose argument defaults to `true`). No effect on a
    /// local socket or a closed one.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.set_no_delay(true); // small writes go out at once
    ///     socket.end_with("y");
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn set_no_delay(&self, no_delay: bool) -> &Self {
        let mut st = self.lock();
        st.no_delay = Some(no_delay);
        if let Some(stream) = &st.stream
            && !st.is_local
        {
            let _ = stream.set_tcp_nodelay(no_delay);
        }
        self
    }

    /// Enables or disables TCP keep-alive; `initial_delay` is rounded down to whole seconds (0: OS default).
    ///
    /// Node's `socket.setKeepAlive(enable, initialDelay)`. Applied at connect if called before;
    /// no effect on a local socket or a closed one.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.set_keep_alive(true, std::time::Duration::from_secs(60));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> &Self {
        let mut st = self.lock();
        st.keep_alive = Some((enable, initial_delay));
        if let Some(stream) = &st.stream
            && !st.is_local
        {
            apply_keep_alive(stream, enable, initial_delay);
        }
        self
    }

    /// Lets `run()` return while this socket is open (Node's `socket.unref()`); a pending connect
    /// still keeps the loop going, as in Node.
    ///
    /// # Examples
    ///
    /// ```
    /// // A peer that accepts nothing: the kernel completes the handshake anyway.
    /// let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let port = peer.local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_connect(|client| {
    ///     client.unref(); // a background connection: it does not hold the loop
    /// });
    /// nodenet::run().unwrap(); // returns with the connection still open
    /// assert!(!client.destroyed());
    /// ```
    pub fn unref(&self) -> &Self {
        self.lock().refd = false;
        self
    }

    /// Makes the socket keep `run()` going again while it is active (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.unref().ref_(); // back to the default
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn ref_(&self) -> &Self {
        self.lock().refd = true;
        self
    }

    // ----- state ------------------------------------------------------------------------------

    /// Bytes queued and not yet handed to the kernel (Node's `bufferSize` / `writableLength`).
    ///
    /// A write in progress on the writer thread counts in full until it completes. 0 once
    /// destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     let big = vec![0u8; 4 * 1024 * 1024];
    ///     let all_taken = client.write(big); // while connecting: everything is queued
    ///     assert!(!all_taken);
    ///     assert_eq!(client.buffer_size(), 4 * 1024 * 1024);
    ///     client.on_drain(|client| {
    ///         assert_eq!(client.buffer_size(), 0);
    ///         client.end();
    ///     });
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn buffer_size(&self) -> usize {
        let st = self.lock();
        if st.destroyed {
            return 0;
        }
        st.write.lock().buffered()
    }

    /// Bytes read from the kernel (including bytes not yet delivered to listeners).
    ///
    /// Node's `socket.bytesRead`; it survives `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.end_with("12345");
    ///     client.resume().on_end(|client| assert_eq!(client.bytes_read(), 5));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn bytes_read(&self) -> u64 {
        self.lock().bytes_read
    }

    /// Bytes accepted by `write()` (sent or still queued), as Node counts `bytesWritten`.
    ///
    /// Writes made while connecting count at once. Queued bytes dropped by `destroy()` stop
    /// counting.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.write("abc");
    ///     assert_eq!(client.bytes_written(), 3); // queued while connecting
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn bytes_written(&self) -> u64 {
        self.lock().write.lock().accepted
    }

    /// The bound local endpoint (Node's `socket.address()`); `None` when closed or a local socket.
    ///
    /// `None` also before the socket connects (Node returns `{}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     let address = socket.address().unwrap();
    ///     assert_eq!(address.inet().unwrap().address, "127.0.0.1");
    ///     assert_eq!(address.port(), socket.local_port());
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn address(&self) -> Option<Address> {
        self.lock()
            .local
            .map(|a| Address::Inet(AddressInfo::from_socket_addr(&a)))
    }

    fn remote(&self) -> Option<SocketAddr> {
        let mut st = self.lock();
        if st.phase == Phase::Open && !st.destroyed {
            st.remote_cached = true;
        }
        st.remote
    }

    /// The peer's IP address as text (Node's `remoteAddress`).
    ///
    /// `None` before the socket connects and for local sockets. After `close` it is still known
    /// if it was read while connected (Node v20 caches it the same way).
    ///
    /// On a server listening on `::` (no host), an IPv4 client shows as `"::ffff:127.0.0.1"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     assert_eq!(socket.remote_address().as_deref(), Some("127.0.0.1"));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn remote_address(&self) -> Option<String> {
        self.remote().map(|a| a.ip().to_string())
    }

    /// The peer's address family (Node's `remoteFamily`); `None` as for [`Socket::remote_address`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     assert_eq!(socket.remote_family(), Some(nodenet::Family::IPv4));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn remote_family(&self) -> Option<Family> {
        self.remote().map(|a| Family::of(&a.ip()))
    }

    /// The peer's port (Node's `remotePort`); `None` as for [`Socket::remote_address`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(move |client| assert_eq!(client.remote_port(), Some(port)));
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn remote_port(&self) -> Option<u16> {
        self.remote().map(|a| a.port())
    }

    /// Our local IP address as text (Node's `localAddress`); `None` before connecting, after
    /// closing and for local sockets.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(|client| assert_eq!(client.local_address().as_deref(), Some("127.0.0.1")));
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn local_address(&self) -> Option<String> {
        self.lock().local.map(|a| a.ip().to_string())
    }

    /// Our local port (Node's `localPort`); `None` as for [`Socket::local_address`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     let port = socket.local_port().unwrap(); // the server's port
    ///     assert_eq!(socket.address().unwrap().port(), Some(port));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn local_port(&self) -> Option<u16> {
        self.lock().local.map(|a| a.port())
    }

    /// Our local address family (Node's `localFamily`); `None` as for [`Socket::local_address`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     assert_eq!(socket.local_family(), Some(nodenet::Family::IPv4));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn local_family(&self) -> Option<Family> {
        self.lock().local.map(|a| Family::of(&a.ip()))
    }

    /// The socket's state as Node's `readyState` computes it.
    ///
    /// `Opening` while connecting; `Open` when readable and writable (also a new, unconnected
    /// socket, as in Node); `ReadOnly` after our `end()`; `WriteOnly` after the peer's FIN on a
    /// half-open socket; `Closed` when both sides ended or the socket was destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     use nodenet::ReadyState;
    ///     assert_eq!(client.ready_state(), ReadyState::Opening);
    ///     client.on_connect(|client| {
    ///         assert_eq!(client.ready_state(), ReadyState::Open);
    ///         client.end();
    ///         assert_eq!(client.ready_state(), ReadyState::ReadOnly);
    ///     });
    ///     client.on_close(|client, _| assert_eq!(client.ready_state(), ReadyState::Closed));
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn ready_state(&self) -> ReadyState {
        let st = self.lock();
        if st.phase == Phase::Connecting && !st.destroyed {
            return ReadyState::Opening;
        }
        let readable = !st.destroyed && !st.end_emitted;
        let writable = !st.destroyed && !st.end_called;
        match (readable, writable) {
            (true, true) => ReadyState::Open,
            (true, false) => ReadyState::ReadOnly,
            (false, true) => ReadyState::WriteOnly,
            (false, false) => ReadyState::Closed,
        }
    }

    /// True between `connect()` and the `connect` event (or the failure); Node's `connecting`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     assert!(client.connecting());
    ///     client.on_connect(|client| assert!(!client.connecting()));
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn connecting(&self) -> bool {
        let st = self.lock();
        st.phase == Phase::Connecting && !st.destroyed
    }

    /// True once destroyed (explicitly, by an error, or after both sides ended).
    ///
    /// Node's `destroyed`. It becomes true inside [`Socket::destroy`], before `close` is emitted.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_end(|client| assert!(!client.destroyed())); // the other half is still open
    ///     client.on_close(|client, _| assert!(client.destroyed()));
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn destroyed(&self) -> bool {
        self.lock().destroyed
    }

    /// Node's `pending`: not connected yet, or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     assert!(client.pending()); // connecting
    ///     client.on_connect(|client| assert!(!client.pending()));
    ///     client.on_close(|client, _| assert!(client.pending())); // closed: pending again
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn pending(&self) -> bool {
        let st = self.lock();
        st.phase != Phase::Open || st.destroyed
    }

    /// Bytes read but not yet delivered to `data` listeners (Node's `readableLength`, approximately).
    ///
    /// It counts from the reader thread's side: bytes on their way to the loop are included.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     assert_eq!(client.readable_length(), 0);
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn readable_length(&self) -> usize {
        self.lock().gate.pending()
    }

    // ----- listeners --------------------------------------------------------------------------

    fn emit_simple(&self, pick: impl Fn(&SocketLocal) -> &Listeners<SimpleListener>) {
        if let Some(local) = self.existing_local() {
            pick(&local).emit(|f| f(self));
        }
    }

    /// Adds a `lookup` listener: the resolved address and family (or the error) and the host name.
    ///
    /// Emitted once per address found (happy eyeballs reports them all), only when a host name
    /// was resolved: never for an IP address or a local path. On a failure it carries the
    /// `ENOTFOUND` error, which the `error` event then reports.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ConnectOptions::port(1)
    ///     .host("nowhere.test")
    ///     .lookup(|_, _| Ok(Vec::new())); // finds nothing
    /// let client = nodenet::connect(options);
    /// client.on_lookup(|_, result, host| {
    ///     assert_eq!(host, "nowhere.test");
    ///     assert_eq!(result.unwrap_err().code(), "ENOTFOUND");
    /// });
    /// client.on_error(|_, err| assert_eq!(err.code(), "ENOTFOUND"));
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_lookup(
        &self,
        f: impl FnMut(&Socket, Result<(IpAddr, Family), &Error>, &str) + 'static,
    ) -> &Self {
        self.local().lookup.add(Box::new(f));
        self
    }

    /// Adds a `connect` listener (client sockets only): the connection is established.
    ///
    /// Node's `connectListener` argument of `net.connect`. Accepted sockets never emit it.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connect(|client| {
    ///         client.end_with("hello\n");
    ///     });
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_connect(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().connect.add(Box::new(f));
        self
    }

    /// Adds a `connectionAttempt` listener: a TCP connect attempt to `(address, port, family)`
    /// starts (every connect has one; happy eyeballs may make several, see
    /// [`ConnectOptions::auto_select_family`]).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_connection_attempt(move |_, address, attempt_port, family| {
    ///         assert_eq!((address, attempt_port, family), ("127.0.0.1", port, nodenet::Family::IPv4));
    ///     });
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_connection_attempt(
        &self,
        f: impl FnMut(&Socket, &str, u16, Family) + 'static,
    ) -> &Self {
        self.local().attempt.add(Box::new(f));
        self
    }

    /// Adds a `connectionAttemptFailed` listener: a connect attempt failed with this error
    /// (syscall `connect`); the next address is tried if there is one, else `error` follows.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1")); // nothing listens there
    /// client.on_connection_attempt_failed(|_, address, _, _, err| {
    ///     assert_eq!(address, "127.0.0.1");
    ///     assert_eq!(err.code(), "ECONNREFUSED");
    /// });
    /// client.on_error(|_, err| assert_eq!(err.code(), "ECONNREFUSED"));
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_connection_attempt_failed(
        &self,
        f: impl FnMut(&Socket, &str, u16, Family, &Error) + 'static,
    ) -> &Self {
        self.local().attempt_failed.add(Box::new(f));
        self
    }

    /// Adds a `connectionAttemptTimeout` listener: a happy-eyeballs attempt did not connect within
    /// [`ConnectOptions::auto_select_family_attempt_timeout`]; the next address is tried.
    ///
    /// The last address has no attempt timeout: it gets the whole connect time.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = nodenet::connect(nodenet::ConnectOptions::port(80).host("example.com"));
    /// client.on_connection_attempt_timeout(|_, address, port, family| {
    ///     println!("{address}:{port} ({family}) is slow, trying the next address");
    /// });
    /// client.destroy();
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_connection_attempt_timeout(
        &self,
        f: impl FnMut(&Socket, &str, u16, Family) + 'static,
    ) -> &Self {
        self.local().attempt_timeout.add(Box::new(f));
        self
    }

    /// Adds a `ready` listener: right after `connect`.
    ///
    /// Node emits `ready` in the same turn as `connect`, after its listeners. Accepted sockets
    /// never emit it.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_ready(|client| {
    ///         client.end_with("ready\n");
    ///     });
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_ready(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().ready.add(Box::new(f));
        self
    }

    /// Adds a `data` listener; it also starts the flow unless the socket was paused.
    ///
    /// Each call gets one read (at most 64 KiB) as a [`Chunk`]; chunk boundaries are arbitrary,
    /// so a message may be split or several may arrive together. Data that arrived before the
    /// listener was added is delivered to it, in order.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("one\ntwo\n");
    /// });
    /// let lines = Rc::new(RefCell::new(Vec::new()));
    /// let sink = lines.clone();
    /// server.listen((0, "127.0.0.1")).on_listening(move |server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     let (sink, pending) = (sink.clone(), Rc::new(RefCell::new(Vec::new())));
    ///     client.on_data(move |_, chunk| {
    ///         // Cut the byte stream into lines, whatever the chunk boundaries.
    ///         let mut pending = pending.borrow_mut();
    ///         pending.extend_from_slice(chunk.bytes());
    ///         while let Some(end) = pending.iter().position(|&b| b == b'\n') {
    ///             let line: Vec<u8> = pending.drain(..=end).collect();
    ///             sink.borrow_mut().push(String::from_utf8(line).unwrap());
    ///         }
    ///     });
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(*lines.borrow(), ["one\n", "two\n"]);
    /// ```
    pub fn on_data(&self, f: impl FnMut(&Socket, &Chunk) + 'static) -> &Self {
        self.local().data.add(Box::new(f));
        self.update_fast_pipe();
        let paused = self.lock().flowing == Some(false);
        if !paused {
            self.resume();
        }
        self
    }

    /// Adds an `end` listener: the peer sent FIN and every byte before it was delivered.
    ///
    /// Unless the socket allows half-open connections, it then ends its own side (writes made in
    /// the listener still go out first). `end` needs the data to be consumed: a socket with
    /// neither a `data` listener nor [`Socket::resume`] never emits it if data is waiting.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume().on_end(|socket| {
    ///         // The client ended its side; ours ends after this listener, and this still goes out.
    ///         socket.write("written in the end listener\n");
    ///     });
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.end();
    ///     client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"written in the end listener\n"));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_end(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().end.add(Box::new(f));
        self
    }

    /// Adds a `finish` listener: our FIN was sent after every queued byte.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.end_with("bye\n").on_finish(|client| {
    ///         assert_eq!(client.buffer_size(), 0);
    ///     });
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_finish(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().finish.add(Box::new(f));
        self
    }

    /// Adds a `timeout` listener (see [`Socket::set_timeout`]).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket); // answers only what it gets
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.set_timeout(std::time::Duration::from_millis(20)).on_timeout(|client| {
    ///         client.end(); // idle: say goodbye
    ///     });
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_timeout(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().timeout.add(Box::new(f));
        self
    }

    /// Adds a `drain` listener: the write queue emptied after a `write` returned false.
    ///
    /// It comes only after a `write` returned false, once nothing at all is queued (not when the
    /// queue falls under the high-water mark).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     if !client.write(vec![0u8; 1024 * 1024]) {
    ///         client.on_drain(|client| {
    ///             client.end();
    ///         });
    ///     } else {
    ///         client.end();
    ///     }
    ///     client.resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_drain(&self, f: impl FnMut(&Socket) + 'static) -> &Self {
        self.local().drain.add(Box::new(f));
        self
    }

    /// Adds an `error` listener; `close(true)` always follows an error.
    ///
    /// Without any `error` listener, an error makes `run()` return it.
    ///
    /// The socket is already destroyed when it runs. See [`Socket::connect`],
    /// [`Socket::write_with`] and [`Socket::reset_and_destroy`] for the codes; a peer's reset is
    /// `ECONNRESET` (syscall `read`, or `write` while writes are pending).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_error(|client, err| {
    ///     assert!(client.destroyed());
    ///     eprintln!("{err}"); // connect ECONNREFUSED 127.0.0.1:<port>
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_error(&self, f: impl FnMut(&Socket, &Error) + 'static) -> &Self {
        self.local().error.add(Box::new(f));
        self
    }

    /// Adds a `close` listener; `had_error` tells whether an error closed the socket.
    ///
    /// All listeners are dropped after `close`.
    ///
    /// It is the socket's last event, on the loop after the descriptor was closed; it always
    /// follows an `error`. A listener may [`connect`](Socket::connect) the socket again.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the socket's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.pipe(&socket);
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_close(|_, had_error| assert!(!had_error));
    ///     client.end().resume();
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_close(&self, f: impl FnMut(&Socket, bool) + 'static) -> &Self {
        self.local().close.add(Box::new(f));
        self
    }

    /// `connection_attempt`, or its `_failed` (with the error) or `_timeout` outcome.
    fn emit_attempt(&self, ip: IpAddr, port: u16, error: Option<&Error>, timed_out: bool) {
        {
            let st = self.lock();
            if st.destroyed || st.phase != Phase::Connecting {
                return;
            }
        }
        let Some(local) = self.existing_local() else {
            return;
        };
        let (address, family) = (ip.to_string(), Family::of(&ip));
        match error {
            Some(error) => local
                .attempt_failed
                .emit(|f| f(self, &address, port, family, error)),
            None if timed_out => local
                .attempt_timeout
                .emit(|f| f(self, &address, port, family)),
            None => local.attempt.emit(|f| f(self, &address, port, family)),
        }
    }

    fn emit_lookup(&self, result: Result<IpAddr, Error>, host: String) {
        {
            let st = self.lock();
            if st.destroyed || st.phase != Phase::Connecting {
                return;
            }
        }
        if let Some(local) = self.existing_local() {
            match &result {
                Ok(ip) => local
                    .lookup
                    .emit(|f| f(self, Ok((*ip, Family::of(ip))), &host)),
                Err(error) => local.lookup.emit(|f| f(self, Err(error), &host)),
            }
        }
    }
}

/// Sends queued bytes up to byte count `until` without blocking; stops at the first short send.
fn send_queued_now(stream: &RawSocket, queue: &mut WriteQueue, until: u64) -> io::Result<()> {
    while queue.flushed < until {
        let Some(chunk) = queue.chunks.front_mut() else {
            break;
        };
        let want = chunk
            .remaining()
            .len()
            .min((until - queue.flushed) as usize);
        let n = match crate::sys::send_now(stream, &chunk.remaining()[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        chunk.offset += n;
        if chunk.offset == chunk.data.len() {
            queue.chunks.pop_front();
        }
        queue.queued -= n;
        queue.flushed += n as u64;
        if n < want {
            break;
        }
    }
    Ok(())
}

fn apply_keep_alive(stream: &RawSocket, enable: bool, delay: Duration) {
    let Some(socket) = stream.tcp() else { return };
    let _ = socket.set_keepalive(enable);
    let secs = delay.as_secs();
    if enable && secs > 0 {
        // As libuv's uv__tcp_keepalive: the first probe after `delay`, then one a second, ten
        // at most.
        let keepalive = TcpKeepalive::new().with_time(Duration::from_secs(secs));
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "freebsd"
        ))]
        let keepalive = keepalive
            .with_interval(Duration::from_secs(1))
            .with_retries(10);
        let _ = socket.set_tcp_keepalive(&keepalive);
    }
}

impl Dispatch for Socket {
    fn abandon(&self) {
        if let Some(TornDown {
            server: Some(server),
            ..
        }) = self.teardown()
        {
            server.connection_abandoned();
        }
        let mut st = self.lock();
        st.pipes = Arc::new(Vec::new());
        st.drain_waiters.clear();
        st.attached = false;
        st.timer = None;
    }

    fn keeps_alive(&self) -> bool {
        let st = self.lock();
        if st.destroyed || !st.attached {
            return false;
        }
        match st.phase {
            Phase::Connecting => true,
            Phase::Open if st.refd => {
                let queue = st.write.lock();
                let writing = queue.buffered() > 0 || (queue.ending && !st.finished);
                drop(queue);
                // Reading, as libuv sees it: started and not stopped. Node stops reading only when
                // the buffer reaches the high-water mark with no one consuming it; a flowing socket
                // keeps reading (its bytes may be on their way to the loop right now).
                let reading = !st.eof
                    && st.gate.started()
                    && !st.gate.closed()
                    && (st.flowing == Some(true) || st.gate.reading());
                writing || reading
            }
            _ => false,
        }
    }

    fn dispatch(&self, event: IoEvent) {
        match event {
            IoEvent::Data(bytes) => self.handle_data(bytes),
            IoEvent::Flushed => self.handle_flushed(),
            IoEvent::Eof if self.reset_reported_by_writer() => {}
            IoEvent::Eof => self.handle_eof(),
            IoEvent::Connected(stream) => self.handle_connected(stream),
            IoEvent::Lookup(result, host) => self.emit_lookup(result, host),
            IoEvent::Attempt(ip, port) => self.emit_attempt(ip, port, None, false),
            IoEvent::AttemptFailed(ip, port, error) => {
                self.emit_attempt(ip, port, Some(&error), false)
            }
            IoEvent::AttemptTimedOut(ip, port) => self.emit_attempt(ip, port, None, true),
            IoEvent::Finished => self.handle_finished(),
            IoEvent::ReadFailed(error) | IoEvent::WriteFailed(error) => {
                let error = self.attribute_reset(error);
                self.destroy_inner(Some(error))
            }
            IoEvent::ConnectFailed(error) => self.destroy_inner(Some(error)),
            IoEvent::Accepted(..) => debug_assert!(false, "a socket got an accept event"),
        }
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Socket) -> bool {
        Arc::ptr_eq(&self.core, &other.core)
    }
}

impl Eq for Socket {}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Socket")
            .field("id", &self.core.id)
            .field("phase", &st.phase)
            .field("destroyed", &st.destroyed)
            .field("remote", &st.remote)
            .finish()
    }
}
