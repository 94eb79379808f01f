// destroy() right after connect(): only 'close'(false). The server is not traced (whether the
// kernel completed a handshake first is not the client's business); it closes after the client.
const { net, trace } = require('./lib');
const server = net.createServer((conn) => conn.destroy());
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.destroy();
  client.on('close', () => server.close());
});
