//! Address values: `Family`, `AddressInfo`, `Address`, and socket `ReadyState`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An IP address family, displayed as Node spells it (`"IPv4"`, `"IPv6"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    IPv4,
    /// IPv6.
    IPv6,
}

impl Family {
    /// The family of an IP address.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::IPv4,
            IpAddr::V6(_) => Family::IPv6,
        }
    }

    /// Node's numeric form: 4 or 6.
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
    /// The port, for a TCP endpoint.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Inet(info) => Some(info.port),
            Address::Path(_) => None,
        }
    }

    /// The IP endpoint, if this is one.
    pub fn inet(&self) -> Option<&AddressInfo> {
        match self {
            Address::Inet(info) => Some(info),
            Address::Path(_) => None,
        }
    }

    /// The path, if this is a local socket.
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

/// A socket's `readyState`, as Node computes it.
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
