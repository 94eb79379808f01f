// Default allowHalfOpen=false: the server ends; the client's automatic end() follows its 'end'.
// A write after that (from 'finish') fails like Node's writeAfterFIN: cb(EPIPE), 'error' EPIPE,
// 'close'(true).
const { net, log, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
  conn.end();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('finish', () => log(`client:write:${client.write('late', cb('client'))}`));
});
