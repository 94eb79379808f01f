// getConnections(cb): the count, asynchronously, before and after the connection closed.
const { net, log, trace } = require('./lib');
const server = trace('server', net.createServer());
server.on('connection', (conn) => {
  trace('conn', conn);
  server.getConnections((err, n) => log(`server:getconn:${err ? err.code : n}`));
  server.close(() => server.getConnections((err, n) => log(`server:getconn:${err ? err.code : n}`)));
  conn.on('close', () => server.getConnections((err, n) => log(`server:getconn:${err ? err.code : n}`)));
  conn.end();
});
server.listen(0, '127.0.0.1', () => {
  trace('client', net.connect(server.address().port, '127.0.0.1'));
});
