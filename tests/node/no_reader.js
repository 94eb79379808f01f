// A server socket without any 'data' listener: it buffers up to its highWaterMark and then stops
// reading, and it must NOT emit 'end' while unread data is buffered. Once it resumes, everything
// arrives, then 'end'.
//   node no_reader.js client PORT   Connection D writes 1 MiB and ends; after D's 'finish', Node
//                                   opens a second connection C, the signal for the server to
//                                   inspect D and resume it (and destroy C).
// Report: {d: D's events, c: C's events}.
'use strict';
const net = require('net');
const { eq, finish, watchdog } = require('./interop_common.js');

const TOTAL = 1024 * 1024;
const [, , role, arg] = process.argv;
if (role !== 'client') throw new Error('role must be client');
const port = Number(arg);
const d = [];
const c = [];
const report = { d, c, written: TOTAL };
watchdog(() => report);
const closed = { d: false, c: false };
const done = () => {
  if (!closed.d || !closed.c) return;
  eq(d, ['connect', 'finish', 'end', 'close:false'], 'D events');
  eq(c, ['connect', 'end', 'finish', 'close:false'], 'C events');
  finish(report);
};

const sd = net.connect(port, '127.0.0.1');
sd.on('connect', () => {
  d.push('connect');
  sd.end(Buffer.alloc(TOTAL, 'n'));
});
sd.on('finish', () => {
  d.push('finish');
  const sc = net.connect(port, '127.0.0.1');
  sc.on('connect', () => c.push('connect'));
  sc.on('end', () => c.push('end'));
  sc.on('finish', () => c.push('finish'));
  sc.on('error', (e) => c.push('error:' + e.code));
  sc.on('close', (hadError) => {
    c.push('close:' + hadError);
    closed.c = true;
    done();
  });
});
sd.on('end', () => d.push('end'));
sd.on('error', (e) => d.push('error:' + e.code));
sd.on('close', (hadError) => {
  d.push('close:' + hadError);
  closed.d = true;
  done();
});
