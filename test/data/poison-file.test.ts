import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { readPoisonFile, writePoisonFile } from '../../src/data/poison-file.js';
import { readNpz, writeNpz } from '../../src/io/npz.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-poison-file-'));

const poisoned: Dataset = {
  name: 'toy (poisoned)',
  x: Float32Array.from({ length: 4 * 6 }, (_, i) => (i % 7) / 7),
  y: Int32Array.from([0, 1, 1, 0]),
  sampleShape: [2, 3, 1],
  classNames: ['a', 'b'],
};
const perSample = {
  deltaNorm: Float32Array.from([0, 0.5, 0, 1.25]),
  poisonMask: Uint8Array.from([0, 1, 0, 1]),
};
const meta = {
  attack: 'l21-perturbation',
  regime: 'A',
  params: { budget: 5 },
  seed: 3,
  dataset: 'toy',
  limit: 4,
  report: { budgetSpent: 0.5 },
};

test('a poison file reads back what was written: samples, labels, norms, mask and meta', () => {
  const path = join(dir, 'p.npz');
  writePoisonFile(path, poisoned, perSample, meta);
  const f = readPoisonFile(path);
  assert.equal(f.data.name, 'p.npz');
  assert.deepEqual(f.data.x, poisoned.x);
  assert.deepEqual(f.data.y, poisoned.y);
  assert.deepEqual(f.data.sampleShape, [2, 3, 1]);
  assert.deepEqual(f.data.classNames, ['a', 'b']);
  assert.deepEqual(f.deltaNorm, perSample.deltaNorm);
  assert.deepEqual(f.poisonMask, perSample.poisonMask);
  assert.equal(f.meta.kind, 'poisonlab-poison');
  assert.deepEqual(f.meta.sampleShape, [2, 3, 1]);
  assert.deepEqual(f.meta.report, { budgetSpent: 0.5 });
  // The entries' names are the format (numpy users read them): x, y, delta_norm, poison_mask.
  assert.deepEqual(Object.keys(readNpz(path).arrays).sort(), ['delta_norm', 'poison_mask', 'x', 'y']);
});

test('a file of an older version without poison_mask reads without a mask; bad files are one line', () => {
  const old = join(dir, 'old.npz');
  writeNpz(
    old,
    { x: { data: poisoned.x, shape: [4, 2, 3, 1] }, y: { data: poisoned.y, shape: [4] } },
    { dataset: 'toy', classNames: ['a', 'b'] },
  );
  const f = readPoisonFile(old);
  assert.equal(f.poisonMask, undefined);
  assert.equal(f.deltaNorm, undefined);
  const badLabel = join(dir, 'label.npz');
  writeNpz(
    badLabel,
    { x: { data: poisoned.x, shape: [4, 2, 3, 1] }, y: { data: Int32Array.from([0, 1, 2, 0]), shape: [4] } },
    { dataset: 'toy', classNames: ['a', 'b'] },
  );
  assert.throws(() => readPoisonFile(badLabel), /label 2 of sample 2 is outside \[0, 2\)/);
  const noMeta = join(dir, 'nometa.npz');
  writeNpz(noMeta, { x: { data: poisoned.x, shape: [4, 2, 3, 1] }, y: { data: poisoned.y, shape: [4] } });
  assert.throws(() => readPoisonFile(noMeta), /nometa\.npz: expected JSON meta with 'dataset'/);
});
