//! `Server`: Node's `net.Server`: listen, accept into `Socket`s, close, count connections.

use crate::address::{Address, AddressInfo, Family};
use crate::emitter::Listeners;
use crate::error::{Error, Style};
use crate::event::{HandleId, IoEvent};
use crate::event_loop::{Dispatch, LoopRef, next_handle_id, with_loop};
use crate::io_threads::{self, acceptor};
use crate::options::{ListenOptions, ListenTarget, ServerOptions};
use crate::shared_listeners::{self, ShareKey, SharedListener};
use crate::socket::Socket;
use crate::sys::Listener;
use parking_lot::{Mutex, MutexGuard};
use socket2::{Domain, Protocol, Socket as RawSocket, Type};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct Listening {
    socket: Arc<Listener>,
    /// A listener shared with servers on other loops (`exclusive(false)`), and the way to wake
    /// this server's acceptor without disturbing theirs.
    shared: Option<(Arc<SharedListener>, crate::sys::WakeSender)>,
    stop: Arc<AtomicBool>,
    /// The acceptor thread; joined on close so the listening fd is closed when `close()` returns.
    acceptor: Option<std::thread::JoinHandle<()>>,
    /// The socket file we created, removed on close.
    path: Option<PathBuf>,
    address: Address,
}

struct State {
    options: ServerOptions,
    listening: Option<Listening>,
    /// A `listen` with a host is resolving; this counts the attempts so a stale result is ignored.
    binding: Option<u64>,
    attempts: u64,
    connections: usize,
    max_connections: Option<usize>,
    refd: bool,
    attached: bool,
    /// `close()` was called on a running server: emit `close` when the last connection is gone.
    closing: bool,
    /// Counts successful binds, so a `listening` emit meant for an earlier listen is dropped.
    generation: u64,
    /// `close` emits queued and not yet run (every `close()` on an idle server emits one).
    pending_closes: usize,
}

struct Core {
    id: HandleId,
    lref: LoopRef,
    state: Mutex<State>,
}

/// A TCP or local-socket server with Node's `net.Server` events and semantics.
///
/// `Server` is a cheap handle (`Clone + Send + Sync`, `==` compares identity). Its listeners run on
/// the loop of the thread that created it.
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| {
///     socket.end_with("bye\n");
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     assert!(server.listening());
///     server.close();
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Clone)]
pub struct Server {
    core: Arc<Core>,
}

type CloseCallback = Box<dyn FnMut(&Server)>;
type ServerListener = dyn FnMut(&Server);
type ErrorListener = dyn FnMut(&Server, &Error);

/// Loop-side state of a server: its listeners.
type DropListener = dyn FnMut(&Server, &DropInfo);

#[derive(Default)]
pub(crate) struct ServerLocal {
    listening: Listeners<ServerListener>,
    connection: Listeners<dyn FnMut(Socket)>,
    drop: Listeners<DropListener>,
    close: Listeners<ServerListener>,
    error: Listeners<ErrorListener>,
}

/// The connection a server turned away (the argument of [`Server::on_drop`]), as Node's `drop`
/// event describes it.
///
/// For a local (unix) socket server, Node passes `undefined`: here the addresses are empty, the
/// ports 0 and the families IPv4.
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|_| unreachable!("every connection is dropped"));
/// server.set_max_connections(Some(0));
/// server.on_drop(|server, info: &nodenet::DropInfo| {
///     assert_eq!(info.remote_address, "127.0.0.1");
///     assert_eq!(info.local_port, server.address().unwrap().port().unwrap());
///     assert_eq!(info.remote_family, nodenet::Family::IPv4);
///     server.close();
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     nodenet::connect((port, "127.0.0.1")).resume();
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropInfo {
    /// The server side's address (e.g. `"::ffff:127.0.0.1"` on a dual-stack server).
    pub local_address: String,
    /// The server side's port.
    pub local_port: u16,
    /// The family of `local_address`.
    pub local_family: Family,
    /// The client's address.
    pub remote_address: String,
    /// The client's port.
    pub remote_port: u16,
    /// The family of `remote_address`.
    pub remote_family: Family,
}

impl DropInfo {
    fn of(stream: &crate::sys::Stream) -> DropInfo {
        let describe = |addr: Option<SocketAddr>| match addr {
            Some(addr) => (
                addr.ip().to_string(),
                addr.port(),
                if addr.is_ipv4() {
                    Family::IPv4
                } else {
                    Family::IPv6
                },
            ),
            None => (String::new(), 0, Family::IPv4),
        };
        let (local_address, local_port, local_family) =
            describe(stream.local_addr().ok().and_then(|a| a.as_socket()));
        let (remote_address, remote_port, remote_family) =
            describe(stream.peer_addr().ok().and_then(|a| a.as_socket()));
        DropInfo {
            local_address,
            local_port,
            local_family,
            remote_address,
            remote_port,
            remote_family,
        }
    }
}

impl Server {
    /// Creates a server without a connection listener (Node's `new net.Server(options)`).
    ///
    /// The server belongs to the calling thread's loop: its listeners run there, during `run()`.
    /// It does nothing until [`Server::listen`].
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Server, ServerOptions};
    ///
    /// let server = Server::new(ServerOptions::default());
    /// let me = server.clone(); // a listener may hold its own server: listeners go after `close`
    /// server.on_connection(move |socket| {
    ///     socket.end();
    ///     me.close(); // serve one client only
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     nodenet::connect((port, "127.0.0.1")).resume();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn new(options: ServerOptions) -> Server {
        let lref = with_loop(|lp| lp.loop_ref());
        Server {
            core: Arc::new(Core {
                id: next_handle_id(),
                lref,
                state: Mutex::new(State {
                    options,
                    listening: None,
                    binding: None,
                    attempts: 0,
                    connections: 0,
                    max_connections: None,
                    refd: true,
                    attached: false,
                    closing: false,
                    generation: 0,
                    pending_closes: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.core.state.lock()
    }

    fn local(&self) -> Rc<ServerLocal> {
        self.core
            .lref
            .assert_current("registering a server listener");
        with_loop(|lp| lp.local::<ServerLocal>(self.core.id))
    }

    fn existing_local(&self) -> Option<Rc<ServerLocal>> {
        with_loop(|lp| lp.existing_local::<ServerLocal>(self.core.id))
    }

    fn tick(&self, f: impl FnOnce(&Server) + Send + 'static) {
        let server = self.clone();
        self.core.lref.schedule(move || f(&server));
    }

    fn on_loop(&self, f: impl FnOnce(&Server) + Send + 'static) {
        let server = self.clone();
        self.core.lref.run_on_loop(move || f(&server));
    }

    /// Registers with the loop and takes or releases the loop ref as the state requires.
    fn sync_ref(&self) {
        self.on_loop(|s| {
            let mut st = s.lock();
            if !st.attached {
                st.attached = true;
                let handle: Rc<dyn Dispatch> = Rc::new(s.clone());
                with_loop(|lp| lp.register(s.core.id, handle));
            }
        });
    }

    /// Starts listening on a port, a `(port, host)`, a local socket path, or a bound handle.
    ///
    /// Without a host (or with a path, or a handle) the socket is bound before `listen` returns, so
    /// `address()` is valid at once; with a host it is bound after name resolution, as in Node.
    /// `listening` follows on the loop.
    ///
    /// # Errors
    ///
    /// Never in place: as `error` events. `EADDRINUSE` (also for a stale socket file), `EACCES`,
    /// `EADDRNOTAVAIL`, `ENAMETOOLONG` (syscall `listen`); `ENOTFOUND` (syscall `getaddrinfo`);
    /// `ERR_SERVER_ALREADY_LISTEN` when already listening; `ERR_INVALID_ARG_VALUE` when the options
    /// have neither a port nor a path; `EINVAL` for an fd that is not a socket; `EAGAIN` when no
    /// thread can be started. A missing directory in a socket path is `EACCES`, as in Node. A
    /// failed `listen` leaves the server as it was: `listen` may be called again (for example
    /// from the `error` listener), and no `close` event follows the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")); // port 0: the OS picks a free port
    /// server.on_listening(|server| {
    ///     let address = server.address().unwrap();
    ///     println!("listening on {address}"); // e.g. 127.0.0.1:39753
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    ///
    /// Node's retry on `EADDRINUSE`, with [`set_timeout`](crate::set_timeout):
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap(); // someone else's port
    /// let port = busy.local_addr().unwrap().port();
    /// let busy = std::cell::RefCell::new(Some(busy));
    /// let server = nodenet::create_server(|_| {});
    /// server.on_error(move |server, err| {
    ///     assert_eq!(err.code(), "EADDRINUSE");
    ///     assert_eq!(err.to_string(), format!("listen EADDRINUSE: address already in use 127.0.0.1:{port}"));
    ///     drop(busy.borrow_mut().take()); // the other owner goes away...
    ///     let server = server.clone();
    ///     nodenet::set_timeout(Duration::from_millis(10), move || {
    ///         server.listen((port, "127.0.0.1")); // ...and we retry
    ///     });
    /// });
    /// server.listen((port, "127.0.0.1")).on_listening(|server| {
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn listen(&self, target: impl Into<ListenOptions>) -> &Self {
        let options = target.into();
        {
            let st = self.lock();
            // Node v20 looks a host up before it checks for a handle: a second listen with a host
            // made while the first one's lookup is pending binds nothing more and fails nothing.
            if st.binding.is_some() && options.host.is_some() {
                return self;
            }
            if st.listening.is_some() || st.binding.is_some() {
                drop(st);
                // Node throws here: the error comes before anything queued so far (such as the
                // first listen's `listening`), yet after the current listener, so that an `error`
                // listener added right after this call still gets it.
                if self.core.lref.is_current() {
                    let server = self.clone();
                    with_loop(|lp| {
                        lp.next_tick_first(Box::new(move || {
                            server.emit_error(Error::already_listening())
                        }))
                    });
                } else {
                    self.tick(|s| s.emit_error(Error::already_listening()));
                }
                return self;
            }
        }
        let backlog = options.backlog.min(i32::MAX as u32) as i32;
        let flags = TcpFlags {
            ipv6_only: options.ipv6_only,
            reuse_port: options.reuse_port,
            shared: options.exclusive == Some(false),
        };
        match options.target {
            ListenTarget::Missing => {
                self.tick(|s| {
                    s.emit_error(Error::new(
                        "ERR_INVALID_ARG_VALUE",
                        "The argument 'options' must have the property \"port\" or \"path\". Received {}",
                    ))
                });
            }
            ListenTarget::Port(port) => match options.host {
                None => self.finish_bind(bind_tcp_maybe_shared(None, port, backlog, flags)),
                Some(host) => self.listen_on_host(host, port, backlog, flags),
            },
            ListenTarget::Path(path) if flags.shared => self.finish_bind(
                shared_listeners::get_or_bind(ShareKey::Path(path.clone()), || {
                    bind_local(path, backlog)
                })
                .map(Bind::Shared),
            ),
            ListenTarget::Path(path) => self.finish_bind(bind_local(path, backlog).map(Bind::Own)),
            ListenTarget::Listener(listener) => {
                self.finish_bind(adopt(RawSocket::from(listener), backlog))
            }
            #[cfg(unix)]
            ListenTarget::Fd(fd) => {
                let adopted = crate::sys::adopt_socket_fd(fd)
                    .map_err(|e| Error::system(&e, "listen", None, None, Style::Described))
                    .and_then(|socket| adopt(socket, backlog));
                self.finish_bind(adopted);
            }
        }
        self
    }

    fn listen_on_host(&self, host: String, port: u16, backlog: i32, flags: TcpFlags) {
        let attempt = {
            let mut st = self.lock();
            st.attempts += 1;
            st.binding = Some(st.attempts);
            st.attempts
        };
        self.sync_ref();
        if let Ok(ip) = host.parse::<IpAddr>() {
            self.tick(move |s| s.bind_resolved(attempt, Ok(ip), port, backlog, flags));
            return;
        }
        let server = self.clone();
        let spawned = io_threads::spawn(
            format!("nodenet-lookup-{}", self.core.id),
            true,
            move || {
                let resolved = (host.as_str(), 0u16)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .map(|a| a.ip())
                    .ok_or_else(|| Error::not_found(&host));
                let lref = server.core.lref.clone();
                lref.schedule(move || {
                    server.bind_resolved(attempt, resolved, port, backlog, flags)
                });
            },
        );
        if let Err(e) = spawned {
            let error = Error::from_io(&e, "getaddrinfo");
            self.tick(move |s| s.bind_resolved(attempt, Err(error), port, backlog, flags));
        }
    }

    fn bind_resolved(
        &self,
        attempt: u64,
        resolved: Result<IpAddr, Error>,
        port: u16,
        backlog: i32,
        flags: TcpFlags,
    ) {
        {
            let mut st = self.lock();
            if st.binding != Some(attempt) {
                return;
            }
            st.binding = None;
        }
        match resolved {
            Ok(ip) => self.finish_bind(bind_tcp_maybe_shared(Some(ip), port, backlog, flags)),
            Err(error) => {
                self.sync_ref();
                self.emit_error(error);
            }
        }
    }

    fn finish_bind(&self, bound: Result<Bind, Error>) {
        let bound = bound.and_then(|bound| match bound {
            Bind::Own((socket, address, path)) => Ok((Arc::new(socket), address, path, None)),
            Bind::Shared(shared) => {
                let (wake, woken) =
                    crate::sys::wake_pair().map_err(|e| Error::from_io(&e, "listen"))?;
                let socket = Arc::clone(&shared.socket);
                let address = shared.address.clone();
                Ok((socket, address, None, Some((shared, wake, woken))))
            }
        });
        let (socket, address, path, shared) = match bound {
            Ok(bound) => bound,
            Err(error) => {
                self.sync_ref();
                self.tick(move |s| s.emit_error(error));
                return;
            }
        };
        crate::logging::log_event!(info, "server {} listening on {address}", self.core.id);
        let (shared, woken) = match shared {
            Some((shared, wake, woken)) => (Some((shared, wake)), Some(woken)),
            None => (None, None),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let generation = {
            let mut st = self.lock();
            st.closing = false;
            st.generation += 1;
            st.listening = Some(Listening {
                socket: Arc::clone(&socket),
                shared,
                stop: Arc::clone(&stop),
                acceptor: None,
                path,
                address,
            });
            st.generation
        };
        self.sync_ref();
        let (id, lref) = (self.core.id, self.core.lref.clone());
        let spawned = io_threads::spawn(format!("nodenet-accept-{id}"), false, move || {
            acceptor::run(socket, stop, id, lref, woken)
        });
        match spawned {
            Ok(handle) => {
                match self.lock().listening.as_mut() {
                    Some(listening) => listening.acceptor = Some(handle),
                    // Closed from another thread meanwhile: the stop flag is set and the listener
                    // shut down, so the acceptor exits by itself.
                    None => drop(handle),
                }
                // As Node's emitListeningNT: nothing if closed (or listening anew) meanwhile.
                self.tick(move |s| {
                    let current = {
                        let st = s.lock();
                        st.listening.is_some() && st.generation == generation
                    };
                    if current {
                        s.emit_simple(|l| &l.listening);
                    }
                })
            }
            Err(e) => {
                self.stop_listening();
                let error = Error::from_io(&e, "listen");
                self.tick(move |s| s.emit_error(error));
            }
        }
    }

    /// Closes the listening socket (wakes the acceptor); returns whether the server was running.
    fn stop_listening(&self) -> bool {
        let listening = {
            let mut st = self.lock();
            let was_binding = st.binding.take().is_some();
            match st.listening.take() {
                Some(listening) => Some(listening),
                None if was_binding => None,
                None => {
                    drop(st);
                    self.sync_ref();
                    return false;
                }
            }
        };
        if let Some(listening) = listening {
            release(listening);
        }
        self.sync_ref();
        true
    }

    /// Stops accepting at once (new connections are refused); `close` follows when the last
    /// connection has closed (Node's `server.close()`).
    ///
    /// When `close` returns, the listening socket is closed (the port can be listened on again;
    /// a socket shared with servers on other loops through
    /// [`ListenOptions::exclusive`](crate::ListenOptions::exclusive) closes with the last of them)
    /// and a local socket file is removed; [`Server::listening`] is false. Open connections are
    /// not touched: end or destroy them to let `close` come sooner. As in Node, closing a server
    /// that is not listening still emits `close` (see [`Server::close_with`] to tell the cases
    /// apart).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(0);
    /// server.on_close(|server| assert!(!server.listening()));
    /// server.close();
    /// assert!(!server.listening());
    /// nodenet::run().unwrap();
    /// ```
    pub fn close(&self) -> &Self {
        self.close_inner(None)
    }

    /// Like [`Server::close`], with a callback run at `close`: with `None` if the server was
    /// running, else with `ERR_SERVER_NOT_RUNNING`.
    ///
    /// # Errors
    ///
    /// The callback gets `ERR_SERVER_NOT_RUNNING` ("Server is not running.") when the server was
    /// not listening; this is not an `error` event.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (the callback is not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     server.close_with(|server, err| {
    ///         assert!(err.is_none()); // it was running
    ///         server.close_with(|_, err| {
    ///             assert_eq!(err.unwrap().code(), "ERR_SERVER_NOT_RUNNING");
    ///         });
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn close_with(&self, callback: impl FnOnce(&Server, Option<&Error>) + 'static) -> &Self {
        self.core.lref.assert_current("Server::close_with");
        let running = {
            let st = self.lock();
            st.listening.is_some() || st.binding.is_some()
        };
        let error = if running {
            None
        } else {
            Some(Error::server_not_running())
        };
        let mut callback = Some(callback);
        let once: CloseCallback = Box::new(move |server| {
            if let Some(callback) = callback.take() {
                callback(server, error.as_ref());
            }
        });
        self.local().close.add(once);
        self.close_inner(None)
    }

    fn close_inner(&self, _: Option<()>) -> &Self {
        let _hold = self.core.lref.hold();
        let running = self.stop_listening();
        let emit_now = {
            let mut st = self.lock();
            if running {
                st.closing = true;
            }
            st.connections == 0
        };
        if emit_now {
            let mut st = self.lock();
            st.closing = false;
            st.pending_closes += 1;
            drop(st);
            self.tick(|s| s.emit_close());
        }
        self
    }

    /// An accepted socket of this server was destroyed (any thread).
    pub(crate) fn connection_closed(&self) {
        let emit = {
            let mut st = self.lock();
            st.connections = st.connections.saturating_sub(1);
            let emit = st.closing && st.connections == 0 && st.listening.is_none();
            if emit {
                st.closing = false;
                st.pending_closes += 1;
            }
            emit
        };
        if emit {
            self.tick(|s| s.emit_close());
        }
    }

    /// A connection's loop was torn down: count it gone without emitting anything.
    pub(crate) fn connection_abandoned(&self) {
        crate::logging::log_event!(
            warn,
            "server {}: a connection was closed without being served (no thread for it)",
            self.core.id
        );
        let mut st = self.lock();
        st.connections = st.connections.saturating_sub(1);
    }

    fn emit_close(&self) {
        crate::logging::log_event!(info, "server {} closed", self.core.id);
        self.lock().pending_closes -= 1;
        let Some(local) = self.existing_local() else {
            return;
        };
        local.close.emit(|f| f(self));
        // Listeners are dropped once the server is idle for good: not listening again, and no
        // other `close` emit queued (a second `close()` emits `close` again, as in Node).
        let idle = {
            let st = self.lock();
            st.listening.is_none() && st.binding.is_none() && st.pending_closes == 0 && !st.closing
        };
        if idle {
            local.listening.clear();
            local.connection.clear();
            local.close.clear();
            local.error.clear();
            with_loop(|lp| lp.unregister(self.core.id));
            self.lock().attached = false;
        }
    }

    fn emit_error(&self, error: Error) {
        match self.existing_local() {
            Some(local) if !local.error.is_empty() => local.error.emit(|f| f(self, &error)),
            _ => with_loop(|lp| lp.report_unhandled(error)),
        }
    }

    fn emit_simple(&self, pick: impl Fn(&ServerLocal) -> &Listeners<ServerListener>) {
        if let Some(local) = self.existing_local() {
            pick(&local).emit(|f| f(self));
        }
    }

    fn handle_accepted(&self, stream: crate::sys::Stream) {
        let options = {
            let mut st = self.lock();
            // Accepted before `close()` reached the acceptor: still delivered while the server
            // waits for its connections, as Node would have accepted it in the same turn.
            if st.listening.is_none() && !st.closing {
                return;
            }
            if let Some(max) = st.max_connections
                && st.connections >= max
            {
                drop(st);
                let info = DropInfo::of(&stream);
                crate::logging::log_event!(
                    warn,
                    "server {}: connection from {}:{} dropped (max_connections {max})",
                    self.core.id,
                    info.remote_address,
                    info.remote_port
                );
                // Closed before `drop` is emitted, as in Node: the client sees its connection end.
                drop(stream);
                if let Some(local) = self.existing_local() {
                    local.drop.emit(|f| f(self, &info));
                }
                return;
            }
            // As Node's onconnection: a blocked peer is closed at once, with no event.
            if let Some(list) = &st.options.block_list
                && let Ok(Some(peer)) = stream.peer_addr().map(|a| a.as_socket())
                && list.check_ip(peer.ip())
            {
                drop(st);
                crate::logging::log_event!(
                    debug,
                    "server {}: connection from blocked address {peer} closed",
                    self.core.id
                );
                drop(stream);
                return;
            }
            st.connections += 1;
            st.options.clone()
        };
        let accepted = Socket::accepted(stream, self, &options);
        match accepted {
            Some(socket) => {
                crate::logging::log_event!(
                    debug,
                    "server {}: connection from {}:{}",
                    self.core.id,
                    socket.remote_address().unwrap_or_default(),
                    socket.remote_port().unwrap_or_default()
                );
                if let Some(local) = self.existing_local() {
                    local.connection.emit(|f| f(socket.clone()));
                }
            }
            // No thread could be started for it (thread or memory limits): the connection is
            // closed at once and the server carries on, as it does when accept(2) fails.
            None => self.connection_abandoned(),
        }
    }

    /// The bound address: `Address::Inet` for TCP, `Address::Path` for a local socket; `None` when not listening.
    ///
    /// With port 0 it tells the port the OS picked. A `listen` with a host binds after the host is
    /// resolved: `address()` is `None` until `listening`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// assert_eq!(server.address(), None);
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let address = server.address().unwrap();
    ///     assert_eq!(address.inet().unwrap().address, "127.0.0.1");
    ///     assert!(address.port().unwrap() > 0);
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn address(&self) -> Option<Address> {
        self.lock().listening.as_ref().map(|l| l.address.clone())
    }

    /// Whether the server is listening (Node's `server.listening`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// assert!(!server.listening());
    /// server.listen(0); // no host: bound at once
    /// assert!(server.listening());
    /// server.close();
    /// assert!(!server.listening());
    /// nodenet::run().unwrap();
    /// ```
    pub fn listening(&self) -> bool {
        self.lock().listening.is_some()
    }

    /// Lets `run()` return while the server is listening (Node's `server.unref()`).
    ///
    /// It may be called before `listen`. The server keeps listening (and accepting while the loop
    /// runs for other reasons); calling it twice has no more effect.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen((0, "127.0.0.1")).unref();
    /// nodenet::run().unwrap(); // returns although the server listens
    /// assert!(server.listening());
    /// ```
    pub fn unref(&self) -> &Self {
        self.lock().refd = false;
        self.sync_ref();
        self
    }

    /// Makes the server keep `run()` going again (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.unref().ref_();
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     server.close(); // without this, run() would not return
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn ref_(&self) -> &Self {
        self.lock().refd = true;
        self.sync_ref();
        self
    }

    /// Limits concurrent connections: past the limit, new connections are accepted and closed at
    /// once. `None` means no limit; `Some(0)` turns every connection away (as Node since v21).
    ///
    /// A connection turned away is reported by [`Server::on_drop`], never by `connection`; its
    /// client sees `connect` then `end` (Node's behaviour), not a refusal. Node v20 takes 0 as
    /// no limit; this follows later versions.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume(); // keeps the first connection open until its client ends
    /// });
    /// server.set_max_connections(Some(1));
    /// let dropped = Rc::new(Cell::new(0));
    /// let count = dropped.clone();
    /// server.on_drop(move |_, _| count.set(count.get() + 1));
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let first = nodenet::connect((port, "127.0.0.1"));
    ///     let server = server.clone();
    ///     first.on_connect(move |first| {
    ///         // Connected: the server counts it (or is about to). A second one is one too many.
    ///         let first = first.clone();
    ///         let server = server.clone();
    ///         nodenet::connect((port, "127.0.0.1")).resume().on_end(move |_| {
    ///             first.end(); // the second one was turned away: let the first go too
    ///             server.close();
    ///         });
    ///     });
    ///     first.resume();
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(dropped.get(), 1);
    /// ```
    pub fn set_max_connections(&self, max: Option<usize>) -> &Self {
        self.lock().max_connections = max;
        self
    }

    /// The connection limit set by [`Server::set_max_connections`] (Node's `server.maxConnections`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// assert_eq!(server.max_connections(), None);
    /// server.set_max_connections(Some(100));
    /// assert_eq!(server.max_connections(), Some(100));
    /// ```
    pub fn max_connections(&self) -> Option<usize> {
        self.lock().max_connections
    }

    /// The number of open connections, counted synchronously.
    ///
    /// A connection counts from its `connection` event until its socket is destroyed (before the
    /// socket's `close` event, as in Node); connections kept after [`Server::close`] still count.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::Server::new(Default::default());
    /// let me = server.clone();
    /// server.on_connection(move |socket| {
    ///     assert_eq!(me.connections(), 1);
    ///     socket.end();
    ///     me.close();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     nodenet::connect((port, "127.0.0.1")).resume();
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(server.connections(), 0);
    /// ```
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Node's asynchronous `server.getConnections(cb)`: `callback` runs on the loop with the count.
    ///
    /// The callback runs on the next turn of the loop, never inside this call. The count is
    /// always `Ok` (the `Result` is Node's `err` argument, kept for its shape).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (the callback is not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.get_connections(|server, count| {
    ///     assert_eq!(count.unwrap(), 0);
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn get_connections(&self, callback: impl FnOnce(&Server, Result<usize, Error>) + 'static) {
        self.core.lref.assert_current("Server::get_connections");
        let server = self.clone();
        with_loop(|lp| {
            lp.next_tick(Box::new(move || {
                let count = server.connections();
                callback(&server, Ok(count))
            }))
        });
    }

    /// Adds a `listening` listener: the server is bound and accepting.
    ///
    /// It comes on the loop after `listen` (never inside it), and again after each later
    /// successful `listen`.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.on_listening(|server| {
    ///     assert!(server.listening());
    ///     server.close();
    /// });
    /// server.listen((0, "127.0.0.1"));
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_listening(&self, f: impl FnMut(&Server) + 'static) -> &Self {
        self.local().listening.add(Box::new(f));
        self
    }

    /// Adds a `connection` listener: it receives each accepted socket.
    ///
    /// The socket is connected and already reading (unless
    /// [`ServerOptions::pause_on_connect`](crate::ServerOptions::pause_on_connect)); what arrives
    /// before a `data` listener is added is kept for it, up to the high-water mark. Accepted
    /// sockets never emit `connect`, `ready` or `lookup`.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::Server::new(Default::default());
    /// server.on_connection(|socket| {
    ///     assert_eq!(socket.remote_address().as_deref(), Some("127.0.0.1"));
    ///     socket.end_with("welcome\n");
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
    pub fn on_connection(&self, f: impl FnMut(Socket) + 'static) -> &Self {
        self.local().connection.add(Box::new(f));
        self
    }

    /// Adds a `close` listener: the server stopped listening and its last connection closed.
    ///
    /// It follows [`Server::close`] (also on a server that was not listening), not a failed
    /// `listen`. The server's listeners are dropped after it, unless the server listens again.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let closed = Rc::new(Cell::new(false));
    /// let flag = closed.clone();
    /// let server = nodenet::create_server(|_| {});
    /// server.on_close(move |_| flag.set(true));
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// assert!(closed.get());
    /// ```
    pub fn on_close(&self, f: impl FnMut(&Server) + 'static) -> &Self {
        self.local().close.add(Box::new(f));
        self
    }

    /// Adds a `drop` listener: a connection was turned away because of
    /// [`Server::set_max_connections`] (accepted, then closed at once; the client sees `end`).
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| unreachable!("turned away"));
    /// server.set_max_connections(Some(0)).on_drop(|server, info| {
    ///     println!("dropped {}:{}", info.remote_address, info.remote_port);
    ///     server.close();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_end(|_| println!("the server ended the connection"));
    ///     client.resume();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_drop(&self, f: impl FnMut(&Server, &DropInfo) + 'static) -> &Self {
        self.local().drop.add(Box::new(f));
        self
    }

    /// Adds an `error` listener (listen errors). Without one, an error makes `run()` return it.
    ///
    /// A server's errors come from `listen` (see [`Server::listen`] for the codes); no `close`
    /// follows them. Failures to accept a connection are not reported: the acceptor skips
    /// connections that failed and, when the process is out of file descriptors, waits and sheds
    /// pending connections instead of failing.
    ///
    /// # Panics
    ///
    /// When called on a thread other than the server's loop thread (listeners are not `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// let first = nodenet::create_server(|_| {});
    /// first.listen((0, "127.0.0.1")).on_listening(|first| {
    ///     let port = first.address().unwrap().port().unwrap();
    ///     let second = nodenet::create_server(|_| {});
    ///     let first = first.clone();
    ///     second.on_error(move |_, err| {
    ///         assert_eq!(err.code(), "EADDRINUSE");
    ///         assert_eq!(err.syscall(), Some("listen"));
    ///         first.close();
    ///     });
    ///     second.listen((port, "127.0.0.1"));
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn on_error(&self, f: impl FnMut(&Server, &Error) + 'static) -> &Self {
        self.local().error.add(Box::new(f));
        self
    }
}

impl Dispatch for Server {
    fn keeps_alive(&self) -> bool {
        let st = self.lock();
        st.refd && (st.listening.is_some() || st.binding.is_some())
    }

    fn abandon(&self) {
        let listening = {
            let mut st = self.lock();
            st.binding = None;
            st.closing = false;
            st.attached = false;
            st.listening.take()
        };
        if let Some(mut listening) = listening {
            // Not joined: this may run in a thread-local destructor, where joining a thread
            // deadlocks on Windows (the loader lock); the acceptor exits by itself.
            drop(listening.acceptor.take());
            release(listening);
        }
    }

    fn dispatch(&self, event: IoEvent) {
        if let IoEvent::Accepted(stream) = event {
            self.handle_accepted(stream);
        }
    }
}

impl PartialEq for Server {
    fn eq(&self, other: &Server) -> bool {
        Arc::ptr_eq(&self.core, &other.core)
    }
}

impl Eq for Server {}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Server")
            .field("id", &self.core.id)
            .field("address", &st.listening.as_ref().map(|l| &l.address))
            .field("connections", &st.connections)
            .finish()
    }
}

/// Stops the acceptor and closes the listening socket before returning (so the address can be
/// listened on again at once), then removes the socket file we created.
fn release(mut listening: Listening) {
    listening.stop.store(true, Ordering::Release);
    match &listening.shared {
        // Only this server's acceptor: the others go on with the shared socket.
        Some((_, wake)) => wake.wake(),
        None => crate::sys::wake_acceptor(&listening.socket),
    }
    if let Some(acceptor) = listening.acceptor.take() {
        let _ = acceptor.join();
    }
    if let Some(path) = &listening.path {
        crate::sys::remove_local_path(path);
    }
}

type Bound = (Listener, Address, Option<PathBuf>);

/// A listening socket of the server's own, or one shared with servers on other loops.
enum Bind {
    Own(Bound),
    Shared(Arc<SharedListener>),
}

/// `bind_tcp`, through the shared-listener registry when sharing is on.
fn bind_tcp_maybe_shared(
    ip: Option<IpAddr>,
    port: u16,
    backlog: i32,
    flags: TcpFlags,
) -> Result<Bind, Error> {
    if flags.shared {
        let key = ShareKey::Tcp(ip, port, flags.ipv6_only);
        shared_listeners::get_or_bind(key, || bind_tcp(ip, port, backlog, flags)).map(Bind::Shared)
    } else {
        bind_tcp(ip, port, backlog, flags).map(Bind::Own)
    }
}

fn listen_error(e: &io::Error, ip: Option<IpAddr>, port: u16) -> Error {
    let address = ip.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).to_string();
    Error::system(e, "listen", Some(address), Some(port), Style::Described)
}

/// Socket options of a TCP listener from `ListenOptions`.
#[derive(Clone, Copy, Debug)]
struct TcpFlags {
    ipv6_only: bool,
    reuse_port: bool,
    /// `exclusive(false)`: share the listener with servers on other loops.
    shared: bool,
}

/// Binds and listens on `ip:port`; without an IP, on `[::]` dual stack (or `0.0.0.0` without IPv6).
fn bind_tcp(ip: Option<IpAddr>, port: u16, backlog: i32, flags: TcpFlags) -> Result<Bound, Error> {
    let (socket, addr) = match ip {
        Some(ip) => {
            let addr = SocketAddr::new(ip, port);
            let socket =
                RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
                    .map_err(|e| listen_error(&e, Some(ip), port))?;
            (socket, addr)
        }
        None => match RawSocket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP)) {
            Ok(socket) => {
                // Node v20 ignores `ipv6Only` without a host: dual stack.
                socket
                    .set_only_v6(false)
                    .map_err(|e| listen_error(&e, None, port))?;
                (
                    socket,
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
                )
            }
            Err(_) => {
                let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
                let socket = RawSocket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
                    .map_err(|e| listen_error(&e, Some(addr.ip()), port))?;
                (socket, addr)
            }
        },
    };
    let fail = |e: io::Error| listen_error(&e, Some(addr.ip()), port);
    crate::sys::set_reuse_address(&socket).map_err(fail)?;
    if flags.ipv6_only && ip.is_some() && addr.is_ipv6() {
        socket.set_only_v6(true).map_err(fail)?;
    }
    if flags.reuse_port {
        crate::sys::set_reuse_port(&socket).map_err(fail)?;
    }
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(backlog).map_err(fail)?;
    let local = socket
        .local_addr()
        .map_err(fail)?
        .as_socket()
        .unwrap_or(addr);
    Ok((
        crate::sys::socket_listener(socket).map_err(fail)?,
        Address::Inet(AddressInfo::from_socket_addr(&local)),
        None,
    ))
}

/// Binds and listens on a local socket path; an existing file is never removed (EADDRINUSE).
fn bind_local(path: PathBuf, backlog: i32) -> Result<Bound, Error> {
    let shown = path.to_string_lossy().into_owned();
    let fail =
        |e: io::Error| Error::system(&e, "listen", Some(shown.clone()), None, Style::Described);
    let listener = crate::sys::bind_local(&path, backlog).map_err(fail)?;
    Ok((listener, Address::Path(shown.clone()), Some(path)))
}

/// Listens on an already bound socket (a `TcpListener` or an fd).
/// An adopted listening socket: another process may hold it too (see `handoff`), so it is used
/// as a shared one (woken, never shut down).
fn adopt(socket: RawSocket, backlog: i32) -> Result<Bind, Error> {
    let fail = |e: io::Error| Error::system(&e, "listen", None, None, Style::Plain);
    socket.listen(backlog).map_err(fail)?;
    let local = socket.local_addr().map_err(fail)?;
    let address = match local.as_socket() {
        Some(addr) => Address::Inet(AddressInfo::from_socket_addr(&addr)),
        None => Address::Path(crate::sys::socket_path(&local).unwrap_or_default()),
    };
    let listener = crate::sys::socket_listener(socket).map_err(fail)?;
    shared_listeners::adopted(listener, address).map(Bind::Shared)
}
