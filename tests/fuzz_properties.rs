//! The properties of the fuzz targets (`fuzz/fuzz_targets/*.rs`), checked in `cargo test` over a
//! deterministic pseudo-random corpus (`tests/util`'s splitmix `Rng`, fixed seeds), plus fixed vectors from Node v20.
//!
//! - The incremental decoder (`Socket::set_encoding`, Node's `StringDecoder`): for every
//!   encoding, the text of any split of a byte string (writes, then `end`) is the text of the
//!   whole, and that is `buf.toString(encoding)` as computed by independent one-shot decoders
//!   (`String::from_utf8_lossy` for UTF-8, `char::decode_utf16` for UTF-16LE, a reference
//!   base64 encoder, ...), with lone surrogates as U+FFFD.
//! - `Encoding::encode` (`Buffer.from(text, encoding)`): lenient hex and base64 against Node's
//!   rules spelled out; round trips text -> bytes -> text and bytes -> text -> bytes.
//! - `is_ip`, `is_ipv4`, `is_ipv6`: consistent with each other, and exactly `std::net`'s
//!   `Ipv4Addr`/`Ipv6Addr` parsers plus Node's zone id rule (`%[0-9a-zA-Z-.:]+`), which take the
//!   same languages as Node's regexes (the `ip` fuzz target checks those regexes directly;
//!   `tests/ip.rs` checks against `node` itself).
//!
//! `nodenet::fuzz_api` is not public API; it exposes the crate's decoder for these tests.

mod util;

use std::net::{Ipv4Addr, Ipv6Addr};
use util::Rng;

use nodenet::fuzz_api::Decoder;
use nodenet::{Encoding, is_ip, is_ipv4, is_ipv6};

const ALL: [Encoding; 7] = [
    Encoding::Utf8,
    Encoding::Utf16le,
    Encoding::Latin1,
    Encoding::Ascii,
    Encoding::Base64,
    Encoding::Base64Url,
    Encoding::Hex,
];

// ---------------------------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------------------------

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Reference base64 encoder: 6 bits at a time from a bit stream, then padding to 4 digits.
fn base64_reference(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let bits: Vec<bool> = data
        .iter()
        .flat_map(|&b| (0..8).rev().map(move |i| b >> i & 1 == 1))
        .collect();
    let mut out = String::new();
    for digit in bits.chunks(6) {
        let value = (0..6).fold(0usize, |acc, i| {
            acc << 1 | usize::from(digit.get(i) == Some(&true))
        });
        out.push(char::from(alphabet[value]));
    }
    while pad && !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// `buf.toString(encoding)` (lone surrogates as U+FFFD), computed without the decoder.
fn one_shot(encoding: Encoding, data: &[u8]) -> String {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(data).into_owned(),
        Encoding::Utf16le => {
            let units: Vec<u16> = data
                .as_chunks::<2>()
                .0
                .iter()
                .map(|&p| u16::from_le_bytes(p))
                .collect();
            String::from_utf16_lossy(&units)
        }
        Encoding::Latin1 => data.iter().map(|&b| char::from(b)).collect(),
        Encoding::Ascii => data.iter().map(|&b| char::from(b & 0x7f)).collect(),
        Encoding::Base64 => base64_reference(data, BASE64, true),
        Encoding::Base64Url => base64_reference(data, BASE64URL, false),
        Encoding::Hex => data.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// The outputs of `write` for each piece of `data` cut at `cuts` (sorted), then `end`'s.
fn pieces(decoder: &mut Decoder, data: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut out = Vec::with_capacity(cuts.len() + 2);
    let mut start = 0;
    for &at in cuts.iter().chain([&data.len()]) {
        out.push(decoder.write(&data[start..at]));
        start = at;
    }
    out.push(decoder.end());
    out
}

fn decode(encoding: Encoding, data: &[u8], cuts: &[usize]) -> Vec<String> {
    pieces(&mut Decoder::new(encoding), data, cuts)
}

/// Random bytes aimed at the corners of UTF-8 and UTF-16 decoding.
fn random_bytes(rng: &mut Rng, max_len: usize) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        &[0xed, 0xa0, 0x80],             // UTF-8 of a high surrogate
        &[0xed, 0xbf, 0xbf],             // ... of a low surrogate
        &[0xc0, 0x80],                   // overlong
        &[0xc1, 0xbf],                   // overlong
        &[0xe0, 0x80, 0x80],             // overlong
        &[0xe0, 0x9f, 0xbf],             // overlong
        &[0xf0, 0x8f, 0xbf, 0xbf],       // overlong
        &[0xf4, 0x8f, 0xbf, 0xbf],       // U+10FFFF
        &[0xf4, 0x90, 0x80, 0x80],       // past U+10FFFF
        &[0xf5, 0x80, 0x80, 0x80],       // lead StringDecoder reads as 4 bytes
        &[0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
        &[0xfe],
        &[0xff],
        &[0x3d, 0xd8, 0x00, 0xde], // UTF-16LE surrogate pair
        &[0x00, 0xd8],             // UTF-16LE high surrogate
        &[0xff, 0xdb],
        &[0x00, 0xdc], // UTF-16LE low surrogate
        &[0xff, 0xdf],
    ];
    let len = rng.below(max_len + 1);
    let mut bytes = Vec::with_capacity(len + 4);
    while bytes.len() < len {
        match rng.below(8) {
            0 => bytes.push(rng.below(0x80) as u8),
            1 => bytes.push(rng.next() as u8),
            2 => bytes.push(0x80 | rng.below(0x40) as u8),
            3 | 4 => {
                let c = loop {
                    let max = *rng.pick(&[0x80u32, 0x800, 0x1_0000, 0x11_0000]);
                    if let Some(c) = char::from_u32(rng.below(max)) {
                        break c;
                    }
                };
                let mut buf = [0; 4];
                let encoded = c.encode_utf8(&mut buf).as_bytes();
                // Sometimes cut short.
                let keep = if rng.below(3) == 0 {
                    rng.below(encoded.len()).max(1)
                } else {
                    encoded.len()
                };
                bytes.extend_from_slice(&encoded[..keep]);
            }
            _ => {
                let token = *rng.pick::<&[u8]>(TOKENS);
                bytes.extend_from_slice(token);
            }
        }
    }
    bytes.truncate(len);
    bytes
}

/// Cut points: none, every byte, or a few random ones (repeats and 0/len included).
fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = match rng.below(10) {
        0 => Vec::new(),
        1 => (1..len).collect(),
        _ => (0..rng.below(8)).map(|_| rng.below(len + 1)).collect(),
    };
    cuts.sort_unstable();
    cuts
}

/// Inputs per decoder property (each is decoded in all seven encodings).
const DECODER_CASES: usize = 20_000;

#[test]
fn every_split_decodes_to_the_one_shot_text() {
    let mut rng = Rng(0x5eed_0001);
    let mut failures = Vec::new();
    for _ in 0..DECODER_CASES {
        let data = random_bytes(&mut rng, 48);
        let cuts = random_cuts(&mut rng, data.len());
        for encoding in ALL {
            let expected = one_shot(encoding, &data);
            let split = decode(encoding, &data, &cuts);
            if split.concat() != expected {
                failures.push(format!(
                    "{encoding} {data:02x?} cut at {cuts:?}: {split:?}, whole {expected:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

#[test]
fn pieces_hold_only_whole_characters_and_groups() {
    // A piece never ends inside a character that the next bytes complete: for valid UTF-8 and
    // UTF-16, each piece is the decoding of the bytes up to some boundary; base64 pieces are
    // whole 4-digit groups except for the last, and hex pieces are two digits per byte.
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..DECODER_CASES / 4 {
        let text: String = (0..rng.below(12))
            .map(|_| *rng.pick(&['a', 'é', '€', '😀', '\u{10ffff}', '\u{0}', '\u{ffff}']))
            .collect();
        let cuts = random_cuts(&mut rng, text.len());
        for (encoding, bytes) in [
            (Encoding::Utf8, text.as_bytes().to_vec()),
            (Encoding::Utf16le, Encoding::Utf16le.encode(&text)),
        ] {
            let cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
            let split = decode(encoding, &bytes, &cuts);
            assert_eq!(split.concat(), text, "{encoding} {text:?} cut at {cuts:?}");
            // The end flushes nothing: no character was left incomplete.
            assert_eq!(
                split.last().map(String::as_str),
                Some(""),
                "{encoding} {text:?}"
            );
            assert!(!split.concat().contains('\u{fffd}'));
        }
        let bytes = text.as_bytes();
        let cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
        let split = decode(Encoding::Base64, bytes, &cuts);
        for piece in &split[..split.len() - 1] {
            assert_eq!(piece.len() % 4, 0, "base64 piece {piece:?} of {split:?}");
            assert!(!piece.contains('='), "padding before the end: {split:?}");
        }
        let split = decode(Encoding::Hex, bytes, &cuts);
        let mut start = 0;
        for (piece, &end) in split.iter().zip(cuts.iter().chain([&bytes.len()])) {
            assert_eq!(piece.len(), 2 * (end - start), "hex piece {piece:?}");
            start = end;
        }
    }
}

#[test]
fn end_resets_the_decoder() {
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..DECODER_CASES / 4 {
        let first = random_bytes(&mut rng, 12);
        let second = random_bytes(&mut rng, 12);
        let cuts = random_cuts(&mut rng, second.len());
        for encoding in ALL {
            let mut decoder = Decoder::new(encoding);
            let _ = pieces(&mut decoder, &first, &[]);
            let reused = pieces(&mut decoder, &second, &cuts);
            assert_eq!(
                reused,
                decode(encoding, &second, &cuts),
                "{encoding} after {first:02x?}"
            );
        }
    }
}

#[test]
fn bytes_round_trip_through_text() {
    // bytes -> decoder text -> Encoding::encode gives the bytes back wherever the text holds
    // them all: always for latin1, hex, base64 and base64url; for valid UTF-8 and UTF-16LE;
    // for ASCII below 0x80.
    let mut rng = Rng(0x5eed_0004);
    let mut checked = [0usize; 7];
    for _ in 0..DECODER_CASES {
        let data = random_bytes(&mut rng, 32);
        let cuts = random_cuts(&mut rng, data.len());
        for (i, encoding) in ALL.into_iter().enumerate() {
            let text = decode(encoding, &data, &cuts).concat();
            let holds_all = match encoding {
                Encoding::Latin1 | Encoding::Hex | Encoding::Base64 | Encoding::Base64Url => true,
                Encoding::Utf8 => std::str::from_utf8(&data).is_ok(),
                Encoding::Ascii => data.is_ascii(),
                Encoding::Utf16le => data.len().is_multiple_of(2) && !text.contains('\u{fffd}'),
            };
            if holds_all {
                checked[i] += 1;
                assert_eq!(encoding.encode(&text), data, "{encoding} {text:?}");
            }
        }
    }
    // Each encoding's round trip ran on a good share of the corpus.
    for (encoding, n) in ALL.iter().zip(checked) {
        assert!(n >= DECODER_CASES / 50, "{encoding}: only {n} round trips");
    }
}

/// A decoder case: the encoding, the chunks written, and Node's outputs.
type DecoderCase<'a> = (Encoding, &'a [&'a [u8]], &'a [&'a str]);

/// Node v20's `StringDecoder` outputs (each `write`, then `end`) for fixed cases.
#[test]
fn decoder_known_node_vectors() {
    let r = "\u{fffd}";
    let cases: &[DecoderCase] = &[
        (
            Encoding::Utf8,
            &[&[0xf0, 0x9f], &[0x98], &[0x80, 0x41]],
            &["", "", "😀A", ""],
        ),
        (
            Encoding::Utf8,
            &[&[0xf0, 0x90], &[0x41]],
            &["", "\u{fffd}A", ""],
        ),
        (Encoding::Utf8, &[&[0xe2, 0x82]], &["", r]),
        (
            Encoding::Utf8,
            &[&[0xf0, 0x80], &[0x80, 0x80]],
            &["", &r.repeat(4), ""],
        ),
        (
            Encoding::Utf8,
            &[&[0xed], &[0xa0, 0x80, 0x41]],
            &["", "\u{fffd}\u{fffd}\u{fffd}A", ""],
        ),
        (
            Encoding::Utf8,
            &[&[0xc3], &[0xc3, 0xa9]],
            &["", "\u{fffd}é", ""],
        ),
        (
            Encoding::Utf8,
            &[&[0xf4, 0x8f, 0xbf], &[0xbf]],
            &["", "\u{10ffff}", ""],
        ),
        (
            Encoding::Utf8,
            &[&[0x61, 0xf5, 0x80], &[0x80, 0x80]],
            &["a", &r.repeat(4), ""],
        ),
        (
            Encoding::Base64,
            &[&[0x61], &[0x62, 0x63, 0x64], &[]],
            &["", "YWJj", "", "ZA=="],
        ),
        (
            Encoding::Base64Url,
            &[&[0xfb, 0xff], &[0xbf]],
            &["", "-_-_", ""],
        ),
        (
            Encoding::Hex,
            &[&[0x00, 0xff], &[0x7f]],
            &["00ff", "7f", ""],
        ),
        (
            Encoding::Utf16le,
            &[&[0x41], &[0x00, 0x3d], &[0xd8, 0x00, 0xde]],
            &["", "A", "😀", ""],
        ),
    ];
    for &(encoding, chunks, expected) in cases {
        let mut decoder = Decoder::new(encoding);
        let mut got: Vec<String> = chunks.iter().map(|c| decoder.write(c)).collect();
        got.push(decoder.end());
        assert_eq!(got, expected, "{encoding} {chunks:02x?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding::encode
// ---------------------------------------------------------------------------------------------

/// The low bytes of the UTF-16 code units of `text` (V8's one-byte view).
fn low_bytes(text: &str) -> Vec<u8> {
    text.encode_utf16().map(|u| u.to_le_bytes()[0]).collect()
}

/// Node's base64 rules spelled out: both alphabets' digits count, anything else is skipped,
/// the first '=' ends the input, and the digits' bits make as many whole bytes as they can.
fn base64_expected(text: &str) -> Vec<u8> {
    let mut bits = Vec::new();
    for b in low_bytes(text) {
        let value = match b {
            b'=' => break,
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits.extend((0..6).rev().map(|i| value >> i & 1));
    }
    bits.as_chunks::<8>()
        .0
        .iter()
        .map(|byte| byte.iter().fold(0u8, |acc, &bit| acc << 1 | bit))
        .collect()
}

/// Node's hex rule: whole pairs of hex digits up to the first pair that is not one.
fn hex_expected(text: &str) -> Vec<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    low_bytes(text)
        .as_chunks::<2>()
        .0
        .iter()
        .map_while(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

/// Random text aimed at the lenient base64 and hex decoders.
fn random_text(rng: &mut Rng) -> String {
    const TOKENS: &[&str] = &[
        "A", "Q", "Z", "a", "z", "0", "9", "+", "/", "-", "_", "=", "==", " ", "\n", "\r\n", "\t",
        "!", "*", ".", "YQ", "YWJj", "QUJD", "f", "F", "0f", "ab", "g", "G", "x", "é", "€", "😀",
        "\u{151}", "\u{13d}", "\u{130}", "\u{100}", "\u{0}", "\u{ff}", "\u{2028}", "\u{feff}",
        "\u{ff10}",
    ];
    let len = rng.below(24);
    let mut text = String::new();
    for _ in 0..len {
        if rng.below(6) == 0 {
            let c = loop {
                if let Some(c) = char::from_u32(rng.below(0x11_0000) as u32) {
                    break c;
                }
            };
            text.push(c);
        } else {
            let token = *rng.pick::<&str>(TOKENS);
            text.push_str(token);
        }
    }
    text
}

const ENCODE_CASES: usize = 30_000;

#[test]
fn encode_follows_nodes_rules() {
    let mut rng = Rng(0x5eed_0005);
    for _ in 0..ENCODE_CASES {
        let text = random_text(&mut rng);
        assert_eq!(Encoding::Utf8.encode(&text), text.as_bytes(), "{text:?}");
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(Encoding::Utf16le.encode(&text), utf16, "{text:?}");
        assert_eq!(Encoding::Latin1.encode(&text), low_bytes(&text), "{text:?}");
        assert_eq!(Encoding::Ascii.encode(&text), low_bytes(&text), "{text:?}");
        let base64 = base64_expected(&text);
        assert_eq!(Encoding::Base64.encode(&text), base64, "base64 {text:?}");
        assert_eq!(
            Encoding::Base64Url.encode(&text),
            base64,
            "base64url {text:?}"
        );
        assert_eq!(
            Encoding::Hex.encode(&text),
            hex_expected(&text),
            "hex {text:?}"
        );
    }
}

#[test]
fn text_round_trips_through_bytes() {
    let mut rng = Rng(0x5eed_0006);
    for _ in 0..ENCODE_CASES {
        let text = random_text(&mut rng);
        let whole = |encoding: Encoding| {
            let bytes = encoding.encode(&text);
            let cuts = random_cuts(&mut Rng(bytes.len() as u64 + 1), bytes.len());
            decode(encoding, &bytes, &cuts).concat()
        };
        assert_eq!(whole(Encoding::Utf8), text);
        assert_eq!(whole(Encoding::Utf16le), text);
        if text.chars().all(|c| u32::from(c) <= 0xff) {
            assert_eq!(whole(Encoding::Latin1), text);
        }
        if text.is_ascii() {
            assert_eq!(whole(Encoding::Ascii), text);
        }
        // Canonical base64/hex text, as the decoder writes it, encodes to the same bytes.
        for encoding in [Encoding::Base64, Encoding::Base64Url, Encoding::Hex] {
            let bytes = encoding.encode(&text);
            let canonical = decode(encoding, &bytes, &[]).concat();
            assert_eq!(encoding.encode(&canonical), bytes, "{encoding} {text:?}");
        }
    }
}

/// Node v20's `Buffer.from(text, encoding).toString('hex')` for fixed cases.
#[test]
fn encode_known_node_vectors() {
    let cases: &[(&str, Encoding, &str)] = &[
        ("YW Jj\nZA", Encoding::Base64, "61626364"),
        ("-_-_", Encoding::Base64, "fbffbf"),
        ("+/+/", Encoding::Base64Url, "fbffbf"),
        ("YQ==YQ==", Encoding::Base64, "61"),
        ("YQ=Y", Encoding::Base64, "61"),
        ("Y", Encoding::Base64, ""),
        ("YWJ", Encoding::Base64Url, "6162"),
        ("Y\u{0}Q", Encoding::Base64, "61"),
        ("QUJD\u{2028}REVG", Encoding::Base64, "414243444546"),
        ("0g1f", Encoding::Hex, ""),
        ("abc", Encoding::Hex, "ab"),
        ("ABcd", Encoding::Hex, "abcd"),
        ("zz", Encoding::Hex, ""),
        ("a\u{100}b", Encoding::Latin1, "610062"),
        ("\u{ff}\u{80}", Encoding::Ascii, "ff80"),
    ];
    for &(text, encoding, hex) in cases {
        let got: String = encoding
            .encode(text)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, hex, "Buffer.from({text:?}, '{encoding}')");
    }
}

// ---------------------------------------------------------------------------------------------
// is_ip
// ---------------------------------------------------------------------------------------------

/// Node's IPv6 language: std's `Ipv6Addr` grammar plus an optional `%` zone id of
/// `[0-9a-zA-Z-.:]+`.
fn ipv6_reference(input: &str) -> bool {
    let (addr, zone) = match input.split_once('%') {
        Some((addr, zone)) => (addr, Some(zone)),
        None => (input, None),
    };
    let zone_ok = zone.is_none_or(|z| {
        !z.is_empty()
            && z.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'))
    });
    zone_ok && addr.parse::<Ipv6Addr>().is_ok()
}

/// Strings near addresses: token soup, or a valid address with a few random mutations.
fn random_ip_text(rng: &mut Rng) -> String {
    const TOKENS: &[&str] = &[
        "0",
        "1",
        "9",
        "00",
        "01",
        "10",
        "99",
        "100",
        "199",
        "200",
        "249",
        "25",
        "250",
        "255",
        "256",
        "260",
        "300",
        "999",
        "1000",
        "a",
        "F",
        "ff",
        "FFFF",
        "ffff",
        "0000",
        "12345",
        "g",
        ".",
        ".",
        ".",
        ":",
        ":",
        ":",
        "::",
        ":::",
        "%",
        "%eth0",
        "%1",
        "%-.:",
        "[",
        "]",
        " ",
        "\n",
        "/",
        "+",
        "-",
        "0x",
        "\u{0}",
        "é",
        "１",
        "٤",
        "\u{feff}",
        "1.2.3.4",
        "::1",
        "::ffff:",
        "fe80::",
        "127.0.0.1",
    ];
    let token = |rng: &mut Rng| *rng.pick(TOKENS);
    if rng.below(3) == 0 {
        return (0..rng.below(16)).map(|_| token(rng)).collect();
    }
    let octet = |rng: &mut Rng| rng.below(256).to_string();
    let v4 = |rng: &mut Rng| (0..4).map(|_| octet(rng)).collect::<Vec<_>>().join(".");
    let group = |rng: &mut Rng| {
        let digits = 1 + rng.below(4);
        let s = format!("{:x}", rng.next() & 0xffff);
        let s = if rng.below(2) == 0 {
            s.to_uppercase()
        } else {
            s
        };
        s[..s.len().min(digits)].to_string()
    };
    let mut text = if rng.below(3) == 0 {
        v4(rng)
    } else {
        // A full address, or one with a `::` somewhere; sometimes an IPv4 tail or a zone.
        let tail_v4 = rng.below(4) == 0;
        let n = if tail_v4 { 6 } else { 8 };
        let mut groups: Vec<String> = (0..n).map(|_| group(rng)).collect();
        if tail_v4 {
            groups.push(v4(rng));
        }
        let mut text = if rng.below(2) == 0 {
            let at = rng.below(groups.len() + 1);
            let drop = 1 + rng.below(groups.len() - at + 1).min(groups.len() - at);
            let head = groups[..at].join(":");
            let tail = groups[(at + drop).min(groups.len())..].join(":");
            format!("{head}::{tail}")
        } else {
            groups.join(":")
        };
        if rng.below(5) == 0 {
            text.push('%');
            text.push_str(&(0..rng.below(4)).map(|_| token(rng)).collect::<String>());
        }
        text
    };
    for _ in 0..rng.below(3) {
        let mut chars: Vec<char> = text.chars().collect();
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => chars[at] = token(rng).chars().next().unwrap_or('x'),
            _ => chars.splice(at..at, token(rng).chars()).for_each(drop),
        }
        text = chars.into_iter().collect();
    }
    text
}

const IP_CASES: usize = 50_000;

#[test]
fn is_ip_matches_std_parsers_and_the_zone_rule() {
    let mut rng = Rng(0x5eed_0007);
    let mut seen = [0usize; 3];
    for _ in 0..IP_CASES {
        let text = random_ip_text(&mut rng);
        let (v4, v6, ip) = (is_ipv4(&text), is_ipv6(&text), is_ip(&text));
        assert_eq!(
            ip,
            if v4 {
                4
            } else if v6 {
                6
            } else {
                0
            },
            "is_ip({text:?})"
        );
        assert!(!(v4 && v6), "{text:?}");
        assert_eq!(v4, text.parse::<Ipv4Addr>().is_ok(), "is_ipv4({text:?})");
        assert_eq!(v6, ipv6_reference(&text), "is_ipv6({text:?})");
        seen[match ip {
            4 => 1,
            6 => 2,
            _ => 0,
        }] += 1;
    }
    // The corpus is not all invalid: both families are well represented.
    assert!(
        seen.iter().all(|&n| n > IP_CASES / 10),
        "0/4/6 counts {seen:?}"
    );
}

#[test]
fn is_ip_never_panics_on_arbitrary_text() {
    let mut rng = Rng(0x5eed_0008);
    for _ in 0..IP_CASES / 2 {
        let bytes: Vec<u8> = (0..rng.below(48))
            .map(|_| *rng.pick(b"0123456789abcdefABCDEF.:%[]- \x00\xc3\xa9\xff"))
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let ip = is_ip(&text);
        assert_eq!(ip == 4, text.parse::<Ipv4Addr>().is_ok(), "{text:?}");
        assert_eq!(ip == 6, ipv6_reference(&text), "{text:?}");
    }
}

/// Node v20's `net.isIP` for fixed cases.
#[test]
fn is_ip_known_node_vectors() {
    let cases: &[(&str, u8)] = &[
        ("1.2.3.4", 4),
        ("0.0.0.0", 4),
        ("01.2.3.4", 0),
        ("1.2.3.4 ", 0),
        ("255.255.255.256", 0),
        ("1.2.3.4%x", 0),
        ("::", 6),
        (":::", 0),
        (":1::", 0),
        ("1:2:3:4:5:6:7::", 6),
        ("::2:3:4:5:6:7:8", 6),
        ("::1:2:3:4:5:6:7", 6),
        ("1::2:3:4:5:6:7", 6),
        ("1::2:3:4:5:6:7:8", 0),
        ("1:2:3:4:5:6:7:8:9", 0),
        ("::ffff:1.2.3.4", 6),
        ("::FFFF:0.0.0.0", 6),
        ("1:2:3:4:5:6:1.2.3.4", 6),
        ("a:b:c:d:e:f:0.0.0.0", 6),
        ("1:2:3:4:5:6:7:1.2.3.4", 0),
        ("::1.2.3.04", 0),
        ("fe80::1%", 0),
        ("fe80::1%a%b", 0),
        ("fe80::1%eth0", 6),
        ("::0.0.0.0%x", 6),
        ("1::2::3", 0),
        ("12345::", 0),
        ("[::1]", 0),
    ];
    for &(text, expected) in cases {
        assert_eq!(is_ip(text), expected, "net.isIP({text:?})");
        assert_eq!(is_ipv4(text), expected == 4, "net.isIPv4({text:?})");
        assert_eq!(is_ipv6(text), expected == 6, "net.isIPv6({text:?})");
    }
}
