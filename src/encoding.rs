//! Encodings for `set_encoding` and `write_encoded`, and `Chunk`, one `data` event's payload.
//!
//! Everything here follows Node v20: [`Encoding::encode`] is `Buffer.from(text, encoding)`,
//! [`Encoding::from_name`] accepts the names `Buffer.isEncoding` accepts, and the crate's
//! incremental decoder is `string_decoder.StringDecoder`.

use std::error::Error;
use std::fmt;
use std::str::FromStr;

/// A character encoding, as Node's `Buffer` encodings.
///
/// Used by [`Socket::set_encoding`](crate::Socket::set_encoding) (decoding `data`) and
/// [`Socket::write_encoded`](crate::Socket::write_encoded) (encoding a string to send). Parse one
/// from any name Node accepts with [`Encoding::from_name`] or `str::parse`.
///
/// # Examples
///
/// ```
/// use nodenet::Encoding;
///
/// assert_eq!("hex".parse::<Encoding>(), Ok(Encoding::Hex));
/// assert_eq!(Encoding::Hex.encode("6869"), b"hi");
/// assert_eq!(Encoding::Base64.to_string(), "base64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8 (`'utf8'`).
    Utf8,
    /// UTF-16 little endian (`'utf16le'`, `'ucs2'`).
    Utf16le,
    /// ISO-8859-1 (`'latin1'`, `'binary'`).
    Latin1,
    /// 7-bit ASCII (`'ascii'`).
    Ascii,
    /// Base64 (`'base64'`).
    Base64,
    /// URL-safe base64 without padding (`'base64url'`).
    Base64Url,
    /// Hexadecimal (`'hex'`).
    Hex,
}

/// Every name Node accepts, matched ASCII case-insensitively.
const NAMES: [(&str, Encoding); 12] = [
    ("utf8", Encoding::Utf8),
    ("utf-8", Encoding::Utf8),
    ("utf16le", Encoding::Utf16le),
    ("utf-16le", Encoding::Utf16le),
    ("ucs2", Encoding::Utf16le),
    ("ucs-2", Encoding::Utf16le),
    ("latin1", Encoding::Latin1),
    ("binary", Encoding::Latin1),
    ("ascii", Encoding::Ascii),
    ("base64", Encoding::Base64),
    ("base64url", Encoding::Base64Url),
    ("hex", Encoding::Hex),
];

impl Encoding {
    /// Node's name of the encoding.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::Encoding;
    ///
    /// assert_eq!(Encoding::Utf16le.name(), "utf16le");
    /// assert_eq!(Encoding::from_name("binary").unwrap().name(), "latin1");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Utf16le => "utf16le",
            Encoding::Latin1 => "latin1",
            Encoding::Ascii => "ascii",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Hex => "hex",
        }
    }

    /// Looks up an encoding by any name Node accepts, ignoring ASCII case.
    ///
    /// The names are those `Buffer.isEncoding` accepts: `utf8`, `utf-8`, `utf16le`,
    /// `utf-16le`, `ucs2`, `ucs-2`, `latin1`, `binary`, `ascii`, `base64`, `base64url`
    /// and `hex`. Like `Buffer.isEncoding`, the empty string is not a name.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::Encoding;
    ///
    /// assert_eq!(Encoding::from_name("UTF-8"), Some(Encoding::Utf8));
    /// assert_eq!(Encoding::from_name("ucs2"), Some(Encoding::Utf16le));
    /// assert_eq!(Encoding::from_name("utf16"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Encoding> {
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, encoding)| encoding)
    }

    /// Encodes `text` to bytes as Node's `Buffer.from(text, encoding)` does.
    ///
    /// - `Utf8`: the UTF-8 bytes; `Utf16le`: the UTF-16 code units, little endian.
    /// - `Latin1` and `Ascii`: each UTF-16 code unit truncated to its low byte.
    /// - `Base64` and `Base64Url` (both lenient and identical): both alphabets are
    ///   accepted, other characters are skipped, decoding stops at the first `=`, and
    ///   leftover bits that do not make a whole byte are dropped.
    /// - `Hex`: pairs of hex digits, stopping at the first pair that is not one; an odd
    ///   trailing digit is dropped.
    ///
    /// For base64 and hex, as in Node, each UTF-16 code unit is first truncated to its low
    /// byte, so `'\u{151}'` reads as `'Q'` and the high surrogate of `'😀'` as `'='`.
    ///
    /// # Examples
    ///
    /// ```
    /// use nodenet::Encoding;
    ///
    /// assert_eq!(Encoding::Latin1.encode("é€"), [0xe9, 0xac]);
    /// assert_eq!(Encoding::Utf16le.encode("a€"), [0x61, 0x00, 0xac, 0x20]);
    /// assert_eq!(Encoding::Base64.encode("Y Q = = junk"), b"a");
    /// assert_eq!(Encoding::Base64.encode("-_"), [0xfb]);
    /// assert_eq!(Encoding::Hex.encode("abzz12"), [0xab]);
    /// ```
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf16le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Encoding::Latin1 | Encoding::Ascii => {
                if text.is_ascii() {
                    text.as_bytes().to_vec()
                } else {
                    text.encode_utf16().map(low_byte).collect()
                }
            }
            // ASCII text is its own low bytes: skip the UTF-16 walk (the common, fast case).
            Encoding::Base64 | Encoding::Base64Url if text.is_ascii() => {
                base64_decode(text.bytes())
            }
            Encoding::Base64 | Encoding::Base64Url => {
                base64_decode(text.encode_utf16().map(low_byte))
            }
            Encoding::Hex if text.is_ascii() => hex_decode(text.bytes()),
            Encoding::Hex => hex_decode(text.encode_utf16().map(low_byte)),
        }
    }
}

/// The low byte of a UTF-16 code unit, as V8's one-byte string views truncate it.
fn low_byte(unit: u16) -> u8 {
    unit.to_le_bytes()[0]
}

/// The error of parsing an [`Encoding`] from a name that Node does not know.
///
/// Its message is that of Node's `ERR_UNKNOWN_ENCODING`.
///
/// # Examples
///
/// ```
/// use nodenet::{Encoding, UnknownEncoding};
///
/// let err = "utf16".parse::<Encoding>().unwrap_err();
/// assert_eq!(err, UnknownEncoding("utf16".to_string()));
/// assert_eq!(err.to_string(), "Unknown encoding: utf16");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownEncoding(pub String);

impl fmt::Display for UnknownEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unknown encoding: {}", self.0)
    }
}

impl Error for UnknownEncoding {}

impl FromStr for Encoding {
    type Err = UnknownEncoding;

    /// Parses a name as [`Encoding::from_name`] does.
    fn from_str(name: &str) -> Result<Encoding, UnknownEncoding> {
        Encoding::from_name(name).ok_or_else(|| UnknownEncoding(name.to_string()))
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Marks a byte that is not a base64 digit in [`BASE64_VALUES`].
const NOT_BASE64: u8 = 0xff;

/// The value of each byte as a base64 digit of either alphabet.
const BASE64_VALUES: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    table[b'+' as usize] = 62;
    table[b'-' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b'_' as usize] = 63;
    table
};

/// Node's lenient base64 decoding of `src` (its bytes, one per UTF-16 code unit).
fn base64_decode(src: impl Iterator<Item = u8>) -> Vec<u8> {
    let (lower, _) = src.size_hint();
    let mut out = Vec::with_capacity(lower / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut digits = 0u8;
    for c in src {
        let value = BASE64_VALUES[usize::from(c)];
        if value == NOT_BASE64 {
            if c == b'=' {
                break;
            }
            continue;
        }
        acc = (acc << 6) | u32::from(value);
        digits += 1;
        if digits == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            digits = 0;
        }
    }
    // 2 digits hold one byte (4 bits spare), 3 digits two bytes (2 bits spare); 1 holds none.
    match digits {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    out
}

/// The value of a hex digit.
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Node's hex decoding of `src` (its bytes, one per UTF-16 code unit).
fn hex_decode(mut src: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.size_hint().0 / 2);
    while let (Some(hi), Some(lo)) = (src.next(), src.next()) {
        match (hex_value(hi), hex_value(lo)) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => break,
        }
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends the base64 text of `bytes` to `out`, padded with `=` when `pad`.
fn push_base64(out: &mut String, bytes: &[u8], alphabet: &[u8; 64], pad: bool) {
    let mut text = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let digit = |v: u32| alphabet[(v & 0x3f) as usize];
    let mut groups = bytes.chunks_exact(3);
    for group in &mut groups {
        let v = u32::from_be_bytes([0, group[0], group[1], group[2]]);
        text.extend_from_slice(&[digit(v >> 18), digit(v >> 12), digit(v >> 6), digit(v)]);
    }
    match *groups.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            text.extend_from_slice(&[digit(v >> 18), digit(v >> 12)]);
            if pad {
                text.extend_from_slice(b"==");
            }
        }
        [a, b] => {
            let v = u32::from(a) << 16 | u32::from(b) << 8;
            text.extend_from_slice(&[digit(v >> 18), digit(v >> 12), digit(v >> 6)]);
            if pad {
                text.push(b'=');
            }
        }
        _ => {}
    }
    out.push_str(&ascii_string(text));
}

/// Appends `bytes` decoded as UTF-8 to `out`, each maximal invalid subpart as U+FFFD.
///
/// That is the replacement V8's `String::NewFromUtf8` does.
fn push_utf8_lossy(out: &mut String, bytes: &[u8]) {
    out.push_str(&String::from_utf8_lossy(bytes));
}

/// The number of bytes of a UTF-8 sequence that `lead` starts, as Node's `StringDecoder`
/// reads lead bytes (`0xf5..=0xf7` count as 4), or `None` for bytes it does not hold.
fn utf8_sequence_len(lead: u8) -> Option<usize> {
    if lead & 0xe0 == 0xc0 {
        Some(2)
    } else if lead & 0xf0 == 0xe0 {
        Some(3)
    } else if lead & 0xf8 == 0xf0 {
        Some(4)
    } else {
        None
    }
}

fn is_utf8_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

fn is_high_surrogate(unit: u16) -> bool {
    (0xd800..0xdc00).contains(&unit)
}

/// Incremental decoder with Node's `StringDecoder` semantics.
///
/// It differs from Node only where Node's text would hold a lone surrogate, which a Rust
/// string cannot: such a surrogate becomes U+FFFD. And for UTF-16LE, where Node's `write`
/// would end its text on a high surrogate (an odd-length chunk whose last whole code unit is
/// one), this holds the surrogate back until the next code unit arrives, so a pair split
/// that way still decodes to its character. The concatenated text is always Node's, with
/// lone surrogates replaced.
#[derive(Clone, Debug)]
pub(crate) struct Decoder {
    encoding: Encoding,
    /// The bytes held back from earlier writes (`buffered` of them).
    pending: [u8; 4],
    buffered: usize,
    /// How many more bytes the held sequence needs (UTF-8 and base64 only, as Node's
    /// `kMissingBytes`).
    missing: usize,
}

impl Decoder {
    pub(crate) fn new(encoding: Encoding) -> Decoder {
        Decoder {
            encoding,
            pending: [0; 4],
            buffered: 0,
            missing: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Decodes `bytes`, keeping an incomplete trailing sequence for the next call.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> String {
        match self.encoding {
            Encoding::Utf8 => self.write_utf8(bytes),
            Encoding::Utf16le => self.write_utf16le(bytes),
            Encoding::Base64 => self.write_base64(bytes, BASE64_ALPHABET),
            Encoding::Base64Url => self.write_base64(bytes, BASE64URL_ALPHABET),
            Encoding::Latin1 => decode_latin1(bytes),
            Encoding::Ascii => ascii_string(bytes.iter().map(|&b| b & 0x7f).collect()),
            Encoding::Hex => ascii_string(
                bytes
                    .iter()
                    .flat_map(|&b| {
                        [
                            HEX_DIGITS[usize::from(b >> 4)],
                            HEX_DIGITS[usize::from(b & 0xf)],
                        ]
                    })
                    .collect(),
            ),
        }
    }

    /// Flushes what is left at end of stream.
    pub(crate) fn end(&mut self) -> String {
        let held = &self.pending[..self.buffered];
        let mut out = String::new();
        match self.encoding {
            Encoding::Utf8 => push_utf8_lossy(&mut out, held),
            // Only a high surrogate (a lone one now) and an odd byte can be held; Node
            // drops the odd byte.
            Encoding::Utf16le if held.len() >= 2 => out.push(char::REPLACEMENT_CHARACTER),
            Encoding::Base64 => push_base64(&mut out, held, BASE64_ALPHABET, true),
            Encoding::Base64Url => push_base64(&mut out, held, BASE64URL_ALPHABET, false),
            _ => {}
        }
        self.buffered = 0;
        self.missing = 0;
        out
    }

    /// Holds `bytes` (at most 4) as the pending sequence.
    fn hold(&mut self, bytes: &[u8]) {
        self.pending[..bytes.len()].copy_from_slice(bytes);
        self.buffered = bytes.len();
    }

    /// Node's `StringDecoder::DecodeData` for UTF-8.
    fn write_utf8(&mut self, mut data: &[u8]) -> String {
        let mut out = String::new();
        if self.missing > 0 {
            let mut take = data.len().min(self.missing);
            let mut missing = self.missing - take;
            // A byte that should continue the held sequence but does not ends it; that
            // byte starts the next character.
            if let Some(i) = data[..take].iter().position(|&b| !is_utf8_continuation(b)) {
                take = i;
                missing = 0;
            }
            let end = self.buffered + take;
            self.pending[self.buffered..end].copy_from_slice(&data[..take]);
            self.buffered = end;
            self.missing = missing;
            data = &data[take..];
            if missing == 0 {
                push_utf8_lossy(&mut out, &self.pending[..end]);
                self.buffered = 0;
            }
        }
        let Some(&last) = data.last() else {
            return out;
        };
        // Find a character cut off at the end of the chunk, to finish on the next write.
        let mut held = 0;
        if last & 0x80 != 0 {
            for i in (0..data.len()).rev() {
                held += 1;
                if is_utf8_continuation(data[i]) {
                    if held >= 4 || i == 0 {
                        held = 0;
                        break;
                    }
                    continue;
                }
                match utf8_sequence_len(data[i]) {
                    Some(len) if held < len => self.missing = len - held,
                    _ => held = 0,
                }
                break;
            }
        }
        let (body, tail) = data.split_at(data.len() - held);
        self.hold(tail);
        if out.is_empty() {
            String::from_utf8_lossy(body).into_owned()
        } else {
            push_utf8_lossy(&mut out, body);
            out
        }
    }

    /// UTF-16LE: decodes every whole code unit except a trailing high surrogate, which is
    /// held with an odd trailing byte.
    fn write_utf16le(&mut self, data: &[u8]) -> String {
        let buffered = self.buffered;
        let pending = self.pending;
        let byte = |k: usize| {
            if k < buffered {
                pending[k]
            } else {
                data[k - buffered]
            }
        };
        let unit = |k: usize| u16::from_le_bytes([byte(2 * k), byte(2 * k + 1)]);
        let total = buffered + data.len();
        let mut units = total / 2;
        if units > 0 && is_high_surrogate(unit(units - 1)) {
            units -= 1;
        }
        let mut out = String::with_capacity(units + units / 2);
        out.extend(
            char::decode_utf16((0..units).map(unit))
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)),
        );
        let mut tail = [0u8; 4];
        let tail_len = total - 2 * units;
        for (k, slot) in tail[..tail_len].iter_mut().enumerate() {
            *slot = byte(2 * units + k);
        }
        self.hold(&tail[..tail_len]);
        out
    }

    /// Node's `StringDecoder::DecodeData` for base64 and base64url: whole 3-byte groups.
    fn write_base64(&mut self, mut data: &[u8], alphabet: &[u8; 64]) -> String {
        let mut out = String::new();
        if self.missing > 0 {
            let take = data.len().min(self.missing);
            let end = self.buffered + take;
            self.pending[self.buffered..end].copy_from_slice(&data[..take]);
            self.buffered = end;
            self.missing -= take;
            data = &data[take..];
            if self.missing == 0 {
                push_base64(&mut out, &self.pending[..end], alphabet, false);
                self.buffered = 0;
            }
        }
        if data.is_empty() {
            return out;
        }
        let (body, tail) = data.split_at(data.len() - data.len() % 3);
        self.hold(tail);
        if !tail.is_empty() {
            self.missing = 3 - tail.len();
        }
        push_base64(&mut out, body, alphabet, false);
        out
    }
}

/// Latin-1: one character per byte.
fn decode_latin1(bytes: &[u8]) -> String {
    // The ASCII prefix is copied as it is; the rest takes up to two bytes a character.
    let ascii = bytes.iter().take_while(|b| b.is_ascii()).count();
    let (head, rest) = bytes.split_at(ascii);
    let mut out = String::with_capacity(head.len() + 2 * rest.len());
    out.push_str(std::str::from_utf8(head).unwrap_or_default());
    out.extend(rest.iter().map(|&b| char::from(b)));
    out
}

/// A `String` from bytes known to be UTF-8 (ASCII, mostly), without `unsafe` or panics.
fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One `data` event's payload: the bytes read, and their text when an encoding is set.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
///
/// let server = nodenet::create_server(|socket| {
///     socket.end_with("h\u{e9}llo"); // "héllo"
/// });
/// let text = Rc::new(RefCell::new(String::new()));
/// let sink = text.clone();
/// server.listen((0, "127.0.0.1")).on_listening(move |server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::connect((port, "127.0.0.1"));
///     client.set_encoding(Some(nodenet::Encoding::Latin1));
///     let sink = sink.clone();
///     client.on_data(move |_, chunk: &nodenet::Chunk| {
///         assert!(!chunk.bytes().is_empty());
///         sink.borrow_mut().push_str(chunk.text().unwrap());
///     });
///     let server = server.clone();
///     client.on_close(move |_, _| {
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// assert_eq!(*text.borrow(), "h\u{c3}\u{a9}llo"); // the UTF-8 bytes of 'é', read as latin1
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    bytes: Vec<u8>,
    text: Option<String>,
}

impl Chunk {
    pub(crate) fn new(bytes: Vec<u8>, text: Option<String>) -> Chunk {
        Chunk { bytes, text }
    }

    /// The bytes of this chunk, exactly as read from the socket.
    ///
    /// With an encoding set, a read that ends inside a character carries its first bytes here while
    /// [`Chunk::text`] holds only the complete characters; a read that completes no character emits
    /// no `data` event, and the replacement character emitted at end of stream comes with no bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with(vec![0u8, 1, 2, 255]);
    /// });
    /// let received = Rc::new(RefCell::new(Vec::new()));
    /// let sink = received.clone();
    /// server.listen((0, "127.0.0.1")).on_listening(move |server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     let sink = sink.clone();
    ///     client.on_data(move |_, chunk| sink.borrow_mut().extend_from_slice(chunk.bytes()));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(*received.borrow(), [0, 1, 2, 255]);
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded text, when [`Socket::set_encoding`](crate::Socket::set_encoding) chose an
    /// encoding; `None` without one.
    ///
    /// A multi-byte character split across reads is never broken: its bytes are held back until
    /// the character is complete.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("caf\u{e9}");
    /// });
    /// let text = Rc::new(RefCell::new(String::new()));
    /// let sink = text.clone();
    /// server.listen((0, "127.0.0.1")).on_listening(move |server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.set_encoding(Some(nodenet::Encoding::Hex));
    ///     let sink = sink.clone();
    ///     client.on_data(move |_, chunk| sink.borrow_mut().push_str(chunk.text().unwrap()));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(*text.borrow(), "636166c3a9");
    /// ```
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Takes the bytes out of the chunk (without a copy).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let server = nodenet::create_server(|socket| {
    ///     socket.end_with("abc");
    /// });
    /// let chunks: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    /// let sink = chunks.clone();
    /// server.listen((0, "127.0.0.1")).on_listening(move |server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     let sink = sink.clone();
    ///     client.on_data(move |_, chunk| sink.borrow_mut().push(chunk.clone().into_bytes()));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// assert_eq!(chunks.borrow().concat(), b"abc");
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// What a pipe forwards: the decoded text as UTF-8 when an encoding is set (as Node writes the
    /// `data` string to the destination), else the bytes read.
    pub(crate) fn into_forwarded(self) -> Vec<u8> {
        match self.text {
            Some(text) => text.into_bytes(),
            None => self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Encoding; 7] = [
        Encoding::Utf8,
        Encoding::Utf16le,
        Encoding::Latin1,
        Encoding::Ascii,
        Encoding::Base64,
        Encoding::Base64Url,
        Encoding::Hex,
    ];

    /// The bytes of 'a€b😀c'.
    const SAMPLE: [u8; 10] = [0x61, 0xe2, 0x82, 0xac, 0x62, 0xf0, 0x9f, 0x98, 0x80, 0x63];

    /// Node v20's `Buffer.from('a€b😀c').toString(encoding)`.
    fn sample_text(encoding: Encoding) -> &'static str {
        match encoding {
            Encoding::Utf8 => "a€b😀c",
            Encoding::Utf16le => "\u{e261}\u{ac82}\u{f062}\u{989f}\u{6380}",
            Encoding::Latin1 => "a\u{e2}\u{82}\u{ac}b\u{f0}\u{9f}\u{98}\u{80}c",
            Encoding::Ascii => "ab\u{2},bp\u{1f}\u{18}\u{0}c",
            Encoding::Base64 => "YeKCrGLwn5iAYw==",
            Encoding::Base64Url => "YeKCrGLwn5iAYw",
            Encoding::Hex => "61e282ac62f09f988063",
        }
    }

    /// Decodes `bytes` cut at `splits`: the outputs of every `write`, then `end`'s.
    fn decode_pieces(encoding: Encoding, bytes: &[u8], splits: &[usize]) -> Vec<String> {
        let mut decoder = Decoder::new(encoding);
        let mut pieces = Vec::new();
        let mut start = 0;
        for &at in splits.iter().chain([&bytes.len()]) {
            pieces.push(decoder.write(&bytes[start..at]));
            start = at;
        }
        pieces.push(decoder.end());
        pieces
    }

    #[test]
    fn every_split_of_the_sample_decodes_to_the_whole() {
        for encoding in ALL {
            // Each subset of the 9 inner cut points, and also an empty write at each end.
            for mask in 0u32..1 << 9 {
                let mut splits: Vec<usize> = (1..10).filter(|i| mask & 1 << (i - 1) != 0).collect();
                let text = decode_pieces(encoding, &SAMPLE, &splits).concat();
                assert_eq!(text, sample_text(encoding), "{encoding} cut at {splits:?}");
                splits.insert(0, 0);
                splits.push(SAMPLE.len());
                let text = decode_pieces(encoding, &SAMPLE, &splits).concat();
                assert_eq!(text, sample_text(encoding), "{encoding} cut at {splits:?}");
            }
        }
    }

    #[test]
    fn byte_at_a_time_pieces() {
        let one_by_one: Vec<usize> = (1..SAMPLE.len()).collect();
        let pieces = |encoding| decode_pieces(encoding, &SAMPLE, &one_by_one);
        let e = "";
        assert_eq!(
            pieces(Encoding::Base64),
            [e, e, "YeKC", e, e, "rGLw", e, e, "n5iA", e, "Yw=="]
        );
        assert_eq!(
            pieces(Encoding::Base64Url),
            [e, e, "YeKC", e, e, "rGLw", e, e, "n5iA", e, "Yw"]
        );
        assert_eq!(
            pieces(Encoding::Utf8),
            ["a", e, e, "€", "b", e, e, e, "😀", "c", e]
        );
        assert_eq!(
            pieces(Encoding::Utf16le),
            [
                e, "\u{e261}", e, "\u{ac82}", e, "\u{f062}", e, "\u{989f}", e, "\u{6380}", e
            ]
        );
    }

    #[test]
    fn utf8_invalid_sequences() {
        let r = "\u{fffd}";
        // Cut off, then a byte that does not continue it.
        assert_eq!(
            decode_pieces(Encoding::Utf8, &[0xe2, 0x82, 0x41], &[2]),
            ["", "\u{fffd}A", ""]
        );
        // Incomplete at the end.
        assert_eq!(decode_pieces(Encoding::Utf8, &[0xe2], &[]), ["", r]);
        assert_eq!(
            decode_pieces(Encoding::Utf8, &[0xf0, 0x9f, 0x98], &[1]),
            ["", "", r]
        );
        // 4-byte sequences split 1+3, 2+2, 3+1.
        for at in 1..4 {
            assert_eq!(
                decode_pieces(Encoding::Utf8, &[0xf0, 0x9f, 0x98, 0x80], &[at]),
                ["", "😀", ""]
            );
        }
        // Overlong forms, surrogates, out of range, lone continuation bytes, 0xff.
        let bytes = [
            0xc0, 0x80, 0xff, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80,
        ];
        assert_eq!(
            decode_pieces(Encoding::Utf8, &bytes, &[]),
            [r.repeat(11), String::new()]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf8, &[0xe0, 0x80, 0x41], &[1]),
            ["", "\u{fffd}\u{fffd}A", ""]
        );
    }

    #[test]
    fn utf16le_holds_odd_bytes_and_high_surrogates() {
        let pair = [0x3d, 0xd8, 0x00, 0xde];
        for at in 0..=4 {
            let text = decode_pieces(Encoding::Utf16le, &pair, &[at]).concat();
            assert_eq!(text, "😀", "cut at {at}");
        }
        // Node would end the first write on a lone '\u{d83d}'; it is held instead.
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &pair, &[3]),
            ["", "😀", ""]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &[0x3d, 0xd8, 0x41, 0x00], &[2]),
            ["", "\u{fffd}A", ""]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &[0x3d, 0xd8], &[]),
            ["", "\u{fffd}"]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &[0x41, 0x00, 0x42], &[]),
            ["A", ""]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &[0x3d, 0xd8, 0x42], &[]),
            ["", "\u{fffd}"]
        );
        assert_eq!(
            decode_pieces(Encoding::Utf16le, &[0x00, 0xde], &[]),
            ["\u{fffd}", ""]
        );
    }

    #[test]
    fn stateless_encodings() {
        let bytes = [0x00, 0x41, 0x7f, 0x80, 0xc3, 0xff];
        assert_eq!(
            decode_pieces(Encoding::Ascii, &bytes, &[]),
            ["\u{0}A\u{7f}\u{0}C\u{7f}", ""]
        );
        assert_eq!(
            decode_pieces(Encoding::Latin1, &bytes, &[]),
            ["\u{0}A\u{7f}\u{80}Ã\u{ff}", ""]
        );
        assert_eq!(
            decode_pieces(Encoding::Hex, &bytes, &[]),
            ["00417f80c3ff", ""]
        );
    }

    #[test]
    fn end_resets_the_decoder() {
        let mut decoder = Decoder::new(Encoding::Utf8);
        assert_eq!(decoder.write(&[0xe2, 0x82]), "");
        assert_eq!(decoder.end(), "\u{fffd}");
        assert_eq!(decoder.write(&[0xac]), "\u{fffd}");
        assert_eq!(decoder.end(), "");
        let mut decoder = Decoder::new(Encoding::Base64);
        assert_eq!(decoder.write(b"a"), "");
        assert_eq!(decoder.end(), "YQ==");
        assert_eq!(decoder.write(b"bc"), "");
        assert_eq!(decoder.end(), "YmM=");
        assert_eq!(decoder.encoding(), Encoding::Base64);
    }

    #[test]
    fn large_chunks() {
        let text = "héllo wörld € 😀 ".repeat(4096);
        let bytes = text.as_bytes();
        let mut decoder = Decoder::new(Encoding::Utf8);
        let mut out = String::new();
        for chunk in bytes.chunks(65536) {
            out.push_str(&decoder.write(chunk));
        }
        out.push_str(&decoder.end());
        assert_eq!(out, text);
        let all: Vec<u8> = (0..=255).cycle().take(65536).collect();
        let latin1 = Decoder::new(Encoding::Latin1).write(&all);
        assert!(
            latin1
                .chars()
                .map(|c| c as u32)
                .eq(all.iter().map(|&b| u32::from(b)))
        );
    }

    /// Deterministic xorshift64* generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A number in `0..n`.
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// UTF-16 code units from the hex of their little-endian bytes.
    fn units(text: &str) -> Vec<u16> {
        (0..text.len() / 4)
            .map(|i| {
                let unit = u16::from_str_radix(&text[4 * i..4 * i + 4], 16).expect("hex");
                unit.swap_bytes()
            })
            .collect()
    }

    /// Random bytes aimed at the corners of UTF-8 and UTF-16 decoding.
    fn random_bytes(rng: &mut Rng) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            &[0xed, 0xa0, 0x80],
            &[0xed, 0xb0, 0x80],
            &[0xed, 0xbf, 0xbf],
            &[0xc0, 0x80],
            &[0xc1, 0xbf],
            &[0xe0, 0x80, 0x80],
            &[0xe0, 0x9f, 0xbf],
            &[0xf0, 0x80, 0x80, 0x80],
            &[0xf0, 0x8f, 0xbf, 0xbf],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xf5, 0x80, 0x80, 0x80],
            &[0xf8, 0x88, 0x80, 0x80, 0x80],
            &[0xfe],
            &[0xff],
            &[0x3d, 0xd8, 0x00, 0xde],
            &[0x00, 0xd8],
            &[0xff, 0xdb],
            &[0x00, 0xdc],
            &[0xff, 0xdf],
        ];
        let len = rng.below(40);
        let mut bytes = Vec::new();
        while bytes.len() < len {
            match rng.below(8) {
                0 => bytes.push(rng.below(0x80) as u8),
                1 => bytes.push(rng.next() as u8),
                2 => bytes.push(0x80 | rng.below(0x40) as u8),
                3 | 4 => {
                    let c = loop {
                        let max = [0x80, 0x800, 0x1_0000, 0x11_0000][rng.below(4)];
                        if let Some(c) = char::from_u32(rng.below(max) as u32) {
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
                _ => bytes.extend_from_slice(TOKENS[rng.below(TOKENS.len())]),
            }
        }
        bytes.truncate(len);
        bytes
    }

    /// Differential test of `Decoder` against Node's `StringDecoder`, via
    /// `tests/node/encoding_batch.js`; fails when `node` is missing.
    #[test]
    #[cfg_attr(
        windows,
        ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
    )]
    fn decoder_matches_node() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut cases: Vec<(Vec<u8>, Vec<usize>)> = Vec::new();
        cases.push((SAMPLE.to_vec(), (1..SAMPLE.len()).collect()));
        while cases.len() < 3000 {
            let bytes = random_bytes(&mut rng);
            let mut splits: Vec<usize> = if rng.below(10) == 0 {
                (1..bytes.len()).collect()
            } else {
                (0..rng.below(6))
                    .map(|_| rng.below(bytes.len() + 1))
                    .collect()
            };
            splits.sort_unstable();
            cases.push((bytes, splits));
        }
        let mut lines = Vec::new();
        for (bytes, splits) in &cases {
            let splits: Vec<String> = splits.iter().map(usize::to_string).collect();
            let splits = if splits.is_empty() {
                "-".to_string()
            } else {
                splits.join(",")
            };
            let bytes = if bytes.is_empty() {
                "-".to_string()
            } else {
                hex(bytes)
            };
            for encoding in ALL {
                lines.push(format!("D {encoding} {bytes} {splits}"));
            }
        }

        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/encoding_batch.js");
        let input = std::env::temp_dir().join(format!("nodenet-decode-{}.txt", std::process::id()));
        std::fs::write(&input, lines.join("\n") + "\n").expect("write the batch file");
        let output = std::process::Command::new("node")
            .arg(script)
            .arg(&input)
            .output()
            .expect("this test needs Node v20 as `node` on PATH");
        let _ = std::fs::remove_file(&input);
        assert!(
            output.status.success(),
            "node failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("node prints ASCII");
        let answers: Vec<&str> = stdout.lines().collect();
        assert_eq!(answers.len(), lines.len(), "one answer per case");

        let mut failures = Vec::new();
        let mut answers = answers.into_iter();
        for (bytes, splits) in &cases {
            for encoding in ALL {
                let answer = answers.next().unwrap_or_default();
                let (pieces, whole) = answer.split_once(' ').unwrap_or_default();
                // Node's pieces, with a high surrogate that ends a piece carried over to the
                // next one, as `Decoder` holds it; then lone surrogates become U+FFFD.
                let mut expected = Vec::new();
                let mut carry: Vec<u16> = Vec::new();
                for node_piece in pieces.split(',') {
                    let mut piece = std::mem::take(&mut carry);
                    piece.extend(units(piece_hex(node_piece)));
                    if piece.last().is_some_and(|&u| is_high_surrogate(u)) {
                        carry.extend(piece.pop());
                    }
                    expected.push(String::from_utf16_lossy(&piece));
                }
                if let Some(last) = expected.last_mut() {
                    last.push_str(&String::from_utf16_lossy(&carry));
                }
                let whole = String::from_utf16_lossy(&units(whole.trim_start_matches('-')));
                let actual = decode_pieces(encoding, bytes, splits);
                if actual != expected || actual.concat() != whole {
                    failures.push(format!(
                        "{encoding} {} cut at {splits:?}: node {expected:?} (whole {whole:?}), ours {actual:?}",
                        hex(bytes)
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases differ:\n{}",
            failures.len(),
            lines.len(),
            failures[..failures.len().min(20)].join("\n")
        );
        println!("decoder: {} cases match node", lines.len());
    }

    /// The hex of a piece in the batch output, which prefixes each with 'x'.
    fn piece_hex(piece: &str) -> &str {
        piece.strip_prefix('x').unwrap_or(piece)
    }
}
