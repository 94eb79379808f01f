// Shared helpers of the interop scenario scripts (tests/node/*.js) and their controls
// (tests/node/controls/*.js), used by tests/node_interop.rs.
//
// Protocol with the Rust side: a script acting as a server prints ONE first stdout line with
// where to reach it ({"port":N} or {"path":"..."}); every script prints ONE final JSON line
// with what it saw (plus "failures", the list of its own failed assertions) and exits 1 if any
// assertion failed, 2 if its watchdog fired.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const failures = [];
let finished = false;

function check(cond, what) {
  if (!cond) failures.push(what);
}

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) failures.push(`${what}: expected ${e}, got ${a}`);
}

function finish(report, code) {
  if (finished) return;
  finished = true;
  report.failures = failures.slice();
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(code !== undefined ? code : failures.length ? 1 : 0);
}

// Fails the script (exit 2) if it is still running after `ms`; `snapshot()` gives the partial report.
function watchdog(snapshot, ms = 15000) {
  setTimeout(() => {
    failures.push('watchdog: scenario did not finish');
    finish(snapshot(), 2);
  }, ms).unref();
}

function printAddress(server) {
  const a = server.address();
  const line = typeof a === 'string' ? { path: a } : { port: a.port, address: a.address, family: a.family };
  process.stdout.write(JSON.stringify(line) + '\n');
}

// 64-bit FNV-1a, as two 32-bit halves (the Rust side has the same function).
class Fnv64 {
  constructor() {
    this.hi = 0xcbf29ce4;
    this.lo = 0x84222325;
  }
  update(buf) {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < buf.length; i++) {
      lo = (lo ^ buf[i]) >>> 0;
      // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40)
      const l = lo * 0x1b3;
      const carry = Math.floor(l / 4294967296);
      hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
      lo = l >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }
  hex() {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

function fnv64(buf) {
  return new Fnv64().update(buf).hex();
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// The fields of a system error that Node defines (absent ones are left out by JSON.stringify).
function errShape(err) {
  return {
    code: err.code,
    errno: err.errno,
    syscall: err.syscall,
    address: err.address,
    port: err.port,
    message: err.message,
  };
}

// Bytes in the kernel receive queue of the IPv4 TCP socket 127.0.0.1:localPort <-> :remotePort.
function tcpRxQueue(localPort, remotePort) {
  const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const port = (x) => parseInt(x.split(':').pop(), 16);
    if (port(f[1]) === localPort && port(f[2]) === remotePort) {
      return parseInt(f[4].split(':').pop(), 16);
    }
  }
  return undefined;
}

// Calls `then()` once the kernel holds unread bytes for the socket (polled: no event exists).
function whenUnreadData(localPort, remotePort, then) {
  const q = tcpRxQueue(localPort, remotePort);
  if (q > 0) then();
  else setTimeout(() => whenUnreadData(localPort, remotePort, then), 2);
}

// The bytes the encoding scenario sends, one per read, and the encoding of each connection.
const ENCODING_CASES = [
  { encoding: 'utf8', bytes: Buffer.from('a€b😀c', 'utf8') },
  { encoding: 'hex', bytes: Buffer.from('a€b😀c', 'utf8') },
  { encoding: 'base64', bytes: Buffer.from('a€b😀c', 'utf8') },
  { encoding: 'utf8', bytes: Buffer.from([0x78, 0xe2, 0x82]) },
];

// Acks every read of `socket` (one '+' whenever bytesRead grew): no event exists for a read that
// decodes to nothing, so this polls; it lets the sender send one byte per read.
function ackEveryRead(socket) {
  let acked = 0;
  const poll = () => {
    if (socket.destroyed) return;
    if (socket.bytesRead > acked) {
      acked = socket.bytesRead;
      if (socket.writable) socket.write('+');
    }
    setTimeout(poll, 1);
  };
  poll();
}

// Sends `bytes` one byte per packet, each after the peer acked the previous one; then end().
function sendBytewise(socket, bytes, done) {
  socket.setNoDelay(true);
  let acks = 0;
  let sent = 0;
  const next = () => {
    if (sent === bytes.length) {
      socket.end();
      done && done();
      return;
    }
    socket.write(bytes.subarray(sent, sent + 1));
    sent++;
  };
  socket.on('data', (d) => {
    for (const c of d.toString('latin1')) {
      if (c === '+') {
        acks++;
        if (acks === sent) next();
      }
    }
  });
  next();
  return () => acks;
}

module.exports = {
  check,
  eq,
  finish,
  watchdog,
  printAddress,
  Fnv64,
  fnv64,
  sha256,
  errShape,
  tcpRxQueue,
  whenUnreadData,
  ENCODING_CASES,
  ackEveryRead,
  sendBytewise,
  failures,
};
