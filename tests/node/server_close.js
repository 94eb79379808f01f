// server.close() with a live connection.
//   node server_close.js client PORT   The server answers each connection with 'closed\n' after
//                                      calling server.close(), and echoes what follows. Node then
//                                      sees a new connect refused (ECONNREFUSED), while the live
//                                      connection still echoes 'still-alive'.
'use strict';
const net = require('net');
const { eq, finish, watchdog, errShape } = require('./interop_common.js');

const [, , role, arg] = process.argv;
if (role !== 'client') throw new Error('role must be client');
const port = Number(arg);
const events = [];
const report = { events };
watchdog(() => report);

const a = net.connect(port, '127.0.0.1');
a.on('connect', () => events.push('connect'));
a.on('data', (d) => {
  const text = String(d);
  events.push('data:' + text);
  if (text === 'closed\n') {
    const b = net.connect(port, '127.0.0.1');
    b.on('connect', () => events.push('second-connect'));
    b.on('error', (e) => {
      events.push('second-error:' + e.code);
      report.refused = errShape(e);
    });
    b.on('close', (hadError) => {
      events.push('second-close:' + hadError);
      a.write('still-alive');
    });
  } else if (text === 'still-alive') {
    a.end();
  }
});
a.on('end', () => events.push('end'));
a.on('finish', () => events.push('finish'));
a.on('error', (e) => events.push('error:' + e.code));
a.on('close', (hadError) => {
  events.push('close:' + hadError);
  eq(
    events,
    [
      'connect',
      'data:closed\n',
      'second-error:ECONNREFUSED',
      'second-close:true',
      'data:still-alive',
      'finish',
      'end',
      'close:false',
    ],
    'client events'
  );
  eq(
    report.refused,
    {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port,
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
    },
    'refused error'
  );
  finish(report);
});
