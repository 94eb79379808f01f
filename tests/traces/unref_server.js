// An unref'd listening server does not keep the loop alive, but its 'listening' (queued at
// listen() time) still fires before the loop exits.
const { net, trace } = require('./lib');
const server = trace('server', net.createServer());
server.unref();
server.listen(0, '127.0.0.1');
