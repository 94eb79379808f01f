// FIN versus RST: the other side destroys its socket (1) with nothing unread -> Node sees a FIN
// ('end', no error); (2) with unread bytes in its kernel receive queue -> RST: Node sees
// ECONNRESET (syscall read) and 'close'(true), no 'end'.
//   node reset.js client PORT   Node connects twice, sequentially: the first connection sends
//                               nothing; the second writes 1000 bytes (the server never reads:
//                               pauseOnConnect).
//   node reset.js server 0      Node server; on the second connection it writes 1000 bytes (the
//                               client is paused).
// Report: {fin: events, rst: events, error: the ECONNRESET shape}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress, errShape } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const fin = [];
const rst = [];
const report = { fin, rst };
watchdog(() => report);

function record(s, ev) {
  s.on('data', (d) => ev.push('data:' + d.length));
  s.on('end', () => ev.push('end'));
  s.on('finish', () => ev.push('finish'));
  s.on('error', (e) => {
    ev.push('error:' + e.code);
    report.error = errShape(e);
  });
}

function verify(first) {
  eq(fin, [first, 'end', 'finish', 'close:false'], 'FIN connection');
  eq(rst, [first, 'error:ECONNRESET', 'close:true'], 'RST connection');
  eq(report.error, { code: 'ECONNRESET', errno: -104, syscall: 'read', message: 'read ECONNRESET' }, 'RST error');
  finish(report);
}

if (role === 'client') {
  const port = Number(arg);
  const s1 = net.connect(port, '127.0.0.1');
  s1.on('connect', () => fin.push('connect'));
  record(s1, fin);
  s1.on('close', (hadError) => {
    fin.push('close:' + hadError);
    const s2 = net.connect(port, '127.0.0.1');
    record(s2, rst);
    s2.on('connect', () => {
      rst.push('connect');
      s2.write(Buffer.alloc(1000, 'x'));
    });
    s2.on('close', (hadError) => {
      rst.push('close:' + hadError);
      verify('connect');
    });
  });
} else if (role === 'server') {
  let n = 0;
  const server = net.createServer((s) => {
    const k = ++n;
    const ev = k === 1 ? fin : rst;
    ev.push('connection');
    record(s, ev);
    if (k === 2) s.write(Buffer.alloc(1000, 'x'));
    s.on('close', (hadError) => {
      ev.push('close:' + hadError);
      if (k === 2) {
        server.close();
        verify('connection');
      }
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client or server');
}
