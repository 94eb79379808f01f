// pauseOnConnect: a 'data' listener does not start the flow; nothing is delivered until resume(),
// called once the client's data and FIN are out ('finish') and the server has the socket.
const { net, trace } = require('./lib');
let conn;
let finished = false;
function maybeResume() {
  if (conn && finished) conn.resume();
}
const server = trace('server', net.createServer({ pauseOnConnect: true }));
server.on('connection', (c) => {
  conn = trace('conn', c);
  server.close();
  maybeResume();
});
server.listen(0, '127.0.0.1', () => {
  const client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.end('hello'));
  client.on('finish', () => {
    finished = true;
    maybeResume();
  });
});
