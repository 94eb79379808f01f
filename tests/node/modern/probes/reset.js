// resetAndDestroy() cases. Usage: node reset.js client|accepted|unread|inflight|connecting|fresh|afterdestroy|afterclose|unix
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
function trace(tag, s) {
  s.on('connect', () => console.log(tag, 'connect'));
  s.on('ready', () => console.log(tag, 'ready'));
  s.on('data', d => console.log(tag, 'data', d.length));
  s.on('end', () => console.log(tag, 'end'));
  s.on('finish', () => console.log(tag, 'finish'));
  s.on('error', e => console.log(tag, 'error', e.code, e.syscall, e.errno, JSON.stringify(e.message)));
  s.on('close', (...a) => console.log(tag, 'close', JSON.stringify(a)));
}
const which = process.argv[2];
async function main() {
  if (which === 'client') {
    const srv = net.createServer(s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1');
      trace('C', c);
      c.on('connect', () => { setTimeout(() => { c.resetAndDestroy(); console.log('sync', c.destroyed, c.readyState); srv.close(); }, 50); });
    });
  } else if (which === 'accepted') {
    const srv = net.createServer(s => { trace('S', s); setTimeout(() => { s.resetAndDestroy(); srv.close(); }, 50); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c); });
  } else if (which === 'unread') {
    const srv = net.createServer({pauseOnConnect: true}, s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
      c.on('connect', () => c.write('hello'));
      srv.on('connection', s => setTimeout(() => { s.resetAndDestroy(); srv.close(); }, 50)); });
  } else if (which === 'inflight') {
    const srv = net.createServer({pauseOnConnect: true}, s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
      c.on('connect', () => { setTimeout(() => { const r = c.write(Buffer.alloc(8<<20), e => console.log('C wcb', e && e.code)); console.log('C write', r, c.writableLength); c.resetAndDestroy(); srv.close(); }, 50); });
    });
  } else if (which === 'connecting') {
    const srv = net.createServer(s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c); c.resetAndDestroy(); console.log('sync', c.destroyed, c.readyState, c.connecting); srv.close(); });
  } else if (which === 'fresh') {
    const c = new net.Socket(); trace('C', c); c.resetAndDestroy(); console.log('sync', c.destroyed, c.readyState);
  } else if (which === 'afterdestroy') {
    const srv = net.createServer(s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
      c.on('connect', () => { c.destroy(); c.resetAndDestroy(); srv.close(); }); });
  } else if (which === 'afterclose') {
    const srv = net.createServer(s => { trace('S', s); });
    srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1'); trace('C', c);
      c.on('connect', () => { c.destroy(); srv.close(); });
      c.on('close', () => { try { c.resetAndDestroy(); } catch (e) { console.log('throw', e.code); } }); });
  } else if (which === 'unix') {
    const p = require('path').join(require('os').tmpdir(), 'u' + process.pid + '.sock');
    const srv = net.createServer(s => { trace('S', s); });
    srv.listen(p, () => { const c = net.connect(p); trace('C', c);
      c.on('connect', () => { try { c.resetAndDestroy(); } catch (e) { console.log('throw', e.name, e.code, JSON.stringify(e.message)); } console.log('after', c.destroyed, c.readyState); c.write('x'); c.end(); srv.close(); }); });
    srv.on('connection', s => s.on('data', d => console.log('S got', String(d))));
  }
}
main();
