// Backpressure of a paused reader, seen by the Node writer: write() returns false and NO 'drain'
// comes while the reader is paused (observed for 300 ms), then 'drain' after it resumes.
//   node pause.js client PORT   The server has pauseOnConnect. Node's data connection D writes
//                               64 KiB chunks until write() is false; after the window Node opens
//                               a second connection C, the signal for the server to resume D
//                               (and destroy C). After 'drain', D ends.
//   node pause.js server 0      Node server; the client's first connection D is paused before
//                               connecting, its second C flows. Node writes on D until false,
//                               waits 300 ms, then writes 'resume' on C. After 'drain' it ends D,
//                               and ends C once D closed.
// Report: {d: D's events, c: C's events, written: bytes written on D}.
'use strict';
const net = require('net');
const { check, eq, finish, watchdog, printAddress } = require('./interop_common.js');

const CHUNK = Buffer.alloc(64 * 1024, 'p');
const CAP = 256 * 1024 * 1024;
const WINDOW_MS = 300;
const [, , role, arg] = process.argv;
const d = [];
const c = [];
const report = { d, c, written: 0 };
watchdog(() => report);

// Writes until write() returns false, watches for 'drain' during the window, then calls signal().
function fillThenWait(sock, signal) {
  let state = 'filling';
  sock.on('drain', () => {
    if (state === 'paused') {
      d.push('drain-while-paused');
    } else if (state === 'resumed') {
      d.push('drain');
      state = 'ending';
      sock.end();
    }
  });
  let ok = true;
  while (ok && report.written < CAP) {
    ok = sock.write(CHUNK);
    report.written += CHUNK.length;
  }
  check(!ok, `write() still true after ${CAP} bytes`);
  d.push('write-false');
  state = 'paused';
  setTimeout(() => {
    if (state !== 'paused') return;
    d.push('window-over');
    state = 'resumed';
    signal();
  }, WINDOW_MS);
}

function record(sock, ev) {
  sock.on('end', () => ev.push('end'));
  sock.on('finish', () => ev.push('finish'));
  sock.on('error', (e) => ev.push('error:' + e.code));
}

if (role === 'client') {
  const port = Number(arg);
  const sd = net.connect(port, '127.0.0.1');
  record(sd, d);
  const closed = { d: false, c: false };
  const done = () => {
    if (!closed.d || !closed.c) return;
    eq(d, ['connect', 'write-false', 'window-over', 'drain', 'finish', 'end', 'close:false'], 'D events');
    eq(c, ['connect', 'end', 'finish', 'close:false'], 'C events');
    finish(report);
  };
  sd.on('connect', () => {
    d.push('connect');
    fillThenWait(sd, () => {
      const sc = net.connect(port, '127.0.0.1');
      sc.on('connect', () => c.push('connect'));
      record(sc, c);
      sc.on('close', (hadError) => {
        c.push('close:' + hadError);
        closed.c = true;
        done();
      });
    });
  });
  sd.on('close', (hadError) => {
    d.push('close:' + hadError);
    closed.d = true;
    done();
  });
} else if (role === 'server') {
  let n = 0;
  let sc = null;
  let signalWanted = false;
  const signal = () => {
    if (sc) sc.write('resume');
    else signalWanted = true;
  };
  const server = net.createServer((s) => {
    n++;
    if (n === 1) {
      d.push('connection');
      record(s, d);
      s.on('close', (hadError) => {
        d.push('close:' + hadError);
        if (sc) sc.end();
      });
      fillThenWait(s, signal);
    } else {
      c.push('connection');
      record(s, c);
      sc = s;
      if (signalWanted) signal();
      s.on('close', (hadError) => {
        c.push('close:' + hadError);
        server.close();
        eq(d, ['connection', 'write-false', 'window-over', 'drain', 'finish', 'end', 'close:false'], 'D events');
        eq(c, ['connection', 'finish', 'end', 'close:false'], 'C events');
        finish(report);
      });
    }
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  throw new Error('role must be client or server');
}
