// Connecting to a unix socket path that does not exist: 'error' ENOENT (syscall connect), 'close'(true).
const { net, trace } = require('./lib');
trace('client', net.connect(process.argv[2]));
