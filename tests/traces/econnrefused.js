// Connecting to a port nobody listens on any more: 'error' ECONNREFUSED (syscall connect), 'close'(true).
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  server.close(() => trace('client', net.connect(port, '127.0.0.1')));
});
