import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../src/io/safetensors.js';
import { float32Tensor, int64Tensor, type RawTensor, toFloat32 } from '../../src/io/tensor.js';
import { PoisonlabError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file from a header object (JSON-encoded, unpadded) and data bytes. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: Uint8Array): Uint8Array {
  const json = rawHeader ?? new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const F32x2 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

describe('safetensors', () => {
  test('round trip: names, order, dtypes, shapes (scalars, empty tensors), bytes and metadata', () => {
    const tensors: [string, RawTensor][] = [
      ['w', float32Tensor(Float32Array.from([1.5, -2, 3, 4, 5, 6]), [2, 3])],
      ['n', int64Tensor([7], [])],
      ['e', float32Tensor(new Float32Array(0), [0, 4])],
      ['h', { dtype: 'F16', shape: [2], bytes: new Uint8Array([0x00, 0x3e, 0x00, 0xc0]) }],
      ['b', { dtype: 'BF16', shape: [1], bytes: new Uint8Array([0xc0, 0x3f]) }],
    ];
    const path = join(dir, 'a.safetensors');
    writeSafetensors(path, tensors, { format: 'pt', note: 'ünï' });
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    assert.equal(headerLength % 8, 0, 'header padded to 8 bytes');
    const back = readSafetensors(path);
    assert.deepEqual(back.metadata, { format: 'pt', note: 'ünï' });
    assert.deepEqual([...back.tensors.keys()], ['w', 'n', 'e', 'h', 'b']);
    for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name), t, name);
    assert.deepEqual(Array.from(toFloat32(back.tensors.get('h')!)), [1.5, -2]);
    assert.deepEqual(Array.from(toFloat32(back.tensors.get('b')!)), [1.5]);
  });

  test('a file written by the reference implementation (header of safetensors 0.8, no padding) reads', () => {
    // What safetensors.numpy.save_file({'a': np.array([1, 2], 'float32')}) writes, byte for byte.
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const bytes = file(
      null,
      new Uint8Array(Float32Array.from([1, 2]).buffer),
      new TextEncoder().encode(header),
    );
    const { tensors, metadata } = parseSafetensors(bytes, 'x');
    assert.deepEqual(metadata, {});
    assert.deepEqual(Array.from(toFloat32(tensors.get('a')!)), [1, 2]);
  });
});

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseSafetensors(bytes, 'x.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof PoisonlabError, String(e));
      assert.match(e.message, /^x\.safetensors: not a valid \.safetensors file \(/);
      assert.match(e.message, pattern);
      assert.match(e.message, /expected/);
      assert.ok(!e.message.includes('\n'));
      return true;
    },
  );
}

const eight = new Uint8Array(8);
const REFUSALS: [string, () => Uint8Array, RegExp][] = [
  ['fewer than 8 bytes', () => new Uint8Array(5), /5 bytes, expected at least the 8-byte header length/],
  [
    'a header longer than 100 MB',
    () => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, 200_000_000n, true);
      return b;
    },
    /header length 200000000, expected at most 100000000/,
  ],
  [
    'a header running past the end of the file',
    () => {
      const b = new Uint8Array(16);
      new DataView(b.buffer).setBigUint64(0, 100n, true);
      return b;
    },
    /header length 100 runs past the end of the file \(expected at most 8\)/,
  ],
  [
    'a header that is not UTF-8',
    () => file(null, undefined, new Uint8Array([0x7b, 0xff])),
    /not valid UTF-8/,
  ],
  ['a header that is not a JSON object', () => file([1, 2]), /does not start with '\{'/],
  [
    'a header that is not valid JSON',
    () => file(null, undefined, new TextEncoder().encode('{"a":')),
    /not valid JSON/,
  ],
  ['__metadata__ that is not an object', () => file({ __metadata__: 'x' }), /__metadata__ is not an object/],
  [
    '__metadata__ with a value that is not a string',
    () => file({ __metadata__: { n: 1 } }),
    /__metadata__ entry 'n' is a number, expected a string/,
  ],
  ['a tensor entry that is not an object', () => file({ a: 3 }), /tensor 'a' is not an object/],
  [
    'a tensor entry with an unknown field',
    () => file({ a: { ...F32x2, extra: 1 } }, eight),
    /tensor 'a' has unknown field 'extra'/,
  ],
  [
    'an unknown dtype',
    () => file({ a: { ...F32x2, dtype: 'F8_E4M3' } }, eight),
    /tensor 'a' has dtype "F8_E4M3", expected one of F64, F32, F16, BF16, I64/,
  ],
  [
    'a shape that is not a list of integers',
    () => file({ a: { ...F32x2, shape: [2.5] } }, eight),
    /has shape \[2\.5\]/,
  ],
  ['a negative dimension', () => file({ a: { ...F32x2, shape: [-2] } }, eight), /has shape \[-2\]/],
  [
    'data_offsets that are not a pair',
    () => file({ a: { ...F32x2, data_offsets: [0] } }, eight),
    /has data_offsets \[0\]/,
  ],
  [
    'data_offsets that go backwards',
    () => file({ a: { ...F32x2, data_offsets: [8, 0] } }, eight),
    /has data_offsets \[8,0\], expected \[begin, end\] with 0 <= begin <= end/,
  ],
  [
    'a span whose length is not the tensor size',
    () => file({ a: { ...F32x2, data_offsets: [0, 4] } }, eight),
    /tensor 'a' spans 4 bytes, expected 8 for F32 of shape \[2\]/,
  ],
  [
    'a tensor ending past the data',
    () => file({ a: { ...F32x2, data_offsets: [4, 12] } }, eight),
    /ends at byte 12/,
  ],
  [
    'two tensors that overlap',
    () => file({ a: F32x2, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight),
    /tensor 'b' overlaps the tensor before it \(begins at 4, expected 8\)/,
  ],
  [
    'a gap between tensors',
    () => file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight),
    /a gap of 4 bytes before tensor 'a' \(expected it to begin at 0\)/,
  ],
  [
    'bytes after the last tensor',
    () => file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, eight),
    /4 bytes after the last tensor \(expected the data section to end at 4\)/,
  ],
];

describe('safetensors files are refused, in one line naming the file and what was expected', () => {
  for (const [name, make, pattern] of REFUSALS) test(name, () => refused(make(), pattern));

  test('a file that cannot be read', () => {
    assert.throws(
      () => readSafetensors(join(dir, 'none.safetensors')),
      /none\.safetensors: expected a \.safetensors file, found nothing there \(ENOENT/,
    );
  });

  test('the writer refuses a tensor named __metadata__, a name given twice, and bytes of the wrong length', () => {
    const t = float32Tensor(Float32Array.from([1]), [1]);
    assert.throws(
      () => encodeSafetensors([['__metadata__', t]]),
      /a tensor named '__metadata__' \(expected another name\)/,
    );
    assert.throws(
      () =>
        encodeSafetensors([
          ['a', t],
          ['a', t],
        ]),
      /tensor 'a' given twice \(expected unique names\)/,
    );
    assert.throws(
      () => encodeSafetensors([['a', { ...t, shape: [2] }]]),
      /tensor 'a' has 4 bytes, expected 8 for F32 \[2\]/,
    );
  });
});
