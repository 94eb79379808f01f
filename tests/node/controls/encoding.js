// Control for encoding.js: Node receiving (setEncoding per connection, acking each read).
// argv[2]: the scenario's role. Report: {events: ["<i> <encoding> <chunk>" ..., "<i> end"]}.
'use strict';
const net = require('net');
const { finish, watchdog, printAddress, ENCODING_CASES, ackEveryRead } = require('../interop_common.js');

const [, , role, arg] = process.argv;
const events = [];
const report = { events };
watchdog(() => report);

function receive(s, i, done) {
  const enc = ENCODING_CASES[i].encoding;
  s.setNoDelay(true);
  s.setEncoding(enc);
  s.on('data', (text) => events.push(`${i} ${enc} ${text}`));
  s.on('end', () => events.push(`${i} end`));
  s.on('close', (hadError) => {
    events.push(`${i} close:${hadError}`);
    done();
  });
  ackEveryRead(s);
}

if (role === 'client') {
  let n = 0;
  const server = net.createServer((s) => {
    const i = n++;
    receive(s, i, () => {
      if (i === ENCODING_CASES.length - 1) {
        server.close();
        finish(report);
      }
    });
  });
  server.listen(0, '127.0.0.1', () => printAddress(server));
} else {
  const port = Number(arg);
  const next = (i) => {
    if (i === ENCODING_CASES.length) return finish(report);
    const s = net.connect(port, '127.0.0.1');
    receive(s, i, () => next(i + 1));
  };
  next(0);
}
