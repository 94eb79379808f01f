// Control for many_clients.js: a Node echo server (pipe) that closes after 50 connections closed.
// Report: {events: ["connections 50", "ends 50", "closes 50"]}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const N = 50;
const events = [];
const report = { events };
watchdog(() => report);
let connections = 0;
let ends = 0;
let closes = 0;
const server = net.createServer((s) => {
  connections++;
  s.pipe(s);
  s.on('end', () => ends++);
  s.on('close', (hadError) => {
    closes += hadError ? 1000 : 1;
    if (closes === N) {
      events.push(`connections ${connections}`, `ends ${ends}`, `closes ${closes}`);
      server.close();
      finish(report);
    }
  });
});
server.listen(0, '127.0.0.1', () => printAddress(server));
