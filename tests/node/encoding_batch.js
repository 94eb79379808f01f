// Computes Node's answers for the differential encoding tests of `nodenet`.
//
// Usage: node encoding_batch.js INPUT_FILE
//
// Reads one case per line and prints one answer line per case, in order. A field that
// would be empty is written as '-'; a list of pieces is written with each piece prefixed
// by 'x'. Strings are given as the hex of their UTF-8 bytes; decoded text is answered as
// the hex of its UTF-16LE code units, so lone surrogates survive.
//
//   D ENC BYTES_HEX SPLITS   StringDecoder(ENC) fed BYTES cut at the comma-separated
//                            offsets SPLITS, then end()
//                            -> PIECES WHOLE: write() outputs then end()'s, comma
//                               separated, and buf.toString(ENC) for the whole buffer
//   E ENC TEXT_HEX           -> hex of Buffer.from(TEXT, ENC)
//   N NAME_HEX               -> the normalized name if Buffer.isEncoding(NAME), else
//                               '!' + hex of the message Buffer.from('x', NAME) throws,
//                               or '-' if it does not throw
'use strict';
const fs = require('fs');
const { StringDecoder } = require('string_decoder');

const field = (s) => (s === '-' ? '' : s);
const utf16hex = (s) => Buffer.from(s, 'utf16le').toString('hex');
const text = (h) => Buffer.from(field(h), 'hex').toString('utf8');

const out = [];
for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (line === '') continue;
  const f = line.split(' ');
  switch (f[0]) {
    case 'D': {
      const enc = f[1];
      const buf = Buffer.from(field(f[2]), 'hex');
      const splits = field(f[3]) === '' ? [] : f[3].split(',').map(Number);
      const dec = new StringDecoder(enc);
      const pieces = [];
      let start = 0;
      for (const at of [...splits, buf.length]) {
        pieces.push(dec.write(buf.subarray(start, at)));
        start = at;
      }
      pieces.push(dec.end());
      const whole = buf.toString(enc);
      out.push(pieces.map((p) => 'x' + utf16hex(p)).join(',') + ' ' + (utf16hex(whole) || '-'));
      break;
    }
    case 'E':
      out.push(Buffer.from(text(f[2]), f[1]).toString('hex') || '-');
      break;
    case 'N': {
      const name = text(f[1]);
      if (Buffer.isEncoding(name)) {
        out.push(new StringDecoder(name).encoding);
      } else {
        try {
          Buffer.from('x', name);
          out.push('-');
        } catch (e) {
          out.push('!' + Buffer.from(e.message, 'utf8').toString('hex'));
        }
      }
      break;
    }
    default:
      throw new Error('bad line: ' + line);
  }
}
process.stdout.write(out.join('\n') + '\n');
