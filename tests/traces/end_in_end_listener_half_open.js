// allowHalfOpen server: end('bye') inside the 'end' listener; 'finish' then 'close'(false).
const { net, trace } = require('./lib');
const server = trace('server', net.createServer({ allowHalfOpen: true }));
server.on('connection', (conn) => {
  trace('conn', conn);
  server.close();
  conn.on('end', () => conn.end('bye'));
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.end('x'));
});
