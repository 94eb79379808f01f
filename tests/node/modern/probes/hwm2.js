// createServer({highWaterMark}) write side: the first queued 1000-byte write, then two 100-byte writes. Usage: node hwm2.js HWM|0
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const n = +process.argv[2];
const srv = net.createServer(n ? {highWaterMark: n} : {}, s => {
  srv.close();
  let ok, writes = 0;
  do { ok = s.write(Buffer.alloc(1000)); writes++; } while (s.writableLength === 0);
  console.log('first queued write:', ok, s.writableLength);
  ok = s.write(Buffer.alloc(100)); console.log('write 100 more:', ok, s.writableLength);
  ok = s.write(Buffer.alloc(100)); console.log('write 100 more:', ok, s.writableLength);
  s.destroy(); srv.c.destroy();
});
srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); c.pause(); srv.c = c; });
