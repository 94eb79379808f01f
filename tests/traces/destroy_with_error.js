// destroy(err) on a connected client: 'error'(err) then 'close'(true); the peer sees a FIN.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.destroy(Object.assign(new Error('boom'), { code: 'EBOOM' })));
});
