// A custom lookup that resolves the name to 127.0.0.1 (asynchronously): 'lookup' with the address
// and family, then 'connect'. The client then ends.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
});
const lookup = (host, opts, callback) =>
  setImmediate(() => callback(null, [{ address: '127.0.0.1', family: 4 }]));
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect({ port: server.address().port, host: 'nodenet-trace.test', lookup }));
  client.on('connect', () => client.end());
});
