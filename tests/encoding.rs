//! `set_encoding` over real sockets (item 88 of node-net-behaviors.md): chunks are decoded so that
//! a character split across reads is never broken, incomplete input at EOF becomes U+FFFD before
//! `end`, and the joined text equals Node's `buf.toString(enc)`. The codec alone is tested in
//! `tests/encoding_codec.rs`.
//!
//! The "paced" exchanges send one piece, then wait until the receiver has read exactly those bytes
//! (`bytes_read()`) before sending the next, so that each read is exactly one piece.

mod util;

use nodenet::{Encoding, Socket};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use util::port_of;

const ALL: [Encoding; 7] = [
    Encoding::Utf8,
    Encoding::Utf16le,
    Encoding::Latin1,
    Encoding::Ascii,
    Encoding::Base64,
    Encoding::Base64Url,
    Encoding::Hex,
];

/// 'a€b😀c': € = e2 82 ac, 😀 = f0 9f 98 80.
const MIXED: &str = "a€b😀c";

/// What the receiving socket saw.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Data(Vec<u8>, Option<String>),
    End,
    Close(bool),
}

type Items = Rc<RefCell<Vec<Item>>>;

/// The texts of the `data` events, then "<end>" where `end` came.
fn texts(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Data(_, text) => Some(text.clone().expect("an encoding is set")),
            Item::End => Some("<end>".to_string()),
            Item::Close(_) => None,
        })
        .collect()
}

/// All text received, joined.
fn joined(items: &[Item]) -> String {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Data(_, text) => Some(text.clone().expect("an encoding is set")),
            _ => None,
        })
        .collect()
}

/// Runs `then` on the loop once `cond` holds, checking every millisecond.
fn poll_until(cond: impl Fn() -> bool + 'static, then: impl FnOnce() + 'static) {
    if cond() {
        then();
    } else {
        nodenet::set_timeout(Duration::from_millis(1), move || poll_until(cond, then));
    }
}

/// Writes `pieces` of `payload` one at a time, each after `receiver` has read all before it.
fn send_paced(sender: Socket, receiver: Socket, payload: Rc<Vec<u8>>, pieces: Rc<Vec<usize>>) {
    fn step(
        sender: Socket,
        receiver: Socket,
        payload: Rc<Vec<u8>>,
        pieces: Rc<Vec<usize>>,
        index: usize,
        offset: usize,
    ) {
        if index == pieces.len() {
            sender.end();
            return;
        }
        let end = offset + pieces[index];
        sender.write(&payload[offset..end]);
        let r = receiver.clone();
        poll_until(
            move || r.bytes_read() >= end as u64,
            move || step(sender, receiver, payload, pieces, index + 1, end),
        );
    }
    step(sender, receiver, payload, pieces, 0, 0);
}

/// Sets up a server that sends `payload` in `pieces` (paced) and a client with `encoding` that
/// records what it gets; the result is complete after `nodenet::run()`.
fn paced_exchange(payload: Vec<u8>, pieces: Vec<usize>, encoding: Option<Encoding>) -> Items {
    assert_eq!(pieces.iter().sum::<usize>(), payload.len());
    let items: Items = Rc::default();
    let client_slot: Rc<RefCell<Option<Socket>>> = Rc::default();
    let (payload, pieces) = (Rc::new(payload), Rc::new(pieces));
    let slot = client_slot.clone();
    let server = nodenet::create_server(move |sock| {
        sock.set_no_delay(true);
        let client = slot.borrow().clone().expect("client exists");
        send_paced(sock, client, payload.clone(), pieces.clone());
    });
    let it = items.clone();
    let srv = server.clone();
    server.listen((0, "127.0.0.1")).on_listening(move |s| {
        let client = nodenet::connect((port_of(s), "127.0.0.1"));
        client.set_encoding(encoding);
        *client_slot.borrow_mut() = Some(client.clone());
        let i = it.clone();
        client.on_data(move |_, chunk| {
            i.borrow_mut().push(Item::Data(
                chunk.bytes().to_vec(),
                chunk.text().map(str::to_string),
            ))
        });
        let i = it.clone();
        client.on_end(move |_| i.borrow_mut().push(Item::End));
        let (i, srv) = (it.clone(), srv.clone());
        client.on_close(move |_, had_error| {
            i.borrow_mut().push(Item::Close(had_error));
            srv.close();
        });
    });
    items
}

#[test]
fn utf8_never_splits_a_character_fed_one_byte_per_read() {
    util::with_deadline(util::LIMIT, || {
        let payload = MIXED.as_bytes().to_vec();
        let items = paced_exchange(
            payload.clone(),
            vec![1; payload.len()],
            Some(Encoding::Utf8),
        );
        nodenet::run().unwrap();
        let items = items.borrow();
        // Node: chunks ["a","€","b","😀","c"]
        assert_eq!(texts(&items), ["a", "€", "b", "😀", "c", "<end>"]);
        assert_eq!(items.last(), Some(&Item::Close(false)));
    });
}

#[test]
fn utf8_chunks_are_whole_characters_when_reads_coalesce() {
    util::with_deadline(util::LIMIT, || {
        // Not paced: the kernel may merge the one-byte writes; no chunk may hold a broken character.
        let items: Items = Rc::default();
        let server = nodenet::create_server(|sock| {
            sock.set_no_delay(true);
            for b in MIXED.bytes() {
                sock.write([b]);
            }
            sock.end();
        });
        let (it, srv) = (items.clone(), server.clone());
        server.listen((0, "127.0.0.1")).on_listening(move |s| {
            let client = nodenet::connect((port_of(s), "127.0.0.1"));
            client.set_encoding(Some(Encoding::Utf8));
            let i = it.clone();
            client.on_data(move |_, chunk| {
                i.borrow_mut().push(Item::Data(
                    chunk.bytes().to_vec(),
                    chunk.text().map(str::to_string),
                ))
            });
            let i = it.clone();
            client.on_end(move |_| i.borrow_mut().push(Item::End));
            let srv = srv.clone();
            client.on_close(move |_, _| {
                srv.close();
            });
        });
        nodenet::run().unwrap();
        let items = items.borrow();
        let texts = texts(&items);
        assert_eq!(texts.last().map(String::as_str), Some("<end>"));
        for text in &texts {
            assert!(!text.is_empty(), "empty data chunk in {texts:?}");
            assert!(!text.contains('\u{FFFD}'), "broken character in {texts:?}");
        }
        assert_eq!(joined(&items), MIXED);
    });
}

#[test]
fn every_encoding_decodes_one_byte_per_read_as_node() {
    util::with_deadline(util::LIMIT, || {
        // Node v20 (probes/i1_enc.js), 'a€b😀c' fed one byte per packet.
        let expected: [(Encoding, &[&str]); 7] = [
            (Encoding::Utf8, &["a", "€", "b", "😀", "c"]),
            (
                Encoding::Hex,
                &["61", "e2", "82", "ac", "62", "f0", "9f", "98", "80", "63"],
            ),
            (Encoding::Base64, &["YeKC", "rGLw", "n5iA", "Yw=="]),
            (
                Encoding::Latin1,
                &[
                    "a", "\u{e2}", "\u{82}", "\u{ac}", "b", "\u{f0}", "\u{9f}", "\u{98}", "\u{80}",
                    "c",
                ],
            ),
            (
                Encoding::Ascii,
                &[
                    "a", "b", "\u{2}", ",", "b", "p", "\u{1f}", "\u{18}", "\u{0}", "c",
                ],
            ),
            (
                Encoding::Utf16le,
                &["\u{e261}", "\u{ac82}", "\u{f062}", "\u{989f}", "\u{6380}"],
            ),
            (Encoding::Base64Url, &["YeKC", "rGLw", "n5iA", "Yw"]),
        ];
        let payload = MIXED.as_bytes().to_vec();
        let runs: Vec<_> = expected
            .iter()
            .map(|(encoding, _)| {
                paced_exchange(payload.clone(), vec![1; payload.len()], Some(*encoding))
            })
            .collect();
        nodenet::run().unwrap();
        for ((encoding, chunks), items) in expected.iter().zip(runs) {
            let mut want: Vec<String> = chunks.iter().map(|c| c.to_string()).collect();
            want.push("<end>".into());
            assert_eq!(texts(&items.borrow()), want, "{encoding:?}");
        }
    });
}

#[test]
fn incomplete_utf8_at_eof_becomes_replacement_character_before_end() {
    util::with_deadline(util::LIMIT, || {
        // Node: chunks ["a","\ufffd"], then 'end'.
        let items = paced_exchange(vec![0x61, 0xe2, 0x82], vec![1, 1, 1], Some(Encoding::Utf8));
        let coalesced: Items = Rc::default();
        let server = nodenet::create_server(|sock| {
            sock.end_with([0x61, 0xe2, 0x82]);
        });
        let (it, srv) = (coalesced.clone(), server.clone());
        server.listen((0, "127.0.0.1")).on_listening(move |s| {
            let client = nodenet::connect((port_of(s), "127.0.0.1"));
            client.set_encoding(Some(Encoding::Utf8));
            let i = it.clone();
            client.on_data(move |_, chunk| {
                i.borrow_mut().push(Item::Data(
                    chunk.bytes().to_vec(),
                    chunk.text().map(str::to_string),
                ))
            });
            let i = it.clone();
            client.on_end(move |_| i.borrow_mut().push(Item::End));
            let srv = srv.clone();
            client.on_close(move |_, _| {
                srv.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(texts(&items.borrow()), ["a", "\u{FFFD}", "<end>"]);
        assert_eq!(texts(&coalesced.borrow()), ["a", "\u{FFFD}", "<end>"]);
    });
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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random piece sizes (1..=max) covering `len`.
fn random_pieces(rng: &mut Rng, len: usize, max: usize) -> Vec<usize> {
    let mut pieces = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = (1 + rng.below(max)).min(left);
        pieces.push(n);
        left -= n;
    }
    pieces
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Node's `Buffer.from(payload).toString(enc)` for each encoding, as UTF-8 hex.
fn node_to_string(payload: &[u8], encodings: &[Encoding]) -> Vec<String> {
    let script = r#"
        const [payload, ...encs] = process.argv.slice(1);
        const buf = Buffer.from(payload, 'hex');
        for (const enc of encs) console.log(Buffer.from(buf.toString(enc), 'utf8').toString('hex'));
    "#;
    let mut args = vec![hex(payload)];
    args.extend(encodings.iter().map(|e| e.name().to_string()));
    let output = util::spawn_node(script, &args)
        .wait_with_output()
        .expect("node ran");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Chunk-level properties that hold however the stream is cut.
fn check_chunks(encoding: Encoding, items: &[Item]) {
    let data: Vec<(&[u8], &str)> = items
        .iter()
        .filter_map(|item| match item {
            Item::Data(bytes, text) => Some((&bytes[..], text.as_deref().unwrap())),
            _ => None,
        })
        .collect();
    for (i, (bytes, text)) in data.iter().enumerate() {
        assert!(!text.is_empty(), "{encoding:?}: empty chunk {i}");
        let last = i + 1 == data.len();
        match encoding {
            Encoding::Hex => assert_eq!(text.len(), 2 * bytes.len(), "{encoding:?} chunk {i}"),
            Encoding::Latin1 | Encoding::Ascii => {
                assert_eq!(text.chars().count(), bytes.len(), "{encoding:?} chunk {i}")
            }
            Encoding::Base64 if !last => {
                assert_eq!(text.len() % 4, 0, "base64 emits whole groups: {text:?}")
            }
            Encoding::Utf8 | Encoding::Utf16le => {
                assert!(!text.contains('\u{FFFD}'), "{encoding:?} broke a character")
            }
            _ => {}
        }
    }
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn joined_text_equals_node_to_string_for_every_encoding() {
    util::with_deadline(util::LIMIT, || {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        // Binary encodings: every byte value, in random order.
        let binary: Vec<u8> = (0..3000).map(|_| rng.next() as u8).collect();
        // Text encodings: valid text with 1- to 4-byte characters (and surrogate pairs in UTF-16).
        let alphabet = [
            'a',
            '\u{7f}',
            '\u{80}',
            'é',
            '\u{7ff}',
            '\u{800}',
            '€',
            '日',
            '\u{ffff}',
            '\u{10000}',
            '😀',
            '𝄞',
            '\u{10ffff}',
        ];
        let text: String = (0..700)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let cases: Vec<(Encoding, Vec<u8>)> = ALL
            .iter()
            .map(|&encoding| {
                let payload = match encoding {
                    Encoding::Utf8 => text.as_bytes().to_vec(),
                    Encoding::Utf16le => Encoding::Utf16le.encode(&text),
                    _ => binary.clone(),
                };
                (encoding, payload)
            })
            .collect();
        let expected: Vec<String> = cases
            .iter()
            .map(|(encoding, payload)| node_to_string(payload, &[*encoding]).remove(0))
            .collect();
        let runs: Vec<_> = cases
            .iter()
            .map(|(encoding, payload)| {
                let pieces = random_pieces(&mut rng, payload.len(), 40);
                paced_exchange(payload.clone(), pieces, Some(*encoding))
            })
            .collect();
        nodenet::run().unwrap();
        for (((encoding, _), want), items) in cases.iter().zip(&expected).zip(runs) {
            let items = items.borrow();
            check_chunks(*encoding, &items);
            assert_eq!(items.last(), Some(&Item::Close(false)), "{encoding:?}");
            assert_eq!(items[items.len() - 2], Item::End, "{encoding:?}");
            assert_eq!(hex(joined(&items).as_bytes()), *want, "{encoding:?}");
        }
    });
}

#[test]
fn set_encoding_none_returns_to_raw_bytes() {
    util::with_deadline(util::LIMIT, || {
        let payload = MIXED.as_bytes().to_vec();
        let items: Items = Rc::default();
        let server = nodenet::create_server(move |sock| {
            sock.end_with(payload.clone());
        });
        let (it, srv) = (items.clone(), server.clone());
        server.listen((0, "127.0.0.1")).on_listening(move |s| {
            let client = nodenet::connect((port_of(s), "127.0.0.1"));
            let same = client
                .set_encoding(Some(Encoding::Hex))
                .set_encoding(None)
                .clone();
            assert!(same == client, "set_encoding returns the socket");
            let i = it.clone();
            client.on_data(move |_, chunk| {
                i.borrow_mut().push(Item::Data(
                    chunk.bytes().to_vec(),
                    chunk.text().map(str::to_string),
                ))
            });
            let i = it.clone();
            client.on_end(move |_| i.borrow_mut().push(Item::End));
            let srv = srv.clone();
            client.on_close(move |_, _| {
                srv.close();
            });
        });
        nodenet::run().unwrap();
        let items = items.borrow();
        let mut raw = Vec::new();
        for item in items.iter() {
            if let Item::Data(bytes, text) = item {
                assert_eq!(*text, None, "no encoding: no text");
                raw.extend_from_slice(bytes);
            }
        }
        assert_eq!(raw, MIXED.as_bytes());
        assert_eq!(items.last(), Some(&Item::End));
    });
}

#[test]
fn set_encoding_applies_to_data_already_buffered() {
    util::with_deadline(util::LIMIT, || {
        // Node: bytes buffered before setEncoding('hex') are delivered as hex text.
        let items: Items = Rc::default();
        let it = items.clone();
        let server = nodenet::create_server(move |sock| {
            let (s, s2, it) = (sock.clone(), sock.clone(), it.clone());
            poll_until(
                move || s2.readable_length() >= 5,
                move || {
                    s.set_encoding(Some(Encoding::Hex));
                    let i = it.clone();
                    s.on_data(move |_, chunk| {
                        i.borrow_mut().push(Item::Data(
                            chunk.bytes().to_vec(),
                            chunk.text().map(str::to_string),
                        ))
                    });
                    let i = it.clone();
                    s.on_end(move |_| i.borrow_mut().push(Item::End));
                },
            );
        });
        let srv = server.clone();
        server.listen((0, "127.0.0.1")).on_listening(move |s| {
            let client = nodenet::connect((port_of(s), "127.0.0.1"));
            client.on_connect(|c| {
                c.end_with("hello");
            });
            client.resume();
            let srv = srv.clone();
            client.on_close(move |_, _| {
                srv.close();
            });
        });
        nodenet::run().unwrap();
        let items = items.borrow();
        assert_eq!(joined(&items), "68656c6c6f");
        assert_eq!(items.last(), Some(&Item::End));
    });
}

/// Node's `src.setEncoding('utf8'); src.pipe(dst)`: `dst.write(string)` sends the decoded text,
/// so a UTF-8 character split across reads arrives whole and no byte is lost.
#[test]

fn pipe_with_utf8_encoding_forwards_split_characters_whole() {
    util::with_deadline(util::LIMIT, || {
        let got = pipe_through(Encoding::Utf8);
        nodenet::run().unwrap();
        // Node v20: the sink receives 61e282ac62f09f988063 ('a€b😀c').
        assert_eq!(hex(&got.borrow()), "61e282ac62f09f988063");
    });
}

/// Node's `src.setEncoding(enc); src.pipe(dst)` writes the decoded strings, re-encoded as UTF-8:
/// hex arrives as hex digits, latin1 as the UTF-8 of each byte's character.
#[test]

fn pipe_with_hex_or_latin1_encoding_forwards_the_decoded_text_as_utf8() {
    util::with_deadline(util::LIMIT, || {
        // Node v20 (sink received, hex): hex 3631653238326163363266303966393838303633,
        // latin1 61c3a2c282c2ac62c3b0c29fc298c28063
        let cases = [
            (Encoding::Hex, "3631653238326163363266303966393838303633"),
            (Encoding::Latin1, "61c3a2c282c2ac62c3b0c29fc298c28063"),
        ];
        let results: Vec<Rc<RefCell<Vec<u8>>>> = cases
            .iter()
            .map(|(encoding, _)| pipe_through(*encoding))
            .collect();
        nodenet::run().unwrap();
        let got: Vec<(Encoding, String)> = cases
            .iter()
            .zip(results)
            .map(|((encoding, _), got)| (*encoding, hex(&got.borrow())))
            .collect();
        let want: Vec<(Encoding, String)> = cases
            .iter()
            .map(|(encoding, want)| (*encoding, want.to_string()))
            .collect();
        assert_eq!(got, want);
    });
}

/// source server --(paced, one byte per read)--> mid (client, `encoding`, pipes to out)
/// --> sink server, which records the bytes it receives.
fn pipe_through(encoding: Encoding) -> Rc<RefCell<Vec<u8>>> {
    let received: Rc<RefCell<Vec<u8>>> = Rc::default();
    let r = received.clone();
    let sink = nodenet::create_server(move |sock| {
        let r = r.clone();
        sock.on_data(move |_, chunk| r.borrow_mut().extend_from_slice(chunk.bytes()));
    });
    let mid_slot: Rc<RefCell<Option<Socket>>> = Rc::default();
    let slot = mid_slot.clone();
    let source = nodenet::create_server(move |sock| {
        sock.set_no_delay(true);
        let mid = slot.borrow().clone().expect("mid exists");
        let payload = MIXED.as_bytes().to_vec();
        let pieces = vec![1; payload.len()];
        send_paced(sock, mid, Rc::new(payload), Rc::new(pieces));
    });
    let (snk, src) = (sink.clone(), source.clone());
    sink.listen((0, "127.0.0.1")).on_listening(move |sink| {
        let out = nodenet::connect((port_of(sink), "127.0.0.1"));
        let (snk, src2) = (snk.clone(), src.clone());
        out.on_close(move |_, _| {
            snk.close();
            src2.close();
        });
        let (slot, out) = (mid_slot.clone(), out.clone());
        src.listen((0, "127.0.0.1")).on_listening(move |source| {
            let mid = nodenet::connect((port_of(source), "127.0.0.1"));
            mid.set_encoding(Some(encoding));
            mid.pipe(&out);
            *slot.borrow_mut() = Some(mid);
        });
    });
    received
}
