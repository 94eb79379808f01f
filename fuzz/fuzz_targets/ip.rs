//! `is_ip`, `is_ipv4`, `is_ipv6` against Node v20's own regular expressions (from
//! `lib/internal/net.js`, run by the `regex` crate) and against `std::net`'s parsers.
//!
//! The first byte picks the mode: raw (the rest of the input as text) or tokens (each byte
//! picks an IP-ish token, so that most inputs are near-addresses).
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use nodenet::{is_ip, is_ipv4, is_ipv6};
use regex::Regex;

const V4_SEG: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V6_SEG: &str = "(?:[0-9a-fA-F]{1,4})";

fn v4_str() -> String {
    format!(r"(?:{V4_SEG}\.){{3}}{V4_SEG}")
}

/// Node v20's `IPv4Reg`.
static IPV4_REG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{}$", v4_str())).expect("IPv4Reg"));

/// Node v20's `IPv6Reg`, character for character but for the `-` escaped in the zone class.
static IPV6_REG: LazyLock<Regex> = LazyLock::new(|| {
    let v4 = v4_str();
    let s = V6_SEG;
    let re = [
        "^(?:".to_string(),
        format!("(?:{s}:){{7}}(?:{s}|:)|"),
        format!("(?:{s}:){{6}}(?:{v4}|:{s}|:)|"),
        format!("(?:{s}:){{5}}(?::{v4}|(?::{s}){{1,2}}|:)|"),
        format!("(?:{s}:){{4}}(?:(?::{s}){{0,1}}:{v4}|(?::{s}){{1,3}}|:)|"),
        format!("(?:{s}:){{3}}(?:(?::{s}){{0,2}}:{v4}|(?::{s}){{1,4}}|:)|"),
        format!("(?:{s}:){{2}}(?:(?::{s}){{0,3}}:{v4}|(?::{s}){{1,5}}|:)|"),
        format!("(?:{s}:){{1}}(?:(?::{s}){{0,4}}:{v4}|(?::{s}){{1,6}}|:)|"),
        format!("(?::(?:(?::{s}){{0,5}}:{v4}|(?::{s}){{1,7}}|:))"),
        r")(?:%[0-9a-zA-Z\-.:]{1,})?$".to_string(),
    ]
    .concat();
    Regex::new(&re).expect("IPv6Reg")
});

#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "0", "1", "9", "00", "01", "10", "99", "100", "199", "200", "249", "25", "250", "255",
    "256", "260", "300", "999", "1000", "a", "F", "ff", "FFFF", "ffff", "0000", "12345", "g",
    ".", ".", ".", ":", ":", ":", "::", ":::", "%", "%eth0", "%1", "%-.:", "[", "]", " ", "\n",
    "\t", "/", "+", "-", "x", "0x", "\u{0}", "é", "１", "٤", "\u{feff}", "1.2.3.4", "::1",
    "::ffff:", "fe80::", "127.0.0.1",
];

fn check(input: &str) {
    let v4 = is_ipv4(input);
    let v6 = is_ipv6(input);
    let ip = is_ip(input);
    assert!(!(v4 && v6), "{input:?} is both IPv4 and IPv6");
    assert_eq!(
        ip,
        if v4 {
            4
        } else if v6 {
            6
        } else {
            0
        },
        "is_ip({input:?})"
    );
    assert_eq!(
        v4,
        IPV4_REG.is_match(input),
        "is_ipv4({input:?}) vs Node's regex"
    );
    assert_eq!(
        v6,
        IPV6_REG.is_match(input),
        "is_ipv6({input:?}) vs Node's regex"
    );
    // std's dotted-quad parser takes exactly Node's IPv4 language.
    assert_eq!(v4, input.parse::<Ipv4Addr>().is_ok(), "Ipv4Addr {input:?}");
    // Without a zone id, std's IPv6 parser takes exactly Node's IPv6 language.
    if !input.contains('%') {
        assert_eq!(v6, input.parse::<Ipv6Addr>().is_ok(), "Ipv6Addr {input:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(&String::from_utf8_lossy(rest));
    } else {
        let text: String = rest
            .iter()
            .map(|&b| TOKENS[usize::from(b) % TOKENS.len()])
            .collect();
        check(&text);
    }
});
