'use strict';
// Shared tracer for the differential trace scenarios (tests/traces.rs runs each scenario here and
// in nodenet, then compares the traces). Every event becomes one line `<name>:<event>[:<args>]`;
// the whole trace is printed, one event per line, when the process exits.
const net = require('net');

const lines = [];
function log(entry) {
  lines.push(entry);
}
process.on('exit', () => {
  process.stdout.write(lines.map((l) => l + '\n').join(''));
});

const SOCKET_EVENTS = ['lookup', 'connect', 'ready', 'data', 'end', 'finish', 'drain', 'timeout', 'error', 'close'];
const SERVER_EVENTS = ['listening', 'connection', 'close', 'error'];

// `code:syscall`, `-` for a missing syscall.
function errStr(err) {
  return `${err.code}:${err.syscall === undefined ? '-' : err.syscall}`;
}

// Hooks `events` (default: every event of a socket / server) of `emitter` into the trace.
function trace(name, emitter, events) {
  const isServer = emitter instanceof net.Server;
  for (const ev of events || (isServer ? SERVER_EVENTS : SOCKET_EVENTS)) {
    emitter.on(ev, (...args) => {
      switch (ev) {
        case 'data':
          log(`${name}:data:${args[0].length}`);
          break;
        case 'error':
          log(`${name}:error:${errStr(args[0])}`);
          break;
        case 'close':
          log(isServer ? `${name}:close` : `${name}:close:${args[0]}`);
          break;
        case 'lookup': {
          const [err, address, family] = args;
          log(err ? `${name}:lookup:err:${err.code}` : `${name}:lookup:${address}:${family}`);
          break;
        }
        default:
          log(`${name}:${ev}`);
      }
    });
  }
  return emitter;
}

// A write / end / close callback that records `<name>:<what>:<null|code>`.
function cb(name, what = 'cb') {
  return (err) => log(`${name}:${what}:${err ? err.code : 'null'}`);
}

module.exports = { net, log, trace, cb, errStr };
