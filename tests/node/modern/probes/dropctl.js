// Control: peer.js drop-client against a Node server (maxConnections 1). Usage: node dropctl.js
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const { spawn } = require('child_process');
const srv = net.createServer(s => { s.write('welcome'); s.resume(); });
srv.maxConnections = 1;
srv.on('drop', () => srv.close());
srv.listen(0, '127.0.0.1', () => {
  const p = spawn('node', [require('path').join(__dirname, '..', 'peer.js'), 'drop-client', String(srv.address().port)], {stdio: ['ignore', 'inherit', 'inherit']});
});
