// Node's echo server for the benchmark suite (benches/suite): `net` with `c.pipe(c)`.
// Usage: node benches/node_echo.js tcp|PATH [nodelay]
// Prints the port (on 127.0.0.1) or the unix socket path once listening; serves until killed.
'use strict';
const net = require('net');

const target = process.argv[2] || 'tcp';
const noDelay = process.argv[3] === 'nodelay';

const server = net.createServer((c) => {
  c.on('error', () => {}); // a client reset must not end the server
  if (noDelay) c.setNoDelay(true);
  c.pipe(c);
});
server.on('error', (err) => {
  console.error(`node echo server error: ${err.message}`);
  process.exit(2);
});
if (target === 'tcp') {
  server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
} else {
  server.listen(target, () => console.log(target));
}
