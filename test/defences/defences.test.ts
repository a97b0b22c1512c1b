/** Invariants of the defences: which samples are removed, precision and recall against the mask, determinism. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import {
  createDefence,
  getDefenceEntry,
  listDefences,
  removalScores,
  squeezeBits,
} from '../../src/defences/index.js';
import { Rng } from '../../src/util/rng.js';

/**
 * Two classes of 200 samples with 16-dim Gaussian features; in class 1, the samples of `poisoned` are shifted
 * far along one direction (a backdoor's signature in the representation).
 */
function fixture(poisoned: number[], shift = 8) {
  const n = 400;
  const dim = 16;
  const rng = new Rng(5);
  const features = new Float32Array(n * dim);
  for (let i = 0; i < n * dim; i++) features[i] = rng.normal();
  const y = new Int32Array(n);
  for (let i = 200; i < n; i++) y[i] = 1;
  const mask = new Uint8Array(n);
  for (const i of poisoned) {
    mask[i] = 1;
    features[i * dim + 3]! += shift;
  }
  const data: Dataset = {
    name: 'fixture',
    x: Float32Array.from({ length: n }, (_, i) => i / n),
    y,
    sampleShape: [1],
    classNames: ['a', 'b'],
  };
  return { data, features, featureDim: dim, poisonMask: mask };
}

const POISONED = Array.from({ length: 20 }, (_, k) => 200 + 7 * k);

test('the defence registry lists the built-in defences; unknown names and bad params are one-line errors', () => {
  assert.deepEqual(
    listDefences().map((d) => d.name),
    [
      'spectral-signatures',
      'activation-clustering',
      'bit-depth',
      'iss',
      'adversarial-training',
      'strip',
      'neural-cleanse',
    ],
  );
  assert.equal(getDefenceEntry('ss').name, 'spectral-signatures');
  assert.throws(() => getDefenceEntry('x'), /unknown defence 'x', expected one of/);
  assert.throws(() => createDefence('bit-depth', { bits: 0 }), /defence bit-depth: bits:/);
  assert.deepEqual(removalScores([1, 2, 3, 4], Uint8Array.from([0, 1, 1, 0, 0, 1])), {
    precision: 0.5,
    recall: 2 / 3,
  });
  assert.deepEqual(removalScores([], undefined), { precision: null, recall: null });
});

test('spectral signatures remove the top 1.5 eps n scores per class, catching the shifted samples', async () => {
  const input = fixture(POISONED);
  const out = await createDefence('spectral-signatures', { expectedRate: 0.1 }).apply(input);
  // 1.5 * 0.1 * 200 = 30 per class.
  assert.equal(out.report.removed.length, 60);
  assert.equal(out.report.recall, 1, 'every poisoned sample is among the removed');
  assert.equal(out.report.precision, 20 / 60);
  assert.equal(out.dataset.y.length, 340);
  // The kept samples are the others, in order.
  const removed = new Set(out.report.removed);
  const kept = [...Array(400).keys()].filter((i) => !removed.has(i));
  assert.deepEqual(
    Array.from(out.dataset.x),
    kept.map((i) => Math.fround(i / 400)),
  );
  const again = await createDefence('spectral-signatures', { expectedRate: 0.1 }).apply(input);
  assert.deepEqual(again.report.removed, out.report.removed);
  await assert.rejects(
    createDefence('ss').apply({ data: input.data }),
    /needs the penultimate representations/,
  );
});

test('activation clustering removes the small odd cluster of the poisoned class, and nothing of a clean class', async () => {
  const input = fixture(POISONED);
  const out = await createDefence('activation-clustering', { components: 4, maxFraction: 0.35 }).apply(input);
  assert.deepEqual(out.report.removed, POISONED);
  assert.equal(out.report.precision, 1);
  assert.equal(out.report.recall, 1);
  const clean = await createDefence('activation-clustering').apply(fixture([]));
  assert.deepEqual(clean.report.removed, [], 'one Gaussian splits into halves, neither small enough');
  assert.equal(clean.report.recall, null);
});

test('bit depth rounds every input to b bits, train and test alike, and removes nothing', async () => {
  const input = fixture(POISONED);
  const out = await createDefence('bit-depth', { bits: 2 }).apply(input);
  assert.deepEqual(out.report.removed, []);
  assert.equal(out.dataset.y.length, 400);
  for (const v of out.dataset.x) assert.ok([0, 1 / 3, 2 / 3, 1].some((l) => Math.abs(v - l) < 1e-6));
  assert.ok(out.report.transformed > 300);
  const test = out.transformInputs!(input.data);
  assert.deepEqual(test.x, out.dataset.x);
  assert.deepEqual(squeezeBits(input.data, 2).data.x, out.dataset.x);
});
