// The accepted socket (pauseOnConnect: never reads) is destroyed while the client's bytes sit
// unread in its kernel buffer: RST, the client gets ECONNRESET (syscall read), no 'end'.
const { net, trace, cb } = require('./lib');
let conn;
let client;
let written = false;
function maybeDestroy() {
  if (conn && written) conn.destroy();
}
const server = trace('server', net.createServer({ pauseOnConnect: true }));
server.on('connection', (c) => {
  conn = trace('conn', c, ['end', 'finish', 'error', 'close']);
  server.close();
  maybeDestroy();
});
server.listen(0, '127.0.0.1', () => {
  client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', () => client.write('unread', (err) => {
    cb('client')(err);
    written = true;
    maybeDestroy();
  }));
});
