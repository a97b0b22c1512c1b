import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { negatedLossGradient } from '../../src/attacks/objective.js';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { gaussianToy } from '../../src/data/toy.js';
import { createModel } from '../../src/models/index.js';
import { evaluate, perSampleLoss, train } from '../../src/train/index.js';
import { Sgd } from '../../src/train/sgd.js';
import { sgdStep } from '../../src/train/step.js';
import { trainWithStrategy } from '../../src/train/train.js';
import type { EpochMetrics } from '../../src/train/types.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { mnistSlice, weightsOf } from './helpers.js';

before(async () => {
  await initBackend({ quiet: true });
});

describe('train on real MNIST', () => {
  it('mnist-cnn learns a 2,000-image slice in 2 epochs (test accuracy > 0.8) and reports metrics', async () => {
    const { train: tr, test } = mnistSlice(2000, 500);
    const model = createModel('mnist-cnn', { width: 100, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    const seen: EpochMetrics[] = [];
    let batches = 0;
    const result = await train(
      model,
      { train: tr, test },
      { epochs: 2, batchSize: 16, lr: 0.1, seed: 0, onEpoch: (m) => seen.push(m), onBatch: () => batches++ },
    );
    assert.equal(result.epochs, 2);
    assert.equal(result.bestEpoch, 2);
    assert.deepEqual(seen, result.history);
    assert.equal(batches, 2 * Math.ceil(2000 / 16));
    const last = result.history[1]!;
    assert.ok(last.testAccuracy! > 0.8, `test accuracy ${last.testAccuracy}`);
    assert.ok(last.trainLoss < result.history[0]!.trainLoss);
    assert.ok(result.samplesPerSecond > 0);
    // The reported test metrics are those of the final weights.
    const check = evaluate(model, test);
    assert.ok(Math.abs(check.accuracy - result.final.testAccuracy!) < 1e-9);
    assert.ok(Math.abs(check.loss - result.final.testLoss!) < 1e-5);
    model.dispose();
  });
});

describe('reproducibility and memory', () => {
  const data = () => mnistSlice(192, 64);

  it('the same seeds give identical weights and metrics; another minibatch seed does not', async () => {
    const run = async (seed: number) => {
      const model = createModel('mnist-cnn', { width: 20, inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
      const { train: tr, test } = data();
      const r = await train(
        model,
        { train: tr, test },
        { epochs: 1, batchSize: 16, lr: 0.05, momentum: 0.5, seed },
      );
      const w = weightsOf(model);
      model.dispose();
      return { w, history: r.history.map(({ seconds: _, ...m }) => m) };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    assert.deepEqual(b.w, a.w);
    assert.deepEqual(b.history, a.history);
    assert.notDeepEqual(c.w, a.w);
  });

  it('tf.memory().numTensors is the same after every epoch and back to its start after training', async () => {
    const { train: tr, test } = data();
    const model = createModel('mnist-cnn', { width: 20, inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    await train(
      model,
      { train: tr, val: test, test },
      {
        epochs: 4,
        batchSize: 50,
        lr: 0.05,
        momentum: 0.9,
        weightDecay: 1e-4,
        seed: 0,
        onEpoch: () => counts.push(tf.memory().numTensors),
      },
    );
    assert.equal(counts.length, 4);
    assert.ok(
      counts.every((c) => c === counts[0]),
      `tensors per epoch: ${counts}`,
    );
    assert.equal(tf.memory().numTensors, start);
    model.dispose();
  });
});

describe('the shared train step', () => {
  it('tf.memory().numTensors is constant over 1,000 sgdStep calls (logistic and cross-entropy, momentum, decay)', () => {
    const rng = new Rng(3);
    const cases = [
      {
        model: createModel('twolayer', { width: 32, inputShape: [8], numClasses: 2, seed: 0 }),
        kind: 'logistic' as const,
        classes: 2,
      },
      {
        model: tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [8], units: 16, activation: 'relu' }),
            tf.layers.dense({ units: 10 }),
          ],
        }),
        kind: 'crossentropy' as const,
        classes: 10,
      },
    ];
    for (const { model, kind, classes } of cases) {
      const x = tf.tensor2d(
        Array.from({ length: 6 * 8 }, () => rng.normal()),
        [6, 8],
      );
      const y = tf.tensor1d(
        Array.from({ length: 6 }, () => rng.int(classes)),
        'int32',
      );
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const opt = new Sgd(0.01, 0.9, 1e-4);
      const step = () => {
        const { loss, correct } = sgdStep(model, vars, opt, x, y, kind);
        tf.dispose([loss, correct]);
      };
      step(); // the first step creates the momentum buffers
      const start = tf.memory().numTensors;
      for (let i = 0; i < 1000; i++) step();
      assert.equal(tf.memory().numTensors, start, `${kind}: tensors after 1,000 steps`);
      const grad = () => tf.tidy(() => void negatedLossGradient(model, x, tf.zerosLike(x), y));
      for (let i = 0; i < 1000; i++) grad();
      assert.equal(tf.memory().numTensors, start, `${kind}: tensors after 1,000 attack gradients`);
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }
  });
});

describe('early stopping', () => {
  it('stops after `patience` epochs without a validation accuracy as good as the best and restores the best weights', async () => {
    const tr = gaussianToy({ n: 200, seed: 1 });
    // Validation labels are the opposite of the training labels: the better the net fits, the worse
    // validation gets, so the best validation epoch is the first one.
    const val: Dataset = { ...tr, name: 'flipped', y: tr.y.map((c) => 1 - c) };
    const model = createModel('twolayer', { width: 64, inputShape: [2], numClasses: 2, seed: 0 });
    const snapshots: number[][][] = [];
    const result = await train(
      model,
      { train: tr, val },
      {
        epochs: 50,
        batchSize: 10,
        lr: 0.1,
        patience: 3,
        seed: 0,
        onEpoch: () => snapshots.push(weightsOf(model)),
      },
    );
    const accs = result.history.map((m) => m.valAccuracy!);
    // ties count as better (the original's `val_acc >= bestacc`): the last epoch of the best accuracy
    const best = accs.lastIndexOf(Math.max(...accs)) + 1;
    assert.equal(result.bestEpoch, best);
    assert.equal(result.epochs, best + 3, `val accuracies ${accs}`);
    assert.ok(result.epochs < 50);
    assert.deepEqual(weightsOf(model), snapshots[best - 1]);
    assert.notDeepEqual(weightsOf(model), snapshots[snapshots.length - 1]);
    assert.equal(result.final.valAccuracy, accs[best - 1]);
    assert.equal(evaluate(model, val).accuracy, accs[best - 1]);
    model.dispose();
  });
});

/** By-hand gradient of the logistic loss of the two-layer net for one sample (see two-layer-fast.ts). */
function handGrad(
  W: Float64Array,
  a: ArrayLike<number>,
  x: number[],
  y: number,
  d: number,
  m: number,
): Float64Array {
  const h = new Float64Array(m);
  for (let s = 0; s < m; s++) for (let j = 0; j < d; j++) h[s] = h[s]! + W[j * m + s]! * x[j]!;
  let f = 0;
  for (let s = 0; s < m; s++) f += a[s]! * Math.max(0, h[s]!);
  f /= Math.sqrt(m);
  const sign = y === 1 ? 1 : -1;
  const dLdf = -sign / (1 + Math.exp(sign * f)); // d softplus(-s f) / df
  const g = new Float64Array(d * m);
  for (let j = 0; j < d; j++)
    for (let s = 0; s < m; s++) g[j * m + s] = h[s]! > 0 ? (dLdf * a[s]! * x[j]!) / Math.sqrt(m) : 0;
  return g;
}

describe('the SGD update (PyTorch semantics), one step at a time by hand', () => {
  const xs = [
    [0.6, -0.8],
    [-0.2, 0.9],
    [0.5, 0.5],
  ];
  const ds: Dataset = {
    name: 'three',
    x: Float32Array.from(xs.flat()),
    y: Int32Array.from([1, 0, 1]),
    sampleShape: [2],
    classNames: ['-1', '+1'],
  };
  const lr = 0.3;
  const momentum = 0.9;
  const weightDecay = 0.05;

  for (const online of [false, true]) {
    it(`v = mu v + g + wd w, w -= lr v (${online ? 'plain-JS online path' : 'generic tfjs path'})`, async () => {
      const d = 2;
      const m = 5;
      const model = createModel('twolayer', { width: m, inputShape: [d], numClasses: 2, seed: 4 });
      const W = Float64Array.from(model.getLayer('hidden').getWeights()[0]!.dataSync());
      const a = model.getLayer('output').getWeights()[0]!.dataSync().slice();
      await trainWithStrategy(
        model,
        { train: ds },
        { epochs: 2, batchSize: 1, lr, momentum, weightDecay, seed: 9 },
        online ? undefined : 'generic',
      );
      // Replay: the trainer's order is Rng(seed).permutation(n) per epoch.
      const rng = new Rng(9);
      const v = new Float64Array(d * m);
      for (let epoch = 0; epoch < 2; epoch++) {
        for (const i of rng.permutation(3)) {
          const g = handGrad(W, a, xs[i]!, ds.y[i]!, d, m);
          for (let k = 0; k < W.length; k++) {
            v[k] = momentum * v[k]! + g[k]! + weightDecay * W[k]!;
            W[k] = W[k]! - lr * v[k]!;
          }
        }
      }
      const got = model.getLayer('hidden').getWeights()[0]!.dataSync();
      for (let k = 0; k < W.length; k++)
        assert.ok(Math.abs(got[k]! - W[k]!) < 1e-5, `w[${k}] = ${got[k]}, by hand ${W[k]}`);
      // The fixed top layer did not move.
      assert.deepEqual(Array.from(model.getLayer('output').getWeights()[0]!.dataSync()), Array.from(a));
      model.dispose();
    });
  }

  it('the plain-JS online path gives the same weights as the generic path on the toy (1000 steps, m = 200)', async () => {
    const tr = gaussianToy({ n: 1000, seed: 3 });
    const run = async (online: boolean) => {
      const model = createModel('twolayer', { width: 200, inputShape: [2], numClasses: 2, seed: 5 });
      const r = await trainWithStrategy(
        model,
        { train: tr },
        { epochs: 1, batchSize: 1, lr: 0.1, seed: 2 },
        online ? undefined : 'generic',
      );
      const w = model.getLayer('hidden').getWeights()[0]!.dataSync().slice();
      model.dispose();
      return { w, r };
    };
    const fast = await run(true);
    const slow = await run(false);
    let maxDiff = 0;
    for (let k = 0; k < fast.w.length; k++) maxDiff = Math.max(maxDiff, Math.abs(fast.w[k]! - slow.w[k]!));
    assert.ok(maxDiff < 1e-4, `max |w_fast - w_generic| = ${maxDiff}`);
    assert.ok(Math.abs(fast.r.history[0]!.trainLoss - slow.r.history[0]!.trainLoss) < 1e-4);
    assert.equal(fast.r.final.trainAccuracy, slow.r.final.trainAccuracy);
    assert.ok(fast.r.final.trainAccuracy! > 0.95);
  });
});

describe('losses', () => {
  it('cross-entropy is logsumexp(f) - f_y and accuracy is argmax = y', () => {
    const logits = [
      [1, 2, 0.5],
      [3, -1, 0],
    ];
    const labels = [1, 2];
    const { loss, correct } = tf.tidy(() => {
      const r = perSampleLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), 'crossentropy');
      return { loss: r.loss.arraySync(), correct: r.correct.arraySync() };
    });
    logits.forEach((f, i) => {
      const lse = Math.log(f.reduce((s, v) => s + Math.exp(v), 0));
      assert.ok(Math.abs(loss[i]! - (lse - f[labels[i]!]!)) < 1e-5);
    });
    assert.deepEqual(correct, [1, 0]);
  });

  it('logistic loss is softplus(-y f) with y = +-1 and accuracy is P(y f > 0)', () => {
    const f = [2, -0.5, 0.3, -3];
    const labels = [1, 1, 0, 0]; // y = +1, +1, -1, -1
    const { loss, correct } = tf.tidy(() => {
      const r = perSampleLoss(tf.tensor2d(f, [4, 1]), tf.tensor1d(labels, 'int32'), 'logistic');
      return { loss: r.loss.arraySync(), correct: r.correct.arraySync() };
    });
    f.forEach((v, i) => {
      const y = labels[i] === 1 ? 1 : -1;
      assert.ok(Math.abs(loss[i]! - Math.log1p(Math.exp(-y * v))) < 1e-5);
    });
    assert.deepEqual(correct, [1, 0, 0, 1]);
  });
});

describe('bad inputs give one-line errors', () => {
  it('options, shapes and class counts are checked', async () => {
    const { train: tr } = mnistSlice(10, 1);
    const model = createModel('mnist-cnn', { width: 5, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    const bad = async (opts: Partial<Parameters<typeof train>[2]>, pattern: RegExp, data = { train: tr }) => {
      await assert.rejects(
        train(model, data, { epochs: 1, batchSize: 4, lr: 0.1, seed: 0, ...opts }),
        (e: unknown) => e instanceof PoisonlabError && pattern.test(e.message) && !e.message.includes('\n'),
      );
    };
    await bad({ batchSize: 0 }, /batch size/);
    await bad({ epochs: 1.5 }, /epochs/);
    await bad({ lr: Number.NaN }, /learning rate/);
    await bad({ loss: 'logistic' }, /one output logit/);
    const toy = gaussianToy({ n: 4 });
    await bad({}, /do not fit the model/, { train: toy });
    model.dispose();
  });

  it('counts a tie as better, as the original does: a constant validation accuracy never stops training', async () => {
    const tr = gaussianToy({ n: 200, seed: 1 });
    const val: Dataset = { ...tr, name: 'flipped', y: tr.y.map((c) => 1 - c) };
    const model = createModel('twolayer', { width: 64, inputShape: [2], numClasses: 2, seed: 0 });
    const result = await train(
      model,
      { train: tr, val },
      { epochs: 12, batchSize: 10, lr: 0.5, patience: 3, seed: 0 },
    );
    const accs = result.history.map((m) => m.valAccuracy!);
    assert.ok(
      accs.every((a) => a === accs[0]),
      `expected a constant validation accuracy, got ${accs}`,
    );
    assert.equal(result.epochs, 12);
    assert.equal(result.bestEpoch, 12);
    model.dispose();
  });
});
