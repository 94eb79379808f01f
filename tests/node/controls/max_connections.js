// Control for max_connections.js: a Node server with maxConnections = 1. argv[2]: client.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const events = [];
const report = { events };
watchdog(() => report);

const server = net.createServer((s) => {
  events.push('connection:' + server._connections);
  s.write('welcome');
  s.on('data', (d) => events.push('data:' + d));
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    server.close();
    finish(report);
  });
});
server.maxConnections = 1;
server.listen(0, '127.0.0.1', () => printAddress(server));
