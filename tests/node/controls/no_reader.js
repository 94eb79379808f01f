// Control for no_reader.js: a Node server whose first socket D has no 'data' listener until the
// second connection C arrives (and D has buffered something). argv[2]: client.
// Report: {events, received, stoppedReading: bytesRead at the signal was below the total}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const TOTAL = 1024 * 1024;
const events = [];
const report = { events, received: 0 };
watchdog(() => report);

let sd = null;
let ended = false;
const server = net.createServer((s) => {
  if (!sd) {
    sd = s;
    events.push('connection');
    sd.on('end', () => {
      ended = true;
      events.push('end');
    });
    sd.on('finish', () => events.push('finish'));
    sd.on('close', (hadError) => {
      events.push('close:' + hadError);
      server.close();
      finish(report);
    });
  } else {
    // D's first read may not have happened yet (a busy loop): wait for it (no event exists).
    const inspect = () => {
      if (sd.readableLength === 0) return setTimeout(inspect, 1);
      events.push(`signal ended=${ended} buffered=${sd.readableLength > 0}`);
      report.stoppedReading = sd.bytesRead < TOTAL;
      sd.on('data', (chunk) => (report.received += chunk.length));
      sd.resume();
      s.destroy();
    };
    inspect();
  }
});
server.listen(0, '127.0.0.1', () => printAddress(server));
