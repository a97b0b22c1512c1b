import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { gaussianToySplit } from '../../src/data/toy.js';
import { countParams, createModel, estimateWeights } from '../../src/models/index.js';
import { train } from '../../src/train/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

before(async () => {
  await initBackend({ quiet: true });
});

const kernel = (model: tf.LayersModel, layer: string) =>
  Float32Array.from(model.getLayer(layer).getWeights()[0]!.dataSync());

describe('toy-ntk: the original toy network', () => {
  it('maps [batch, 2] to two logits; 2m + 2m parameters, the top fixed', () => {
    const model = createModel('toy-ntk', { width: 50, inputShape: [2], numClasses: 2, seed: 0 });
    const out = tf.tidy(() => (model.predict(tf.zeros([7, 2])) as tf.Tensor).shape);
    assert.deepEqual(out, [7, 2]);
    assert.equal(countParams(model), 2 * 50 + 50 * 2);
    assert.equal(estimateWeights('toy-ntk', { width: 50, inputShape: [2], numClasses: 2, seed: 0 }), 200);
    assert.deepEqual(
      model.trainableWeights.map((w) => w.shape),
      [[2, 50]],
    );
    model.dispose();
  });

  it('computes f_k(x) = sum_s a_ks relu(w_s . x), with no 1/sqrt(m)', () => {
    const m = 300;
    const model = createModel('toy-ntk', { width: m, inputShape: [2], numClasses: 2, seed: 3 });
    const w = kernel(model, 'hidden');
    const a = kernel(model, 'output');
    const x = [0.6, -0.8];
    const f = Array.from((model.predict(tf.tensor2d([x])) as tf.Tensor).dataSync());
    for (let k = 0; k < 2; k++) {
      let expected = 0;
      for (let s = 0; s < m; s++) expected += a[s * 2 + k]! * Math.max(0, w[s]! * x[0]! + w[m + s]! * x[1]!);
      assert.ok(
        Math.abs(f[k]! - expected) < 1e-4 * (1 + Math.abs(expected)),
        `logit ${k}: ${f[k]} vs ${expected}`,
      );
    }
    model.dispose();
  });

  it("initialises W as PyTorch's nn.Linear(2, m): U(-1/sqrt(2), 1/sqrt(2)), filling the range; the top is +-1", () => {
    const m = 4000;
    const model = createModel('toy-ntk', { width: m, inputShape: [2], numClasses: 2, seed: 1 });
    const w = kernel(model, 'hidden');
    const bound = 1 / Math.sqrt(2);
    assert.ok(w.every((v) => Math.abs(v) <= bound));
    assert.ok(Math.max(...w) > 0.99 * bound && Math.min(...w) < -0.99 * bound, 'fills the range');
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
    assert.ok(Math.abs(variance - bound ** 2 / 3) < 0.01, `variance ${variance}, uniform: ${bound ** 2 / 3}`);
    const a = kernel(model, 'output');
    assert.ok(a.every((v) => v === 1 || v === -1));
    const plus = a.filter((v) => v === 1).length / a.length;
    assert.ok(Math.abs(plus - 0.5) < 0.03, `fraction of +1: ${plus}`);
    // The two rows are drawn independently, not one the other's negative.
    const same = Array.from({ length: m }, (_, s) => a[2 * s] === a[2 * s + 1]).filter(Boolean).length / m;
    assert.ok(Math.abs(same - 0.5) < 0.05, `rows agree on ${same} of the units`);
    model.dispose();
  });

  it('the same seed gives the same weights, another seed others', () => {
    const make = (seed: number) =>
      createModel('toy-ntk', { width: 20, inputShape: [2], numClasses: 2, seed });
    const [a, b, c] = [make(5), make(5), make(6)];
    assert.deepEqual(kernel(a, 'hidden'), kernel(b, 'hidden'));
    assert.deepEqual(kernel(a, 'output'), kernel(b, 'output'));
    assert.notDeepEqual(kernel(a, 'hidden'), kernel(c, 'hidden'));
    for (const model of [a, b, c]) model.dispose();
  });

  it('training moves W and leaves the +-1 top rows exactly as they were', async () => {
    const { train: data } = gaussianToySplit({ trainSize: 100 });
    const model = createModel('toy-ntk', { width: 64, inputShape: [2], numClasses: 2, seed: 2 });
    const w0 = kernel(model, 'hidden');
    const a0 = kernel(model, 'output');
    await train(model, { train: data }, { epochs: 2, batchSize: 1, lr: 0.1, seed: 0, loss: 'bce-onehot' });
    assert.notDeepEqual(kernel(model, 'hidden'), w0);
    assert.deepEqual(kernel(model, 'output'), a0);
    await train(model, { train: data }, { epochs: 1, batchSize: 10, lr: 0.1, seed: 0, loss: 'bce-onehot' });
    assert.deepEqual(kernel(model, 'output'), a0, 'the generic path keeps them fixed too');
    model.dispose();
  });

  it('bad input is a one-line error', () => {
    for (const [opts, pattern] of [
      [{ width: 10, inputShape: [28, 28, 1], numClasses: 2 }, /toy-ntk: expected vector inputs/],
      [{ width: 10, inputShape: [2], numClasses: 1 }, /toy-ntk: expected at least 2 classes/],
      [{ width: 0, inputShape: [2], numClasses: 2 }, /width must be a positive integer/],
    ] as const) {
      assert.throws(
        () => createModel('toy-ntk', { ...opts, inputShape: [...opts.inputShape], seed: 0 }),
        (e: Error) => e instanceof PoisonlabError && pattern.test(e.message) && !e.message.includes('\n'),
      );
    }
  });
});
