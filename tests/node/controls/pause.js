// Control for pause.js: Node playing nodenet's side. argv[2] is the scenario's role.
//   client -> server with pauseOnConnect; first connection D, second C = resume signal.
//   server -> client: D paused before connect, C flowing; 'resume' on C resumes D.
// Report: {events, received: bytes read on D}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events, received: 0 };
watchdog(() => report);

function recordD(sd) {
  sd.on('data', (chunk) => (report.received += chunk.length));
  sd.on('end', () => events.push('end'));
  sd.on('finish', () => events.push('finish'));
  sd.on('error', (e) => events.push('error:' + e.code));
}

if (role === 'client') {
  let sd = null;
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    if (!sd) {
      sd = s;
      events.push('connection');
      recordD(sd);
      sd.on('close', (hadError) => {
        events.push('close:' + hadError);
        server.close();
        finish(report);
      });
    } else {
      events.push('signal bytes_read=' + sd.bytesRead);
      sd.resume();
      s.destroy();
    }
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  const port = Number(arg);
  const sd = new net.Socket();
  sd.pause();
  sd.connect(port, '127.0.0.1');
  recordD(sd);
  let sc;
  sd.on('connect', () => {
    events.push('connect');
    sc = net.connect(port, '127.0.0.1');
    sc.on('data', (chunk) => {
      if (String(chunk) === 'resume') {
        events.push('resume bytes_read=' + sd.bytesRead);
        sd.resume();
      }
    });
    sc.on('close', () => finish(report));
  });
  sd.on('close', (hadError) => events.push('close:' + hadError));
}
