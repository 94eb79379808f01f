// Node resets the connection (resetAndDestroy: RST) while the other side is reading: the other
// side must see ECONNRESET (syscall read) and 'close'(true), no 'end'.
//   node peer_reset.js client PORT   Node connects, waits for 'hello', then resets.
//   node peer_reset.js server 0      Node serves; once it receives 'hi' it resets.
// Report: {events}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function resetOnData(s) {
  s.on('data', (d) => {
    events.push('data:' + d);
    s.resetAndDestroy();
  });
  s.on('end', () => events.push('end'));
  s.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client') {
  const s = net.connect(Number(arg), '127.0.0.1');
  s.on('connect', () => events.push('connect'));
  resetOnData(s);
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    eq(events, ['connect', 'data:hello', 'close:false'], 'client events');
    finish(report);
  });
} else if (role === 'server') {
  const server = net.createServer((s) => {
    events.push('connection');
    resetOnData(s);
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      eq(events, ['connection', 'data:hi', 'close:false'], 'server events');
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client or server');
}
