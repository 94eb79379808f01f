// Control for peer_reset.js: Node playing nodenet's side. argv[2]: the scenario's role.
//   client -> server writing 'hello' to each connection; server -> client writing 'hi'.
// Report: {events, error: the error's shape}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress, errShape } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s, done) {
  s.on('data', (d) => events.push('data:' + d));
  s.on('end', () => events.push('end'));
  s.on('error', (e) => {
    events.push('error:' + e.code);
    report.error = errShape(e);
  });
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    done();
  });
}

if (role === 'client') {
  const server = net.createServer((s) => {
    events.push('connection');
    s.write('hello');
    record(s, () => {
      server.close();
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  const s = net.connect(Number(arg), '127.0.0.1');
  s.on('connect', () => {
    events.push('connect');
    s.write('hi');
  });
  record(s, () => finish(report));
}
