//! `Encoding::encode` (Node's `Buffer.from(text, encoding)`): the lenient hex and base64
//! decoders against a strict codec fed the cleaned-up input, the others against `std`, and
//! text round trips through the incremental decoder. Also `Encoding::from_name`.
//!
//! Input: byte 0 picks how the text is made (raw UTF-8, or UTF-16 code units, or tokens
//! aimed at base64/hex corners), the rest is the text.
#![no_main]

use base64::Engine;
use base64::alphabet::STANDARD as STANDARD_ALPHABET;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use libfuzzer_sys::fuzz_target;
use nodenet::Encoding;
use nodenet::fuzz_api::Decoder;

const ALL: [Encoding; 7] = [
    Encoding::Utf8,
    Encoding::Utf16le,
    Encoding::Latin1,
    Encoding::Ascii,
    Encoding::Base64,
    Encoding::Base64Url,
    Encoding::Hex,
];

const TOKENS: &[&str] = &[
    "A", "Q", "Z", "a", "z", "0", "9", "+", "/", "-", "_", "=", "==", " ", "\n", "\r\n", "\t", "!",
    "*", ".", "YQ", "YWJj", "QUJD", "f", "F", "0f", "ab", "g", "G", "x", "é", "€", "😀", "\u{151}",
    "\u{13d}", "\u{130}", "\u{100}", "\u{0}", "\u{ff}", "\u{2028}", "\u{feff}",
];

/// Decodes base64 with every other rule switched off: padding is optional and trailing
/// bits are ignored.
const LAX: GeneralPurpose = GeneralPurpose::new(
    &STANDARD_ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// The low bytes of the UTF-16 code units of `text` (V8's one-byte view).
fn low_bytes(text: &str) -> Vec<u8> {
    text.encode_utf16().map(|u| u.to_le_bytes()[0]).collect()
}

/// Node's rules spelled out: keep both alphabets' digits (url-safe ones mapped to the
/// standard ones), skip everything else, stop at the first '=', drop a lone final digit.
fn base64_expected(text: &str) -> Vec<u8> {
    let mut digits: Vec<u8> = Vec::new();
    for b in low_bytes(text) {
        match b {
            b'=' => break,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => digits.push(b),
            b'-' => digits.push(b'+'),
            b'_' => digits.push(b'/'),
            _ => {}
        }
    }
    if digits.len() % 4 == 1 {
        digits.pop();
    }
    LAX.decode(&digits).expect("clean base64")
}

/// Node's hex rule: whole pairs of hex digits up to the first pair that is not one.
fn hex_expected(text: &str) -> Vec<u8> {
    let low = low_bytes(text);
    let mut out = Vec::new();
    for pair in low.as_chunks::<2>().0 {
        let Ok(pair) = std::str::from_utf8(pair) else {
            break;
        };
        if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
            break;
        }
        out.push(u8::from_str_radix(pair, 16).expect("hex pair"));
    }
    out
}

fn decode(encoding: Encoding, bytes: &[u8]) -> String {
    let mut decoder = Decoder::new(encoding);
    let mut text = decoder.write(bytes);
    text.push_str(&decoder.end());
    text
}

fn check(text: &str) {
    for encoding in ALL {
        let bytes = encoding.encode(text);
        let expected = match encoding {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf16le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Encoding::Latin1 | Encoding::Ascii => low_bytes(text),
            Encoding::Base64 | Encoding::Base64Url => base64_expected(text),
            Encoding::Hex => hex_expected(text),
        };
        assert_eq!(bytes, expected, "{encoding} {text:?}");
    }
    // Text round trips.
    assert_eq!(decode(Encoding::Utf8, &Encoding::Utf8.encode(text)), text);
    assert_eq!(
        decode(Encoding::Utf16le, &Encoding::Utf16le.encode(text)),
        text
    );
    if text.chars().all(|c| u32::from(c) <= 0xff) {
        assert_eq!(
            decode(Encoding::Latin1, &Encoding::Latin1.encode(text)),
            text
        );
    }
    if text.is_ascii() {
        assert_eq!(decode(Encoding::Ascii, &Encoding::Ascii.encode(text)), text);
    }
    // Canonical base64/hex text (as the decoder writes it) round trips exactly.
    for encoding in [Encoding::Base64, Encoding::Base64Url, Encoding::Hex] {
        let bytes = encoding.encode(text);
        let canonical = decode(encoding, &bytes);
        assert_eq!(encoding.encode(&canonical), bytes, "{encoding} {text:?}");
    }
    // from_name: exactly Node's twelve names, ASCII case-insensitively.
    const NAMES: [&str; 12] = [
        "utf8",
        "utf-8",
        "utf16le",
        "utf-16le",
        "ucs2",
        "ucs-2",
        "latin1",
        "binary",
        "ascii",
        "base64",
        "base64url",
        "hex",
    ];
    let known = NAMES.iter().any(|n| n.eq_ignore_ascii_case(text));
    assert_eq!(
        Encoding::from_name(text).is_some(),
        known,
        "from_name({text:?})"
    );
    assert_eq!(text.parse::<Encoding>().is_ok(), known, "parse({text:?})");
    if let Some(encoding) = Encoding::from_name(text) {
        assert_eq!(Encoding::from_name(encoding.name()), Some(encoding));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => {
            let units = rest
                .as_chunks::<2>()
                .0
                .iter()
                .map(|&p| u16::from_le_bytes(p));
            char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        _ => rest
            .iter()
            .map(|&b| TOKENS[usize::from(b) % TOKENS.len()])
            .collect(),
    };
    check(&text);
});
