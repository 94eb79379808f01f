// close() while a connection is open: the server's 'close' waits for the connection and fires
// before the accepted socket's own 'close'.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close(cb('server', 'closecb'));
  conn.end();
});
server.listen(0, '127.0.0.1', () => {
  trace('client', net.connect(server.address().port, '127.0.0.1'));
});
