// maxConnections = 1 and 'drop'. Usage: node drop.js dual|v4|unix|zero
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
const which = process.argv[2];
let first;
const srv = net.createServer(s => { console.log('connection', s.remotePort === srv.ports[0] ? 'first' : s.remotePort === srv.ports[1] ? 'second' : 'third'); if (!first) first = s; else { s.destroy(); srv.close(); } });
srv.ports = [];
srv.maxConnections = which === 'zero' ? 0 : 1;
srv.on('drop', d => { console.log('drop', JSON.stringify(d), d && d.remotePort === srv.ports[1]); if (which==='unix') {first.destroy(); srv.close();} else setTimeout(() => { first.destroy(); const c3 = net.connect(srv.address().port, '127.0.0.1'); c3.on('connect', () => srv.ports[2]=c3.localPort); c3.resume(); }, 50); });
const target = which === 'v4' ? [0, '127.0.0.1'] : which === 'unix' ? [require('path').join(require('os').tmpdir(), 'd' + process.pid + '.sock')] : [0];
srv.listen(...target, () => {
  const args = which === 'unix' ? [target[0]] : [srv.address().port, '127.0.0.1'];
  console.log('server', JSON.stringify(srv.address()));
  const c1 = net.connect(...args); c1.resume();
  c1.on('connect', () => { srv.ports[0] = c1.localPort; const c2 = net.connect(...args); trace('C2', c2); c2.on('connect', () => { srv.ports[1] = c2.localPort; console.log('C2 local', c2.localAddress, c2.localPort); }); });
});
