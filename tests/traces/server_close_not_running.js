// close() on a server that never listened, and a second close() on a closed server: each emits
// 'close' and hands ERR_SERVER_NOT_RUNNING to its callback.
const { net, trace, cb } = require('./lib');
const idle = trace('server2', net.createServer());
idle.close(cb('server2', 'closecb'));
const server = trace('server', net.createServer());
server.listen(0, '127.0.0.1', () => {
  server.close(cb('server', 'closecb'));
  server.close(cb('server', 'closecb'));
});
