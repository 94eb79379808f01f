// Error shapes of failed connects, for comparison with nodenet's.
//   node errors.js refused PORT   connect to 127.0.0.1:PORT then [::1]:PORT, both refused.
//   node errors.js paths DIR      connect to DIR/missing.sock (absent: ENOENT), then to
//                                 DIR/stale.sock (a socket file without listener: ECONNREFUSED).
// Report: {events, errors: [shape...]}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, errShape } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const errors = [];
const report = { events, errors };
watchdog(() => report);

function attempts(targets, expected) {
  const next = (i) => {
    if (i === targets.length) {
      eq(errors, expected, 'errors');
      eq(events, targets.flatMap(() => ['error', 'close:true']), 'events');
      return finish(report);
    }
    const s = net.connect(targets[i]);
    s.on('connect', () => events.push('connect'));
    s.on('error', (e) => {
      events.push('error');
      errors.push(errShape(e));
    });
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      next(i + 1);
    });
  };
  next(0);
}

if (role === 'refused') {
  const port = Number(arg);
  attempts([{ port, host: '127.0.0.1' }, { port, host: '::1' }], [
    { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port, message: `connect ECONNREFUSED 127.0.0.1:${port}` },
    { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '::1', port, message: `connect ECONNREFUSED ::1:${port}` },
  ]);
} else if (role === 'paths') {
  const missing = `${arg}/missing.sock`;
  const stale = `${arg}/stale.sock`;
  attempts([{ path: missing }, { path: stale }], [
    { code: 'ENOENT', errno: -2, syscall: 'connect', address: missing, message: `connect ENOENT ${missing}` },
    { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: stale, message: `connect ECONNREFUSED ${stale}` },
  ]);
} else {
  throw new Error('role must be refused or paths');
}
