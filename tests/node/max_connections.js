// maxConnections = 1: the excess client is accepted then closed, not refused.
//   node max_connections.js client PORT   Connection A waits for 'welcome' (so the server holds
//                                         it), then B connects: B sees 'connect', 'end', 'finish',
//                                         'close'(false), no error. Then A writes 'bye' and ends.
'use strict';
const net = require('net');
const { eq, finish, watchdog } = require('./interop_common.js');

const [, , role, arg] = process.argv;
if (role !== 'client') throw new Error('role must be client');
const port = Number(arg);
const a = [];
const b = [];
const report = { a, b };
watchdog(() => report);

function record(s, ev) {
  s.on('connect', () => ev.push('connect'));
  s.on('end', () => ev.push('end'));
  s.on('finish', () => ev.push('finish'));
  s.on('error', (e) => ev.push('error:' + e.code));
}

const sa = net.connect(port, '127.0.0.1');
record(sa, a);
sa.on('data', (d) => {
  a.push('data:' + d);
  const sb = net.connect(port, '127.0.0.1');
  record(sb, b);
  sb.on('data', (d) => b.push('data:' + d));
  sb.on('close', (hadError) => {
    b.push('close:' + hadError);
    sa.end('bye');
  });
});
sa.on('close', (hadError) => {
  a.push('close:' + hadError);
  eq(a, ['connect', 'data:welcome', 'finish', 'end', 'close:false'], 'connection A');
  eq(b, ['connect', 'end', 'finish', 'close:false'], 'connection B (over the limit)');
  finish(report);
});
