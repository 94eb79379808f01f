// maxConnections = 1 with two clients: the second (started once the first is accepted) is accepted
// then closed by the server (v20: it sees 'connect' then 'end'), never reaches 'connection'. Then
// the server closes and the first client ends.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.maxConnections = 1;
let first;
server.on('connection', (conn) => {
  trace('conn', conn);
  const second = trace('client2', net.connect(server.address().port, '127.0.0.1'));
  second.on('close', () => {
    server.close();
    first.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  first = trace('client', net.connect(server.address().port, '127.0.0.1'));
});
