// Control for half_close.js: Node playing nodenet's side. argv[2] is the scenario's role.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s) {
  let text = '';
  s.on('data', (d) => (text += d));
  s.on('end', () => {
    events.push('data:' + text);
    events.push('end:' + s.readyState);
  });
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
  s.on('close', (hadError) => events.push('close:' + hadError));
}

if (role === 'client') {
  const server = net.createServer((s) => {
    record(s);
    s.on('end', () => events.push('write-in-end:' + s.write('bye')));
    s.on('close', () => {
      server.close();
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else if (role === 'client_ho') {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    record(s);
    s.on('end', () => setTimeout(() => s.end('late'), 30));
    s.on('close', () => {
      server.close();
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  const s = net.connect({ port: Number(arg), host: '127.0.0.1', allowHalfOpen: true });
  s.on('connect', () => events.push('connect'));
  record(s);
  s.on('end', () => setTimeout(() => s.end('late'), 30));
  s.on('close', () => finish(report));
}
