import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { createModel } from '../../src/models/index.js';
import { Rng } from '../../src/util/rng.js';
import { randn, relError } from './compare.js';
import { nativeTest } from './needs-native.js';

before(async () => {
  await initBackend({ quiet: true });
});

const mnistCnn = (width: number, seed: number) =>
  createModel('mnist-cnn', { width, inputShape: [28, 28, 1], numClasses: 10, seed });

/** Weights of the MNIST CNN (width 30) after two SGD steps on fixed data, then its input gradient, on the current backend. */
function trainedWeights(): Float32Array[] {
  const rng = new Rng(5);
  const x = randn(rng, [16, 28, 28, 1]);
  const labels = Array.from({ length: 16 }, () => rng.int(10));
  return tf.tidy(() => {
    const model = mnistCnn(30, 3);
    const xs = tf.tensor(
      x.values.map((v) => Math.abs(v) / 3),
      x.shape,
    );
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
    const opt = tf.train.sgd(0.1);
    for (let i = 0; i < 2; i++)
      opt.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
      );
    const w = model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
    // the attack's gradient: with respect to the input, through the first conv
    const dx = tf.grad((u: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(ys, model.apply(u, { training: false }) as tf.Tensor),
    )(xs);
    w.push(dx.dataSync().slice() as Float32Array);
    model.dispose();
    opt.dispose();
    return w;
  });
}

function compareTraining(): number {
  const got = trainedWeights();
  tf.setBackend('cpu');
  let want: Float32Array[];
  try {
    want = trainedWeights();
  } finally {
    tf.setBackend('wasm');
  }
  assert.equal(got.length, want.length);
  return Math.max(...got.map((g, i) => relError(g, want[i])));
}

nativeTest('SGD steps of the MNIST CNN (tfjs layers) match the cpu backend: native kernels', () => {
  setNativeEnabled(true);
  assert.ok(compareTraining() <= 1e-4);
});

test('SGD steps of the MNIST CNN (tfjs layers) match the cpu backend: pure wasm kernels', () => {
  setNativeEnabled(false);
  try {
    assert.ok(compareTraining() <= 1e-4);
  } finally {
    setNativeEnabled(true);
  }
});

test('a training step of the MNIST CNN skips the input gradient of its first conv', () => {
  const model = mnistCnn(20, 1);
  const xs = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
  const ys = tf.oneHot(tf.tensor1d([1, 2, 3, 4], 'int32'), 10);
  const opt = tf.train.sgd(0.1);
  const loss = () =>
    tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar;
  return tf
    .profile(() => {
      opt.minimize(loss);
    })
    .then((info) => {
      const names = info.kernels.map((k) => k.name);
      // conv2's input gradient only; conv1's dx (the image's gradient) is pruned by the tape
      assert.equal(names.filter((n) => n === 'Conv2DBackpropInput').length, 1);
      assert.equal(names.filter((n) => n === 'Conv2DBackpropFilter').length, 2);
      tf.dispose([xs, ys]);
      opt.dispose();
      model.dispose();
    });
});

test('build-native exits 0 with one line when the addon is not wanted', () => {
  const res = spawnSync(process.execPath, ['scripts/build-native.mjs'], {
    env: { ...process.env, POISONLAB_NATIVE: '0' },
    encoding: 'utf8',
  });
  assert.equal(res.status, 0);
  assert.equal(res.stdout.trim().split('\n').length, 1);
  assert.match(res.stdout, /native addon not built \(POISONLAB_NATIVE=0\)/);
});
