// resetAndDestroy() while connecting / with writes in flight / twice. Usage: node reset2.js connecting|connecting-write|inflight|unread-client|twice
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
function trace(tag, s) {
  s.on('connect', () => console.log(tag, 'connect'));
  s.on('ready', () => console.log(tag, 'ready'));
  s.on('end', () => console.log(tag, 'end'));
  s.on('finish', () => console.log(tag, 'finish'));
  s.on('error', e => console.log(tag, 'error', e.code, e.syscall, e.errno, JSON.stringify(e.message)));
  s.on('close', (...a) => console.log(tag, 'close', JSON.stringify(a)));
}
const which = process.argv[2];
if (which === 'connecting') {
  const srv = net.createServer(s => { trace('S', s); s.resume(); srv.close(); });
  srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c); c.resetAndDestroy(); console.log('sync', c.destroyed, c.readyState, c.connecting); });
} else if (which === 'connecting-write') {
  const srv = net.createServer(s => { trace('S', s); let n=0; s.on('data', d => n+=d.length); s.on('close', () => console.log('S got', n)); srv.close(); });
  srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c); c.write('abc', e => console.log('C wcb', e && e.code)); c.resetAndDestroy(); });
} else if (which === 'inflight') {
  const srv = net.createServer(s => { trace('S', s); s.on('data', () => {}); srv.close(); });
  srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
    c.on('connect', () => { const r = c.write(Buffer.alloc(8<<20), e => console.log('C wcb', e && e.code)); console.log('C write', r); c.resetAndDestroy(); console.log('C sync', c.destroyed); });
  });
} else if (which === 'unread-client') {
  // client has unread data in its receive buffer, then resets
  const srv = net.createServer(s => { trace('S', s); s.write('hello'); srv.close(); });
  srv.listen(0, '127.0.0.1', () => { const c = net.connect({port: srv.address().port, host: '127.0.0.1'}); c.pause(); trace('C', c);
    c.on('connect', () => setTimeout(() => c.resetAndDestroy(), 100)); });
} else if (which === 'twice') {
  const srv = net.createServer(s => { trace('S', s); s.resume(); srv.close(); });
  srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
    c.on('connect', () => { c.resetAndDestroy(); c.resetAndDestroy(); c.destroy(); }); });
}
