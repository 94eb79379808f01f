// setTimeout(50) on an idle connected client: one 'timeout' (the socket stays open), then
// destroy() in the listener: 'close'(false); the peer sees a FIN.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.setTimeout(50));
  client.on('timeout', () => client.destroy());
});
