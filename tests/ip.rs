//! Tests for `is_ip`, `is_ipv4` and `is_ipv6`: a table of known Node v20 answers
//! and a differential test against the real `node` binary.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nodenet::{is_ip, is_ipv4, is_ipv6};

/// Asserts all three functions agree with the expected `net.isIP` result.
#[track_caller]
fn check(input: &str, expected: u8) {
    assert_eq!(is_ip(input), expected, "is_ip({input:?})");
    assert_eq!(is_ipv4(input), expected == 4, "is_ipv4({input:?})");
    assert_eq!(is_ipv6(input), expected == 6, "is_ipv6({input:?})");
}

#[test]
fn ipv4_table() {
    let valid = [
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "10.0.0.10",
        "192.168.1.1",
        "249.250.199.100",
        "9.99.199.249",
    ];
    for s in valid {
        check(s, 4);
    }
    let invalid = [
        "256.1.1.1",
        "1.256.1.1",
        "1.1.1.256",
        "260.1.1.1",
        "300.1.1.1",
        "1000.1.1.1",
        "1.2.3",
        "1.2.3.4.5",
        "01.2.3.4",
        "1.2.3.04",
        "00.0.0.0",
        "0x7f.0.0.1",
        "127.000.000.001",
        "127.0.0.1/24",
        " 127.0.0.1",
        "127.0.0.1 ",
        "127.0.0.1\n",
        "\n127.0.0.1",
        "127.0.0.1\0",
        "",
        ".",
        "...",
        "1.2.3.",
        ".1.2.3",
        "1..2.3",
        "1.2.3.4.",
        "1.2.3.4%eth0",
        "1.2.3.-4",
        "+1.2.3.4",
        "1.2.3.a",
        "127.0.0.１",
        "１27.0.0.1",
        "127.0.0.1\u{feff}",
        "1.2.3.٤",
        "1e2.1.1.1",
        "127.1",
        "2130706433",
    ];
    for s in invalid {
        check(s, 0);
    }
}

#[test]
fn ipv6_table() {
    let valid = [
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::8",
        "1:2:3:4:5:6::8",
        "1::3:4:5:6:7:8",
        "2001:DB8::1",
        "2001:db8::1",
        "2001:dB8::1",
        "ABCD:EF01:2345:6789:abcd:ef01:2345:6789",
        "0000:0000:0000:0000:0000:0000:0000:0000",
        "::ffff:127.0.0.1",
        "::FFFF:127.0.0.1",
        "::1.2.3.4",
        "::0.0.0.0",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5::1.2.3.4",
        "1::2:3:4:5:1.2.3.4",
        "::2:3:4:5:6:1.2.3.4",
        "1:2:3:4::5:1.2.3.4",
        "::ffff:7f00:1",
        "fe80::1%eth0",
        "fe80::1%25eth0",
        "fe80::1%en0.1",
        "fe80::1%a:b",
        "fe80::1%-",
        "fe80::1%.",
        "fe80::1%:",
        "fe80::1%1",
        "::%x",
        "1:2:3:4:5:6:7:8%zone",
        "::ffff:1.2.3.4%eth0",
        "::%::",
        "::%1.2.3.4",
        "::0:0:0:0:0:0:0",
    ];
    for s in valid {
        check(s, 6);
    }
    let invalid = [
        "1::2::3",
        "::1::",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "1:2:3:4::5:6:7:8",
        "0::0:0:0:0:0:0:0",
        "12345::1",
        "g::1",
        "[::1]",
        "::1/128",
        ":",
        ":::",
        "1:::2",
        ":1::2",
        "1::2:",
        ":1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:",
        "::ffff:1.2.3.04",
        "::ffff:1.2.3.256",
        "::ffff:1.2.3",
        "1:2:3:4:5:6:7:1.2.3.4",
        "1:2:3:4:5:6::1.2.3.4",
        "1.2.3.4::",
        "1.2.3.4::1",
        "::1.2.3.4:1",
        "::1.2.3.4.5",
        "1:2:3:4:5:1.2.3.4",
        "fe80::1%",
        "fe80::1%eth 0",
        "fe80::1%eth0%x",
        "fe80::1%eth_0",
        "fe80::1%eth0\n",
        "fe80::1%é",
        "%eth0",
        "::1 ",
        " ::1",
        "::1\n",
        "::１",
        "ｆe80::1",
        "::0x1",
        "1:2:3:4:5:6:7:0x8",
    ];
    for s in invalid {
        check(s, 0);
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_non_ascii_is_rejected() {
    // Every non-ASCII scalar is outside every regex class, so splicing one into
    // a valid address anywhere must invalidate it (and must not panic on
    // multi-byte boundaries).
    let bases = [
        "127.0.0.1",
        "::ffff:1.2.3.4",
        "fe80::1%eth0",
        "1:2:3:4:5:6:7:8",
    ];
    let odd = [
        'é',
        'ß',
        '١',
        '１',
        '\u{2028}',
        '\u{feff}',
        '😀',
        '\u{10ffff}',
    ];
    for base in bases {
        assert_ne!(is_ip(base), 0, "base {base:?} must be valid");
        for c in odd {
            for cut in 0..=base.len() {
                let s = format!("{}{c}{}", &base[..cut], &base[cut..]);
                check(&s, 0);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Differential test against Node.
// ---------------------------------------------------------------------------

/// Number of strings per generator family; four families plus fixed seeds.
const PER_FAMILY: usize = 30_000;
/// Hard upper bound on how long `node` may take.
const NODE_TIMEOUT: Duration = Duration::from_mins(1);

/// Node script: reads the JSON-lines file named by argv[1] and prints
/// `<count> <total UTF-16 length> <node version>` then one digit (`net.isIP`) per string.
const NODE_SCRIPT: &str = r"
'use strict';
const fs = require('fs');
const net = require('net');
const lines = fs.readFileSync(process.argv[1], 'utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
let total = 0;
const out = new Array(lines.length);
for (let i = 0; i < lines.length; i++) {
  const s = JSON.parse(lines[i]);
  total += s.length;
  out[i] = net.isIP(s);
}
process.stdout.write(
  lines.length + ' ' + total + ' ' + process.versions.node + '\n' + out.join('') + '\n');
";

/// xorshift64* PRNG: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish value in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const HEX: &[u8] = b"0123456789abcdefABCDEF";
const SHORT_ALPHABET: &[u8] = b"0123456789abcdefABCDEF:.%gx /[]-";
/// Characters spliced in by mutations: structural, borderline and non-ASCII.
const MUTATION_CHARS: &[char] = &[
    ':', '.', '%', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'f', 'F', 'g', 'x', 'X',
    'z', 'Z', '-', '_', ' ', '/', '[', ']', '\n', '\t', '\0', '"', '\\', '+', 'é', 'ß', '١', '１',
    '\u{2028}', '\u{feff}', '😀',
];
const ZONES: &[&str] = &[
    "eth0", "25eth0", "en0.1", "a:b", "1", "-", ".", ":", "lo", "eth 0", "", "%", "x%y", "é",
    "Wi-Fi", "ZZ",
];

fn random_octet(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => "0".to_string(),
        1 => "255".to_string(),
        2 => (250 + rng.below(6)).to_string(),
        _ => rng.below(256).to_string(),
    }
}

fn random_v4(rng: &mut Rng) -> String {
    let o: Vec<String> = (0..4).map(|_| random_octet(rng)).collect();
    o.join(".")
}

fn random_group(rng: &mut Rng) -> String {
    let len = 1 + rng.below(4);
    (0..len).map(|_| char::from(*rng.pick(HEX))).collect()
}

/// A valid IPv6 address of a random shape (compression, embedded v4, zone).
fn random_v6(rng: &mut Rng) -> String {
    let v4_tail = rng.chance(25);
    let total = if v4_tail { 6 } else { 8 };
    let groups: Vec<String> = (0..total).map(|_| random_group(rng)).collect();
    let tail = if v4_tail {
        format!(":{}", random_v4(rng))
    } else {
        String::new()
    };
    let mut s = if rng.chance(70) {
        // Compress a run [start, start + len) with len >= 1.
        let start = rng.below(total + 1);
        let max_len = total - start;
        if max_len == 0 {
            // Nothing to compress at the very end; fall back to a full form.
            groups.join(":") + &tail
        } else {
            let len = 1 + rng.below(max_len);
            let head = groups[..start].join(":");
            let rest = groups[start + len..].join(":");
            let mut s = format!("{head}::{rest}");
            if !tail.is_empty() {
                if rest.is_empty() {
                    s.push_str(&tail[1..]);
                } else {
                    s.push_str(&tail);
                }
            }
            s
        }
    } else {
        groups.join(":") + &tail
    };
    if rng.chance(15) {
        s.push('%');
        let zone = *rng.pick(&ZONES[..10]);
        s.push_str(zone);
    }
    s
}

/// Applies one random mutation to `chars`.
fn mutate(rng: &mut Rng, chars: &mut Vec<char>) {
    let n = chars.len();
    let pos = rng.below(n + 1);
    match rng.below(16) {
        0 if n > 0 => {
            chars.remove(pos.min(n - 1));
        }
        1 if n > 0 => {
            let p = pos.min(n - 1);
            let c = chars[p];
            chars.insert(p, c);
        }
        2 if n > 0 => chars[pos.min(n - 1)] = *rng.pick(MUTATION_CHARS),
        3 => chars.insert(pos, *rng.pick(MUTATION_CHARS)),
        4 => chars.insert(pos, *rng.pick(&[':', '.', '%'])),
        5 => {
            // Leading zero at the start of a group / octet.
            let starts: Vec<usize> = (0..=n)
                .filter(|&i| i == 0 || matches!(chars[i - 1], ':' | '.'))
                .collect();
            let p = *rng.pick(&starts);
            chars.insert(p, '0');
        }
        6 => chars.insert(pos, char::from(*rng.pick(b"abcdefABCDEF"))),
        7 => {
            let extra: Vec<char> = if rng.chance(50) {
                format!(":{}", random_group(rng)).chars().collect()
            } else {
                format!(".{}", random_octet(rng)).chars().collect()
            };
            let p = if rng.chance(50) { n } else { pos };
            chars.splice(p..p, extra);
        }
        8 => {
            let v4: Vec<char> = random_v4(rng).chars().collect();
            let p = if rng.chance(60) { n } else { pos };
            chars.splice(p..p, v4);
        }
        9 => {
            let zone = format!("%{}", *rng.pick(ZONES));
            chars.extend(zone.chars());
        }
        10 => chars.insert(pos, ' '),
        11 if n > 1 => {
            let p = pos.min(n - 2);
            chars.swap(p, p + 1);
        }
        12 => chars.truncate(pos),
        13 => {
            // Change one digit: walks octets across the 255/256 boundary.
            let digits: Vec<usize> = (0..n).filter(|&i| chars[i].is_ascii_digit()).collect();
            if !digits.is_empty() {
                let p = *rng.pick(&digits);
                chars[p] = char::from(*rng.pick(b"0123456789"));
            }
        }
        14 => {
            // Replace a whole dotted number with a borderline one.
            let starts: Vec<usize> = (0..n)
                .filter(|&i| {
                    chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit())
                })
                .collect();
            if !starts.is_empty() {
                let p = *rng.pick(&starts);
                let end = (p..n).find(|&i| !chars[i].is_ascii_digit()).unwrap_or(n);
                let with = *rng.pick(&[
                    "0", "00", "01", "010", "099", "9", "10", "99", "100", "199", "200", "249",
                    "250", "255", "256", "259", "260", "299", "300", "999", "1000", "0255",
                ]);
                chars.splice(p..end, with.chars());
            }
        }
        _ => chars.insert(pos, *rng.pick(&['é', '１', '١', '😀', '\u{2028}'])),
    }
}

fn mutated(rng: &mut Rng, base: &str) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    let rounds = match rng.below(10) {
        0..=1 => 0,
        2..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    for _ in 0..rounds {
        mutate(rng, &mut chars);
    }
    chars.into_iter().collect()
}

/// Random concatenation of address-like tokens (hits many borderline shapes).
fn token_soup(rng: &mut Rng) -> String {
    let tokens = 1 + rng.below(12);
    let mut s = String::new();
    for _ in 0..tokens {
        match rng.below(9) {
            0..=2 => s.push_str(&random_group(rng)),
            3 => s.push_str(&random_octet(rng)),
            4 if rng.chance(50) => s.push_str(&rng.below(1000).to_string()),
            4 => {
                let len = 5 + rng.below(2);
                s.extend((0..len).map(|_| char::from(*rng.pick(HEX))));
            }
            5..=6 => s.push(':'),
            7 => s.push('.'),
            _ => s.push_str("::"),
        }
    }
    if rng.chance(10) {
        s.push('%');
        let zone = *rng.pick(ZONES);
        s.push_str(zone);
    }
    s
}

fn random_short(rng: &mut Rng) -> String {
    let len = rng.below(13);
    (0..len)
        .map(|_| char::from(*rng.pick(SHORT_ALPHABET)))
        .collect()
}

/// Deterministically generates the differential corpus.
fn corpus() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let seeds_v4 = [
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "10.20.30.40",
        "1.2.3.4",
        "192.168.100.200",
    ];
    let seeds_v6 = [
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "2001:DB8::1",
        "::ffff:127.0.0.1",
        "::1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "::ffff:7f00:1",
        "fe80::1%eth0",
        "fe80::1%25eth0",
        "fe80::1%en0.1",
        "fe80::1%a:b",
        "abcd:ef01:2345:6789:ABCD:EF01:2345:6789",
    ];
    let mut out: Vec<String> = seeds_v4
        .iter()
        .chain(seeds_v6.iter())
        .map(|s| (*s).to_string())
        .collect();
    for _ in 0..PER_FAMILY {
        let base = if rng.chance(30) {
            (*rng.pick(&seeds_v4)).to_string()
        } else {
            random_v4(&mut rng)
        };
        out.push(mutated(&mut rng, &base));
    }
    for _ in 0..PER_FAMILY {
        let base = if rng.chance(20) {
            (*rng.pick(&seeds_v6)).to_string()
        } else {
            random_v6(&mut rng)
        };
        out.push(mutated(&mut rng, &base));
    }
    for _ in 0..PER_FAMILY {
        out.push(token_soup(&mut rng));
    }
    for _ in 0..PER_FAMILY {
        out.push(random_short(&mut rng));
    }
    out
}

/// Minimal JSON string encoder: everything outside printable ASCII is `\uXXXX`
/// (UTF-16, surrogate pairs for astral characters).
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        let nibble = u32::from(*unit >> shift) & 0xf;
                        out.push(char::from_digit(nibble, 16).expect("nibble < 16"));
                    }
                }
            }
        }
    }
    out.push('"');
}

#[test]
fn json_string_escaper() {
    let mut out = String::new();
    json_string("a\"b\\c\n\0é😀~ ", &mut out);
    assert_eq!(out, "\"a\\\"b\\\\c\\u000a\\u0000\\u00e9\\ud83d\\ude00~ \"");
}

/// Removes the temp file when dropped, even if the test panics.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the Node script on `path`, bounded by `NODE_TIMEOUT`; returns stdout.
fn run_node(path: &std::path::Path) -> String {
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let mut child = Command::new(&node)
        .arg("-e")
        .arg(NODE_SCRIPT)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "differential test needs Node v20: could not run {node:?} ({e}); \
                 install node or set NODE=/path/to/node"
            )
        });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + NODE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("node did not finish within {NODE_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader
        .join()
        .expect("stdout reader")
        .expect("node stdout is UTF-8");
    let stderr = err_reader.join().expect("stderr reader");
    assert!(status.success(), "node failed ({status}): {stderr}");
    stdout
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn differential_against_node() {
    let started = Instant::now();
    let inputs = corpus();
    assert!(
        inputs.len() >= 100_000,
        "corpus too small: {}",
        inputs.len()
    );

    let mut text = String::with_capacity(inputs.len() * 24);
    for s in &inputs {
        json_string(s, &mut text);
        text.push('\n');
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let file = TempFile(std::env::temp_dir().join(format!(
        "nodenet-ip-diff-{}-{nanos}.jsonl",
        std::process::id()
    )));
    std::fs::File::create(&file.0)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("writing temp corpus");

    let stdout = run_node(&file.0);
    let mut lines = stdout.lines();
    let header = lines.next().expect("node header line");
    let digits = lines.next().expect("node result line").as_bytes();
    let (transport, node_version) = header.rsplit_once(' ').expect("node header format");

    // Transport check: Node saw exactly our strings (count and UTF-16 length).
    let utf16_total: usize = inputs.iter().map(|s| s.encode_utf16().count()).sum();
    assert_eq!(
        transport,
        format!("{} {utf16_total}", inputs.len()),
        "node decoded a different corpus"
    );
    if !node_version.starts_with("20.") {
        eprintln!("warning: reference semantics are Node v20, but node is v{node_version}");
    }
    assert_eq!(digits.len(), inputs.len(), "one result per input");

    let mut mismatches = Vec::new();
    let mut counts = [0usize; 3];
    for (s, &d) in inputs.iter().zip(digits) {
        let expected = match d {
            b'0' => 0,
            b'4' => 4,
            b'6' => 6,
            other => panic!("unexpected node output byte {other:?}"),
        };
        counts[usize::from(expected / 3)] += 1;
        let got = (is_ip(s), is_ipv4(s), is_ipv6(s));
        if got != (expected, expected == 4, expected == 6) {
            mismatches.push(format!("{s:?}: node {expected}, ours {got:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} mismatches against node v{node_version}, first ones:\n{}",
        mismatches.len(),
        inputs.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );

    // The corpus must actually exercise all three outcomes substantially.
    let [zero, four, six] = counts;
    assert!(
        zero >= 5_000 && four >= 5_000 && six >= 5_000,
        "degenerate corpus: {zero} invalid, {four} IPv4, {six} IPv6"
    );
    eprintln!(
        "compared {} strings with node v{node_version} ({zero} invalid, {four} IPv4, {six} IPv6) in {:?}",
        inputs.len(),
        started.elapsed()
    );
}
