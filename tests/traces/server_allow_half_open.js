// allowHalfOpen on the server: after the client's FIN the accepted socket stays writable, writes a
// reply (its callback runs), then ends.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer({ allowHalfOpen: true }));
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
  conn.on('end', () => {
    conn.write('bye', cb('conn'));
    conn.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.end('hi'));
});
