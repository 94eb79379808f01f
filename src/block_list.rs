//! `BlockList` (Node's `net.BlockList`): address, range and subnet rules that an IP address is
//! checked against.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::address::Family;
use crate::error::Error;
use crate::socket_address::{format_ip, invalid_address, parse_ip_any};

/// A set of rules (single addresses, ranges and subnets) for blocking IP addresses, as Node's
/// `net.BlockList`.
///
/// Node takes the family as an extra `'ipv4'`/`'ipv6'` argument; here it is inferred from the
/// text: an address that parses as IPv4 is IPv4, else it must parse as IPv6. The syntax is
/// Node's (libuv's `inet_pton`, not `is_ip`): IPv4 octets without leading zeros; IPv6 with
/// an optional zone id after `%`, which is ignored. Text that is neither is rejected with
/// Node's `ERR_INVALID_ADDRESS`, or makes [`check`](BlockList::check) return false.
///
/// Clones share the same rules (as a `BlockList` passed to a Node server is the same
/// object), and a `BlockList` may be used from any thread.
///
/// # IPv4-mapped IPv6 addresses
///
/// As in Node, an IPv4 address and its IPv4-mapped IPv6 form `::ffff:a.b.c.d` are one address
/// for every kind of rule, whichever side (rule or checked address) is IPv6:
///
/// * an address rule `10.0.0.1` matches `::ffff:10.0.0.1` (also written `::ffff:a00:1`), and
///   an address rule `::ffff:10.0.0.1` matches `10.0.0.1`;
/// * a range compares the two families through the mapped form, and an IPv6 bound that is not
///   IPv4-mapped never compares with an IPv4 address: the range `::-ffff::` does not match
///   `10.0.0.1`, and the range `10.0.0.1-::1` (accepted: the bounds do not compare) matches
///   nothing;
/// * an IPv4 subnet matches the mapped form of its addresses (`10.0.0.0/8` matches
///   `::ffff:10.1.2.3`, and `0.0.0.0/0` every mapped address, but not `::1`); an IPv6 subnet
///   matches an IPv4 address when it matches its mapped form (`::ffff:0:0/96` matches all of
///   IPv4, and so does `::/0`).
///
/// Other IPv6 forms of an IPv4 address (`::10.0.0.1`, `64:ff9b::10.0.0.1`) are plain IPv6.
///
/// # Examples
///
/// ```
/// let list = nodenet::BlockList::new();
/// list.add_address("123.123.123.123")?;
/// list.add_range("10.0.0.1", "10.0.0.10")?;
/// list.add_subnet("8592:757c:efae:4e45::", 64)?;
///
/// assert!(list.check("123.123.123.123"));
/// assert!(list.check("10.0.0.3"));
/// assert!(!list.check("222.111.111.222"));
/// assert!(list.check("8592:757c:efae:4e45::f"));
/// assert!(list.check("::ffff:7b7b:7b7b")); // 123.123.123.123, IPv4-mapped
/// assert_eq!(list.rules(), [
///     "Subnet: IPv6 8592:757c:efae:4e45::/64",
///     "Range: IPv4 10.0.0.1-10.0.0.10",
///     "Address: IPv4 123.123.123.123",
/// ]);
/// # Ok::<(), nodenet::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct BlockList {
    /// In insertion order; Node lists (and checks) the newest first.
    rules: Arc<RwLock<Vec<Rule>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Address(IpAddr),
    Range(IpAddr, IpAddr),
    Subnet(IpAddr, u8),
}

impl BlockList {
    /// Creates an empty list.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// assert!(list.rules().is_empty());
    /// assert!(!list.check("127.0.0.1"));
    /// ```
    pub fn new() -> BlockList {
        BlockList::default()
    }

    /// Adds a rule matching one address (Node's `blockList.addAddress(address, family)`).
    ///
    /// Adding the same address twice lists it twice, as in Node.
    ///
    /// # Errors
    ///
    /// `ERR_INVALID_ADDRESS` ("Invalid socket address") when `address` is not an IPv4 or IPv6
    /// address.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_address("::FFFF:10.0.0.1")?;
    /// assert_eq!(list.rules(), ["Address: IPv6 ::ffff:10.0.0.1"]);
    /// assert!(list.check("10.0.0.1"));
    /// assert_eq!(list.add_address("10.0.0.01").unwrap_err().code(), "ERR_INVALID_ADDRESS");
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn add_address(&self, address: &str) -> Result<(), Error> {
        let ip = parse_ip_any(address).ok_or_else(invalid_address)?;
        self.rules.write().push(Rule::Address(ip));
        Ok(())
    }

    /// Adds a rule matching every address from `start` to `end`, both included (Node's
    /// `blockList.addRange(start, end, family)`).
    ///
    /// The bounds may be of different families: see the type's notes on IPv4-mapped addresses.
    ///
    /// # Errors
    ///
    /// * `ERR_INVALID_ADDRESS` when `start` (checked first) or `end` is not an address.
    /// * `ERR_INVALID_ARG_VALUE` ("The argument 'start' must come before end. Received
    ///   SocketAddress { ... }") when `start` is greater than `end`.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_range("10.0.0.1", "10.0.0.10")?;
    /// assert!(list.check("10.0.0.10"));
    /// assert!(!list.check("10.0.0.11"));
    ///
    /// let err = list.add_range("10.0.0.2", "10.0.0.1").unwrap_err();
    /// assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
    /// assert_eq!(
    ///     err.message(),
    ///     "The argument 'start' must come before end. Received SocketAddress \
    ///      { address: '10.0.0.2', port: 0, family: 'ipv4', flowlabel: 0 }"
    /// );
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn add_range(&self, start: &str, end: &str) -> Result<(), Error> {
        let start = parse_ip_any(start).ok_or_else(invalid_address)?;
        let end = parse_ip_any(end).ok_or_else(invalid_address)?;
        if compare(start, end) == Some(std::cmp::Ordering::Greater) {
            return Err(Error::new(
                "ERR_INVALID_ARG_VALUE",
                format!(
                    "The argument 'start' must come before end. Received {}",
                    inspect_socket_address(start)
                ),
            ));
        }
        self.rules.write().push(Rule::Range(start, end));
        Ok(())
    }

    /// Adds a rule matching the addresses whose first `prefix` bits are those of `network`
    /// (Node's `blockList.addSubnet(net, prefix, family)`).
    ///
    /// # Errors
    ///
    /// * `ERR_INVALID_ADDRESS` when `network` is not an address.
    /// * `ERR_OUT_OF_RANGE` ("The value of "prefix" is out of range. It must be >= 0 && <= 32.
    ///   Received 33") when `prefix` exceeds 32 for IPv4 or 128 for IPv6.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_subnet("192.168.0.0", 16)?;
    /// assert!(list.check("192.168.7.7"));
    /// assert!(!list.check("192.169.0.1"));
    ///
    /// let err = list.add_subnet("10.0.0.0", 33).unwrap_err();
    /// assert_eq!(err.code(), "ERR_OUT_OF_RANGE");
    /// assert_eq!(
    ///     err.message(),
    ///     "The value of \"prefix\" is out of range. It must be >= 0 && <= 32. Received 33"
    /// );
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn add_subnet(&self, network: &str, prefix: u8) -> Result<(), Error> {
        let network = parse_ip_any(network).ok_or_else(invalid_address)?;
        let max = match network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return Err(Error::new(
                "ERR_OUT_OF_RANGE",
                format!(
                    "The value of \"prefix\" is out of range. It must be >= 0 && <= {max}. Received {prefix}"
                ),
            ));
        }
        self.rules.write().push(Rule::Subnet(network, prefix));
        Ok(())
    }

    /// Returns true if `address` matches a rule (Node's `blockList.check(address, family)`).
    ///
    /// Text that is not an IPv4 or IPv6 address is never blocked (false), as in Node.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_subnet("10.0.0.0", 8)?;
    /// assert!(list.check("10.20.30.40"));
    /// assert!(list.check("::ffff:10.20.30.40"));
    /// assert!(!list.check("11.0.0.1"));
    /// assert!(!list.check("not an address"));
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    #[must_use = "check only inspects the list"]
    pub fn check(&self, address: &str) -> bool {
        parse_ip_any(address).is_some_and(|ip| self.check_ip(ip))
    }

    /// Returns true if `ip` matches a rule: [`check`](BlockList::check) without the parsing,
    /// for the server's per-connection test (one read lock, no allocation).
    pub(crate) fn check_ip(&self, ip: IpAddr) -> bool {
        self.rules.read().iter().any(|rule| rule.applies(ip))
    }

    /// The rules as Node's `blockList.rules` lists them: newest first, e.g.
    /// `"Address: IPv4 10.0.0.1"`, `"Range: IPv4 10.0.0.1-10.0.0.9"`,
    /// `"Subnet: IPv6 fe80::/64"`, with addresses in Node's canonical form.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = nodenet::BlockList::new();
    /// list.add_address("10.0.0.1")?;
    /// list.add_range("0:0::1", "::00ff")?;
    /// assert_eq!(list.rules(), ["Range: IPv6 ::1-::ff", "Address: IPv4 10.0.0.1"]);
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn rules(&self) -> Vec<String> {
        self.rules
            .read()
            .iter()
            .rev()
            .map(Rule::to_string)
            .collect()
    }
}

impl fmt::Debug for BlockList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockList")
            .field("rules", &self.rules())
            .finish()
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = |ip: &IpAddr| Family::of(ip);
        match self {
            Rule::Address(ip) => write!(f, "Address: {} {}", family(ip), format_ip(*ip)),
            Rule::Range(start, end) => write!(
                f,
                "Range: {} {}-{}",
                family(start),
                format_ip(*start),
                format_ip(*end)
            ),
            Rule::Subnet(net, prefix) => {
                write!(f, "Subnet: {} {}/{prefix}", family(net), format_ip(*net))
            }
        }
    }
}

impl Rule {
    /// Node's `SocketAddressBlockList::*Rule::Apply`.
    fn applies(&self, ip: IpAddr) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        match *self {
            Rule::Address(rule) => compare(rule, ip) == Some(std::cmp::Ordering::Equal),
            Rule::Range(start, end) => {
                matches!(compare(ip, start), Some(o) if o != Less)
                    && matches!(compare(ip, end), Some(o) if o != Greater)
            }
            Rule::Subnet(net, prefix) => in_network(ip, net, prefix),
        }
    }
}

/// The IPv4 address an IPv6 address maps (`::ffff:a.b.c.d`), if it is one.
fn mapped_v4(ip: &std::net::Ipv6Addr) -> Option<[u8; 4]> {
    let o = ip.octets();
    (o[..10].iter().all(|&b| b == 0) && o[10] == 0xff && o[11] == 0xff)
        .then(|| [o[12], o[13], o[14], o[15]])
}

/// Node's `SocketAddress::compare`: `None` when an IPv6 address that is not IPv4-mapped is
/// compared with an IPv4 address.
fn compare(a: IpAddr, b: IpAddr) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => Some(a.octets().cmp(&b.octets())),
        (IpAddr::V6(a), IpAddr::V6(b)) => Some(a.octets().cmp(&b.octets())),
        (IpAddr::V4(a), IpAddr::V6(b)) => mapped_v4(&b).map(|b| a.octets().cmp(&b)),
        (IpAddr::V6(a), IpAddr::V4(b)) => mapped_v4(&a).map(|a| a.cmp(&b.octets())),
    }
}

/// True if the first `prefix` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// Node's `SocketAddress::is_in_network`: an IPv4 address is compared with an IPv6 network
/// through its mapped form, and an IPv6 address with an IPv4 network only if it is mapped.
fn in_network(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => prefix_eq(&ip.octets(), &net.octets(), prefix),
        (IpAddr::V6(ip), IpAddr::V6(net)) => prefix_eq(&ip.octets(), &net.octets(), prefix),
        (IpAddr::V4(ip), IpAddr::V6(net)) => {
            prefix_eq(&ip.to_ipv6_mapped().octets(), &net.octets(), prefix)
        }
        (IpAddr::V6(ip), IpAddr::V4(net)) => {
            mapped_v4(&ip).is_some_and(|ip| prefix_eq(&ip, &net.octets(), prefix))
        }
    }
}

/// `util.inspect` of the `SocketAddress` Node puts in the `addRange` error: one line when it
/// fits in 80 columns, else one property per line.
fn inspect_socket_address(ip: IpAddr) -> String {
    let address = format_ip(ip);
    let family = match ip {
        IpAddr::V4(_) => "ipv4",
        IpAddr::V6(_) => "ipv6",
    };
    let entries = [
        format!("address: '{address}'"),
        "port: 0".to_string(),
        format!("family: '{family}'"),
        "flowlabel: 0".to_string(),
    ];
    // util.inspect's isBelowBreakLength: entries + (entries + "{".len() + 10) + their lengths.
    let start = entries.len() + 1 + 10;
    let total = entries.len() + start + entries.iter().map(String::len).sum::<usize>();
    if total <= 80 {
        format!("SocketAddress {{ {} }}", entries.join(", "))
    } else {
        format!("SocketAddress {{\n  {}\n}}", entries.join(",\n  "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ip_answers_as_check() {
        let list = BlockList::new();
        list.add_address("10.0.0.1").unwrap();
        list.add_range("::ffff:192.168.0.1", "192.168.0.9").unwrap();
        list.add_subnet("2001:db8::", 32).unwrap();
        list.add_subnet("172.16.0.0", 12).unwrap();
        let probes = [
            ("10.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::10.0.0.1", false),
            ("10.0.0.2", false),
            ("192.168.0.5", true),
            ("::ffff:192.168.0.9", true),
            ("192.168.0.10", false),
            ("2001:db8:ffff::1", true),
            ("2001:db9::", false),
            ("172.31.255.255", true),
            ("::ffff:172.20.0.1", true),
            ("172.32.0.0", false),
        ];
        for (text, blocked) in probes {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(list.check_ip(ip), blocked, "check_ip({text})");
            assert_eq!(list.check(text), blocked, "check({text})");
        }
    }
}
