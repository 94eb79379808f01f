//! `Error`, and the one table that maps an `io::Error` to Node's code, errno and message.

use std::fmt;
use std::io;
use std::sync::Arc;

/// A Node-style error: a code such as `ECONNREFUSED` or `ERR_SERVER_NOT_RUNNING`, plus
/// the fields Node attaches (`errno`, `syscall`, `address`, `port`).
///
/// `Display` reads like Node's message, e.g. `connect ECONNREFUSED 127.0.0.1:8124`.
/// Cloning is cheap (the error is shared).
///
/// # Examples
///
/// ```
/// let err = nodenet::Error::new("ERR_SOCKET_CLOSED", "Socket is closed");
/// assert_eq!(err.code(), "ERR_SOCKET_CLOSED");
/// assert_eq!(err.to_string(), "Socket is closed");
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    code: String,
    errno: Option<i32>,
    syscall: Option<&'static str>,
    address: Option<String>,
    port: Option<u16>,
    hostname: Option<String>,
    kind: io::ErrorKind,
    message: String,
    /// The errors an aggregate error gathers (Node's `AggregateError.errors`).
    errors: Vec<Error>,
}

/// How a system error's message is laid out (Node has several helpers for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// `syscall CODE` (Node's `errnoException`).
    Plain,
    /// `syscall CODE address:port` (Node's `exceptionWithHostPort`).
    HostPort,
    /// `syscall CODE: description address:port` (Node's `uvExceptionWithHostPort`, used by listen).
    Described,
}

impl Error {
    /// Creates an error with a Node code (usually `ERR_*`) and a message.
    ///
    /// Useful with [`Socket::destroy_with`](crate::Socket::destroy_with). It has no errno, syscall,
    /// address or port; its [`kind`](Error::kind) is derived from the code (`InvalidInput` for
    /// `ERR_INVALID_ARG_VALUE`, `BrokenPipe` for `EPIPE`, ..., else `Other`).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = nodenet::Error::new("ERR_PROTOCOL", "bad frame");
    /// assert_eq!(err.code(), "ERR_PROTOCOL");
    /// assert_eq!(err.to_string(), "bad frame");
    /// assert_eq!(err.errno(), None);
    /// assert_eq!(err.kind(), std::io::ErrorKind::Other);
    /// ```
    pub fn new(code: &str, message: impl Into<String>) -> Error {
        Error::build(Inner {
            code: code.to_string(),
            errno: None,
            syscall: None,
            address: None,
            port: None,
            hostname: None,
            kind: kind_for_code(code),
            message: message.into(),
            errors: Vec::new(),
        })
    }

    fn build(inner: Inner) -> Error {
        Error {
            inner: Arc::new(inner),
        }
    }

    /// Maps an `io::Error` raised by `syscall` to Node's code, errno and message.
    pub(crate) fn from_io(err: &io::Error, syscall: &'static str) -> Error {
        Error::system(err, syscall, None, None, Style::Plain)
    }

    /// Like [`Error::from_io`], with the address (and port) the call was about.
    pub(crate) fn system(
        err: &io::Error,
        syscall: &'static str,
        address: Option<String>,
        port: Option<u16>,
        style: Style,
    ) -> Error {
        let (code, errno, description) = match err.raw_os_error().and_then(crate::sys::errno_entry)
        {
            Some(entry) => (
                entry.code.to_string(),
                Some(entry.errno),
                entry.description.to_string(),
            ),
            None => match err.raw_os_error() {
                Some(raw) => (
                    format!("Unknown system error {raw}"),
                    Some(-raw),
                    err.to_string(),
                ),
                None => (kind_code(err.kind()).to_string(), None, err.to_string()),
            },
        };
        let mut message = match style {
            Style::Described => format!("{syscall} {code}: {description}"),
            _ => format!("{syscall} {code}"),
        };
        if style != Style::Plain
            && let Some(address) = &address
        {
            message.push(' ');
            message.push_str(address);
            if let Some(port) = port.filter(|p| *p > 0) {
                message.push(':');
                message.push_str(&port.to_string());
            }
        }
        Error::build(Inner {
            code,
            errno,
            syscall: Some(syscall),
            address,
            port: port.filter(|p| *p > 0),
            hostname: None,
            kind: err.kind(),
            message,
            errors: Vec::new(),
        })
    }

    /// A DNS failure: `getaddrinfo ENOTFOUND host`.
    pub(crate) fn not_found(hostname: &str) -> Error {
        Error::build(Inner {
            code: "ENOTFOUND".into(),
            errno: Some(crate::sys::EAI_NONAME_ERRNO),
            syscall: Some("getaddrinfo"),
            address: None,
            port: None,
            hostname: Some(hostname.to_string()),
            kind: io::ErrorKind::NotFound,
            message: format!("getaddrinfo ENOTFOUND {hostname}"),
            errors: Vec::new(),
        })
    }

    /// Node's `ERR_SERVER_NOT_RUNNING`.
    pub(crate) fn server_not_running() -> Error {
        Error::new("ERR_SERVER_NOT_RUNNING", "Server is not running.")
    }

    /// Node's `ERR_SERVER_ALREADY_LISTEN`.
    pub(crate) fn already_listening() -> Error {
        Error::new(
            "ERR_SERVER_ALREADY_LISTEN",
            "Listen method has been called more than once without closing.",
        )
    }

    /// Node's `ERR_STREAM_WRITE_AFTER_END`.
    pub(crate) fn write_after_end() -> Error {
        Error::new("ERR_STREAM_WRITE_AFTER_END", "write after end")
    }

    /// Node's `ERR_STREAM_DESTROYED` for a write.
    pub(crate) fn stream_destroyed(method: &str) -> Error {
        Error::new(
            "ERR_STREAM_DESTROYED",
            format!("Cannot call {method} after a stream was destroyed"),
        )
    }

    /// Node's `ERR_SOCKET_CLOSED_BEFORE_CONNECTION`.
    pub(crate) fn closed_before_connection() -> Error {
        Error::new(
            "ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
            "Socket closed before the connection was established",
        )
    }

    /// The EPIPE Node reports for a write after the peer ended an auto-ended socket.
    pub(crate) fn ended_by_peer() -> Error {
        Error::new("EPIPE", "This socket has been ended by the other party")
    }

    /// Adds Node's `- Local (address:port)` suffix of a connect error.
    pub(crate) fn with_local(self, address: &str, port: u16) -> Error {
        let inner = &self.inner;
        Error::build(Inner {
            code: inner.code.clone(),
            errno: inner.errno,
            syscall: inner.syscall,
            address: inner.address.clone(),
            port: inner.port,
            hostname: inner.hostname.clone(),
            kind: inner.kind,
            message: format!("{} - Local ({address}:{port})", inner.message),
            errors: inner.errors.clone(),
        })
    }

    /// Node's `AggregateError` for a connection whose every attempt failed (happy eyeballs): the
    /// code is the first error's, the message is empty, and [`Error::errors`] lists them all.
    pub(crate) fn aggregate(errors: Vec<Error>) -> Error {
        let first = &errors[0];
        Error::build(Inner {
            code: first.code().to_string(),
            errno: None,
            syscall: None,
            address: None,
            port: None,
            hostname: None,
            kind: first.kind(),
            message: String::new(),
            errors,
        })
    }

    /// The errors gathered by an aggregate error, in order; empty for other errors.
    ///
    /// A connect with [`ConnectOptions::auto_select_family`](crate::ConnectOptions::auto_select_family)
    /// that tried several addresses and failed on each reports Node's `AggregateError`: its
    /// [`code`](Error::code) is the first attempt's, its message is empty, and this lists one
    /// error per attempt (`ETIMEDOUT` for an attempt that timed out).
    ///
    /// # Examples
    ///
    /// ```
    /// // A name that resolves to two addresses, on a port where nothing listens.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let options = nodenet::ConnectOptions::port(port)
    ///     .host("two.test")
    ///     .lookup(|_, _| Ok(vec!["127.0.0.1".parse().unwrap(), "::ffff:127.0.0.1".parse().unwrap()]));
    /// let client = nodenet::connect(options);
    /// client.on_error(|_, err| {
    ///     assert_eq!(err.code(), "ECONNREFUSED");
    ///     assert_eq!(err.message(), "");
    ///     let codes: Vec<&str> = err.errors().iter().map(|e| e.code()).collect();
    ///     assert_eq!(codes, ["ECONNREFUSED", "ECONNREFUSED"]);
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn errors(&self) -> &[Error] {
        &self.inner.errors
    }

    /// Node's error code: `"ECONNREFUSED"`, `"ERR_SERVER_NOT_RUNNING"`, ...
    ///
    /// System errors carry the OS error's name (`"ECONNRESET"`, `"EADDRINUSE"`, ...), the others
    /// Node's `ERR_*` code.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.close_with(|_, err| {
    ///     assert_eq!(err.unwrap().code(), "ERR_SERVER_NOT_RUNNING");
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn code(&self) -> &str {
        &self.inner.code
    }

    /// Node's numeric errno (negative on Unix, e.g. `-111` for `ECONNREFUSED` on Linux), for system errors.
    ///
    /// `None` for Node's `ERR_*` errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1")); // nothing listens there now
    /// client.on_error(|_, err| {
    ///     assert_eq!(err.code(), "ECONNREFUSED");
    ///     if cfg!(target_os = "linux") {
    ///         assert_eq!(err.errno(), Some(-111));
    ///     }
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn errno(&self) -> Option<i32> {
        self.inner.errno
    }

    /// The system call that failed (`"connect"`, `"listen"`, `"read"`, `"getaddrinfo"`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_error(|_, err| assert_eq!(err.syscall(), Some("connect")));
    /// nodenet::run().unwrap();
    /// ```
    pub fn syscall(&self) -> Option<&str> {
        self.inner.syscall
    }

    /// The address (or socket path) the failed call was about.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join("nodenet-doc-no-such.sock");
    /// let client = nodenet::connect(&path); // no such file
    /// let expected = path.to_str().unwrap().to_string();
    /// client.on_error(move |_, err| {
    ///     assert_eq!(err.code(), "ENOENT");
    ///     assert_eq!(err.address(), Some(expected.as_str()));
    ///     assert_eq!(err.port(), None);
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn address(&self) -> Option<&str> {
        self.inner.address.as_deref()
    }

    /// The port the failed call was about (absent when it was 0, as in Node).
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_error(move |_, err| {
    ///     assert_eq!(err.address(), Some("127.0.0.1"));
    ///     assert_eq!(err.port(), Some(port));
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.inner.port
    }

    /// The host name that could not be resolved (DNS errors).
    ///
    /// # Examples
    ///
    /// ```
    /// // A resolver that finds nothing: the connect fails with ENOTFOUND.
    /// let options = nodenet::ConnectOptions::port(80)
    ///     .host("nowhere.test")
    ///     .lookup(|_host, _family| Ok(Vec::new()));
    /// let client = nodenet::connect(options);
    /// client.on_error(|_, err| {
    ///     assert_eq!(err.code(), "ENOTFOUND");
    ///     assert_eq!(err.syscall(), Some("getaddrinfo"));
    ///     assert_eq!(err.hostname(), Some("nowhere.test"));
    ///     assert_eq!(err.to_string(), "getaddrinfo ENOTFOUND nowhere.test");
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn hostname(&self) -> Option<&str> {
        self.inner.hostname.as_deref()
    }

    /// The closest `std::io::ErrorKind`.
    ///
    /// `io::Error::from(error)` keeps it (with the `Error` as the source).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    ///
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_error(|_, err| {
    ///     assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    ///     let io: std::io::Error = err.clone().into();
    ///     assert_eq!(io.kind(), ErrorKind::ConnectionRefused);
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        self.inner.kind
    }

    /// Node's message, the same text as `Display`.
    ///
    /// # Examples
    ///
    /// ```
    /// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    /// let client = nodenet::connect((port, "127.0.0.1"));
    /// client.on_error(move |_, err| {
    ///     assert_eq!(err.message(), format!("connect ECONNREFUSED 127.0.0.1:{port}"));
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("code", &inner.code)
            .field("message", &inner.message);
        if let Some(errno) = inner.errno {
            d.field("errno", &errno);
        }
        if let Some(syscall) = inner.syscall {
            d.field("syscall", &syscall);
        }
        if let Some(address) = &inner.address {
            d.field("address", address);
        }
        if let Some(port) = inner.port {
            d.field("port", &port);
        }
        if let Some(hostname) = &inner.hostname {
            d.field("hostname", hostname);
        }
        d.finish()
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.kind(), err)
    }
}

fn kind_for_code(code: &str) -> io::ErrorKind {
    match code {
        "ERR_INVALID_ARG_VALUE"
        | "ERR_SOCKET_BAD_PORT"
        | "ERR_INVALID_ARG_TYPE"
        | "ERR_MISSING_ARGS"
        | "ERR_INVALID_IP_ADDRESS"
        | "ERR_INVALID_ADDRESS"
        | "ERR_INVALID_FD_TYPE"
        | "ERR_UNKNOWN_ENCODING"
        | "ERR_OUT_OF_RANGE" => io::ErrorKind::InvalidInput,
        "ERR_SOCKET_CLOSED" | "ERR_STREAM_DESTROYED" | "ERR_SOCKET_CLOSED_BEFORE_CONNECTION" => {
            io::ErrorKind::NotConnected
        }
        "ERR_STREAM_WRITE_AFTER_END" | "EPIPE" => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::Other,
    }
}

fn kind_code(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::NotFound => "ENOENT",
        io::ErrorKind::PermissionDenied => "EACCES",
        io::ErrorKind::ConnectionRefused => "ECONNREFUSED",
        io::ErrorKind::ConnectionReset => "ECONNRESET",
        io::ErrorKind::ConnectionAborted => "ECONNABORTED",
        io::ErrorKind::NotConnected => "ENOTCONN",
        io::ErrorKind::AddrInUse => "EADDRINUSE",
        io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        io::ErrorKind::BrokenPipe => "EPIPE",
        io::ErrorKind::TimedOut => "ETIMEDOUT",
        io::ErrorKind::InvalidInput => "EINVAL",
        _ => "UNKNOWN",
    }
}
