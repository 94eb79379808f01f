// Control: peer.js server-trace / client-trace against a resetting Node peer. Usage: node resetctl.js server|client
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const { spawn } = require('child_process');
const mode = process.argv[2];
if (mode === 'server') {
  const p = spawn('node', [require('path').join(__dirname, '..', 'peer.js'), 'server-trace'], {stdio: ['ignore', 'pipe', 'inherit']});
  p.stdout.on('data', d => { process.stdout.write(d); const m = /PORT (\d+)/.exec(String(d)); if (m) { const c = net.connect(+m[1], '127.0.0.1'); c.on('data', () => c.resetAndDestroy()); } });
} else {
  const srv = net.createServer(s => { srv.close(); s.on('data', () => s.resetAndDestroy()); });
  srv.listen(0, '127.0.0.1', () => spawn('node', [require('path').join(__dirname, '..', 'peer.js'), 'client-trace', String(srv.address().port)], {stdio: ['ignore', 'inherit', 'inherit']}));
}
