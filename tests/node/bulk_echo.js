// Bulk echo integrity: 32 MiB of random bytes through an echo, both sides respecting 'drain'.
//   node bulk_echo.js client PORT   Node sends 32 MiB to an echo server at 127.0.0.1:PORT and
//                                   checks the echo (FNV-1a 64 and sha256).
//   node bulk_echo.js client_pipe PORT   the same, against an echo server that uses pipe().
//   node bulk_echo.js source 0           Node serves 32 MiB of random bytes to one client, then
//                                        ends (the client only reads).
//   node bulk_echo.js server 0      Node is the echo server (pauses on write() false, resumes
//                                   on 'drain'); it expects 32 MiB and hashes them.
'use strict';
const net = require('net');
const crypto = require('crypto');
const { check, eq, finish, watchdog, printAddress, Fnv64, fnv64, sha256 } = require('./interop_common.js');

const TOTAL = 32 * 1024 * 1024;
const CHUNK = 64 * 1024;
const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report, 25000);

if (role === 'client' || role === 'client_pipe') {
  const data = crypto.randomBytes(TOTAL);
  report.sent = TOTAL;
  report.sentFnv = fnv64(data);
  report.sentSha = sha256(data);
  const recvFnv = new Fnv64();
  const recvSha = crypto.createHash('sha256');
  let received = 0;
  let offset = 0;
  let waiting = false;
  report.falseWrites = 0;
  report.drains = 0;
  const s = net.connect(Number(arg), '127.0.0.1');
  const pump = () => {
    while (offset < TOTAL) {
      const ok = s.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      if (!ok) {
        report.falseWrites++;
        waiting = true;
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
    check(waiting, "'drain' without a write() that returned false");
    report.drains++;
    waiting = false;
    pump();
  });
  s.on('data', (d) => {
    received += d.length;
    recvFnv.update(d);
    recvSha.update(d);
  });
  s.on('end', () => events.push('end'));
  s.on('finish', () => events.push('finish'));
  s.on('error', (e) => events.push('error:' + e.code));
  s.on('close', (hadError) => {
    events.push('close:' + hadError);
    report.received = received;
    report.recvFnv = recvFnv.hex();
    report.recvSha = recvSha.digest('hex');
    eq(events, ['connect', 'finish', 'end', 'close:false'], 'client events');
    eq(received, TOTAL, 'bytes echoed back');
    eq(report.recvSha, report.sentSha, 'sha256 of the echo');
    eq(report.recvFnv, report.sentFnv, 'fnv64 of the echo');
    check(report.falseWrites >= 1, 'write() never returned false');
    eq(report.drains, report.falseWrites, "one 'drain' per write() false");
    finish(report);
  });
} else if (role === 'server') {
  const recvFnv = new Fnv64();
  const recvSha = crypto.createHash('sha256');
  let received = 0;
  report.falseWrites = 0;
  report.drains = 0;
  const server = net.createServer((s) => {
    events.push('connection');
    s.on('data', (d) => {
      received += d.length;
      report.receivedSoFar = received;
      recvFnv.update(d);
      recvSha.update(d);
      if (!s.write(d)) {
        report.falseWrites++;
        s.pause();
      }
    });
    s.on('drain', () => {
      report.drains++;
      s.resume();
    });
    s.on('end', () => events.push('end'));
    s.on('finish', () => events.push('finish'));
    s.on('error', (e) => events.push('error:' + e.code));
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      report.received = received;
      report.recvFnv = recvFnv.hex();
      report.recvSha = recvSha.digest('hex');
      eq(events, ['connection', 'end', 'finish', 'close:false'], 'server events');
      eq(received, TOTAL, 'bytes received');
      eq(report.drains, report.falseWrites, "one 'drain' per write() false");
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else if (role === 'source') {
  const data = crypto.randomBytes(TOTAL);
  report.sent = TOTAL;
  report.sentFnv = fnv64(data);
  const server = net.createServer((s) => {
    events.push('connection');
    s.end(data);
    s.on('data', () => events.push('data'));
    s.on('end', () => events.push('end'));
    s.on('finish', () => events.push('finish'));
    s.on('error', (e) => events.push('error:' + e.code));
    s.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      eq(events, ['connection', 'finish', 'end', 'close:false'], 'server events');
      finish(report);
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client, client_pipe, source or server');
}
