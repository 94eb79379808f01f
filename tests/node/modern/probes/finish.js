// 'finish' in half-close flows. Usage: node finish.js client|server SERVER_HALF_OPEN(0|1) CLIENT_HALF_OPEN(0|1)
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
function trace(tag, s) {
  s.on('connect', () => console.log(tag, 'connect'));
  s.on('ready', () => console.log(tag, 'ready'));
  s.on('data', d => console.log(tag, 'data', String(d)));
  s.on('end', () => console.log(tag, 'end'));
  s.on('finish', () => console.log(tag, 'finish'));
  s.on('error', e => console.log(tag, 'error', e.code));
  s.on('close', (...a) => console.log(tag, 'close', JSON.stringify(a)));
}
const [which, hoS, hoC] = process.argv.slice(2);
const srv = net.createServer({allowHalfOpen: hoS === '1'}, s => { trace('S', s); srv.close();
  if (which === 'server') s.end('bye');
  if (hoS === '1') s.on('end', () => { console.log('S (end handler) -> end()'); s.end(); });
});
srv.listen(0, '127.0.0.1', () => { const c = net.connect({port: srv.address().port, host: '127.0.0.1', allowHalfOpen: hoC === '1'}); trace('C', c);
  if (which === 'client') c.on('connect', () => c.end('hi'));
  if (hoC === '1') c.on('end', () => { console.log('C (end handler) -> end()'); c.end(); });
});
