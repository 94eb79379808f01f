// 'ready' right after 'connect' (before nextTick / setImmediate); server._connections at destroy(). Usage: node ready.js
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const srv = net.createServer(s => { s.on('ready', () => console.log('S ready')); s.on('connect', () => console.log('S connect')); s.write('hi'); srv.close(); s.on('end', () => console.log('S end')); s.on('close', () => { console.log('S close, connections', srv._connections); }); 
  s.on('data', () => {}); setTimeout(() => { s.destroy(); console.log('after destroy, connections', srv._connections); }, 50); });
srv.listen(0, '127.0.0.1', () => { const c = net.connect(srv.address().port, '127.0.0.1');
  c.on('connect', () => { console.log('C connect'); process.nextTick(() => console.log('nextTick')); setImmediate(() => console.log('immediate')); });
  c.on('ready', () => console.log('C ready'));
  c.on('data', d => console.log('C data', String(d)));
  c.on('close', h => console.log('C close', h));
});
