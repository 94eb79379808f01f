//! Option builders (`ServerOptions`, `ListenOptions`, `ConnectOptions`, `SocketOptions`) and their conversions.

use crate::error::Error;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Node's default backlog for `listen(2)`.
pub(crate) const DEFAULT_BACKLOG: u32 = 511;

/// Options for [`create_server_with`](crate::create_server_with) and
/// [`Server::new`](crate::Server::new); `Default` is Node's defaults.
///
/// Node's `net.createServer(options)`: `allowHalfOpen`, `pauseOnConnect`, `noDelay`, `keepAlive`,
/// `keepAliveInitialDelay` and `highWaterMark`, each applied to every accepted socket.
///
/// # Examples
///
/// ```
/// let options = nodenet::ServerOptions::default().allow_half_open(true).pause_on_connect(true);
/// let server = nodenet::create_server_with(options, |socket| {
///     socket.resume().end();
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
#[derive(Clone, Debug, Default)]
#[must_use = "options do nothing until passed to a server"]
pub struct ServerOptions {
    pub(crate) allow_half_open: bool,
    pub(crate) pause_on_connect: bool,
    pub(crate) no_delay: bool,
    pub(crate) keep_alive: bool,
    pub(crate) keep_alive_initial_delay: Duration,
    pub(crate) high_water_mark: Option<usize>,
    pub(crate) block_list: Option<crate::BlockList>,
}

impl ServerOptions {
    /// Turns away connections from the addresses `list` blocks (Node's `blockList`): such a
    /// connection is accepted and closed at once, without a `connection` (or `drop`) event. The
    /// list is shared, so rules added later apply to later connections.
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_subnet("10.0.0.0", 8).unwrap();
    /// let options = nodenet::ServerOptions::default().block_list(list);
    /// # drop(options);
    /// ```
    pub fn block_list(mut self, list: crate::BlockList) -> Self {
        self.block_list = Some(list);
        self
    }

    /// Keeps accepted sockets writable after the peer ends (no automatic `end()`); default false.
    ///
    /// The socket's `end` event then leaves it in [`ReadyState::WriteOnly`](crate::ReadyState):
    /// call [`Socket::end`](crate::Socket::end) when done writing.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().allow_half_open(true);
    /// let server = nodenet::create_server_with(options, |socket| {
    ///     socket.resume().on_end(|socket| {
    ///         assert_eq!(socket.ready_state(), nodenet::ReadyState::WriteOnly);
    ///         socket.end_with("still writable\n");
    ///     });
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let server = server.clone();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.end().on_data(|_, chunk| assert_eq!(chunk.bytes(), b"still writable\n"));
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.allow_half_open = allow;
        self
    }

    /// Accepted sockets start paused: nothing is read until `resume()`; default false.
    ///
    /// Adding a `data` listener does not start the flow of a paused socket;
    /// [`Socket::resume`](crate::Socket::resume) (or [`Socket::pipe`](crate::Socket::pipe)) does.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().pause_on_connect(true);
    /// let server = nodenet::create_server_with(options, |socket| {
    ///     socket.on_data(|_, _| {}); // still paused
    ///     assert_eq!(socket.bytes_read(), 0);
    ///     socket.resume().end();
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
    pub fn pause_on_connect(mut self, pause: bool) -> Self {
        self.pause_on_connect = pause;
        self
    }

    /// Turns Nagle's algorithm off on every accepted socket (Node's `noDelay`); default false,
    /// which leaves the OS default (Nagle on).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().no_delay(true);
    /// let server = nodenet::create_server_with(options, |socket| {
    ///     socket.end_with("sent at once, without waiting for more\n");
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
    pub fn no_delay(mut self, no_delay: bool) -> Self {
        self.no_delay = no_delay;
        self
    }

    /// Enables TCP keep-alive on every accepted socket (Node's `keepAlive`); default false.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let options = nodenet::ServerOptions::default()
    ///     .keep_alive(true)
    ///     .keep_alive_initial_delay(Duration::from_secs(60));
    /// let server = nodenet::create_server_with(options, |socket| {
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
    pub fn keep_alive(mut self, enable: bool) -> Self {
        self.keep_alive = enable;
        self
    }

    /// The idle time before the first keep-alive probe, rounded down to whole seconds (Node's
    /// `keepAliveInitialDelay`); zero, the default, keeps the OS default. Only used with
    /// [`ServerOptions::keep_alive`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Probe connections idle for 10 s (1.5 s counts as 1 s).
    /// let options = nodenet::ServerOptions::default()
    ///     .keep_alive(true)
    ///     .keep_alive_initial_delay(Duration::from_secs(10));
    /// # drop(options);
    /// ```
    pub fn keep_alive_initial_delay(mut self, delay: Duration) -> Self {
        self.keep_alive_initial_delay = delay;
        self
    }

    /// The high-water mark of accepted sockets, for both reading and writing (Node's
    /// `highWaterMark`, default 16 KiB): `write()` returns false past it, and a paused or slow
    /// reader stops reading about this much ahead.
    ///
    /// Client sockets keep the default (16 KiB).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().high_water_mark(64 * 1024);
    /// let server = nodenet::create_server_with(options, |socket| {
    ///     // write() returns false only once 64 KiB or more are queued.
    ///     socket.write(vec![0u8; 32 * 1024]);
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
    pub fn high_water_mark(mut self, bytes: usize) -> Self {
        self.high_water_mark = Some(bytes);
        self
    }
}

/// What a server listens on.
#[derive(Debug)]
pub(crate) enum ListenTarget {
    /// Neither a port nor a path was given (Node's `ERR_INVALID_ARG_VALUE`).
    Missing,
    Port(u16),
    Path(PathBuf),
    Listener(std::net::TcpListener),
    #[cfg(unix)]
    Fd(std::os::fd::RawFd),
}

/// Where and how [`Server::listen`](crate::Server::listen) listens: a port (and host), a local
/// socket path, or a bound handle.
///
/// Node's `server.listen(options)`. `listen` also takes shorthands that convert into this: `u16`
/// (a port on every interface), `(u16, &str)` (port and host), `(u16, &str, u32)` (and backlog),
/// `&str`, `&Path` or `PathBuf` (a local socket path), and a `std::net::TcpListener`.
///
/// # Examples
///
/// ```
/// use nodenet::ListenOptions;
///
/// let server = nodenet::create_server(|_| {});
/// server.listen(ListenOptions::port(0).host("127.0.0.1").backlog(128));
/// server.on_listening(|server| {
///     server.close();
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Debug)]
#[must_use = "options do nothing until passed to listen"]
pub struct ListenOptions {
    pub(crate) target: ListenTarget,
    pub(crate) host: Option<String>,
    pub(crate) backlog: u32,
    pub(crate) exclusive: Option<bool>,
    pub(crate) ipv6_only: bool,
    pub(crate) reuse_port: bool,
}

impl Default for ListenOptions {
    /// Options with neither a port nor a path: `listen` reports `ERR_INVALID_ARG_VALUE`.
    fn default() -> Self {
        ListenOptions::with_target(ListenTarget::Missing)
    }
}

impl ListenOptions {
    fn with_target(target: ListenTarget) -> ListenOptions {
        ListenOptions {
            target,
            host: None,
            backlog: DEFAULT_BACKLOG,
            exclusive: None,
            ipv6_only: false,
            reuse_port: false,
        }
    }

    /// Listens on a TCP port (0 picks a free one) on every interface unless `host` is set.
    ///
    /// Without a host, the server listens on `::` (IPv6, also taking IPv4 connections as
    /// IPv4-mapped addresses) or, where IPv6 is unavailable, on `0.0.0.0`, as Node does.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(nodenet::ListenOptions::port(0));
    /// let address = server.address().unwrap(); // bound already: no host to resolve
    /// assert!(address.port().unwrap() > 0);
    /// server.close();
    /// nodenet::run().unwrap();
    /// ```
    pub fn port(port: u16) -> Self {
        ListenOptions::with_target(ListenTarget::Port(port))
    }

    /// Listens on a local socket path (a unix socket).
    ///
    /// The server creates the socket file and removes it when it closes. An existing file at the
    /// path is never removed: `listen` then fails with `EADDRINUSE`.
    ///
    /// # Examples
    ///
    /// ```ignore-windows
    /// let path = std::env::temp_dir().join(format!("nodenet-doc-lo-{}.sock", std::process::id()));
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(nodenet::ListenOptions::path(&path));
    /// assert!(path.exists());
    /// server.close();
    /// assert!(!path.exists());
    /// nodenet::run().unwrap();
    /// ```
    pub fn path(path: impl AsRef<Path>) -> Self {
        ListenOptions::with_target(ListenTarget::Path(path.as_ref().to_path_buf()))
    }

    /// Adopts an already bound (and possibly listening) file descriptor (Node's `listen({ fd })`).
    ///
    /// The server takes ownership of `fd` and closes it when it closes; the caller must not use
    /// or close it afterwards. A descriptor that is not a stream socket makes `listen` report
    /// `EINVAL` (the descriptor is then left alone).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::IntoRawFd;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let port = listener.local_addr().unwrap().port();
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(nodenet::ListenOptions::fd(listener.into_raw_fd()));
    /// assert_eq!(server.address().unwrap().port(), Some(port));
    /// server.close();
    /// nodenet::run().unwrap();
    /// ```
    #[cfg(unix)]
    pub fn fd(fd: std::os::fd::RawFd) -> Self {
        ListenOptions::with_target(ListenTarget::Fd(fd))
    }

    /// Sets the host (an IP address or a name to resolve); empty means every interface.
    ///
    /// With a host, the socket is bound after the name is resolved (on the next turn of the loop,
    /// even for an IP address, as in Node): `address()` is `None` until `listening`. A name is
    /// bound to its first address.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(nodenet::ListenOptions::port(0).host("127.0.0.1"));
    /// assert_eq!(server.address(), None); // not bound yet
    /// server.on_listening(|server| {
    ///     assert_eq!(server.address().unwrap().inet().unwrap().address, "127.0.0.1");
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        self.host = if host.is_empty() { None } else { Some(host) };
        self
    }

    /// Sets the `listen(2)` backlog (default 511): how many connections the kernel may queue
    /// before they are accepted (capped by the OS, e.g. `net.core.somaxconn` on Linux).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen(nodenet::ListenOptions::port(0).host("127.0.0.1").backlog(16));
    /// server.on_listening(|server| {
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Listens on IPv6 only (Node's `ipv6Only`): without it, a server on `::` also takes IPv4
    /// connections, as IPv4-mapped addresses. As in Node v20, it only applies with an IPv6
    /// [`host`](ListenOptions::host): without a host the server stays dual-stack.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ListenOptions::port(0).host("::").ipv6_only(true);
    /// # drop(options);
    /// ```
    pub fn ipv6_only(mut self, ipv6_only: bool) -> Self {
        self.ipv6_only = ipv6_only;
        self
    }

    /// Sets `SO_REUSEPORT` (Node's `reusePort`, v22.12+): several sockets, in this process or
    /// others, may listen on the same port and the kernel spreads connections across them. Off by
    /// default. Not available on every platform: there, `listen` fails with the OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ListenOptions::port(8124).reuse_port(true);
    /// # drop(options);
    /// ```
    pub fn reuse_port(mut self, reuse_port: bool) -> Self {
        self.reuse_port = reuse_port;
        self
    }

    /// Node's `exclusive` flag, for servers on several loops (threads) of one process, as Node's
    /// cluster workers: with `false`, servers that listen on the same port (and host), or the
    /// same path, all with `exclusive(false)`, share one listening socket, and each connection
    /// goes to one of them; this is how a nodenet server uses every core (see
    /// `examples/multi_loop.rs`). With `true`, or when not called, the server's socket is its own
    /// (a second server on the same port fails with `EADDRINUSE`).
    ///
    /// Unlike Node's cluster, port 0 is not shared: a server on port 0 gets a port of its own,
    /// which the others then join by number. The socket closes when the last server sharing it
    /// stops listening.
    ///
    /// ```
    /// let options = nodenet::ListenOptions::port(0).host("127.0.0.1").exclusive(false);
    /// # drop(options);
    /// ```
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = Some(exclusive);
        self
    }
}

impl From<u16> for ListenOptions {
    fn from(port: u16) -> Self {
        ListenOptions::port(port)
    }
}

impl From<(u16, &str)> for ListenOptions {
    fn from((port, host): (u16, &str)) -> Self {
        ListenOptions::port(port).host(host)
    }
}

impl From<(u16, &str, u32)> for ListenOptions {
    fn from((port, host, backlog): (u16, &str, u32)) -> Self {
        ListenOptions::port(port).host(host).backlog(backlog)
    }
}

impl From<&str> for ListenOptions {
    fn from(path: &str) -> Self {
        ListenOptions::path(path)
    }
}

impl From<&Path> for ListenOptions {
    fn from(path: &Path) -> Self {
        ListenOptions::path(path)
    }
}

impl From<PathBuf> for ListenOptions {
    fn from(path: PathBuf) -> Self {
        ListenOptions::with_target(ListenTarget::Path(path))
    }
}

impl From<&PathBuf> for ListenOptions {
    fn from(path: &PathBuf) -> Self {
        ListenOptions::path(path)
    }
}

impl From<std::net::TcpListener> for ListenOptions {
    fn from(listener: std::net::TcpListener) -> Self {
        ListenOptions::with_target(ListenTarget::Listener(listener))
    }
}

/// A custom resolver: `(host, family)` to every address, in preference order. Runs on an I/O thread.
pub(crate) type LookupFn = Arc<dyn Fn(&str, u8) -> io::Result<Vec<IpAddr>> + Send + Sync>;

/// Where a socket connects to.
#[derive(Clone, Debug)]
pub(crate) enum ConnectTarget {
    /// Neither a port nor a path (Node's `ERR_MISSING_ARGS`).
    Missing,
    Port(u16),
    Path(PathBuf),
}

/// Where and how [`connect`](crate::connect) connects: a port (and host), or a local socket path.
///
/// Node's `socket.connect(options)`. `connect` also takes shorthands that convert into this:
/// `u16` (a port on `localhost`), `(u16, &str)` or `(u16, String)` (port and host), and `&str`,
/// `&Path` or `PathBuf` (a local socket path).
///
/// # Examples
///
/// ```
/// use nodenet::ConnectOptions;
///
/// let server = nodenet::create_server(|socket| {
///     socket.end();
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let options = ConnectOptions::port(port).host("127.0.0.1").local_address("127.0.0.1");
///     let server = server.clone();
///     nodenet::connect(options).resume().on_close(move |_, _| {
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Clone)]
#[must_use = "options do nothing until passed to connect"]
pub struct ConnectOptions {
    pub(crate) target: ConnectTarget,
    pub(crate) host: String,
    pub(crate) local_address: Option<String>,
    pub(crate) local_port: u16,
    pub(crate) family: u8,
    pub(crate) lookup: Option<LookupFn>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) allow_half_open: Option<bool>,
    pub(crate) auto_select_family: bool,
    pub(crate) attempt_timeout: Duration,
}

/// Node's default `autoSelectFamilyAttemptTimeout`, and its smallest allowed value.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(250);
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(10);

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("target", &self.target)
            .field("host", &self.host)
            .field("local_address", &self.local_address)
            .field("local_port", &self.local_port)
            .field("family", &self.family)
            .field("lookup", &self.lookup.as_ref().map(|_| "<fn>"))
            .field("timeout", &self.timeout)
            .field("allow_half_open", &self.allow_half_open)
            .field("auto_select_family", &self.auto_select_family)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

impl Default for ConnectOptions {
    /// Options with neither a port nor a path: `connect` reports `ERR_MISSING_ARGS`.
    fn default() -> Self {
        ConnectOptions::with_target(ConnectTarget::Missing)
    }
}

impl ConnectOptions {
    fn with_target(target: ConnectTarget) -> ConnectOptions {
        ConnectOptions {
            target,
            host: "localhost".into(),
            local_address: None,
            local_port: 0,
            family: 0,
            lookup: None,
            timeout: None,
            allow_half_open: None,
            auto_select_family: true,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
        }
    }

    /// Connects to a TCP port on `host` (default `"localhost"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect(nodenet::ConnectOptions::port(port).host("127.0.0.1"));
    ///     client.on_connect(move |client| assert_eq!(client.remote_port(), Some(port)));
    ///     let server = server.clone();
    ///     client.resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn port(port: u16) -> Self {
        ConnectOptions::with_target(ConnectTarget::Port(port))
    }

    /// Connects to a local socket path (a unix socket).
    ///
    /// A missing file fails with `ENOENT`, a file nobody listens on with `ECONNREFUSED`.
    ///
    /// # Examples
    ///
    /// ```ignore-windows
    /// let path = std::env::temp_dir().join(format!("nodenet-doc-co-{}.sock", std::process::id()));
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("hi\n");
    /// });
    /// server.listen(&path);
    /// let client = nodenet::connect(nodenet::ConnectOptions::path(&path));
    /// client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"hi\n"));
    /// client.on_close(move |_, _| {
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn path(path: impl AsRef<Path>) -> Self {
        ConnectOptions::with_target(ConnectTarget::Path(path.as_ref().to_path_buf()))
    }

    /// The host: an IP address or a name to resolve; empty means `"localhost"`, as in Node.
    ///
    /// A name is resolved on the connecting thread (see [`ConnectOptions::lookup`] and
    /// [`ConnectOptions::auto_select_family`]); each address found is reported by a `lookup`
    /// event. An IP address is used as it is, without `lookup` event.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = nodenet::ConnectOptions::port(80).host("example.com");
    /// # drop(options);
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        self.host = if host.is_empty() {
            "localhost".into()
        } else {
            host
        };
        self
    }

    /// Binds the socket to this local IP address before connecting.
    ///
    /// An address that is not an IP address makes `connect` report `ERR_INVALID_IP_ADDRESS`; one
    /// that cannot be bound, the `bind` error (e.g. `EADDRNOTAVAIL`).
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
    ///     let options = nodenet::ConnectOptions::port(port)
    ///         .host("127.0.0.1")
    ///         .local_address("127.0.0.1");
    ///     let server = server.clone();
    ///     nodenet::connect(options).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn local_address(mut self, address: impl Into<String>) -> Self {
        self.local_address = Some(address.into());
        self
    }

    /// Binds the socket to this local port before connecting.
    ///
    /// A port in use makes the connect fail with `EADDRINUSE` (syscall `bind`).
    ///
    /// # Examples
    ///
    /// ```
    /// // A free port to bind the client to.
    /// let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let server = nodenet::create_server(move |socket| {
    ///     assert_eq!(socket.remote_port(), Some(free));
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(move |server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let options = nodenet::ConnectOptions::port(port)
    ///         .host("127.0.0.1")
    ///         .local_address("127.0.0.1")
    ///         .local_port(free);
    ///     let server = server.clone();
    ///     nodenet::connect(options).resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = port;
        self
    }

    /// Restricts name resolution to IPv4 (4) or IPv6 (6); 0 (the default) allows both.
    ///
    /// Any other value makes `connect` report `ERR_INVALID_ARG_VALUE`. With 4 or 6, only the first
    /// address of that family is tried (no happy eyeballs).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = nodenet::connect(nodenet::ConnectOptions::port(80).family(5));
    /// client.on_error(|_, err| assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE"));
    /// nodenet::run().unwrap();
    /// ```
    pub fn family(mut self, family: u8) -> Self {
        self.family = family;
        self
    }

    /// Replaces the system resolver; it runs on the connecting I/O thread and returns every address to try.
    ///
    /// It is called with the host and the [`family`](ConnectOptions::family) option (0, 4 or 6),
    /// and only for a host name (never for an IP address or a path). Addresses of another family
    /// than the one asked for are ignored. An `Err`, or no address, fails the connect with
    /// `ENOTFOUND` (syscall `getaddrinfo`), as the system resolver would.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let options = nodenet::ConnectOptions::port(port)
    ///         .host("db.internal")
    ///         .lookup(|host, _family| {
    ///             assert_eq!(host, "db.internal");
    ///             Ok(vec!["127.0.0.1".parse().unwrap()])
    ///         });
    ///     let client = nodenet::connect(options);
    ///     client.on_lookup(|_, result, host| {
    ///         assert_eq!(host, "db.internal");
    ///         assert_eq!(result.unwrap().0.to_string(), "127.0.0.1");
    ///     });
    ///     let server = server.clone();
    ///     client.resume().on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn lookup(
        mut self,
        lookup: impl Fn(&str, u8) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static,
    ) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// Node's `timeout` option: `set_timeout(timeout)` before connecting.
    ///
    /// The idle timer runs during the connect too, so it also reports a connect that takes too
    /// long; as with [`Socket::set_timeout`](crate::Socket::set_timeout), the `timeout` event does
    /// not close the socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = nodenet::create_server(|_socket| {}); // never says anything
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let options = nodenet::ConnectOptions::port(port)
    ///         .host("127.0.0.1")
    ///         .timeout(Duration::from_millis(20));
    ///     let client = nodenet::connect(options);
    ///     client.on_timeout(|client| {
    ///         client.destroy();
    ///     });
    ///     let server = server.clone();
    ///     client.on_close(move |_, had_error| {
    ///         assert!(!had_error);
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Happy eyeballs (Node's `autoSelectFamily`, on by default since Node v20): when the host
    /// resolves to several addresses, they are tried one after the other, alternating IPv6 and
    /// IPv4 (starting with the family of the first answer), each given
    /// [`auto_select_family_attempt_timeout`](ConnectOptions::auto_select_family_attempt_timeout)
    /// before the next is tried; the first to connect wins.
    ///
    /// Each address is reported by a `lookup` event, each attempt by `connection_attempt` and
    /// then `connection_attempt_failed` or `connection_attempt_timeout`. When every attempt
    /// fails, the `error` is Node's `AggregateError` (see [`Error::errors`]; a timed-out attempt
    /// counts as `ETIMEDOUT`). It does not apply with [`family`](ConnectOptions::family) 4 or 6
    /// or a [`local_address`](ConnectOptions::local_address); off, only the first address is
    /// tried.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = nodenet::ConnectOptions::port(80)
    ///     .host("localhost")
    ///     .auto_select_family(true)
    ///     .auto_select_family_attempt_timeout(Duration::from_millis(100));
    /// # drop(options);
    /// ```
    pub fn auto_select_family(mut self, enable: bool) -> Self {
        self.auto_select_family = enable;
        self
    }

    /// How long each happy-eyeballs attempt may take before the next address is tried (Node's
    /// `autoSelectFamilyAttemptTimeout`): default 250 ms; values under 10 ms count as 10 ms, as
    /// in Node.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let options = nodenet::ConnectOptions::port(80)
    ///     .host("example.com")
    ///     .auto_select_family_attempt_timeout(Duration::from_millis(100));
    /// # drop(options);
    /// ```
    pub fn auto_select_family_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout.max(MIN_ATTEMPT_TIMEOUT);
        self
    }

    /// Node's `allowHalfOpen` for `net.connect(options)`: the created socket stays writable after the peer ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume().end(); // ends first
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let options = nodenet::ConnectOptions::port(port).host("127.0.0.1").allow_half_open(true);
    ///     let client = nodenet::connect(options);
    ///     client.resume().on_end(|client| {
    ///         assert_eq!(client.ready_state(), nodenet::ReadyState::WriteOnly);
    ///         client.end_with("last words");
    ///     });
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.allow_half_open = Some(allow);
        self
    }

    /// Checks the options as Node does before connecting.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if matches!(self.target, ConnectTarget::Missing) {
            return Err(Error::new(
                "ERR_MISSING_ARGS",
                "The \"options\" or \"port\" or \"path\" argument must be specified",
            ));
        }
        if !matches!(self.family, 0 | 4 | 6) {
            return Err(Error::new(
                "ERR_INVALID_ARG_VALUE",
                format!(
                    "The property 'options.family' must be one of: 0, 4, 6. Received {}",
                    self.family
                ),
            ));
        }
        if let Some(local) = &self.local_address
            && crate::ip::is_ip(local) == 0
        {
            return Err(Error::new(
                "ERR_INVALID_IP_ADDRESS",
                format!("Invalid IP address: {local}"),
            ));
        }
        Ok(())
    }
}

impl From<u16> for ConnectOptions {
    fn from(port: u16) -> Self {
        ConnectOptions::port(port)
    }
}

impl From<(u16, &str)> for ConnectOptions {
    fn from((port, host): (u16, &str)) -> Self {
        ConnectOptions::port(port).host(host)
    }
}

impl From<(u16, String)> for ConnectOptions {
    fn from((port, host): (u16, String)) -> Self {
        ConnectOptions::port(port).host(host)
    }
}

impl From<&str> for ConnectOptions {
    fn from(path: &str) -> Self {
        ConnectOptions::path(path)
    }
}

impl From<&Path> for ConnectOptions {
    fn from(path: &Path) -> Self {
        ConnectOptions::path(path)
    }
}

impl From<PathBuf> for ConnectOptions {
    fn from(path: PathBuf) -> Self {
        ConnectOptions::with_target(ConnectTarget::Path(path))
    }
}

impl From<&PathBuf> for ConnectOptions {
    fn from(path: &PathBuf) -> Self {
        ConnectOptions::path(path)
    }
}

/// Options for [`Socket::new`](crate::Socket::new); `Default` is Node's defaults.
///
/// Of Node's `new net.Socket(options)`, `allowHalfOpen` and `fd` are supported (`readable`,
/// `writable`, `signal`, `onread`, `noDelay`, `keepAlive` are not; use the socket's setters for
/// the last two).
///
/// # Examples
///
/// ```
/// let socket = nodenet::Socket::new(nodenet::SocketOptions::default().allow_half_open(true));
/// # drop(socket);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "options do nothing until passed to Socket::new"]
pub struct SocketOptions {
    pub(crate) allow_half_open: bool,
    #[cfg(unix)]
    pub(crate) fd: Option<std::os::fd::RawFd>,
}

impl SocketOptions {
    /// Keeps the socket writable after the peer ends (no automatic `end()`); default false.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Socket, SocketOptions};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.resume().end();
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = Socket::new(SocketOptions::default().allow_half_open(true));
    ///     client.connect((port, "127.0.0.1")).resume();
    ///     client.on_end(|client| {
    ///         client.end_with("written after the server ended");
    ///     });
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.allow_half_open = allow;
        self
    }

    /// Wraps an already connected stream socket (Node's `new net.Socket({ fd })`), for example
    /// one received from another process with [`handoff::receive`](crate::handoff::receive):
    /// the socket is open at once (no `connect` event) and reads as an accepted socket does.
    ///
    /// The socket takes ownership of `fd` and closes it. An fd that is not a stream socket makes
    /// the socket emit `error` with `ERR_INVALID_FD_TYPE` (Node throws), then `close`; the fd is
    /// then left alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::os::fd::IntoRawFd;
    ///
    /// // A connection made with std, handed to nodenet.
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (accepted, _) = listener.accept().unwrap();
    /// let socket = nodenet::Socket::new(nodenet::SocketOptions::default().fd(accepted.into_raw_fd()));
    /// socket.end_with("hello from an adopted fd\n");
    /// let reader = std::thread::spawn(move || {
    ///     let mut text = String::new();
    ///     peer.read_to_string(&mut text).unwrap(); // until our FIN; then the peer closes
    ///     text
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(reader.join().unwrap(), "hello from an adopted fd\n");
    /// ```
    #[cfg(unix)]
    pub fn fd(mut self, fd: std::os::fd::RawFd) -> Self {
        self.fd = Some(fd);
        self
    }
}
