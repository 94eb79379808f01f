// Idle timeouts are reset by reads and by writes. The other side has setTimeout(100).
//   node idle_timeout.js client PORT   Node sends one byte every 30 ms, 12 times, then goes
//                                      silent. The server's timeout must only fire after the
//                                      last byte; it then ends the socket.
//   node idle_timeout.js server 0      Node server only reads; the client writes one byte every
//                                      30 ms, 12 times, times out after its last write and ends.
// Report: {events, bytes}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress } = require('./interop_common.js');

const COUNT = 12;
const EVERY_MS = 30;
const [, , role, arg] = process.argv;
const events = [];
const report = { events, bytes: 0 };
watchdog(() => report);

function record(s) {
  s.on('data', (d) => (report.bytes += d.length));
  s.on('end', () => events.push(`end after ${report.sent === undefined ? report.bytes : report.sent}`));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client') {
  report.sent = 0;
  const s = net.connect(Number(arg), '127.0.0.1');
  s.setNoDelay(true);
  record(s);
  s.on('connect', () => {
    events.push('connect');
    const timer = setInterval(() => {
      s.write('.');
      report.sent++;
      if (report.sent === COUNT) clearInterval(timer);
    }, EVERY_MS);
  });
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    eq(events, ['connect', `end after ${COUNT}`, 'finish', 'close:false'], 'client events');
    finish(report);
  });
} else if (role === 'server') {
  const server = net.createServer((s) => {
    events.push('connection');
    record(s);
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      eq(events, ['connection', `end after ${COUNT}`, 'finish', 'close:false'], 'server events');
      eq(report.bytes, COUNT, 'bytes received');
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client or server');
}
