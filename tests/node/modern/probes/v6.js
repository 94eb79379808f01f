// listen({ipv6Only}) with and without a host, and a second listen on the same port (EADDRINUSE). Usage: node v6.js
// Probe for tests/modern_node.rs (Node v20): its output is quoted there; not run by the tests.
const net = require('net');
function tryConnect(port, host) { return new Promise(r => { const c = net.connect(port, host); c.on('connect', () => { r(`${host} connect ${c.remoteAddress} ${c.remoteFamily}`); c.destroy(); }); c.on('error', e => r(`${host} error ${e.code} ${e.syscall} ${e.errno} ${e.message}`)); }); }
async function probe(opts) {
  const srv = net.createServer(s => { console.log('  conn from', s.remoteAddress, s.remoteFamily, 'local', s.localAddress); s.destroy(); });
  await new Promise(r => srv.listen(opts, r));
  const port = srv.address().port;
  console.log(JSON.stringify(opts), JSON.stringify(srv.address()));
  console.log(' ', await tryConnect(port, '127.0.0.1'));
  console.log(' ', await tryConnect(port, '::1'));
  srv.close();
}
(async () => {
  await probe({port: 0, host: '::', ipv6Only: true});
  await probe({port: 0, ipv6Only: true});
  await probe({port: 0, host: '::'});
  await probe({port: 0});
  // EADDRINUSE
  for (const host of ['127.0.0.1', undefined]) {
  const a = net.createServer(); await new Promise(r => a.listen(0, host, r));
  const b = net.createServer(); b.on('error', e => { console.log('b error', e.code, e.errno, e.syscall, e.address, e.port, JSON.stringify(e.message), Object.keys(e)); a.close(); });
  b.listen({port: a.address().port, host, reusePort: true});
  await new Promise(r => setTimeout(r, 100));
  }
})();
