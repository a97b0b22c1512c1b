import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { penultimateFeatures } from '../../src/defences/features.js';
import { createModel } from '../../src/models/index.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend({ quiet: true });
});

function images(n: number, shape: number[], seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  return {
    name: 'random',
    x,
    y: Int32Array.from({ length: n }, (_, i) => i % 10),
    sampleShape: shape,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
  } as Dataset;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++)
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
}

describe('penultimate features come from the spec’s feature hook', () => {
  it('resnet18 (a graph with Adds): the global average pool of the last block, which the head maps to the logits', () => {
    const shape = [8, 8, 3];
    const n = 3;
    const model = createModel('resnet18', { inputShape: shape, numClasses: 10, seed: 1 });
    const data = images(n, shape, 2);
    const { features, dim, width } = penultimateFeatures(model, data, { maxDim: 512, batchSize: 2 });
    assert.equal(width, 512);
    assert.equal(dim, 512);
    const x = tf.tensor(data.x, [n, ...shape]);
    // directly: the last block's output averaged over H and W, from a graph cut at that block
    const block = tf.model({ inputs: model.inputs, outputs: model.getLayer('layer4_1_relu2').output });
    const direct = tf.tidy(() => tf.mean(block.predict(x) as tf.Tensor, [1, 2]).dataSync());
    assertClose(features, direct, 1e-5, 'features');
    // and the head applied to the features gives the model's logits
    const [kernel, bias] = model.getLayer('fc').getWeights();
    const logits = tf.tidy(() =>
      tf.add(tf.matMul(tf.tensor2d(features, [n, 512]), kernel as tf.Tensor2D), bias!).dataSync(),
    );
    const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    assertClose(logits, want, 1e-4, 'logits');
    x.dispose();
    model.dispose();
  });

  it('mnist-cnn: fc1 after its relu, as chaining every layer but the last gives', () => {
    const shape = [16, 16, 1];
    const model = createModel('mnist-cnn', { width: 12, inputShape: shape, numClasses: 10, seed: 0 });
    const data = images(5, shape, 3);
    const { features, dim } = penultimateFeatures(model, data);
    assert.equal(dim, 12);
    const chained = tf.tidy(() => {
      let h: tf.Tensor = tf.tensor(data.x, [5, ...shape]);
      for (const l of model.layers.slice(0, -1)) h = l.apply(h) as tf.Tensor;
      return h.dataSync();
    });
    assertClose(features, chained, 1e-6, 'features');
    model.dispose();
  });
});
