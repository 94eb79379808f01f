// Node's answers for the differential tests of `BlockList` and `SocketAddress`
// (tests/block_list.rs, tests/socket_address.rs).
//
// Usage: node tests/node/block_list_oracle.js < cases
//
// Reads one JSON case per line from stdin and prints one JSON answer per line, in order.
// Every string in a case is the hex of its UTF-8 bytes (so NULs and lone bytes travel safely).
//
//   {"t":"bl","ops":[["a",ADDR]|["r",START,END]|["s",NET,PREFIX]...],"probes":[ADDR...]}
//     A fresh net.BlockList gets addAddress/addRange/addSubnet calls in order, then check()
//     for every probe.
//     -> {"ops":[null|[CODE,MESSAGE]...],"checks":[BOOL...],"rules":[RULE...]}
//   {"t":"sp","in":INPUT}
//     SocketAddress.parse(INPUT) -> null | [ADDRESS,PORT,FAMILY,FLOWLABEL]
//   {"t":"sn","a":ADDR,"port":N,"family":"ipv4"|"ipv6","fl":N}
//     new net.SocketAddress({address, port, family, flowlabel})
//     -> ["ok",ADDRESS,PORT,FAMILY,FLOWLABEL] | ["err",CODE,MESSAGE]
//
// nodenet infers the family from the text, where Node takes a family argument: each address
// is turned into a SocketAddress of the first family (IPv4, then IPv6) whose constructor
// accepts it, the order of Node's C++ SocketAddress::New(host). Text neither family accepts
// is passed as is, so Node itself throws (or, for check(), answers false).
'use strict';
const net = require('net');

// Many probes make SocketAddress throw; stack traces are not needed.
Error.stackTraceLimit = 0;

const text = (h) => Buffer.from(h, 'hex').toString('utf8');

function toSocketAddress(address) {
  // The two syntaxes are disjoint (IPv4 has no ':', IPv6 needs one), so trying the likely
  // family first changes no answer; it only saves the cost of a throw.
  const families = address.includes(':') ? ['ipv6', 'ipv4'] : ['ipv4', 'ipv6'];
  for (const family of families) {
    try {
      return new net.SocketAddress({ address, family });
    } catch {
      // try the next family
    }
  }
  return address;
}

// SocketAddress.parse appeared in Node v23.4 / v22.13. On older Node this is a copy of its
// implementation (lib/internal/socketaddress.js): parse `http://${input}` as a URL, keep
// its hostname and port.
function parseSocketAddress(input) {
  if (typeof net.SocketAddress.parse === 'function') return net.SocketAddress.parse(input);
  const urlParse =
    typeof URL.parse === 'function'
      ? URL.parse
      : (s) => {
          try {
            return new URL(s);
          } catch {
            return null;
          }
        };
  try {
    const { hostname: address, port } = urlParse(`http://${input}`);
    if (address.startsWith('[') && address.endsWith(']')) {
      return new net.SocketAddress({
        address: address.slice(1, -1),
        port: port | 0,
        family: 'ipv6',
      });
    }
    return new net.SocketAddress({ address, port: port | 0 });
  } catch {
    // Ignore errors here, as Node does.
  }
  return undefined;
}

function attempt(f) {
  try {
    f();
    return null;
  } catch (err) {
    return [err.code, err.message];
  }
}

function answer(c) {
  switch (c.t) {
    case 'bl': {
      const list = new net.BlockList();
      const ops = c.ops.map((op) => {
        switch (op[0]) {
          case 'a':
            return attempt(() => list.addAddress(toSocketAddress(text(op[1]))));
          case 'r':
            return attempt(() =>
              list.addRange(toSocketAddress(text(op[1])), toSocketAddress(text(op[2]))),
            );
          case 's':
            return attempt(() => list.addSubnet(toSocketAddress(text(op[1])), op[2]));
          default:
            throw new Error(`unknown op ${op[0]}`);
        }
      });
      const checks = c.probes.map((p) => list.check(toSocketAddress(text(p))));
      return { ops, checks, rules: list.rules };
    }
    case 'sp': {
      const a = parseSocketAddress(text(c.in));
      return a === undefined ? null : [a.address, a.port, a.family, a.flowlabel];
    }
    case 'sn': {
      try {
        const a = new net.SocketAddress({
          address: text(c.a),
          port: c.port,
          family: c.family,
          flowlabel: c.fl,
        });
        return ['ok', a.address, a.port, a.family, a.flowlabel];
      } catch (err) {
        return ['err', err.code, err.message];
      }
    }
    default:
      throw new Error(`unknown case type ${c.t}`);
  }
}

const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', () => {
  const out = [];
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
    if (line === '') continue;
    out.push(JSON.stringify(answer(JSON.parse(line))));
  }
  process.stdout.write(out.join('\n') + '\n');
});
