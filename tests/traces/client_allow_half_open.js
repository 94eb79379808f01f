// allowHalfOpen on the client: the server ends at once; the client, half-open, still writes
// after its 'end' and then ends.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
  conn.end();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true }));
  client.on('end', () => {
    client.write('late', cb('client'));
    client.end();
  });
});
