//! `Encoding::encode` and `Encoding::from_name` against Node v20.
//!
//! The differential tests run `node` once each on a batch of random cases (see
//! `tests/node/encoding_batch.js`); they fail when `node` is missing.

mod util;

use std::path::PathBuf;
use std::process::Command;
use util::Rng;

use nodenet::{Encoding, UnknownEncoding};

const ALL: [Encoding; 7] = [
    Encoding::Utf8,
    Encoding::Utf16le,
    Encoding::Latin1,
    Encoding::Ascii,
    Encoding::Base64,
    Encoding::Base64Url,
    Encoding::Hex,
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex from node"))
        .collect()
}

/// A field of the batch format: '-' stands for empty.
fn field(text: &str) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text.to_string()
    }
}

/// Runs the batch script on `lines` and returns its answer lines, one per input line.
fn run_node(tag: &str, lines: &[String]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/encoding_batch.js");
    let input: PathBuf =
        std::env::temp_dir().join(format!("nodenet-{tag}-{}.txt", std::process::id()));
    std::fs::write(&input, lines.join("\n") + "\n").expect("write the batch file");
    let output = Command::new("node")
        .arg(script)
        .arg(&input)
        .output()
        .expect("these tests need Node v20 as `node` on PATH");
    let _ = std::fs::remove_file(&input);
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("node prints ASCII");
    let answers: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(answers.len(), lines.len(), "one answer per case");
    answers
}

/// A random string aimed at the corners of base64 and hex decoding.
fn random_text(rng: &mut Rng) -> String {
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    const JUNK: &[char] = &[
        ' ', '\n', '\t', '\r', '=', '=', '!', '.', '*', '\0', '~', 'g', 'z', 'G', '\u{7f}',
    ];
    // Non-ASCII characters, several of whose UTF-16 low bytes are base64 or hex digits,
    // '=' (U+013D, and the high surrogate of U+1F600) or junk.
    const WIDE: &[char] = &[
        'é',
        '€',
        'Ā',
        'ő',
        'Ľ',
        'İ',
        'ı',
        'š',
        'Ţ',
        'Ł',
        '😀',
        '\u{ff}',
        '\u{80}',
        '\u{2b}',
        '\u{12f}',
        '\u{161}',
        '\u{10000}',
        '\u{10ffff}',
        '\u{fffd}',
        '\u{ffff}',
    ];
    let len = rng.below(40);
    let mode = rng.below(4);
    let mut text = String::new();
    for _ in 0..len {
        let roll = rng.below(20);
        let c = match (mode, roll) {
            (_, 0) => *rng.pick(WIDE),
            (_, 1) => loop {
                if let Some(c) = char::from_u32((rng.next() % 0x11_0000) as u32) {
                    break c;
                }
            },
            (_, 2..=3) => *rng.pick(JUNK),
            (0, _) => char::from(*rng.pick(BASE64)),
            (1, _) => char::from(*rng.pick(HEX)),
            (2, _) => char::from(rng.below(0x80) as u8),
            _ => char::from(rng.below(0x100) as u8),
        };
        text.push(c);
    }
    text
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn encode_matches_node() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut texts: Vec<String> = [
        "",
        "YQ",
        "YQ=",
        "YQ==",
        "Y Q = =",
        "YQ==YQ==",
        "!!!",
        "a",
        "ab",
        "abc",
        "abcd",
        "-_",
        "+/",
        "Y\nQ",
        "=YQ",
        "Y=Q",
        "abzz12",
        "ABcd",
        "0x12",
        "é€",
        "a😀",
        "YőQ",
        "YWJj😀YWJj",
        "šŢ",
        "İı",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    texts.push("Y".repeat(5000));
    texts.push(" ".repeat(3000) + &"YWJj".repeat(2000));
    while texts.len() < 4000 {
        texts.push(random_text(&mut rng));
    }
    let mut lines = Vec::new();
    let mut cases = Vec::new();
    for text in &texts {
        for encoding in ALL {
            lines.push(format!("E {encoding} {}", field(&hex(text.as_bytes()))));
            cases.push((text, encoding));
        }
    }
    let answers = run_node("encode", &lines);
    let mut failures = Vec::new();
    for ((text, encoding), answer) in cases.iter().zip(&answers) {
        let expected = unhex(answer.trim_start_matches('-'));
        let actual = encoding.encode(text);
        if actual != expected {
            failures.push(format!(
                "{encoding} {text:?}: node {answer}, ours {}",
                hex(&actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(20)].join("\n")
    );
    println!("encode: {} cases match node", cases.len());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn from_name_matches_node() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let known = [
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
    let mut names: Vec<String> = [
        "",
        "utf16",
        "utf-16",
        "utf_8",
        "latin-1",
        "base-64",
        "base64-url",
        "utf8 ",
        " hex",
        "ucs2\0",
        "bin",
        "unicode",
        "utf-16be",
        "ısçii",
        "İhex",
        "\u{212a}",
        "héx",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for name in known {
        names.push(name.to_string());
        names.push(name.to_uppercase());
        for _ in 0..8 {
            let mixed: String = name
                .chars()
                .map(|c| {
                    if rng.below(2) == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            names.push(mixed);
        }
        // Near misses: one character dropped or changed.
        let i = rng.below(name.len());
        names.push(format!("{}{}", &name[..i], &name[i + 1..]));
        names.push(format!("{}x{}", &name[..i], &name[i + 1..]));
    }
    let lines: Vec<String> = names
        .iter()
        .map(|name| format!("N {}", field(&hex(name.as_bytes()))))
        .collect();
    let answers = run_node("names", &lines);
    for (name, answer) in names.iter().zip(&answers) {
        let ours = Encoding::from_name(name);
        let parsed = name.parse::<Encoding>();
        match answer.strip_prefix('!') {
            Some(message) => {
                let message = String::from_utf8(unhex(message)).expect("UTF-8 message");
                assert_eq!(ours, None, "{name:?}");
                let err = parsed.expect_err(name);
                assert_eq!(err, UnknownEncoding(name.clone()));
                assert_eq!(err.to_string(), message, "{name:?}");
            }
            // Not an encoding, but Buffer.from falls back to UTF-8 for it: only ''.
            None if answer == "-" => {
                assert_eq!(name, "");
                assert_eq!(ours, None);
                assert!(parsed.is_err());
            }
            None => {
                let encoding = ours.unwrap_or_else(|| panic!("{name:?} is {answer} in node"));
                assert_eq!(encoding.name(), answer, "{name:?}");
                assert_eq!(parsed, Ok(encoding));
            }
        }
    }
    println!("from_name: {} names match node", names.len());
}

#[test]
fn encode_known_answers() {
    // From Node v20.
    let cases: &[(&str, Encoding, &[u8])] = &[
        ("YQ", Encoding::Base64, b"a"),
        ("YQ=", Encoding::Base64, b"a"),
        ("YQ==", Encoding::Base64, b"a"),
        ("Y Q = =", Encoding::Base64, b"a"),
        ("YQ==YQ==", Encoding::Base64, b"a"),
        ("!!!", Encoding::Base64, b""),
        ("a", Encoding::Base64, b""),
        ("ab", Encoding::Base64, &[0x69]),
        ("abc", Encoding::Base64, &[0x69, 0xb7]),
        ("abcd", Encoding::Base64, &[0x69, 0xb7, 0x1d]),
        ("-_", Encoding::Base64, &[0xfb]),
        ("+/", Encoding::Base64Url, &[0xfb]),
        ("Y\nQ", Encoding::Base64Url, b"a"),
        ("ab=c", Encoding::Base64, &[0x69]),
        ("YWJj=ZGVm", Encoding::Base64, b"abc"),
        ("YőQ", Encoding::Base64, &[0x61, 0x04]),
        ("YWJj😀YWJj", Encoding::Base64, b"abc"),
        ("abzz12", Encoding::Hex, &[0xab]),
        ("abc", Encoding::Hex, &[0xab]),
        ("ab cd", Encoding::Hex, &[0xab]),
        ("šŢ", Encoding::Hex, &[0xab]),
        ("a😀", Encoding::Hex, b""),
        ("é€", Encoding::Ascii, &[0xe9, 0xac]),
        ("a😀", Encoding::Latin1, &[0x61, 0x3d, 0x00]),
        (
            "a😀",
            Encoding::Utf16le,
            &[0x61, 0x00, 0x3d, 0xd8, 0x00, 0xde],
        ),
    ];
    for &(text, encoding, expected) in cases {
        assert_eq!(encoding.encode(text), expected, "{encoding} {text:?}");
    }
}
