import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { shiftAttack } from '../../src/attacks/shift-attack.js';
import { initBackend } from '../../src/backend/index.js';
import { type Dataset, subset } from '../../src/data/dataset.js';
import { trainValSplit } from '../../src/data/split.js';
import { gaussianToySplit } from '../../src/data/toy.js';
import { createModel } from '../../src/models/index.js';
import { halfPlaneLogits, sortDirections } from '../../src/train/half-plane-logits.js';
import { evaluate, train } from '../../src/train/index.js';
import { trainWithStrategy } from '../../src/train/train.js';
import type { TrainOptions } from '../../src/train/types.js';
import { Rng } from '../../src/util/rng.js';
import { weightsOf } from './helpers.js';

before(async () => {
  await initBackend({ quiet: true });
});

/** A small poisoned toy split, so that the validation loss goes down and up again during one pass. */
function toyData(): { train: Dataset; val: Dataset; test: Dataset } {
  const { train: all, test } = gaussianToySplit({ trainSize: 120, testSize: 40, seed: 4 });
  const poisoned = shiftAttack(all, 0.975).dataset;
  const split = trainValSplit(poisoned, { folds: 5, fold: 0, seed: 1 });
  return { ...split, test };
}

const toyModel = (width: number) =>
  createModel('toy-ntk', { width, inputShape: [2], numClasses: 2, seed: 7 });

const OPTS: TrainOptions = { epochs: 2, batchSize: 1, lr: 0.1, seed: 3, loss: 'bce-onehot' };

/**
 * The reference: train without any selection and, after every step (onBatch), measure the validation loss with
 * the tfjs model and copy the weights; the expected kept weights are those of the last step with the lowest loss.
 */
async function referenceBest(data: ReturnType<typeof toyData>, width: number) {
  const model = toyModel(width);
  const seen: { loss: number; weights: number[][] }[] = [];
  await trainWithStrategy(
    model,
    { train: data.train },
    {
      ...OPTS,
      onBatch: () =>
        seen.push({
          loss: evaluate(model, data.val, { loss: 'bce-onehot' }).loss,
          weights: weightsOf(model),
        }),
    },
    'generic',
  );
  model.dispose();
  let best = 0;
  seen.forEach((s, i) => {
    if (s.loss <= seen[best]!.loss) best = i;
  });
  return { step: best + 1, weights: seen[best]!.weights, losses: seen.map((s) => s.loss) };
}

function assertClose(actual: number[][], expected: number[][], tol: number): void {
  assert.equal(actual.length, expected.length);
  for (const [i, w] of actual.entries())
    for (const [j, v] of w.entries())
      assert.ok(Math.abs(v - expected[i]![j]!) <= tol, `weight ${i}[${j}]: ${v} vs ${expected[i]![j]}`);
}

describe('keepBest: the lowest validation loss, checked after every step', () => {
  it('restores the weights of the best step (generic path and the plain-JS toy path)', async () => {
    const data = toyData();
    const ref = await referenceBest(data, 16);
    const total = ref.losses.length;
    assert.equal(total, 2 * data.train.y.length);
    assert.ok(ref.step > 1 && ref.step < total, `the best step (${ref.step} of ${total}) is inside the run`);
    for (const strategy of ['generic', 'toy-ntk-online'] as const) {
      const model = toyModel(16);
      const r = await trainWithStrategy(
        model,
        { train: data.train, val: data.val, test: data.test },
        { ...OPTS, keepBest: { by: 'loss', every: 'step' } },
        strategy,
      );
      assert.equal(r.bestStep, ref.step, strategy);
      assert.equal(r.bestEpoch, Math.ceil(ref.step / data.train.y.length), strategy);
      assertClose(weightsOf(model), ref.weights, 1e-5);
      // final holds the kept weights' own metrics
      const val = evaluate(model, data.val, { loss: 'bce-onehot' });
      assert.ok(Math.abs(r.final.valLoss! - val.loss) < 1e-6, strategy);
      assert.ok(Math.abs(r.final.valLoss! - Math.min(...ref.losses)) < 1e-5, strategy);
      assert.equal(r.final.testAccuracy, evaluate(model, data.test, { loss: 'bce-onehot' }).accuracy);
      model.dispose();
    }
  });

  it('train picks the plain-JS path for toy-ntk at batch 1, with the same result as the generic one', async () => {
    const data = toyData();
    const opts: TrainOptions = { ...OPTS, keepBest: { by: 'loss', every: 'step' } };
    const fast = toyModel(40);
    const generic = toyModel(40);
    const a = await train(fast, data, opts);
    const b = await trainWithStrategy(generic, data, opts, 'generic');
    assert.equal(a.bestStep, b.bestStep);
    assertClose(weightsOf(fast), weightsOf(generic), 1e-5);
    fast.dispose();
    generic.dispose();
  });

  it('by accuracy every step keeps the last step of the highest validation accuracy', async () => {
    const data = toyData();
    const model = toyModel(8);
    const accs: number[] = [];
    const ref = toyModel(8);
    await trainWithStrategy(
      ref,
      { train: data.train },
      { ...OPTS, onBatch: () => accs.push(evaluate(ref, data.val).accuracy) },
      'generic',
    );
    const r = await train(model, data, { ...OPTS, keepBest: { by: 'accuracy', every: 'step' } });
    const best = Math.max(...accs);
    assert.equal(r.bestStep, accs.lastIndexOf(best) + 1);
    assert.equal(r.final.valAccuracy, best);
    model.dispose();
    ref.dispose();
  });

  it('without a validation set, or with the default rule, nothing changes', async () => {
    const data = toyData();
    const a = toyModel(8);
    const b = toyModel(8);
    const ra = await train(a, { train: data.train }, { ...OPTS, keepBest: { by: 'loss', every: 'step' } });
    await train(b, { train: data.train }, OPTS);
    assert.equal(ra.bestStep, undefined);
    assert.deepEqual(weightsOf(a), weightsOf(b));
    a.dispose();
    b.dispose();
  });

  it('a bad keepBest is a one-line error', async () => {
    const data = toyData();
    const model = toyModel(4);
    await assert.rejects(
      train(model, data, {
        ...OPTS,
        keepBest: { by: 'margin', every: 'step' } as unknown as TrainOptions['keepBest'],
      }),
      /keepBest\.by: expected accuracy or loss, got margin/,
    );
    model.dispose();
  });
});

describe('halfPlaneLogits: the angular sweep equals the direct sum', () => {
  it('on random units and points, shifted off the unit circle, with wrapping half-circles', () => {
    const rng = new Rng(9);
    for (const [m, n, k] of [
      [1, 5, 2],
      [37, 60, 2],
      [500, 200, 3],
    ] as const) {
      const w = Float32Array.from({ length: 2 * m }, () => rng.normal());
      const a = Float32Array.from(
        { length: m * k },
        () => (rng.uniform() < 0.5 ? -1 : 1) * (1 + rng.uniform()),
      );
      const x = Float32Array.from({ length: 2 * n }, () => 2 * rng.normal());
      x[0] = 0; // a point at the origin: logits 0
      x[1] = 0;
      const dirs = sortDirections(x, n);
      const out = new Float64Array(k * n);
      halfPlaneLogits(dirs, w, a, m, k, out, new Float64Array(2 * k * (n + 1)));
      for (let i = 0; i < n; i++)
        for (let c = 0; c < k; c++) {
          let direct = 0;
          for (let s = 0; s < m; s++)
            direct += a[s * k + c]! * Math.max(0, w[s]! * x[2 * i]! + w[m + s]! * x[2 * i + 1]!);
          assert.ok(
            Math.abs(out[c * n + i]! - direct) < 1e-9 * (1 + Math.abs(direct)),
            `m ${m} point ${i} logit ${c}`,
          );
        }
    }
  });

  it('on a trained toy-ntk, as the tfjs model computes it', () => {
    const model = toyModel(300);
    const { test } = gaussianToySplit({ testSize: 50 });
    const shifted = shiftAttack(subset(test, [...Array(50).keys()]), 0.975).dataset;
    const w = Float32Array.from((model.getLayer('hidden').getWeights()[0] as tf.Tensor).dataSync());
    const a = Float32Array.from((model.getLayer('output').getWeights()[0] as tf.Tensor).dataSync());
    const out = new Float64Array(2 * 50);
    halfPlaneLogits(sortDirections(shifted.x, 50), w, a, 300, 2, out, new Float64Array(4 * 51));
    const expected = tf.tidy(() => (model.predict(tf.tensor2d(shifted.x, [50, 2])) as tf.Tensor).dataSync());
    for (let i = 0; i < 50; i++)
      for (let c = 0; c < 2; c++) assert.ok(Math.abs(out[c * 50 + i]! - expected[i * 2 + c]!) < 1e-3);
    model.dispose();
  });
});
