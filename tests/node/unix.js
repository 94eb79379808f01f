// Unix domain sockets.
//   node unix.js client PATH   Node connects to a server at PATH, writes 'ping', expects the echo,
//                              then ends.
//   node unix.js server PATH   Node listens on PATH (prints {"path":...}), echoes one connection,
//                              then closes; the socket file must be gone after 'close'.
//   node unix.js stale PATH    PATH is a stale socket file (no listener): listen() must emit
//                              'error' EADDRINUSE (never unlink it).
// Report: {events, error?, existsAfterClose?}.
'use strict';
const net = require('net');
const fs = require('fs');
const { eq, finish, watchdog, printAddress, errShape } = require('./interop_common.js');

const [, , role, path] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function record(s) {
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client') {
  const s = net.connect(path);
  record(s);
  s.on('connect', () => {
    events.push(`connect remote=${s.remoteAddress} local=${s.localAddress}`);
    s.write('ping');
  });
  s.on('data', (d) => {
    events.push('data:' + d);
    s.end();
  });
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    eq(events, ['connect remote=undefined local=undefined', 'data:ping', 'finish', 'end', 'close:false'], 'client events');
    finish(report);
  });
} else if (role === 'server') {
  const server = net.createServer((s) => {
    events.push(`connection remote=${s.remoteAddress} address=${JSON.stringify(s.address())}`);
    record(s);
    s.on('data', (d) => {
      events.push('data:' + d);
      s.write(d);
    });
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close(() => {
        report.existsAfterClose = fs.existsSync(path);
        eq(events, ['connection remote=undefined address={}', 'data:ping', 'end', 'finish', 'close:false'], 'server events');
        eq(report.existsAfterClose, false, 'socket file removed by close()');
        finish(report);
      });
    });
  });
  server.listen(path, () => {
    eq(server.address(), path, 'address() of a path server');
    printAddress(server);
  });
} else if (role === 'stale') {
  const server = net.createServer();
  server.on('listening', () => events.push('listening'));
  server.on('close', () => events.push('close'));
  server.on('error', (e) => {
    events.push('error:' + e.code);
    report.error = errShape(e);
    report.listening = server.listening;
    report.existsAfterError = fs.existsSync(path);
    setTimeout(() => {
      eq(events, ['error:EADDRINUSE'], 'server events');
      eq(report.error, {
        code: 'EADDRINUSE',
        errno: -98,
        syscall: 'listen',
        address: path,
        port: -1,
        message: `listen EADDRINUSE: address already in use ${path}`,
      }, 'EADDRINUSE error');
      eq(report.existsAfterError, true, 'stale file left in place');
      finish(report);
    }, 20);
  });
  server.listen(path);
} else {
  throw new Error('role must be client, server or stale');
}
