// write() after destroy(): returns false, cb(ERR_STREAM_DESTROYED), no 'error'.
const { net, log, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => {
    client.destroy();
    log(`client:write:${client.write('x', cb('client'))}`);
  });
});
