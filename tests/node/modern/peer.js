// Node v20 as the peer of tests/modern_node.rs: it prints one line per event, in the same format
// as the Rust side's trace (`TAG event [details]`), and exits once its scenario is over.
//   node peer.js server-trace          listens on 127.0.0.1:0, prints `PORT n`; on its first
//                                      connection writes "hi" and traces it (tag S); exits after
//                                      its 'close'.
//   node peer.js client-trace PORT     connects to 127.0.0.1:PORT, writes "x" on 'connect' and
//                                      traces the socket (tag C); exits after its 'close'.
//   node peer.js drop-client PORT      connection A connects and waits for "welcome" (so the
//                                      server holds it); then B connects and is traced (tag B);
//                                      after B's 'close', A ends and is traced too (tag A).
'use strict';
const net = require('net');

const [, , role, arg] = process.argv;

// A hung scenario must not outlive the test: exit 2 after 15 s.
setTimeout(() => {
  console.log('WATCHDOG');
  process.exit(2);
}, 15000).unref();

function trace(tag, s) {
  s.on('connect', () => console.log(tag, 'connect'));
  s.on('ready', () => console.log(tag, 'ready'));
  s.on('data', (d) => console.log(tag, 'data', String(d)));
  s.on('end', () => console.log(tag, 'end'));
  s.on('finish', () => console.log(tag, 'finish'));
  s.on('error', (e) =>
    console.log(tag, 'error', e.code, e.syscall, e.errno, JSON.stringify(e.message)));
  s.on('close', (hadError) => console.log(tag, 'close', hadError));
}

if (role === 'server-trace') {
  const server = net.createServer((s) => {
    server.close();
    console.log('S connection');
    trace('S', s);
    s.write('hi');
  });
  server.listen(0, '127.0.0.1', () => console.log('PORT', server.address().port));
} else if (role === 'client-trace') {
  const c = net.connect(Number(arg), '127.0.0.1');
  trace('C', c);
  c.on('connect', () => c.write('x'));
} else if (role === 'drop-client') {
  const port = Number(arg);
  const a = net.connect(port, '127.0.0.1');
  a.once('data', (d) => {
    console.log('A data', String(d));
    const b = net.connect(port, '127.0.0.1');
    trace('B', b);
    b.on('close', () => {
      trace('A', a);
      a.end();
    });
  });
} else {
  throw new Error('unknown role ' + role);
}
