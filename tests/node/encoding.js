// setEncoding across chunk boundaries: Node sends the bytes of 'a€b😀c' ONE PER READ (setNoDelay,
// and the next byte only after the receiver acked the previous read with '+'), over four
// sequential connections whose receivers use utf8, hex, base64, and utf8 with a sequence cut
// short by the FIN ('x' E2 82).
//   node encoding.js client PORT   Node connects four times and sends.
//   node encoding.js server 0      Node server sends on each of four connections, then closes.
// Report: {conns: [{acks, events}]}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress, ENCODING_CASES, sendBytewise } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const conns = [];
const report = { conns };
watchdog(() => report);

function drive(s, i, first, done) {
  const conn = { events: [first] };
  conns.push(conn);
  const acks = sendBytewise(s, ENCODING_CASES[i].bytes);
  s.on('end', () => conn.events.push('end'));
  s.on('finish', () => conn.events.push('finish'));
  s.on('error', (e) => conn.events.push('error:' + e.code));
  s.on('close', (hadError) => {
    conn.events.push('close:' + hadError);
    conn.acks = acks();
    eq(conn.acks, ENCODING_CASES[i].bytes.length, `connection ${i}: one ack per byte`);
    done();
  });
}

function verify(first) {
  eq(conns.length, ENCODING_CASES.length, 'connections');
  for (const c of conns) eq(c.events, [first, 'finish', 'end', 'close:false'], 'connection events');
  finish(report);
}

if (role === 'client') {
  const port = Number(arg);
  const next = (i) => {
    if (i === ENCODING_CASES.length) return verify('connect');
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => drive(s, i, 'connect', () => next(i + 1)));
  };
  next(0);
} else if (role === 'server') {
  let n = 0;
  const server = net.createServer((s) => {
    const i = n++;
    drive(s, i, 'connection', () => {
      if (i === ENCODING_CASES.length - 1) {
        server.close();
        verify('connection');
      }
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client or server');
}
