// A custom lookup that fails (asynchronously, as a resolver does) with ENOTFOUND:
// 'lookup'(err), 'error' ENOTFOUND, 'close'(true).
const { net, trace } = require('./lib');
const lookup = (host, opts, callback) =>
  setImmediate(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`),
    { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host })));
trace('client', net.connect({ port: 80, host: 'nodenet-trace.invalid', lookup }));
