import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpz, writeNpz } from '../../src/io/npz.js';
import { PoisonlabError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-npz-'));

function hasNumpy(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('npz round trip keeps dtypes, shapes, values and metadata', () => {
  const path = join(dir, 'a.npz');
  const x = Float32Array.from({ length: 24 }, (_, i) => i / 7);
  const y = Int32Array.from([3, -1, 7]);
  const u = Uint8Array.from([0, 255, 9]);
  const meta = { dataset: 'mnist', note: 'ünïcødé ✓', nested: { a: [1, 2] } };
  writeNpz(
    path,
    { x: { data: x, shape: [3, 2, 4] }, y: { data: y, shape: [3] }, u: { data: u, shape: [3] } },
    meta,
  );
  const back = readNpz(path);
  assert.deepEqual(back.arrays['x']!.shape, [3, 2, 4]);
  assert.deepEqual(Array.from(back.arrays['x']!.data), Array.from(x));
  assert.ok(back.arrays['x']!.data instanceof Float32Array);
  assert.ok(back.arrays['y']!.data instanceof Int32Array);
  assert.deepEqual(Array.from(back.arrays['y']!.data), [3, -1, 7]);
  assert.deepEqual(Array.from(back.arrays['u']!.data), [0, 255, 9]);
  assert.deepEqual(back.meta, meta);
});

test('shape and data length must agree', () => {
  assert.throws(
    () => writeNpz(join(dir, 'bad.npz'), { x: { data: new Float32Array(5), shape: [2, 3] } }),
    PoisonlabError,
  );
});

test('corrupt and truncated archives give one-line errors naming the file', () => {
  const path = join(dir, 'c.npz');
  writeNpz(path, { x: { data: new Float32Array(1000), shape: [10, 100] } });
  const bytes = readFileSync(path);
  const truncated = join(dir, 'truncated.npz');
  writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  for (const p of [truncated, join(dir, 'missing.npz')]) {
    assert.throws(
      () => readNpz(p),
      (e: unknown) => e instanceof PoisonlabError && e.message.includes(p) && !e.message.includes('\n'),
    );
  }
});

test('numpy reads what we write and we read what numpy writes', {
  // CI installs python3-numpy and runs it: there a missing numpy fails the test instead of skipping it
  skip: !hasNumpy() && !process.env['CI'] && 'numpy not installed (apt-get install python3-numpy)',
}, () => {
  const ours = join(dir, 'ours.npz');
  writeNpz(ours, { x: { data: Float32Array.from([0.5, 1.5, 2.5, 3.5]), shape: [2, 2] } }, { k: 'v' });
  const script = `
import numpy as np, json, sys
z = np.load(sys.argv[1])
assert z['x'].dtype == np.float32 and z['x'].shape == (2, 2) and z['x'][1, 0] == 2.5
assert json.loads(str(z['meta'])) == {'k': 'v'}
np.savez(sys.argv[2], a=np.arange(6, dtype=np.int64).reshape(2, 3), b=np.array([1.25], dtype=np.float64))
`;
  const theirs = join(dir, 'theirs.npz');
  execFileSync('/usr/bin/python3', ['-c', script, ours, theirs]);
  const back = readNpz(theirs);
  assert.deepEqual(back.arrays['a']!.shape, [2, 3]);
  assert.deepEqual(Array.from(back.arrays['a']!.data), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(back.arrays['b']!.data), [1.25]);
});
