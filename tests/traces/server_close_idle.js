// close(cb) on a listening server without connections: 'close', then the callback with no error.
const { net, trace, cb } = require('./lib');
const server = trace('server', net.createServer());
server.listen(0, '127.0.0.1', () => server.close(cb('server', 'closecb')));
