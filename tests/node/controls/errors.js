// Control for errors.js: what nodenet's side does, in Node: the same failed connects, reported as
// {events: [...], errors: [shape...]} exactly like the Rust side's report.
'use strict';
const net = require('net');
const { finish, watchdog, errShape } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const errors = [];
const report = { events, errors };
watchdog(() => report);

const targets =
  role === 'refused'
    ? [{ port: Number(arg), host: '127.0.0.1' }, { port: Number(arg), host: '::1' }]
    : [{ path: `${arg}/missing.sock` }, { path: `${arg}/stale.sock` }];
const next = (i) => {
  if (i === targets.length) return finish(report);
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
