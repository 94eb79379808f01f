// Control for reset.js: Node playing nodenet's side. argv[2] is the scenario's role.
//   client -> server with pauseOnConnect: destroys connection 1 at once, connection 2 once the
//             kernel holds unread bytes for it.
//   server -> client: connection 1 destroyed on 'connect'; connection 2 paused before connecting
//             and destroyed once the kernel holds unread bytes.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress, whenUnreadData } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

if (role === 'client') {
  let n = 0;
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    n++;
    const k = n;
    s.on('error', (e) => events.push(`${k} error:${e.code}`));
    s.on('close', (hadError) => {
      events.push(`${k} close:${hadError}`);
      if (k === 2) {
        server.close();
        finish(report);
      }
    });
    if (k === 1) {
      events.push('1 destroy');
      s.destroy();
    } else {
      whenUnreadData(s.localPort, s.remotePort, () => {
        events.push('2 destroy with unread data');
        s.destroy();
      });
    }
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  const port = Number(arg);
  const s1 = net.connect(port, '127.0.0.1');
  s1.on('connect', () => {
    events.push('1 connect');
    s1.destroy();
  });
  s1.on('close', (hadError) => {
    events.push('1 close:' + hadError);
    const s2 = new net.Socket();
    s2.pause();
    s2.connect(port, '127.0.0.1');
    s2.on('connect', () => {
      events.push('2 connect');
      whenUnreadData(s2.localPort, s2.remotePort, () => {
        events.push('2 destroy with unread data');
        s2.destroy();
      });
    });
    s2.on('close', (hadError) => {
      events.push('2 close:' + hadError);
      finish(report);
    });
  });
}
