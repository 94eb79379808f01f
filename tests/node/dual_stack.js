// Dual stack: a server listening without a host ('::', IPV6_V6ONLY off) accepts IPv4 clients,
// which it sees as '::ffff:127.0.0.1' (family IPv6); the client sees plain IPv4.
//   node dual_stack.js client PORT   Node connects to 127.0.0.1 then to ::1 (sequentially) and
//                                    reports its own view of each connection.
//   node dual_stack.js server 0      Node listens without a host and reports its view of the two
//                                    connections it accepts (127.0.0.1 first, then ::1).
// Report: {conns: [{localAddress, localPort, localFamily, remoteAddress, remotePort, remoteFamily}]}.
'use strict';
const net = require('net');
const { eq, finish, watchdog, printAddress } = require('./interop_common.js');

const [, , role, arg] = process.argv;
const conns = [];
const report = { conns };
watchdog(() => report);

const view = (s) => ({
  localAddress: s.localAddress,
  localPort: s.localPort,
  localFamily: s.localFamily,
  remoteAddress: s.remoteAddress,
  remotePort: s.remotePort,
  remoteFamily: s.remoteFamily,
});

if (role === 'client') {
  const port = Number(arg);
  const hosts = ['127.0.0.1', '::1'];
  const next = (i) => {
    if (i === hosts.length) {
      eq(conns.map((c) => [c.localAddress, c.remoteAddress, c.remoteFamily, c.remotePort]), [
        ['127.0.0.1', '127.0.0.1', 'IPv4', port],
        ['::1', '::1', 'IPv6', port],
      ], 'client views');
      return finish(report);
    }
    const s = net.connect(port, hosts[i]);
    s.on('connect', () => {
      conns.push(view(s));
      s.end();
    });
    s.on('error', (e) => conns.push({ error: e.code }));
    s.on('close', () => next(i + 1));
  };
  next(0);
} else if (role === 'server') {
  const server = net.createServer((s) => {
    conns.push(view(s));
    const k = conns.length;
    s.resume();
    s.on('close', () => {
      if (k === 2) {
        server.close();
        const port = server_port;
        eq(conns.map((c) => [c.localAddress, c.localFamily, c.localPort, c.remoteAddress, c.remoteFamily]), [
          ['::ffff:127.0.0.1', 'IPv6', port, '::ffff:127.0.0.1', 'IPv6'],
          ['::1', 'IPv6', port, '::1', 'IPv6'],
        ], 'server views');
        finish(report);
      }
    });
  });
  let server_port;
  server.listen(0, () => {
    server_port = server.address().port;
    eq(server.address().address, '::', 'listening address');
    printAddress(server);
  });
} else {
  throw new Error('role must be client or server');
}
