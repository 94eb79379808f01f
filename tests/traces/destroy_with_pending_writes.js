// destroy() with writes pending against a peer that does not read: the in-flight write's callback
// gets null, the queued ones ERR_STREAM_DESTROYED; no 'error', 'close'(false). The peer, never
// reading, is destroyed when the client has closed.
const { net, log, trace, cb } = require('./lib');
const CHUNK = 4 * 1024 * 1024;
let client;
let conn;
function start() {
  if (!client || !conn || client.connecting) return;
  setImmediate(() => {
    for (let i = 0; i < 3; i++) log(`client:write:${client.write(Buffer.alloc(CHUNK), cb('client'))}`);
    client.destroy();
  });
}
const server = trace('server', net.createServer({ pauseOnConnect: true }));
server.on('connection', (c) => {
  conn = trace('conn', c, ['end', 'finish', 'error', 'close']);
  server.close();
  start();
});
server.listen(0, '127.0.0.1', () => {
  client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', start);
  client.on('close', () => conn.destroy());
});
