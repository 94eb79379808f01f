// Control for bulk_echo.js: Node playing nodenet's side. argv[2] is the scenario's role.
//   client -> we are the echo server (print {"port":N}); client_pipe -> the same with pipe();
//   server -> we send 32 MiB to port argv[3].
//   source -> we only read what the server sends, with an unref'd 1 ms timer busy for 0.5 ms
//             (it must not keep the process alive, nor let it exit before 'close').
// Report: {events, bytes, fnv} (server: what we received and echoed; client: sent/received).
'use strict';
const net = require('net');
const crypto = require('crypto');
const { finish, watchdog, printAddress, Fnv64, fnv64 } = require('../interop_common.js');

const TOTAL = 32 * 1024 * 1024;
const CHUNK = 64 * 1024;
const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report, 25000);

if (role === 'client' || role === 'client_pipe') {
  const fnv = new Fnv64();
  let received = 0;
  const server = net.createServer((s) => {
    events.push('connection');
    if (role === 'client_pipe') {
      s.pipe(s);
      s.on('data', (d) => {
        received += d.length;
        fnv.update(d);
      });
    } else {
      s.on('data', (d) => {
        received += d.length;
        fnv.update(d);
        if (!s.write(d)) s.pause();
      });
      s.on('drain', () => s.resume());
    }
    s.on('end', () => events.push('end'));
    s.on('finish', () => events.push('finish'));
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      report.received = received;
      report.recvFnv = fnv.hex();
      report.bytesRead = s.bytesRead;
      report.bytesWritten = s.bytesWritten;
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else if (role === 'source') {
  const fnv = new Fnv64();
  let received = 0;
  setInterval(() => {
    const t0 = process.hrtime.bigint();
    while (process.hrtime.bigint() - t0 < 500000n);
  }, 1).unref();
  const s = net.connect(Number(arg), '127.0.0.1');
  s.on('connect', () => events.push('connect'));
  s.on('data', (d) => {
    received += d.length;
    fnv.update(d);
  });
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    report.received = received;
    report.recvFnv = fnv.hex();
    finish(report);
  });
} else {
  const data = crypto.randomBytes(TOTAL);
  const fnv = new Fnv64();
  let received = 0;
  let offset = 0;
  report.falseWrites = 0;
  report.drains = 0;
  const s = net.connect(Number(arg), '127.0.0.1');
  const pump = () => {
    while (offset < TOTAL) {
      const ok = s.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      if (!ok) {
        report.falseWrites++;
        return;
      }
    }
    s.end();
  };
  s.on('connect', () => {
    events.push('connect');
    pump();
  });
  s.on('drain', () => {
    report.drains++;
    pump();
  });
  s.on('data', (d) => {
    received += d.length;
    fnv.update(d);
  });
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    report.sent = TOTAL;
    report.sentFnv = fnv64(data);
    report.received = received;
    report.recvFnv = fnv.hex();
    report.bytesRead = s.bytesRead;
    report.bytesWritten = s.bytesWritten;
    finish(report);
  });
}
