// write(cb) and end() while connecting: queued, sent after 'connect', then the FIN.
const { net, log, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  log(`client:write:${client.write('abc', cb('client'))}`);
  client.end();
});
