// Control for unix.js: Node playing nodenet's side. argv[2]: the scenario's role, argv[3]: PATH.
//   client -> echo server on PATH (closes after its connection closed; reports existsAfterClose)
//   server -> client: writes 'ping', ends after the echo.
//   stale  -> listen on the stale PATH too, report the error.
'use strict';
const net = require('net');
const fs = require('fs');
const { finish, watchdog, printAddress, errShape } = require('../interop_common.js');

const [, , role, path] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s) {
  s.on('data', (d) => events.push('data:' + d));
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client') {
  const server = net.createServer((s) => {
    events.push(`connection remote=${s.remoteAddress}`);
    record(s);
    s.on('data', (d) => s.write(d));
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close(() => {
        report.existsAfterClose = fs.existsSync(path);
        finish(report);
      });
    });
  });
  server.listen(path, () => {
    events.push('listening ' + (server.address() === path ? 'path' : JSON.stringify(server.address())));
    printAddress(server);
  });
} else if (role === 'server') {
  const s = net.connect(path);
  record(s);
  s.on('connect', () => {
    events.push(`connect remote=${s.remoteAddress}`);
    s.write('ping');
  });
  s.on('data', () => s.end());
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    finish(report);
  });
} else {
  const server = net.createServer();
  server.on('listening', () => events.push('listening'));
  server.on('error', (e) => {
    events.push('error:' + e.code);
    report.error = errShape(e);
    report.existsAfterError = fs.existsSync(path);
    finish(report);
  });
  server.listen(path);
}
