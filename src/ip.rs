//! `is_ip`, `is_ipv4`, `is_ipv6`: hand-written matchers for Node v20's regex-based address checks.
//!
//! Node v20 (`lib/internal/net.js`) defines these checks with two regular
//! expressions. This module recognises exactly the same languages without a
//! regex engine and without allocating:
//!
//! * IPv4: `^(?:SEG\.){3}SEG$` where `SEG` is a decimal number 0–255 written
//!   without leading zeros (`0` itself is fine, `00`/`01` are not).
//! * IPv6: the classic alternation of every `::` placement, with 1–4 hex digit
//!   groups, an optional embedded IPv4 tail, and an optional zone id
//!   `%[0-9a-zA-Z-.:]{1,}`. Spelled out, that is either exactly eight groups
//!   without `::` (an embedded IPv4 tail counting as two groups), or exactly one
//!   `::` with at most seven explicit groups around it.
//!
//! JavaScript's `$` (without the `m` flag) only matches at the very end of the
//! input, so trailing newlines are rejected, and every class in both regexes is
//! ASCII-only, so any non-ASCII character makes the input invalid.

/// Returns 4 for an IPv4 address, 6 for an IPv6 address and 0 otherwise, exactly as Node's `net.isIP`.
///
/// # Examples
///
/// ```
/// assert_eq!(nodenet::is_ip("127.0.0.1"), 4);
/// assert_eq!(nodenet::is_ip("::ffff:127.0.0.1"), 6);
/// assert_eq!(nodenet::is_ip("fe80::1%eth0"), 6);
/// assert_eq!(nodenet::is_ip("127.000.000.001"), 0);
/// assert_eq!(nodenet::is_ip("[::1]"), 0);
/// ```
#[must_use = "is_ip only inspects its input"]
pub fn is_ip(input: &str) -> u8 {
    if is_ipv4(input) {
        4
    } else if is_ipv6(input) {
        6
    } else {
        0
    }
}

/// Returns true if `input` is four dotted decimal octets (0–255, no leading zeros), as Node's `net.isIPv4`.
///
/// # Examples
///
/// ```
/// assert!(nodenet::is_ipv4("127.0.0.1"));
/// assert!(nodenet::is_ipv4("255.255.255.255"));
/// assert!(!nodenet::is_ipv4("01.2.3.4"));
/// assert!(!nodenet::is_ipv4("256.1.1.1"));
/// assert!(!nodenet::is_ipv4("::1"));
/// ```
#[must_use = "is_ipv4 only inspects its input"]
pub fn is_ipv4(input: &str) -> bool {
    is_v4_bytes(input.as_bytes())
}

/// Returns true if `input` is an IPv6 address with an optional zone id, as Node's `net.isIPv6`.
///
/// # Examples
///
/// ```
/// assert!(nodenet::is_ipv6("::1"));
/// assert!(nodenet::is_ipv6("2001:DB8::1"));
/// assert!(nodenet::is_ipv6("::ffff:127.0.0.1"));
/// assert!(nodenet::is_ipv6("fe80::1%eth0"));
/// assert!(!nodenet::is_ipv6("1::2::3"));
/// assert!(!nodenet::is_ipv6("fe80::1%"));
/// assert!(!nodenet::is_ipv6("127.0.0.1"));
/// ```
#[must_use = "is_ipv6 only inspects its input"]
pub fn is_ipv6(input: &str) -> bool {
    let bytes = input.as_bytes();
    // The address part never contains `%`, and the zone id cannot either, so
    // the first `%` (if any) is the only possible boundary.
    let (addr, zone) = match bytes.iter().position(|&b| b == b'%') {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    };
    let zone_ok = zone.is_none_or(|z| !z.is_empty() && z.iter().copied().all(is_zone_byte));
    zone_ok && is_v6_addr(addr)
}

/// Matches `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`.
fn is_v4_octet(seg: &[u8]) -> bool {
    if seg.is_empty() || seg.len() > 3 || !seg.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if seg.len() > 1 && seg[0] == b'0' {
        return false;
    }
    let value = seg
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    value <= 255
}

/// Matches `(?:SEG\.){3}SEG` over the whole slice.
fn is_v4_bytes(bytes: &[u8]) -> bool {
    let mut count = 0usize;
    for part in bytes.split(|&b| b == b'.') {
        count += 1;
        if count > 4 || !is_v4_octet(part) {
            return false;
        }
    }
    count == 4
}

/// Matches `(?:[0-9a-fA-F]{1,4})`.
fn is_v6_group(seg: &[u8]) -> bool {
    (1..=4).contains(&seg.len()) && seg.iter().all(u8::is_ascii_hexdigit)
}

/// Matches `[0-9a-zA-Z-.:]`.
fn is_zone_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':')
}

/// Counts the groups of a `:`-separated list whose last element may be an
/// embedded IPv4 address (counted as two groups); `None` if malformed.
///
/// An empty slice is an empty list (zero groups).
fn count_groups(list: &[u8], allow_v4_tail: bool) -> Option<usize> {
    if list.is_empty() {
        return Some(0);
    }
    let mut groups = 0usize;
    let mut parts = list.split(|&b| b == b':').peekable();
    while let Some(part) = parts.next() {
        let is_last = parts.peek().is_none();
        if is_v6_group(part) {
            groups += 1;
        } else if is_last && allow_v4_tail && is_v4_bytes(part) {
            groups += 2;
        } else {
            return None;
        }
        if groups > 8 {
            return None;
        }
    }
    Some(groups)
}

/// Matches the address alternation of Node's IPv6 regex (without zone id).
fn is_v6_addr(addr: &[u8]) -> bool {
    match addr.windows(2).position(|w| w == b"::") {
        // No `::`: exactly eight groups, the last two possibly as IPv4.
        None => count_groups(addr, true) == Some(8),
        // One `::` standing for at least one zero group: at most seven explicit
        // groups. A second `::` (or a `:::`) shows up as an empty part in the
        // tail and is rejected there; the head cannot contain one because the
        // first occurrence was chosen.
        Some(i) => {
            let head = &addr[..i];
            let tail = &addr[i + 2..];
            match (count_groups(head, false), count_groups(tail, true)) {
                (Some(h), Some(t)) => h + t <= 7,
                _ => false,
            }
        }
    }
}
