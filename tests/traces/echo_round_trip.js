// Echo: the client writes "hello", the server echoes it, the client ends after the echo.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  conn.on('data', (d) => conn.write(d, cb('conn')));
  server.close(cb('server', 'closecb'));
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.write('hello', cb('client')));
  client.on('data', () => client.end());
});
