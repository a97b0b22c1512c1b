/** The one training protocol: fit() is the k-fold split plus train(), with the same numbers as doing both by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/backend/index.js';
import { trainValSplit } from '../../src/data/split.js';
import { createModel } from '../../src/models/index.js';
import { fit, protocolSplit } from '../../src/train/fit.js';
import { train } from '../../src/train/train.js';
import { mnistSlice, weightsOf } from './helpers.js';

await initBackend({ quiet: true });

test('fit with a k-fold protocol trains as the split and train() do by hand: same weights, same history', async () => {
  const { train: full, test: testSet } = mnistSlice(600, 200);
  const protocol = { lr: 0.1, batchSize: 64, maxEpochs: 3, patience: 2, folds: { k: 5, fold: 1, seed: 4 } };
  const make = () =>
    createModel('mnist-cnn', { width: 16, inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
  const a = make();
  let sizes: { train: number; val: number } | undefined;
  const ra = await fit(a, full, protocol, { seed: 7, test: testSet, onSplit: (s) => (sizes = s) });
  const b = make();
  const split = trainValSplit(full, { folds: 5, fold: 1, seed: 4 });
  const rb = await train(
    b,
    { ...split, test: testSet },
    { epochs: 3, batchSize: 64, lr: 0.1, patience: 2, seed: 7 },
  );
  assert.deepEqual(weightsOf(a), weightsOf(b));
  assert.deepEqual(
    ra.history.map((h) => [h.trainLoss, h.valAccuracy, h.testAccuracy]),
    rb.history.map((h) => [h.trainLoss, h.valAccuracy, h.testAccuracy]),
  );
  assert.deepEqual(sizes, { train: 480, val: 120 });
  a.dispose();
  b.dispose();
});

test('without folds (or k = 1) everything trains and nothing validates', () => {
  const { train: full } = mnistSlice(100, 10);
  const base = { lr: 0.1, batchSize: 10, maxEpochs: 1 };
  assert.equal(protocolSplit(full, base).val, undefined);
  assert.equal(protocolSplit(full, { ...base, folds: { k: 1, fold: 0, seed: 0 } }).train.y.length, 100);
});
