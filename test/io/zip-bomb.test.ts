/**
 * Zip bombs: ~3 MB files whose one entry inflates to 3.1 GB, built here (never committed) from a raw deflate
 * stream of 1 MiB blocks of zeros, each ended by a full flush so that one compressed block can be repeated.
 * Each is read by a child process (test/io/fixtures/read-zip-child.ts) that reports its peak RSS: every one is
 * refused in one line naming the file and the entry, with the peak far below the 3.1 GB it would inflate to.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { constants, deflateRawSync } from 'node:zlib';
import { fixture, nodeArgs } from '../experiments/fixtures/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-zipbomb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MIB = 1 << 20;
/** MiB of inflated data in a bomb: 3.1 GB. */
const BOMB_MIB = 2957;
/** The peak RSS a refused bomb may cost (a Node process with tsx and the readers is ~100 MB). */
const PEAK_LIMIT = 300e6;

/** A version 1.0 .npy header of exactly 128 bytes. */
function npyHeader(descr: string, shape: number[]): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  const text = dict.padEnd(128 - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(128);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** A raw deflate stream of `head` followed by zeros, `mib` MiB in all, built in a few MB of memory. */
function zerosDeflate(head: Uint8Array, mib: number): Uint8Array {
  const flush = { finishFlush: constants.Z_FULL_FLUSH, level: 9 };
  const first = Buffer.alloc(MIB);
  first.set(head);
  const parts = [deflateRawSync(first, flush)];
  const zeros = deflateRawSync(Buffer.alloc(MIB), flush); // after a full flush, the same bytes every time
  for (let i = 1; i < mib; i++) parts.push(zeros);
  parts.push(Buffer.from([0x03, 0x00])); // a final, empty, fixed-Huffman block
  return Buffer.concat(parts);
}

/** A one-entry zip archive whose central directory declares `declared` inflated bytes. */
function zipOf(name: string, method: 0 | 8, data: Uint8Array, declared: number): Uint8Array {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(n.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(30 + n.length + data.length, 16);
  return Buffer.concat([local, n, data, central, n, end]);
}

interface ChildResult {
  error: string;
  maxRss: number;
}

function readInChild(kind: 'npz' | 'pth', file: string, cap?: number): ChildResult {
  const args = nodeArgs(fixture('../../io/fixtures/read-zip-child'), kind, file);
  if (cap !== undefined) args.push(String(cap));
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as ChildResult;
}

function assertRefused(t: TestContext, r: ChildResult, file: string, entry: string, why: RegExp): void {
  t.diagnostic(`peak RSS ${(r.maxRss / 1e6).toFixed(0)} MB: ${r.error}`);
  assert.match(r.error, /^PoisonlabError: /, r.error);
  const message = r.error.slice('PoisonlabError: '.length);
  assert.ok(message.startsWith(`${file}: `), message);
  assert.ok(message.includes(`'${entry}'`), message);
  assert.match(message, /expected/);
  assert.match(message, why);
  assert.ok(!message.includes('\n'), message);
  assert.ok(r.maxRss < PEAK_LIMIT, `peak RSS ${(r.maxRss / 1e6).toFixed(0)} MB, expected under 300 MB`);
}

describe('zip bombs are refused with bounded memory', () => {
  const count = (BOMB_MIB * MIB - 128) / 4; // float32 values of a 3.1 GB .npy entry
  const honest = zerosDeflate(npyHeader('<f4', [count]), BOMB_MIB);
  const small = npyHeader('<f4', [16]); // a header that implies 128 + 64 bytes
  const lying = zerosDeflate(small, BOMB_MIB);

  it('each bomb is about 3 MB and inflates to 3.1 GB', () => {
    assert.ok(honest.length < 4e6 && lying.length < 4e6, `${honest.length} / ${lying.length} bytes`);
    assert.equal(BOMB_MIB * MIB, 3_100_639_232);
  });

  it('an entry that declares 192 bytes but inflates to 3.1 GB stops at its declared size', (t) => {
    const file = join(dir, 'declares-small.npz');
    writeFileSync(file, zipOf('x.npy', 8, lying, 192));
    assertRefused(t, readInChild('npz', file), file, 'x.npy', /inflates past its declared 192 bytes/);
  });

  it('an entry that declares 3.1 GB under a header of 16 floats is refused once the header is out', (t) => {
    const file = join(dir, 'header-small.npz');
    writeFileSync(file, zipOf('x.npy', 8, lying, BOMB_MIB * MIB));
    assertRefused(
      t,
      readInChild('npz', file),
      file,
      'x.npy',
      /declares 3100639232 bytes, but its \.npy header \(<f4, shape \[16\]\) implies 192; expected them equal/,
    );
  });

  it('an entry whose header implies 192 bytes while it declares 3.1 GB and inflates to 3.1 GB, the header faithful', (t) => {
    const file = join(dir, 'header-big.npz');
    writeFileSync(file, zipOf('x.npy', 8, honest, 192));
    assertRefused(
      t,
      readInChild('npz', file),
      file,
      'x.npy',
      /declares 192 bytes, but its \.npy header \(<f4, shape \[775159776\]\) implies 3100639232/,
    );
  });

  it('an honest 3.1 GB entry beyond the cap is refused before a byte is inflated', (t) => {
    const file = join(dir, 'honest.npz');
    writeFileSync(file, zipOf('x.npy', 8, honest, BOMB_MIB * MIB));
    assertRefused(
      t,
      readInChild('npz', file, 256e6),
      file,
      'x.npy',
      /declares 3\.1 GB inflated, expected at most 256\.0 MB \(the cap given\)/,
    );
  });

  it('a size no deflate stream can reach is refused from the directory alone', (t) => {
    const file = join(dir, 'ratio.npz');
    writeFileSync(file, zipOf('x.npy', 8, honest.subarray(0, 1000), BOMB_MIB * MIB));
    assertRefused(t, readInChild('npz', file), file, 'x.npy', /expected at most 1032x, deflate's limit/);
  });

  it('a .pth storage entry is read with the same limits', (t) => {
    // torch.save's layout: archive/data.pkl, archive/version, archive/data/0, the storage a bomb
    const file = join(dir, 'bomb.pth');
    const entries: [string, 0 | 8, Uint8Array, number][] = [
      ['archive/data/0', 8, lying, 16],
      ['archive/version', 0, Buffer.from('3\n'), 2],
    ];
    writeFileSync(file, multiZip(entries, oneTensorPickle()));
    assertRefused(t, readInChild('pth', file), file, 'archive/data/0', /inflates past its declared 16 bytes/);
  });
});

/** A state_dict pickle {'w': tensor of 4 floats in storage '0'} (protocol 2). */
function oneTensorPickle(): Uint8Array {
  const s = (t: string) => [0x58, ...u32(t.length), ...Buffer.from(t)]; // BINUNICODE
  const g = (m: string, n: string) => [0x63, ...Buffer.from(`${m}\n${n}\n`)]; // GLOBAL
  const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
  const bytes = [
    0x80,
    2,
    ...g('collections', 'OrderedDict'),
    0x71,
    0,
    0x29,
    0x52, // OrderedDict() as memo 0
    0x28,
    ...s('w'),
    ...g('torch._utils', '_rebuild_tensor_v2'),
    0x28, // MARK 'w' rebuild MARK
    0x28,
    ...s('storage'),
    ...g('torch', 'FloatStorage'),
    ...s('0'),
    ...s('cpu'),
    0x4b,
    4,
    0x74,
    0x51, // pid
    0x4b,
    0,
    0x4b,
    4,
    0x85,
    0x4b,
    1,
    0x85,
    0x89,
    0x68,
    0,
    0x29,
    0x52,
    0x74,
    0x52, // offset size stride grad hooks
    0x75,
    0x2e, // SETITEMS STOP
  ];
  return Uint8Array.from(bytes);
}

/** A zip archive of several entries (name, method, data, declared size), data.pkl stored first. */
function multiZip(entries: [string, 0 | 8, Uint8Array, number][], pickle: Uint8Array): Uint8Array {
  const all: [string, 0 | 8, Uint8Array, number][] = [
    ['archive/data.pkl', 0, pickle, pickle.length],
    ...entries,
  ];
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, method, data, declared] of all) {
    const one = Buffer.from(zipOf(name, method, data, declared));
    const n = Buffer.byteLength(name);
    const local = one.subarray(0, 30 + n + data.length);
    const central = Buffer.from(one.subarray(30 + n + data.length, 30 + n + data.length + 46 + n));
    central.writeUInt32LE(offset, 42);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(all.length, 8);
  end.writeUInt16LE(all.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
