//! The incremental decoder (`Socket::set_encoding`, Node's `StringDecoder`): split safety and
//! agreement with one-shot decoders, for every encoding.
//!
//! Input: byte 0 picks the encoding, byte 1 the number of cuts (0..=15), then one byte per
//! cut (an offset into the data, sorted), then the data.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
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

/// `buf.toString(encoding)` with lone surrogates as U+FFFD, computed without the decoder.
fn one_shot(encoding: Encoding, data: &[u8]) -> String {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(data).into_owned(),
        Encoding::Utf16le => {
            let units = data
                .as_chunks::<2>()
                .0
                .iter()
                .map(|&p| u16::from_le_bytes(p));
            char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        Encoding::Latin1 => data.iter().map(|&b| char::from(b)).collect(),
        Encoding::Ascii => data.iter().map(|&b| char::from(b & 0x7f)).collect(),
        Encoding::Base64 => STANDARD.encode(data),
        Encoding::Base64Url => URL_SAFE_NO_PAD.encode(data),
        Encoding::Hex => data.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// The outputs of `write` for each piece of `data` cut at `cuts`, then `end`'s.
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

fuzz_target!(|input: &[u8]| {
    let [selector, ncuts, rest @ ..] = input else {
        return;
    };
    let encoding = ALL[usize::from(*selector) % ALL.len()];
    let ncuts = usize::from(ncuts % 16).min(rest.len());
    let (cut_bytes, data) = rest.split_at(ncuts);
    let mut cuts: Vec<usize> = cut_bytes
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();

    let whole = one_shot(encoding, data);
    let mut decoder = Decoder::new(encoding);
    let split = pieces(&mut decoder, data, &cuts);
    assert_eq!(
        split.concat(),
        whole,
        "{encoding} {data:02x?} cut at {cuts:?}: {split:?}"
    );
    // end() resets: the same decoder decodes the data again, in one piece, the same way.
    assert_eq!(
        pieces(&mut decoder, data, &[]).concat(),
        whole,
        "{encoding} reuse"
    );

    // Where a piece's text has whole characters only, base64 and hex pieces are whole groups.
    if matches!(encoding, Encoding::Base64 | Encoding::Hex) {
        let group = if encoding == Encoding::Hex { 2 } else { 4 };
        for piece in &split {
            assert_eq!(piece.len() % group, 0, "{encoding} piece {piece:?}");
        }
    }

    // Round trips back to bytes, where the text holds all the bytes.
    let back = encoding.encode(&whole);
    let expected_back = match encoding {
        Encoding::Latin1 | Encoding::Hex | Encoding::Base64 | Encoding::Base64Url => Some(data),
        Encoding::Utf8 => std::str::from_utf8(data).is_ok().then_some(data),
        Encoding::Ascii => data.is_ascii().then_some(data),
        Encoding::Utf16le => (data.len() % 2 == 0 && !whole.contains('\u{fffd}')).then_some(data),
    };
    if let Some(expected) = expected_back {
        assert_eq!(back, expected, "{encoding} round trip of {data:02x?}");
    }
});
