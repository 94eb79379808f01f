// After EADDRINUSE the same server can listen() again (here on a free port): 'listening'.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.listen(0, '127.0.0.1', () => {
  const second = trace('server2', net.createServer());
  second.listen(server.address().port, '127.0.0.1');
  second.once('error', () => second.listen(0, '127.0.0.1'));
  second.on('listening', () => {
    second.close(cb('server2', 'closecb'));
    server.close(cb('server', 'closecb'));
  });
});
