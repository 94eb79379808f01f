// A paused peer holds data when the RST arrives, then resumes. Usage: node reset3.js BYTES
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
function trace(tag, s) {
  s.on('connect', () => console.log(tag, 'connect'));
  s.on('data', d => console.log(tag, 'data', d.length));
  s.on('end', () => console.log(tag, 'end'));
  s.on('finish', () => console.log(tag, 'finish'));
  s.on('error', e => console.log(tag, 'error', e.code, e.syscall, e.errno, JSON.stringify(e.message)));
  s.on('close', (...a) => console.log(tag, 'close', JSON.stringify(a)));
}
const size = +process.argv[2];
const srv = net.createServer({pauseOnConnect: true}, s => { trace('S', s); srv.close();
  const c = srv.c;
  c.write(Buffer.alloc(size, 97), e => console.log('C wcb', e && e.code)); c.resetAndDestroy();
  c.on('close', () => setTimeout(() => s.resume(), 50));
});
srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c); srv.c = c; });
