// createServer({highWaterMark}) read side: how far an accepted socket without 'data' listener reads ahead. Usage: node hwmread.js HWM|0
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const n = +process.argv[2];
const srv = net.createServer(n ? {highWaterMark: n} : {}, s => {
  srv.close();
  let last = -1, stable = 0;
  const t = setInterval(() => {
    if (s.bytesRead === last && ++stable > 10) { console.log('hwm', s.readableHighWaterMark, 'bytesRead', s.bytesRead, 'readableLength', s.readableLength); clearInterval(t); s.destroy(); srv.c.destroy(); }
    if (s.bytesRead !== last) stable = 0;
    last = s.bytesRead;
  }, 20);
});
srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); srv.c = c; c.write(Buffer.alloc(4 << 20)); c.on('error', () => {}); });
