//! `SocketAddress` (Node's `net.SocketAddress`), and the address text handling it shares with
//! `BlockList`: libuv's `inet_pton`/`inet_ntop` and the WHATWG URL host parser behind
//! `SocketAddress.parse`.
//!
//! Node builds a `SocketAddress` in C++ with libuv's `uv_ip4_addr`/`uv_ip6_addr`, which parse
//! with libuv's own `inet_pton` (not Node's `isIP` regexes), and prints it back with
//! `inet_ntop`. Both are reproduced here byte for byte, quirks included:
//!
//! * the text ends at its first NUL character (the C++ side sees a C string);
//! * IPv4 is four decimal octets without leading zeros (`01.2.3.4` is rejected);
//! * IPv6 may carry a zone after `%`, which is ignored whatever it contains (`::1%`, `::1%%é`);
//!   when the part before `%` is 40 bytes or longer, only its first 39 bytes are parsed;
//! * an IPv6 address is printed lowercase with the longest run of two or more zero groups
//!   compressed, and in dotted form for `::a.b.c.d` and `::ffff:a.b.c.d`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::address::Family;
use crate::error::Error;

/// An IP socket address as Node's `net.SocketAddress` holds it: address text, port, family and
/// IPv6 flow label.
///
/// The address text is Node's canonical form (`inet_ntop`): `"127.0.0.1"`, `"::1"`,
/// `"::ffff:10.0.0.1"`, `"fe80::1"` (a zone id is accepted on input and dropped).
///
/// The default is Node's `new SocketAddress()`: `127.0.0.1`, port 0, IPv4, flow label 0.
///
/// # Examples
///
/// ```
/// use nodenet::{Family, SocketAddress};
///
/// let a = SocketAddress::parse("[0:0::1]:8080").unwrap();
/// assert_eq!((a.address(), a.port(), a.family()), ("::1", 8080, Family::IPv6));
///
/// let d = SocketAddress::default();
/// assert_eq!((d.address(), d.port(), d.family()), ("127.0.0.1", 0, Family::IPv4));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SocketAddress {
    address: String,
    port: u16,
    ip: IpAddr,
    flowlabel: u32,
}

/// The largest IPv6 flow label (20 bits).
const MAX_FLOWLABEL: u32 = 0xF_FFFF;

impl SocketAddress {
    /// Parses `"address:port"` the way Node's `SocketAddress.parse` (v22.13+) does, or returns `None`.
    ///
    /// Node parses `"http://" + input` as a WHATWG URL and keeps its host and port, so:
    /// an IPv6 address needs brackets (`"[::1]:80"`); a missing port is 0, and so is port 80,
    /// the default port of `http:`; a host name (`"localhost:80"`) is rejected; the URL
    /// parser's IPv4 forms are accepted (`"127.1"`, `"0x7f.0.0.1"`, `"%31.2.3.4"`, full-width
    /// digits); anything after the port (`/path`, `?query`, `#hash`) and credentials before an
    /// `@` are ignored. The flow label is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Family, SocketAddress};
    ///
    /// let a = SocketAddress::parse("127.0.0.1:8080").unwrap();
    /// assert_eq!((a.address(), a.port(), a.family()), ("127.0.0.1", 8080, Family::IPv4));
    ///
    /// let b = SocketAddress::parse("[::1]:443").unwrap();
    /// assert_eq!((b.address(), b.port(), b.family()), ("::1", 443, Family::IPv6));
    ///
    /// assert_eq!(SocketAddress::parse("127.1").unwrap().address(), "127.0.0.1");
    /// assert_eq!(SocketAddress::parse("10.0.0.1:80").unwrap().port(), 0); // http's default port
    /// assert!(SocketAddress::parse("::1").is_none()); // IPv6 needs brackets
    /// assert!(SocketAddress::parse("localhost:80").is_none());
    /// assert!(SocketAddress::parse("1.2.3.4:65536").is_none());
    /// ```
    #[must_use = "parse only inspects its input"]
    pub fn parse(input: &str) -> Option<SocketAddress> {
        let (ip, port) = url::parse_host_port(input)?;
        Some(SocketAddress::from_ip(ip, port, 0))
    }

    /// Creates a socket address, as Node's `new net.SocketAddress({ address, port, family, flowlabel })`.
    ///
    /// `address` must be an address of `family` in libuv's syntax (see the module notes: no
    /// leading zeros in IPv4, an optional zone id after `%` in IPv6). The flow label is kept for
    /// IPv6 only; Node reports 0 for IPv4 whatever was given.
    ///
    /// # Errors
    ///
    /// * `ERR_INVALID_ADDRESS` ("Invalid socket address") when `address` is not an address of
    ///   `family`.
    /// * `ERR_OUT_OF_RANGE` when `family` is IPv6 and `flowlabel` does not fit in 20 bits.
    ///   Node v20 aborts the whole process on such a label (a failed C++ assertion); this
    ///   returns the error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Family, SocketAddress};
    ///
    /// let a = SocketAddress::new("fe80::0001%eth0", 80, Family::IPv6, 7)?;
    /// assert_eq!((a.address(), a.port(), a.flowlabel()), ("fe80::1", 80, 7));
    ///
    /// let err = SocketAddress::new("::1", 80, Family::IPv4, 0).unwrap_err();
    /// assert_eq!(err.code(), "ERR_INVALID_ADDRESS");
    /// assert_eq!(err.message(), "Invalid socket address");
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn new(
        address: &str,
        port: u16,
        family: Family,
        flowlabel: u32,
    ) -> Result<SocketAddress, Error> {
        let ip = parse_ip(address, family).ok_or_else(invalid_address)?;
        if family == Family::IPv6 && flowlabel > MAX_FLOWLABEL {
            return Err(Error::new(
                "ERR_OUT_OF_RANGE",
                format!(
                    "The value of \"options.flowlabel\" is out of range. It must be >= 0 && <= {MAX_FLOWLABEL}. Received {flowlabel}"
                ),
            ));
        }
        Ok(SocketAddress::from_ip(ip, port, flowlabel))
    }

    fn from_ip(ip: IpAddr, port: u16, flowlabel: u32) -> SocketAddress {
        SocketAddress {
            address: format_ip(ip),
            port,
            ip,
            flowlabel: if ip.is_ipv6() { flowlabel } else { 0 },
        }
    }

    /// The address in Node's canonical text form (`"127.0.0.1"`, `"::1"`, `"::ffff:1.2.3.4"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = nodenet::SocketAddress::parse("[::FFFF:0102:0304]").unwrap();
    /// assert_eq!(a.address(), "::ffff:1.2.3.4");
    /// ```
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The port (0 when none was given).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(nodenet::SocketAddress::parse("1.2.3.4:8080").unwrap().port(), 8080);
    /// assert_eq!(nodenet::SocketAddress::parse("1.2.3.4").unwrap().port(), 0);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address family.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Family, SocketAddress};
    /// assert_eq!(SocketAddress::parse("[::]:1").unwrap().family(), Family::IPv6);
    /// assert_eq!(SocketAddress::parse("0.0.0.0:1").unwrap().family(), Family::IPv4);
    /// ```
    pub fn family(&self) -> Family {
        Family::of(&self.ip)
    }

    /// The IPv6 flow label (always 0 for IPv4).
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::{Family, SocketAddress};
    /// assert_eq!(SocketAddress::new("::1", 0, Family::IPv6, 5)?.flowlabel(), 5);
    /// assert_eq!(SocketAddress::new("1.2.3.4", 0, Family::IPv4, 5)?.flowlabel(), 0);
    /// # Ok::<(), nodenet::Error>(())
    /// ```
    pub fn flowlabel(&self) -> u32 {
        self.flowlabel
    }

    /// The address as a `std::net::IpAddr`.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = nodenet::SocketAddress::parse("127.0.0.1:80").unwrap();
    /// assert_eq!(a.ip(), std::net::IpAddr::from([127, 0, 0, 1]));
    /// ```
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Default for SocketAddress {
    fn default() -> SocketAddress {
        SocketAddress::from_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 0)
    }
}

impl fmt::Display for SocketAddress {
    /// `address:port`, with the IPv6 address in brackets (`[::1]:80`), so that
    /// [`SocketAddress::parse`] reads it back (except port 80, which it reads as 0).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(_) => write!(f, "{}:{}", self.address, self.port),
            IpAddr::V6(_) => write!(f, "[{}]:{}", self.address, self.port),
        }
    }
}

/// Node's `ERR_INVALID_ADDRESS`, thrown by the C++ `SocketAddress` constructor.
pub(crate) fn invalid_address() -> Error {
    Error::new("ERR_INVALID_ADDRESS", "Invalid socket address")
}

/// Parses `text` as an address of `family` exactly as Node's C++ `SocketAddress` does
/// (`uv_ip4_addr` / `uv_ip6_addr` on the text as a C string).
pub(crate) fn parse_ip(text: &str, family: Family) -> Option<IpAddr> {
    let bytes = text.as_bytes();
    // The C++ side receives a NUL-terminated copy: the text ends at its first NUL.
    let bytes = match bytes.iter().position(|&b| b == 0) {
        Some(nul) => &bytes[..nul],
        None => bytes,
    };
    match family {
        Family::IPv4 => inet_pton4(bytes).map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        Family::IPv6 => {
            // uv_ip6_addr: a zone id after '%' is resolved with if_nametoindex (an unknown
            // name is silently 0) and never printed; the address part is copied into a
            // 40-byte buffer, so it is cut to 39 bytes.
            let addr = match bytes.iter().position(|&b| b == b'%') {
                Some(pct) => &bytes[..pct.min(39)],
                None => bytes,
            };
            inet_pton6(addr).map(|o| IpAddr::V6(Ipv6Addr::from(o)))
        }
    }
}

/// Parses `text` as IPv4, else as IPv6 (Node's C++ `SocketAddress::New(host, ...)` order);
/// the two syntaxes never overlap.
pub(crate) fn parse_ip_any(text: &str) -> Option<IpAddr> {
    parse_ip(text, Family::IPv4).or_else(|| parse_ip(text, Family::IPv6))
}

/// libuv's `inet_pton4`.
fn inet_pton4(src: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut index = 0usize;
    let mut octets = 0;
    let mut saw_digit = false;
    for &ch in src {
        if ch.is_ascii_digit() {
            let value = u32::from(out[index]) * 10 + u32::from(ch - b'0');
            if saw_digit && out[index] == 0 {
                return None; // leading zero
            }
            out[index] = u8::try_from(value).ok()?;
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
        } else if ch == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            index += 1;
            out[index] = 0;
            saw_digit = false;
        } else {
            return None;
        }
    }
    (octets == 4).then_some(out)
}

/// libuv's `inet_pton6` (ISC's): groups of 1-4 hex digits, one `::`, an IPv4 tail.
fn inet_pton6(src: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut pos = 0usize;
    // A leading "::" needs special handling.
    if src.first() == Some(&b':') {
        if src.get(1) != Some(&b':') {
            return None;
        }
        pos = 1;
    }
    let mut curtok = pos;
    let mut seen_xdigits = 0;
    let mut val: u32 = 0;
    while let Some(&ch) = src.get(pos) {
        pos += 1;
        if let Some(digit) = (ch as char).to_digit(16) {
            val = (val << 4) | digit;
            seen_xdigits += 1;
            if seen_xdigits > 4 {
                return None;
            }
            continue;
        }
        if ch == b':' {
            curtok = pos;
            if seen_xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if pos == src.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            out[tp] = (val >> 8) as u8;
            out[tp + 1] = val as u8;
            tp += 2;
            seen_xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.'
            && tp + 4 <= 16
            && let Some(v4) = inet_pton4(&src[curtok..])
        {
            out[tp..tp + 4].copy_from_slice(&v4);
            tp += 4;
            seen_xdigits = 0;
            break;
        }
        return None;
    }
    if seen_xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        out[tp] = (val >> 8) as u8;
        out[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(colon) = colonp {
        if tp == 16 {
            return None;
        }
        // Move the groups after "::" to the end.
        let n = tp - colon;
        out.copy_within(colon..tp, 16 - n);
        out[colon..16 - n].fill(0);
        tp = 16;
    }
    (tp == 16).then_some(out)
}

/// Node's text form of an address (`inet_ntop`, as `SocketAddress.address` and
/// `BlockList.rules` print it).
pub(crate) fn format_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format_ipv6(&v6.octets()),
    }
}

/// `inet_ntop6`: lowercase hex, the first longest run of two or more zero groups as `::`, and
/// the dotted form for `::a.b.c.d` (six zero groups) and `::ffff:a.b.c.d`.
fn format_ipv6(octets: &[u8; 16]) -> String {
    use fmt::Write;
    let words: [u16; 8] =
        std::array::from_fn(|i| u16::from_be_bytes([octets[2 * i], octets[2 * i + 1]]));
    // The first longest run of zero words.
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_base = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::with_capacity(39);
    for (i, word) in words.iter().enumerate() {
        if let Some(base) = best_base
            && (base..base + best_len).contains(&i)
        {
            if i == base {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))
        {
            let _ = write!(
                out,
                "{}.{}.{}.{}",
                octets[12], octets[13], octets[14], octets[15]
            );
            return out;
        }
        let _ = write!(out, "{word:x}");
    }
    if best_base.is_some_and(|base| base + best_len == 8) {
        out.push(':');
    }
    out
}

/// The part of the WHATWG URL parser that `SocketAddress.parse` depends on: the host and port
/// of `"http://" + input`.
mod url {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// `URL.parse("http://" + input)`'s host (when it is an IP address) and port (0 when
    /// absent or 80). `None` when the URL is invalid or its host is a domain name.
    pub(super) fn parse_host_port(input: &str) -> Option<(IpAddr, u16)> {
        // Leading and trailing C0 controls and spaces are trimmed from the whole URL (the
        // leading side is "http://"), then every tab and newline is removed.
        let trimmed = input.trim_end_matches(|c: char| c <= ' ');
        let cleaned: String = trimmed
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        // "http://" leads to the "special authority ignore slashes" state.
        let rest = cleaned.trim_start_matches(['/', '\\']);
        // Authority: up to the first '/', '\', '?' or '#'.
        let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        // Credentials end at the last '@'; a '@' must be followed by a host.
        let host_and_port = match authority.rfind('@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        // Host state: a ':' outside brackets starts the port.
        let mut inside_brackets = false;
        let mut colon = None;
        for (i, c) in host_and_port.char_indices() {
            match c {
                '[' => inside_brackets = true,
                ']' => inside_brackets = false,
                ':' if !inside_brackets => {
                    colon = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let (host, port_text) = match colon {
            Some(i) => (&host_and_port[..i], Some(&host_and_port[i + 1..])),
            None => (host_and_port, None),
        };
        if host.is_empty() {
            return None;
        }
        let ip = parse_host(host)?;
        // Port state: only digits, at most 65535; "" and http's default 80 mean no port.
        let port = match port_text {
            None | Some("") => 0,
            Some(digits) => {
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut value: u32 = 0;
                for b in digits.bytes() {
                    value = value * 10 + u32::from(b - b'0');
                    if value > 65535 {
                        return None;
                    }
                }
                if value == 80 { 0 } else { value as u16 }
            }
        };
        Some((ip, port))
    }

    /// The host parser for a special URL, returning only IP hosts (a domain gives `None`, as
    /// Node's `new SocketAddress({ address: domain })` then throws).
    fn parse_host(host: &str) -> Option<IpAddr> {
        if let Some(inner) = host.strip_prefix('[') {
            let inner = inner.strip_suffix(']')?;
            return parse_ipv6(inner).map(|w| IpAddr::V6(Ipv6Addr::from(w)));
        }
        let decoded = percent_decode(host.as_bytes());
        let domain = String::from_utf8_lossy(&decoded);
        let ascii = domain_to_ascii(&domain)?;
        if ascii.is_empty() || ascii.bytes().any(is_forbidden_domain_byte) {
            return None;
        }
        if !ends_in_number(&ascii) {
            return None; // a domain name
        }
        parse_ipv4(&ascii).map(|v| IpAddr::V4(Ipv4Addr::from(v)))
    }

    fn percent_decode(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        let mut i = 0;
        while i < input.len() {
            if input[i] == b'%'
                && i + 2 < input.len()
                && input[i + 1].is_ascii_hexdigit()
                && input[i + 2].is_ascii_hexdigit()
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(input[i + 1]) * 16 + hex(input[i + 2]));
                i += 3;
            } else {
                out.push(input[i]);
                i += 1;
            }
        }
        out
    }

    /// UTS #46 "domain to ASCII", restricted to what can still end up an IP address: ASCII is
    /// lowercased, and a non-ASCII code point either maps to ASCII drawn from `[0-9a-fx.]` (or
    /// to nothing) per [`MAPPED`]/[`IGNORED`], or makes the host something other than an IP
    /// address (`None`).
    fn domain_to_ascii(domain: &str) -> Option<String> {
        let mut out = String::with_capacity(domain.len());
        for c in domain.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            let cp = u32::from(c);
            if IGNORED.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp)) {
                continue;
            }
            let (mapped, _) = MAPPED.iter().find(|(_, cps)| cps.contains(&cp))?;
            out.push_str(mapped);
        }
        Some(out)
    }

    /// Forbidden domain code points (ASCII ones; non-ASCII never gets here).
    fn is_forbidden_domain_byte(b: u8) -> bool {
        b <= 0x20
            || b == 0x7f
            || matches!(
                b,
                b'#' | b'/'
                    | b':'
                    | b'<'
                    | b'>'
                    | b'?'
                    | b'@'
                    | b'['
                    | b'\\'
                    | b']'
                    | b'^'
                    | b'|'
                    | b'%'
            )
    }

    fn ends_in_number(host: &str) -> bool {
        let mut parts: Vec<&str> = host.split('.').collect();
        if parts.last() == Some(&"") {
            if parts.len() == 1 {
                return false;
            }
            parts.pop();
        }
        let last = parts.last().copied().unwrap_or("");
        if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        parse_ipv4_number(last).is_some()
    }

    /// An IPv4 number: decimal, `0x` hex or `0` octal; saturates (anything huge fails later).
    fn parse_ipv4_number(input: &str) -> Option<u64> {
        if input.is_empty() {
            return None;
        }
        let (digits, radix) =
            if input.len() >= 2 && (input.starts_with("0x") || input.starts_with("0X")) {
                (&input[2..], 16)
            } else if input.len() >= 2 && input.starts_with('0') {
                (&input[1..], 8)
            } else {
                (input, 10)
            };
        if digits.is_empty() {
            return Some(0);
        }
        let mut value: u64 = 0;
        for c in digits.chars() {
            let d = c.to_digit(radix)?;
            value = value
                .saturating_mul(u64::from(radix))
                .saturating_add(u64::from(d));
        }
        Some(value)
    }

    fn parse_ipv4(host: &str) -> Option<u32> {
        let mut parts: Vec<&str> = host.split('.').collect();
        if parts.last() == Some(&"") && parts.len() > 1 {
            parts.pop();
        }
        if parts.len() > 4 {
            return None;
        }
        let numbers = parts
            .iter()
            .map(|p| parse_ipv4_number(p))
            .collect::<Option<Vec<u64>>>()?;
        let (last, init) = numbers.split_last()?;
        if init.iter().any(|&n| n > 255) {
            return None;
        }
        if *last >= 256u64.pow(5 - numbers.len() as u32) {
            return None;
        }
        let mut ipv4 = *last;
        for (counter, n) in init.iter().enumerate() {
            ipv4 += n * 256u64.pow(3 - counter as u32);
        }
        u32::try_from(ipv4).ok()
    }

    /// The WHATWG IPv6 parser.
    fn parse_ipv6(input: &str) -> Option<[u16; 8]> {
        let s: Vec<char> = input.chars().collect();
        let at = |p: usize| s.get(p).copied();
        let mut address = [0u16; 8];
        let mut piece = 0usize;
        let mut compress: Option<usize> = None;
        let mut p = 0usize;
        if at(0) == Some(':') {
            if at(1) != Some(':') {
                return None;
            }
            p += 2;
            piece += 1;
            compress = Some(piece);
        }
        while at(p).is_some() {
            if piece == 8 {
                return None;
            }
            if at(p) == Some(':') {
                if compress.is_some() {
                    return None;
                }
                p += 1;
                piece += 1;
                compress = Some(piece);
                continue;
            }
            let mut value: u32 = 0;
            let mut length = 0;
            while length < 4 {
                match at(p).and_then(|c| c.to_digit(16)) {
                    Some(d) => {
                        value = value * 16 + d;
                        p += 1;
                        length += 1;
                    }
                    None => break,
                }
            }
            if at(p) == Some('.') {
                if length == 0 {
                    return None;
                }
                p -= length;
                if piece > 6 {
                    return None;
                }
                let mut numbers_seen = 0;
                while at(p).is_some() {
                    let mut ipv4_piece: Option<u32> = None;
                    if numbers_seen > 0 {
                        if at(p) == Some('.') && numbers_seen < 4 {
                            p += 1;
                        } else {
                            return None;
                        }
                    }
                    if !at(p).is_some_and(|c| c.is_ascii_digit()) {
                        return None;
                    }
                    while let Some(d) = at(p).and_then(|c| c.to_digit(10)) {
                        ipv4_piece = match ipv4_piece {
                            None => Some(d),
                            Some(0) => return None,
                            Some(v) => Some(v * 10 + d),
                        };
                        if ipv4_piece.is_some_and(|v| v > 255) {
                            return None;
                        }
                        p += 1;
                    }
                    let v = ipv4_piece.unwrap_or(0);
                    address[piece] = address[piece].wrapping_mul(0x100).wrapping_add(v as u16);
                    numbers_seen += 1;
                    if numbers_seen == 2 || numbers_seen == 4 {
                        piece += 1;
                    }
                }
                if numbers_seen != 4 {
                    return None;
                }
                break;
            } else if at(p) == Some(':') {
                p += 1;
                at(p)?;
            } else if at(p).is_some() {
                return None;
            }
            address[piece] = value as u16;
            piece += 1;
        }
        if let Some(c) = compress {
            let mut swaps = piece - c;
            piece = 7;
            while piece != 0 && swaps > 0 {
                address.swap(piece, c + swaps - 1);
                piece -= 1;
                swaps -= 1;
            }
        } else if piece != 8 {
            return None;
        }
        Some(address)
    }

    /// Non-ASCII code points that the URL host parser (UTS #46, as in Node v20) deletes.
    /// Generated by `tests/node/idna_ip_chars.js` (Node v20.20.2).
    const IGNORED: &[(u32, u32)] = &[
        (0xAD, 0xAD),
        (0x34F, 0x34F),
        (0x180B, 0x180D),
        (0x180F, 0x180F),
        (0x200B, 0x200B),
        (0x2060, 0x2060),
        (0x2064, 0x2064),
        (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF),
        (0x1BCA0, 0x1BCA3),
        (0xE0100, 0xE01EF),
    ];

    /// Non-ASCII code points that the URL host parser (UTS #46, as in Node v20) maps to ASCII
    /// made only of `[0-9a-fx.]`, by mapping. Generated by `tests/node/idna_ip_chars.js`.
    const MAPPED: &[(&str, &[u32])] = &[
        (".", &[0x3002, 0xFF0E, 0xFF61]),
        (
            "0",
            &[
                0x2070, 0x2080, 0x24EA, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
                0x1FBF0,
            ],
        ),
        (
            "1",
            &[
                0xB9, 0x2081, 0x2460, 0xFF11, 0x1D7CF, 0x1D7D9, 0x1D7E3, 0x1D7ED, 0x1D7F7, 0x1FBF1,
            ],
        ),
        ("10", &[0x2469]),
        ("11", &[0x246A]),
        ("12", &[0x246B]),
        ("13", &[0x246C]),
        ("14", &[0x246D]),
        ("15", &[0x246E]),
        ("16", &[0x246F]),
        ("17", &[0x2470]),
        ("18", &[0x2471]),
        ("19", &[0x2472]),
        (
            "2",
            &[
                0xB2, 0x2082, 0x2461, 0xFF12, 0x1D7D0, 0x1D7DA, 0x1D7E4, 0x1D7EE, 0x1D7F8, 0x1FBF2,
            ],
        ),
        ("20", &[0x2473]),
        ("21", &[0x3251]),
        ("22", &[0x3252]),
        ("23", &[0x3253]),
        ("24", &[0x3254]),
        ("25", &[0x3255]),
        ("26", &[0x3256]),
        ("27", &[0x3257]),
        ("28", &[0x3258]),
        ("29", &[0x3259]),
        (
            "3",
            &[
                0xB3, 0x2083, 0x2462, 0xFF13, 0x1D7D1, 0x1D7DB, 0x1D7E5, 0x1D7EF, 0x1D7F9, 0x1FBF3,
            ],
        ),
        ("30", &[0x325A]),
        ("31", &[0x325B]),
        ("32", &[0x325C]),
        ("33", &[0x325D]),
        ("34", &[0x325E]),
        ("35", &[0x325F]),
        ("36", &[0x32B1]),
        ("37", &[0x32B2]),
        ("38", &[0x32B3]),
        ("39", &[0x32B4]),
        (
            "4",
            &[
                0x2074, 0x2084, 0x2463, 0xFF14, 0x1D7D2, 0x1D7DC, 0x1D7E6, 0x1D7F0, 0x1D7FA,
                0x1FBF4,
            ],
        ),
        ("40", &[0x32B5]),
        ("41", &[0x32B6]),
        ("42", &[0x32B7]),
        ("43", &[0x32B8]),
        ("44", &[0x32B9]),
        ("45", &[0x32BA]),
        ("46", &[0x32BB]),
        ("47", &[0x32BC]),
        ("48", &[0x32BD]),
        ("49", &[0x32BE]),
        (
            "5",
            &[
                0x2075, 0x2085, 0x2464, 0xFF15, 0x1D7D3, 0x1D7DD, 0x1D7E7, 0x1D7F1, 0x1D7FB,
                0x1FBF5,
            ],
        ),
        ("50", &[0x32BF]),
        (
            "6",
            &[
                0x2076, 0x2086, 0x2465, 0xFF16, 0x1D7D4, 0x1D7DE, 0x1D7E8, 0x1D7F2, 0x1D7FC,
                0x1FBF6,
            ],
        ),
        (
            "7",
            &[
                0x2077, 0x2087, 0x2466, 0xFF17, 0x1D7D5, 0x1D7DF, 0x1D7E9, 0x1D7F3, 0x1D7FD,
                0x1FBF7,
            ],
        ),
        (
            "8",
            &[
                0x2078, 0x2088, 0x2467, 0xFF18, 0x1D7D6, 0x1D7E0, 0x1D7EA, 0x1D7F4, 0x1D7FE,
                0x1FBF8,
            ],
        ),
        (
            "9",
            &[
                0x2079, 0x2089, 0x2468, 0xFF19, 0x1D7D7, 0x1D7E1, 0x1D7EB, 0x1D7F5, 0x1D7FF,
                0x1FBF9,
            ],
        ),
        (
            "a",
            &[
                0xAA, 0x1D2C, 0x1D43, 0x2090, 0x24B6, 0x24D0, 0xFF21, 0xFF41, 0x1D400, 0x1D41A,
                0x1D434, 0x1D44E, 0x1D468, 0x1D482, 0x1D49C, 0x1D4B6, 0x1D4D0, 0x1D4EA, 0x1D504,
                0x1D51E, 0x1D538, 0x1D552, 0x1D56C, 0x1D586, 0x1D5A0, 0x1D5BA, 0x1D5D4, 0x1D5EE,
                0x1D608, 0x1D622, 0x1D63C, 0x1D656, 0x1D670, 0x1D68A, 0x1F130,
            ],
        ),
        (
            "b",
            &[
                0x1D2E, 0x1D47, 0x212C, 0x24B7, 0x24D1, 0xFF22, 0xFF42, 0x1D401, 0x1D41B, 0x1D435,
                0x1D44F, 0x1D469, 0x1D483, 0x1D4B7, 0x1D4D1, 0x1D4EB, 0x1D505, 0x1D51F, 0x1D539,
                0x1D553, 0x1D56D, 0x1D587, 0x1D5A1, 0x1D5BB, 0x1D5D5, 0x1D5EF, 0x1D609, 0x1D623,
                0x1D63D, 0x1D657, 0x1D671, 0x1D68B, 0x1F131,
            ],
        ),
        (
            "c",
            &[
                0x1D9C, 0x2102, 0x212D, 0x216D, 0x217D, 0x24B8, 0x24D2, 0xA7F2, 0xFF23, 0xFF43,
                0x1D402, 0x1D41C, 0x1D436, 0x1D450, 0x1D46A, 0x1D484, 0x1D49E, 0x1D4B8, 0x1D4D2,
                0x1D4EC, 0x1D520, 0x1D554, 0x1D56E, 0x1D588, 0x1D5A2, 0x1D5BC, 0x1D5D6, 0x1D5F0,
                0x1D60A, 0x1D624, 0x1D63E, 0x1D658, 0x1D672, 0x1D68C, 0x1F12B, 0x1F132,
            ],
        ),
        ("cc", &[0x33C4]),
        ("cd", &[0x33C5, 0x1F12D]),
        (
            "d",
            &[
                0x1D30, 0x1D48, 0x2145, 0x2146, 0x216E, 0x217E, 0x24B9, 0x24D3, 0xFF24, 0xFF44,
                0x1D403, 0x1D41D, 0x1D437, 0x1D451, 0x1D46B, 0x1D485, 0x1D49F, 0x1D4B9, 0x1D4D3,
                0x1D4ED, 0x1D507, 0x1D521, 0x1D53B, 0x1D555, 0x1D56F, 0x1D589, 0x1D5A3, 0x1D5BD,
                0x1D5D7, 0x1D5F1, 0x1D60B, 0x1D625, 0x1D63F, 0x1D659, 0x1D673, 0x1D68D, 0x1F133,
            ],
        ),
        ("da", &[0x3372]),
        ("db", &[0x33C8]),
        (
            "e",
            &[
                0x1D31, 0x1D49, 0x2091, 0x212F, 0x2130, 0x2147, 0x24BA, 0x24D4, 0xFF25, 0xFF45,
                0x1D404, 0x1D41E, 0x1D438, 0x1D452, 0x1D46C, 0x1D486, 0x1D4D4, 0x1D4EE, 0x1D508,
                0x1D522, 0x1D53C, 0x1D556, 0x1D570, 0x1D58A, 0x1D5A4, 0x1D5BE, 0x1D5D8, 0x1D5F2,
                0x1D60C, 0x1D626, 0x1D640, 0x1D65A, 0x1D674, 0x1D68E, 0x1F134,
            ],
        ),
        (
            "f",
            &[
                0x1DA0, 0x2131, 0x24BB, 0x24D5, 0xA7F3, 0xFF26, 0xFF46, 0x1D405, 0x1D41F, 0x1D439,
                0x1D453, 0x1D46D, 0x1D487, 0x1D4BB, 0x1D4D5, 0x1D4EF, 0x1D509, 0x1D523, 0x1D53D,
                0x1D557, 0x1D571, 0x1D58B, 0x1D5A5, 0x1D5BF, 0x1D5D9, 0x1D5F3, 0x1D60D, 0x1D627,
                0x1D641, 0x1D65B, 0x1D675, 0x1D68F, 0x1F135,
            ],
        ),
        ("fax", &[0x213B]),
        ("ff", &[0xFB00]),
        (
            "x",
            &[
                0x2E3, 0x2093, 0x2169, 0x2179, 0x24CD, 0x24E7, 0xFF38, 0xFF58, 0x1D417, 0x1D431,
                0x1D44B, 0x1D465, 0x1D47F, 0x1D499, 0x1D4B3, 0x1D4CD, 0x1D4E7, 0x1D501, 0x1D51B,
                0x1D535, 0x1D54F, 0x1D569, 0x1D583, 0x1D59D, 0x1D5B7, 0x1D5D1, 0x1D5EB, 0x1D605,
                0x1D61F, 0x1D639, 0x1D653, 0x1D66D, 0x1D687, 0x1D6A1, 0x1F147,
            ],
        ),
    ];
}
