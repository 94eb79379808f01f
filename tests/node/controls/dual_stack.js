// Control for dual_stack.js: Node playing nodenet's side. argv[2]: the scenario's role.
//   client -> server listening without a host; server -> client connecting to 127.0.0.1 then ::1.
// Report: {events: ["listening ADDRESS FAMILY", "remote ADDR FAMILY PORT", "local ADDR FAMILY PORT"...]}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

const log = (s) => {
  events.push(`remote ${s.remoteAddress} ${s.remoteFamily} ${s.remotePort}`);
  events.push(`local ${s.localAddress} ${s.localFamily} ${s.localPort}`);
};

if (role === 'client') {
  let n = 0;
  const server = net.createServer((s) => {
    const k = ++n;
    log(s);
    s.resume();
    s.on('close', () => {
      if (k === 2) {
        server.close();
        finish(report);
      }
    });
  });
  server.listen(0, () => {
    const a = server.address();
    events.push(`listening ${a.address} ${a.family}`);
    printAddress(server);
  });
} else {
  const port = Number(arg);
  const hosts = ['127.0.0.1', '::1'];
  const next = (i) => {
    if (i === hosts.length) return finish(report);
    const s = net.connect(port, hosts[i]);
    s.on('connect', () => {
      log(s);
      s.end();
    });
    s.resume();
    s.on('close', () => next(i + 1));
  };
  next(0);
}
