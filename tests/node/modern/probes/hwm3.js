// createServer({highWaterMark}) write side: 1000-byte writes until one is queued, then 100-byte ones until false. Usage: node hwm3.js HWM|0
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const n = +process.argv[2];
const srv = net.createServer(n ? {highWaterMark: n} : {}, s => {
  srv.close();
  let ok;
  do { ok = s.write(Buffer.alloc(1000)); } while (s.writableLength === 0);
  const seen = [[ok, s.writableLength]];
  while (ok) { ok = s.write(Buffer.alloc(100)); seen.push([ok, s.writableLength]); }
  console.log(JSON.stringify(seen.slice(0, 3)), '...', JSON.stringify(seen.slice(-3)));
  s.destroy(); srv.c.destroy();
});
srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); c.pause(); srv.c = c; });
