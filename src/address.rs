//! Address values: `Family`, `AddressInfo`, `Address`, and socket `ReadyState`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An IP address family, displayed as Node spells it (`"IPv4"`, `"IPv6"`).
///
/// # Examples
///
/// ```
/// use nodenet::Family;
///
/// assert_eq!(Family::IPv6.to_string(), "IPv6");
/// assert_eq!(Family::of(&"127.0.0.1".parse().unwrap()), Family::IPv4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    IPv4,
    /// IPv6.
    IPv6,
}

impl Family {
    /// The family of an IP address.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::Family;
    /// use std::net::IpAddr;
    ///
    /// assert_eq!(Family::of(&"::1".parse::<IpAddr>().unwrap()), Family::IPv6);
    /// ```
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::IPv4,
            IpAddr::V6(_) => Family::IPv6,
        }
    }

    /// Node's numeric form: 4 or 6.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nodenet::Family::IPv4.number(), 4);
    /// assert_eq!(nodenet::Family::IPv6.number(), 6);
    /// ```
    pub fn number(self) -> u8 {
        match self {
            Family::IPv4 => 4,
            Family::IPv6 => 6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::IPv4 => "IPv4",
            Family::IPv6 => "IPv6",
        })
    }
}

/// An IP endpoint as Node's `address()` returns it: `{ address, family, port }`.
///
/// `Display` gives `address:port`, with the address in brackets for IPv6 (`[::1]:80`).
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|_| {});
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let address = server.address().unwrap();
///     let info = address.inet().unwrap();
///     assert_eq!(info.address, "127.0.0.1");
///     assert_eq!(info.family, nodenet::Family::IPv4);
///     assert_ne!(info.port, 0);
///     assert_eq!(info.to_string(), format!("127.0.0.1:{}", info.port));
///     server.close();
/// });
/// nodenet::run().unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddressInfo {
    /// The IP address as text (`"127.0.0.1"`, `"::"`, `"::ffff:127.0.0.1"`).
    pub address: String,
    /// The address family.
    pub family: Family,
    /// The port.
    pub port: u16,
}

impl AddressInfo {
    pub(crate) fn from_socket_addr(addr: &SocketAddr) -> AddressInfo {
        AddressInfo {
            address: addr.ip().to_string(),
            family: Family::of(&addr.ip()),
            port: addr.port(),
        }
    }
}

impl fmt::Display for AddressInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::IPv4 => write!(f, "{}:{}", self.address, self.port),
            Family::IPv6 => write!(f, "[{}]:{}", self.address, self.port),
        }
    }
}

/// What `Server::address` and `Socket::address` return: an IP endpoint or a local socket path.
///
/// # Examples
///
/// ```
/// use nodenet::{Address, AddressInfo, Family};
/// let a = Address::Inet(AddressInfo { address: "127.0.0.1".into(), family: Family::IPv4, port: 80 });
/// assert_eq!(a.port(), Some(80));
/// assert_eq!(a.to_string(), "127.0.0.1:80");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP endpoint.
    Inet(AddressInfo),
    /// A local (unix socket) path.
    Path(String),
}

impl Address {
    /// The port, for a TCP endpoint; `None` for a local socket path.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|_| {});
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap(); // the port the OS picked
    ///     assert_ne!(port, 0);
    ///     server.close();
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(nodenet::Address::Path("/tmp/a.sock".into()).port(), None);
    /// ```
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Inet(info) => Some(info.port),
            Address::Path(_) => None,
        }
    }

    /// The IP endpoint, if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Address, AddressInfo, Family};
    ///
    /// let info = AddressInfo { address: "::1".into(), family: Family::IPv6, port: 80 };
    /// assert_eq!(Address::Inet(info.clone()).inet(), Some(&info));
    /// assert_eq!(Address::Path("/tmp/a.sock".into()).inet(), None);
    /// ```
    pub fn inet(&self) -> Option<&AddressInfo> {
        match self {
            Address::Inet(info) => Some(info),
            Address::Path(_) => None,
        }
    }

    /// The path, if this is a local socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let address = nodenet::Address::Path("/tmp/echo.sock".into());
    /// assert_eq!(address.path(), Some("/tmp/echo.sock"));
    /// assert_eq!(address.to_string(), "/tmp/echo.sock");
    /// ```
    pub fn path(&self) -> Option<&str> {
        match self {
            Address::Inet(_) => None,
            Address::Path(path) => Some(path),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(info) => info.fmt(f),
            Address::Path(path) => f.write_str(path),
        }
    }
}

/// A socket's `readyState`, as Node computes it; `Display` gives Node's string (`"readOnly"`, ...).
///
/// # Examples
///
/// ```
/// use nodenet::{ReadyState, Socket, SocketOptions};
///
/// let socket = Socket::new(SocketOptions::default());
/// assert_eq!(socket.ready_state(), ReadyState::Open); // Node's value for a new socket
/// socket.destroy();
/// assert_eq!(socket.ready_state(), ReadyState::Closed);
/// assert_eq!(ReadyState::WriteOnly.to_string(), "writeOnly");
/// nodenet::run().unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// Connecting.
    Opening,
    /// Readable and writable (also an unconnected new socket, as in Node).
    Open,
    /// Readable only: we called `end()`.
    ReadOnly,
    /// Writable only: the peer ended and `allow_half_open` kept us open.
    WriteOnly,
    /// Neither: ended both ways, or destroyed.
    Closed,
}

impl fmt::Display for ReadyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadyState::Opening => "opening",
            ReadyState::Open => "open",
            ReadyState::ReadOnly => "readOnly",
            ReadyState::WriteOnly => "writeOnly",
            ReadyState::Closed => "closed",
        })
    }
}
