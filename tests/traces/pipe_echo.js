// The seed's echo server: conn.pipe(conn). The client writes and ends; the pipe forwards the data
// and the source's 'end' ends the destination.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  conn.pipe(conn);
  server.close();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => {
    client.write('hello', cb('client'));
    client.end();
  });
});
