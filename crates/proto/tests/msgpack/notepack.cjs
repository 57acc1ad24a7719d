// The real notepack.io 3.0.1 for crates/proto/tests/msgpack_notepack.rs.
//
//   node notepack.cjs <interop dir> encode <file>
//     Each line of <file> is "<ferrio hex> <JSON text>". The JSON is parsed with
//     {"$bin": "<hex>"} as a Buffer. Prints, per line:
//     {"event":"case","notepack":<hex of notepack.encode>,
//      "ferrio":<view of notepack.decode(ferrio bytes)>,"parsed":<view of the value>}
//   node notepack.cjs <interop dir> decode <file>
//     Each line is "<name> <hex>". Prints {"event":"case","name":..,"node":<view of notepack.decode>}.
//   node notepack.cjs <interop dir> js
//     JavaScript values that JSON cannot write (Date, Map, undefined, NaN, ...):
//     {"event":"case","name":..,"hex":<notepack.encode>,"node":<view of decode(encode)>}
//
// A "view" is JSON.stringify with every Buffer, ArrayBuffer or typed array as
// {"$bin": "<hex>"}: what a Node server would pass on, binary marked.
// The last line is {"event":"result","ok":true}.
'use strict';

const fs = require('fs');
const path = require('path');

const [interop, mode, file] = process.argv.slice(2);
const notepack = require(path.join(interop, 'node_modules', 'notepack.io'));

function view(value) {
  return JSON.stringify(value, function (key, v) {
    const original = this[key];
    if (Buffer.isBuffer(original) || original instanceof ArrayBuffer || ArrayBuffer.isView(original)) {
      const bytes = original instanceof ArrayBuffer ? Buffer.from(original)
        : Buffer.from(original.buffer, original.byteOffset, original.byteLength);
      return { $bin: bytes.toString('hex') };
    }
    return v;
  });
}

function parse(text) {
  return JSON.parse(text, (key, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1
      && typeof v.$bin === 'string' ? Buffer.from(v.$bin, 'hex') : v);
}

function lines() {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
}

function print(obj) {
  process.stdout.write(JSON.stringify({ event: 'case', ...obj }) + '\n');
}

const at = (ms) => new Date(ms);

const jsValues = {
  memo_capture: ['atTHVG', {
    type: 2,
    data: ['hello', 'world', 1, 2.5, Buffer.from([1, 2, 3]), { d: at(Date.UTC(2000, 5, 13)), u: undefined, n: null }],
    nsp: '/',
  }, { rooms: [], except: [], flags: {} }],
  date_epoch: at(0),
  date_capture: at(Date.UTC(2000, 5, 13)),
  date_with_ms: at(Date.UTC(2000, 5, 13, 1, 2, 3, 123)),
  date_before_1970: at(-1),
  date_1900: at(Date.UTC(1900, 0, 1)),
  date_2106_ts64: at(0x100000000 * 1000),
  date_2514_ts96: at(0x400000000 * 1000),
  date_max: at(8.64e15),
  date_min: at(-8.64e15),
  date_invalid: at(NaN),
  buffer: Buffer.from([0, 1, 254, 255]),
  arraybuffer: new Uint8Array([1, 2, 3]).buffer,
  uint8array: new Uint8Array([4, 5]),
  float32array: new Float32Array([1.5]),
  map_and_set: [new Map([['a', 1]]), new Set([1, 2])],
  undefined_top: undefined,
  undefined_in_array: [1, undefined, 2],
  undefined_in_object: { a: undefined, b: null, c: 1 },
  function_value: { f() {}, g: 1 },
  to_json: { toJSON() { return { via: 'toJSON' }; } },
  nan_and_infinities: [NaN, Infinity, -Infinity],
  minus_zero: [-0, { z: -0 }],
  integer_keys_first: { b: 1, 2: 2, a: 3, 1: 4 },
  nested_everything: {
    d: at(Date.UTC(2000, 5, 13)),
    list: [Buffer.from('hi'), { deep: [[[new Date(1)]]], u: undefined }, NaN],
    n: null,
  },
  big_numbers: [2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 63, -(2 ** 63), 1.5e300],
};

if (mode === 'encode') {
  for (const line of lines()) {
    const space = line.indexOf(' ');
    const ferrio = line.slice(0, space);
    const value = parse(line.slice(space + 1));
    print({
      notepack: notepack.encode(value).toString('hex'),
      ferrio: view(notepack.decode(Buffer.from(ferrio, 'hex'))),
      parsed: view(value),
    });
  }
} else if (mode === 'decode') {
  for (const line of lines()) {
    const [name, hex] = line.split(' ');
    print({ name, node: view(notepack.decode(Buffer.from(hex, 'hex'))) });
  }
} else if (mode === 'js') {
  for (const [name, value] of Object.entries(jsValues)) {
    const bytes = notepack.encode(value);
    print({ name, hex: bytes.toString('hex'), node: view(notepack.decode(bytes)) });
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(JSON.stringify({ event: 'result', ok: true }) + '\n');
