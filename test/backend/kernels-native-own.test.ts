// The native kernels, the CNN's training steps and the fused two-layer step again, with the addon's
// matrix products forced onto the project's own sgemm (as on a machine without libopenblas-dev).
// POISONLAB_GEMM is read by initBackend; node's test runner gives this file its own process.
process.env.POISONLAB_GEMM = 'own';

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { setDirectConv } from '../../src/backend/kernels/state.js';
import { createModel } from '../../src/models/index.js';
import { Sgd } from '../../src/train/sgd.js';
import { sgdStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';
import { randn, relError } from './compare.js';
import { checkAllCases } from './kernels-cases.js';
import { nativeSkip } from './needs-native.js';

const skip = nativeSkip();

before(async () => {
  await initBackend({ prefer: 'auto', quiet: true });
  if (!skip) setNativeEnabled(true);
});

/** Runs `fn` on the wasm backend and on tfjs's cpu backend; returns both results. */
function onBoth<T>(fn: () => T): { got: T; want: T } {
  const got = fn();
  tf.setBackend('cpu');
  try {
    return { got, want: fn() };
  } finally {
    tf.setBackend('wasm');
  }
}

test('POISONLAB_GEMM=own selects the own packed kernel', { skip }, () => {
  assert.match(backendInfo()?.gemm ?? '', /^own packed (AVX-512|AVX2\+FMA|portable C) \(\d+x\d+\)$/);
});

test('native kernels on the own sgemm agree with tfjs cpu (values and gradients), direct and im2col convs', {
  skip,
}, () => {
  checkAllCases([1, 2]);
  setDirectConv(false);
  try {
    checkAllCases([3]);
  } finally {
    setDirectConv(true);
  }
});

test('SGD steps of the MNIST CNN and its input gradient on the own sgemm match the cpu backend', {
  skip,
}, () => {
  const rng = new Rng(5);
  const x = randn(rng, [16, 28, 28, 1]);
  const labels = Array.from({ length: 16 }, () => rng.int(10));
  const run = () =>
    tf.tidy(() => {
      const model = createModel('mnist-cnn', {
        width: 300,
        inputShape: [28, 28, 1],
        numClasses: 10,
        seed: 3,
      });
      const xs = tf.tensor(
        x.values.map((v) => Math.abs(v) / 3),
        x.shape,
      );
      const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const opt = tf.train.sgd(0.1);
      const loss = (u: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(ys, model.apply(u, { training: true }) as tf.Tensor) as tf.Scalar;
      for (let i = 0; i < 2; i++) opt.minimize(() => loss(xs));
      const out = model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
      out.push(tf.grad(loss)(xs).dataSync().slice() as Float32Array);
      model.dispose();
      opt.dispose();
      return out;
    });
  const { got, want } = onBoth(run);
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) assert.ok(relError(got[i]!, want[i]!) <= 1e-4, `tensor ${i}`);
});

test('the fused two-layer step (two own products, W updated with alpha = -lr, beta = 1) matches the cpu backend', {
  skip,
}, () => {
  // width 100 and d 40: edge tiles in both products; batch 24
  const [width, d, batch, steps] = [100, 40, 24, 4];
  const run = () => {
    const model = createModel('twolayer', { width, inputShape: [d], numClasses: 2, seed: 3 });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const sgd = new Sgd(0.5);
    const rng = new Rng(11);
    const log: number[] = [];
    for (let s = 0; s < steps; s++) {
      const x = tf.tensor2d(
        Float32Array.from({ length: batch * d }, () => rng.normal() * 2),
        [batch, d],
      );
      const y = tf.tensor1d(
        Int32Array.from({ length: batch }, () => rng.int(2)),
        'int32',
      );
      const r = sgdStep(model, vars, sgd, x, y, 'logistic');
      log.push(r.loss.dataSync()[0]!, r.correct.dataSync()[0]!);
      tf.dispose([x, y, r.loss, r.correct]);
    }
    const w = vars[0]!.dataSync().slice() as Float32Array;
    sgd.dispose();
    model.dispose();
    return { w, log };
  };
  const { got, want } = onBoth(run);
  for (let i = 0; i < want.log.length; i++)
    assert.ok(Math.abs(got.log[i]! - want.log[i]!) < 1e-5, `loss / correct entry ${i}`);
  assert.ok(relError(got.w, want.w) <= 1e-5, 'W after the steps');
});
