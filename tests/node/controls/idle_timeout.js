// Control for idle_timeout.js: Node playing nodenet's side (setTimeout(100)). argv[2]: scenario role.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const COUNT = 12;
const EVERY_MS = 30;
const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s, what) {
  let n = 0;
  s.on('data', (d) => (n += d.length));
  s.setTimeout(100);
  s.on('timeout', () => {
    events.push(`timeout ${what}=${what === 'bytes' ? n : report.writes}`);
    s.end();
  });
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
}

if (role === 'client') {
  const server = net.createServer((s) => {
    record(s, 'bytes');
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  report.writes = 0;
  const s = net.connect(Number(arg), '127.0.0.1');
  s.setNoDelay(true);
  s.on('connect', () => {
    events.push('connect');
    record(s, 'writes');
    const timer = setInterval(() => {
      s.write('.');
      report.writes++;
      if (report.writes === COUNT) clearInterval(timer);
    }, EVERY_MS);
  });
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    finish(report);
  });
}
