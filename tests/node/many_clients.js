// Many concurrent Node clients on one echo server.
//   node many_clients.js client PORT   50 connections at once; each writes its own line, expects
//                                      it echoed, then ends.
// Report: {connected, echoed, closed}.
'use strict';
const net = require('net');
const { eq, finish, watchdog } = require('./interop_common.js');

const N = 50;
const [, , role, arg] = process.argv;
if (role !== 'client') throw new Error('role must be client');
const report = { connected: 0, echoed: 0, closed: 0, errors: [] };
watchdog(() => report);

for (let i = 0; i < N; i++) {
  const line = `client ${i} says ${'x'.repeat(i * 37)}\n`;
  const s = net.connect(Number(arg), '127.0.0.1');
  let got = '';
  s.on('connect', () => {
    report.connected++;
    s.write(line);
  });
  s.on('data', (d) => {
    got += d;
    if (got.length >= line.length) {
      eq(got, line, `echo of client ${i}`);
      report.echoed++;
      s.end();
    }
  });
  s.on('error', (e) => report.errors.push(e.code));
  s.on('close', (hadError) => {
    report.closed++;
    eq(hadError, false, `close of client ${i}`);
    if (report.closed === N) {
      eq([report.connected, report.echoed, report.errors], [N, N, []], 'totals');
      finish(report);
    }
  });
}
