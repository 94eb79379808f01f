// A second server on the same port: 'error' EADDRINUSE (syscall listen), no 'close'; then the
// first server closes.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.listen(0, '127.0.0.1', () => {
  const second = trace('server2', net.createServer());
  second.listen(server.address().port, '127.0.0.1');
  second.on('error', () => server.close());
});
