// write() after end(): returns false, cb(ERR_STREAM_WRITE_AFTER_END), 'error', 'close'(true).
const { net, log, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => {
    client.end();
    log(`client:write:${client.write('x', cb('client'))}`);
  });
});
