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

/// Options for `create_server_with` and `Server::new`; `Default` is Node's defaults.
///
/// # Examples
///
/// ```
/// let options = nodenet::ServerOptions::default().allow_half_open(true).pause_on_connect(true);
/// let server = nodenet::create_server_with(options, |socket| { socket.end(); });
/// # drop(server);
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
}

impl ServerOptions {
    /// Keeps accepted sockets writable after the peer ends (no automatic `end()`); default false.
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.allow_half_open = allow;
        self
    }

    /// Accepted sockets start paused: nothing is read until `resume()`; default false.
    pub fn pause_on_connect(mut self, pause: bool) -> Self {
        self.pause_on_connect = pause;
        self
    }

    /// Turns Nagle's algorithm off on every accepted socket (Node's `noDelay`); default false,
    /// which leaves the OS default (Nagle on).
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().no_delay(true);
    /// # drop(options);
    /// ```
    pub fn no_delay(mut self, no_delay: bool) -> Self {
        self.no_delay = no_delay;
        self
    }

    /// Enables TCP keep-alive on every accepted socket (Node's `keepAlive`); default false.
    pub fn keep_alive(mut self, enable: bool) -> Self {
        self.keep_alive = enable;
        self
    }

    /// The idle time before the first keep-alive probe, rounded down to whole seconds (Node's
    /// `keepAliveInitialDelay`); zero, the default, keeps the OS default. Only used with
    /// [`ServerOptions::keep_alive`].
    pub fn keep_alive_initial_delay(mut self, delay: Duration) -> Self {
        self.keep_alive_initial_delay = delay;
        self
    }

    /// The high-water mark of accepted sockets, for both reading and writing (Node's
    /// `highWaterMark`, default 16 KiB): `write()` returns false past it, and a paused or slow
    /// reader stops reading about this much ahead.
    ///
    /// ```
    /// let options = nodenet::ServerOptions::default().high_water_mark(64 * 1024);
    /// # drop(options);
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

/// Where and how `Server::listen` listens: a port (and host), a local socket path, or a bound handle.
///
/// # Examples
///
/// ```
/// use nodenet::ListenOptions;
/// let tcp = ListenOptions::port(0).host("127.0.0.1").backlog(128);
/// let local = ListenOptions::path("/tmp/nodenet-doc.sock");
/// # drop((tcp, local));
/// ```
#[derive(Debug)]
#[must_use = "options do nothing until passed to listen"]
pub struct ListenOptions {
    pub(crate) target: ListenTarget,
    pub(crate) host: Option<String>,
    pub(crate) backlog: u32,
    pub(crate) exclusive: bool,
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
            exclusive: false,
            ipv6_only: false,
            reuse_port: false,
        }
    }

    /// Listens on a TCP port (0 picks a free one) on every interface unless `host` is set.
    pub fn port(port: u16) -> Self {
        ListenOptions::with_target(ListenTarget::Port(port))
    }

    /// Listens on a local socket path (a unix socket).
    pub fn path(path: impl AsRef<Path>) -> Self {
        ListenOptions::with_target(ListenTarget::Path(path.as_ref().to_path_buf()))
    }

    /// Adopts an already bound (and possibly listening) file descriptor.
    #[cfg(unix)]
    pub fn fd(fd: std::os::fd::RawFd) -> Self {
        ListenOptions::with_target(ListenTarget::Fd(fd))
    }

    /// Sets the host (an IP address or a name to resolve); empty means every interface.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        self.host = if host.is_empty() { None } else { Some(host) };
        self
    }

    /// Sets the `listen(2)` backlog (default 511).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Listens on IPv6 only (Node's `ipv6Only`): without it, a server on `::` (the default with no
    /// host) also takes IPv4 connections, as IPv4-mapped addresses.
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
    pub fn reuse_port(mut self, reuse_port: bool) -> Self {
        self.reuse_port = reuse_port;
        self
    }

    /// Node's `exclusive` flag; it only matters when handles are shared across loops, so it is stored for now.
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
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

/// Where and how `connect` connects: a port (and host), or a local socket path.
///
/// # Examples
///
/// ```
/// use nodenet::ConnectOptions;
/// let tcp = ConnectOptions::port(8124).host("localhost").family(4);
/// let local = ConnectOptions::path("/tmp/nodenet-doc.sock");
/// # drop((tcp, local));
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
    pub fn port(port: u16) -> Self {
        ConnectOptions::with_target(ConnectTarget::Port(port))
    }

    /// Connects to a local socket path (a unix socket).
    pub fn path(path: impl AsRef<Path>) -> Self {
        ConnectOptions::with_target(ConnectTarget::Path(path.as_ref().to_path_buf()))
    }

    /// The host: an IP address or a name to resolve; empty means `"localhost"`, as in Node.
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
    pub fn local_address(mut self, address: impl Into<String>) -> Self {
        self.local_address = Some(address.into());
        self
    }

    /// Binds the socket to this local port before connecting.
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = port;
        self
    }

    /// Restricts name resolution to IPv4 (4) or IPv6 (6); 0 (the default) allows both.
    ///
    /// Any other value makes `connect` report `ERR_INVALID_ARG_VALUE`.
    pub fn family(mut self, family: u8) -> Self {
        self.family = family;
        self
    }

    /// Replaces the system resolver; it runs on the connecting I/O thread and returns every address to try.
    pub fn lookup(
        mut self,
        lookup: impl Fn(&str, u8) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static,
    ) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// Node's `timeout` option: `set_timeout(timeout)` before connecting.
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
    pub fn auto_select_family_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout.max(MIN_ATTEMPT_TIMEOUT);
        self
    }

    /// Node's `allowHalfOpen` for `net.connect(options)`: the created socket stays writable after the peer ends.
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

/// Options for `Socket::new`; `Default` is Node's defaults.
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
}

impl SocketOptions {
    /// Keeps the socket writable after the peer ends (no automatic `end()`); default false.
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.allow_half_open = allow;
        self
    }
}
