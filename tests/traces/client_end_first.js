// Default half-close: the client ends first; the server's automatic end() follows its 'end'.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.end());
});
