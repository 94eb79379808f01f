//! `BlockList`: Node's rule strings, errors and IPv4-mapped matching, and a differential test
//! against `net.BlockList` of the real `node` (`tests/node/block_list_oracle.js`).

mod util;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nodenet::BlockList;

use util::{Rng, hex, json};

fn err(result: Result<(), nodenet::Error>) -> Option<(String, String)> {
    result
        .err()
        .map(|e| (e.code().to_string(), e.message().to_string()))
}

fn invalid_address() -> Option<(String, String)> {
    Some((
        "ERR_INVALID_ADDRESS".to_string(),
        "Invalid socket address".to_string(),
    ))
}

#[test]
fn block_list_is_send_sync_clone_and_debug() {
    fn is_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug>() {}
    is_send_sync_clone::<BlockList>();
}

#[test]
fn rules_are_listed_newest_first_in_node_text() {
    let list = BlockList::new();
    list.add_address("1.2.3.4").unwrap();
    list.add_range("1.1.1.1", "2.2.2.2").unwrap();
    list.add_subnet("::2", 64).unwrap();
    list.add_address("::ffff:1.2.3.4").unwrap();
    list.add_address("::1.2.3.4").unwrap();
    list.add_address("0::0").unwrap();
    list.add_address("1.2.3.4").unwrap();
    assert_eq!(
        list.rules(),
        [
            "Address: IPv4 1.2.3.4",
            "Address: IPv6 ::",
            "Address: IPv6 ::1.2.3.4",
            "Address: IPv6 ::ffff:1.2.3.4",
            "Subnet: IPv6 ::2/64",
            "Range: IPv4 1.1.1.1-2.2.2.2",
            "Address: IPv4 1.2.3.4",
        ]
    );
    assert_eq!(
        format!("{list:?}"),
        format!("BlockList {{ rules: {:?} }}", list.rules())
    );
}

#[test]
fn addresses_are_printed_as_node_prints_them() {
    // Node v20 output of `new SocketAddress({address, family: 'ipv6'}).address`.
    let cases = [
        ("::2", "::2"),
        ("::0.0.0.1", "::1"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::ffff:0:0", "::ffff:0.0.0.0"),
        ("::ffff:1:2", "::ffff:0.1.0.2"),
        ("0:0:0:0:0:1:0:0", "::1:0:0"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
        ("0:0:0:0:0:fffe:1.2.3.4", "::fffe:102:304"),
        ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"),
        ("ABCD::EF", "abcd::ef"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        // The zone id is ignored whatever it is, and the text ends at a NUL.
        ("fe80::1%lo", "fe80::1"),
        ("::1%", "::1"),
        ("::1%%\u{e9}", "::1"),
        ("::1\0garbage", "::1"),
        // libuv copies the part before '%' into a 40-byte buffer: it is cut to 39 bytes.
        (
            "1111:2222:3333:4444:5555:6666:7777:8888abc%lo",
            "1111:2222:3333:4444:5555:6666:7777:8888",
        ),
    ];
    for (input, printed) in cases {
        let list = BlockList::new();
        list.add_address(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            list.rules(),
            [format!("Address: IPv6 {printed}")],
            "{input:?}"
        );
    }
    let list = BlockList::new();
    list.add_address("10.0.0.1\0junk").unwrap();
    assert_eq!(list.rules(), ["Address: IPv4 10.0.0.1"]);
}

#[test]
fn invalid_text_is_err_invalid_address_and_never_blocked() {
    let list = BlockList::new();
    list.add_subnet("0.0.0.0", 0).unwrap();
    list.add_subnet("::", 0).unwrap();
    for input in [
        "",
        "foo",
        "localhost",
        "1.2.3",
        "1.2.3.4.5",
        "01.2.3.4",
        "1.2.3.04",
        "256.0.0.1",
        "0x7f.0.0.1",
        " 1.2.3.4",
        "1.2.3.4 ",
        "1.2.3.4%lo",
        "[::1]",
        "%lo",
        ":1::",
        "1:2:3:4:5:6:7:8::",
        "1:2:3:4:5:6:7:8:",
        "1:2:3:4:5:1.2.3.4",
        "::1.2.3.04",
        "00000::1",
        "::fffff",
        "\0::1",
        "\u{ff11}.2.3.4",
    ] {
        assert_eq!(
            err(list.add_address(input)),
            invalid_address(),
            "add_address({input:?})"
        );
        assert_eq!(
            err(list.add_range(input, "1.2.3.4")),
            invalid_address(),
            "add_range({input:?}, ..)"
        );
        assert_eq!(
            err(list.add_range("1.2.3.4", input)),
            invalid_address(),
            "add_range(.., {input:?})"
        );
        // The address is checked before the prefix.
        assert_eq!(
            err(list.add_subnet(input, 200)),
            invalid_address(),
            "add_subnet({input:?})"
        );
        assert!(!list.check(input), "check({input:?})");
    }
    assert_eq!(
        list.rules(),
        ["Subnet: IPv6 ::/0", "Subnet: IPv4 0.0.0.0/0"]
    );
}

#[test]
fn range_with_start_after_end_is_err_invalid_arg_value() {
    let list = BlockList::new();
    let cases = [
        (
            "10.0.0.9",
            "10.0.0.1",
            "SocketAddress { address: '10.0.0.9', port: 0, family: 'ipv4', flowlabel: 0 }",
        ),
        (
            "1.0.0.0",
            "0.255.255.255",
            "SocketAddress { address: '1.0.0.0', port: 0, family: 'ipv4', flowlabel: 0 }",
        ),
        // util.inspect breaks the object over lines past 80 columns.
        (
            "::ffff:10.10.10.1",
            "::",
            "SocketAddress { address: '::ffff:10.10.10.1', port: 0, family: 'ipv6', flowlabel: 0 }",
        ),
        (
            "::ffff:10.10.10.10",
            "::",
            "SocketAddress {\n  address: '::ffff:10.10.10.10',\n  port: 0,\n  family: 'ipv6',\n  flowlabel: 0\n}",
        ),
        (
            "FFFF:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
            "::",
            "SocketAddress {\n  address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',\n  port: 0,\n  family: 'ipv6',\n  flowlabel: 0\n}",
        ),
        // Mixed families compare through the IPv4-mapped form.
        (
            "::ffff:10.0.0.2",
            "10.0.0.1",
            "SocketAddress { address: '::ffff:10.0.0.2', port: 0, family: 'ipv6', flowlabel: 0 }",
        ),
    ];
    for (start, end, received) in cases {
        assert_eq!(
            err(list.add_range(start, end)),
            Some((
                "ERR_INVALID_ARG_VALUE".to_string(),
                format!("The argument 'start' must come before end. Received {received}")
            )),
            "add_range({start:?}, {end:?})"
        );
    }
    assert!(list.rules().is_empty());
}

#[test]
fn subnet_prefix_beyond_the_family_is_err_out_of_range() {
    let list = BlockList::new();
    for (network, prefix, max) in [
        ("10.0.0.0", 33, 32),
        ("10.0.0.0", 255, 32),
        ("::ffff:10.0.0.0", 129, 128),
        ("::", 255, 128),
    ] {
        assert_eq!(
            err(list.add_subnet(network, prefix)),
            Some((
                "ERR_OUT_OF_RANGE".to_string(),
                format!(
                    "The value of \"prefix\" is out of range. It must be >= 0 && <= {max}. Received {prefix}"
                )
            )),
            "add_subnet({network:?}, {prefix})"
        );
    }
    list.add_subnet("10.0.0.0", 32).unwrap();
    list.add_subnet("::", 128).unwrap();
    assert_eq!(
        list.rules(),
        ["Subnet: IPv6 ::/128", "Subnet: IPv4 10.0.0.0/32"]
    );
}

/// The answers of Node v20 (`check(addr, family)`), in the order of `probes`.
#[track_caller]
fn assert_checks(list: &BlockList, probes: &[&str], expected: &[bool]) {
    let got: Vec<bool> = probes.iter().map(|p| list.check(p)).collect();
    assert_eq!(got, expected, "rules {:?}, probes {probes:?}", list.rules());
}

#[test]
fn ipv4_mapped_addresses_match_as_in_node() {
    let list = BlockList::new();
    list.add_address("10.0.0.1").unwrap();
    assert_checks(
        &list,
        &[
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:a00:1",
            "::10.0.0.1",
            "10.0.0.2",
        ],
        &[true, true, true, false, false],
    );

    let list = BlockList::new();
    list.add_address("::ffff:10.0.0.1").unwrap();
    assert_checks(&list, &["10.0.0.1", "10.0.0.2"], &[true, false]);

    let list = BlockList::new();
    list.add_range("10.0.0.1", "10.0.0.9").unwrap();
    assert_checks(
        &list,
        &["::ffff:10.0.0.5", "::ffff:10.0.0.10", "1.5.0.0"],
        &[true, false, false],
    );

    let list = BlockList::new();
    list.add_range("1.1.1.1", "2.2.2.2").unwrap();
    assert_checks(
        &list,
        &["1.5.0.0", "1.1.1.2", "2.0.0.0", "1.255.255.255", "2.2.2.3"],
        &[true, true, true, true, false],
    );

    // A non-mapped IPv6 bound never compares with IPv4: accepted, and matches nothing IPv4.
    let list = BlockList::new();
    list.add_range("10.0.0.1", "::1").unwrap();
    list.add_range("::", "ffff::").unwrap();
    assert_checks(
        &list,
        &["10.0.0.1", "10.0.0.5", "::1"],
        &[false, false, true],
    );
    assert_eq!(
        list.rules(),
        ["Range: IPv6 ::-ffff::", "Range: IPv4 10.0.0.1-::1"]
    );

    let list = BlockList::new();
    list.add_range("::ffff:10.0.0.2", "10.0.0.9").unwrap();
    assert_checks(
        &list,
        &["10.0.0.1", "10.0.0.5", "::ffff:10.0.0.5"],
        &[false, true, true],
    );

    // Node v20: `b.addSubnet('10.1.2.3', p)`; probes 10.1.2.3, 10.1.2.4, 11.0.0.0, 200.0.0.0,
    // and the mapped ::ffff:10.1.2.3, ::ffff:10.1.2.4, ::ffff:200.0.0.0, then ::1.
    let probes = [
        "10.1.2.3",
        "10.1.2.4",
        "11.0.0.0",
        "200.0.0.0",
        "::ffff:10.1.2.3",
        "::ffff:10.1.2.4",
        "::ffff:200.0.0.0",
        "::1",
    ];
    for (prefix, expected) in [
        (0, [true, true, true, true, true, true, true, false]),
        (1, [true, true, true, false, true, true, false, false]),
        (8, [true, true, false, false, true, true, false, false]),
        (24, [true, true, false, false, true, true, false, false]),
        (31, [true, false, false, false, true, false, false, false]),
        (32, [true, false, false, false, true, false, false, false]),
    ] {
        let list = BlockList::new();
        list.add_subnet("10.1.2.3", prefix).unwrap();
        assert_checks(&list, &probes, &expected);
    }

    // Node v20: `b.addSubnet('::ffff:10.1.2.3', p, 'ipv6')`.
    let probes = [
        "10.1.2.3",
        "10.1.2.4",
        "200.0.0.0",
        "::ffff:10.1.2.4",
        "::1",
        "ffff::",
    ];
    for (prefix, expected) in [
        (0, [true, true, true, true, true, true]),
        (1, [true, true, true, true, true, false]),
        (64, [true, true, true, true, true, false]),
        (96, [true, true, true, true, false, false]),
        (104, [true, true, false, true, false, false]),
        (127, [true, false, false, false, false, false]),
        (128, [true, false, false, false, false, false]),
    ] {
        let list = BlockList::new();
        list.add_subnet("::ffff:10.1.2.3", prefix).unwrap();
        assert_checks(&list, &probes, &expected);
    }
}

#[test]
fn clones_share_rules_across_threads() {
    let list = BlockList::new();
    let writer = list.clone();
    std::thread::spawn(move || writer.add_address("192.0.2.1").unwrap())
        .join()
        .unwrap();
    assert!(list.check("192.0.2.1"));
    let readers: Vec<_> = (0..4)
        .map(|i| {
            let list = list.clone();
            std::thread::spawn(move || {
                list.add_subnet(&format!("10.{i}.0.0"), 16).unwrap();
                (0..1000).all(|_| list.check("192.0.2.1"))
            })
        })
        .collect();
    for r in readers {
        assert!(r.join().unwrap());
    }
    assert_eq!(list.rules().len(), 5);
    for i in 0..4 {
        assert!(list.check(&format!("10.{i}.9.9")));
    }
}

// ---------------------------------------------------------------------------------------
// Differential test against Node.

const V4_BASES: [[u8; 4]; 9] = [
    [0, 0, 0, 0],
    [255, 255, 255, 255],
    [10, 0, 0, 0],
    [10, 0, 0, 1],
    [10, 255, 255, 255],
    [127, 0, 0, 1],
    [192, 168, 1, 1],
    [128, 0, 0, 0],
    [1, 2, 3, 4],
];

const V6_BASES: [&str; 10] = [
    "::",
    "::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::1",
    "2001:db8::1",
    "8000::",
    "::ffff:0:0",
    "::ffff:10.0.0.1",
    "::10.0.0.1",
    "64:ff9b::10.0.0.1",
];

fn random_ip(rng: &mut Rng) -> IpAddr {
    match rng.below(6) {
        0 => IpAddr::V4(Ipv4Addr::from(*rng.pick(&V4_BASES))),
        1 => IpAddr::V4(Ipv4Addr::from(rng.next() as u32)),
        2 => IpAddr::V6(rng.pick(&V6_BASES).parse().unwrap()),
        3 => IpAddr::V6(Ipv4Addr::from(*rng.pick(&V4_BASES)).to_ipv6_mapped()),
        4 => IpAddr::V6(Ipv6Addr::from(
            u128::from(rng.next()) << 64 | u128::from(rng.next()),
        )),
        _ => IpAddr::V6(Ipv4Addr::from(rng.next() as u32).to_ipv6_mapped()),
    }
}

/// A nearby address: the same, one bit flipped, or a small step away.
fn perturb(rng: &mut Rng, ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4);
            IpAddr::V4(Ipv4Addr::from(match rng.below(4) {
                0 => n,
                1 => n ^ (1 << rng.below(32)),
                2 => n.wrapping_add(1 + rng.below(3) as u32),
                _ => n.wrapping_sub(1 + rng.below(3) as u32),
            }))
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            IpAddr::V6(Ipv6Addr::from(match rng.below(5) {
                0 => n,
                1 => n ^ (1 << rng.below(128)),
                2 => n ^ (1 << rng.below(32)),
                3 => n.wrapping_add(1 + u128::from(rng.below(3u64))),
                _ => n.wrapping_sub(1 + u128::from(rng.below(3u64))),
            }))
        }
    }
}

/// The other family's form of an address, when it has one (IPv4 <-> IPv4-mapped).
fn flip_family(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
    }
}

/// Writes `ip` in one of the forms Node accepts (and occasionally one it rejects).
fn render(rng: &mut Rng, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => match rng.below(20) {
            0 => format!("{v4}\0junk"),
            1 => format!("0{v4}"), // a leading zero: rejected
            _ => v4.to_string(),
        },
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let o = v6.octets();
            match rng.below(12) {
                0 => s
                    .iter()
                    .map(|g| format!("{g:x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                1 => s
                    .iter()
                    .map(|g| format!("{g:04X}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                2 => format!(
                    "{}:{}.{}.{}.{}",
                    s[..6]
                        .iter()
                        .map(|g| format!("{g:x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                    o[12],
                    o[13],
                    o[14],
                    o[15]
                ),
                3 => format!("{v6}%{}", rng.pick(&["lo", "eth0", "", "%", "1"])),
                4 => format!("{v6}\0x"),
                5 => v6.to_string().to_uppercase(),
                _ => v6.to_string(),
            }
        }
    }
}

const INVALID: [&str; 30] = [
    "",
    "foo",
    "localhost",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "256.0.0.1",
    "1.2.3.-1",
    "0x7f.0.0.1",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "1.2.3.4%lo",
    "[::1]",
    "%lo",
    "::1%lo",
    ":1::",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:1.2.3.4",
    "::1.2.3.04",
    "::1.2.3",
    "00000::1",
    "::fffff",
    "\0",
    "\u{ff11}.2.3.4",
    "1111:2222:3333:4444:5555:6666:7777:8888abc%lo",
    "1111:2222:3333:4444:5555:6666:7777:888%lo",
];

/// A short random string over the characters of addresses.
fn random_text(rng: &mut Rng) -> String {
    const ALPHABET: &[char] = &[
        '0', '1', '2', '5', '9', 'a', 'f', 'F', 'g', 'x', ':', ':', ':', '.', '.', '%', '\0', ' ',
        '\u{e9}',
    ];
    let len = rng.below(14) as usize;
    (0..len).map(|_| *rng.pick(ALPHABET)).collect()
}

fn random_text_or_invalid(rng: &mut Rng) -> String {
    if rng.chance(50) {
        rng.pick(&INVALID).to_string()
    } else {
        random_text(rng)
    }
}

enum Op {
    Address(String),
    Range(String, String),
    Subnet(String, u8),
}

struct Case {
    ops: Vec<Op>,
    probes: Vec<String>,
}

/// Probes near `ip`: itself, neighbours, and the other family's form, in various spellings.
fn probes_near(rng: &mut Rng, ip: IpAddr, probes: &mut Vec<String>) {
    probes.push(render(rng, ip));
    for _ in 0..2 {
        let near = perturb(rng, ip);
        probes.push(render(rng, near));
    }
    if let Some(other) = flip_family(ip) {
        probes.push(render(rng, other));
        let near = perturb(rng, other);
        probes.push(render(rng, near));
    }
}

fn random_case(rng: &mut Rng) -> Case {
    let mut ops = Vec::new();
    let mut probes = Vec::new();
    for _ in 0..1 + rng.below(5) {
        if rng.chance(8) {
            let text = random_text_or_invalid(rng);
            probes.push(text.clone());
            let other = random_ip(rng);
            let other = render(rng, other);
            ops.push(match rng.below(4) {
                0 => Op::Address(text),
                1 => Op::Range(text, other),
                2 => Op::Range(other, text),
                _ => Op::Subnet(text, rng.below(256) as u8),
            });
            continue;
        }
        let ip = random_ip(rng);
        match rng.below(3) {
            0 => {
                ops.push(Op::Address(render(rng, ip)));
                probes_near(rng, ip, &mut probes);
            }
            1 => {
                let end = match rng.below(4) {
                    0 => random_ip(rng),
                    1 => flip_family(perturb(rng, ip)).unwrap_or(ip),
                    _ => perturb(rng, ip),
                };
                let (start, end) = if rng.chance(75) && end < ip {
                    (end, ip)
                } else {
                    (ip, end)
                };
                ops.push(Op::Range(render(rng, start), render(rng, end)));
                probes_near(rng, start, &mut probes);
                probes_near(rng, end, &mut probes);
            }
            _ => {
                let max: u64 = if ip.is_ipv4() { 32 } else { 128 };
                let prefix = match rng.below(10) {
                    0 => max + 1 + rng.below(255 - max),
                    1 => *rng.pick(&[0, 1, max - 1, max]),
                    _ => rng.below(max + 1),
                } as u8;
                ops.push(Op::Subnet(render(rng, ip), prefix));
                probes_near(rng, ip, &mut probes);
                if u64::from(prefix) <= max && prefix > 0 {
                    // Just inside and just outside the subnet.
                    let inside = flip_bit(
                        ip,
                        u32::from(prefix) + rng.below(max - u64::from(prefix) + 1) as u32,
                    );
                    let outside = flip_bit(ip, u32::from(prefix));
                    for p in [inside, outside] {
                        probes.push(render(rng, p));
                        if let Some(other) = flip_family(p) {
                            probes.push(render(rng, other));
                        }
                    }
                }
            }
        }
    }
    for _ in 0..3 {
        let ip = random_ip(rng);
        probes.push(render(rng, ip));
    }
    probes.push(random_text_or_invalid(rng));
    Case { ops, probes }
}

/// `ip` with bit `n` (1-based from the most significant; 0 and past-the-end do nothing) flipped.
fn flip_bit(ip: IpAddr, n: u32) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if (1..=32).contains(&n) => {
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) ^ (1 << (32 - n))))
        }
        IpAddr::V6(v6) if (1..=128).contains(&n) => {
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) ^ (1 << (128 - n))))
        }
        other => other,
    }
}

/// One case per prefix length and network family, probed at every bit boundary.
fn prefix_cases(rng: &mut Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    for mapped_network in [false, true] {
        for prefix in 0..=32u32 {
            let v4 = Ipv4Addr::from(rng.next() as u32);
            let net = if mapped_network {
                IpAddr::V6(v4.to_ipv6_mapped())
            } else {
                IpAddr::V4(v4)
            };
            let net_prefix = if mapped_network { prefix + 96 } else { prefix };
            let mut probes = Vec::new();
            for bit in [0, prefix, prefix + 1, 32] {
                let p = flip_bit(IpAddr::V4(v4), bit);
                probes.push(p.to_string());
                probes.push(flip_family(p).unwrap().to_string());
            }
            cases.push(Case {
                ops: vec![Op::Subnet(net.to_string(), net_prefix as u8)],
                probes,
            });
        }
    }
    for prefix in 0..=128u32 {
        let net = if rng.chance(50) {
            IpAddr::V6(Ipv6Addr::from(
                u128::from(rng.next()) << 64 | u128::from(rng.next()),
            ))
        } else {
            IpAddr::V6(Ipv4Addr::from(rng.next() as u32).to_ipv6_mapped())
        };
        let mut probes = Vec::new();
        for bit in [0, prefix, prefix + 1, 128] {
            let p = flip_bit(net, bit);
            probes.push(p.to_string());
            if let Some(v4) = flip_family(p) {
                probes.push(v4.to_string());
            }
        }
        cases.push(Case {
            ops: vec![Op::Subnet(net.to_string(), prefix as u8)],
            probes,
        });
    }
    cases
}

fn case_json(case: &Case) -> String {
    let ops: Vec<String> = case
        .ops
        .iter()
        .map(|op| match op {
            Op::Address(a) => format!("[\"a\",\"{}\"]", hex(a)),
            Op::Range(s, e) => format!("[\"r\",\"{}\",\"{}\"]", hex(s), hex(e)),
            Op::Subnet(n, p) => format!("[\"s\",\"{}\",{p}]", hex(n)),
        })
        .collect();
    let probes: Vec<String> = case
        .probes
        .iter()
        .map(|p| format!("\"{}\"", hex(p)))
        .collect();
    format!(
        "{{\"t\":\"bl\",\"ops\":[{}],\"probes\":[{}]}}",
        ops.join(","),
        probes.join(",")
    )
}

/// What nodenet answers, in the oracle's JSON.
fn our_answer(case: &Case) -> String {
    let list = BlockList::new();
    let ops: Vec<String> = case
        .ops
        .iter()
        .map(|op| {
            let result = match op {
                Op::Address(a) => list.add_address(a),
                Op::Range(s, e) => list.add_range(s, e),
                Op::Subnet(n, p) => list.add_subnet(n, *p),
            };
            match result {
                Ok(()) => "null".to_string(),
                Err(e) => format!("[{},{}]", json(e.code()), json(e.message())),
            }
        })
        .collect();
    let checks: Vec<String> = case
        .probes
        .iter()
        .map(|p| list.check(p).to_string())
        .collect();
    let rules: Vec<String> = list.rules().iter().map(|r| json(r)).collect();
    format!(
        "{{\"ops\":[{}],\"checks\":[{}],\"rules\":[{}]}}",
        ops.join(","),
        checks.join(","),
        rules.join(",")
    )
}

fn describe(case: &Case) -> String {
    let ops: Vec<String> = case
        .ops
        .iter()
        .map(|op| match op {
            Op::Address(a) => format!("add_address({a:?})"),
            Op::Range(s, e) => format!("add_range({s:?}, {e:?})"),
            Op::Subnet(n, p) => format!("add_subnet({n:?}, {p})"),
        })
        .collect();
    format!("{}; probes {:?}", ops.join("; "), case.probes)
}

#[test]
#[cfg_attr(
    windows,
    ignore = "needs Node as a child process (a Linux `node` cannot be started from Wine)"
)]
fn matches_node_on_thousands_of_rules_and_probes() {
    util::with_deadline(util::LIMIT, || {
        let mut rng = Rng(0x6E6F_6465_6E65_7401);
        let mut cases = prefix_cases(&mut rng);
        for _ in 0..3000 {
            cases.push(random_case(&mut rng));
        }
        let input: String = cases.iter().map(|c| case_json(c) + "\n").collect();
        let answers = util::node_oracle("block_list_oracle.js", &input);
        assert_eq!(answers.len(), cases.len(), "one answer per case");

        let mut mismatches = Vec::new();
        let (mut probes, mut errors, mut rules) = (0, 0, 0);
        for (case, node) in cases.iter().zip(&answers) {
            let ours = our_answer(case);
            probes += case.probes.len();
            errors += node.matches("\"ERR_").count();
            rules += node.matches(": IPv").count();
            if &ours != node {
                mismatches.push(format!(
                    "{}\n  node: {node}\n  ours: {ours}",
                    describe(case)
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {} cases differ from Node:\n{}",
            mismatches.len(),
            cases.len(),
            mismatches[..mismatches.len().min(10)].join("\n")
        );
        // The corpus must exercise what it claims to.
        assert!(probes > 30_000, "{probes} probes");
        assert!(errors > 300, "{errors} errors");
        assert!(rules > 5_000, "{rules} rules");
        let blocked = answers
            .iter()
            .map(|a| a.matches("true").count())
            .sum::<usize>();
        assert!(
            blocked > 5_000 && blocked < probes - 5_000,
            "{blocked} of {probes} blocked"
        );
    });
}
