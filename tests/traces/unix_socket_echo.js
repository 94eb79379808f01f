// Echo over a unix socket: listen(path), connect(path), round trip, the client ends.
const { net, trace, cb } = require('./lib');
const path = process.argv[2];
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  conn.on('data', (d) => conn.write(d, cb('conn')));
  server.close();
});
server.listen(path, () => {
  const client = trace('client', net.connect(path));
  client.on('connect', () => client.write('ping', cb('client')));
  client.on('data', () => client.end());
});
