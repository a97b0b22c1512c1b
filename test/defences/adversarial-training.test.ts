/** Adversarial training: the PGD minibatch it trains on, and its hook into the one training protocol. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { createDefence, getDefenceEntry, pgdBatch } from '../../src/defences/index.js';
import { createModel } from '../../src/models/index.js';
import { fit } from '../../src/train/index.js';
import { perSampleLoss } from '../../src/train/losses.js';
import { mnistSlice } from '../attacks/fixtures.js';

const data = mnistSlice(96);

test('the PGD minibatch stays within eps and [0, 1] and raises the loss', async () => {
  await initBackend({ quiet: true });
  const model = createModel('mnist-cnn', { width: 16, inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await fit(model, data, { lr: 0.1, batchSize: 32, maxEpochs: 2 }, { seed: 0 });
  const x = tf.tensor(data.x, [96, 28, 28, 1]);
  const y = tf.tensor1d(data.y, 'int32');
  const adv = pgdBatch(0.1, 5, 0.025)(model, x, y);
  const linf = tf.max(tf.abs(tf.sub(adv, x))).dataSync()[0]!;
  assert.ok(linf <= 0.1 + 1e-6 && linf > 0.05, `linf ${linf}`);
  assert.ok(tf.min(adv).dataSync()[0]! >= 0 && tf.max(adv).dataSync()[0]! <= 1);
  const loss = (t: tf.Tensor) =>
    tf.mean(perSampleLoss(model.apply(t) as tf.Tensor, y, 'crossentropy').loss).dataSync()[0]!;
  assert.ok(loss(adv) > loss(x), 'PGD raises the loss');
  for (const t of [x, y, adv]) t.dispose();
  model.dispose();
});

test('training with the defence is deterministic and differs from plain training', async () => {
  await initBackend({ quiet: true });
  assert.equal(getDefenceEntry('at').name, 'adversarial-training');
  const out = await createDefence('adversarial-training', { eps: 0.1, steps: 2 }).apply({ data });
  assert.equal(out.dataset, data, 'the training set is not changed');
  assert.ok(out.perturbTrainingBatch);
  const weights = async (perturb: boolean) => {
    const model = createModel('mnist-cnn', { width: 8, inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    await fit(
      model,
      data,
      { lr: 0.1, batchSize: 32, maxEpochs: 1 },
      { seed: 0, ...(perturb && { perturbBatch: out.perturbTrainingBatch! }) },
    );
    const w = Float32Array.from(model.getWeights()[0]!.dataSync());
    model.dispose();
    return w;
  };
  const a = await weights(true);
  const b = await weights(true);
  const plain = await weights(false);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, plain);
  await assert.rejects(
    createDefence('adversarial-training').apply({ data: { ...data, sampleShape: [784] } }),
    /expected images/,
  );
});
