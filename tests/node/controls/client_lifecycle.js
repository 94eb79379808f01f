// Control for client_lifecycle.js: the client side in Node. argv[2]: the scenario's role.
'use strict';
const net = require('net');
const { finish, watchdog, errShape } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

const s = net.connect(Number(arg), '127.0.0.1');
s.on('connect', () => events.push('connect'));
s.on('data', (d) => events.push('data:' + d));
s.on('end', () => events.push('end'));
s.on('error', (e) => {
  events.push('error:' + e.code);
  report.error = errShape(e);
});
s.on('close', (hadError) => {
  events.push('close:' + hadError);
  finish(report);
});
if (role === 'end_while_connecting') {
  s.on('finish', () => events.push('finish'));
  s.write('early');
  s.end();
  events.push('after-end:' + s.readyState);
} else {
  s.on('finish', () => {
    events.push('finish');
    const ok = s.write('late', (err) => {
      events.push('write-cb:' + (err ? err.code : 'null'));
      report.writeError = err ? errShape(err) : null;
    });
    events.push('write:' + ok);
  });
}
