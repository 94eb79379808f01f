// Client-side write/end edge cases against a Node server.
//   node client_lifecycle.js end_while_connecting 0   The client writes 'early' and calls end()
//                                                     before it is connected: Node must receive
//                                                     'early' then FIN.
//   node client_lifecycle.js write_after_fin 0        Node ends at once with 'bye'; the client
//                                                     (allowHalfOpen false) writes from its
//                                                     'finish' listener: EPIPE on its side, and
//                                                     Node receives nothing more.
// Report: {events}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress } = require('./interop_common.js');

const [, , role] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

let expected;
if (role === 'end_while_connecting') {
  expected = ['connection', 'data:early', 'end', 'finish', 'close:false'];
} else if (role === 'write_after_fin') {
  expected = ['connection', 'finish', 'end', 'close:false'];
} else {
  throw new Error('role must be end_while_connecting or write_after_fin');
}

const server = net.createServer((s) => {
  events.push('connection');
  if (role === 'write_after_fin') s.end('bye');
  s.on('data', (d) => events.push('data:' + d));
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    server.close();
    eq(events, expected, 'server events');
    finish(report);
  });
});
server.listen(0, '127.0.0.1', () => printAddress(server));
