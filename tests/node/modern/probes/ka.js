// createServer({noDelay, keepAlive, keepAliveInitialDelay}): ss and /proc/net/tcp of the accepted socket (strace -f -e trace=setsockopt for the options). Usage: node ka.js '{"keepAlive":true,"keepAliveInitialDelay":5000}'
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
const { execSync } = require('child_process');
const opts = JSON.parse(process.argv[2]);
const srv = net.createServer(opts, s => {
  const port = srv.address().port; srv.close();
  console.log(execSync(`ss -tnoi state established '( sport = :${port} )'`).toString());
  const tcp = require('fs').readFileSync('/proc/net/tcp', 'utf8').split('\n').filter(l => l.includes(':' + port.toString(16).toUpperCase().padStart(4,'0') + ' '));
  console.log(tcp.join('\n'));
  s.destroy(); srv.c.destroy();
});
srv.listen(0, '127.0.0.1', () => { srv.c = net.connect(srv.address().port, '127.0.0.1'); });
