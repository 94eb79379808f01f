// Control for server_close.js: the server side in Node. argv[2] is the scenario's role (client).
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const events = [];
const report = { events };
watchdog(() => report);

const server = net.createServer((s) => {
  events.push('connection');
  server.close((err) => events.push('close-cb:' + (err ? err.code : 'none')));
  events.push('listening:' + server.listening);
  s.write('closed\n');
  s.on('data', (d) => {
    events.push('data:' + d);
    s.write(d);
  });
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    finish(report);
  });
});
server.on('close', () => events.push('server-close'));
server.listen(0, '127.0.0.1', () => printAddress(server));
