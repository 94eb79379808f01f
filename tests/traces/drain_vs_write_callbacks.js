// Backpressure against a peer that does not read (pauseOnConnect): once both ends are connected,
// three 4 MiB writes return false; the peer then resumes and reads everything and ends. 'drain'
// comes before the callbacks of the writes completed in the same step.
const { net, log, trace, cb } = require('./lib');
const CHUNK = 4 * 1024 * 1024;
let client;
let conn;
function start() {
  if (!client || !conn || client.connecting) return;
  // On the next turn of the loop, whichever of the two events came last.
  setImmediate(() => {
    for (let i = 0; i < 3; i++) log(`client:write:${client.write(Buffer.alloc(CHUNK), cb('client'))}`);
    conn.resume();
  });
}
const server = trace('server', net.createServer({ pauseOnConnect: true }));
server.on('connection', (c) => {
  conn = trace('conn', c);
  server.close();
  let total = 0;
  conn.on('data', (d) => {
    total += d.length;
    if (total === 3 * CHUNK) conn.end();
  });
  start();
});
server.listen(0, '127.0.0.1', () => {
  client = trace('client', net.connect(server.address().port, '127.0.0.1'));
  client.on('connect', start);
});
