// Half-close: who sends FIN when, and what each side sees.
//   node half_close.js client PORT     Node client (allowHalfOpen false) writes 'hello' and
//                                      ends; the server (default options) answers 'bye' from its
//                                      'end' listener, then ends automatically.
//   node half_close.js client_ho PORT  same, but the server has allowHalfOpen: it answers 'late'
//                                      30 ms after 'end' and then ends itself.
//   node half_close.js server_ho 0     Node server (allowHalfOpen) writes 'hi' and ends at once;
//                                      the client (allowHalfOpen) answers 'late' 30 ms after
//                                      its 'end', then ends.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s) {
  s.on('data', (d) => events.push('data:' + d));
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish:' + s.readyState));
  s.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client' || role === 'client_ho') {
  const s = net.connect(Number(arg), '127.0.0.1');
  record(s);
  s.on('connect', () => {
    events.push('connect');
    s.write('hello');
    s.end();
  });
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    const answer = role === 'client' ? 'bye' : 'late';
    eq(events, ['connect', 'finish:readOnly', 'data:' + answer, 'end', 'close:false'], 'client events');
    finish(report);
  });
} else if (role === 'server_ho') {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    events.push('connection');
    record(s);
    s.write('hi');
    s.end();
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      eq(events, ['connection', 'finish:readOnly', 'data:late', 'end', 'close:false'], 'server events');
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client, client_ho or server_ho');
}
