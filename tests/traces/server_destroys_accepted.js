// The server destroys the accepted socket at once: the client sees a plain FIN.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
  conn.destroy();
});
server.listen(0, '127.0.0.1', () => {
  trace('client', net.connect(server.address().port, '127.0.0.1'));
});
